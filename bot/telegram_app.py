"""The python-telegram-bot Application around the handler, and the conventions of a Telegram bot.

* The Application is built without a job queue or a persistence, with the library loggers that
  would log texts or the token kept quiet; in ``sabot run`` Telegram's sending limits (30 messages
  a second overall, 20 a minute in a group) are kept by PTB's rate limiter, so a burst such as
  notices to many hires waits its turn instead of meeting flood control.
* Telegram sends only the kinds of update the handler reads (:data:`ALLOWED_UPDATES`).
* The command menu: everyone sees the person's commands (:data:`PERSON_MENU`); each firm admin's
  chat sees the admin's commands as well (:data:`ADMIN_MENU`). Each menu is set once per language
  the bot speaks: in English for everyone, and in Spanish (``language_code="es"``) for people whose
  Telegram app is in Spanish, who see /idioma where others see /language.
"""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy import select
from telegram import BotCommand, BotCommandScopeChat, BotCommandScopeDefault, Update
from telegram.error import TelegramError
from telegram.ext import AIORateLimiter, Application, ApplicationBuilder, TypeHandler
from telegram.request import BaseRequest

from bot.storage.models import FirmAdmin
from bot.telegram_handler import Engine, TelegramAdapter
from bot.telegram_messages import RetryPolicy, call_with_retry
from domain.i18n import DEFAULT_LANGUAGE, LANGUAGES, N_, _, using

log = logging.getLogger("bot.telegram_adapter")

#: The kinds of update the handler reads (bot.telegram_handler.TelegramAdapter.on_update): Telegram
#: is asked for these only, when polling and when setting the webhook.
ALLOWED_UPDATES: tuple[str, ...] = (Update.MESSAGE, Update.EDITED_MESSAGE, Update.CALLBACK_QUERY)

#: The menu everyone sees: (command, what it does), each answered by the commands table
#: (flows.commands).
PERSON_MENU: tuple[tuple[str, str], ...] = (
    ("start", N_("Begin, or see where you are")),
    ("status", N_("Where you are")),
    ("back", N_("Change the last answer")),
    ("cancel", N_("Stop what is in progress")),
    ("login", N_("Sign in")),
    ("profile", N_("Your account (once signed in)")),
    ("logout", N_("Sign out")),
    ("privacy", N_("What is kept, for how long, who sees it")),
    ("delete_my_data", N_("Erase what I keep about you")),
    ("language", N_("English or Spanish (Español)")),
    ("help", N_("Help with the current question")),
)

#: What a firm admin's chat sees besides the person's menu (flows.admin answers them).
ADMIN_MENU: tuple[tuple[str, str], ...] = (
    ("team", N_("Your new hires and how far they are")),
    ("invite", N_("Invite a new hire")),
    ("invites", N_("Invitations not yet opened")),
    ("remind", N_("Send a hire their next step")),
    ("export", N_("The team as a CSV file")),
    ("admins", N_("Add or remove admins")),
)

#: A command shown under another of its names in a language's menu (each answers it everywhere).
MENU_NAMES: dict[str, dict[str, str]] = {"es": {"language": "idioma"}}


#: Library loggers that log message contents (PTB at DEBUG: every Bot API call with its
#: parameters, every update) or the bot token (httpx at INFO: request URLs contain it).
_NOISY_LOGGERS: dict[str, int] = {
    "telegram": logging.INFO,
    "httpx": logging.WARNING,
    "httpcore": logging.WARNING,
}


def protect_library_logs() -> None:
    """Raise (never lower) the level of library loggers that would otherwise log user texts or
    the bot token, even when the root logger is at DEBUG."""
    for name, minimum in _NOISY_LOGGERS.items():
        _raise_level(name, minimum)


def _raise_level(name: str, minimum: int) -> None:
    logger = logging.getLogger(name)
    if logger.level == logging.NOTSET or logger.level < minimum:
        logger.setLevel(minimum)


class StatelessApplication(Application):
    """PTB's Application, except that without a persistence it doesn't collect the id of every
    chat and user it has ever seen. (PTB gathers them for a persistence to save and empties the
    sets only when saving: with none, as here, they grow with every new user for as long as
    the bot runs. Conversation state lives in sabot's database instead.)"""

    __slots__ = ()

    def _mark_for_persistence_update(self, *, update: object | None = None, job: Any = None) -> None:
        if self.persistence is not None:
            super()._mark_for_persistence_update(update=update, job=job)


def build_application(
    *,
    token: str,
    engine: Engine,
    base_url: str | None = None,
    request: BaseRequest | None = None,
    get_updates_request: BaseRequest | None = None,
    concurrent_updates: bool = True,
    retry_policy: RetryPolicy | None = None,
    protect_logs: bool = True,
    rate_limit: bool = False,
) -> Application:
    """Build the PTB application serving ``engine``.

    ``base_url`` is the Bot API base such as ``"http://127.0.0.1:8081/bot"`` (PTB's default when
    ``None``). ``request`` (e.g. a :class:`sabot_testing.telegram.FakeBotAPI`) is used for all calls,
    including ``getUpdates`` unless ``get_updates_request`` is given. No job queue, no
    persistence. The :class:`TelegramAdapter` is available as ``application.bot_data["adapter"]``.
    ``retry_policy`` overrides :data:`DEFAULT_RETRY_POLICY` (tests inject an instant ``sleep``).
    With ``protect_logs`` (default) :func:`protect_library_logs` is applied. With ``rate_limit``
    (``sabot run``) every Bot API call waits its turn within Telegram's sending limits; flood
    control that comes all the same is left to ``retry_policy``.
    """
    if protect_logs:
        protect_library_logs()
    builder = ApplicationBuilder().application_class(StatelessApplication).token(token).job_queue(None)
    if base_url is not None:
        builder = builder.base_url(base_url)
    if request is not None:
        builder = builder.request(request)
    updates_request = get_updates_request or request
    if updates_request is not None:
        builder = builder.get_updates_request(updates_request)
    builder = builder.concurrent_updates(concurrent_updates)
    if rate_limit:
        builder = builder.rate_limiter(AIORateLimiter(max_retries=0))
        # it logs a flood wait as an error with a traceback before handing it to the retries,
        # which log it themselves as a warning
        _raise_level("telegram.ext.AIORateLimiter", logging.CRITICAL)
    application = builder.build()

    adapter = TelegramAdapter(engine, retry_policy=retry_policy)
    application.bot_data["adapter"] = adapter
    application.add_handler(TypeHandler(Update, adapter.on_update), group=0)
    application.add_error_handler(adapter.on_error)
    return application


# --------------------------------------------------------------------------------------------
# The command menu
# --------------------------------------------------------------------------------------------


def _commands(menu: tuple[tuple[str, str], ...], language: str = DEFAULT_LANGUAGE) -> list[BotCommand]:
    """The menu in ``language``: its descriptions translated, its commands under their names there."""
    names = MENU_NAMES.get(language, {})
    with using(language):
        return [BotCommand(names.get(name, name), _(description)) for name, description in menu]


def _language_code(language: str) -> str | None:
    """Telegram's ``language_code`` for a menu: none for the default one, which everyone else sees."""
    return None if language == DEFAULT_LANGUAGE else language


async def admin_chats(sessions) -> list[int]:
    """The chats of every firm admin (where each last wrote from), from the firms' tables."""
    async with sessions() as session:
        rows = await session.scalars(select(FirmAdmin.chat_id).distinct().order_by(FirmAdmin.chat_id))
        return list(rows.all())


async def set_command_menus(bot: Any, admin_chat_ids: list[int], *, policy: RetryPolicy | None = None) -> None:
    """Show the person's menu to everyone, and to each admin's chat the admin's commands after
    it (a chat's own menu replaces the default one there), each in every language: English by
    default, and the others for people whose app is set to them. A chat Telegram refuses (a
    blocked bot, a chat gone) is skipped; the bot starts whatever the menus do."""
    languages = [DEFAULT_LANGUAGE] + [code for code in LANGUAGES if code != DEFAULT_LANGUAGE]
    for language in languages:
        try:
            await call_with_retry(bot.set_my_commands, _commands(PERSON_MENU, language), scope=BotCommandScopeDefault(),
                                  language_code=_language_code(language), policy=policy, what="setMyCommands")
        except TelegramError as exc:
            log.warning("command menu (%s) not set (%s)", language, type(exc).__name__)
            return
    for chat_id in admin_chat_ids:
        for language in languages:
            admin = _commands(PERSON_MENU, language) + _commands(ADMIN_MENU, language)
            try:
                await call_with_retry(bot.set_my_commands, admin, scope=BotCommandScopeChat(chat_id),
                                      language_code=_language_code(language), policy=policy, what="setMyCommands")
            except TelegramError as exc:
                log.warning("chat %s: admin menu (%s) not set (%s)", chat_id, language, type(exc).__name__)
                break

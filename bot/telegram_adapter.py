"""The Telegram edge: turn Telegram updates into :class:`flows.replies.Incoming` events, hand them to
the conversation engine and render the actions it returns.

Nothing here keeps conversation state (that lives in the engine's database). The adapter only:

* converts one :class:`telegram.Update` into one :class:`~flows.replies.Incoming`;
* serialises the updates of one chat (a per-chat lock), so two quick taps can't race in the engine;
* renders :class:`~flows.replies.Reply`, :class:`~flows.replies.DeleteUserMessage`,
  :class:`~flows.replies.Photo`, :class:`~flows.replies.Document` and
  :class:`~flows.replies.Notify` in order, as plain text (no
  ``parse_mode``: user-provided text can never break markup);
* retries Bot API calls on flood control (``RetryAfter``) and transient network errors.

Privacy: message texts can carry SSNs, passwords and one-time codes, so this module never logs
texts, button data or exception messages - only update ids, chat ids, kinds and exception types.
"""

from __future__ import annotations

import asyncio
import datetime as dtm
import logging
import traceback
import warnings
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

from telegram import (
    Chat,
    InlineKeyboardMarkup,
    InputFile,
    Message,
    Update,
)
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter, TelegramError, TimedOut
from telegram.ext import Application, ApplicationBuilder, ContextTypes, TypeHandler
from telegram.request import BaseRequest

from bot.chat_locks import ChatLocks
from bot.outbox import crash_point
from flows.core import personal_data
from flows.replies import Action, DeleteUserMessage, Document, Incoming, Notify, Photo, Reply

log = logging.getLogger(__name__)

T = TypeVar("T")

#: Telegram's limit for one text message (in UTF-16 code units).
MAX_MESSAGE_LENGTH = 4096
#: Telegram's limit for a photo caption (in UTF-16 code units).
MAX_CAPTION_LENGTH = 1024

APOLOGY_TEXT = "Sorry, something went wrong on our side. Please try again in a moment."
PRIVATE_ONLY_TEXT = (
    "This bot only works in a private chat. Please open a direct chat with me to continue."
)


class Engine(Protocol):
    async def handle(self, incoming: Incoming) -> list[Action]: ...


# --------------------------------------------------------------------------------------------
# Retrying Bot API calls
# --------------------------------------------------------------------------------------------


@dataclass
class RetryPolicy:
    """How Bot API calls are retried.

    ``backoff`` holds the delays before each retry after a ``TimedOut``/``NetworkError`` (so its
    length is the number of retries); flood control (``RetryAfter``) waits ``retry_after`` seconds,
    capped at ``max_retry_after``, and also uses up one retry. ``sleep`` is injectable so tests run
    instantly.
    """

    backoff: tuple[float, ...] = (0.5, 1.0, 2.0)
    max_retry_after: float = 30.0
    sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep

    @property
    def retries(self) -> int:
        return len(self.backoff)


#: The policy used when none is passed to :func:`build_application` (patchable in tests).
DEFAULT_RETRY_POLICY = RetryPolicy()


def _retry_after_seconds(exc: RetryAfter) -> float:
    value = getattr(exc, "_retry_after", None)
    if value is None:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            value = exc.retry_after
    if isinstance(value, dtm.timedelta):
        return value.total_seconds()
    return float(value)


async def call_with_retry(
    fn: Callable[..., Awaitable[T]],
    *args: Any,
    policy: RetryPolicy | None = None,
    what: str = "",
    **kwargs: Any,
) -> T:
    """Await ``fn(*args, **kwargs)``, retrying on ``RetryAfter``, ``TimedOut`` and
    ``NetworkError`` (but not ``BadRequest``, which is a ``NetworkError`` subclass in PTB).

    The last error is re-raised once the retries are used up; any other ``TelegramError``
    (``BadRequest``, ``Forbidden``...) is raised at once.
    """
    policy = policy or DEFAULT_RETRY_POLICY
    what = what or getattr(fn, "__name__", "call")
    attempt = 0
    while True:
        try:
            return await fn(*args, **kwargs)
        except RetryAfter as exc:
            if attempt >= policy.retries:
                raise
            delay = min(max(_retry_after_seconds(exc), 0.0), policy.max_retry_after)
            log.warning("%s: flood control, retrying in %.1fs", what, delay)
        except BadRequest:
            raise
        except (TimedOut, NetworkError) as exc:
            if attempt >= policy.retries:
                raise
            delay = policy.backoff[attempt]
            log.warning("%s: %s, retrying in %.1fs", what, type(exc).__name__, delay)
        attempt += 1
        await policy.sleep(delay)


# --------------------------------------------------------------------------------------------
# Update -> Incoming
# --------------------------------------------------------------------------------------------

# (attribute of telegram.Message, word given to the engine); checked in order - an animation
# message also carries ``document``, a venue also carries ``location``.
_OTHER_KINDS: tuple[tuple[str, str], ...] = (
    ("photo", "photo"),
    ("sticker", "sticker"),
    ("voice", "voice"),
    ("audio", "voice"),
    ("animation", "video"),
    ("video", "video"),
    ("video_note", "video"),
    ("document", "document"),
    ("venue", "location"),
    ("location", "location"),
    ("contact", "contact"),
    ("poll", "poll"),
    ("dice", "dice"),
    ("game", "game"),
    ("invoice", "invoice"),
    ("story", "story"),
)


def message_kind(message: Message) -> str:
    """A word for what a non-text message carries (``photo``, ``sticker``, ``voice``...)."""
    for attr, word in _OTHER_KINDS:
        if getattr(message, attr, None):
            return word
    return "unsupported"


def parse_command(text: str) -> tuple[str, str] | None:
    """``"/Start@SomeBot  tok "`` -> ``("start", "tok")``; ``None`` if it isn't a command."""
    if not text.startswith("/"):
        return None
    parts = text.split(maxsplit=1)
    head = parts[0] if parts else ""
    rest = parts[1] if len(parts) > 1 else ""
    name = head[1:].split("@", 1)[0].lower()
    if not name:
        return None
    return name, rest.strip()


def _button_label(message: Any, data: str) -> str:
    markup = getattr(message, "reply_markup", None)
    if not isinstance(markup, InlineKeyboardMarkup):
        return ""
    for row in markup.inline_keyboard:
        for button in row:
            if button.callback_data == data:
                return button.text
    return ""


def to_incoming(update: Update) -> Incoming | None:
    """Convert an update to an :class:`Incoming`, or ``None`` when the engine shouldn't see it.

    Only messages, edited messages and callback queries from a chat with a user are converted;
    the chat type is *not* checked here.
    """
    chat = update.effective_chat
    user = update.effective_user
    if chat is None:
        return None
    common: dict[str, Any] = {
        "chat_id": chat.id,
        "user_id": user.id if user else None,
        "username": user.username if user else None,
        "update_id": update.update_id,
    }

    if update.callback_query is not None:
        query = update.callback_query
        data = query.data or ""
        message = query.message
        return Incoming(
            kind="button",
            data=data,
            text=_button_label(message, data) if message is not None else "",
            message_id=message.message_id if message is not None else None,
            **common,
        )

    if update.message is not None:
        message = update.message
        if message.text is not None:
            command = parse_command(message.text)
            if command is not None:
                name, args = command
                return Incoming(
                    kind="command",
                    command=name,
                    text=args,
                    message_id=message.message_id,
                    **common,
                )
            return Incoming(
                kind="text", text=message.text, message_id=message.message_id, **common
            )
        # A caption is passed on only so the engine can delete a message that carries a secret.
        return Incoming(
            kind="other",
            other=message_kind(message),
            text=message.caption or "",
            message_id=message.message_id,
            **common,
        )

    if update.edited_message is not None:
        # The edit is never taken as an answer; its text is passed on only so the engine can
        # delete the message if the edit put a secret into it.
        edited = update.edited_message
        return Incoming(
            kind="other",
            other="edited",
            text=edited.text or edited.caption or "",
            message_id=edited.message_id,
            **common,
        )

    return None


# --------------------------------------------------------------------------------------------
# Rendering
# --------------------------------------------------------------------------------------------


def _utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def split_text(text: str, limit: int = MAX_MESSAGE_LENGTH) -> list[str]:
    """Split ``text`` into chunks of at most ``limit`` UTF-16 code units (Telegram's measure),
    preferring to break at a newline, then at a space."""
    chunks: list[str] = []
    rest = text
    while _utf16_len(rest) > limit:
        # the longest prefix that fits
        units = 0
        cut = 0
        for i, ch in enumerate(rest):
            units += 2 if ord(ch) > 0xFFFF else 1
            if units > limit:
                cut = i
                break
        window = rest[:cut]
        brk = window.rfind("\n")
        if brk < cut // 2:
            brk = window.rfind(" ")
        if brk < cut // 2:
            brk = cut
            chunk, rest = rest[:brk], rest[brk:]
        else:
            chunk, rest = rest[:brk], rest[brk + 1 :]
        if chunk.strip():
            chunks.append(chunk)
    if rest.strip() or not chunks:
        chunks.append(rest)
    return chunks


def fold_replies(actions: Sequence[Action]) -> list[Action]:
    """Consecutive replies of one turn as one message: a note ("Email confirmed.", "I deleted
    your message...") and the question after it arrive together, with the question's buttons.

    Only a reply without buttons is folded into the next one, only when both are protected or
    neither is (a protected secret stays in a message of its own), and only while the result
    fits one Telegram message."""
    out: list[Action] = []
    for action in actions:
        if isinstance(action, Reply) and out and isinstance(out[-1], Reply):
            before = out[-1]
            if not before.buttons and before.protect == action.protect and before.text.strip() and action.text.strip():
                text = f"{before.text}\n\n{action.text}"
                if _utf16_len(text) <= MAX_MESSAGE_LENGTH:
                    out[-1] = Reply(text, action.buttons, protect=action.protect)
                    continue
        out.append(action)
    return out


def keyboard_data(reply: Reply) -> dict | None:
    """The reply's buttons as the Bot API's ``reply_markup`` (plain data, ready to serialise)."""
    if not reply.buttons:
        return None
    return {
        "inline_keyboard": [
            [{"text": b.label, "callback_data": b.data} for b in row] for row in reply.buttons if row
        ]
    }


async def send_text(
    bot: Any, chat_id: int, text: str, *, reply_markup: dict | None = None, protect_content: bool = False
) -> dict:
    """sendMessage, returning Telegram's answer as it came (a dict).

    ``bot.send_message`` would build a Message object (a few dozen nested objects) from every
    answer; nothing here reads it, and on a busy bot that parsing was a large share of each
    update's cost. The request goes through the bot's own request path all the same (its
    request object, rate limiter and error handling)."""
    data: dict[str, Any] = {"chat_id": chat_id, "text": text}
    if reply_markup is not None:
        data["reply_markup"] = reply_markup
    if protect_content:
        data["protect_content"] = True
    return await bot._post("sendMessage", data)  # noqa: SLF001 - see the docstring


class TelegramAdapter:
    """The single handler: converts, calls the engine under a per-chat lock, renders."""

    def __init__(self, engine: Engine, retry_policy: RetryPolicy | None = None) -> None:
        self.engine = engine
        self.retry_policy = retry_policy
        self._lock = ChatLocks()
        self._refused_groups: set[int] = set()

    # -- helpers ---------------------------------------------------------------------------

    async def _call(self, fn: Callable[..., Awaitable[T]], *args: Any, **kwargs: Any) -> T:
        return await call_with_retry(
            fn, *args, policy=self.retry_policy or DEFAULT_RETRY_POLICY, **kwargs
        )

    # -- the handler -----------------------------------------------------------------------

    async def on_update(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        bot = context.bot
        query = update.callback_query
        if query is not None:
            try:
                await query.answer()
            except Exception as exc:  # noqa: BLE001 - answering is a courtesy
                log.debug("update %s: answerCallbackQuery failed (%s)", update.update_id,
                          type(exc).__name__)

        if update.message is None and update.edited_message is None and query is None:
            log.debug("update %s ignored (not a message or button)", update.update_id)
            return
        chat = update.effective_chat
        if chat is None:
            log.debug("update %s ignored (no chat)", update.update_id)
            return

        if chat.type != Chat.PRIVATE:
            await self._delete_personal(bot, chat.id, update.message or update.edited_message)
            await self._refuse_group(bot, chat.id, update.update_id)
            return

        incoming = to_incoming(update)
        if incoming is None:
            log.debug("update %s ignored", update.update_id)
            return
        # (command names are typed by the user, so they are not logged either)
        log.info(
            "update %s chat %s kind %s%s",
            update.update_id,
            incoming.chat_id,
            incoming.kind,
            f"/{incoming.other}" if incoming.kind == "other" else "",
        )

        async with self._lock(incoming.chat_id):
            try:
                actions = await self.engine.handle(incoming)
            except Exception as exc:  # noqa: BLE001 - the user must always get an answer
                log.error(
                    "engine raised %s on update %s\n%s",
                    type(exc).__name__,
                    update.update_id,
                    "".join(traceback.format_tb(exc.__traceback__)).rstrip(),
                )
                try:
                    await self._call(bot.send_message, incoming.chat_id, APOLOGY_TEXT)
                except TelegramError as send_exc:
                    log.warning(
                        "chat %s: apology not sent (%s)", incoming.chat_id,
                        type(send_exc).__name__,
                    )
                return
            crash_point("after_commit")
            delivered = await self.render(bot, incoming, actions or [], update_id=update.update_id)
            crash_point("after_send")
            if actions and delivered:
                self._sent(incoming.chat_id, update.update_id)

    def _sent(self, chat_id: int, update_id: int) -> None:
        """Tell the engine the replies it stored for this update went out (if it stores them)."""
        sent = getattr(self.engine, "sent", None)
        if sent is not None:
            sent(chat_id, update_id)

    async def resend(self, bot: Any, *, older_than: float) -> int:
        """Send the replies the engine stored and never saw sent (the process died between its
        commit and the send), oldest first, each chat's in order. Returns how many updates'."""
        unsent = getattr(self.engine, "unsent", None)
        if unsent is None:
            return 0
        waiting = await unsent(older_than=older_than)
        for chat_id, update_id, actions in waiting:
            async with self._lock(chat_id):
                incoming = Incoming(chat_id=chat_id, kind="other", update_id=update_id)
                if await self.render(bot, incoming, actions, update_id=update_id):
                    self._sent(chat_id, update_id)
        if waiting:
            log.info("sent the stored replies of %d updates", len(waiting))
        return len(waiting)

    async def tick(self, bot: Any) -> int:
        """Send what the engine has due for chats outside a turn (reminders, notices)."""
        tick = getattr(self.engine, "tick", None)
        if tick is None:
            return 0
        notices = await tick()
        for notice in notices:
            await self._notify(bot, notice)
        return len(notices)

    async def run_ticks(self, bot: Any, every: float, *, resend_after: float | None = None) -> None:
        """Every ``every`` seconds: reminders and notices, and (with ``resend_after``) stored
        replies that old and still unsent."""
        while True:
            try:
                if resend_after is not None:
                    await self.resend(bot, older_than=resend_after)
                await self.tick(bot)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - keep ticking whatever happened
                log.error("tick failed (%s)", type(exc).__name__)
            await asyncio.sleep(every)

    async def _delete_personal(self, bot: Any, chat_id: int, message: Any) -> None:
        """A message in a refused group that carries an SSN, a date or a contact card is deleted
        (where the bot may delete it), so it doesn't stay in front of the group."""
        if message is None:
            return
        text = message.text or message.caption or ""
        if not (getattr(message, "contact", None) or personal_data(text)):
            return
        try:
            await self._call(bot.delete_message, chat_id, message.message_id)
        except TelegramError as exc:
            log.warning("chat %s: message not deleted (%s)", chat_id, type(exc).__name__)

    async def _refuse_group(self, bot: Any, chat_id: int, update_id: int) -> None:
        if chat_id in self._refused_groups:
            log.debug("update %s from non-private chat %s ignored", update_id, chat_id)
            return
        self._refused_groups.add(chat_id)
        log.info("update %s: refusing non-private chat %s", update_id, chat_id)
        try:
            await self._call(bot.send_message, chat_id, PRIVATE_ONLY_TEXT)
        except TelegramError as exc:
            log.warning("chat %s: refusal not sent (%s)", chat_id, type(exc).__name__)

    # -- rendering -------------------------------------------------------------------------

    async def render(
        self, bot: Any, incoming: Incoming, actions: Sequence[Action], *, update_id: int = 0
    ) -> bool:
        """Render ``actions`` in order. If the user's chat becomes unreachable (blocked bot,
        persistent network failure) the remaining actions for that chat are skipped, but
        :class:`Notify` actions for other chats are still delivered. False when a network
        failure (worth trying again later) kept something from going out."""
        chat_id = incoming.chat_id
        chat_ok = True
        delivered = True
        for action in fold_replies(actions):
            try:
                if isinstance(action, Notify):
                    await self._notify(bot, action)
                elif not chat_ok:
                    continue
                elif isinstance(action, Reply):
                    await self._reply(bot, chat_id, action)
                elif isinstance(action, DeleteUserMessage):
                    await self._delete(bot, chat_id, action.message_id or incoming.message_id)
                elif isinstance(action, Photo):
                    await self._photo(bot, chat_id, action)
                elif isinstance(action, Document):
                    await self._document(bot, chat_id, action)
                else:
                    log.warning("update %s: unknown action %s", update_id, type(action).__name__)
            except TelegramError as exc:
                chat_ok = False
                if isinstance(exc, (TimedOut, RetryAfter)) or (
                    isinstance(exc, NetworkError) and not isinstance(exc, BadRequest)
                ):
                    delivered = False
                log.warning(
                    "update %s chat %s: %s failed (%s); skipping the rest for this chat",
                    update_id,
                    chat_id,
                    type(action).__name__,
                    type(exc).__name__,
                )
        return delivered

    async def _reply(self, bot: Any, chat_id: int, reply: Reply) -> None:
        if not reply.text.strip():
            log.warning("chat %s: empty Reply text not sent", chat_id)
            return
        chunks = split_text(reply.text)
        markup = keyboard_data(reply)
        for i, chunk in enumerate(chunks):
            last = i == len(chunks) - 1
            await self._call(
                send_text,
                bot,
                chat_id,
                chunk,
                reply_markup=markup if last else None,
                protect_content=reply.protect,
            )

    async def _delete(self, bot: Any, chat_id: int, message_id: int | None) -> None:
        if message_id is None:
            log.debug("chat %s: nothing to delete", chat_id)
            return
        try:
            await self._call(bot.delete_message, chat_id, message_id)
        except (BadRequest, Forbidden) as exc:
            log.debug("chat %s: delete of %s failed (%s)", chat_id, message_id,
                      type(exc).__name__)

    async def _photo(self, bot: Any, chat_id: int, photo: Photo) -> None:
        await self._file(bot.send_photo, "photo", bot, chat_id, photo, protect=photo.protect)

    async def _document(self, bot: Any, chat_id: int, document: Document) -> None:
        await self._file(bot.send_document, "document", bot, chat_id, document, protect=False)

    async def _file(self, send: Callable, field: str, bot: Any, chat_id: int, item: Photo | Document,
                    *, protect: bool) -> None:
        """A picture or a file with its caption; a caption too long for one goes after it."""
        caption = item.caption or None
        overflow = ""
        if caption and _utf16_len(caption) > MAX_CAPTION_LENGTH:
            caption, overflow = None, item.caption
        extra = {"protect_content": True} if protect else {}
        await self._call(send, chat_id, caption=caption, **{field: InputFile(item.data, filename=item.filename)}, **extra)
        if overflow:
            await self._reply(bot, chat_id, Reply(overflow, protect=protect))

    async def _notify(self, bot: Any, notify: Notify) -> None:
        try:
            for chunk in split_text(notify.text):
                await self._call(send_text, bot, notify.chat_id, chunk)
        except TelegramError as exc:
            log.warning("notify chat %s failed (%s)", notify.chat_id, type(exc).__name__)

    # -- application error handler -----------------------------------------------------------

    async def on_error(self, update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
        error = context.error
        update_id = update.update_id if isinstance(update, Update) else None
        log.error(
            "unhandled %s (update %s)\n%s",
            type(error).__name__,
            update_id,
            "".join(traceback.format_tb(error.__traceback__)).rstrip() if error else "",
        )


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
) -> Application:
    """Build the PTB application serving ``engine``.

    ``base_url`` is the Bot API base such as ``"http://127.0.0.1:8081/bot"`` (PTB's default when
    ``None``). ``request`` (e.g. a :class:`sabot_testing.telegram.FakeBotAPI`) is used for all calls,
    including ``getUpdates`` unless ``get_updates_request`` is given. No job queue, no
    persistence. The :class:`TelegramAdapter` is available as ``application.bot_data["adapter"]``.
    ``retry_policy`` overrides :data:`DEFAULT_RETRY_POLICY` (tests inject an instant ``sleep``).
    With ``protect_logs`` (default) :func:`protect_library_logs` is applied.
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
    application = builder.build()

    adapter = TelegramAdapter(engine, retry_policy=retry_policy)
    application.bot_data["adapter"] = adapter
    application.add_handler(TypeHandler(Update, adapter.on_update), group=0)
    application.add_error_handler(adapter.on_error)
    return application

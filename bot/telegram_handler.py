"""The handler of every Telegram update: converts it (bot.telegram_messages), hands it to the
conversation engine under a per-chat lock, and renders the actions it returns, in order, as plain
text (no ``parse_mode``: user-provided text can never break markup).

Nothing here keeps conversation state (that lives in the engine's database). Refused groups get
one sentence, and a message there that carries personal data is deleted.

Privacy: only update ids, chat ids, kinds and exception types are logged, never texts, button
data or exception messages.
"""

from __future__ import annotations

import asyncio
import logging
import traceback
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, Protocol, TypeVar

from telegram import Chat, InputFile, Update
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter, TelegramError, TimedOut
from telegram.ext import ContextTypes

from bot.chat_locks import ChatLocks
from bot.outbox import crash_point
from bot.telegram_messages import (
    DEFAULT_RETRY_POLICY,
    MAX_CAPTION_LENGTH,
    RetryPolicy,
    _utf16_len,
    call_with_retry,
    fold_replies,
    keyboard_data,
    send_text,
    split_text,
    to_incoming,
)
from domain.i18n import N_, _, language_for, using
from flows.core import personal_data
from flows.replies import Action, DeleteUserMessage, Document, Incoming, Notify, Photo, Reply

#: the Telegram edge logs under one name, whichever of its modules speaks
log = logging.getLogger("bot.telegram_adapter")

T = TypeVar("T")

#: sent by the adapter itself, outside a conversation turn: translated when sent, in the language
#: of the person's Telegram app (the chat's stored choice is the engine's, out of reach here)
APOLOGY_TEXT = N_("Sorry, something went wrong on our side. Please try again in a moment.")
PRIVATE_ONLY_TEXT = N_(
    "This bot only works in a private chat. Please open a direct chat with me to continue."
)


def _in_app_language(update: Update, text: str) -> str:
    """``text`` translated into the language of the sender's Telegram app, if the bot speaks it."""
    user = update.effective_user
    with using(language_for(getattr(user, "language_code", None))):
        return _(text)


class Engine(Protocol):
    async def handle(self, incoming: Incoming) -> list[Action]: ...



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
            await self._refuse_group(bot, chat.id, update.update_id, _in_app_language(update, PRIVATE_ONLY_TEXT))
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
                    await self._call(bot.send_message, incoming.chat_id, _in_app_language(update, APOLOGY_TEXT))
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

    async def _refuse_group(self, bot: Any, chat_id: int, update_id: int, text: str = PRIVATE_ONLY_TEXT) -> None:
        if chat_id in self._refused_groups:
            log.debug("update %s from non-private chat %s ignored", update_id, chat_id)
            return
        self._refused_groups.add(chat_id)
        log.info("update %s: refusing non-private chat %s", update_id, chat_id)
        try:
            await self._call(bot.send_message, chat_id, text)
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

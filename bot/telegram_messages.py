"""What crosses the Telegram edge, one message at a time: an update turned into an
:class:`~flows.replies.Incoming`, the replies turned into Bot API messages (split to Telegram's
length limits, notes folded into the question after them, buttons as plain data), and the
retried calls that send them.

Privacy: message texts can carry SSNs, passwords and one-time codes, so nothing here logs texts,
button data or exception messages.
"""

from __future__ import annotations

import asyncio
import datetime as dtm
import logging
import warnings
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from telegram import InlineKeyboardMarkup, Message, Update
from telegram.error import BadRequest, NetworkError, RetryAfter, TimedOut

from flows.replies import SCREEN_CHARS, Action, Incoming, Reply

#: the Telegram edge logs under one name, whichever of its modules speaks
log = logging.getLogger("bot.telegram_adapter")

T = TypeVar("T")

#: Telegram's limit for one text message (in UTF-16 code units).
MAX_MESSAGE_LENGTH = 4096
#: Telegram's limit for a photo caption (in UTF-16 code units).
MAX_CAPTION_LENGTH = 1024

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
        # the language the person's Telegram app is set to: a new chat starts in it
        "language_code": user.language_code if user else None,
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
    fits one phone screen (``SCREEN_CHARS``)."""
    out: list[Action] = []
    for action in actions:
        if isinstance(action, Reply) and out and isinstance(out[-1], Reply):
            before = out[-1]
            if not before.buttons and before.protect == action.protect and before.text.strip() and action.text.strip():
                text = f"{before.text}\n\n{action.text}"
                if _utf16_len(text) <= SCREEN_CHARS:
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

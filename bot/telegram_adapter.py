"""The Telegram edge: turn Telegram updates into :class:`flows.replies.Incoming` events, hand them to
the conversation engine and render the actions it returns.

Nothing here keeps conversation state (that lives in the engine's database). The edge only:

* converts one :class:`telegram.Update` into one :class:`~flows.replies.Incoming`
  (:mod:`bot.telegram_messages`);
* serialises the updates of one chat (a per-chat lock), so two quick taps can't race in the engine
  (:mod:`bot.telegram_handler`);
* renders :class:`~flows.replies.Reply`, :class:`~flows.replies.DeleteUserMessage`,
  :class:`~flows.replies.Photo`, :class:`~flows.replies.Document` and
  :class:`~flows.replies.Notify` in order, as plain text (no ``parse_mode``: user-provided text
  can never break markup);
* retries Bot API calls on flood control (``RetryAfter``) and transient network errors, and in
  ``sabot run`` keeps to Telegram's sending limits (:mod:`bot.telegram_app`);
* receives only the kinds of update it handles, and shows the command menu
  (:mod:`bot.telegram_app`).

This module is the edge's public face: everything other code uses is importable from here.

Privacy: message texts can carry SSNs, passwords and one-time codes, so the edge never logs
texts, button data or exception messages - only update ids, chat ids, kinds and exception types.
"""

from __future__ import annotations

from bot.telegram_app import (
    ADMIN_MENU,
    ALLOWED_UPDATES,
    PERSON_MENU,
    StatelessApplication,
    admin_chats,
    build_application,
    protect_library_logs,
    set_command_menus,
)
from bot.telegram_handler import APOLOGY_TEXT, PRIVATE_ONLY_TEXT, Engine, TelegramAdapter
from bot.telegram_messages import (
    DEFAULT_RETRY_POLICY,
    MAX_CAPTION_LENGTH,
    MAX_MESSAGE_LENGTH,
    RetryPolicy,
    call_with_retry,
    fold_replies,
    keyboard_data,
    message_kind,
    parse_command,
    send_text,
    split_text,
    to_incoming,
)

__all__ = [
    "ADMIN_MENU",
    "ALLOWED_UPDATES",
    "APOLOGY_TEXT",
    "DEFAULT_RETRY_POLICY",
    "MAX_CAPTION_LENGTH",
    "MAX_MESSAGE_LENGTH",
    "PERSON_MENU",
    "PRIVATE_ONLY_TEXT",
    "Engine",
    "RetryPolicy",
    "StatelessApplication",
    "TelegramAdapter",
    "admin_chats",
    "build_application",
    "call_with_retry",
    "fold_replies",
    "keyboard_data",
    "message_kind",
    "parse_command",
    "protect_library_logs",
    "send_text",
    "set_command_menus",
    "split_text",
    "to_incoming",
]

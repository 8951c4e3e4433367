"""An offline Telegram Bot API and a test client that plays one user in a private chat.

:class:`FakeBotAPI` is a :class:`telegram.request.BaseRequest`: pass it as ``request=`` to
:func:`bot.telegram_adapter.build_application` and every Bot API call the application makes is
answered in memory (and recorded in :attr:`FakeBotAPI.calls`) - nothing touches the network.

:class:`TelegramTestClient` builds real :class:`telegram.Update` objects (``Update.de_json``), feeds
them to ``application.process_update`` and returns what the bot sent back to its chat::

    api = FakeBotAPI()
    app = build_application(token=FAKE_TOKEN, engine=engine, request=api)
    async with TelegramTestClient(app, chat_id=1001) as alice:
        replies = await alice.command("start")
        await alice.press("Continue")
        assert "SSN" in alice.last_text
"""

from __future__ import annotations

import copy
import itertools
import json
import time
import weakref
from collections import defaultdict, deque
from dataclasses import dataclass, field
from typing import Any

from telegram import Update
from telegram.error import NetworkError, TimedOut
from telegram.ext import Application, ContextTypes
from telegram.request import BaseRequest, RequestData

from sabot_testing.botapi_server import NOT_MODIFIED, Buttons, bot_user, edited

__all__ = [
    "FAKE_TOKEN",
    "BotMessage",
    "FakeBotAPI",
    "TelegramTestClient",
]

#: A syntactically valid bot token for offline tests.
FAKE_TOKEN = "123456789:TEST-sabot-offline-token-0000000000"

_MAX_TEXT = 4096
_MAX_CAPTION = 1024
_MAX_CALLBACK_DATA = 64

_SEND_METHODS = ("sendmessage", "sendphoto", "senddocument")

#: applications on which the error-recording hook is installed
_HOOKED: "weakref.WeakSet[Application]" = weakref.WeakSet()


def _utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def _as_int(value: Any) -> Any:
    if isinstance(value, str):
        try:
            return int(value)
        except ValueError:
            return value
    return value


class _APIError(Exception):
    def __init__(self, code: int, description: str, parameters: dict | None = None) -> None:
        super().__init__(description)
        self.code = code
        self.description = description
        self.parameters = parameters


@dataclass
class _Fault:
    error_code: int | str
    retry_after: int | None
    description: str | None


class FakeBotAPI(BaseRequest):
    """An in-memory Bot API server.

    State kept per chat: a message id counter shared by user and bot messages (as in a real
    private chat), the bot messages sent (current content, edits applied), the user message ids
    the API has "seen" and the deleted ids.

    Attributes:
        calls: every request, in order, as ``{"method", "params", "ok", "result", "error"}``
            (``params`` with uploaded files as ``{"filename", "content", "mime_type"}`` dicts).
        messages: ``chat_id -> {message_id: message dict}`` of bot messages.
        deleted: ``chat_id -> set of deleted message ids`` (bot's and user's).
        blocked_chats: chat ids whose user "blocked the bot" (sends get 403).
        handler_errors: exceptions that reached the application's error handlers (filled once a
            :class:`TelegramTestClient` was started on the application).
    """

    def __init__(
        self,
        *,
        bot_id: int = 123456789,
        bot_username: str = "sabot_test_bot",
        bot_first_name: str = "Sabot Test",
    ) -> None:
        self.bot_user = bot_user(bot_id, bot_username, bot_first_name)
        self.calls: list[dict[str, Any]] = []
        self.messages: dict[int, dict[int, dict[str, Any]]] = defaultdict(dict)
        self.user_messages: dict[int, set[int]] = defaultdict(set)
        self.deleted: dict[int, set[int]] = defaultdict(set)
        self.chats: dict[int, dict[str, Any]] = {}
        self.blocked_chats: set[int] = set()
        self.handler_errors: list[BaseException] = []
        #: contents of the documents the bot sent, by file_id
        self.files: dict[str, bytes] = {}
        self._faults: dict[str, deque[_Fault]] = defaultdict(deque)
        self._next_message_id: dict[int, int] = defaultdict(lambda: 1)
        # like Telegram, ids only grow; each fake starts somewhere new so a bot restarted in a
        # test (same database, new fake) never sees an id it already handled
        self._update_ids = itertools.count(int(time.time() * 1000) % 10**9 * 1000 + 1)
        self._file_ids = itertools.count(1)
        self._callback_ids = itertools.count(1)
        self._clients = 0

    # -- BaseRequest interface ------------------------------------------------------------------

    @property
    def read_timeout(self) -> float | None:
        return 5.0

    async def initialize(self) -> None:
        return None

    async def shutdown(self) -> None:
        return None

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: Any = None,
        write_timeout: Any = None,
        connect_timeout: Any = None,
        pool_timeout: Any = None,
    ) -> tuple[int, bytes]:
        name = url.split("?", 1)[0].rstrip("/").rsplit("/", 1)[-1]
        params = self._params(request_data)
        call: dict[str, Any] = {"method": name, "params": params, "ok": False, "result": None,
                                "error": None}
        self.calls.append(call)

        fault = self._take_fault(name)
        if fault is not None:
            if fault.error_code == "timeout":
                call["error"] = "timeout"
                raise TimedOut("Timed out (fake)")
            if fault.error_code == "network":
                call["error"] = "network"
                raise NetworkError("Connection reset (fake)")
            code = int(fault.error_code)
            parameters = None
            if code == 429:
                retry_after = fault.retry_after if fault.retry_after is not None else 1
                description = fault.description or f"Too Many Requests: retry after {retry_after}"
                parameters = {"retry_after": retry_after}
            else:
                description = fault.description or _DEFAULT_DESCRIPTIONS.get(
                    code, f"Error {code}"
                )
            call["error"] = description
            return self._error(code, description, parameters)

        handler = getattr(self, f"_api_{name.lower()}", None)
        try:
            result = handler(params) if handler is not None else True
        except _APIError as exc:
            call["error"] = exc.description
            return self._error(exc.code, exc.description, exc.parameters)
        call["ok"] = True
        call["result"] = result
        return 200, json.dumps({"ok": True, "result": result}).encode()

    # -- fault injection and helpers ------------------------------------------------------------

    def fail_next(
        self,
        method: str,
        error_code: int | str = 429,
        retry_after: int | None = 1,
        *,
        description: str | None = None,
        times: int = 1,
    ) -> None:
        """Make the next ``times`` calls of ``method`` (e.g. ``"sendMessage"``, case-insensitive)
        fail: ``error_code`` 429 (flood control, with ``retry_after``), any HTTP error code
        (500, 400, 403...), ``"timeout"`` (raises :class:`telegram.error.TimedOut`) or
        ``"network"`` (raises :class:`telegram.error.NetworkError`)."""
        for _ in range(times):
            self._faults[method.lower()].append(_Fault(error_code, retry_after, description))

    def clear_faults(self) -> None:
        self._faults.clear()

    def _take_fault(self, method: str) -> _Fault | None:
        queue = self._faults.get(method.lower())
        if queue:
            return queue.popleft()
        return None

    def calls_to(self, method: str) -> list[dict[str, Any]]:
        """The recorded calls of ``method`` (case-insensitive)."""
        return [c for c in self.calls if c["method"].lower() == method.lower()]

    def sent_to(self, chat_id: int) -> list[dict[str, Any]]:
        """The bot messages (current content) in ``chat_id``, oldest first."""
        return [copy.deepcopy(m) for m in self.messages.get(chat_id, {}).values()]

    def register_chat(self, chat: dict[str, Any]) -> None:
        self.chats[chat["id"]] = dict(chat)

    def new_user_message_id(self, chat_id: int) -> int:
        """Allocate the id of a message the user sends in ``chat_id`` (ids are shared with the
        bot's messages, as in a real private chat)."""
        message_id = self._next_message_id[chat_id]
        self._next_message_id[chat_id] = message_id + 1
        self.user_messages[chat_id].add(message_id)
        return message_id

    def next_update_id(self) -> int:
        return next(self._update_ids)

    def next_callback_id(self) -> str:
        return str(next(self._callback_ids))

    # -- internals ------------------------------------------------------------------------------

    @staticmethod
    def _error(code: int, description: str, parameters: dict | None = None) -> tuple[int, bytes]:
        body: dict[str, Any] = {"ok": False, "error_code": code, "description": description}
        if parameters:
            body["parameters"] = parameters
        return code, json.dumps(body).encode()

    @staticmethod
    def _params(request_data: RequestData | None) -> dict[str, Any]:
        if request_data is None:
            return {}
        params = dict(request_data.parameters)
        if request_data.contains_files:
            for part, value in request_data.multipart_data.items():
                filename, content, mime_type = (tuple(value) + (None,))[:3]
                if not isinstance(content, bytes | bytearray):
                    content = content.read() if hasattr(content, "read") else content
                params[part] = {"filename": filename, "content": content, "mime_type": mime_type}
        for key in ("chat_id", "message_id", "from_chat_id"):
            if key in params:
                params[key] = _as_int(params[key])
        return params

    def _chat(self, chat_id: Any) -> dict[str, Any]:
        chat_id = _as_int(chat_id)
        if not isinstance(chat_id, int):
            raise _APIError(400, "Bad Request: chat not found")
        if chat_id in self.chats:
            return dict(self.chats[chat_id])
        if chat_id > 0:
            return {"id": chat_id, "type": "private", "first_name": f"User {chat_id}"}
        return {"id": chat_id, "type": "group", "title": f"Group {chat_id}"}

    def _check_reachable(self, chat_id: int) -> None:
        if chat_id in self.blocked_chats:
            raise _APIError(403, "Forbidden: bot was blocked by the user")

    @staticmethod
    def _check_markup(markup: Any) -> dict | None:
        if markup is None:
            return None
        if isinstance(markup, str):
            markup = json.loads(markup)
        for row in markup.get("inline_keyboard", []):
            for button in row:
                data = button.get("callback_data")
                if data is not None and not 1 <= len(data.encode()) <= _MAX_CALLBACK_DATA:
                    raise _APIError(400, "Bad Request: BUTTON_DATA_INVALID")
                if not button.get("text"):
                    raise _APIError(400, "Bad Request: text buttons are unallowed in the "
                                         "inline keyboard")
        return markup

    def _new_bot_message(self, params: dict[str, Any], **content: Any) -> dict[str, Any]:
        chat = self._chat(params.get("chat_id"))
        chat_id = chat["id"]
        self._check_reachable(chat_id)
        markup = self._check_markup(params.get("reply_markup"))
        message_id = self._next_message_id[chat_id]
        self._next_message_id[chat_id] = message_id + 1
        message: dict[str, Any] = {
            "message_id": message_id,
            "from": dict(self.bot_user),
            "chat": chat,
            "date": int(time.time()),
            **{k: v for k, v in content.items() if v is not None},
        }
        if markup:
            message["reply_markup"] = markup
        if params.get("protect_content"):
            message["has_protected_content"] = True
        self.messages[chat_id][message_id] = message
        # edits replace a stored message's top-level keys (never change nested values in place),
        # so a shallow copy keeps the answer independent of later edits
        return dict(message)

    def _find_bot_message(self, params: dict[str, Any], what: str) -> dict[str, Any]:
        chat_id = _as_int(params.get("chat_id"))
        message_id = _as_int(params.get("message_id"))
        message = self.messages.get(chat_id, {}).get(message_id)
        if message is None or message_id in self.deleted.get(chat_id, set()):
            raise _APIError(400, f"Bad Request: message to {what} not found")
        return message

    # -- methods --------------------------------------------------------------------------------

    def _api_getme(self, params: dict[str, Any]) -> Any:
        return dict(self.bot_user)

    @staticmethod
    def _message_text(params: dict[str, Any], too_long: str) -> str:
        """The ``text`` parameter, refused as Telegram refuses an empty or too long one."""
        text = params.get("text")
        if not isinstance(text, str) or not text.strip():
            raise _APIError(400, "Bad Request: message text is empty")
        if _utf16_len(text) > _MAX_TEXT:
            raise _APIError(400, f"Bad Request: {too_long}")
        return text

    def _api_sendmessage(self, params: dict[str, Any]) -> Any:
        return self._new_bot_message(params, text=self._message_text(params, "message is too long"))

    def _api_sendphoto(self, params: dict[str, Any]) -> Any:
        photo = params.get("photo")
        caption = params.get("caption")
        if caption is not None and _utf16_len(caption) > _MAX_CAPTION:
            raise _APIError(400, "Bad Request: message caption is too long")
        if photo is None:
            raise _APIError(400, "Bad Request: there is no photo in the request")
        size = len(photo["content"]) if isinstance(photo, dict) else 0
        n = next(self._file_ids)
        sizes = [
            {"file_id": f"photo-{n}-{w}", "file_unique_id": f"uphoto-{n}-{w}", "width": w,
             "height": w, "file_size": size}
            for w in (90, 320)
        ]
        return self._new_bot_message(params, photo=sizes, caption=caption)

    def _api_senddocument(self, params: dict[str, Any]) -> Any:
        document = params.get("document")
        caption = params.get("caption")
        if caption is not None and _utf16_len(caption) > _MAX_CAPTION:
            raise _APIError(400, "Bad Request: message caption is too long")
        if not isinstance(document, dict):
            raise _APIError(400, "Bad Request: there is no document in the request")
        n = next(self._file_ids)
        content = document["content"]
        self.files[f"document-{n}"] = bytes(content)
        meta = {
            "file_id": f"document-{n}",
            "file_unique_id": f"udocument-{n}",
            "file_name": document.get("filename"),
            "mime_type": document.get("mime_type"),
            "file_size": len(content),
        }
        return self._new_bot_message(params, document=meta, caption=caption)

    def _api_deletemessage(self, params: dict[str, Any]) -> Any:
        chat_id = _as_int(params.get("chat_id"))
        message_id = _as_int(params.get("message_id"))
        known = message_id in self.user_messages.get(chat_id, set()) or message_id in (
            self.messages.get(chat_id, {})
        )
        if not known or message_id in self.deleted[chat_id]:
            raise _APIError(400, "Bad Request: message to delete not found")
        self.deleted[chat_id].add(message_id)
        return True

    def _api_deletemessages(self, params: dict[str, Any]) -> Any:
        chat_id = _as_int(params.get("chat_id"))
        for message_id in params.get("message_ids") or []:
            message_id = _as_int(message_id)
            if message_id in self.user_messages.get(chat_id, set()) or message_id in (
                self.messages.get(chat_id, {})
            ):
                self.deleted[chat_id].add(message_id)
        return True

    def _edit(self, params: dict[str, Any], **changes: Any) -> Any:
        if params.get("inline_message_id"):
            return True
        message = self._find_bot_message(params, "edit")
        markup = self._check_markup(params.get("reply_markup"))
        new = edited(message, changes, markup)
        if new is None:
            raise _APIError(400, NOT_MODIFIED)
        message.clear()
        message.update(new)
        return dict(message)

    def _api_editmessagetext(self, params: dict[str, Any]) -> Any:
        text = self._message_text(params, "MESSAGE_TOO_LONG")
        if params.get("inline_message_id") is None:
            message = self._find_bot_message(params, "edit")
            if "text" not in message:
                raise _APIError(400, "Bad Request: there is no text in the message to edit")
        return self._edit(params, text=text)

    def _api_editmessagecaption(self, params: dict[str, Any]) -> Any:
        return self._edit(params, caption=params.get("caption"))

    def _api_editmessagereplymarkup(self, params: dict[str, Any]) -> Any:
        return self._edit(params)

    def _api_answercallbackquery(self, params: dict[str, Any]) -> Any:
        return True

    def _api_getupdates(self, params: dict[str, Any]) -> Any:
        return []

    def _api_getmycommands(self, params: dict[str, Any]) -> Any:
        return []

    def _api_getwebhookinfo(self, params: dict[str, Any]) -> Any:
        return {"url": "", "has_custom_certificate": False, "pending_update_count": 0}


_DEFAULT_DESCRIPTIONS = {
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden: bot was blocked by the user",
    404: "Not Found",
    409: "Conflict",
    500: "Internal Server Error",
    502: "Bad Gateway",
}


# ------------------------------------------------------------------------------------------------
# The test client
# ------------------------------------------------------------------------------------------------


@dataclass
class BotMessage(Buttons):
    """One message the bot sent, as the user sees it (current content)."""

    text: str
    buttons: list[list[str]] = field(default_factory=list)
    button_data: list[list[str]] = field(default_factory=list)
    protect_content: bool = False
    photo: bool = False
    #: file name of a document the bot sent (its bytes are in ``FakeBotAPI.files[document_id]``)
    document: str | None = None
    document_id: str | None = None
    message_id: int = 0
    chat_id: int = 0

    @classmethod
    def from_dict(cls, message: dict[str, Any]) -> "BotMessage":
        rows = (message.get("reply_markup") or {}).get("inline_keyboard") or []
        return cls(
            text=message.get("text") or message.get("caption") or "",
            buttons=[[b.get("text", "") for b in row] for row in rows],
            button_data=[[b.get("callback_data") or "" for b in row] for row in rows],
            protect_content=bool(message.get("has_protected_content")),
            photo=bool(message.get("photo")),
            document=(message.get("document") or {}).get("file_name"),
            document_id=(message.get("document") or {}).get("file_id"),
            message_id=message["message_id"],
            chat_id=message["chat"]["id"],
        )



class TelegramTestClient:
    """Plays one user in one chat against an :class:`~telegram.ext.Application` whose requests go
    to a :class:`FakeBotAPI`. Several clients may share one application (many users).

    Every action method feeds one real :class:`telegram.Update` through
    ``application.process_update`` and returns the :class:`BotMessage` s the bot sent to this
    chat while handling it. With ``strict=True`` (default) an exception that reaches the
    application's error handlers fails the step with an ``AssertionError``.
    """

    def __init__(
        self,
        application: Application,
        *,
        chat_id: int = 1001,
        user_id: int | None = None,
        username: str | None = "test_user",
        first_name: str = "Test",
        last_name: str | None = "User",
        chat_type: str = "private",
        language_code: str = "en",
        strict: bool = True,
    ) -> None:
        request = application.bot.request
        if not isinstance(request, FakeBotAPI):
            raise TypeError("the application must be built with request=FakeBotAPI()")
        self.application = application
        self.api: FakeBotAPI = request
        self.chat_id = chat_id
        self.user_id = user_id if user_id is not None else (chat_id if chat_id > 0 else 1001)
        self.strict = strict
        self.user: dict[str, Any] = {
            "id": self.user_id,
            "is_bot": False,
            "first_name": first_name,
            "language_code": language_code,
        }
        if last_name:
            self.user["last_name"] = last_name
        if username:
            self.user["username"] = username
        if chat_type == "private":
            self.chat: dict[str, Any] = {"id": chat_id, "type": "private",
                                         "first_name": first_name}
            if last_name:
                self.chat["last_name"] = last_name
            if username:
                self.chat["username"] = username
        else:
            self.chat = {"id": chat_id, "type": chat_type, "title": f"Test {chat_type}"}
        self.api.register_chat(self.chat)
        #: ids of the messages this user sent, oldest first
        self.user_message_ids: list[int] = []
        #: the bot messages produced by the most recent step
        self.last_replies: list[BotMessage] = []
        self._started = False

    # -- lifecycle ------------------------------------------------------------------------------

    async def start(self) -> "TelegramTestClient":
        if self._started:
            return self
        if self.application not in _HOOKED:
            self.application.add_error_handler(self._record_error)
            _HOOKED.add(self.application)
        await self.application.initialize()
        self.api._clients += 1
        self._started = True
        return self

    async def stop(self) -> None:
        if not self._started:
            return
        self._started = False
        self.api._clients -= 1
        if self.api._clients <= 0:
            await self.application.shutdown()

    async def __aenter__(self) -> "TelegramTestClient":
        return await self.start()

    async def __aexit__(self, *exc_info: Any) -> None:
        await self.stop()

    async def _record_error(self, update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
        if context.error is not None:
            self.api.handler_errors.append(context.error)

    # -- user actions ---------------------------------------------------------------------------

    async def send(self, text: str) -> list[BotMessage]:
        """The user types ``text``."""
        return await self._send_message({"text": text})

    async def command(self, name: str, args: str = "") -> list[BotMessage]:
        """The user sends ``/name args`` (``name`` may include ``@botname``)."""
        word = "/" + name.lstrip("/")
        text = f"{word} {args}" if args else word
        return await self._send_message(
            {"text": text, "entities": [{"type": "bot_command", "offset": 0,
                                         "length": _utf16_len(word)}]}
        )

    async def send_photo(self, caption: str | None = None) -> list[BotMessage]:
        n = next(self.api._file_ids)
        fields: dict[str, Any] = {
            "photo": [
                {"file_id": f"uphoto-{n}-{w}", "file_unique_id": f"uuphoto-{n}-{w}",
                 "width": w, "height": w, "file_size": w * 10}
                for w in (90, 800)
            ]
        }
        if caption:
            fields["caption"] = caption
        return await self._send_message(fields)

    async def send_sticker(self) -> list[BotMessage]:
        n = next(self.api._file_ids)
        return await self._send_message(
            {
                "sticker": {
                    "file_id": f"sticker-{n}",
                    "file_unique_id": f"usticker-{n}",
                    "width": 512,
                    "height": 512,
                    "is_animated": False,
                    "is_video": False,
                    "type": "regular",
                    "emoji": "👍",
                }
            }
        )

    async def send_raw(self, fields: dict[str, Any]) -> list[BotMessage]:
        """Send a message with arbitrary content fields (``{"voice": {...}}``, ``{"location":
        {...}}``...); ``message_id``, ``date``, ``chat`` and ``from`` are filled in."""
        return await self._send_message(dict(fields))

    async def edit_last(self, text: str) -> list[BotMessage]:
        """The user edits their most recent message to ``text``."""
        if not self.user_message_ids:
            raise AssertionError("the user has not sent any message to edit")
        now = int(time.time())
        message = {
            "message_id": self.user_message_ids[-1],
            "date": now - 1,
            "edit_date": now,
            "chat": dict(self.chat),
            "from": dict(self.user),
            "text": text,
        }
        return await self._feed({"edited_message": message})

    async def press(self, label: str, *, message_id: int | None = None) -> list[BotMessage]:
        """Press the button labelled ``label`` on the most recent bot message with a keyboard
        (or on message ``message_id``)."""
        if message_id is not None:
            message = self.api.messages.get(self.chat_id, {}).get(message_id)
            if message is None:
                raise AssertionError(f"no bot message {message_id} in chat {self.chat_id}")
        else:
            message = self._last_keyboard_message()
            if message is None:
                raise AssertionError(
                    f"cannot press {label!r}: no bot message with buttons in chat {self.chat_id}"
                )
        bot_message = BotMessage.from_dict(message)
        data = bot_message.data_for(label)
        if data is None:
            raise AssertionError(
                f"no button {label!r} on message {bot_message.message_id}; "
                f"buttons offered: {bot_message.labels!r}"
            )
        return await self._callback(data, message)

    async def press_data(self, data: str, message_id: int | None = None) -> list[BotMessage]:
        """Send a callback query with arbitrary (forged/replayed) ``data``. The query's message is
        bot message ``message_id`` if known, else a synthetic message with that id (or the most
        recent bot message when ``message_id`` is None)."""
        messages = self.api.messages.get(self.chat_id, {})
        message: dict[str, Any] | None
        if message_id is None:
            message = next(reversed(messages.values()), None) if messages else None
        else:
            message = messages.get(message_id)
        if message is None:
            message = {
                "message_id": message_id if message_id is not None else 1,
                "from": dict(self.api.bot_user),
                "chat": dict(self.chat),
                "date": int(time.time()),
                "text": "…",
            }
        return await self._callback(data, message)

    # -- state ----------------------------------------------------------------------------------

    @property
    def history(self) -> list[BotMessage]:
        """Every bot message sent to this chat, oldest first (current content, deleted ones too)."""
        return [BotMessage.from_dict(m) for m in self.api.messages.get(self.chat_id, {}).values()]

    @property
    def deleted(self) -> set[int]:
        """Ids of this user's messages that the bot deleted."""
        return self.api.deleted.get(self.chat_id, set()) & self.api.user_messages.get(
            self.chat_id, set()
        )

    @property
    def last_message(self) -> BotMessage | None:
        messages = self.api.messages.get(self.chat_id, {})
        if not messages:
            return None
        return BotMessage.from_dict(next(reversed(messages.values())))

    @property
    def last_text(self) -> str | None:
        """Text (or caption) of the most recent bot message in this chat."""
        last = self.last_message
        return last.text if last is not None else None

    @property
    def last_buttons(self) -> list[str]:
        """Labels of the most recent bot message with a keyboard, flattened ([] if none)."""
        message = self._last_keyboard_message()
        return BotMessage.from_dict(message).labels if message is not None else []

    # -- internals ------------------------------------------------------------------------------

    def _last_keyboard_message(self) -> dict[str, Any] | None:
        deleted = self.api.deleted.get(self.chat_id, set())
        for message in reversed(list(self.api.messages.get(self.chat_id, {}).values())):
            if message["message_id"] in deleted:
                continue
            if (message.get("reply_markup") or {}).get("inline_keyboard"):
                return message
        return None

    async def _send_message(self, fields: dict[str, Any]) -> list[BotMessage]:
        message_id = self.api.new_user_message_id(self.chat_id)
        self.user_message_ids.append(message_id)
        message = {
            "message_id": message_id,
            "date": int(time.time()),
            "chat": dict(self.chat),
            "from": dict(self.user),
            **fields,
        }
        return await self._feed({"message": message})

    async def _callback(self, data: str, message: dict[str, Any]) -> list[BotMessage]:
        query = {
            "id": self.api.next_callback_id(),
            "from": dict(self.user),
            "chat_instance": f"ci-{self.chat_id}",
            "data": data,
            "message": copy.deepcopy(message),
        }
        return await self._feed({"callback_query": query})

    async def _feed(self, payload: dict[str, Any]) -> list[BotMessage]:
        if not self._started:
            raise RuntimeError("call `await client.start()` (or use `async with client`) first")
        start = len(self.api.calls)
        errors_before = len(self.api.handler_errors)
        update = Update.de_json({"update_id": self.api.next_update_id(), **payload},
                                self.application.bot)
        await self.application.process_update(update)

        if self.strict and len(self.api.handler_errors) > errors_before:
            error = self.api.handler_errors[errors_before]
            raise AssertionError(
                f"the update handler raised {type(error).__name__}: {error}"
            ) from error

        produced: list[BotMessage] = []
        current = self.api.messages.get(self.chat_id, {})
        for call in self.api.calls[start:]:
            if call["method"].lower() not in _SEND_METHODS or not call["ok"]:
                continue
            result = call["result"]
            if result["chat"]["id"] != self.chat_id:
                continue
            produced.append(BotMessage.from_dict(current.get(result["message_id"], result)))
        self.last_replies = produced
        return produced


"""A minimal Telegram Bot API HTTP server for loopback tests (standard library only).

Unlike :mod:`sabot_testing.telegram` (which replaces python-telegram-bot's request layer inside the
process), this is a real HTTP server on ``127.0.0.1``: point a bot process at it with
``SABOT_TELEGRAM__BASE_URL=<server.base_url>`` and drive users from the test::

    with BotAPIServer() as api:
        env["SABOT_TELEGRAM__BASE_URL"] = api.base_url          # http://127.0.0.1:PORT/bot
        proc = subprocess.Popen([... "sabot", "run"], env=env)
        api.user_sends(1001, "/start")
        [welcome] = api.wait_for_bot_messages(1001, 1)
        api.user_presses(1001, "Begin registration")
        api.wait_for_bot_messages(1001, lambda new: "first name" in new[-1].text)

Requests are ``POST``/``GET`` to ``/bot<TOKEN>/<method>`` with a JSON, form-encoded or multipart body
(python-telegram-bot sends form-encoded or multipart bodies in which non-string parameters such as
``reply_markup`` are JSON-encoded strings). Implemented methods: getMe, getUpdates (long polling
honouring ``offset``, ``limit`` and ``timeout``), deleteWebhook, getWebhookInfo,
setMyCommands/getMyCommands, sendMessage, sendPhoto, deleteMessage(s), editMessageText,
editMessageReplyMarkup, answerCallbackQuery, close, logOut; any other method answers
``{"ok": true, "result": true}``.

State kept per chat (all behind one lock, so the driver API is thread-safe): a message-id counter
shared by user and bot messages, the bot messages (current content, edits applied), the ids of the
user's messages and the deleted ids. Every wait is bounded; :meth:`BotAPIServer.stop` wakes pending
long polls and shuts the server down.
"""

from __future__ import annotations

import copy
import email.parser
import email.policy
import itertools
import json
import queue
import threading
import urllib.error
import urllib.request
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

__all__ = ["BotAPIServer", "SentMessage", "BotAPIError"]

#: Parameters whose form value is an integer.
_INT_PARAMS = frozenset(
    {"chat_id", "message_id", "from_chat_id", "offset", "limit", "timeout", "reply_to_message_id",
     "cache_time", "message_thread_id"}
)
#: Parameters whose form value is a boolean.
_BOOL_PARAMS = frozenset(
    {"protect_content", "disable_notification", "disable_web_page_preview", "show_alert",
     "drop_pending_updates", "allow_sending_without_reply", "has_spoiler",
     "show_caption_above_media", "allow_paid_broadcast"}
)
#: Parameters whose form value is JSON (objects, arrays).
_JSON_PARAMS = frozenset(
    {"reply_markup", "allowed_updates", "commands", "message_ids", "entities", "caption_entities",
     "link_preview_options", "reply_parameters", "scope", "media"}
)

_MAX_TEXT = 4096
_MAX_CAPTION = 1024
_MAX_POLL_SECONDS = 60.0
_MAX_BODY = 20 * 1024 * 1024


def bot_user(bot_id: int, username: str, first_name: str) -> dict[str, Any]:
    """The bot's own ``User`` object, as ``getMe`` returns it."""
    return {
        "id": bot_id,
        "is_bot": True,
        "first_name": first_name,
        "username": username,
        "can_join_groups": False,
        "can_read_all_group_messages": False,
        "supports_inline_queries": False,
    }


NOT_MODIFIED = (
    "Bad Request: message is not modified: specified new message content and reply markup are "
    "exactly the same as a current content and reply markup of the message"
)


def edited(message: dict[str, Any], changes: dict[str, Any], markup: Any) -> dict[str, Any] | None:
    """The message as an edit leaves it (a None in ``changes`` removes that field), or None when
    the edit would change nothing."""
    new = dict(message)
    for key, value in changes.items():
        if value is None:
            new.pop(key, None)
        else:
            new[key] = value
    if markup:
        new["reply_markup"] = markup
    else:
        new.pop("reply_markup", None)
    if new == message:
        return None
    new["edit_date"] = int(time.time())
    return new


class BotAPIError(Exception):
    """An error answer (``{"ok": false, "error_code": ..., "description": ...}``)."""

    def __init__(self, code: int, description: str) -> None:
        super().__init__(description)
        self.code = code
        self.description = description


class Buttons:
    """Reading the inline keyboard of a sent message (``buttons``: rows of labels,
    ``button_data``: the same rows of callback data)."""

    buttons: list[list[str]]
    button_data: list[list[str]]

    @property
    def labels(self) -> list[str]:
        """All button labels, flattened."""
        return [label for row in self.buttons for label in row]

    def data_for(self, label: str) -> str | None:
        for labels, datas in zip(self.buttons, self.button_data):
            for lab, data in zip(labels, datas):
                if lab == label:
                    return data
        return None


@dataclass
class SentMessage(Buttons):
    """A bot message as the user sees it (a snapshot taken when it was returned to the driver)."""

    chat_id: int
    message_id: int
    text: str
    buttons: list[list[str]] = field(default_factory=list)
    button_data: list[list[str]] = field(default_factory=list)
    reply_markup: dict[str, Any] | None = None
    protect_content: bool = False
    photo: bool = False
    method: str = "sendMessage"

    @classmethod
    def from_dict(cls, message: dict[str, Any], method: str = "sendMessage") -> "SentMessage":
        markup = message.get("reply_markup") or None
        rows = (markup or {}).get("inline_keyboard") or []
        return cls(
            chat_id=message["chat"]["id"],
            message_id=message["message_id"],
            text=message.get("text") or message.get("caption") or "",
            buttons=[[str(b.get("text", "")) for b in row] for row in rows],
            button_data=[[str(b.get("callback_data") or "") for b in row] for row in rows],
            reply_markup=copy.deepcopy(markup),
            protect_content=bool(message.get("has_protected_content")),
            photo=bool(message.get("photo")),
            method=method,
        )



@dataclass
class _Chat:
    chat_id: int
    next_message_id: int = 1
    #: bot messages, message_id -> message dict (current content)
    messages: dict[int, dict[str, Any]] = field(default_factory=dict)
    #: (message_id, method) of every bot message, in the order sent
    sent: list[tuple[int, str]] = field(default_factory=list)
    #: how many entries of ``sent`` the driver has already been given
    cursor: int = 0
    user_messages: set[int] = field(default_factory=set)
    deleted: set[int] = field(default_factory=set)


# ------------------------------------------------------------------------------------------------
# Request parsing
# ------------------------------------------------------------------------------------------------


def _coerce(key: str, value: Any) -> Any:
    """Turn a form value (always a string) into what a JSON body would have carried."""
    if not isinstance(value, str):
        return value
    if key in _INT_PARAMS:
        try:
            return int(value)
        except ValueError:
            return value
    if key in _BOOL_PARAMS:
        return value.strip().lower() in ("true", "1")
    if key in _JSON_PARAMS:
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


def _parse_multipart(content_type: str, body: bytes) -> dict[str, Any]:
    head = f"Content-Type: {content_type}\r\nMIME-Version: 1.0\r\n\r\n".encode()
    message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(head + body)
    params: dict[str, Any] = {}
    if not message.is_multipart():
        return params
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        if not name:
            continue
        payload = part.get_payload(decode=True) or b""
        filename = part.get_filename()
        if filename is not None:
            params[name] = {"filename": filename, "content": payload,
                            "mime_type": part.get_content_type()}
            continue
        charset = part.get_content_charset() or "utf-8"
        params[name] = payload.decode(charset, errors="replace")
    return params


def parse_params(content_type: str, body: bytes, query: str = "") -> dict[str, Any]:
    """The parameters of one Bot API request, whatever its encoding."""
    params: dict[str, Any] = {}
    if query:
        params.update(parse_qsl(query, keep_blank_values=True))
    ctype = (content_type or "").split(";", 1)[0].strip().lower()
    if body:
        if ctype == "application/json":
            loaded = json.loads(body.decode("utf-8"))
            if not isinstance(loaded, dict):
                raise BotAPIError(400, "Bad Request: the body must be a JSON object")
            params.update(loaded)
        elif ctype == "multipart/form-data":
            params.update(_parse_multipart(content_type, body))
        else:  # application/x-www-form-urlencoded (and anything else that looks like it)
            params.update(parse_qsl(body.decode("utf-8"), keep_blank_values=True))
    return {key: _coerce(key, value) for key, value in params.items()}


# ------------------------------------------------------------------------------------------------
# The server
# ------------------------------------------------------------------------------------------------


class _Handler(BaseHTTPRequestHandler):
    server_version = "sabot-botapi-loopback/1"
    protocol_version = "HTTP/1.0"  # one request per connection: nothing lingers after stop()
    timeout = 30  # socket timeout for reading a request

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
        return None  # request lines carry the token; keep test output quiet

    def do_GET(self) -> None:  # noqa: N802 - stdlib naming
        self._handle()

    def do_POST(self) -> None:  # noqa: N802
        self._handle()

    def _handle(self) -> None:
        api: BotAPIServer = self.server.api  # type: ignore[attr-defined]
        parts = urlsplit(self.path)
        segments = [s for s in parts.path.split("/") if s]
        if len(segments) != 2 or not segments[0].startswith("bot"):
            self._send(404, {"ok": False, "error_code": 404, "description": "Not Found"})
            return
        token, method = segments[0][3:], segments[1]
        try:
            length = int(self.headers.get("Content-Length") or 0)
            if length > _MAX_BODY:
                raise BotAPIError(413, "Request Entity Too Large")
            body = self.rfile.read(length) if length > 0 else b""
            params = parse_params(self.headers.get("Content-Type", ""), body, parts.query)
        except BotAPIError as exc:
            self._send(exc.code, {"ok": False, "error_code": exc.code,
                                  "description": exc.description})
            return
        except (ValueError, UnicodeDecodeError):
            self._send(400, {"ok": False, "error_code": 400,
                             "description": "Bad Request: can't parse the request body"})
            return
        status, payload = api._dispatch(token, method, params)
        self._send(status, payload)

    def _send(self, status: int, payload: dict[str, Any]) -> None:
        data = json.dumps(payload, ensure_ascii=False).encode("utf-8")
        try:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.send_header("Connection", "close")
            self.end_headers()
            self.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):  # the client gave up (e.g. cancelled poll)
            pass


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    api: "BotAPIServer"


class BotAPIServer:
    """A Bot API on ``127.0.0.1`` (a free port unless ``port`` is given).

    ``token``: when set, requests for any other token get 401 (``None`` accepts any token).

    Driver API (thread-safe): :meth:`user_sends`, :meth:`user_presses`,
    :meth:`wait_for_bot_messages`, :meth:`deleted`, plus :meth:`messages`, :meth:`user_message_ids`,
    :meth:`wait_until`, :meth:`calls_to` and :meth:`wait_for_call`.
    """

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        token: str | None = None,
        bot_id: int = 123456,
        bot_username: str = "sabot_loopback_bot",
        bot_first_name: str = "Sabot Loopback",
    ) -> None:
        self.host = host
        self.requested_port = port
        self.token = token
        self.bot_user = bot_user(bot_id, bot_username, bot_first_name)
        self._cond = threading.Condition(threading.RLock())
        self._chats: dict[int, _Chat] = {}
        self._updates: list[dict[str, Any]] = []  # queued, not yet confirmed
        self._update_ids = itertools.count(1)
        self._callback_ids = itertools.count(1)
        self._file_ids = itertools.count(1)
        self._commands: list[dict[str, Any]] = []
        #: every request, in order: {"method", "params", "ok", "time"} (file contents dropped)
        self.calls: list[dict[str, Any]] = []
        self.tokens_seen: set[str] = set()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._stopping = False
        #: webhook mode (after setWebhook): queued updates are POSTed to the bot like Telegram does
        self.webhook_url: str | None = None
        self.webhook_secret: str | None = None
        self.webhook_responses: list[int] = []
        self._pushers: list[threading.Thread] = []
        self._push_queue: "queue.Queue[dict[str, Any] | None]" = queue.Queue()
        self.push_threads = 4

    # -- lifecycle ----------------------------------------------------------------------------

    def start(self) -> "BotAPIServer":
        """Bind and serve in a background thread. Raises ``OSError`` if binding fails."""
        if self._server is not None:
            return self
        server = _Server((self.host, self.requested_port), _Handler)
        server.api = self
        self._server = server
        self._stopping = False
        self._thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.1},
            name=f"botapi-server-{self.port}", daemon=True,
        )
        self._thread.start()
        return self

    def stop(self, timeout: float = 5.0) -> None:
        """Wake pending long polls, stop serving and close the socket (bounded by ``timeout``)."""
        server, thread = self._server, self._thread
        if server is None:
            return
        with self._cond:
            self._stopping = True
            self._cond.notify_all()
        for _ in self._pushers:
            self._push_queue.put(None)
        server.shutdown()
        server.server_close()
        if thread is not None:
            thread.join(timeout)
        self._server = None
        self._thread = None

    def __enter__(self) -> "BotAPIServer":
        return self.start()

    def __exit__(self, *exc_info: Any) -> None:
        self.stop()

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError("the server is not started")
        return self._server.server_address[1]

    @property
    def base_url(self) -> str:
        """What to pass as the Bot API base (PTB appends ``<TOKEN>/<method>``)."""
        return f"http://{self.host}:{self.port}/bot"

    # -- driver API: users --------------------------------------------------------------------

    def _chat(self, chat_id: int) -> _Chat:
        chat = self._chats.get(chat_id)
        if chat is None:
            chat = self._chats[chat_id] = _Chat(chat_id)
        return chat

    @staticmethod
    def _user(chat_id: int) -> dict[str, Any]:
        return {"id": chat_id, "is_bot": False, "first_name": f"User{chat_id}",
                "username": f"user{chat_id}", "language_code": "en"}

    @staticmethod
    def _private_chat(chat_id: int) -> dict[str, Any]:
        return {"id": chat_id, "type": "private", "first_name": f"User{chat_id}",
                "username": f"user{chat_id}"}

    def _queue(self, payload: dict[str, Any]) -> int:
        update_id = next(self._update_ids)
        update = {"update_id": update_id, **payload}
        if self.webhook_url:
            self._push_queue.put(update)
        else:
            self._updates.append(update)
        self._cond.notify_all()
        return update_id

    def _push_loop(self) -> None:
        while True:
            update = self._push_queue.get()
            if update is None:
                return
            status = self.post_to_webhook(update, self.webhook_secret)
            with self._cond:
                self.webhook_responses.append(status)
                self._cond.notify_all()

    def post_to_webhook(self, update: dict[str, Any], secret: str | None, *, url: str | None = None,
                        attempts: int = 3) -> int:
        """POST one update to the webhook, as Telegram does; returns the HTTP status."""
        body = json.dumps(update).encode()
        headers = {"Content-Type": "application/json"}
        if secret is not None:
            headers["X-Telegram-Bot-Api-Secret-Token"] = secret
        for attempt in range(attempts):
            request = urllib.request.Request(url or self.webhook_url, data=body, headers=headers, method="POST")
            try:
                with urllib.request.urlopen(request, timeout=30) as response:
                    return response.status
            except urllib.error.HTTPError as exc:
                return exc.code
            except OSError:
                time.sleep(0.2 * (attempt + 1))
        return 0

    def user_sends(self, chat_id: int, text: str) -> int:
        """The user of private chat ``chat_id`` types ``text``; returns the new message's id."""
        with self._cond:
            chat = self._chat(chat_id)
            message_id = chat.next_message_id
            chat.next_message_id += 1
            chat.user_messages.add(message_id)
            message: dict[str, Any] = {
                "message_id": message_id,
                "from": self._user(chat_id),
                "chat": self._private_chat(chat_id),
                "date": int(time.time()),
                "text": text,
            }
            if text.startswith("/"):
                word = text.split(maxsplit=1)[0]
                message["entities"] = [{"type": "bot_command", "offset": 0,
                                        "length": len(word.encode("utf-16-le")) // 2}]
            self._queue({"message": message})
            return message_id

    def user_presses(self, chat_id: int, label: str) -> int:
        """Press the button labelled ``label`` on the latest (not deleted) bot message with an
        inline keyboard; queues a ``callback_query`` update and returns its update id."""
        with self._cond:
            chat = self._chat(chat_id)
            target: dict[str, Any] | None = None
            for message_id, _method in reversed(chat.sent):
                message = chat.messages.get(message_id)
                if message is None or message_id in chat.deleted:
                    continue
                if (message.get("reply_markup") or {}).get("inline_keyboard"):
                    target = message
                    break
            if target is None:
                raise AssertionError(f"cannot press {label!r}: no bot message with buttons in "
                                     f"chat {chat_id}")
            shown = SentMessage.from_dict(target)
            data = shown.data_for(label)
            if data is None:
                raise AssertionError(f"no button {label!r} on message {shown.message_id}; "
                                     f"buttons offered: {shown.labels!r}")
            query = {
                "id": str(next(self._callback_ids)),
                "from": self._user(chat_id),
                "chat_instance": f"ci-{chat_id}",
                "data": data,
                "message": copy.deepcopy(target),
            }
            return self._queue({"callback_query": query})

    # -- driver API: what the bot did -------------------------------------------------------------

    def wait_for_bot_messages(
        self,
        chat_id: int,
        count_or_predicate: int | Callable[[list[SentMessage]], bool] = 1,
        timeout: float = 10.0,
    ) -> list[SentMessage]:
        """Wait until the bot messages sent to ``chat_id`` since the previous call number at least
        ``count`` (an int) or satisfy ``predicate(new_messages)``; return those new messages
        (current content) and mark them as seen. Raises ``AssertionError`` after ``timeout``
        seconds, listing what did arrive."""
        if isinstance(count_or_predicate, int):
            count = count_or_predicate

            def ready(new: list[SentMessage]) -> bool:
                return len(new) >= count
        else:
            ready = count_or_predicate
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                chat = self._chat(chat_id)
                new = [SentMessage.from_dict(chat.messages[mid], method)
                       for mid, method in chat.sent[chat.cursor:]]
                if ready(new):
                    chat.cursor = len(chat.sent)
                    return new
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    texts = [m.text[:120] for m in new]
                    raise AssertionError(
                        f"chat {chat_id}: timed out after {timeout}s waiting for bot messages "
                        f"({count_or_predicate!r}); new since the last wait: {texts!r}"
                    )
                self._cond.wait(min(remaining, 0.5))

    def wait_until(self, condition: Callable[[], bool], timeout: float = 10.0,
                   what: str = "condition") -> None:
        """Wait until ``condition()`` (called under the server lock) is true."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while not condition():
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise AssertionError(f"timed out after {timeout}s waiting for {what}")
                self._cond.wait(min(remaining, 0.5))

    def deleted(self, chat_id: int) -> set[int]:
        """Ids of the messages (user's or bot's) deleted in ``chat_id``."""
        with self._cond:
            return set(self._chat(chat_id).deleted)

    def user_message_ids(self, chat_id: int) -> set[int]:
        with self._cond:
            return set(self._chat(chat_id).user_messages)

    def messages(self, chat_id: int) -> list[SentMessage]:
        """Every bot message sent to ``chat_id`` (current content, deleted ones too), oldest first."""
        with self._cond:
            chat = self._chat(chat_id)
            return [SentMessage.from_dict(chat.messages[mid], method) for mid, method in chat.sent]

    def calls_to(self, method: str) -> list[dict[str, Any]]:
        """The recorded requests of ``method`` (case-insensitive)."""
        with self._cond:
            return [copy.deepcopy(c) for c in self.calls if c["method"].lower() == method.lower()]

    def wait_for_call(self, method: str, count: int = 1, timeout: float = 10.0) -> None:
        """Wait until ``method`` has been called at least ``count`` times in all."""
        self.wait_until(
            lambda: sum(1 for c in self.calls if c["method"].lower() == method.lower()) >= count,
            timeout, f"{count} call(s) of {method}",
        )

    def pending_updates(self) -> int:
        """Updates queued and not yet confirmed by the bot."""
        with self._cond:
            return len(self._updates)

    # -- dispatch -------------------------------------------------------------------------------

    def _dispatch(self, token: str, method: str, params: dict[str, Any]) -> tuple[int, dict]:
        name = method.lower()
        with self._cond:
            self.tokens_seen.add(token)
            self.calls.append({
                "method": method,
                "params": {k: ("<file>" if isinstance(v, dict) and "content" in v else v)
                           for k, v in params.items()},
                "time": time.time(),
            })
            self._cond.notify_all()
        if self.token is not None and token != self.token:
            return 401, {"ok": False, "error_code": 401, "description": "Unauthorized"}
        try:
            if name == "getupdates":
                result = self._get_updates(params)  # takes the lock itself (it waits)
            else:
                handler = getattr(self, f"_api_{name}", None)
                with self._cond:
                    result = handler(params) if handler is not None else True
                    self._cond.notify_all()
        except BotAPIError as exc:
            return exc.code, {"ok": False, "error_code": exc.code, "description": exc.description}
        return 200, {"ok": True, "result": result}

    # -- methods (called with the lock held, except getUpdates) ---------------------------------

    def _get_updates(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        offset = params.get("offset")
        limit = params.get("limit") or 100
        timeout = params.get("timeout") or 0
        if not isinstance(limit, int) or not 1 <= limit <= 100:
            limit = 100
        try:
            timeout = max(0.0, min(float(timeout), _MAX_POLL_SECONDS))
        except (TypeError, ValueError):
            timeout = 0.0
        deadline = time.monotonic() + timeout
        with self._cond:
            if isinstance(offset, int) and offset != 0:
                if offset > 0:
                    # confirm every update below offset
                    self._updates = [u for u in self._updates if u["update_id"] >= offset]
                else:
                    # negative: only the last -offset updates
                    self._updates = self._updates[offset:]
            while not self._updates and not self._stopping:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                self._cond.wait(remaining)
            return copy.deepcopy(self._updates[:limit])

    def _api_getme(self, params: dict[str, Any]) -> Any:
        return dict(self.bot_user)

    def _api_deletewebhook(self, params: dict[str, Any]) -> Any:
        if params.get("drop_pending_updates"):
            self._updates.clear()
        self.webhook_url = None
        return True

    def _api_setwebhook(self, params: dict[str, Any]) -> Any:
        self.webhook_url = params.get("url") or None
        self.webhook_secret = params.get("secret_token")
        if self.webhook_url and not self._pushers:
            for _ in range(self.push_threads):
                thread = threading.Thread(target=self._push_loop, daemon=True)
                thread.start()
                self._pushers.append(thread)
        pending, self._updates = self._updates, []
        for update in pending:
            self._push_queue.put(update)
        return True

    def _api_getwebhookinfo(self, params: dict[str, Any]) -> Any:
        return {"url": self.webhook_url or "", "has_custom_certificate": False,
                "pending_update_count": len(self._updates)}

    def _api_setmycommands(self, params: dict[str, Any]) -> Any:
        commands = params.get("commands") or []
        if not isinstance(commands, list):
            raise BotAPIError(400, "Bad Request: can't parse commands")
        self._commands = [dict(c) for c in commands]
        return True

    def _api_getmycommands(self, params: dict[str, Any]) -> Any:
        return copy.deepcopy(self._commands)

    def _api_deletemycommands(self, params: dict[str, Any]) -> Any:
        self._commands = []
        return True

    def _api_close(self, params: dict[str, Any]) -> Any:
        return True

    def _api_logout(self, params: dict[str, Any]) -> Any:
        return True

    def _api_answercallbackquery(self, params: dict[str, Any]) -> Any:
        return True

    def _target_chat(self, params: dict[str, Any]) -> _Chat:
        chat_id = params.get("chat_id")
        if not isinstance(chat_id, int):
            raise BotAPIError(400, "Bad Request: chat not found")
        return self._chat(chat_id)

    @staticmethod
    def _markup(params: dict[str, Any]) -> dict[str, Any] | None:
        markup = params.get("reply_markup")
        if markup is None or markup == "":
            return None
        if isinstance(markup, str):
            try:
                markup = json.loads(markup)
            except ValueError:
                raise BotAPIError(400, "Bad Request: can't parse reply keyboard markup JSON "
                                       "object") from None
        if not isinstance(markup, dict):
            raise BotAPIError(400, "Bad Request: can't parse reply keyboard markup JSON object")
        for row in markup.get("inline_keyboard", []) or []:
            for button in row:
                data = button.get("callback_data")
                if data is not None and not 1 <= len(str(data).encode()) <= 64:
                    raise BotAPIError(400, "Bad Request: BUTTON_DATA_INVALID")
                if not button.get("text"):
                    raise BotAPIError(400, "Bad Request: text buttons are unallowed in the "
                                           "inline keyboard")
        return markup

    def _new_bot_message(self, params: dict[str, Any], method: str, **content: Any) -> Any:
        chat = self._target_chat(params)
        markup = self._markup(params)
        message_id = chat.next_message_id
        chat.next_message_id += 1
        message: dict[str, Any] = {
            "message_id": message_id,
            "from": dict(self.bot_user),
            "chat": self._private_chat(chat.chat_id) if chat.chat_id > 0 else
            {"id": chat.chat_id, "type": "group", "title": f"Group {chat.chat_id}"},
            "date": int(time.time()),
            **{k: v for k, v in content.items() if v is not None},
        }
        if markup:
            message["reply_markup"] = markup
        if params.get("protect_content"):
            message["has_protected_content"] = True
        chat.messages[message_id] = message
        chat.sent.append((message_id, method))
        return copy.deepcopy(message)

    def _api_sendmessage(self, params: dict[str, Any]) -> Any:
        text = params.get("text")
        if not isinstance(text, str) or not text.strip():
            raise BotAPIError(400, "Bad Request: message text is empty")
        if len(text.encode("utf-16-le")) // 2 > _MAX_TEXT:
            raise BotAPIError(400, "Bad Request: message is too long")
        return self._new_bot_message(params, "sendMessage", text=text)

    def _api_sendphoto(self, params: dict[str, Any]) -> Any:
        photo = params.get("photo")
        if photo is None or photo == "":
            raise BotAPIError(400, "Bad Request: there is no photo in the request")
        caption = params.get("caption")
        if caption is not None and len(str(caption).encode("utf-16-le")) // 2 > _MAX_CAPTION:
            raise BotAPIError(400, "Bad Request: message caption is too long")
        size = len(photo["content"]) if isinstance(photo, dict) else 0
        n = next(self._file_ids)
        sizes = [{"file_id": f"photo-{n}-{w}", "file_unique_id": f"uphoto-{n}-{w}", "width": w,
                  "height": w, "file_size": size} for w in (90, 320)]
        return self._new_bot_message(params, "sendPhoto", photo=sizes, caption=caption or None)

    def _known(self, chat: _Chat, message_id: Any) -> bool:
        return message_id in chat.user_messages or message_id in chat.messages

    def _api_deletemessage(self, params: dict[str, Any]) -> Any:
        chat = self._target_chat(params)
        message_id = params.get("message_id")
        if not self._known(chat, message_id) or message_id in chat.deleted:
            raise BotAPIError(400, "Bad Request: message to delete not found")
        chat.deleted.add(message_id)
        return True

    def _api_deletemessages(self, params: dict[str, Any]) -> Any:
        chat = self._target_chat(params)
        ids: Iterable[Any] = params.get("message_ids") or []
        for message_id in ids:
            if self._known(chat, message_id):
                chat.deleted.add(message_id)
        return True

    def _bot_message(self, params: dict[str, Any], what: str) -> dict[str, Any]:
        chat = self._target_chat(params)
        message_id = params.get("message_id")
        message = chat.messages.get(message_id)  # type: ignore[arg-type]
        if message is None or message_id in chat.deleted:
            raise BotAPIError(400, f"Bad Request: message to {what} not found")
        return message

    def _edit(self, params: dict[str, Any], **changes: Any) -> Any:
        if params.get("inline_message_id"):
            return True
        message = self._bot_message(params, "edit")
        markup = self._markup(params)
        new = edited(message, changes, markup)
        if new is None:
            raise BotAPIError(400, NOT_MODIFIED)
        message.clear()
        message.update(new)
        return copy.deepcopy(message)

    def _api_editmessagetext(self, params: dict[str, Any]) -> Any:
        text = params.get("text")
        if not isinstance(text, str) or not text.strip():
            raise BotAPIError(400, "Bad Request: message text is empty")
        if not params.get("inline_message_id") and "text" not in self._bot_message(params, "edit"):
            raise BotAPIError(400, "Bad Request: there is no text in the message to edit")
        return self._edit(params, text=text)

    def _api_editmessagecaption(self, params: dict[str, Any]) -> Any:
        return self._edit(params, caption=params.get("caption") or None)

    def _api_editmessagereplymarkup(self, params: dict[str, Any]) -> Any:
        return self._edit(params)

"""Webhook mode: Telegram POSTs each update to us instead of being polled.

The secret token Telegram echoes in ``X-Telegram-Bot-Api-Secret-Token`` is compared in constant
time and anything without it is refused before its body is read; a body over
:data:`MAX_BODY` is refused too, from its Content-Length or as soon as it grows past it, and
what is not an update (bad JSON, a chat id that is not an integer...) gets 400. Each update is handled before the request is answered,
so Telegram's redelivery covers a crash mid-step (and the engine ignores a repeat it already
handled). Several worker processes may listen on one port (SO_REUSEPORT): the kernel spreads
the connections and the database keeps each chat's steps in order.
"""

from __future__ import annotations

import hmac
import json
import logging
import re
import secrets

import tornado.httpserver
import tornado.netutil
import tornado.web
from telegram import Update
from telegram.ext import Application

log = logging.getLogger("sabot.webhook")

#: what Telegram accepts as a secret token
SECRET_SHAPE = re.compile(r"^[A-Za-z0-9_-]{1,256}$")
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
#: the largest body accepted (Telegram's updates are a few kilobytes)
MAX_BODY = 1024 * 1024


def new_secret() -> str:
    return secrets.token_urlsafe(48)[:64]


def valid_secret(secret: str) -> bool:
    return bool(SECRET_SHAPE.match(secret or ""))


def _ids_are_integers(value, depth: int = 0) -> bool:
    """Every ``id`` of a chat or a user in an update is an integer (not a string, float or bool)."""
    if depth > 8:
        return False
    if isinstance(value, dict):
        for key, inner in value.items():
            if key in ("chat", "from", "user", "sender_chat") and isinstance(inner, dict):
                if type(inner.get("id")) is not int:
                    return False
            if isinstance(inner, (dict, list)) and not _ids_are_integers(inner, depth + 1):
                return False
    elif isinstance(value, list):
        return all(_ids_are_integers(item, depth + 1) for item in value)
    return True


def parse_update(body: bytes) -> dict | None:
    """The update in a request body, or None when it isn't one."""
    try:
        payload = json.loads(body or b"null")
    except ValueError:
        return None
    if not isinstance(payload, dict) or type(payload.get("update_id")) is not int:
        return None
    return payload if _ids_are_integers(payload) else None


@tornado.web.stream_request_body
class UpdateHandler(tornado.web.RequestHandler):
    def initialize(self, bot_application: Application, secret: str) -> None:
        self.application_ = bot_application
        self.secret = secret.encode("utf-8")
        self._body = bytearray()
        self._refused = False

    def check_xsrf_cookie(self) -> None:  # not a browser form
        return None

    def _refuse(self, status: int) -> None:
        self._refused = True
        self.set_status(status)
        self.finish()

    def prepare(self) -> None:
        """Before any of the body is read: the secret, then the declared length."""
        if self.request.method != "POST":
            return
        # the answer goes out as soon as it is written, not held back for an acknowledgement
        # (Nagle's algorithm against delayed ACKs: 40 ms per update on a keep-alive connection)
        stream = getattr(self.request.connection, "stream", None)
        if stream is not None:
            stream.set_nodelay(True)
        given = (self.request.headers.get(SECRET_HEADER) or "").encode("utf-8")
        if not hmac.compare_digest(given, self.secret):
            log.warning("webhook request refused: wrong or missing secret token")
            self._refuse(403)
            return
        length = self.request.headers.get("Content-Length")
        if length is not None:
            try:
                too_long = int(length) > MAX_BODY
            except ValueError:
                too_long = True
            if too_long:
                log.warning("webhook request refused: body over %d bytes", MAX_BODY)
                self._refuse(413)

    def data_received(self, chunk: bytes) -> None:
        if self._refused:
            return
        self._body += chunk
        if len(self._body) > MAX_BODY:
            log.warning("webhook request refused: body over %d bytes", MAX_BODY)
            self._body = bytearray()
            self._refuse(413)

    async def post(self) -> None:
        if self._refused:
            return
        payload = parse_update(bytes(self._body))
        self._body = bytearray()
        update = None
        if payload is not None:
            try:
                update = Update.de_json(payload, self.application_.bot)
            except Exception:  # noqa: BLE001 - whatever it is, it is not an update
                update = None
        if update is None:
            log.warning("webhook request refused: not an update")
            self.set_status(400)
            self.finish()
            return
        await self.application_.process_update(update)
        self.set_status(200)
        self.finish()

    async def get(self) -> None:
        self.set_status(405)
        self.finish()


def make_server(application: Application, *, path: str, secret: str) -> tornado.httpserver.HTTPServer:
    from bot.health import routes as health_routes  # /healthz, /readyz, /metrics

    app = tornado.web.Application([(re.escape(path or "/"), UpdateHandler, {"bot_application": application, "secret": secret}),
                                   *health_routes(application)])
    # (a second bound: tornado itself never reads a body much larger than MAX_BODY)
    return tornado.httpserver.HTTPServer(app, xheaders=True, max_body_size=MAX_BODY + 64 * 1024)


def listen(server: tornado.httpserver.HTTPServer, *, host: str, port: int) -> None:
    """Bind with SO_REUSEPORT so several worker processes can share the port."""
    sockets = tornado.netutil.bind_sockets(port, address=host, reuse_port=True)
    server.add_sockets(sockets)

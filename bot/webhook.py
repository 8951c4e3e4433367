"""Webhook mode: Telegram POSTs each update to us instead of being polled.

The secret token Telegram echoes in ``X-Telegram-Bot-Api-Secret-Token`` is compared in constant
time and anything without it is refused. Each update is handled before the request is answered,
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


def new_secret() -> str:
    return secrets.token_urlsafe(48)[:64]


def valid_secret(secret: str) -> bool:
    return bool(SECRET_SHAPE.match(secret or ""))


class UpdateHandler(tornado.web.RequestHandler):
    def initialize(self, bot_application: Application, secret: str) -> None:
        self.application_ = bot_application
        self.secret = secret.encode("utf-8")

    def check_xsrf_cookie(self) -> None:  # not a browser form
        return None

    async def post(self) -> None:
        given = (self.request.headers.get(SECRET_HEADER) or "").encode("utf-8")
        if not hmac.compare_digest(given, self.secret):
            log.warning("webhook request refused: wrong or missing secret token")
            self.set_status(403)
            self.finish()
            return
        try:
            payload = json.loads(self.request.body or b"null")
            update = Update.de_json(payload, self.application_.bot)
        except (ValueError, TypeError, KeyError):
            self.set_status(400)
            self.finish()
            return
        if update is None:
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
    app = tornado.web.Application([(re.escape(path or "/"), UpdateHandler, {"bot_application": application, "secret": secret})])
    return tornado.httpserver.HTTPServer(app, xheaders=True)


def listen(server: tornado.httpserver.HTTPServer, *, host: str, port: int) -> None:
    """Bind with SO_REUSEPORT so several worker processes can share the port."""
    sockets = tornado.netutil.bind_sockets(port, address=host, reuse_port=True)
    server.add_sockets(sockets)

"""A loopback HTTP server that speaks Twilio's Messages API, for tests.

It answers what the bot uses, as Twilio documents it:

* ``POST /2010-04-01/Accounts/{AccountSid}/Messages.json`` (form fields ``To``, ``From``,
  ``Body``; HTTP basic auth with the account SID and auth token): 201 and the queued message, or
  Twilio's error document (``{"code", "message", "more_info", "status"}``);
* ``GET /2010-04-01/Accounts/{AccountSid}.json``: the account, to check credentials.

Wrong credentials get 401 with error 20003, another account's path 404 with 20404, a ``To`` that
isn't E.164 400 with 21211, a ``From`` that isn't the server's number 400 with 21659. Tests make
numbers refuse with :meth:`TwilioServer.refuse` (any Twilio error code) and take the service down
with :attr:`TwilioServer.down` (503). Accepted messages are kept in :attr:`TwilioServer.messages`.

    with TwilioServer() as twilio:
        settings = {"delivery": {"sms": {"backend": "twilio", "twilio": twilio.settings()}}}
"""

from __future__ import annotations

import base64
import json
import re
import secrets
import threading
from dataclasses import dataclass, field
from datetime import datetime, timezone
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs

E164 = re.compile(r"^\+[1-9]\d{6,14}$")

#: Twilio's own wording for the errors the server gives (the bot never shows them to anyone)
ERROR_MESSAGES = {
    20003: "Authenticate",
    20404: "The requested resource was not found",
    21211: "Invalid 'To' Phone Number",
    21408: "Permission to send an SMS has not been enabled for the region indicated by the 'To' number",
    21610: "Attempt to send to unsubscribed recipient",
    21612: "The 'To' phone number is not currently reachable via SMS",
    21614: "'To' number is not a valid mobile number",
    21659: "'From' is not a Twilio phone number or Short Code country mismatch",
    30003: "Unreachable destination handset",
    30005: "Unknown destination handset",
    30006: "Landline or unreachable carrier",
}


@dataclass
class SentText:
    sid: str
    to: str
    from_: str
    body: str
    account_sid: str
    date_created: str


@dataclass
class TwilioServer:
    account_sid: str = field(default_factory=lambda: "AC" + secrets.token_hex(16))
    auth_token: str = field(default_factory=lambda: secrets.token_hex(16))
    from_number: str = "+12025550100"
    #: the service answers 503 to everything while this is set
    down: bool = False
    messages: list[SentText] = field(default_factory=list)
    #: every request: (method, path, the form's field names); never the auth header
    requests: list[tuple[str, str, tuple[str, ...]]] = field(default_factory=list)
    _refusals: dict[str, tuple[int, str]] = field(default_factory=dict)
    _server: ThreadingHTTPServer | None = None
    _thread: threading.Thread | None = None

    # -- set-up ---------------------------------------------------------------------------------
    def refuse(self, number: str, code: int, *, when: str = "request") -> None:
        """Refuse texts to ``number`` with Twilio error ``code``: at the request (4xx, as Twilio
        does for 21211, 21614...), or ``when="status"``: accepted but reported failed in the
        answer (as a carrier's 30003, 30006... are reported)."""
        self._refusals[number] = (code, when)

    def start(self) -> "TwilioServer":
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, name="twilio-loopback", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> "TwilioServer":
        return self.start()

    def __exit__(self, *_exc) -> None:
        self.stop()

    @property
    def base_url(self) -> str:
        assert self._server is not None, "start the server first"
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def settings(self, **extra) -> dict:
        """``delivery.sms.twilio`` settings pointing at this server."""
        return {
            "account_sid": self.account_sid,
            "auth_token": self.auth_token,
            "from_number": self.from_number,
            "base_url": self.base_url,
            **extra,
        }

    def texts_to(self, number: str) -> list[SentText]:
        return [m for m in self.messages if m.to == number]

    # -- the API --------------------------------------------------------------------------------
    def answer(self, method: str, path: str, auth: str | None, form: dict[str, str]) -> tuple[int, dict]:
        self.requests.append((method, path, tuple(sorted(form))))
        if self.down:
            return _error(503, 20500, "Service Unavailable")
        if auth != self._basic():
            return _error(401, 20003)
        prefix = f"/2010-04-01/Accounts/{self.account_sid}"
        if method == "GET" and path == f"{prefix}.json":
            return 200, {"sid": self.account_sid, "status": "active", "type": "Full", "friendly_name": "loopback"}
        if method != "POST" or path != f"{prefix}/Messages.json":
            return _error(404, 20404)
        to, sender, body = form.get("To", ""), form.get("From", ""), form.get("Body", "")
        if not body:
            return _error(400, 21602, "Message body is required.")
        if not E164.match(to):
            return _error(400, 21211)
        if sender != self.from_number:
            return _error(400, 21659)
        refusal = self._refusals.get(to)
        if refusal and refusal[1] == "request":
            return _error(400, refusal[0])
        now = format_datetime(datetime.now(timezone.utc), usegmt=True)
        sid = "SM" + secrets.token_hex(16)
        status, error_code = ("queued", None) if not refusal else ("failed", refusal[0])
        if not refusal:
            self.messages.append(SentText(sid, to, sender, body, self.account_sid, now))
        return 201, {
            "sid": sid,
            "account_sid": self.account_sid,
            "to": to,
            "from": sender,
            "body": body,
            "status": status,
            "error_code": error_code,
            "error_message": ERROR_MESSAGES.get(error_code) if error_code else None,
            "num_segments": "1",
            "direction": "outbound-api",
            "api_version": "2010-04-01",
            "date_created": now,
            "date_updated": now,
            "date_sent": None,
            "uri": f"{prefix}/Messages/{sid}.json",
        }

    def _basic(self) -> str:
        return "Basic " + base64.b64encode(f"{self.account_sid}:{self.auth_token}".encode()).decode()


def _error(status: int, code: int, message: str | None = None) -> tuple[int, dict]:
    return status, {
        "code": code,
        "message": message or ERROR_MESSAGES.get(code, "Error"),
        "more_info": f"https://www.twilio.com/docs/errors/{code}",
        "status": status,
    }


def _handler(server: TwilioServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def _respond(self, method: str) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length).decode() if length else ""
            form = {k: v[0] for k, v in parse_qs(raw, keep_blank_values=True).items()}
            status, payload = server.answer(method, self.path.split("?")[0], self.headers.get("Authorization"), form)
            data = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            # one request per connection, so a stopped server is unreachable at once
            self.send_header("Connection", "close")
            self.close_connection = True
            self.end_headers()
            self.wfile.write(data)

        def do_POST(self) -> None:  # noqa: N802 - the http.server interface
            self._respond("POST")

        def do_GET(self) -> None:  # noqa: N802
            self._respond("GET")

        def log_message(self, *_args) -> None:  # quiet: tests read what they need
            return None

    return Handler

"""Webhook requests are checked before their body is read: the secret first, then the size
(at most 1 MiB); what is not an update gets 400 and leaves no traceback in the log."""

from __future__ import annotations

import asyncio
import json
import logging

from bot.webhook import MAX_BODY, SECRET_HEADER, listen, make_server, parse_update

SECRET = "limits-secret_1"


class FakeApplication:
    bot = None

    def __init__(self) -> None:
        self.updates = []

    async def process_update(self, update) -> None:
        self.updates.append(update)


def _update(chat_id=9101) -> dict:
    return {
        "update_id": 5,
        "message": {
            "message_id": 1, "date": 1700000000, "text": "hi",
            "chat": {"id": chat_id, "type": "private"},
            "from": {"id": 9101, "is_bot": False, "first_name": "X"},
        },
    }


async def _request(port: int, head: str, body: bytes = b"", *, send_body: bool = True) -> tuple[int, float]:
    """Send a request (optionally without its body); the status line and how much of the body
    the server had to take before answering."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(head.encode() + b"\r\n")
    if send_body:
        writer.write(body)
    await writer.drain()
    line = await asyncio.wait_for(reader.readline(), 5)
    writer.close()
    return int(line.split()[1])


def _head(length: int, secret: str | None = SECRET) -> str:
    lines = ["POST /hook HTTP/1.1", "Host: 127.0.0.1", "Content-Type: application/json", f"Content-Length: {length}"]
    if secret is not None:
        lines.append(f"{SECRET_HEADER}: {secret}")
    return "\r\n".join(lines) + "\r\n"


def _run(check):
    async def main():
        app = FakeApplication()
        server = make_server(app, path="/hook", secret=SECRET)
        import socket

        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]
        listen(server, host="127.0.0.1", port=port)
        try:
            await check(port, app)
        finally:
            server.stop()

    asyncio.run(main())


def test_a_huge_body_is_refused_without_being_read():
    async def check(port, app):
        # 95 MB announced, nothing sent: the answer comes from the headers alone
        assert await _request(port, _head(95_000_000, secret=None), send_body=False) == 403
        assert await _request(port, _head(95_000_000, secret="wrong"), send_body=False) == 403
        assert await _request(port, _head(95_000_000), send_body=False) == 413
        assert await _request(port, _head(MAX_BODY + 1), send_body=False) == 413
        assert app.updates == []

    _run(check)


def test_a_chunked_body_is_cut_off_past_the_limit():
    async def check(port, app):
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(("POST /hook HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
                      f"{SECRET_HEADER}: {SECRET}\r\n\r\n").encode())
        chunk = b"x" * 65536
        status = None
        try:
            for _ in range(40):  # 2.5 MiB at most
                writer.write(b"%x\r\n" % len(chunk) + chunk + b"\r\n")
                await writer.drain()
                await asyncio.sleep(0)
        except (ConnectionError, OSError):
            pass
        try:
            line = await asyncio.wait_for(reader.readline(), 5)
            status = int(line.split()[1]) if line else None
        except (ConnectionError, OSError):
            status = None
        writer.close()
        assert status in (413, None)  # refused, or the connection closed
        assert app.updates == []

    _run(check)


def test_malformed_updates_get_400_and_no_traceback(caplog):
    async def check(port, app):
        bad = [
            b"{not json",
            b"[]",
            b'{"update_id": "5"}',
            json.dumps(_update(chat_id="9101")).encode(),
            json.dumps(_update(chat_id=9101.5)).encode(),
            json.dumps(_update(chat_id=True)).encode(),
            json.dumps({"update_id": 6, "message": {"chat": 5}}).encode(),
            json.dumps({"update_id": 7, "message": "text"}).encode(),
        ]
        for body in bad:
            assert await _request(port, _head(len(body)), body) == 400, body
        assert app.updates == []

    with caplog.at_level(logging.DEBUG):
        _run(check)
    assert "Traceback" not in caplog.text
    assert not any(record.exc_info for record in caplog.records)


def test_parse_update_wants_integer_ids():
    assert parse_update(json.dumps(_update()).encode()) is not None
    assert parse_update(json.dumps(_update(chat_id="12")).encode()) is None
    assert parse_update(b"null") is None

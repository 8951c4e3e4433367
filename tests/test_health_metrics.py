"""The webhook server's /healthz, /readyz and /metrics: liveness, readiness with the database, and
Prometheus metrics (updates, step latency, identity checks, deliveries, lockouts) whose labels
carry no personal data."""

from __future__ import annotations

import logging
import socket
import time
import urllib.error
import urllib.request
from types import SimpleNamespace

import pytest
import tornado.httpserver
import tornado.web

from bot import metrics
from bot.health import routes
from sabot_testing.botapi_server import BotAPIServer
from tests.test_webhook import SECRET, base_env, free_port, start_bot, stop, wait_listening


def get(url: str) -> tuple[int, str, str]:
    try:
        with urllib.request.urlopen(url, timeout=10) as answer:
            return answer.status, answer.headers.get("Content-Type", ""), answer.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.headers.get("Content-Type", ""), exc.read().decode()


@pytest.fixture
def api():
    server = BotAPIServer()
    try:
        server.start()
    except OSError as exc:
        pytest.skip(f"cannot bind a loopback HTTP server on 127.0.0.1: {exc}")
    yield server
    server.stop()


def _value(text: str, prefix: str) -> float:
    return sum(float(line.rsplit(" ", 1)[1]) for line in text.splitlines() if line.startswith(prefix))


def test_webhook_server_answers_health_and_metrics(tmp_path, api):
    port = free_port()
    env = base_env(tmp_path, api, f"sqlite:///{tmp_path / 'bot.db'}")  # a plain URL, as written
    proc = start_bot(tmp_path, env, port)
    try:
        wait_listening(api, proc, port, tmp_path)
        base = f"http://127.0.0.1:{port}"
        assert get(f"{base}/healthz")[::2] == (200, "ok\n")
        assert get(f"{base}/readyz")[::2] == (200, "ready\n")
        assert get(f"{base}/healthz?ready=1")[::2] == (200, "ready\n")

        hook = f"{base}/telegram-hook"
        for update_id, text in enumerate(["/start", "Zanzibarina", "/help"], start=1):
            message = {"message_id": update_id, "date": int(time.time()), "text": text,
                       "chat": {"id": 9301, "type": "private"}, "from": {"id": 9301, "is_bot": False, "first_name": "Z"}}
            if text.startswith("/"):
                message["entities"] = [{"type": "bot_command", "offset": 0, "length": len(text)}]
            assert api.post_to_webhook({"update_id": update_id, "message": message}, SECRET, url=hook) == 200
        assert api.messages(9301)

        status, kind, text = get(f"{base}/metrics")
        assert status == 200 and kind.startswith("text/plain")
        assert _value(text, "sabot_updates_total{") >= 3
        assert _value(text, "sabot_step_seconds_count") >= 3
        assert 'sabot_identity_checks_total{outcome="matched"} 0.0' in text
        assert 'sabot_lockouts_total{what="sign_in"} 0.0' in text
        assert "# TYPE sabot_deliveries_total counter" in text
        assert "9301" not in text and "Zanzibarina" not in text
    finally:
        assert stop(proc) == 0


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def test_readiness_fails_while_the_database_is_down():
    import httpx

    from bot.storage.db import create_engine

    database = create_engine(f"postgresql+asyncpg://sabot@127.0.0.1:{_closed_port()}/sabot")
    application = SimpleNamespace(bot_data={"adapter": SimpleNamespace(engine=SimpleNamespace(
        services=SimpleNamespace(engine=database, records=None), handle=None))})
    server = tornado.httpserver.HTTPServer(tornado.web.Application(routes(application)))
    sockets = tornado.netutil.bind_sockets(0, address="127.0.0.1")
    server.add_sockets(sockets)
    port = sockets[0].getsockname()[1]
    try:
        async with httpx.AsyncClient() as client:
            assert (await client.get(f"http://127.0.0.1:{port}/healthz")).status_code == 200
            ready = await client.get(f"http://127.0.0.1:{port}/readyz")
            assert ready.status_code == 503 and "database" in ready.text
            assert (await client.get(f"http://127.0.0.1:{port}/healthz?ready=1")).status_code == 503
    finally:
        server.stop()
        await database.dispose()


async def test_counters_come_from_the_engine_records_audit_and_delivery():
    from domain.ports import IdentityResult

    results = iter([IdentityResult(True), IdentityResult(False, frozenset({"identity"})),
                    IdentityResult(False, frozenset({"postal_code"}))])

    class Records:
        async def verify_identity(self, claim):
            return next(results)

    class Engine:
        services = SimpleNamespace(records=Records())

        async def handle(self, incoming):
            await self.services.records.verify_identity(incoming)
            return []

    engine = Engine()
    metrics.instrument(engine)
    metrics.instrument(engine)  # once only
    before = metrics.render().decode()
    for kind in ("text", "button", "Personal Text 401-22-7788"):
        await engine.handle(SimpleNamespace(kind=kind, chat_id=4242, text="401-22-7788"))
    logging.getLogger("sabot.audit").info("%s account=%s", "sign_in_locked", 7)
    logging.getLogger("sabot.audit").info("%s account=%s", "identity_check_failed", 7)
    from bot.delivery import base

    base.OUTCOMES[("sms", "twilio", "refused:landline")] += 1
    after = metrics.render().decode()

    def grew(sample: str) -> float:
        return _value(after, sample) - _value(before, sample)

    assert grew('sabot_updates_total{kind="text"}') == 1
    assert grew('sabot_updates_total{kind="other"}') == 1  # anything not a plain category is "other"
    assert grew('sabot_identity_checks_total{outcome="matched"}') == 1
    assert grew('sabot_identity_checks_total{outcome="identity_mismatch"}') == 1
    assert grew('sabot_identity_checks_total{outcome="address_mismatch"}') == 1
    assert grew('sabot_lockouts_total{what="sign_in"}') == 1
    assert grew('sabot_security_events_total{event="identity_check_failed"}') == 1
    assert grew('sabot_deliveries_total{backend="twilio",channel="sms",outcome="refused:landline"}') == 1
    assert "401-22-7788" not in after and "4242" not in after and "Personal" not in after

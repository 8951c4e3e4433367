"""Webhook mode: the secret token is checked, and several workers share the load on PostgreSQL.

`sabot run --webhook-url` runs as a subprocess; the loopback Bot API server
(sabot_testing.botapi_server) records setWebhook and then POSTs each update to the bot, as
Telegram does.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from sabot_testing.botapi_server import BotAPIServer
from sabot_testing.postgres import PostgresForTests
from tests.test_sabot_run_loopback import _code, _sabot, start_api

SECRET = "loopback-secret_42"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def base_env(tmp_path: Path, api: BotAPIServer, database_url: str) -> dict[str, str]:
    env = dict(os.environ)
    env.pop("SABOT_CONFIG", None)
    env.update(
        {
            "SABOT_DATA_DIR": str(tmp_path / "data"),
            "SABOT_DATABASE__URL": database_url,
            "SABOT_SECURITY__ARGON2_TIME_COST": "1",
            "SABOT_SECURITY__ARGON2_MEMORY_KIB": "8192",
            "SABOT_SECURITY__ARGON2_PARALLELISM": "1",
            "TELEGRAM_BOT_TOKEN": "123456:TEST",
            "SABOT_TELEGRAM__BASE_URL": api.base_url,
            "SABOT_TELEGRAM__WEBHOOK_SECRET": SECRET,
            "PYTHONUNBUFFERED": "1",
        }
    )
    return env


def start_bot(tmp_path: Path, env: dict, port: int, workers: int = 1) -> subprocess.Popen:
    err = open(tmp_path / "bot.err", "wb")
    return subprocess.Popen(
        _sabot("run", "--webhook-url", f"http://127.0.0.1:{port}/telegram-hook", "--listen", "127.0.0.1",
               "--port", str(port), "--workers", str(workers)),
        env=env, cwd=tmp_path, stdout=err, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
    )


def wait_listening(api: BotAPIServer, proc: subprocess.Popen, port: int, tmp_path: Path, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"bot exited early: {(tmp_path / 'bot.err').read_text(errors='replace')[-3000:]}")
        if api.webhook_url:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                    return
            except OSError:
                pass
        time.sleep(0.1)
    pytest.fail("the webhook server did not come up")


def stop(proc: subprocess.Popen) -> int:
    if proc.poll() is None:
        proc.terminate()
        try:
            return proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)
    return proc.returncode


@pytest.fixture
def api():
    server = start_api()
    yield server
    server.stop()


def test_webhook_checks_the_secret_token(tmp_path, api):
    port = free_port()
    env = base_env(tmp_path, api, f"sqlite+aiosqlite:///{tmp_path / 'bot.db'}")
    proc = start_bot(tmp_path, env, port)
    try:
        wait_listening(api, proc, port, tmp_path)
        assert api.webhook_secret == SECRET
        url = f"http://127.0.0.1:{port}/telegram-hook"
        update = {
            "update_id": 1,
            "message": {
                "message_id": 1,
                "date": int(time.time()),
                "chat": {"id": 9101, "type": "private"},
                "from": {"id": 9101, "is_bot": False, "first_name": "X"},
                "text": "/start",
                "entities": [{"type": "bot_command", "offset": 0, "length": 6}],
            },
        }
        assert api.post_to_webhook(update, None, url=url) == 403
        assert api.post_to_webhook(update, "wrong", url=url) == 403
        assert api.post_to_webhook(update, SECRET[:-1], url=url) == 403
        assert api.messages(9101) == []  # refused updates never reached the bot
        assert api.post_to_webhook(update, SECRET, url=url) == 200
        assert "Begin registration" in api.messages(9101)[-1].labels
        # a redelivery of the same update is answered but not handled twice
        assert api.post_to_webhook(update, SECRET, url=url) == 200
        assert len(api.messages(9101)) == 1
    finally:
        assert stop(proc) == 0


def person(i: int) -> dict:
    return {
        "ssn": f"52{i // 10}-{10 + i:02d}-{1000 + i:04d}",
        "first_name": f"Worker{chr(65 + i)}",
        "last_name": "Tester",
        "dob": "1980-01-15",
        "zip": f"{10001 + i:05d}",
        "last8": f"{40000000 + i:08d}",
        "phone": f"+1202555{100 + i:04d}",
    }


def records_yaml(people: list[dict]) -> str:
    rows = []
    for p in people:
        rows.append(
            f"""  - ssn: "{p['ssn']}"
    first_name: {p['first_name']}
    last_name: {p['last_name']}
    date_of_birth: "{p['dob']}"
    filing_status: single
    address: {{line1: "1 Main St", line2: "", city: New York, state: NY, postal_code: "{p['zip']}", country: US}}
    financial_accounts:
      - {{type: mortgage, number: "{p['last8']}"}}
    phones:
      - {{number: "{p['phone']}", text_enabled: true}}
"""
        )
    return "taxpayers:\n" + "".join(rows)


def drive(api: BotAPIServer, env: dict, cwd: Path, chat: int, p: dict, errors: list) -> None:
    """One user through the whole registration; each step waits for the reply."""
    try:

        def step(action, expect: str):
            action()
            api.wait_for_bot_messages(chat, lambda new: any(expect in m.text for m in new), timeout=30)

        email = f"{p['first_name'].lower()}@example.com"
        step(lambda: api.user_sends(chat, "/start"), "Have these ready")
        step(lambda: api.user_presses(chat, "Begin registration"), "first name")
        step(lambda: api.user_sends(chat, p["first_name"]), "last name")
        step(lambda: api.user_sends(chat, p["last_name"]), "email")
        step(lambda: api.user_sends(chat, email), "confirmation code")
        code = _code(env, cwd, "email", email)
        step(lambda: api.user_sends(chat, code), "Social Security")
        step(lambda: api.user_sends(chat, p["ssn"]), "date of birth")
        step(lambda: api.user_sends(chat, p["dob"]), "filing status")
        step(lambda: api.user_presses(chat, "Single"), "U.S. address")
        step(lambda: api.user_presses(chat, "A U.S. address"), "line 1")
        step(lambda: api.user_sends(chat, "1 Main Street"), "line 2")
        step(lambda: api.user_presses(chat, "Skip – there is no line 2"), "City")
        step(lambda: api.user_sends(chat, "New York"), "State")
        step(lambda: api.user_sends(chat, "NY"), "ZIP")
        step(lambda: api.user_sends(chat, p["zip"]), "check these details")
        step(lambda: api.user_presses(chat, "Everything matches – check it"), "Which kind of account")
        step(lambda: api.user_presses(chat, "Home mortgage loan"), "last eight digits")
        step(lambda: api.user_sends(chat, p["last8"]), "mobile phone number")
        step(lambda: api.user_sends(chat, p["phone"]), "activation code")
        code = _code(env, cwd, "sms", p["phone"])
        step(lambda: api.user_sends(chat, code), "username")
        step(lambda: api.user_sends(chat, f"worker{chat}"), "password")
        step(lambda: api.user_sends(chat, "quiet copper lantern field"), "site phrase")
        step(lambda: api.user_sends(chat, "owls at noon"), "site image")
        step(lambda: api.user_presses(chat, "🦉 Owl"), "You're registered")
    except BaseException as exc:  # noqa: BLE001 - reported by the test
        errors.append((chat, repr(exc)))


def test_two_workers_share_the_load_on_postgresql(tmp_path, api):
    pg = PostgresForTests()
    pg.start()
    if pg.url is None:
        pytest.skip(pg.reason)
    try:
        port = free_port()
        env = base_env(tmp_path, api, pg.url)
        people = [person(i) for i in range(6)]
        (tmp_path / "people.yaml").write_text(records_yaml(people))
        done = subprocess.run(_sabot("records", "import", "people.yaml"), env=env, cwd=tmp_path,
                              capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, done.stderr
        proc = start_bot(tmp_path, env, port, workers=2)
        try:
            wait_listening(api, proc, port, tmp_path)
            errors: list = []
            threads = [
                threading.Thread(target=drive, args=(api, env, tmp_path, 9200 + i, p, errors))
                for i, p in enumerate(people)
            ]
            for t in threads:
                t.start()
            for t in threads:
                t.join(240)
            assert not errors, errors
            for i in range(len(people)):
                assert "You're registered" in "\n".join(m.text for m in api.messages(9200 + i))
            log = (tmp_path / "bot.err").read_text(errors="replace")
            pids = {line.split()[3] for line in log.splitlines() if " kind " in line and "update" in line}
            assert len(pids) == 2, f"updates were handled by {pids}"
        finally:
            assert stop(proc) == 0
    finally:
        pg.stop()

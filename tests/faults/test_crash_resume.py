"""kill -9 in the middle of a registration loses no committed answer: a new process resumes."""

from __future__ import annotations

import os
import signal
import subprocess

import pytest

from sabot_testing.botapi_server import BotAPIServer
from tests.test_sabot_run_loopback import CASEY, RECORDS, WAIT, Bot, _code, _sabot

CHAT = 7401


def test_kill_9_then_resume(tmp_path):
    api = BotAPIServer()
    try:
        api.start()
    except OSError as exc:
        pytest.skip(f"cannot bind a loopback HTTP server on 127.0.0.1: {exc}")
    env = dict(os.environ)
    env.pop("SABOT_CONFIG", None)
    env.update({
        "SABOT_DATA_DIR": str(tmp_path / "data"),
        "SABOT_DATABASE__URL": f"sqlite+aiosqlite:///{tmp_path / 'bot.db'}",
        "SABOT_SECURITY__ARGON2_TIME_COST": "1",
        "SABOT_SECURITY__ARGON2_MEMORY_KIB": "8192",
        "SABOT_SECURITY__ARGON2_PARALLELISM": "1",
        "TELEGRAM_BOT_TOKEN": "123456:TEST",
        "SABOT_TELEGRAM__BASE_URL": api.base_url,
        "PYTHONUNBUFFERED": "1",
    })
    (tmp_path / "people.yaml").write_text(RECORDS, encoding="utf-8")
    p = CASEY
    bots: list[Bot] = []

    def send(text, expect):
        api.user_sends(CHAT, text)
        return api.wait_for_bot_messages(CHAT, lambda new: any(expect in m.text for m in new), timeout=WAIT)

    def press(label, expect):
        api.user_presses(CHAT, label)
        return api.wait_for_bot_messages(CHAT, lambda new: any(expect in m.text for m in new), timeout=WAIT)

    try:
        done = subprocess.run(_sabot("records", "import", "people.yaml"), env=env, cwd=tmp_path,
                              capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, done.stderr
        first = Bot(env, tmp_path, "first")
        bots.append(first)
        first.start()
        first.wait_polling(api)
        send("/start", "Have these ready")
        press("Begin registration", "first name")
        send(p["first_name"], "last name")
        send(p["last_name"], "email")
        send(p["email"], "confirmation code")
        code = _code(env, tmp_path, "email", p["email"])
        send(code, "Social Security number")
        send(p["ssn"], "date of birth")

        first.proc.send_signal(signal.SIGKILL)  # no clean shutdown at all
        first.proc.wait(10)

        second = Bot(env, tmp_path, "second")
        bots.append(second)
        second.start()
        second.wait_polling(api)
        status = send("/status", "What is your date of birth")  # the question it was on
        text = "\n".join(m.text for m in status)
        assert "✅ Name and email" in text and "➡️ Identity" in text
        send(p["dob"], "filing status")  # and it carries on from there
        assert second.terminate() == 0
    finally:
        for b in bots:
            b.kill()
        api.stop()

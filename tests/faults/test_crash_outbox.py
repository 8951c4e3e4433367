"""kill -9 at each point of a turn, for real: before its commit, after the commit before the
reply is sent, after the send before it is marked sent, and while a password is hashed; with
long polling, and with two webhook workers on PostgreSQL. After each: the answer is applied once,
nothing is asked twice, the chat gets its reply, and no secret stays in the chat.

The bot kills itself at the point named by its test hook SABOT_TEST_CRASH_AT (bot.outbox), once:
only while the file SABOT_TEST_CRASH_ARMED names exists, which the crashing process removes.
"""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

import pytest

from sabot_testing.postgres import PostgresForTests
from tests.test_sabot_run_loopback import CASEY, RECORDS, Bot, _code, _outbox, _sabot, bot_env, start_api
from tests.test_webhook import base_env, free_port, start_bot, stop, wait_listening

CHAT = 7501
WAIT = 30.0
POINTS = ["before_commit", "after_commit", "after_send"]


def _texts(messages) -> str:
    return "\n".join(m.text for m in messages)


def _import(env, cwd: Path) -> None:
    (cwd / "people.yaml").write_text(RECORDS, encoding="utf-8")
    done = subprocess.run(_sabot("records", "import", "people.yaml"), env=env, cwd=cwd, capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 0, done.stderr


class Chat:
    def __init__(self, api, chat: int = CHAT):
        self.api, self.chat = api, chat

    def send(self, text: str, expect: str):
        self.api.user_sends(self.chat, text)
        return self.wait(expect)

    def press(self, label: str, expect: str):
        self.api.user_presses(self.chat, label)
        return self.wait(expect)

    def wait(self, expect: str):
        return self.api.wait_for_bot_messages(self.chat, lambda new: any(expect in m.text for m in new), timeout=WAIT)


def _to_the_code(chat: Chat, env, cwd) -> str:
    p = CASEY
    chat.send("/start", "Have these ready")
    chat.press("Begin registration", "first name")
    chat.send(p["first_name"], "last name")
    chat.send(p["last_name"], "email")
    chat.send(p["email"], "confirmation code")
    return _code(env, cwd, "email", p["email"])


def _crash_on_the_code(api, env, cwd, arm: Path, after_crash) -> None:
    """Crash on the answer that carries the emailed code; ``after_crash()`` brings a bot back
    (a new process, or nothing when another worker is still up). Then check the outcome."""
    chat = Chat(api)
    code = _to_the_code(chat, env, cwd)
    arm.write_text("armed")
    code_message = api.user_sends(CHAT, code)
    deadline = time.monotonic() + WAIT
    while arm.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not arm.exists(), "the crash point was never reached"
    after_crash()
    after = chat.wait("Social Security number")  # no silent chat
    # the code was taken once: never asked for again, and the chat moved on by exactly one step.
    # Delivery is at least once, so the question before may be shown again (a reply Telegram took
    # whose mark died with the process) — but only before the answer to it, never after.
    moved_on = next(i for i, m in enumerate(after) if "Social Security number" in m.text)
    assert "confirmation code" not in _texts(after[moved_on:])
    assert "expired" not in _texts(after) and "doesn't match" not in _texts(after)
    assert "isn't right" not in _texts(after)
    more = chat.send(CASEY["ssn"], "date of birth")
    assert "Social Security number" not in _texts(more)
    # the code's message was deleted, and the SSN's; the email went out once
    api.wait_until(lambda: code_message in api.deleted(CHAT), WAIT, "the code's message to be deleted")
    emails = [m for m in _outbox(env, cwd) if m["channel"] == "email" and m["to"] == CASEY["email"]]
    assert len(emails) == 1
    history = _texts(api.messages(CHAT))
    assert code not in history and CASEY["ssn"] not in history


def _polling(bots: list[Bot], env, tmp_path, name: str, api) -> Bot:
    """A bot started in polling mode (kept in ``bots`` to be killed at the end), once it polls."""
    bot = Bot(env, tmp_path, name)
    bots.append(bot)
    bot.start()
    bot.wait_polling(api)
    return bot


@pytest.mark.parametrize("point", POINTS)
def test_kill_9_in_polling_mode(tmp_path, point):
    api = start_api()
    env = bot_env(tmp_path, api)
    arm = tmp_path / "crash.armed"
    crashing = dict(env, SABOT_TEST_CRASH_AT=point, SABOT_TEST_CRASH_ARMED=str(arm))
    bots: list[Bot] = []
    try:
        _import(env, tmp_path)
        first = _polling(bots, crashing, tmp_path, "first", api)

        def restart():
            assert first.proc.wait(WAIT) == -9  # it killed itself, no clean-up at all
            second = _polling(bots, env, tmp_path, "second", api)

        _crash_on_the_code(api, env, tmp_path, arm, restart)
        assert bots[-1].terminate() == 0
        assert api.pending_updates() == 0
    finally:
        for b in bots:
            b.kill()
        api.stop()


def test_kill_9_while_a_password_is_hashed(tmp_path):
    """The password's message is deleted even though the process dies hashing it, and the step
    completes on restart (the update comes again: it was never confirmed)."""
    api = start_api()
    env = bot_env(tmp_path, api)
    arm = tmp_path / "crash.armed"
    crashing = dict(env, SABOT_TEST_CRASH_AT="during_hashing", SABOT_TEST_CRASH_ARMED=str(arm))
    bots: list[Bot] = []
    p = CASEY
    try:
        _import(env, tmp_path)
        first = _polling(bots, crashing, tmp_path, "first", api)
        chat = Chat(api)
        code = _to_the_code(chat, env, tmp_path)
        chat.send(code, "Social Security number")
        chat.send(p["ssn"], "date of birth")
        chat.send(p["dob"], "Which filing status")
        chat.press(p["filing_status"], "U.S. address or one abroad")
        chat.press("A U.S. address", "Address line 1")
        chat.send(p["line1"], "Address line 2")
        chat.send(p["line2"], "City, as on the return")
        chat.send(p["city"], "State (two-letter code")
        chat.send(p["state"], "ZIP code")
        chat.send(p["zip"], "Please check these details")
        chat.press("Everything matches – check it", "Which kind of account")
        chat.press("Credit card", "Which network")
        chat.press("Visa", "What kind of card")
        chat.press("Personal credit card", "last eight digits")
        chat.send(p["last8"], "mobile phone number")
        chat.send(p["phone"], "activation code I texted")
        chat.send(_code(env, tmp_path, "sms", p["phone_e164"]), "Choose a username")
        chat.send(p["username"], "Now a password")

        arm.write_text("armed")
        password_message = api.user_sends(CHAT, p["password"])
        assert first.proc.wait(WAIT) == -9
        assert not arm.exists()

        second = _polling(bots, env, tmp_path, "second", api)
        after = chat.wait("site phrase")  # the step completes
        assert "Now a password" not in _texts(after)  # not asked again
        api.wait_until(lambda: password_message in api.deleted(CHAT), WAIT, "the password's message to be deleted")
        assert p["password"] not in _texts(api.messages(CHAT))
        chat.send(p["phrase"], "choose a site image")
        chat.press(p["image"], "You're registered")
        assert second.terminate() == 0
    finally:
        for b in bots:
            b.kill()
        api.stop()


@pytest.mark.parametrize("point", POINTS)
def test_kill_9_with_two_webhook_workers_on_postgresql(tmp_path, point):
    """One of two workers dies; Telegram's redelivery of the update reaches the other, which
    applies it if the dead one hadn't committed it, or sends its stored replies if it had."""
    pg = PostgresForTests()
    pg.start()
    if pg.url is None:
        pytest.skip(pg.reason)
    api = start_api()
    try:
        port = free_port()
        env = base_env(tmp_path, api, pg.url)
        arm = tmp_path / "crash.armed"
        _import(env, tmp_path)
        proc = start_bot(tmp_path, dict(env, SABOT_TEST_CRASH_AT=point, SABOT_TEST_CRASH_ARMED=str(arm)), port,
                         workers=2)
        try:
            wait_listening(api, proc, port, tmp_path)
            _crash_on_the_code(api, env, tmp_path, arm, lambda: None)
            log = (tmp_path / "bot.err").read_text(errors="replace")
            assert f"test hook: crashing at {point}" in log
        finally:
            stop(proc)
    finally:
        api.stop()
        pg.stop()

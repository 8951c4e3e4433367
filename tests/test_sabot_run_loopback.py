"""`sabot run` end to end, as an outside driver uses it.

A real `sabot run` subprocess long-polls a Bot API HTTP server on 127.0.0.1
(:mod:`sabot_testing.botapi_server`); the test plays one user through the whole registration over
that server, imports the records with `sabot records import` and reads the emailed and texted
codes with `sabot outbox --json`, each as a subprocess. Then it stops the bot with SIGTERM, starts
it again and checks that the conversation state survived.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from sabot_testing.botapi_server import BotAPIServer, SentMessage

CHAT = 7301
WAIT = 10.0  # seconds, per bot reply
CODE = re.compile(r"\b(\d{6})\b")

RECORDS = """\
taxpayers:
  - ssn: "418-52-9036"
    first_name: Casey
    last_name: Marlowe
    date_of_birth: "1982-09-17"
    filing_status: head_of_household
    address:
      line1: "742 Maple Ave"
      line2: "Suite 210"
      city: Portland
      state: OR
      postal_code: "97205"
      country: US
    credit_freeze: false
    financial_accounts:
      - {type: credit_card, number: "4012888888881881", card_network: visa, card_kind: credit}
    phones:
      - {number: "+15035550147", text_enabled: true}
"""

CASEY = {
    "first_name": "Casey",
    "last_name": "Marlowe",
    "email": "casey.marlowe@example.org",
    "ssn": "418-52-9036",
    "dob": "09/17/1982",
    "filing_status": "Head of household",
    "line1": "742 Maple Avenue",
    "line2": "Suite 210",
    "city": "Portland",
    "state": "OR",
    "zip": "97205",
    "last8": "8888 1881",
    "phone": "(503) 555-0147",
    "phone_e164": "+15035550147",
    "username": "cmarlowe82",
    "password": "lantern orchard velvet tide",
    "phrase": "gulls over the river",
    "image": "⛵ Sailboat",
}


def _sabot(*args: str) -> list[str]:
    return [sys.executable, "-m", "bot.cli", *args]


class Bot:
    """One `sabot run` subprocess, its output in files under tmp_path."""

    def __init__(self, env: dict[str, str], cwd: Path, name: str) -> None:
        self.env, self.cwd, self.name = env, cwd, name
        self.out_path = cwd / f"{name}.out"
        self.err_path = cwd / f"{name}.err"
        self.proc: subprocess.Popen | None = None

    def start(self) -> None:
        with open(self.out_path, "wb") as out, open(self.err_path, "wb") as err:
            self.proc = subprocess.Popen(_sabot("run"), env=self.env, cwd=self.cwd, stdout=out,
                                         stderr=err, stdin=subprocess.DEVNULL)

    def output(self) -> str:
        text = ""
        for path in (self.out_path, self.err_path):
            if path.exists():
                text += f"--- {path.name} ---\n{path.read_text(errors='replace')[-4000:]}\n"
        return text

    def wait_polling(self, api: BotAPIServer, timeout: float = 30.0) -> None:
        """Wait until this process has issued getUpdates (it is up), failing fast if it died."""
        before = len(api.calls_to("getUpdates"))
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.proc is not None
            if self.proc.poll() is not None:
                pytest.fail(f"{self.name} exited early with {self.proc.returncode}\n{self.output()}")
            if len(api.calls_to("getUpdates")) > before:
                return
            time.sleep(0.05)
        pytest.fail(f"{self.name} did not start polling within {timeout}s\n{self.output()}")

    def terminate(self, timeout: float = 15.0) -> int:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            pytest.fail(f"{self.name} did not exit within {timeout}s of SIGTERM\n{self.output()}")

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)


def _outbox(env: dict[str, str], cwd: Path) -> list[dict]:
    done = subprocess.run(_sabot("outbox", "--json"), env=env, cwd=cwd, capture_output=True,
                          text=True, timeout=30)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def _code(env: dict[str, str], cwd: Path, channel: str, to: str) -> str:
    """The code in the newest `channel` message to `to`, read with `sabot outbox --json`."""
    deadline = time.monotonic() + WAIT
    while True:
        for message in reversed(_outbox(env, cwd)):
            assert set(message) >= {"channel", "to", "body", "sent_at"}, message
            if message["channel"] == channel and message["to"] == to:
                found = CODE.search(message["body"])
                assert found, f"no six-digit code in the {channel} to {to}"
                return found.group(1)
        if time.monotonic() > deadline:
            pytest.fail(f"nothing sent by {channel} to {to} in the outbox")
        time.sleep(0.2)


def start_api(**options) -> BotAPIServer:
    """A Bot API server on loopback (``options`` as for :class:`BotAPIServer`), or the test skips
    saying why."""
    api = BotAPIServer(**options)
    try:
        api.start()
    except OSError as exc:
        pytest.skip(f"cannot bind a loopback HTTP server on 127.0.0.1: {exc}")
    return api


def bot_env(tmp_path: Path, api: BotAPIServer) -> dict[str, str]:
    """The environment of a `sabot` subprocess: its own data folder and SQLite file, cheap argon2
    parameters, and the loopback Bot API."""
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
    return env


def _texts(messages: list[SentMessage]) -> str:
    return "\n".join(m.text for m in messages)


def test_sabot_run_registers_a_user_over_loopback_and_survives_restart(tmp_path: Path) -> None:
    api = start_api()
    env = bot_env(tmp_path, api)
    records = tmp_path / "people.yaml"
    records.write_text(RECORDS, encoding="utf-8")
    p = CASEY
    bots: list[Bot] = []
    try:
        done = subprocess.run(_sabot("records", "import", str(records)), env=env, cwd=tmp_path,
                              capture_output=True, text=True, timeout=30)
        assert done.returncode == 0, done.stderr
        assert "Imported 1 person" in done.stdout

        bot = Bot(env, tmp_path, "run1")
        bots.append(bot)
        bot.start()
        bot.wait_polling(api)
        assert api.tokens_seen == {"123456:TEST"}

        secrets: dict[str, int] = {}  # what -> id of the user's message that carried it
        codes_seen: list[str] = []

        def send(text: str, expect: str, secret: str | None = None) -> list[SentMessage]:
            message_id = api.user_sends(CHAT, text)
            if secret:
                secrets[secret] = message_id
            return wait(expect)

        def press(label: str, expect: str) -> list[SentMessage]:
            api.user_presses(CHAT, label)
            return wait(expect)

        def wait(expect: str) -> list[SentMessage]:
            try:
                return api.wait_for_bot_messages(
                    CHAT, lambda new: any(expect in m.text for m in new), timeout=WAIT)
            except AssertionError as exc:
                raise AssertionError(f"{exc}\n{bot.output()}") from None

        welcome = send("/start", "Have these ready")
        assert "Begin registration" in welcome[-1].labels
        press("Begin registration", "What is your first name")
        send(p["first_name"], "And your last name")
        send(p["last_name"], "What email address")
        send(p["email"], "Type the six-digit confirmation code")
        code = _code(env, tmp_path, "email", p["email"])
        codes_seen.append(code)
        confirmed = send(code, "Social Security number", secret="email code")
        assert "your email address is confirmed" in _texts(confirmed)
        send(p["ssn"], "date of birth", secret="SSN")
        send(p["dob"], "Which filing status", secret="date of birth")
        press(p["filing_status"], "U.S. address or one abroad")
        press("A U.S. address", "Address line 1")
        send(p["line1"], "Address line 2")
        send(p["line2"], "City, as on the return")
        send(p["city"], "State (two-letter code")
        send(p["state"], "ZIP code")
        review = send(p["zip"], "Please check these details")
        assert "Casey Marlowe" in review[-1].text and "Head of household" in review[-1].text
        press("Everything matches – check it", "Which kind of account")
        press("Credit card", "Which network")
        press("Visa", "What kind of card")
        press("Personal credit card", "last eight digits")
        send(p["last8"], "mobile phone number", secret="account digits")
        send(p["phone"], "activation code I texted")
        code = _code(env, tmp_path, "sms", p["phone_e164"])
        codes_seen.append(code)
        send(code, "Choose a username", secret="SMS code")
        send(p["username"], "Now a password")
        send(p["password"], "site phrase", secret="password")
        send(p["phrase"], "choose a site image")
        final = press(p["image"], "You're registered")

        text = _texts(final)
        assert "You're registered" in text
        assert f"Username: {p['username']}" in text
        assert f"Email: {p['email']}" in text
        assert "Mobile phone: confirmed" in text
        assert "Site image: ⛵ Sailboat" in text
        assert "Confirmation code" in text and "Activation code" in text and "Security code" in text

        # every message carrying a secret was deleted by the bot through deleteMessage
        user_ids = api.user_message_ids(CHAT)
        wanted = set(secrets.values())
        assert wanted <= user_ids
        api.wait_until(lambda: wanted <= api.deleted(CHAT), WAIT,
                       "the secret-carrying messages to be deleted")
        deletes = {c["params"].get("message_id") for c in api.calls_to("deleteMessage")
                   if c["params"].get("chat_id") == CHAT}
        missing = {what for what, mid in secrets.items() if mid not in deletes}
        assert not missing, f"not deleted via deleteMessage: {sorted(missing)}"
        # ... and the bot never repeated one back
        history = _texts(api.messages(CHAT))
        for secret in (p["ssn"], "418529036", p["password"], "88881881", *codes_seen):
            assert secret not in history

        # SIGTERM: a clean stop, exit status 0
        assert bot.terminate(15.0) == 0, bot.output()
        assert api.pending_updates() == 0  # every update was confirmed before exiting

        # a new process finds the conversation where it was
        bot2 = Bot(env, tmp_path, "run2")
        bots.append(bot2)
        bot = bot2
        bot2.start()
        bot2.wait_polling(api)
        status = send("/status", "/login signs you in")
        assert "You're registered and signed out" in _texts(status)
        assert bot2.terminate(15.0) == 0, bot2.output()
    finally:
        for b in bots:
            b.kill()
        api.stop()

"""Random users against the real Telegram adapter: hypothesis plays plausible answers, junk,
any visible button, commands, photos, stickers, edits and clock jumps across every flow.

Invariants, after every update:
* the bot answers it (at least one message) and never with an apology for an internal error;
* no exception reaches the application's error handlers (the test client is strict);
* the conversation is in a declared (flow, state);
* nothing personal the user typed where the bot asked for something secret (SSN, date of birth,
  account digits, password, codes, secret answers) is shown back in a bot message.

Bounded for CI (``SABOT_FUZZ_EXAMPLES`` raises the number of examples locally). Each example
starts from a scenario played by a partial transcript: a new user, Jordan registered, Jordan
signed in, or Lee waiting for the letter.
"""

from __future__ import annotations

import asyncio
import os
import re
from datetime import timedelta
from pathlib import Path

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from sabot_testing.loader import load_transcript
from sabot_testing.runner import Run
from sabot_testing.runtime import BotRuntime
from domain.authenticator import code_at
from flows.router import FLOWS

PARTIALS = Path(__file__).parent / "transcripts" / "partials"
SCENARIOS = [None, "jordan_to_review", "jordan_registered", "jordan_signed_in", "lee_by_mail"]
CHAT = 1001

APOLOGIES = ("Sorry, something went wrong",)

# plausible answers per state; codes and authenticator codes are looked up when needed
POOL: dict[str, list[str]] = {
    "first_name": ["Jordan", "Lee", "Pat"],
    "last_name": ["Rivera", "Chen", "Morgan"],
    "email": ["jordan.rivera@example.com", "lee.chen@example.com"],
    "ssn": ["401-22-7788", "404-55-6677", "405-66-7788", "401227788"],
    "dob": ["06/02/1985", "01/09/1972", "1968-08-21"],
    "line1": ["1234 Elm St", "500 Market Street", "9 Oak Ave"],
    "line2": ["Apt 5B", "Unit 12"],
    "city": ["Springfield", "San Francisco", "Austin"],
    "state": ["IL", "CA", "Texas"],
    "zip": ["62704", "94105", "78701"],
    "province": ["ON"],
    "postal_code": ["M5V 2T6"],
    "country": ["Canada", "CA"],
    "fin_digits": ["22223333", "98765432", "77665544", "2222 3333"],
    "phone": ["(217) 555-0123", "(415) 555-0199", "217-555-0123"],
    "add_phone": ["(415) 555-0199", "(512) 555-0100"],
    "username": ["jrivera85", "leechen72", "fuzzyuser1"],
    "password": ["copper kettle mountain drum", "granite meadow falcon"],
    "new_password": ["granite meadow falcon", "silver birch evening"],
    "current_password": ["copper kettle mountain drum"],
    "choose_password": ["silver birch evening"],
    "site_phrase": ["blue heron at dawn"],
    "secret_answer": ["Biscuit", "the corner bakery"],
    "login_username": ["jrivera85", "leechen72", "pmorgan"],
    "login_password": ["copper kettle mountain drum", "old e-services password"],
}
CODE_STATES = {"email_code": "email", "phone_code": "sms", "add_phone_code": "sms", "login_code": "sms", "letter_code": "mail"}
TOTP_STATES = {"totp_setup", "new_app", "login_totp"}
COMMANDS = ["start", "help", "back", "status", "cancel", "privacy", "login", "logout", "profile", "register", "frobnicate"]
WAITS = [timedelta(seconds=30), timedelta(minutes=11), timedelta(minutes=31), timedelta(hours=7), timedelta(days=15), timedelta(days=31)]
KEY = re.compile(r"by hand: ([A-Z2-7 ]+?)\n")
CODE = re.compile(r"\b(\d{6})\b")
LETTER_CODE = re.compile(r"activation code: (\d{6})")

junk = st.one_of(
    st.text(min_size=1, max_size=30).filter(lambda s: s.strip() and not s.strip().startswith("/")),
    st.from_regex(r"\A[0-9 \-]{1,14}\Z"),
    st.sampled_from(["yes", "no", "0", "-1", "💥", "Robert'); DROP TABLE accounts;--", "a" * 300, "   x   "]),
)


class RandomUser(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.loop = asyncio.new_event_loop()
        self.runtime: BotRuntime = self.loop.run_until_complete(BotRuntime.create())
        self.client = self.loop.run_until_complete(self.runtime.client(CHAT))
        self.secrets: set[str] = set()
        self.keys: list[str] = []
        self.trace: list[str] = []

    def run(self, coro):
        return self.loop.run_until_complete(coro)

    def teardown(self) -> None:
        try:
            self.run(self.runtime.close())
        finally:
            self.loop.close()

    # -- helpers --------------------------------------------------------------------------------

    def where(self) -> tuple[str, str]:
        return self.run(self.runtime.engine.where(CHAT)) or ("home", "welcome")

    def step_is_secret(self) -> bool:
        flow, state = self.where()
        step = FLOWS.get(flow, None) and FLOWS[flow].steps.get(state)
        return bool(step and step.secret)

    def check(self, what: str, messages, *, must_answer: bool = True) -> None:
        self.trace.append(what)
        texts = [m.text for m in messages]
        if must_answer:
            assert messages, f"no answer to {what} (after {self.trace[-6:]})"
        for text in texts:
            for apology in APOLOGIES:
                assert apology not in text, f"internal error on {what} (after {self.trace[-6:]}): {text}"
            for secret in self.secrets:
                assert secret not in text, f"the bot showed {secret!r} back after {what}: {text!r}"
            self.keys.extend(k.replace(" ", "") for k in KEY.findall(text + "\n"))

    def type_text(self, text: str, *, personal: bool) -> None:
        if personal and self.step_is_secret() and len(text) >= 4:
            self.secrets.add(text)
        self.check(f"say {text!r}", self.run(self.client.send(text)))

    def latest_code(self, channel: str) -> str | None:
        for message in reversed(self.run(self.runtime.outbox())):
            if message.channel == channel:
                found = (LETTER_CODE if channel == "mail" else CODE).search(message.body)
                return found.group(1) if found else None
        return None

    # -- rules ----------------------------------------------------------------------------------

    @initialize(scenario=st.sampled_from(SCENARIOS))
    def start(self, scenario: str | None) -> None:
        self.trace.append(f"scenario {scenario}")
        if scenario is None:
            self.check("/start", self.run(self.client.command("start")))
            return
        transcript = load_transcript(PARTIALS / f"{scenario}.convo.yaml")
        run = Run(transcript, None, self.runtime)
        self.run(run.run_steps())
        # what the scenario typed at secret steps must not come back either
        self.secrets |= {"401-22-7788", "copper kettle mountain drum"} if "jordan" in scenario else {"404-55-6677", "Biscuit"}

    def _answer(self, data) -> None:
        flow, state = self.where()
        if state in CODE_STATES:
            code = self.latest_code(CODE_STATES[state])
            if code:
                self.secrets.add(code)
                self.type_text(code, personal=True)
                return
        if state in TOTP_STATES and self.keys:
            code = code_at(self.keys[-1], self.runtime.clock.now())
            self.type_text(code, personal=False)  # a TOTP code may legitimately repeat later
            return
        if flow == "home" and state == "signed_in" and data.draw(st.booleans(), label="profile?"):
            self.check("/profile", self.run(self.client.command("profile")))
            return
        choices = POOL.get(state)
        if choices:
            self.type_text(data.draw(st.sampled_from(choices), label=f"answer at {flow}/{state}"), personal=True)
        elif self.client.last_buttons:
            self.press(data.draw(st.sampled_from(self.client.last_buttons), label="button"))
        else:
            self.check("/start", self.run(self.client.command("start")))

    @rule(data=st.data())
    def answer(self, data) -> None:
        self._answer(data)

    @rule(data=st.data())
    def answer_again(self, data) -> None:
        self._answer(data)

    @rule(data=st.data())
    def answer_once_more(self, data) -> None:
        self._answer(data)

    def press(self, label: str) -> None:
        self.check(f"press {label!r}", self.run(self.client.press(label)))

    @rule(data=st.data())
    def press_a_visible_button(self, data) -> None:
        labels = self.client.last_buttons
        if labels:
            self.press(data.draw(st.sampled_from(labels), label="button"))

    @rule(text=junk)
    def type_junk(self, text: str) -> None:
        self.type_text(text, personal=False)

    @rule(name=st.sampled_from(COMMANDS))
    def command(self, name: str) -> None:
        self.check(f"/{name}", self.run(self.client.command(name)))

    @rule(kind=st.sampled_from(["photo", "sticker", "edit", "stale button"]))
    def something_else(self, kind: str) -> None:
        if kind == "photo":
            messages = self.run(self.client.send_photo("my card 4111 1111 2222 3333"))
        elif kind == "sticker":
            messages = self.run(self.client.send_sticker())
        elif kind == "edit":
            if not self.client.user_message_ids:
                return
            messages = self.run(self.client.edit_last("changed my mind"))
        else:
            messages = self.run(self.client.press_data("welcome:begin"))
        self.check(kind, messages)

    @rule(delta=st.sampled_from(WAITS))
    def time_passes(self, delta: timedelta) -> None:
        self.trace.append(f"wait {delta}")
        self.runtime.clock.advance(seconds=delta.total_seconds())

    @rule()
    def tick(self) -> None:
        start = len(self.runtime.api.calls)
        self.run(self.runtime.tick())
        self.check("tick", self.runtime.messages_since(CHAT, start), must_answer=False)

    # -- invariants -----------------------------------------------------------------------------

    @invariant()
    def in_a_declared_state(self) -> None:
        flow, state = self.where()
        assert flow in FLOWS and state in FLOWS[flow].steps, f"undeclared state {flow}/{state}"


RandomUser.TestCase.settings = settings(
    max_examples=int(os.environ.get("SABOT_FUZZ_EXAMPLES", "25")),
    stateful_step_count=30,
    deadline=None,
    derandomize=not os.environ.get("SABOT_FUZZ_EXAMPLES"),
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much, HealthCheck.data_too_large],
)
TestRandomUsers = RandomUser.TestCase

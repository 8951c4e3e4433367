"""``sabot script --record FILE``: talk to the bot in the terminal, get a transcript.

The conversation runs on the same kind of bot a transcript runs on (a fresh temporary database
with the demo people, a manual clock, the Telegram adapter over the offline Bot API), so the
recorded file replays exactly. What is typed becomes ``say:`` / ``press:`` / ``command:`` steps;
each reply becomes an ``expect:`` (its first line, the buttons offered, a deletion). Codes are not
written down literally: a code typed back from an email, text or letter becomes a capture from
that delivery, and an authenticator code a ``${totp:...}`` of the key the bot showed, so the
transcript still passes when codes differ on the next run.

Lines starting with ``:`` are for the recorder itself::

    :wait 11m            move the clock (recorded as wait:)
    :tick                deliver due reminders and notices (recorded as tick:)
    :photo [caption]     send a photo          :sticker     send a sticker
    :edit TEXT           edit the last message :helpdesk approve|refer REF
    :note TEXT           a comment on the next step
    :quit                stop and write the file (end of input does the same)
"""

from __future__ import annotations

import asyncio
import re
import sys
from pathlib import Path
from typing import TextIO

import yaml

from sabot_testing.runner import DEFAULT_CHAT, Reply, parse_duration
from sabot_testing.runtime import BotRuntime

_KEY = re.compile(r"by hand: ([A-Z2-7]{4}(?: [A-Z2-7]{1,4})+)")
_CASE = re.compile(r"reference: (EX-[\w-]+)")
_LETTER_CODE = r"activation code: (\d{6})"


class _Literal(str):
    """A multi-line string written as a YAML block."""


def _dump_literal(dumper: yaml.SafeDumper, value: _Literal):
    return dumper.represent_scalar("tag:yaml.org,2002:str", str(value), style="|" if "\n" in value else None)


class _Dumper(yaml.SafeDumper):
    pass


_Dumper.add_representer(_Literal, _dump_literal)


class Recorder:
    def __init__(self, runtime: BotRuntime, *, chat_id: int = DEFAULT_CHAT, stdin: TextIO | None = None,
                 stdout: TextIO | None = None, name: str = "Recorded conversation"):
        self.runtime = runtime
        self.chat_id = chat_id
        self.stdin = stdin or sys.stdin
        self.stdout = stdout or sys.stdout
        self.name = name
        self.steps: list[dict] = []
        self.buttons: list[str] = []
        self.keys: dict[str, str] = {}  # secret (no spaces) -> variable name
        self.cases: dict[str, str] = {}  # case reference -> variable name
        self.temporary_passwords: dict[str, str] = {}
        self.outbox_seen = 0
        self.note: str | None = None
        self._captures = 0

    def write(self, text: str = "") -> None:
        self.stdout.write(text + "\n")
        self.stdout.flush()

    # -- showing --------------------------------------------------------------------------------

    def show(self, reply: Reply) -> None:
        for m in reply.messages:
            flags = " [photo]" if m.photo else ""
            flags += " [protected]" if m.protect_content else ""
            self.write(f"bot{flags}: {m.text}")
            if m.buttons:
                self.buttons = m.labels
                for i, label in enumerate(self.buttons, 1):
                    self.write(f"  {i}) {label}")
        if reply.deleted:
            self.write("  (your message was deleted)")

    async def show_deliveries(self) -> None:
        for m in await self.runtime.outbox(after_id=self.outbox_seen):
            self.outbox_seen = m.id
            head = {"email": f"[email to {m.to}] {m.subject or ''}", "sms": f"[text to {m.to}]"}.get(m.channel, f"[letter to {m.to}]")
            self.write(head)
            for line in m.body.splitlines():
                self.write(f"    {line}")

    # -- recording ------------------------------------------------------------------------------

    def _expect_for(self, reply: Reply) -> dict:
        expect: dict = {}
        if reply.messages:
            firsts = [next((line.strip() for line in m.text.splitlines() if line.strip()), "") for m in reply.messages]
            firsts = [f for f in firsts if f]
            if firsts:
                expect["contains"] = firsts[0] if len(firsts) == 1 else firsts
            if reply.labels():
                expect["buttons"] = reply.labels()
        else:
            expect["silent"] = True
        if reply.deleted:
            expect["deleted"] = True
        return expect

    def _remember_secrets(self, step: dict, reply: Reply) -> None:
        """Keys and case references shown in a reply: capture them on that step, in case the
        user types them (or a code derived from them) later."""
        for m in reply.messages:
            for found in _KEY.finditer(m.text):
                secret = found.group(1).replace(" ", "")
                if secret not in self.keys:
                    name = f"key{len(self.keys) + 1}"
                    self.keys[secret] = name
                    step.setdefault("capture", {})[name] = rf"by hand: (?P<{name}>[A-Z2-7 ]+?)\n"
            for found in _CASE.finditer(m.text):
                ref = found.group(1)
                if ref not in self.cases:
                    name = "case" if not self.cases else f"case{len(self.cases) + 1}"
                    self.cases[ref] = name
                    step.setdefault("capture", {})[name] = rf"reference: (?P<{name}>EX-[\w-]+)"

    async def _typed_value(self, text: str) -> str:
        """What to write for a typed text: a reference to a capture when it is a code or secret."""
        from domain.authenticator import code_at

        compact = re.sub(r"[\s-]", "", text)
        if re.fullmatch(r"\d{6}", compact):
            now = self.runtime.clock.now()
            for secret, name in self.keys.items():
                if code_at(secret, now) == compact:
                    return f"${{totp:{name}}}"
            for message in reversed(await self.runtime.outbox()):
                pattern = _LETTER_CODE if message.channel == "mail" else r"\b(\d{6})\b"
                found = re.search(pattern, message.body)
                if found and found.group(1) == compact:
                    self._captures += 1
                    var = f"code{self._captures}"
                    to = message.to.split(",")[0] if message.channel == "mail" else message.to
                    spec = {"from": message.channel, "to": to}
                    if message.channel == "mail":
                        spec["pattern"] = _LETTER_CODE
                    self.steps.append({"capture": {var: spec}})
                    return f"${{{var}}}"
        for password, name in self.temporary_passwords.items():
            if text.strip() == password:
                return f"${{{name}}}"
        for ref, name in self.cases.items():
            if ref in text:
                text = text.replace(ref, f"${{{name}}}")
        return text

    async def handle(self, line: str) -> bool:
        """One line of input; False when the recording should stop."""
        text = line.rstrip("\n")
        if not text.strip():
            return True
        client = await self.runtime.client(self.chat_id)
        step: dict
        if text.startswith(":"):
            word, _, rest = text[1:].partition(" ")
            word = word.lower()
            rest = rest.strip()
            if word in ("quit", "q", "exit"):
                return False
            if word == "help":
                self.write(__doc__.split("::", 1)[1].rstrip() if __doc__ else "")
                return True
            if word == "note":
                self.note = rest
                return True
            if word == "wait":
                try:
                    delta = parse_duration(rest)
                except ValueError as exc:
                    self.write(f"(recorder) {exc}")
                    return True
                self.runtime.clock.advance(seconds=delta.total_seconds())
                self.steps.append({"wait": rest})
                self.write(f"(the clock is now {self.runtime.clock.now():%Y-%m-%d %H:%M} UTC)")
                return True
            if word == "tick":
                start = len(self.runtime.api.calls)
                await self.runtime.tick()
                reply = Reply(messages=self.runtime.messages_since(self.chat_id, start), chat_id=self.chat_id)
                step = {"tick": True}
            elif word == "helpdesk":
                from bot.helpdesk import HelpDeskError, approve, refer_to_tac

                action, _, ref = rest.partition(" ")
                ref = ref.strip()
                written_ref = f"${{{self.cases[ref]}}}" if ref in self.cases else ref
                try:
                    if action == "approve":
                        result = await approve(self.runtime.services, ref)
                        self.temporary_passwords[result.temporary_password] = "helpdesk.temporary_password"
                        self.write(f"(help desk) account {result.username}, temporary password {result.temporary_password}")
                    elif action in ("refer", "refer_tac", "refer-tac"):
                        await refer_to_tac(self.runtime.services, ref)
                        self.write("(help desk) referred to a Taxpayer Assistance Center")
                    else:
                        self.write("(recorder) :helpdesk approve REF or :helpdesk refer REF")
                        return True
                except HelpDeskError as exc:
                    self.write(f"(help desk) refused: {exc}")
                    return True
                self.steps.append({"helpdesk": f"{'approve' if action == 'approve' else 'refer'} {written_ref}"})
                return True
            elif word == "photo":
                step = {"photo": rest or True}
                reply = await self._user(client.send_photo(rest or None), client)
            elif word == "sticker":
                step = {"sticker": True}
                reply = await self._user(client.send_sticker(), client)
            elif word == "edit":
                step = {"edit": await self._typed_value(rest)}
                reply = await self._user(client.edit_last(rest), client)
            else:
                self.write(f"(recorder) unknown :{word}; :help lists what the recorder understands")
                return True
        elif text.startswith("/") and len(text) > 1:
            name, _, args = text[1:].partition(" ")
            step = {"command": text[1:]}
            reply = await self._user(client.command(name, args.strip()), client)
        else:
            label = self._button(text)
            if label is not None:
                step = {"press": label}
                reply = await self._user(client.press(label), client)
            else:
                step = {"say": await self._typed_value(text)}
                reply = await self._user(client.send(text), client)
        await self.show_deliveries()
        self.show(reply)
        step["expect"] = self._expect_for(reply)
        self._remember_secrets(step, reply)
        if self.note:
            step["note"] = self.note
            self.note = None
        self.steps.append(step)
        return True

    def _button(self, text: str) -> str | None:
        t = text.strip()
        if t.isdigit() and len(t) <= 2 and 1 <= int(t) <= len(self.buttons):
            return self.buttons[int(t) - 1]
        for label in self.buttons:
            if t.casefold() == label.casefold():
                return label
        return None

    async def _user(self, action, client) -> Reply:
        deleted_before = set(client.deleted)
        messages = await action
        return Reply(messages=list(messages), deleted=bool(set(client.deleted) - deleted_before), chat_id=self.chat_id)

    async def run(self, first: str | None = "/start") -> None:
        interactive = self.stdin.isatty()
        if interactive:
            self.write("Recording a transcript. Type as the user would; buttons by number or label. :help for "
                       "the recorder's own commands, :quit (or Ctrl-D) to stop and write the file.")
        if first:
            await self.handle(first)
        while True:
            if interactive:
                self.stdout.write("you: ")
                self.stdout.flush()
            line = await asyncio.to_thread(self.stdin.readline)
            if not line:
                break
            if not await self.handle(line):
                break

    def transcript(self) -> dict:
        return {
            "name": self.name,
            "description": _Literal("Recorded with `sabot script --record`. Tighten the expectations where it matters."),
            "steps": [_literal_texts(s) for s in self.steps],
        }

    def dump(self) -> str:
        return yaml.dump(self.transcript(), Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=100)


def _literal_texts(value):
    if isinstance(value, dict):
        return {k: _literal_texts(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_literal_texts(v) for v in value]
    if isinstance(value, str) and "\n" in value:
        return _Literal(value)
    return value


async def record(path: Path, *, chat_id: int = DEFAULT_CHAT, stdin: TextIO | None = None, stdout: TextIO | None = None,
                 name: str | None = None) -> Path:
    runtime = await BotRuntime.create()
    try:
        recorder = Recorder(runtime, chat_id=chat_id, stdin=stdin, stdout=stdout,
                            name=name or Path(path).name.removesuffix(".convo.yaml").replace("_", " "))
        try:
            await recorder.run()
        finally:
            Path(path).parent.mkdir(parents=True, exist_ok=True)
            Path(path).write_text(recorder.dump(), encoding="utf-8")
    finally:
        await runtime.close()
    return Path(path)

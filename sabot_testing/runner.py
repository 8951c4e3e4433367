"""Running a transcript against the bot, step by step, and checking what it says.

Every step goes through the real Telegram adapter (python-telegram-bot's ``Application`` with its
request layer replaced by :class:`sabot_testing.telegram.FakeBotAPI`), so the buttons, protected
messages and deletions checked are the ones Telegram would see. See ``docs/transcripts.md`` for
the format.
"""

from __future__ import annotations

import difflib
import logging
import re
import time
import traceback
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

from sabot_testing import coverage as coverage_mod
from sabot_testing import extend
from sabot_testing.leaks import leaks
from sabot_testing.loader import Row, Step, Transcript, TranscriptError
from sabot_testing.runtime import BotRuntime, deep_merge, parse_when

DEFAULT_CHAT = 1001
#: the pattern a delivery capture uses when none is given: the first six-digit code
CODE_PATTERN = r"\b(\d{6})\b"

_VAR = re.compile(r"\$\$|\$\{([^}]*)\}")
_DURATION = re.compile(r"(\d+(?:\.\d+)?)\s*(ms|s|sec|secs|seconds?|m|min|mins|minutes?|h|hours?|d|days?|w|weeks?)", re.I)
_UNIT_SECONDS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def parse_duration(text: Any) -> timedelta:
    """``"11m"``, ``"31d"``, ``"2h"``, ``"1h30m"``, ``"90 s"``, ``"2 weeks"``."""
    raw = str(text).strip()
    total = 0.0
    pos = 0
    for m in _DURATION.finditer(raw):
        if raw[pos : m.start()].strip():
            break
        unit = m.group(2).lower()
        key = "ms" if unit == "ms" else unit[0]
        total += float(m.group(1)) * _UNIT_SECONDS[key]
        pos = m.end()
    if not raw or pos != len(raw) or raw[pos:].strip():
        raise ValueError(f"can't read the duration {raw!r}: use e.g. 90s, 11m, 2h, 31d or 1h30m")
    return timedelta(seconds=total)


def _norm(text: str) -> str:
    return " ".join(str(text).split())


# -- what the bot did in one step ----------------------------------------------------------------


@dataclass
class Reply:
    """What one step produced: the bot's messages to the user's chat and what came with them."""

    messages: list = field(default_factory=list)
    #: whether the bot deleted the user's message (None: the step sent no user message)
    deleted: bool | None = None
    chat_id: int | None = None
    #: deliveries with an id above this were made during the step
    outbox_mark: int | None = None
    #: an operator step's refusal (help desk)
    error: str | None = None
    #: internal errors the bot logged while handling the step
    internal_errors: list[str] = field(default_factory=list)
    _deliveries: list | None = None

    @property
    def text(self) -> str:
        return "\n".join(m.text for m in self.messages)

    def keyboard(self):
        for m in reversed(self.messages):
            if m.buttons:
                return m
        return None

    def labels(self) -> list[str]:
        k = self.keyboard()
        return k.labels if k else []

    def rows(self) -> list[list[str]]:
        k = self.keyboard()
        return k.buttons if k else []


class StepFailure(AssertionError):
    """A step whose reply isn't what the transcript expects."""

    def __init__(self, step: Step, problems: list[str], reply: Reply | None, run: "Run", *, trace: str | None = None):
        self.step = step
        self.problems = problems
        self.reply = reply
        self.row = run.row
        self.transcript = run.transcript
        self.index = run.index
        self.state = run.last_state
        self.recent = [h for h in run.history[-4:] if h[0] is not step][-3:]
        self.trace = trace
        super().__init__(f"{step.where}: " + "; ".join(problems))

    def render(self, *, color: bool = False) -> str:
        from sabot_testing.report import render_failure

        return render_failure(self, color=color)


class _ErrorLog(logging.Handler):
    """Collects the errors the bot logs (the engine turns exceptions into an apology and logs
    them; a transcript treats that as a failure unless it expects it)."""

    def __init__(self) -> None:
        super().__init__(level=logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


_BOT_LOGGERS = ("sabot.engine", "bot.telegram_adapter")


# -- a run --------------------------------------------------------------------------------------


class Run:
    """One transcript (one data row) against a fresh bot."""

    def __init__(self, transcript: Transcript, row: Row | None, runtime: BotRuntime):
        self.transcript = transcript
        self.row = row
        self.runtime = runtime
        self.vars: dict[str, Any] = {}
        for key, value in (transcript.vars or {}).items():
            self.vars[str(key)] = value
        if row is not None:
            for key, value in row.values.items():
                self.vars[f"row.{key}"] = value
        self.vars["chat"] = str(self.default_chat)
        self.last: Reply | None = None
        self.last_state: tuple[str, str] | None = None
        self.history: list[tuple[Step, Reply | None]] = []
        self.index = 0
        self._errors = _ErrorLog()

    # -- users and variables --------------------------------------------------------------------

    @property
    def default_chat(self) -> int:
        users = self.transcript.users
        if users:
            return int(next(iter(users.values())))
        return DEFAULT_CHAT

    def chat_for(self, who: Any) -> int:
        if who is None:
            return self.default_chat
        if str(who) in self.transcript.users:
            return int(self.transcript.users[str(who)])
        try:
            return int(who)
        except (TypeError, ValueError):
            known = ", ".join(self.transcript.users) or "none declared"
            raise TranscriptError(f"unknown user {who!r} (users: {known})") from None

    def lookup(self, name: str) -> str:
        if name.startswith("totp:"):
            from domain.authenticator import code_at

            key = name[5:].strip()
            secret = self.lookup(key)
            return code_at(re.sub(r"\s+", "", secret), self.runtime.clock.now())
        if name in self.vars:
            value = self.vars[name]
            return "" if value is None else str(value)
        known = ", ".join(sorted(k for k in self.vars if not k.startswith("_"))) or "none"
        raise TranscriptError(f"unknown variable ${{{name}}} (defined so far: {known})")

    def subst(self, value: Any, *, regex: bool = False) -> Any:
        if isinstance(value, str):

            def one(m: re.Match) -> str:
                if m.group(0) == "$$":
                    return "$"
                found = self.lookup(m.group(1).strip())
                return re.escape(found) if regex else found

            return _VAR.sub(one, value)
        if isinstance(value, list):
            return [self.subst(v, regex=regex) for v in value]
        if isinstance(value, dict):
            return {k: self.subst(v, regex=regex or k in ("regex", "pattern")) for k, v in value.items()}
        return value

    # -- running --------------------------------------------------------------------------------

    async def start(self) -> None:
        fixtures = dict(self.transcript.fixtures or {})
        base = self.transcript.path.parent
        for key, value in fixtures.items():
            if key.startswith("__") or key in ("clock", "config", "demo_records"):
                continue
            if key == "records":
                sources = value if isinstance(value, list) and value and _is_source_list(value) else [value]
                for source in sources:
                    await self.runtime.import_records(self.subst(source), base)
            elif key == "setup":
                for item in value if isinstance(value, list) else [value]:
                    await self._setup_item(item)
            else:
                await extend.FIXTURES[key](self, self.subst(value))

    async def _setup_item(self, item: Any) -> None:
        if isinstance(item, str):
            item = {"hook": item}
        if "import" in item:
            import importlib

            importlib.import_module(item["import"])
            return
        base = self.transcript.path.parent
        result = await extend.call_hook(item["hook"], self, self.subst(item.get("with") or {}), base)
        if isinstance(result, dict):
            self.vars.update({str(k): v for k, v in result.items()})

    async def run_steps(self) -> None:
        for logger in _BOT_LOGGERS:
            logging.getLogger(logger).addHandler(self._errors)
        try:
            for self.index, step in enumerate(self.transcript.steps, 1):
                await self.run_step(step)
        finally:
            for logger in _BOT_LOGGERS:
                logging.getLogger(logger).removeHandler(self._errors)

    async def run_step(self, step: Step) -> None:
        try:
            reply = await self._act(step)
        except StepFailure:
            raise
        except TranscriptError as exc:
            raise StepFailure(step, [exc.message], self.last, self) from None
        except AssertionError as exc:  # the test client: no such button, strict handler errors
            cause = exc.__cause__
            trace = "".join(traceback.format_exception(cause)) if cause else None
            raise StepFailure(step, [str(exc)], self.last, self, trace=trace) from None
        if reply is not None:
            self.last = reply
        problems: list[str] = []
        trace = None
        if reply is not None and reply.internal_errors and not _expects_error(step):
            problems.append("the bot hit an internal error while handling this step (see the log below)")
            trace = "\n".join(reply.internal_errors)
        if reply is not None and reply.error and not _expects_error(step):
            problems.append(f"the operator action was refused: {reply.error}")
        if reply is not None:
            problems.extend(too_long(reply))
            problems.extend(await self.english_left(reply))
        try:
            if step.expect is not None:
                problems.extend(await self.check(step, self.last))
            if step.capture is not None and not problems:
                problems.extend(await self.capture(step.capture, self.last))
        except TranscriptError as exc:
            problems.append(exc.message)
        self.history.append((step, reply))
        if problems:
            if self.last is not None and self.last.chat_id is not None:
                self.last_state = await self.runtime.engine.where(self.last.chat_id)
            raise StepFailure(step, problems, self.last, self, trace=trace)

    async def english_left(self, reply: Reply) -> list[str]:
        """English sentences in the reply of a chat that speaks another language
        (:mod:`sabot_testing.leaks`)."""
        if not reply.messages or reply.chat_id is None:
            return []
        language = await self.runtime.chat_language(reply.chat_id)
        if not language or language == "en":
            return []
        texts = [m.text for m in reply.messages] + [label for m in reply.messages for row in m.buttons for label in row]
        return [f"English left in a reply in {language!r}: {run!r}" for run in leaks(texts, language)]

    def language_of(self, chat: int) -> str | None:
        """The Telegram app language of the user of ``chat``: their own, or the transcript's."""
        for name, value in self.transcript.users.items():
            if str(value) == str(chat) and name in self.transcript.user_languages:
                return self.transcript.user_languages[name]
        return self.transcript.language

    # -- actions --------------------------------------------------------------------------------

    async def _act(self, step: Step) -> Reply | None:
        kind = step.kind
        value = step.value
        if kind in ("expect", "capture"):
            if self.last is None:
                raise TranscriptError("nothing has happened yet to check")
            return None
        if kind == "set":
            for key, v in value.items():
                self.vars[str(key)] = self.subst(v)
            return None
        if kind == "defaults":
            for key, v in value.items():
                self.vars.setdefault(str(key), self.subst(v))
            return None
        if kind == "wait":
            self.runtime.clock.advance(seconds=parse_duration(self.subst(value)).total_seconds())
            return None
        if kind == "clock":
            self.runtime.clock.set(parse_when(self.subst(value)))
            return None
        if kind == "records":
            await self.runtime.import_records(self.subst(value), step.file.parent)
            return None
        if kind == "hook":
            item = value if isinstance(value, dict) else {"hook": value, "with": step.source.get("with")}
            if "call" in item:
                item = {"hook": item["call"], "with": item.get("with")}
            result = await extend.call_hook(item["hook"], self, self.subst(item.get("with") or {}), step.file.parent)
            if isinstance(result, Reply):
                return result
            if isinstance(result, dict):
                self.vars.update({str(k): v for k, v in result.items()})
            return None
        if kind == "tick":
            return await self._tick(step)
        if kind == "helpdesk":
            return await self._helpdesk(step, self.subst(value))
        if kind in extend.STEPS:
            return await extend.STEPS[kind](self, step, self.subst(value))
        return await self._user_action(step)

    async def _user_action(self, step: Step) -> Reply:
        value = self.subst(step.value)
        chat = self.chat_for(self.subst(step.user))
        client = await self.runtime.client(chat, self.language_of(chat))
        kind = step.kind
        if kind == "say":
            act = lambda: client.send(_text(value))  # noqa: E731
        elif kind == "press":
            act = lambda: client.press(_text(value))  # noqa: E731
        elif kind == "press_data":
            act = lambda: client.press_data(_text(value))  # noqa: E731
        elif kind == "command":
            name, _, args = _text(value).lstrip("/").partition(" ")
            act = lambda: client.command(name, args.strip())  # noqa: E731
        elif kind == "photo":
            caption = None if value in (None, True, False) else _text(value)
            act = lambda: client.send_photo(caption)  # noqa: E731
        elif kind == "sticker":
            act = lambda: client.send_sticker()  # noqa: E731
        elif kind == "edit":
            act = lambda: client.edit_last(_text(value))  # noqa: E731
        elif kind == "raw":
            if not isinstance(value, dict):
                raise TranscriptError("'raw:' takes the message fields, e.g. {voice: {file_id: v1, file_unique_id: u1, duration: 3}}")
            act = lambda: client.send_raw(value)  # noqa: E731
        else:  # pragma: no cover - the loader refuses unknown kinds
            raise TranscriptError(f"don't know how to run a {kind!r} step")
        mark = await self._outbox_mark()
        deleted_before = set(client.deleted)
        sent_before = len(client.user_message_ids)
        errors_before = len(self._errors.records)
        messages = await act()
        newly_deleted = set(client.deleted) - deleted_before
        user_sent = len(client.user_message_ids) > sent_before or kind == "edit"
        return Reply(
            messages=list(messages),
            deleted=bool(newly_deleted) if user_sent else None,
            chat_id=chat,
            outbox_mark=mark,
            internal_errors=self._new_errors(errors_before),
        )

    def _new_errors(self, before: int) -> list[str]:
        out = []
        for record in self._errors.records[before:]:
            text = f"{record.name}: {record.getMessage()}"
            if record.exc_info:
                text += "\n" + "".join(traceback.format_exception(*record.exc_info)).rstrip()
            out.append(text)
        return out

    async def _outbox_mark(self) -> int:
        return await self.runtime.outbox_mark()

    async def _tick(self, step: Step) -> Reply:
        chat = self.chat_for(self.subst(step.user))
        mark = await self._outbox_mark()
        start = len(self.runtime.api.calls)
        errors_before = len(self._errors.records)
        count = await self.runtime.tick()
        self.vars["tick.count"] = str(count)
        return Reply(
            messages=self.runtime.messages_since(chat, start),
            chat_id=chat,
            outbox_mark=mark,
            internal_errors=self._new_errors(errors_before),
        )

    async def _helpdesk(self, step: Step, value: Any) -> Reply:
        from bot.helpdesk import HelpDeskError, approve, refer_to_tac

        words = _text(value).split()
        if len(words) != 2 or words[0].lower().replace("-", "_") not in ("approve", "refer", "refer_tac"):
            raise TranscriptError("'helpdesk:' is 'approve REFERENCE' or 'refer REFERENCE'")
        action, reference = words[0].lower(), words[1]
        mark = await self._outbox_mark()
        reply = Reply(chat_id=self.chat_for(self.subst(step.user)), outbox_mark=mark)
        try:
            if action == "approve":
                result = await approve(self.runtime.services, reference)
                self.vars["helpdesk.username"] = result.username
                self.vars["helpdesk.temporary_password"] = result.temporary_password
            else:
                await refer_to_tac(self.runtime.services, reference)
        except HelpDeskError as exc:
            reply.error = str(exc)
        return reply

    # -- deliveries -----------------------------------------------------------------------------

    async def deliveries(self, reply: Reply) -> list:
        if reply._deliveries is None:
            reply._deliveries = await self.runtime.outbox(after_id=reply.outbox_mark or 0)
        return reply._deliveries

    # -- expectations ---------------------------------------------------------------------------

    async def check(self, step: Step, reply: Reply) -> list[str]:
        expect = step.expect
        if isinstance(expect, str):
            expect = {"contains": [expect]}
        elif isinstance(expect, list):
            expect = {"contains": expect}
        expect = self.subst(expect)
        problems: list[str] = []
        text = reply.text
        flat = _norm(text)

        for s in _as_list(expect.get("contains")):
            if _norm(s) not in flat:
                problems.append(f"expected the reply to contain:\n{_indent(s)}")
        for s in _as_list(expect.get("not_contains")):
            if _norm(s) in flat:
                problems.append(f"expected the reply NOT to contain:\n{_indent(s)}")
        for s in _as_list(expect.get("exact")):
            texts = [_rstrip_lines(m.text) for m in reply.messages]
            if _rstrip_lines(s) not in texts:
                problems.append(f"expected a message to be exactly:\n{_indent(s)}" + _closest_diff(s, texts))
        if "messages" in expect:
            wanted = [_rstrip_lines(s) for s in _as_list(expect["messages"])]
            got = [_rstrip_lines(m.text) for m in reply.messages]
            if wanted != got:
                diff = "\n".join(difflib.unified_diff(wanted, got, "expected", "actual", lineterm="", n=1))
                problems.append(f"expected exactly these {len(wanted)} message(s), the bot sent {len(got)}:\n{_indent(diff)}")
        for pattern in _as_list(expect.get("regex")):
            try:
                found = re.search(pattern, text, re.MULTILINE)
            except re.error as exc:
                raise TranscriptError(f"bad regular expression {pattern!r}: {exc}") from None
            if not found:
                problems.append(f"expected the reply to match the regular expression:\n{_indent(pattern)}")
            else:
                self.vars.update({k: v for k, v in found.groupdict().items() if v is not None})
        if "buttons" in expect:
            wanted = expect["buttons"] or []
            if any(isinstance(b, list) for b in wanted):
                actual_rows = reply.rows()
                wanted_rows = [b if isinstance(b, list) else [b] for b in wanted]
                if [[str(x) for x in r] for r in wanted_rows] != actual_rows:
                    problems.append(f"expected the button rows {wanted_rows}\n  but the bot offered {actual_rows}")
            elif [str(b) for b in wanted] != reply.labels():
                problems.append(_buttons_problem([str(b) for b in wanted], reply.labels()))
        if "buttons_include" in expect:
            missing = [str(b) for b in _as_list(expect["buttons_include"]) if str(b) not in reply.labels()]
            if missing:
                problems.append(f"expected the buttons to include {missing}\n  but the bot offered {reply.labels()}")
        if expect.get("no_buttons") and any(m.buttons for m in reply.messages):
            problems.append(f"expected no buttons, the bot offered {reply.labels()}")
        if "deleted" in expect:
            want = bool(expect["deleted"])
            if bool(reply.deleted) != want:
                problems.append(
                    "expected the bot to delete the user's message, it didn't"
                    if want
                    else "expected the user's message to stay, but the bot deleted it"
                )
        if "silent" in expect:
            if expect["silent"] and reply.messages:
                problems.append(f"expected the bot to say nothing, it sent {len(reply.messages)} message(s)")
            if not expect["silent"] and not reply.messages:
                problems.append("expected the bot to answer, it said nothing")
        if "protected" in expect:
            protected = [m for m in reply.messages if m.protect_content]
            if expect["protected"] and not protected:
                problems.append("expected a protected message (no forwarding or saving), none was")
            if not expect["protected"] and protected:
                problems.append(f"expected no protected message, {len(protected)} were")
        if "photo" in expect:
            photos = [m for m in reply.messages if m.photo]
            if bool(expect["photo"]) != bool(photos):
                problems.append("expected a photo, none was sent" if expect["photo"] else "expected no photo, one was sent")
        if "count" in expect:
            if int(expect["count"]) != len(reply.messages):
                problems.append(f"expected {expect['count']} message(s), the bot sent {len(reply.messages)}")
        if "state" in expect:
            wanted = str(expect["state"]).replace(".", "/")
            chat = reply.chat_id if reply.chat_id is not None else self.default_chat
            where = await self.runtime.engine.where(chat)
            actual = "/".join(where) if where else "(no conversation)"
            if ("/" in wanted and actual != wanted) or ("/" not in wanted and actual.split("/")[0] != wanted):
                problems.append(f"expected the conversation to be at {wanted}, it is at {actual}")
        if "delivered" in expect:
            problems.extend(await self._check_delivered(expect["delivered"], reply))
        if "error" in expect:
            wanted = str(expect["error"])
            errors = ([reply.error] if reply.error else []) + reply.internal_errors
            if not any(wanted in e for e in errors):
                problems.append(f"expected an error containing {wanted!r}, got {errors or 'none'}")
        return problems

    async def _check_delivered(self, spec: Any, reply: Reply) -> list[str]:
        sent = await self.deliveries(reply)
        if spec in (None, False, "none", "nothing"):
            return [f"expected nothing to be delivered, {len(sent)} message(s) were: " + ", ".join(f"{m.channel} to {m.to}" for m in sent)] if sent else []
        problems = []
        for item in spec if isinstance(spec, list) else [spec]:
            if not isinstance(item, dict):
                raise TranscriptError("'delivered:' takes {email|sms|mail: address, contains: text, subject: text} (or a list of them, or none)")
            matches = [m for m in sent if _delivery_matches(m, item)]
            if not matches:
                listed = "\n".join(f"    {m.channel} to {m.to}: {_norm(m.body)[:100]}" for m in sent) or "    (nothing)"
                problems.append(f"expected a delivery matching {item}; delivered during this step:\n{listed}")
        return problems

    # -- captures -------------------------------------------------------------------------------

    async def capture(self, spec: Any, reply: Reply | None) -> list[str]:
        spec = self.subst(spec)
        text = reply.text if reply else ""
        if isinstance(spec, str):
            found = re.search(spec, text, re.MULTILINE)
            if not found:
                return [f"couldn't capture: the reply doesn't match {spec!r}"]
            if not found.groupdict():
                raise TranscriptError("a capture pattern needs named groups, e.g. 'reference: (?P<case>EX-\\w+)'")
            self.vars.update({k: v for k, v in found.groupdict().items() if v is not None})
            return []
        if not isinstance(spec, dict):
            raise TranscriptError("'capture:' is a regular expression with named groups, or a mapping name -> pattern or {from: email|sms|mail, to: ..., pattern: ...}")
        problems = []
        for name, how in spec.items():
            if isinstance(how, str):
                how = {"from": "reply", "pattern": how}
            source = how.get("from", "reply")
            pattern = how.get("pattern", CODE_PATTERN if source != "reply" else None)
            if not pattern:
                raise TranscriptError(f"capture {name!r}: give a 'pattern'")
            if source == "reply":
                haystack, what = text, "the reply"
            elif source in ("email", "sms", "mail"):
                message = await self._last_delivery(source, how.get("to"))
                if message is None:
                    problems.append(f"couldn't capture {name!r}: nothing was sent by {source}" + (f" to {how.get('to')}" if how.get("to") else ""))
                    continue
                haystack, what = message.body, f"the last {source} to {message.to}"
            else:
                raise TranscriptError(f"capture {name!r}: 'from' is reply, email, sms or mail, not {source!r}")
            found = re.search(pattern, haystack, re.MULTILINE)
            if not found:
                problems.append(f"couldn't capture {name!r}: {what} doesn't match {pattern!r}:\n{_indent(haystack)}")
                continue
            groups = found.groupdict()
            if name in groups:
                value = groups[name]
            elif found.groups():
                value = found.group(1)
            else:
                value = found.group(0)
            self.vars[str(name)] = value
        return problems

    async def _last_delivery(self, channel: str, to: str | None):
        for message in reversed(await self.runtime.outbox()):
            if message.channel != channel:
                continue
            if to is None or message.to == to or (channel == "mail" and to in message.to):
                return message
        return None


def too_long(reply: Reply) -> list[str]:
    """Every message of the reply must fit on a phone screen (``flows.replies.SCREEN_CHARS``),
    as the person receives it: after the adapter has joined a turn's replies."""
    from flows.replies import SCREEN_CHARS

    return [
        f"a message of {len(m.text)} characters, over the {SCREEN_CHARS} that fit on a phone screen:\n{_indent(m.text[:200])} ..."
        for m in reply.messages
        if len(m.text or "") > SCREEN_CHARS
    ]


def _is_source_list(value: list) -> bool:
    """``records: [file1.yaml, {file: f2}]`` (several sources) vs ``records: [{ssn: ...}]`` (people)."""
    return all(isinstance(v, str) or (isinstance(v, dict) and "file" in v) for v in value)


def _expects_error(step: Step) -> bool:
    return isinstance(step.expect, dict) and "error" in step.expect


def _text(value: Any) -> str:
    if value is None:
        raise TranscriptError("this step needs a value")
    return str(value)


def _as_list(value: Any) -> list:
    if value is None:
        return []
    return [str(v) for v in value] if isinstance(value, list) else [str(value)]


def _indent(text: str, prefix: str = "    ") -> str:
    return "\n".join(prefix + line for line in str(text).splitlines() or [""])


def _rstrip_lines(text: str) -> str:
    return "\n".join(line.rstrip() for line in str(text).strip().splitlines())


def _closest_diff(wanted: str, texts: list[str]) -> str:
    if not texts:
        return "\n  but the bot said nothing"
    best = max(texts, key=lambda t: difflib.SequenceMatcher(None, wanted, t).ratio())
    diff = difflib.unified_diff(_rstrip_lines(wanted).splitlines(), best.splitlines(), "expected", "closest message", lineterm="")
    return "\n  difference from the closest message:\n" + _indent("\n".join(diff))


def _buttons_problem(wanted: list[str], actual: list[str]) -> str:
    extra = [b for b in actual if b not in wanted]
    missing = [b for b in wanted if b not in actual]
    detail = []
    if missing:
        detail.append(f"missing {missing}")
    if extra:
        detail.append(f"unexpected {extra}")
    if not detail:
        detail.append("same labels, different order")
    return f"expected the buttons {wanted}\n  but the bot offered {actual} ({'; '.join(detail)})"


def _delivery_matches(message, item: dict) -> bool:
    for channel in ("email", "sms", "mail"):
        if channel in item:
            if message.channel != channel:
                return False
            to = item[channel]
            if to not in (None, True, "any") and not (message.to == str(to) or (channel == "mail" and str(to) in message.to)):
                return False
    if "to" in item and str(item["to"]) not in message.to:
        return False
    if "contains" in item and _norm(item["contains"]) not in _norm(message.body):
        return False
    if "subject" in item and str(item["subject"]) not in (message.subject or ""):
        return False
    return True


# -- running a whole transcript -----------------------------------------------------------------


@dataclass
class Result:
    transcript: Transcript
    row: Row | None
    outcome: str  # passed | failed | error | xfailed | xpassed | skipped
    failure: StepFailure | None = None
    error: str | None = None
    duration: float = 0.0
    steps: int = 0

    @property
    def ok(self) -> bool:
        return self.outcome in ("passed", "xfailed", "skipped", "xpassed")

    @property
    def id(self) -> str:
        return test_id(self.transcript, self.row)

    def message(self, *, color: bool = False) -> str:
        if self.failure is not None:
            return self.failure.render(color=color)
        return self.error or ""


def test_id(transcript: Transcript, row: Row | None) -> str:
    base = str(transcript.path)
    return f"{base}[{row.id}]" if row is not None else base


async def run_case(transcript: Transcript, row: Row | None = None, *, database_url: str | None = None) -> Result:
    """Run one transcript (one row of it) on a fresh bot; ``database_url`` puts its storage in
    that (empty or emptied) database instead of a temporary SQLite file."""
    started = time.perf_counter()
    if transcript.skip:
        return Result(transcript, row, "skipped", error=str(transcript.skip))
    extend.load_plugins()
    fixtures = transcript.fixtures or {}
    runtime = None
    run = None
    try:
        config = fixtures.get("config") or {}
        if database_url:
            config = deep_merge(config, {"database": {"url": database_url}})
        runtime = await BotRuntime.create(
            config=config,
            clock=parse_when(fixtures["clock"]) if fixtures.get("clock") else None,
            demo_records=fixtures.get("demo_records", True) is not False,
        )
        run = Run(transcript, row, runtime)
        with coverage_mod.as_test(test_id(transcript, row)):
            await run.start()
            await run.run_steps()
        outcome = "xpassed" if transcript.xfail else "passed"
        return Result(transcript, row, outcome, duration=time.perf_counter() - started, steps=len(transcript.steps))
    except StepFailure as failure:
        outcome = "xfailed" if transcript.xfail else "failed"
        return Result(transcript, row, outcome, failure=failure, duration=time.perf_counter() - started, steps=failure.index)
    except TranscriptError as exc:
        return Result(transcript, row, "error", error=str(exc), duration=time.perf_counter() - started)
    except Exception as exc:  # noqa: BLE001 - reported with its traceback
        where = f" (step {run.index})" if run and run.index else ""
        text = f"{transcript.path}{where}: {type(exc).__name__}: {exc}\n" + traceback.format_exc()
        outcome = "xfailed" if transcript.xfail else "error"
        return Result(transcript, row, outcome, error=text, duration=time.perf_counter() - started)
    finally:
        if runtime is not None:
            await runtime.close()


async def run_transcript(transcript: Transcript) -> list[Result]:
    return [await run_case(transcript, row) for row in transcript.cases()]

"""The small framework every flow is written in.

A flow is a list of :class:`Step` (what to ask, how to check the answer, what to say when it is
wrong, side by side) plus a declarative table of transitions handed to a ``transitions`` state
machine. A step's ``check`` reads the answer, raises :class:`~domain.validators.Invalid` with a plain
explanation when it cannot be used, or returns the name of the trigger to fire (``"next"`` when it
returns nothing). The machine decides where that trigger leads, using conditions over the answers.
Nothing here knows about Telegram: input is an :class:`~flows.replies.Incoming`, output a list of
plain actions.

Texts declared with a step (its question, its help, its buttons' labels, the "Why?" explanations)
are written in English and marked with ``N_``; they are translated here, each time they are shown,
into the language of the turn (:mod:`domain.i18n`).
"""

from __future__ import annotations

import inspect
import re
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, AsyncIterator, Awaitable, Callable, Iterable, Union

from transitions import Machine

from flows.replies import Action, Button, DeleteUserMessage, Incoming, Notify, Reply
from domain.i18n import DEFAULT_LANGUAGE, N_, _, current_language, using
from domain.ports import RecordsAdapter, Repository, Services, Vault
from domain.validators import Invalid

Choice = tuple[str, str]  # (value, label)
Choices = list[list[Choice]]
Dynamic = Union[str, Callable[["Ctx"], Any]]

#: A message carrying a long run of digits is deleted wherever it is typed: it may be an SSN, an
#: account number or a code typed at the wrong question. Between two digits there may be up to
#: three separators: spaces, dots, slashes, underscores and every kind of dash (en and em dashes,
#: the minus sign...), as in "401 – 22 – 7788".
DIGIT_RUN = re.compile(r"\d(?:[\s\-\u2010-\u2015\u2212\ufe58\ufe63\uff0d_./]{0,3}\d){5,}")

_MONTH = (
    r"(?:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?"
    r"|sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)\.?"
)
_DAY = r"(?:[0-3]?\d)(?:st|nd|rd|th)?"
#: A date written with its month in words and a year ("July 19, 1983", "19th of July 1983"): it
#: may be a date of birth, so it is deleted wherever it is typed.
WORDED_DATE = re.compile(
    rf"\b(?:{_MONTH}\s+{_DAY},?\s+|{_DAY}\s+(?:of\s+)?{_MONTH},?\s+)\d{{4}}\b",
    re.IGNORECASE,
)


def personal_data(text: str) -> str | None:
    """What a message seems to carry that shouldn't stay in a chat ("a long number", "a date":
    marked for translation, shown with ``_()``), wherever it is typed; None when nothing."""
    if DIGIT_RUN.search(text):
        return N_("a long number")
    if WORDED_DATE.search(text):
        return N_("a date")
    return None


@dataclass
class Answer:
    text: str
    choice: str | None
    incoming: Incoming


@dataclass(frozen=True)
class Exit:
    """A declared move out of a flow (``ctx.go``): its name, the flow and state it leads to
    (``state`` None: that flow's first step) and, for the diagrams, the states it leaves from
    (none given: anywhere in the flow; for a global command, the flows it is used from)."""

    name: str
    flow: str
    state: str | None = None
    sources: tuple[str, ...] = ()

    @classmethod
    def of(cls, row: "Exit | tuple | list") -> "Exit":
        if isinstance(row, Exit):
            return row
        name, flow, *rest = row
        state = rest[0] if rest else None
        sources = rest[1] if len(rest) > 1 else ()
        return cls(name, flow, state, (sources,) if isinstance(sources, str) else tuple(sources))


class UndeclaredExit(RuntimeError):
    """A move to a flow and state its origin never declared."""


class Exits:
    """The moves an origin (a flow, or the router for a global command) may make with ``ctx.go``."""

    def __init__(self, origin: str, rows: Iterable["Exit | tuple | list"] | None = None):
        self.origin = origin
        #: whether a table was declared (an origin that declares none may make no move)
        self.declared = False
        self.rows: list[Exit] = []
        self._targets: set[tuple[str, str | None]] = set()
        if rows is not None:
            self.add(rows)

    def add(self, rows: Iterable["Exit | tuple | list"]) -> None:
        self.declared = True
        for row in rows:
            row = Exit.of(row)
            self.rows.append(row)
            self._targets.add((row.flow, row.state))

    def allows(self, flow: str, state: str | None) -> bool:
        return (flow, state) in self._targets

    def check(self, flow: str, state: str | None) -> None:
        if not self.allows(flow, state):
            target = f"{flow}.{state}" if state else flow
            declared = ", ".join(sorted(f"{f}.{s}" if s else f for f, s in self._targets)) or "none"
            raise UndeclaredExit(f"{self.origin}: a move to {target} that isn't declared among its exits ({declared})")

    def __iter__(self):
        return iter(self.rows)

    def __len__(self) -> int:
        return len(self.rows)


class Ctx:
    """What a step sees: the answers so far, the services, the clock, and a place to talk."""

    def __init__(self, *, chat_id: int, data: dict, services: Services, repo: Repository, incoming: Incoming | None):
        self.chat_id = chat_id
        self.data = data
        self.services = services
        self.repo = repo
        self.incoming = incoming
        self.actions: list[Action] = []
        #: (flow, state, answers to carry over) to move to after this step
        self.switch: tuple[str, str | None, dict] | None = None
        #: the moves allowed now: the running flow's exits, or a global command's (set by the router)
        self.exits: Exits | None = None
        #: (subject, purpose) of the codes issued during this step: their prompt needn't ask
        #: the database whether they are still valid
        self.fresh_codes: set[tuple[str, str]] = set()
        #: buttons for more (key, label), added under this turn's last question: "Why?" after an
        #: explanation given in one line, the parts of /privacy
        self.more: list[tuple[str, str]] = []
        #: what this turn has learnt that its prompt may use (not kept after the turn)
        self.turn: dict[str, Any] = {}
        #: the chat's language ("en", "es"): the turn speaks it; /language changes it
        self.language: str = current_language()

    # services, for readability inside steps
    @property
    def policy(self):
        return self.services.settings.policy

    @property
    def vault(self) -> Vault:
        return self.services.vault

    @property
    def records(self) -> RecordsAdapter:
        return self.services.records

    def now(self) -> datetime:
        return self.services.clock.now()

    def say(self, text: str, choices: Choices | None = None, *, protect: bool = False, state: str = "_") -> None:
        self.actions.append(Reply(_(text), buttons(state, choices or []), protect))

    async def language_of(self, chat_id: int) -> str:
        """The language another chat speaks (its stored choice; English for a chat never seen)."""
        if chat_id == self.chat_id:
            return self.language
        lookup = getattr(self.repo, "chat_language", None)
        return (await lookup(chat_id) if lookup is not None else None) or DEFAULT_LANGUAGE

    @asynccontextmanager
    async def speaking_to(self, chat_id: int) -> AsyncIterator[str]:
        """Inside the block, texts are written in ``chat_id``'s language (a message for another
        chat); afterwards this turn's language again."""
        with using(await self.language_of(chat_id)) as language:
            yield language

    async def notify(self, chat_id: int, build: Callable[[], str]) -> None:
        """A message for another chat, written by ``build`` in that chat's language."""
        async with self.speaking_to(chat_id):
            text = build()
        self.actions.append(Notify(chat_id, text))

    def go(self, flow: str, state: str | None = None, carry: dict | None = None) -> None:
        """Leave this flow for another (its first step unless ``state`` is given).

        The answers of the flow being left are dropped, except ``carry``. The move must be one of
        the exits declared by whoever is in charge (the running flow, or the router's command):
        anything else raises :class:`UndeclaredExit` at once."""
        if self.exits is None:
            raise UndeclaredExit(f"a move to {flow}.{state or ''} with no flow or command in charge")
        self.exits.check(flow, state)
        self.switch = (flow, state, dict(carry or {}))

    async def deliver(self, channel: str, to: str, body: str, subject: str | None = None) -> None:
        await self.services.deliver(self.repo.session, channel=channel, to=to, body=body, subject=subject)


#: the texts a "more" button shows (``_more:<key>``), by key: a string or built from the conversation
MORE: dict[str, Dynamic] = {}

#: where the conversation remembers which explanations it has given in full
EXPLAINED = "_explained"


def explanation(key: str, full: str) -> str:
    """Declare the explanation ``key`` (at import, so its button works in every worker, also one
    that has not given it since it started); returns ``full``."""
    MORE[key] = full
    return full


def explain(ctx: Ctx, key: str, full: str, short: str, label: str = N_("Why?")) -> str:
    """``full`` the first time this conversation needs the explanation ``key`` (declared with
    :func:`explanation`); afterwards ``short`` (one line), with a button under the question that
    shows the full text again. Both are returned translated (compare the result with ``_(full)``)."""
    given = ctx.data.setdefault(EXPLAINED, [])
    if key not in given:
        given.append(key)
        return _(full)
    if (key, label) not in ctx.more:
        ctx.more.append((key, label))
    return _(short)


def more_buttons(actions: list[Action], more: list[tuple[str, str]]) -> list[Action]:
    """``actions`` with the buttons ``more`` added under the last reply (below its own, which keep
    their places)."""
    if not more:
        return actions
    for i in range(len(actions) - 1, -1, -1):
        reply = actions[i]
        if isinstance(reply, Reply):
            rows = tuple((Button(_(label), f"_more:{key}"),) for key, label in more)
            out = list(actions)
            out[i] = Reply(reply.text, tuple(reply.buttons) + rows, reply.protect)
            return out
    return actions


def buttons(state: str, choices: Choices) -> tuple[tuple[Button, ...], ...]:
    """The keyboard for ``choices``, its labels in the turn's language."""
    return tuple(tuple(Button(_(label), f"{state}:{value}") for value, label in row) for row in choices)


def shown(text: Any) -> Any:
    """A text as shown: a declared one (marked with ``N_``) translated into the turn's language;
    one built at the time (already translated, so no msgid) comes back as it is."""
    return _(text) if isinstance(text, str) else text


async def _resolve(value: Any, ctx: Ctx) -> Any:
    if callable(value):
        value = value(ctx)
    if inspect.isawaitable(value):
        value = await value
    return value


@dataclass
class Step:
    name: str
    ask: Dynamic
    check: Callable[[Ctx, Answer], Awaitable[str | None]]
    choices: Choices | Callable[[Ctx], Choices] | None = None
    #: typed text is accepted (besides any buttons)
    typed: bool = True
    #: what the user's message carries, e.g. "your SSN": it is deleted once read, and we say so
    secret: str | None = None
    #: what /help says at this step (text, or built from the conversation and the policy)
    help: Dynamic = ""
    #: a stage name for /status ("Email", "Identity"...)
    stage: str = ""
    #: triggers after which /back can't return before this step (what it verified stays verified)
    checkpoint: tuple[str, ...] = ()
    #: the prompt shows a secret (an authenticator key): sent with Telegram's protect_content
    protect: bool = False

    #: per language, the buttons and the {value: label} of fixed choices, built once each
    _fixed: dict | None = field(default=None, init=False, repr=False, compare=False)

    def _fixed_choices(self) -> tuple | None:
        """(buttons, values) when the choices don't depend on the conversation, in the turn's
        language."""
        if callable(self.choices):
            return None
        if self._fixed is None:
            self._fixed = {}
        language = current_language()
        built = self._fixed.get(language)
        if built is None:
            choices = self.choices or []
            built = self._fixed[language] = (
                buttons(self.name, choices),
                {value: _(label) for row in choices for value, label in row},
            )
        return built

    async def prompt(self, ctx: Ctx) -> Reply:
        text = shown(await _resolve(self.ask, ctx))
        fixed = self._fixed_choices()
        if fixed is not None:
            return Reply(text, fixed[0], protect=self.protect)
        choices = await _resolve(self.choices, ctx) or []
        return Reply(text, buttons(self.name, choices), protect=self.protect)

    async def help_text(self, ctx: Ctx) -> str:
        return shown(await _resolve(self.help, ctx))

    async def choice_values(self, ctx: Ctx) -> dict[str, str]:
        """{value: label} of the buttons, the labels in the turn's language."""
        fixed = self._fixed_choices()
        if fixed is not None:
            return fixed[1]
        choices = await _resolve(self.choices, ctx) or []
        return {value: _(label) for row in choices for value, label in row}

    def declared_labels(self) -> dict[str, str]:
        """{value: label} of fixed choices as written (English): typed, they count too."""
        if callable(self.choices) or not self.choices:
            return {}
        return {value: label for row in self.choices for value, label in row}


class _Cursor:
    """A throwaway model the machine moves; the real state lives in the database."""

    state: str


class Flow:
    """A conversation flow: steps in reading order plus a declarative transitions table."""

    def __init__(self, name: str, title: str, initial: str):
        self.name = name
        self.title = title
        self.initial = initial
        self.steps: dict[str, Step] = {}
        self._transitions: list[dict] = []
        self._machine: Machine | None = None
        #: (state, trigger) -> its only, unconditional destination ("" when there isn't one)
        self._direct: dict[tuple[str, str], str] = {}
        #: the moves to other flows (``ctx.go``), declared with :meth:`exits`
        self.exit_table = Exits(name)

    # -- declaring -------------------------------------------------------------------------
    def step(self, name: str, *, ask: Dynamic, leave: tuple[str, str, str] | None = None, **options) -> Callable:
        """Decorator: ``@flow.step("ssn", ask="...", secret="your SSN")`` on the check coroutine.

        ``leave`` (value, label, trigger): a button, first under the question, that fires
        ``trigger`` without checking anything ("Never mind")."""

        def register(check):
            step_check = check
            if leave is not None:
                value, label, trigger = leave
                options["choices"] = [[(value, label)]] + list(options.get("choices") or [])

                async def step_check(ctx: Ctx, answer: Answer):
                    return trigger if answer.choice == value else await check(ctx, answer)

            self.steps[name] = Step(name=name, ask=ask, check=step_check, **options)
            return check

        return register

    def menu(self, *, ask: Dynamic, choices: Any, **options) -> Callable:
        """Decorator: a step answered by its buttons only (nothing typed is read as an answer),
        named after its check coroutine: ``@flow.menu(ask=..., choices=...)`` on ``async def
        overview``."""

        def register(check):
            return self.step(check.__name__, ask=ask, choices=choices, typed=False, **options)(check)

        return register

    def transitions(self, table: Iterable[dict | list]) -> None:
        for row in table:
            if isinstance(row, (list, tuple)):
                trigger, source, dest = row[:3]
                row = {"trigger": trigger, "source": source, "dest": dest}
            self._transitions.append(dict(row))
        self._machine = None
        self._direct = {}

    def exits(self, rows: Iterable[Exit | tuple | list]) -> None:
        """Declare the moves out of this flow: ``flow.exits([("done", "home", "registered",
        ["review"]), ...])`` - a name, the flow and state it leads to (None: that flow's first
        step) and optionally the states it leaves from. ``ctx.go`` refuses any other move."""
        rows = [Exit.of(row) for row in rows]
        for row in rows:
            unknown = [s for s in row.sources if s not in self.steps]
            if unknown:
                raise ValueError(f"{self.name}: exit {row.name!r} leaves from unknown steps {unknown}")
        self.exit_table.add(rows)

    @property
    def machine(self) -> Machine:
        if self._machine is None:
            self._machine = Machine(
                model=None,
                states=list(self.steps),
                transitions=self._transitions,
                initial=None,
                auto_transitions=False,
                send_event=False,
                ignore_invalid_triggers=False,
            )
            self._cursor = _Cursor()
            self._machine.add_model(self._cursor, initial=self.initial)
        return self._machine

    def fire(self, state: str, trigger: str, ctx: Ctx) -> str:
        """Where ``trigger`` leads from ``state`` (conditions are evaluated against ``ctx``).

        A trigger with one unconditional transition from ``state`` is read straight from the
        machine's table. Otherwise one cursor model per flow is moved to ``state`` and
        triggered; this is synchronous, so concurrent conversations never share it
        mid-transition."""
        machine = self.machine
        direct = self._direct.get((state, trigger))
        if direct is None:
            direct = self._direct[(state, trigger)] = self._direct_dest(state, trigger) or ""
        if direct:
            return direct
        cursor = self._cursor
        machine.set_state(state, model=cursor)
        if not cursor.trigger(trigger, ctx):
            raise RuntimeError(f"{self.name}: no transition {trigger!r} from {state!r} matched")
        return cursor.state

    def _direct_dest(self, state: str, trigger: str) -> str | None:
        """The destination when the machine has exactly one transition for ``trigger`` from
        ``state`` and nothing (condition or callback) can change or stop it."""
        machine = self.machine
        event = machine.events.get(trigger)
        candidates = event.transitions.get(state, []) if event is not None else []
        if len(candidates) != 1:
            return None
        only = candidates[0]
        if only.conditions or only.before or only.after or only.prepare:
            return None
        if machine.before_state_change or machine.after_state_change or machine.prepare_event or machine.finalize_event:
            return None
        return only.dest if only.dest is not None else state

    def edges(self) -> list[tuple[str, str, str]]:
        """(source, trigger, dest) for diagrams and coverage."""
        out = []
        for row in self._transitions:
            sources = row["source"] if isinstance(row["source"], list) else [row["source"]]
            for src in sources:
                if src == "*":
                    for s in self.steps:
                        out.append((s, row["trigger"], row["dest"]))
                else:
                    out.append((src, row["trigger"], row["dest"]))
        return out

    def validate(self) -> None:
        """Fail early on a table that names an unknown step."""
        for src, _trigger, dest in self.edges():
            if src not in self.steps or dest not in self.steps:
                raise ValueError(f"{self.name}: transition {src!r} -> {dest!r} names an unknown step")
        self.machine  # noqa: B018 - building it checks the table


# -- running a step ----------------------------------------------------------------------------


WHY_DELETED = N_(
    "Chats with bots aren't end-to-end encrypted, and a message stays on every device signed in to "
    "your Telegram account. So I delete each message that carries an SSN, a date of birth, account "
    "digits, a password or a code as soon as I've read it."
)
MORE["deleted"] = WHY_DELETED


def delete_secret(incoming: Incoming, what: str, ctx: Ctx | None = None) -> list[Action]:
    """Delete the user's message because it held ``what`` ("your SSN", declared with ``N_``), and
    say so: in full the first time in the conversation, then in short. The short note has no
    "Why?" button: it comes before a question whose own buttons stay as they are (/privacy says
    why, too)."""
    what = _(what)
    note = _("(I deleted your message because it held {what}, so it doesn't stay in this chat.)").format(what=what)
    if ctx is not None:
        given = ctx.data.setdefault(EXPLAINED, [])
        if "deleted" in given:
            note = _("(Deleted: it held {what}.)").format(what=what)
        else:
            given.append("deleted")
    return [DeleteUserMessage(incoming.message_id), Reply(note)]


def history(ctx: Ctx) -> list[str]:
    return ctx.data.setdefault("_history", [])


async def run_answer(flow: Flow, state: str, ctx: Ctx, incoming: Incoming) -> tuple[str, list[Action]]:
    """Feed one answer to the step ``state``; return the new state and what to say."""
    step = flow.steps[state]
    out: list[Action] = []
    if incoming.kind == "text" and incoming.message_id is not None:
        held = step.secret or personal_data(incoming.text)
        if held:
            out.extend(delete_secret(incoming, held, ctx))

    values = await step.choice_values(ctx)
    choice: str | None = None
    if incoming.kind == "button":
        prefix, _sep, value = incoming.data.partition(":")
        if prefix != state or value not in values:
            out.append(Reply(_("That button belongs to an earlier question, so I've ignored it. Here is where we are now:")))
            out.append(await step.prompt(ctx))
            return state, out
        choice = value
        text = values[value]
    else:
        text = incoming.text.strip()
        # A typed label (or value) counts as pressing its button; so does a fixed button's
        # English label in another language.
        typed = text.casefold()
        for value, label in values.items():
            if typed in (label.casefold(), value.casefold()):
                choice = value
                break
        else:
            for value, label in step.declared_labels().items():
                if typed == label.casefold() and value in values:
                    choice = value
                    break
        if choice is None and not step.typed:
            out.append(Reply(_("Please pick one of the buttons below (or type its label).")))
            out.append(await step.prompt(ctx))
            return state, out

    answer = Answer(text=text, choice=choice, incoming=incoming)
    try:
        trigger = await step.check(ctx, answer) or "next"
    except Invalid as problem:
        out.extend(ctx.actions)
        out.append(Reply(_(problem.message)))
        out.append(await step.prompt(ctx))
        return state, out

    out.extend(ctx.actions)
    ctx.actions = []
    if ctx.switch is not None:
        return state, out
    if trigger == "stay":
        out.extend(await enter(flow, state, ctx))  # the prompt and anything it shows (a QR code)
        return state, out
    new_state = flow.fire(state, trigger, ctx)
    if trigger in step.checkpoint:
        ctx.data["_history"] = []
        ctx.data["_checkpoint"] = new_state
    elif new_state != state:
        history(ctx).append(state)
    out.extend(await enter(flow, new_state, ctx))
    return new_state, out


async def enter(flow: Flow, state: str, ctx: Ctx) -> list[Action]:
    step = flow.steps[state]
    before = list(ctx.actions)
    ctx.actions = []
    prompt = await step.prompt(ctx)
    extra = ctx.actions
    ctx.actions = []
    return before + extra + [prompt]

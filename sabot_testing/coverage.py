"""Which states and transitions of which flows a test run reaches, and by which tests.

The observer is attached from the outside, without changing the flows or the engine:

* :meth:`flows.core.Flow.fire` is wrapped, so every transition the machine takes is recorded as
  ``(flow, source, trigger, dest)`` (and its destination as a state reached);
* the engine's ``dispatch`` (in :mod:`bot.turn`) is wrapped, so the ``(flow, state)`` a
  conversation is in before and after every update is recorded, including the moves between
  flows (``ctx.go``), which are no machine transitions and are listed separately as switches
  (and matched with the exits the flows declare).

Tests are told apart by :func:`as_test` (a context variable), so the report can say which
transcripts (or pytest tests) reach each state.
"""

from __future__ import annotations

import contextlib
import json
from collections import defaultdict
from contextvars import ContextVar
from pathlib import Path
from typing import Iterator

_current_test: ContextVar[str | None] = ContextVar("sabot_scripting_test", default=None)
_collectors: list["Coverage"] = []
_installed = False


def _hit_state(flow: str, state: str) -> None:
    test = _current_test.get() or "(unnamed)"
    for c in _collectors:
        c.states[(flow, state)].add(test)


def _hit_transition(flow: str, source: str, trigger: str, dest: str) -> None:
    test = _current_test.get() or "(unnamed)"
    for c in _collectors:
        c.transitions[(flow, source, trigger, dest)].add(test)
        c.states[(flow, dest)].add(test)


def _hit_switch(before: tuple[str, str], after: tuple[str, str]) -> None:
    test = _current_test.get() or "(unnamed)"
    for c in _collectors:
        c.switches[(before[0], before[1], after[0], after[1])].add(test)


def install() -> None:
    """Wrap ``Flow.fire`` and the engine's ``dispatch`` (once per process). Recording only
    happens while a :class:`Coverage` is being collected."""
    global _installed
    if _installed:
        return
    _installed = True
    from flows.core import Flow

    original_fire = Flow.fire

    def fire(self, state, trigger, ctx):
        dest = original_fire(self, state, trigger, ctx)
        if _collectors:
            _hit_transition(self.name, state, trigger, dest)
        return dest

    fire.__wrapped__ = original_fire  # type: ignore[attr-defined]
    Flow.fire = fire  # type: ignore[method-assign]

    import bot.turn as engine_module

    original_dispatch = getattr(engine_module, "dispatch", None)
    if original_dispatch is None:  # pragma: no cover - the engine was reorganised
        return

    async def dispatch(conv, ctx, incoming):
        if not _collectors:
            return await original_dispatch(conv, ctx, incoming)
        before = (conv.flow, conv.state)
        _hit_state(*before)
        try:
            return await original_dispatch(conv, ctx, incoming)
        finally:
            after = (conv.flow, conv.state)
            _hit_state(*after)
            if after[0] != before[0]:
                _hit_switch(before, after)

    dispatch.__wrapped__ = original_dispatch  # type: ignore[attr-defined]
    engine_module.dispatch = dispatch


@contextlib.contextmanager
def as_test(name: str) -> Iterator[None]:
    token = _current_test.set(name)
    try:
        yield
    finally:
        _current_test.reset(token)


def universe() -> tuple[list[tuple[str, str]], list[tuple[str, str, str, str]]]:
    """Every declared (flow, state) and (flow, source, trigger, dest), in declaration order."""
    from flows.router import FLOWS

    states: list[tuple[str, str]] = []
    transitions: list[tuple[str, str, str, str]] = []
    for name, flow in FLOWS.items():
        states.extend((name, s) for s in flow.steps)
        seen = set()
        for src, trigger, dest in flow.edges():
            key = (name, src, trigger, dest)
            if key not in seen:
                seen.add(key)
                transitions.append(key)
    return states, transitions


def declared_exits() -> list[tuple[str, str, str]]:
    """Every (flow, other flow, its state) a flow declares it may move to with ``ctx.go``."""
    from flows.router import FLOWS

    out: list[tuple[str, str, str]] = []
    for name, flow in FLOWS.items():
        for row in getattr(flow, "exit_table", None) or ():
            if row.flow == name:
                continue  # a move within the flow: no switch between flows
            key = (name, row.flow, row.state if row.state is not None else FLOWS[row.flow].initial)
            if key not in out:
                out.append(key)
    return out


class Coverage:
    def __init__(self) -> None:
        self.states: dict[tuple[str, str], set[str]] = defaultdict(set)
        self.transitions: dict[tuple[str, str, str, str], set[str]] = defaultdict(set)
        self.switches: dict[tuple[str, str, str, str], set[str]] = defaultdict(set)

    @contextlib.contextmanager
    def collecting(self) -> Iterator["Coverage"]:
        install()
        _collectors.append(self)
        try:
            yield self
        finally:
            _collectors.remove(self)

    def merge(self, other: "Coverage") -> None:
        for mine, theirs in ((self.states, other.states), (self.transitions, other.transitions), (self.switches, other.switches)):
            for key, tests in theirs.items():
                mine[key] |= tests

    # -- figures --------------------------------------------------------------------------------

    def summary(self) -> dict:
        states, transitions = universe()
        reached_s = [s for s in states if self.states.get(s)]
        reached_t = [t for t in transitions if self.transitions.get(t)]
        taken = {(a, c, d) for a, _b, c, d in self.switches}
        exits = declared_exits()
        return {
            "exits": {"reached": sum(1 for e in exits if e in taken), "total": len(exits)},
            "missing_exits": [f"{a} --> {c}.{d}" for a, c, d in exits if (a, c, d) not in taken],
            "states": {"reached": len(reached_s), "total": len(states)},
            "transitions": {"reached": len(reached_t), "total": len(transitions)},
            "missing_states": [f"{f}.{s}" for f, s in states if not self.states.get((f, s))],
            "missing_transitions": [f"{f}: {a} --{t}--> {b}" for f, a, t, b in transitions if not self.transitions.get((f, a, t, b))],
        }

    def complete(self) -> bool:
        s = self.summary()
        return not s["missing_states"] and not s["missing_transitions"]

    def to_json(self) -> dict:
        states, transitions = universe()
        return {
            "summary": {k: v for k, v in self.summary().items()},
            "states": [
                {"flow": f, "state": s, "tests": sorted(self.states.get((f, s), ()))} for f, s in states
            ],
            "transitions": [
                {"flow": f, "source": a, "trigger": t, "dest": b, "tests": sorted(self.transitions.get((f, a, t, b), ()))}
                for f, a, t, b in transitions
            ],
            "switches": [
                {"from": f"{a}.{b}", "to": f"{c}.{d}", "tests": sorted(tests)}
                for (a, b, c, d), tests in sorted(self.switches.items())
            ],
        }

    @classmethod
    def from_json(cls, data: dict) -> "Coverage":
        cov = cls()
        for row in data.get("states", []):
            if row["tests"]:
                cov.states[(row["flow"], row["state"])] |= set(row["tests"])
        for row in data.get("transitions", []):
            if row["tests"]:
                cov.transitions[(row["flow"], row["source"], row["trigger"], row["dest"])] |= set(row["tests"])
        for row in data.get("switches", []):
            a, _, b = row["from"].partition(".")
            c, _, d = row["to"].partition(".")
            cov.switches[(a, b, c, d)] |= set(row["tests"])
        return cov

    def report(self, *, tests_shown: int = 2, only_missing: bool = False) -> str:
        """A plain-text report: every state and transition of every flow with a mark and the first
        tests that reach it, then what is missing."""
        from flows.router import FLOWS

        states, transitions = universe()
        summary = self.summary()
        lines: list[str] = []

        def who(tests: set[str]) -> str:
            if not tests:
                return ""
            names = sorted(tests)
            shown = ", ".join(names[:tests_shown])
            more = f" (+{len(names) - tests_shown} more)" if len(names) > tests_shown else ""
            return f"  ← {shown}{more}"

        if not only_missing:
            for flow in FLOWS:
                fs = [s for s in states if s[0] == flow]
                ft = [t for t in transitions if t[0] == flow]
                rs = sum(1 for s in fs if self.states.get(s))
                rt = sum(1 for t in ft if self.transitions.get(t))
                lines.append(f"{flow}: states {rs}/{len(fs)}, transitions {rt}/{len(ft)}")
                for s in fs:
                    tests = self.states.get(s, set())
                    lines.append(f"  {'✓' if tests else '✗'} {s[1]}{who(tests)}")
                for t in ft:
                    tests = self.transitions.get(t, set())
                    lines.append(f"  {'✓' if tests else '✗'} {t[1]} --{t[2]}--> {t[3]}{who(tests)}")
                lines.append("")
        st, tr = summary["states"], summary["transitions"]
        lines.append(
            f"Coverage: states {st['reached']}/{st['total']}, transitions {tr['reached']}/{tr['total']}"
            f" ({len(self.switches)} distinct moves between flows;"
            f" {summary['exits']['reached']}/{summary['exits']['total']} declared exits taken)."
        )
        if summary["missing_states"]:
            lines.append("Missing states: " + ", ".join(summary["missing_states"]))
        if summary["missing_transitions"]:
            lines.append("Missing transitions:")
            lines.extend(f"  {t}" for t in summary["missing_transitions"])
        if not summary["missing_states"] and not summary["missing_transitions"]:
            lines.append("Every state and transition is reached.")
        if summary["missing_exits"]:
            lines.append("Declared exits never taken: " + ", ".join(summary["missing_exits"]))
        return "\n".join(lines)

    def write(self, path: Path) -> None:
        """``.json`` gets the machine-readable form; anything else the text report."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        if path.suffix == ".json":
            path.write_text(json.dumps(self.to_json(), indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        else:
            path.write_text(self.report() + "\n", encoding="utf-8")

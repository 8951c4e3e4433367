"""Showing results: the failure diff at a step, per-transcript lines, JUnit XML."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pragma: no cover
    from sabot_testing.runner import Reply, Result, StepFailure

_RED, _GREEN, _YELLOW, _DIM, _BOLD, _RESET = "\033[31m", "\033[32m", "\033[33m", "\033[2m", "\033[1m", "\033[0m"


def _c(code: str, text: str, color: bool) -> str:
    return f"{code}{text}{_RESET}" if color else text


def render_reply(reply: "Reply | None", *, prefix: str = "    ") -> list[str]:
    """The bot's whole reply as the user would see it: each message, its buttons, its flags."""
    if reply is None:
        return [f"{prefix}(nothing has happened yet)"]
    lines: list[str] = []
    if reply.error:
        lines.append(f"{prefix}operator action refused: {reply.error}")
    if not reply.messages:
        lines.append(f"{prefix}(the bot said nothing)")
    for i, message in enumerate(reply.messages, 1):
        flags = []
        if message.photo:
            flags.append("photo")
        if message.protect_content:
            flags.append("protected")
        head = f"{prefix}── message {i}" + (f" ({', '.join(flags)})" if flags else "")
        lines.append(head)
        for text_line in (message.text or "").splitlines() or [""]:
            lines.append(f"{prefix}│ {text_line}")
        for row in message.buttons:
            lines.append(f"{prefix}│   " + "  ".join(f"[ {label} ]" for label in row))
    if reply.deleted is not None:
        lines.append(f"{prefix}(the user's message was {'deleted' if reply.deleted else 'not deleted'})")
    return lines


def render_failure(failure: "StepFailure", *, color: bool = False) -> str:
    step = failure.step
    lines = [
        _c(_BOLD, f"{step.where}: step {failure.index} ({step.describe()}) failed", color),
    ]
    for file, line in reversed(step.via):
        lines.append(f"  included from {file}:{line}")
    if failure.row is not None:
        lines.append(f"  data row: {failure.row.id} {failure.row.values}")
    if step.note:
        lines.append(f"  note: {step.note}")
    lines.append("")
    for problem in failure.problems:
        first, *rest = problem.splitlines()
        lines.append(_c(_RED, f"  ✗ {first}", color))
        lines.extend(f"  {r}" for r in rest)
    lines.append("")
    lines.append("  the bot's reply:" if step.kind not in ("expect", "capture") else "  the bot's previous reply:")
    lines.extend(render_reply(failure.reply))
    if failure.state:
        lines.append(f"    (the conversation is at {failure.state[0]}/{failure.state[1]})")
    if failure.recent:
        lines.append("")
        lines.append(_c(_DIM, "  the steps before:", color))
        for previous, reply in failure.recent:
            said = ""
            if reply is not None and reply.messages:
                last = reply.messages[-1].text.splitlines()[0] if reply.messages[-1].text else ""
                said = f" → {last[:80]}"
            lines.append(_c(_DIM, f"    {previous.where} {previous.describe()}{said}", color))
    if failure.trace:
        lines.append("")
        lines.append("  log:")
        lines.extend(f"    {t}" for t in failure.trace.splitlines())
    return "\n".join(lines)


def result_line(result: "Result", *, color: bool = False) -> str:
    marks = {
        "passed": _c(_GREEN, "PASS ", color),
        "failed": _c(_RED, "FAIL ", color),
        "error": _c(_RED, "ERROR", color),
        "xfailed": _c(_YELLOW, "XFAIL", color),
        "xpassed": _c(_YELLOW, "XPASS", color),
        "skipped": _c(_YELLOW, "SKIP ", color),
    }
    name = result.transcript.name + (f" [{result.row.id}]" if result.row is not None else "")
    extra = ""
    if result.outcome == "xfailed":
        extra = f" — known: {result.transcript.xfail}"
    elif result.outcome == "skipped":
        extra = f" — {result.error}"
    return f"{marks[result.outcome]} {result.id}  {name} ({result.duration:.2f}s){extra}"


def write_junit(results: list["Result"], path: Path) -> None:
    suite = ET.Element(
        "testsuite",
        name="sabot transcripts",
        tests=str(len(results)),
        failures=str(sum(r.outcome == "failed" for r in results)),
        errors=str(sum(r.outcome == "error" for r in results)),
        skipped=str(sum(r.outcome in ("skipped", "xfailed") for r in results)),
        time=f"{sum(r.duration for r in results):.3f}",
    )
    for r in results:
        case = ET.SubElement(
            suite,
            "testcase",
            classname=str(r.transcript.path).replace("/", ".").removesuffix(".convo.yaml"),
            name=r.transcript.name + (f"[{r.row.id}]" if r.row is not None else ""),
            file=str(r.transcript.path),
            time=f"{r.duration:.3f}",
        )
        if r.failure is not None:
            case.set("line", str(r.failure.step.line))
        if r.outcome == "failed":
            el = ET.SubElement(case, "failure", message=str(r.failure).splitlines()[0] if r.failure else "failed")
            el.text = r.message()
        elif r.outcome == "error":
            el = ET.SubElement(case, "error", message=(r.error or "error").splitlines()[0])
            el.text = r.error
        elif r.outcome in ("skipped", "xfailed"):
            ET.SubElement(case, "skipped", message=str(r.transcript.xfail or r.error or "skipped"))
    tree = ET.ElementTree(ET.Element("testsuites"))
    tree.getroot().append(suite)
    ET.indent(tree)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tree.write(path, encoding="utf-8", xml_declaration=True)

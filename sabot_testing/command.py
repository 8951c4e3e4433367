"""What ``sabot script`` and ``sabot diagram`` do (the click commands in :mod:`bot.cli` are thin)."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Callable

from sabot_testing.coverage import Coverage
from sabot_testing.loader import TranscriptError, find_transcripts, load_transcript
from sabot_testing.report import result_line, write_junit
from sabot_testing.runner import Result, run_case

DEFAULT_FOLDER = Path("tests/transcripts")


def run_paths(
    paths: list[Path],
    *,
    echo: Callable[[str], None] = print,
    junit: Path | None = None,
    coverage: bool = False,
    coverage_out: Path | None = None,
    keyword: str | None = None,
    fail_fast: bool = False,
    color: bool = False,
) -> int:
    """Run transcripts; print a line per run and the diff of each failure. Returns the exit code
    (0 all passed, 1 a failure, 2 a transcript that can't be read)."""
    if not paths:
        if not DEFAULT_FOLDER.is_dir():
            echo("No transcripts given (and no tests/transcripts folder here).")
            return 2
        paths = [DEFAULT_FOLDER]
    try:
        files = find_transcripts(paths)
    except TranscriptError as exc:
        echo(str(exc))
        return 2
    cov = Coverage() if (coverage or coverage_out) else None
    started = time.perf_counter()

    async def go() -> tuple[list[Result], list[str]]:
        results: list[Result] = []
        broken: list[str] = []
        for file in files:
            try:
                transcript = load_transcript(file)
            except TranscriptError as exc:
                broken.append(str(exc))
                echo(f"ERROR {exc}")
                if fail_fast:
                    break
                continue
            if transcript.partial:
                continue
            for row in transcript.cases():
                label = f"{transcript.path} {transcript.name} {row.id if row else ''}"
                if keyword and keyword.lower() not in label.lower():
                    continue
                result = await run_case(transcript, row)
                results.append(result)
                echo(result_line(result, color=color))
                if result.outcome in ("failed", "error"):
                    echo("")
                    echo(_indent(result.message(color=color)))
                    echo("")
                    if fail_fast:
                        return results, broken
        return results, broken

    if cov is not None:
        with cov.collecting():
            results, broken = asyncio.run(go())
    else:
        results, broken = asyncio.run(go())

    counts: dict[str, int] = {}
    for r in results:
        counts[r.outcome] = counts.get(r.outcome, 0) + 1
    parts = [f"{n} {outcome}" for outcome, n in counts.items()]
    if broken:
        parts.append(f"{len(broken)} unreadable")
    echo(f"{', '.join(parts) or 'nothing ran'} in {time.perf_counter() - started:.1f}s "
         f"({len(files)} file(s))")
    if junit:
        write_junit(results, junit)
        echo(f"JUnit XML written to {junit}")
    if cov is not None:
        if coverage:
            echo("")
            echo(cov.report())
        if coverage_out:
            cov.write(coverage_out)
            echo(f"Coverage report written to {coverage_out}")
    if broken:
        return 2
    return 0 if all(r.ok for r in results) else 1


def _indent(text: str) -> str:
    return "\n".join("  " + line if line else "" for line in text.splitlines())


def draw(out: Path, readme: Path | None, *, check: bool = False, echo: Callable[[str], None] = print) -> int:
    """Write ``out/flows/*.md`` and refresh the README blocks. With ``check``, change nothing and
    return 1 when something is out of date (for CI). Either way, return 1 when a flow's drawing
    doesn't hold as many edges as its machine has transitions plus declared exits."""
    from sabot_testing import diagrams

    problems = diagrams.verify()
    for problem in problems:
        echo(f"wrong drawing: {problem}")
    if check:
        import tempfile

        stale = []
        with tempfile.TemporaryDirectory() as tmp:
            for path in diagrams.write_docs(Path(tmp)):
                mine = Path(out) / "flows" / path.name
                if not mine.exists() or mine.read_text(encoding="utf-8") != path.read_text(encoding="utf-8"):
                    stale.append(str(mine))
        if readme and readme.exists():
            text = readme.read_text(encoding="utf-8")
            if diagrams.update_markdown(text)[0] != text:
                stale.append(str(readme))
        for s in stale:
            echo(f"out of date: {s}")
        if not stale and not problems:
            echo("The diagrams are up to date.")
        return 1 if stale or problems else 0
    for path in diagrams.write_docs(Path(out)):
        echo(f"wrote {path}")
    if readme and readme.exists():
        changed, found = diagrams.update_file(readme)
        if found:
            echo(f"{'updated' if changed else 'unchanged'}: {readme} ({', '.join(found)})")
    return 1 if problems else 0

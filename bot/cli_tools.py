"""The commands for tools beside the bot: scripted conversations, diagrams and the benchmark.

They load the scripted-test kit (``sabot[testing]``) or the benchmark (a source checkout's
``tools/``) only when run, so the installed bot needs neither.
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import click


def _run(coro):
    try:
        return asyncio.run(coro)
    except KeyboardInterrupt:
        return None


def _file_option(*names: str, help: str):
    """An option naming a file to write, unset by default."""
    return click.option(*names, type=click.Path(dir_okay=False, path_type=Path), default=None, help=help)


def _count_option(name: str, default: int, minimum: int, help: str):
    """A whole-number option of at least ``minimum``, its default shown in --help."""
    return click.option(name, default=default, show_default=True, type=click.IntRange(minimum), help=help)


# -- scripted conversations and diagrams --------------------------------------------------------


def _tool(module: str):
    """Import an optional tool: the scripted-test kit (``sabot[testing]``) or the benchmark, which
    lives in the source checkout's ``tools/`` and is not part of the installed bot."""
    import importlib

    if module.startswith("sabot_bench"):
        tools = Path(__file__).resolve().parents[1] / "tools"
        if tools.is_dir() and str(tools) not in sys.path:
            sys.path.insert(0, str(tools))
    try:
        return importlib.import_module(module)
    except ModuleNotFoundError as exc:
        if module.startswith("sabot_bench") and exc.name and exc.name.startswith("sabot_bench"):
            raise click.ClickException("The benchmark runs from a source checkout of sabot (tools/sabot_bench); it is not part of the installed bot.") from None
        raise click.ClickException(f"This needs the scripted-test kit: pip install 'sabot[testing]' ({exc.name} is missing).") from None


@click.command()
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@_file_option("--junit", help="Also write JUnit XML to this file.")
@click.option("--coverage", is_flag=True, help="Report every state and transition of every flow and which transcripts reach them.")
@_file_option("--coverage-out", help="Write the coverage report to this file (.json for the machine-readable form).")
@click.option("-k", "keyword", default=None, help="Only transcripts whose file, name or row contains this text.")
@click.option("-x", "--fail-fast", is_flag=True, help="Stop at the first failure.")
@_file_option("--record", "record_to", help="Talk to the bot here and write the conversation as a transcript to this file.")
@click.option("--chat-id", default=1001, show_default=True, help="With --record: the chat to play.")
def script(paths, junit, coverage, coverage_out, keyword, fail_fast, record_to, chat_id) -> None:
    """Run scripted conversations (*.convo.yaml files or folders; default tests/transcripts)."""
    if record_to is not None:
        record = _tool("sabot_testing.recorder").record
        written = _run(record(record_to, chat_id=chat_id))
        click.echo(f"Transcript written to {written or record_to}. Run it with: sabot script {record_to}")
        return
    run_paths = _tool("sabot_testing.command").run_paths
    code = run_paths(
        list(paths), echo=click.echo, junit=junit, coverage=coverage, coverage_out=coverage_out,
        keyword=keyword, fail_fast=fail_fast, color=sys.stdout.isatty(),
    )
    sys.exit(code)


@click.command()
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), default=Path("docs"), show_default=True,
              help="Folder for flows/<flow>.md.")
@click.option("--readme", type=click.Path(dir_okay=False, path_type=Path), default=Path("README.md"), show_default=True,
              help="Markdown file whose <!-- diagram:FLOW --> blocks are regenerated.")
@click.option("--check", is_flag=True, help="Change nothing; exit 1 if a diagram is out of date.")
def diagram(out: Path, readme: Path, check: bool) -> None:
    """Draw every flow from its state machine (Mermaid) into docs/flows/ and the README."""
    draw = _tool("sabot_testing.command").draw
    sys.exit(draw(out, readme, check=check, echo=click.echo))


# -- benchmark ----------------------------------------------------------------------------------


@click.command()
@_count_option("--users", 1000, 1, help="Users completing the registration per run.")
@_count_option("--window", 256, 1, help="Updates in flight at most.")
@_count_option("--latency-window", 32, 1, help="A second window, for the p99 target.")
@click.option("--database", "database", type=click.Choice(["sqlite", "postgresql", "both"]), default="both", show_default=True)
@_count_option("--prefill", 0, 0, help="Also run with this many accounts already stored (e.g. 100000).")
@_count_option("--idle", 10_000, 0, help="Idle conversations for the memory check (0: skip it).")
@_count_option("--password-users", 50, 0, help="Users setting passwords at once at the real argon2 cost (0: only hashes/s).")
@_count_option("--hash-others", 200, 1, help="Other users whose p99 is measured while those passwords are hashed.")
@click.option("--postgres-url", default=None, help="Admin URL of the PostgreSQL server (a throwaway database is created and dropped).")
@click.option("--workdir", type=click.Path(file_okay=False, path_type=Path), default=Path(".sabot/bench"), show_default=True,
              help="Where the SQLite files go (use a real disk: fsync is what is measured).")
@_file_option("--profile", "profile", help="Also profile one run (cProfile) into this file and print its top costs.")
@click.option("--rate", default=0.0, show_default=True, type=click.FloatRange(0),
              help="Also run paced (open loop) at this many updates/s offered, with the latency window (0: don't).")
@_count_option("--per-step", 100, 0, help="Users for the table of each update's cost alone, one in flight (0: skip it).")
@_count_option("--rounds", 3, 1, help="Rounds of (baseline, sabot) runs for the ratio; the median round's is reported.")
@_count_option("--workers", 0, 0,
               help="Also run N webhook worker processes on one PostgreSQL database (and 1, 2, 4... below N): updates/s and CPU per process.")
@_count_option("--workers-window", 64, 1, help="Updates in flight at most in the workers' runs.")
@_file_option("--json", "json_out", help="Also write the figures as JSON.")
def bench(users, window, latency_window, database, prefill, idle, password_users, hash_others, postgres_url, workdir, profile,
          rate, per_step, rounds, workers, workers_window, json_out) -> None:
    """Measure throughput, latency and memory against plain python-telegram-bot (see BENCHMARKS.md)."""
    sabot_bench = _tool("sabot_bench")
    DEFAULT_POSTGRES_ADMIN_URL, BenchError = sabot_bench.DEFAULT_POSTGRES_ADMIN_URL, sabot_bench.BenchError
    BenchOptions, run_bench = sabot_bench.BenchOptions, sabot_bench.run_bench
    options = BenchOptions(
        users=users, window=window, latency_window=latency_window,
        databases=("sqlite", "postgresql") if database == "both" else (database,),
        prefill=prefill, idle=idle, password_users=password_users, hash_others=hash_others,
        postgres_admin_url=postgres_url or DEFAULT_POSTGRES_ADMIN_URL, workdir=workdir, profile=profile, rate=rate,
        per_step=per_step, rounds=rounds, workers=workers, workers_window=workers_window, json_out=json_out,
    )
    try:
        _run(run_bench(options, echo=click.echo))
    except BenchError as exc:
        raise click.ClickException(str(exc)) from None

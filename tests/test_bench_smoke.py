"""`sabot bench` at a small N, as CI runs it: it completes, every user finishes the registration
and the report has its lines. No timing is asserted (the figures belong in BENCHMARKS.md)."""

from __future__ import annotations

import json
import re

from click.testing import CliRunner

from bot.cli import main


def test_bench_runs_at_small_n_and_every_user_registers(tmp_path):
    figures_file = tmp_path / "bench.json"
    result = CliRunner().invoke(
        main,
        [
            "bench", "--users", "20", "--window", "8", "--latency-window", "4", "--database", "sqlite",
            "--idle", "40", "--password-users", "2", "--hash-others", "3", "--rate", "400", "--per-step", "2",
            "--rounds", "2", "--workdir", str(tmp_path / "work"), "--json", str(figures_file),
        ],
        catch_exceptions=False,
    )
    out = result.output
    assert result.exit_code == 0, out

    figures = json.loads(figures_file.read_text())
    runs = figures["runs"]
    # baseline and sabot on SQLite at both windows (two rounds of each at the ratio's window),
    # and paced (open loop) with the latency window
    assert sorted((r["system"], r["window"], r["offered"] or 0, r["round"] or 0) for r in runs) == [
        ("baseline", 4, 0, 0), ("baseline", 4, 400, 0), ("baseline", 8, 0, 1), ("baseline", 8, 0, 2),
        ("sabot", 4, 0, 0), ("sabot", 4, 400, 0), ("sabot", 8, 0, 1), ("sabot", 8, 0, 2),
    ]
    assert len(figures["summary"]["sqlite"]["ratio_rounds"]) == 2
    updates_per_user = figures["updates_per_user"]
    assert updates_per_user >= 20  # the whole registration, not a part of it
    for run in runs:
        # every user's last reply was the final "You're registered" (counted by the driver)
        assert run["registered"] == run["users"] == 20, run
        assert run["updates"] == 20 * updates_per_user, run
        assert not run["errors"], run["errors"]
        assert run["updates_per_s"] > 0 and run["peak_rss_mb"] > 0
        assert run["cpu_us_per_update"] > 0, run
    assert all(r["db_bytes"] > 0 for r in runs if r["system"] == "sabot")

    # the report's lines
    assert "password hashing at minimal cost in the throughput runs" in out
    for column in ("updates/s", "p50 ms", "p99 ms", "max ms", "peak RSS MB", "DB MB", "CPU µs/update"):
        assert column in out
    assert re.search(r"^ratio: \d+\.\d\d .*median of 2 rounds: \d+\.\d\d, \d+\.\d\d\)$", out, re.M), out
    assert re.search(r"^CPU per update in that round: sabot on sqlite [\d,]+ µs, plain PTB [\d,]+ µs; "
                     r"0\.80 leaves sabot [\d,]+ µs", out, re.M), out
    assert re.search(r"^sabot on sqlite, round 2 +8 ", out, re.M)
    assert re.search(r"^baseline: PTB, round 1 +8 ", out, re.M)
    assert re.search(r"^baseline: PTB ConversationHandler +4 ", out, re.M)
    assert re.search(r"^p99 with window 4 and 20 open conversations on sqlite: \d+\.\d\d ms", out, re.M)
    assert re.search(r"^p99 paced at 400 updates/s offered", out, re.M)
    assert re.search(r"^memory, idle conversations on sqlite: Python heap [+-][\d,]+ bytes per idle conversation ", out, re.M)
    assert re.search(r"^  baseline \(conversation state in memory\): Python heap [+-][\d,]+ bytes", out, re.M)
    assert re.search(r"^  \(RSS, which tracing inflates: \d+\.\d MB", out, re.M)
    assert re.search(r"^password hashing \(argon2id .*\): one hash \d+ ms; \d+\.\d hashes/s", out, re.M)
    assert re.search(r"^other chats while 2 users set passwords at once", out, re.M)
    assert re.search(r"^ 26  site image +\d+\.\d\d$", out, re.M), out
    assert set(figures["per_step_median_ms"]["sqlite"]) >= {"/start", "password", "site image"}
    assert figures["idle"]["rows"] >= 40
    assert not figures["hashing"]["errors"], figures["hashing"]["errors"]


def test_bench_workers_on_postgresql_register_everyone_exactly_once(tmp_path, postgres):
    """`sabot bench --workers 2` on PostgreSQL: two webhook worker processes, some updates sent
    twice at once as redeliveries; every user registers and no step runs twice."""
    if postgres.url is None:
        import pytest

        pytest.skip(postgres.reason)
    from sabot_testing.postgres import ADMIN_URL

    figures_file = tmp_path / "bench.json"
    result = CliRunner().invoke(
        main,
        [
            "bench", "--users", "12", "--window", "4", "--latency-window", "4", "--database", "postgresql",
            "--idle", "0", "--password-users", "0", "--per-step", "0", "--rounds", "1", "--workers", "2",
            "--workers-window", "4", "--postgres-url", ADMIN_URL, "--workdir", str(tmp_path / "work"),
            "--json", str(figures_file),
        ],
        catch_exceptions=False,
    )
    out = result.output
    assert result.exit_code == 0, out
    figures = json.loads(figures_file.read_text())
    assert [w["workers"] for w in figures["workers"]] == [1, 2]
    for run in figures["workers"]:
        assert run["registered"] == run["users"] == 12, run
        assert run["steps_twice"] == 0, run
        assert run["duplicates"] > 0, run
        assert not run["errors"], run["errors"]
        assert len(run["cpu_workers"]) == run["workers"] and all(c > 0 for c in run["cpu_workers"])
    assert re.search(r"^ratio: \d+\.\d\d  \(sabot on postgresql ÷ plain PTB", out, re.M), out
    assert re.search(r"^      2 +[\d,]+ ", out, re.M), out

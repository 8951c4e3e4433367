"""The transcript machinery itself: format errors with lines, failure diffs, rows, includes,
the `sabot script` and `sabot diagram` commands, the recorder and coverage."""

from __future__ import annotations

import asyncio
import io
import re
import textwrap
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from click.testing import CliRunner

from bot.cli import main
from sabot_testing import diagrams
from sabot_testing.coverage import Coverage, universe
from sabot_testing.loader import TranscriptError, load_transcript
from sabot_testing.recorder import Recorder
from sabot_testing.runner import parse_duration, run_case, run_transcript
from sabot_testing.runtime import BotRuntime

PARTIALS = Path(__file__).parent / "transcripts" / "partials"


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def run(path: Path):
    return asyncio.run(run_transcript(load_transcript(path)))


# -- the format ---------------------------------------------------------------------------------


def test_unknown_key_is_reported_with_line_and_suggestion(tmp_path):
    path = write(tmp_path, "t.convo.yaml", """\
        steps:
          - command: start
          - press: Begin registration
            expcet: first name
        """)
    with pytest.raises(TranscriptError) as err:
        load_transcript(path)
    assert f"{path}:3:" in str(err.value)
    assert "did you mean 'expect'" in str(err.value)


def test_two_actions_in_one_step_are_refused(tmp_path):
    path = write(tmp_path, "t.convo.yaml", "steps:\n  - say: a\n    press: b\n")
    with pytest.raises(TranscriptError, match="one action per step"):
        load_transcript(path)


def test_numbers_dates_and_words_stay_as_written(tmp_path):
    path = write(tmp_path, "t.convo.yaml", """\
        steps:
          - say: 04101
          - say: 1985-06-02
          - say: no
          - say: 0012345678
            expect: {deleted: true}
        """)
    t = load_transcript(path)
    assert [s.value for s in t.steps] == ["04101", "1985-06-02", "no", "0012345678"]
    assert t.steps[3].expect == {"deleted": True}


def test_databases_default_to_sqlite_and_unknown_ones_are_refused(tmp_path):
    assert load_transcript(write(tmp_path, "a.convo.yaml", "steps:\n  - command: start\n")).databases == ["sqlite"]
    both = write(tmp_path, "b.convo.yaml", "databases: [sqlite, postgresql]\nsteps:\n  - command: start\n")
    assert load_transcript(both).databases == ["sqlite", "postgresql"]
    bad = write(tmp_path, "c.convo.yaml", "databases: [oracle]\nsteps:\n  - command: start\n")
    with pytest.raises(TranscriptError, match="'databases:' lists some of sqlite, postgresql"):
        load_transcript(bad)


def test_a_transcript_on_both_databases_is_collected_once_per_database(pytester):
    pytester.makeconftest('pytest_plugins = ["sabot_testing.pytest_plugin"]')
    pytester.makeini("[pytest]\nasyncio_default_fixture_loop_scope = function\n")
    pytester.makefile(".convo.yaml", t="databases: [sqlite, postgresql]\nrows:\n  - {id: one}\nsteps:\n  - command: start\n")
    result = pytester.runpytest("--collect-only", "-q")
    result.stdout.fnmatch_lines(["t.convo.yaml::t[one]", "t.convo.yaml::t[one-postgresql]", "2 tests collected*"])


def test_missing_partial_is_reported(tmp_path):
    path = write(tmp_path, "t.convo.yaml", "steps:\n  - include: nowhere.convo.yaml\n")
    with pytest.raises(TranscriptError, match="can't find the partial 'nowhere.convo.yaml'"):
        load_transcript(path)


def test_durations():
    assert parse_duration("11m").total_seconds() == 660
    assert parse_duration("31d").days == 31
    assert parse_duration("1h30m").total_seconds() == 5400
    assert parse_duration("90 s").total_seconds() == 90
    with pytest.raises(ValueError):
        parse_duration("soon")


# -- running ------------------------------------------------------------------------------------


def test_failure_shows_file_line_expected_and_the_whole_reply(tmp_path):
    path = write(tmp_path, "t.convo.yaml", """\
        name: a wrong expectation
        steps:
          - command: start
          - press: Begin registration
            expect:
              contains: What is your surname
              buttons: [Skip]
        """)
    [result] = run(path)
    assert result.outcome == "failed"
    text = result.message()
    assert f"{path}:4: step 2 (press: Begin registration) failed" in text
    assert "expected the reply to contain:\n      What is your surname" in text
    assert "expected the buttons ['Skip']" in text and "but the bot offered []" in text
    assert "│ What is your first name, exactly as it appears" in text
    assert "(the conversation is at registration/first_name)" in text


def test_pressing_a_button_that_is_not_offered_fails_readably(tmp_path):
    path = write(tmp_path, "t.convo.yaml", "steps:\n  - command: start\n  - press: Start over\n")
    [result] = run(path)
    assert result.outcome == "failed"
    assert "no button 'Start over'" in result.message()
    assert "Begin registration" in result.message()


def test_exact_mismatch_shows_a_diff(tmp_path):
    path = write(tmp_path, "t.convo.yaml", """\
        steps:
          - command: start
          - press: Begin registration
            expect:
              exact: What is your first name, exactly as it appears on your last tax return?
        """)
    [result] = run(path)
    assert "-What is your first name, exactly as it appears on your last tax return?" in result.message()
    assert "+What is your first name, exactly as it appears on your last-filed tax return?" in result.message()


def test_rows_include_captures_and_variables(tmp_path):
    path = write(tmp_path, "t.convo.yaml", f"""\
        name: names
        rows:
          - {{id: symbols, first_name: "!!!", problem: "can only contain letters"}}
          - {{id: digits, first_name: "J4ck", problem: "can't contain digits"}}
        steps:
          - command: start
          - press: Begin registration
            capture: "(?P<question>What is your \\\\w+ name)"
          - say: ${{row.first_name}}
            expect:
              contains:
                - ${{row.problem}}
                - ${{question}}
          - set: {{greeting: hello}}
          - include: {PARTIALS / "noop_status.convo.yaml"}
        """)
    results = run(path)
    assert [r.id.rsplit("[", 1)[1] for r in results] == ["symbols]", "digits]"]
    assert all(r.outcome == "passed" for r in results), results[0].message()


def test_unknown_variable_is_a_failure_at_its_step(tmp_path):
    path = write(tmp_path, "t.convo.yaml", "steps:\n  - command: start\n  - say: ${nothing}\n")
    [result] = run(path)
    assert result.outcome == "failed"
    assert "unknown variable ${nothing}" in result.message()
    assert f"{path}:3" in result.message()


def test_xfail_transcripts_are_reported_as_known(tmp_path):
    path = write(tmp_path, "t.convo.yaml", "xfail: a known bug\nsteps:\n  - command: start\n    expect: nonsense\n")
    [result] = run(path)
    assert result.outcome == "xfailed" and result.ok


# -- the commands -------------------------------------------------------------------------------


def test_sabot_script_exit_codes_and_junit(tmp_path):
    good = write(tmp_path, "ok/good.convo.yaml", "steps:\n  - command: start\n    expect: Have these ready\n")
    bad = write(tmp_path, "ok/bad.convo.yaml", "steps:\n  - command: start\n    expect: Goodbye\n")
    junit = tmp_path / "out.xml"
    runner = CliRunner()
    result = runner.invoke(main, ["script", str(good)])
    assert result.exit_code == 0 and "PASS" in result.output
    result = runner.invoke(main, ["script", str(tmp_path / "ok"), "--junit", str(junit)])
    assert result.exit_code == 1
    assert "FAIL" in result.output and f"{bad}:2" in result.output and "Goodbye" in result.output
    suite = ET.parse(junit).getroot().find("testsuite")
    assert suite.get("tests") == "2" and suite.get("failures") == "1"
    broken = write(tmp_path, "broken.convo.yaml", "steps:\n  - sya: hi\n")
    assert runner.invoke(main, ["script", str(broken)]).exit_code == 2


def test_sabot_script_coverage_lists_missing(tmp_path):
    good = write(tmp_path, "good.convo.yaml", "steps:\n  - command: start\n  - press: Begin registration\n")
    out = tmp_path / "cov.json"
    result = CliRunner().invoke(main, ["script", str(good), "--coverage", "--coverage-out", str(out)])
    assert result.exit_code == 0
    assert "✓ first_name  ← " in result.output
    assert "Missing transitions:" in result.output
    assert "registration: first_name --next--> last_name" in result.output
    assert '"flow": "registration"' in out.read_text()


def test_sabot_diagram_writes_docs_and_readme_blocks(tmp_path):
    readme = tmp_path / "README.md"
    readme.write_text("intro\n<!-- diagram:registration -->\nOLD-BLOCK\n<!-- /diagram:registration -->\nend\n")
    result = CliRunner().invoke(main, ["diagram", "--out", str(tmp_path / "docs"), "--readme", str(readme)])
    assert result.exit_code == 0, result.output
    text = readme.read_text()
    assert "OLD-BLOCK" not in text and "```mermaid\nstateDiagram-v2" in text and text.endswith("end\n")
    page = (tmp_path / "docs" / "flows" / "registration.md").read_text()
    from flows.router import FLOWS

    for src, trigger, dest in FLOWS["registration"].edges():
        assert f"{diagrams.state_id(src)} --> {diagrams.state_id(dest)}: {trigger}" in page
    check = CliRunner().invoke(main, ["diagram", "--out", str(tmp_path / "docs"), "--readme", str(readme), "--check"])
    assert check.exit_code == 0


def test_the_committed_diagrams_match_the_flows(monkeypatch):
    """docs/flows/ and the README's diagram blocks are redrawn whenever a flow or a command changes."""
    monkeypatch.chdir(Path(__file__).resolve().parents[1])
    check = CliRunner().invoke(main, ["diagram", "--check"])
    assert check.exit_code == 0, check.output


def test_every_node_id_is_safe_and_every_transition_is_drawn():
    """A state named like a Mermaid keyword (``state``) gets an id that isn't one, so Mermaid
    reads back every edge: as many as the machine's transitions plus the declared exits."""
    from flows.router import FLOWS

    assert diagrams.verify() == []
    text = diagrams.mermaid(FLOWS["registration"])
    assert 'state "state<br/><i>Identity</i>" as s_state' in text
    assert "s_state --> s_zip: next" in text
    for name, flow in FLOWS.items():
        drawn = diagrams.drawn_edges(diagrams.mermaid(flow))
        assert len(drawn) == diagrams.machine_transitions(flow) + diagrams.exit_edges(flow), name


def test_an_edge_mermaid_would_drop_is_counted_missing(monkeypatch):
    assert diagrams.drawn_edges("stateDiagram-v2\n    state --> zip: next\n    s_city --> s_state: next\n") == [("s_city", "s_state")]
    from flows.router import FLOWS

    flow = FLOWS["registration"]
    drawn = diagrams.mermaid
    monkeypatch.setattr(diagrams, "mermaid", lambda f: drawn(f).replace("s_state", "state"))  # the old ids
    problems = diagrams.verify({"registration": flow})
    assert any(p.startswith("registration: ") and "edges drawn" in p for p in problems)
    assert any("Mermaid keywords: state" in p for p in problems)


def test_diagrams_draw_the_moves_between_flows():
    from flows.router import FLOWS

    home = diagrams.mermaid(FLOWS["home"])
    assert 'state "registration.first_name" as x_registration_first_name' in home
    assert "s_welcome --> x_registration_first_name: begin" in home
    overview = diagrams.overview()
    assert 'f_home -->|"begin"| f_registration' in overview
    assert '-->|"/login"| f_login' in overview
    for name, flow in FLOWS.items():
        assert flow.exit_table.declared, f"{name} declares no exits"
    assert re.search(r'^    f_admin -->\|"[^"\n]*/cancel \(close\)[^"\n]*"\| f_home$', overview, re.M)


def test_the_packages_picture_comes_from_the_imports():
    text = diagrams.packages()
    assert text.startswith("flowchart TB")
    assert "    flows --> domain" in text and "    bot --> flows" in text
    assert "domain -->" not in text and "flows --> bot" not in text


def test_readme_diagram_is_generated():
    readme = Path(__file__).parent.parent / "README.md"
    text = readme.read_text(encoding="utf-8")
    if "<!-- diagram:registration -->" not in text:
        pytest.skip("the README has no generated diagram block yet")
    assert diagrams.update_markdown(text)[0] == text, "run `sabot diagram` to refresh the README diagram"


# -- the recorder -------------------------------------------------------------------------------


def test_recording_replays_with_captured_codes_and_totp(tmp_path):
    async def session():
        runtime = await BotRuntime.create()
        out = io.StringIO()
        rec = Recorder(runtime, stdin=io.StringIO(""), stdout=out, name="recorded")
        try:
            for line in ["/start", "1", "Jordan", "Rivera", "jordan@example.com"]:
                await rec.handle(line)
            code = re.search(r"confirmation code is (\d{6})", out.getvalue()).group(1)
            for line in [code, "/status", ":wait 16m", ":photo", ":sticker", "/cancel", "1"]:
                await rec.handle(line)
        finally:
            await runtime.close()
        return rec.dump()

    text = asyncio.run(session())
    assert "say: ${code1}" in text and "from: email" in text
    assert "wait: 16m" in text and "deleted: true" in text
    path = tmp_path / "rec.convo.yaml"
    path.write_text(text)
    [result] = run(path)
    assert result.outcome == "passed", result.message()


# -- coverage -----------------------------------------------------------------------------------


def test_coverage_records_states_transitions_and_tests(tmp_path):
    path = write(tmp_path, "t.convo.yaml", "steps:\n  - command: start\n  - press: Begin registration\n  - say: Jordan\n")
    cov = Coverage()
    with cov.collecting():
        asyncio.run(run_case(load_transcript(path)))
    assert cov.states[("home", "welcome")] == {str(path)}
    assert cov.states[("registration", "last_name")] == {str(path)}
    assert cov.transitions[("registration", "first_name", "next", "last_name")] == {str(path)}
    assert ("home", "welcome", "registration", "first_name") in cov.switches
    states, transitions = universe()
    summary = cov.summary()
    assert summary["states"]["total"] == len(states) and summary["transitions"]["total"] == len(transitions)
    again = Coverage.from_json(cov.to_json())
    assert again.summary() == summary


def test_the_readme_example_transcript_passes(tmp_path):
    readme = (Path(__file__).parent.parent / "README.md").read_text(encoding="utf-8")
    if "## Scripted conversations" not in readme:
        pytest.skip("no transcript section in the README yet")
    section = readme[readme.index("## Scripted conversations"):]
    example = re.search(r"```yaml\n(.*?)```", section, re.S).group(1)
    path = tmp_path / "readme.convo.yaml"
    path.write_text(example, encoding="utf-8")
    [result] = run(path)
    assert result.outcome == "passed", result.message()

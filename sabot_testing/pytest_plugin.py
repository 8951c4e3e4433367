"""pytest collects ``*.convo.yaml`` transcripts as test items (one per data row).

Enabled from ``tests/conftest.py`` (``pytest_plugins = ["sabot_testing.pytest_plugin"]``).
Partials (files under a ``partials/`` folder, or with ``partial: true``) are not collected.

``--convo-coverage=FILE`` records the flow states and transitions reached by the whole session,
transcripts and ordinary tests alike, writes the report to FILE (``.json`` for the
machine-readable form) and prints the figures and what is missing at the end.
"""

from __future__ import annotations

import asyncio
import itertools
from pathlib import Path

import pytest

from sabot_testing import coverage as coverage_mod
from sabot_testing.loader import SUFFIX, TranscriptError, is_partial_path, load_transcript

_COVERAGE_KEY = pytest.StashKey["coverage_mod.Coverage"]()
_POSTGRES_KEY = pytest.StashKey["PostgresForTests"]()


def shared_postgres(config: pytest.Config):
    """The session's throwaway PostgreSQL database (created on first use, dropped at the end);
    ``url`` is None and ``reason`` says why when the server can't be reached."""
    from sabot_testing.postgres import PostgresForTests

    pg = config.stash.get(_POSTGRES_KEY, None)
    if pg is None:
        pg = PostgresForTests()
        pg.start()
        config.stash[_POSTGRES_KEY] = pg
    return pg


def pytest_unconfigure(config: pytest.Config) -> None:
    pg = config.stash.get(_POSTGRES_KEY, None)
    if pg is not None:
        pg.stop()


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("sabot transcripts")
    group.addoption(
        "--convo-coverage",
        action="store",
        default=None,
        metavar="FILE",
        help="record the flow states and transitions reached by the session; write the report to FILE",
    )


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "transcript: a scripted conversation (*.convo.yaml)")
    if config.getoption("--convo-coverage", default=None):
        cov = coverage_mod.Coverage()
        config.stash[_COVERAGE_KEY] = cov
        coverage_mod.install()
        coverage_mod._collectors.append(cov)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_call(item: pytest.Item):
    if _COVERAGE_KEY in item.config.stash and not isinstance(item, TranscriptItem):
        with coverage_mod.as_test(item.nodeid):
            yield
    else:
        yield


def pytest_collect_file(parent: pytest.Collector, file_path: Path):
    if file_path.name.endswith(SUFFIX) and not is_partial_path(file_path.relative_to(parent.config.rootpath) if file_path.is_relative_to(parent.config.rootpath) else file_path):
        return TranscriptFile.from_parent(parent, path=file_path)
    return None


class TranscriptFile(pytest.File):
    def collect(self):
        try:
            transcript = load_transcript(self.path)
        except TranscriptError as exc:
            raise self.CollectError(str(exc)) from None
        if transcript.partial:
            return
        for row, database in itertools.product(transcript.cases(), transcript.databases):
            # SQLite keeps the plain name; other databases add theirs: name[postgresql], name[row-postgresql]
            ids = [row.id] if row is not None else []
            if database != "sqlite":
                ids.append(database)
            name = f"{transcript.name}[{'-'.join(ids)}]" if ids else transcript.name
            item = TranscriptItem.from_parent(self, name=name, transcript=transcript, row=row, database=database)
            item.add_marker(pytest.mark.transcript)
            for tag in transcript.tags:
                if tag.isidentifier():
                    self.config.addinivalue_line("markers", f"{tag}: transcripts tagged {tag}")
                    item.add_marker(getattr(pytest.mark, tag))
            if transcript.skip:
                item.add_marker(pytest.mark.skip(reason=str(transcript.skip)))
            if transcript.xfail:
                item.add_marker(pytest.mark.xfail(reason=str(transcript.xfail), strict=False))
            yield item


class TranscriptItem(pytest.Item):
    def __init__(self, *, transcript, row, database="sqlite", **kwargs):
        super().__init__(**kwargs)
        self.transcript = transcript
        self.row = row
        self.database = database

    def runtest(self) -> None:
        from sabot_testing.runner import run_case

        url = None
        if self.database == "postgresql":
            pg = shared_postgres(self.config)
            if pg.url is None:
                pytest.skip(pg.reason)
            pg.empty()
            url = pg.url
        result = asyncio.run(run_case(self.transcript, self.row, database_url=url))
        self.user_properties.append(("steps", result.steps))
        if result.outcome in ("failed", "xfailed") and result.failure is not None:
            raise TranscriptFailed(result)
        if result.outcome == "error" or (result.outcome == "xfailed" and result.failure is None):
            raise TranscriptFailed(result)

    def repr_failure(self, excinfo, style=None):
        if isinstance(excinfo.value, TranscriptFailed):
            return excinfo.value.result.message()
        return super().repr_failure(excinfo)

    def reportinfo(self):
        line = 0
        return self.path, line, f"transcript: {self.name}"


class TranscriptFailed(Exception):
    def __init__(self, result) -> None:
        super().__init__(result.message())
        self.result = result


def pytest_terminal_summary(terminalreporter, exitstatus, config: pytest.Config) -> None:
    cov = config.stash.get(_COVERAGE_KEY, None)
    if cov is None:
        return
    target = Path(config.getoption("--convo-coverage"))
    cov.write(target)
    if target.suffix == ".json":
        cov.write(target.with_suffix(".txt"))
    summary = cov.report(only_missing=True)
    terminalreporter.section("flow coverage")
    for line in summary.splitlines():
        terminalreporter.write_line(line)
    terminalreporter.write_line(f"(full report: {target})")

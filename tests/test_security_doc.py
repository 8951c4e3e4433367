"""SECURITY.md stays honest: every row that is met (fully or partly) names at least one test, and
every test it names exists. A test is a Python test (``tests/x.py::name``) or a transcript
(``tests/transcripts/.../x.convo.yaml``)."""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
REF = re.compile(r"(tests/[\w/]+\.py)::(\w+)|(tests/transcripts/[\w/-]+\.convo\.yaml)")


def _rows():
    """The body rows of every table whose last column is "status"."""
    header = None
    for line in (ROOT / "SECURITY.md").read_text(encoding="utf-8").splitlines():
        if not line.startswith("|"):
            header = None
            continue
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if header is None:
            header = cells
        elif set("".join(cells)) <= {"-", " "}:
            continue
        elif header[-1] == "status":
            yield cells


def _functions(path: str) -> set[str]:
    tree = ast.parse((ROOT / path).read_text(encoding="utf-8"))
    return {n.name for n in ast.walk(tree) if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))}


def test_every_met_row_names_a_test_and_every_named_test_exists():
    rows = list(_rows())
    assert len(rows) > 80
    missing, unknown = [], []
    for cells in rows:
        status = cells[-1]
        refs = REF.findall(" ".join(cells))
        if status.startswith(("Met", "Partly")) and not refs:
            missing.append(cells[0])
        for path, name, transcript in refs:
            if transcript:
                if not (ROOT / transcript).is_file():
                    unknown.append(transcript)
            elif not (ROOT / path).exists() or name not in _functions(path):
                unknown.append(f"{path}::{name}")
    assert not missing, f"rows marked met without a test: {missing}"
    assert not unknown, f"tests named in SECURITY.md that don't exist: {unknown}"


def test_every_status_is_one_of_the_four():
    for cells in _rows():
        assert cells[-1].startswith(("Met", "Partly", "N/A", "**Gap")), cells

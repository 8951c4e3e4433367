"""Packaging: a licence and its metadata, notices for the third-party data shipped, and a lower
bound on every dependency (.ci/lowest runs the tests on those bounds)."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def project() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]


def test_licence_file_and_metadata():
    assert (ROOT / "LICENSE").read_text().startswith("MIT License")
    meta = project()
    assert meta["license"] == "MIT"
    assert set(meta["license-files"]) == {"LICENSE", "THIRD_PARTY_NOTICES.md"}


def test_the_shipped_password_list_has_its_notices():
    notices = (ROOT / "THIRD_PARTY_NOTICES.md").read_text()
    header = (ROOT / "domain" / "data" / "common_passwords.txt").read_text().split("\n", 5)[:4]
    assert "zxcvbn 4.5.0" in " ".join(header) and "Django 5.2" in " ".join(header)
    assert "domain/data/common_passwords.txt" in notices
    assert "Dan Wheeler and Dropbox, Inc." in notices and "Permission is hereby granted" in notices
    assert "Django Software Foundation" in notices and "Redistribution and use in source and binary forms" in notices


def test_every_dependency_has_a_lower_bound():
    meta = project()
    requirements = meta["dependencies"] + [r for extra in meta["optional-dependencies"].values() for r in extra
                                           if not r.startswith("sabot[")]
    for requirement in requirements:
        assert re.search(r">=\s*\d", requirement), requirement
    # SQLAlchemy's async_creator (the SQLite engine) appeared in 2.0.16
    assert any(r.startswith("SQLAlchemy[asyncio]>=2.0.16") for r in meta["dependencies"])
    names = {re.split(r"[\[<>=~ ]", r, maxsplit=1)[0].lower() for r in meta["dependencies"]}
    assert {"prometheus-client", "tzdata"} <= names


def test_ci_has_a_lowest_versions_job():
    script = (ROOT / ".ci" / "lowest").read_text()
    assert "--resolution=lowest-direct" in script and "pytest" in script

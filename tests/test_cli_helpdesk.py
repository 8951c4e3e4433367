"""The assistor's commands, run as the CLI: list cases, approve one, refer another."""

from __future__ import annotations

import asyncio
import re

import pytest
from click.testing import CliRunner

from bot.cli import main
from tests.conftest import make_harness
from tests.journeys import JORDAN, to_review

#: Pat has an e-Services account but can't pass the online checks (the ZIP code is wrong on purpose)
PAT = {
    **JORDAN,
    "first_name": "Pat",
    "last_name": "Morgan",
    "email": "pat@example.com",
    "ssn": "405-66-7788",
    "dob": "1968-08-21",
    "filing_status": "Qualifying surviving spouse",
    "line1": "9 Oak Avenue",
    "line2": "",
    "city": "Austin",
    "state": "TX",
    "zip": "78799",
}


async def fail_identity(h, user, person):
    await to_review(h, user, person)
    return await user.press("Everything matches – check it")


@pytest.fixture
def cli_env(settings, monkeypatch):
    """Point the CLI at the harness's database and keys."""
    monkeypatch.delenv("SABOT_CONFIG", raising=False)
    monkeypatch.setenv("SABOT_DATA_DIR", settings.data_dir)
    monkeypatch.setenv("SABOT_DATABASE__URL", settings.database_url)
    monkeypatch.setenv("SABOT_SECURITY__ARGON2_TIME_COST", "1")
    monkeypatch.setenv("SABOT_SECURITY__ARGON2_MEMORY_KIB", "8192")
    monkeypatch.setenv("SABOT_SECURITY__ARGON2_PARALLELISM", "1")


def test_exception_commands(settings, cli_env):
    async def hand_off() -> str:
        harness = await make_harness(settings)
        try:
            user = await harness.user(4301)
            await fail_identity(harness, user, PAT)
            replies = await user.press("I can't get through online")
            return re.search(r"reference: (EX-\w+)", "\n".join(m.text for m in replies)).group(1)
        finally:
            await harness.close()

    ref = asyncio.run(hand_off())  # then the CLI runs on its own, as at the assistor's desk

    runner = CliRunner()
    listed = runner.invoke(main, ["exception", "list"])
    assert listed.exit_code == 0, listed.output
    assert ref in listed.output and "handed_off" in listed.output
    assert "405-66" not in listed.output and "Morgan" not in listed.output  # no personal data

    unknown = runner.invoke(main, ["exception", "approve", "EX-NOPE00"])
    assert unknown.exit_code != 0 and "no case" in unknown.output

    referred = runner.invoke(main, ["exception", "refer-tac", ref])
    assert referred.exit_code == 0, referred.output
    approved = runner.invoke(main, ["exception", "approve", ref])
    assert approved.exit_code == 0, approved.output
    assert "pmorgan" in approved.output and "Temporary password" in approved.output
    again = runner.invoke(main, ["exception", "approve", ref])
    assert again.exit_code != 0 and "already approved" in again.output

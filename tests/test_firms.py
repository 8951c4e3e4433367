"""Firm admins onboarding new hires (issue 5): invitations, the team roster, notices, reminders,
admins, export, and a hire's right not to be followed. Every conversation runs through the real
Telegram adapter; the firm is created the way the operator's command does it."""

from __future__ import annotations

import io
import re

from click.testing import CliRunner
from sqlalchemy import select

from bot.cli import main as cli
from bot.storage.models import FirmHire, FirmInvite
from bot.terminal import TerminalChat
from tests.firm_journeys import (
    SAM,
    admin_notices,
    email_part,
    financial_part,
    identity_part,
    phone_part,
    sign_in_details_part,
    firm_with_admin,
    hire_data,
    invite,
    joined,
    read_csv,
    team_text,
)
from tests.journeys import JORDAN, register, to_financial, to_phone, to_review
from tests.test_mail_path import LEE, letter_code, sign_in

ADMIN = 5001


# -- the operator -------------------------------------------------------------------------------


def test_operator_creates_and_lists_firms(tmp_path, monkeypatch):
    monkeypatch.setenv("SABOT_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("SABOT_DATABASE__URL", f"sqlite+aiosqlite:///{tmp_path / 'cli.db'}")
    runner = CliRunner()
    result = runner.invoke(cli, ["firm", "list"])
    assert result.exit_code == 0 and "No firms yet" in result.output
    result = runner.invoke(cli, ["firm", "create", "Acme Tax", "--admin", "5001"])
    assert result.exit_code == 0, result.output
    assert "Acme Tax" in result.output and "5001" in result.output
    # a person administers one firm only
    result = runner.invoke(cli, ["firm", "create", "Other LLP", "--admin", "5001"])
    assert result.exit_code != 0 and "only one firm" in result.output
    result = runner.invoke(cli, ["firm", "create", "   ", "--admin", "5009"])
    assert result.exit_code != 0
    result = runner.invoke(cli, ["firm", "list"])
    assert "Acme Tax" in result.output and "admins: 5001" in result.output and "hires: 0" in result.output
    assert "Other LLP" not in result.output


# -- invitations and the roster ------------------------------------------------------------------


# -- stuck hires: blockers, advice, notices ----------------------------------------------------


# -- reminders -------------------------------------------------------------------------------


# -- the hire's privacy --------------------------------------------------------------------------


# -- admins, export, commands ---------------------------------------------------------------------


async def test_admins_add_another_admin_who_sees_the_same_team(harness):
    _firm, admin = await firm_with_admin(harness, "Acme Tax", ADMIN)
    await invite(admin, "Jordan Rivera")
    colleague = await harness.user(5002)
    replies = await colleague.command("team")
    assert "for a firm's admins, and you aren't one" in joined(replies)
    replies = await colleague.command("myid")
    assert "Your Telegram user id is 5002" in joined(replies)

    replies = await admin.command("admins")
    assert "Telegram user 5001 (you)" in joined(replies)
    await admin.press("➕ Add an admin")
    replies = await admin.send("not a number")
    assert "number only" in joined(replies)
    replies = await admin.send("5002")
    assert "5002 is now an admin of Acme Tax" in joined(replies)
    assert any("You're now an admin of Acme Tax" in m.text for m in colleague.history)
    assert "Remove 5002" in admin.last_buttons
    replies = await admin.press("➕ Add an admin")
    replies = await admin.send("5002")
    assert "already an admin of this firm" in joined(replies)

    assert "Jordan Rivera: invited" in await team_text(colleague)
    # the colleague invites; they hear about their own hire
    token = await invite(colleague, "Priya Natarajan")
    assert "Priya Natarajan" in await team_text(admin)

    # removing an admin (not the last one)
    await admin.command("admins")
    await admin.press("Remove 5002")
    assert "Remove 5002 as an admin" in admin.last_text
    replies = await admin.press("Yes")
    assert "5002 is no longer an admin" in joined(replies)
    replies = await colleague.command("team")
    assert "you aren't one" in joined(replies)
    # news of the colleague's hire now goes to the remaining admin
    assert token
    harness.clock.advance(days=15)
    notices = await harness.engine.tick()
    assert admin_notices(notices, 5002) == []
    assert any("invitation for Priya Natarajan expired" in n for n in admin_notices(notices, ADMIN))


async def test_export_sends_the_roster_as_csv(harness):
    _firm, admin = await firm_with_admin(harness, "Acme Tax", ADMIN)
    token = await invite(admin, "Sam Okafor", "sam.hr@example.com")
    await invite(admin, "Priya Natarajan")
    sam = await harness.user(6003)
    await sam.command("start", token)
    await to_phone(harness, sam, SAM)

    await admin.command("team")
    replies = await admin.press("📄 Export (CSV)")
    documents = [m for m in replies if m.document]
    assert len(documents) == 1 and documents[0].document == "team-2026-03-02.csv"
    assert "Acme Tax: 2 people" in documents[0].text
    rows = read_csv(harness, documents[0])
    assert [r["name"] for r in rows] == ["Sam Okafor", "Priya Natarajan"]
    sam_row, priya_row = rows
    assert sam_row["email"] == "sam.hr@example.com"
    assert sam_row["stage"] == "identity confirmed" and sam_row["stuck_on"] == "credit freeze at Experian"
    assert sam_row["invitation"] == "opened" and sam_row["last_active"].startswith("Mar 2")
    assert priya_row["stage"] == "invited" and priya_row["invitation"] == "pending"
    assert priya_row["invitation_expires"] == "Mar 16, 2026"
    raw = harness.api.files[documents[0].document_id].decode("utf-8-sig")
    for secret in ("403-44-5566", "1990", "55501234", "555-0111"):
        assert secret not in raw
    # /export works from anywhere, and the roster prompt is still there afterwards
    replies = await admin.command("export")
    assert any(m.document for m in replies)


async def test_admin_menu_commands_while_busy_and_closing(harness):
    _firm, admin = await firm_with_admin(harness, "Acme Tax", ADMIN)
    await admin.command("start")
    await admin.press("Begin registration")
    replies = await admin.command("team")
    assert "finish what we started first" in joined(replies)
    assert "first name" in admin.last_text
    await admin.command("cancel")
    await admin.press("Yes, cancel the registration")
    await admin.command("team")
    replies = await admin.command("status")
    assert "admin menu" in joined(replies)
    replies = await admin.press("Close")
    assert "Begin registration" in admin.last_buttons
    await admin.command("invite")
    replies = await admin.command("cancel")
    assert "Closed the admin menu" in joined(replies)
    # /invite NAME skips the name question
    await admin.command("invite", "Jordan Rivera")
    assert "email Jordan Rivera the link" in admin.last_text


async def test_terminal_admin_exports_to_a_file(harness):
    from bot.firms import create_firm

    await create_firm(harness.services, "Acme Tax", 77)
    out = io.StringIO()
    chat = TerminalChat(harness.services, harness.engine, chat_id=77, stdin=io.StringIO(), stdout=out)
    await chat.say("/invite Jordan Rivera")
    await chat.say("Skip – no email")
    token = re.search(r"/start ([A-Za-z0-9_-]+)", out.getvalue()).group(1)
    await chat.say("/export")
    saved = re.search(r"\[file saved to (\S+)\]", out.getvalue()).group(1)
    with open(saved, encoding="utf-8-sig") as fh:
        assert "Jordan Rivera" in fh.read()
    hire = TerminalChat(harness.services, harness.engine, chat_id=78, stdin=io.StringIO(), stdout=io.StringIO())
    await hire.say(f"/start {token}")
    assert "Acme Tax invited you" in hire.stdout.getvalue()


async def test_a_hire_who_erases_their_data_is_unlinked_from_the_firm(harness):
    _firm, admin = await firm_with_admin(harness, "Acme Tax", ADMIN)
    token = await invite(admin, "Sam Okafor")
    sam = await harness.user(6003)
    await sam.command("start", token)
    await to_phone(harness, sam, SAM)
    async with harness.services.sessions() as session, session.begin():
        assert await harness.services.firms(session).forget_chat(6003) == 1
    text = await team_text(admin)
    assert "Sam Okafor: invited" in text and "Stuck" not in text and "last active" not in text
    async with harness.services.sessions() as session:
        assert await harness.services.firms(session).hires_for_chat(6003) == []

"""Firm admins onboarding new hires (issue 5), the parts no transcript can drive: the operator's
`sabot firm` commands and the terminal chat's file export. The conversations (invitations, the
roster, notices, reminders, admins, export, privacy) are transcripts in tests/transcripts/admin/."""

from __future__ import annotations

import io
import re

from click.testing import CliRunner

from bot.cli import main as cli
from bot.terminal import TerminalChat

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


# -- the terminal chat ----------------------------------------------------------------------------


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


# -- what the firm feature costs ------------------------------------------------------------------


async def test_one_team_tap_looks_the_admin_up_once(harness, monkeypatch):
    """Each admin screen has one loader for its text and its buttons, and the admin's firm is
    looked up once per turn."""
    from bot.firms import FirmStore, create_firm

    await create_firm(harness.services, "Acme Tax", 77)
    out = io.StringIO()
    chat = TerminalChat(harness.services, harness.engine, chat_id=77, stdin=io.StringIO(), stdout=out)
    await chat.say("/invite Jordan Rivera")
    await chat.say("Skip – no email")
    calls: list[int] = []
    real = FirmStore.admin

    async def counted(self, user_id):
        calls.append(user_id)
        return await real(self, user_id)

    monkeypatch.setattr(FirmStore, "admin", counted)
    for tap in ("/team", "export", "invites", "back"):
        calls.clear()
        await chat.say(tap)
        assert calls == [77], f"{tap}: FirmStore.admin called {len(calls)} times"
    assert "Jordan Rivera" in out.getvalue() and "team-" in out.getvalue()


async def test_a_registration_without_an_invitation_asks_nothing_of_firms(harness, monkeypatch):
    """Only a chat that opened a firm's invitation pays for the firm feature."""
    from sqlalchemy import event

    from bot.firms import FirmStore
    from tests.journeys import register

    firm_queries: list[str] = []
    real_init = FirmStore.__init__

    def made(self, *args, **kwargs):
        firm_queries.append("FirmStore")  # some of its queries go straight to the driver
        real_init(self, *args, **kwargs)

    monkeypatch.setattr(FirmStore, "__init__", made)

    def seen(_conn, _cursor, statement, *_args):
        if "firm" in statement.lower():
            firm_queries.append(statement)

    engine = harness.services.engine.sync_engine
    event.listen(engine, "before_cursor_execute", seen)
    try:
        user = await harness.user(5120)
        await register(harness, user)
        await user.command("privacy")
        await user.command("stop_sharing")
    finally:
        event.remove(engine, "before_cursor_execute", seen)
    assert firm_queries == []


# -- the hire rules (domain.hires) --------------------------------------------------------------


def test_hire_rules_follow_a_registration():
    from datetime import datetime, timedelta, timezone

    from domain import hires as rules

    now = datetime(2026, 3, 2, 15, 0, tzinfo=timezone.utc)
    p = rules.opened(rules.Progress(), None, now)
    assert p.stage == "started" and not p.done
    p, notice = rules.after_event(p, "identity_mismatch", now=now, alert_after=2)
    assert (p.blocker, p.blocker_count, notice) == ("identity_mismatch", 1, None)
    p, notice = rules.after_event(p, "identity_mismatch", now=now, alert_after=2)
    assert notice == rules.STUCK and p.blocker_notified_at == now
    p, notice = rules.after_event(p, "identity_confirmed", now=now)
    assert (p.stage, p.blocker, notice) == ("identity_confirmed", None, None)
    p, notice = rules.after_event(p, "done", now=now)
    assert p.done and p.done_at == now and notice == rules.FINISHED
    # nothing moves a finished hire, and an active account finishes one who opens their link
    assert rules.after_event(p, "cancelled", now=now) == (p, None)
    assert rules.opened(rules.Progress(), "active", now).done
    assert rules.opened(rules.Progress(), "pending_letter", now).stage == "waiting_letter"
    # a hire who doesn't share is followed to "done" only
    quiet = rules.sharing(rules.Progress(stage="started", blocker="locked"), False)
    assert quiet.blocker is None and rules.after_event(quiet, "credit_freeze", now=now) == (quiet, None)
    assert rules.letter_warning_due(now + timedelta(days=2), None, now, 3)
    assert not rules.letter_warning_due(now + timedelta(days=2), now + timedelta(days=2), now, 3)


async def test_a_hire_whose_conversation_predates_the_hire_mark_is_still_followed(harness):
    """A conversation stored before chats were marked as hires (no mark at all) is looked up once,
    marked, and followed as before."""
    from sqlalchemy import select

    from bot.firms import create_firm
    from bot.storage.models import Conversation, FirmHire

    await create_firm(harness.services, "Acme Tax", 77)
    admin = TerminalChat(harness.services, harness.engine, chat_id=77, stdin=io.StringIO(), stdout=io.StringIO())
    await admin.say("/invite Jordan Rivera")
    await admin.say("Skip – no email")
    token = re.search(r"/start ([A-Za-z0-9_-]+)", admin.stdout.getvalue()).group(1)
    hire = TerminalChat(harness.services, harness.engine, chat_id=78, stdin=io.StringIO(), stdout=io.StringIO())
    await hire.say(f"/start {token}")

    vault = harness.services.vault
    async with harness.services.sessions() as session, session.begin():
        row = await session.get(Conversation, 78)
        data = vault.decrypt(row.data_enc, context="conversation")
        assert data.pop("_hire") is True
        row.data_enc = vault.encrypt(data, context="conversation")

    await hire.say("Begin registration")
    for answer in ("Jordan", "Rivera", "jordan.rivera@example.com"):
        await hire.say(answer)
    await hire.say(await harness.last_code("email", "jordan.rivera@example.com"))
    async with harness.services.sessions() as session:
        stage = (await session.execute(select(FirmHire.stage).where(FirmHire.chat_id == 78))).scalar_one()
        row = await session.get(Conversation, 78)
    assert stage == "email_confirmed"
    assert vault.decrypt(row.data_enc, context="conversation")["_hire"] is True

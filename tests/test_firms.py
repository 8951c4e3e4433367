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


async def test_credit_freeze_is_reported_with_advice_and_the_hire_can_ask_for_help(harness):
    _firm, admin = await firm_with_admin(harness, "Acme Tax", ADMIN)
    token = await invite(admin, "Sam Okafor")
    sam = await harness.user(6003)
    await sam.command("start", token)
    await to_phone(harness, sam, SAM)
    assert "security freeze" in sam.last_text

    notices = admin_notices(await harness.engine.tick(), ADMIN)
    assert len(notices) == 1 and "Sam Okafor is stuck: credit freeze at Experian" in notices[0]
    assert "lift the freeze" in notices[0]
    text = await team_text(admin)
    assert "Sam Okafor: identity confirmed" in text and "⚠️ Stuck: credit freeze at Experian" in text
    assert "Sam Okafor · ⚠️ stuck" in admin.last_buttons

    # a new hire has no e-Services account: no phone help, but told what's left, and the admin told
    replies = await sam.press("I can't get through online")
    text = joined(replies)
    assert "only for people who already have an e-Services account" in text
    assert "lift it for a while" in text
    assert "I've let your admin at Acme Tax know" in text
    notices = admin_notices(await harness.engine.tick(), ADMIN)
    assert len(notices) == 1 and "Sam Okafor can't get through online" in notices[0]
    assert "credit freeze at Experian" in notices[0]

    # the admin nudges: the hire is told their next step
    await admin.command("remind")
    replies = await admin.press(next(label for label in admin.last_buttons if label.startswith("Sam")))
    assert "Sent Sam Okafor this reminder" in joined(replies)
    nudge = [m.text for m in sam.history if m.text.startswith("A reminder from Acme Tax")]
    assert len(nudge) == 1 and "lift the freeze on your Experian credit file" in nudge[0]


async def test_identity_mismatches_alert_after_a_few_tries_then_the_lockout(harness):
    _firm, admin = await firm_with_admin(harness, "Acme Tax", ADMIN)
    token = await invite(admin, "Jordan Rivera")
    hire = await harness.user(6001)
    await hire.command("start", token)
    wrong = {**JORDAN, "zip": "62799"}
    await to_financial(harness, hire, wrong)  # first check: mismatch
    await hire.press("Everything matches – check it")
    assert admin_notices(await harness.engine.tick(), ADMIN) == []  # two slips: not stuck yet
    text = await team_text(admin)
    assert "Stuck: identity details don't match the tax records" in text and "ZIP" in text
    await hire.press("Everything matches – check it")
    notices = admin_notices(await harness.engine.tick(), ADMIN)
    assert len(notices) == 1 and "Jordan Rivera is stuck: identity details don't match" in notices[0]

    for _ in range(3):
        replies = await hire.press("Everything matches – check it")
    assert "paused until" in joined(replies)
    notices = admin_notices(await harness.engine.tick(), ADMIN)
    assert len(notices) == 1 and "Jordan Rivera is stuck: locked until Mar 2, 4:00 PM EST" in notices[0]
    assert "locked until" in await team_text(admin)
    harness.clock.advance(hours=7)
    assert "was locked until Mar 2, 4:00 PM EST (too many attempts); they can try again now" in await team_text(admin)
    # never what the hire typed
    assert "62799" not in "\n".join(m.text for m in admin.history)


async def test_mail_path_phone_not_in_name_letter_expiry_and_finish(harness):
    _firm, admin = await firm_with_admin(harness, "Acme Tax", ADMIN)
    token = await invite(admin, "Lee Chen")
    lee = await harness.user(6004)
    await lee.command("start", token)
    await to_phone(harness, lee, LEE)
    replies = await lee.send(LEE["phone"])
    assert "isn't listed in your name" in joined(replies)
    assert "⚠️ Stuck: phone not in their name" in await team_text(admin)
    assert admin_notices(await harness.engine.tick(), ADMIN) == []  # they may well sort it out
    harness.clock.advance(hours=25)
    notices = admin_notices(await harness.engine.tick(), ADMIN)
    assert len(notices) == 1 and "Lee Chen is stuck: phone not in their name" in notices[0]
    assert "by mail" in notices[0]

    await lee.press("Send me the code by mail")
    await lee.send(LEE["username"])
    await lee.send(LEE["password"])
    await lee.send(LEE["phrase"])
    await lee.press(LEE["image"])
    await lee.press("What was the name of your first pet?")
    await lee.send("Biscuit")
    await lee.press("Where was your first job?")
    await lee.send("the corner bakery")
    text = await team_text(admin)
    assert "Lee Chen: waiting for the letter (its code works until Apr 2, 2026)" in text
    assert "Stuck" not in text

    harness.clock.advance(days=24)
    notices = admin_notices(await harness.engine.tick(), ADMIN)
    assert len(notices) == 1 and "Lee Chen's letter stops working on Apr 2, 2026" in notices[0]
    assert admin_notices(await harness.engine.tick(), ADMIN) == []

    await sign_in(lee)
    await lee.send(await letter_code(harness))
    await lee.press("Text messages to a phone")
    await lee.send("(415) 555-0199")
    await lee.send(await harness.last_code("sms", "+14155550199"))
    assert "registration is complete" in joined(lee.last_replies)
    notices = admin_notices(await harness.engine.tick(), ADMIN)
    assert notices == ["🎉 Lee Chen has finished registering for Secure Access. /team shows everyone."]
    assert "Lee Chen: done ✅" in await team_text(admin)


async def test_cancelling_the_registration_sends_the_stage_back(harness):
    _firm, admin = await firm_with_admin(harness, "Acme Tax", ADMIN)
    token = await invite(admin, "Jordan Rivera")
    hire = await harness.user(6001)
    await hire.command("start", token)
    await to_financial(harness, hire)
    assert "identity confirmed" in await team_text(admin)
    await hire.command("cancel")
    await hire.press("Yes, cancel the registration")
    assert "Jordan Rivera: started" in await team_text(admin)


# -- reminders -------------------------------------------------------------------------------


async def test_remind_nudges_with_the_next_step_at_most_every_few_hours(harness):
    _firm, admin = await firm_with_admin(harness, "Acme Tax", ADMIN)
    unopened = await invite(admin, "Priya Natarajan")
    assert unopened
    token = await invite(admin, "Jordan Rivera")
    hire = await harness.user(6001)
    await hire.command("start", token)
    await to_review(harness, hire)

    replies = await admin.command("remind")
    labels = admin.last_buttons
    assert any(label.startswith("Jordan") for label in labels)
    assert not any(label.startswith("Priya") for label in labels)  # can't message who hasn't opened
    await admin.press(next(label for label in labels if label.startswith("Jordan")))
    nudges = [m.text for m in hire.history if m.text.startswith("A reminder from Acme Tax")]
    assert len(nudges) == 1
    assert "Your next step: enter your SSN, date of birth, filing status and the address" in nudges[0]
    assert "Jordan Rivera: email confirmed" in await team_text(admin)  # the roster is back

    # by name, and not again so soon
    await admin.command("remind", "jordan")
    replies = await admin.press(next(label for label in admin.last_buttons if label.startswith("Jordan")))
    assert "next reminder can go after Mar 2, 10:00 PM EST" in joined(replies)
    harness.clock.advance(hours=13)
    await admin.command("remind", "jordan")
    await admin.press(next(label for label in admin.last_buttons if label.startswith("Jordan")))
    assert len([m for m in hire.history if m.text.startswith("A reminder from Acme Tax")]) == 2

    # the unopened one's card explains, and offers a new link instead
    await admin.press_data(await hire_data(admin, "Priya Natarajan"))
    assert "🔔 Send a reminder" not in admin.last_buttons
    assert "Re-send invite (new link)" in admin.last_buttons
    replies = await admin.command("remind", "nobody-like-this")
    assert "Nobody on your team matching" in joined(replies)


# -- the hire's privacy --------------------------------------------------------------------------


async def test_a_hire_can_stop_sharing_and_the_firm_then_sees_only_invited_or_done(harness):
    _firm, admin = await firm_with_admin(harness, "Acme Tax", ADMIN)
    token = await invite(admin, "Sam Okafor")
    sam = await harness.user(6003)
    await sam.command("start", token)
    replies = await sam.command("privacy")
    text = joined(replies)
    assert "invitation from Acme Tax" in text and "never see your SSN" in text and "/stop_sharing" in text

    await to_financial(harness, sam, SAM)
    assert "identity confirmed" in await team_text(admin)
    replies = await sam.command("stop_sharing")
    assert "only whether you're invited or done" in joined(replies)
    assert "financial account" in sam.last_text or "Which kind of account" in sam.last_text  # carries on

    await sam.press(SAM["account_kind"])
    await sam.send(SAM["last8"])  # the credit freeze
    assert admin_notices(await harness.engine.tick(), ADMIN) == []
    harness.clock.advance(hours=30)
    assert admin_notices(await harness.engine.tick(), ADMIN) == []
    text = await team_text(admin)
    assert "Sam Okafor: invited (they've chosen not to share their progress)" in text
    for hidden in ("identity", "Stuck", "freeze", "last active"):
        assert hidden not in text
    replies = await admin.command("export")
    rows = read_csv(harness, next(m for m in replies if m.document))
    assert rows[0]["stage"] == "invited" and rows[0]["stuck_on"] == "" and rows[0]["last_active"] == ""
    assert rows[0]["shares_progress"] == "no"

    # asking for help tells the admin nothing either
    await sam.press("I can't get through online")
    assert "I've let your admin" not in joined(sam.last_replies)
    assert admin_notices(await harness.engine.tick(), ADMIN) == []

    replies = await sam.command("privacy")
    assert "chosen not to share" in joined(replies)
    await sam.command("share_progress")
    assert "Sam Okafor: identity confirmed" in await team_text(admin)

    # someone who wasn't invited has nothing to stop
    stranger = await harness.user(6099)
    replies = await stranger.command("stop_sharing")
    assert "didn't come here through a firm's invitation" in joined(replies)


async def test_done_is_seen_even_when_not_sharing(harness):
    _firm, admin = await firm_with_admin(harness, "Acme Tax", ADMIN)
    token = await invite(admin, "Jordan Rivera")
    hire = await harness.user(6001)
    await hire.command("start", token)
    await hire.command("stop_sharing")
    await register(harness, hire)
    assert admin_notices(await harness.engine.tick(), ADMIN) == [
        "🎉 Jordan Rivera has finished registering for Secure Access. /team shows everyone."
    ]
    assert "Jordan Rivera: done ✅" in await team_text(admin)


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

"""Exception processing: hand-off to the help desk, the assistor's commands, new hires refused."""

from __future__ import annotations

import re
from datetime import datetime, timezone

from bot.helpdesk import approve, refer_to_tac
from tests.journeys import JORDAN, to_review

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
    "zip": "78799",  # wrong on purpose: the check fails
}


async def fail_identity(h, user, person):
    await to_review(h, user, person)
    return await user.press("Everything matches – check it")


async def test_e_services_user_handed_to_help_desk_then_approved(harness):
    # a Tuesday at 10:00 Eastern: the desk is open
    harness.clock.set(datetime(2026, 3, 3, 15, 0, tzinfo=timezone.utc))
    user = await harness.user(4001)
    await fail_identity(harness, user, PAT)
    assert "I can't get through online" in user.last_buttons
    replies = await user.press("I can't get through online")
    text = "\n".join(m.text for m in replies)
    assert "1-888-841-4648" in text and "prompt 1" in text
    assert "open now" in text
    assert "prior year" in text
    ref = re.search(r"reference: (EX-\w+)", text).group(1)
    assert await harness.engine.where(4001) == ("exception", "handoff")

    replies = await user.command("status")
    assert ref in replies[0].text

    approval = await approve(harness.services, ref)
    assert approval.username == "pmorgan"
    notices = await harness.engine.tick()
    assert any(n.chat_id == 4001 and "temporary password" in n.text for n in notices)
    letters = [m for m in await harness.outbox() if m.channel == "mail"]
    assert letters and "Austin" in letters[-1].to

    replies = await user.press("I've called – check my case")
    assert "set up your Secure Access account" in replies[-1].text
    await user.press("Sign in")
    await user.send("pmorgan")
    await user.send(approval.temporary_password)
    assert "new password" in user.last_text
    await user.send("granite meadow falcon")
    code = re.search(r"activation code: (\d{6})", letters[-1].body).group(1)
    await user.send(code)
    await user.press("Text messages to a phone")
    await user.send("(512) 555-0100")
    await user.send(await harness.last_code("sms", "+15125550100"))
    assert await harness.engine.where(4001) == ("home", "signed_in")


async def test_help_desk_closed_says_when_it_opens(harness):
    # Thanksgiving 2026 (a Thursday), 11:00 Eastern: closed for the holiday, opens Friday 7:30
    harness.clock.set(datetime(2026, 11, 26, 16, 0, tzinfo=timezone.utc))
    user = await harness.user(4002)
    await fail_identity(harness, user, PAT)
    replies = await user.press("I can't get through online")
    text = "\n".join(m.text for m in replies)
    assert "closed now" in text and "Fri, Nov 27 at 7:30 AM EST" in text


async def test_refer_to_tac_is_remembered(harness):
    user = await harness.user(4003)
    await fail_identity(harness, user, PAT)
    replies = await user.press("I can't get through online")
    ref = re.search(r"reference: (EX-\w+)", "\n".join(m.text for m in replies)).group(1)
    await refer_to_tac(harness.services, ref)
    notices = await harness.engine.tick()
    assert any("Taxpayer Assistance Center" in n.text for n in notices)
    replies = await user.command("start")
    text = "\n".join(m.text for m in replies)
    assert "two forms of government-issued identification" in text


async def test_new_hire_is_told_exception_processing_is_closed(harness):
    jordan = {**JORDAN, "zip": "62799"}
    user = await harness.user(4004)
    await fail_identity(harness, user, jordan)
    replies = await user.press("I can't get through online")
    text = "\n".join(m.text for m in replies)
    assert "only for people who already have an e-Services account" in text
    assert "credit freeze" in text and "by mail" in text
    assert await harness.engine.where(4004) == ("exception", "not_eligible")
    replies = await user.press("Try online again")
    assert await harness.engine.where(4004) == ("registration", "review")
    assert "Springfield" in user.last_text  # answers kept

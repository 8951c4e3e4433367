"""Telegram errors during a real step: flood control, server errors, timeouts, undeletable messages."""

from __future__ import annotations

from tests.journeys import JORDAN, to_email_code


async def test_flood_control_and_server_errors_are_retried(harness):
    user = await harness.user(8301)
    await user.command("start")
    harness.api.fail_next("sendMessage", 429, retry_after=1)
    harness.api.fail_next("sendMessage", 502)
    harness.api.fail_next("sendMessage", "timeout")
    replies = await user.press("Begin registration")
    assert "first name" in replies[-1].text
    assert await harness.engine.where(8301) == ("registration", "first_name")


async def test_a_message_that_cannot_be_deleted_does_not_break_the_step(harness):
    user = await harness.user(8302)
    await to_email_code(harness, user)
    code = await harness.last_code("email", JORDAN["email"])
    harness.api.fail_next("deleteMessage", 400, description="Bad Request: message can't be deleted for everyone")
    replies = await user.send(code)
    assert "confirmed" in "\n".join(m.text for m in replies)
    assert await harness.engine.where(8302) == ("registration", "ssn")


async def test_user_who_blocked_the_bot_does_not_lose_progress(harness):
    user = await harness.user(8303)
    await user.command("start")
    harness.api.fail_next("sendMessage", 403, description="Forbidden: bot was blocked by the user")
    await user.press("Begin registration")
    # the answer was committed even though the reply could not be delivered
    assert await harness.engine.where(8303) == ("registration", "first_name")
    replies = await user.command("status")
    assert "Name and email" in replies[0].text

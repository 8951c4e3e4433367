"""Restart and resume: a new bot process on the same database finds every chat where it was."""

from __future__ import annotations

import contextlib

from bot.clock import ManualClock
from tests.conftest import make_harness
from tests.test_conv_support import (
    JORDAN_FULL,
    JORDAN_PHONE,
    asks,
    joined,
    register_fully,
    sign_in,
    walk_to,
    where,
)


@contextlib.asynccontextmanager
async def bot(settings, clock):
    h = await make_harness(settings, clock)
    try:
        yield h
    finally:
        await h.close()


async def test_resume_mid_identity_after_restart(settings):
    clock = ManualClock()
    async with bot(settings, clock) as first:
        user = await first.user(1801)
        await walk_to(first, user, "dob")

    async with bot(settings, clock) as second:
        user = await second.user(1801)
        assert await where(second, user) == ("registration", "dob")

        replies = await user.command("start")
        assert "You're already in the middle of registration" in replies[0].text
        assert asks(replies, "dob")
        status = (await user.command("status"))[0].text
        assert "✅ Name and email" in status and "➡️ Identity" in status

        replies = await user.send(JORDAN_FULL["dob"])
        assert asks(replies, "filing_status")
        # everything typed before the restart is still there
        await walk_to(second, user, "review")
        assert "Name: Jordan Rivera" in user.last_text
        assert "Springfield, IL 62704" in user.last_text
        replies = await user.press("Everything matches – check it")
        assert "match the records" in joined(replies)


async def test_resume_at_a_button_question_after_restart(settings):
    clock = ManualClock()
    async with bot(settings, clock) as first:
        user = await first.user(1802)
        await walk_to(first, user, "card_network")

    async with bot(settings, clock) as second:
        user = await second.user(1802)
        replies = await user.command("start")
        assert asks(replies, "card_network")
        assert "Visa" in user.last_buttons  # the buttons come back with the question
        replies = await user.press("Visa")
        assert asks(replies, "card_kind")


async def test_email_code_expired_after_ten_days_is_re_offered(settings):
    clock = ManualClock()
    async with bot(settings, clock) as first:
        user = await first.user(1803)
        await walk_to(first, user, "email_code")
        old = await first.last_code("email", JORDAN_FULL["email"])

    clock.advance(days=10)
    async with bot(settings, clock) as second:
        user = await second.user(1803)
        assert await where(second, user) == ("registration", "email_code")

        replies = await user.command("start")
        text = joined(replies)
        assert "The last confirmation code I sent is no longer valid" in text
        assert asks(replies, "email_code")
        assert "Send a new code" in user.last_buttons

        replies = await user.send(old)
        assert "has expired" in joined(replies)
        assert await where(second, user) == ("registration", "email_code")

        replies = await user.press("Send a new code")
        assert "I've emailed a confirmation code" in joined(replies)
        assert "no longer valid" not in replies[-1].text
        replies = await user.send(await second.last_code("email", JORDAN_FULL["email"]))
        assert "confirmed" in joined(replies)
        assert await where(second, user) == ("registration", "ssn")


async def test_activation_code_expired_after_ten_days_is_re_offered(settings):
    clock = ManualClock()
    async with bot(settings, clock) as first:
        user = await first.user(1804)
        await walk_to(first, user, "phone_code")

    clock.advance(days=10)
    async with bot(settings, clock) as second:
        user = await second.user(1804)
        replies = await user.command("start")
        assert "The last activation code I sent is no longer valid" in joined(replies)
        assert asks(replies, "phone_code")
        await user.press("Send a new code")
        replies = await user.send(await second.last_code("sms", JORDAN_PHONE))
        assert "Your phone is confirmed." in joined(replies)
        assert await where(second, user) == ("registration", "username")


async def test_identity_attempts_survive_a_restart(settings):
    clock = ManualClock()
    async with bot(settings, clock) as first:
        user = await first.user(1805)
        await walk_to(first, user, "review", {**JORDAN_FULL, "zip": "62705"})
        for _ in range(5):
            await user.press("Everything matches – check it")

    async with bot(settings, clock) as second:
        user = await second.user(1805)
        await user.command("start")
        replies = await user.press("Everything matches – check it")
        assert "too many identity checks" in joined(replies)


async def test_registered_user_stays_registered_and_can_sign_in_after_restart(settings):
    clock = ManualClock()
    async with bot(settings, clock) as first:
        user = await first.user(1806)
        await register_fully(first, user)

    async with bot(settings, clock) as second:
        user = await second.user(1806)
        assert await where(second, user) == ("home", "registered")
        replies = await sign_in(second, user, "jrivera85", JORDAN_FULL["password"], JORDAN_PHONE)
        assert "signed in as jrivera85" in joined(replies)


async def test_signed_in_session_survives_a_restart_but_not_the_idle_limit(settings):
    clock = ManualClock()
    async with bot(settings, clock) as first:
        user = await first.user(1807)
        await register_fully(first, user)
        await sign_in(first, user, "jrivera85", JORDAN_FULL["password"], JORDAN_PHONE)
        assert await where(first, user) == ("home", "signed_in")

    clock.advance(minutes=5)
    async with bot(settings, clock) as second:
        user = await second.user(1807)
        replies = await user.command("status")
        assert "You're signed in as jrivera85" in replies[0].text

    clock.advance(minutes=31)
    async with bot(settings, clock) as third:
        user = await third.user(1807)
        replies = await user.command("status")
        assert "You were inactive for over 30 minutes, so I've signed you out." in joined(replies)
        assert await where(third, user) == ("home", "registered")

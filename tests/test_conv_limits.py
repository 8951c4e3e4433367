"""Attempt windows, lockouts and code lifetimes: time-based rules stored in the database, so
these run on every database the product supports (conftest's ``backend``)."""

from __future__ import annotations

import pytest

from tests.test_conv_support import (
    JORDAN_FULL,
    JORDAN_PHONE,
    asks,
    joined,
    register_fully,
    walk_to,
    where,
)

CHECK = "Everything matches – check it"
PASSWORD = JORDAN_FULL["password"]
WRONG = "not my password at all"
GENERIC = "That username and password don't go together. Check both and try again."


@pytest.fixture
async def jordan(harness):
    """Jordan, registered, at the password question of a sign-in, in chat 2201."""
    user = await harness.user(2201)
    await register_fully(harness, user)
    await user.command("login")
    await user.send(JORDAN_FULL["username"])
    return user


async def test_identity_checks_pause_after_five_mismatches(harness):
    user = await harness.user(2202)
    await walk_to(harness, user, "review", {**JORDAN_FULL, "dob": "06/03/1985"})
    for _ in range(5):
        assert "doesn't match" in joined(await user.press(CHECK))

    # even the right answers aren't checked while paused
    await user.press("Change date of birth")
    await user.send(JORDAN_FULL["dob"])
    replies = await user.press(CHECK)
    text = joined(replies)
    assert "too many identity checks for this SSN" in text
    assert "paused until" in text
    # six hours after the first check (3:00 PM UTC), told in Jordan's own zone (Illinois: Central)
    assert "3:00 PM CST" in text
    assert "Your answers are saved" in text
    assert "doesn't match" not in text
    assert asks(replies, "review")
    assert await where(harness, user) == ("registration", "review")

    harness.clock.advance(hours=5)
    assert "paused until" in joined(await user.press(CHECK))

    harness.clock.advance(hours=1, minutes=1)  # the 6-hour window has passed
    replies = await user.press(CHECK)
    assert "match the records" in joined(replies)
    assert await where(harness, user) == ("registration", "fin_kind")


async def test_tries_left_then_lockout_after_ten_wrong_passwords(harness, jordan):
    texts = [joined(await jordan.send(WRONG)) for _ in range(10)]
    assert all(GENERIC in t for t in texts)
    assert not any("left" in t for t in texts[:6])
    assert "You have 3 tries left." in texts[6]
    assert "You have 2 tries left." in texts[7]
    assert "You have 1 try left." in texts[8]

    # the eleventh try is refused even with the right password
    replies = await jordan.send(PASSWORD)
    text = joined(replies)
    assert "Too many wrong passwords" in text
    assert "paused until" in text
    # ten minutes after the first wrong password (10:00 AM Eastern = 9:00 AM Central)
    assert "10:10 AM EST" in text or "9:10 AM CST" in text, text
    assert "blue heron" not in text
    assert await where(harness, jordan) == ("login", "login_password")

    harness.clock.advance(minutes=9)
    assert "Too many wrong passwords" in joined(await jordan.send(PASSWORD))

    harness.clock.advance(minutes=2)  # the 10-minute lockout has passed
    replies = await jordan.send(PASSWORD)
    assert "blue heron at dawn" in joined(replies)
    assert asks(replies, "login_code")


async def test_expired_security_code_and_a_new_one(harness, jordan):
    await jordan.send(PASSWORD)
    old = await harness.last_code("sms", JORDAN_PHONE)
    harness.clock.advance(minutes=11)
    replies = await jordan.send(old)
    assert "That security code has expired" in joined(replies)
    assert await where(harness, jordan) == ("login", "login_code")

    replies = await jordan.press("Send a new code")
    assert "I've texted a six-digit security code" in joined(replies)
    replies = await jordan.send(await harness.last_code("sms", JORDAN_PHONE))
    assert "signed in as jrivera85" in joined(replies)

"""The emailed confirmation code: wrong, expired, resent, too many resends, another address."""

from __future__ import annotations

from tests.test_conv_support import JORDAN_FULL, asks, joined, walk_to, where

EMAIL = JORDAN_FULL["email"]


def wrong_code(right: str) -> str:
    return "000000" if right != "000000" else "111111"


async def test_wrong_code_counts_down_the_tries_only_near_the_end(harness):
    user = await harness.user(1201)
    await walk_to(harness, user, "email_code")
    code = await harness.last_code("email", EMAIL)
    bad = wrong_code(code)

    texts = []
    for _ in range(6):
        replies = await user.send(bad)
        texts.append(joined(replies))
        assert asks(replies, "email_code")
    assert all("isn't right" in t for t in texts)
    assert not any("left" in t for t in texts), "tries left shown while more than 3 remain"

    assert "You have 3 tries left." in joined(await user.send(bad))
    assert "You have 2 tries left." in joined(await user.send(bad))
    assert "You have 1 try left." in joined(await user.send(bad))
    assert await where(harness, user) == ("registration", "email_code")

    # the tenth wrong entry voids the code: even the right one no longer works
    replies = await user.send(bad)
    assert "entered wrongly too many times" in joined(replies)
    replies = await user.send(code)
    assert "Send a new code" in joined(replies)
    assert await where(harness, user) == ("registration", "email_code")

    # a fresh code works
    replies = await user.press("Send a new code")
    assert f"I've emailed a confirmation code to {EMAIL}" in joined(replies)
    fresh = await harness.last_code("email", EMAIL)
    replies = await user.send(fresh)
    assert "your email address is confirmed" in joined(replies)
    assert asks(replies, "ssn")


async def test_expired_code_is_explained_and_a_new_one_works(harness):
    user = await harness.user(1202)
    await walk_to(harness, user, "email_code")
    old = await harness.last_code("email", EMAIL)

    harness.clock.advance(minutes=16)
    replies = await user.send(old)
    assert "That confirmation code has expired" in joined(replies)
    assert "Send a new code" in joined(replies)
    assert asks(replies, "email_code")
    assert "Send a new code" in user.last_buttons
    assert await where(harness, user) == ("registration", "email_code")

    replies = await user.press("Send a new code")
    assert "I've emailed a confirmation code" in joined(replies)
    assert "15 minutes" in joined(replies)
    assert asks(replies, "email_code")
    new = await harness.last_code("email", EMAIL)

    harness.clock.advance(minutes=14)  # still inside the new code's 15 minutes
    replies = await user.send(new)
    assert "your email address is confirmed" in joined(replies)
    assert await where(harness, user) == ("registration", "ssn")


async def test_code_still_works_just_before_it_expires(harness):
    user = await harness.user(1203)
    await walk_to(harness, user, "email_code")
    harness.clock.advance(minutes=14, seconds=59)
    replies = await user.send(await harness.last_code("email", EMAIL))
    assert "confirmed" in joined(replies)


async def test_only_the_newest_code_works_after_a_resend(harness):
    user = await harness.user(1204)
    await walk_to(harness, user, "email_code")
    first = await harness.last_code("email", EMAIL)
    await user.press("Send a new code")
    second = await harness.last_code("email", EMAIL)
    if first != second:
        replies = await user.send(first)
        assert "isn't right" in joined(replies)
        assert await where(harness, user) == ("registration", "email_code")
    replies = await user.send(second)
    assert "confirmed" in joined(replies)


async def test_resend_limit_is_explained(harness):
    user = await harness.user(1205)
    await walk_to(harness, user, "email_code")  # the first code: 1 of 5 in the hour

    for _ in range(4):
        replies = await user.press("Send a new code")
        assert "I've emailed a confirmation code" in joined(replies)

    replies = await user.press("Send a new code")
    text = joined(replies)
    assert "most confirmation codes allowed" in text
    # says when: an hour after the first code (sent at 10:00 AM Eastern on the test clock)
    assert "11:00 AM" in text
    assert asks(replies, "email_code")
    assert await where(harness, user) == ("registration", "email_code")

    # an hour after the first code, new ones can be asked for again
    harness.clock.advance(minutes=61)
    replies = await user.press("Send a new code")
    assert "I've emailed a confirmation code" in joined(replies)
    replies = await user.send(await harness.last_code("email", EMAIL))
    assert "confirmed" in joined(replies)


async def test_use_a_different_email(harness):
    user = await harness.user(1207)
    await walk_to(harness, user, "email_code")
    first = await harness.last_code("email", EMAIL)

    replies = await user.press("Use a different email")
    assert asks(replies, "email")
    assert await where(harness, user) == ("registration", "email")

    replies = await user.send("jordan.r@example.org")
    assert "I've emailed a confirmation code to jordan.r@example.org" in joined(replies)
    assert "jordan.r@example.org" in replies[-1].text
    code = await harness.last_code("email", "jordan.r@example.org")
    if first != code:  # the code sent to the first address no longer works
        assert "isn't right" in joined(await user.send(first))
    replies = await user.send(code)
    assert "confirmed" in joined(replies)
    assert await where(harness, user) == ("registration", "ssn")

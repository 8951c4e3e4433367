"""Signing in after registering: password, lockout, the security code, idle and long sessions."""

from __future__ import annotations

import pytest

from tests.test_conv_support import (
    SQLITE_ONLY,
    JORDAN_FULL,
    JORDAN_PHONE,
    asks,
    joined,
    register_fully,
    sign_in,
    walk_to,
    where,
)

pytestmark = SQLITE_ONLY

USERNAME = JORDAN_FULL["username"]
PASSWORD = JORDAN_FULL["password"]
WRONG = "not my password at all"
GENERIC = "That username and password don't go together. Check both and try again."


@pytest.fixture
async def jordan(harness):
    """Jordan, registered, signed out, in chat 1901."""
    user = await harness.user(1901)
    await register_fully(harness, user)
    return user


async def to_password(user, username=USERNAME):
    await user.command("login")
    await user.send(username)


def wrong_code(right: str) -> str:
    return "000000" if right != "000000" else "111111"


async def test_sign_in_shows_site_phrase_and_image_before_the_code(harness, jordan):
    replies = await jordan.command("login")
    assert asks(replies, "login_username")
    replies = await jordan.send(USERNAME)
    assert asks(replies, "login_password")
    assert "That wasn't my username" in jordan.last_buttons

    replies = await jordan.send(PASSWORD)
    text = joined(replies)
    assert 'Your site image is 🦉 Owl and your site phrase is "blue heron at dawn"' in text
    assert "I've texted a six-digit security code" in text
    assert asks(replies, "login_code")
    assert jordan.user_message_ids[-1] in jordan.deleted

    replies = await jordan.send(await harness.last_code("sms", JORDAN_PHONE))
    assert "You're signed in as jrivera85" in replies[-1].text
    assert jordan.user_message_ids[-1] in jordan.deleted
    assert await where(harness, jordan) == ("home", "signed_in")

    # the username is not case-sensitive
    await jordan.command("logout")
    replies = await sign_in(harness, jordan, "JRIVERA85", PASSWORD, JORDAN_PHONE)
    assert "signed in as jrivera85" in joined(replies)


async def test_wrong_password_generic_message_and_asked_again(harness, jordan):
    await to_password(jordan)
    replies = await jordan.send(WRONG)
    text = joined(replies)
    assert GENERIC in text
    assert "left" not in text  # plenty of tries left: no countdown yet
    assert "blue heron" not in text  # no site phrase for a wrong password
    assert asks(replies, "login_password")
    assert await where(harness, jordan) == ("login", "login_password")
    assert jordan.user_message_ids[-1] in jordan.deleted
    assert not [m for m in await harness.outbox() if m.channel == "sms" and "security code" in m.body]


async def test_unknown_username_gets_the_same_answer(harness, jordan):
    await to_password(jordan, "nobody.here")
    replies = await jordan.send(PASSWORD)
    assert GENERIC in joined(replies)
    assert await where(harness, jordan) == ("login", "login_password")


async def test_that_was_not_my_username(harness, jordan):
    await to_password(jordan, "jrivera58")
    replies = await jordan.press("That wasn't my username")
    assert asks(replies, "login_username")
    await jordan.send(USERNAME)
    replies = await jordan.send(PASSWORD)
    assert asks(replies, "login_code")


async def test_lockout_holds_in_another_chat(harness, jordan):
    await to_password(jordan)
    for _ in range(10):
        await jordan.send(WRONG)
    other = await harness.user(1902)
    await other.command("start")
    await to_password(other)
    replies = await other.send(PASSWORD)
    assert "Too many wrong passwords" in joined(replies)


async def test_wrong_security_code(harness, jordan):
    await to_password(jordan)
    await jordan.send(PASSWORD)
    code = await harness.last_code("sms", JORDAN_PHONE)

    replies = await jordan.send(wrong_code(code))
    assert "That security code isn't right" in joined(replies)
    assert asks(replies, "login_code")
    assert await where(harness, jordan) == ("login", "login_code")
    assert jordan.user_message_ids[-1] in jordan.deleted

    replies = await jordan.send(code)
    assert "signed in as jrivera85" in joined(replies)


async def test_session_idle_timeout(harness, jordan):
    await sign_in(harness, jordan, USERNAME, PASSWORD, JORDAN_PHONE)

    harness.clock.advance(minutes=29)
    replies = await jordan.command("status")
    assert "You're signed in as jrivera85" in joined(replies)
    harness.clock.advance(minutes=29)  # activity resets the idle clock
    assert "You're signed in as jrivera85" in joined(await jordan.command("status"))

    harness.clock.advance(minutes=31)
    replies = await jordan.command("status")
    text = joined(replies)
    assert "You were inactive for over 30 minutes, so I've signed you out." in text
    assert "signed in as" not in text
    assert await where(harness, jordan) == ("home", "registered")
    assert "You aren't signed in." in joined(await jordan.command("logout"))

    # the timeout is noticed on a button press too
    await sign_in(harness, jordan, USERNAME, PASSWORD, JORDAN_PHONE)
    harness.clock.advance(minutes=31)
    replies = await jordan.press("Sign out")
    assert "inactive for over 30 minutes" in joined(replies)
    assert await where(harness, jordan) == ("home", "registered")


async def test_session_ends_after_twelve_hours_even_when_active(harness, jordan):
    await sign_in(harness, jordan, USERNAME, PASSWORD, JORDAN_PHONE)
    for _ in range(28):  # 28 x 25 minutes = 11 h 40 min, never idle for 30 minutes
        harness.clock.advance(minutes=25)
        assert "You're signed in as" in joined(await jordan.command("status"))
    harness.clock.advance(minutes=25)  # 12 h 05 min
    replies = await jordan.command("status")
    assert "sessions end after 12 hours" in joined(replies)
    assert await where(harness, jordan) == ("home", "registered")


async def test_logout(harness, jordan):
    await sign_in(harness, jordan, USERNAME, PASSWORD, JORDAN_PHONE)
    replies = await jordan.command("login")
    assert "You're already signed in." in joined(replies)

    replies = await jordan.command("logout")
    assert "You're signed out." in joined(replies)
    assert await where(harness, jordan) == ("home", "registered")
    assert "You aren't signed in." in joined(await jordan.command("logout"))
    assert "You're registered and signed out" in joined(await jordan.command("status"))

    # the button on the signed-in message does the same
    await sign_in(harness, jordan, USERNAME, PASSWORD, JORDAN_PHONE)
    replies = await jordan.press("Sign out")
    assert "You're signed out." in joined(replies)
    assert await where(harness, jordan) == ("home", "registered")


async def test_cancel_a_sign_in(harness, jordan):
    await to_password(jordan)
    replies = await jordan.command("cancel")
    assert "Do you want to cancel this sign-in?" in replies[-1].text
    replies = await jordan.press("Yes, cancel the sign-in")
    assert "The sign-in is cancelled" in joined(replies)
    assert (await where(harness, jordan))[0] == "home"
    # the account itself is untouched
    replies = await sign_in(harness, jordan, USERNAME, PASSWORD, JORDAN_PHONE)
    assert "signed in as jrivera85" in joined(replies)


async def test_registering_again_with_the_same_ssn_is_sent_to_sign_in(harness, jordan):
    again = await harness.user(1903)
    await walk_to(harness, again, "review")
    replies = await again.press("Everything matches – check it")
    text = joined(replies)
    assert "You already have a Secure Access account" in text
    assert "/login" in text
    assert await where(harness, again) == ("home", "registered")


async def test_commands_during_sign_in(harness, jordan):
    await to_password(jordan)
    replies = await jordan.command("status")
    assert "You're signing in." in replies[0].text
    assert asks(replies, "login_password")

    replies = await jordan.command("help")
    assert "Type the password you set when you registered" in replies[0].text
    assert asks(replies, "login_password")

    replies = await jordan.command("back")
    assert asks(replies, "login_username")
    assert await where(harness, jordan) == ("login", "login_username")

    replies = await jordan.command("register")
    assert "Let's finish what we started first" in replies[0].text
    assert await where(harness, jordan) == ("login", "login_username")

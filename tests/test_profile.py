"""Signed-in profile: password change, adding and replacing the authenticator, phone change."""

from __future__ import annotations

import re

from flows import authenticator
from tests.journeys import JORDAN, register


async def signed_in(h, chat_id=3001):
    user = await h.user(chat_id)
    await register(h, user)
    await user.command("login")
    await user.send(JORDAN["username"])
    await user.send(JORDAN["password"])
    await user.send(await h.last_code("sms", "+12175550123"))
    assert await h.engine.where(chat_id) == ("home", "signed_in")
    return user


def key_from(replies) -> str:
    text = "\n".join(m.text for m in replies)
    return re.search(r"by hand: ([A-Z2-7 ]+)\n", text).group(1).replace(" ", "")


async def test_profile_needs_sign_in(harness):
    user = await harness.user(3000)
    replies = await user.command("profile")
    assert "Sign in first" in replies[0].text


async def test_profile_shows_account_without_secrets(harness):
    user = await signed_in(harness)
    replies = await user.command("profile")
    text = replies[-1].text
    assert "jrivera85" in text and "ending in 23" in text
    assert JORDAN["email"] not in text and "401" not in text
    assert "Change password" in user.last_buttons


async def test_change_password(harness):
    user = await signed_in(harness)
    await user.command("profile")
    await user.press("Change password")
    replies = await user.send("not my password")
    assert "isn't your current password" in "\n".join(m.text for m in replies)
    await user.send(JORDAN["password"])
    replies = await user.send("password1")
    assert "common" in "\n".join(m.text for m in replies).lower() or "guess" in "\n".join(m.text for m in replies).lower()
    replies = await user.send("seven quiet orchards")
    assert "password is changed" in "\n".join(m.text for m in replies)
    mails = [m for m in await harness.outbox() if m.channel == "email"]
    assert mails[-1].subject == "Your password was changed"
    await user.press("Done")
    await user.command("logout")
    await user.command("login")
    await user.send(JORDAN["username"])
    replies = await user.send(JORDAN["password"])
    assert "don't go together" in "\n".join(m.text for m in replies)


async def test_add_then_replace_authenticator(harness):
    user = await signed_in(harness)
    await user.command("profile")
    replies = await user.press("Add an authenticator app")
    first = key_from(replies)
    replies = await user.send(authenticator.code_at(first, harness.clock.now()))
    assert "authenticator app is added" in "\n".join(m.text for m in replies)

    replies = await user.press("Replace my authenticator app")
    second = key_from(replies)
    assert second != first
    # until the new one is proven, the old one still signs in
    replies = await user.send("123456" if authenticator.code_at(second, harness.clock.now()) != "123456" else "654321")
    assert "doesn't match" in "\n".join(m.text for m in replies)
    replies = await user.send(authenticator.code_at(second, harness.clock.now()))
    assert "old one has been removed" in "\n".join(m.text for m in replies)
    await user.press("Done")
    await user.command("logout")
    await user.command("login")
    await user.send(JORDAN["username"])
    await user.send(JORDAN["password"])
    await user.press("Use my authenticator app")
    harness.clock.advance(seconds=60)
    replies = await user.send(authenticator.code_at(first, harness.clock.now()))
    assert "isn't right" in "\n".join(m.text for m in replies)
    await user.send(authenticator.code_at(second, harness.clock.now()))
    assert await harness.engine.where(3001) == ("home", "signed_in")


async def test_change_phone_means_reregistering(harness):
    user = await signed_in(harness)
    await user.command("profile")
    replies = await user.press("Change phone number")
    assert "registration again" in replies[-1].text
    replies = await user.press("Start re-registering")
    assert "first name" in user.last_text
    assert await harness.engine.where(3001) == ("registration", "first_name")


async def test_session_idle_timeout(harness):
    user = await signed_in(harness)
    harness.clock.advance(minutes=31)
    replies = await user.command("profile")
    assert "inactive" in replies[0].text
    assert await harness.engine.where(3001) == ("home", "registered")

"""Messages that show a key or a shared secret are sent with Telegram's protect_content (no
forwarding or saving); codes themselves never appear in the chat at all."""

from __future__ import annotations

import re

from tests.journeys import JORDAN, register
from tests.privacy_helpers import sign_in_with_text
from tests.test_mail_path import letter_code, register_by_mail, sign_in

KEY = re.compile(r"by hand: ([A-Z2-7 ]+)\n")


async def test_the_authenticator_key_is_protected_every_time_it_is_shown(harness):
    h = harness
    user = await h.user(8001)
    await register_by_mail(h, user)
    await sign_in(user)
    await user.send(await letter_code(h))
    replies = await user.press("An authenticator app")
    shown = [m for m in replies if KEY.search(m.text + "\n") or m.photo]
    assert len(shown) == 2 and all(m.protect_content for m in shown)
    replies = await user.press("Show the key again")
    again = [m for m in replies if KEY.search(m.text + "\n")]
    assert again and all(m.protect_content for m in again)


async def test_the_key_of_a_new_authenticator_in_the_profile_is_protected(harness):
    h = harness
    user = await h.user(8002)
    await register(h, user)
    await sign_in_with_text(h, user, JORDAN)
    await user.command("profile")
    replies = await user.press("Add an authenticator app")
    shown = [m for m in replies if KEY.search(m.text + "\n") or m.photo]
    assert shown and all(m.protect_content for m in shown)


async def test_the_site_phrase_is_protected(harness):
    h = harness
    user = await h.user(8003)
    await register(h, user)
    await user.command("login")
    await user.send(JORDAN["username"])
    replies = await user.send(JORDAN["password"])
    phrase = [m for m in replies if JORDAN["phrase"] in m.text]
    assert phrase and all(m.protect_content for m in phrase)
    ordinary = [m for m in replies if JORDAN["phrase"] not in m.text and "security code" in m.text]
    assert ordinary and not any(m.protect_content for m in ordinary)


async def test_no_code_is_ever_shown_in_the_chat(harness):
    h = harness
    user = await h.user(8004)
    await register(h, user)
    await sign_in_with_text(h, user, JORDAN)
    codes = {c for m in await h.outbox() for c in re.findall(r"\b\d{6}\b", m.body)}
    assert len(codes) >= 3
    said = "\n".join(m.text for m in user.history)
    assert not [c for c in codes if c in said]

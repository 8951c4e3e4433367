"""Messages carrying an SSN, date of birth, account digits, password, phone or code are deleted."""

from __future__ import annotations

import pytest

from tests.conftest import CODE

from tests.test_conv_support import JORDAN_FULL, JORDAN_PHONE, SQLITE_ONLY, joined, walk_to, where

pytestmark = SQLITE_ONLY

NOTE = "(I deleted your message because it held {what}, so it doesn't stay in this chat.)"


async def send_secret(user, text: str, what: str):
    replies = await user.send(text)
    message_id = user.user_message_ids[-1]
    assert message_id in user.deleted, f"the message holding {what} was not deleted"
    assert replies and replies[0].text == NOTE.format(what=what)
    return replies


async def send_plain(user, text: str):
    replies = await user.send(text)
    assert user.user_message_ids[-1] not in user.deleted, f"{text!r} was deleted for no reason"
    assert not any("I deleted your message" in m.text for m in replies)
    return replies


async def test_every_secret_of_a_registration_and_sign_in_is_deleted(harness):
    p = JORDAN_FULL
    user = await harness.user(2001)
    await user.command("start")
    await user.press("Begin registration")
    await send_plain(user, p["first_name"])
    await send_plain(user, p["last_name"])
    await send_plain(user, p["email"])
    await send_secret(user, await harness.last_code("email", p["email"]), "a code")
    await send_secret(user, p["ssn"], "your SSN")
    await send_secret(user, p["dob"], "your date of birth")
    await user.press(p["filing_status"])
    await user.press("A U.S. address")
    await send_plain(user, p["line1"])
    await send_plain(user, p["line2"])
    await send_plain(user, p["city"])
    await send_plain(user, p["state"])
    await send_plain(user, p["zip"])
    await user.press("Everything matches – check it")
    await user.press(p["account_kind"])
    await user.press(p["network"])
    await user.press(p["card_kind"])
    await send_secret(user, p["last8"], "account digits")
    await send_secret(user, p["phone"], "your phone number")
    await send_secret(user, await harness.last_code("sms", JORDAN_PHONE), "a code")
    await send_plain(user, p["username"])
    await send_secret(user, p["password"], "your password")
    await send_plain(user, p["phrase"])
    replies = await user.press(p["image"])
    assert "You're registered" in joined(replies)

    await user.command("login")
    await send_plain(user, p["username"])
    await send_secret(user, p["password"], "your password")
    await send_secret(user, await harness.last_code("sms", JORDAN_PHONE), "a code")
    assert await where(harness, user) == ("home", "signed_in")

    # 7 secrets in the registration and 2 in the sign-in; nothing else was deleted
    assert len(user.deleted) == 9


async def test_no_bot_message_repeats_a_secret(harness):
    user = await harness.user(2002)
    await walk_to(harness, user, "site_image")
    await user.press(JORDAN_FULL["image"])
    everything = "\n".join(m.text for m in user.history)
    for secret in ("401-22-7788", "401227788", "7788", "06/02/1985", "1985-06-02", "2222 3333",
                   "22223333", "555-0123", "5550123", JORDAN_FULL["password"]):
        assert secret not in everything, f"the bot repeated {secret!r}"
    codes = [found.group(1) for m in await harness.outbox() if (found := CODE.search(m.body))]
    assert len(codes) == 2  # the confirmation and the activation code
    for code in codes:
        assert code not in everything, "the bot repeated a one-time code in the chat"


@pytest.mark.parametrize(
    "step,text",
    [
        ("first_name", "401-22-7788"),  # an SSN typed at the wrong question
        ("last_name", "401227788"),
        ("username", "4111 1111 2222 3333"),  # a card number
        ("email", "2222 3333 4444"),
    ],
)
async def test_long_number_typed_at_an_ordinary_question_is_deleted(harness, step, text):
    user = await harness.user(2003)
    await walk_to(harness, user, step)
    await send_secret(user, text, "a long number")
    assert await where(harness, user) == ("registration", step)


@pytest.mark.parametrize("step,text", [("city", "401227788"), ("line1", "401 22 7788")])
async def test_long_number_in_an_address_answer_is_deleted(harness, step, text):
    """Address lines may hold digits, so the answer may be taken, but the message still goes."""
    user = await harness.user(2007)
    await walk_to(harness, user, step)
    await send_secret(user, text, "a long number")


async def test_ssn_typed_at_the_date_question_is_deleted(harness):
    user = await harness.user(2004)
    await walk_to(harness, user, "dob")
    replies = await send_secret(user, JORDAN_FULL["ssn"], "your date of birth")
    assert "couldn't read" in joined(replies)
    assert await where(harness, user) == ("registration", "dob")


async def test_short_numbers_are_not_deleted(harness):
    """A ZIP code or a house number isn't secret."""
    user = await harness.user(2005)
    await walk_to(harness, user, "zip")
    await send_plain(user, "62704")


async def test_photo_captioned_with_the_ssn_is_deleted(harness):
    user = await harness.user(2006)
    await walk_to(harness, user, "ssn")
    replies = await user.send_photo(caption="my SSN is 401-22-7788")
    assert "didn't use a photo" in joined(replies)
    assert user.user_message_ids[-1] in user.deleted


async def test_message_edited_into_an_ssn_is_deleted(harness):
    user = await harness.user(2008)
    await walk_to(harness, user, "last_name")  # the last message typed was the first name
    edited = user.user_message_ids[-1]
    assert edited not in user.deleted
    replies = await user.edit_last("401-22-7788")
    assert edited in user.deleted
    assert "I deleted that message" in joined(replies)
    assert "I noticed you edited a message" in joined(replies)
    assert await where(harness, user) == ("registration", "last_name")


async def test_harmless_edit_is_not_deleted(harness):
    user = await harness.user(2009)
    await walk_to(harness, user, "last_name")
    edited = user.user_message_ids[-1]
    replies = await user.edit_last("Jordan R.")
    assert edited not in user.deleted
    assert "I noticed you edited a message" in joined(replies)

"""Unexpected input: photos, stickers, edits, typing at button questions, stale and forged buttons."""

from __future__ import annotations

from tests.test_conv_support import JORDAN_FULL, SQLITE_ONLY, asks, joined, offers, walk_to, where

pytestmark = SQLITE_ONLY

STALE = "That button belongs to an earlier question, so I've ignored it."


async def count(h, channel: str) -> int:
    return len([m for m in await h.outbox() if m.channel == channel])


async def test_photo_sticker_and_voice_are_not_used_and_the_question_repeated(harness):
    user = await harness.user(1701)
    await walk_to(harness, user, "ssn")
    replies = await user.send_photo()
    assert "I can only read typed answers and button taps here, so I didn't use a photo." in replies[0].text
    assert asks(replies, "ssn")
    replies = await user.send_sticker()
    assert "so I didn't use a sticker" in replies[0].text
    assert asks(replies, "ssn")
    replies = await user.send_raw(
        {"voice": {"file_id": "voice-1", "file_unique_id": "uvoice-1", "duration": 3}}
    )
    assert "so I didn't use a voice message" in replies[0].text
    assert asks(replies, "ssn")
    assert await where(harness, user) == ("registration", "ssn")
    # none of it was taken as an answer
    replies = await user.send(JORDAN_FULL["ssn"])
    assert asks(replies, "dob")


async def test_edited_message_changes_nothing(harness):
    user = await harness.user(1704)
    await walk_to(harness, user, "last_name")  # "Jordan" was the last message typed
    replies = await user.edit_last("Jordon")
    assert "I noticed you edited a message" in replies[0].text
    assert "/back" in replies[0].text
    assert asks(replies, "last_name")
    assert await where(harness, user) == ("registration", "last_name")
    await walk_to(harness, user, "review")
    assert "Name: Jordan Rivera" in user.last_text


async def test_typed_text_at_a_buttons_only_question(harness):
    user = await harness.user(1705)
    await walk_to(harness, user, "addr_where")
    replies = await user.send("Springfield")
    assert "Please pick one of the buttons" in joined(replies)
    assert asks(replies, "addr_where")
    assert await where(harness, user) == ("registration", "addr_where")

    await walk_to(harness, user, "card_network")
    replies = await user.send("Diners Club")
    assert "Please pick one of the buttons below (or type its label)." in joined(replies)
    assert asks(replies, "card_network")
    assert "Visa" in user.last_buttons
    assert await where(harness, user) == ("registration", "card_network")

    # a typed label counts as the button
    replies = await user.send("visa")
    assert asks(replies, "card_kind")


async def test_very_long_text_is_refused_politely(harness):
    user = await harness.user(1707)
    await walk_to(harness, user, "first_name")
    replies = await user.send("Jordan " * 500)
    assert "longer than 40 characters" in joined(replies)
    assert asks(replies, "first_name")
    assert await where(harness, user) == ("registration", "first_name")


async def test_button_from_an_old_message_is_ignored(harness):
    user = await harness.user(1708)
    await walk_to(harness, user, "email_code")
    code_question = user.last_message.message_id
    await user.send(await harness.last_code("email", JORDAN_FULL["email"]))
    await user.send(JORDAN_FULL["ssn"])
    assert await where(harness, user) == ("registration", "dob")
    emails = await count(harness, "email")

    replies = await user.press("Send a new code", message_id=code_question)
    assert STALE in joined(replies)
    assert asks(replies, "dob")
    assert await where(harness, user) == ("registration", "dob")
    assert await count(harness, "email") == emails, "a stale button must not send a code"


async def test_old_welcome_button_does_not_restart(harness):
    user = await harness.user(1709)
    await user.command("start")
    welcome = user.last_message.message_id
    await walk_to(harness, user, "dob")
    replies = await user.press("Begin registration", message_id=welcome)
    assert STALE in joined(replies)
    assert asks(replies, "dob")
    assert await where(harness, user) == ("registration", "dob")


async def test_old_check_button_after_the_identity_passed(harness):
    user = await harness.user(1710)
    await walk_to(harness, user, "review")
    review = user.last_message.message_id
    await user.press("Everything matches – check it")
    replies = await user.press("Change SSN", message_id=review)
    assert STALE in joined(replies)
    assert asks(replies, "fin_kind")
    assert await where(harness, user) == ("registration", "fin_kind")


FORGED = [
    "site_image:owl",  # jump to the end
    "review:check",  # jump to the identity check
    "dob:1985",  # the current step, a value it doesn't offer
    "ssn:",
    "_cancel:yes",  # a cancel nobody asked for
    "nonsense",
    "x" * 64,
]


async def test_forged_button_data_is_ignored(harness):
    user = await harness.user(1711)
    await walk_to(harness, user, "dob")
    for data in FORGED:
        replies = await user.press_data(data)
        assert STALE in joined(replies), data
        assert asks(replies, "dob")
        assert await where(harness, user) == ("registration", "dob")
    # nothing was lost on the way
    await walk_to(harness, user, "review")
    assert "Name: Jordan Rivera" in user.last_text


async def test_forged_values_at_button_questions(harness):
    user = await harness.user(1712)
    await walk_to(harness, user, "filing_status")
    replies = await user.press_data("filing_status:married_filing_secretly")
    assert STALE in joined(replies)
    assert asks(replies, "filing_status")
    assert await where(harness, user) == ("registration", "filing_status")

    await walk_to(harness, user, "fin_kind")
    replies = await user.press_data("fin_kind:payday_loan")
    assert STALE in joined(replies)
    assert asks(replies, "fin_kind")
    assert await where(harness, user) == ("registration", "fin_kind")

    # a refused kind of card stays refused even when its button is forged
    await walk_to(harness, user, "card_kind")
    replies = await user.press_data("card_kind:debit")
    assert "Debit cards aren't credit accounts" in joined(replies)
    assert await where(harness, user) == ("registration", "fin_kind")


async def test_group_chat_is_refused(harness):
    group = await harness.user(-5001, chat_type="group")
    replies = await group.command("start")
    assert "only works in a private chat" in joined(replies)
    assert await harness.engine.where(-5001) is None


async def test_first_contact_with_plain_text_shows_the_welcome(harness):
    user = await harness.user(1715)
    replies = await user.send("hi")
    assert asks(replies, "welcome")
    assert offers(user, ["Begin registration"])
    assert await where(harness, user) == ("home", "welcome")

"""Commands that work everywhere: /help, /back, /status, /cancel, /privacy, /start, /login..."""

from __future__ import annotations

import pytest

from bot.storage.models import Conversation
from tests.test_conv_support import (
    JORDAN_FULL,
    SQLITE_ONLY,
    asks,
    joined,
    offers,
    register_fully,
    walk_to,
    where,
)

pytestmark = SQLITE_ONLY

COMMANDS_LINE = "Commands: /status"


async def stored_answers(h, chat_id: int) -> dict:
    """The answers kept for a chat (decrypted), to check what /cancel erased."""
    async with h.services.sessions() as session:
        row = await session.get(Conversation, chat_id)
        return h.services.vault.decrypt(row.data_enc, context="conversation") or {}


# -- /help ------------------------------------------------------------------------------------

HELP = [
    ("first_name", "Your name is matched against the tax records"),
    ("email_code", "check the spam folder too"),
    ("ssn", "Your SSN identifies you in the tax records"),
    ("dob", "Month first for dates with slashes"),
    ("review", "Tap a Change button to fix one"),
    ("fin_kind", "American Express, debit cards and company cards can't be used"),
    ("fin_digits", "not the card's three-digit security code"),
    ("phone", "the code can come by mail instead"),
    ("username", "Your username is permanent"),
    ("password", "No special character rules"),
]


async def test_help_explains_each_step_and_asks_again(harness):
    user = await harness.user(1601)
    for step, help_text in HELP:
        await walk_to(harness, user, step)
        replies = await user.command("help")
        assert help_text in replies[0].text, f"/help at {step}: {replies[0].text!r}"
        assert COMMANDS_LINE in replies[0].text
        assert asks(replies, step)
        assert await where(harness, user) == ("registration", step)


async def test_help_on_the_welcome(harness):
    user = await harness.user(1602)
    await user.command("start")
    replies = await user.command("help")
    assert "Begin registration" in replies[0].text
    assert asks(replies, "welcome")
    assert await where(harness, user) == ("home", "welcome")


async def test_command_with_bot_name_and_capitals(harness):
    user = await harness.user(1603)
    await walk_to(harness, user, "ssn")
    replies = await user.command("HELP@sabot_test_bot")
    assert "Your SSN identifies you" in replies[0].text
    assert asks(replies, "ssn")


# -- /back ------------------------------------------------------------------------------------


async def test_back_re_asks_the_previous_question(harness):
    user = await harness.user(1604)
    await walk_to(harness, user, "email")

    replies = await user.command("back")
    assert "OK, let's redo that one." in joined(replies)
    assert asks(replies, "last_name")
    assert await where(harness, user) == ("registration", "last_name")

    replies = await user.command("back")
    assert asks(replies, "first_name")

    await user.send("Jordan")
    replies = await user.send("Rivera-Smith")
    assert asks(replies, "email")
    await user.send(JORDAN_FULL["email"])
    await user.send(await harness.last_code("email", JORDAN_FULL["email"]))
    await walk_to(harness, user, "review")
    assert "Name: Jordan Rivera-Smith" in user.last_text


async def test_back_from_the_code_changes_the_email(harness):
    user = await harness.user(1605)
    await walk_to(harness, user, "email_code")
    replies = await user.command("back")
    assert asks(replies, "email")
    replies = await user.send("jordan.r@example.org")
    assert "jordan.r@example.org" in replies[-1].text
    assert asks(replies, "email_code")


async def test_back_through_the_address(harness):
    user = await harness.user(1606)
    await walk_to(harness, user, "review")
    replies = await user.command("back")
    assert asks(replies, "zip")
    replies = await user.command("back")
    assert asks(replies, "state")
    replies = await user.send("IL")
    assert asks(replies, "zip")
    replies = await user.send("62704")
    assert asks(replies, "review")


async def test_back_not_allowed_past_a_verified_checkpoint(harness):
    """The email, the identity, the account and the phone stay verified."""
    user = await harness.user(1607)
    for step in ("ssn", "fin_kind", "phone", "username"):
        await walk_to(harness, user, step)
        replies = await user.command("back")
        assert "already been verified" in replies[0].text, f"/back at {step}: {replies[0].text!r}"
        assert "/cancel" in replies[0].text
        assert asks(replies, step)
        assert await where(harness, user) == ("registration", step)


async def test_back_on_the_first_question_does_not_claim_anything_was_verified(harness):
    user = await harness.user(1608)
    await walk_to(harness, user, "first_name")
    replies = await user.command("back")
    assert asks(replies, "first_name")
    assert "verified" not in replies[0].text


async def test_back_from_a_change_button_returns_to_the_review(harness):
    user = await harness.user(1609)
    await walk_to(harness, user, "review")
    await user.press("Change date of birth")
    replies = await user.command("back")
    assert asks(replies, "review")
    assert await where(harness, user) == ("registration", "review")


# -- /status ----------------------------------------------------------------------------------


async def test_status_lists_the_stages(harness):
    user = await harness.user(1610)
    await walk_to(harness, user, "ssn")
    replies = await user.command("status")
    text = replies[0].text
    assert "Registration progress:" in text
    assert "✅ Name and email" in text
    assert "➡️ Identity" in text
    for later in ("Financial account", "Mobile phone", "Sign-in details"):
        assert f"▫️ {later}" in text
    assert "Your answers so far are saved." in text
    assert asks(replies, "ssn")

    await walk_to(harness, user, "phone")
    text = (await user.command("status"))[0].text
    assert "✅ Identity" in text and "✅ Financial account" in text
    assert "➡️ Mobile phone" in text and "▫️ Sign-in details" in text
    assert await where(harness, user) == ("registration", "phone")


async def test_status_before_starting_and_after_registering(harness):
    user = await harness.user(1611)
    await user.command("start")
    replies = await user.command("status")
    assert "You haven't started yet" in replies[0].text
    assert asks(replies, "welcome")

    await register_fully(harness, user)
    replies = await user.command("status")
    assert "You're registered and signed out" in replies[0].text


# -- /cancel ----------------------------------------------------------------------------------


async def test_cancel_yes_erases_and_returns_to_welcome(harness):
    user = await harness.user(1612)
    await walk_to(harness, user, "review")
    assert "ssn_hash" in await stored_answers(harness, 1612)

    replies = await user.command("cancel")
    assert "Do you want to cancel this registration?" in replies[-1].text
    assert "will be erased" in replies[-1].text
    assert offers(user, ["Yes, cancel the registration", "No, keep going"])
    assert await where(harness, user) == ("registration", "review")

    replies = await user.press("Yes, cancel the registration")
    assert "cancelled and what you entered has been erased" in joined(replies)
    assert asks(replies, "welcome")
    assert "Begin registration" in user.last_buttons
    assert await where(harness, user) == ("home", "welcome")
    answers = await stored_answers(harness, 1612)
    for erased in ("first_name", "last_name", "email", "ssn_hash", "dob", "address", "filing_status"):
        assert erased not in answers

    replies = await user.press("Begin registration")
    assert asks(replies, "first_name")


async def test_cancel_no_keeps_going(harness):
    user = await harness.user(1613)
    await walk_to(harness, user, "dob")
    await user.command("cancel")
    replies = await user.press("No, keep going")
    assert "Good, let's carry on." in joined(replies)
    assert asks(replies, "dob")
    assert await where(harness, user) == ("registration", "dob")
    # the answers are all still there
    await walk_to(harness, user, "review")
    assert "Name: Jordan Rivera" in user.last_text


async def test_cancel_question_dropped_when_the_user_answers_instead(harness):
    user = await harness.user(1614)
    await walk_to(harness, user, "dob")
    await user.command("cancel")
    confirm = user.last_message.message_id
    replies = await user.send(JORDAN_FULL["dob"])
    assert asks(replies, "filing_status")

    # a late "Yes" from the old question erases nothing
    replies = await user.press("Yes, cancel the registration", message_id=confirm)
    assert "cancelled" not in joined(replies)
    assert await where(harness, user) == ("registration", "filing_status")
    assert "ssn_hash" in await stored_answers(harness, 1614)


async def test_cancel_when_nothing_is_in_progress(harness):
    user = await harness.user(1615)
    await user.command("start")
    replies = await user.command("cancel")
    assert "There's nothing in progress to cancel." in replies[0].text
    assert await where(harness, user) == ("home", "welcome")


# -- other commands ---------------------------------------------------------------------------


async def test_privacy_then_the_same_question(harness):
    user = await harness.user(1616)
    await walk_to(harness, user, "ssn")
    replies = await user.command("privacy")
    text = replies[0].text
    assert "What I keep and why" in text
    assert "Financial account digits: never kept" in text
    assert asks(replies, "ssn")
    assert await where(harness, user) == ("registration", "ssn")


async def test_unknown_command(harness):
    user = await harness.user(1617)
    await walk_to(harness, user, "city")
    replies = await user.command("frobnicate")
    assert "I don't know the command /frobnicate" in replies[0].text
    assert COMMANDS_LINE in replies[0].text
    assert asks(replies, "city")
    assert await where(harness, user) == ("registration", "city")


async def test_start_mid_flow_shows_the_current_question(harness):
    user = await harness.user(1618)
    await walk_to(harness, user, "filing_status")
    replies = await user.command("start")
    assert "You're already in the middle of registration" in replies[0].text
    assert asks(replies, "filing_status")
    assert "Single" in user.last_buttons
    assert await where(harness, user) == ("registration", "filing_status")


async def test_login_mid_registration_refused_politely(harness):
    user = await harness.user(1619)
    await walk_to(harness, user, "line1")
    replies = await user.command("login")
    assert "You're in the middle of registering" in replies[0].text
    assert "/cancel" in replies[0].text
    assert asks(replies, "line1")
    assert await where(harness, user) == ("registration", "line1")


async def test_register_mid_registration(harness):
    user = await harness.user(1620)
    await walk_to(harness, user, "email")
    replies = await user.command("register")
    assert "Let's finish what we started first" in replies[0].text
    assert asks(replies, "email")
    assert await where(harness, user) == ("registration", "email")


async def test_logout_when_not_signed_in(harness):
    user = await harness.user(1621)
    await walk_to(harness, user, "ssn")
    replies = await user.command("logout")
    assert "You aren't signed in." in replies[0].text
    assert asks(replies, "ssn")
    assert await where(harness, user) == ("registration", "ssn")


async def test_back_while_changing_the_name_still_returns_to_the_review(harness):
    user = await harness.user(1622)
    await walk_to(harness, user, "review")
    await user.press("Change name")
    await user.send("Jordan")
    replies = await user.command("back")
    assert asks(replies, "first_name")
    await user.send("Jordan")
    replies = await user.send("Rivera")
    assert asks(replies, "review")
    assert await where(harness, user) == ("registration", "review")


async def test_start_after_registering_keeps_the_registered_screen(harness):
    user = await harness.user(1623)
    await register_fully(harness, user)
    replies = await user.command("start")
    assert asks(replies, "registered")
    assert await where(harness, user) == ("home", "registered")
    assert "You haven't started yet" not in joined(await user.command("status"))

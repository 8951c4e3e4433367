"""Every refused answer explains what is wrong, asks the same question again, and nothing advances."""

from __future__ import annotations

import pytest

from tests.test_conv_support import (
    SQLITE_ONLY,
    JORDAN_FULL,
    PRIYA,
    asks,
    answer_current,
    joined,
    register_fully,
    walk_to,
    where,
)

pytestmark = SQLITE_ONLY

# (step, what the user types, a piece of the explanation they must get)
REFUSALS = [
    ("first_name", "J0rdan", "first name can't contain digits"),
    ("first_name", "Jordan!", "can only contain letters"),
    ("last_name", "Rivera3", "last name can't contain digits"),
    ("email", "jordan.rivera@", "doesn't look like a valid email address"),
    ("email", "jordan.rivera.example.com", "doesn't look like a valid email address"),
    ("ssn", "401-22-778", "exactly 9 digits"),
    ("ssn", "4012277881", "exactly 9 digits"),
    ("ssn", "12345", "exactly 9 digits"),
    ("ssn", "912-34-5678", "Individual Taxpayer Identification Number (ITIN)"),
    ("ssn", "000-12-3456", "not a valid Social Security number"),
    ("dob", "02/30/1985", "doesn't exist in that month"),
    ("dob", "13/02/1985", "month must be a number from 1 to 12"),
    ("dob", "06/02/2027", "in the future"),
    ("dob", "06/02/85", "all four digits of the year"),
    ("dob", "01/01/2015", "at least 16 years old"),
    ("dob", "01/01/1890", "older than 120"),
    ("dob", "last tuesday", "couldn't read"),
    ("line1", "!!!", "needs at least one letter or digit"),
    ("city", "@@", "needs at least one letter or digit"),
    ("state", "ZZ", "don't recognise that as a U.S. state"),
    ("state", "Narnia", "don't recognise that as a U.S. state"),
    ("zip", "6270", "doesn't look like a U.S. ZIP code"),
    ("zip", "ABCDE", "doesn't look like a U.S. ZIP code"),
    ("zip", "00000", "isn't a real ZIP code"),
    ("phone", "12345", "10-digit U.S. mobile number"),
    ("phone", "call me", "doesn't look like a phone number"),
    ("phone", "+44 7911 123456", "Only U.S. mobile numbers"),
    ("username", "jr", "too short"),
    ("username", "85jrivera", "must start with a letter"),
    ("username", "j rivera 85", "can't contain spaces"),
    ("username", "jrivera#85", "character that isn't allowed"),
    ("password", "kettle7", "too short"),
    ("password", "password1", "commonly used passwords"),
    ("password", "Sunshine2024!", "commonly used passwords"),
    ("password", "my jrivera85 secret", "can't contain your username"),
    ("password", "JRIVERA85 forever and ever", "can't contain your username"),
    ("password", "rivera family picnic", "can't contain your name"),
    ("password", "jordan plays the drums", "can't contain your name"),
    ("password", "12345678", "simple pattern"),
    ("password", "SecureAccess2024", "name of this service or the IRS"),
    ("site_phrase", "ab", "shorter than 4 characters"),
]


def by_step(refusals):
    steps: dict[str, list[tuple[str, str]]] = {}
    for step, bad, explanation in refusals:
        steps.setdefault(step, []).append((bad, explanation))
    return steps


async def refuse_all(h, user, step, cases, person):
    """Each bad answer is explained, the same question comes back, and the step doesn't move;
    then the right answer moves on (only that one question was repeated)."""
    for bad, explanation in cases:
        replies = await user.send(bad)
        text = joined(replies)
        assert explanation in text, f"{bad!r} at {step}: {text!r}"
        assert asks(replies, step), f"the {step} question wasn't asked again after {bad!r}"
        assert await where(h, user) == ("registration", step)
    await answer_current(h, user, person)
    assert await where(h, user) != ("registration", step)


REFUSALS_BY_STEP = by_step(REFUSALS)


@pytest.mark.parametrize("step", list(REFUSALS_BY_STEP))
async def test_refused_answers_are_explained_and_the_question_repeated(harness, step):
    user = await harness.user(1101)
    await walk_to(harness, user, step)
    await refuse_all(harness, user, step, REFUSALS_BY_STEP[step], JORDAN_FULL)


# Refused answers abroad: the foreign-address steps (Priya's path).
ABROAD_REFUSALS = [
    ("country", "United States", "That's the United States"),
    ("country", "USA", "That's the United States"),
    ("country", "Atlantis", "don't recognise that country"),
    ("country", "Korea", "South Korea or North Korea"),
    ("postal_code", "!!", "2 to 10 characters"),
    ("postal_code", "ABCDEFGHIJKLMNOP", "2 to 10 characters"),
    ("province", "x" * 41, "longer than 40 characters"),
]
ABROAD_BY_STEP = by_step(ABROAD_REFUSALS)


async def test_refused_foreign_address_answers(harness):
    user = await harness.user(1102)
    for step in ("province", "postal_code", "country"):
        await walk_to(harness, user, step, PRIYA)
        await refuse_all(harness, user, step, ABROAD_BY_STEP[step], PRIYA)


SECRET_REFUSALS = [
    ("email_code", "12345"),
    ("ssn", "912-34-5678"),
    ("ssn", "12345"),
    ("dob", "02/30/1985"),
    ("phone", "+44 7911 123456"),
    ("password", "kettle7"),
]


async def test_refused_secrets_are_still_deleted(harness):
    """A wrong SSN, date, phone, password or code is as sensitive as a right one."""
    user = await harness.user(1103)
    for step, bad in SECRET_REFUSALS:
        await walk_to(harness, user, step)
        replies = await user.send(bad)
        assert user.user_message_ids[-1] in user.deleted, f"{bad!r} at {step} not deleted"
        assert "I deleted your message" in replies[0].text
        assert await where(harness, user) == ("registration", step)


async def test_email_code_with_letters_is_refused(harness):
    user = await harness.user(1104)
    await walk_to(harness, user, "email_code")
    replies = await user.send("12a456")
    assert "The code is 6 digits long" in joined(replies)
    assert asks(replies, "email_code")
    assert await where(harness, user) == ("registration", "email_code")


async def test_taken_username_is_refused_whatever_its_case(harness):
    jordan = await harness.user(1105)
    await register_fully(harness, jordan)

    priya = await harness.user(1106)
    await walk_to(harness, priya, "username", PRIYA)
    for taken in ("jrivera85", "JRivera85"):
        replies = await priya.send(taken)
        assert "That username is already taken" in joined(replies)
        assert asks(replies, "username")
        assert await where(harness, priya) == ("registration", "username")

    replies = await priya.send(PRIYA["username"])
    assert asks(replies, "password")


async def test_password_with_the_chosen_username_inside_is_refused_for_another_username(harness):
    """The username check follows the username actually chosen, not a fixed one."""
    user = await harness.user(1107)
    await walk_to(harness, user, "username")
    await user.send("heron.watcher")
    replies = await user.send("the heron.watcher flies")
    assert "can't contain your username" in joined(replies)
    assert await where(harness, user) == ("registration", "password")
    # and the person's own name is still refused there
    replies = await user.send("rivera copper drum")
    assert "can't contain your name" in joined(replies)


async def test_buttons_only_step_refuses_typed_text_but_accepts_a_typed_label(harness):
    user = await harness.user(1108)
    await walk_to(harness, user, "filing_status")

    replies = await user.send("married")
    assert "Please pick one of the buttons" in joined(replies)
    assert asks(replies, "filing_status")
    assert "Single" in user.last_buttons
    assert await where(harness, user) == ("registration", "filing_status")

    replies = await user.send("single")
    assert asks(replies, "addr_where")


async def test_review_refuses_typed_text(harness):
    user = await harness.user(1109)
    await walk_to(harness, user, "review")
    replies = await user.send("looks fine to me")
    assert "Please pick one of the buttons" in joined(replies)
    assert asks(replies, "review")
    assert "Everything matches – check it" in user.last_buttons
    assert await where(harness, user) == ("registration", "review")


async def test_site_phrase_equal_to_the_password_is_refused(harness):
    user = await harness.user(1110)
    await walk_to(harness, user, "site_phrase")
    replies = await user.send(JORDAN_FULL["password"])
    assert asks(replies, "site_phrase")
    assert await where(harness, user) == ("registration", "site_phrase")

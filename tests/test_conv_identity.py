"""The identity check: the review, generic mismatch, Change buttons, the attempt limit, abroad."""

from __future__ import annotations

from tests.test_conv_support import (
    JORDAN_FULL,
    PRIYA,
    SQLITE_ONLY,
    asks,
    joined,
    offers,
    walk_to,
    where,
)

pytestmark = SQLITE_ONLY

CHECK = "Everything matches – check it"
CHANGE_BUTTONS = ["Change name", "Change SSN", "Change date of birth", "Change filing status", "Change address"]
MISMATCH = "doesn't match"
PERSONAL = "Your SSN, date of birth or filing status doesn't match."


def mismatch_message(replies) -> str:
    found = [m.text for m in replies if MISMATCH in m.text and "Change button" in m.text]
    assert found, f"no mismatch explanation in {joined(replies)!r}"
    return found[0]


def without_tries(text: str) -> str:
    return text.split(" You have ")[0]


async def test_review_shows_the_answers_but_hides_ssn_and_birth_date(harness):
    user = await harness.user(1301)
    await walk_to(harness, user, "review")
    text = user.last_text
    assert asks(text, "review")
    assert "Name: Jordan Rivera" in text
    assert "SSN: provided (hidden)" in text
    assert "Date of birth: provided (hidden)" in text
    assert "Filing status: Single" in text
    assert "1234 Elm Street" in text and "Apartment 5B" in text and "Springfield, IL 62704" in text
    assert "7788" not in text and "1985" not in text
    assert offers(user, [CHECK, *CHANGE_BUTTONS])


async def test_wrong_birth_date_gives_generic_mismatch_then_change_fixes_it(harness):
    user = await harness.user(1302)
    await walk_to(harness, user, "review", {**JORDAN_FULL, "dob": "06/03/1985"})

    replies = await user.press(CHECK)
    explanation = mismatch_message(replies)
    # generic: SSN, date of birth and filing status are named together, never one of them alone
    assert PERSONAL in explanation
    assert "06/02/1985" not in explanation and "1985" not in explanation
    assert asks(replies, "review")
    assert offers(user, [CHECK, *CHANGE_BUTTONS])
    assert await where(harness, user) == ("registration", "review")

    replies = await user.press("Change date of birth")
    assert asks(replies, "dob")
    assert await where(harness, user) == ("registration", "dob")
    replies = await user.send(JORDAN_FULL["dob"])
    # straight back to the review, not on to the filing status
    assert asks(replies, "review")
    assert await where(harness, user) == ("registration", "review")

    replies = await user.press(CHECK)
    assert "Your identity details match the records." in joined(replies)
    assert asks(replies, "fin_kind")
    assert await where(harness, user) == ("registration", "fin_kind")


async def test_wrong_zip_then_change_address_walks_the_address_again(harness):
    user = await harness.user(1303)
    await walk_to(harness, user, "review", {**JORDAN_FULL, "zip": "62705"})
    assert "62705" in user.last_text

    explanation = mismatch_message(await user.press(CHECK))
    assert "doesn't match in the ZIP or postal code" in explanation
    assert "62704" not in explanation, "the record's ZIP code must not be revealed"
    assert PERSONAL not in explanation

    replies = await user.press("Change address")
    assert asks(replies, "addr_where")
    await user.press("A U.S. address")
    await user.send(JORDAN_FULL["line1"])
    await user.send(JORDAN_FULL["line2"])
    await user.send(JORDAN_FULL["city"])
    await user.send(JORDAN_FULL["state"])
    replies = await user.send("62704")
    assert asks(replies, "review")
    assert "62704" in replies[-1].text and "62705" not in replies[-1].text

    replies = await user.press(CHECK)
    assert "match the records" in joined(replies)
    assert await where(harness, user) == ("registration", "fin_kind")


async def test_change_name_asks_first_and_last_name_then_returns_to_review(harness):
    user = await harness.user(1304)
    await walk_to(harness, user, "review", {**JORDAN_FULL, "last_name": "Riviera"})
    mismatch_message(await user.press(CHECK))

    replies = await user.press("Change name")
    assert asks(replies, "first_name")
    replies = await user.send("Jordan")
    assert asks(replies, "last_name")
    replies = await user.send("Rivera")
    assert asks(replies, "review"), "the email step must not be asked again"
    assert "Name: Jordan Rivera" in replies[-1].text
    assert "match the records" in joined(await user.press(CHECK))


async def test_change_filing_status_and_ssn_return_to_review(harness):
    user = await harness.user(1305)
    wrong = {**JORDAN_FULL, "filing_status": "Head of household", "ssn": "401-22-7789"}
    await walk_to(harness, user, "review", wrong)
    mismatch_message(await user.press(CHECK))

    replies = await user.press("Change filing status")
    assert asks(replies, "filing_status")
    replies = await user.press("Single")
    assert asks(replies, "review")
    assert "Filing status: Single" in replies[-1].text
    mismatch_message(await user.press(CHECK))  # the SSN is still wrong

    replies = await user.press("Change SSN")
    assert asks(replies, "ssn")
    replies = await user.send(JORDAN_FULL["ssn"])
    assert asks(replies, "review")
    assert "match the records" in joined(await user.press(CHECK))


async def test_address_written_differently_still_matches(harness):
    """Street/St, Apartment/Apt, ZIP+4, full state name and case don't matter."""
    user = await harness.user(1306)
    variant = {
        **JORDAN_FULL,
        "line1": "1234 elm street",
        "line2": "apt 5b",
        "city": "SPRINGFIELD",
        "state": "Illinois",
        "zip": "62704-1234",
    }
    await walk_to(harness, user, "review", variant)
    replies = await user.press(CHECK)
    assert "match the records" in joined(replies)


async def test_tries_left_shown_from_the_second_mismatch(harness):
    user = await harness.user(1307)
    await walk_to(harness, user, "review", {**JORDAN_FULL, "zip": "62705"})

    first = mismatch_message(await user.press(CHECK))
    assert "left" not in first
    assert "You have 3 tries left." in mismatch_message(await user.press(CHECK))
    assert "You have 2 tries left." in mismatch_message(await user.press(CHECK))
    assert "You have 1 try left." in mismatch_message(await user.press(CHECK))


async def test_identity_pause_follows_the_ssn_into_another_chat(harness):
    first = await harness.user(1309)
    await walk_to(harness, first, "review", {**JORDAN_FULL, "dob": "06/03/1985"})
    for _ in range(5):
        mismatch_message(await first.press(CHECK))

    second = await harness.user(1310)
    await walk_to(harness, second, "review")
    replies = await second.press(CHECK)
    assert "too many identity checks for this SSN" in joined(replies)
    assert await where(harness, second) == ("registration", "review")


async def test_wrong_ssn_birth_date_or_status_cannot_be_told_apart(harness):
    """Whether the SSN is unknown, the date wrong or the status wrong, the answer is the same."""
    answers = []
    for chat, wrong in (
        (1311, {"ssn": "401-22-7789"}),
        (1314, {"dob": "06/03/1985"}),
        (1315, {"filing_status": "Married filing separately"}),
    ):
        user = await harness.user(chat)
        await walk_to(harness, user, "review", {**JORDAN_FULL, **wrong})
        answers.append(without_tries(mismatch_message(await user.press(CHECK))))
        assert await where(harness, user) == ("registration", "review")
    assert PERSONAL in answers[0]
    assert answers[0] == answers[1] == answers[2]


async def test_wrong_name_is_explained_as_the_name(harness):
    user = await harness.user(1316)
    await walk_to(harness, user, "review", {**JORDAN_FULL, "first_name": "Jordon"})
    explanation = mismatch_message(await user.press(CHECK))
    assert "The name doesn't match" in explanation
    assert "Jordan" not in explanation, "the record's name must not be revealed"


async def test_priya_return_address_fails_but_record_city_canada_matches(harness):
    user = await harness.user(1312)
    toronto = {**PRIYA, "city": "Toronto"}
    await walk_to(harness, user, "review", toronto)
    text = user.last_text
    assert "100 King St W" in text and "Toronto ON M5V 2T6" in text and "CA" in text

    replies = await user.press(CHECK)
    explanation = mismatch_message(replies)
    assert "doesn't match in the city" in explanation
    assert "Try typing your country's name (for example Canada) as the city" in explanation
    assert await where(harness, user) == ("registration", "review")

    replies = await user.press("Change address")
    assert asks(replies, "addr_where")
    await user.press("An address outside the U.S.")
    await user.send(PRIYA["line1"])
    await user.send(PRIYA["line2"])
    replies = await user.send("Canada")
    assert asks(replies, "province")
    await user.send("ON")
    replies = await user.send("M5V 2T6")
    assert asks(replies, "country")
    replies = await user.send("Canada")
    assert asks(replies, "review")

    replies = await user.press(CHECK)
    assert "Your identity details match the records." in joined(replies)
    assert await where(harness, user) == ("registration", "fin_kind")


async def test_abroad_province_and_postal_code_can_be_skipped(harness):
    user = await harness.user(1313)
    await walk_to(harness, user, "province", PRIYA)
    replies = await user.press("Skip – none on the return")
    assert asks(replies, "postal_code")
    replies = await user.press("Skip – none on the return")
    assert asks(replies, "country")
    replies = await user.send("CA")
    assert asks(replies, "review")
    # without the province and postal code of the record, it doesn't match
    mismatch_message(await user.press(CHECK))


async def test_priya_can_take_the_country_as_city_suggestion(harness):
    user = await harness.user(1317)
    await walk_to(harness, user, "review", {**PRIYA, "city": "Toronto"})
    mismatch_message(await user.press(CHECK))
    offers(user, ["Country name as the city"])
    replies = await user.press("Country name as the city")
    assert "Your identity details match the records." in joined(replies)
    assert await where(harness, user) == ("registration", "fin_kind")

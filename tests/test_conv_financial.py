"""The financial account check: refused cards before any digits, wrong digits, freeze, loans."""

from __future__ import annotations

from tests.test_conv_support import (
    JORDAN_FULL,
    LEE,
    SAM,
    SQLITE_ONLY,
    asks,
    joined,
    offers,
    walk_to,
    where,
)

pytestmark = SQLITE_ONLY

KINDS = [
    "Credit card",
    "Home mortgage loan",
    "Home equity loan (second mortgage)",
    "Home equity line of credit (HELOC)",
    "Car loan",
]


def no_digits_asked(replies) -> bool:
    return not any("last eight digits" in m.text for m in replies)


async def test_account_kinds_offered(harness):
    user = await harness.user(1401)
    await walk_to(harness, user, "fin_kind")
    assert asks(user.last_text, "fin_kind")
    assert "soft inquiry" in user.last_text
    assert offers(user, KINDS)


async def test_american_express_refused_before_any_digits(harness):
    user = await harness.user(1402)
    await walk_to(harness, user, "fin_kind")
    replies = await user.press("Credit card")
    assert asks(replies, "card_network")
    assert "American Express" in user.last_buttons

    replies = await user.press("American Express")
    assert "American Express cards can't be used" in joined(replies)
    assert no_digits_asked(replies)
    assert asks(replies, "fin_kind")
    assert offers(user, KINDS)
    assert "American Express" not in user.last_buttons
    assert await where(harness, user) == ("registration", "fin_kind")


async def test_lee_amex_refused_then_heloc_accepted(harness):
    """Lee's only card is an American Express: the HELOC works instead."""
    user = await harness.user(1403)
    await walk_to(harness, user, "fin_kind", LEE)
    await user.press("Credit card")
    replies = await user.press("American Express")
    assert "can't be used" in joined(replies)
    await user.press("Home equity line of credit (HELOC)")
    replies = await user.send("7766 5544")
    assert "Your financial account checks out" in joined(replies)
    assert await where(harness, user) == ("registration", "phone")


async def test_debit_and_company_cards_refused_before_any_digits(harness):
    user = await harness.user(1404)
    await walk_to(harness, user, "fin_kind")
    await user.press("Credit card")
    replies = await user.press("Visa")
    assert asks(replies, "card_kind")
    replies = await user.press("Debit card")
    assert "Debit cards aren't credit accounts" in joined(replies)
    assert no_digits_asked(replies)
    assert asks(replies, "fin_kind")
    assert offers(user, KINDS)
    assert "American Express" not in user.last_buttons
    assert await where(harness, user) == ("registration", "fin_kind")

    await user.press("Credit card")
    await user.press("Mastercard")
    replies = await user.press("Company card issued in my name")
    assert "belongs to the company's account" in joined(replies)
    assert no_digits_asked(replies)
    assert asks(replies, "fin_kind")
    assert await where(harness, user) == ("registration", "fin_kind")


async def test_wrong_digits_explained_and_asked_again(harness):
    user = await harness.user(1406)
    await walk_to(harness, user, "fin_digits")
    replies = await user.send("1111 1111")
    text = joined(replies)
    assert "Those digits don't match an account of this kind in your name" in text
    assert asks(replies, "fin_digits")
    assert "Use a different account" in user.last_buttons
    assert await where(harness, user) == ("registration", "fin_digits")

    replies = await user.press("Use a different account")
    assert asks(replies, "fin_kind")
    assert await where(harness, user) == ("registration", "fin_kind")
    await walk_to(harness, user, "fin_digits")
    replies = await user.send(JORDAN_FULL["last8"])
    assert "Your financial account checks out. The number has not been kept." in joined(replies)
    assert asks(replies, "phone")


async def test_financial_tries_left_and_pause(harness):
    user = await harness.user(1407)
    await walk_to(harness, user, "fin_digits")
    texts = [joined(await user.send("1111 1111")) for _ in range(5)]
    assert "left" not in texts[0]
    assert "You have 3 tries left." in texts[1]
    assert "You have 1 try left." in texts[3]
    replies = await user.send(JORDAN_FULL["last8"])
    assert "too many account checks" in joined(replies)
    assert "paused until" in joined(replies)
    assert await where(harness, user) == ("registration", "fin_digits")


async def test_whole_card_number_refused_only_last_eight_wanted(harness):
    user = await harness.user(1408)
    await walk_to(harness, user, "fin_digits")
    replies = await user.send("4111 1111 2222 3333")
    text = joined(replies)
    assert "looks like a whole card or account number" in text
    assert "only the last 8 digits" in text
    assert user.user_message_ids[-1] in user.deleted
    assert asks(replies, "fin_digits")
    assert await where(harness, user) == ("registration", "fin_digits")

    replies = await user.send("123")
    assert "card security code" in joined(replies)
    assert await where(harness, user) == ("registration", "fin_digits")


async def test_mortgage_path_asks_no_card_questions(harness):
    user = await harness.user(1412)
    await walk_to(harness, user, "fin_kind")
    replies = await user.press("Home mortgage loan")
    text = joined(replies)
    assert "network" not in text and "What kind of card" not in text
    assert asks(replies, "fin_digits")
    assert "home mortgage loan account number" in replies[-1].text
    assert "(from a statement)" in replies[-1].text

    replies = await user.send("98765432")
    assert "checks out" in joined(replies)
    assert user.user_message_ids[-1] in user.deleted
    assert "(I deleted your message because it held account digits" in replies[0].text
    assert await where(harness, user) == ("registration", "phone")


async def test_card_digits_checked_against_the_account_kind(harness):
    """The mortgage's digits don't pass as a credit card."""
    user = await harness.user(1413)
    await walk_to(harness, user, "fin_digits")  # Jordan's Visa
    replies = await user.send("98765432")
    assert "don't match" in joined(replies)
    assert await where(harness, user) == ("registration", "fin_digits")


async def test_sam_credit_freeze_explained_and_retry_returns_to_digits(harness, tmp_path):
    user = await harness.user(1414)
    await walk_to(harness, user, "fin_digits", SAM)
    assert "car loan account number" in user.last_text

    replies = await user.send(SAM["last8"])
    text = joined(replies)
    assert "security freeze" in text and "Experian" in text
    assert "Everything you've done so far is saved" in text
    assert await where(harness, user) == ("registration", "freeze_hold")
    assert offers(user, ["The freeze is lifted – try again", "Use a different account"])

    replies = await user.press("The freeze is lifted – try again")
    assert asks(replies, "fin_digits")
    assert await where(harness, user) == ("registration", "fin_digits")

    # still frozen: the same explanation again
    replies = await user.send(SAM["last8"])
    assert "security freeze" in joined(replies)
    assert await where(harness, user) == ("registration", "freeze_hold")

    # Sam lifts the freeze; the records now say so
    lifted = tmp_path / "sam.yaml"
    lifted.write_text(
        """\
taxpayers:
  - ssn: "403-44-5566"
    first_name: Sam
    last_name: Okafor
    date_of_birth: "1990-11-30"
    filing_status: head_of_household
    address: {line1: "77 Harbor Rd", line2: "", city: Portland, state: ME, postal_code: "04101", country: US}
    credit_freeze: false
    financial_accounts:
      - {type: auto_loan, number: "AL-55501234"}
    phones:
      - {number: "+12075550111", text_enabled: true}
""",
        encoding="utf-8",
    )
    await harness.import_records(lifted)
    await user.press("The freeze is lifted – try again")
    replies = await user.send(SAM["last8"])
    assert "checks out" in joined(replies)
    assert await where(harness, user) == ("registration", "phone")


async def test_freeze_hold_offers_a_different_account(harness):
    user = await harness.user(1415)
    await walk_to(harness, user, "fin_digits", SAM)
    await user.send(SAM["last8"])
    replies = await user.press("Use a different account")
    assert asks(replies, "fin_kind")
    replies = await user.send("the freeze is gone")
    assert "Please pick one of the buttons" in joined(replies)

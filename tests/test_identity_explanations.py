"""Identity mismatches explained by category, with one-tap address variants (never the record)."""

from __future__ import annotations

from tests.journeys import JORDAN, to_identity

PRIYA = {
    **JORDAN,
    "first_name": "Priya",
    "last_name": "Natarajan",
    "email": "priya@example.com",
    "ssn": "402-33-4455",
    "dob": "1979-03-14",
    "filing_status": "Married filing jointly",
}


async def enter_toronto(h, user):
    await to_identity(h, user, PRIYA)
    await user.send(PRIYA["ssn"])
    await user.send(PRIYA["dob"])
    await user.press(PRIYA["filing_status"])
    await user.press("An address outside the U.S.")
    await user.send("100 King Street West")
    await user.send("Apt 1203")
    await user.send("Toronto")
    await user.send("ON")
    await user.send("M5V 2T6")
    await user.send("Canada")


async def test_abroad_address_explained_and_variant_matches(harness):
    user = await harness.user(5001)
    await enter_toronto(harness, user)
    replies = await user.press("Everything matches – check it")
    text = "\n".join(m.text for m in replies)
    assert "address you entered doesn't match in the city" in text
    assert "country" in text.lower()  # the likely convention is named
    assert "CANADA" not in text  # the record's own value is never quoted
    variant = [label for label in user.last_buttons if "country" in label.lower()]
    assert variant, user.last_buttons
    replies = await user.press(variant[0])
    text = "\n".join(m.text for m in replies)
    assert "match the records" in text
    assert await harness.engine.where(5001) == ("registration", "fin_kind")


async def test_personal_details_hint_without_naming_the_field(harness):
    user = await harness.user(5002)
    await to_identity(harness, user, PRIYA)
    await user.send(PRIYA["ssn"])
    await user.send("03/15/1979")  # a day off
    await user.press(PRIYA["filing_status"])
    await user.press("An address outside the U.S.")
    for answer in ("100 King Street West", "Apt 1203", "Canada", "ON", "M5V 2T6", "CA"):
        await user.send(answer)
    replies = await user.press("Everything matches – check it")
    text = "\n".join(m.text for m in replies)
    assert "SSN, date of birth or filing status doesn't match" in text
    assert "address you entered" not in text


async def test_equivalent_us_address_forms_match_silently(harness):
    user = await harness.user(5003)
    jordan = {**JORDAN, "line1": "1234 ELM STREET APARTMENT 5B", "line2": "", "zip": "62704-1234"}
    await to_identity(harness, user, jordan)
    await user.send(jordan["ssn"])
    await user.send("1985-06-02")
    await user.press("Single")
    await user.press("A U.S. address")
    await user.send(jordan["line1"])
    await user.press("Skip – there is no line 2")
    await user.send("springfield")
    await user.send("Illinois")
    await user.send(jordan["zip"])
    replies = await user.press("Everything matches – check it")
    assert "match the records" in "\n".join(m.text for m in replies)

"""The day's letters exported for printing (CSV and PDF).

The mail-path conversations themselves are transcripts: tests/transcripts/mail/ and
tests/transcripts/e_services/. The helpers here are shared by other test files."""

from __future__ import annotations

import re

from tests.journeys import JORDAN, finish_by_mail, to_phone

LEE = {
    **JORDAN,
    "first_name": "Lee",
    "last_name": "Chen",
    "email": "lee.chen@example.com",
    "ssn": "404-55-6677",
    "dob": "1972-01-09",
    "filing_status": "Married filing separately",
    "line1": "500 Market Street",
    "line2": "Unit 12",
    "city": "San Francisco",
    "state": "CA",
    "zip": "94105",
    "account_kind": "Home equity line of credit (HELOC)",
    "last8": "77665544",
    "phone": "(415) 555-0199",
    "username": "leechen72",
}


async def register_by_mail(h, user, p=LEE):
    await to_phone(h, user, p)
    replies = await user.send(p["phone"])
    assert any("isn't listed in your name" in m.text for m in replies)
    return await finish_by_mail(user, p)


async def letter_code(h) -> str:
    for message in reversed(await h.outbox()):
        if message.channel == "mail":
            return re.search(r"activation code: (\d{6})", message.body).group(1)
    raise AssertionError("no letter sent")


async def sign_in(user, p=LEE):
    await user.command("login")
    await user.send(p["username"])
    return await user.send(p["password"])


async def test_letters_export_csv_and_pdf(harness):
    import csv
    import io

    from bot.letters import letters_for_day, to_csv, to_pdf

    user = await harness.user(2010)
    await register_by_mail(harness, user)
    day = harness.clock.now().astimezone(__import__("zoneinfo").ZoneInfo("America/New_York")).date()
    found = await letters_for_day(harness.services, day)
    assert len(found) == 1
    rows = list(csv.DictReader(io.StringIO(to_csv(found))))
    assert rows[0]["recipient"] == "Lee Chen"
    assert "San Francisco" in rows[0]["address_lines"]
    assert re.search(r"\d{6}", rows[0]["body"])
    pdf = to_pdf(found)
    assert pdf.startswith(b"%PDF") and len(pdf) > 800

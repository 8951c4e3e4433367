"""Activation code by mail, finishing with a letter, the authenticator app, e-Services users."""

from __future__ import annotations

import re

from flows import authenticator
from tests.journeys import JORDAN, register, to_phone

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
    await user.press("Send me the code by mail")
    await user.send(p["username"])
    await user.send(p["password"])
    await user.send(p["phrase"])
    await user.press(p["image"])
    await user.press("What was the name of your first pet?")
    await user.send("Biscuit")
    await user.press("Where was your first job?")
    return await user.send("the corner bakery")


async def letter_code(h) -> str:
    for message in reversed(await h.outbox()):
        if message.channel == "mail":
            return re.search(r"activation code: (\d{6})", message.body).group(1)
    raise AssertionError("no letter sent")


async def sign_in(user, p=LEE):
    await user.command("login")
    await user.send(p["username"])
    return await user.send(p["password"])


async def test_mail_path_letter_then_phone(harness):
    user = await harness.user(2001)
    replies = await register_by_mail(harness, user)
    text = "\n".join(m.text for m in replies)
    assert "in the mail" in text and "business days" in text
    letters = [m for m in await harness.outbox() if m.channel == "mail"]
    assert len(letters) == 1
    assert "Lee Chen" in letters[0].to and "San Francisco" in letters[0].to
    assert "30 days" in letters[0].body
    assert await harness.engine.where(2001) == ("home", "awaiting_letter")

    harness.clock.advance(days=7)
    replies = await sign_in(user)
    assert "letter" in user.last_text
    await user.send(await letter_code(harness))
    assert "security code" in user.last_text
    await user.press("Text messages to a phone")
    await user.send("(415) 555-0199")  # a work phone is fine now
    replies = await user.send(await harness.last_code("sms", "+14155550199"))
    assert "registration is complete" in "\n".join(m.text for m in replies)
    assert await harness.engine.where(2001) == ("home", "signed_in")


async def test_mail_path_with_authenticator_app_and_replay(harness):
    user = await harness.user(2002)
    await register_by_mail(harness, user)
    await sign_in(user)
    await user.send(await letter_code(harness))
    replies = await user.press("An authenticator app")
    photo = [m for m in replies if m.photo]
    assert photo and photo[0].protect_content
    key = re.search(r"by hand: ([A-Z2-7 ]+)", user.last_text or "\n".join(m.text for m in replies))
    text = "\n".join(m.text for m in replies)
    key = re.search(r"by hand: ([A-Z2-7 ]+)\n", text).group(1).replace(" ", "")
    replies = await user.send(authenticator.code_at(key, harness.clock.now()))
    assert "authenticator app is set up" in "\n".join(m.text for m in replies)

    await user.command("logout")
    await sign_in(user)
    assert "authenticator" in user.last_text
    code = authenticator.code_at(key, harness.clock.now())
    replies = await user.send(code)
    assert "already used" in "\n".join(m.text for m in replies)
    harness.clock.advance(seconds=30)
    replies = await user.send(authenticator.code_at(key, harness.clock.now()))
    assert await harness.engine.where(2002) == ("home", "signed_in")


async def test_letter_code_expires_and_new_letter(harness):
    user = await harness.user(2003)
    await register_by_mail(harness, user)
    old = await letter_code(harness)
    harness.clock.advance(days=31)
    await sign_in(user)
    assert "no longer valid" in user.last_text
    replies = await user.send(old)
    assert "expired" in "\n".join(m.text for m in replies)
    replies = await user.press("Send me a new letter")
    assert "new letter is on its way" in "\n".join(m.text for m in replies)
    new = await letter_code(harness)
    replies = await user.send(new)
    assert "accepted" in "\n".join(m.text for m in replies)


async def test_existing_e_services_user_upgrades(harness):
    pat = {
        **JORDAN,
        "first_name": "Pat",
        "last_name": "Morgan",
        "account_kind": "Home equity loan (second mortgage)",
        "last8": "20001234",
        "phone": "(512) 555-0177",
    }
    user = await harness.user(2004)
    await user.command("login")
    await user.send("pmorgan")
    replies = await user.send("old e-services password")
    text = "\n".join(m.text for m in replies)
    assert "hasn't moved to Secure Access" in text and "permanent" in text
    await user.press(pat["account_kind"])
    await user.send(pat["last8"])
    await user.send(pat["phone"])
    await user.send(await harness.last_code("sms", "+15125550177"))
    assert "password" in user.last_text.lower()
    await user.send("a brand new river stone")
    await user.send("morning tea")
    replies = await user.press("🌵 Cactus")
    assert "pmorgan" in "\n".join(m.text for m in replies)
    await user.command("login")
    await user.send("PMorgan")
    await user.send("a brand new river stone")
    replies = await user.send(await harness.last_code("sms", "+15125550177"))
    assert await harness.engine.where(2004) == ("home", "signed_in")


async def test_personal_account_merges_into_e_services_username(harness, tmp_path):
    # Pat first registers a personal account (with another username), then signs in with e-Services.
    pat = {
        **JORDAN,
        "first_name": "Pat",
        "last_name": "Morgan",
        "email": "pat@example.com",
        "ssn": "405-66-7788",
        "dob": "1968-08-21",
        "filing_status": "Qualifying surviving spouse",
        "line1": "9 Oak Avenue",
        "line2": "",
        "city": "Austin",
        "state": "TX",
        "zip": "78701",
        "account_kind": "Credit card",
        "network": "Discover",
        "last8": "99998888",
        "phone": "(512) 555-0177",
        "username": "patpersonal",
        "password": "violet harbor lantern",
    }
    user = await harness.user(2005)
    await register(harness, user, pat)
    await user.command("login")
    await user.send("pmorgan")
    replies = await user.send("old e-services password")
    text = "\n".join(m.text for m in replies)
    assert "are now one" in text and "pmorgan" in text
    await user.send(await harness.last_code("sms", "+15125550177"))
    assert await harness.engine.where(2005) == ("home", "signed_in")
    await user.command("logout")
    await user.command("login")
    await user.send("pmorgan")
    await user.send("violet harbor lantern")  # the Secure Access password stays
    await user.send(await harness.last_code("sms", "+15125550177"))
    assert await harness.engine.where(2005) == ("home", "signed_in")


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


async def test_letter_reminder_and_letter_limits(harness):
    user = await harness.user(2011)
    await register_by_mail(harness, user)
    harness.clock.advance(days=13)
    assert await harness.engine.tick() == []
    harness.clock.advance(days=2)
    notices = await harness.engine.tick()
    assert [n.chat_id for n in notices] == [2011]
    assert "more days" in notices[0].text
    assert await harness.engine.tick() == []  # once only

    await sign_in(user)
    # one letter a day at most
    await user.press("Send me a new letter")
    replies = await user.press("Send me a new letter")
    assert "very recently" in "\n".join(m.text for m in replies)
    # at most four in 30 days
    for _ in range(2):
        harness.clock.advance(hours=25)
        replies = await user.press("Send me a new letter")
        assert "on its way" in "\n".join(m.text for m in replies)
    harness.clock.advance(hours=25)
    replies = await user.press("Send me a new letter")
    assert "most letters allowed" in "\n".join(m.text for m in replies)

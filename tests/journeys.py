"""Reusable conversation journeys: a user walking through the registration as a person would."""

from __future__ import annotations

JORDAN = {
    "first_name": "Jordan",
    "last_name": "Rivera",
    "email": "jordan.rivera@example.com",
    "ssn": "401-22-7788",
    "dob": "06/02/1985",
    "filing_status": "Single",
    "line1": "1234 Elm Street",
    "line2": "Apartment 5B",
    "city": "Springfield",
    "state": "IL",
    "zip": "62704",
    "account_kind": "Credit card",
    "network": "Visa",
    "card_kind": "Personal credit card",
    "last8": "2222 3333",
    "phone": "(217) 555-0123",
    "username": "jrivera85",
    "password": "copper kettle mountain drum",
    "phrase": "blue heron at dawn",
    "image": "🦉 Owl",
}


async def to_email_code(h, user, p=JORDAN):
    await user.command("start")
    await user.press("Begin registration")
    await user.send(p["first_name"])
    await user.send(p["last_name"])
    await user.send(p["email"])


async def to_identity(h, user, p=JORDAN):
    await to_email_code(h, user, p)
    await user.send(await h.last_code("email", p["email"]))


async def to_review(h, user, p=JORDAN):
    await to_identity(h, user, p)
    await user.send(p["ssn"])
    await user.send(p["dob"])
    await user.press(p["filing_status"])
    await user.press("A U.S. address")
    await user.send(p["line1"])
    if p.get("line2"):
        await user.send(p["line2"])
    else:
        await user.press("Skip – there is no line 2")
    await user.send(p["city"])
    await user.send(p["state"])
    await user.send(p["zip"])


async def to_financial(h, user, p=JORDAN):
    await to_review(h, user, p)
    await user.press("Everything matches – check it")


async def to_phone(h, user, p=JORDAN):
    await to_financial(h, user, p)
    await user.press(p["account_kind"])
    if p["account_kind"] == "Credit card":
        await user.press(p["network"])
        await user.press(p["card_kind"])
    await user.send(p["last8"])


async def to_username(h, user, p=JORDAN):
    await to_phone(h, user, p)
    await user.send(p["phone"])
    await user.send(await h.last_code("sms"))


async def register(h, user, p=JORDAN):
    await to_username(h, user, p)
    await user.send(p["username"])
    await user.send(p["password"])
    await user.send(p["phrase"])
    return await user.press(p["image"])

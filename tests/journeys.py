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


async def start_registration(user):
    await user.command("start")
    return await user.press("Begin registration")


async def name_and_email(user, p=JORDAN):
    """Answer the name and email questions; the replies to the email are returned."""
    await user.send(p["first_name"])
    await user.send(p["last_name"])
    return await user.send(p["email"])


async def identity_and_address(user, p=JORDAN):
    """Answer from the SSN to the address's last part; ``p["abroad"]`` picks the address abroad."""
    await user.send(p["ssn"])
    await user.send(p["dob"])
    await user.press(p["filing_status"])
    await user.press("An address outside the U.S." if p.get("abroad") else "A U.S. address")
    await user.send(p["line1"])
    if p.get("line2"):
        await user.send(p["line2"])
    else:
        await user.press("Skip – there is no line 2")
    await user.send(p["city"])
    parts = ("province", "postal_code", "country") if p.get("abroad") else ("state", "zip")
    for part in parts:
        await user.send(p[part])


async def financial_account(user, p=JORDAN):
    await user.press(p["account_kind"])
    if p["account_kind"] == "Credit card":
        await user.press(p["network"])
        await user.press(p["card_kind"])
    return await user.send(p["last8"])


async def sign_in_details(user, p=JORDAN):
    for typed in ("username", "password", "phrase"):
        await user.send(p[typed])
    return await user.press(p["image"])


async def finish_by_mail(user, p=JORDAN):
    """From the phone step's way out: the code by mail, sign-in details and two secret questions."""
    await user.press("Send me the code by mail")
    await sign_in_details(user, p)
    await user.press("What was the name of your first pet?")
    await user.send("Biscuit")
    await user.press("Where was your first job?")
    return await user.send("the corner bakery")


async def to_email_code(h, user, p=JORDAN):
    await start_registration(user)
    return await name_and_email(user, p)


async def to_identity(h, user, p=JORDAN):
    await to_email_code(h, user, p)
    await user.send(await h.last_code("email", p["email"]))


async def to_review(h, user, p=JORDAN):
    await to_identity(h, user, p)
    await identity_and_address(user, p)


async def to_financial(h, user, p=JORDAN):
    await to_review(h, user, p)
    await user.press("Everything matches – check it")


async def to_phone(h, user, p=JORDAN):
    await to_financial(h, user, p)
    await financial_account(user, p)


async def to_username(h, user, p=JORDAN):
    await to_phone(h, user, p)
    await user.send(p["phone"])
    await user.send(await h.last_code("sms"))


async def register(h, user, p=JORDAN):
    await to_username(h, user, p)
    return await sign_in_details(user, p)

"""Helpers for the firm admin tests: a firm, an invitation, a hire opening it."""

from __future__ import annotations

import csv
import io
import re

from bot.firms import create_firm
from tests.journeys import JORDAN

SAM = {  # a credit freeze at Experian (demo records)
    **JORDAN,
    "first_name": "Sam",
    "last_name": "Okafor",
    "email": "sam.okafor@example.com",
    "ssn": "403-44-5566",
    "dob": "11/30/1990",
    "filing_status": "Head of household",
    "line1": "77 Harbor Rd",
    "line2": "",
    "city": "Portland",
    "state": "ME",
    "zip": "04101",
    "account_kind": "Car loan",
    "last8": "55501234",
    "phone": "(207) 555-0111",
    "username": "sokafor90",
}

LINK = re.compile(r"https://t\.me/(\w+)\?start=([A-Za-z0-9_-]+)")


def joined(replies) -> str:
    return "\n".join(m.text for m in replies)


async def firm_with_admin(h, name: str, admin_id: int):
    """A firm created the way the operator does it (`sabot firm create`), and its admin's chat."""
    firm = await create_firm(h.services, name, admin_id)
    return firm, await h.user(admin_id)


async def invite(admin, name: str, email: str | None = None) -> str:
    """The admin invites ``name``; returns the invitation token from the link they get."""
    await admin.command("invite")
    await admin.send(name)
    replies = await admin.send(email) if email else await admin.press("Skip – no email")
    found = LINK.search(joined(replies))
    assert found, joined(replies)
    return found.group(2)


async def hire_data(admin, name: str) -> str:
    """The callback data of ``name``'s button on the admin's /team roster."""
    await admin.command("team")
    message = next(m for m in reversed(admin.history) if m.buttons)
    for labels, datas in zip(message.buttons, message.button_data):
        for label, data in zip(labels, datas):
            if label.startswith(name):
                return data
    raise AssertionError(f"{name} not on the roster: {message.labels}")


async def team_text(admin) -> str:
    replies = await admin.command("team")
    return joined(replies)


def admin_notices(notices, chat_id: int) -> list[str]:
    return [n.text for n in notices if n.chat_id == chat_id]


def read_csv(h, message) -> list[dict]:
    data = h.api.files[message.document_id].decode("utf-8-sig")
    return list(csv.DictReader(io.StringIO(data)))


# -- a registration in parts, so a test can look at the roster in between -------------------------


async def email_part(h, user, p=JORDAN):
    await user.press("Begin registration")
    await user.send(p["first_name"])
    await user.send(p["last_name"])
    await user.send(p["email"])
    return await user.send(await h.last_code("email", p["email"]))


async def identity_part(h, user, p=JORDAN):
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
    return await user.press("Everything matches – check it")


async def financial_part(h, user, p=JORDAN):
    await user.press(p["account_kind"])
    if p["account_kind"] == "Credit card":
        await user.press(p["network"])
        await user.press(p["card_kind"])
    return await user.send(p["last8"])


async def phone_part(h, user, p=JORDAN):
    await user.send(p["phone"])
    return await user.send(await h.last_code("sms"))


async def sign_in_details_part(h, user, p=JORDAN):
    await user.send(p["username"])
    await user.send(p["password"])
    await user.send(p["phrase"])
    return await user.press(p["image"])

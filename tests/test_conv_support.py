"""Shared helpers for the conversation tests (``tests/test_conv_*.py``) and one check of them.

``walk_to`` answers whatever the bot is currently asking, the way the given person would, until
the conversation reaches the wanted registration step. It fails loudly if an answer is refused, so
the journeys double as happy-path checks for the demo people.
"""

from __future__ import annotations

import pytest

from tests.journeys import JORDAN
from tests.test_mail_path import LEE as MAIL_PATH_LEE

# What each question starts with (or contains), to check that the same question is asked again.
PROMPTS = {
    "welcome": "Hello! I'll register you",
    "registered": "Your account is ready",
    "signed_in": "You're signed in as",
    "first_name": "What is your first name",
    "last_name": "And your last name",
    "email": "What email address can you open right now?",
    "email_code": "Type the six-digit confirmation code",
    "ssn": "Now your Social Security number",
    "dob": "What is your date of birth?",
    "filing_status": "Which filing status did you use",
    "addr_where": "Was it a U.S. address or one abroad?",
    "line1": "Address line 1",
    "line2": "Address line 2",
    "city": "City, as on the return",
    "state": "State (two-letter code or full name)",
    "zip": "ZIP code (five digits, or ZIP+4)",
    "province": "Province, state or region",
    "postal_code": "Postal code, as on the return",
    "country": "Country (name or two-letter code)",
    "review": "Please check these details against your last-filed return",
    "fin_kind": "Which kind of account will you use?",
    "card_network": "Which network is the card on?",
    "card_kind": "What kind of card is it?",
    "fin_digits": "Type the last eight digits",
    "freeze_hold": "has a security freeze",
    "phone": "What is your mobile phone number?",
    "no_phone": "you can get the activation code by mail instead",
    "phone_code": "Type the six-digit activation code",
    "username": "Choose a username",
    "password": "Now a password",
    "site_phrase": "Pick a site phrase",
    "site_image": "choose a site image",
    "login_username": "What is your username?",
    "login_password": "And your password?",
    "login_code": "Type the six-digit security code",
}

#: Runs a test (or, as ``pytestmark``, a module) on sqlite alone, overriding conftest's ``backend``
#: (sqlite + postgresql). The pure conversation rules (wording, validation, buttons, commands) use
#: it so the whole set stays fast; what depends on the database (codes and their clocks, attempt
#: windows and lockouts, restart-and-resume, last-moment clashes) runs on both. Remove the mark to
#: run a module on both databases too.
SQLITE_ONLY = pytest.mark.parametrize("backend", [None], ids=["sqlite"])


JORDAN_PHONE = "+12175550123"
JORDAN_FULL = {**JORDAN, "phone_e164": JORDAN_PHONE}

PRIYA = {
    "first_name": "Priya",
    "last_name": "Natarajan",
    "email": "priya.natarajan@example.com",
    "ssn": "402-33-4455",
    "dob": "03/14/1979",
    "filing_status": "Married filing jointly",
    "abroad": True,
    "line1": "100 King St W",
    "line2": "Apt 1203",
    "city": "Canada",  # the record keeps the country in the city field
    "province": "ON",
    "postal_code": "M5V 2T6",
    "country": "Canada",
    "account_kind": "Credit card",
    "network": "Mastercard",
    "card_kind": "Personal credit card",
    "last8": "44441234",
    "phone": "(312) 555-0188",
    "phone_e164": "+13125550188",
    "username": "pnatarajan",
    "password": "violet harbor lantern seed",
    "phrase": "maple leaves in fall",
    "image": "⛵ Sailboat",
}

SAM = {
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
    "phone_e164": "+12075550111",
    "username": "sokafor90",
    "password": "granite pelican orbit tulip",
    "phrase": "rain on the harbor",
    "image": "🌵 Cactus",
}

# Lee of the mail path, with a phone the demo records list in Lee's name
LEE = {
    **MAIL_PATH_LEE,
    "dob": "01/09/1972",
    "line1": "500 Market St",
    "phone": "(415) 555-0142",
    "phone_e164": "+14155550142",
    "password": "saffron glacier whistle nine",
    "phrase": "fog over the bay",
    "image": "🎸 Guitar",
}

# A person who is not in the demo records: ``import_casey`` adds them, with Jordan's phone number.
CASEY = {
    "first_name": "Casey",
    "last_name": "Doe",
    "email": "casey.doe@example.com",
    "ssn": "406-77-8899",
    "dob": "04/04/1988",
    "filing_status": "Single",
    "line1": "12 Pine St",
    "line2": "",
    "city": "Springfield",
    "state": "IL",
    "zip": "62701",
    "account_kind": "Home mortgage loan",
    "last8": "12345678",
    "phone": JORDAN["phone"],
    "phone_e164": JORDAN_PHONE,
    "username": "caseydoe88",
    "password": "ember walrus canyon fiddle",
    "phrase": "kites over the field",
    "image": "🚲 Bicycle",
}

CASEY_YAML = """\
taxpayers:
  - ssn: "406-77-8899"
    first_name: Casey
    last_name: Doe
    date_of_birth: "1988-04-04"
    filing_status: single
    address:
      line1: "12 Pine St"
      line2: ""
      city: Springfield
      state: IL
      postal_code: "62701"
      country: US
    credit_freeze: false
    financial_accounts:
      - {type: mortgage, number: "0012345678"}
    phones:
      - {number: "+12175550123", text_enabled: true}
"""


async def import_casey(h, tmp_path) -> None:
    path = tmp_path / "casey.yaml"
    path.write_text(CASEY_YAML, encoding="utf-8")
    await h.import_records(path)


def joined(replies) -> str:
    """All the texts of some bot messages, as one string."""
    return "\n".join(m.text for m in replies)


async def where(h, user):
    return await h.engine.where(user.chat_id)


# The steps answered by typing, and by pressing, one of the person's values: step -> key of ``p``
TYPED = {
    **{key: key for key in ("first_name", "last_name", "email", "ssn", "dob", "line1", "city", "state",
                            "zip", "username", "password", "province", "postal_code", "country",
                            "phone")},
    "fin_digits": "last8",
    "site_phrase": "phrase",
}
PRESSED = {
    "filing_status": "filing_status",
    "fin_kind": "account_kind",
    "card_network": "network",
    "card_kind": "card_kind",
    "site_image": "image",
}


async def answer_current(h, user, p) -> None:
    """Answer the question the bot is asking now, as person ``p`` would on the happy path."""
    place = await where(h, user)
    if place is None:
        await user.command("start")
        return
    flow, state = place
    if (flow, state) == ("home", "welcome"):
        await user.press("Begin registration")
        return
    assert flow == "registration", f"not registering: {place}"
    if state in TYPED:
        await user.send(p[TYPED[state]])
    elif state in PRESSED:
        await user.press(p[PRESSED[state]])
    elif state == "email_code":
        await user.send(await h.last_code("email", p["email"]))
    elif state == "addr_where":
        await user.press("An address outside the U.S." if p.get("abroad") else "A U.S. address")
    elif state == "line2":
        if p.get("line2"):
            await user.send(p["line2"])
        else:
            await user.press("Skip – there is no line 2")
    elif state == "review":
        await user.press("Everything matches – check it")
    elif state == "phone_code":
        await user.send(await h.last_code("sms", p["phone_e164"]))
    else:  # pragma: no cover - a step this helper doesn't know
        raise AssertionError(f"walk_to can't answer {state!r}")


async def walk_to(h, user, target: str, p=JORDAN_FULL) -> None:
    """Answer the happy path until the conversation sits at registration step ``target``."""
    for _ in range(60):
        place = await where(h, user)
        if place == ("registration", target):
            return
        await answer_current(h, user, p)
        if await where(h, user) == place and place is not None:
            raise AssertionError(f"stuck at {place}: the bot said {user.last_text!r}")
    raise AssertionError(f"never reached {target!r}")


async def register_fully(h, user, p=JORDAN_FULL):
    """The whole registration; returns the bot's final messages."""
    await walk_to(h, user, "site_image", p)
    replies = await user.press(p["image"])
    assert "You're registered" in joined(replies)
    assert await where(h, user) == ("home", "registered")
    return replies


async def sign_in(h, user, username: str, password: str, phone_e164: str):
    """Sign in from wherever the user is (registered / welcome); returns the last replies."""
    await user.command("login")
    await user.send(username)
    await user.send(password)
    return await user.send(await h.last_code("sms", phone_e164))


def asks(replies_or_text, step: str) -> bool:
    """True if the (last) message is the question of ``step``."""
    text = replies_or_text if isinstance(replies_or_text, str) else replies_or_text[-1].text
    return PROMPTS[step] in text


def offers(user, labels) -> bool:
    """True if the latest keyboard offers every one of ``labels`` (others may be there too)."""
    missing = [label for label in labels if label not in user.last_buttons]
    assert not missing, f"buttons {missing} missing from {user.last_buttons}"
    return True


async def finish(h, user, p=JORDAN_FULL):
    """Answer the happy path until the registration is done; returns the last replies."""
    for _ in range(60):
        place = await where(h, user)
        if place == ("home", "registered"):
            return user.last_replies
        await answer_current(h, user, p)
        if await where(h, user) == place:
            raise AssertionError(f"stuck at {place}: the bot said {user.last_text!r}")
    raise AssertionError("the registration never finished")


def test_prompt_table_names_real_steps():
    """Guard for these helpers: every question the tests look for belongs to a real step."""
    from flows.router import FLOWS

    steps = {name for flow in FLOWS.values() for name in flow.steps}
    assert set(PROMPTS) <= steps

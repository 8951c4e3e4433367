"""The numbers the prompts state come from the policy: change config and the prose follows."""

from __future__ import annotations

import re

import pytest

from tests.conftest import make_harness
from tests.conftest import test_settings as settings_for
from tests.journeys import JORDAN, financial_account, identity_and_address, to_email_code

EIGHT = re.compile(r"\b(\d{8})\b")

POLICY = {
    "codes": {
        "confirmation": {"digits": 8, "lifetime_minutes": 15},
        "activation_text": {"digits": 8},
        "security_text": {"digits": 8},
    },
    "letters": {"code_digits": 8, "delivery_business_days_min": 3, "delivery_business_days_max": 7},
    "username": {"min_length": 4, "max_length": 20},
    "password": {"min_length": 12, "min_guesses": 1},
    "financial": {"refused_card_networks": ["amex", "discover"], "refused_card_kinds": ["debit"]},
}


@pytest.fixture
async def bot(tmp_path):
    h = await make_harness(settings_for(tmp_path, policy=POLICY))
    yield h
    await h.close()


async def last_code(h, channel: str) -> str:
    for message in reversed(await h.outbox()):
        if message.channel == channel:
            return EIGHT.search(message.body).group(1)
    raise AssertionError(f"nothing was sent by {channel}")


def said(replies) -> str:
    return "\n".join(m.text for m in replies)


async def test_the_prompts_state_the_configured_numbers(bot):
    p = JORDAN
    user = await bot.user(9301)
    replies = await to_email_code(bot, user, p)
    assert "Type the eight-digit confirmation code" in said(replies)
    assert "six-digit" not in said(replies)

    await user.send(await last_code(bot, "email"))
    await identity_and_address(user, p)
    await user.press("Everything matches – check it")
    assert "American Express, Discover and debit cards can't be used." in said(await user.command("help"))

    await financial_account(user, p)

    replies = await user.press("I don't have a mobile phone in my name")
    assert "it takes 3 to 7 business days" in said(replies)
    await user.press("Try another number")

    replies = await user.send(p["phone"])
    assert "I've texted an eight-digit activation code" in said(replies)
    assert "Type the eight-digit activation code I texted to your phone." in said(replies)
    assert "holds an eight-digit activation code" in said(await user.command("help"))

    replies = await user.send(await last_code(bot, "sms"))
    assert "Use 4 to 20 letters, digits" in said(replies)
    replies = await user.send(p["username"])
    assert "Now a password: at least 12 characters" in said(replies)
    # min_guesses 1 turns the guess estimate off: joined words pass (the default refuses them)
    replies = await user.send("nightshadow12")
    assert "password-guessing programs" not in said(replies)


def test_the_default_config_refuses_joined_words():
    from bot.config import Settings
    from domain import validators as v

    policy = Settings().policy.password
    assert policy.min_guesses == 1e8
    with pytest.raises(v.Invalid, match="password-guessing programs"):
        v.password("nightshadow12", min_length=policy.min_length, min_guesses=policy.min_guesses)


async def test_the_default_config_still_reads_six_digits(harness):
    user = await harness.user(9302)
    replies = await to_email_code(harness, user)
    assert "Type the six-digit confirmation code" in said(replies)

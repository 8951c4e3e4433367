"""The welcome checklist and what admins and hires read about a hire name the refused cards and
the letter's business days from config.yaml, not from fixed sentences."""

from __future__ import annotations

from datetime import datetime, timezone

from domain import hires as rules
from flows.hires import facts
from tests.conftest import make_harness
from tests.conftest import test_settings as settings_for
from tests.unit.test_policy_prose import POLICY

ZONE = "America/Chicago"


def progress(blocker: str) -> rules.Progress:
    now = datetime(2026, 3, 2, 15, tzinfo=timezone.utc)
    return rules.after_event(rules.Progress(), blocker, now=now, until=None, alert_after=1)[0]


def test_hire_texts_follow_the_policy(tmp_path):
    policy = settings_for(tmp_path, policy=POLICY).policy
    said = facts(policy)
    assert said.refused_cards == "American Express, Discover and debit cards"
    card = rules.blocker_text("unsupported_card", None, ZONE, said)
    assert "American Express, Discover and debit cards are refused" in card
    phone = rules.blocker_text("phone_not_in_name", None, ZONE, said)
    assert "3 to 7 business days" in phone
    nudge = rules.nudge_text("Acme Tax", progress("unsupported_card"), None, ZONE, said)
    assert "not American Express, Discover and debit cards" in nudge
    assert "company" not in card + nudge


def test_hire_texts_with_the_default_policy(tmp_path):
    said = facts(settings_for(tmp_path).policy)
    assert "5 to 10 business days" in rules.blocker_text("phone_not_in_name", None, ZONE, said)
    assert "American Express, debit cards and company cards are refused" in rules.blocker_text(
        "unsupported_card", None, ZONE, said
    )


async def test_the_welcome_checklist_names_the_refused_cards(tmp_path):
    h = await make_harness(settings_for(tmp_path, policy=POLICY))
    try:
        user = await h.user(9401)
        replies = await user.command("start")
    finally:
        await h.close()
    text = "\n".join(m.text for m in replies)
    assert "(American Express, Discover and debit cards can't be used)" in text


async def test_site_phrase_and_secret_answer_lengths_follow_the_policy(tmp_path):
    from tests.journeys import JORDAN, to_username

    h = await make_harness(settings_for(tmp_path, policy={"site_phrase": {"min_length": 10, "max_length": 20}}))
    try:
        user = await h.user(9402)
        await to_username(h, user)
        await user.send(JORDAN["username"])
        await user.send(JORDAN["password"])
        replies = await user.command("help")
        assert "10 to 20 characters" in "\n".join(m.text for m in replies)
        replies = await user.send("blue sky")
        assert "shorter than 10 characters" in "\n".join(m.text for m in replies)
        assert await h.engine.where(9402) == ("registration", "site_phrase")
    finally:
        await h.close()

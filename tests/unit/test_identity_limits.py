"""Budgets of several limits, consecutive-failure streaks, personal data in any message, and
phone numbers that can't exist."""

from __future__ import annotations

from datetime import timedelta
from types import SimpleNamespace

import pytest

from bot.config import load_settings
from domain.validators import Invalid, assigned_us_area_code, us_mobile_number
from flows.core import personal_data
from flows.limits import IDENTITY, IDENTITY_CHAT, IDENTITY_USER, PASSWORD_STREAK, Streak, budget, user_id
from flows.replies import Incoming
from tests.unit.test_limits import Attempts


def ctx_for(chat_id=1, user=None, **policy):
    settings = load_settings(policy=policy)
    incoming = Incoming(chat_id=chat_id, kind="text", user_id=user)
    return SimpleNamespace(settings=settings, policy=settings.policy, repo=Attempts(), chat_id=chat_id, incoming=incoming)


async def test_a_budget_tells_the_smallest_remaining_and_waits_for_the_last_to_free():
    ctx = ctx_for(chat_id=5, user=9, identity={"max_attempts": 5, "chat_max_attempts": 3, "user_max_attempts": 4})
    for _ in range(2):
        ctx.repo.now -= timedelta(hours=1)
        checks = await budget(ctx, (IDENTITY, "s"), (IDENTITY_CHAT, 5), (IDENTITY_USER, user_id(ctx)))
        await checks.hit(ctx)
    checks = await budget(ctx, (IDENTITY, "other"), (IDENTITY_CHAT, 5), (IDENTITY_USER, 9))
    assert checks.remaining == 1 and not checks.blocked
    await checks.hit(ctx)
    checks = await budget(ctx, (IDENTITY, "third"), (IDENTITY_CHAT, 5), (IDENTITY_USER, 9))
    assert checks.blocked and checks.blocked_by(IDENTITY_CHAT) and not checks.blocked_by(IDENTITY)
    assert checks.retry_at == ctx.repo.now + timedelta(hours=6)  # the oldest counted check, six hours on


def test_the_telegram_user_stands_in_for_the_chat_only_when_there_is_none():
    assert user_id(ctx_for(chat_id=5, user=9)) == 9
    assert user_id(ctx_for(chat_id=5, user=None)) == 5


def test_identity_and_sign_in_numbers_come_from_config():
    policy = load_settings().policy
    assert (policy.identity.max_attempts, policy.identity.chat_max_attempts, policy.identity.user_max_attempts) == (5, 5, 5)
    assert policy.identity.global_hourly_ceiling > 0
    assert policy.sign_in.account_max_attempts > 3 * policy.sign_in.max_attempts
    caps = policy.sign_in.max_consecutive_failures
    assert (caps.password, caps.security_text, caps.authenticator) == (100, 100, 100)
    for code in (policy.codes.confirmation, policy.codes.activation_text, policy.codes.security_text):
        assert code.destination_resend_limit > 3 * code.resend_limit


def test_a_streak_counts_the_owners_chat_apart():
    owner = SimpleNamespace(id=3, chat_id=11)
    assert Streak.side(SimpleNamespace(chat_id=11), owner) == "owner"
    assert Streak.side(SimpleNamespace(chat_id=12), owner) == "others"
    assert PASSWORD_STREAK.key(3, "others") == "streak:password:3:others"


@pytest.mark.parametrize(
    "text",
    ["401–22–7788", "401 – 22 – 7788", "401—22—7788", "401_22_7788", "401 22 7788", "401‑22‑7788",
     "born July 19, 1983", "19 July 1983", "Jul. 19 1983", "19th of July, 1983"],
)
def test_personal_data_is_recognised_however_it_is_written(text):
    assert personal_data(text)


@pytest.mark.parametrize("text", ["Jordan", "1234 Elm Street", "Apartment 5B", "July", "May 2019", "Springfield"])
def test_ordinary_answers_are_not_taken_for_personal_data(text):
    assert personal_data(text) is None


@pytest.mark.parametrize("area", ["211", "311", "911", "555", "999", "370", "800", "000"])
def test_service_unassigned_and_toll_free_area_codes_are_not_assigned_places(area):
    assert not assigned_us_area_code(area)


@pytest.mark.parametrize("area", ["217", "202", "312", "415", "512", "207", "787"])
def test_area_codes_of_places_are_assigned(area):
    assert assigned_us_area_code(area)


def test_fictional_numbers_need_an_assigned_area_code_even_when_the_data_refuses_them(monkeypatch):
    import phonenumbers

    real = phonenumbers.is_valid_number
    monkeypatch.setattr(
        phonenumbers, "is_valid_number", lambda n: False if str(n.national_number)[3:8] == "55501" else real(n)
    )
    assert us_mobile_number("(217) 555-0123") == "+12175550123"
    for number in ("(211) 555-0123", "(911) 555-0123", "(555) 555-0123", "(999) 555-0123", "(370) 555-0123"):
        with pytest.raises(Invalid):
            us_mobile_number(number)


@pytest.mark.parametrize("number", ["(217) 555-0123 x123", "(217) 555-0123 ext. 4", "217-555-0123 extension 12"])
def test_an_extension_is_refused_with_a_reason(number):
    with pytest.raises(Invalid) as refused:
        us_mobile_number(number)
    assert refused.value.code == "phone.extension" and "extension" in refused.value.message

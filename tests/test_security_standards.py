"""Tests for the rows of SECURITY.md that no other test covered: how codes, authenticator keys
and passwords are made and stored, TOTP drift, no periodic password change, no hints, and
signing out other chats after a password change."""

from __future__ import annotations

import re
from datetime import timedelta

from sqlalchemy import select

from bot.config import CodePolicy
from bot.storage.models import Account, OneTimeCode
from bot.storage.repo import Repo
from domain import authenticator
from flows.router import FLOWS
from tests.conftest import make_harness
from tests.conftest import test_settings as settings_for
from tests.journeys import JORDAN, register
from tests.privacy_helpers import find_plaintext, sign_in_with_text, signed_in_on_two_chats, sqlite_files

POLICY = CodePolicy(digits=6, lifetime_minutes=10, max_attempts=10, resend_limit=1000, resend_window_minutes=60)


def joined(replies) -> str:
    return "\n".join(m.text for m in replies)


# -- one-time codes (800-63B 5.1.3.2; ASVS 2.7.3, 2.7.5, 2.7.6) -------------------------------------


async def test_codes_are_random_six_digits_kept_only_as_keyed_hashes(harness):
    h = harness
    issued = []
    async with h.services.sessions() as session, session.begin():
        repo = Repo(session, h.services.vault, h.clock)
        for i in range(200):
            issued.append((await repo.issue_code(f"chat:{i}", "security_text", "sms", POLICY)).code)
    assert all(re.fullmatch(r"\d{6}", c) for c in issued)
    assert len(set(issued)) >= 190  # 200 draws from a million: repeats are rare
    async with h.services.sessions() as session:
        rows = (await session.scalars(select(OneTimeCode).where(OneTimeCode.purpose == "security_text"))).all()
    by_subject = {r.subject: r for r in rows}
    for i, code in enumerate(issued):
        row = by_subject[f"chat:{i}"]
        assert row.code_hash == h.services.vault.digest("code:security_text", code) != code
        assert code not in " ".join(str(v) for v in vars(row).values())


async def test_a_code_works_once(harness):
    h = harness
    async with h.services.sessions() as session, session.begin():
        repo = Repo(session, h.services.vault, h.clock)
        code = (await repo.issue_code("chat:1", "confirmation", "email", POLICY)).code
        assert (await repo.check_code("chat:1", "confirmation", code, POLICY)).result == "ok"
        await session.flush()
        assert (await repo.check_code("chat:1", "confirmation", code, POLICY)).result == "none"


# -- the authenticator app (800-63B 5.1.4; ASVS 2.8.1, 2.8.2) ---------------------------------------


def test_authenticator_keys_are_160_bits_from_the_system_random_source():
    keys = {authenticator.new_secret() for _ in range(50)}
    assert len(keys) == 50
    assert all(len(k) == 32 and re.fullmatch(r"[A-Z2-7]+", k) for k in keys)  # 32 base32 chars = 160 bits


def test_totp_accepts_one_step_of_clock_drift_and_no_more():
    from datetime import datetime, timezone

    key = authenticator.new_secret()
    now = datetime(2026, 3, 2, 15, 0, 10, tzinfo=timezone.utc)
    for seconds, accepted in ((-30, True), (0, True), (30, True), (-60, False), (60, False)):
        code = authenticator.code_at(key, now + timedelta(seconds=seconds))
        if code == authenticator.code_at(key, now):
            continue  # the same six digits in two steps (1 in a million)
        assert (authenticator.matching_step(key, code, now, None) is not None) is accepted, seconds


async def test_authenticator_keys_and_codes_never_reach_the_database_file_in_plain_text(tmp_path):
    h = await make_harness(settings_for(tmp_path))
    try:
        user = await h.user(9001)
        await register(h, user)
        await sign_in_with_text(h, user, JORDAN)
        await user.command("profile")
        replies = await user.press("Add an authenticator app")
        key = re.search(r"by hand: ([A-Z2-7 ]+)\n", joined(replies)).group(1).replace(" ", "")
        await user.send(authenticator.code_at(key, h.clock.now()))
        codes = {c for m in await h.outbox() for c in re.findall(r"\b\d{6}\b", m.body)}
        values = {key: "the authenticator key", authenticator.grouped(key): "the authenticator key"}
        values.update({c: "a one-time code" for c in codes})
        hits = find_plaintext(sqlite_files(tmp_path / "test.db"), values)
        assert not hits, "\n".join(map(str, hits))
    finally:
        await h.close()


# -- passwords (800-63B 5.1.1.2; ASVS 2.1.3, 2.1.10, 2.4.1, 2.4.2, 2.5.2) ---------------------------


async def test_passwords_are_argon2id_with_a_unique_salt(harness):
    vault = harness.services.vault
    first, second = await vault.hash_password("copper kettle"), await vault.hash_password("copper kettle")
    assert first.startswith("$argon2id$") and second.startswith("$argon2id$")
    assert first != second  # a fresh random salt each time
    salt = first.split("$")[4]
    assert len(salt) >= 22  # base64 of at least 16 bytes
    assert await vault.verify_password(first, "copper kettle") and not await vault.verify_password(first, "copper kettlE")


async def test_long_passwords_are_used_whole(harness):
    vault = harness.services.vault
    long = "quiet meadow lamp " * 7  # 126 characters
    stored = await vault.hash_password(long)
    assert await vault.verify_password(stored, long)
    assert not await vault.verify_password(stored, long[:-1] + "X")
    assert not await vault.verify_password(stored, long[:64])


async def test_no_periodic_password_change(harness):
    h = harness
    user = await h.user(9002)
    await register(h, user)
    h.clock.advance(days=800)
    replies = await sign_in_with_text(h, user, JORDAN)
    assert await h.engine.where(9002) == ("home", "signed_in"), joined(replies)
    async with h.services.sessions() as session:
        account = await session.scalar(select(Account))
    assert not account.must_change_password


def test_no_password_hint_is_ever_asked():
    for flow in FLOWS.values():
        for step in flow.steps.values():
            ask = step.ask if isinstance(step.ask, str) else ""
            assert "hint" not in step.name.lower() and "hint" not in ask.lower(), (flow.name, step.name)


# -- sessions (ASVS 3.3.3) ----------------------------------------------------------------------------


async def test_changing_the_password_signs_out_every_other_chat(harness):
    h = harness
    phone, laptop = await signed_in_on_two_chats(h, 9003, 9004)
    assert await h.engine.where(9004) == ("home", "signed_in")
    await phone.command("profile")
    await phone.press("Change password")
    await phone.send(JORDAN["password"])
    replies = await phone.send("seven quiet orchards")
    assert "signed you out everywhere else (1 other chat)" in joined(replies)
    assert await h.engine.where(9004) == ("home", "registered")
    replies = await laptop.command("profile")
    assert "Sign in first" in joined(replies)
    assert await h.engine.where(9003) == ("profile", "overview")


async def test_a_new_database_has_no_accounts(harness):
    """No default or shared accounts (ASVS 2.5.4): a fresh install holds none at all."""
    from sqlalchemy import func

    async with harness.services.sessions() as session:
        assert await session.scalar(select(func.count()).select_from(Account)) == 0

"""Abandoned registrations and everything past its retention period are deleted on a schedule
(bot.storage.privacy.purge_abandoned, `sabot purge`); nothing still in use is touched."""

from __future__ import annotations

from datetime import timedelta

from click.testing import CliRunner
from sqlalchemy import func, select

from bot.storage.privacy import purge_abandoned
from bot.storage.models import Account, Attempt, AuditEvent, Conversation, Delivery, ExceptionCase, Letter, OneTimeCode
from tests.conftest import cli_env, make_harness, run_on_harness
from tests.conftest import test_settings as settings_for
from tests.journeys import JORDAN, register, to_email_code, to_identity
from tests.test_mail_path import register_by_mail


async def count(h, model, *where) -> int:
    async with h.services.sessions() as session:
        return int(await session.scalar(select(func.count()).select_from(model).where(*where)))


async def test_an_abandoned_registration_is_erased_after_the_configured_days(harness):
    h = harness
    days = h.services.settings.privacy.abandoned_after_days
    gone = await h.user(6001)
    await to_identity(h, gone)
    h.clock.advance(days=days - 1)
    recent = await h.user(6002)
    await to_email_code(h, recent, {**JORDAN, "email": "recent.person@example.com"})
    counts = await purge_abandoned(h.services)
    assert counts["conversations"] == 0 and await h.engine.where(6001) == ("registration", "ssn")

    h.clock.advance(days=1, minutes=1)
    counts = await purge_abandoned(h.services)
    assert counts["conversations"] == 1
    assert await h.engine.where(6001) is None
    assert await h.engine.where(6002) == ("registration", "email_code")
    assert await count(h, OneTimeCode, OneTimeCode.subject == "chat:6001") == 0
    # coming back starts from the beginning
    replies = await gone.command("start")
    assert "Begin registration" in replies[-1].labels


async def test_a_conversation_waiting_on_the_help_desk_is_kept(harness):
    h = harness
    user = await h.user(6003)
    await user.command("start")
    now = h.clock.now()
    async with h.services.sessions() as session, session.begin():
        row = await session.get(Conversation, 6003)
        row.flow, row.state = "exception", "handoff"
        session.add(ExceptionCase(reference="EX-WAIT01", ssn_hash="y" * 64, chat_id=6003, status="tac_referred",
                                  created_at=now, updated_at=now))
    h.clock.advance(days=h.services.settings.privacy.abandoned_after_days + 5)
    await purge_abandoned(h.services)
    assert await h.engine.where(6003) == ("exception", "handoff")


async def test_an_unfinished_mail_account_goes_once_its_letter_is_long_expired(harness):
    h = harness
    keep = h.services.settings.privacy
    lee = await h.user(6004)
    await register_by_mail(h, lee)
    jordan = await h.user(6005)
    await register(h, jordan)
    lifetime = h.services.settings.policy.letters.code_lifetime_days
    h.clock.advance(days=lifetime + keep.abandoned_after_days - 1)
    assert (await purge_abandoned(h.services))["unfinished_accounts"] == 0
    h.clock.advance(days=2)
    counts = await purge_abandoned(h.services)
    assert counts["unfinished_accounts"] == 1
    async with h.services.sessions() as session:
        left = (await session.scalars(select(Account.status))).all()
    assert left == ["active"]  # Jordan's finished account is never purged
    assert await count(h, Letter) == 0


async def test_codes_attempts_outbox_and_old_events_are_deleted_after_their_retention(harness):
    h = harness
    keep = h.services.settings.privacy
    user = await h.user(6006)
    await register(h, user)
    await user.command("login")
    await user.send(JORDAN["username"])
    await user.send("a wrong password")  # an attempt counter and an audit event
    assert await count(h, OneTimeCode) > 0 and await count(h, Attempt) > 0 and await count(h, Delivery) > 0
    counts = await purge_abandoned(h.services)
    assert counts["codes"] == counts["attempts"] == counts["outbox"] == 0

    h.clock.advance(days=max(keep.codes_retention_days, keep.attempts_retention_days, keep.outbox_retention_days) + 1)
    counts = await purge_abandoned(h.services)
    assert counts["codes"] > 0 and counts["attempts"] > 0 and counts["outbox"] > 0
    assert await count(h, OneTimeCode) == await count(h, Attempt) == await count(h, Delivery) == 0
    assert await count(h, AuditEvent) > 0  # kept longer
    h.clock.advance(days=keep.audit_retention_days)
    await purge_abandoned(h.services)
    assert await count(h, AuditEvent) == 0
    assert await count(h, Account) == 1  # a registered account stays as long as it exists


async def test_attempt_counters_outlive_the_longest_limit_window(tmp_path):
    """A retention shorter than a lockout window never lets a purge lift the lockout."""
    h = await make_harness(settings_for(tmp_path, privacy={"attempts_retention_days": 0}))
    try:
        async with h.services.sessions() as session, session.begin():
            session.add(Attempt(key="identity:abc", at=h.clock.now()))
        h.clock.advance(hours=h.services.settings.policy.identity.window_hours - 1)
        assert (await purge_abandoned(h.services))["attempts"] == 0
        h.clock.advance(hours=2)
        assert (await purge_abandoned(h.services))["attempts"] == 1
    finally:
        await h.close()


def test_sabot_purge_command(tmp_path):
    from bot.cli import main

    settings = settings_for(tmp_path)

    async def populate(h):
        user = await h.user(6101)
        await to_email_code(h, user)
        async with h.services.sessions() as session, session.begin():
            row = await session.get(Conversation, 6101)
            row.updated_at = h.clock.now() - timedelta(days=400)

    run_on_harness(settings, populate)
    result = CliRunner().invoke(main, ["purge"], env=cli_env(settings), catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert "conversations: 1 deleted" in result.output and "codes:" in result.output


async def test_the_tick_purges_when_configured(tmp_path):
    """A running bot applies the retention periods itself, at most once per interval."""
    from tests.conftest import make_harness
    from tests.conftest import test_settings as settings_for
    from tests.journeys import to_email_code

    h = await make_harness(settings_for(tmp_path, privacy={"purge_every_minutes": 60}))
    try:
        user = await h.user(9901)
        await to_email_code(h, user)
        assert await h.outbox()
        h.clock.advance(days=40)
        await h.engine.tick()
        assert await h.outbox() == []  # delivered messages past their retention are gone
        assert await h.engine.where(9901) is None  # and so is the abandoned registration
    finally:
        await h.close()

"""Security events: failures and lockouts of every kind are recorded, never with personal data;
`sabot audit` lists them; the person is told in chat (and by email for the password) whenever
a password or a factor changes."""

from __future__ import annotations

import re

from click.testing import CliRunner
from sqlalchemy import select

from bot.storage.models import AuditEvent
from domain import authenticator
from tests.conftest import cli_env, run_on_harness
from tests.conftest import test_settings as settings_for
from tests.journeys import (
    JORDAN,
    financial_account,
    identity_and_address,
    name_and_email,
    register,
    to_email_code,
    to_review,
)
from tests.privacy_helpers import find_plaintext, personal_values, sign_in_with_text

EVENT_NAME = re.compile(r"^[a-z_]+(:[a-z_]+)?$")


def joined(replies) -> str:
    return "\n".join(m.text for m in replies)


async def events(h) -> list[AuditEvent]:
    async with h.services.sessions() as session:
        return list((await session.scalars(select(AuditEvent).order_by(AuditEvent.id))).all())


async def names(h) -> list[str]:
    return [e.event for e in await events(h)]


def manual_key(replies) -> str:
    """The authenticator key the bot shows for typing in by hand."""
    return re.search(r"by hand: ([A-Z2-7 ]+)\n", joined(replies)).group(1).replace(" ", "")


async def signed_in(h, chat_id: int):
    user = await h.user(chat_id)
    await register(h, user)
    await sign_in_with_text(h, user, JORDAN)
    assert await h.engine.where(chat_id) == ("home", "signed_in")
    return user


async def to_password_again(user) -> None:
    """Sign out, then sign in again as far as the password prompt."""
    await user.command("logout")
    await user.command("login")
    await user.send(JORDAN["username"])


# -- lockouts and failures -----------------------------------------------------------------------


async def test_sign_in_failures_and_lockout_are_recorded(harness):
    h = harness
    user = await h.user(7001)
    await register(h, user)
    await user.command("login")
    await user.send("nobody-by-this-name")
    await user.send("some password")
    await user.press("That wasn't my username")
    await user.send(JORDAN["username"])
    for i in range(10):
        await user.send(f"wrong password {i}")
    replies = await user.send(JORDAN["password"])
    assert "paused until" in joined(replies)
    seen = await names(h)
    assert seen.count("sign_in_failed") == 11  # the unknown username too, without an account
    assert "sign_in_locked" in seen
    unknown = [e for e in await events(h) if e.event == "sign_in_failed"][0]
    assert unknown.account_id is None and unknown.chat_id == 7001


async def test_identity_and_financial_lockouts_are_recorded(harness):
    h = harness
    user = await h.user(7002)
    await to_review(h, user, {**JORDAN, "zip": "62799"})
    for _ in range(6):
        await user.press("Everything matches – check it")
    seen = await names(h)
    assert seen.count("identity_check_failed") == 5 and "identity_checks_locked" in seen

    h.clock.advance(hours=7)
    await user.press("Change address")
    await user.press("The whole address")
    await user.press("A U.S. address")
    for answer in ("1234 Elm St", "Apt 5B", "Springfield", "IL", "62704"):
        await user.send(answer)
    await user.press("Everything matches – check it")
    await user.press("Home mortgage loan")
    for _ in range(6):
        await user.send("11112222")
    seen = await names(h)
    assert seen.count("financial_check_failed") == 5 and "financial_checks_locked" in seen


async def test_wrong_codes_locking_a_code_and_send_limits_are_recorded(harness):
    h = harness
    user = await h.user(7004)
    await to_email_code(h, user)
    code = await h.last_code("email")
    wrong = "000000" if code != "000000" else "111111"
    for _ in range(10):
        await user.send(wrong)
    seen = await names(h)
    assert seen.count("code_wrong:confirmation") == 9 and "code_locked:confirmation" in seen
    for _ in range(5):
        await user.press("Send a new code")
    assert "code_send_limited:confirmation" in await names(h)


async def test_authenticator_failures_replay_and_lockout_are_recorded(harness):
    h = harness
    user = await signed_in(h, 7005)
    await user.command("profile")
    replies = await user.press("Add an authenticator app")
    key = manual_key(replies)
    await user.send(authenticator.code_at(key, h.clock.now()))
    await user.press("Done")
    await to_password_again(user)
    await user.send(JORDAN["password"])
    await user.press("Use my authenticator app")
    await user.send(authenticator.code_at(key, h.clock.now()))  # used at setup: a replay
    right = authenticator.code_at(key, h.clock.now())
    wrong = "123456" if right != "123456" else "654321"
    for _ in range(10):
        await user.send(wrong)
    seen = await names(h)
    assert "totp_replay_refused" in seen and seen.count("totp_failed") == 9 and "totp_locked" in seen
    assert "authenticator_added" in seen


# -- no personal data ----------------------------------------------------------------------------


async def test_audit_events_hold_no_personal_data(harness):
    h = harness
    user = await signed_in(h, 7006)
    await to_password_again(user)
    await user.send("401-22-7788 is not my password")
    other = await h.user(7007)
    await to_review(h, other, {**JORDAN, "zip": "62799"})
    await other.press("Everything matches – check it")
    rows = await events(h)
    assert {c.name for c in AuditEvent.__table__.columns} == {"id", "at", "event", "account_id", "chat_id"}
    assert all(EVENT_NAME.match(e.event) for e in rows), [e.event for e in rows]
    dump = "\n".join(f"{e.at} {e.event} {e.account_id} {e.chat_id}" for e in rows).encode()
    assert not find_plaintext({"audit": dump}, personal_values([JORDAN]))


# -- the person is told ---------------------------------------------------------------------------


async def test_the_person_is_told_when_the_password_or_a_factor_changes(harness):
    h = harness
    user = await signed_in(h, 7008)
    await user.command("profile")
    await user.press("Change password")
    await user.send(JORDAN["password"])
    replies = await user.send("seven quiet orchards")
    assert "Your password is changed. If you didn't do this" in joined(replies)
    mail = [m for m in await h.outbox() if m.channel == "email"][-1]
    assert mail.to == JORDAN["email"] and mail.subject == "Your password was changed"

    replies = await user.press("Add an authenticator app")
    key = manual_key(replies)
    replies = await user.send(authenticator.code_at(key, h.clock.now()))
    assert "Your authenticator app is added" in joined(replies)
    replies = await user.press("Replace my authenticator app")
    second = manual_key(replies)
    h.clock.advance(seconds=30)
    replies = await user.send(authenticator.code_at(second, h.clock.now()))
    assert "Your new authenticator works, so the old one has been removed" in joined(replies)

    # a phone change is a re-registration, ending with the new number confirmed
    await user.press("Change phone number")
    await user.press("Start re-registering")
    await name_and_email(user)
    await user.send(await h.last_code("email", JORDAN["email"]))
    await identity_and_address(user)
    await user.press("Everything matches – check it")
    await financial_account(user)
    await user.send(JORDAN["phone"])
    replies = await user.send(await h.last_code("sms", "+12175550123"))
    assert "Your account now uses the new phone number" in joined(replies)

    seen = [e for e in await events(h) if e.event in ("password_changed", "authenticator_added", "authenticator_replaced", "phone_changed")]
    assert [e.event for e in seen] == ["password_changed", "authenticator_added", "authenticator_replaced", "phone_changed"]
    assert all(e.chat_id == 7008 and e.account_id is not None for e in seen)


# -- sabot audit ----------------------------------------------------------------------------------


def test_sabot_audit_lists_events_since_a_day(tmp_path):
    from bot.cli import main

    settings = settings_for(tmp_path)

    async def populate(h):
        user = await h.user(7101)
        await register(h, user)
        await user.command("login")
        await user.send(JORDAN["username"])
        await user.send("wrong once")
        h.clock.advance(days=3)
        await user.send(JORDAN["password"])
        await user.send(await h.last_code("sms"))
        return h.clock.now()

    later = run_on_harness(settings, populate)
    env = cli_env(settings)
    runner = CliRunner()
    everything = runner.invoke(main, ["audit"], env=env, catch_exceptions=False)
    assert everything.exit_code == 0
    assert "sign_in_failed" in everything.output and "signed_in" in everything.output and "chat 7101" in everything.output
    since = runner.invoke(main, ["audit", "--since", later.date().isoformat()], env=env, catch_exceptions=False)
    assert "signed_in" in since.output and "sign_in_failed" not in since.output
    as_json = runner.invoke(main, ["audit", "--json", "--account", "1"], env=env, catch_exceptions=False)
    assert '"event": "signed_in"' in as_json.output
    bad = runner.invoke(main, ["audit", "--since", "last tuesday"], env=env)
    assert bad.exit_code != 0 and "YYYY-MM-DD" in bad.output

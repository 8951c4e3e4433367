"""Texts through Twilio's Messages API, against a loopback server that speaks it
(sabot_testing/twilio.py): a whole registration and a sign-in whose codes arrive by text there,
and every kind of refusal turned into a sentence for the person, an audit event, a count and an
operator's log line that holds neither the number, the text nor the auth token."""

from __future__ import annotations

import logging
import re

import pytest
from sqlalchemy import select

from bot.config import load_settings
from bot.delivery import OUTCOMES, Message
from bot.delivery.twilio import TwilioSms
from bot.storage.models import AuditEvent
from domain.ports import DeliveryRefused
from sabot_testing.twilio import TwilioServer
from tests.conftest import make_harness
from tests.conftest import test_settings as settings_for
from tests.journeys import JORDAN, register, to_phone
from tests.privacy_helpers import sign_in_with_text

PHONE = "+12175550123"  # Jordan's, as the records hold it
CODE = re.compile(r"\b(\d{6})\b")


def joined(replies) -> str:
    return "\n".join(m.text for m in replies)


@pytest.fixture
def twilio():
    with TwilioServer() as server:
        yield server


@pytest.fixture
async def h(tmp_path, twilio):
    """A bot whose texts go to the loopback Twilio; its emails stay in the outbox."""
    harness = await make_harness(settings_for(tmp_path, delivery={"sms": {"backend": "twilio", "twilio": twilio.settings()}}))
    read_outbox = harness.last_code

    async def last_code(channel: str, to: str | None = None) -> str:
        if channel != "sms":
            return await read_outbox(channel, to)
        texts = twilio.texts_to(to) if to else twilio.messages
        assert texts, "Twilio was sent no text" + (f" to {to}" if to else "")
        return CODE.search(texts[-1].body).group(1)

    harness.last_code = last_code
    yield harness
    await harness.close()


async def audit_events(h) -> list[str]:
    async with h.services.sessions() as session:
        return [e.event for e in (await session.scalars(select(AuditEvent).order_by(AuditEvent.id))).all()]


async def test_a_whole_registration_and_a_sign_in_get_their_texts_through_twilio(h, twilio):
    user = await h.user(5101)
    done = await register(h, user)
    assert "registered" in joined(done).lower() or await h.engine.where(5101) is not None
    [activation] = twilio.messages
    assert (activation.to, activation.from_) == (PHONE, twilio.from_number)
    assert re.fullmatch(r"Your activation code is \d{6}\. It expires in 10 minutes\.", activation.body)
    # the request was the documented one: the account's Messages resource, with To, From and Body
    assert ("POST", f"/2010-04-01/Accounts/{twilio.account_sid}/Messages.json", ("Body", "From", "To")) in twilio.requests

    await sign_in_with_text(h, user, JORDAN)
    assert await h.engine.where(5101) == ("home", "signed_in")
    assert [m.body.split(" is ")[0] for m in twilio.messages] == ["Your activation code", "Your security code"]
    # texts went to Twilio only; the outbox kept the email
    assert [m.channel for m in await h.outbox()] == ["email"]
    assert OUTCOMES[("sms", "twilio", "sent")] >= 2


@pytest.mark.parametrize(
    ("code", "when", "reason", "says"),
    [
        (21614, "request", "no_texts", "That number can't receive texts"),
        (21612, "request", "no_texts", "That number can't receive texts"),
        (21211, "request", "invalid_number", "isn't a working phone number"),
        (21610, "request", "opted_out", "turned our texts off"),
        (30006, "status", "no_texts", "That number can't receive texts"),
        (30003, "status", "no_texts", "That number can't receive texts"),
        (30005, "status", "invalid_number", "isn't a working phone number"),
    ],
)
async def test_a_number_twilio_refuses_is_explained_with_a_next_step(h, twilio, caplog, code, when, reason, says):
    caplog.set_level(logging.DEBUG, logger="sabot")
    before = OUTCOMES[("sms", "twilio", f"refused:{reason}")]
    user = await h.user(5102)
    await to_phone(h, user)
    twilio.refuse(PHONE, code, when=when)
    replies = await user.send(JORDAN["phone"])
    text = joined(replies)
    assert says in text
    assert "try another mobile number" in text or "another mobile number" in text
    # still at the phone question, with its way out to a letter
    assert await h.engine.where(5102) == ("registration", "phone")
    assert "I don't have a mobile phone in my name" in [label for row in replies[-1].buttons for label in row]
    # audited and counted, never dropped
    assert f"delivery_refused:sms_{reason}" in await audit_events(h)
    assert OUTCOMES[("sms", "twilio", f"refused:{reason}")] == before + 1
    assert not twilio.messages
    # the operator's line names the error, not the number, the text or the token
    lines = [r.getMessage() for r in caplog.records if r.name == "sabot.delivery"]
    assert any(str(code) in line for line in lines), lines
    for line in lines:
        assert "555" not in line and twilio.auth_token not in line and "activation code is" not in line

    # the next step works: once the number can take texts, the code goes out
    twilio._refusals.clear()
    replies = await user.send(JORDAN["phone"])
    assert "I've texted a six-digit activation code" in joined(replies)
    assert await h.engine.where(5102) == ("registration", "phone_code")
    assert len(twilio.texts_to(PHONE)) == 1


async def test_twilio_down_or_unreachable_asks_to_try_again_later(h, twilio, caplog):
    caplog.set_level(logging.DEBUG, logger="sabot")
    user = await h.user(5103)
    await to_phone(h, user)
    twilio.down = True
    text = joined(await user.send(JORDAN["phone"]))
    assert "the text service isn't answering. Please try again in a few minutes." in text
    assert "delivery_refused:sms_unavailable" in await audit_events(h)
    assert any("Twilio answered HTTP 503" in r.getMessage() for r in caplog.records)

    twilio.stop()  # nothing listens there any more
    text = joined(await user.send(JORDAN["phone"]))
    assert "the text service isn't answering" in text
    assert any("can't reach Twilio" in r.getMessage() and r.levelno == logging.ERROR for r in caplog.records)
    assert await h.engine.where(5103) == ("registration", "phone")


async def test_wrong_credentials_tell_the_operator_what_to_check(tmp_path, twilio, caplog):
    caplog.set_level(logging.DEBUG, logger="sabot")
    h = await make_harness(
        settings_for(tmp_path, delivery={"sms": {"backend": "twilio", "twilio": twilio.settings(auth_token="f" * 32)}})
    )
    try:
        user = await h.user(5104)
        await to_phone(h, user)
        text = joined(await user.send(JORDAN["phone"]))
    finally:
        await h.close()
    assert "the text service isn't answering" in text
    lines = [r.getMessage() for r in caplog.records if r.name == "sabot.delivery"]
    assert any("error 20003" in line and "auth_token" in line for line in lines), lines
    assert not any("f" * 32 in line for line in lines)


async def test_a_refused_security_code_points_to_the_app_or_the_help_desk(h, twilio):
    user = await h.user(5105)
    await register(h, user)
    await user.command("logout")
    twilio.refuse(PHONE, 30003, when="status")
    await user.command("login")
    await user.send(JORDAN["username"])
    text = joined(await user.send(JORDAN["password"]))
    assert "The phone on your account can't receive texts right now" in text
    assert "authenticator app" in text and "1-888-841-4648" in text
    assert "delivery_refused:sms_no_texts" in await audit_events(h)


async def test_the_credentials_check_is_a_harmless_call(twilio):
    good = TwilioSms(load_settings(delivery={"sms": {"backend": "twilio", "twilio": twilio.settings()}}).delivery.sms.twilio)
    bad = TwilioSms(
        load_settings(delivery={"sms": {"backend": "twilio", "twilio": twilio.settings(auth_token="0" * 32)}}).delivery.sms.twilio
    )
    try:
        assert await good.check() is None
        problem = await bad.check()
        assert "20003" in problem and "auth_token" in problem and "0" * 32 not in problem
    finally:
        await good.close()
        await bad.close()
    assert not twilio.messages


async def test_a_number_in_another_form_is_sent_as_e164(twilio):
    sender = TwilioSms(load_settings(delivery={"sms": {"backend": "twilio", "twilio": twilio.settings()}}).delivery.sms.twilio)
    try:
        await sender.send(None, Message(channel="sms", to="(217) 555-0123", body="hello"))
        with pytest.raises(DeliveryRefused) as refused:
            twilio.refuse(PHONE, 21614)
            await sender.send(None, Message(channel="sms", to=PHONE, body="hello"))
    finally:
        await sender.close()
    assert twilio.messages[0].to == PHONE
    assert (refused.value.reason, refused.value.code, refused.value.recipient) == ("no_texts", "21614", True)


def test_settings_come_from_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("SABOT_CONFIG", str(tmp_path / "none.yaml"))
    (tmp_path / "none.yaml").write_text("{}\n")
    monkeypatch.setenv("SABOT_DELIVERY__SMS__BACKEND", "twilio")
    monkeypatch.setenv("SABOT_DELIVERY__SMS__TWILIO__ACCOUNT_SID", "AC123")
    monkeypatch.setenv("SABOT_DELIVERY__SMS__TWILIO__AUTH_TOKEN", "secret")
    monkeypatch.setenv("SABOT_DELIVERY__SMS__TWILIO__FROM_NUMBER", "+12025550100")
    sms = load_settings().delivery.sms
    assert sms.backend == "twilio"
    assert (sms.twilio.account_sid, sms.twilio.from_number, sms.twilio.base_url) == ("AC123", "+12025550100", "https://api.twilio.com")
    monkeypatch.delenv("SABOT_DELIVERY__SMS__TWILIO__AUTH_TOKEN")
    with pytest.raises(Exception, match="auth_token"):
        load_settings()


def test_texts_stay_in_the_outbox_by_default(tmp_path):
    settings = settings_for(tmp_path)
    assert settings.delivery.sms.backend == "outbox" and settings.delivery.email.backend == "outbox"
    from bot.config import Settings

    assert Settings.model_fields["delivery"].default.sms.backend == "outbox"

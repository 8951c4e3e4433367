"""Emails through a real SMTP server on loopback (aiosmtpd): STARTTLS with a certificate made
here and trusted through delivery.email.smtp.ca_file, a login, Date and Message-ID headers; a
refused address and an unreachable or untrusted server give the person a clear message, the
operator a log line without the recipient or the password, and an audit event."""

from __future__ import annotations

import datetime as dt
import ipaddress
import logging
import re
import socket
import ssl
from email import message_from_bytes as _parse
from email import policy as _policy
from email.utils import parsedate_to_datetime

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from sqlalchemy import select

from bot.config import load_settings
from bot.delivery import OUTCOMES
from bot.storage.models import AuditEvent
from tests.conftest import make_harness
from tests.conftest import test_settings as settings_for
from tests.journeys import JORDAN, to_email_code, to_identity

USER, PASSWORD = "sabot", "mail-server-password-9f3a"
CODE = re.compile(r"\b(\d{6})\b")


def joined(replies) -> str:
    return "\n".join(m.text for m in replies)


def self_signed(tmp_path):
    """A certificate for 127.0.0.1 and localhost, and its key, as PEM files."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = dt.datetime.now(dt.timezone.utc)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = tmp_path / "smtp-cert.pem", tmp_path / "smtp-key.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return cert_file, key_file


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Mailbox:
    """The server's side: what it accepted, over TLS or not, and the addresses it refuses."""

    def __init__(self):
        self.messages: list[tuple[list[str], bytes, bool]] = []
        self.refused: set[str] = set()

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):  # noqa: N802 - aiosmtpd's hook
        if address in self.refused:
            return "550 5.1.1 <%s>: Recipient address rejected: User unknown" % address
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):  # noqa: N802
        self.messages.append((list(envelope.rcpt_tos), envelope.original_content or envelope.content, session.ssl is not None))
        return "250 Message accepted for delivery"

    def last_to(self, address: str):
        for rcpts, content, tls in reversed(self.messages):
            if address in rcpts:
                return _parse(content, policy=_policy.default), tls
        raise AssertionError(f"no email to {address}")


def _authenticate(server, session, envelope, mechanism, auth_data):
    ok = isinstance(auth_data, LoginPassword) and (auth_data.login, auth_data.password) == (USER.encode(), PASSWORD.encode())
    return AuthResult(success=ok, handled=False)


@pytest.fixture
def smtp_server(tmp_path):
    cert_file, key_file = self_signed(tmp_path)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert_file, key_file)
    mailbox = Mailbox()
    controller = Controller(
        mailbox,
        hostname="127.0.0.1",
        port=free_port(),
        tls_context=context,
        require_starttls=True,
        authenticator=_authenticate,
        auth_require_tls=True,
    )
    controller.start()
    try:
        yield controller, mailbox, cert_file
    finally:
        controller.stop()


def smtp_settings(controller, cert_file, **extra) -> dict:
    return {
        "email": {
            "backend": "smtp",
            "sender": "Secure Access registration <no-reply@sabot.example>",
            "smtp": {
                "host": "127.0.0.1",
                "port": controller.port,
                "username": USER,
                "password": PASSWORD,
                "starttls": True,
                "ca_file": str(cert_file),
                "timeout_seconds": 5,
                **extra,
            },
        }
    }


async def harness_with(tmp_path, delivery, mailbox=None):
    h = await make_harness(settings_for(tmp_path, delivery=delivery))
    if mailbox is not None:
        read_outbox = h.last_code

        async def last_code(channel, to=None):
            if channel != "email":
                return await read_outbox(channel, to)
            mail, _tls = mailbox.last_to(to)
            return CODE.search(mail.get_content()).group(1)

        h.last_code = last_code
    return h


async def audit_events(h) -> list[str]:
    async with h.services.sessions() as session:
        return [e.event for e in (await session.scalars(select(AuditEvent).order_by(AuditEvent.id))).all()]


async def test_the_confirmation_code_goes_through_smtp_with_starttls(tmp_path, smtp_server):
    controller, mailbox, cert_file = smtp_server
    h = await harness_with(tmp_path, smtp_settings(controller, cert_file), mailbox)
    try:
        user = await h.user(6101)
        await to_identity(h, user)  # the emailed code, read from the server's mailbox, confirms the address
        assert await h.engine.where(6101) == ("registration", "ssn")
        mail, over_tls = mailbox.last_to(JORDAN["email"])
        assert over_tls
        assert mail["To"] == JORDAN["email"] and mail["Subject"] == "Your confirmation code"
        assert mail["From"] == "Secure Access registration <no-reply@sabot.example>"
        assert parsedate_to_datetime(mail["Date"]) == h.clock.now().replace(microsecond=0)
        assert re.fullmatch(r"<[^@>]+@sabot\.example>", mail["Message-ID"])
        assert not [m for m in await h.outbox() if m.channel == "email"]  # no copy of the code kept
    finally:
        await h.close()
    assert OUTCOMES[("email", "smtp", "sent")] >= 1


async def test_two_emails_have_different_message_ids(tmp_path, smtp_server):
    controller, mailbox, cert_file = smtp_server
    h = await harness_with(tmp_path, smtp_settings(controller, cert_file), mailbox)
    try:
        user = await h.user(6102)
        await to_email_code(h, user)
        await user.press("Send a new code")
    finally:
        await h.close()
    ids = {_parse(content, policy=_policy.default)["Message-ID"] for _r, content, _tls in mailbox.messages}
    assert len(ids) == 2


async def test_an_address_the_server_refuses_is_explained(tmp_path, smtp_server, caplog):
    caplog.set_level(logging.DEBUG, logger="sabot")
    controller, mailbox, cert_file = smtp_server
    mailbox.refused.add(JORDAN["email"])
    h = await harness_with(tmp_path, smtp_settings(controller, cert_file), mailbox)
    try:
        user = await h.user(6103)
        replies = await to_email_code(h, user) or []
        assert await h.engine.where(6103) == ("registration", "email")
        assert "delivery_refused:email_rejected_address" in await audit_events(h)
        # the next step: another address goes through
        text = joined(await user.send("jordan.r@example.net"))
        assert "I've emailed a confirmation code to jordan.r@example.net" in text
    finally:
        await h.close()
    lines = [r.getMessage() for r in caplog.records if r.name == "sabot.delivery"]
    assert any("recipient's address was refused (550)" in line for line in lines), lines
    assert not any("jordan" in line or PASSWORD in line for line in lines)


async def test_the_refusal_sentence(tmp_path, smtp_server):
    controller, mailbox, cert_file = smtp_server
    mailbox.refused.add(JORDAN["email"])
    h = await harness_with(tmp_path, smtp_settings(controller, cert_file), mailbox)
    try:
        user = await h.user(6104)
        text = joined(await to_email_code(h, user))
    finally:
        await h.close()
    assert "The mail server for that address refused the email, so the confirmation code couldn't be sent." in text
    assert "use another email address" in text


@pytest.mark.parametrize("problem", ["unreachable", "untrusted", "wrong_password"])
async def test_a_server_that_cannot_be_used_asks_to_try_later_and_tells_the_operator(tmp_path, smtp_server, caplog, problem):
    caplog.set_level(logging.DEBUG, logger="sabot")
    controller, mailbox, cert_file = smtp_server
    delivery = smtp_settings(controller, cert_file)
    smtp = delivery["email"]["smtp"]
    if problem == "unreachable":
        smtp["port"] = free_port()
    elif problem == "untrusted":
        smtp["ca_file"] = ""
    else:
        smtp["password"] = "not-the-password-7c1e"
    h = await harness_with(tmp_path, delivery)
    try:
        user = await h.user(6105)
        text = joined(await to_email_code(h, user))
        assert await h.engine.where(6105) == ("registration", "email")
        assert "delivery_refused:email_unavailable" in await audit_events(h)
    finally:
        await h.close()
    assert "I couldn't send the email just now: the mail service isn't answering. Please try again in a few minutes." in text
    lines = [r.getMessage() for r in caplog.records if r.name == "sabot.delivery" and r.levelno >= logging.ERROR]
    expected = {
        "unreachable": "can't reach the mail server at 127.0.0.1:",
        "untrusted": "TLS with the mail server at 127.0.0.1:",
        "wrong_password": "refused the login (535)",
    }[problem]
    assert any(expected in line for line in lines), lines
    assert not any(PASSWORD in line or "not-the-password" in line or "jordan" in line for line in lines)
    assert not mailbox.messages


def test_the_older_delivery_keys_still_work():
    email = load_settings(delivery={"backend": "smtp", "email_from": "A <a@b.example>", "smtp": {"host": "mail.example.org"}}).delivery.email
    assert (email.backend, email.sender, email.smtp.host, email.smtp.port) == ("smtp", "A <a@b.example>", "mail.example.org", 587)
    assert load_settings(delivery={"email": {"backend": "smtp"}}).delivery.email.backend == "smtp"

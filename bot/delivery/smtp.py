"""Emails through an SMTP server (``delivery.email.backend: smtp``).

Each email opens its own connection (STARTTLS unless turned off, then the login if one is set),
in a thread so the bot keeps answering. A refusal is sorted for the person: the recipient's
address refused for good (a 5xx answer to RCPT) is ``rejected_address``; anything else (the
server unreachable, TLS failing, the login or the sender refused, a temporary 4xx) is
``unavailable``, with a log line for the operator naming the server and what went wrong, never
the recipient, the message or the password.
"""

from __future__ import annotations

import asyncio
import smtplib
import ssl
from email.message import EmailMessage
from email.utils import formatdate, make_msgid, parseaddr
from typing import Any

from bot.clock import Clock
from bot.config import EmailSettings
from bot.delivery.base import DeliveryRefused, Message, log


class SmtpEmail:
    name = "smtp"

    def __init__(self, settings: EmailSettings, clock: Clock):
        self.smtp = settings.smtp
        self.sender = settings.sender
        self.clock = clock
        address = parseaddr(self.sender)[1]
        #: the right-hand side of every Message-ID: the sender's own domain
        self.domain = address.rpartition("@")[2] or "sabot.invalid"

    def compose(self, message: Message) -> EmailMessage:
        mail = EmailMessage()
        mail["From"] = self.sender
        mail["To"] = message.to
        mail["Subject"] = message.subject or ""
        mail["Date"] = formatdate(self.clock.now().timestamp(), usegmt=True)
        mail["Message-ID"] = make_msgid(domain=self.domain)
        mail.set_content(message.body)
        return mail

    def tls_context(self) -> ssl.SSLContext:
        context = ssl.create_default_context()
        if self.smtp.ca_file:
            context.load_verify_locations(cafile=self.smtp.ca_file)
        return context

    def _send_now(self, mail: EmailMessage) -> None:
        server = smtplib.SMTP(self.smtp.host, self.smtp.port, timeout=self.smtp.timeout_seconds)
        try:
            if self.smtp.starttls:
                server.starttls(context=self.tls_context())
            if self.smtp.username:
                server.login(self.smtp.username, self.smtp.password)
            server.send_message(mail)
            try:
                server.quit()
            except (OSError, smtplib.SMTPException):
                pass  # the message was taken; a goodbye that fails changes nothing
        finally:
            # not the context manager: its QUIT on a failed connection would hide the first error
            server.close()

    async def send(self, session: Any, message: Message) -> None:
        mail = self.compose(message)
        try:
            await asyncio.to_thread(self._send_now, mail)
        except Exception as exc:  # noqa: BLE001 - sorted below; nothing else leaves
            raise self.refusal(exc) from None

    def refusal(self, exc: BaseException) -> DeliveryRefused:
        """What ``exc`` means for the person, with the operator's log line written."""
        where = f"{self.smtp.host}:{self.smtp.port}"
        if isinstance(exc, smtplib.SMTPRecipientsRefused):
            codes = [code for code, _text in exc.recipients.values()]
            code = codes[0] if codes else 0
            if 500 <= code < 600:
                log.warning("email refused by the mail server at %s: the recipient's address was refused (%s)", where, code)
                return DeliveryRefused("email", "rejected_address", str(code))
            log.error("email not sent: the mail server at %s refused the recipient for now (%s)", where, code)
            return DeliveryRefused("email", "unavailable", str(code))
        if isinstance(exc, smtplib.SMTPAuthenticationError):
            log.error(
                "email not sent: the mail server at %s refused the login (%s); check delivery.email.smtp.username and password",
                where, exc.smtp_code,
            )
            return DeliveryRefused("email", "unavailable", str(exc.smtp_code))
        if isinstance(exc, smtplib.SMTPNotSupportedError):
            what = "STARTTLS" if self.smtp.starttls else "login"
            log.error("email not sent: the mail server at %s doesn't offer %s; check delivery.email.smtp", where, what)
            return DeliveryRefused("email", "unavailable", "not-supported")
        if isinstance(exc, smtplib.SMTPSenderRefused):
            log.error("email not sent: the mail server at %s refused the sender address (%s); check delivery.email.sender", where, exc.smtp_code)
            return DeliveryRefused("email", "unavailable", str(exc.smtp_code))
        if isinstance(exc, smtplib.SMTPResponseException):
            log.error("email not sent: the mail server at %s answered %s", where, exc.smtp_code)
            return DeliveryRefused("email", "unavailable", str(exc.smtp_code))
        if isinstance(exc, ssl.SSLError):
            detail = getattr(exc, "verify_message", None) or getattr(exc, "reason", None) or type(exc).__name__
            log.error(
                "email not sent: TLS with the mail server at %s failed (%s); check delivery.email.smtp.ca_file or the server's certificate",
                where, detail,
            )
            return DeliveryRefused("email", "unavailable", "tls")
        if isinstance(exc, (OSError, smtplib.SMTPException)):
            log.error("email not sent: can't reach the mail server at %s (%s)", where, type(exc).__name__)
            return DeliveryRefused("email", "unavailable", type(exc).__name__)
        log.error("email not sent: unexpected %s talking to the mail server at %s", type(exc).__name__, where)
        return DeliveryRefused("email", "unavailable", type(exc).__name__)

    async def close(self) -> None:
        return None

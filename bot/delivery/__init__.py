"""Delivery of emails, texts and postal letters.

The default backend is the outbox: every message is kept (encrypted) in the database and shown by
``sabot outbox`` and by the terminal chat, which is what development and tests need. ``smtp`` sends
emails through a real mail server; texts and letters still go to the outbox until a real text or
print vendor is plugged in.
"""

from __future__ import annotations

import asyncio
import smtplib
from dataclasses import dataclass
from datetime import datetime
from email.message import EmailMessage
from typing import Protocol

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.clock import Clock
from bot.config import Settings
from bot.crypto import Vault
from bot.storage.models import Delivery as DeliveryRow

CHANNELS = ("email", "sms", "mail")


class DeliveryError(Exception):
    """A message could not be handed over; the step is rolled back and the user asked to retry."""


@dataclass(frozen=True)
class Message:
    channel: str
    to: str
    body: str
    subject: str | None = None
    sent_at: datetime | None = None
    id: int | None = None

    def as_json(self) -> dict:
        out = {"channel": self.channel, "to": self.to}
        if self.channel == "email":
            out["subject"] = self.subject or ""
        out["body"] = self.body
        out["sent_at"] = self.sent_at.isoformat() if self.sent_at else None
        return out


class DeliveryBackend(Protocol):
    async def send(self, session: AsyncSession, message: Message) -> None: ...


class Outbox:
    def __init__(self, vault: Vault, clock: Clock):
        self.vault = vault
        self.clock = clock

    async def send(self, session: AsyncSession, message: Message) -> None:
        if message.channel not in CHANNELS:
            raise DeliveryError(f"unknown channel {message.channel}")
        session.add(
            DeliveryRow(
                channel=message.channel,
                to_enc=self.vault.encrypt(message.to, context="delivery.to"),
                subject_enc=self.vault.encrypt(message.subject, context="delivery.subject") if message.subject else None,
                body_enc=self.vault.encrypt(message.body, context="delivery.body"),
                sent_at=self.clock.now(),
            )
        )

    async def read(self, session: AsyncSession, *, after_id: int = 0) -> list[Message]:
        rows = (
            await session.scalars(select(DeliveryRow).where(DeliveryRow.id > after_id).order_by(DeliveryRow.id))
        ).all()
        return [
            Message(
                channel=r.channel,
                to=self.vault.decrypt(r.to_enc, context="delivery.to"),
                subject=self.vault.decrypt(r.subject_enc, context="delivery.subject") if r.subject_enc else None,
                body=self.vault.decrypt(r.body_enc, context="delivery.body"),
                sent_at=r.sent_at,
                id=r.id,
            )
            for r in rows
        ]


class SmtpEmail:
    """Emails through an SMTP server; other channels fall through to the outbox."""

    def __init__(self, settings: Settings, outbox: Outbox):
        self.smtp = settings.delivery.smtp
        self.sender = settings.delivery.email_from
        self.outbox = outbox

    def _send_now(self, message: Message) -> None:
        mail = EmailMessage()
        mail["From"] = self.sender
        mail["To"] = message.to
        mail["Subject"] = message.subject or ""
        mail.set_content(message.body)
        with smtplib.SMTP(self.smtp.host, self.smtp.port, timeout=self.smtp.timeout_seconds) as server:
            if self.smtp.starttls:
                server.starttls()
            if self.smtp.username:
                server.login(self.smtp.username, self.smtp.password)
            server.send_message(mail)

    async def send(self, session: AsyncSession, message: Message) -> None:
        if message.channel != "email":
            await self.outbox.send(session, message)
            return
        try:
            await asyncio.to_thread(self._send_now, message)
        except (OSError, smtplib.SMTPException) as exc:
            raise DeliveryError("the mail server did not accept the message") from exc


def make_delivery(settings: Settings, vault: Vault, clock: Clock) -> DeliveryBackend:
    outbox = Outbox(vault, clock)
    if settings.delivery.backend == "smtp":
        return SmtpEmail(settings, outbox)
    return outbox

"""The outbox: every message kept, encrypted, in the database (``sabot outbox``, the terminal
chat and the tests read it). The default for every channel, and the only one for letters, which
the print vendor takes as the day's export (``sabot letters export``)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.clock import Clock
from bot.crypto import Vault
from bot.delivery.base import CHANNELS, DeliveryRefused, Message
from bot.storage.models import Delivery as DeliveryRow


class Outbox:
    name = "outbox"

    def __init__(self, vault: Vault, clock: Clock):
        self.vault = vault
        self.clock = clock

    async def send(self, session: AsyncSession, message: Message) -> None:
        if message.channel not in CHANNELS:
            raise DeliveryRefused(message.channel, "unavailable", "unknown channel")
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

    async def close(self) -> None:
        return None

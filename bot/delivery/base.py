"""The delivery interface: a message, one sender per provider, and how outcomes are counted."""

from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from domain.ports import DeliveryRefused

log = logging.getLogger("sabot.delivery")

CHANNELS = ("email", "sms", "mail")

#: what a channel is called in the operator's log lines
CHANNEL_WORDS = {"email": "email", "sms": "text", "mail": "letter"}

#: deliveries by (channel, backend, outcome): "sent", or "refused:<reason>"; the same counts
#: whatever the process, for the operator's metrics (no destination, no content)
OUTCOMES: Counter[tuple[str, str, str]] = Counter()

#: kept under this name: a message that could not be handed over
DeliveryError = DeliveryRefused

__all__ = ["CHANNELS", "OUTCOMES", "DeliveryError", "DeliveryRefused", "Message", "Sender", "log"]


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


class Sender(Protocol):
    """One provider for one or more channels. Another provider (Amazon SNS, Vonage, a print
    vendor's API) is one more class with these two methods, named in ``bot.delivery.BACKENDS``."""

    #: the backend's name in config.yaml and in the counts ("outbox", "smtp", "twilio")
    name: str

    async def send(self, session: Any, message: Message) -> None:
        """Hand ``message`` over, or raise :class:`DeliveryRefused` saying why not. ``session``
        is the step's transaction (the outbox writes into it)."""

    async def close(self) -> None:
        """Release connections (the process is stopping)."""

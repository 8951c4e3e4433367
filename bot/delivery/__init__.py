"""Delivery of emails, texts and postal letters.

Each channel has its backend (``delivery.email.backend``, ``delivery.sms.backend`` in
config.yaml); letters always go to the outbox, from which the print vendor's export is made. The
default for every channel is the outbox: every message kept (encrypted) in the database and shown
by ``sabot outbox`` and the terminal chat, which is what development and tests need.

* :mod:`bot.delivery.outbox` - the outbox;
* :mod:`bot.delivery.smtp` - emails through an SMTP server;
* :mod:`bot.delivery.twilio` - texts through Twilio's Messages API.

Another provider is one more class with the :class:`~bot.delivery.base.Sender` methods, named in
:data:`BACKENDS`. A provider's refusal is raised as :class:`~domain.ports.DeliveryRefused`
(the flows turn it into a sentence for the person and an audit event), counted in
:data:`~bot.delivery.base.OUTCOMES` and logged by the sender for the operator.
"""

from __future__ import annotations

from typing import Any, Callable, Protocol

from bot.clock import Clock
from bot.config import Settings
from bot.crypto import Vault
from bot.delivery.base import CHANNELS, OUTCOMES, DeliveryError, DeliveryRefused, Message, Sender
from bot.delivery.outbox import Outbox

__all__ = [
    "BACKENDS", "CHANNELS", "OUTCOMES", "Delivery", "DeliveryBackend", "DeliveryError", "DeliveryRefused",
    "Message", "Outbox", "Sender", "make_delivery",
]


class DeliveryBackend(Protocol):
    async def send(self, session: Any, message: Message) -> None: ...


def _smtp(settings: Settings, outbox: Outbox, clock: Clock) -> Sender:
    from bot.delivery.smtp import SmtpEmail

    return SmtpEmail(settings.delivery.email, clock)


def _twilio(settings: Settings, outbox: Outbox, clock: Clock) -> Sender:
    from bot.delivery.twilio import TwilioSms

    return TwilioSms(settings.delivery.sms.twilio)


#: the backends a channel can name in config.yaml, besides "outbox"
BACKENDS: dict[str, dict[str, Callable[[Settings, Outbox, Clock], Sender]]] = {
    "email": {"smtp": _smtp},
    "sms": {"twilio": _twilio},
}


class Delivery:
    """Sends each message through its channel's sender, and counts what came of it."""

    def __init__(self, senders: dict[str, Sender], outbox: Outbox):
        self.senders = senders
        self.outbox = outbox

    def sender(self, channel: str) -> Sender:
        return self.senders.get(channel, self.outbox)

    async def send(self, session: Any, message: Message) -> None:
        sender = self.sender(message.channel)
        try:
            await sender.send(session, message)
        except DeliveryRefused as refused:
            OUTCOMES[(message.channel, sender.name, f"refused:{refused.reason}")] += 1
            raise
        OUTCOMES[(message.channel, sender.name, "sent")] += 1

    async def close(self) -> None:
        for sender in {id(s): s for s in (*self.senders.values(), self.outbox)}.values():
            await sender.close()


def make_delivery(settings: Settings, vault: Vault, clock: Clock) -> Delivery:
    outbox = Outbox(vault, clock)
    chosen = {"email": settings.delivery.email.backend, "sms": settings.delivery.sms.backend}
    senders: dict[str, Sender] = {}
    for channel, backend in chosen.items():
        if backend != "outbox":
            senders[channel] = BACKENDS[channel][backend](settings, outbox, clock)
    return Delivery(senders, outbox)

"""The plain-data vocabulary between flows and adapters.

A flow step receives an :class:`Incoming` event and returns a list of actions: :class:`Reply`
(text, optional buttons), :class:`DeleteUserMessage` (remove the message the user just sent, because
it carried something sensitive), :class:`Photo` (an image such as a QR code) or
:class:`Document` (a file such as a CSV export). Adapters (Telegram,
terminal, tests) render these their own way; nothing here knows about Telegram.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal, Union

IncomingKind = Literal["text", "button", "command", "other"]

#: the most characters one message may hold so that it fits on a phone screen: a turn's replies
#: are joined into one message only up to this length, and no single reply is longer
SCREEN_CHARS = 900


@dataclass(frozen=True)
class Incoming:
    """One thing the user did.

    kind="text": ``text`` is what they typed.
    kind="button": ``data`` is the button's callback data (``token``), ``text`` its label if known.
    kind="command": ``command`` without the slash, lower case; ``text`` holds the arguments.
    kind="other": ``other`` describes what arrived (``photo``, ``sticker``, ``edited``, ``voice``...).
    """

    chat_id: int
    kind: IncomingKind
    text: str = ""
    data: str = ""
    command: str = ""
    other: str = ""
    user_id: int | None = None
    message_id: int | None = None
    username: str | None = None
    #: the transport's sequence number (Telegram's update_id), to drop redelivered updates
    update_id: int | None = None
    #: the language the person's app is set to ("es", "es-MX"; Telegram's ``language_code``): the
    #: chat speaks it from its first message when the bot knows it (domain.i18n), until /language
    language_code: str | None = None


@dataclass(frozen=True)
class Button:
    label: str
    data: str


@dataclass(frozen=True)
class Reply:
    text: str
    buttons: tuple[tuple[Button, ...], ...] = ()
    #: the text shows a secret (a manual authenticator key, a code): adapters protect it from
    #: forwarding/saving where they can.
    protect: bool = False

    def button_labels(self) -> list[str]:
        return [b.label for row in self.buttons for b in row]


@dataclass(frozen=True)
class DeleteUserMessage:
    """Delete the user's message ``message_id`` (the one that carried a secret)."""

    message_id: int | None = None


@dataclass(frozen=True)
class Photo:
    data: bytes
    caption: str = ""
    filename: str = "image.png"
    protect: bool = False
    #: the text a QR code picture encodes, for an adapter that draws the code itself (a terminal)
    #: instead of keeping the picture anywhere (it may hold a secret, so it is never in the repr)
    qr: str | None = field(default=None, repr=False)


@dataclass(frozen=True)
class Document:
    """A file for the user to keep, e.g. a CSV export."""

    data: bytes
    filename: str
    caption: str = ""


@dataclass(frozen=True)
class Notify:
    """A message for another chat (e.g. a firm admin told that a hire finished), written in that
    chat's language (build it with ``flows.core.Ctx.notify``)."""

    chat_id: int
    text: str


Action = Union[Reply, DeleteUserMessage, Photo, Document, Notify]


"""The bot in a terminal: the same engine, buttons shown as numbered choices.

Works with a person at a keyboard and with another program feeding it one answer per line
(when standard input is not a terminal nothing is decorated and every line is read as it comes).
Emails, texts and letters the bot delivers are printed as they are sent, so codes can be read.
A QR code is drawn in the terminal and never written to disk (an authenticator's holds its key);
files for the person to keep (an admin's CSV export) are saved in the data folder, readable by
their owner only.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import io
import sys
from typing import TextIO

import segno

from bot.engine import Engine
from bot.services import Services
from bot.storage.files import write_private
from domain.i18n import _
from flows.replies import Action, DeleteUserMessage, Document, Incoming, Notify, Photo, Reply


class TerminalChat:
    def __init__(self, services: Services, engine: Engine, *, chat_id: int = 1,
                 stdin: TextIO | None = None, stdout: TextIO | None = None, language: str | None = None):
        self.services = services
        self.engine = engine
        self.chat_id = chat_id
        #: the language asked for (``sabot chat --lang es``), as a Telegram app would say it
        self.language = language
        self.stdin = stdin or sys.stdin
        self.stdout = stdout or sys.stdout
        self.interactive = self.stdin.isatty()
        self.buttons: list[tuple[str, str]] = []  # (label, data) of the latest keyboard
        self.outbox_seen = 0
        self.message_id = 0

    def write(self, text: str = "") -> None:
        self.stdout.write(text + "\n")

    async def _skip_old_deliveries(self) -> None:
        async with self.services.sessions() as session:
            old = await self.services.outbox.read(session)
        self.outbox_seen = old[-1].id if old else 0

    async def _show_deliveries(self) -> None:
        async with self.services.sessions() as session:
            new = await self.services.outbox.read(session, after_id=self.outbox_seen)
        for message in new:
            self.outbox_seen = message.id
            if message.channel == "email":
                head = _("[email to {to}] {subject}").format(to=message.to, subject=message.subject or "")
            elif message.channel == "sms":
                head = _("[text to {to}]").format(to=message.to)
            else:
                head = _("[letter to {to}]").format(to=message.to)
            self.write(head)
            for line in message.body.splitlines():
                self.write(f"    {line}")

    def _render(self, actions: list[Action]) -> None:
        for action in actions:
            if isinstance(action, Reply):
                self.write(f"bot: {action.text}")
                if action.buttons:
                    self.buttons = [(b.label, b.data) for row in action.buttons for b in row]
                    for i, (label, _data) in enumerate(self.buttons, 1):
                        self.write(f"  {i}) {label}")
            elif isinstance(action, Photo):
                self._picture(action)
            elif isinstance(action, Document):
                saved = _("[file saved to {path}] {caption}").format(path=self._save(action, "files"), caption=action.caption)
                self.write(f"bot: {saved}")
            elif isinstance(action, Notify):
                self.write(_("[message for chat {chat}] {text}").format(chat=action.chat_id, text=action.text))
            elif isinstance(action, DeleteUserMessage):
                pass  # nothing to delete in a terminal; the bot's note says what it would do
        self.stdout.flush()

    def _picture(self, photo: Photo) -> None:
        """A QR code drawn with text characters (most phone cameras read it off the screen); any
        other picture is only mentioned. Neither is written anywhere."""
        if not photo.qr:
            shown = _("[a picture, not shown in the terminal] {caption}").format(caption=photo.caption)
            self.write(f"bot: {shown}".rstrip())
            return
        drawing = io.StringIO()
        segno.make(photo.qr, error="m").terminal(out=drawing, compact=True)
        self.write(f"bot: {photo.caption}".rstrip())
        self.stdout.write(drawing.getvalue())

    def _save(self, item: Document, folder_name: str):
        """Write a file the bot sends into the data folder, readable by its owner only; where it
        went."""
        return write_private(self.services.settings.data_path / folder_name / item.filename, item.data)

    def _remove_kept_pictures(self) -> None:
        """Pictures an earlier version of the terminal chat kept in the data folder (an
        authenticator's QR code among them, which holds its key) are removed."""
        folder = self.services.settings.data_path / "images"
        if not folder.is_dir():
            return
        for picture in folder.glob("*.png"):
            picture.unlink(missing_ok=True)
        with contextlib.suppress(OSError):
            folder.rmdir()

    def to_incoming(self, line: str) -> Incoming:
        text = line.strip()
        self.message_id += 1
        if text.startswith("/") and len(text) > 1:
            name, _sep, args = text[1:].partition(" ")
            return Incoming(self.chat_id, "command", text=args.strip(), command=name.split("@")[0].lower(),
                            message_id=self.message_id)
        if text.isdigit() and self.buttons and 1 <= int(text) <= len(self.buttons) and len(text) <= 2:
            label, data = self.buttons[int(text) - 1]
            return Incoming(self.chat_id, "button", text=label, data=data, message_id=self.message_id)
        for label, data in self.buttons:
            if text.casefold() == label.casefold():
                return Incoming(self.chat_id, "button", text=label, data=data, message_id=self.message_id)
        return Incoming(self.chat_id, "text", text=text, message_id=self.message_id)

    async def say(self, line: str) -> None:
        incoming = dataclasses.replace(self.to_incoming(line), language_code=self.language)
        actions = await self.engine.handle(incoming)
        await self._show_deliveries()
        self._render(actions)
        for notice in await self.engine.tick(chat_id=self.chat_id):
            self.write(f"bot: {notice.text}")

    async def run(self) -> None:
        self._remove_kept_pictures()
        await self._skip_old_deliveries()
        if self.interactive:
            self.write(_("Secure Access registration – terminal chat. Type your answers; for buttons type the "
                         "number or the label. /help at any time; Ctrl-D to leave (your progress is kept)."))
        await self.say("/start")
        while True:
            if self.interactive:
                self.stdout.write("you: ")
                self.stdout.flush()
            line = await asyncio.to_thread(self.stdin.readline)
            if not line:
                break
            if not line.strip():
                continue
            await self.say(line)
        if self.interactive:
            self.write("\n" + _("Bye for now. Your answers are saved; run `sabot chat` again to carry on."))

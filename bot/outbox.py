"""The outbox of Telegram messages: a turn's replies are stored with its answer, sent after.

What a turn sends (its replies, the deletion of a message that carried a secret, notices to
other chats) is written to ``pending_replies``, encrypted, in the same transaction as the
conversation state it answers, and deleted once Telegram has taken it. So whatever happens to
the process between the commit and the send, the replies are still there:

* a redelivered update (same update id) whose answer is already stored gets its unsent replies;
* every worker, when it starts and then every few seconds, sends what is stored and was not sent
  (oldest first, each chat's in order), once it is ``telegram.resend_after_seconds`` old;
* a step that needs a password hashed first stores the deletion of the person's message before
  the hashing starts, so a crash then still removes the password from the chat.

Delivery is at least once: a crash after Telegram took a message but before it was marked sent
sends that message again. Marks are written with the worker's next transaction rather than in
one of their own (one commit per turn, not two). Unsent replies older than
``privacy.pending_replies_retention_hours`` are deleted by the purge.

``SABOT_TEST_CRASH_AT`` is a test hook: the fault tests set it to make the process kill itself
at one point of a turn (see :func:`crash_point`); nothing else sets it.
"""

from __future__ import annotations

import asyncio
import base64
import logging
import os
import signal
from datetime import datetime, timedelta
from typing import Callable

from sqlalchemy import bindparam, or_, select, update

from bot.storage import pg_batch
from bot.storage.db import transaction
from bot.storage.direct import connection, run, run_many
from bot.storage.models import PendingReply
from domain.ports import DecryptionError
from flows.replies import Action, Button, DeleteUserMessage, Document, Incoming, Notify, Photo, Reply

log = logging.getLogger("sabot.outbox")

#: test hook: the point of a turn where the process kills itself (before_commit, after_commit,
#: after_send, during_hashing)
CRASH_AT = "SABOT_TEST_CRASH_AT"
#: test hook: a file that arms the crash; it fires only while the file exists and removes it, so
#: exactly one process crashes once
CRASH_ARMED = "SABOT_TEST_CRASH_ARMED"
_CRASH_POINT = os.environ.get(CRASH_AT) or None

CONTEXT = "pending_reply"
#: the deletion of a secret message stored before slow work (password hashing)
EARLY = 0
#: the replies of a finished turn
TURN = 1

#: how long marks of sent replies wait for a transaction to join before one of their own
FLUSH_SECONDS = 0.05
#: how long replies one worker took to send again are left to it
CLAIM_SECONDS = 30.0

_TABLE = PendingReply.__table__
_INSERT = _TABLE.insert()
_OF_UPDATE = (
    select(_TABLE.c.payload_enc)
    .where(_TABLE.c.chat_id == bindparam("chat_id"), _TABLE.c.update_id == bindparam("update_id"))
    .order_by(_TABLE.c.id)
)
_SENT = _TABLE.delete().where(_TABLE.c.chat_id == bindparam("d_chat"), _TABLE.c.update_id == bindparam("d_update"))


def crash_point(name: str) -> None:
    """Test hook: kill this process (SIGKILL, no clean-up at all) at point ``name`` when the
    fault tests ask for it through ``SABOT_TEST_CRASH_AT``."""
    if _CRASH_POINT != name:
        return
    armed = os.environ.get(CRASH_ARMED)
    if armed:
        try:
            os.remove(armed)
        except FileNotFoundError:
            return
    log.warning("test hook: crashing at %s", name)
    os.kill(os.getpid(), signal.SIGKILL)


def encode(actions: list[Action], message_id: int | None) -> list[dict]:
    """Actions as JSON-ready data (a deletion names its message: ``message_id`` by default)."""
    out: list[dict] = []
    for action in actions:
        if isinstance(action, Reply):
            item = {"t": "reply", "text": action.text}
            if action.buttons:
                item["buttons"] = [[[b.label, b.data] for b in row] for row in action.buttons]
            if action.protect:
                item["protect"] = True
        elif isinstance(action, DeleteUserMessage):
            item = {"t": "delete", "id": action.message_id or message_id}
        elif isinstance(action, Photo):
            item = {"t": "photo", "data": base64.b64encode(action.data).decode(), "caption": action.caption,
                    "filename": action.filename, "protect": action.protect}
        elif isinstance(action, Document):
            item = {"t": "document", "data": base64.b64encode(action.data).decode(), "caption": action.caption,
                    "filename": action.filename}
        elif isinstance(action, Notify):
            item = {"t": "notify", "chat": action.chat_id, "text": action.text}
        else:
            continue
        out.append(item)
    return out


def decode(items: list[dict]) -> list[Action]:
    out: list[Action] = []
    for item in items or []:
        kind = item.get("t")
        if kind == "reply":
            buttons = tuple(tuple(Button(label, data) for label, data in row) for row in item.get("buttons") or ())
            out.append(Reply(item["text"], buttons, protect=bool(item.get("protect"))))
        elif kind == "delete":
            out.append(DeleteUserMessage(item.get("id")))
        elif kind == "photo":
            out.append(Photo(base64.b64decode(item["data"]), item.get("caption", ""), item.get("filename", "image.png"),
                             protect=bool(item.get("protect"))))
        elif kind == "document":
            out.append(Document(base64.b64decode(item["data"]), item["filename"], item.get("caption", "")))
        elif kind == "notify":
            out.append(Notify(item["chat"], item["text"]))
    return out


class Outbox:
    def __init__(self, services):
        self.services = services
        self.vault = services.vault
        #: (chat id, update id) of replies sent and not yet marked so in the database
        self._sent: list[tuple[int, int]] = []
        #: whether no transaction that would write the marks is coming soon (set by the engine)
        self.idle: Callable[[], bool] = lambda: True
        self._flushing: asyncio.Task | None = None
        self._timer: asyncio.TimerHandle | None = None

    def row(self, incoming: Incoming, actions: list[Action], now: datetime, seq: int = TURN) -> dict | None:
        """The stored form of a turn's actions (None: nothing to store: no actions, or an event
        that Telegram didn't send)."""
        if incoming.update_id is None or not actions:
            return None
        payload = encode(actions, incoming.message_id)
        if not payload:
            return None
        return {
            "chat_id": incoming.chat_id,
            "update_id": incoming.update_id,
            "seq": seq,
            "payload_enc": self.vault.encrypt(payload, context="pending_reply"),
            "created_at": now,
            "claimed_at": None,
        }

    async def store(self, conn, rows: list[dict]) -> None:
        """Write ``rows`` (one statement) and the marks of replies sent since the last call."""
        if rows:
            await run_many(conn, _INSERT, rows)
        await self.flush(conn)

    async def write_group(self, conn, writes: dict[int, dict], stored: dict, rows: list[dict]) -> bool:
        """PostgreSQL: a group's conversations (``writes``, inserted where not ``stored``), its
        ``rows`` and the marks of replies sent since the last call, in one statement
        (bot.storage.pg_batch). False: not on asyncpg, nothing written."""
        sent = self._sent
        self._sent = []
        try:
            done = await pg_batch.write(
                conn,
                [w for chat, w in writes.items() if chat in stored],
                [w for chat, w in writes.items() if chat not in stored],
                rows,
                sent,
            )
        except BaseException:
            self._sent = sent + self._sent  # marked with a later transaction
            raise
        if not done:
            self._sent = sent + self._sent
        return done

    async def flush(self, conn) -> None:
        """Delete the replies sent since the last flush, in the caller's transaction."""
        if not self._sent:
            return
        sent, self._sent = self._sent, []
        await run_many(conn, _SENT, [{"d_chat": chat, "d_update": update_id} for chat, update_id in sent])

    def sent(self, chat_id: int, update_id: int) -> None:
        """The replies to this update went out: marked so with the next transaction, or, when
        none comes within FLUSH_SECONDS, in one of their own."""
        self._sent.append((chat_id, update_id))
        if self._timer is None:
            self._timer = asyncio.get_running_loop().call_later(FLUSH_SECONDS, self._flush_later)

    def _flush_later(self) -> None:
        self._timer = None
        if not self._sent or (self._flushing is not None and not self._flushing.done()):
            return
        if not self.idle():  # a transaction under way or coming writes them; look again later
            self._timer = asyncio.get_running_loop().call_later(FLUSH_SECONDS, self._flush_later)
            return
        self._flushing = asyncio.get_running_loop().create_task(self._flush_alone())

    async def _flush_alone(self) -> None:
        try:
            async with transaction(self.services.sessions) as session:
                await self.flush(await connection(session))
        except Exception as exc:  # noqa: BLE001 - at worst sent again after a crash
            log.warning("could not mark replies sent (%s)", type(exc).__name__)

    async def stored(self, conn, chat_id: int, update_id: int) -> list[Action]:
        """The unsent replies stored for an update (for its redelivery)."""
        if (chat_id, update_id) in self._sent:
            return []
        rows = (await run(conn, _OF_UPDATE, {"chat_id": chat_id, "update_id": update_id})).all()
        return [action for row in rows for action in self._decrypt(row[0])]

    def _decrypt(self, payload_enc: str) -> list[Action]:
        try:
            return decode(self.vault.decrypt(payload_enc, context="pending_reply"))
        except DecryptionError:
            log.error("a stored reply could not be decrypted; dropped")
            return []

    async def unsent(self, *, older_than: float, limit: int = 200) -> list[tuple[int, int, list[Action]]]:
        """Stored replies not marked sent, at least ``older_than`` seconds old and not taken by
        a worker in that time: (chat id, update id, actions) per update, oldest first. They are
        taken (``claimed_at``) in a transaction of their own, so other workers leave them."""
        now = self.services.clock.now()
        cutoff = now - timedelta(seconds=max(0.0, older_than))
        # a worker that took some is given time to send them
        claimed = now - timedelta(seconds=max(older_than, CLAIM_SECONDS))
        table = PendingReply
        async with transaction(self.services.sessions) as session:
            await self.flush(await connection(session))
            rows = (
                await session.execute(
                    select(table.id, table.chat_id, table.update_id, table.payload_enc)
                    .where(table.created_at <= cutoff, or_(table.claimed_at.is_(None), table.claimed_at <= claimed))
                    .order_by(table.id)
                    .limit(limit)
                    .with_for_update(skip_locked=True)
                )
            ).all()
            if rows:
                await session.execute(update(table).where(table.id.in_([r.id for r in rows])).values(claimed_at=now))
        out: dict[tuple[int, int], list[Action]] = {}
        for row in rows:
            out.setdefault((row.chat_id, row.update_id), []).extend(self._decrypt(row.payload_enc))
        return [(chat, update_id, actions) for (chat, update_id), actions in out.items()]

    async def close(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if self._flushing is not None and not self._flushing.done():
            await asyncio.gather(self._flushing, return_exceptions=True)
        if self._sent:
            try:
                async with transaction(self.services.sessions) as session:
                    await self.flush(await connection(session))
            except Exception:  # noqa: BLE001 - they are sent again after a restart: harmless
                log.warning("could not mark the last replies sent")

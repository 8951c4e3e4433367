"""One turn of one chat: read its conversation, run the step (flows.router.dispatch), write it back.

The step runs, and its replies are written, in the chat's language: the one it chose with
/language, or at its first message the one its app is set to when the bot speaks it (English
otherwise), kept in ``conversations.language``.

The step's answer is committed before its reply is returned, so a restart or a second worker
finds the conversation exactly where the user left it; its replies are stored in the same
transaction (bot.outbox), so they too survive a crash before they are sent. bot.group_commit runs several chats' turns
in one transaction; :meth:`TurnRunner.handle` runs one in a transaction of its own.
"""

from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy import bindparam, select, text

from bot.crypto import DecryptionError
from bot.outbox import Outbox, crash_point
from bot.services import Services
from bot.state_cache import StateCache
from bot.storage.db import is_sqlite, transaction
from bot.storage.direct import connection, run, run_many
from bot.storage.models import Conversation
from bot.storage.repo import Repo
from domain.i18n import DEFAULT_LANGUAGE, language_for, using
from flows.core import Ctx
from flows.replies import Action, Incoming
from flows.router import FLOWS, ConversationState, dispatch

log = logging.getLogger("sabot.engine")

#: how many recent update ids each conversation remembers to drop redeliveries
RECENT_UPDATES = 20

_CONVERSATIONS = Conversation.__table__
#: the conversations of a group (or one chat), locked for the transaction where the database can
_LOAD = (
    select(_CONVERSATIONS.c.chat_id, _CONVERSATIONS.c.flow, _CONVERSATIONS.c.state, _CONVERSATIONS.c.data_enc,
           _CONVERSATIONS.c.version, _CONVERSATIONS.c.language)
    .where(_CONVERSATIONS.c.chat_id.in_(bindparam("ids", expanding=True)))
    .with_for_update()
)
#: one conversation, on SQLite: its lookups go straight to the driver (bot.storage.direct), where
#: a lookup per chat costs less than one statement with an IN list through SQLAlchemy
_LOAD_ONE = select(*_LOAD.selected_columns).where(_CONVERSATIONS.c.chat_id == bindparam("chat_id"))
_SAVE = (
    _CONVERSATIONS.update()
    .where(_CONVERSATIONS.c.chat_id == bindparam("b_chat_id"))
    .values(
        flow=bindparam("b_flow"),
        state=bindparam("b_state"),
        data_enc=bindparam("b_data_enc"),
        account_id=bindparam("b_account_id"),
        version=bindparam("b_version"),
        updated_at=bindparam("b_updated_at"),
        language=bindparam("b_language"),
    )
)
#: a write's keys -> _SAVE's parameter names
_SAVE_NAMES = {
    k: f"b_{k}" for k in ("chat_id", "flow", "state", "data_enc", "account_id", "version", "updated_at", "language")
}
_INSERT = _CONVERSATIONS.insert()
_ADVISORY_LOCK = text("SELECT pg_advisory_xact_lock(:key)")
#: every chat of a group in one round trip, in ascending order so two workers can't deadlock
_ADVISORY_LOCKS = text(
    "SELECT count(pg_advisory_xact_lock(k)) FROM (SELECT unnest(CAST(:keys AS bigint[])) AS k ORDER BY 1) AS ordered"
)


class TurnRunner:
    def __init__(self, services: Services, states: StateCache, outbox: Outbox | None = None):
        self.services = services
        self.states = states
        self.outbox = outbox if outbox is not None else Outbox(services)
        self._sqlite = is_sqlite(services.engine)
        self._forget_hires = services.forget_hires

    async def lock_chats(self, conn, chats: list[int]) -> None:
        """Take the chats' turns across every worker process for this transaction (SQLite's
        BEGIN IMMEDIATE already serialises writers)."""
        if self._sqlite:
            return
        if len(chats) == 1:
            await conn.execute(_ADVISORY_LOCK, {"key": chats[0]})
        else:
            await conn.execute(_ADVISORY_LOCKS, {"keys": sorted(chats)})

    async def load(self, conn, chats: list[int]) -> dict:
        """The stored conversations of ``chats`` (those that have one), locked where the
        database locks rows (SQLite's BEGIN IMMEDIATE already holds the whole database)."""
        if self._sqlite:
            stored = {}
            for chat in chats:
                row = (await run(conn, _LOAD_ONE, {"chat_id": chat})).first()
                if row is not None:
                    stored[chat] = row
            return stored
        return {row.chat_id: row for row in await conn.execute(_LOAD, {"ids": chats})}

    async def write(self, conn, writes: dict[int, dict], stored: dict) -> None:
        """New conversation states: one UPDATE (executemany) and one INSERT."""
        updates = [w for chat, w in writes.items() if chat in stored]
        inserts = [w for chat, w in writes.items() if chat not in stored]
        if updates:
            await run_many(conn, _SAVE, [{_SAVE_NAMES.get(k, k): v for k, v in w.items()} for w in updates])
        if inserts:
            await run_many(conn, _INSERT, inserts)

    async def handle(self, incoming: Incoming) -> list[Action]:
        """One turn in a transaction of its own."""
        now = self.services.clock.now()
        async with transaction(self.services.sessions) as session:
            actions = await self.step(session, incoming, now)
            crash_point("before_commit")
            return actions

    async def step(self, session, incoming: Incoming, now: datetime, *, locked: bool = False) -> list[Action]:
        """One turn inside ``session``'s transaction: read the conversation, run the step, write
        it back (``locked``: the caller already holds the chat's lock)."""
        conn = await connection(session)
        if not locked:
            # one step per chat at a time across every worker process
            await self.lock_chats(conn, [incoming.chat_id])
        stored = (await self.load(conn, [incoming.chat_id])).get(incoming.chat_id)
        actions, write, _data = await self.run(session, incoming, stored, now)
        if write is not None:
            await self.write(conn, {incoming.chat_id: write}, {incoming.chat_id: stored} if stored else {})
            row = self.outbox.row(incoming, actions, now)
            await self.outbox.store(conn, [row] if row else [])
        return actions

    async def run(self, session, incoming: Incoming, stored, now: datetime) -> tuple[list[Action], dict | None, dict]:
        """Run one step on the conversation as stored (a row of _LOAD, or None for a new chat).
        Returns the replies, the conversation's new row (None: nothing to write) and its new
        state before encryption."""
        services = self.services
        vault = services.vault
        if stored is None:
            conv = ConversationState.new()
            version = 0
            # first contact: the language the person's app is set to, if the bot speaks it
            language = language_for(incoming.language_code) or DEFAULT_LANGUAGE
        else:
            version = stored.version or 0
            language = stored.language or language_for(incoming.language_code) or DEFAULT_LANGUAGE
            try:
                data = self.states.decrypted(incoming.chat_id, stored.data_enc)
            except DecryptionError:
                log.error("conversation %s could not be decrypted; starting it afresh", incoming.chat_id)
                data = {}
            if stored.flow not in FLOWS or stored.state not in FLOWS[stored.flow].steps:
                conv = ConversationState.new()
            else:
                conv = ConversationState(stored.flow, stored.state, data)
        # Telegram redelivers an update it thinks went unanswered; handle each one once, and
        # answer a repeat with the replies stored for it and not yet sent. (Only exact repeats:
        # after a quiet week Telegram may restart update ids anywhere.)
        seen = conv.data.get("_update_ids") or []
        if incoming.update_id is not None:
            if incoming.update_id in seen:
                stored_replies = await self.outbox.stored(await connection(session), incoming.chat_id, incoming.update_id)
                log.info("chat %s: update %s already handled; %d stored replies sent again", incoming.chat_id,
                         incoming.update_id, len(stored_replies))
                return stored_replies, None, conv.data
            conv.data["_update_ids"] = (seen + [incoming.update_id])[-RECENT_UPDATES:]
        with using(language):
            ctx = Ctx(
                chat_id=incoming.chat_id,
                data=conv.data,
                services=services,
                repo=Repo(session, vault, services.clock, forget_hires=self._forget_hires),
                incoming=incoming,
            )
            ctx.language = language
            actions = await dispatch(conv, ctx, incoming)
        write = {
            "chat_id": incoming.chat_id,
            "flow": conv.flow,
            "state": conv.state,
            "data_enc": vault.encrypt(conv.data, context="conversation"),
            "account_id": (conv.data.get("session") or {}).get("account_id"),
            "version": version + 1,
            "updated_at": now,
            # /language may have changed it during the step
            "language": ctx.language,
        }
        if stored is None:
            write["created_at"] = now
        return actions, write, conv.data

    async def where(self, chat_id: int) -> tuple[str, str] | None:
        """(flow, state) of a chat, for tests and operators."""
        async with self.services.sessions() as session:
            row = await session.get(Conversation, chat_id)
            return (row.flow, row.state) if row else None


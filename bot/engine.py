"""The conversation engine: load a chat's state, run one step, commit, then reply.

Every answer is committed before its reply is returned, so a restart or a second worker finds
the conversation exactly where the user left it. Updates of one chat are handled one at a time.

Group commit: steps of different chats that arrive together run one after another inside one
transaction (each in its own savepoint, so a failing step rolls back alone) and share a single
commit, i.e. one fsync, before any of their replies go out. A step that needs slow work (password
hashing) leaves the group, does the work in a thread, and rejoins a later group with the result.
"""

from __future__ import annotations

import asyncio
import logging
import weakref
from collections import deque
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import bindparam, event, select, text

from bot.crypto import DecryptionError, NeedsWork, prepared_work
from bot.privacy import purge_abandoned
from bot.firms import firm_notices
from bot.storage.db import conversations_touched, is_sqlite, transaction
from bot.storage.direct import RELEASE, ROLLBACK_TO, STEP_KEY, connection, open_step_savepoint, run, run_many
from bot.services import Services
from bot.storage.models import Account, Conversation, Letter, Notification
from bot.storage.repo import Repo
from flows.core import Ctx
from flows.replies import Action, Incoming, Notify, Reply
from flows.router import FLOWS, ConversationState, dispatch

log = logging.getLogger("sabot.engine")

_CONVERSATIONS = Conversation.__table__
#: the conversations of a group (or one chat), locked for the transaction where the database can
_LOAD = (
    select(_CONVERSATIONS.c.chat_id, _CONVERSATIONS.c.flow, _CONVERSATIONS.c.state, _CONVERSATIONS.c.data_enc,
           _CONVERSATIONS.c.version)
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
    )
)
#: a write's keys -> _SAVE's parameter names
_SAVE_NAMES = {k: f"b_{k}" for k in ("chat_id", "flow", "state", "data_enc", "account_id", "version", "updated_at")}
_INSERT = _CONVERSATIONS.insert()
_ADVISORY_LOCK = text("SELECT pg_advisory_xact_lock(:key)")
#: every chat of a group in one round trip, in ascending order so two workers can't deadlock
_ADVISORY_LOCKS = text(
    "SELECT count(pg_advisory_xact_lock(k)) FROM (SELECT unnest(CAST(:keys AS bigint[])) AS k ORDER BY 1) AS ordered"
)


def _open_step_savepoint(conn, cursor, statement, parameters, context, executemany) -> None:
    """Set the running step's savepoint just before its first statement (statements sent
    through SQLAlchemy; bot.storage.direct does the same for those it sends itself)."""
    open_step_savepoint(conn.info, cursor.execute)


class _OneByOne(Exception):
    """The group must run again a step at a time: a step changed the stored conversation of
    another chat of the same group, or a failed write left the session unusable."""

#: how many recent update ids each conversation remembers to drop redeliveries
RECENT_UPDATES = 20

TRY_AGAIN = (
    "Sorry, something went wrong on my side and that answer wasn't saved. Your earlier answers are "
    "safe. Please send it again in a moment."
)


@dataclass(eq=False)
class _Pending:
    incoming: Incoming
    future: asyncio.Future
    #: results of slow work done for this step (see bot.crypto.slow_work)
    prepared: dict = field(default_factory=dict)


class Engine:
    def __init__(self, services: Services):
        self.services = services
        self._locks: weakref.WeakValueDictionary[int, asyncio.Lock] = weakref.WeakValueDictionary()
        db = services.settings.database
        self.group_commit = db.group_commit
        self.max_group = max(1, db.max_group)
        #: chat id -> (its stored data_enc, that state decrypted, when committed), for
        #: conversations this worker committed, oldest first; taken out when read, put back
        #: after the next commit (see _run)
        self._states: dict[int, tuple[str, dict, datetime]] = {}
        self._states_max = max(0, db.state_cache)
        self._states_for = timedelta(minutes=max(0, db.state_cache_minutes))
        self._queue: deque[_Pending] = deque()
        self._wake: asyncio.Event | None = None
        self._consumer: asyncio.Task | None = None
        self._work: set[asyncio.Task] = set()
        self._last_purge = None
        sync_engine = services.engine.sync_engine
        if not event.contains(sync_engine, "before_cursor_execute", _open_step_savepoint):
            event.listen(sync_engine, "before_cursor_execute", _open_step_savepoint)

    def _lock(self, chat_id: int) -> asyncio.Lock:
        lock = self._locks.get(chat_id)
        if lock is None:
            lock = asyncio.Lock()
            self._locks[chat_id] = lock
        return lock

    async def handle(self, incoming: Incoming) -> list[Action]:
        lock = self._lock(incoming.chat_id)
        async with lock:
            if self.group_commit:
                pending = _Pending(incoming, asyncio.get_running_loop().create_future())
                self._submit(pending)
                return await pending.future
            try:
                return await self._handle(incoming)
            except Exception:  # noqa: BLE001 - the user gets an answer whatever went wrong
                log.exception("step failed for chat %s (kind=%s)", incoming.chat_id, incoming.kind)
                return [Reply(TRY_AGAIN)]

    # -- group commit ------------------------------------------------------------------------

    def _submit(self, pending: _Pending) -> None:
        self._queue.append(pending)
        if self._consumer is None or self._consumer.done():
            self._wake = asyncio.Event()
            self._consumer = asyncio.create_task(self._consume(), name="sabot-group-commit")
        self._wake.set()

    async def _consume(self) -> None:
        while True:
            if not self._queue:
                self._wake.clear()
                await self._wake.wait()
                continue
            group = [self._queue.popleft() for _ in range(min(len(self._queue), self.max_group))]
            try:
                await self._run_group(group)
            except Exception:  # noqa: BLE001 - never let the consumer die
                log.exception("a group of %d steps failed", len(group))
                for pending in group:
                    if not pending.future.done():
                        pending.future.set_result([Reply(TRY_AGAIN)])

    async def _run_group(self, group: list[_Pending]) -> None:
        """Run a group in one transaction: its conversations read with one statement, its steps
        each in a savepoint, their new states written together, one commit. If a step changed
        another chat of the group behind its back (signing it out), the group is rolled back and
        run again a step at a time (also when a failed write left the session unusable)."""
        try:
            try:
                finished, needs, states = await self._group_together(group)
            except _OneByOne:
                finished, needs = await self._group_one_by_one(group)
                states = {}
        except Exception:  # noqa: BLE001 - the commit failed: none of the group was saved
            log.exception("commit of a group of %d steps failed", len(group))
            # every step of the group, those waiting for slow work included, is asked again
            self._give_up(group)
            return
        self._keep_states(states, self.services.clock.now())
        for pending, actions in finished:
            if not pending.future.done():
                pending.future.set_result(actions)
        for pending, need in needs:
            self._do_work(pending, need)

    async def _group_together(self, group: list[_Pending]):
        services = self.services
        now = services.clock.now()
        finished: list[tuple[_Pending, list[Action]]] = []
        needs: list[tuple[_Pending, NeedsWork]] = []
        states: dict[int, tuple[str, dict]] = {}
        chats = sorted({p.incoming.chat_id for p in group})
        async with transaction(services.sessions) as session:
            conn = await connection(session)
            if not is_sqlite(services.engine):
                await conn.execute(_ADVISORY_LOCKS, {"keys": chats})
            stored = await self._load(conn, chats)
            driver = (await conn.get_raw_connection()).driver_connection
            info = conn.sync_connection.info
            writes: dict[int, dict] = {}
            touched = set()
            touched_token = conversations_touched.set(touched)
            try:
                for pending in group:
                    chat = pending.incoming.chat_id
                    token = prepared_work.set(pending.prepared)
                    # each step in a savepoint of its own, set on the driver's connection
                    # (SQLAlchemy's begin_nested cost as much as a short step) and only
                    # once the step sends its first statement: most steps send none
                    info[STEP_KEY] = "pending"
                    try:
                        actions, write, data = await self._run(session, pending.incoming, stored.get(chat), now)
                        # (most steps hold no ORM object: nothing can be dirty or deleted then)
                        orm = session.sync_session
                        if (orm.identity_map or orm.new) and (orm.new or orm.dirty or orm.deleted):
                            await session.flush()
                        if info.pop(STEP_KEY) == "open":
                            await driver.execute(RELEASE)
                        finished.append((pending, actions))
                        if write is not None:
                            writes[chat] = write
                            states[chat] = (write["data_enc"], data)
                    except NeedsWork as need:
                        if info.pop(STEP_KEY, None) == "open":
                            await self._roll_back_step(driver)
                        # (its traceback would keep this frame, and the list holding it, alive
                        # in a cycle until the next full garbage collection)
                        needs.append((pending, need.with_traceback(None)))
                    except Exception:  # noqa: BLE001 - this step alone is rolled back
                        opened = info.pop(STEP_KEY, None) == "open"
                        if not session.is_active:
                            # a failed flush leaves the session unusable until the whole
                            # transaction is rolled back: run the group the slow way
                            raise _OneByOne from None
                        log.exception("step failed for chat %s (kind=%s)", chat, pending.incoming.kind)
                        if opened:
                            await self._roll_back_step(driver)
                        finished.append((pending, [Reply(TRY_AGAIN)]))
                    finally:
                        info.pop(STEP_KEY, None)
                        prepared_work.reset(token)
                        orm = session.sync_session
                        if orm.identity_map or orm.new:
                            session.expunge_all()
            finally:
                conversations_touched.reset(touched_token)
            if touched & set(chats):
                raise _OneByOne
            await self._write(conn, writes, stored)
        return finished, needs, states

    @property
    def remembered_states(self) -> int:
        """How many decrypted conversation states this worker holds (at most state_cache)."""
        return len(self._states)

    def _keep_states(self, states: dict[int, tuple[str, dict]], now: datetime) -> None:
        """Remember the states a group just committed, dropping the oldest beyond the cap."""
        if not self._states_max or not self._states_for:
            return
        kept = self._states
        for chat, (data_enc, data) in states.items():
            kept.pop(chat, None)  # to the end: the order is the order of commits
            kept[chat] = (data_enc, data, now)
        while len(kept) > self._states_max:
            del kept[next(iter(kept))]
        self._forget_old_states(now)

    def _forget_old_states(self, now: datetime) -> None:
        """Drop remembered states older than state_cache_minutes (the oldest are first)."""
        kept = self._states
        while kept:
            chat = next(iter(kept))
            if now - kept[chat][2] < self._states_for:
                break
            del kept[chat]

    def _decrypted(self, chat_id: int, data_enc: str | None) -> dict:
        """The stored state of a conversation, decrypted, or from memory when the stored one is
        exactly what this worker last committed (compared as ciphertext: every encryption has a
        fresh nonce, so another writer's state, even an equal one, never matches)."""
        kept = self._states.pop(chat_id, None)
        if kept is not None and data_enc is not None and kept[0] == data_enc:
            # Taken out: the step changes this dict in place, and if it fails before its commit
            # the next read decrypts the stored state again. (An entry past its minutes is
            # dropped by the next commit or tick; reading it before then is as safe as reading
            # the stored state, which it equals.)
            return kept[1]
        return self.services.vault.decrypt(data_enc, context="conversation") or {}

    @staticmethod
    async def _roll_back_step(driver) -> None:
        await driver.execute(ROLLBACK_TO)
        await driver.execute(RELEASE)

    async def _load(self, conn, chats: list[int]) -> dict:
        """The stored conversations of ``chats`` (those that have one), locked where the
        database locks rows (SQLite's BEGIN IMMEDIATE already holds the whole database)."""
        if is_sqlite(self.services.engine):
            stored = {}
            for chat in chats:
                row = (await run(conn, _LOAD_ONE, {"chat_id": chat})).first()
                if row is not None:
                    stored[chat] = row
            return stored
        return {row.chat_id: row for row in await conn.execute(_LOAD, {"ids": chats})}

    async def _write(self, conn, writes: dict[int, dict], stored: dict) -> None:
        """The group's new conversation states: one UPDATE (executemany) and one INSERT."""
        updates = [w for chat, w in writes.items() if chat in stored]
        inserts = [w for chat, w in writes.items() if chat not in stored]
        if updates:
            await run_many(conn, _SAVE, [{_SAVE_NAMES.get(k, k): v for k, v in w.items()} for w in updates])
        if inserts:
            await run_many(conn, _INSERT, inserts)

    async def _group_one_by_one(self, group: list[_Pending]):
        """The group again, each step reading and writing its own conversation as it goes."""
        services = self.services
        now = services.clock.now()
        finished: list[tuple[_Pending, list[Action]]] = []
        needs: list[tuple[_Pending, NeedsWork]] = []
        async with transaction(services.sessions) as session:
            conn = await connection(session)
            if not is_sqlite(services.engine):
                await conn.execute(_ADVISORY_LOCKS, {"keys": sorted({p.incoming.chat_id for p in group})})
            for pending in group:
                token = prepared_work.set(pending.prepared)
                try:
                    async with session.begin_nested():
                        actions = await self._step(session, pending.incoming, now, locked=True)
                    finished.append((pending, actions))
                except NeedsWork as need:
                    needs.append((pending, need.with_traceback(None)))
                except Exception:  # noqa: BLE001 - this step alone is rolled back
                    log.exception("step failed for chat %s (kind=%s)", pending.incoming.chat_id, pending.incoming.kind)
                    finished.append((pending, [Reply(TRY_AGAIN)]))
                finally:
                    prepared_work.reset(token)
                    session.expunge_all()
        return finished, needs

    @staticmethod
    def _give_up(group: list[_Pending]) -> None:
        for pending in group:
            if not pending.future.done():
                pending.future.set_result([Reply(TRY_AGAIN)])

    def _do_work(self, pending: _Pending, need: NeedsWork) -> None:
        async def work():
            try:
                pending.prepared[need.key] = await need.compute()
            except Exception:  # noqa: BLE001
                log.exception("slow work failed for chat %s", pending.incoming.chat_id)
                if not pending.future.done():
                    pending.future.set_result([Reply(TRY_AGAIN)])
                return
            self._submit(pending)

        task = asyncio.create_task(work())
        self._work.add(task)
        task.add_done_callback(self._work.discard)

    async def close(self) -> None:
        for task in [self._consumer, *self._work]:
            if task is not None and not task.done():
                task.cancel()
        self._consumer = None

    async def _handle(self, incoming: Incoming) -> list[Action]:
        services = self.services
        now = services.clock.now()
        async with transaction(services.sessions) as session:
            return await self._step(session, incoming, now)

    async def _step(self, session, incoming: Incoming, now, *, locked: bool = False) -> list[Action]:
        """One step on its own: read the conversation, run the step, write it back."""
        services = self.services
        conn = await connection(session)
        if not locked and not is_sqlite(services.engine):
            # one step per chat at a time across every worker process (SQLite's BEGIN
            # IMMEDIATE already serialises writers)
            await conn.execute(_ADVISORY_LOCK, {"key": incoming.chat_id})
        stored = (await self._load(conn, [incoming.chat_id])).get(incoming.chat_id)
        actions, write, _data = await self._run(session, incoming, stored, now)
        if write is not None:
            await self._write(conn, {incoming.chat_id: write}, {incoming.chat_id: stored} if stored else {})
        return actions

    async def _run(self, session, incoming: Incoming, stored, now) -> tuple[list[Action], dict | None, dict]:
        """Run one step on the conversation as stored (a row of _LOAD, or None for a new chat).
        Returns the replies, the conversation's new row (None: nothing to write) and its new
        state before encryption."""
        services = self.services
        vault = services.vault
        if stored is None:
            conv = ConversationState.new()
            version = 0
        else:
            version = stored.version or 0
            try:
                data = self._decrypted(incoming.chat_id, stored.data_enc)
            except DecryptionError:
                log.error("conversation %s could not be decrypted; starting it afresh", incoming.chat_id)
                data = {}
            if stored.flow not in FLOWS or stored.state not in FLOWS[stored.flow].steps:
                conv = ConversationState.new()
            else:
                conv = ConversationState(stored.flow, stored.state, data)
        # Telegram redelivers an update it thinks went unanswered; handle each one once. (Only
        # exact repeats: after a quiet week Telegram may restart update ids anywhere.)
        seen = conv.data.get("_update_ids") or []
        if incoming.update_id is not None:
            if incoming.update_id in seen:
                log.info("chat %s: update %s already handled; ignored", incoming.chat_id, incoming.update_id)
                return [], None, conv.data
            conv.data["_update_ids"] = (seen + [incoming.update_id])[-RECENT_UPDATES:]
        ctx = Ctx(
            chat_id=incoming.chat_id,
            data=conv.data,
            services=services,
            repo=Repo(session, vault, services.clock),
            incoming=incoming,
        )
        actions = await dispatch(conv, ctx, incoming)
        write = {
            "chat_id": incoming.chat_id,
            "flow": conv.flow,
            "state": conv.state,
            "data_enc": vault.encrypt(conv.data, context="conversation"),
            "account_id": (conv.data.get("session") or {}).get("account_id"),
            "version": version + 1,
            "updated_at": now,
        }
        if stored is None:
            write["created_at"] = now
        return actions, write, conv.data

    async def tick(self, *, chat_id: int | None = None, limit: int = 200) -> list[Notify]:
        """Messages due to chats outside any conversation turn: letter reminders and notices
        (help-desk decisions...). Each is handed out once; the caller sends them. Also applies
        the retention periods of ``privacy:`` (at most once per ``privacy.purge_every_minutes``)."""
        services = self.services
        self._forget_old_states(services.clock.now())
        await self._purge_if_due()
        vault = services.vault
        now = services.clock.now()
        letters = services.settings.policy.letters
        out: list[Notify] = []
        async with transaction(services.sessions) as session:
            await firm_notices(session, services, now)  # queued as notifications, handed out below
            due = (
                await session.execute(
                    select(Letter, Account)
                    .join(Account, Account.id == Letter.account_id)
                    .where(
                        Letter.reminder_sent_at.is_(None),
                        Letter.created_at <= now - timedelta(days=letters.reminder_after_days),
                        Letter.code_expires_at > now,
                        Account.status == "pending_letter",
                        Account.chat_id.is_not(None) if chat_id is None else Account.chat_id == chat_id,
                    )
                    .limit(limit)
                    # several workers tick: each row goes to one of them (ignored by SQLite,
                    # whose BEGIN IMMEDIATE already lets one tick run at a time)
                    .with_for_update(skip_locked=True, of=Letter)
                )
            ).all()
            for letter, account in due:
                latest = await session.scalar(
                    select(Letter.id).where(Letter.account_id == account.id).order_by(Letter.created_at.desc()).limit(1)
                )
                letter.reminder_sent_at = now
                if latest != letter.id:
                    continue  # a newer letter replaced this one
                days_left = max(0, (letter.code_expires_at - now).days)
                out.append(
                    Notify(
                        account.chat_id,
                        "A reminder: the activation code in the letter we mailed you works for "
                        f"{days_left} more days. When it arrives, send /login, sign in and type it. "
                        "If it hasn't come, sign in and ask for a new letter.",
                    )
                )
            rows = (
                await session.scalars(
                    select(Notification)
                    .where(Notification.sent_at.is_(None), *(() if chat_id is None else (Notification.chat_id == chat_id,)))
                    .order_by(Notification.id)
                    .limit(limit)
                    .with_for_update(skip_locked=True)
                )
            ).all()
            for row in rows:
                row.sent_at = now
                out.append(Notify(row.chat_id, vault.decrypt(row.text_enc, context="notification")))
        return out

    async def _purge_if_due(self) -> None:
        minutes = self.services.settings.privacy.purge_every_minutes
        if minutes <= 0:
            return  # purging is left to `sabot purge` (e.g. from cron)
        now = self.services.clock.now()
        every = timedelta(minutes=minutes)
        if self._last_purge is not None and now - self._last_purge < every:
            return
        self._last_purge = now
        try:
            counts = await purge_abandoned(self.services, now)
        except Exception:  # noqa: BLE001 - retried at the next interval
            log.exception("purge failed")
            return
        if any(counts.values()):
            log.info("purged %s", ", ".join(f"{kind}={n}" for kind, n in sorted(counts.items()) if n))

    async def where(self, chat_id: int) -> tuple[str, str] | None:
        """(flow, state) of a chat, for tests and operators."""
        async with self.services.sessions() as session:
            row = await session.get(Conversation, chat_id)
            return (row.flow, row.state) if row else None

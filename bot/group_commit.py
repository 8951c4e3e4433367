"""Group commit: turns of different chats that arrive together share one transaction.

They run one after another inside it (each in its own savepoint, so a failing step rolls back
alone) and share a single commit, i.e. one fsync, before any of their replies go out. If a step
changed the stored conversation of another chat of the same group (signing it out), the group is
rolled back and run again a step at a time.

A step that needs slow work (password hashing: bot.crypto.slow_work) leaves the group: it is
rolled back, the work is done in a thread while the other chats' groups go on, and the step
rejoins a later group with the result in hand, so its replay finds the work done and doesn't
repeat it. (The replay, rather than resuming the step, keeps every read of a step inside the
transaction that writes its outcome, under the chat's lock.)
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from dataclasses import dataclass, field

from sqlalchemy import event

from bot.crypto import NeedsWork, prepared_work
from bot.outbox import EARLY, crash_point
from bot.state_cache import StateCache
from bot.storage import pg_batch
from bot.storage.db import conversations_touched, transaction
from bot.storage.direct import (OPEN, PENDING, RELEASE, ROLLBACK_TO, STEP_KEY, WROTE, connection, note_step_write,
                                open_step_savepoint)
from bot.turn import TurnRunner
from domain.i18n import language_for
from flows.notices import try_again
from flows.replies import Action, DeleteUserMessage, Incoming, Reply

log = logging.getLogger("sabot.engine")


def _open_step_savepoint(conn, cursor, statement, parameters, context, executemany) -> None:
    """Set the running step's savepoint just before its first write (statements sent through
    SQLAlchemy; bot.storage.direct does the same for those it sends itself). On PostgreSQL the
    write is only noted (see bot.storage.direct)."""
    if conn.dialect.name == "postgresql":
        note_step_write(conn.info, statement)
    else:
        open_step_savepoint(conn.info, cursor.execute, statement)


def _database_error(exc: BaseException) -> bool:
    """An error the database raised (on PostgreSQL it aborts the whole transaction)."""
    from sqlalchemy.exc import SQLAlchemyError

    return isinstance(exc, SQLAlchemyError) or type(exc).__module__.startswith("asyncpg")


class _OneByOne(Exception):
    """The group must run again a step at a time: a step changed the stored conversation of
    another chat of the same group, or a failed write left the session unusable."""


@dataclass(eq=False)
class Pending:
    incoming: Incoming
    future: asyncio.Future
    #: results of slow work done for this step (see bot.crypto.slow_work)
    prepared: dict = field(default_factory=dict)
    #: the deletion of the person's message is stored (before slow work on what it carried)
    deletion_stored: bool = False
    #: the language the chat speaks, as stored with its conversation (once read)
    language: str | None = None


def _apology(pending: Pending) -> list[Action]:
    """The answer to a step that failed, in the chat's language (the one its app asks for
    while the stored one isn't known)."""
    return [Reply(try_again(pending.language or language_for(pending.incoming.language_code)))]


def _answer(pending: Pending, actions: list[Action]) -> None:
    if not pending.future.done():
        pending.future.set_result(actions)


class GroupCommit:
    def __init__(self, turns: TurnRunner, states: StateCache, *, max_group: int, concurrent: int = 1,
                 wait_ms: float = 0.0, wait_below: int = 0):
        self.turns = turns
        self.services = turns.services
        self.states = states
        self.max_group = max(1, max_group)
        #: a group with fewer than ``wait_below`` steps queued waits this long for more first
        self.wait = max(0.0, wait_ms) / 1000
        self.wait_below = wait_below
        self._pg = self.services.engine.dialect.name == "postgresql"
        #: how many groups may run at once on PostgreSQL (database.concurrent_groups), each on a
        #: connection of its own: while one waits for the server, the next runs its steps. Their
        #: chats never overlap (a chat's next update waits for the answer to its last one,
        #: bot.engine). SQLite takes one writer at a time: one group.
        self.concurrent = max(1, concurrent) if self._pg else 1
        self._queue: deque[Pending] = deque()
        self._wake: asyncio.Event | None = None
        self._consumers: list[asyncio.Task] = []
        self._work: set[asyncio.Task] = set()
        self._running = 0
        sync_engine = self.services.engine.sync_engine
        if not event.contains(sync_engine, "before_cursor_execute", _open_step_savepoint):
            event.listen(sync_engine, "before_cursor_execute", _open_step_savepoint)

    def idle(self) -> bool:
        """No group is waiting or running."""
        return not self._queue and not self._running

    @property
    def _consumer(self) -> asyncio.Task | None:
        return self._consumers[0] if self._consumers else None

    async def handle(self, incoming: Incoming) -> list[Action]:
        pending = Pending(incoming, asyncio.get_running_loop().create_future())
        self.submit(pending)
        return await pending.future

    def submit(self, pending: Pending) -> None:
        self._queue.append(pending)
        if len(self._consumers) < self.concurrent or any(task.done() for task in self._consumers):
            alive = [task for task in self._consumers if not task.done()]
            if not alive:
                self._wake = asyncio.Event()
            self._consumers = alive + [asyncio.create_task(self._consume(), name="sabot-group-commit")
                                       for _ in range(self.concurrent - len(alive))]
        self._wake.set()

    async def _consume(self) -> None:
        while True:
            if not self._queue:
                self._wake.clear()
                await self._wake.wait()
                continue
            if self.wait and len(self._queue) < self.wait_below:
                # the steps that arrive meanwhile share this group's transaction and commit,
                # whose cost is paid per group, not per step (BENCHMARKS.md: paced runs)
                await asyncio.sleep(self.wait)
                if not self._queue:  # another group took them
                    continue
            group = [self._queue.popleft() for _ in range(min(len(self._queue), self.max_group))]
            self._running += 1
            try:
                await self.run_group(group)
            except Exception:  # noqa: BLE001 - never let the consumer die
                log.exception("a group of %d steps failed", len(group))
                self._give_up(group)
            finally:
                self._running -= 1

    async def run_group(self, group: list[Pending]) -> None:
        """Run a group in one transaction: its conversations read with one statement, its steps
        each in a savepoint, their new states written together, one commit. If a step changed
        another chat of the group behind its back (signing it out), the group is rolled back and
        run again a step at a time (also when a failed write left the session unusable)."""
        try:
            try:
                finished, needs, states = await self._together(group)
            except _OneByOne:
                finished, needs = await self._one_by_one(group)
                states = {}
        except Exception:  # noqa: BLE001 - the commit failed: none of the group was saved
            log.exception("commit of a group of %d steps failed", len(group))
            # every step of the group, those waiting for slow work included, is asked again
            self._give_up(group)
            return
        self.states.keep(states, self.services.clock.now())
        for pending, actions in finished:
            _answer(pending, actions)
        for pending, need in needs:
            pending.deletion_stored = True  # committed with the group
            self.do_work(pending, need)

    async def _together(self, group: list[Pending]):
        turns = self.turns
        now = self.services.clock.now()
        finished: list[tuple[Pending, list[Action]]] = []
        needs: list[tuple[Pending, NeedsWork]] = []
        states: dict[int, tuple[str, dict]] = {}
        chats = sorted({p.incoming.chat_id for p in group})
        async with transaction(self.services.sessions) as session:
            conn = await connection(session)
            # PostgreSQL: the chats' locks and their conversations in one round trip
            stored = await pg_batch.lock_and_load(conn, chats) if self._pg else None
            if stored is None:
                await turns.lock_chats(conn, chats)
                stored = await turns.load(conn, chats)
            driver = (await conn.get_raw_connection()).driver_connection
            info = conn.sync_connection.info
            writes: dict[int, dict] = {}
            replies: list[dict] = []
            outbox = turns.outbox
            touched = set()
            touched_token = conversations_touched.set(touched)
            try:
                for pending in group:
                    chat = pending.incoming.chat_id
                    if chat in stored:
                        pending.language = stored[chat].language or pending.language
                    token = prepared_work.set(pending.prepared)
                    # each step in a savepoint of its own, set on the driver's connection
                    # (SQLAlchemy's begin_nested cost as much as a short step) and only
                    # once the step writes: most steps write nothing but their conversation
                    # (PostgreSQL: no savepoint, see bot.storage.direct)
                    info[STEP_KEY] = PENDING
                    try:
                        actions, write, data = await turns.run(session, pending.incoming, stored.get(chat), now)
                        # (most steps hold no ORM object: nothing can be dirty or deleted then)
                        orm = session.sync_session
                        if (orm.identity_map or orm.new) and (orm.new or orm.dirty or orm.deleted):
                            await session.flush()
                        if info.pop(STEP_KEY) == OPEN:
                            await driver.execute(RELEASE)
                        finished.append((pending, actions))
                        if write is not None:
                            writes[chat] = write
                            states[chat] = (write["data_enc"], data)
                            row = outbox.row(pending.incoming, actions, now)
                            if row is not None:
                                replies.append(row)
                    except NeedsWork as need:
                        state = info.pop(STEP_KEY, None)
                        if state == WROTE:
                            raise _OneByOne from None  # its writes can only go with the group
                        if state == OPEN:
                            await self._roll_back_step(driver)
                        early = self._deletion(pending, now)
                        if early is not None:
                            replies.append(early)
                        # (its traceback would keep this frame, and the list holding it, alive
                        # in a cycle until the next full garbage collection)
                        needs.append((pending, need.with_traceback(None)))
                    except Exception as exc:  # noqa: BLE001 - this step alone is rolled back
                        state = info.pop(STEP_KEY, None)
                        if not session.is_active or state == WROTE or (self._pg and _database_error(exc)):
                            # a failed flush leaves the session unusable, and on PostgreSQL a
                            # failed statement the transaction, until it is rolled back; a
                            # step that wrote without a savepoint can't be undone alone: run
                            # the group the slow way
                            raise _OneByOne from None
                        log.exception("step failed for chat %s (kind=%s)", chat, pending.incoming.kind)
                        if state == OPEN:
                            await self._roll_back_step(driver)
                        finished.append((pending, _apology(pending)))
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
            try:
                written = self._pg and await outbox.write_group(conn, writes, stored, replies)
            except pg_batch.Stale:
                raise _OneByOne from None
            if not written:
                await turns.write(conn, writes, stored)
                await outbox.store(conn, replies)
            crash_point("before_commit")
        return finished, needs, states

    def _deletion(self, pending: Pending, now) -> dict | None:
        """The deletion of the message a step needs slow work for (a password being hashed),
        stored with the group so that it is sent even if the process dies during the work."""
        incoming = pending.incoming
        if pending.deletion_stored or incoming.kind != "text" or incoming.message_id is None:
            return None
        return self.turns.outbox.row(incoming, [DeleteUserMessage()], now, seq=EARLY)

    @staticmethod
    async def _roll_back_step(driver) -> None:
        await driver.execute(ROLLBACK_TO)
        await driver.execute(RELEASE)

    async def _one_by_one(self, group: list[Pending]):
        """The group again, each step reading and writing its own conversation as it goes."""
        now = self.services.clock.now()
        finished: list[tuple[Pending, list[Action]]] = []
        needs: list[tuple[Pending, NeedsWork]] = []
        async with transaction(self.services.sessions) as session:
            await self.turns.lock_chats(await connection(session), sorted({p.incoming.chat_id for p in group}))
            early: list[dict] = []
            for pending in group:
                token = prepared_work.set(pending.prepared)
                try:
                    async with session.begin_nested():
                        # (SQLAlchemy sets the savepoint only when the session itself next
                        # uses its connection; the step's statements go to the connection)
                        await session.connection()
                        actions = await self.turns.step(session, pending.incoming, now, locked=True)
                    finished.append((pending, actions))
                except NeedsWork as need:
                    needs.append((pending, need.with_traceback(None)))
                    row = self._deletion(pending, now)
                    if row is not None:
                        early.append(row)
                except Exception:  # noqa: BLE001 - this step alone is rolled back
                    log.exception("step failed for chat %s (kind=%s)", pending.incoming.chat_id, pending.incoming.kind)
                    finished.append((pending, _apology(pending)))
                finally:
                    prepared_work.reset(token)
                    session.expunge_all()
            await self.turns.outbox.store(await connection(session), early)
            crash_point("before_commit")
        return finished, needs

    @staticmethod
    def _give_up(group: list[Pending]) -> None:
        for pending in group:
            _answer(pending, _apology(pending))

    def do_work(self, pending: Pending, need: NeedsWork) -> None:
        """Do a step's slow work outside any transaction, then queue the step again with it."""

        async def work():
            try:
                crash_point("during_hashing")
                pending.prepared[need.key] = await need.compute()
            except Exception:  # noqa: BLE001
                log.exception("slow work failed for chat %s", pending.incoming.chat_id)
                _answer(pending, _apology(pending))
                return
            self.submit(pending)

        task = asyncio.create_task(work())
        self._work.add(task)
        task.add_done_callback(self._work.discard)

    async def close(self) -> None:
        for task in [*self._consumers, *self._work]:
            if not task.done():
                task.cancel()
        self._consumers = []

"""A group's reads and writes on PostgreSQL in as few round trips as possible.

Each statement sent to PostgreSQL is a round trip to the server, and a group (bot.group_commit)
runs its steps one after another, so every round trip of a group is paid by all of its steps.
Here a group's conversations are locked and read with one statement, and everything the group
writes at its end (its conversations, new ones, the replies to send, the marks of replies sent)
with one more: arrays of values unnested in a statement of data-modifying CTEs, sent straight to
asyncpg (kept prepared on the connection) inside the transaction SQLAlchemy began.

The statements are built from the tables' columns and the keys of the rows written, once for
each set of keys, so a column added to a table is written here as soon as the rows carry it.
"""

from __future__ import annotations

from typing import Any, Callable

from sqlalchemy import Table

from bot.storage.direct import begun_asyncpg
from bot.storage.models import Conversation, PendingReply

_CONVERSATIONS: Table = Conversation.__table__
_REPLIES: Table = PendingReply.__table__

#: the columns a group reads of each conversation: all of them, so a column added to the table
#: (and read by bot.turn) is there without a change here
LOADED = tuple(c.key for c in _CONVERSATIONS.columns)

#: every chat's advisory lock, in ascending order so two workers can't deadlock (the same key as
#: bot.turn takes for one chat), taken before any row is read: the uncorrelated sub-select is
#: evaluated once, before the scan (a "one-time filter"); then the rows, locked. A row another
#: transaction changed while this one waited is read as that transaction left it (FOR UPDATE
#: reads the newest version); a row another transaction inserted meanwhile is not in this
#: statement's snapshot: the group's write finds it (Stale) and the group runs again.
_LOCK_AND_LOAD = (
    "SELECT {columns} FROM conversations"
    " WHERE (SELECT count(pg_advisory_xact_lock(k)) FROM (SELECT unnest($1::BIGINT[]) AS k ORDER BY 1) AS ordered) >= 0"
    " AND chat_id = ANY($1::BIGINT[])"
    " FOR UPDATE"
)


class _Columns:
    """The unnest() of some columns of a table: its SQL and the values' bind processors."""

    def __init__(self, table: Table, keys: tuple[str, ...], dialect, first: int):
        self.keys = keys
        columns = [table.c[k] for k in keys]
        self.processors: list[Callable | None] = [c.type._cached_bind_processor(dialect) for c in columns]
        casts = [f"${first + i}::{c.type.compile(dialect=dialect)}[]" for i, c in enumerate(columns)]
        self.names = ", ".join(keys)
        self.unnest = f"unnest({', '.join(casts)}) AS v({self.names})"

    def arrays(self, rows: list[dict]) -> list[list]:
        out = []
        for key, process in zip(self.keys, self.processors):
            if process is None:
                out.append([row[key] for row in rows])
            else:
                out.append([None if row[key] is None else process(row[key]) for row in rows])
        return out


class _Write:
    """One statement writing a group: conversations updated and inserted, replies stored and
    replies sent deleted. Built for one shape of rows (their keys), reused."""

    def __init__(self, dialect, update_keys: tuple[str, ...], insert_keys: tuple[str, ...], reply_keys: tuple[str, ...]):
        n = 1
        self.update = _Columns(_CONVERSATIONS, update_keys, dialect, n) if update_keys else None
        n += len(update_keys)
        self.insert = _Columns(_CONVERSATIONS, insert_keys, dialect, n) if insert_keys else None
        n += len(insert_keys)
        self.reply = _Columns(_REPLIES, reply_keys, dialect, n) if reply_keys else None
        n += len(reply_keys)
        self.sent = _Columns(_REPLIES, ("chat_id", "update_id"), dialect, n)
        parts = []
        if self.update is not None:
            sets = ", ".join(f"{k} = v.{k}" for k in update_keys if k != "chat_id")
            parts.append(f"updated AS (UPDATE conversations AS c SET {sets} FROM {self.update.unnest}"
                         " WHERE c.chat_id = v.chat_id)")
        if self.insert is not None:
            parts.append(f"inserted AS (INSERT INTO conversations ({self.insert.names})"
                         f" SELECT {self.insert.names} FROM {self.insert.unnest}"
                         " ON CONFLICT (chat_id) DO NOTHING RETURNING chat_id)")
        if self.reply is not None:
            parts.append(f"stored AS (INSERT INTO pending_replies ({self.reply.names})"
                         f" SELECT {self.reply.names} FROM {self.reply.unnest})")
        parts.append(f"sent AS (DELETE FROM pending_replies AS p USING {self.sent.unnest}"
                     " WHERE p.chat_id = v.chat_id AND p.update_id = v.update_id)")
        counted = "(SELECT count(*) FROM inserted)" if self.insert is not None else "0"
        self.sql = "WITH " + ", ".join(parts) + f" SELECT {counted}"

    def args(self, updates: list[dict], inserts: list[dict], replies: list[dict], sent: list[dict]) -> list:
        args: list = []
        for columns, rows in ((self.update, updates), (self.insert, inserts), (self.reply, replies)):
            if columns is not None:
                args.extend(columns.arrays(rows))
        args.extend(self.sent.arrays(sent))
        return args


class Stale(Exception):
    """A conversation the group took for new was stored by another transaction between the
    group's snapshot and its locks (the chat's first updates reaching two workers at once):
    the group must run again, reading after its locks."""


_WRITES: dict[tuple, _Write] = {}
_LOADS: dict[tuple[str, ...], tuple[str, type]] = {}


def _keys(rows: list[dict]) -> tuple[str, ...]:
    if not rows:
        return ()
    keys = tuple(rows[0])
    for row in rows:
        if tuple(row) != keys:
            raise ValueError("every row of a group's write must have the same keys")
    return keys


async def lock_and_load(conn, chats: list[int]) -> dict[int, Any] | None:
    """Every chat's advisory lock, and the stored conversations of ``chats`` (those that have
    one), locked: one round trip. None when the connection isn't asyncpg's."""
    adapter = await begun_asyncpg(conn)
    if adapter is None:
        return None
    cached = _LOADS.get(LOADED)
    if cached is None:
        from collections import namedtuple

        cached = (_LOCK_AND_LOAD.format(columns=", ".join(LOADED)), namedtuple("Row", LOADED))
        _LOADS[LOADED] = cached
    sql, row = cached
    records = await adapter._connection.fetch(sql, sorted(chats))
    return {r[0]: row(*r) for r in records}


async def write(conn, updates: list[dict], inserts: list[dict], replies: list[dict], sent: list[tuple[int, int]]) -> bool:
    """Write a group in one statement: ``updates`` and ``inserts`` (conversation rows as bot.turn
    builds them), ``replies`` (bot.outbox rows) and the (chat, update) of replies ``sent``.
    False when the connection isn't asyncpg's (nothing written)."""
    adapter = await begun_asyncpg(conn)
    if adapter is None:
        return False
    if not (updates or inserts or replies or sent):
        return True
    shape = (_keys(updates), _keys(inserts), _keys(replies))
    statement = _WRITES.get(shape)
    if statement is None:
        statement = _WRITES[shape] = _Write(conn.dialect, *shape)
    sent_rows = [{"chat_id": chat, "update_id": update_id} for chat, update_id in sent]
    inserted = await adapter._connection.fetchval(statement.sql, *statement.args(updates, inserts, replies, sent_rows))
    if inserted != len(inserts):
        raise Stale(f"{len(inserts) - inserted} conversation(s) stored meanwhile by another transaction")
    return True

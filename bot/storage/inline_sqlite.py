"""An SQLite driver for SQLAlchemy's asyncio mode that runs statements on the event loop.

SQLite answers most statements in microseconds, so handing each one to a helper thread (as
aiosqlite does) costs more than the statement itself. This driver runs them inline and sends
only what can take long to a thread: COMMIT (the fsync that makes an answer durable). Waiting
for the write lock is cooperative: BEGIN is retried with short sleeps, so the event loop is
never blocked by another connection's transaction.

It presents the small part of aiosqlite's interface that SQLAlchemy's aiosqlite dialect uses,
and is plugged in with ``create_async_engine(..., async_creator=...)``.
"""

from __future__ import annotations

import asyncio
import sqlite3
import time

#: how long a BEGIN may wait for another connection's transaction before giving up
LOCK_WAIT_SECONDS = 30.0


class _InlineQueue:
    """Stands in for aiosqlite's request queue: runs the function right away."""

    def put_nowait(self, item) -> None:
        future, function = item
        try:
            future.set_result(function())
        except Exception as exc:  # noqa: BLE001 - handed to the awaiting caller
            future.set_exception(exc)


class InlineCursor:
    def __init__(self, connection: "InlineConnection", cursor: sqlite3.Cursor):
        self._owner = connection
        self._cursor = cursor

    async def __aenter__(self):
        return self

    async def __aexit__(self, *exc_info):
        self._cursor.close()

    def __await__(self):
        if False:  # pragma: no cover - makes this a generator
            yield
        return self

    async def execute(self, sql: str, parameters=None):
        if sql.lstrip()[:5].upper() == "BEGIN":
            await self._owner._begin(self._cursor, sql)
        elif sql.lstrip()[:6].upper() == "COMMIT":
            await asyncio.to_thread(self._cursor.execute, sql)
        else:
            self._cursor.execute(sql, parameters if parameters is not None else ())
        return self

    async def executemany(self, sql: str, seq):
        self._cursor.executemany(sql, seq)
        return self

    async def fetchone(self):
        return self._cursor.fetchone()

    async def fetchmany(self, size=None):
        return self._cursor.fetchmany(size) if size is not None else self._cursor.fetchmany()

    async def fetchall(self):
        return self._cursor.fetchall()

    async def close(self) -> None:
        self._cursor.close()

    @property
    def description(self):
        return self._cursor.description

    @property
    def rowcount(self):
        return self._cursor.rowcount

    @property
    def lastrowid(self):
        return self._cursor.lastrowid

    @property
    def arraysize(self):
        return self._cursor.arraysize

    @arraysize.setter
    def arraysize(self, value):
        self._cursor.arraysize = value

    def __aiter__(self):
        return self

    async def __anext__(self):
        row = self._cursor.fetchone()
        if row is None:
            raise StopAsyncIteration
        return row


class InlineConnection:
    def __init__(self, database: str, **kwargs):
        kwargs.setdefault("check_same_thread", False)
        self._conn = sqlite3.connect(database, **kwargs)
        self._connection = self._conn  # what SQLAlchemy checks for "still open"
        self._tx = _InlineQueue()

    def __await__(self):
        if False:  # pragma: no cover - makes this a generator
            yield
        return self

    async def _begin(self, cursor: sqlite3.Cursor, sql: str) -> None:
        deadline = time.monotonic() + LOCK_WAIT_SECONDS
        pause = 0.0005
        while True:
            try:
                cursor.execute(sql)
                return
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc).lower() and "busy" not in str(exc).lower():
                    raise
                if time.monotonic() > deadline:
                    raise
            await asyncio.sleep(pause)
            pause = min(pause * 2, 0.02)

    def cursor(self) -> InlineCursor:
        return InlineCursor(self, self._conn.cursor())

    async def execute(self, sql: str, parameters=None) -> InlineCursor:
        return await self.cursor().execute(sql, parameters)

    async def commit(self) -> None:
        if self._conn.in_transaction:
            await asyncio.to_thread(self._conn.commit)

    async def rollback(self) -> None:
        self._conn.rollback()

    async def close(self) -> None:
        if self._connection is not None:
            self._conn.close()
            self._connection = None

    async def create_function(self, *args, **kwargs) -> None:
        self._conn.create_function(*args, **kwargs)

    def stop(self) -> None:
        if self._connection is not None:
            self._conn.close()
            self._connection = None

    @property
    def isolation_level(self):
        return self._conn.isolation_level

    @isolation_level.setter
    def isolation_level(self, value) -> None:
        self._conn.isolation_level = value

    @property
    def in_transaction(self) -> bool:
        return self._conn.in_transaction


def creator(database: str):
    """An ``async_creator`` for create_async_engine on an SQLite file."""

    async def connect():
        return InlineConnection(database)

    return connect

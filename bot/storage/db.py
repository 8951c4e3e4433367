"""Engine, sessions and migrations."""

from __future__ import annotations

import time
from contextlib import asynccontextmanager
from contextvars import ContextVar
from pathlib import Path

from alembic import command
from alembic.config import Config as AlembicConfig
from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine

from bot.storage.files import make_private, private_file

MIGRATIONS = Path(__file__).with_name("migrations")

#: the session of the conversation step being handled, so adapters backed by this same
#: database (the local record store) read inside the step's transaction instead of opening a
#: second connection that would wait on the first one's lock
current_session: ContextVar[AsyncSession | None] = ContextVar("current_session", default=None)

#: chats whose stored conversation a step changed besides its own (signing other chats out):
#: the engine, which writes a group's conversations together at its end, checks it
conversations_touched: ContextVar[set | None] = ContextVar("conversations_touched", default=None)


@asynccontextmanager
async def session_scope(sessions: async_sessionmaker):
    """The step's session when inside one, else a fresh session (closed afterwards)."""
    active = current_session.get()
    if active is not None:
        yield active
        return
    async with sessions() as session:
        yield session


@asynccontextmanager
async def transaction(sessions: async_sessionmaker):
    """A session in a transaction that adapters on this database share (see current_session)."""
    async with sessions() as session, session.begin():
        token = current_session.set(session)
        try:
            yield session
        finally:
            current_session.reset(token)


def _sqlite_pragmas(dbapi_connection, _record):
    # The driver's own implicit BEGIN is turned off; _sqlite_begin emits BEGIN IMMEDIATE so a
    # transaction takes the write lock up front and can never fail half-way on a lock upgrade.
    dbapi_connection.isolation_level = None
    cur = dbapi_connection.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=FULL")
    cur.execute("PRAGMA foreign_keys=ON")
    # waiting for the write lock happens in BEGIN, cooperatively (see inline_sqlite)
    inline = type(getattr(dbapi_connection, "_connection", None)).__name__ == "InlineConnection"
    cur.execute("PRAGMA busy_timeout=0" if inline else "PRAGMA busy_timeout=10000")
    cur.close()


def _sqlite_private(path: str):
    """SQLite gives the WAL and shared-memory files the database file's mode; files left by an
    older, looser database are set right here, once a connection has opened them."""

    def on_connect(_dbapi_connection, _record):
        for suffix in ("-wal", "-shm"):
            make_private(Path(path + suffix))

    return on_connect


def _sqlite_begin(conn):
    conn.exec_driver_sql("BEGIN IMMEDIATE")


#: a pooled connection idle at least this long is checked (a round trip) before it is used again
PING_AFTER_IDLE_SECONDS = 2.0
_IDLE_SINCE = "sabot_idle_since"


def _checked_in(_dbapi_connection, record) -> None:
    record.info[_IDLE_SINCE] = time.monotonic()


def _checked_out(dbapi_connection, record, _proxy) -> None:
    """A connection that sat in the pool for a while is pinged before use; a dead one (the
    server restarted) is replaced then, before any step uses it. One in steady use isn't:
    SQLAlchemy's pool_pre_ping would add three round trips to every group (BEGIN, a ping,
    ROLLBACK on asyncpg), and a connection that broke meanwhile fails its first statement,
    which the engine answers with "try again" and the pool replaces."""
    since = record.info.get(_IDLE_SINCE)
    if since is None or time.monotonic() - since < PING_AFTER_IDLE_SECONDS:
        return
    try:
        dbapi_connection.ping()
    except Exception as exc:  # noqa: BLE001 - any failure: a new connection instead
        raise DisconnectionError(f"stale pooled connection ({type(exc).__name__})") from exc


def is_sqlite(engine: AsyncEngine) -> bool:
    return engine.dialect.name == "sqlite"


def create_engine(url: str, *, echo: bool = False, inline: bool = True) -> AsyncEngine:
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        on_disk = bool(parsed.database) and parsed.database != ":memory:"
        if on_disk:
            # created 0600 (in a 0700 folder if it has none) before SQLite ever opens it
            private_file(Path(parsed.database))
        if on_disk and inline:
            from bot.storage.inline_sqlite import creator

            engine = create_async_engine(url, echo=echo, hide_parameters=True, async_creator=creator(parsed.database))
        else:
            engine = create_async_engine(url, echo=echo, hide_parameters=True)
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        if on_disk:
            event.listen(engine.sync_engine, "connect", _sqlite_private(parsed.database))
        event.listen(engine.sync_engine, "begin", _sqlite_begin)
        return engine
    # hide_parameters: an SQL error's message never carries the (possibly personal) bound values
    engine = create_async_engine(url, echo=echo, hide_parameters=True)
    event.listen(engine.sync_engine, "checkin", _checked_in)
    event.listen(engine.sync_engine, "checkout", _checked_out)
    return engine


def sessionmaker(engine: AsyncEngine) -> async_sessionmaker:
    return async_sessionmaker(engine, expire_on_commit=False)


def alembic_config(url: str) -> AlembicConfig:
    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


async def upgrade(engine: AsyncEngine) -> None:
    """Bring the schema to the newest migration (Alembic, over the engine's own connection)."""

    def run(sync_conn):
        cfg = alembic_config(str(engine.url.render_as_string(hide_password=False)))
        cfg.attributes["connection"] = sync_conn
        command.upgrade(cfg, "head")

    async with engine.begin() as conn:
        await conn.run_sync(run)

"""Prebuilt statements run straight on the database driver's own connection.

The lookups of every checking step (codes, attempt counters, the account and record checks)
take SQLite about 1.5 µs to answer, while sending one through SQLAlchemy's asyncio layer costs
about 60 µs (a greenlet switch, an execution context, a result object). ``run`` keeps the
statements as SQLAlchemy Core objects, compiles each one once for the connection's dialect with
SQLAlchemy's own bind and result processors (dates, booleans), and sends it to the driver
directly inside the transaction SQLAlchemy began: to ``sqlite3`` on the inline SQLite driver,
or to asyncpg on PostgreSQL, where asyncpg keeps each statement prepared on its connection (its
statement cache), so a lookup is one round trip with no parsing or planning. On any other
connection (SQLite through a thread) it goes through SQLAlchemy as usual, with the same result.

A step's savepoint (see ``bot.group_commit``) is opened here before the step's first write,
exactly as the ``before_cursor_execute`` hook does for statements sent through SQLAlchemy; a
step that only reads needs none. On PostgreSQL, where a savepoint is two more round trips, a
step's first write is only noted (``WROTE``): if that step then fails, its group runs again a
step at a time, each step in a savepoint of its own.
"""

from __future__ import annotations

from collections import namedtuple
from dataclasses import dataclass
from typing import Any, Callable

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession
from sqlalchemy.orm import Session

#: connection info key: "pending" while a step that has written nothing yet runs, "open" once
#: its savepoint is set (SQLite), WROTE once it wrote without one (PostgreSQL)
STEP_KEY = "sabot_step_savepoint"
PENDING = "pending"
OPEN = "open"
WROTE = "wrote"
SAVEPOINT = "SAVEPOINT sabot_step"
RELEASE = "RELEASE SAVEPOINT sabot_step"
ROLLBACK_TO = "ROLLBACK TO SAVEPOINT sabot_step"

#: connection info key of the sqlite3 connection under an inline driver (False: not one)
_RAW_KEY = "sabot_direct_sqlite"
#: connection info key of SQLAlchemy's adapter around an asyncpg connection (False: not one)
_PG_KEY = "sabot_direct_asyncpg"


def is_write(sql: str) -> bool:
    """Whether a statement may change rows (anything but a plain SELECT)."""
    return sql.lstrip()[:6].upper() != "SELECT"


def open_step_savepoint(info: dict, execute: Callable[[str], Any], sql: str | None = None) -> None:
    """Set the running step's savepoint just before its first write (``sql``: the statement
    about to run; None: treat it as a write)."""
    if info.get(STEP_KEY) == PENDING and (sql is None or is_write(sql)):
        info[STEP_KEY] = OPEN
        execute(SAVEPOINT)


def note_step_write(info: dict, sql: str | None = None) -> None:
    """PostgreSQL: note that the running step wrote (no savepoint: see the module's doc)."""
    if info.get(STEP_KEY) == PENDING and (sql is None or is_write(sql)):
        info[STEP_KEY] = WROTE


@dataclass(frozen=True)
class _Plan:
    sql: str
    #: per positional parameter: its name, its fixed value (literal in the statement), its bind processor
    params: tuple[tuple[str, Any, Callable | None], ...]
    #: per result column, its result processor (None: the value as SQLite gives it)
    columns: tuple[Callable | None, ...]
    row: type | None
    #: False: this statement goes through SQLAlchemy (it needs a default computed in Python)
    direct: bool = True
    #: it may change rows (see is_write)
    write: bool = True


#: a parameter the caller must give (no value in the statement, no default)
_REQUIRED = object()

#: (id of the statement, parameter names, dialect) -> (the statement, its plan); holding the
#: statement keeps its id from being reused by another one while the plan is cached
_PLANS: dict[tuple[int, tuple[str, ...], str], tuple[Any, _Plan]] = {}


def _plan(statement, keys: tuple[str, ...], conn: AsyncConnection) -> _Plan:
    cache_key = (id(statement), keys, conn.dialect.name)
    cached = _PLANS.get(cache_key)
    if cached is not None and cached[0] is statement:
        return cached[1]
    dialect = conn.dialect
    compiled = statement.compile(dialect=dialect, column_keys=list(keys))
    fixed = compiled.construct_params(_check=False)
    for name, bind in compiled.binds.items():
        if bind.required:
            fixed[name] = _REQUIRED
    # columns left out of an INSERT or UPDATE whose default SQLAlchemy computes in Python: a
    # plain value is sent as fixed; one that needs computing (a function) is not handled here
    for column in [*compiled.insert_prefetch, *compiled.update_prefetch]:
        default = column.default if column in compiled.insert_prefetch else column.onupdate
        if default is None or not default.is_scalar:
            plan = _Plan("", (), (), None, direct=False)
            _PLANS[cache_key] = (statement, plan)
            return plan
        fixed[column.key] = default.arg
    processors = compiled._bind_processors
    params = tuple((name, fixed.get(name), processors.get(name)) for name in compiled.positiontup or ())
    columns: tuple[Callable | None, ...] = ()
    row = None
    if compiled._result_columns:
        columns = tuple(
            col.type._cached_result_processor(dialect, None) for col in compiled._result_columns
        )
        row = namedtuple("Row", [col.keyname for col in compiled._result_columns], rename=True)
    sql = str(compiled)
    plan = _Plan(sql, params, columns, row, write=is_write(sql))
    # (the callers' statements are module-level constants, built once: the cache stays small)
    _PLANS[cache_key] = (statement, plan)
    return plan


class Rows:
    """The few result methods the callers use, over rows already read."""

    __slots__ = ("_rows",)

    def __init__(self, rows: list):
        self._rows = rows

    def first(self):
        return self._rows[0] if self._rows else None

    def one(self):
        if len(self._rows) != 1:
            raise LookupError(f"expected one row, got {len(self._rows)}")
        return self._rows[0]

    def scalar(self):
        return self._rows[0][0] if self._rows else None

    def scalars(self) -> list:
        return [row[0] for row in self._rows]

    def all(self) -> list:
        return self._rows


#: session info key of the session's connection for the transaction under way
_CONNECTION_KEY = "sabot_connection"


async def connection(session: AsyncSession) -> AsyncConnection:
    """The session's connection, asked of SQLAlchemy once per transaction (each ask is a
    greenlet switch, and a step asks at every lookup)."""
    conn = session.info.get(_CONNECTION_KEY)
    if conn is None:
        conn = await session.connection()
        session.info[_CONNECTION_KEY] = conn
    return conn


@event.listens_for(Session, "after_transaction_end")
def _forget_connection(session: Session, transaction) -> None:
    if transaction.parent is None:  # the transaction itself, not a savepoint inside it
        session.info.pop(_CONNECTION_KEY, None)


def _raw_sqlite(conn: AsyncConnection, info: dict | None = None):
    """The sqlite3 connection to run on directly, or None. (``info``: the connection's info.)"""
    if info is None:
        info = conn.sync_connection.info
    raw = info.get(_RAW_KEY)
    if raw is None:
        raw = False
        dbapi = conn.sync_connection.connection.dbapi_connection
        driver = getattr(dbapi, "driver_connection", None)
        if type(driver).__name__ == "InlineConnection":
            raw = driver._conn
        info[_RAW_KEY] = raw
    return raw or None


async def _asyncpg(conn: AsyncConnection, info: dict):
    """SQLAlchemy's adapter around the asyncpg connection to run on directly, or None; only
    inside a transaction that SQLAlchemy began. (SQLAlchemy sends asyncpg's BEGIN with the
    first statement it runs; when that statement is sent here, BEGIN is sent here first, the
    way SQLAlchemy does it, and SQLAlchemy then commits or rolls it back as its own.)"""
    adapter = info.get(_PG_KEY)
    if adapter is None:
        adapter = False
        dbapi = conn.sync_connection.connection.dbapi_connection
        if type(dbapi).__name__ == "AsyncAdapt_asyncpg_connection":
            adapter = dbapi
        info[_PG_KEY] = adapter
    if not adapter:
        return None
    if adapter._transaction is None:
        if not conn.in_transaction():
            return None
        async with adapter._execute_mutex:
            if adapter._transaction is None:
                await adapter._start_transaction()
        if adapter._transaction is None:  # autocommit: no transaction to run in
            return None
    return adapter


async def begun_asyncpg(conn: AsyncConnection):
    """The asyncpg side of ``conn`` with its transaction started, or None (not asyncpg, or not
    in a transaction): for statements sent straight to asyncpg (bot.storage.pg_batch)."""
    return await _asyncpg(conn, conn.sync_connection.info)


def _db_error(conn: AsyncConnection, adapter, plan: _Plan, args, error: Exception) -> Exception:
    """An asyncpg error as SQLAlchemy would have raised it (IntegrityError, OperationalError...)."""
    from sqlalchemy import exc

    try:
        adapter._handle_exception(error)  # raises asyncpg's error translated to the DBAPI's
    except Exception as translated:  # noqa: BLE001
        dialect = conn.dialect
        return exc.DBAPIError.instance(plan.sql, args, translated, dialect.loaded_dbapi.Error,
                                       hide_parameters=True, dialect=dialect)
    return error  # pragma: no cover - _handle_exception always raises


async def _run_asyncpg(conn: AsyncConnection, adapter, info: dict, plan: _Plan, args: list) -> Rows:
    if plan.write:
        note_step_write(info)
    try:
        records = await adapter._connection.fetch(plan.sql, *args)
    except Exception as error:  # noqa: BLE001 - raised again as SQLAlchemy's
        raise _db_error(conn, adapter, plan, args, error) from error
    if plan.row is None:
        return Rows([tuple(r) for r in records])
    make, processors = plan.row, plan.columns
    if not any(processors):
        return Rows([make(*r) for r in records])
    return Rows([
        make(*[p(v) if p is not None else v for p, v in zip(processors, values)]) for values in records
    ])


def _args(plan: _Plan, params: dict[str, Any]) -> list:
    args = []
    for name, fixed, process in plan.params:
        value = params[name] if name in params else fixed
        if value is _REQUIRED:
            raise TypeError(f"no value given for the statement's parameter {name!r}")
        args.append(process(value) if process is not None and value is not None else value)
    return args


async def run(conn: AsyncConnection, statement, params: dict[str, Any]) -> Rows:
    """Run a prebuilt Core statement inside the step's transaction; rows read at once."""
    info = conn.sync_connection.info
    raw = _raw_sqlite(conn, info)
    if raw is None:
        adapter = await _asyncpg(conn, info)
        if adapter is not None:
            plan = _plan(statement, tuple(params), conn)
            if plan.direct:
                return await _run_asyncpg(conn, adapter, info, plan, _args(plan, params))
        result = await conn.execute(statement, params)
        return Rows(list(result.all()) if result.returns_rows else [])
    plan = _plan(statement, tuple(params), conn)
    if not plan.direct:
        result = await conn.execute(statement, params)
        return Rows(list(result.all()) if result.returns_rows else [])
    args = _args(plan, params)
    if plan.write:
        open_step_savepoint(info, raw.execute)
    cursor = raw.execute(plan.sql, args)
    if plan.row is None:
        # a write, or a textual query whose columns SQLAlchemy doesn't know: rows as SQLite gives them
        return Rows([] if cursor.description is None else cursor.fetchall())
    make, processors = plan.row, plan.columns
    return Rows([
        make(*[p(v) if p is not None else v for p, v in zip(processors, values)]) for values in cursor.fetchall()
    ])


async def run_many(conn: AsyncConnection, statement, rows: list[dict[str, Any]]) -> None:
    """Run a prebuilt write once per row (every row with the same keys), as one executemany."""
    if not rows:
        return
    info = conn.sync_connection.info
    raw = _raw_sqlite(conn, info)
    if raw is None:
        adapter = await _asyncpg(conn, info)
        plan = None if adapter is None else _plan(statement, tuple(rows[0]), conn)
        if plan is None or not plan.direct:
            await conn.execute(statement, rows)
            return
        note_step_write(info)
        args = [_args(plan, row) for row in rows]
        try:
            await adapter._connection.executemany(plan.sql, args)
        except Exception as error:  # noqa: BLE001 - raised again as SQLAlchemy's
            raise _db_error(conn, adapter, plan, args, error) from error
        return
    plan = _plan(statement, tuple(rows[0]), conn)
    if not plan.direct:
        await conn.execute(statement, rows)
        return
    open_step_savepoint(info, raw.execute)
    raw.executemany(plan.sql, [_args(plan, row) for row in rows])

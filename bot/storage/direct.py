"""Prebuilt statements run straight on SQLite's own connection.

The lookups of every checking step (codes, attempt counters, the account and record checks)
take SQLite about 1.5 µs to answer, while sending one through SQLAlchemy's asyncio layer costs
about 60 µs (a greenlet switch, an execution context, a result object). ``run`` keeps the
statements as SQLAlchemy Core objects, compiles each one once for the connection's dialect with
SQLAlchemy's own bind and result processors (dates, booleans), and, on the inline SQLite driver,
sends it to ``sqlite3`` directly inside the step's transaction. On any other connection
(PostgreSQL, SQLite through a thread) it goes through SQLAlchemy as usual, with the same result.

The step's savepoint (see ``bot.engine``) is opened here too before the first statement of a
step, exactly as the ``before_cursor_execute`` hook does for statements sent through SQLAlchemy.
"""

from __future__ import annotations

from collections import namedtuple
from dataclasses import dataclass
from typing import Any, Callable

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession
from sqlalchemy.orm import Session

#: connection info key: "pending" while a step that has sent no statement yet runs, "open" once
#: its savepoint is set
STEP_KEY = "sabot_step_savepoint"
SAVEPOINT = "SAVEPOINT sabot_step"
RELEASE = "RELEASE SAVEPOINT sabot_step"
ROLLBACK_TO = "ROLLBACK TO SAVEPOINT sabot_step"

#: connection info key of the sqlite3 connection under an inline driver (False: not one)
_RAW_KEY = "sabot_direct_sqlite"


def open_step_savepoint(info: dict, execute: Callable[[str], Any]) -> None:
    """Set the running step's savepoint just before its first statement."""
    if info.get(STEP_KEY) == "pending":
        info[STEP_KEY] = "open"
        execute(SAVEPOINT)


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


#: a parameter the caller must give (no value in the statement, no default)
_REQUIRED = object()

#: (id of the statement, parameter names) -> (the statement, its plan); holding the statement
#: keeps its id from being reused by another one while the plan is cached
_PLANS: dict[tuple[int, tuple[str, ...]], tuple[Any, _Plan]] = {}


def _plan(statement, keys: tuple[str, ...], conn: AsyncConnection) -> _Plan:
    cache_key = (id(statement), keys)
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
    plan = _Plan(str(compiled), params, columns, row)
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
    plan = None if raw is None else _plan(statement, tuple(params), conn)
    if plan is None or not plan.direct:
        result = await conn.execute(statement, params)
        return Rows(list(result.all()) if result.returns_rows else [])
    args = _args(plan, params)
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
    plan = None if raw is None else _plan(statement, tuple(rows[0]), conn)
    if plan is None or not plan.direct:
        await conn.execute(statement, rows)
        return
    open_step_savepoint(info, raw.execute)
    raw.executemany(plan.sql, [_args(plan, row) for row in rows])

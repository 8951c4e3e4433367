"""Start-up checks shared by the commands and `sabot doctor`: each failure is one line saying
what is wrong and where (host and port, a file), never a password or a key."""

from __future__ import annotations

import asyncio
import socket

from sqlalchemy.engine import make_url


class StartupError(Exception):
    """The bot can't start; the message is one line for the operator."""


def database_place(url: str) -> str:
    """Where a database URL points, without its password: ``host:port/name`` or the SQLite file."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        return f"the SQLite file {parsed.database}" if parsed.database not in (None, "", ":memory:") else "an in-memory SQLite database"
    host = parsed.host or "localhost"
    port = parsed.port or 5432
    return f"{host}:{port}" + (f" (database {parsed.database})" if parsed.database else "")


def _chain(exc: BaseException):
    seen = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        yield exc
        exc = getattr(exc, "orig", None) or exc.__cause__ or exc.__context__


#: the driver's refusals by class name, in words
_REASONS = {
    "InvalidPasswordError": "the user name or password was refused",
    "InvalidAuthorizationSpecificationError": "the user was refused (no such role, or not allowed from this host)",
    "InvalidCatalogNameError": "that database does not exist (create it first)",
    "CannotConnectNowError": "the server is starting up or shutting down",
    "TooManyConnectionsError": "the server has too many connections",
    "InsufficientPrivilegeError": "the user lacks the privileges needed",
}


def database_problem(exc: BaseException) -> str:
    """Why connecting failed, in a few words (no personal data, no password)."""
    for inner in _chain(exc):
        name = type(inner).__name__
        if name in _REASONS:
            return _REASONS[name]
        if isinstance(inner, ConnectionRefusedError):
            return "connection refused: is the server running and listening there?"
        if isinstance(inner, socket.gaierror):
            return "the host name does not resolve"
        if isinstance(inner, (TimeoutError, asyncio.TimeoutError)):
            return "no answer in time"
        if isinstance(inner, OSError) and inner.strerror:
            return inner.strerror.lower()
        if name == "OperationalError" and "unable to open database file" in str(inner):
            return "the file can't be opened or created (check the folder and its permissions)"
    return type(exc).__name__


def is_connection_error(exc: BaseException) -> bool:
    """Whether ``exc`` says the database could not be reached (rather than a bug)."""
    from sqlalchemy.exc import InterfaceError, OperationalError

    for inner in _chain(exc):
        if isinstance(inner, (OSError, asyncio.TimeoutError, OperationalError, InterfaceError)):
            return True
        if type(inner).__name__ in _REASONS:
            return True
    return False


def unreachable(url: str, exc: BaseException) -> StartupError:
    problem = database_problem(exc)
    return StartupError(f"Can't reach the database at {database_place(url)}: {problem}{'' if problem.endswith('?') else '.'}")


async def reach_database(url: str, *, timeout: float = 10) -> None:
    """Connect once and run ``SELECT 1``, or raise StartupError naming host and port."""
    from sqlalchemy import text

    from bot.storage.db import create_engine

    try:
        engine = create_engine(url)
    except Exception as exc:  # noqa: BLE001 - a URL the driver can't use
        raise StartupError(f"database.url can't be used ({type(exc).__name__}): expected sqlite:///path or postgresql://user@host:port/name.") from None
    try:
        async def ping():
            async with engine.connect() as conn:
                await conn.execute(text("SELECT 1"))

        await asyncio.wait_for(ping(), timeout)
    except Exception as exc:  # noqa: BLE001 - said in words below
        raise unreachable(url, exc) from None
    finally:
        await engine.dispose()

"""PostgreSQL for the test suite: one throwaway database per test session, emptied per test.

The server is the one on this machine (127.0.0.1:5432, trust auth) unless
SABOT_TEST_POSTGRES_URL names another (an asyncpg SQLAlchemy URL to an existing database the
tests may connect to in order to create their own). Without a reachable server the PostgreSQL
variants skip, saying why.
"""

from __future__ import annotations

import asyncio
import os
import secrets

import asyncpg
from sqlalchemy.engine import make_url

ADMIN_URL = os.environ.get("SABOT_TEST_POSTGRES_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres")


def _dsn(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def _run_sql(url: str, sql: str) -> None:
    """Run one statement on ``url``, on a connection of its own."""

    async def run():
        conn = await asyncpg.connect(_dsn(url), timeout=5)
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    asyncio.run(run())


class PostgresForTests:
    def __init__(self) -> None:
        self.url: str | None = None
        self.reason = ""
        self._name = f"sabot_test_{os.getpid()}_{secrets.token_hex(3)}"
        self._migrated = False

    def start(self) -> None:
        try:
            _run_sql(ADMIN_URL, f'CREATE DATABASE "{self._name}"')
        except (OSError, asyncpg.PostgresError, asyncio.TimeoutError) as exc:
            self.reason = (
                f"PostgreSQL is not reachable at {make_url(ADMIN_URL).render_as_string()} "
                f"({type(exc).__name__}: {exc}); start the server or set SABOT_TEST_POSTGRES_URL"
            )
            return
        self.url = make_url(ADMIN_URL).set(database=self._name).render_as_string(hide_password=False)

    def empty(self) -> None:
        """Remove every row (keeping the schema) so each test starts clean."""

        async def truncate():
            conn = await asyncpg.connect(_dsn(self.url), timeout=5)
            try:
                tables = await conn.fetch(
                    "SELECT tablename FROM pg_tables WHERE schemaname = 'public' AND tablename <> 'alembic_version'"
                )
                if tables:
                    names = ", ".join(f'"{t["tablename"]}"' for t in tables)
                    await conn.execute(f"TRUNCATE {names} RESTART IDENTITY CASCADE")
            finally:
                await conn.close()

        asyncio.run(truncate())

    def stop(self) -> None:
        if self.url is None:
            return
        try:
            _run_sql(ADMIN_URL, f'DROP DATABASE IF EXISTS "{self._name}" WITH (FORCE)')
        except (OSError, asyncpg.PostgresError):
            pass

"""Prebuilt statements sent straight to SQLite's driver give what SQLAlchemy gives, inside the
step's transaction and savepoint (bot/storage/direct.py)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import text

from bot.engine import Engine
from bot.services import build_services
from bot.storage import direct
from bot.storage.db import create_engine, transaction
from bot.storage.repo import _CURRENT_CODE, _NEW_CODE, _RECENT_CODES, _VOID_CODE, _WRONG_TRY


@pytest.fixture
async def services(settings):
    services = await build_services(settings)
    Engine(services)  # sets the hook that opens a step's savepoint for statements sent through SQLAlchemy
    yield services
    await services.close()


def _code(now, subject="chat:1", code_hash="h1"):
    return {
        "purpose": "email", "subject": subject, "code_hash": code_hash, "channel": "email",
        "created_at": now, "expires_at": now + timedelta(minutes=15), "used_at": None,
        "attempts": 0, "voided": False,
    }


async def test_rows_match_what_sqlalchemy_reads(services):
    now = services.clock.now()
    async with transaction(services.sessions) as session:
        conn = await session.connection()
        await direct.run(conn, _NEW_CODE, _code(now))
        await direct.run(conn, _NEW_CODE, _code(now + timedelta(seconds=1), code_hash="h2"))
        params = {"subject": "chat:1", "purpose": "email"}
        ours = (await direct.run(conn, _CURRENT_CODE, params)).first()
        theirs = (await conn.execute(_CURRENT_CODE, params)).first()
        # dates come back as datetimes, equal to what SQLAlchemy reads; attribute access works
        assert tuple(ours) == tuple(theirs)
        assert ours.code_hash == "h2" and ours.expires_at == now + timedelta(seconds=1, minutes=15)
        recent = (await direct.run(conn, _RECENT_CODES, {**params, "since": now - timedelta(minutes=1)})).scalars()
        assert recent == [now, now + timedelta(seconds=1)]
        # a fixed value written in the statement (voided=True) is sent along with the given ones
        await direct.run(conn, _WRONG_TRY, {"b_id": ours.id, "b_attempts": 2, "b_voided": False})
        await direct.run(conn, _VOID_CODE, {"b_id": ours.id})
        after = (await conn.execute(_CURRENT_CODE, params)).first()
        assert after.code_hash == "h1"
        assert (await direct.run(conn, _CURRENT_CODE, {"subject": "nobody", "purpose": "email"})).first() is None


async def test_a_step_savepoint_opens_before_the_first_write_and_rolls_back(services):
    now = services.clock.now()
    async with transaction(services.sessions) as session:
        conn = await session.connection()
        info = conn.sync_connection.info
        await direct.run(conn, _NEW_CODE, _code(now, code_hash="kept"))
        info[direct.STEP_KEY] = direct.PENDING
        # a read needs no savepoint
        await direct.run(conn, _CURRENT_CODE, {"subject": "chat:1", "purpose": "email"})
        assert info[direct.STEP_KEY] == direct.PENDING
        await direct.run(conn, _NEW_CODE, _code(now, subject="chat:2", code_hash="dropped"))
        if conn.dialect.name == "postgresql":
            # no savepoint (two more round trips): the write is noted, and a failing step that
            # wrote sends its group to the one-at-a-time path (bot.group_commit)
            assert info.pop(direct.STEP_KEY) == direct.WROTE
            return
        assert info.pop(direct.STEP_KEY) == direct.OPEN
        driver = (await conn.get_raw_connection()).driver_connection
        await driver.execute(direct.ROLLBACK_TO)
        await driver.execute(direct.RELEASE)
        assert (await direct.run(conn, _CURRENT_CODE, {"subject": "chat:2", "purpose": "email"})).first() is None
        assert (await direct.run(conn, _CURRENT_CODE, {"subject": "chat:1", "purpose": "email"})).first().code_hash == "kept"


async def test_other_drivers_go_through_sqlalchemy(tmp_path):
    """SQLite through a helper thread (not the inline driver) must not be touched from here."""
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'x.db'}", inline=False)
    try:
        async with engine.connect() as conn:
            assert direct._raw_sqlite(conn) is None
            assert (await direct.run(conn, text("SELECT 1 AS one, 'a' AS two"), {})).one() == (1, "a")
    finally:
        await engine.dispose()


async def test_defaults_computed_by_sqlalchemy_are_kept(services):
    from sqlalchemy import Column, Integer, MetaData, String, Table, insert, select

    from bot.storage.repo import _NEW_ACCOUNT
    from bot.storage.models import Account

    now = services.clock.now()
    fields = {
        "username": "Pat", "username_key": "pat", "password_hash": "x", "ssn_hash": "s" * 64,
        "profile_enc": "p", "site_phrase_enc": "f", "site_image": "owl", "chat_id": 5,
        "created_at": now, "password_changed_at": now,
    }
    async with transaction(services.sessions) as session:
        conn = await session.connection()
        new_id = (await direct.run(conn, _NEW_ACCOUNT, fields)).one().id
        account = await session.get(Account, new_id)
        # status and must_change_password were left out: their model defaults apply
        assert (account.status, account.must_change_password, account.created_at) == ("active", False, now)
        # a parameter left out is an error, as through SQLAlchemy, never a NULL sent quietly
        with pytest.raises(Exception, match="purpose"):
            await direct.run(conn, _CURRENT_CODE, {"subject": "chat:1"})
        # a default that must be computed: the statement goes through SQLAlchemy, which computes it
        table = Table("direct_probe", MetaData(), Column("id", Integer, primary_key=True),
                      Column("tag", String, default=lambda: "computed"))
        await conn.run_sync(table.create)
        await direct.run(conn, insert(table), {"id": 1})
        assert (await direct.run(conn, select(table.c.tag), {})).scalar() == "computed"


async def test_the_connection_is_asked_once_per_transaction(services):
    async with services.sessions() as session:
        async with session.begin():
            first = await direct.connection(session)
            async with session.begin_nested():
                assert await direct.connection(session) is first
            assert await direct.connection(session) is first
        # the transaction ended: the next one asks SQLAlchemy again
        assert direct._CONNECTION_KEY not in session.info
        async with session.begin():
            assert (await direct.run(await direct.connection(session), text("SELECT 1"), {})).scalar() == 1


async def test_a_new_statement_never_gets_the_plan_of_an_old_one(services):
    """Plans are cached per statement object; one built later must not inherit another's plan
    even if Python reuses its id."""
    async with transaction(services.sessions) as session:
        conn = await direct.connection(session)
        for value in range(50):  # each statement built, used and dropped: ids get reused
            assert (await direct.run(conn, text(f"SELECT {value}"), {})).scalar() == value

"""Data-key rotation: every encrypted column is re-encrypted with a new key, keeping its context;
old keys stay readable until dropped; the bot keeps working throughout."""

from __future__ import annotations

import ast
import asyncio
import base64
import json
import secrets
from pathlib import Path

import pytest
from click.testing import CliRunner

from bot.crypto import KeyRing, Vault, load_key_ring, make_vault
from bot.keys import ENCRYPTED_COLUMNS, RotationError, add_key_to_file, drop_old_keys, key_usage, reencrypt_all
from bot.storage.models import Base
from tests.conftest import cli_env, make_harness, run_on_harness
from tests.conftest import test_settings as settings_for
from tests.journeys import JORDAN, to_email_code
from tests.privacy_helpers import PRIYA, encrypted_values, fill_with_registrations, sign_in_with_text

ROOT = Path(__file__).resolve().parents[1]


def _key() -> str:
    return base64.urlsafe_b64encode(secrets.token_bytes(32)).decode().rstrip("=")


# -- the one map of encrypted columns ------------------------------------------------------------


def test_every_encrypted_column_is_in_the_rotation_map():
    """A new *_enc column that isn't in bot.keys.ENCRYPTED_COLUMNS would never be re-encrypted."""
    in_schema = {
        (table.name, column.name)
        for table in Base.metadata.tables.values()
        for column in table.columns
        if column.name.endswith("_enc")
    }
    mapped = {(t, c) for t, cols in ENCRYPTED_COLUMNS.items() for c in cols if t in Base.metadata.tables}
    assert in_schema == mapped


def _contexts_in_code() -> set[str]:
    found = set()
    for folder in ("bot", "flows"):
        for path in (ROOT / folder).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if isinstance(node, ast.keyword) and node.arg == "context" and isinstance(node.value, ast.Constant):
                    found.add(node.value.value)
    return found


def test_every_context_used_in_the_code_is_in_the_rotation_map():
    mapped = {ctx for cols in ENCRYPTED_COLUMNS.values() for ctx in cols.values()}
    assert _contexts_in_code() <= mapped


# -- rotation with a key file ---------------------------------------------------------------------


async def test_rotation_reencrypts_everything_and_the_running_bot_keeps_working(harness, settings):
    h = harness
    people = await fill_with_registrations(h)
    await h.engine.outbox.close()  # replies marked sent now, not while the values are counted
    old = h.services.vault.ring.active_kid
    before = await encrypted_values(h.services.engine)
    assert before and {v.split(".", 1)[0] for _, _, v in before} == {old}
    tables = {where.split(".")[0] for where, _, _ in before}
    assert {"conversations", "accounts", "deliveries", "record_taxpayers", "letters"} <= tables

    # `sabot keys rotate`, as another process would run it: a new key in the file, then re-encrypt
    ring = add_key_to_file(settings)
    new = ring.active_kid
    assert new != old and set(ring.data_keys) == {old, new}
    operator = make_vault(settings)
    report = await reencrypt_all(h.services.engine, operator, batch_size=3)
    assert report.total == len(before) and not report.unreadable

    after = await encrypted_values(h.services.engine)
    assert len(after) == len(before)
    assert not [v for _, _, v in after if v.startswith(old + ".")], "a value still carries the old key id"
    # each value kept its context: the new key alone decrypts it with its column's context
    only_new = Vault(KeyRing({new: ring.data_keys[new]}, new, ring.hmac_key))
    for (where, context, value), (_, _, old_value) in zip(sorted(after), sorted(before)):
        only_new.decrypt(value, context=context)
    assert await key_usage(h.services.engine) == {new: len(before)}

    # The running bot (it loaded the old ring) reads the new values and signs Jordan in again.
    jordan = await h.user(4101)
    await jordan.command("logout")
    replies = await sign_in_with_text(h, jordan, people[0])
    assert await h.engine.where(4101) == ("home", "signed_in"), [m.text for m in replies]
    assert h.services.vault.ring.active_kid == new  # it adopted the new key for what it writes
    # Priya carries on from her review, and a new registration starts, all under the new key.
    priya = await h.user(4103)
    await priya.press("Everything matches – check it")
    newcomer = await h.user(4104)
    await to_email_code(h, newcomer, {**JORDAN, "email": "someone.new@example.com"})
    assert set(await key_usage(h.services.engine)) == {new}

    # --drop-old: nothing needs the old key any more, so it leaves the key file
    dropped = await drop_old_keys(settings, h.services.engine, operator)
    assert dropped == [old]
    assert set(json.loads(settings.key_file_path.read_text())["data_keys"]) == {new}
    assert (settings.key_file_path.stat().st_mode & 0o777) == 0o600


async def test_drop_old_refuses_while_a_value_still_needs_an_old_key(harness, settings):
    h = harness
    user = await h.user(4201)
    await to_email_code(h, user)
    old = h.services.vault.ring.active_kid
    add_key_to_file(settings)  # a new key, but nothing re-encrypted yet
    with pytest.raises(RotationError, match=old):
        await drop_old_keys(settings, h.services.engine, make_vault(settings))
    assert old in json.loads(settings.key_file_path.read_text())["data_keys"]


async def test_a_row_changed_during_rotation_is_not_overwritten(harness, settings):
    """The rotation writes a row only if it still holds what it read (the bot may have answered
    in between); such a row is counted as raced and picked up by the next pass."""
    from sqlalchemy import select, update

    from bot.keys import RotationReport, rewrite_rows
    from bot.storage.models import Conversation

    h = harness
    user = await h.user(4301)
    await to_email_code(h, user)
    add_key_to_file(settings)
    operator = make_vault(settings)
    table = Conversation.__table__
    async with h.services.engine.connect() as conn:
        stale = (await conn.execute(select(table.c.chat_id, table.c.data_enc).where(table.c.chat_id == 4301))).all()
    # the bot writes the row (with the key it knows) after the rotation read it
    async with h.services.engine.begin() as conn:
        await conn.execute(
            update(table).where(table.c.chat_id == 4301)
            .values(data_enc=h.services.vault.encrypt({"changed": True}, context="conversation"))
        )
    report = RotationReport()
    async with h.services.engine.begin() as conn:
        assert await rewrite_rows(conn, operator, table, {"data_enc": "conversation"}, stale, report) == 0
    assert report.raced == 1
    async with h.services.engine.connect() as conn:
        current = await conn.scalar(select(table.c.data_enc).where(table.c.chat_id == 4301))
    assert operator.decrypt(current, context="conversation") == {"changed": True}
    # a full run picks it up
    await reencrypt_all(h.services.engine, operator)
    assert set(await key_usage(h.services.engine)) == {operator.ring.active_kid}


# -- keys from the environment ----------------------------------------------------------------------


async def test_environment_keys_rotate_with_old_keys_readable(tmp_path):
    hmac_key, key_a, key_b = _key(), _key(), _key()
    first = settings_for(tmp_path, security={"data_key": key_a, "data_key_id": "a", "hmac_key": hmac_key})
    h = await make_harness(first)
    try:
        await fill_with_registrations(h)
    finally:
        await h.close()
    assert not first.key_file_path.exists()

    # the operator sets the new key and keeps the old one readable
    second = settings_for(
        tmp_path,
        security={"data_key": key_b, "data_key_id": "b", "hmac_key": hmac_key, "old_data_keys": {"a": key_a}},
    )
    ring = load_key_ring(second)
    assert ring.active_kid == "b" and set(ring.data_keys) == {"a", "b"}
    h = await make_harness(second, clock=None)
    try:
        report = await reencrypt_all(h.services.engine, h.services.vault)
        assert report.total > 0 and set(await key_usage(h.services.engine)) == {"b"}
        assert await drop_old_keys(second, h.services.engine, h.services.vault) == ["a"]
        assert not second.key_file_path.exists()
    finally:
        await h.close()

    # and without the old key everything still reads: Jordan signs in
    third = settings_for(tmp_path, security={"data_key": key_b, "data_key_id": "b", "hmac_key": hmac_key})
    h = await make_harness(third)
    try:
        jordan = await h.user(4101)
        await jordan.command("logout")
        await sign_in_with_text(h, jordan, JORDAN)
        assert await h.engine.where(4101) == ("home", "signed_in")
    finally:
        await h.close()


def test_old_data_keys_come_from_the_environment_as_json(monkeypatch, tmp_path):
    from bot.config import load_settings

    monkeypatch.setenv("SABOT_SECURITY__OLD_DATA_KEYS", json.dumps({"k1": "AAAA", "k2": "BBBB"}))
    assert load_settings().security.old_data_keys == {"k1": "AAAA", "k2": "BBBB"}


# -- the command ------------------------------------------------------------------------------------


def test_sabot_keys_rotate_command(tmp_path, monkeypatch):
    from bot.cli import main

    settings = settings_for(tmp_path)

    run_on_harness(settings, fill_with_registrations)
    old = json.loads(settings.key_file_path.read_text())["active"]
    env = cli_env(
        settings,
        SABOT_SECURITY__ARGON2_TIME_COST="1",
        SABOT_SECURITY__ARGON2_MEMORY_KIB="8192",
        SABOT_SECURITY__ARGON2_PARALLELISM="1",
    )
    runner = CliRunner()
    result = runner.invoke(main, ["keys", "rotate", "--batch-size", "2"], env=env, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    new = json.loads(settings.key_file_path.read_text())["active"]
    assert new != old and f"Added data key {new}" in result.output and "Re-encrypted" in result.output

    status = runner.invoke(main, ["keys", "status"], env=env, catch_exceptions=False)
    assert f"Active data key: {new}" in status.output and f"{old}:" not in status.output

    dropped = runner.invoke(main, ["keys", "rotate", "--drop-old"], env=env, catch_exceptions=False)
    assert dropped.exit_code == 0 and f"Dropped old key(s) {old}" in dropped.output
    assert list(json.loads(settings.key_file_path.read_text())["data_keys"]) == [new]

    async def sign_in_again():
        h = await make_harness(settings)
        try:
            jordan = await h.user(4101)
            await jordan.command("logout")
            await sign_in_with_text(h, jordan, JORDAN)
            return await h.engine.where(4101)
        finally:
            await h.close()

    assert asyncio.run(sign_in_again()) == ("home", "signed_in")

    generated = runner.invoke(main, ["keys", "generate"], catch_exceptions=False)
    assert "SABOT_SECURITY__DATA_KEY_ID=k" in generated.output and "SABOT_SECURITY__DATA_KEY=" in generated.output

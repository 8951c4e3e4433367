"""A group of steps waits a moment for company when only a few are queued (database.group_wait_ms,
group_wait_below in config.yaml): updates arriving one by one then share a transaction."""

from __future__ import annotations

import asyncio

from bot.config import load_settings
from bot.group_commit import GroupCommit
from tests.conftest import make_harness, test_settings as settings_for


def _counting_groups(monkeypatch) -> list[int]:
    sizes: list[int] = []
    real = GroupCommit.run_group

    async def run_group(self, group):
        sizes.append(len(group))
        return await real(self, group)

    monkeypatch.setattr(GroupCommit, "run_group", run_group)
    return sizes


async def _starts_a_moment_apart(harness, chats: range, gap: float) -> None:
    users = [await harness.user(chat) for chat in chats]

    async def later(i, user):
        await asyncio.sleep(i * gap)
        await user.command("start")

    await asyncio.gather(*(later(i, u) for i, u in enumerate(users)))


async def test_updates_a_moment_apart_share_a_group_while_it_waits(tmp_path, monkeypatch):
    harness = await make_harness(settings_for(tmp_path, database={"group_wait_ms": 50, "group_wait_below": 8}))
    try:
        sizes = _counting_groups(monkeypatch)
        await _starts_a_moment_apart(harness, range(9101, 9105), 0.005)
        assert sizes == [4]  # four updates 5 ms apart: one group, one commit
        for chat in range(9101, 9105):
            assert await harness.engine.where(chat) is not None
    finally:
        await harness.close()


async def test_without_the_wait_each_lone_update_is_a_group(tmp_path, monkeypatch):
    harness = await make_harness(settings_for(tmp_path, database={"group_wait_ms": 0}))
    try:
        sizes = _counting_groups(monkeypatch)
        await _starts_a_moment_apart(harness, range(9201, 9205), 0.05)
        assert sizes == [1, 1, 1, 1]
    finally:
        await harness.close()


async def test_a_full_queue_does_not_wait(tmp_path, monkeypatch):
    """With group_wait_below steps already queued the group starts at once: the wait only helps
    updates that trickle in, and a busy bot has company enough."""
    from bot import group_commit

    waits: list[float] = []

    class Waits:
        def __getattr__(self, name):
            return getattr(asyncio, name)

        async def sleep(self, delay, *args):
            waits.append(delay)
            return await asyncio.sleep(delay, *args)

    monkeypatch.setattr(group_commit, "asyncio", Waits())
    harness = await make_harness(settings_for(tmp_path, database={"group_wait_ms": 40, "group_wait_below": 3}))
    try:
        sizes = _counting_groups(monkeypatch)
        users = [await harness.user(chat) for chat in range(9301, 9304)]
        await asyncio.gather(*(u.command("start") for u in users))  # three queued at once
        assert sizes == [3] and waits == []
        await users[0].send("hello")  # one alone: it waits for company, then goes
        assert sizes == [3, 1] and waits == [0.04]
    finally:
        await harness.close()


def test_the_shipped_configuration_waits_two_milliseconds_below_eight():
    db = load_settings().database
    assert (db.group_wait_ms, db.group_wait_below) == (2, 8)

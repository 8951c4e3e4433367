"""PostgreSQL's group path (bot.storage.pg_batch): a group's locks and reads in one statement,
its writes in one more, several groups at once. What it must never do: run a step on a state
older than the stored one, or write a conversation twice."""

from __future__ import annotations

import asyncio

import pytest

from tests.conftest import make_harness


@pytest.fixture
async def pg_harness(settings):
    if not settings.database.url.startswith("postgresql"):
        pytest.skip("PostgreSQL only")
    h = await make_harness(settings)
    yield h
    await h.close()


async def test_a_conversation_stored_meanwhile_sends_the_group_to_the_slow_path(pg_harness, monkeypatch):
    """The group's read can't see a conversation another worker created after the read's
    snapshot was taken (while it waited for the chat's lock). Its write then finds the row and
    the group runs again a step at a time, on the stored state."""
    from bot.storage import pg_batch

    h = pg_harness
    user = await h.user(8601)
    await user.command("start")
    await user.press("Begin registration")
    assert await h.engine.where(8601) == ("registration", "first_name")

    real = pg_batch.lock_and_load
    hidden = []

    async def snapshot_before_the_insert(conn, chats):
        stored = await real(conn, chats)
        if 8601 in stored and not hidden:
            hidden.append(stored.pop(8601))  # as if read before the other worker's commit
        return stored

    monkeypatch.setattr(pg_batch, "lock_and_load", snapshot_before_the_insert)
    replies = await user.send("Jordan")
    assert hidden, "the group path was not taken"
    # answered from the stored state (the first name taken), not as a new chat
    assert await h.engine.where(8601) == ("registration", "last_name")
    assert "last name" in " ".join(m.text for m in replies).lower()


async def test_groups_at_once_keep_each_chat_in_order(pg_harness):
    """Forty chats answering at once through several concurrent groups: each ends where it
    should, its conversation written once per answer."""
    from sqlalchemy import select

    from bot.storage.models import Conversation

    h = pg_harness
    assert h.engine.group.concurrent > 1
    users = [await h.user(8700 + i) for i in range(40)]
    await asyncio.gather(*(u.command("start") for u in users))
    await asyncio.gather(*(u.press("Begin registration") for u in users))
    await asyncio.gather(*(u.send("Jordan") for u in users))
    async with h.services.sessions() as session:
        rows = (await session.execute(select(Conversation.chat_id, Conversation.state, Conversation.version)
                                      .where(Conversation.chat_id.between(8700, 8739)))).all()
    assert len(rows) == 40
    assert {(state, version) for _chat, state, version in rows} == {("last_name", 3)}

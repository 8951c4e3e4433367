"""A database error rolls the step back: the user is asked to retry and nothing moved."""

from __future__ import annotations

import pytest
from sqlalchemy.exc import OperationalError

from bot.storage.repo import Repo
from tests.journeys import JORDAN, to_email_code


async def test_failed_commit_leaves_the_conversation_unchanged(harness, monkeypatch):
    user = await harness.user(8201)
    await user.command("start")
    await user.press("Begin registration")
    await user.send("Jordan")
    await user.send("Rivera")
    before = await harness.engine.where(8201)

    async def broken(*args, **kwargs):
        raise OperationalError("INSERT", {}, Exception("disk I/O error"))

    monkeypatch.setattr(Repo, "issue_code", broken)
    replies = await user.send(JORDAN["email"])
    assert "something went wrong on my side" in replies[-1].text
    assert "wasn't saved" in replies[-1].text
    assert await harness.engine.where(8201) == before
    assert [m for m in await harness.outbox() if m.channel == "email"] == []

    monkeypatch.undo()
    replies = await user.send(JORDAN["email"])
    assert "I've emailed a confirmation code" in "\n".join(m.text for m in replies)


async def test_error_after_writes_rolls_them_back(harness, monkeypatch):
    """The code row and its email are written, then the step fails: neither survives."""
    user = await harness.user(8202)
    await to_email_code(harness, user)
    sent_before = len(await harness.outbox())

    from flows import registration

    original = registration.flow.steps["email_code"].check

    async def fail_after_resend(ctx, answer):
        await original(ctx, answer)
        raise RuntimeError("crash after the resend was written")

    monkeypatch.setattr(registration.flow.steps["email_code"], "check", fail_after_resend)
    replies = await user.press("Send a new code")
    assert "something went wrong" in replies[-1].text
    assert len(await harness.outbox()) == sent_before
    monkeypatch.undo()
    code = await harness.last_code("email", JORDAN["email"])
    replies = await user.send(code)
    assert "confirmed" in "\n".join(m.text for m in replies)


async def test_a_failed_write_in_a_group_spoils_only_its_own_step(harness, monkeypatch):
    """Steps of several chats share a transaction. When one step's write is refused by the
    database (here a duplicate key), that step is answered "try again" and left where it was,
    while the other step of the same group is saved."""
    import asyncio
    from datetime import timezone

    from bot.engine import TRY_AGAIN, _Pending
    from bot.storage.models import Conversation
    from flows import registration
    from flows.replies import Incoming

    h = harness
    first, second = await h.user(8301), await h.user(8302)
    for user in (first, second):
        await user.command("start")
        await user.press("Begin registration")
    await first.send("Jordan")
    assert await h.engine.where(8301) == ("registration", "last_name")
    assert await h.engine.where(8302) == ("registration", "first_name")

    original = registration.flow.steps["last_name"].check

    async def write_a_duplicate(ctx, answer):
        now = ctx.now().astimezone(timezone.utc)
        ctx.repo.session.add(Conversation(chat_id=8302, flow="home", state="welcome", created_at=now, updated_at=now))
        await ctx.repo.session.flush()
        return await original(ctx, answer)

    monkeypatch.setattr(registration.flow.steps["last_name"], "check", write_a_duplicate)
    loop = asyncio.get_running_loop()
    group = [
        _Pending(Incoming(chat_id=8301, kind="text", text="Rivera"), loop.create_future()),
        _Pending(Incoming(chat_id=8302, kind="text", text="Priya"), loop.create_future()),
    ]
    await h.engine.group.run_group(group)
    failed, saved = [await p.future for p in group]
    assert [getattr(a, "text", "") for a in failed] == [TRY_AGAIN]
    assert "last name" in " ".join(getattr(a, "text", "") for a in saved).lower()
    assert await h.engine.where(8301) == ("registration", "last_name")
    assert await h.engine.where(8302) == ("registration", "last_name")


async def test_a_failed_group_commit_answers_every_step_of_the_group(harness, monkeypatch):
    """When the group's commit fails, every step in it gets "try again", including a step that
    was waiting for its password to be hashed: none may be left waiting for an answer."""
    import asyncio

    from bot.engine import TRY_AGAIN, _Pending
    from bot.turn import TurnRunner
    from flows.replies import Incoming
    from tests.journeys import JORDAN, to_username

    h = harness
    hashing, other = await h.user(8401), await h.user(8402)
    await to_username(h, hashing)
    await hashing.send(JORDAN["username"])
    assert await h.engine.where(8401) == ("registration", "password")
    await other.command("start")
    await other.press("Begin registration")

    async def refuse(self, conn, writes, stored):
        raise OperationalError("UPDATE conversations", {}, Exception("disk I/O error"))

    async def refuse_batch(conn, *rows):
        raise OperationalError("WITH updated AS (UPDATE conversations ...)", {}, Exception("disk I/O error"))

    from bot.storage import pg_batch

    monkeypatch.setattr(TurnRunner, "write", refuse)
    monkeypatch.setattr(pg_batch, "write", refuse_batch)  # PostgreSQL writes a group in one statement
    loop = asyncio.get_running_loop()
    group = [
        _Pending(Incoming(chat_id=8401, kind="text", text=JORDAN["password"]), loop.create_future()),
        _Pending(Incoming(chat_id=8402, kind="text", text="Priya"), loop.create_future()),
    ]
    await h.engine.group.run_group(group)
    assert all(p.future.done() for p in group)
    for pending in group:
        assert [getattr(a, "text", "") for a in pending.future.result()] == [TRY_AGAIN]
    assert await h.engine.where(8401) == ("registration", "password")
    assert await h.engine.where(8402) == ("registration", "first_name")



@pytest.mark.parametrize("group_commit", [True, False])
async def test_the_apology_speaks_the_chats_language_not_the_apps(tmp_path, monkeypatch, group_commit):
    """A chat switched to Spanish with /language while its app stays in English: a failed step
    is apologised for in Spanish, with or without group commit."""
    from flows import registration
    from flows.notices import try_again
    from tests.conftest import make_harness, test_settings

    harness = await make_harness(test_settings(tmp_path, database={"group_commit": group_commit}))
    try:
        user = await harness.user(8203, language_code="en")
        await user.command("language es")
        await user.command("start")
        await user.press("Comenzar el registro")

        async def crash(ctx, answer):
            raise RuntimeError("the step fails")

        monkeypatch.setattr(registration.flow.steps["first_name"], "check", crash)
        replies = await user.send("Jordan")
        assert [m.text for m in replies] == [try_again("es")]
        assert try_again("es") != try_again("en")
    finally:
        await harness.close()

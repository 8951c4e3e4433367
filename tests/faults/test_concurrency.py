"""Two updates of one chat at once (a double tap, or two workers) advance the conversation once."""

from __future__ import annotations

import asyncio
import json

import pytest

from tests.conftest import make_harness
from tests.journeys import JORDAN, to_financial


@pytest.fixture
async def workers(settings):
    """Two engines (as two worker processes would be) on one database and one clock."""
    one = await make_harness(settings)
    two = await make_harness(settings, one.clock)
    yield one, two
    await two.close()
    await one.close()


async def test_double_tap_on_a_button_advances_once(harness):
    user = await harness.user(8001)
    await user.command("start")
    await user.press("Begin registration")
    await user.send("Jordan")
    await user.send("Rivera")
    await user.send(JORDAN["email"])
    await user.send(await harness.last_code("email", JORDAN["email"]))
    await user.send(JORDAN["ssn"])
    await user.send(JORDAN["dob"])
    single = next(m for m in reversed(user.history) if "Single" in m.labels)
    data = single.data_for("Single")
    await asyncio.gather(user.press_data(data), user.press_data(data))
    sent = {m.message_id: m.text for m in user.history}  # everything the bot sent, once each
    assert sum("earlier question" in t for t in sent.values()) == 1
    # advanced exactly one question: to the address kind, not past it
    assert await harness.engine.where(8001) == ("registration", "addr_where")


async def test_two_workers_receiving_the_same_tap(workers):
    """Two engines (as two worker processes would) on one database, the same tap to both."""
    one, two = workers
    user_one = await one.user(8002)
    await to_financial(one, user_one)
    button = next(m for m in reversed(user_one.history) if "Credit card" in m.labels)
    data = button.data_for("Credit card")
    user_two = await two.user(8002)
    await asyncio.gather(user_one.press_data(data), user_two.press_data(data))
    stale = [m for m in user_one.history + user_two.history if "earlier question" in m.text]
    assert len(stale) == 1  # one worker advanced, the other saw the tap as out of date
    assert await one.engine.where(8002) == ("registration", "card_network")


async def test_many_chats_at_once_stay_consistent(harness):
    """Twenty chats answering at once through one process all end where they should."""
    from tests.journeys import register, to_review

    # one demo identity exists, so nineteen chats walk to the review and one registers fully

    users = [await harness.user(8100 + i) for i in range(20)]
    await asyncio.gather(
        *(to_review(harness, u, {**JORDAN, "email": f"jordan{i}@example.com"}) for i, u in enumerate(users[:19]))
    )
    for u in users[:19]:
        assert "check these details" in u.last_text
    await register(harness, users[19])
    assert await harness.engine.where(8119) == ("home", "registered")


async def test_a_step_signing_out_another_chat_of_its_own_group_wins(harness, monkeypatch):
    """A group's conversations are read together at its start and written together at its end.
    When one step of the group signs out another chat of the same group (a password change),
    the other chat's step must not write back the signed-in state it read: the engine notices
    and runs that group again a step at a time."""
    from bot.group_commit import GroupCommit
    from tests.privacy_helpers import signed_in_on_two_chats

    h = harness
    phone, laptop = await signed_in_on_two_chats(h, 8101, 8102)
    await phone.command("profile")
    await phone.press("Change password")
    await phone.send(JORDAN["password"])

    # hold the phone's answer after its password is hashed, and put it in the same group as
    # the laptop's next update (the phone's step first)
    held: list = []
    hashed = asyncio.Event()
    real_submit = GroupCommit.submit

    def do_work(self, pending, need):
        async def work():
            pending.prepared[need.key] = await need.compute()
            held.append(pending)
            hashed.set()

        self._work.add(asyncio.create_task(work()))

    def submit(self, pending):
        if pending.incoming.chat_id == 8102 and held:
            real_submit(self, held.pop())
        real_submit(self, pending)

    monkeypatch.setattr(GroupCommit, "do_work", do_work)
    monkeypatch.setattr(GroupCommit, "submit", submit)
    changing = asyncio.create_task(phone.send("seven quiet orchards"))
    await hashed.wait()
    replies = await laptop.command("profile")
    changed = await changing

    assert "signed you out everywhere else (1 other chat)" in " ".join(m.text for m in changed)
    assert "Sign in first" in " ".join(m.text for m in replies)
    assert await h.engine.where(8102) == ("home", "registered")
    assert await h.engine.where(8101) == ("profile", "overview")


async def test_answers_alternating_between_two_workers_never_use_a_stale_state(workers):
    """Each worker remembers the states it committed; the other worker's newer one wins."""
    one, two = workers
    user_one = await one.user(8003)
    user_two = await two.user(8003)
    await user_one.command("start")
    await user_one.press("Begin registration")
    await user_one.send("Jordan")  # worker one remembers: at the last name
    await user_two.send("Rivera")  # worker two moves the chat on to the email
    assert await one.engine.where(8003) == ("registration", "email")
    await user_one.send(JORDAN["email"])  # worker one must read worker two's state
    assert "code" in user_one.last_text.lower()
    assert await two.engine.where(8003) == ("registration", "email_code")
    # and the answer worker two saved is still there
    assert "Rivera" in json.dumps(await _stored_state(two, 8003))


async def test_remembered_states_skip_decryption_and_stay_bounded(tmp_path, monkeypatch):
    from tests.conftest import test_settings

    harness = await make_harness(test_settings(tmp_path, database={"state_cache": 3}))
    try:
        users = [await harness.user(8200 + i) for i in range(5)]
        for user in users:
            await user.command("start")
        assert len(harness.engine.states) == 3  # the three most recent, not all five
        decrypted = []
        vault = harness.services.vault
        real = vault.decrypt
        monkeypatch.setattr(vault, "decrypt", lambda *a, **k: decrypted.append(a) or real(*a, **k))
        await users[-1].press("Begin registration")  # remembered: nothing to decrypt
        assert decrypted == []
        await users[0].press("Begin registration")  # forgotten: read from the database
        assert len(decrypted) == 1
        assert await harness.engine.where(8200) == ("registration", "first_name")
    finally:
        await harness.close()


async def _stored_state(harness, chat_id: int) -> dict:
    from sqlalchemy import select

    from bot.storage.models import Conversation

    async with harness.services.sessions() as session:
        data_enc = await session.scalar(select(Conversation.data_enc).where(Conversation.chat_id == chat_id))
    return harness.services.vault.decrypt(data_enc, context="conversation")


async def test_remembered_states_are_forgotten_after_their_minutes(tmp_path):
    """A worker doesn't keep someone's decrypted answers in memory once they've gone quiet."""
    from tests.conftest import test_settings

    harness = await make_harness(test_settings(tmp_path, database={"state_cache_minutes": 10}))
    try:
        user = await harness.user(8300)
        await user.command("start")
        await user.press("Begin registration")
        assert 8300 in harness.engine.states
        harness.clock.advance(minutes=9)
        await harness.engine.tick()
        assert 8300 in harness.engine.states
        harness.clock.advance(minutes=2)
        await harness.engine.tick()  # a running bot ticks every few seconds
        assert len(harness.engine.states) == 0
        await user.send("Jordan")  # and the conversation goes on from the database
        assert await harness.engine.where(8300) == ("registration", "last_name")
    finally:
        await harness.close()

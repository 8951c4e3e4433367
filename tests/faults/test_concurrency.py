"""Two updates of one chat at once (a double tap, or two workers) advance the conversation once."""

from __future__ import annotations

import asyncio

from tests.conftest import make_harness
from tests.journeys import JORDAN, to_financial


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


async def test_two_workers_receiving_the_same_tap(settings):
    """Two engines (as two worker processes would) on one database, the same tap to both."""
    one = await make_harness(settings)
    two = await make_harness(settings, one.clock)
    try:
        user_one = await one.user(8002)
        await to_financial(one, user_one)
        button = next(m for m in reversed(user_one.history) if "Credit card" in m.labels)
        data = button.data_for("Credit card")
        user_two = await two.user(8002)
        await asyncio.gather(user_one.press_data(data), user_two.press_data(data))
        stale = [m for m in user_one.history + user_two.history if "earlier question" in m.text]
        assert len(stale) == 1  # one worker advanced, the other saw the tap as out of date
        assert await one.engine.where(8002) == ("registration", "card_network")
    finally:
        await two.close()
        await one.close()


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

"""Attempt limits: counted per SSN and per destination, shown when few remain, lifted on time."""

from __future__ import annotations

from tests.journeys import JORDAN, register, to_email_code, to_financial, to_review


def joined(replies) -> str:
    return "\n".join(m.text for m in replies)


async def test_code_sends_are_limited_per_email_across_chats(harness):
    first = await harness.user(6001)
    await to_email_code(harness, first)
    for _ in range(4):
        await first.press("Send a new code")
    replies = await first.press("Send a new code")
    assert "most confirmation codes allowed" in joined(replies)

    second = await harness.user(6002)  # a new chat doesn't reset the count for this address
    await second.command("start")
    await second.press("Begin registration")
    await second.send("Jordan")
    await second.send("Rivera")
    replies = await second.send(JORDAN["email"])
    assert "most confirmation codes allowed" in joined(replies)
    assert await harness.engine.where(6002) == ("registration", "email")

    harness.clock.advance(minutes=61)
    replies = await second.send(JORDAN["email"])
    assert "I've emailed a confirmation code" in joined(replies)


async def test_identity_lockout_shows_time_and_lifts(harness):
    wrong = {**JORDAN, "zip": "62799"}
    user = await harness.user(6003)
    await to_review(harness, user, wrong)
    seen = []
    for _ in range(5):
        seen.append(joined(await user.press("Everything matches – check it")))
    assert "3 tries left" in seen[1] and "1 try left" in seen[3]
    assert "tries left" not in seen[0]
    replies = await user.press("Everything matches – check it")
    text = joined(replies)
    assert "paused until" in text and ("CST" in text or "CDT" in text)  # Springfield, IL time
    harness.clock.advance(hours=6, minutes=1)
    replies = await user.press("Change address")
    await user.press("A U.S. address")
    for answer in ("1234 Elm St", "Apt 5B", "Springfield", "IL", "62704"):
        await user.send(answer)
    replies = await user.press("Everything matches – check it")
    assert "match the records" in joined(replies)


async def test_identity_limit_follows_the_ssn_into_a_new_chat(harness):
    wrong = {**JORDAN, "zip": "62799"}
    user = await harness.user(6004)
    await to_review(harness, user, wrong)
    for _ in range(5):
        await user.press("Everything matches – check it")
    other = await harness.user(6005)
    await to_review(harness, other, JORDAN)
    replies = await other.press("Everything matches – check it")
    assert "paused until" in joined(replies)


async def test_financial_lockout(harness):
    user = await harness.user(6006)
    await to_financial(harness, user)
    await user.press("Home mortgage loan")
    for _ in range(5):
        replies = await user.send("11112222")
    assert "don't match" in joined(replies)
    replies = await user.send("98765432")
    assert "paused until" in joined(replies)
    harness.clock.advance(hours=6, minutes=1)
    replies = await user.send("98765432")
    assert "checks out" in joined(replies)


async def test_sign_in_lockout_and_expiry(harness):
    user = await harness.user(6007)
    await register(harness, user)
    await user.command("login")
    await user.send(JORDAN["username"])
    for i in range(10):
        replies = await user.send(f"wrong password {i}")
    assert "1 try left" not in joined(replies)
    replies = await user.send(JORDAN["password"])
    assert "paused until" in joined(replies)
    harness.clock.advance(minutes=11)
    await user.send(JORDAN["password"])
    assert "security code" in user.last_text

"""Two people finishing at the same time: what was free when chosen is taken at the last step."""

from __future__ import annotations

from tests.test_conv_support import (
    CASEY,
    JORDAN_FULL,
    PRIYA,
    asks,
    finish,
    import_casey,
    joined,
    walk_to,
    where,
)

SORRY = "something went wrong"


async def test_username_taken_at_the_last_moment_asks_for_another(harness):
    jordan = await harness.user(2101)
    priya = await harness.user(2102)
    await walk_to(harness, jordan, "site_image", {**JORDAN_FULL, "username": "shared.name"})
    await walk_to(harness, priya, "site_image", {**PRIYA, "username": "shared.name"})
    assert "You're registered" in joined(await jordan.press(JORDAN_FULL["image"]))

    replies = await priya.press(PRIYA["image"])
    text = joined(replies)
    assert "Someone took that username a moment ago" in text
    assert "You're registered" not in text and SORRY not in text
    assert asks(replies, "username")
    assert await where(harness, priya) == ("registration", "username")

    # the taken name is still refused, another one goes through to the end
    assert "already taken" in joined(await priya.send("shared.name"))
    await priya.send("priya.n")
    replies = await finish(harness, priya, {**PRIYA, "username": "priya.n"})
    assert "Username: priya.n" in joined(replies)


async def test_phone_taken_at_the_last_moment_is_explained(harness, tmp_path):
    await import_casey(harness, tmp_path)  # Casey's record lists Jordan's number too
    jordan = await harness.user(2105)
    casey = await harness.user(2106)
    await walk_to(harness, jordan, "site_image")
    await walk_to(harness, casey, "site_image", CASEY)
    assert "You're registered" in joined(await jordan.press(JORDAN_FULL["image"]))

    replies = await casey.press(CASEY["image"])
    text = joined(replies)
    assert SORRY not in text
    assert "You're registered" not in text
    assert "only one user" in text
    assert asks(replies, "phone")
    assert await where(harness, casey) == ("registration", "phone")


async def test_same_person_finishing_twice_is_sent_to_sign_in(harness):
    first = await harness.user(2107)
    second = await harness.user(2108)
    await walk_to(harness, first, "site_image")
    await walk_to(harness, second, "site_image", {**JORDAN_FULL, "username": "jordan.two"})
    assert "You're registered" in joined(await first.press(JORDAN_FULL["image"]))

    replies = await second.press(JORDAN_FULL["image"])
    text = joined(replies)
    assert SORRY not in text
    assert "You already have a Secure Access account" in text
    assert (await where(harness, second))[0] == "home"
    # and no second account: jordan.two can't sign in
    await second.command("login")
    await second.send("jordan.two")
    assert "don't go together" in joined(await second.send(JORDAN_FULL["password"]))

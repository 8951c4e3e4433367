"""The mobile phone: in the person's name, one user per phone, the texted activation code."""

from __future__ import annotations

from tests.test_conv_support import (
    SQLITE_ONLY,
    CASEY,
    CASEY_YAML,
    JORDAN_FULL,
    JORDAN_PHONE,
    LEE,
    asks,
    import_casey,
    joined,
    register_fully,
    walk_to,
    where,
)

pytestmark = SQLITE_ONLY


def wrong_code(right: str) -> str:
    return "000000" if right != "000000" else "111111"


async def test_number_not_in_the_name_explains_the_mail_path(harness):
    user = await harness.user(1501)
    await walk_to(harness, user, "phone")

    replies = await user.send("(217) 555-0199")
    text = joined(replies)
    assert "isn't listed in your name" in text
    assert "activation code by mail" in text
    assert await where(harness, user) == ("registration", "no_phone")
    assert "Try another number" in user.last_buttons
    # no code went out to a number that isn't theirs
    assert not [m for m in await harness.outbox() if m.channel == "sms"]

    replies = await user.press("Try another number")
    assert asks(replies, "phone")
    assert "isn't listed in your name" not in joined(replies)
    replies = await user.send(JORDAN_FULL["phone"])
    assert "I've texted a six-digit activation code" in joined(replies)
    assert asks(replies, "phone_code")


async def test_lee_without_a_phone_in_their_name(harness):
    user = await harness.user(1502)
    await walk_to(harness, user, "phone", LEE)

    replies = await user.send(LEE["phone"])  # a business phone, not in Lee's name
    assert "isn't listed in your name" in joined(replies)
    assert await where(harness, user) == ("registration", "no_phone")

    await user.press("Try another number")
    replies = await user.press("I don't have a mobile phone in my name")
    text = joined(replies)
    assert "activation code by mail" in text
    assert "isn't listed in your name" not in text  # they didn't type a number this time
    assert await where(harness, user) == ("registration", "no_phone")


async def test_phone_already_used_by_another_user_is_refused(harness, tmp_path):
    jordan = await harness.user(1503)
    await register_fully(harness, jordan)
    await import_casey(harness, tmp_path)  # the records also list Jordan's number under Casey

    casey = await harness.user(1504)
    await walk_to(harness, casey, "phone", CASEY)
    sms_before = len([m for m in await harness.outbox() if m.channel == "sms"])
    replies = await casey.send(JORDAN_FULL["phone"])
    text = joined(replies)
    assert "already linked to another person's account" in text
    assert "only one user" in text
    assert asks(replies, "phone")
    assert await where(harness, casey) == ("registration", "phone")
    assert len([m for m in await harness.outbox() if m.channel == "sms"]) == sms_before


async def test_same_number_is_fine_while_nobody_registered_it(harness, tmp_path):
    await import_casey(harness, tmp_path)
    casey = await harness.user(1505)
    await walk_to(harness, casey, "phone", CASEY)
    replies = await casey.send(CASEY["phone"])
    assert asks(replies, "phone_code")


async def test_line_that_cannot_receive_texts(harness, tmp_path):
    path = tmp_path / "casey_landline.yaml"
    path.write_text(CASEY_YAML.replace("text_enabled: true", "text_enabled: false"), encoding="utf-8")
    await harness.import_records(path)
    casey = await harness.user(1506)
    await walk_to(harness, casey, "phone", CASEY)
    replies = await casey.send(CASEY["phone"])
    assert "can't receive text messages" in joined(replies)
    assert asks(replies, "phone")
    assert await where(harness, casey) == ("registration", "phone")


async def test_wrong_activation_code(harness):
    user = await harness.user(1507)
    await walk_to(harness, user, "phone_code")
    code = await harness.last_code("sms", JORDAN_PHONE)

    replies = await user.send(wrong_code(code))
    assert "That activation code isn't right" in joined(replies)
    assert asks(replies, "phone_code")
    assert await where(harness, user) == ("registration", "phone_code")

    replies = await user.press("Use a different number")
    assert asks(replies, "phone")
    assert await where(harness, user) == ("registration", "phone")
    await user.send(JORDAN_FULL["phone"])
    replies = await user.send(await harness.last_code("sms", JORDAN_PHONE))
    assert "Your phone is confirmed." in joined(replies)
    assert asks(replies, "username")


async def test_expired_activation_code_and_a_new_one(harness):
    user = await harness.user(1508)
    await walk_to(harness, user, "phone_code")
    old = await harness.last_code("sms", JORDAN_PHONE)

    harness.clock.advance(minutes=11)
    replies = await user.send(old)
    assert "That activation code has expired" in joined(replies)
    assert asks(replies, "phone_code")
    assert await where(harness, user) == ("registration", "phone_code")

    replies = await user.press("Send a new code")
    assert "I've texted a six-digit activation code" in joined(replies)
    replies = await user.send(await harness.last_code("sms", JORDAN_PHONE))
    assert "Your phone is confirmed." in joined(replies)
    assert await where(harness, user) == ("registration", "username")



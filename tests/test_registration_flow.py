"""The whole first-time registration, driven through the Telegram adapter as a person would."""

from __future__ import annotations

from tests.journeys import JORDAN, register, to_email_code


async def test_full_registration_then_login(harness):
    user = await harness.user(1001)
    replies = await user.command("start")
    assert "Social Security number" in replies[-1].text
    assert "American Express" in replies[-1].text
    assert "Begin registration" in user.last_buttons

    final = await register(harness, user)
    text = "\n".join(m.text for m in final)
    assert "You're registered" in text
    assert "jrivera85" in text
    assert "Confirmation code" in text and "Activation code" in text and "Security code" in text
    assert await harness.engine.where(1001) == ("home", "registered")

    await user.command("login")
    await user.send("jrivera85")
    replies = await user.send(JORDAN["password"])
    assert any("blue heron at dawn" in m.text for m in replies)
    code = await harness.last_code("sms", "+12175550123")
    replies = await user.send(code)
    assert "signed in as jrivera85" in replies[-1].text


async def test_email_code_wrong_then_right(harness):
    user = await harness.user(1002)
    await to_email_code(harness, user)
    code = await harness.last_code("email", JORDAN["email"])
    wrong = "000000" if code != "000000" else "111111"
    replies = await user.send(wrong)
    assert "isn't right" in "\n".join(m.text for m in replies)
    replies = await user.send(code)
    assert "confirmed" in "\n".join(m.text for m in replies)
    assert "Social Security number" in user.last_text

"""The Telegram adapter against the offline Bot API (sabot_testing.telegram), with a tiny engine."""

from __future__ import annotations

import asyncio
import logging

import pytest
import pytest_asyncio
from telegram import Update

from bot.telegram_adapter import (
    APOLOGY_TEXT,
    MAX_MESSAGE_LENGTH,
    PRIVATE_ONLY_TEXT,
    RetryPolicy,
    build_application,
    parse_command,
    split_text,
)
from sabot_testing.telegram import FAKE_TOKEN, FakeBotAPI, TelegramTestClient
from flows.replies import Button, DeleteUserMessage, Incoming, Notify, Photo, Reply

ADMIN_CHAT = 2002
SECRET = "123-45-6789"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


class FakeEngine:
    """Echoes what it got; a few magic texts trigger the other actions."""

    def __init__(self) -> None:
        self.seen: list[Incoming] = []

    async def handle(self, incoming: Incoming):
        self.seen.append(incoming)
        if incoming.kind == "command":
            return [Reply(f"command:{incoming.command}:{incoming.text}")]
        if incoming.kind == "button":
            return [Reply(f"button:{incoming.data}:{incoming.text}")]
        if incoming.kind == "other":
            return [Reply(f"other:{incoming.other}")]
        text = incoming.text
        if text == "boom":
            raise RuntimeError(f"engine exploded on {SECRET}")
        if text.isdigit():
            return [DeleteUserMessage(), Reply("deleted it")]
        if text == "delete old":
            return [DeleteUserMessage(message_id=987654), Reply("still here")]
        if text == "menu":
            return [
                Reply(
                    "Pick one",
                    buttons=((Button("Yes", "y"), Button("No", "n")), (Button("Back", "back"),)),
                )
            ]
        if text == "secret":
            return [Reply("key: JBSWY3DPEHPK3PXP", protect=True)]
        if text == "long":
            return [Reply("line of text\n" * 1000, buttons=((Button("OK", "ok"),),))]
        if text == "qr":
            return [Photo(PNG, caption="scan me", filename="qr.png", protect=True)]
        if text == "notify":
            return [Notify(ADMIN_CHAT, "a hire finished"), Reply("done")]
        return [Reply(f"text:{text}")]


class Sleeps(list):
    async def __call__(self, delay: float) -> None:
        self.append(delay)


@pytest.fixture
def engine() -> FakeEngine:
    return FakeEngine()


@pytest.fixture
def api() -> FakeBotAPI:
    return FakeBotAPI()


@pytest.fixture
def sleeps() -> Sleeps:
    return Sleeps()


@pytest.fixture
def app(engine, api, sleeps):
    return build_application(
        token=FAKE_TOKEN, engine=engine, request=api, retry_policy=RetryPolicy(sleep=sleeps)
    )


@pytest_asyncio.fixture
async def client(app):
    async with TelegramTestClient(app, chat_id=1001) as c:
        yield c


# --- pure helpers -------------------------------------------------------------------------------


def test_parse_command():
    assert parse_command("/start TOKEN") == ("start", "TOKEN")
    assert parse_command("/Start@sabot_test_bot   a b  ") == ("start", "a b")
    assert parse_command("/help") == ("help", "")
    assert parse_command("/help\nmore") == ("help", "more")
    assert parse_command("hello") is None
    assert parse_command("/") is None


def test_split_text():
    assert split_text("short") == ["short"]
    text = "word " * 2000
    chunks = split_text(text)
    assert len(chunks) == 3
    assert all(len(c) <= MAX_MESSAGE_LENGTH for c in chunks)
    assert " ".join(chunks).split() == text.split()
    # no whitespace at all: hard cut; astral characters count as two UTF-16 units
    assert [len(c) for c in split_text("x" * 5000)] == [4096, 904]
    emoji = split_text("😀" * 3000)
    assert all(len(c.encode("utf-16-le")) // 2 <= MAX_MESSAGE_LENGTH for c in emoji)
    assert "".join(emoji) == "😀" * 3000


# --- conversion ------------------------------------------------------------------------------------


@pytest.mark.asyncio
async def test_text_message(client, engine):
    replies = await client.send("hello there")
    assert [m.text for m in replies] == ["text:hello there"]
    seen = engine.seen[-1]
    assert seen.kind == "text" and seen.text == "hello there"
    assert seen.chat_id == 1001 and seen.user_id == 1001 and seen.username == "test_user"
    assert seen.message_id == client.user_message_ids[-1]
    assert client.last_text == "text:hello there"


@pytest.mark.asyncio
async def test_command_with_botname_and_args(client, engine):
    replies = await client.command("Start@sabot_test_bot", "TOKEN-123 ")
    assert [m.text for m in replies] == ["command:start:TOKEN-123"]
    seen = engine.seen[-1]
    assert (seen.kind, seen.command, seen.text) == ("command", "start", "TOKEN-123")
    await client.command("help")
    assert (engine.seen[-1].command, engine.seen[-1].text) == ("help", "")


@pytest.mark.asyncio
async def test_button_press_resolves_label(client, engine, api):
    [menu] = await client.send("menu")
    assert menu.buttons == [["Yes", "No"], ["Back"]]
    assert menu.button_data == [["y", "n"], ["back"]]
    assert client.last_buttons == ["Yes", "No", "Back"]

    replies = await client.press("No")
    assert [m.text for m in replies] == ["button:n:No"]
    seen = engine.seen[-1]
    assert (seen.kind, seen.data, seen.text, seen.message_id) == ("button", "n", "No",
                                                                  menu.message_id)
    assert len(api.calls_to("answerCallbackQuery")) == 1


@pytest.mark.asyncio
async def test_press_unknown_label_lists_offered_buttons(client):
    await client.send("menu")
    with pytest.raises(AssertionError, match=r"Maybe.*\['Yes', 'No', 'Back'\]"):
        await client.press("Maybe")


@pytest.mark.asyncio
async def test_press_without_keyboard_fails_clearly(client):
    await client.send("hi")
    with pytest.raises(AssertionError, match="no bot message with buttons"):
        await client.press("Yes")


@pytest.mark.asyncio
async def test_forged_callback_data_reaches_engine(client, engine, api):
    await client.send("menu")
    replies = await client.press_data("admin:delete-all")
    assert [m.text for m in replies] == ["button:admin:delete-all:"]
    seen = engine.seen[-1]
    assert seen.kind == "button" and seen.data == "admin:delete-all" and seen.text == ""
    # a callback for a message the bot never sent
    await client.press_data("replayed", message_id=424242)
    assert engine.seen[-1].message_id == 424242
    assert len(api.calls_to("answerCallbackQuery")) == 2


@pytest.mark.asyncio
async def test_callback_answer_failure_is_ignored(client, api):
    await client.send("menu")
    api.fail_next("answerCallbackQuery", 400, description="Bad Request: query is too old")
    replies = await client.press("Yes")
    assert [m.text for m in replies] == ["button:y:Yes"]


@pytest.mark.asyncio
async def test_user_message_deleted(client):
    replies = await client.send("123456789")
    assert [m.text for m in replies] == ["deleted it"]
    assert client.deleted == {client.user_message_ids[-1]}


@pytest.mark.asyncio
async def test_deletion_error_is_tolerated(client, api):
    replies = await client.send("delete old")
    assert [m.text for m in replies] == ["still here"]
    [call] = api.calls_to("deleteMessage")
    assert not call["ok"] and "not found" in call["error"]
    assert client.deleted == set()

    api.fail_next("deleteMessage", 403, description="Forbidden: not enough rights")
    replies = await client.send("42")
    assert [m.text for m in replies] == ["deleted it"]


@pytest.mark.asyncio
async def test_non_text_messages_are_other(client, engine):
    assert [m.text for m in await client.send_photo(caption=SECRET)] == ["other:photo"]
    assert [m.text for m in await client.send_sticker()] == ["other:sticker"]
    voice = {"voice": {"file_id": "v1", "file_unique_id": "uv1", "duration": 3}}
    assert [m.text for m in await client.send_raw(voice)] == ["other:voice"]
    location = {"location": {"latitude": 38.9, "longitude": -77.0}}
    assert [m.text for m in await client.send_raw(location)] == ["other:location"]
    assert engine.seen[0].text == SECRET  # passed on only so the engine can delete the message


@pytest.mark.asyncio
async def test_edited_message_is_other(client, engine):
    await client.send("my password is hunter2")
    edited_id = client.user_message_ids[-1]
    replies = await client.edit_last("my password is hunter3")
    assert [m.text for m in replies] == ["other:edited"]
    seen = engine.seen[-1]
    assert (seen.kind, seen.other, seen.message_id, seen.text) == ("other", "edited", edited_id, "my password is hunter3")


@pytest.mark.asyncio
async def test_other_update_types_are_ignored(app, client, engine, api):
    n_calls = len(api.calls)
    channel_post = {
        "update_id": 9001,
        "channel_post": {
            "message_id": 1,
            "date": 0,
            "chat": {"id": -100123, "type": "channel", "title": "news"},
            "text": "hi",
        },
    }
    await app.process_update(Update.de_json(channel_post, app.bot))
    assert engine.seen == [] and len(api.calls) == n_calls


# --- rendering ----------------------------------------------------------------------------------


@pytest.mark.asyncio
async def test_plain_text_no_parse_mode(client, api):
    await client.send("<b>*not markup*</b>")
    params = api.calls_to("sendMessage")[-1]["params"]
    assert "parse_mode" not in params
    assert params["text"] == "text:<b>*not markup*</b>"


@pytest.mark.asyncio
async def test_protect_content_passed_through(client, api):
    [message] = await client.send("secret")
    assert message.protect_content
    assert api.calls_to("sendMessage")[-1]["params"]["protect_content"] is True
    [plain] = await client.send("hello")
    assert not plain.protect_content


@pytest.mark.asyncio
async def test_long_text_is_split(client, api):
    replies = await client.send("long")
    assert len(replies) == 4
    assert all(len(m.text) <= MAX_MESSAGE_LENGTH for m in replies)
    assert "\n".join(m.text for m in replies).strip().split("\n") == ["line of text"] * 1000
    # the keyboard goes on the last part only
    assert [m.buttons for m in replies] == [[], [], [], [["OK"]]]


@pytest.mark.asyncio
async def test_photo(client, api):
    [photo] = await client.send("qr")
    assert photo.photo and photo.text == "scan me" and photo.protect_content
    params = api.calls_to("sendPhoto")[-1]["params"]
    assert params["photo"]["filename"] == "qr.png"
    assert params["photo"]["content"] == PNG
    assert params["caption"] == "scan me"


# --- robustness ---------------------------------------------------------------------------------


@pytest.mark.filterwarnings("ignore::telegram.warnings.PTBDeprecationWarning")
@pytest.mark.asyncio
async def test_flood_control_retry_after_then_success(client, api, sleeps):
    api.fail_next("sendMessage", 429, retry_after=3)
    replies = await client.send("hi")
    assert [m.text for m in replies] == ["text:hi"]
    assert sleeps == [3]
    assert [c["ok"] for c in api.calls_to("sendMessage")] == [False, True]


@pytest.mark.filterwarnings("ignore::telegram.warnings.PTBDeprecationWarning")
@pytest.mark.asyncio
async def test_retry_after_is_capped(client, api, sleeps):
    api.fail_next("sendMessage", 429, retry_after=3600)
    await client.send("hi")
    assert sleeps == [30.0]


@pytest.mark.asyncio
async def test_server_error_then_success(client, api, sleeps):
    api.fail_next("sendMessage", 500)
    replies = await client.send("hi")
    assert [m.text for m in replies] == ["text:hi"]
    assert sleeps == [0.5]


@pytest.mark.asyncio
async def test_timeouts_back_off_exponentially(client, api, sleeps):
    api.fail_next("sendMessage", "timeout", times=2)
    api.fail_next("sendMessage", "network")  # queued after the two timeouts
    replies = await client.send("hi")
    assert [m.text for m in replies] == ["text:hi"]
    assert sleeps == [0.5, 1.0, 2.0]


@pytest.mark.asyncio
async def test_persistent_failure_gives_up_without_crashing(client, api, sleeps, engine):
    api.fail_next("sendMessage", 500, times=10)
    assert await client.send("hi") == []
    assert len(api.calls_to("sendMessage")) == 4  # one try + three retries
    assert sleeps == [0.5, 1.0, 2.0]
    api.clear_faults()
    assert [m.text for m in await client.send("again")] == ["text:again"]


@pytest.mark.asyncio
async def test_bad_request_is_not_retried(client, api, sleeps):
    api.fail_next("sendMessage", 400, description="Bad Request: chat not found")
    assert await client.send("hi") == []
    assert sleeps == [] and len(api.calls_to("sendMessage")) == 1


@pytest.mark.asyncio
async def test_engine_exception_sends_apology_and_logs_no_user_data(client, caplog):
    caplog.set_level(logging.DEBUG)
    replies = await client.send("boom")
    assert [m.text for m in replies] == [APOLOGY_TEXT]
    assert "RuntimeError" in caplog.text
    assert SECRET not in caplog.text and "boom" not in caplog.text


@pytest.mark.asyncio
async def test_logs_never_contain_texts(client, caplog):
    caplog.set_level(logging.DEBUG)
    await client.send(f"my ssn is {SECRET}")
    await client.send("menu")
    await client.press("Yes")
    await client.send("9876")
    assert SECRET not in caplog.text and "ssn" not in caplog.text
    assert "Pick one" not in caplog.text


@pytest.mark.asyncio
async def test_group_chat_is_refused_once(app, engine, api):
    async with TelegramTestClient(app, chat_id=-5001, user_id=77, chat_type="group") as group:
        first = await group.send("hello")
        assert [m.text for m in first] == [PRIVATE_ONLY_TEXT]
        assert await group.command("start") == []
        assert await group.send("anyone?") == []
    assert engine.seen == []


@pytest.mark.asyncio
async def test_notify_other_chat(app, engine, api):
    async with TelegramTestClient(app, chat_id=1001) as user, TelegramTestClient(
        app, chat_id=ADMIN_CHAT, username="admin"
    ) as admin:
        replies = await user.send("notify")
        assert [m.text for m in replies] == ["done"]  # only this chat's messages
        assert [m.text for m in admin.history] == ["a hire finished"]
        assert admin.last_text == "a hire finished"


@pytest.mark.asyncio
async def test_notify_to_blocked_chat_is_skipped(client, api):
    api.blocked_chats.add(ADMIN_CHAT)
    replies = await client.send("notify")
    assert [m.text for m in replies] == ["done"]
    [failed] = [c for c in api.calls_to("sendMessage") if c["params"]["chat_id"] == ADMIN_CHAT]
    assert not failed["ok"] and "blocked" in failed["error"]


@pytest.mark.asyncio
async def test_many_users_share_one_application(app, engine):
    clients = [TelegramTestClient(app, chat_id=3000 + i) for i in range(3)]
    for c in clients:
        await c.start()
    try:
        for i, c in enumerate(clients):
            assert [m.text for m in await c.send(f"hi {i}")] == [f"text:hi {i}"]
        assert {s.chat_id for s in engine.seen} == {3000, 3001, 3002}
    finally:
        for c in clients:
            await c.stop()
    assert not app._initialized  # noqa: SLF001 - shut down by the last client


@pytest.mark.asyncio
async def test_base_url_and_get_me(engine, api):
    app = build_application(
        token=FAKE_TOKEN, engine=engine, request=api, base_url="http://127.0.0.1:8081/bot"
    )
    async with TelegramTestClient(app):
        assert app.bot.username == "sabot_test_bot"
    [get_me] = api.calls_to("getMe")
    assert get_me["ok"]
    assert app.bot.base_url.startswith("http://127.0.0.1:8081/bot")


@pytest.mark.asyncio
async def test_updates_of_one_chat_are_serialised(api):
    class SlowEngine:
        def __init__(self) -> None:
            self.active = 0
            self.max_active = 0

        async def handle(self, incoming: Incoming):
            self.active += 1
            self.max_active = max(self.max_active, self.active)
            await asyncio.sleep(0.01)
            self.active -= 1
            return [Reply(f"ok {incoming.text}")]

    slow = SlowEngine()
    app = build_application(token=FAKE_TOKEN, engine=slow, request=api)
    async with TelegramTestClient(app, chat_id=1001) as a, TelegramTestClient(
        app, chat_id=1002
    ) as b:
        await asyncio.gather(a.send("1"), a.send("2"), a.send("3"))
        assert slow.max_active == 1
        assert [m.text for m in a.history] == ["ok 1", "ok 2", "ok 3"]
        slow.max_active = 0
        await asyncio.gather(a.send("x"), b.send("y"))
        assert slow.max_active == 2  # different chats run concurrently


def test_a_note_and_the_question_after_it_go_as_one_message():
    from bot.telegram_adapter import fold_replies

    ask = Reply("Pick one", (((Button("A", "s:a")),),))
    folded = fold_replies([DeleteUserMessage(7), Reply("(I deleted your message.)"), Reply("Confirmed."), ask])
    assert folded == [DeleteUserMessage(7), Reply("(I deleted your message.)\n\nConfirmed.\n\nPick one", ask.buttons)]


def test_replies_stay_apart_after_buttons_across_protection_and_past_the_length_limit():
    from bot.telegram_adapter import fold_replies

    with_buttons = Reply("Choose", (((Button("A", "s:a")),),))
    assert fold_replies([with_buttons, Reply("Next")]) == [with_buttons, Reply("Next")]
    secret = Reply("Your phrase: blue heron", protect=True)
    assert fold_replies([secret, Reply("Now the code")]) == [secret, Reply("Now the code")]
    assert fold_replies([Reply("x" * 3000), Reply("y" * 2000)]) == [Reply("x" * 3000), Reply("y" * 2000)]
    assert fold_replies([Reply("a", protect=True), Reply("b", protect=True)]) == [Reply("a\n\nb", protect=True)]


async def test_the_application_keeps_no_id_of_chats_it_has_served(harness):
    """Without a PTB persistence nothing would ever empty PTB's sets of chat and user ids: the
    bot must not grow by one entry per person for as long as it runs."""
    for chat in (9101, 9102, 9103):
        user = await harness.user(chat)
        await user.command("start")
    assert not harness.app._chat_ids_to_be_updated_in_persistence
    assert not harness.app._user_ids_to_be_updated_in_persistence

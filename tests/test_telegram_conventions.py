"""Telegram conventions: the command menus set at start (the person's for everyone, the admin's in
each firm admin's chat), only the updates the bot handles asked for, and the sending limits kept by
the rate limiter in `sabot run`. Against the offline Bot API (sabot_testing.telegram) and, for the
start of `sabot run` in both modes, the loopback Bot API server."""

from __future__ import annotations

import asyncio
import json
import re
import subprocess
import time
from pathlib import Path

from telegram import Update
from telegram.ext import AIORateLimiter

from bot import serve
from bot.engine import Engine
from bot.firms import create_firm
from bot.services import build_services
from bot.storage.db import transaction
from bot.telegram_adapter import (
    ADMIN_MENU,
    ALLOWED_UPDATES,
    PERSON_MENU,
    RetryPolicy,
    build_application,
    set_command_menus,
)
from flows import admin
from flows.commands import COMMANDS_BY_NAME
from flows.replies import Incoming, Notify, Reply
from sabot_testing.telegram import FAKE_TOKEN, FakeBotAPI, TelegramTestClient, _APIError
from tests.conftest import test_settings as settings_in
from tests.test_sabot_run_loopback import Bot, _sabot, bot_env, start_api
from tests.test_webhook import SECRET, base_env, free_port, start_bot, stop, wait_listening

ADMIN_A, ADMIN_B = 5001, 6003


async def _no_sleep(_seconds: float) -> None:
    return None


def _menu(menu) -> list[dict]:
    return [{"command": name, "description": text} for name, text in menu]


def _as_data(value):
    """A parameter as the Bot API receives it (PTB sends nested objects as JSON text)."""
    return json.loads(value) if isinstance(value, str) else value


def _menus_set(calls, language: str | None = None) -> dict:
    """scope (as a JSON string, for a dict key) -> the commands set for it in ``language`` (None:
    the default menu, in English)."""
    return {json.dumps(_as_data(c["params"].get("scope")), sort_keys=True): _as_data(c["params"]["commands"])
            for c in calls if c["params"].get("language_code") == language}


def _scope(**scope) -> str:
    return json.dumps(scope, sort_keys=True)


class EchoEngine:
    async def handle(self, incoming: Incoming):
        return [Reply(f"got {incoming.kind}")]


# -- the menus -------------------------------------------------------------------------------------


def test_every_menu_command_is_one_the_bot_answers_and_telegram_accepts():
    for name, description in PERSON_MENU + ADMIN_MENU:
        assert name in COMMANDS_BY_NAME, f"/{name} is in a menu but no row of the commands table answers it"
        assert re.fullmatch(r"[a-z0-9_]{1,32}", name)
        assert 1 <= len(description) <= 256
    assert {name for name, _ in ADMIN_MENU} <= set(admin.COMMANDS)
    names = [name for name, _ in PERSON_MENU + ADMIN_MENU]
    assert len(names) == len(set(names)) <= 100
    # what a person needs on every screen is in the menu everyone sees
    assert {"start", "help", "status", "back", "cancel", "login", "privacy", "delete_my_data"} <= {n for n, _ in PERSON_MENU}


async def test_menus_go_to_everyone_and_to_each_admin_chat():
    api = FakeBotAPI()
    app = build_application(token=FAKE_TOKEN, engine=EchoEngine(), request=api)
    async with app:
        await set_command_menus(app.bot, [ADMIN_A, ADMIN_B], policy=RetryPolicy(sleep=_no_sleep))
    calls = api.calls_to("setMyCommands")
    assert len(calls) == 6  # each menu in English (the default) and in Spanish
    menus = _menus_set(calls)
    assert menus[_scope(type="default")] == _menu(PERSON_MENU)
    for chat in (ADMIN_A, ADMIN_B):
        # a chat's own menu replaces the default one there: the admin's holds the person's too
        assert menus[_scope(type="chat", chat_id=chat)] == _menu(PERSON_MENU + ADMIN_MENU)
    spanish = _menus_set(calls, "es")
    assert set(spanish) == set(menus)
    assert [c["command"] for c in spanish[_scope(type="default")]] == [
        "idioma" if name == "language" else name for name, _text in PERSON_MENU
    ]


async def test_a_chat_telegram_refuses_doesnt_stop_the_other_menus():
    class RefusesOneChat(FakeBotAPI):
        def _api_setmycommands(self, params):
            if (_as_data(params.get("scope")) or {}).get("chat_id") == ADMIN_A:
                raise _APIError(400, "Bad Request: chat not found")
            return True

    api = RefusesOneChat()
    app = build_application(token=FAKE_TOKEN, engine=EchoEngine(), request=api)
    async with app:
        api.fail_next("setMyCommands", 429, retry_after=1)  # flood control on the first call: retried
        await set_command_menus(app.bot, [ADMIN_A, ADMIN_B], policy=RetryPolicy(sleep=_no_sleep))
        # English and Spanish for everyone, then ADMIN_A refused (its Spanish menu not tried), ADMIN_B's two
        assert [c["ok"] for c in api.calls_to("setMyCommands")] == [False, True, True, False, True, True]
        api.calls.clear()
        api.fail_next("setMyCommands", 400)  # the menu everyone sees is refused: nothing more is tried
        await set_command_menus(app.bot, [ADMIN_A, ADMIN_B], policy=RetryPolicy(sleep=_no_sleep))
        assert len(api.calls_to("setMyCommands")) == 1


async def test_the_admin_chats_come_from_the_firms(tmp_path):
    settings = settings_in(tmp_path)
    services = await build_services(settings)
    engine = Engine(services)
    try:
        firm = await create_firm(services, "Acme Tax", ADMIN_A)
        await create_firm(services, "Bayside Books", 7007)
        async with transaction(services.sessions) as session:
            await services.firms(session).add_admin(firm.id, ADMIN_B, added_by=ADMIN_A)
        api = FakeBotAPI()
        app = build_application(token=FAKE_TOKEN, engine=engine, request=api, retry_policy=RetryPolicy(sleep=_no_sleep))
        app.bot_data["services"] = services
        async with app:
            await serve.show_menus(app)
        menus = _menus_set(api.calls_to("setMyCommands"))
        assert set(menus) == {_scope(type="default")} | {_scope(type="chat", chat_id=c) for c in (ADMIN_A, ADMIN_B, 7007)}
        assert menus[_scope(type="chat", chat_id=7007)] == _menu(PERSON_MENU + ADMIN_MENU)
    finally:
        await engine.close()
        await services.close()


# -- the updates asked for -------------------------------------------------------------------------


def test_the_updates_asked_for_are_those_the_handler_reads():
    assert set(ALLOWED_UPDATES) == {Update.MESSAGE, Update.EDITED_MESSAGE, Update.CALLBACK_QUERY}


async def test_polling_asks_only_for_the_updates_the_bot_handles():
    stop = asyncio.Event()

    class OnePoll(FakeBotAPI):
        def _api_getupdates(self, params):
            stop.set()
            return []

    api = OnePoll()
    app = build_application(token=FAKE_TOKEN, engine=EchoEngine(), request=api)
    async with app:
        await asyncio.wait_for(serve.poll(app, stop, timeout=0), 10)
    [first, *_] = api.calls_to("getUpdates")
    assert _as_data(first["params"]["allowed_updates"]) == list(ALLOWED_UPDATES)


# -- the sending limits ----------------------------------------------------------------------------


async def test_the_rate_limiter_keeps_a_burst_of_notices_within_telegrams_limits():
    api = FakeBotAPI()
    app = build_application(token=FAKE_TOKEN, engine=EchoEngine(), request=api, rate_limit=True,
                            retry_policy=RetryPolicy(sleep=_no_sleep))
    assert isinstance(app.bot.rate_limiter, AIORateLimiter)
    adapter = app.bot_data["adapter"]
    async with TelegramTestClient(app, chat_id=1001) as alice:
        assert "got command" in (await alice.command("start"))[-1].text  # a conversation works as before
        # 60 notices to 60 hires: Telegram allows about 30 messages a second
        notices = [Notify(3000 + i, f"notice {i}") for i in range(60)]
        started = time.monotonic()
        await asyncio.gather(*(adapter._notify(app.bot, n) for n in notices))
        took = time.monotonic() - started
    assert all(api.sent_to(3000 + i) for i in range(60))
    assert took >= 0.8, f"60 messages went out in {took:.2f}s"


async def test_without_the_limiter_tests_run_at_full_speed():
    app = build_application(token=FAKE_TOKEN, engine=EchoEngine(), request=FakeBotAPI())
    assert app.bot.rate_limiter is None


async def test_sabot_run_builds_its_application_with_the_rate_limiter(tmp_path):
    async with serve._bot(settings_in(tmp_path), FAKE_TOKEN) as app:
        assert isinstance(app.bot.rate_limiter, AIORateLimiter)
        assert app.bot_data["services"].settings.data_dir == str(tmp_path / "data")


# -- `sabot run`, both modes -----------------------------------------------------------------------


def _create_firm(env: dict, cwd: Path) -> None:
    done = subprocess.run(_sabot("firm", "create", "Acme Tax", "--admin", str(ADMIN_A)), env=env, cwd=cwd,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr


def _wait_for_menus(api, count: int, timeout: float = 20.0) -> dict:
    deadline = time.monotonic() + timeout
    while len(api.calls_to("setMyCommands")) < count and time.monotonic() < deadline:
        time.sleep(0.05)
    return _menus_set(api.calls_to("setMyCommands"))


def test_sabot_run_polling_sets_the_menus_and_asks_only_for_handled_updates(tmp_path):
    api = start_api()
    env = bot_env(tmp_path, api)
    bot = Bot(env, tmp_path, "run")
    try:
        _create_firm(env, tmp_path)
        bot.start()
        bot.wait_polling(api)
        menus = _wait_for_menus(api, 4)
        assert menus == {_scope(type="default"): _menu(PERSON_MENU),
                         _scope(type="chat", chat_id=ADMIN_A): _menu(PERSON_MENU + ADMIN_MENU)}
        for call in api.calls_to("getUpdates"):
            assert call["params"].get("allowed_updates") == list(ALLOWED_UPDATES)
        assert bot.terminate() == 0
    finally:
        bot.kill()
        api.stop()


def test_sabot_run_webhook_sets_the_menus_and_asks_only_for_handled_updates(tmp_path):
    api = start_api()
    port = free_port()
    env = base_env(tmp_path, api, f"sqlite+aiosqlite:///{tmp_path / 'bot.db'}")
    proc = None
    try:
        _create_firm(env, tmp_path)
        proc = start_bot(tmp_path, env, port)
        wait_listening(api, proc, port, tmp_path)
        [hook] = api.calls_to("setWebhook")
        assert hook["params"].get("allowed_updates") == list(ALLOWED_UPDATES)
        assert hook["params"].get("secret_token") == SECRET
        menus = _wait_for_menus(api, 4)
        assert menus == {_scope(type="default"): _menu(PERSON_MENU),
                         _scope(type="chat", chat_id=ADMIN_A): _menu(PERSON_MENU + ADMIN_MENU)}
    finally:
        if proc is not None:
            assert stop(proc) == 0
        api.stop()

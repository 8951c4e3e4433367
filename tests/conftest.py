"""Shared fixtures: a bot on a temporary database, a controllable clock, an offline Telegram."""

from __future__ import annotations

import asyncio
import os
import re
import socket
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from bot.clock import ManualClock
from bot.config import load_settings
from bot.engine import Engine
from bot.records import import_people, read_records_file
from bot.services import build_services, load_demo_records_if_empty
from bot.telegram_adapter import RetryPolicy, build_application
from sabot_testing.telegram import FAKE_TOKEN, FakeBotAPI, TelegramTestClient

#: transcripts (tests/transcripts/**/*.convo.yaml) are collected as test items
pytest_plugins = ["sabot_testing.pytest_plugin", "pytester"]

CODE = re.compile(r"\b(\d{6})\b")


def test_settings(tmp_path: Path, **extra):
    overrides = {
        "data_dir": str(tmp_path / "data"),
        # (a group starts at once: a conversation test sends one update at a time, and would wait
        # for company on every one; tests/test_group_wait.py checks the wait)
        "database": {"url": f"sqlite+aiosqlite:///{tmp_path / 'test.db'}", "group_wait_ms": 0},
        # cheap argon2 parameters: tests exercise the logic, the benchmark measures the real cost
        "security": {"argon2_time_cost": 1, "argon2_memory_kib": 8192, "argon2_parallelism": 1},
        "delivery": {"email": {"backend": "outbox"}, "sms": {"backend": "outbox"}},
        # tests jump the clock by weeks and then read old deliveries: the tick doesn't purge here
        # (tests/test_privacy_purge.py checks purging, and that the tick runs it when asked)
        "privacy": {"purge_every_minutes": 0},
    }
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(overrides.get(key), dict):
            overrides[key] = {**overrides[key], **value}
        else:
            overrides[key] = value
    return load_settings(**overrides)


@dataclass(eq=False)
class BotHarness:
    """One bot (engine + Telegram adapter over an offline Bot API) and helpers to read its outbox."""

    services: Any
    engine: Engine
    api: FakeBotAPI
    app: Any
    clock: ManualClock
    _clients: list[TelegramTestClient] = field(default_factory=list)

    async def user(self, chat_id: int = 1001, **kwargs) -> TelegramTestClient:
        client = TelegramTestClient(self.app, chat_id=chat_id, **kwargs)
        await client.start()
        self._clients.append(client)
        return client

    async def outbox(self):
        async with self.services.sessions() as session:
            return await self.services.outbox.read(session)

    async def last_code(self, channel: str, to: str | None = None) -> str:
        for message in reversed(await self.outbox()):
            if message.channel == channel and (to is None or message.to == to):
                found = CODE.search(message.body)
                assert found, f"no code in the last {channel}"
                return found.group(1)
        raise AssertionError(f"nothing was sent by {channel}" + (f" to {to}" if to else ""))

    async def import_records(self, path: Path) -> None:
        await import_people(self.services.sessions, self.services.vault, self.clock, read_records_file(path))

    async def close(self) -> None:
        for client in reversed(self._clients):
            await client.stop()
        await self.engine.close()
        await self.services.close()


async def make_harness(settings, clock: ManualClock | None = None) -> BotHarness:
    clock = clock or ManualClock()
    services = await build_services(settings, clock=clock)
    await load_demo_records_if_empty(services)
    engine = Engine(services)
    api = FakeBotAPI()
    app = build_application(
        token=FAKE_TOKEN, engine=engine, request=api, retry_policy=RetryPolicy(sleep=_no_sleep)
    )
    return BotHarness(services, engine, api, app, clock)


def run_on_harness(settings, scene):
    """Run ``await scene(h)`` on a harness over ``settings`` (outside any event loop, as before a
    CLI command is tried on what it left), close the harness and return what the scene returned."""

    async def run():
        h = await make_harness(settings)
        try:
            return await scene(h)
        finally:
            await h.close()

    return asyncio.run(run())


def cli_env(settings, **extra: str) -> dict[str, str]:
    """The environment pointing a ``sabot`` command at the harness's data and database."""
    return {"SABOT_DATA_DIR": settings.data_dir, "SABOT_DATABASE__URL": settings.database.url, **extra}


async def _no_sleep(_seconds: float) -> None:
    return None


@pytest.fixture(scope="session")
def postgres(pytestconfig):
    """The session's throwaway PostgreSQL database, shared with transcripts that run on it."""
    from sabot_testing.pytest_plugin import shared_postgres

    return shared_postgres(pytestconfig)


@pytest.fixture(params=["sqlite", "postgresql"])
def backend(request, postgres):
    """Every conversation test runs on both databases the product supports."""
    if request.param == "postgresql":
        if postgres.url is None:
            pytest.skip(postgres.reason)
        postgres.empty()
        return postgres.url
    return None


@pytest.fixture
def settings(tmp_path, backend):
    if backend:
        return test_settings(tmp_path, database={"url": backend})
    return test_settings(tmp_path)


@pytest.fixture
async def harness(settings):
    h = await make_harness(settings)
    yield h
    await h.close()


# -- the bot's environment and local ports, for tests of commands and start-up ----------------------

#: prefixes of the variables that configure the bot
BOT_VARIABLES = ("SABOT_", "TELEGRAM_BOT_TOKEN")


def environ_without_bot_settings() -> dict[str, str]:
    """This process's environment without the variables that configure the bot."""
    return {k: v for k, v in os.environ.items() if not k.upper().startswith(BOT_VARIABLES)}


@pytest.fixture
def clean_env(monkeypatch, tmp_path):
    """A folder with no config.yaml and no variables that configure the bot: the embedded defaults."""
    monkeypatch.chdir(tmp_path)
    for name in list(os.environ):
        if name.upper().startswith(BOT_VARIABLES):
            monkeypatch.delenv(name)
    return monkeypatch


def unused_port() -> int:
    """A local TCP port nothing listens on (free for a test server to take)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]

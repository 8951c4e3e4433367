"""One bot for one transcript run: a temporary database, a manual clock, the real Telegram
adapter over the offline Bot API (:class:`sabot_testing.telegram.FakeBotAPI`)."""

from __future__ import annotations

import tempfile
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import yaml

from bot.clock import ManualClock
from bot.config import load_settings
from bot.engine import Engine
from bot.records import import_people, read_records_file
from bot.services import build_services, load_demo_records_if_empty
from bot.telegram_adapter import RetryPolicy, build_application
from sabot_testing.telegram import FAKE_TOKEN, BotMessage, FakeBotAPI, TelegramTestClient

#: the clock every run starts at unless ``fixtures: {clock: ...}`` says otherwise: a Monday,
#: 10:00 in New York (help desk open)
DEFAULT_START = datetime(2026, 3, 2, 15, 0, tzinfo=timezone.utc)

#: settings every scripted run uses (cheap argon2: transcripts check behaviour, not cost)
BASE_SETTINGS: dict[str, Any] = {
    "security": {"argon2_time_cost": 1, "argon2_memory_kib": 8192, "argon2_parallelism": 1},
    "delivery": {"email": {"backend": "outbox"}, "sms": {"backend": "outbox"}},
    # a scripted conversation sends one update at a time: its groups start at once instead of
    # waiting for company that never comes
    "database": {"group_wait_ms": 0},
}


def deep_merge(base: dict, extra: dict) -> dict:
    out = dict(base)
    for key, value in (extra or {}).items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = deep_merge(out[key], value)
        else:
            out[key] = value
    return out


def parse_when(value: Any) -> datetime:
    if isinstance(value, datetime):
        moment = value
    else:
        text = str(value).strip()
        if text.endswith("Z"):
            text = text[:-1] + "+00:00"
        moment = datetime.fromisoformat(text)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment


async def _no_sleep(_seconds: float) -> None:
    return None


#: settings that change where or how things are stored: a run with any of them builds its own
_STORAGE_KEYS = {"data_dir", "database", "security", "records"}
_TEMPLATE: Path | None = None
_TEMPLATE_DIR: tempfile.TemporaryDirectory | None = None


def _local_storage(root: Path) -> dict:
    return {"data_dir": str(root / "data"), "database": {"url": f"sqlite+aiosqlite:///{root / 'bot.db'}"}}


def _copy_storage(source: Path, dest: Path) -> None:
    import shutil

    shutil.copytree(source / "data", dest / "data", dirs_exist_ok=True)
    for f in source.glob("bot.db*"):
        shutil.copy2(f, dest / f.name)


async def _template() -> Path | None:
    """The folder holding the template database and key file (built on first use)."""
    global _TEMPLATE, _TEMPLATE_DIR
    if _TEMPLATE is not None:
        return _TEMPLATE
    _TEMPLATE_DIR = tempfile.TemporaryDirectory(prefix="sabot-script-template-")
    root = Path(_TEMPLATE_DIR.name)
    settings = load_settings(**deep_merge(BASE_SETTINGS, _local_storage(root)))
    services = await build_services(settings, clock=ManualClock(DEFAULT_START))
    try:
        await load_demo_records_if_empty(services)
    finally:
        await services.close()
    _TEMPLATE = root
    return root


class BotRuntime:
    """The bot a transcript talks to, and the operator's handles on it."""

    def __init__(self, *, settings, services, engine, api: FakeBotAPI, app, clock: ManualClock, workdir):
        self.settings = settings
        self.services = services
        self.engine = engine
        self.api = api
        self.app = app
        self.clock = clock
        self._workdir = workdir
        self.clients: dict[int, TelegramTestClient] = {}

    @classmethod
    async def create(
        cls, *, config: dict | None = None, clock: datetime | None = None, demo_records: bool = True
    ) -> "BotRuntime":
        workdir = tempfile.TemporaryDirectory(prefix="sabot-script-")
        root = Path(workdir.name)
        overrides = deep_merge(BASE_SETTINGS, _local_storage(root))
        overrides = deep_merge(overrides, config or {})
        settings = load_settings(**overrides)
        manual = ManualClock(clock or DEFAULT_START)
        # a migrated database with the demo people (and its key file) is made once per process
        # and copied for every run: most of a short transcript's time was spent building it
        template = await _template() if demo_records and not set(config or {}) & _STORAGE_KEYS else None
        if template is not None:
            _copy_storage(template, root)
        services = await build_services(settings, clock=manual, migrate=template is None)
        if demo_records and template is None:
            await load_demo_records_if_empty(services)
        engine = Engine(services)
        api = FakeBotAPI()
        app = build_application(token=FAKE_TOKEN, engine=engine, request=api, retry_policy=RetryPolicy(sleep=_no_sleep))
        return cls(settings=settings, services=services, engine=engine, api=api, app=app, clock=manual, workdir=workdir)

    async def client(self, chat_id: int, language_code: str | None = None) -> TelegramTestClient:
        """The user of ``chat_id``; ``language_code`` is their Telegram app's language (English
        when not given), fixed when they first appear."""
        client = self.clients.get(chat_id)
        if client is None:
            client = TelegramTestClient(self.app, chat_id=chat_id, language_code=language_code or "en")
            await client.start()
            self.clients[chat_id] = client
        return client

    async def chat_language(self, chat_id: int) -> str | None:
        """The language the bot speaks in ``chat_id`` (None: it hasn't spoken there)."""
        from bot.storage.repo import chat_language

        async with self.services.sessions() as session:
            return await chat_language(session, chat_id)

    async def outbox(self, after_id: int = 0):
        async with self.services.sessions() as session:
            return await self.services.outbox.read(session, after_id=after_id)

    async def outbox_mark(self) -> int:
        """The id of the latest delivery (0 when none): what a step sends comes after it."""
        from sqlalchemy import func, select

        from bot.storage.models import Delivery

        async with self.services.sessions() as session:
            return (await session.scalar(select(func.max(Delivery.id)))) or 0

    async def import_people(self, people: list[dict]) -> int:
        return await import_people(self.services.sessions, self.services.vault, self.clock, people)

    async def import_records(self, source: Any, base: Path) -> int:
        """``source``: a records file path (relative to ``base``), ``{file: path}``, a list of people
        (the records file's ``taxpayers:`` entries) or ``{taxpayers: [...]}``."""
        if isinstance(source, dict) and "file" in source:
            source = source["file"]
        if isinstance(source, str):
            path = Path(source)
            if not path.is_absolute():
                path = base / path
            return await self.import_people(read_records_file(path))
        if isinstance(source, list):
            source = {"taxpayers": source}
        # the records file reader validates and normalises; reuse it on a temporary file
        path = Path(self._workdir.name) / "inline-records.yaml"
        path.write_text(yaml.safe_dump(source, allow_unicode=True), encoding="utf-8")
        return await self.import_people(read_records_file(path))

    async def tick(self) -> int:
        """What the running bot does every ``tick_seconds``: send due reminders and notices."""
        adapter = self.app.bot_data["adapter"]
        return await adapter.tick(self.app.bot)

    def messages_since(self, chat_id: int, call_index: int) -> list[BotMessage]:
        """Bot messages sent to ``chat_id`` by the Bot API calls made after ``call_index``."""
        current = self.api.messages.get(chat_id, {})
        out = []
        for call in self.api.calls[call_index:]:
            if call["method"].lower() not in ("sendmessage", "sendphoto") or not call["ok"]:
                continue
            result = call["result"]
            if result["chat"]["id"] != chat_id:
                continue
            out.append(BotMessage.from_dict(current.get(result["message_id"], result)))
        return out

    async def close(self) -> None:
        for client in reversed(list(self.clients.values())):
            try:
                await client.stop()
            except Exception:  # noqa: BLE001 - closing down; nothing useful to report
                pass
        close_engine = getattr(self.engine, "close", None)
        if close_engine is not None:
            await close_engine()
        await self.services.close()
        self._workdir.cleanup()

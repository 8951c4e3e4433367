"""Everything a running bot needs, built once from settings."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bot.clock import Clock
from bot.config import Settings
from bot.crypto import Vault, make_vault
from bot.delivery import DeliveryBackend, Message, Outbox, make_delivery
from bot.records import LocalRecords, demo_records_path, import_people, read_records_file
from bot.storage import db


@dataclass
class Services:
    settings: Settings
    vault: Vault
    clock: Clock
    engine: AsyncEngine
    sessions: async_sessionmaker
    records: LocalRecords
    delivery: DeliveryBackend
    outbox: Outbox

    async def deliver(self, session: AsyncSession, *, channel: str, to: str, body: str, subject: str | None = None) -> None:
        await self.delivery.send(session, Message(channel=channel, to=to, body=body, subject=subject))

    def deep_link(self, payload: str) -> str:
        """Telegram's link that opens the bot with ``/start <payload>``."""
        return f"https://t.me/{self.settings.telegram.bot_username}?start={payload}"

    def firms(self, session: AsyncSession):
        """Firm admins' data (bot.firms.FirmStore) inside ``session``, for the flows."""
        from bot.firms import FirmStore

        return FirmStore(session, self.vault, self.clock)

    async def forget_hires(self, session: AsyncSession, chat_id: int) -> int:
        """The firms' part of erasing a chat's person (bot.storage.privacy.erase_chat)."""
        return await self.firms(session).forget_chat(chat_id)

    async def close(self) -> None:
        close_delivery = getattr(self.delivery, "close", None)
        if close_delivery is not None:
            await close_delivery()
        await self.engine.dispose()


async def build_services(settings: Settings, *, clock: Clock | None = None, migrate: bool = True) -> Services:
    clock = clock or Clock()
    vault = make_vault(settings)
    engine = db.create_engine(settings.database_url, echo=settings.database.echo)
    if migrate:
        await db.upgrade(engine)
    sessions = db.sessionmaker(engine)
    outbox = Outbox(vault, clock)
    return Services(
        settings=settings,
        vault=vault,
        clock=clock,
        engine=engine,
        sessions=sessions,
        records=LocalRecords(sessions, vault, clock),
        delivery=make_delivery(settings, vault, clock),
        outbox=outbox,
    )


async def load_demo_records_if_empty(services: Services) -> int:
    if await services.records.count() > 0:
        return 0
    people = read_records_file(demo_records_path())
    return await import_people(services.sessions, services.vault, services.clock, people)

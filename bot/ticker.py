"""What happens between conversation turns, every few seconds: letter reminders and queued
notices (help-desk decisions, firm notices...) handed out to be sent, retention periods applied,
and remembered states forgotten once they are old."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from sqlalchemy import select

from bot.firms import firm_notices
from bot.storage.privacy import purge_abandoned
from bot.services import Services
from bot.state_cache import StateCache
from bot.storage.db import transaction
from bot.storage.models import Account, Letter, Notification
from domain.i18n import using
from flows.notices import letter_reminder
from flows.replies import Notify

log = logging.getLogger("sabot.engine")


class Ticker:
    def __init__(self, services: Services, states: StateCache):
        self.services = services
        self.states = states
        self._last_purge: datetime | None = None

    async def tick(self, *, chat_id: int | None = None, limit: int = 200) -> list[Notify]:
        """Messages due to chats outside any conversation turn. Each is handed out once; the
        caller sends them. Also applies the retention periods of ``privacy:`` (at most once per
        ``privacy.purge_every_minutes``)."""
        services = self.services
        self.states.forget_old(services.clock.now())
        await self._purge_if_due()
        now = services.clock.now()
        async with transaction(services.sessions) as session:
            await firm_notices(session, services, now)  # queued as notifications, handed out below
            out = await self._letter_reminders(session, now, chat_id, limit)
            out += await self._notices(session, now, chat_id, limit)
        return out

    async def _letter_reminders(self, session, now: datetime, chat_id: int | None, limit: int) -> list[Notify]:
        letters = self.services.settings.policy.letters
        due = (
            await session.execute(
                select(Letter, Account)
                .join(Account, Account.id == Letter.account_id)
                .where(
                    Letter.reminder_sent_at.is_(None),
                    Letter.created_at <= now - timedelta(days=letters.reminder_after_days),
                    Letter.code_expires_at > now,
                    Account.status == "pending_letter",
                    Account.chat_id.is_not(None) if chat_id is None else Account.chat_id == chat_id,
                )
                .limit(limit)
                # several workers tick: each row goes to one of them (ignored by SQLite,
                # whose BEGIN IMMEDIATE already lets one tick run at a time)
                .with_for_update(skip_locked=True, of=Letter)
            )
        ).all()
        out: list[Notify] = []
        for letter, account in due:
            latest = await session.scalar(
                select(Letter.id).where(Letter.account_id == account.id).order_by(Letter.created_at.desc()).limit(1)
            )
            letter.reminder_sent_at = now
            if latest != letter.id:
                continue  # a newer letter replaced this one
            with using(letter.language):  # the language the letter was asked for in
                out.append(Notify(account.chat_id, letter_reminder(max(0, (letter.code_expires_at - now).days))))
        return out

    async def _notices(self, session, now: datetime, chat_id: int | None, limit: int) -> list[Notify]:
        rows = (
            await session.scalars(
                select(Notification)
                .where(Notification.sent_at.is_(None), *(() if chat_id is None else (Notification.chat_id == chat_id,)))
                .order_by(Notification.id)
                .limit(limit)
                .with_for_update(skip_locked=True)
            )
        ).all()
        vault = self.services.vault
        for row in rows:
            row.sent_at = now
        return [Notify(row.chat_id, vault.decrypt(row.text_enc, context="notification")) for row in rows]

    async def _purge_if_due(self) -> None:
        minutes = self.services.settings.privacy.purge_every_minutes
        if minutes <= 0:
            return  # purging is left to `sabot purge` (e.g. from cron)
        now = self.services.clock.now()
        if self._last_purge is not None and now - self._last_purge < timedelta(minutes=minutes):
            return
        self._last_purge = now
        try:
            counts = await purge_abandoned(self.services, now)
        except Exception:  # noqa: BLE001 - retried at the next interval
            log.exception("purge failed")
            return
        if any(counts.values()):
            log.info("purged %s", ", ".join(f"{kind}={n}" for kind, n in sorted(counts.items()) if n))

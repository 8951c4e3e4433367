"""Firms and their admins: the operator's side (``sabot firm``), the data the admin flow reads and
writes (:class:`FirmStore`), and the notices due to admins outside any conversation turn.

What a firm can know about a hire is limited to what its admin typed (name, optional email; both
encrypted), the stage reached, a blocker *category*, and times. Nothing the hire enters is stored
here, and a hire who declines to be followed (``/stop_sharing``) shows only as invited or done.
Every query that takes a hire or an invitation is scoped by the firm asking, so one firm never
reads or changes another's.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Callable

from sqlalchemy import bindparam, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.clock import Clock
from bot.crypto import Vault
from bot.storage.direct import connection, run
from bot.storage.repo import chat_language
from bot.storage.models import (
    Account,
    Conversation,
    Firm,
    FirmAdmin,
    FirmHire,
    FirmInvite,
    Letter,
    Notification,
)
from domain import hires as rules
from domain.hires import Progress, Refused
from domain.i18n import _, current_language, using
from flows.hires import facts as hire_facts

#: largest Telegram user id we accept (they fit in 52 bits)
MAX_USER_ID = 2**52


class FirmError(Refused):
    """An operator or admin request that can't be done, with the reason in plain words."""


@dataclass(frozen=True)
class InviteLookup:
    invite: FirmInvite
    hire: FirmHire
    firm: Firm
    #: a newer invitation for the same hire exists (this one was replaced by a re-send)
    replaced: bool


def new_token() -> str:
    """An invitation token: 128 random bits, URL-safe (fits Telegram's start parameter)."""
    return secrets.token_urlsafe(16)


#: the columns of a hire that make up its domain.hires.Progress
_PROGRESS = tuple(Progress.__dataclass_fields__)

_HIRES = FirmHire.__table__
#: asked at most steps of every registration (built once: building costs more than running it)
_ANY_HIRE_IN_CHAT = (
    select(_HIRES.c.id).where(_HIRES.c.chat_id == bindparam("chat_id"), _HIRES.c.removed_at.is_(None)).limit(1)
)


class FirmStore:
    """Firm data inside one session (a conversation step's, or the tick's)."""

    def __init__(self, session: AsyncSession, vault: Vault, clock: Clock):
        self.session = session
        self.vault = vault
        self.clock = clock

    # -- admins ----------------------------------------------------------------------------
    async def admin(self, user_id: int | None) -> tuple[FirmAdmin, Firm] | None:
        if user_id is None:
            return None
        row = (
            await self.session.execute(
                select(FirmAdmin, Firm).join(Firm, Firm.id == FirmAdmin.firm_id).where(FirmAdmin.user_id == user_id)
            )
        ).first()
        return (row[0], row[1]) if row else None

    def note_admin_chat(self, admin: FirmAdmin, chat_id: int) -> None:
        """The chat the admin last wrote from is where their notices go."""
        if admin.chat_id != chat_id:
            admin.chat_id = chat_id

    async def admins(self, firm_id: int) -> list[FirmAdmin]:
        return list(
            (await self.session.scalars(select(FirmAdmin).where(FirmAdmin.firm_id == firm_id).order_by(FirmAdmin.id))).all()
        )

    async def add_admin(self, firm_id: int, user_id: int, added_by: int | None) -> FirmAdmin:
        if not 0 < user_id < MAX_USER_ID:
            raise FirmError(_("That isn't a Telegram user id."))
        existing = await self.session.scalar(select(FirmAdmin).where(FirmAdmin.user_id == user_id))
        if existing is not None:
            if existing.firm_id == firm_id:
                raise FirmError(_("That person is already an admin of this firm."))
            raise FirmError(_("That person can't be added: someone can be the admin of only one firm, and they already are one."))
        admin = FirmAdmin(firm_id=firm_id, user_id=user_id, chat_id=user_id, added_by=added_by, created_at=self.clock.now())
        self.session.add(admin)
        await self.session.flush()
        return admin

    async def remove_admin(self, firm_id: int, user_id: int) -> None:
        admins = await self.admins(firm_id)
        target = next((a for a in admins if a.user_id == user_id), None)
        if target is None:
            raise FirmError(_("That person isn't an admin of this firm."))
        if len(admins) <= 1:
            raise FirmError(_("A firm needs at least one admin, so the last one can't be removed."))
        await self.session.delete(target)

    # -- hires -----------------------------------------------------------------------------
    def name(self, hire: FirmHire) -> str:
        return self.vault.decrypt(hire.name_enc, context="firm_hire.name") or ""

    def email(self, hire: FirmHire) -> str | None:
        return self.vault.decrypt(hire.email_enc, context="firm_hire.email") if hire.email_enc else None

    async def hires(self, firm_id: int) -> list[FirmHire]:
        return list(
            (
                await self.session.scalars(
                    select(FirmHire)
                    .where(FirmHire.firm_id == firm_id, FirmHire.removed_at.is_(None))
                    .order_by(FirmHire.created_at, FirmHire.id)
                )
            ).all()
        )

    async def hire(self, firm_id: int, hire_id: int) -> FirmHire | None:
        """A hire of ``firm_id`` (never another firm's, whatever id is asked for)."""
        return await self.session.scalar(
            select(FirmHire).where(FirmHire.id == hire_id, FirmHire.firm_id == firm_id, FirmHire.removed_at.is_(None))
        )

    async def hires_for_chat(self, chat_id: int) -> list[FirmHire]:
        """The hires whose invitation was opened in ``chat_id`` (one per firm that invited them)."""
        # asked at most steps of everyone's registration, and almost always empty: a bare
        # indexed lookup first, whole rows only for a chat that has any
        conn = await connection(self.session)
        if (await run(conn, _ANY_HIRE_IN_CHAT, {"chat_id": chat_id})).first() is None:
            return []
        return list(
            (
                await self.session.scalars(
                    select(FirmHire).where(FirmHire.chat_id == chat_id, FirmHire.removed_at.is_(None)).order_by(FirmHire.id)
                )
            ).all()
        )

    async def forget_chat(self, chat_id: int) -> int:
        """The person in ``chat_id`` erased their data: unlink them from every firm that invited
        them and stop following them. Each firm keeps what its admin typed and whether they had
        finished. Returns how many hire rows were unlinked."""
        rows = (await self.session.scalars(select(FirmHire).where(FirmHire.chat_id == chat_id))).all()
        for hire in rows:
            hire.chat_id = None
            hire.account_id = None
            hire.reminded_at = None
            hire.letter_warned_for = None
            progress = rules.sharing(self.progress(hire), False)
            self.save_progress(hire, progress if progress.done else replace(progress, stage="invited"))
        return len(rows)

    # -- a hire's progress (the rules are domain.hires) -------------------------------------
    @staticmethod
    def progress(hire: FirmHire) -> Progress:
        return Progress(**{name: getattr(hire, name) for name in _PROGRESS})

    @staticmethod
    def save_progress(hire: FirmHire, progress: Progress) -> None:
        for name in _PROGRESS:
            if getattr(hire, name) != getattr(progress, name):
                setattr(hire, name, getattr(progress, name))

    async def finish(self, hire: FirmHire, at: datetime) -> None:
        """``hire`` is done: recorded, and their admins told."""
        self.save_progress(hire, rules.finished(self.progress(hire), at))
        await self.notify_admins(hire, lambda: rules.finished_notice(self.name(hire)))

    @staticmethod
    def link_account(hire: FirmHire, account_id: int | None) -> None:
        """The hire's account, once they have one (the first one seen stays)."""
        if account_id and hire.account_id is None:
            hire.account_id = account_id

    @staticmethod
    def mark_reminded(hire: FirmHire, at: datetime) -> None:
        hire.reminded_at = at

    @staticmethod
    def open_invite(invite: FirmInvite, hire: FirmHire, chat_id: int, at: datetime) -> None:
        """The hire opened ``invite`` in ``chat_id``: it is used up, and the hire is linked to the chat."""
        invite.used_at = at
        invite.used_by_chat = chat_id
        hire.chat_id = chat_id
        hire.opened_at = at
        hire.language = current_language()  # the hire's turn: the language their chat speaks

    async def firm(self, firm_id: int) -> Firm | None:
        return await self.session.get(Firm, firm_id)

    async def create_hire(self, firm_id: int, *, name: str, email: str | None, invited_by: int | None) -> FirmHire:
        hire = FirmHire(
            firm_id=firm_id,
            name_enc=self.vault.encrypt(name, context="firm_hire.name"),
            email_enc=self.vault.encrypt(email, context="firm_hire.email") if email else None,
            invited_by=invited_by,
            created_at=self.clock.now(),
            stage="invited",
            blocker_count=0,
            tracking=True,
        )
        self.session.add(hire)
        await self.session.flush()
        return hire

    async def remove_hire(self, hire: FirmHire) -> None:
        await self.revoke(hire)
        hire.removed_at = self.clock.now()

    # -- invitations -----------------------------------------------------------------------
    async def pending_invites(self, firm_id: int) -> int:
        now = self.clock.now()
        return int(
            await self.session.scalar(
                select(func.count())
                .select_from(FirmInvite)
                .where(
                    FirmInvite.firm_id == firm_id,
                    FirmInvite.used_at.is_(None),
                    FirmInvite.revoked_at.is_(None),
                    FirmInvite.expires_at > now,
                )
            )
            or 0
        )

    async def new_invite(self, hire: FirmHire, lifetime: timedelta) -> tuple[str, FirmInvite]:
        """A fresh link for ``hire``; any earlier unused one stops working."""
        await self.revoke(hire)
        token = new_token()
        now = self.clock.now()
        invite = FirmInvite(
            hire_id=hire.id,
            firm_id=hire.firm_id,
            token_hash=self.vault.digest("firm_invite", token),
            created_at=now,
            expires_at=now + lifetime,
        )
        self.session.add(invite)
        await self.session.flush()
        return token, invite

    async def revoke(self, hire: FirmHire) -> int:
        """Withdraw every unused invitation of ``hire``; how many were withdrawn."""
        now = self.clock.now()
        rows = (
            await self.session.scalars(
                select(FirmInvite).where(
                    FirmInvite.hire_id == hire.id,
                    FirmInvite.firm_id == hire.firm_id,
                    FirmInvite.used_at.is_(None),
                    FirmInvite.revoked_at.is_(None),
                )
            )
        ).all()
        for row in rows:
            row.revoked_at = now
        return len(rows)

    async def latest_invites(self, firm_id: int) -> dict[int, FirmInvite]:
        rows = (
            await self.session.scalars(
                select(FirmInvite).where(FirmInvite.firm_id == firm_id).order_by(FirmInvite.created_at, FirmInvite.id)
            )
        ).all()
        return {row.hire_id: row for row in rows}

    async def latest_invite(self, hire: FirmHire) -> FirmInvite | None:
        return await self.session.scalar(
            select(FirmInvite)
            .where(FirmInvite.hire_id == hire.id, FirmInvite.firm_id == hire.firm_id)
            .order_by(FirmInvite.created_at.desc(), FirmInvite.id.desc())
            .limit(1)
        )

    async def invite_by_token(self, token: str) -> InviteLookup | None:
        row = (
            await self.session.execute(
                select(FirmInvite, FirmHire, Firm)
                .join(FirmHire, FirmHire.id == FirmInvite.hire_id)
                .join(Firm, Firm.id == FirmInvite.firm_id)
                .where(FirmInvite.token_hash == self.vault.digest("firm_invite", token))
            )
        ).first()
        if row is None:
            return None
        invite, hire, firm = row
        newer = await self.session.scalar(
            select(FirmInvite.id).where(FirmInvite.hire_id == hire.id, FirmInvite.id > invite.id).limit(1)
        )
        return InviteLookup(invite, hire, firm, newer is not None)

    # -- what the hire did, seen from outside the conversation -----------------------------
    async def last_active(self, chat_ids: list[int]) -> dict[int, datetime]:
        if not chat_ids:
            return {}
        rows = (
            await self.session.execute(
                select(Conversation.chat_id, Conversation.updated_at).where(Conversation.chat_id.in_(chat_ids))
            )
        ).all()
        return {chat_id: updated for chat_id, updated in rows}

    async def account_for_chat(self, chat_id: int) -> Account | None:
        return await self.session.scalar(
            select(Account).where(Account.chat_id == chat_id).order_by(Account.id.desc()).limit(1)
        )

    async def letter_expiry(self, account_id: int | None) -> datetime | None:
        """When the code in the hire's newest letter stops working."""
        if account_id is None:
            return None
        return await self.session.scalar(
            select(Letter.code_expires_at)
            .where(Letter.account_id == account_id)
            .order_by(Letter.created_at.desc(), Letter.id.desc())
            .limit(1)
        )

    # -- notices to admins -----------------------------------------------------------------
    async def admin_chats_for(self, hire: FirmHire) -> list[int]:
        """Who hears about ``hire``: the admin who invited them, or every admin of the firm if
        that one is no longer an admin."""
        admins = await self.admins(hire.firm_id)
        inviter = [a.chat_id for a in admins if a.user_id == hire.invited_by]
        return inviter or [a.chat_id for a in admins]

    async def notify_admins(self, hire: FirmHire, text: str | Callable[[], str]) -> None:
        """Tell ``hire``'s admins: ``text`` is a function writing the notice, called in each admin
        chat's language."""
        now = self.clock.now()
        for chat_id in await self.admin_chats_for(hire):
            body = await self._written_for(chat_id, text)
            self.session.add(
                Notification(chat_id=chat_id, text_enc=self.vault.encrypt(body, context="notification"), created_at=now)
            )

    async def notify_chat(self, chat_id: int, text: str | Callable[[], str]) -> None:
        body = await self._written_for(chat_id, text)
        self.session.add(
            Notification(chat_id=chat_id, text_enc=self.vault.encrypt(body, context="notification"), created_at=self.clock.now())
        )

    async def _written_for(self, chat_id: int, text: str | Callable[[], str]) -> str:
        if not callable(text):
            return text
        with using(await chat_language(self.session, chat_id)):
            return text()


# -- the operator's side (`sabot firm ...`; tests create firms the same way) ----------------------


async def create_firm(services, name: str, admin_user_id: int) -> Firm:
    """Create a firm and its first admin (a Telegram user id)."""
    from bot.storage.db import transaction

    name = " ".join((name or "").split())
    if not name or len(name) > 120:
        raise FirmError("The firm's name must be 1 to 120 characters.")
    async with transaction(services.sessions) as session:
        store = FirmStore(session, services.vault, services.clock)
        firm = Firm(name=name, created_at=services.clock.now())
        session.add(firm)
        await session.flush()
        await store.add_admin(firm.id, admin_user_id, added_by=None)
        return firm


@dataclass(frozen=True)
class FirmSummary:
    id: int
    name: str
    admins: list[int]
    hires: int
    done: int
    created_at: datetime


async def list_firms(services) -> list[FirmSummary]:
    """Every firm with its admins' user ids and how many hires it has (no hire's details)."""
    out: list[FirmSummary] = []
    async with services.sessions() as session:
        firms = (await session.scalars(select(Firm).order_by(Firm.id))).all()
        for firm in firms:
            admins = (
                await session.scalars(select(FirmAdmin.user_id).where(FirmAdmin.firm_id == firm.id).order_by(FirmAdmin.id))
            ).all()
            hires = (
                await session.execute(
                    select(FirmHire.stage).where(FirmHire.firm_id == firm.id, FirmHire.removed_at.is_(None))
                )
            ).scalars().all()
            out.append(
                FirmSummary(firm.id, firm.name, list(admins), len(hires), sum(1 for s in hires if rules.is_done(s)), firm.created_at)
            )
    return out


# -- notices due outside a conversation turn (called from Engine.tick) ----------------------------


async def _claimed(session: AsyncSession, statement, of):
    """The rows ``statement`` selects, locked for this tick: several workers tick, and each row goes
    to one of them (SQLite runs one tick at a time)."""
    return await session.execute(statement.with_for_update(skip_locked=True, of=of))


async def firm_notices(session: AsyncSession, services, now: datetime) -> None:
    """Queue what firm admins should hear about now (delivered with the other notifications):

    * a hire on the mail path whose account became active (they typed the letter's code): done;
    * a hire whose letter code expires soon;
    * a hire held up by the same blocker for a while;
    * an invitation that expired unopened."""
    store = FirmStore(session, services.vault, services.clock)
    policy = services.settings.policy.firms
    zone = policy.timezone

    on_mail = select(FirmHire).where(FirmHire.stage == "waiting_letter", FirmHire.removed_at.is_(None))
    waiting = (await _claimed(session, on_mail, FirmHire)).scalars().all()
    for hire in waiting:
        account = await session.get(Account, hire.account_id) if hire.account_id else None
        if account is not None and rules.account_finished(account.status):
            await store.finish(hire, now)
            continue
        if not hire.tracking:
            continue
        expires = await store.letter_expiry(hire.account_id)
        if rules.letter_warning_due(expires, hire.letter_warned_for, now, policy.letter_warning_days):
            hire.letter_warned_for = expires
            await store.notify_admins(hire, lambda: rules.letter_expiring_notice(store.name(hire), expires, zone))

    stuck = select(FirmHire).where(
        FirmHire.blocker.is_not(None),
        FirmHire.blocker_notified_at.is_(None),
        FirmHire.blocker_at <= rules.stuck_since(now, policy.stuck_after_hours),
        FirmHire.tracking.is_(True),
        FirmHire.stage != rules.DONE,
        FirmHire.removed_at.is_(None),
    )
    stale = (await _claimed(session, stuck, FirmHire)).scalars().all()
    for hire in stale:
        hire.blocker_notified_at = now
        await store.notify_admins(
            hire, lambda: rules.stuck_notice(store.name(hire), store.progress(hire), zone, hire_facts(services.settings.policy))
        )

    unopened = select(FirmInvite, FirmHire).join(FirmHire, FirmHire.id == FirmInvite.hire_id).where(
        FirmInvite.used_at.is_(None),
        FirmInvite.revoked_at.is_(None),
        FirmInvite.expiry_noted_at.is_(None),
        FirmInvite.expires_at <= now,
        FirmHire.removed_at.is_(None),
    )
    expired = (await _claimed(session, unopened, FirmInvite)).all()
    for invite, hire in expired:
        invite.expiry_noted_at = now
        await store.notify_admins(hire, lambda: rules.invite_expired_notice(store.name(hire), invite.expires_at, zone))

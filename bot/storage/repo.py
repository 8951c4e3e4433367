"""Data access used by the flows: codes, accounts, attempt counters.

Everything here runs inside the conversation's transaction, so an answer, the code it issued and
the message that carries the code are committed together or not at all.
"""

from __future__ import annotations

import base64
import logging
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

import pyotp
from sqlalchemy import Column, Integer, MetaData, String, Table, bindparam, delete, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.storage import privacy
from bot.storage.direct import connection, run
from bot.storage.models import (
    UTCDateTime, Account, Attempt, AuditEvent, Conversation, ExceptionCase, FirmHire, Letter, Notification, OneTimeCode,
)
from domain.i18n import current_language
from domain.ports import Clock, CodeCheck, CodePolicy, IssuedCode, NewAccount, TooManyCodes, Vault


audit_log = logging.getLogger("sabot.audit")
#: case references are read aloud over the phone: no 0/O or 1/I look-alikes
REFERENCE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"


_CODES = OneTimeCode.__table__

#: consecutive failures per key (migration 0006): a count that no window resets, only a success
FAILURE_STREAKS = Table(
    "failure_streaks",
    MetaData(),
    Column("key", String(120), primary_key=True),
    Column("count", Integer, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
)
_STREAK_COUNT = select(FAILURE_STREAKS.c.count).where(FAILURE_STREAKS.c.key == bindparam("key"))
_STREAK_CLEAR = delete(FAILURE_STREAKS).where(FAILURE_STREAKS.c.key == bindparam("key"))
_STREAK_UPSERT: dict[str, object] = {}


def streak_upsert(dialect: str):
    """INSERT one failure, or add one to the count already there, in one statement."""
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as dialect_insert
    else:
        from sqlalchemy.dialects.sqlite import insert as dialect_insert
    statement = dialect_insert(FAILURE_STREAKS)
    return statement.on_conflict_do_update(
        index_elements=[FAILURE_STREAKS.c.key],
        set_={"count": FAILURE_STREAKS.c.count + 1, "updated_at": statement.excluded.updated_at},
    )
_ATTEMPTS = Attempt.__table__
_ACCOUNTS = Account.__table__

# Statements asked at nearly every step that checks something, built once: building a statement
# costs more than SQLite takes to run it. They run on the step's connection (Core, straight on
# SQLite's driver where it can: bot.storage.direct), not through the ORM session; nothing else
# writes these two tables through the ORM.
_RECENT_CODES = (
    select(_CODES.c.created_at)
    .where(
        _CODES.c.subject == bindparam("subject"),
        _CODES.c.purpose == bindparam("purpose"),
        _CODES.c.created_at > bindparam("since"),
    )
    .order_by(_CODES.c.created_at)
)
_VOID_OPEN_CODES = (
    update(_CODES)
    .where(_CODES.c.subject == bindparam("b_subject"), _CODES.c.purpose == bindparam("b_purpose"), _CODES.c.used_at.is_(None))
    .values(voided=True)
)
_NEW_CODE = insert(_CODES)
_CURRENT_CODE = (
    select(_CODES.c.id, _CODES.c.code_hash, _CODES.c.expires_at, _CODES.c.attempts)
    .where(
        _CODES.c.subject == bindparam("subject"),
        _CODES.c.purpose == bindparam("purpose"),
        _CODES.c.voided.is_(False),
        _CODES.c.used_at.is_(None),
    )
    .order_by(_CODES.c.created_at.desc(), _CODES.c.id.desc())
    .limit(1)
)
_CODE_BY_ID = update(_CODES).where(_CODES.c.id == bindparam("b_id"))
_VOID_CODE = _CODE_BY_ID.values(voided=True)
_USE_CODE = _CODE_BY_ID.values(used_at=bindparam("b_used_at"))
_WRONG_TRY = _CODE_BY_ID.values(attempts=bindparam("b_attempts"), voided=bindparam("b_voided"))
_COUNT_ATTEMPTS = select(func.count(), func.min(_ATTEMPTS.c.at)).where(
    _ATTEMPTS.c.key == bindparam("key"), _ATTEMPTS.c.at > bindparam("since")
)
_NEW_ATTEMPT = insert(_ATTEMPTS)
_USERNAME_TAKEN = select(_ACCOUNTS.c.id).where(_ACCOUNTS.c.username_key == bindparam("key"))
_SSN_REGISTERED = select(_ACCOUNTS.c.id).where(_ACCOUNTS.c.ssn_hash == bindparam("ssn_hash"))
_NEW_ACCOUNT = insert(_ACCOUNTS).returning(_ACCOUNTS.c.id)
_PHONE_OWNER_SSN = select(_ACCOUNTS.c.ssn_hash).where(_ACCOUNTS.c.phone_hash == bindparam("phone_hash"))


@dataclass(frozen=True)
class CurrentCode:
    """The code waiting for a subject and purpose (unused, not voided)."""

    id: int
    code_hash: str
    expires_at: datetime
    attempts: int


class Repo:
    """The stored data a step reads and writes (domain.ports.Repository), in ``session``."""

    def __init__(
        self, session: AsyncSession, vault: Vault, clock: Clock, *, forget_hires: privacy.ForgetHires | None = None
    ):
        self.session = session
        self.vault = vault
        self.clock = clock
        #: what else an erasure unlinks (the firms' invitations: bot.firms)
        self.forget_hires = forget_hires

    async def _conn(self):
        """The step's connection, for the prebuilt statements above (kept by the session for
        its transaction: bot.storage.direct.connection)."""
        return await connection(self.session)

    # -- one-time codes --------------------------------------------------------------------
    async def issue_code(self, subject: str, purpose: str, channel: str, policy: CodePolicy) -> IssuedCode:
        conn = await self._conn()
        now = self.clock.now()
        window_start = now - timedelta(minutes=policy.resend_window_minutes)
        recent = (await run(conn, _RECENT_CODES, {"subject": subject, "purpose": purpose, "since": window_start})).scalars()
        if len(recent) >= policy.resend_limit:
            raise TooManyCodes(recent[0] + timedelta(minutes=policy.resend_window_minutes))
        await run(conn, _VOID_OPEN_CODES, {"b_subject": subject, "b_purpose": purpose})
        # a fresh 160-bit key per code (pyotp.random_base32 draws each of its 32 characters with
        # a system call of its own)
        code = pyotp.HOTP(base64.b32encode(secrets.token_bytes(20)).decode("ascii"), digits=policy.digits).at(0)
        expires = now + timedelta(minutes=policy.lifetime_minutes)
        await run(
            conn,
            _NEW_CODE,
            {
                "purpose": purpose,
                "subject": subject,
                "code_hash": self.vault.digest(f"code:{purpose}", code),
                "channel": channel,
                "created_at": now,
                "expires_at": expires,
                "used_at": None,
                "attempts": 0,
                "voided": False,
            },
        )
        return IssuedCode(code, expires)

    async def current_code(self, subject: str, purpose: str) -> CurrentCode | None:
        conn = await self._conn()
        row = (await run(conn, _CURRENT_CODE, {"subject": subject, "purpose": purpose})).first()
        return None if row is None else CurrentCode(row.id, row.code_hash, row.expires_at, row.attempts)

    async def code_expired(self, subject: str, purpose: str) -> bool:
        row = await self.current_code(subject, purpose)
        return row is None or row.expires_at <= self.clock.now()

    async def check_code(self, subject: str, purpose: str, typed: str, policy: CodePolicy) -> CodeCheck:
        row = await self.current_code(subject, purpose)
        if row is None:
            return CodeCheck("none")
        now = self.clock.now()
        if row.expires_at <= now:
            return CodeCheck("expired")
        conn = await self._conn()
        if row.attempts >= policy.max_attempts:
            await run(conn, _VOID_CODE, {"b_id": row.id})
            return CodeCheck("locked")
        if self.vault.same_digest(f"code:{purpose}", typed, row.code_hash):
            await run(conn, _USE_CODE, {"b_id": row.id, "b_used_at": now})
            return CodeCheck("ok")
        attempts = row.attempts + 1
        remaining = policy.max_attempts - attempts
        voided = remaining <= 0
        await run(conn, _WRONG_TRY, {"b_id": row.id, "b_attempts": attempts, "b_voided": voided})
        if voided:
            return CodeCheck("locked")
        return CodeCheck("wrong", remaining)

    # -- attempts (limits and lockouts) ----------------------------------------------------
    async def count_attempts(self, key: str, window: timedelta) -> tuple[int, datetime | None]:
        conn = await self._conn()
        count, oldest = (await run(conn, _COUNT_ATTEMPTS, {"key": key, "since": self.clock.now() - window})).one()
        return int(count), oldest

    async def add_attempt(self, key: str) -> None:
        conn = await self._conn()
        await run(conn, _NEW_ATTEMPT, {"key": key, "at": self.clock.now()})

    # -- consecutive failures (no window; cleared by a success) ----------------------------
    async def failure_count(self, key: str) -> int:
        conn = await self._conn()
        count = (await run(conn, _STREAK_COUNT, {"key": key})).scalar()
        return int(count or 0)

    async def add_failure(self, key: str) -> int:
        conn = await self._conn()
        upsert = _STREAK_UPSERT.get(conn.dialect.name)
        if upsert is None:
            upsert = _STREAK_UPSERT[conn.dialect.name] = streak_upsert(conn.dialect.name)
        await run(conn, upsert, {"key": key, "count": 1, "updated_at": self.clock.now()})
        return await self.failure_count(key)

    async def clear_failures(self, keys: list[str]) -> None:
        conn = await self._conn()
        for key in keys:
            await run(conn, _STREAK_CLEAR, {"key": key})

    # -- accounts --------------------------------------------------------------------------
    async def username_taken(self, username: str) -> bool:
        conn = await self._conn()
        return (await run(conn, _USERNAME_TAKEN, {"key": username.lower()})).first() is not None

    async def ssn_registered(self, ssn_hash: str) -> bool:
        """Whether an account exists for this SSN (its keyed hash)."""
        conn = await self._conn()
        return (await run(conn, _SSN_REGISTERED, {"ssn_hash": ssn_hash})).first() is not None

    async def phone_owner_ssn(self, phone_hash: str) -> str | None:
        """The SSN hash of the account this phone number belongs to, if any."""
        conn = await self._conn()
        return (await run(conn, _PHONE_OWNER_SSN, {"phone_hash": phone_hash})).scalar()

    async def account_by_username(self, username: str) -> Account | None:
        return await self.session.scalar(select(Account).where(Account.username_key == username.lower()))

    async def account_by_ssn(self, ssn_hash: str) -> Account | None:
        return await self.session.scalar(select(Account).where(Account.ssn_hash == ssn_hash))

    async def phone_owner(self, phone_hash: str) -> Account | None:
        return await self.session.scalar(select(Account).where(Account.phone_hash == phone_hash))

    async def account(self, account_id: int) -> Account | None:
        return await self.session.get(Account, account_id)

    async def create_account(self, new: NewAccount) -> int:
        """Store a new account, its personal data sealed; its id. (A Core insert: an ORM flush
        cost ~250 µs, at the end of every registration; nothing here needs the account as an
        object.)"""
        now = self.clock.now()
        seal = self.vault.encrypt
        fields = {
            "username": new.username,
            "username_key": new.username.lower(),
            "password_hash": new.password_hash,
            "ssn_hash": new.ssn_hash,
            "profile_enc": seal(new.profile, context="account.profile"),
            "phone_hash": new.phone_hash,
            "phone_enc": seal(new.phone, context="account.phone") if new.phone else None,
            "site_phrase_enc": seal(new.site_phrase, context="account.site_phrase"),
            "site_image": new.site_image,
            "status": new.status,
            "secret_answers_enc": seal(new.secret_answers, context="account.answers") if new.secret_answers else None,
            "must_change_password": new.must_change_password,
            "chat_id": new.chat_id,
        }
        conn = await self._conn()
        row = (await run(conn, _NEW_ACCOUNT, {**fields, "created_at": now, "password_changed_at": now})).one()
        return row.id

    async def update_account(self, account: Account, **fields) -> None:
        for key, value in fields.items():
            setattr(account, key, value)

    async def totp_device_taken(self, device_hash: str, account_id: int | None) -> bool:
        owner = await self.session.scalar(select(Account.id).where(Account.totp_device_hash == device_hash))
        return owner is not None and owner != account_id

    async def audit(self, event: str, account_id: int | None = None, chat_id: int | None = None) -> None:
        """Record a security event: what and when, never personal data."""
        self.session.add(AuditEvent(at=self.clock.now(), event=event, account_id=account_id, chat_id=chat_id))
        audit_log.info("%s account=%s", event, account_id)

    # -- the person's data ------------------------------------------------------------------
    async def erasure_plan(self, chat_id: int, signed_in_account: int | None) -> privacy.ErasurePlan:
        """Which accounts /delete_my_data would erase, and which need a sign-in first."""
        return await privacy.erasure_plan(self.session, chat_id, signed_in_account)

    async def erase_personal_data(self, chat_id: int, signed_in_account: int | None, answers: dict) -> privacy.ErasureReport:
        """Erase this chat's person's data (bot.storage.privacy.erase_chat); the caller resets the chat."""
        return await privacy.erase_chat(
            self.session, self.vault, chat_id, signed_in_account=signed_in_account, answers=answers,
            forget_hires=self.forget_hires,
        )

    async def sign_out_other_chats(self, account_id: int, keep_chat: int) -> int:
        """End every other chat's session of this account (e.g. after a password change)."""
        return await privacy.sign_out_other_chats(self.session, self.vault, account_id, keep_chat)

    # -- letters ---------------------------------------------------------------------------
    async def letters_since(self, account_id: int, since: datetime) -> list[Letter]:
        return list(
            (
                await self.session.scalars(
                    select(Letter)
                    .where(Letter.account_id == account_id, Letter.created_at > since)
                    .order_by(Letter.created_at)
                )
            ).all()
        )

    async def latest_letter(self, account_id: int) -> Letter | None:
        return await self.session.scalar(
            select(Letter).where(Letter.account_id == account_id).order_by(Letter.created_at.desc()).limit(1)
        )

    async def add_letter(self, **fields) -> Letter:
        # in the language of the turn (or of the help-desk case) that asks for it
        fields.setdefault("language", current_language())
        letter = Letter(created_at=self.clock.now(), **fields)
        self.session.add(letter)
        await self.session.flush()
        return letter

    # -- notifications ---------------------------------------------------------------------
    async def notify(self, chat_id: int, text: str) -> None:
        self.session.add(
            Notification(
                chat_id=chat_id,
                text_enc=self.vault.encrypt(text, context="notification"),
                created_at=self.clock.now(),
            )
        )

    # -- exception cases -------------------------------------------------------------------
    async def exception_case(self, ssn_hash: str) -> ExceptionCase | None:
        return await self.session.scalar(
            select(ExceptionCase).where(ExceptionCase.ssn_hash == ssn_hash).order_by(ExceptionCase.id.desc()).limit(1)
        )

    async def case_by_reference(self, reference: str) -> ExceptionCase | None:
        return await self.session.scalar(select(ExceptionCase).where(ExceptionCase.reference == reference.strip().upper()))

    async def update_case(self, case: ExceptionCase, *, status: str) -> None:
        case.status = status
        case.updated_at = self.clock.now()

    async def open_exception_case(self, ssn_hash: str, chat_id: int, email: str | None) -> ExceptionCase:
        case = await self.exception_case(ssn_hash)
        now = self.clock.now()
        if case is None:
            case = ExceptionCase(
                reference="EX-" + "".join(secrets.choice(REFERENCE_ALPHABET) for _ in range(6)),
                ssn_hash=ssn_hash,
                status="handed_off",
                created_at=now,
            )
            self.session.add(case)
        case.chat_id = chat_id
        case.updated_at = now
        case.language = current_language()
        if email:
            case.email_enc = self.vault.encrypt(email, context="case.email")
        await self.session.flush()
        return case


    # -- languages -------------------------------------------------------------------------
    async def chat_language(self, chat_id: int) -> str | None:
        """The language ``chat_id`` speaks (None: a chat never seen, or from before languages)."""
        return await chat_language(self.session, chat_id)

    async def note_language(self, chat_id: int, language: str) -> None:
        """The person in ``chat_id`` chose ``language``: their help-desk case and their place on a
        firm's roster show it."""
        await self.session.execute(update(FirmHire).where(FirmHire.chat_id == chat_id).values(language=language))
        await self.session.execute(
            update(ExceptionCase).where(ExceptionCase.chat_id == chat_id).values(language=language)
        )


async def chat_language(session: AsyncSession, chat_id: int) -> str | None:
    """The language a chat speaks, as stored with its conversation."""
    return await session.scalar(select(Conversation.language).where(Conversation.chat_id == chat_id))


async def set_chat_language(sessions: async_sessionmaker, chat_id: int, language: str) -> None:
    """Make a chat speak ``language`` (``sabot chat --lang``); a chat not held yet starts in it."""
    async with sessions() as session, session.begin():
        await session.execute(update(Conversation).where(Conversation.chat_id == chat_id).values(language=language))


async def security_events(
    sessions: async_sessionmaker, *, since: datetime | None = None, account_id: int | None = None
) -> list[AuditEvent]:
    """Security events, oldest first (for `sabot audit`)."""
    query = select(AuditEvent).order_by(AuditEvent.at, AuditEvent.id)
    if since is not None:
        query = query.where(AuditEvent.at >= since)
    if account_id is not None:
        query = query.where(AuditEvent.account_id == account_id)
    async with sessions() as session:
        return list((await session.scalars(query)).all())

"""Database tables.

What is kept and how:
* SSNs, codes, phone lookup keys, account-number digits of the record store: HMAC only (``*_hash``).
* Names, emails, dates of birth, addresses, phone numbers, answers in progress: encrypted (``*_enc``).
* Passwords: argon2id.
* Financial account digits typed by a user: never stored (they are checked and dropped).
"""

from __future__ import annotations

from datetime import datetime, timezone

from sqlalchemy import (
    BigInteger,
    Boolean,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class UTCDateTime(TypeDecorator):
    """Timezone-aware UTC datetimes on every backend (SQLite keeps no zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            value = value.replace(tzinfo=timezone.utc)
        return value.astimezone(timezone.utc)

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=timezone.utc)
        return value.astimezone(timezone.utc)


class Base(DeclarativeBase):
    pass


class Conversation(Base):
    """Where one chat stands: the flow, its state, and the answers so far (encrypted)."""

    __tablename__ = "conversations"

    chat_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    flow: Mapped[str] = mapped_column(String(40))
    state: Mapped[str] = mapped_column(String(60))
    data_enc: Mapped[str | None] = mapped_column(Text)
    account_id: Mapped[int | None] = mapped_column(ForeignKey("accounts.id", ondelete="SET NULL"))
    version: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    #: the language the chat speaks ("en", "es": domain.i18n.LANGUAGES), from its first message's
    #: app language or /language (None: not known yet, before migration 0007)
    language: Mapped[str | None] = mapped_column(String(8))


class Account(Base):
    __tablename__ = "accounts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(64))
    username_key: Mapped[str] = mapped_column(String(64), unique=True)  # lower-cased, for lookups
    password_hash: Mapped[str] = mapped_column(Text)
    ssn_hash: Mapped[str] = mapped_column(String(64), unique=True)
    profile_enc: Mapped[str] = mapped_column(Text)  # name, email, date of birth, address
    phone_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    phone_enc: Mapped[str | None] = mapped_column(Text)
    site_phrase_enc: Mapped[str] = mapped_column(Text)
    site_image: Mapped[str] = mapped_column(String(40))
    status: Mapped[str] = mapped_column(String(30), default="active")
    totp_secret_enc: Mapped[str | None] = mapped_column(Text)
    totp_last_step: Mapped[int | None] = mapped_column(BigInteger)
    #: the device key's fingerprint, so one authenticator serves one account only
    totp_device_hash: Mapped[str | None] = mapped_column(String(64), unique=True)  # uq_accounts_totp_device_hash
    #: {question id: keyed hash of the normalised answer}, encrypted
    secret_answers_enc: Mapped[str | None] = mapped_column(Text)
    #: set for a temporary password (help desk) or an old e-Services password below today's rules
    must_change_password: Mapped[bool] = mapped_column(Boolean, default=False)
    chat_id: Mapped[int | None] = mapped_column(BigInteger, index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    password_changed_at: Mapped[datetime] = mapped_column(UTCDateTime)


class OneTimeCode(Base):
    """An issued code, kept only as a keyed hash."""

    __tablename__ = "codes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    purpose: Mapped[str] = mapped_column(String(30))
    subject: Mapped[str] = mapped_column(String(80))  # "chat:<id>" or "account:<id>"
    code_hash: Mapped[str] = mapped_column(String(64))
    channel: Mapped[str] = mapped_column(String(10))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    voided: Mapped[bool] = mapped_column(Boolean, default=False)
    attempts: Mapped[int] = mapped_column(Integer, default=0)

    __table_args__ = (Index("ix_codes_subject_purpose", "subject", "purpose", "created_at"),)


class Delivery(Base):
    """The development delivery backend: every email, text and letter, encrypted."""

    __tablename__ = "deliveries"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    channel: Mapped[str] = mapped_column(String(10))  # email | sms | mail
    to_enc: Mapped[str] = mapped_column(Text)
    subject_enc: Mapped[str | None] = mapped_column(Text)
    body_enc: Mapped[str] = mapped_column(Text)
    sent_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)


class Taxpayer(Base):
    """The embedded record store: one person as the identity authority knows them."""

    __tablename__ = "record_taxpayers"

    ssn_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    record_enc: Mapped[str] = mapped_column(Text)  # name, dob, filing status, address, freeze
    e_services_username_key: Mapped[str | None] = mapped_column(String(64), unique=True)
    e_services_password_hash: Mapped[str | None] = mapped_column(Text)
    imported_at: Mapped[datetime] = mapped_column(UTCDateTime)


class RecordAccount(Base):
    """A financial account of a person in the record store: only a keyed hash of its last eight."""

    __tablename__ = "record_accounts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    ssn_hash: Mapped[str] = mapped_column(ForeignKey("record_taxpayers.ssn_hash", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(30))
    card_network: Mapped[str | None] = mapped_column(String(20))
    card_kind: Mapped[str | None] = mapped_column(String(20))
    last8_hash: Mapped[str] = mapped_column(String(64))


class RecordPhone(Base):
    """A mobile number associated with a person's name in the record store."""

    __tablename__ = "record_phones"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    ssn_hash: Mapped[str] = mapped_column(ForeignKey("record_taxpayers.ssn_hash", ondelete="CASCADE"), index=True)
    phone_hash: Mapped[str] = mapped_column(String(64), index=True)
    text_enabled: Mapped[bool] = mapped_column(Boolean, default=True)


class Attempt(Base):
    """One counted attempt (a check, a code send) under a key, for limits and lockouts."""

    __tablename__ = "attempts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[str] = mapped_column(String(120))
    at: Mapped[datetime] = mapped_column(UTCDateTime)

    __table_args__ = (Index("ix_attempts_key_at", "key", "at"),)


class ExceptionCase(Base):
    """A person handed to exception processing (the help desk), and where their case stands."""

    __tablename__ = "exception_cases"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    reference: Mapped[str] = mapped_column(String(16), unique=True)
    ssn_hash: Mapped[str] = mapped_column(String(64), index=True)
    chat_id: Mapped[int | None] = mapped_column(BigInteger, index=True)
    #: handed_off | tac_referred | approved
    status: Mapped[str] = mapped_column(String(20))
    email_enc: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    #: the language the person speaks (the assistor calls in it; the decision is sent in it)
    language: Mapped[str | None] = mapped_column(String(8))


class Letter(Base):
    """A postal letter carrying a mailed activation code (its code lives in ``codes``)."""

    __tablename__ = "letters"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), index=True)
    address_enc: Mapped[str] = mapped_column(Text)
    body_enc: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    code_expires_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    exported_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    reminder_sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: the language of the person it goes to: the printed page and the reminder speak it
    language: Mapped[str | None] = mapped_column(String(8))


class Notification(Base):
    """A message for a chat produced outside its conversation (reminders, help-desk decisions)."""

    __tablename__ = "notifications"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    chat_id: Mapped[int] = mapped_column(BigInteger)
    text_enc: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)


class PendingReply(Base):
    """What one turn sends to Telegram (its replies, the deletion of a secret message),
    written in the transaction that stores the turn's answer and deleted once sent, so a crash
    between the two loses no reply. Unsent ones are sent again oldest first (bot.outbox)."""

    __tablename__ = "pending_replies"
    __table_args__ = (Index("ix_pending_replies_chat_update", "chat_id", "update_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    chat_id: Mapped[int] = mapped_column(BigInteger)
    #: the Telegram update it answers
    update_id: Mapped[int] = mapped_column(BigInteger)
    #: 0: the deletion of a secret message stored before slow work; 1: the turn's replies
    seq: Mapped[int] = mapped_column(Integer)
    #: the actions, as JSON, encrypted
    payload_enc: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    #: when a worker last took it to send again after a crash (None: not yet)
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class AuditEvent(Base):
    """Security events (sign-ins, failed codes, lockouts, factor changes), free of personal data."""

    __tablename__ = "audit_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    event: Mapped[str] = mapped_column(String(40))
    account_id: Mapped[int | None] = mapped_column(Integer, index=True)
    chat_id: Mapped[int | None] = mapped_column(BigInteger)


# -- firms: admins onboarding their new hires ------------------------------------------------------


class Firm(Base):
    """A tax firm whose admins invite new hires and follow their registrations."""

    __tablename__ = "firms"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(120))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class FirmAdmin(Base):
    """A Telegram user who administers a firm (one firm per user)."""

    __tablename__ = "firm_admins"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    firm_id: Mapped[int] = mapped_column(ForeignKey("firms.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int] = mapped_column(BigInteger)
    #: where notices go (a private chat's id is the user's id; refreshed whenever they use a command)
    chat_id: Mapped[int] = mapped_column(BigInteger)
    added_by: Mapped[int | None] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)

    __table_args__ = (UniqueConstraint("user_id", name="uq_firm_admins_user_id"),)


class FirmHire(Base):
    """A new hire a firm invited, and how far their registration has got.

    Only what the admin typed (name, optional email: encrypted) and categories are kept here: a
    stage, a blocker category and times; never anything the hire entered."""

    __tablename__ = "firm_hires"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    firm_id: Mapped[int] = mapped_column(ForeignKey("firms.id", ondelete="CASCADE"), index=True)
    name_enc: Mapped[str] = mapped_column(Text)
    email_enc: Mapped[str | None] = mapped_column(Text)
    invited_by: Mapped[int | None] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    #: the hire's chat, once they opened their invitation
    chat_id: Mapped[int | None] = mapped_column(BigInteger, index=True)
    opened_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    account_id: Mapped[int | None] = mapped_column(Integer)
    #: invited | started | email_confirmed | identity_confirmed | financial_confirmed |
    #: phone_confirmed | waiting_letter | done (flows.hires.STAGES)
    stage: Mapped[str] = mapped_column(String(30), default="invited")
    blocker: Mapped[str | None] = mapped_column(String(30))
    blocker_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    blocker_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    blocker_count: Mapped[int] = mapped_column(Integer, default=0)
    blocker_notified_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: the hire lets the firm see their progress (False: the firm sees only invited / done)
    tracking: Mapped[bool] = mapped_column(Boolean, default=True)
    done_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    reminded_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: expiry of the mailed code the admin was last warned about
    letter_warned_for: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: taken off the admin's list (a revoked invitation, someone who left)
    removed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: the language the hire speaks in the chat (from when they open the invitation)
    language: Mapped[str | None] = mapped_column(String(8))


class FirmInvite(Base):
    """One invitation link; only a keyed hash of its token is kept. Re-sending makes a new one."""

    __tablename__ = "firm_invites"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    hire_id: Mapped[int] = mapped_column(ForeignKey("firm_hires.id", ondelete="CASCADE"), index=True)
    firm_id: Mapped[int] = mapped_column(ForeignKey("firms.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    used_by_chat: Mapped[int | None] = mapped_column(BigInteger)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: the admin was told this invitation expired unopened
    expiry_noted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    __table_args__ = (UniqueConstraint("token_hash", name="uq_firm_invites_token_hash"),)

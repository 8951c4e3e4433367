"""What the flows need from the outside world, as plain types and protocols.

The identity authority (``RecordsAdapter``) is implemented in ``bot.records``, the stored data
(``Repository``: accounts, codes, attempts, audit, letters, notices, help-desk cases, erasure) in
``bot.storage.repo``, and the rest (``Services``: settings and policy, the vault, the clock,
delivery, the transport's deep links) in ``bot.services``. Flows only see these shapes, so a test
double can stand in for any of them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, Protocol

from domain.addresses import Address


@dataclass(frozen=True)
class IdentityClaim:
    ssn_hash: str
    first_name: str
    last_name: str
    date_of_birth: date
    filing_status: str
    address: Address

    @classmethod
    def from_answers(cls, data: dict) -> "IdentityClaim":
        return cls(
            ssn_hash=data["ssn_hash"],
            first_name=data["first_name"],
            last_name=data["last_name"],
            date_of_birth=date.fromisoformat(data["dob"]),
            filing_status=data["filing_status"],
            address=Address.from_dict(data.get("address") or {}),
        )


#: the one category of a mismatch in the SSN (or no such person), date of birth, name or filing
#: status: which of them differs is never told
IDENTITY_MISMATCH = "identity"


@dataclass(frozen=True)
class IdentityResult:
    matched: bool
    #: categories that differ: IDENTITY_MISMATCH, or (only once SSN, date of birth, name and
    #: filing status all match) the address categories of domain.addresses
    mismatches: frozenset[str] = frozenset()
    #: the person has an existing e-Services account (exception processing is open to them)
    e_services: bool = False
    #: for an address difference, the likely kinds of difference (domain.addresses cause codes)
    causes: tuple[str, ...] = ()
    #: the records' layout the address matched in (a domain.address_layouts code: "as_typed",
    #: "country_as_city+postal_in_line1"...), or after an address mismatch the one that came closest
    layout: str = ""
    #: how many layouts of the same address this one check tried
    layouts_tried: int = 1


@dataclass(frozen=True)
class FinancialResult:
    matched: bool
    credit_freeze: bool = False


@dataclass(frozen=True)
class PhoneStatus:
    in_name: bool
    text_enabled: bool


class RecordsAdapter(Protocol):
    async def verify_identity(self, claim: IdentityClaim) -> IdentityResult: ...

    async def verify_financial(
        self, ssn_hash: str, kind: str, last8: str, card_network: str | None, card_kind: str | None
    ) -> FinancialResult: ...

    async def phone_status(self, ssn_hash: str, e164: str) -> PhoneStatus: ...

    async def has_e_services(self, ssn_hash: str) -> bool: ...

    async def person_of_record(self, ssn_hash: str) -> dict | None: ...

    async def e_services_sign_in(self, username: str, password: str) -> str | None: ...


# -- one-time codes ------------------------------------------------------------------------------


class TooManyCodes(Exception):
    """The most codes allowed for a subject and purpose were issued in the resend window."""

    def __init__(self, retry_at: datetime):
        super().__init__("too many codes requested")
        #: when the next code may be asked for
        self.retry_at = retry_at


class DeliveryRefused(Exception):
    """An email or text could not be handed over to its provider.

    ``reason`` is what the person can do about it:

    * ``invalid_number``: the provider says the number isn't a valid phone number;
    * ``no_texts``: a landline, or a number the provider can't reach by text;
    * ``opted_out``: the number asked for no more texts from this sender (it replied STOP);
    * ``rejected_address``: the recipient's mail server refused the address;
    * ``unavailable``: the provider or mail server is down, unreachable or refused us: try later.

    ``code`` is the provider's own error code (for the audit; never the recipient or the text)."""

    RECIPIENT_REASONS = frozenset({"invalid_number", "no_texts", "opted_out", "rejected_address"})

    def __init__(self, channel: str, reason: str, code: str = ""):
        super().__init__(f"{channel} not delivered: {reason}" + (f" ({code})" if code else ""))
        self.channel = channel
        self.reason = reason
        self.code = code

    @property
    def recipient(self) -> bool:
        """The destination is the problem (another number or address may work)."""
        return self.reason in self.RECIPIENT_REASONS


@dataclass(frozen=True)
class CodeCheck:
    result: str  # ok | wrong | expired | none | locked
    remaining: int = 0


@dataclass(frozen=True)
class IssuedCode:
    code: str
    expires_at: datetime


class CodePolicy(Protocol):
    digits: int
    lifetime_minutes: float
    max_attempts: int
    resend_limit: int
    resend_window_minutes: float


class Codes(Protocol):
    async def issue_code(self, subject: str, purpose: str, channel: str, policy: CodePolicy) -> IssuedCode:
        """A new code (the older ones of the subject and purpose stop working); raises
        TooManyCodes when the resend limit is reached."""

    async def check_code(self, subject: str, purpose: str, typed: str, policy: CodePolicy) -> CodeCheck: ...

    async def code_expired(self, subject: str, purpose: str) -> bool: ...


# -- stored data ----------------------------------------------------------------------------------


class Attempts(Protocol):
    """Counted attempts behind limits and lockouts, under a key."""

    async def count_attempts(self, key: str, window: timedelta) -> tuple[int, datetime | None]:
        """How many attempts in ``window``, and when the oldest of them was."""

    async def add_attempt(self, key: str) -> None: ...

    async def failure_count(self, key: str) -> int:
        """Consecutive failures counted under ``key`` (no window: only a success clears them)."""

    async def add_failure(self, key: str) -> int:
        """Count one more consecutive failure; the count now."""

    async def clear_failures(self, keys: list[str]) -> None: ...


class Audit(Protocol):
    async def audit(self, event: str, account_id: int | None = None, chat_id: int | None = None) -> None:
        """Record a security event: what and when, never personal data."""


@dataclass(frozen=True)
class NewAccount:
    """What a new account is stored with: the plain values; the repository seals the personal ones."""

    username: str
    password_hash: str
    ssn_hash: str
    profile: dict
    #: the site phrase and image (both empty until a help-desk person chooses them at first sign-in)
    site_phrase: str
    site_image: str
    status: str
    chat_id: int | None
    phone_hash: str | None = None
    phone: str | None = None
    secret_answers: dict | None = None
    must_change_password: bool = False


class Accounts(Protocol):
    async def username_taken(self, username: str) -> bool: ...

    async def ssn_registered(self, ssn_hash: str) -> bool: ...

    async def phone_owner_ssn(self, phone_hash: str) -> str | None: ...

    async def account_by_username(self, username: str) -> Any: ...

    async def account_by_ssn(self, ssn_hash: str) -> Any: ...

    async def phone_owner(self, phone_hash: str) -> Any: ...

    async def account(self, account_id: int) -> Any: ...

    async def create_account(self, new: NewAccount) -> int:
        """Store a new account (its personal data sealed); its id."""

    async def update_account(self, account: Any, **fields: Any) -> None: ...

    async def totp_device_taken(self, device_hash: str, account_id: int | None) -> bool: ...


class Letters(Protocol):
    async def letters_since(self, account_id: int, since: datetime) -> list[Any]: ...

    async def latest_letter(self, account_id: int) -> Any: ...

    async def add_letter(self, **fields: Any) -> Any: ...


class Notices(Protocol):
    async def notify(self, chat_id: int, text: str) -> None:
        """A message for a chat outside its conversation turns (sent by the next tick)."""


class ExceptionCases(Protocol):
    async def exception_case(self, ssn_hash: str) -> Any: ...

    async def open_exception_case(self, ssn_hash: str, chat_id: int, email: str | None) -> Any: ...

    async def case_by_reference(self, reference: str) -> Any: ...

    async def update_case(self, case: Any, *, status: str) -> None: ...


class PersonalData(Protocol):
    async def erasure_plan(self, chat_id: int, signed_in_account: int | None) -> Any: ...

    async def erase_personal_data(self, chat_id: int, signed_in_account: int | None, answers: dict) -> Any: ...

    async def sign_out_other_chats(self, account_id: int, keep_chat: int) -> int: ...


class Repository(Accounts, Codes, Attempts, Audit, Letters, Notices, ExceptionCases, PersonalData, Protocol):
    """Everything a step reads and writes, inside the step's own transaction."""

    #: that transaction, for services acting within it (delivery, firms)
    session: Any


# -- services ------------------------------------------------------------------------------------


class DecryptionError(Exception):
    """A stored value could not be decrypted (a missing key, or a value tampered with)."""


class Vault(Protocol):
    def encrypt(self, value: Any, *, context: str = "") -> str: ...

    def decrypt(self, token: str | None, *, context: str = "") -> Any: ...

    def digest(self, purpose: str, value: str) -> str:
        """A keyed hash (lookups, codes): equal values give equal digests."""

    async def hash_password(self, password: str) -> str: ...

    async def verify_password(self, stored: str | None, password: str) -> bool: ...


class Clock(Protocol):
    def now(self) -> datetime: ...


class Settings(Protocol):
    #: the rules and limits (bot.config.Policy)
    policy: Any
    #: retention periods (bot.config.PrivacySettings)
    privacy: Any


class Services(Protocol):
    settings: Settings
    vault: Vault
    clock: Clock
    records: RecordsAdapter

    async def deliver(self, session: Any, *, channel: str, to: str, body: str, subject: str | None = None) -> None:
        """Send an email, text or letter within ``session``'s transaction; raises
        :class:`DeliveryRefused` when its provider doesn't take it."""

    def firms(self, session: Any) -> Any:
        """Firm admins' data within ``session``."""

    def deep_link(self, payload: str) -> str:
        """A link that opens a chat with the bot and hands it ``payload`` (the transport's form)."""


# -- firms (implemented by bot.firms.FirmStore) ---------------------------------------------------

from domain.hires import Progress  # noqa: E402  (the hire rules' own type)


class Firms(Protocol):
    """Firms, their admins, their hires and invitations, within one step's session. Hires and
    invitations are always reached through the firm asking, so one firm never sees another's."""

    # admins
    async def admin(self, user_id: int | None) -> tuple[Any, Any] | None:
        """(admin, firm) for a Telegram user who administers a firm."""

    def note_admin_chat(self, admin: Any, chat_id: int) -> None:
        """The chat the admin last wrote from, where their notices go."""

    async def admins(self, firm_id: int) -> list[Any]: ...

    async def add_admin(self, firm_id: int, user_id: int, added_by: int | None) -> Any: ...

    async def remove_admin(self, firm_id: int, user_id: int) -> None: ...

    # hires
    def name(self, hire: Any) -> str: ...

    def email(self, hire: Any) -> str | None: ...

    async def firm(self, firm_id: int) -> Any: ...

    async def hires(self, firm_id: int) -> list[Any]: ...

    async def hire(self, firm_id: int, hire_id: int) -> Any | None: ...

    async def hires_for_chat(self, chat_id: int) -> list[Any]: ...

    async def create_hire(self, firm_id: int, *, name: str, email: str | None, invited_by: int | None) -> Any: ...

    async def remove_hire(self, hire: Any) -> None: ...

    def progress(self, hire: Any) -> Progress: ...

    def save_progress(self, hire: Any, progress: Progress) -> None: ...

    async def finish(self, hire: Any, at: datetime) -> None:
        """The hire is done: recorded, and their admins told."""

    def link_account(self, hire: Any, account_id: int | None) -> None: ...

    def mark_reminded(self, hire: Any, at: datetime) -> None: ...

    # invitations
    async def pending_invites(self, firm_id: int) -> int: ...

    async def new_invite(self, hire: Any, lifetime: timedelta) -> tuple[str, Any]: ...

    async def revoke(self, hire: Any) -> int: ...

    async def latest_invites(self, firm_id: int) -> dict[int, Any]: ...

    async def latest_invite(self, hire: Any) -> Any | None: ...

    async def invite_by_token(self, token: str) -> Any | None:
        """The invitation, its hire and firm, and whether a newer one replaced it."""

    def open_invite(self, invite: Any, hire: Any, chat_id: int, at: datetime) -> None:
        """The hire opened ``invite`` in ``chat_id``."""

    # what the hire did
    async def last_active(self, chat_ids: list[int]) -> dict[int, datetime]: ...

    async def account_for_chat(self, chat_id: int) -> Any | None: ...

    async def letter_expiry(self, account_id: int | None) -> datetime | None: ...

    async def notify_admins(self, hire: Any, text: str) -> None: ...

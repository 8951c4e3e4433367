"""The identity authority, behind one interface.

``LocalRecords`` is the embedded default: people loaded from YAML with ``sabot records import``.
The store keeps what a check needs and nothing more: the SSN only as a keyed hash, the person's
details encrypted, each financial account as its kind plus a keyed hash of its last eight digits,
phones as keyed hashes. A check compares inside this module and answers with categories of
difference, never with what the record holds.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from pathlib import Path
from typing import Any

import phonenumbers
import yaml
from sqlalchemy import bindparam, delete, func, select
from sqlalchemy.ext.asyncio import async_sessionmaker

from bot.clock import Clock
from bot.crypto import Vault
from bot.storage.db import session_scope
from bot.storage.direct import connection, run
from bot.storage.models import RecordAccount, RecordPhone, Taxpayer
from domain.address_hints import likely_causes
from domain.address_layouts import TRIED_CAUSES, layouts
from domain.addresses import Address, differences, plain
from domain.ports import IDENTITY_MISMATCH, FinancialResult, IdentityClaim, IdentityResult, PhoneStatus

# the lookups of every registration, built once (building a statement costs more than running it)
_TAXPAYERS, _ACCOUNTS, _PHONES = Taxpayer.__table__, RecordAccount.__table__, RecordPhone.__table__
_PERSON = select(_TAXPAYERS.c.record_enc, _TAXPAYERS.c.e_services_username_key).where(
    _TAXPAYERS.c.ssn_hash == bindparam("ssn_hash")
)
_ACCOUNT = select(_ACCOUNTS.c.id).where(
    _ACCOUNTS.c.ssn_hash == bindparam("ssn_hash"),
    _ACCOUNTS.c.kind == bindparam("kind"),
    _ACCOUNTS.c.last8_hash == bindparam("last8_hash"),
)
_PHONE = select(_PHONES.c.text_enabled).where(
    _PHONES.c.ssn_hash == bindparam("ssn_hash"), _PHONES.c.phone_hash == bindparam("phone_hash")
)

FILING_STATUSES = (
    "single",
    "married_filing_jointly",
    "married_filing_separately",
    "head_of_household",
    "qualifying_surviving_spouse",
)
ACCOUNT_KINDS = ("credit_card", "mortgage", "home_equity_loan", "heloc", "auto_loan")

#: what a claim whose SSN isn't in the records is compared with (nobody has these details)
_STAND_IN = {
    "first_name": "Stand",
    "last_name": "In",
    "date_of_birth": "1900-01-01",
    "filing_status": "single",
    "address": {"line1": "1 Nowhere Rd", "line2": "", "city": "Nowhere", "state": "KS", "postal_code": "66000", "country": "US"},
    "credit_freeze": False,
    "e_services_username": None,
}


def name_key(text: str) -> str:
    return plain(text).replace(" ", "")


def phone_key(vault: Vault, e164: str) -> str:
    return vault.digest("phone", e164)


def ssn_key(vault: Vault, digits: str) -> str:
    return vault.digest("ssn", re.sub(r"\D", "", digits))


class LocalRecords:
    def __init__(self, sessions: async_sessionmaker, vault: Vault, clock: Clock):
        self.sessions = sessions
        self.vault = vault
        self.clock = clock
        self._stand_in_token: str | None = None

    async def _person(self, session, ssn_hash: str) -> tuple[Any, dict | None]:
        conn = await connection(session)
        row = (await run(conn, _PERSON, {"ssn_hash": ssn_hash})).first()
        if row is None:
            return None, None
        return row, self.vault.decrypt(row.record_enc, context="record")

    def _stand_in(self) -> dict:
        """A made-up record, sealed like a real one: a claim whose SSN isn't in the records is
        compared against it, so the check does the same work (one lookup, one decryption, every
        comparison) whether or not the SSN exists."""
        if self._stand_in_token is None:
            self._stand_in_token = self.vault.encrypt(_STAND_IN, context="record")
        return self.vault.decrypt(self._stand_in_token, context="record")

    async def verify_identity(self, claim: IdentityClaim) -> IdentityResult:
        """Compare a claim with the record of its SSN, disclosing in order: while the SSN, date of
        birth, name or filing status differ (or the SSN isn't in the records) the only answer is
        the one category ``identity``; which part of the address differs, and why it may, is said
        only once all four match."""
        async with session_scope(self.sessions) as session:
            row, rec = await self._person(session, claim.ssn_hash)
        if rec is None:
            rec = self._stand_in()
        core = row is not None
        core &= name_key(claim.first_name) == name_key(rec["first_name"])
        core &= name_key(claim.last_name) == name_key(rec["last_name"])
        core &= claim.date_of_birth.isoformat() == rec["date_of_birth"]
        core &= claim.filing_status == rec["filing_status"]
        record_address = Address.from_dict(rec["address"])
        # The same address in every layout the records use for its country, all compared whatever
        # the outcome (the work doesn't depend on the record): one check, one try.
        tried = layouts(claim.address)
        compared = [(layout, differences(layout.address, record_address)) for layout in tried]
        matched = next((layout for layout, diff in compared if not diff), None)
        closest, address_diff = min(compared, key=lambda pair: len(pair[1]))
        causes = tuple(c for c in likely_causes(closest.address, record_address) if c not in TRIED_CAUSES)
        if not core:
            return IdentityResult(False, frozenset({IDENTITY_MISMATCH}))
        if matched is None:
            return IdentityResult(
                False, frozenset(address_diff), causes=causes, layout=closest.code, layouts_tried=len(tried)
            )
        return IdentityResult(
            True,
            frozenset(),
            bool(row.e_services_username_key),
            layout=matched.code,
            layouts_tried=len(tried),
        )

    async def verify_financial(self, ssn_hash, kind, last8, card_network, card_kind) -> FinancialResult:
        async with session_scope(self.sessions) as session:
            row, rec = await self._person(session, ssn_hash)
            if row is None:
                return FinancialResult(False)
            if rec.get("credit_freeze"):
                return FinancialResult(False, credit_freeze=True)
            wanted = self.vault.digest("account", last8)
            conn = await connection(session)
            found = (await run(conn, _ACCOUNT, {"ssn_hash": ssn_hash, "kind": kind, "last8_hash": wanted})).scalar()
        return FinancialResult(found is not None)

    async def phone_status(self, ssn_hash: str, e164: str) -> PhoneStatus:
        async with session_scope(self.sessions) as session:
            conn = await connection(session)
            row = (await run(conn, _PHONE, {"ssn_hash": ssn_hash, "phone_hash": phone_key(self.vault, e164)})).first()
        if row is None:
            return PhoneStatus(in_name=False, text_enabled=False)
        return PhoneStatus(in_name=True, text_enabled=row.text_enabled)

    async def has_e_services(self, ssn_hash: str) -> bool:
        async with session_scope(self.sessions) as session:
            row = await session.get(Taxpayer, ssn_hash)
        return bool(row and row.e_services_username_key)

    async def person_of_record(self, ssn_hash: str) -> dict | None:
        """Name and address of record, for letters to a person already verified (never shown)."""
        async with session_scope(self.sessions) as session:
            row, rec = await self._person(session, ssn_hash)
        if row is None:
            return None
        return {
            "first_name": rec["first_name"],
            "last_name": rec["last_name"],
            "address": rec["address"],
            "e_services_username": rec.get("e_services_username"),
        }

    async def e_services_sign_in(self, username: str, password: str) -> str | None:
        """The person (SSN hash) whose existing e-Services account these credentials open."""
        async with session_scope(self.sessions) as session:
            row = await session.scalar(select(Taxpayer).where(Taxpayer.e_services_username_key == username.lower()))
        stored = row.e_services_password_hash if row else None
        if not await self.vault.verify_password(stored, password):
            return None
        return row.ssn_hash

    async def count(self) -> int:
        async with session_scope(self.sessions) as session:
            return await session.scalar(select(func.count()).select_from(Taxpayer)) or 0


# -- import ---------------------------------------------------------------------------------


class RecordsFileError(ValueError):
    pass


def _e164(number: str) -> str:
    parsed = phonenumbers.parse(str(number), "US")
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


def _person_from_yaml(raw: dict[str, Any], index: int) -> dict[str, Any]:
    where = f"taxpayer #{index + 1}"
    # errors name the record and the field, never a value (the file holds personal data)
    field = "ssn"
    try:
        ssn = re.sub(r"\D", "", str(raw["ssn"]))
        if len(ssn) != 9:
            raise RecordsFileError(f"{where}: ssn must have 9 digits")
        field = "date_of_birth"
        dob = raw["date_of_birth"]
        dob = dob if isinstance(dob, date) else datetime.strptime(str(dob), "%Y-%m-%d").date()
        status = str(raw["filing_status"])
        if status not in FILING_STATUSES:
            raise RecordsFileError(f"{where}: filing_status must be one of {', '.join(FILING_STATUSES)}")
        field = "address"
        addr = raw.get("address") or {}
        address = Address.from_dict({k: ("" if v is None else str(v)) for k, v in addr.items()})
        field = "financial_accounts"
        accounts = []
        for acc in raw.get("financial_accounts") or []:
            kind = str(acc["type"])
            if kind not in ACCOUNT_KINDS:
                raise RecordsFileError(f"{where}: financial account type must be one of {', '.join(ACCOUNT_KINDS)}")
            digits = re.sub(r"\D", "", str(acc["number"]))
            accounts.append(
                {
                    "kind": kind,
                    "last8": digits[-8:],
                    "card_network": acc.get("card_network"),
                    "card_kind": acc.get("card_kind"),
                }
            )
        field = "phones"
        phones = [
            {"e164": _e164(p["number"]), "text_enabled": bool(p.get("text_enabled", True))}
            for p in raw.get("phones") or []
        ]
        e_services = raw.get("e_services") or None
        return {
            "ssn": ssn,
            "first_name": str(raw["first_name"]),
            "last_name": str(raw["last_name"]),
            "date_of_birth": dob.isoformat(),
            "filing_status": status,
            "address": address.to_dict(),
            "credit_freeze": bool(raw.get("credit_freeze", False)),
            "accounts": accounts,
            "phones": phones,
            "e_services": e_services,
        }
    except KeyError as exc:
        raise RecordsFileError(f"{where}: missing field {exc.args[0]!r}") from None
    except (TypeError, ValueError, phonenumbers.NumberParseException) as exc:
        if isinstance(exc, RecordsFileError):
            raise
        raise RecordsFileError(f"{where}: {field} is not valid") from None


def read_records_file(path: Path | str) -> list[dict[str, Any]]:
    try:
        raw = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        # (the library's message quotes the lines around the problem: names, dates of birth)
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
        raise RecordsFileError(f"not valid YAML{where}") from None
    if not isinstance(raw, dict) or not isinstance(raw.get("taxpayers"), list):
        raise RecordsFileError("the file must hold a 'taxpayers:' list")
    return [_person_from_yaml(p, i) for i, p in enumerate(raw["taxpayers"])]


async def import_people(sessions: async_sessionmaker, vault: Vault, clock: Clock, people: list[dict]) -> int:
    """Store people, replacing anyone already stored under the same SSN. Returns how many."""
    now = clock.now()
    async with sessions() as session, session.begin():
        for person in people:
            key = ssn_key(vault, person["ssn"])
            await session.execute(delete(RecordAccount).where(RecordAccount.ssn_hash == key))
            await session.execute(delete(RecordPhone).where(RecordPhone.ssn_hash == key))
            await session.execute(delete(Taxpayer).where(Taxpayer.ssn_hash == key))
            es = person["e_services"]
            es_user = str(es["username"]).lower() if es and es.get("username") else None
            if es_user:
                # a username can belong to one person: a re-import under another SSN moves it
                await session.execute(delete(Taxpayer).where(Taxpayer.e_services_username_key == es_user))
            record = {k: person[k] for k in ("first_name", "last_name", "date_of_birth", "filing_status", "address", "credit_freeze")}
            record["e_services_username"] = es.get("username") if es else None
            session.add(
                Taxpayer(
                    ssn_hash=key,
                    record_enc=vault.encrypt(record, context="record"),
                    e_services_username_key=es_user,
                    e_services_password_hash=(
                        await vault.hash_password(str(es["password"])) if es and es.get("password") else None
                    ),
                    imported_at=now,
                )
            )
            await session.flush()
            for acc in person["accounts"]:
                session.add(
                    RecordAccount(
                        ssn_hash=key,
                        kind=acc["kind"],
                        card_network=acc["card_network"],
                        card_kind=acc["card_kind"],
                        last8_hash=vault.digest("account", acc["last8"]),
                    )
                )
            for ph in person["phones"]:
                session.add(
                    RecordPhone(ssn_hash=key, phone_hash=phone_key(vault, ph["e164"]), text_enabled=ph["text_enabled"])
                )
    return len(people)


def demo_records_path() -> Path:
    return Path(__file__).with_name("data") / "demo_records.yaml"

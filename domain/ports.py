"""What the flows need from the outside world, as plain types and protocols.

The identity authority (``RecordsAdapter``) is implemented in ``bot.records``; flows only see
these shapes, so a real authority or a test double can stand in.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Protocol

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


@dataclass(frozen=True)
class IdentityResult:
    matched: bool
    #: categories that differ: "ssn" (no such person), "name", "date_of_birth", "filing_status",
    #: and the address categories of domain.addresses
    mismatches: frozenset[str] = frozenset()
    #: the person has an existing e-Services account (exception processing is open to them)
    e_services: bool = False
    #: for an address difference, the likely kinds of difference (domain.addresses cause codes)
    causes: tuple[str, ...] = ()


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

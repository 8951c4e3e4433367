"""Address normalisation and comparison.

Two addresses that mean the same place must compare equal: U.S. addresses are put in USPS
Publication 28 form with usaddress-scourgify (Street -> ST, Apartment -> APT, North -> N, line 2
split out of line 1), ZIP+4 is compared on its first five digits, and foreign addresses are
compared after case, punctuation and spacing are evened out. The result is a set of categories
("address_line", "city", "state", "postal_code", "country") naming what differs, never the values.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field

from scourgify import normalize_address_record

CATEGORIES = ("address_line", "city", "state", "postal_code", "country")


@dataclass(frozen=True)
class Address:
    line1: str
    line2: str = ""
    city: str = ""
    state: str = ""
    postal_code: str = ""
    country: str = "US"

    @classmethod
    def from_dict(cls, raw: dict) -> "Address":
        return cls(
            line1=str(raw.get("line1") or ""),
            line2=str(raw.get("line2") or ""),
            city=str(raw.get("city") or ""),
            state=str(raw.get("state") or ""),
            postal_code=str(raw.get("postal_code") or ""),
            country=str(raw.get("country") or "US").upper(),
        )

    def to_dict(self) -> dict:
        return {
            "line1": self.line1,
            "line2": self.line2,
            "city": self.city,
            "state": self.state,
            "postal_code": self.postal_code,
            "country": self.country,
        }

    @property
    def domestic(self) -> bool:
        return self.country == "US"

    def lines(self) -> list[str]:
        """The address as it would be printed on an envelope."""
        out = [self.line1]
        if self.line2:
            out.append(self.line2)
        if self.domestic:
            out.append(f"{self.city}, {self.state} {self.postal_code}".strip())
        else:
            out.append(" ".join(p for p in (self.city, self.state, self.postal_code) if p))
            out.append(self.country)
        return out


def plain(text: str) -> str:
    """Upper case, accents removed, punctuation dropped, spaces collapsed."""
    text = unicodedata.normalize("NFKD", text or "")
    text = "".join(ch for ch in text if not unicodedata.combining(ch))
    text = re.sub(r"[^\w\s]", " ", text.upper())
    return re.sub(r"\s+", " ", text).strip()


@dataclass(frozen=True)
class Normalised:
    street: str  # line 1 and line 2 together
    city: str
    state: str
    postal_code: str
    country: str
    extras: dict = field(default_factory=dict, compare=False)


def normalise(addr: Address) -> Normalised:
    if addr.domestic:
        try:
            rec = normalize_address_record(
                {
                    "address_line_1": addr.line1,
                    "address_line_2": addr.line2 or None,
                    "city": addr.city,
                    "state": addr.state,
                    "postal_code": addr.postal_code,
                }
            )
            street = " ".join(p for p in (rec.get("address_line_1"), rec.get("address_line_2")) if p)
            return Normalised(
                plain(street),
                plain(rec.get("city") or addr.city),
                plain(rec.get("state") or addr.state),
                re.sub(r"\D", "", rec.get("postal_code") or addr.postal_code)[:5],
                "US",
            )
        except Exception:  # noqa: BLE001 - scourgify refuses what it can't parse; fall back to plain
            pass
        return Normalised(
            plain(f"{addr.line1} {addr.line2}"),
            plain(addr.city),
            plain(addr.state),
            re.sub(r"\D", "", addr.postal_code)[:5],
            "US",
        )
    return Normalised(
        plain(f"{addr.line1} {addr.line2}"),
        plain(addr.city),
        plain(addr.state),
        plain(addr.postal_code).replace(" ", ""),
        addr.country.upper(),
    )


def differences(entered: Address, record: Address) -> set[str]:
    """Categories in which the entered address differs from the record's (empty: a match)."""
    a, b = normalise(entered), normalise(record)
    diff: set[str] = set()
    if a.country != b.country:
        diff.add("country")
    if a.street != b.street:
        diff.add("address_line")
    if a.city != b.city:
        diff.add("city")
    if a.state != b.state:
        diff.add("state")
    if a.postal_code != b.postal_code:
        diff.add("postal_code")
    return diff

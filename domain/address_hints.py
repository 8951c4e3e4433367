"""Hints about an address that doesn't match the record: which known convention probably
explains the difference (:func:`likely_causes`, codes only, never the record's values) and ways of
rewriting the user's own input following those conventions (:func:`variants`). See
domain.addresses for how addresses are compared.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import replace

from scourgify import normalize_address_record

from domain.addresses import (
    _US_TERRITORIES,
    Address,
    _compact,
    _country_code,
    _country_name_keys,
    _diff,
    _noise_words,
    _province_code,
    _s,
    _state_forms,
    _street_key,
    country_name,
    normalise,
    plain,
)
from domain.i18n import _


# -- likely causes ----------------------------------------------------------------------------


def _ends_with(tokens: list[str], tail: tuple[str, ...]) -> bool:
    return bool(tail) and len(tokens) >= len(tail) and tuple(tokens[-len(tail) :]) == tail


def _likely_causes(entered: Address, record: Address) -> list[str]:
    a, b = normalise(entered), normalise(record)
    diff = _diff(a, b)
    causes: list[str] = []
    explained: set[str] = set()

    if not diff:
        # Nothing that matters here; name the format differences a stricter check might mind.
        if a.country == "US" and b.country == "US":
            da = re.sub(r"\D", "", _s(entered.postal_code))
            db = re.sub(r"\D", "", _s(record.postal_code))
            if da != db and (len(da) == 9 or len(db) == 9):
                causes.append("zip_plus4")
        l2a, l2b = bool(_s(entered.line2).strip()), bool(_s(record.line2).strip())
        if l2a and not l2b:
            causes.append("line2_folded")
        elif l2b and not l2a:
            causes.append("line2_split")
        same_plain = (
            _compact(plain(f"{_s(entered.line1)} {_s(entered.line2)}"))
            == _compact(plain(f"{_s(record.line1)} {_s(record.line2)}"))
            and _compact(plain(_s(entered.city))) == _compact(plain(_s(record.city)))
            and _compact(plain(_s(entered.state))) == _compact(plain(_s(record.state)))
        )
        if not same_plain:
            causes.append("abbreviation")
        return causes

    country = a.country
    abroad = a.country != "US" or b.country != "US"
    city_a, city_b = a.city.split(), b.city.split()
    names = _country_name_keys(country) | _country_name_keys(b.country)

    if "city" in diff and abroad:
        in_record = any(tuple(city_b) == n or _ends_with(city_b, n) for n in names)
        in_entered = any(tuple(city_a) == n for n in names)
        if in_record and not in_entered:
            causes.append("country_in_city")
            explained.add("city")
        elif city_a and len(city_b) > len(city_a) and city_b[: len(city_a)] == city_a:
            tail = tuple(city_b[len(city_a) :])
            forms = _state_forms(_s(entered.state), country) | _state_forms(_s(record.state), country)
            if tail in forms or (len(tail) <= 3 and not _s(entered.state).strip()):
                causes.append("province_in_city")
                explained.add("city")
                if "state" in diff and (not b.state or tail in forms):
                    explained.add("state")

    street_a = _compact(a.street)
    street_b = _compact(b.street)
    if abroad and ("address_line" in diff or "postal_code" in diff):
        for postal in (a.postal_code, b.postal_code):
            if len(postal) < 3 or postal in street_a:
                continue
            if street_b.startswith(postal) or street_b.endswith(postal):
                causes.append("postal_in_line1")
                rest = street_b[len(postal) :] if street_b.startswith(postal) else street_b[: -len(postal)]
                if "address_line" in diff and rest in a.keys()["address_line"]:
                    explained.add("address_line")
                    street_b = rest
                if "postal_code" in diff and (not b.postal_code or postal == b.postal_code):
                    explained.add("postal_code")
                break

    if "address_line" in diff and "address_line" not in explained:
        l1a, l1b = _street_key(_s(entered.line1)), _street_key(_s(record.line1))
        l2a, l2b = bool(_s(entered.line2).strip()), bool(_s(record.line2).strip())
        if l2a and not l2b and l1a and l1b.startswith(l1a):
            causes.append("line2_folded")
            explained.add("address_line")
        elif l2b and not l2a and l1b and l1a.startswith(l1b):
            causes.append("line2_split")
            explained.add("address_line")
        else:
            noise = _noise_words()
            bare_a = [t for t in a.street.split() if t not in noise]
            bare_b = [t for t in b.street.split() if t not in noise]
            if bare_a and "".join(bare_a) == "".join(bare_b):
                causes.append("abbreviation")
                explained.add("address_line")

    remaining = diff - explained
    if remaining:
        similar = difflib.SequenceMatcher(None, street_a, street_b).ratio() >= 0.75
        if "address_line" in remaining and remaining & {"city", "postal_code", "country"} and not similar:
            causes.append("moved")
        else:
            causes.append("unknown")
    return list(dict.fromkeys(causes))


def likely_causes(entered: Address, record: Address) -> list[str]:
    """Codes (see :data:`CAUSES`) of the known conventions that would explain how the entered
    address differs from the record's, most telling first. Only codes come out, never values.

    When :func:`differences` finds nothing, the list names only format differences it tolerates
    (ZIP+4, line 2 placement, abbreviations), for a stricter check; identical input gives ``[]``.
    Never raises ("unknown" if something goes wrong).
    """
    try:
        return _likely_causes(entered, record)
    except Exception:  # noqa: BLE001
        return ["unknown"]


# -- variants of the user's own input -----------------------------------------------------------

_SPLIT_RE = re.compile(
    r"^(?P<street>.*?\w.*?)[\s,]+(?P<unit>(?:#|(?:apartment|apt|unit|suite|ste|room|rm|floor|fl|"
    r"building|bldg|lot|trailer|trlr|space|spc)\b\.?)\s*\S.*)$",
    re.IGNORECASE,
)

_MAX_VARIANTS = 5


def _raw_key(addr: Address) -> tuple[str, ...]:
    return tuple(_compact(plain(_s(v))) for v in addr.to_dict().values())


def _clean(addr: Address) -> Address:
    return Address(*(re.sub(r"\s+", " ", _s(v)).strip() for v in addr.to_dict().values()))


def _variants(entered: Address) -> list[tuple[str, str, Address]]:
    e = _clean(entered)
    seen = {_raw_key(e)}
    out: list[tuple[str, str, Address]] = []

    def add(code: str, label: str, addr: Address) -> None:
        addr = _clean(addr)
        key = _raw_key(addr)
        if key not in seen and len(out) < _MAX_VARIANTS:
            seen.add(key)
            out.append((code, label, addr))

    code = _country_code(e.country)
    if code in _US_TERRITORIES:
        code = "US"
    if code != "US":
        name = country_name(code)
        if name and _street_key(e.city) != _street_key(name):
            add("country_in_city", _("Country name as the city"), replace(e, city=name))
        if e.postal_code and not _compact(plain(e.line1)).startswith(_compact(plain(e.postal_code))):
            moved_postal = replace(e, line1=f"{e.postal_code} {e.line1}")
            add("postal_in_line1", _("Postal code at the start of line 1"), moved_postal)
        if e.state:
            province = _province_code(e.state, code)
            moved_province = replace(e, city=f"{e.city} {province}", state="")
            add("province_in_city", _("Province at the end of the city"), moved_province)
        if e.line2:
            add("line2_folded", _("Line 2 joined onto line 1"), replace(e, line1=f"{e.line1} {e.line2}", line2=""))
        return out

    if e.line2:
        add("line2_folded", _("Apt/suite number on line 1"), replace(e, line1=f"{e.line1} {e.line2}", line2=""))
    else:
        m = _SPLIT_RE.match(e.line1)
        if m:
            add("line2_split", _("Apt/suite number on line 2"), replace(e, line1=m["street"].rstrip(" ,"), line2=m["unit"]))
    digits = re.sub(r"\D", "", e.postal_code)
    if len(digits) == 9 and digits.isascii():
        add("zip_plus4", _("Five-digit ZIP code only"), replace(e, postal_code=digits[:5]))
    rec = usps_record(e)
    if rec is not None:
        usps = replace(
            e,
            line1=_s(rec.get("address_line_1")),
            line2=_s(rec.get("address_line_2")),
            state=_s(rec.get("state")) or e.state,
        )
        if usps.line1:
            add("abbreviation", _("USPS short forms (St, Apt)"), usps)
    return out


def usps_record(e: Address) -> dict | None:
    """The address's parts in the USPS standard form (Pub. 28 short forms, upper case), or None if
    the parser refuses it."""
    try:
        return normalize_address_record(
            {
                "address_line_1": e.line1,
                "address_line_2": e.line2 or None,
                "city": e.city,
                "state": e.state,
                "postal_code": e.postal_code,
            }
        )
    except Exception:  # noqa: BLE001 - the parser refuses what it can't read: no such form
        return None


def variants(entered: Address) -> list[tuple[str, str, Address]]:
    """Other ways to write the user's own address following the record conventions, as
    ``(cause code, short button label, Address)``. Only variants that change something, no
    duplicates, at most five. Never raises (an empty list if something goes wrong)."""
    try:
        return _variants(entered)
    except Exception:  # noqa: BLE001
        return []

"""The layouts the tax records use for addresses, and the same address written in each of them.

The conventions are data (``domain/data/address_layouts.yaml``): per country, the moves the
records make (the country's name in the city field, the postal code at the start of line 1, the
province at the end of the city or left out), the country's name as the records write it, what a
postal code's first letter says about the province, and the time zones of its provinces.

:func:`layouts` writes the person's own address in every layout of their country: each move
alone and the moves combined, always with the parts the person typed and nothing else. An
identity check compares all of them with the record as ONE try (bot/records.py), and says which
layout matched.
"""

from __future__ import annotations

import importlib.resources
import itertools
import re
from dataclasses import dataclass, replace
from functools import lru_cache

import yaml

from domain.addresses import _US_TERRITORIES, Address, _compact, _country_code, _province_code, _s, country_name, plain
from domain.i18n import N_, _

#: how the moves combine: one choice per field (None: the field as typed)
_CITY_MOVES = (None, "country_as_city")
_POSTAL_MOVES = (None, "postal_in_line1")
_PROVINCE_MOVES = (None, "province_in_city", "province_dropped")
AS_TYPED = "as_typed"
#: the order layouts are tried (and named) in: fewest moves first, then in this order
_ORDER = ("usps", "country_as_city", "postal_in_line1", "province_in_city", "province_dropped", "state_in_city")


@lru_cache(maxsize=1)
def conventions() -> dict:
    """The layout data file, read once."""
    resource = importlib.resources.files("domain") / "data" / "address_layouts.yaml"
    return yaml.safe_load(resource.read_text(encoding="utf-8")) or {}


def country_conventions(country: str) -> dict:
    """The entry of a country (ISO alpha-2), or the default entry for a country not listed."""
    data = conventions()
    return (data.get("countries") or {}).get(_s(country).upper()) or data.get("default") or {}


def military() -> dict:
    return conventions().get("military") or {}


def is_military(addr: Address) -> bool:
    """An APO/FPO/DPO address (a U.S. address with the military state AA, AE or AP)."""
    states = (military().get("zip_prefixes") or {}).keys()
    return plain(addr.state) in states or plain(addr.city) in set(military().get("cities") or ())


#: the words of the data file's ``labels:``, for translation (a test keeps the two lists equal);
#: :func:`label` reads them from the data file and translates them where they are shown
LABELS = (
    N_("as you typed it"),
    N_("USPS short forms (Publication 28)"),
    N_("country's name as the city"),
    N_("postal code at the start of line 1"),
    N_("province at the end of the city"),
    N_("province left out"),
    N_("APO/FPO/DPO and the military state together in the city"),
)


def label(code: str) -> str:
    """The words for a layout code, in the current language; several moves are joined with '+'
    ("country_as_city+...")."""
    labels = conventions().get("labels") or {}
    parts = (code or AS_TYPED).split("+")
    return ", ".join(_(labels[part]) if labels.get(part) else part.replace("_", " ") for part in parts)


def records_name(country: str) -> str:
    """The country's name as the records write it in the city field."""
    return country_conventions(country).get("records_name") or country_name(country) or country


@dataclass(frozen=True)
class Layout:
    #: the moves made, joined with "+" ("as_typed" for none)
    code: str
    address: Address

    @property
    def label(self) -> str:
        return label(self.code)


def _raw_key(addr: Address) -> tuple[str, ...]:
    return tuple(_compact(plain(_s(v))) for v in addr.to_dict().values())


def _abroad_layouts(e: Address, code: str) -> list[tuple[list[str], Address]]:
    moves = set(country_conventions(code).get("moves") or ())
    out: list[tuple[list[str], Address]] = []
    for city_move, postal_move, province_move in itertools.product(_CITY_MOVES, _POSTAL_MOVES, _PROVINCE_MOVES):
        made = [m for m in (city_move, postal_move, province_move) if m]
        if any(m not in moves for m in made):
            continue
        addr = e
        if city_move:
            addr = replace(addr, city=records_name(code))
        if postal_move:
            if not e.postal_code:
                continue
            addr = replace(addr, line1=f"{e.postal_code} {e.line1}".strip(), postal_code="")
        if province_move:
            if not e.state:
                continue
            city = addr.city
            if province_move == "province_in_city":
                city = f"{city} {_province_code(e.state, code)}".strip()
            addr = replace(addr, city=city, state="")
        out.append((made, addr))
    return out


def _usps_form(e: Address) -> Address | None:
    """The address in the USPS standard form (Pub. 28 short forms, upper case), or None if the
    parser refuses it."""
    from domain.address_hints import usps_record

    rec = usps_record(e)
    if rec is None:
        return None
    line1 = _s(rec.get("address_line_1"))
    if not line1:
        return None
    return replace(
        e,
        line1=line1,
        line2=_s(rec.get("address_line_2")),
        city=_s(rec.get("city")) or e.city,
        state=_s(rec.get("state")) or e.state,
    )


def _domestic_layouts(e: Address) -> list[tuple[list[str], Address]]:
    entry = military() if is_military(e) else (conventions().get("us") or {})
    moves = list(entry.get("moves") or ())
    out: list[tuple[list[str], Address]] = []
    usps = _usps_form(e) if "usps" in moves else None
    if usps is not None:
        out.append((["usps"], usps))
    if "state_in_city" in moves and e.state:
        for made, base in [([], e)] + out[:1]:
            out.append((made + ["state_in_city"], replace(base, city=f"{base.city} {plain(base.state)}".strip(), state="")))
    return out


def layouts(entered: Address) -> list[Layout]:
    """The person's address in every layout the records use for its country: as typed first,
    then each move alone, then the moves combined. Only rearrangements of what was typed (the
    country's name comes from the country typed); no duplicates. Never raises (the address as
    typed, at least)."""
    e = Address(*(re.sub(r"\s+", " ", _s(v)).strip() for v in entered.to_dict().values()))
    out = [Layout(AS_TYPED, e)]
    try:
        code = _country_code(e.country)
        domestic = code == "US" or code in _US_TERRITORIES
        candidates = _domestic_layouts(e) if domestic else _abroad_layouts(e, code)
    except Exception:  # noqa: BLE001 - the address as typed is always tried
        return out
    seen = {_raw_key(e)}
    for made, addr in sorted(candidates, key=lambda c: (len(c[0]), [_ORDER.index(m) for m in c[0]])):
        key = _raw_key(addr)
        if made and key not in seen:
            seen.add(key)
            out.append(Layout("+".join(made), addr))
    return out


#: the cause codes (domain.addresses.CAUSES) that the layouts already try
TRIED_CAUSES = frozenset({"country_in_city", "postal_in_line1", "province_in_city", "abbreviation", "zip_plus4"})


def zone_of_province(country: str, province: str) -> str | None:
    """The time zone of a province or state abroad (from the layout data), or the country's own
    zone, or None when the data has neither."""
    entry = (conventions().get("countries") or {}).get(_s(country).upper()) or {}
    zones = entry.get("zones") or {}
    if province:
        code = _province_code(province, country.upper())
        zone = zones.get(_s(code).upper()) or zones.get(plain(province))
        if zone:
            return zone
    return entry.get("zone")


def province_of_postal_code(country: str, postal: str) -> list[str] | None:
    """The provinces a postal code's first letter belongs to, or None where the data doesn't say."""
    entry = (conventions().get("countries") or {}).get(_s(country).upper()) or {}
    table = (entry.get("postal") or {}).get("first_letter") or {}
    first = plain(postal)[:1]
    return list(table[first]) if table and first in table else None


def variants_left(entered: Address) -> list[tuple[str, str, Address]]:
    """The one-tap rewrites of domain.address_hints.variants that an identity check of
    ``entered`` has NOT already tried through :func:`layouts` (those that compare differently
    from every layout tried), as ``(cause code, label, Address)``. Built from the address as it
    is now, so a suggestion never brings back an answer changed since."""
    from domain.address_hints import variants
    from domain.addresses import normalise

    try:
        tried = [normalise(layout.address).keys() for layout in layouts(entered)]
        left = []
        for code, text, addr in variants(entered):
            keys = normalise(addr).keys()
            if code in TRIED_CAUSES or any(all(keys[c] & t[c] for c in keys) for t in tried):
                continue
            left.append((code, text, addr))
        return left
    except Exception:  # noqa: BLE001 - no suggestion rather than a wrong one
        return []

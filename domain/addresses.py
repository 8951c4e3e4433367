"""Address normalisation, comparison and hints.

Two addresses that mean the same place must compare equal. Each field is reduced to a comparison
key: case, accents, punctuation and spacing are evened out; street words take their USPS
Publication 28 short forms both ways (Street/St, Apartment/Apt, North/N, Saint/St, First/1st), and
"#", Apt, Apartment and Unit count as one designator; line 2 is read together with line 1, so it
does not matter on which line an apartment number was typed; state and province names become their
codes (Illinois/IL, Ontario/ON); a U.S. ZIP code is compared on its first five digits and a foreign
postal code without spaces. For U.S. addresses usaddress-scourgify's reading of the street is used
as a second opinion (either reading matching is enough); if it refuses the input we keep our own.

:func:`differences` answers with the categories that differ ("address_line", "city", "state",
"postal_code", "country"), never with values. The record conventions used for addresses abroad
(the country's name in the city field, the postal code at the start of line 1, the province at the
end of the city) are NOT evened out here: an identity check tries the address in each of them
(domain.address_layouts), so a comparison says which one matched. domain.address_hints names which known convention probably explains a
difference (codes only, never the record's values) and proposes ways of rewriting the user's own
input following those conventions.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from functools import lru_cache

from scourgify import normalize_address_record

from domain.i18n import N_, current_language

try:  # the tables ship with scourgify; keep working if a future release moves them
    from scourgify.address_constants import (
        DIRECTIONAL_REPLACEMENTS as _SC_DIRECTIONALS,
        OCCUPANCY_TYPE_ABBREVIATIONS as _SC_OCCUPANCY,
        STATE_ABBREVIATIONS as _SC_STATES,
        STREET_TYPE_ABBREVIATIONS as _SC_STREET_TYPES,
    )
except Exception:  # noqa: BLE001 - pragma: no cover
    _SC_DIRECTIONALS, _SC_OCCUPANCY, _SC_STATES, _SC_STREET_TYPES = {}, {}, {}, {}

CATEGORIES = ("address_line", "city", "state", "postal_code", "country")

#: Cause codes returned by :func:`likely_causes` and used by :func:`variants`.
CAUSES = (
    "country_in_city",
    "postal_in_line1",
    "province_in_city",
    "line2_folded",
    "line2_split",
    "zip_plus4",
    "abbreviation",
    "moved",
    "unknown",
)

#: What each cause code means, in words the bot can show. None of them claims to know the record.
#: (Marked for translation: shown as ``_(EXPLANATIONS[code])``.)
EXPLANATIONS: dict[str, str] = {
    "country_in_city": N_(
        "For addresses abroad, the records often keep the name of the country in the city field "
        "instead of the city itself. Try typing your country's name (for example Canada) as the city."
    ),
    "postal_in_line1": N_(
        "For addresses abroad, the records sometimes put the postal code at the start of the first "
        "address line. Try typing the postal code before the street on line 1."
    ),
    "province_in_city": N_(
        "For addresses abroad, the province or state may be stored at the end of the city field "
        "rather than on its own. Try adding it after the city name and leaving the province empty."
    ),
    "line2_folded": N_(
        "The records may hold your apartment, suite or unit number on the first address line, or "
        "written a little differently. Try typing it at the end of line 1 and leaving line 2 empty."
    ),
    "line2_split": N_(
        "The records may keep your apartment, suite or unit number on a second address line. Try "
        "moving it from line 1 to line 2."
    ),
    "zip_plus4": N_(
        "The records may hold only the five-digit ZIP code, or the ZIP+4 form. Try the other form "
        "of your ZIP code."
    ),
    "abbreviation": N_(
        "The records may spell the street type, a direction or the unit differently, for example "
        "Street or St, North or N, Apt or #. Try the short postal forms, or the words in full."
    ),
    "moved": N_(
        "The address may have changed since the return the records hold, for example after a move. "
        "Use the address printed on your last-filed return, even if you no longer live there."
    ),
    "unknown": N_(
        "Part of the address may be written differently in the records. Check each line against "
        "your last-filed return, character by character."
    ),
}

#: (shown as ``_(WHY_RECORDS_DIFFER)``)
WHY_RECORDS_DIFFER = N_(
    "The tax records keep addresses in a fixed layout of their own, so yours may be stored a little "
    "differently from how it looks on your return. This happens most often with addresses abroad, "
    "where the country, province or postal code may sit in another field than you would expect. "
    "A move since your last-filed return, or another way of writing an apartment number, can also "
    "stop the details from matching."
)


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

    def postal_lines(self) -> list[str]:
        """The address as a letter's envelope prints it: abroad, the last line is the country's
        name in capitals ("CANADA"), never its two-letter code ("CA" reads as California)."""
        out = self.lines()
        if not self.domestic:
            out[-1] = (country_name(self.country) or self.country).upper()
        return out


def plain(text: str) -> str:
    """Upper case, accents removed, punctuation dropped, spaces collapsed."""
    text = unicodedata.normalize("NFKD", text or "")
    text = "".join(ch for ch in text if not unicodedata.combining(ch))
    text = re.sub(r"[^\w\s]", " ", text.upper())
    return re.sub(r"\s+", " ", text).strip()


def _s(value) -> str:
    """Any field value as text (None and non-strings tolerated)."""
    return value if isinstance(value, str) else ("" if value is None else str(value))


def _compact(text: str) -> str:
    return text.replace(" ", "")


# -- street and city words ---------------------------------------------------------------------

_ORDINAL_UNITS = {
    "FIRST": 1, "SECOND": 2, "THIRD": 3, "FOURTH": 4, "FIFTH": 5, "SIXTH": 6, "SEVENTH": 7,
    "EIGHTH": 8, "NINTH": 9,
}  # fmt: skip
_ORDINAL_WORDS = {
    **_ORDINAL_UNITS,
    "TENTH": 10, "ELEVENTH": 11, "TWELFTH": 12, "THIRTEENTH": 13, "FOURTEENTH": 14,
    "FIFTEENTH": 15, "SIXTEENTH": 16, "SEVENTEENTH": 17, "EIGHTEENTH": 18, "NINETEENTH": 19,
    "TWENTIETH": 20, "THIRTIETH": 30, "FORTIETH": 40, "FIFTIETH": 50, "SIXTIETH": 60,
    "SEVENTIETH": 70, "EIGHTIETH": 80, "NINETIETH": 90, "HUNDREDTH": 100,
}  # fmt: skip
_TENS = {"TWENTY": 20, "THIRTY": 30, "FORTY": 40, "FIFTY": 50, "SIXTY": 60, "SEVENTY": 70, "EIGHTY": 80, "NINETY": 90}


def _ordinal(n: int) -> str:
    if 11 <= n % 100 <= 13:
        return f"{n}TH"
    return f"{n}{ {1: 'ST', 2: 'ND', 3: 'RD'}.get(n % 10, 'TH') }"


#: Designators that people use interchangeably for a dwelling unit: all become APT.
_UNIT_SAME = {"#", "APT", "APARTMENT", "APTMT", "UNIT", "UNT"}
#: "No." and friends before a number carry no meaning of their own.
_NUMBER_WORDS = {"NO", "NR", "NUM", "NUMBER", "NUMERO", "NRO", "NBR"}
_EXTRA_WORDS = {
    "SAINT": "ST", "STE": "STE", "SAINTE": "STE", "FORT": "FT", "MOUNT": "MT", "MOUNTAIN": "MTN",
    "AVENIDA": "AVE", "AVDA": "AVE", "STRASSE": "ST", "STREET": "ST", "BOULEVARD": "BLVD",
    "JUNIOR": "JR", "SENIOR": "SR", "ROUTE": "RTE", "HIGHWAY": "HWY",
}  # fmt: skip
_MULTI_WORDS = (
    (("POST", "OFFICE", "BOX"), ("PO", "BOX")),
    (("P", "O", "BOX"), ("PO", "BOX")),
    (("P", "O", "B"), ("PO", "BOX")),
    (("POB",), ("PO", "BOX")),
    (("RURAL", "ROUTE"), ("RR",)),
    (("HIGHWAY", "CONTRACT"), ("HC",)),
    (("NORTH", "EAST"), ("NE",)),
    (("NORTH", "WEST"), ("NW",)),
    (("SOUTH", "EAST"), ("SE",)),
    (("SOUTH", "WEST"), ("SW",)),
)


@lru_cache(maxsize=1)
def _word_map() -> dict[str, str]:
    words: dict[str, str] = {}
    for table in (_SC_STREET_TYPES, _SC_DIRECTIONALS, _SC_OCCUPANCY):
        for long, short in table.items():
            if " " not in long and " " not in short:
                words[long.upper()] = short.upper()
                words.setdefault(short.upper(), short.upper())
    words.update(_EXTRA_WORDS)
    for word in _UNIT_SAME:
        words[word] = "APT"
    for word, n in _ORDINAL_WORDS.items():
        words[word] = _ordinal(n)
    return words


@lru_cache(maxsize=1)
def _designators() -> frozenset[str]:
    """Short forms of every secondary unit designator (Pub 28 C2), after mapping."""
    return frozenset(v.upper() for v in _SC_OCCUPANCY.values() if " " not in v) | {"APT", "STE"}


@lru_cache(maxsize=1)
def _noise_words() -> frozenset[str]:
    """Street types, directions and designators: what "abbreviation" differences are made of."""
    mapped = _word_map()
    return frozenset(mapped.values()) - {_ordinal(n) for n in _ORDINAL_WORDS.values()}


_GLUED = re.compile(r"\b(APARTMENT|APT|UNIT|SUITE|STE|ROOM|RM|FLOOR|FL|BUILDING|BLDG)(?=\d)")


def _tokens(text: str) -> list[str]:
    """The words of an address line in canonical short form."""
    text = unicodedata.normalize("NFKD", _s(text))
    text = "".join(ch for ch in text if not unicodedata.combining(ch)).upper()
    text = re.sub(r"['\u2019`]", "", text)  # O'Brien = OBrien
    text = text.replace("#", " # ").replace("\u2116", " NO ")  # numero sign
    text = re.sub(r"[^\w\s#]|_", " ", text)
    text = _GLUED.sub(r"\1 ", text)
    raw = text.split()

    # several words that stand for one
    out: list[str] = []
    i = 0
    while i < len(raw):
        for long, short in _MULTI_WORDS:
            if tuple(raw[i : i + len(long)]) == long:
                out.extend(short)
                i += len(long)
                break
        else:
            out.append(raw[i])
            i += 1

    # compound ordinals: TWENTY FIRST -> 21ST
    merged: list[str] = []
    i = 0
    while i < len(out):
        if out[i] in _TENS and i + 1 < len(out) and out[i + 1] in _ORDINAL_UNITS:
            merged.append(_ordinal(_TENS[out[i]] + _ORDINAL_UNITS[out[i + 1]]))
            i += 2
            continue
        merged.append(out[i])
        i += 1

    words = _word_map()
    designators = _designators()
    result: list[str] = []
    for i, tok in enumerate(merged):
        nxt = merged[i + 1] if i + 1 < len(merged) else ""
        if tok in _NUMBER_WORDS and nxt[:1].isdigit():
            continue  # "No. 5" -> "5"
        if tok == "#" and result and result[-1] in designators:
            continue  # "Apt #5" -> "APT 5", "Ste #200" -> "STE 200"
        if tok in words:
            tok = words[tok]
        elif len(tok) > 7 and tok.endswith("STRASSE"):
            tok = tok[:-7] + "ST"  # Hauptstrasse = Hauptstr.
        elif len(tok) > 3 and tok.endswith("STR") and tok[-4].isalpha():
            tok = tok[:-3] + "ST"
        if tok == "APT" and result and result[-1] == "APT":
            continue  # "Apt # 5" after mapping
        result.append(tok)
    return result


def _street_key(text: str) -> str:
    return "".join(_tokens(text))


# -- states, provinces, countries -------------------------------------------------------------

_COUNTRY_ALIASES = {
    "UK": "GB", "GREAT BRITAIN": "GB", "BRITAIN": "GB", "ENGLAND": "GB", "SCOTLAND": "GB",
    "WALES": "GB", "NORTHERN IRELAND": "GB", "USA": "US", "U S A": "US", "U S": "US",
    "AMERICA": "US", "UNITED STATES OF AMERICA": "US", "HOLLAND": "NL", "KOREA": "KR",
    "DEUTSCHLAND": "DE", "TURKEY": "TR", "RUSSIA": "RU", "ESPANA": "ES", "CZECH REPUBLIC": "CZ",
    "IVORY COAST": "CI", "SWAZILAND": "SZ", "BURMA": "MM", "CAPE VERDE": "CV",
}  # fmt: skip
#: U.S. territories written as a country: compared as country US with the territory as the state.
_US_TERRITORIES = frozenset({"PR", "GU", "VI", "AS", "MP", "UM"})
_MILITARY = {"AA": "AA", "AE": "AE", "AP": "AP", "ARMED FORCES AMERICAS": "AA",
             "ARMED FORCES EUROPE": "AE", "ARMED FORCES PACIFIC": "AP"}  # fmt: skip


@lru_cache(maxsize=512)
def _country_code(text: str) -> str:
    """ISO alpha-2 code of a country given as a code or a name; anything else as its plain form."""
    key = plain(text)
    if not key:
        return "US"  # the Address default
    if key in _COUNTRY_ALIASES:
        return _COUNTRY_ALIASES[key]
    try:
        import pycountry

        if len(key) == 2 and pycountry.countries.get(alpha_2=key):
            return key
        return pycountry.countries.lookup(key).alpha_2
    except Exception:  # noqa: BLE001 - unknown or odd text: compare as typed
        pass
    try:
        import pycountry

        for country in pycountry.countries:
            if key in {plain(getattr(country, a, "") or "") for a in ("name", "common_name", "official_name")}:
                return country.alpha_2
    except Exception:  # noqa: BLE001
        pass
    return _compact(key)


@lru_cache(maxsize=256)
def country_name(code: str) -> str:
    """The common English name of a country (``"CA"`` -> ``"Canada"``); "" if unknown."""
    try:
        import pycountry

        country = pycountry.countries.get(alpha_2=_s(code).strip().upper())
    except Exception:  # noqa: BLE001
        return ""
    if country is None:
        return ""
    name = getattr(country, "common_name", None) or country.name
    name = re.sub(r"\s*\(.*?\)", "", name)  # "Holy See (Vatican City State)" -> "Holy See"
    return name.split(",")[0].strip()


def country_label(code: str) -> str:
    """The country's name for the person to read, in the current language ("Canada", "Canadá");
    its code if it has none. (:func:`country_name` stays English: envelopes and the records use it.)"""
    code = _s(code).strip().upper()
    if current_language() != "en":
        try:
            from babel import Locale

            name = Locale.parse(current_language()).territories.get(code)
        except Exception:  # noqa: BLE001 - an unknown locale: the English name
            name = None
        if name:
            return name
    return country_name(code) or code


@lru_cache(maxsize=256)
def _country_name_keys(code: str) -> frozenset[tuple[str, ...]]:
    """Every name a country goes by, as token tuples (for spotting it in a city field)."""
    names: set[str] = set()
    try:
        import pycountry

        country = pycountry.countries.get(alpha_2=code)
        if country is not None:
            for attr in ("name", "common_name", "official_name"):
                value = getattr(country, attr, None)
                if value:
                    names.add(value)
                    names.add(value.split(",")[0])
    except Exception:  # noqa: BLE001
        pass
    names.add(country_name(code))
    names.update(alias for alias, c in _COUNTRY_ALIASES.items() if c == code)
    return frozenset(t for t in (tuple(_tokens(n)) for n in names) if t)


@lru_cache(maxsize=256)
def _subdivisions(country: str) -> dict[str, str]:
    """Plain names and codes of a country's states/provinces -> the local code ("ONTARIO" -> "ON")."""
    table: dict[str, str] = {}
    clashes: set[str] = set()
    try:
        import pycountry

        subs = pycountry.subdivisions.get(country_code=country) or []
    except Exception:  # noqa: BLE001
        subs = []
    for sub in subs:
        local = sub.code.split("-", 1)[-1].upper()
        table.setdefault(plain(local), local)
        name = plain(sub.name)
        if name in table and table[name] != local:
            clashes.add(name)
        table.setdefault(name, local)
    for name in clashes:
        table.pop(name, None)
    if country == "US":
        for long, short in _SC_STATES.items():
            table.setdefault(plain(long), short.upper())
        table.update(_MILITARY)
        table.update({"WASHINGTON DC": "DC", "D C": "DC", "VIRGIN ISLANDS": "VI", "US VIRGIN ISLANDS": "VI"})
    return table


def load_tables() -> None:
    """Load the state/province tables now rather than during someone's first address check
    (pycountry reads the world's subdivisions on first use, ~130 ms), with the records' layouts
    and the USPS ZIP code list (~200 ms)."""
    _subdivisions("US")
    from domain.address_layouts import conventions
    from domain.places import zip_doubt

    conventions()
    zip_doubt("20500", "DC")


def _state_key(text: str, country: str) -> str:
    key = plain(text)
    return _compact(_subdivisions(country).get(key, key)) if key else ""


def _state_forms(text: str, country: str) -> set[tuple[str, ...]]:
    """The ways a state/province may be written (its code and names), as token tuples."""
    key = plain(text)
    if not key:
        return set()
    table = _subdivisions(country)
    code = table.get(key, key)
    forms = {tuple(_tokens(key)), tuple(_tokens(code))}
    forms.update(tuple(_tokens(name)) for name, c in table.items() if c == code)
    return {f for f in forms if f}


def _province_code(text: str, country: str) -> str:
    """A province written as its short code where one is known ("Ontario" -> "ON"), else as typed."""
    code = _subdivisions(country).get(plain(text), "")
    return code if code.isalpha() and len(code) <= 3 else text


def _postal_key(text: str, domestic: bool) -> str:
    text = _s(text)
    if domestic:
        digits = re.sub(r"\D", "", unicodedata.normalize("NFKC", text))
        if not digits.isascii():
            digits = ""
        if len(digits) in (4, 8):  # a leading zero lost on the way (spreadsheets)
            digits = digits.zfill(len(digits) + 1)
        return digits[:5] if digits else _compact(plain(text))
    key = _compact(plain(text))
    # an old-style country prefix: "D-10115", "CH-8001"
    m = re.match(r"^\s*[A-Za-z]{1,3}\s*-\s*(?=\d)", text)
    if m:
        key = _compact(plain(text[m.end() :]))
    return key


# -- normal form ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Normalised:
    street: str  # line 1 and line 2 together, canonical words separated by spaces
    city: str
    state: str
    postal_code: str
    country: str
    extras: dict = field(default_factory=dict, compare=False)

    def keys(self) -> dict[str, frozenset[str]]:
        """Comparison keys per category (two values match when their key sets meet)."""
        streets = {_compact(self.street)}
        alt = self.extras.get("street_alt")
        if alt:
            streets.add(alt)
        return {
            "address_line": frozenset(streets),
            "city": frozenset({_compact(self.city)}),
            "state": frozenset({self.state}),
            "postal_code": frozenset({self.postal_code}),
            "country": frozenset({self.country}),
        }


def _scourgify_street(addr: Address) -> str | None:
    """scourgify's Pub 28 reading of the street lines as a key, or None if it refuses them."""
    line1, line2 = _s(addr.line1).strip(), _s(addr.line2).strip()
    if not line1 or len(line1) + len(line2) > 200:
        return None
    contexts = [(_s(addr.city), _s(addr.state), _s(addr.postal_code)), ("Springfield", "IL", "62704")]
    for city, state, postal in contexts:
        try:
            rec = normalize_address_record(
                {
                    "address_line_1": line1,
                    "address_line_2": line2 or None,
                    "city": city,
                    "state": state,
                    "postal_code": postal,
                }
            )
            street = " ".join(p for p in (rec.get("address_line_1"), rec.get("address_line_2")) if p)
            return _street_key(street) or None
        except Exception:  # noqa: BLE001 - scourgify refuses what it can't parse; fall back to ours
            continue
    return None


def normalise(addr: Address, *, alternatives: bool = True) -> Normalised:
    """The comparison form of an address. Never raises. ``alternatives=False`` leaves out the
    second reading of a U.S. street (scourgify's), which only ever adds a way to match."""
    country = _country_code(_s(addr.country))
    state_text = _s(addr.state)
    if country in _US_TERRITORIES:
        state_text = state_text or country
        country = "US"
    domestic = country == "US"
    street = " ".join(_tokens(f"{_s(addr.line1)} {_s(addr.line2)}"))
    extras: dict = {}
    if domestic and alternatives:
        alt = _scourgify_street(addr)
        if alt and alt != _compact(street):
            extras["street_alt"] = alt
    return Normalised(
        street,
        " ".join(_tokens(_s(addr.city))),
        _state_key(state_text, country),
        _postal_key(addr.postal_code, domestic),
        country,
        extras,
    )


def _diff(a: Normalised, b: Normalised) -> set[str]:
    ka, kb = a.keys(), b.keys()
    return {cat for cat in CATEGORIES if not (ka[cat] & kb[cat])}


def differences(entered: Address, record: Address) -> set[str]:
    """Categories in which the entered address differs from the record's (empty: a match).

    Never raises: if normalising fails for any reason, the fields are compared in plain form.
    """
    try:
        # Alternative readings only add keys, so when the plain forms already match in every
        # category the full ones do too; parsing the streets (the costly part) is left for the
        # addresses that differ.
        if not _diff(normalise(entered, alternatives=False), normalise(record, alternatives=False)):
            return set()
        return _diff(normalise(entered), normalise(record))
    except Exception:  # noqa: BLE001 - a comparison must always answer
        pass
    try:
        pairs = {
            "address_line": (f"{entered.line1} {entered.line2}", f"{record.line1} {record.line2}"),
            "city": (entered.city, record.city),
            "state": (entered.state, record.state),
            "postal_code": (entered.postal_code, record.postal_code),
            "country": (entered.country or "US", record.country or "US"),
        }
        return {cat for cat, (x, y) in pairs.items() if _compact(plain(_s(x))) != _compact(plain(_s(y)))}
    except Exception:  # noqa: BLE001
        return set(CATEGORIES)

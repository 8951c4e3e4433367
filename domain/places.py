"""Validators for the parts of an address: U.S. states and ZIP codes, countries, postal codes,
provinces, street lines and cities. Each takes the user's raw text and returns a normalised value
or raises :class:`~domain.text.Invalid` (see domain.validators)."""

from __future__ import annotations

import functools
import re
import unicodedata

import pycountry
import us

from domain.i18n import N_, _
from domain.text import Invalid, _collapse, _has_unprintable, _is_letter, _nfc, _nfkc, _text


# --------------------------------------------------------------------------------------------------
# U.S. states, ZIP codes

_MILITARY = {
    "AA": "AA",
    "AE": "AE",
    "AP": "AP",
    "armed forces americas": "AA",
    "armed forces america": "AA",
    "armed forces europe": "AE",
    "armed forces africa": "AE",
    "armed forces canada": "AE",
    "armed forces middle east": "AE",
    "armed forces pacific": "AP",
}

_STATE_ALIASES = {
    "washington dc": "DC",
    "washington d c": "DC",
    "d c": "DC",
    "dc": "DC",
    "the district of columbia": "DC",
    "us virgin islands": "VI",
    "u s virgin islands": "VI",
    "united states virgin islands": "VI",
    "virgin islands of the united states": "VI",
    "northern marianas": "MP",
    "commonwealth of puerto rico": "PR",
}

_STATE_CODES = frozenset(s.abbr for s in us.states.STATES_AND_TERRITORIES) | {"AA", "AE", "AP"}


def us_state(text: str) -> str:
    """The two-letter USPS code of a state, DC, territory (PR, GU, VI, AS, MP) or military "state"
    (AA, AE, AP), from a code or a name (case-insensitive)."""
    raw = _nfkc(_text(text))
    value = _collapse(raw)
    how = _("Please type the two-letter code (like NY) or the full name (like New York).")
    if not value:
        raise Invalid(_("I didn't get a state. {how}").format(how=how), "state.empty")
    if len(value) > 60:
        raise Invalid(_("I don't recognise that as a U.S. state. {how}").format(how=how), "state.unknown")
    # keep letters only, words separated by single spaces: "D.C." -> "d c", "N.Y." -> "n y"
    words = re.sub(r"[^a-z]+", " ", value.lower()).split()
    key = " ".join(words)
    if not key:
        raise Invalid(_("I don't recognise that as a U.S. state. {how}").format(how=how), "state.unknown")
    compact = "".join(words)
    if len(compact) == 2 and compact.upper() in _STATE_CODES:
        return compact.upper()
    if key in _MILITARY:
        return _MILITARY[key]
    if key in _STATE_ALIASES:
        return _STATE_ALIASES[key]
    if len(compact) > 2:
        try:
            found = us.states.lookup(key)
        except Exception:  # defensive: the fuzzy (metaphone) lookup must never break the flow
            found = None
        if found is not None and found.abbr in _STATE_CODES:
            return found.abbr
    raise Invalid(_("I don't recognise that as a U.S. state. {how}").format(how=how), "state.unknown")


_ZIP_RE = re.compile(r"([0-9]{5})(?:(?:\s*-\s*|\s*)([0-9]{4}))?")


def zip_code(text: str) -> str:
    """A U.S. ZIP code: "12345" or "12345-6789" ("123456789" becomes "12345-6789")."""
    value = _nfkc(_text(text)).strip()
    how = _("Please type the 5-digit ZIP code, like 20500, or ZIP+4, like 20500-0003.")
    if not value:
        raise Invalid(_("I didn't get a ZIP code. {how}").format(how=how), "zip.empty")
    m = _ZIP_RE.fullmatch(value) if len(value) <= 20 else None
    if not m:
        raise Invalid(_("That doesn't look like a U.S. ZIP code. {how}").format(how=how), "zip.format")
    five, four = m.group(1), m.group(2)
    if five == "00000" or four == "0000":
        raise Invalid(_("That isn't a real ZIP code. {how}").format(how=how), "zip.format")
    return f"{five}-{four}" if four else five


# --------------------------------------------------------------------------------------------------
# countries, postal codes, provinces

#: Everyday names that ISO/pycountry don't list, or that its fuzzy search gets wrong.
_COUNTRY_ALIASES = {
    "america": "US",
    "united states": "US",
    "united states of america": "US",
    "us": "US",
    "usa": "US",
    "u s": "US",
    "u s a": "US",
    "the us": "US",
    "the usa": "US",
    "the united states": "US",
    "uk": "GB",
    "u k": "GB",
    "the uk": "GB",
    "united kingdom": "GB",
    "the united kingdom": "GB",
    "great britain": "GB",
    "britain": "GB",
    "england": "GB",
    "scotland": "GB",
    "wales": "GB",
    "northern ireland": "GB",
    "south korea": "KR",
    "republic of korea": "KR",
    "korea republic of": "KR",
    "north korea": "KP",
    "russia": "RU",
    "holland": "NL",
    "the netherlands": "NL",
    "ivory coast": "CI",
    "cote d ivoire": "CI",
    "turkey": "TR",
    "burma": "MM",
    "cape verde": "CV",
    "swaziland": "SZ",
    "vatican": "VA",
    "vatican city": "VA",
    "uae": "AE",
    "u a e": "AE",
    "emirates": "AE",
    "macau": "MO",
    "east timor": "TL",
    "drc": "CD",
    "dr congo": "CD",
    "democratic republic of the congo": "CD",
    "democratic republic of congo": "CD",
    "congo kinshasa": "CD",
    "republic of the congo": "CG",
    "congo brazzaville": "CG",
    "brasil": "BR",
    "deutschland": "DE",
    "espana": "ES",
    "españa": "ES",
    "mexique": "MX",
    "méxico": "MX",
    "st lucia": "LC",
    "st kitts": "KN",
    "st kitts and nevis": "KN",
    "st vincent": "VC",
    "st vincent and the grenadines": "VC",
    "falklands": "FK",
    "falkland islands": "FK",
    "the bahamas": "BS",
    "the gambia": "GM",
    "bosnia": "BA",
    "trinidad": "TT",
    "trinidad and tobago": "TT",
    "czech republic": "CZ",
    "macedonia": "MK",
    "palestine": "PS",
    "vietnam": "VN",
    "laos": "LA",
    "syria": "SY",
    "iran": "IR",
    "moldova": "MD",
    "micronesia": "FM",
    "brunei": "BN",
    "taiwan": "TW",
    "curacao": "CW",
}

_COUNTRY_HOW = N_("Please type the country's name in English (like Canada) or its two-letter code (like CA).")


def _country_key(value: str) -> str:
    return " ".join(re.sub(r"[^\w]+", " ", value.lower()).replace("_", " ").split())


def _unaccented(text: str) -> str:
    return "".join(ch for ch in unicodedata.normalize("NFKD", text) if not unicodedata.combining(ch))


@functools.lru_cache(maxsize=1)
def _names_in_other_languages() -> dict[str, str]:
    """The countries' names in the other languages the bot speaks ("alemania" -> "DE"), with and
    without accents; a name two countries share is left out."""
    from babel import Locale

    from domain.i18n import DEFAULT_LANGUAGE, LANGUAGES

    found: dict[str, str] = {}
    shared: set[str] = set()
    for language in LANGUAGES:
        if language == DEFAULT_LANGUAGE:
            continue
        try:
            names = Locale.parse(language).territories
        except Exception:  # noqa: BLE001 - no data for it: English names only
            continue
        for code, name in names.items():
            if len(code) != 2 or not code.isalpha() or pycountry.countries.get(alpha_2=code) is None:
                continue
            for key in {_country_key(name), _country_key(_unaccented(name))}:
                if found.get(key, code) != code:
                    shared.add(key)
                found.setdefault(key, code)
    return {key: code for key, code in found.items() if key and key not in shared}


def country(text: str) -> str:
    """ISO 3166-1 alpha-2 code of a country typed as a code (alpha-2 or alpha-3) or a name."""
    value = _collapse(_nfkc(_text(text)))
    if not value:
        raise Invalid(_("I didn't get a country. {how}").format(how=_(_COUNTRY_HOW)), "country.empty")
    if len(value) > 80:
        raise Invalid(_("I don't recognise that country. {how}").format(how=_(_COUNTRY_HOW)), "country.unknown")
    key = _country_key(value)
    if not key or not any(_is_letter(ch) for ch in key):
        raise Invalid(_("I don't recognise that country. {how}").format(how=_(_COUNTRY_HOW)), "country.unknown")
    if key in _COUNTRY_ALIASES:
        return _COUNTRY_ALIASES[key]
    if key == "korea":
        raise Invalid(
            _("Did you mean South Korea or North Korea? Please type the full name, like South Korea."),
            "country.ambiguous",
        )
    try:
        return pycountry.countries.lookup(value).alpha_2
    except LookupError:
        pass
    except Exception:  # defensive: pycountry must never break the flow
        raise Invalid(_("I don't recognise that country. {how}").format(how=_(_COUNTRY_HOW)), "country.unknown") from None
    try:
        named = _names_in_other_languages().get(key) or _names_in_other_languages().get(_unaccented(key))
    except Exception:  # noqa: BLE001 - defensive: the English names still work
        named = None
    if named:
        return named
    letters = sum(1 for ch in key if _is_letter(ch))
    if letters >= 4:
        try:
            matches = pycountry.countries.search_fuzzy(value)
        except LookupError:
            matches = []
        except Exception:  # defensive
            matches = []
        if len(matches) == 1:
            return matches[0].alpha_2
        if len(matches) > 1:
            raise Invalid(
                _(
                    "That could be more than one country. Please type the country's full name in English "
                    "(like Canada) or its two-letter code (like CA)."
                ),
                "country.ambiguous",
            )
    raise Invalid(_("I don't recognise that country. {how}").format(how=_(_COUNTRY_HOW)), "country.unknown")


_POSTAL_RE = re.compile(r"[A-Z0-9][A-Z0-9 \-]{0,8}[A-Z0-9]")
_CA_POSTAL_RE = re.compile(r"([ABCEGHJ-NPRSTVXY][0-9][ABCEGHJ-NPRSTV-Z]) ?([0-9][ABCEGHJ-NPRSTV-Z][0-9])")


def postal_code(text: str, country: str) -> str:
    """A postal code for the given country (ISO alpha-2). U.S. codes go through :func:`zip_code`;
    Canadian ones must look like A1A 1A1; others are 2-10 letters, digits, spaces or hyphens."""
    country_code = _text(country).strip().upper()
    if country_code == "US":
        return zip_code(text)
    value = _collapse(_nfkc(_text(text))).upper()
    if not value:
        raise Invalid(_("I didn't get a postal code. Please type it as it appears on your mail."), "postal.empty")
    if country_code == "CA":
        m = _CA_POSTAL_RE.fullmatch(value) if len(value) <= 7 else None
        if not m:
            raise Invalid(
                _(
                    "That doesn't look like a Canadian postal code. It should be letter-digit-letter "
                    "digit-letter-digit, like K1A 0B1."
                ),
                "postal.format",
            )
        return f"{m.group(1)} {m.group(2)}"
    if len(value) > 10 or len(value) < 2 or not _POSTAL_RE.fullmatch(value):
        raise Invalid(
            _(
                "A postal code should be 2 to 10 characters: letters, digits, spaces or hyphens. "
                "Please type it as it appears on your mail."
            ),
            "postal.format",
        )
    return value


def province(text: str) -> str:
    """Free-text province/region of a foreign address: up to 40 characters (may be empty)."""
    value = _nfc(_collapse(_text(text)))
    if len(value) > 40:
        raise Invalid(
            _(
                "That's longer than 40 characters. Please type a shorter form of the province or region "
                "(an abbreviation is fine)."
            ),
            "province.too_long",
        )
    if value and (_has_unprintable(value) or not any(ch.isalnum() for ch in value)):
        raise Invalid(
            _("Please type the province, state or region name using letters (and digits if it has any)."),
            "province.characters",
        )
    return value


#: the refusals of a street line and of a city, a whole sentence each (a translation gives each
#: its own article and gender)
_LINE_TEXTS = {
    "address": {
        "empty": N_("I didn't get the street address. Please type it, like {example}."),
        "too_long": N_(
            "That's longer than {max_len} characters, the most we can take for the street address. "
            "Please shorten it (standard abbreviations like St, Ave or Apt are fine)."
        ),
        "unprintable": N_(
            "The street address contains characters I can't use. Please type it using ordinary letters, "
            "digits and punctuation, like {example}."
        ),
        "characters": N_("The street address needs at least one letter or digit. Please type it, like {example}."),
    },
    "city": {
        "empty": N_("I didn't get the city. Please type it, like {example}."),
        "too_long": N_(
            "That's longer than {max_len} characters, the most we can take for the city. "
            "Please shorten it (standard abbreviations like St, Ave or Apt are fine)."
        ),
        "unprintable": N_(
            "The city contains characters I can't use. Please type it using ordinary letters, "
            "digits and punctuation, like {example}."
        ),
        "characters": N_("The city needs at least one letter or digit. Please type it, like {example}."),
    },
}


def _free_line(text: str, *, max_len: int, code: str, example: str) -> str:
    texts = _LINE_TEXTS[code]
    raw = _text(text)
    value = _nfc(_collapse(raw))
    if not value:
        raise Invalid(_(texts["empty"]).format(example=example), f"{code}.empty")
    if len(value) > max_len:
        raise Invalid(_(texts["too_long"]).format(max_len=max_len), f"{code}.too_long")
    if _has_unprintable(value):
        raise Invalid(_(texts["unprintable"]).format(example=example), f"{code}.characters")
    if not any(ch.isalnum() for ch in value):
        raise Invalid(_(texts["characters"]).format(example=example), f"{code}.characters")
    return value


def address_line(text: str) -> str:
    """One street-address line: 1-60 printable characters, with at least one letter or digit."""
    return _free_line(text, max_len=60, code="address", example="1600 Main St Apt 4")


def city(text: str) -> str:
    """A city name: 1-40 printable characters, with at least one letter."""
    value = _free_line(text, max_len=40, code="city", example="Springfield")
    if not any(ch.isalpha() for ch in value):
        raise Invalid(
            _("A city name needs letters, not only numbers. Type the city as your return shows it, like Springfield."),
            "city.no_letters",
        )
    return value


# --------------------------------------------------------------------------------------------------
# ZIP and postal codes that don't belong to the state, city or province typed with them
#
# Caught as soon as both are known, before they cost an identity check. Each answer is a sentence
# naming what the code belongs to (from the USPS list the `zipcodes` package ships, read offline,
# and the first letters of Canadian postal codes in domain/data/address_layouts.yaml), or None.


def _zip_rows(five: str) -> list[dict]:
    try:
        import zipcodes

        return zipcodes.matching(five)
    except Exception:  # noqa: BLE001 - no list, no doubt
        return []


def _or(names: list[str]) -> str:
    """Places as alternatives: "Ohio", "Ohio or Utah", "Ohio or Utah or Iowa"."""
    if len(names) <= 1:
        return "".join(names)
    return _("{first} or {second}").format(first=_or(names[:-1]), second=names[-1])


def _state_name(code: str) -> str:
    state = us.states.lookup(code) if code else None
    return state.name if state else code


def _place_key(text: str) -> str:
    from domain.addresses import _street_key

    return _street_key(text)


def zip_doubt(zip_text: str, state: str, city: str = "") -> str | None:
    """Why a U.S. ZIP code probably doesn't belong with the state (or, within the state, the
    city) typed, or None. ZIP codes the list doesn't hold are left alone."""
    from domain.address_layouts import military

    five = re.sub(r"\D", "", _text(zip_text))[:5]
    state = _text(state).strip().upper()
    if len(five) != 5 or not state:
        return None
    prefixes = (military().get("zip_prefixes") or {})
    if state in prefixes:
        if not any(five.startswith(p) for p in prefixes[state]):
            return _("{zip} isn't a ZIP code of the military state {state}.").format(zip=five, state=state)
        return None
    rows = [r for r in _zip_rows(five) if r.get("active", True)] or _zip_rows(five)
    if not rows:
        return None
    states = {r["state"] for r in rows}
    if state not in states:
        where = _or(sorted(_state_name(s) for s in states))
        return _("{zip} is a ZIP code in {where}, but the state you typed is {state}.").format(
            zip=five, where=where, state=_state_name(state)
        )
    if city:
        names = {_place_key(r["city"]) for r in rows}
        names |= {_place_key(c) for r in rows for c in r.get("acceptable_cities") or ()}
        if _place_key(city) not in names:
            row = next(r for r in rows if r["state"] == state)
            return _("{zip} is a ZIP code of {zip_city}, {state}, not of {city}.").format(
                zip=five, zip_city=row["city"], state=state, city=city
            )
    return None


def _province_name(country: str, code: str) -> str:
    try:
        sub = pycountry.subdivisions.get(code=f"{country}-{code}")
    except (KeyError, LookupError):
        sub = None
    return sub.name if sub is not None else code


def postal_doubt(postal: str, province_text: str, country: str) -> str | None:
    """Why a postal code abroad probably doesn't belong to the province typed (where the layout
    data says which provinces a first letter belongs to), or None."""
    from domain.address_layouts import province_of_postal_code
    from domain.addresses import _province_code

    country = _text(country).strip().upper()
    postal = _text(postal).strip().upper()
    if not postal or not _text(province_text).strip() or not country:
        return None
    provinces = province_of_postal_code(country, postal)
    if not provinces:
        return None
    typed = _province_code(province_text, country).upper()
    if len(typed) > 3:  # a name the tables don't know: nothing to compare
        return None
    if typed not in {str(p).upper() for p in provinces}:
        where = _or([_province_name(country, p) for p in provinces])
        return _(
            "A postal code starting with {letter} is in {where}, but the province you typed is {province}."
        ).format(letter=postal[0], where=where, province=_province_name(country, typed))
    return None

"""Validators for what users type during registration.

Every public function takes the user's raw text (plus parameters) and either returns a normalised
value or raises :class:`Invalid`. ``Invalid.message`` is a friendly plain-English sentence that says
what is wrong and what to type instead; it never repeats a sensitive value (SSN, date of birth,
account digits, passwords, codes). ``Invalid.code`` is a short machine key such as ``"ssn.format"``.

Whatever text arrives (empty, whitespace, emoji, control characters, very long input), these
functions return a value or raise :class:`Invalid`, never any other exception.

The only I/O is reading the packaged password blocklist ``domain/data/common_passwords.txt`` once.
"""

from __future__ import annotations

import functools
import importlib.resources
import re
import unicodedata
from collections.abc import Iterable
from datetime import date

import phonenumbers
import pycountry
import us
from email_validator import EmailNotValidError, validate_email
from phonenumbers import PhoneNumberType
from stdnum.exceptions import ValidationError as _StdnumValidationError
from stdnum.us import ssn as _stdnum_ssn

__all__ = [
    "Invalid",
    "address_line",
    "city",
    "country",
    "date_of_birth",
    "email_address",
    "last_eight_digits",
    "one_time_code",
    "password",
    "person_name",
    "postal_code",
    "province",
    "site_phrase",
    "ssn",
    "us_mobile_number",
    "us_state",
    "username",
    "yes_no",
    "zip_code",
]


class Invalid(ValueError):
    """The user's input was refused.

    ``message`` is shown to the user as is; ``code`` is a short key for logic, tests and metrics.
    """

    def __init__(self, message: str, code: str):
        super().__init__(message)
        self.message = message
        self.code = code

    def __repr__(self) -> str:
        return f"Invalid(code={self.code!r}, message={self.message!r})"


# --------------------------------------------------------------------------------------------------
# helpers

_APOSTROPHES = {"\u2019": "'", "\u2018": "'", "\u02bc": "'", "\u00b4": "'", "`": "'"}
_DASHES = {"\u2010": "-", "\u2011": "-", "\u2012": "-", "\u2013": "-", "\u2014": "-", "\u2212": "-"}


def _text(value: object) -> str:
    """The input as a str (``None`` counts as empty)."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    return str(value)


def _collapse(text: str) -> str:
    """Trim and collapse every run of whitespace into one space."""
    return " ".join(text.split())


def _nfkc(text: str) -> str:
    return unicodedata.normalize("NFKC", text)


def _nfc(text: str) -> str:
    return unicodedata.normalize("NFC", text)


def _has_unprintable(text: str) -> bool:
    # str.isprintable() is False for control, format (zero-width...), surrogate, private-use and
    # unassigned characters, and for any whitespace other than the plain space.
    return not text.isprintable()


def _is_letter(ch: str) -> bool:
    return unicodedata.category(ch).startswith("L")


def _is_mark(ch: str) -> bool:
    return unicodedata.category(ch).startswith("M")


def _ascii_digits_only(text: str, remove: str = " -") -> str:
    """NFKC-normalise (fullwidth digits become ASCII), drop the separators in ``remove``."""
    text = _nfkc(text).strip()
    for ch in remove:
        text = text.replace(ch, "")
    return text


_DIGITS_RE = re.compile(r"[0-9]+")


def _is_digits(text: str) -> bool:
    return bool(_DIGITS_RE.fullmatch(text))


# --------------------------------------------------------------------------------------------------
# names


def person_name(text: str, *, field: str = "first name") -> str:
    """A person's name part: letters of any script (with accents), spaces, hyphens, apostrophes and
    periods; 1-40 characters. Whitespace is trimmed/collapsed; capitalisation is kept."""
    raw = _text(text)
    value = _nfc(_collapse(raw))
    for src, dst in {**_APOSTROPHES, **_DASHES}.items():
        value = value.replace(src, dst)
    if not value:
        raise Invalid(f"I didn't get your {field}. Please type it, using letters.", "name.empty")
    if len(value) > 40:
        raise Invalid(
            f"That's longer than 40 characters, which is the most we can take for your {field}. "
            f"Please type a shorter form of it (you can leave out extra parts).",
            "name.too_long",
        )
    if any(unicodedata.category(ch) == "Nd" or ch.isdigit() for ch in value):
        raise Invalid(
            f"Your {field} can't contain digits. Please type it using letters only "
            "(spaces, hyphens, apostrophes and periods are fine).",
            "name.digits",
        )
    for ch in value:
        if not (_is_letter(ch) or _is_mark(ch) or ch in " -'."):
            raise Invalid(
                f"Your {field} can only contain letters, spaces, hyphens (-), apostrophes (') and "
                "periods (.). Please type it again without other symbols.",
                "name.characters",
            )
    if not any(_is_letter(ch) for ch in value):
        raise Invalid(f"Your {field} needs at least one letter. Please type it again.", "name.no_letters")
    return value


# --------------------------------------------------------------------------------------------------
# email


def email_address(text: str) -> str:
    """An email address, checked for syntax only (no DNS lookup); returns the normalised form."""
    value = _text(text).strip()
    if not value:
        raise Invalid("I didn't get an email address. Please type it, like name@example.com.", "email.empty")
    if len(value) > 320:
        raise Invalid(
            "That's too long to be an email address. Please type just your address, like name@example.com.",
            "email.invalid",
        )
    try:
        result = validate_email(value, check_deliverability=False)
    except EmailNotValidError as exc:
        reason = str(exc).strip()
        if reason and not reason.endswith((".", "!", "?")):
            reason += "."
        raise Invalid(
            f"That doesn't look like a valid email address. {reason} "
            "Please type the full address, like name@example.com.",
            "email.invalid",
        ) from None
    except (ValueError, UnicodeError):  # defensive: odd code points deep inside the library
        raise Invalid(
            "That doesn't look like a valid email address. Please type the full address, like name@example.com.",
            "email.invalid",
        ) from None
    return result.normalized


# --------------------------------------------------------------------------------------------------
# SSN

_SSN_SHAPE = re.compile(r"([0-9]{3})[- ]?([0-9]{2})[- ]?([0-9]{4})")


def ssn(text: str) -> str:
    """A U.S. Social Security number as 9 digits ("400-12-3456", "400 12 3456", "400123456")."""
    value = _nfkc(_text(text)).strip()
    if len(value) > 40:
        value = value[:40]  # only the digit count matters for the message below
    digits = "".join(ch for ch in value if "0" <= ch <= "9")
    shape = _SSN_SHAPE.fullmatch(value)
    if not shape:
        if len(digits) == 9:
            raise Invalid(
                "Please type your Social Security number as 9 digits, grouped 3-2-4 like XXX-XX-XXXX "
                "(dashes or spaces between the groups are fine, other symbols are not).",
                "ssn.format",
            )
        raise Invalid(
            "A Social Security number has exactly 9 digits. Please type all 9, in the form XXX-XX-XXXX "
            "(dashes or spaces are fine).",
            "ssn.format",
        )
    number = "".join(shape.groups())
    if number.startswith("9"):
        raise Invalid(
            "That looks like an Individual Taxpayer Identification Number (ITIN), which starts with 9. "
            "This registration needs your Social Security number (SSN) instead. Please type your SSN.",
            "ssn.itin",
        )
    try:
        return _stdnum_ssn.validate(number)
    except _StdnumValidationError:
        raise Invalid(
            "That is not a valid Social Security number. Please check your Social Security card and "
            "type the 9 digits again.",
            "ssn.invalid",
        ) from None


# --------------------------------------------------------------------------------------------------
# date of birth

_MONTHS = {
    name: number
    for number, names in enumerate(
        [
            ("january", "jan"),
            ("february", "feb"),
            ("march", "mar"),
            ("april", "apr"),
            ("may",),
            ("june", "jun"),
            ("july", "jul"),
            ("august", "aug"),
            ("september", "sep", "sept"),
            ("october", "oct"),
            ("november", "nov"),
            ("december", "dec"),
        ],
        start=1,
    )
    for name in names
}

_D = r"([0-9]{1,4})"
_NUMERIC_DATE = re.compile(rf"{_D}\s*([/.\-])\s*{_D}\s*\2\s*{_D}")
_MONTH_FIRST = re.compile(r"([a-z]+)\.?\s*,?\s*([0-9]{1,4})(?:st|nd|rd|th)?\s*,?\s*([0-9]{1,4})")
_DAY_FIRST = re.compile(r"([0-9]{1,4})(?:st|nd|rd|th)?\s*(?:of\s+)?([a-z]+)\.?\s*,?\s*([0-9]{1,4})")

_DOB_HOW = "Please type it as month/day/year with a four-digit year, like MM/DD/YYYY or Month DD, YYYY."


def _dob_parts(value: str) -> tuple[int, int, int]:
    """(year, month, day) from the typed date, or Invalid. The numbers are not checked yet."""
    m = _NUMERIC_DATE.fullmatch(value)
    if m:
        a, b, c = m.group(1), m.group(3), m.group(4)
        if len(a) == 4:  # ISO-like: YYYY-MM-DD, YYYY/MM/DD, YYYY.MM.DD
            if len(b) > 2 or len(c) > 2:
                raise Invalid(f"I couldn't read that date. {_DOB_HOW}", "dob.format")
            return int(a), int(b), int(c)
        if len(a) > 2 or len(b) > 2:
            raise Invalid(f"I couldn't read that date. {_DOB_HOW}", "dob.format")
        if len(c) != 4:
            raise Invalid(
                "Please type all four digits of the year, not just the last two, "
                "so there's no doubt about the century. " + _DOB_HOW,
                "dob.two_digit_year" if len(c) <= 2 else "dob.format",
            )
        return int(c), int(a), int(b)  # U.S. order: month first
    for pattern, month_group, day_group in ((_MONTH_FIRST, 1, 2), (_DAY_FIRST, 2, 1)):
        m = pattern.fullmatch(value)
        if not m:
            continue
        month = _MONTHS.get(m.group(month_group))
        if month is None:
            raise Invalid(f"I couldn't read the month in that date. {_DOB_HOW}", "dob.format")
        day_s, year_s = m.group(day_group), m.group(3)
        if len(day_s) > 2:
            raise Invalid(f"I couldn't read that date. {_DOB_HOW}", "dob.format")
        if len(year_s) != 4:
            raise Invalid(
                "Please type all four digits of the year, not just the last two. " + _DOB_HOW,
                "dob.two_digit_year" if len(year_s) <= 2 else "dob.format",
            )
        return int(year_s), month, int(day_s)
    if _is_digits(value) and len(value) in (6, 8):
        raise Invalid(
            "Please put slashes between the month, day and year so I read it correctly. " + _DOB_HOW,
            "dob.format",
        )
    raise Invalid(f"I couldn't read that as a date. {_DOB_HOW}", "dob.format")


def _age_on(born: date, today: date) -> int:
    return today.year - born.year - ((today.month, today.day) < (born.month, born.day))


def date_of_birth(text: str, *, today: date, min_age: int = 16, max_age: int = 120) -> date:
    """A date of birth in a U.S. form (month first) or ISO, with a four-digit year; the person must
    be between ``min_age`` and ``max_age`` years old on ``today``."""
    value = _nfkc(_text(text)).strip().lower()
    value = " ".join(value.split())
    if not value:
        raise Invalid(f"I didn't get a date. {_DOB_HOW}", "dob.empty")
    if len(value) > 40:
        raise Invalid(f"That's too long to be a date. {_DOB_HOW}", "dob.format")
    year, month, day = _dob_parts(value)
    if not 1 <= month <= 12:
        raise Invalid(
            "The month must be a number from 1 to 12 (month comes first, then the day). " + _DOB_HOW,
            "dob.impossible",
        )
    try:
        born = date(year, month, day)
    except ValueError:
        raise Invalid(
            "That day doesn't exist in that month (for example, there is no February 30). "
            "Please check the day and month and type the date again, like MM/DD/YYYY.",
            "dob.impossible",
        ) from None
    if born > today:
        raise Invalid(
            "That date is in the future. Please type your date of birth, like MM/DD/YYYY.",
            "dob.future",
        )
    age = _age_on(born, today)
    if age > max_age:
        raise Invalid(
            f"That date would make you older than {max_age}. Please check the year and type your "
            "date of birth again, like MM/DD/YYYY.",
            "dob.too_old",
        )
    if age < min_age:
        raise Invalid(
            f"You must be at least {min_age} years old to register. If you typed the date wrong, "
            "please type it again, like MM/DD/YYYY.",
            "dob.too_young",
        )
    return born


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
    how = "Please type the two-letter code (like NY) or the full name (like New York)."
    if not value:
        raise Invalid(f"I didn't get a state. {how}", "state.empty")
    if len(value) > 60:
        raise Invalid(f"I don't recognise that as a U.S. state. {how}", "state.unknown")
    # keep letters only, words separated by single spaces: "D.C." -> "d c", "N.Y." -> "n y"
    words = re.sub(r"[^a-z]+", " ", value.lower()).split()
    key = " ".join(words)
    if not key:
        raise Invalid(f"I don't recognise that as a U.S. state. {how}", "state.unknown")
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
    raise Invalid(f"I don't recognise that as a U.S. state. {how}", "state.unknown")


_ZIP_RE = re.compile(r"([0-9]{5})(?:(?:\s*-\s*|\s*)([0-9]{4}))?")


def zip_code(text: str) -> str:
    """A U.S. ZIP code: "12345" or "12345-6789" ("123456789" becomes "12345-6789")."""
    value = _nfkc(_text(text)).strip()
    how = "Please type the 5-digit ZIP code, like 20500, or ZIP+4, like 20500-0003."
    if not value:
        raise Invalid(f"I didn't get a ZIP code. {how}", "zip.empty")
    m = _ZIP_RE.fullmatch(value) if len(value) <= 20 else None
    if not m:
        raise Invalid(f"That doesn't look like a U.S. ZIP code. {how}", "zip.format")
    five, four = m.group(1), m.group(2)
    if five == "00000" or four == "0000":
        raise Invalid(f"That isn't a real ZIP code. {how}", "zip.format")
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

_COUNTRY_HOW = "Please type the country's name in English (like Canada) or its two-letter code (like CA)."


def _country_key(value: str) -> str:
    return " ".join(re.sub(r"[^\w]+", " ", value.lower()).replace("_", " ").split())


def country(text: str) -> str:
    """ISO 3166-1 alpha-2 code of a country typed as a code (alpha-2 or alpha-3) or a name."""
    value = _collapse(_nfkc(_text(text)))
    if not value:
        raise Invalid(f"I didn't get a country. {_COUNTRY_HOW}", "country.empty")
    if len(value) > 80:
        raise Invalid(f"I don't recognise that country. {_COUNTRY_HOW}", "country.unknown")
    key = _country_key(value)
    if not key or not any(_is_letter(ch) for ch in key):
        raise Invalid(f"I don't recognise that country. {_COUNTRY_HOW}", "country.unknown")
    if key in _COUNTRY_ALIASES:
        return _COUNTRY_ALIASES[key]
    if key == "korea":
        raise Invalid(
            "Did you mean South Korea or North Korea? Please type the full name, like South Korea.",
            "country.ambiguous",
        )
    try:
        return pycountry.countries.lookup(value).alpha_2
    except LookupError:
        pass
    except Exception:  # defensive: pycountry must never break the flow
        raise Invalid(f"I don't recognise that country. {_COUNTRY_HOW}", "country.unknown") from None
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
                "That could be more than one country. Please type the country's full name in English "
                "(like Canada) or its two-letter code (like CA).",
                "country.ambiguous",
            )
    raise Invalid(f"I don't recognise that country. {_COUNTRY_HOW}", "country.unknown")


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
        raise Invalid("I didn't get a postal code. Please type it as it appears on your mail.", "postal.empty")
    if country_code == "CA":
        m = _CA_POSTAL_RE.fullmatch(value) if len(value) <= 7 else None
        if not m:
            raise Invalid(
                "That doesn't look like a Canadian postal code. It should be letter-digit-letter "
                "digit-letter-digit, like K1A 0B1.",
                "postal.format",
            )
        return f"{m.group(1)} {m.group(2)}"
    if len(value) > 10 or len(value) < 2 or not _POSTAL_RE.fullmatch(value):
        raise Invalid(
            "A postal code should be 2 to 10 characters: letters, digits, spaces or hyphens. "
            "Please type it as it appears on your mail.",
            "postal.format",
        )
    return value


def province(text: str) -> str:
    """Free-text province/region of a foreign address: up to 40 characters (may be empty)."""
    value = _nfc(_collapse(_text(text)))
    if len(value) > 40:
        raise Invalid(
            "That's longer than 40 characters. Please type a shorter form of the province or region "
            "(an abbreviation is fine).",
            "province.too_long",
        )
    if value and (_has_unprintable(value) or not any(ch.isalnum() for ch in value)):
        raise Invalid(
            "Please type the province, state or region name using letters (and digits if it has any).",
            "province.characters",
        )
    return value


def _free_line(text: str, *, max_len: int, what: str, code: str, example: str) -> str:
    raw = _text(text)
    value = _nfc(_collapse(raw))
    if not value:
        raise Invalid(f"I didn't get the {what}. Please type it, like {example}.", f"{code}.empty")
    if len(value) > max_len:
        raise Invalid(
            f"That's longer than {max_len} characters, the most we can take for the {what}. "
            "Please shorten it (standard abbreviations like St, Ave or Apt are fine).",
            f"{code}.too_long",
        )
    if _has_unprintable(value):
        raise Invalid(
            f"The {what} contains characters I can't use. Please type it using ordinary letters, "
            f"digits and punctuation, like {example}.",
            f"{code}.characters",
        )
    if not any(ch.isalnum() for ch in value):
        raise Invalid(
            f"The {what} needs at least one letter or digit. Please type it, like {example}.",
            f"{code}.characters",
        )
    return value


def address_line(text: str) -> str:
    """One street-address line: 1-60 printable characters, with at least one letter or digit."""
    return _free_line(text, max_len=60, what="street address", code="address", example="1600 Main St Apt 4")


def city(text: str) -> str:
    """A city name: 1-40 printable characters, with at least one letter."""
    value = _free_line(text, max_len=40, what="city", code="city", example="Springfield")
    if not any(ch.isalpha() for ch in value):
        raise Invalid("A city name needs letters, not only numbers. Type the city as your return shows it, like Springfield.", "city.no_letters")
    return value


# --------------------------------------------------------------------------------------------------
# phone

#: Regions that share the +1 country code and are part of the United States.
_US_PHONE_REGIONS = frozenset({"US", "PR", "GU", "VI", "AS", "MP"})
_MOBILE_OK = frozenset({PhoneNumberType.MOBILE, PhoneNumberType.FIXED_LINE_OR_MOBILE})
_NANP_RE = re.compile(r"[2-9][0-9]{2}[2-9][0-9]{6}")


def us_mobile_number(text: str) -> str:
    """A U.S. mobile number in E.164 form ("+12025550143"); U.S. is the default region."""
    value = _nfkc(_text(text)).strip()
    how = "Please type your 10-digit U.S. mobile number, like (202) 555-0143."
    if not value:
        raise Invalid(f"I didn't get a phone number. {how}", "phone.empty")
    if len(value) > 40 or not any("0" <= ch <= "9" for ch in value):
        raise Invalid(f"That doesn't look like a phone number. {how}", "phone.invalid")
    try:
        number = phonenumbers.parse(value, "US")
    except phonenumbers.NumberParseException:
        raise Invalid(f"That doesn't look like a phone number. {how}", "phone.invalid") from None
    except Exception:  # defensive: the parser must never break the flow
        raise Invalid(f"That doesn't look like a phone number. {how}", "phone.invalid") from None
    region = phonenumbers.region_code_for_number(number)
    national = str(number.national_number)
    if phonenumbers.is_valid_number(number):
        if region not in _US_PHONE_REGIONS:
            raise Invalid(
                "Only U.S. mobile numbers can get text messages here. Please type a U.S. mobile number, "
                "like (202) 555-0143.",
                "phone.not_us",
            )
        if phonenumbers.number_type(number) not in _MOBILE_OK:
            raise Invalid(
                "That number can't receive our text messages (toll-free, premium-rate, internet-only "
                "and landline numbers can't). Please type the number of a mobile phone you have with you.",
                "phone.not_mobile",
            )
        return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    # The metadata may someday refuse fictional 555-01xx numbers; accept them if they fit the NANP.
    if (
        number.country_code == 1
        and phonenumbers.is_possible_number(number)
        and _NANP_RE.fullmatch(national)
        and national[3:8] == "55501"
    ):
        return "+1" + national
    raise Invalid(f"That isn't a valid phone number. {how}", "phone.invalid")


# --------------------------------------------------------------------------------------------------
# passwords

_PASSWORD_ADVICE = (
    "A good choice is a few unrelated words strung together (a passphrase), "
    "which is long but easy for you to remember."
)


@functools.lru_cache(maxsize=1)
def _common_passwords() -> frozenset[str]:
    resource = importlib.resources.files("domain") / "data" / "common_passwords.txt"
    words = set()
    for line in resource.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            words.add(line.casefold())
    return frozenset(words)


#: Words tied to this service: a password made only of these (plus digits/symbols) is refused.
_CONTEXT_WORDS = (
    "internalrevenueservice",
    "internalrevenue",
    "secureaccess",
    "eservices",
    "eservice",
    "taxpro",
    "sabot",
    "efile",
    "irsgov",
    "secure",
    "access",
    "irs",
)
#: Distinctive context words refused even inside a longer password.
_CONTEXT_ANYWHERE = ("secureaccess", "eservices", "internalrevenue", "sabotbot")


def _only_context_words(letters: str) -> bool:
    """True if ``letters`` is one or more context words run together ("irssecureaccess")."""
    if not letters:
        return False
    reachable = [True] + [False] * len(letters)
    for i in range(len(letters)):
        if not reachable[i]:
            continue
        for word in _CONTEXT_WORDS:
            if letters.startswith(word, i):
                reachable[i + len(word)] = True
    return reachable[-1]


def _is_simple_pattern(value: str) -> bool:
    """One character repeated, a straight run ("12345678", "abcdefgh", "87654321") or a very short
    unit repeated ("abcabcabc", "12121212")."""
    if len(set(value)) == 1:
        return True
    steps = {ord(b) - ord(a) for a, b in zip(value, value[1:])}
    if steps in ({1}, {-1}):
        return True
    for unit in (2, 3):
        if len(value) >= 2 * unit and len(value) % unit == 0 and value == value[:unit] * (len(value) // unit):
            return True
    return False


def _fold(text: str) -> str:
    """Case- and accent-insensitive form used for comparisons ("García" -> "garcia")."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return unicodedata.normalize("NFC", "".join(ch for ch in decomposed if not unicodedata.combining(ch)))


def _letters_of(word: str) -> list[str]:
    """Folded letter runs of a personal word, plus the word with non-letters removed."""
    folded = _fold(word)
    parts = re.findall(r"[^\W\d_]+", folded)
    joined = "".join(parts)
    return [p for p in {*parts, joined} if len(p) >= 3]


def password(
    text: str,
    *,
    username: str = "",
    personal_words: Iterable[str] = (),
    min_length: int = 8,
    max_length: int = 128,
) -> str:
    """A new password following NIST SP 800-63B: no composition rules, any printable characters
    (spaces and Unicode included), NFKC-normalised and not stripped. Refuses short/long passwords,
    common ones, ones containing the username or the person's name, simple patterns and words tied
    to this service."""
    raw = _text(text)
    if len(raw) > max_length * 4:
        raise Invalid(
            f"That password is too long: the most we accept is {max_length} characters. "
            f"Please choose a shorter one. {_PASSWORD_ADVICE}",
            "password.too_long",
        )
    value = _nfkc(raw)
    if len(value) < min_length:
        raise Invalid(
            f"That password is too short: it needs at least {min_length} characters. "
            f"{_PASSWORD_ADVICE}",
            "password.too_short",
        )
    if len(value) > max_length:
        raise Invalid(
            f"That password is too long: the most we accept is {max_length} characters. "
            f"Please choose a shorter one. {_PASSWORD_ADVICE}",
            "password.too_long",
        )
    if _has_unprintable(value):
        raise Invalid(
            "That password contains an invisible or control character (like a line break or tab) "
            "that can't be used. Letters, digits, spaces, symbols and emoji are all fine. Please type it again.",
            "password.characters",
        )
    folded = value.casefold()
    if _is_simple_pattern(folded):
        raise Invalid(
            "That password is a simple pattern (a repeated character or a straight run like 1234... "
            f"or abcd...), which is one of the first things attackers try. {_PASSWORD_ADVICE}",
            "password.pattern",
        )
    common = _common_passwords()
    # also catch a common password with digits/symbols stuck on either end ("Sunshine2024!")
    core = folded.strip("0123456789!@#$%^&*()-_=+.,;:?/\\|~`'\"[]{}<> ")
    if folded in common or (len(core) >= 6 and core in common):
        raise Invalid(
            "That password is on a list of commonly used passwords, so it would be easy to guess. "
            f"Please choose something less predictable. {_PASSWORD_ADVICE}",
            "password.common",
        )
    bare = _fold(value)  # no case, no accents
    user = _fold(_nfkc(_text(username)).strip())
    if len(user) >= 3 and (user in folded or user in bare):
        raise Invalid(
            "Your password can't contain your username, because anyone who knows your username could "
            f"guess it. {_PASSWORD_ADVICE}",
            "password.contains_username",
        )
    for word in personal_words or ():
        for part in _letters_of(_nfkc(_text(word))):
            if part in bare:
                raise Invalid(
                    "Your password can't contain your name or other personal details, because they are "
                    f"easy for others to find out. {_PASSWORD_ADVICE}",
                    "password.personal",
                )
    letters = "".join(ch for ch in bare if _is_letter(ch))
    if _only_context_words(letters) or any(word in letters for word in _CONTEXT_ANYWHERE):
        raise Invalid(
            "Your password can't be based on the name of this service or the IRS (such as IRS or "
            f"Secure Access with some digits), since those are among the first guesses. {_PASSWORD_ADVICE}",
            "password.context",
        )
    return value


# --------------------------------------------------------------------------------------------------
# usernames, site phrase, codes, account digits, yes/no

_USERNAME_CHARS = re.compile(r"[A-Za-z0-9._\-]+")


def username(text: str, *, min_length: int = 6, max_length: int = 32) -> str:
    """A username: ASCII letters, digits, ".", "_" and "-", starting with a letter; case is kept."""
    value = _text(text).strip()
    rule = (
        f"Usernames are {min_length} to {max_length} characters long, start with a letter, and may use "
        "letters (A-Z), digits, periods (.), underscores (_) and hyphens (-)."
    )
    if not value:
        raise Invalid(f"I didn't get a username. {rule} Please type one.", "username.empty")
    if len(value) > max_length:
        raise Invalid(f"That username is too long. {rule} Please type a shorter one.", "username.too_long")
    if any(ch.isspace() for ch in value):
        raise Invalid(f"A username can't contain spaces. {rule} Please type it again.", "username.characters")
    if not _USERNAME_CHARS.fullmatch(value):
        raise Invalid(
            f"That username has a character that isn't allowed. {rule} Please type it again.",
            "username.characters",
        )
    if not ("A" <= value[0] <= "Z" or "a" <= value[0] <= "z"):
        raise Invalid(f"A username must start with a letter. {rule} Please type it again.", "username.start")
    if len(value) < min_length:
        raise Invalid(f"That username is too short. {rule} Please type a longer one.", "username.too_short")
    return value


def site_phrase(text: str) -> str:
    """The site phrase shown back at sign-in: 4-40 printable characters, trimmed."""
    value = _nfc(_text(text).strip())
    how = "Please type a short phrase of 4 to 40 characters that you'll recognise, like Blue canoe at dawn."
    if not value:
        raise Invalid(f"I didn't get a site phrase. {how}", "phrase.empty")
    if len(value) > 40:
        raise Invalid(f"That phrase is longer than 40 characters. {how}", "phrase.too_long")
    if len(value) < 4:
        raise Invalid(f"That phrase is shorter than 4 characters. {how}", "phrase.too_short")
    if _has_unprintable(value):
        raise Invalid(
            f"That phrase contains a line break or another invisible character. {how}", "phrase.characters"
        )
    return value


def one_time_code(text: str, *, digits: int = 6) -> str:
    """A numeric one-time code of exactly ``digits`` digits (spaces and hyphens are ignored)."""
    value = _ascii_digits_only(_text(text)[:200])
    if not _is_digits(value) or len(value) != digits:
        raise Invalid(
            f"The code is {digits} digits long. Please type just those {digits} digits, "
            "with no letters or other symbols.",
            "code.format",
        )
    return value


def last_eight_digits(text: str) -> str:
    """The last eight digits of an account number (spaces and hyphens are ignored)."""
    value = _ascii_digits_only(_text(text)[:200])
    how = "Please type only the last 8 digits of the account number."
    if not value:
        raise Invalid(f"I didn't get any digits. {how}", "account.empty")
    if not _is_digits(value):
        raise Invalid(f"Please use digits only. {how}", "account.format")
    if 13 <= len(value) <= 19:
        raise Invalid(
            f"That looks like a whole card or account number. For your safety we only need the end of it. {how}",
            "account.too_long",
        )
    if len(value) in (3, 4):
        raise Invalid(
            "That looks like a card security code (the 3 or 4 digits on the back of a card), which we "
            f"don't ask for and you shouldn't share. {how}",
            "account.security_code",
        )
    if len(value) != 8:
        raise Invalid(f"That isn't 8 digits. {how}", "account.format")
    return value


_YES = frozenset(
    "y yes yeah yea yep yup ya ok okay k sure correct right true affirmative confirm confirmed "
    "agree absolutely definitely certainly indeed si sí oui da 👍 ✅ ✔ ✔️".split()
)
_NO = frozenset(
    "n no nope nah nay negative false wrong incorrect cancel non nein 👎 ❌ ✖".split()
)
_YES_PHRASES = frozenset({"yes please", "of course", "that's right", "thats right", "that is right",
                          "that's correct", "thats correct", "that is correct", "i agree", "go ahead",
                          "sounds good", "yes it is", "yes thanks", "yes thank you", "ok thanks"})
_NO_PHRASES = frozenset({"no thanks", "no thank you", "not really", "not now", "no way", "not correct",
                         "that's wrong", "thats wrong", "that is wrong", "no it isn't", "no it is not",
                         "no it's not", "not right"})


def yes_no(text: str) -> bool | None:
    """True for yes-like answers, False for no-like answers, None if unclear."""
    value = _nfkc(_text(text)).strip().casefold()
    if not value or len(value) > 40:
        return None
    value = " ".join(value.replace("’", "'").split())
    value = value.strip(" .!?,;:")
    if value in _YES or value in _YES_PHRASES:
        return True
    if value in _NO or value in _NO_PHRASES:
        return False
    words = re.findall(r"[\w']+|[^\w\s]", value)
    if len(words) >= 1 and len(words) <= 4:
        first = words[0]
        if first in _YES and not any(w in _NO for w in words[1:]):
            return True
        if first in _NO and not any(w in _YES for w in words[1:]):
            return False
    return None

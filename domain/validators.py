"""Validators for what users type during registration.

Every public function takes the user's raw text (plus parameters) and either returns a normalised
value or raises :class:`Invalid`. ``Invalid.message`` is a friendly plain-English sentence that says
what is wrong and what to type instead; it never repeats a sensitive value (SSN, date of birth,
account digits, passwords, codes). ``Invalid.code`` is a short machine key such as ``"ssn.format"``.

Whatever text arrives (empty, whitespace, emoji, control characters, very long input), these
functions return a value or raise :class:`Invalid`, never any other exception.

The rules for the parts of an address are in domain.places, those for the password, username and
site phrase in domain.passwords, the shared text helpers in domain.text; they are all available
from here. The only I/O is reading the packaged password blocklist
``domain/data/common_passwords.txt`` once (domain.passwords).
"""

from __future__ import annotations

import functools
import re
import unicodedata
from datetime import date

import phonenumbers
from email_validator import EmailNotValidError, validate_email
from phonenumbers import PhoneNumberType
from stdnum.exceptions import ValidationError as _StdnumValidationError
from stdnum.us import ssn as _stdnum_ssn

from domain.i18n import N_, _, current_language, ngettext
from domain.passwords import could_be_username, password, site_phrase, username
from domain.places import address_line, city, country, postal_code, province, us_state, zip_code
from domain.text import (
    _APOSTROPHES,
    _DASHES,
    Invalid,
    _ascii_digits_only,
    _collapse,
    _is_digits,
    _is_letter,
    _is_mark,
    _nfc,
    _nfkc,
    _text,
)

__all__ = [
    "Invalid",
    "address_line",
    "city",
    "could_be_username",
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


# --------------------------------------------------------------------------------------------------
# names


#: the most characters a name part can have (the records' field size)
NAME_MAX_LENGTH = 40

#: the refusals of a name, per field (a whole sentence each, so a translation can give each field
#: its own article and gender); a field not listed here is named in the sentences of ``None``
_NAME_TEXTS: dict[str | None, dict[str, str]] = {
    "first name": {
        "name.empty": N_("I didn't get your first name. Please type it, using letters."),
        "name.too_long": N_(
            "That's longer than {max} characters, which is the most we can take for your first name. "
            "Please type a shorter form of it (you can leave out extra parts)."
        ),
        "name.digits": N_(
            "Your first name can't contain digits. Please type it using letters only "
            "(spaces, hyphens, apostrophes and periods are fine)."
        ),
        "name.characters": N_(
            "Your first name can only contain letters, spaces, hyphens (-), apostrophes (') and "
            "periods (.). Please type it again without other symbols."
        ),
        "name.no_letters": N_("Your first name needs at least one letter. Please type it again."),
    },
    "last name": {
        "name.empty": N_("I didn't get your last name. Please type it, using letters."),
        "name.too_long": N_(
            "That's longer than {max} characters, which is the most we can take for your last name. "
            "Please type a shorter form of it (you can leave out extra parts)."
        ),
        "name.digits": N_(
            "Your last name can't contain digits. Please type it using letters only "
            "(spaces, hyphens, apostrophes and periods are fine)."
        ),
        "name.characters": N_(
            "Your last name can only contain letters, spaces, hyphens (-), apostrophes (') and "
            "periods (.). Please type it again without other symbols."
        ),
        "name.no_letters": N_("Your last name needs at least one letter. Please type it again."),
    },
    "new hire's name": {
        "name.empty": N_("I didn't get your new hire's name. Please type it, using letters."),
        "name.too_long": N_(
            "That's longer than {max} characters, which is the most we can take for your new hire's name. "
            "Please type a shorter form of it (you can leave out extra parts)."
        ),
        "name.digits": N_(
            "Your new hire's name can't contain digits. Please type it using letters only "
            "(spaces, hyphens, apostrophes and periods are fine)."
        ),
        "name.characters": N_(
            "Your new hire's name can only contain letters, spaces, hyphens (-), apostrophes (') and "
            "periods (.). Please type it again without other symbols."
        ),
        "name.no_letters": N_("Your new hire's name needs at least one letter. Please type it again."),
    },
    None: {
        "name.empty": N_("I didn't get your {field}. Please type it, using letters."),
        "name.too_long": N_(
            "That's longer than {max} characters, which is the most we can take for your {field}. "
            "Please type a shorter form of it (you can leave out extra parts)."
        ),
        "name.digits": N_(
            "Your {field} can't contain digits. Please type it using letters only "
            "(spaces, hyphens, apostrophes and periods are fine)."
        ),
        "name.characters": N_(
            "Your {field} can only contain letters, spaces, hyphens (-), apostrophes (') and "
            "periods (.). Please type it again without other symbols."
        ),
        "name.no_letters": N_("Your {field} needs at least one letter. Please type it again."),
    },
}


def _name_refusal(field: str, code: str) -> Invalid:
    texts = _NAME_TEXTS.get(field)
    if texts is not None:
        return Invalid(_(texts[code]).format(max=NAME_MAX_LENGTH), code)
    return Invalid(_(_NAME_TEXTS[None][code]).format(field=field, max=NAME_MAX_LENGTH), code)


def person_name(text: str, *, field: str = "first name") -> str:
    """A person's name part: letters of any script (with accents), spaces, hyphens, apostrophes and
    periods; 1 to NAME_MAX_LENGTH characters. Whitespace is trimmed/collapsed; capitalisation is
    kept."""
    raw = _text(text)
    value = _nfc(_collapse(raw))
    for src, dst in {**_APOSTROPHES, **_DASHES}.items():
        value = value.replace(src, dst)
    if not value:
        raise _name_refusal(field, "name.empty")
    if len(value) > NAME_MAX_LENGTH:
        raise _name_refusal(field, "name.too_long")
    if any(unicodedata.category(ch) == "Nd" or ch.isdigit() for ch in value):
        raise _name_refusal(field, "name.digits")
    for ch in value:
        if not (_is_letter(ch) or _is_mark(ch) or ch in " -'."):
            raise _name_refusal(field, "name.characters")
    if not any(_is_letter(ch) for ch in value):
        raise _name_refusal(field, "name.no_letters")
    return value


# --------------------------------------------------------------------------------------------------
# email


_EMAIL_INVALID = N_(
    "That doesn't look like a valid email address. Please type the full address, like name@example.com."
)


def email_address(text: str) -> str:
    """An email address, checked for syntax only (no DNS lookup); returns the normalised form."""
    value = _text(text).strip()
    if not value:
        raise Invalid(_("I didn't get an email address. Please type it, like name@example.com."), "email.empty")
    if len(value) > 320:
        raise Invalid(
            _("That's too long to be an email address. Please type just your address, like name@example.com."),
            "email.invalid",
        )
    try:
        result = validate_email(value, check_deliverability=False)
    except EmailNotValidError as exc:
        reason = str(exc).strip()
        if reason and not reason.endswith((".", "!", "?")):
            reason += "."
        if current_language() != "en":  # the library explains in English only: no reason given
            raise Invalid(_(_EMAIL_INVALID), "email.invalid") from None
        raise Invalid(
            _(
                "That doesn't look like a valid email address. {reason} "
                "Please type the full address, like name@example.com."
            ).format(reason=reason),
            "email.invalid",
        ) from None
    except (ValueError, UnicodeError):  # defensive: odd code points deep inside the library
        raise Invalid(_(_EMAIL_INVALID), "email.invalid") from None
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
                _(
                    "Please type your Social Security number as 9 digits, grouped 3-2-4 like XXX-XX-XXXX "
                    "(dashes or spaces between the groups are fine, other symbols are not)."
                ),
                "ssn.format",
            )
        raise Invalid(
            _(
                "A Social Security number has exactly 9 digits. Please type all 9, in the form XXX-XX-XXXX "
                "(dashes or spaces are fine)."
            ),
            "ssn.format",
        )
    number = "".join(shape.groups())
    if number.startswith("9"):
        raise Invalid(
            _(
                "That looks like an Individual Taxpayer Identification Number (ITIN), which starts with 9. "
                "This registration needs your Social Security number (SSN) instead. Please type your SSN."
            ),
            "ssn.itin",
        )
    try:
        return _stdnum_ssn.validate(number)
    except _StdnumValidationError:
        raise Invalid(
            _(
                "That is not a valid Social Security number. Please check your Social Security card and "
                "type the 9 digits again."
            ),
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
#: the months in Spanish, so "3 de marzo de 1980" reads too
_MONTHS.update(
    (name, number)
    for number, names in enumerate(
        [
            ("enero", "ene"),
            ("febrero",),
            ("marzo",),
            ("abril", "abr"),
            ("mayo",),
            ("junio",),
            ("julio",),
            ("agosto", "ago"),
            ("septiembre", "setiembre", "set"),
            ("octubre",),
            ("noviembre",),
            ("diciembre", "dic"),
        ],
        start=1,
    )
    for name in names
)

_D = r"([0-9]{1,4})"
_NUMERIC_DATE = re.compile(rf"{_D}\s*([/.\-])\s*{_D}\s*\2\s*{_D}")
_MONTH_FIRST = re.compile(r"([a-z]+)\.?\s*,?\s*([0-9]{1,4})(?:st|nd|rd|th)?\s*,?\s*(?:de\s+)?([0-9]{1,4})")
_DAY_FIRST = re.compile(
    r"([0-9]{1,4})(?:st|nd|rd|th)?\s*(?:(?:of|de)\s+)?([a-z]+)\.?\s*,?\s*(?:del?\s+)?([0-9]{1,4})"
)

_DOB_HOW = N_("Please type it as month/day/year with a four-digit year, like MM/DD/YYYY or Month DD, YYYY.")


def _dob_parts(value: str) -> tuple[int, int, int]:
    """(year, month, day) from the typed date, or Invalid. The numbers are not checked yet."""
    m = _NUMERIC_DATE.fullmatch(value)
    if m:
        a, b, c = m.group(1), m.group(3), m.group(4)
        if len(a) == 4:  # ISO-like: YYYY-MM-DD, YYYY/MM/DD, YYYY.MM.DD
            if len(b) > 2 or len(c) > 2:
                raise Invalid(_("I couldn't read that date. {how}").format(how=_(_DOB_HOW)), "dob.format")
            return int(a), int(b), int(c)
        if len(a) > 2 or len(b) > 2:
            raise Invalid(_("I couldn't read that date. {how}").format(how=_(_DOB_HOW)), "dob.format")
        if len(c) != 4:
            raise Invalid(
                _(
                    "Please type all four digits of the year, not just the last two, "
                    "so there's no doubt about the century. {how}"
                ).format(how=_(_DOB_HOW)),
                "dob.two_digit_year" if len(c) <= 2 else "dob.format",
            )
        return int(c), int(a), int(b)  # U.S. order: month first
    for pattern, month_group, day_group in ((_MONTH_FIRST, 1, 2), (_DAY_FIRST, 2, 1)):
        m = pattern.fullmatch(value)
        if not m:
            continue
        month = _MONTHS.get(m.group(month_group))
        if month is None:
            raise Invalid(_("I couldn't read the month in that date. {how}").format(how=_(_DOB_HOW)), "dob.format")
        day_s, year_s = m.group(day_group), m.group(3)
        if len(day_s) > 2:
            raise Invalid(_("I couldn't read that date. {how}").format(how=_(_DOB_HOW)), "dob.format")
        if len(year_s) != 4:
            raise Invalid(
                _("Please type all four digits of the year, not just the last two. {how}").format(how=_(_DOB_HOW)),
                "dob.two_digit_year" if len(year_s) <= 2 else "dob.format",
            )
        return int(year_s), month, int(day_s)
    if _is_digits(value) and len(value) in (6, 8):
        raise Invalid(
            _("Please put slashes between the month, day and year so I read it correctly. {how}").format(
                how=_(_DOB_HOW)
            ),
            "dob.format",
        )
    raise Invalid(_("I couldn't read that as a date. {how}").format(how=_(_DOB_HOW)), "dob.format")


def _age_on(born: date, today: date) -> int:
    return today.year - born.year - ((today.month, today.day) < (born.month, born.day))


def date_of_birth(text: str, *, today: date, min_age: int = 16, max_age: int = 120) -> date:
    """A date of birth in a U.S. form (month first) or ISO, with a four-digit year; the person must
    be between ``min_age`` and ``max_age`` years old on ``today``."""
    value = _nfkc(_text(text)).strip().lower()
    value = " ".join(value.split())
    if not value:
        raise Invalid(_("I didn't get a date. {how}").format(how=_(_DOB_HOW)), "dob.empty")
    if len(value) > 40:
        raise Invalid(_("That's too long to be a date. {how}").format(how=_(_DOB_HOW)), "dob.format")
    year, month, day = _dob_parts(value)
    if not 1 <= month <= 12:
        raise Invalid(
            _("The month must be a number from 1 to 12 (month comes first, then the day). {how}").format(
                how=_(_DOB_HOW)
            ),
            "dob.impossible",
        )
    try:
        born = date(year, month, day)
    except ValueError:
        raise Invalid(
            _(
                "That day doesn't exist in that month (for example, there is no February 30). "
                "Please check the day and month and type the date again, like MM/DD/YYYY."
            ),
            "dob.impossible",
        ) from None
    if born > today:
        raise Invalid(
            _("That date is in the future. Please type your date of birth, like MM/DD/YYYY."),
            "dob.future",
        )
    age = _age_on(born, today)
    if age > max_age:
        raise Invalid(
            _(
                "That date would make you older than {max_age}. Please check the year and type your "
                "date of birth again, like MM/DD/YYYY."
            ).format(max_age=max_age),
            "dob.too_old",
        )
    if age < min_age:
        raise Invalid(
            ngettext(
                "You must be at least {min_age} year old to register. If you typed the date wrong, "
                "please type it again, like MM/DD/YYYY.",
                "You must be at least {min_age} years old to register. If you typed the date wrong, "
                "please type it again, like MM/DD/YYYY.",
                min_age,
            ).format(min_age=min_age),
            "dob.too_young",
        )
    return born

# --------------------------------------------------------------------------------------------------
# phone

#: Regions that share the +1 country code and are part of the United States.
_US_PHONE_REGIONS = frozenset({"US", "PR", "GU", "VI", "AS", "MP"})
_MOBILE_OK = frozenset({PhoneNumberType.MOBILE, PhoneNumberType.FIXED_LINE_OR_MOBILE})
_NANP_RE = re.compile(r"[2-9][0-9]{2}[2-9][0-9]{6}")


#: exchanges tried when asking the numbering plan's data whether an area code is in use
_SAMPLE_EXCHANGES = ("234", "345", "456", "567", "678", "789", "828", "939")


@functools.lru_cache(maxsize=1024)
def assigned_us_area_code(area: str) -> bool:
    """Whether ``area`` is a NANP area code assigned to a U.S. place that can have mobile phones
    (not a service code such as 211 or 911, nor 555, 999 or an unassigned one such as 370): some
    ordinary number in it is valid, in a U.S. region, for the phone number data."""
    if not (len(area) == 3 and area.isdigit()):
        return False
    for exchange in _SAMPLE_EXCHANGES:
        try:
            sample = phonenumbers.parse(f"+1{area}{exchange}4567", None)
        except phonenumbers.NumberParseException:
            return False
        if (
            phonenumbers.is_valid_number(sample)
            and phonenumbers.region_code_for_number(sample) in _US_PHONE_REGIONS
            and phonenumbers.number_type(sample) in _MOBILE_OK
        ):
            return True
    return False


def us_mobile_number(text: str) -> str:
    """A U.S. mobile number in E.164 form ("+12025550143"); U.S. is the default region."""
    value = _nfkc(_text(text)).strip()
    how = _("Please type your 10-digit U.S. mobile number, like (202) 555-0143.")
    if not value:
        raise Invalid(_("I didn't get a phone number. {how}").format(how=how), "phone.empty")
    if len(value) > 40 or not any("0" <= ch <= "9" for ch in value):
        raise Invalid(_("That doesn't look like a phone number. {how}").format(how=how), "phone.invalid")
    try:
        number = phonenumbers.parse(value, "US")
    except phonenumbers.NumberParseException:
        raise Invalid(_("That doesn't look like a phone number. {how}").format(how=how), "phone.invalid") from None
    except Exception:  # defensive: the parser must never break the flow
        raise Invalid(_("That doesn't look like a phone number. {how}").format(how=how), "phone.invalid") from None
    if number.extension:
        raise Invalid(
            _(
                "Text messages can't reach an extension, so please type just the 10-digit mobile number "
                "itself, without the extension, like (202) 555-0143."
            ),
            "phone.extension",
        )
    region = phonenumbers.region_code_for_number(number)
    national = str(number.national_number)
    if phonenumbers.is_valid_number(number):
        if region not in _US_PHONE_REGIONS:
            raise Invalid(
                _(
                    "Only U.S. mobile numbers can get text messages here. Please type a U.S. mobile number, "
                    "like (202) 555-0143."
                ),
                "phone.not_us",
            )
        if phonenumbers.number_type(number) not in _MOBILE_OK:
            raise Invalid(
                _(
                    "That number can't receive our text messages (toll-free, premium-rate, internet-only "
                    "and landline numbers can't). Please type the number of a mobile phone you have with you."
                ),
                "phone.not_mobile",
            )
        return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    # The metadata may someday refuse fictional 555-01xx numbers; accept them if they fit the NANP
    # and their area code is one the numbering plan has assigned to a U.S. place.
    if (
        number.country_code == 1
        and phonenumbers.is_possible_number(number)
        and _NANP_RE.fullmatch(national)
        and national[3:8] == "55501"
        and assigned_us_area_code(national[:3])
    ):
        return "+1" + national
    raise Invalid(_("That isn't a valid phone number. {how}").format(how=how), "phone.invalid")


def one_time_code(text: str, *, digits: int = 6) -> str:
    """A numeric one-time code of exactly ``digits`` digits (spaces and hyphens are ignored)."""
    value = _ascii_digits_only(_text(text)[:200])
    if not _is_digits(value) or len(value) != digits:
        raise Invalid(
            ngettext(
                "The code is {digits} digit long. Please type just that {digits} digit, "
                "with no letters or other symbols.",
                "The code is {digits} digits long. Please type just those {digits} digits, "
                "with no letters or other symbols.",
                digits,
            ).format(digits=digits),
            "code.format",
        )
    return value


def last_eight_digits(text: str) -> str:
    """The last eight digits of an account number (spaces and hyphens are ignored)."""
    value = _ascii_digits_only(_text(text)[:200])
    how = _("Please type only the last 8 digits of the account number.")
    if not value:
        raise Invalid(_("I didn't get any digits. {how}").format(how=how), "account.empty")
    if not _is_digits(value):
        raise Invalid(_("Please use digits only. {how}").format(how=how), "account.format")
    if 13 <= len(value) <= 19:
        raise Invalid(
            _(
                "That looks like a whole card or account number. For your safety we only need the end of it. {how}"
            ).format(how=how),
            "account.too_long",
        )
    if len(value) in (3, 4):
        raise Invalid(
            _(
                "That looks like a card security code (the 3 or 4 digits on the back of a card), which we "
                "don't ask for and you shouldn't share. {how}"
            ).format(how=how),
            "account.security_code",
        )
    if len(value) != 8:
        raise Invalid(_("That isn't 8 digits. {how}").format(how=how), "account.format")
    return value


_YES = frozenset(
    "y yes yeah yea yep yup ya ok okay k sure correct right true affirmative confirm confirmed "
    "agree absolutely definitely certainly indeed si sí oui da 👍 ✅ ✔ ✔️ "
    "claro correcto cierto vale exacto afirmativo".split()
)
_NO = frozenset(
    "n no nope nah nay negative false wrong incorrect cancel non nein 👎 ❌ ✖ "
    "incorrecto negativo falso cancelar".split()
)
_YES_PHRASES = frozenset({"yes please", "of course", "that's right", "thats right", "that is right",
                          "that's correct", "thats correct", "that is correct", "i agree", "go ahead",
                          "sounds good", "yes it is", "yes thanks", "yes thank you", "ok thanks",
                          "sí gracias", "si gracias", "por supuesto", "de acuerdo", "así es", "asi es",
                          "es correcto", "está bien", "esta bien", "sí es", "si es"})
_NO_PHRASES = frozenset({"no thanks", "no thank you", "not really", "not now", "no way", "not correct",
                         "that's wrong", "thats wrong", "that is wrong", "no it isn't", "no it is not",
                         "no it's not", "not right", "no gracias", "para nada", "no es correcto",
                         "no es así", "no es asi", "no está bien", "no esta bien"})


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

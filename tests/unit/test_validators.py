"""Tests for domain.validators: accepted forms, normalised outputs, refusal codes, messages that never
echo sensitive input, and property tests that arbitrary text only ever yields a value or Invalid."""

from __future__ import annotations

from datetime import date
from functools import partial
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from domain import passwords
from domain import validators as v
from domain.validators import Invalid

TODAY = date(2025, 6, 15)
FUZZ = settings(max_examples=200, deadline=None)

#: what each validator accepts: {validator name: [(text typed, the value it gives), ...]}
ACCEPTS: dict[str, list[tuple]] = {}
#: what each validator refuses: {validator name: [(text typed, the refusal's code), ...]}
REFUSES: dict[str, list[tuple]] = {}
#: words a refusal's message always holds, by validator
MESSAGE_SAYS = {"email_address": "name@example.com", "us_state": "two-letter"}
#: validators whose refusals never repeat what was typed (it is a secret, or personal)
NOT_ECHOED = {"ssn", "date_of_birth", "one_time_code", "last_eight_digits"}


def validator(name: str):
    """The validator called ``name``, as a function of the typed text (dates of birth on TODAY)."""
    return partial(v.date_of_birth, today=TODAY) if name == "date_of_birth" else getattr(v, name)


def refused(func, *args, **kwargs) -> Invalid:
    with pytest.raises(Invalid) as info:
        func(*args, **kwargs)
    exc = info.value
    assert exc.message and exc.message == str(exc)
    assert exc.code and "." in exc.code
    assert "Traceback" not in exc.message
    return exc


def assert_code(code, func, *args, **kwargs) -> Invalid:
    exc = refused(func, *args, **kwargs)
    assert exc.code == code, (exc.code, exc.message)
    return exc


def assert_not_echoed(exc: Invalid, secret: str) -> None:
    """Neither the raw secret nor its bare digits may appear in the message."""
    if secret:
        assert secret not in exc.message
    digits = "".join(ch for ch in secret if ch.isdigit())
    if len(digits) >= 3:
        assert digits not in "".join(ch for ch in exc.message if ch.isdigit())


# ------------------------------------------------------------------------------------------------
# Invalid


def test_invalid_is_value_error_with_message_and_code():
    exc = Invalid("Please type it again.", "x.y")
    assert isinstance(exc, ValueError)
    assert exc.message == "Please type it again."
    assert exc.code == "x.y"
    assert str(exc) == "Please type it again."


# ------------------------------------------------------------------------------------------------
# person_name

ACCEPTS["person_name"] = [
    ("Mary", "Mary"),
    ("  mary   ann  ", "mary ann"),
    ("JOSÉ", "JOSÉ"),
    ("Zoë", "Zoë"),
    ("O'Brien", "O'Brien"),
    ("O\u2019Brien", "O'Brien"),
    ("Jean-Luc", "Jean-Luc"),
    ("St. John", "St. John"),
    ("Nguyễn", "Nguyễn"),
    ("Müller-Lüdenscheidt", "Müller-Lüdenscheidt"),
    ("Łukasz", "Łukasz"),
    ("李", "李"),
    ("Александр", "Александр"),
    ("J", "J"),
    ("A" * 40, "A" * 40),
]

REFUSES["person_name"] = [
    ("", "name.empty"),
    ("   ", "name.empty"),
    ("R2D2", "name.digits"),
    ("Mary 3", "name.digits"),
    ("Bob!", "name.characters"),
    ("Ann@home", "name.characters"),
    ("Mary 😀", "name.characters"),
    ("Ann_Lee", "name.characters"),
    ("-", "name.no_letters"),
    ("' .", "name.no_letters"),
    ("A" * 41, "name.too_long"),
]


def test_person_name_combining_accent_is_composed():
    assert v.person_name("Jose\u0301") == "José"


def test_person_name_message_uses_field():
    exc = assert_code("name.digits", v.person_name, "Sm1th", field="last name")
    assert "last name" in exc.message


# ------------------------------------------------------------------------------------------------
# email_address

ACCEPTS["email_address"] = [
    ("jane@example.com", "jane@example.com"),
    ("  jane@example.com  ", "jane@example.com"),
    ("Jane.Doe@Example.COM", "Jane.Doe@example.com"),
    ("first+tag@sub.example.org", "first+tag@sub.example.org"),
]

REFUSES["email_address"] = [
    ("", "email.empty"),
    ("jane", "email.invalid"),
    ("jane@", "email.invalid"),
    ("@example.com", "email.invalid"),
    ("jane doe@example.com", "email.invalid"),
    ("jane@localhost", "email.invalid"),
    ("jane@@example.com", "email.invalid"),
    ("a" * 400 + "@example.com", "email.invalid"),
]


# ------------------------------------------------------------------------------------------------
# ssn

ACCEPTS["ssn"] = [(raw, "400123456") for raw in ["400-12-3456", "400 12 3456", "400123456", " 400-12-3456 ", "４００１２３４５６"]]

REFUSES["ssn"] = [
    ("", "ssn.format"),
    ("40012345", "ssn.format"),
    ("4001234567", "ssn.format"),
    ("400-12-345", "ssn.format"),
    ("4001-23456", "ssn.format"),
    ("400/12/3456", "ssn.format"),
    ("abc-de-fghi", "ssn.format"),
    ("912-34-5678", "ssn.itin"),
    ("900123456", "ssn.itin"),
    ("000-12-3456", "ssn.invalid"),
    ("666-12-3456", "ssn.invalid"),
    ("400-00-3456", "ssn.invalid"),
    ("400-12-0000", "ssn.invalid"),
    ("078-05-1120", "ssn.invalid"),  # the famous wallet-card number
    ("219-09-9999", "ssn.invalid"),
]


def test_ssn_messages_differ_by_reason():
    length = refused(v.ssn, "40012345").message
    itin = refused(v.ssn, "912345678").message
    bad = refused(v.ssn, "000123456").message
    assert len({length, itin, bad}) == 3
    assert "9 digits" in length
    assert "ITIN" in itin and "Social Security number" in itin
    assert "not a valid" in bad


# ------------------------------------------------------------------------------------------------
# date_of_birth

ACCEPTS["date_of_birth"] = [
    (raw, date(1979, 3, 14))
    for raw in [
        "03/14/1979",
        "3/14/1979",
        "03-14-1979",
        "03.14.1979",
        "1979-03-14",
        "1979/03/14",
        "March 14, 1979",
        "march 14 1979",
        "Mar 14 1979",
        "Mar. 14, 1979",
        "MARCH 14TH, 1979",
        "14 March 1979",
        "14 Mar 1979",
        "  03 / 14 / 1979  ",
        "０３/１４/１９７９",
    ]
]


def test_dob_slash_form_is_month_first():
    assert v.date_of_birth("04/05/1980", today=TODAY) == date(1980, 4, 5)
    assert v.date_of_birth("4/5/1980", today=TODAY) == date(1980, 4, 5)


def test_dob_leap_day():
    assert v.date_of_birth("02/29/2000", today=TODAY) == date(2000, 2, 29)
    assert_code("dob.impossible", v.date_of_birth, "02/29/2001", today=TODAY)


def test_dob_age_limits_are_inclusive():
    # exactly 16 today
    assert v.date_of_birth("06/15/2009", today=TODAY) == date(2009, 6, 15)
    # turns 16 tomorrow
    assert_code("dob.too_young", v.date_of_birth, "06/16/2009", today=TODAY)
    # 120 is still allowed (until the 121st birthday)
    assert v.date_of_birth("06/15/1905", today=TODAY) == date(1905, 6, 15)
    assert v.date_of_birth("06/16/1904", today=TODAY) == date(1904, 6, 16)
    assert_code("dob.too_old", v.date_of_birth, "06/15/1904", today=TODAY)
    # custom limits
    assert_code("dob.too_young", v.date_of_birth, "01/01/2000", today=TODAY, min_age=30)
    assert_code("dob.too_old", v.date_of_birth, "01/01/1950", today=TODAY, max_age=70)


REFUSES["date_of_birth"] = [
    ("", "dob.empty"),
    ("   ", "dob.empty"),
    ("3/14/79", "dob.two_digit_year"),
    ("03-14-79", "dob.two_digit_year"),
    ("March 14, 79", "dob.two_digit_year"),
    ("02/30/1990", "dob.impossible"),
    ("04/31/1990", "dob.impossible"),
    ("13/01/1990", "dob.impossible"),
    ("00/10/1990", "dob.impossible"),
    ("1990-02-30", "dob.impossible"),
    ("03/14/2030", "dob.future"),
    ("06/16/2025", "dob.future"),
    ("01/01/1850", "dob.too_old"),
    ("01/01/2015", "dob.too_young"),
    ("03141979", "dob.format"),
    ("03/14-1979", "dob.format"),
    ("Smarch 14, 1979", "dob.format"),
    ("yesterday", "dob.format"),
    ("14/1979", "dob.format"),
    ("1979-3", "dob.format"),
    ("x" * 10_000, "dob.format"),
]


def test_dob_impossible_message_is_specific():
    exc = refused(v.date_of_birth, "02/30/1990", today=TODAY)
    assert "doesn't exist" in exc.message
    two = refused(v.date_of_birth, "3/14/79", today=TODAY)
    assert "four digits" in two.message


# ------------------------------------------------------------------------------------------------
# us_state

ACCEPTS["us_state"] = [
    ("NY", "NY"),
    ("ny", "NY"),
    (" Ca ", "CA"),
    ("New York", "NY"),
    ("new york", "NY"),
    ("CALIFORNIA", "CA"),
    ("West Virginia", "WV"),
    ("Virginia", "VA"),
    ("District of Columbia", "DC"),
    ("DC", "DC"),
    ("D.C.", "DC"),
    ("Washington, D.C.", "DC"),
    ("Washington", "WA"),
    ("Puerto Rico", "PR"),
    ("PR", "PR"),
    ("Guam", "GU"),
    ("U.S. Virgin Islands", "VI"),
    ("VI", "VI"),
    ("American Samoa", "AS"),
    ("Northern Mariana Islands", "MP"),
    ("AA", "AA"),
    ("ae", "AE"),
    ("AP", "AP"),
    ("Armed Forces Europe", "AE"),
    ("Armed Forces Pacific", "AP"),
    ("Armed Forces Americas", "AA"),
    ("N.Y.", "NY"),
]

REFUSES["us_state"] = [
    ("", "state.empty"), ("XX", "state.unknown"), ("06", "state.unknown"), ("Ontario", "state.unknown"),
    ("!!", "state.unknown"), ("a" * 500, "state.unknown"),
]


# ------------------------------------------------------------------------------------------------
# zip_code

ACCEPTS["zip_code"] = [
    ("20500", "20500"),
    (" 20500 ", "20500"),
    ("20500-0003", "20500-0003"),
    ("20500 - 0003", "20500-0003"),
    ("20500 0003", "20500-0003"),
    ("205000003", "20500-0003"),
    ("02134", "02134"),
]

REFUSES["zip_code"] = [
    ("", "zip.empty"), ("2050", "zip.format"), ("205001", "zip.format"), ("20500-", "zip.format"),
    ("20500-00031", "zip.format"), ("ABCDE", "zip.format"), ("00000", "zip.format"), ("K1A 0B1", "zip.format"),
]


# ------------------------------------------------------------------------------------------------
# country

ACCEPTS["country"] = [
    ("US", "US"),
    ("us", "US"),
    ("USA", "US"),
    ("U.S.A.", "US"),
    ("United States", "US"),
    ("united states of america", "US"),
    ("America", "US"),
    ("GB", "GB"),
    ("UK", "GB"),
    ("United Kingdom", "GB"),
    ("England", "GB"),
    ("Scotland", "GB"),
    ("Great Britain", "GB"),
    ("South Korea", "KR"),
    ("Republic of Korea", "KR"),
    ("North Korea", "KP"),
    ("Russia", "RU"),
    ("Germany", "DE"),
    ("DEU", "DE"),
    ("deu", "DE"),
    ("Canada", "CA"),
    ("can", "CA"),
    ("Mexico", "MX"),
    ("Holland", "NL"),
    ("The Netherlands", "NL"),
    ("Ivory Coast", "CI"),
    ("Turkey", "TR"),
    ("Türkiye", "TR"),
    ("Viet Nam", "VN"),
    ("Vietnam", "VN"),
    ("Czechia", "CZ"),
    ("Czech Republic", "CZ"),
    ("Bosnia", "BA"),
    ("UAE", "AE"),
    ("Curaçao", "CW"),
    ("  india  ", "IN"),
]


def test_country_fuzzy_fallback_single_result():
    # not an ISO name, but pycountry's fuzzy search finds exactly one country
    assert v.country("Italia") == "IT"


REFUSES["country"] = [
    ("", "country.empty"),
    ("Narnia", "country.unknown"),
    ("xx", "country.unknown"),
    ("840", "country.unknown"),
    ("!!!", "country.unknown"),
    ("Korea", "country.ambiguous"),
    ("Islands", "country.ambiguous"),
    ("z" * 5000, "country.unknown"),
]


# ------------------------------------------------------------------------------------------------
# postal_code, province


@pytest.mark.parametrize(
    "raw, country_code, expected",
    [
        ("K1A 0B1", "CA", "K1A 0B1"),
        ("k1a0b1", "CA", "K1A 0B1"),
        (" k1a 0b1 ", "CA", "K1A 0B1"),
        ("20500", "US", "20500"),
        ("205000003", "US", "20500-0003"),
        ("sw1a 1aa", "GB", "SW1A 1AA"),
        ("SW1A  1AA", "GB", "SW1A 1AA"),
        ("75008", "FR", "75008"),
        ("D02 X285", "IE", "D02 X285"),
        ("100-0001", "JP", "100-0001"),
        ("1010", "AT", "1010"),
    ],
)
def test_postal_code_accepts(raw, country_code, expected):
    assert v.postal_code(raw, country_code) == expected


@pytest.mark.parametrize(
    "raw, country_code, code",
    [
        ("", "FR", "postal.empty"),
        ("", "CA", "postal.empty"),
        ("", "US", "zip.empty"),
        ("1", "FR", "postal.format"),
        ("12345678901", "DE", "postal.format"),
        ("75@08", "FR", "postal.format"),
        ("-7500", "FR", "postal.format"),
        ("K1A 0B", "CA", "postal.format"),
        ("W1A 0B1", "CA", "postal.format"),  # W is never a first letter
        ("K1A-0B1", "CA", "postal.format"),
        ("12345", "CA", "postal.format"),
        ("K1A 0B1", "US", "zip.format"),
    ],
)
def test_postal_code_refuses(raw, country_code, code):
    assert_code(code, v.postal_code, raw, country_code)


ACCEPTS["province"] = [
    ("Ontario", "Ontario"), ("  Île-de-France ", "Île-de-France"), ("", ""), ("   ", ""), ("NSW", "NSW"),
    ("Région 7", "Région 7"),
]

REFUSES["province"] = [("x" * 41, "province.too_long"), ("---", "province.characters"), ("\x00abc", "province.characters")]


# ------------------------------------------------------------------------------------------------
# address_line, city

ACCEPTS["address_line"] = [
    ("1600 Pennsylvania Ave NW", "1600 Pennsylvania Ave NW"),
    ("  12   Main   St,  Apt #4 ", "12 Main St, Apt #4"),
    ("PO Box 123", "PO Box 123"),
    ("Calle Ñandú 5", "Calle Ñandú 5"),
    ("x" * 60, "x" * 60),
    ("12\nMain St", "12 Main St"),
]

REFUSES["address_line"] = [
    ("", "address.empty"), ("   ", "address.empty"), ("x" * 61, "address.too_long"),
    ("#-/", "address.characters"), ("12 Main\x00 St", "address.characters"), ("12 Main\u200b St", "address.characters"),
]

ACCEPTS["city"] = [
    ("Springfield", "Springfield"), ("  New   York ", "New York"), ("Winston-Salem", "Winston-Salem"),
    ("St. Louis", "St. Louis"), ("Zürich", "Zürich"), ("x" * 40, "x" * 40),
]

REFUSES["city"] = [("", "city.empty"), ("x" * 41, "city.too_long"), ("...", "city.characters"), ("Bo\x07ston", "city.characters")]


# ------------------------------------------------------------------------------------------------
# us_mobile_number

ACCEPTS["us_mobile_number"] = [
    (raw, "+12025550143")  # a fictional 555 number
    for raw in [
        "+1 202 555 0143",
        "+12025550143",
        "(202) 555-0143",
        "202.555.0143",
        "202-555-0143",
        "2025550143",
        "1-202-555-0143",
        "1 (202) 555-0143",
        "  +1 (202) 555 0143  ",
    ]
]


def test_mobile_accepts_territory_numbers():
    assert v.us_mobile_number("+1 787 555 0143") == "+17875550143"  # Puerto Rico


REFUSES["us_mobile_number"] = [
    ("", "phone.empty"),
    ("hello", "phone.invalid"),
    ("12", "phone.invalid"),
    ("202 555 014", "phone.invalid"),
    ("+1 202 123 4567", "phone.invalid"),
    ("9" * 500, "phone.invalid"),
    ("+44 7911 123456", "phone.not_us"),
    ("+44 20 7946 0958", "phone.not_us"),
    ("+1 416 555 0143", "phone.not_us"),  # Canada shares +1
    ("+33 6 12 34 56 78", "phone.not_us"),
    ("800-555-1234", "phone.not_mobile"),  # toll-free
    ("+1 888 234 5678", "phone.not_mobile"),
    ("+1 900 234 5678", "phone.not_mobile"),  # premium rate
    ("+1 500 234 5678", "phone.not_mobile"),  # personal-number service
]


def test_mobile_not_us_message():
    exc = refused(v.us_mobile_number, "+44 7911 123456")
    assert "U.S." in exc.message


# ------------------------------------------------------------------------------------------------
# password


def test_blocklist_is_packaged_and_large():
    path = Path(v.__file__).resolve().parent / "data" / "common_passwords.txt"
    lines = path.read_text(encoding="utf-8").splitlines()
    assert lines[0].startswith("#")
    entries = [line for line in lines if line and not line.startswith("#")]
    assert len(entries) >= 10_000
    assert len(entries) == len(set(entries))
    assert all(len(e) >= 6 and e == e.lower() for e in entries)
    assert "password" in passwords._common_passwords()
    assert_code("password.common", v.password, "password")
    assert_code("password.common", v.password, "PassWord")
    assert not any(e.startswith("#") for e in passwords._common_passwords())


@pytest.mark.parametrize(
    "raw",
    [
        "correct horse battery staple",
        "Tangerine kettle 47 orbit",
        "ünïcödé-pässwörd-ok",
        "日本語のパスワードです",
        "🦊🌲🦉🌙🍄🌊🐚🪐",
        " leading and trailing ",
        "kT9#vq!Lm2",
    ],
)
def test_password_accepts(raw):
    assert v.password(raw, username="jdoe1234", personal_words=["Mary", "Smith"]) == raw


def test_password_is_nfkc_normalised_not_stripped():
    assert v.password("  ﬁsh tank orbit  ") == "  fish tank orbit  "  # ligature ﬁ -> fi
    assert v.password("\u00a0quiet meadow lamp") == " quiet meadow lamp"  # NBSP -> space


def test_password_length_limits():
    longest = ("Tangerine kettle 47 orbit " * 5)[:128]
    assert v.password(longest) == longest  # exactly 128
    assert_code("password.too_long", v.password, longest + "z")
    assert_code("password.too_long", v.password, "z" * 100_000)
    assert_code("password.too_short", v.password, "kT9#vq!")
    assert_code("password.too_short", v.password, "")
    assert v.password("kT9#vq!", min_length=6) == "kT9#vq!"
    assert_code("password.too_long", v.password, "kT9#vq!Lm2", max_length=9)


@pytest.mark.parametrize(
    "raw, kwargs, code",
    [
        ("trustno1", {}, "password.common"),
        ("SUPERMAN", {}, "password.common"),
        ("Password1", {}, "password.common"),
        ("iloveyou", {}, "password.common"),
        ("qwertyuiop", {}, "password.common"),
        ("Sunshine2024!", {}, "password.common"),
        ("football", {}, "password.common"),
        ("12345678", {}, "password.pattern"),
        ("87654321", {}, "password.pattern"),
        ("abcdefgh", {}, "password.pattern"),
        ("ABCDEFGHIJ", {}, "password.pattern"),
        ("zzzzzzzzzz", {}, "password.pattern"),
        ("          ", {}, "password.pattern"),
        ("abcabcabc", {}, "password.pattern"),
        ("jdoe1234rocks", {"username": "JDoe1234"}, "password.contains_username"),
        ("MyNameIsJDOE!", {"username": "jdoe"}, "password.contains_username"),
        ("marysmithlamp", {"personal_words": ["Mary"]}, "password.personal"),
        ("lamp-garcia-99", {"personal_words": ["Ann", "García-López"]}, "password.personal"),
        ("i am oneil forever", {"personal_words": ["O'Neil"]}, "password.personal"),
        ("sabot2024", {}, "password.context"),
        ("Sabot!!2024", {}, "password.context"),
        ("IRS12345678", {}, "password.context"),
        ("12345678irs", {}, "password.context"),
        ("SecureAccess1", {}, "password.context"),
        ("my secure access pass", {}, "password.context"),
        ("e-services2025", {}, "password.context"),
        ("irs-e-services", {}, "password.context"),
        ("line\nbreak pass", {}, "password.characters"),
        ("tab\there pass", {}, "password.characters"),
        ("zero\u200bwidth pass", {}, "password.characters"),
    ],
)
def test_password_refuses_without_echo(raw, kwargs, code):
    exc = assert_code(code, v.password, raw, **kwargs)
    assert raw not in exc.message
    if raw.strip() and "password" not in raw.lower():  # the word itself is naturally in the message
        assert raw.strip().lower() not in exc.message.lower()


def test_password_short_username_and_personal_words_are_ignored():
    assert v.password("to be or not", username="to") == "to be or not"
    assert v.password("al pacino rocks", personal_words=["Al", "", "J."]) == "al pacino rocks"


def test_password_innocent_words_containing_irs_are_fine():
    assert v.password("firstborn tulip") == "firstborn tulip"
    assert v.password("sabotage cartoon 7") == "sabotage cartoon 7"


def test_password_messages_explain_and_advise():
    for raw, kw in [("password", {}), ("12345678", {}), ("sabot2024", {}), ("short", {}),
                    ("jdoe1234rocks", {"username": "jdoe1234"}), ("marysmithlamp", {"personal_words": ["Mary"]})]:
        exc = refused(v.password, raw, **kw)
        assert "words" in exc.message  # advice: a few unrelated words


# ------------------------------------------------------------------------------------------------
# username

ACCEPTS["username"] = [("jdoe1234", "jdoe1234"), (" JDoe.Tax_Pro-1 ", "JDoe.Tax_Pro-1"), ("abcdef", "abcdef"), ("a" * 32, "a" * 32)]


@pytest.mark.parametrize(
    "raw, kwargs, code",
    [
        ("", {}, "username.empty"),
        ("abcde", {}, "username.too_short"),
        ("a" * 33, {}, "username.too_long"),
        ("1abcdef", {}, "username.start"),
        ("_abcdef", {}, "username.start"),
        ("john doe", {}, "username.characters"),
        ("john@doe", {}, "username.characters"),
        ("jöhndoe", {}, "username.characters"),
        ("abcdefgh", {"max_length": 7}, "username.too_long"),
        ("abc", {"min_length": 4}, "username.too_short"),
    ],
)
def test_username_refuses(raw, kwargs, code):
    exc = assert_code(code, v.username, raw, **kwargs)
    assert "letter" in exc.message


def test_username_custom_limits():
    assert v.username("abc", min_length=3) == "abc"


# ------------------------------------------------------------------------------------------------
# site_phrase

ACCEPTS["site_phrase"] = [("Blue canoe", "Blue canoe"), ("  gold fish  ", "gold fish"), ("abcd", "abcd"), ("🌵🌵🌵🌵", "🌵🌵🌵🌵"),
                          ("x" * 40, "x" * 40)]

REFUSES["site_phrase"] = [("", "phrase.empty"), ("abc", "phrase.too_short"), ("x" * 41, "phrase.too_long"),
                          ("two\nlines", "phrase.characters")]


# ------------------------------------------------------------------------------------------------
# one_time_code

ACCEPTS["one_time_code"] = [(raw, "482913") for raw in ["482913", " 482 913 ", "482-913", "４８２９１３"]]


def test_code_custom_length():
    assert v.one_time_code("1234 5678", digits=8) == "12345678"


REFUSES["one_time_code"] = [(raw, "code.format") for raw in ["", "48291", "4829137", "48291a", "abcdef", "48.29.13", "٤٨٢٩١٣"]]


# ------------------------------------------------------------------------------------------------
# last_eight_digits

ACCEPTS["last_eight_digits"] = [(raw, "73920481") for raw in ["73920481", "7392 0481", "7392-0481", " 73920481 "]]

REFUSES["last_eight_digits"] = [
    ("", "account.empty"),
    ("4111 1111 1111 1111", "account.too_long"),
    ("4111-1111-1111-1111", "account.too_long"),
    ("5105105105105", "account.too_long"),
    ("4111111111111111111", "account.too_long"),
    ("739", "account.security_code"),
    ("7391", "account.security_code"),
    ("73920", "account.format"),
    ("7392048", "account.format"),
    ("739204811", "account.format"),
    ("41111111111111111111", "account.format"),
    ("7392O481", "account.format"),
]


def test_last_eight_messages():
    assert "last 8" in refused(v.last_eight_digits, "4111111111111111").message
    assert "security code" in refused(v.last_eight_digits, "123").message



# ------------------------------------------------------------------------------------------------
# yes_no


@pytest.mark.parametrize("raw", ["y", "Y", "yes", "YES", "Yes!", "yeah", "yep", "ok", "OK.", "okay", "sure",
                                 "correct", "yes please", "of course", "that's right", "👍"])
def test_yes(raw):
    assert v.yes_no(raw) is True


@pytest.mark.parametrize("raw", ["n", "N", "no", "No.", "nope", "nah", "no thanks", "No, thank you", "wrong", "👎"])
def test_no(raw):
    assert v.yes_no(raw) is False


@pytest.mark.parametrize("raw", ["", "   ", "maybe", "yes no", "what?", "later", "x" * 10_000, "no, wait, yes"])
def test_unclear(raw):
    assert v.yes_no(raw) is None


# ------------------------------------------------------------------------------------------------
# every validator's accepted and refused text (the tables above)


def by_validator(table: dict[str, list[tuple]]) -> list:
    """Parametrize rows from a {validator name: [case, ...]} table, each led by the validator's name."""
    return [(name, *case) for name, cases in table.items() for case in cases]


@pytest.mark.parametrize("name, raw, expected", by_validator(ACCEPTS))
def test_accepts(name, raw, expected):
    assert validator(name)(raw) == expected


@pytest.mark.parametrize("name, raw, code", by_validator(REFUSES))
def test_refuses(name, raw, code):
    exc = assert_code(code, validator(name), raw)
    if name in MESSAGE_SAYS:
        assert MESSAGE_SAYS[name] in exc.message
    if name in NOT_ECHOED and raw.strip():
        assert_not_echoed(exc, raw.strip())


# ------------------------------------------------------------------------------------------------
# property tests: arbitrary text gives a value or Invalid, never another exception

ANY_TEXT = st.text()
#: also lone surrogates and other odd code points that can arrive from broken clients
WILD_TEXT = st.text(alphabet=st.characters(min_codepoint=0, max_codepoint=0x10FFFF, exclude_categories=()))


def _call(func, text, *args, **kwargs):
    try:
        return func(text, *args, **kwargs)
    except Invalid as exc:
        assert isinstance(exc.message, str) and exc.message.strip()
        assert isinstance(exc.code, str) and exc.code
        return exc


def _two_upper_letters(result: str) -> bool:
    return len(result) == 2 and result.isupper()


#: validators given any text, and what holds of an answer they accept (None: only that they accept
#: or refuse it properly)
ACCEPTED = {
    "person_name": lambda result: 1 <= len(result) <= 40,
    "email_address": None,
    "us_state": _two_upper_letters,
    "zip_code": None,
    "country": _two_upper_letters,
    "province": lambda result: len(result) <= 40,
    "address_line": lambda result: 1 <= len(result) <= 60 and result.isprintable(),
    "city": lambda result: 1 <= len(result) <= 40 and result.isprintable(),
    "us_mobile_number": lambda result: result.startswith("+1") and len(result) == 12,
    "username": None,
    "site_phrase": None,
    "one_time_code": lambda result: len(result) == 6 and result.isdigit(),
}


@pytest.mark.parametrize("name", ACCEPTED)
@FUZZ
@given(text=ANY_TEXT)
def test_fuzz_validator(name, text):
    result = _call(getattr(v, name), text)
    holds = ACCEPTED[name]
    if isinstance(result, str) and holds is not None:
        assert holds(result), result


@pytest.mark.parametrize("name, length, echoed_below", [("ssn", 9, 4), ("last_eight_digits", 8, 3)])
@FUZZ
@given(text=ANY_TEXT)
def test_fuzz_digits_are_not_repeated_back(name, length, echoed_below, text):
    result = _call(getattr(v, name), text)
    if isinstance(result, Invalid):
        digits = "".join(ch for ch in text if "0" <= ch <= "9")
        if len(digits) >= echoed_below:
            assert digits not in result.message
    else:
        assert len(result) == length and result.isdigit()


@FUZZ
@given(ANY_TEXT)
def test_fuzz_date_of_birth(text):
    result = _call(v.date_of_birth, text, today=TODAY)
    if isinstance(result, date):
        assert result <= TODAY


@FUZZ
@given(st.dates(min_value=date(1905, 6, 15), max_value=date(2009, 6, 15)))
def test_fuzz_date_of_birth_roundtrip(born):
    for form in (born.strftime("%m/%d/%Y"), born.isoformat(), f"{born.month}/{born.day}/{born.year:04d}",
                 born.strftime("%B %d, %Y"), born.strftime("%d %b %Y")):
        assert v.date_of_birth(form, today=TODAY) == born


@FUZZ
@given(ANY_TEXT, st.sampled_from(["US", "CA", "GB", "FR", "", "zz"]))
def test_fuzz_postal_code(text, country_code):
    _call(v.postal_code, text, country_code)


@FUZZ
@given(ANY_TEXT, ANY_TEXT, st.lists(ANY_TEXT, max_size=3))
def test_fuzz_password(text, user, words):
    result = _call(v.password, text, username=user, personal_words=words)
    if isinstance(result, Invalid):
        if len(text) >= 8:
            assert text not in result.message
    else:
        assert 8 <= len(result) <= 128


@FUZZ
@given(ANY_TEXT)
def test_fuzz_yes_no(text):
    assert v.yes_no(text) in (True, False, None)


ALL_ONE_ARG = [
    v.person_name, v.email_address, v.ssn, v.us_state, v.zip_code, v.country, v.province, v.address_line,
    v.city, v.us_mobile_number, v.password, v.username, v.site_phrase, v.one_time_code, v.last_eight_digits,
]


def _everything(text: str) -> None:
    for func in ALL_ONE_ARG:
        _call(func, text)
    _call(v.date_of_birth, text, today=TODAY)
    _call(v.postal_code, text, "CA")
    _call(v.postal_code, text, "DE")
    assert v.yes_no(text) in (True, False, None)


@settings(max_examples=100, deadline=None)
@given(WILD_TEXT)
def test_fuzz_wild_code_points_everywhere(text):
    _everything(text)


@pytest.mark.parametrize(
    "text",
    ["", " ", "\x00", "\n\t\r", "😀" * 50, "x" * 10_000, "9" * 10_000, "\ud800", "\u202eabc", "\u200b" * 9,
     "a@" + "b" * 10_000 + ".com", "+1" + "2" * 300, "March " + "1" * 5000],
)
def test_edge_inputs_everywhere(text):
    _everything(text)

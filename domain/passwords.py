"""Validators for the sign-in details a person chooses: the password, the username and the site
phrase. Each takes the user's raw text and returns it normalised or raises
:class:`~domain.text.Invalid` (see domain.validators).

The only I/O is reading the packaged password blocklist ``domain/data/common_passwords.txt`` once.
"""

from __future__ import annotations

import functools
import importlib.resources
import re
import unicodedata
from collections.abc import Iterable

from domain.text import Invalid, _has_unprintable, _is_letter, _nfc, _nfkc, _text


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


def could_be_username(text: str) -> bool:
    """Whether ``text`` has a username's shape (a letter first, then letters, digits, ".", "_",
    "-"; no spaces). Anything else typed where a username is asked is more likely a password."""
    value = _text(text).strip()
    return bool(value) and bool(_USERNAME_CHARS.fullmatch(value)) and ("A" <= value[0] <= "Z" or "a" <= value[0] <= "z")


def site_phrase(text: str, *, min_length: int = 4, max_length: int = 40) -> str:
    """The site phrase shown back at sign-in: ``min_length`` to ``max_length`` printable
    characters, trimmed."""
    value = _nfc(_text(text).strip())
    how = (
        f"Please type a short phrase of {min_length} to {max_length} characters that you'll recognise, "
        "like Blue canoe at dawn."
    )
    if not value:
        raise Invalid(f"I didn't get a site phrase. {how}", "phrase.empty")
    if len(value) > max_length:
        raise Invalid(f"That phrase is longer than {max_length} characters. {how}", "phrase.too_long")
    if len(value) < min_length:
        raise Invalid(f"That phrase is shorter than {min_length} characters. {how}", "phrase.too_short")
    if _has_unprintable(value):
        raise Invalid(
            f"That phrase contains a line break or another invisible character. {how}", "phrase.characters"
        )
    return value

"""Validators for the sign-in details a person chooses: the password, the username and the site
phrase. Each takes the user's raw text and returns it normalised or raises
:class:`~domain.text.Invalid` (see domain.validators).

A new password is refused when attackers would try it early (NIST SP 800-63B 5.1.1.2), by two
checks:

* the packaged list ``domain/data/common_passwords.txt`` (about 52,900 common passwords, names and
  words), also with digits or symbols stuck on either end;
* the zxcvbn estimator (the ``zxcvbn`` package), which counts the guesses a cracker needs for the
  words, names, l33t spellings, keyboard rows, dates, sequences and repeats it finds inside the
  password; fewer than :data:`MIN_GUESSES` is refused. It catches what a list can't: two words run
  together ("nightshadow"), keyboard rows with symbols ("!@#$%^&*") and rarer words.

Measured against John the Ripper's ``password.lst`` (3,158 passwords long favoured by crackers;
used for measuring only, not shipped): of its 485 entries of 8 or more characters the list alone
refuses 93.0%, the list with the estimate 99.6% (483: the two left are a Finnish word and a
three-word phrase). Django's 1,000 most common 8+ character passwords are all refused, while three
or four random words, or 12 or more random characters, pass (tests/test_common_passwords.py).

The only I/O is reading the packaged list once.
"""

from __future__ import annotations

import functools
import importlib.resources
import math
import re
import threading
import unicodedata
from collections.abc import Iterable

from domain.i18n import N_, _, ngettext
from domain.rerun import remembered
from domain.text import Invalid, _has_unprintable, _is_letter, _nfc, _nfkc, _text


# --------------------------------------------------------------------------------------------------
# passwords

#: the advice closing every refusal of a password (translated where it is used)
_PASSWORD_ADVICE = N_(
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


# --------------------------------------------------------------------------------------------------
# the guess estimate (zxcvbn)

#: Fewest guesses a cracker must need, by zxcvbn's estimate, for a new password to be accepted:
#: a hundred million, zxcvbn's line between "somewhat guessable" and "safely unguessable" (a random
#: string of 8 characters without a word or pattern in it just reaches it). Chosen by measuring on
#: John the Ripper's password.lst, whose 8+ character entries are refused at 99.6% with this line
#: (99.2% at 10**7.5, 98.4% at 10**7), while random passphrases of three words with spaces or four
#: words take 10**10 guesses or more and random 16-character passwords 10**14 or more. The estimate
#: takes a few milliseconds for most passwords and about 0.1 s at worst (see ``_PIECE_COST``).
MIN_GUESSES = 10**8

#: zxcvbn's time grows with the square of the length and, for its l33t matcher, with the number of
#: ways the digits and symbols present can stand for letters (hundreds when many kinds are mixed),
#: so a long or symbol-heavy password is estimated piece by piece: a piece costs at most
#: ``_PIECE_COST`` (about 60 ms on a busy core) and a password at most ``_TOTAL_COST``.
_PIECE_MAX = 40
_PIECE_MIN = 8
_PIECE_COST = 10_000
_TOTAL_COST = 25_000

# zxcvbn keeps the user's own words (user_inputs) in a module-level dictionary while it works
_ESTIMATE_LOCK = threading.Lock()


@functools.lru_cache(maxsize=1)
def _zxcvbn():
    """The zxcvbn package, imported at the first password checked (it builds its dictionaries of
    about 90,000 words on import)."""
    import zxcvbn
    from zxcvbn import matching

    return zxcvbn.zxcvbn, tuple(tuple(subs) for subs in matching.L33T_TABLE.values())


def load_tables() -> None:
    """Load the common-password list and the guess estimator's dictionaries now rather than at
    someone's first password (about 0.3 s), so a long-running bot can set them aside from the
    garbage collector's full passes (bot.runtime)."""
    _common_passwords()
    _zxcvbn()


def _piece_cost(piece: str, l33t: tuple[tuple[str, ...], ...]) -> int:
    """zxcvbn's work for ``piece``, in units of a few microseconds: its dictionary matcher runs
    over every substring once forwards, once reversed and once per l33t reading of the piece."""
    readings = 1
    for subs in l33t:
        present = sum(1 for sub in subs if sub in piece)
        if present:
            readings *= present
    return (readings + 2) * len(piece) ** 2


def _pieces(value: str, l33t: tuple[tuple[str, ...], ...]) -> list[str]:
    pieces, start = [], 0
    while start < len(value):
        end = min(len(value), start + _PIECE_MAX)
        while end - start > _PIECE_MIN and _piece_cost(value[start:end], l33t) > _PIECE_COST:
            end -= 1
        pieces.append(value[start:end])
        start = end
    return pieces


def _period(value: str) -> int:
    """The length of the shortest ``unit`` such that ``value`` is ``unit`` repeated, the last copy
    possibly cut short ("abcabcab" -> 3); ``len(value)`` when there is none."""
    border = [0] * len(value)
    for i in range(1, len(value)):
        k = border[i - 1]
        while k and value[i] != value[k]:
            k = border[k - 1]
        border[i] = k + 1 if value[i] == value[k] else 0
    return len(value) - border[-1] if value else 0


def _estimate(value: str, user_inputs: list[str], enough: float) -> tuple[float, list[str]]:
    """log10 of the guesses zxcvbn estimates for ``value``, and the kinds of pattern it found
    ("dictionary", "spatial", "date", "repeat", "sequence", "regex", "bruteforce").

    A password too long or too costly for one call is estimated in pieces: a repeated unit counts
    once (times the number of copies, as zxcvbn counts repeats), and the other pieces' logarithms
    add up (guesses multiply); the sum stops once it reaches ``enough`` or the time is spent."""
    estimate, l33t = _zxcvbn()
    total, kinds = 0.0, []
    pieces = _pieces(value, l33t)
    if len(pieces) > 1:
        period = _period(value)
        if 2 * period <= len(value):
            total, kinds = math.log10(len(value) / period), ["repeat"]
            pieces = _pieces(value[:period], l33t)
    seen, spent = set(), 0
    with _ESTIMATE_LOCK:
        for piece in pieces:
            if piece in seen:
                continue
            seen.add(piece)
            spent += _piece_cost(piece, l33t)
            if spent > _TOTAL_COST and seen != {piece}:
                break
            result = estimate(piece, user_inputs=user_inputs)
            total += math.log10(max(float(result["guesses"]), 1.0))
            kinds.extend(match["pattern"] for match in result["sequence"])
            if total >= enough:
                break
    return total, kinds


def _guessable_refusal(kinds: list[str]) -> Invalid:
    """The refusal of a password the estimate finds too easy, naming what made it so."""
    advice = _(_PASSWORD_ADVICE)
    if "spatial" in kinds and "dictionary" not in kinds:
        message = _(
            "That password follows keys that sit next to each other on the keyboard (symbols "
            "included), a pattern that password-guessing programs try early. {advice}"
        )
    elif "date" in kinds and "dictionary" not in kinds:
        message = _(
            "That password is mostly a date or a year, which password-guessing programs try early. {advice}"
        )
    else:
        message = _(
            "That password would be easy to guess: it is built from common words, names or "
            "patterns, which password-guessing programs try early, even when they are joined "
            "together or have letters swapped for look-alike digits or symbols. {advice}"
        )
    return Invalid(message.format(advice=advice), "password.guessable")


def password(
    text: str,
    *,
    username: str = "",
    personal_words: Iterable[str] = (),
    min_length: int = 8,
    max_length: int = 128,
    min_guesses: float = MIN_GUESSES,
) -> str:
    """A new password following NIST SP 800-63B: no composition rules, any printable characters
    (spaces and Unicode included), NFKC-normalised and not stripped. Refuses short/long passwords,
    simple patterns, common ones, ones containing the username or the person's name, words tied to
    this service, and ones zxcvbn estimates take fewer than ``min_guesses`` guesses (or fewer than
    ``10**min_length``, when that is less)."""
    raw = _text(text)
    if len(raw) > max_length * 4:
        raise _length_refusal(max_length, too_long=True)
    value = _nfkc(raw)
    if len(value) < min_length:
        raise _length_refusal(min_length, too_long=False)
    if len(value) > max_length:
        raise _length_refusal(max_length, too_long=True)
    if _has_unprintable(value):
        raise Invalid(
            _(
                "That password contains an invisible or control character (like a line break or tab) "
                "that can't be used. Letters, digits, spaces, symbols and emoji are all fine. Please type it again."
            ),
            "password.characters",
        )
    folded = value.casefold()
    if _is_simple_pattern(folded):
        raise Invalid(
            _(
                "That password is a simple pattern (a repeated character or a straight run like 1234... "
                "or abcd...), which is one of the first things attackers try. {advice}"
            ).format(advice=_(_PASSWORD_ADVICE)),
            "password.pattern",
        )
    common = _common_passwords()
    # also catch a common password with digits/symbols stuck on either end ("Sunshine2024!")
    core = folded.strip("0123456789!@#$%^&*()-_=+.,;:?/\\|~`'\"[]{}<> ")
    if folded in common or (len(core) >= 6 and core in common):
        raise Invalid(
            _(
                "That password is on a list of commonly used passwords, so it would be easy to guess. "
                "Please choose something less predictable. {advice}"
            ).format(advice=_(_PASSWORD_ADVICE)),
            "password.common",
        )
    bare = _fold(value)  # no case, no accents
    user = _fold(_nfkc(_text(username)).strip())
    if len(user) >= 3 and (user in folded or user in bare):
        raise Invalid(
            _(
                "Your password can't contain your username, because anyone who knows your username could "
                "guess it. {advice}"
            ).format(advice=_(_PASSWORD_ADVICE)),
            "password.contains_username",
        )
    personal = [part for word in personal_words or () for part in _letters_of(_nfkc(_text(word)))]
    if any(part in bare for part in personal):
        raise Invalid(
            _(
                "Your password can't contain your name or other personal details, because they are "
                "easy for others to find out. {advice}"
            ).format(advice=_(_PASSWORD_ADVICE)),
            "password.personal",
        )
    letters = "".join(ch for ch in bare if _is_letter(ch))
    if _only_context_words(letters) or any(word in letters for word in _CONTEXT_ANYWHERE):
        raise Invalid(
            _(
                "Your password can't be based on the name of this service or the IRS (such as IRS or "
                "Secure Access with some digits), since those are among the first guesses. {advice}"
            ).format(advice=_(_PASSWORD_ADVICE)),
            "password.context",
        )
    if min_guesses > 1:
        own_words = [w for w in (user, *personal, *_CONTEXT_WORDS) if len(w) >= 3]
        # never more than a random string of the shortest length allowed takes (zxcvbn counts 10
        # guesses a character), so a shorter minimum set by the operator still admits one
        enough = min(math.log10(min_guesses), float(min_length))
        # (kept for this answer: its step runs again once the password is hashed)
        guesses, kinds = remembered(("guesses", value, *own_words, enough), lambda: _estimate(value, own_words, enough))
        if guesses < enough:
            raise _guessable_refusal(kinds)
    return value


def _length_refusal(n: int, *, too_long: bool) -> Invalid:
    """A password over the longest length allowed (``n``), or under the shortest."""
    if too_long:
        text = ngettext(
            "That password is too long: the most we accept is {n} character. Please choose a shorter one. {advice}",
            "That password is too long: the most we accept is {n} characters. Please choose a shorter one. {advice}",
            n,
        )
    else:
        text = ngettext(
            "That password is too short: it needs at least {n} character. {advice}",
            "That password is too short: it needs at least {n} characters. {advice}",
            n,
        )
    return Invalid(text.format(n=n, advice=_(_PASSWORD_ADVICE)), "password.too_long" if too_long else "password.too_short")


# --------------------------------------------------------------------------------------------------
# usernames, site phrase, codes, account digits, yes/no

_USERNAME_CHARS = re.compile(r"[A-Za-z0-9._\-]+")


def username(text: str, *, min_length: int = 6, max_length: int = 32) -> str:
    """A username: ASCII letters, digits, ".", "_" and "-", starting with a letter; case is kept."""
    value = _text(text).strip()

    def refusal(sentence: str, code: str) -> Invalid:
        rule = _(
            "Usernames are {min} to {max} characters long, start with a letter, and may use "
            "letters (A-Z), digits, periods (.), underscores (_) and hyphens (-)."
        ).format(min=min_length, max=max_length)
        return Invalid(sentence.format(rule=rule), code)

    if not value:
        raise refusal(_("I didn't get a username. {rule} Please type one."), "username.empty")
    if len(value) > max_length:
        raise refusal(_("That username is too long. {rule} Please type a shorter one."), "username.too_long")
    if any(ch.isspace() for ch in value):
        raise refusal(_("A username can't contain spaces. {rule} Please type it again."), "username.characters")
    if not _USERNAME_CHARS.fullmatch(value):
        raise refusal(
            _("That username has a character that isn't allowed. {rule} Please type it again."),
            "username.characters",
        )
    if not ("A" <= value[0] <= "Z" or "a" <= value[0] <= "z"):
        raise refusal(_("A username must start with a letter. {rule} Please type it again."), "username.start")
    if len(value) < min_length:
        raise refusal(_("That username is too short. {rule} Please type a longer one."), "username.too_short")
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

    def refusal(sentence: str, code: str) -> Invalid:
        how = _(
            "Please type a short phrase of {min} to {max} characters that you'll recognise, "
            "like Blue canoe at dawn."
        ).format(min=min_length, max=max_length)
        return Invalid(sentence.format(how=how, min=min_length, max=max_length), code)

    if not value:
        raise refusal(_("I didn't get a site phrase. {how}"), "phrase.empty")
    if len(value) > max_length:
        raise refusal(
            ngettext(
                "That phrase is longer than {max} character. {how}",
                "That phrase is longer than {max} characters. {how}",
                max_length,
            ),
            "phrase.too_long",
        )
    if len(value) < min_length:
        raise refusal(
            ngettext(
                "That phrase is shorter than {min} character. {how}",
                "That phrase is shorter than {min} characters. {how}",
                min_length,
            ),
            "phrase.too_short",
        )
    if _has_unprintable(value):
        raise refusal(_("That phrase contains a line break or another invisible character. {how}"), "phrase.characters")
    return value

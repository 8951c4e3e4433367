"""What the validators share: the :class:`Invalid` answer and the helpers that read raw text."""

from __future__ import annotations

import re
import unicodedata


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

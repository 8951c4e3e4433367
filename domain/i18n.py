"""The person's language: which one a turn speaks, its translated sentences, and its dates.

Every sentence the bot shows is written in English beside the code that uses it and marked for
translation::

    from domain.i18n import _, N_, ngettext

    _("What is your date of birth?")
    _("The code expires at {time}.").format(time=when)        # named fields, never an f-string
    ngettext("{n} try left.", "{n} tries left.", n).format(n=n)
    LABELS = {"single": N_("Single")}                         # marked here, translated at use:
    _(LABELS[key])

Babel extracts the marked strings into ``domain/locale/sabot.pot``; ``domain/locale/<lang>/
LC_MESSAGES/sabot.po`` holds each language's sentences, compiled into ``sabot.mo`` (README, "Adding
a language"). Which language a turn speaks is a context variable the adapter sets from the chat's
stored choice (:func:`using`), so validators, policies and flows translate without passing a
language around. Dates, times and numbers are formatted by Babel for the same language.
"""

from __future__ import annotations

import importlib.resources
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import date, datetime, time
from typing import Iterator

from babel.dates import format_date as _babel_date
from babel.dates import format_datetime as _babel_datetime
from babel.dates import format_time as _babel_time
from babel.numbers import format_decimal as _babel_decimal
from babel.support import NullTranslations, Translations

#: the languages the bot speaks, by code, with each one's own name for itself
LANGUAGES: dict[str, str] = {"en": "English", "es": "Español"}
DEFAULT_LANGUAGE = "en"
DOMAIN = "sabot"

_current: ContextVar[str] = ContextVar("sabot_language", default=DEFAULT_LANGUAGE)
_catalogs: dict[str, NullTranslations] = {}


def language_for(code: str | None) -> str | None:
    """The language the bot speaks for a client's language tag (``es``, ``es-MX``, ``es_419``), or
    None when it speaks none of them."""
    if not code:
        return None
    base = code.replace("_", "-").split("-", 1)[0].strip().lower()
    return base if base in LANGUAGES else None


def current_language() -> str:
    return _current.get()


#: what a person may type to name a language (besides its code and its own name), by language
_NAMES: dict[str, tuple[str, ...]] = {
    "en": ("english", "inglés", "ingles", "eng"),
    "es": ("spanish", "español", "espanol", "castellano", "esp"),
}


def language_named(text: str | None) -> str | None:
    """The language a person typed ("Español", "spanish", "es", "es-MX"), or None."""
    word = " ".join((text or "").split()).casefold()
    if not word:
        return None
    for code, own in LANGUAGES.items():
        if word == own.casefold() or word in _NAMES.get(code, ()):
            return code
    return language_for(word) if len(word) <= 12 and " " not in word else None


@contextmanager
def using(language: str | None) -> Iterator[str]:
    """Speak ``language`` (an unknown or empty one means the default) inside the block."""
    chosen = language if language in LANGUAGES else DEFAULT_LANGUAGE
    token = _current.set(chosen)
    try:
        yield chosen
    finally:
        _current.reset(token)


def switch_to(language: str | None) -> str:
    """Speak ``language`` from here to the end of the enclosing :func:`using` block (a turn whose
    person has just chosen another language: the rest of the turn speaks it)."""
    chosen = language if language in LANGUAGES else DEFAULT_LANGUAGE
    _current.set(chosen)
    return chosen


def _catalog(language: str) -> NullTranslations:
    found = _catalogs.get(language)
    if found is None:
        if language == DEFAULT_LANGUAGE:
            found = NullTranslations()
        else:
            folder = importlib.resources.files("domain") / "locale"
            with importlib.resources.as_file(folder) as path:
                found = Translations.load(str(path), [language], DOMAIN)
        _catalogs[language] = found
    return found


def gettext(message: str) -> str:
    """``message`` in the current language (itself where no translation exists)."""
    if not message:
        return message
    return _catalog(_current.get()).gettext(message)


def ngettext(singular: str, plural: str, n: int | float) -> str:
    """The singular or plural sentence for ``n``, in the current language (a fraction such as
    1.5 takes the plural, as in "1.5 hours")."""
    if isinstance(n, float):
        n = int(n) if n.is_integer() else max(2, int(n))
    return _catalog(_current.get()).ngettext(singular, plural, n)


def N_(message: str) -> str:
    """Mark ``message`` for translation without translating it now (module-level labels); pass the
    value through :func:`_` where it is shown."""
    return message


_ = gettext


def reload_catalogs() -> None:
    """Forget the loaded catalogs (after ``sabot`` recompiles them, or in tests)."""
    _catalogs.clear()


# --------------------------------------------------------------------------------------------------
# dates, times and numbers, formatted for the current language


def format_date(value: date | datetime, format: str = "medium") -> str:
    """``Mar 3, 2027`` / ``3 mar 2027``; ``format`` is a Babel width or pattern."""
    return _babel_date(value, format=format, locale=_current.get())


def format_time(value: time | datetime, format: str = "short") -> str:
    """``7:30 AM`` / ``7:30``; an aware datetime keeps its own zone."""
    tz = value.tzinfo if isinstance(value, datetime) else None
    return _babel_time(value, format=format, tzinfo=tz, locale=_current.get())


def format_datetime(value: datetime, format: str = "medium") -> str:
    """A moment in its own zone, in the current language; ``format`` is a Babel width or pattern
    (``"EEE, MMM d 'at' h:mm a zzz"``)."""
    return _babel_datetime(value, format=format, tzinfo=value.tzinfo, locale=_current.get())


def format_number(value: int | float) -> str:
    """``1,000`` / ``1000``: digit grouping for the current language."""
    return _babel_decimal(value, locale=_current.get())

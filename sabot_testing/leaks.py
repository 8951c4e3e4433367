"""English left in a reply of a chat that speaks another language.

Every sentence the bot says is a msgid of the message catalog (domain/locale/sabot.pot) with its
translation in ``domain/locale/<lang>/LC_MESSAGES/sabot.po``. When a chat speaks Spanish, no reply
should hold the English of a msgid whose Spanish is different: that is a text shown without
``_()`` (or one translated before the turn's language was set). The check looks for the runs of
words of each msgid between its placeholders (``{name}``), only those of four words or more (names,
numbers and labels such as "OK" are left alone), and never for a run the translations themselves
contain (a product name kept in English).

The transcript runner applies it to every step whose chat speaks a language other than English
(``language: es`` at the top of a transcript, a user's own language, or ``/language``)::

    from sabot_testing.leaks import leaks
    assert leaks(["Hola. ¿Cuál es su nombre?"], "es") == []
"""

from __future__ import annotations

import importlib.resources
import re
from functools import lru_cache
from typing import Iterable

from domain.i18n import DEFAULT_LANGUAGE, DOMAIN

#: fewer words than this between placeholders are not looked for
MIN_WORDS = 4

_PLACEHOLDER = re.compile(r"\{[^{}]*\}|\n+")
_SPACE = re.compile(r"\s+")


def _norm(text: str) -> str:
    return _SPACE.sub(" ", text).strip()


def catalog_pairs(language: str) -> list[tuple[str, str]]:
    """(English msgid, translation) of every message in ``language``'s .po file (both plural
    forms of a plural message); none when the language has no catalog."""
    from babel.messages.pofile import read_po

    folder = importlib.resources.files("domain") / "locale" / language / "LC_MESSAGES"
    po = folder / f"{DOMAIN}.po"
    if not po.is_file():
        return []
    with po.open("rb") as handle:
        catalog = read_po(handle)
    pairs: list[tuple[str, str]] = []
    for message in catalog:
        if not message.id:
            continue
        ids = message.id if isinstance(message.id, (tuple, list)) else (message.id,)
        strings = message.string if isinstance(message.string, (tuple, list)) else (message.string,)
        for i, msgid in enumerate(ids):
            translated = strings[min(i, len(strings) - 1)] if strings else ""
            pairs.append((msgid, translated or ""))
    return pairs


@lru_cache(maxsize=None)
def english_runs(language: str) -> tuple[str, ...]:
    """The runs of English words that must not appear in a reply in ``language``."""
    if language == DEFAULT_LANGUAGE:
        return ()
    pairs = catalog_pairs(language)
    translations = [_norm(t) for _, t in pairs if t]
    runs: set[str] = set()
    for msgid, translated in pairs:
        if not translated or _norm(translated) == _norm(msgid):
            continue  # untranslated (the catalog check reports it) or the same in both languages
        for part in _PLACEHOLDER.split(msgid):
            run = _norm(part)
            if len(run.split()) >= MIN_WORDS:
                runs.add(run)
    everything = "\n".join(translations)
    return tuple(sorted(run for run in runs if run not in everything))


def leaks(texts: Iterable[str], language: str) -> list[str]:
    """The English runs found in ``texts`` (replies, button labels) of a chat speaking
    ``language``; empty when there are none."""
    runs = english_runs(language)
    if not runs:
        return []
    found: list[str] = []
    for text in texts:
        flat = _norm(text or "")
        if not flat:
            continue
        found.extend(run for run in runs if run in flat and run not in found)
    return found

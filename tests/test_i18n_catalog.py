"""The message catalogs are complete and in step with the code.

* the template (domain/locale/sabot.pot) holds exactly the sentences the code marks (extracted
  here with Babel, as `pybabel extract -F babel.cfg` does);
* every one of them has its Spanish in es.po: present, not empty, not fuzzy, with the same
  placeholders ({name});
* the compiled es.mo is es.po compiled;
* no function shadows ``_`` (a ``for _ in`` or ``a, _ = ...`` beside a ``_("...")`` call would
  break that call).

README, "Adding a language", says how to rebuild them.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po

from domain.i18n import DEFAULT_LANGUAGE, DOMAIN, LANGUAGES

ROOT = Path(__file__).resolve().parents[1]
LOCALE = ROOT / "domain" / "locale"
SOURCES = ("domain", "flows", "bot")
#: what `pybabel extract -k N_` looks for
KEYWORDS = {**DEFAULT_KEYWORDS, "N_": None}
PLACEHOLDER = re.compile(r"\{[^{}]*\}")
TRANSLATED = sorted(code for code in LANGUAGES if code != DEFAULT_LANGUAGE)


def _key(message_id) -> tuple[str, ...]:
    return tuple(message_id) if isinstance(message_id, (tuple, list)) else (message_id,)


def extracted() -> set[tuple[str, ...]]:
    """Every marked sentence of the code as it is now (singular and plural of an ngettext)."""
    with (ROOT / "babel.cfg").open(encoding="utf-8") as handle:
        method_map, options_map = parse_mapping_cfg(handle)
    found: set[tuple[str, ...]] = set()
    for folder in SOURCES:
        for _filename, _lineno, message, _comments, _context in extract_from_dir(
            str(ROOT / folder), method_map, options_map, keywords=KEYWORDS
        ):
            found.add(_key(message))
    return found


def _read_po(path: Path, locale: str | None = None):
    with path.open("rb") as handle:
        return read_po(handle, locale=locale)


def _messages(catalog) -> list:
    return [m for m in catalog if m.id]


def test_the_template_holds_exactly_the_marked_sentences():
    template = {_key(m.id) for m in _messages(_read_po(LOCALE / f"{DOMAIN}.pot"))}
    code = extracted()
    missing, stale = sorted(code - template), sorted(template - code)
    assert not missing and not stale, (
        f"domain/locale/{DOMAIN}.pot is out of date ({len(missing)} sentences not in it, {len(stale)} no longer in "
        f"the code), e.g. {(missing or stale)[:3]}. Rebuild it: README, 'Adding a language'."
    )


@pytest.mark.parametrize("language", TRANSLATED)
def test_every_sentence_has_its_translation(language):
    template = [_key(m.id) for m in _messages(_read_po(LOCALE / f"{DOMAIN}.pot"))]
    catalog = _read_po(LOCALE / language / "LC_MESSAGES" / f"{DOMAIN}.po", language)
    by_id = {_key(m.id): m for m in _messages(catalog)}
    absent = [ids[0] for ids in template if ids not in by_id]
    empty = [ids[0] for ids in template if ids in by_id and not all(_forms(by_id[ids].string))]
    fuzzy = [ids[0] for ids in template if ids in by_id and by_id[ids].fuzzy]
    assert not absent, f"{len(absent)} sentences missing from {language}.po, e.g. {absent[:3]}"
    assert not empty, f"{len(empty)} sentences without their {language} text, e.g. {empty[:3]}"
    assert not fuzzy, f"{len(fuzzy)} fuzzy sentences in {language}.po, e.g. {fuzzy[:3]}"


def _forms(string) -> tuple[str, ...]:
    return tuple(string) if isinstance(string, (tuple, list)) else (string,)


@pytest.mark.parametrize("language", TRANSLATED)
def test_a_translation_keeps_the_placeholders_of_its_sentence(language):
    catalog = _read_po(LOCALE / language / "LC_MESSAGES" / f"{DOMAIN}.po", language)
    wrong = []
    for message in _messages(catalog):
        ids = _key(message.id)
        for i, text in enumerate(_forms(message.string)):
            if not text:
                continue
            english = ids[min(i, len(ids) - 1)]
            if set(PLACEHOLDER.findall(text)) != set(PLACEHOLDER.findall(english)):
                wrong.append((english, text))
    assert not wrong, f"{len(wrong)} translations whose {{placeholders}} differ from the English, e.g. {wrong[:2]}"


@pytest.mark.parametrize("language", TRANSLATED)
def test_the_compiled_catalog_is_the_po_compiled(language):
    folder = LOCALE / language / "LC_MESSAGES"
    catalog = _read_po(folder / f"{DOMAIN}.po", language)
    with (folder / f"{DOMAIN}.mo").open("rb") as handle:
        compiled = read_mo(handle)
    wanted = {_key(m.id): _forms(m.string) for m in _messages(catalog) if not m.fuzzy and all(_forms(m.string))}
    got = {_key(m.id): _forms(m.string) for m in _messages(compiled)}
    assert got == wanted, (
        f"{language}.mo isn't {language}.po compiled: run pybabel compile -d domain/locale -D {DOMAIN} -l {language}"
    )


def _shadows_gettext(tree: ast.AST) -> list[str]:
    """Functions that both bind ``_`` themselves (not in a comprehension) and call ``_()``."""
    found = []
    for node in ast.walk(tree):
        if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            continue
        binds = calls = False
        stack = list(ast.iter_child_nodes(node))
        while stack:
            child = stack.pop()
            if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef,
                                  ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp)):
                continue  # a scope of its own
            if isinstance(child, ast.Name) and child.id == "_" and isinstance(child.ctx, ast.Store):
                binds = True
            if isinstance(child, ast.Call) and isinstance(child.func, ast.Name) and child.func.id == "_":
                calls = True
            stack.extend(ast.iter_child_nodes(child))
        if binds and calls:
            found.append(f"{node.name} (line {node.lineno})")
    return found


def test_no_function_hides_the_translation_function():
    problems = []
    for folder in SOURCES:
        for path in sorted((ROOT / folder).rglob("*.py")):
            shadows = _shadows_gettext(ast.parse(path.read_text(encoding="utf-8")))
            problems += [f"{path.relative_to(ROOT)}: {name}" for name in shadows]
    assert not problems, "a function binds _ (e.g. `a, _ = ...`) and also calls _(): " + "; ".join(problems)

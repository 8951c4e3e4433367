"""Reading ``*.convo.yaml`` transcripts: YAML that keeps line numbers, includes, data rows.

A transcript is parsed into a :class:`Transcript` whose ``steps`` are already flat: every
``include:`` is replaced by the steps of the partial it names (each step keeps its own file and
line, and the chain of includes that brought it in), preceded by a ``set`` step for its ``with:``
values. Mistakes in a file (an unknown key, a step with two actions, a missing partial) are
reported as :class:`TranscriptError` with the file and line, before anything runs.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

SUFFIX = ".convo.yaml"

#: a step's action keys: exactly one per step (``expect``/``capture`` may stand alone and then
#: apply to the previous step's reply)
ACTIONS = (
    "say",
    "press",
    "press_data",
    "command",
    "photo",
    "sticker",
    "edit",
    "raw",
    "wait",
    "clock",
    "tick",
    "helpdesk",
    "set",
    "records",
    "hook",
    "include",
)
#: other keys a step may carry
MODIFIERS = ("expect", "capture", "as", "with", "note")
#: keys of ``expect:``
EXPECT_KEYS = (
    "contains",
    "not_contains",
    "exact",
    "messages",
    "regex",
    "buttons",
    "buttons_include",
    "no_buttons",
    "deleted",
    "silent",
    "protected",
    "photo",
    "state",
    "delivered",
    "count",
    "error",
)
TOP_KEYS = (
    "name",
    "description",
    "tags",
    "fixtures",
    "vars",
    "users",
    "rows",
    "steps",
    "partial",
    "xfail",
    "skip",
    "databases",
    "language",
)
#: the databases a transcript can run on (``databases: [sqlite, postgresql]``; sqlite when unsaid)
DATABASES = ("sqlite", "postgresql")
FIXTURE_KEYS_BUILTIN = ("clock", "config", "records", "demo_records", "setup")

#: extra step kinds and fixture keys registered by extensions (see :mod:`sabot_testing.extend`)
EXTRA_ACTIONS: set[str] = set()
EXTRA_FIXTURES: set[str] = set()


class TranscriptError(Exception):
    """A transcript file that can't be read or understood (reported with file and line)."""

    def __init__(self, message: str, file: Path | str | None = None, line: int | None = None):
        self.message = message
        self.file = Path(file) if file else None
        self.line = line
        where = f"{self.file}:{line}: " if self.file and line else (f"{self.file}: " if self.file else "")
        super().__init__(where + message)


# -- YAML with line numbers ---------------------------------------------------------------------


class _LineLoader(yaml.SafeLoader):
    """A SafeLoader whose mappings remember the line they start on, under ``__line__``."""


def _mapping_with_line(loader: _LineLoader, node: yaml.MappingNode, deep: bool = False) -> dict:
    mapping = yaml.SafeLoader.construct_mapping(loader, node, deep=deep)
    mapping["__line__"] = node.start_mark.line + 1
    return mapping


def _as_written(loader: _LineLoader, node: yaml.ScalarNode) -> str:
    return node.value


_LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _mapping_with_line)
# Numbers, dates and times are kept as written: "04101" stays a ZIP code, "0012345678" an
# account number, "1985-06-02" a date of birth as typed. (true/false/null keep their meaning.)
for _tag in ("int", "float", "timestamp"):
    _LineLoader.add_constructor(f"tag:yaml.org,2002:{_tag}", _as_written)


def _bool_or_word(loader: _LineLoader, node: yaml.ScalarNode) -> bool | str:
    """Only true/false are booleans; yes, no, on and off are words a user might type."""
    word = node.value.lower()
    return word == "true" if word in ("true", "false") else node.value


_LineLoader.add_constructor("tag:yaml.org,2002:bool", _bool_or_word)


_CACHE: dict[tuple[Path, int, int], Any] = {}


def load_yaml(path: Path) -> Any:
    """The file's data with ``__line__`` in every mapping (cached while the file is unchanged:
    partials are read by many transcripts; callers don't modify what they get)."""
    try:
        stat = path.stat()
        key = (path.resolve(), stat.st_mtime_ns, stat.st_size)
    except OSError as exc:
        raise TranscriptError(f"can't read the file ({exc.strerror})", path) from None
    if key not in _CACHE:
        _CACHE[key] = _load_yaml(path)
    return _CACHE[key]


def _load_yaml(path: Path) -> Any:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise TranscriptError(f"can't read the file ({exc.strerror})", path) from None
    # ${name} can't stand unquoted inside [a, b] or {k: v} in YAML ('{' opens a mapping there);
    # hide it from the parser and put it back afterwards, so both styles work
    text = _VAR_IN_TEXT.sub(lambda m: f"{_OPEN}{m.group(1)}{_CLOSE}", text)
    try:
        return _restore_vars(yaml.load(text, Loader=_LineLoader))  # noqa: S506 - a SafeLoader subclass
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise TranscriptError(f"not valid YAML: {getattr(exc, 'problem', exc)}", path, mark.line + 1 if mark else None) from None


_VAR_IN_TEXT = re.compile(r"(?<!\$)\$\{([^}\n]*)\}")
_OPEN, _CLOSE = "\ue000", "\ue001"


def _restore_vars(value: Any) -> Any:
    if isinstance(value, str):
        return value.replace(_OPEN, "${").replace(_CLOSE, "}") if _OPEN in value else value
    if isinstance(value, dict):
        return {_restore_vars(k): _restore_vars(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_restore_vars(v) for v in value]
    return value


def strip_lines(value: Any) -> Any:
    """The same data without the ``__line__`` bookkeeping."""
    if isinstance(value, dict):
        return {k: strip_lines(v) for k, v in value.items() if k != "__line__"}
    if isinstance(value, list):
        return [strip_lines(v) for v in value]
    return value


def line_of(value: Any, default: int | None = None) -> int | None:
    return value.get("__line__", default) if isinstance(value, dict) else default


def _unknown(key: str, known: tuple[str, ...] | list[str], what: str) -> str:
    close = difflib.get_close_matches(key, list(known), n=1)
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    return f"unknown {what} {key!r}{hint}; known: {', '.join(known)}"


# -- the parsed form ----------------------------------------------------------------------------


@dataclass
class Step:
    """One step: an action (``kind`` and ``value``) plus what to expect and capture."""

    kind: str
    value: Any
    file: Path
    line: int
    expect: Any = None
    capture: Any = None
    user: Any = None
    note: str | None = None
    #: the ``include:`` steps (file, line) that brought this step in, outermost first
    via: tuple[tuple[Path, int], ...] = ()
    #: the step as written (for messages)
    source: dict = field(default_factory=dict)

    @property
    def where(self) -> str:
        return f"{self.file}:{self.line}"

    def describe(self) -> str:
        if self.kind == "expect":
            return "expect (on the previous reply)"
        if self.kind == "capture":
            return "capture"
        value = self.value
        if value is None or value is True:
            return self.kind
        text = value if isinstance(value, str) else yaml.safe_dump(value, default_flow_style=True, width=1000).strip()
        if len(text) > 70:
            text = text[:67] + "..."
        return f"{self.kind}: {text}"


@dataclass
class Row:
    id: str
    values: dict
    line: int | None


@dataclass
class Transcript:
    path: Path
    name: str
    steps: list[Step]
    description: str = ""
    tags: list[str] = field(default_factory=list)
    fixtures: dict = field(default_factory=dict)
    vars: dict = field(default_factory=dict)
    users: dict = field(default_factory=dict)
    rows: list[Row] = field(default_factory=list)
    partial: bool = False
    xfail: str | None = None
    skip: str | None = None
    #: every partial file this transcript includes (for reporting)
    includes: list[Path] = field(default_factory=list)
    #: the databases it runs on under pytest (``sabot script`` uses its own configured one)
    databases: list[str] = field(default_factory=lambda: ["sqlite"])
    #: the language every user's Telegram app is set to (``language: es``; None: English)
    language: str | None = None
    #: a user's own app language (``users: {ana: {chat: 1001, language: es-MX}}``), by name
    user_languages: dict = field(default_factory=dict)

    def cases(self) -> list[Row | None]:
        """One run per data row, or a single run without rows."""
        return list(self.rows) if self.rows else [None]


# -- parsing ------------------------------------------------------------------------------------


def is_partial_path(path: Path) -> bool:
    return "partials" in path.parts


def find_transcripts(paths: list[Path | str], *, include_partials: bool = False) -> list[Path]:
    """Transcript files under the given files/folders, sorted, partials left out."""
    found: list[Path] = []
    for raw in paths:
        p = Path(raw)
        if p.is_dir():
            for f in sorted(p.rglob(f"*{SUFFIX}")):
                if include_partials or not is_partial_path(f.relative_to(p)):
                    found.append(f)
        elif p.exists():
            found.append(p)
        else:
            raise TranscriptError("no such file or folder", p)
    out, seen = [], set()
    for f in found:
        key = f.resolve()
        if key not in seen:
            seen.add(key)
            out.append(f)
    return out


def _load_extensions(raw: dict, path: Path) -> None:
    """Register extension vocabulary before the steps and fixtures are checked: the plugins, and
    the modules a transcript names in ``fixtures: {setup: [{import: module}]}``."""
    import importlib

    from sabot_testing import extend

    extend.load_plugins()
    fixtures = raw.get("fixtures")
    setup = fixtures.get("setup") if isinstance(fixtures, dict) else None
    for item in setup if isinstance(setup, list) else [setup]:
        if isinstance(item, dict) and isinstance(item.get("import"), str):
            try:
                importlib.import_module(item["import"])
            except ImportError as exc:
                raise TranscriptError(f"can't import {item['import']!r}: {exc}", path, line_of(item)) from None


def load_transcript(path: Path | str) -> Transcript:
    path = Path(path)
    raw = load_yaml(path)
    if isinstance(raw, list):
        raw = {"steps": raw, "__line__": 1}
    if not isinstance(raw, dict):
        raise TranscriptError("a transcript is a mapping with 'steps:' (or just a list of steps)", path, 1)
    for key in raw:
        if key != "__line__" and key not in TOP_KEYS:
            raise TranscriptError(_unknown(key, TOP_KEYS, "top-level key"), path, line_of(raw))
    _load_extensions(raw, path)
    steps_raw = raw.get("steps")
    if not isinstance(steps_raw, list):
        raise TranscriptError("'steps:' must be a list of steps", path, line_of(raw))
    includes: list[Path] = []
    steps = _parse_steps(steps_raw, path, (), includes, (path.resolve(),))
    fixtures = raw.get("fixtures") or {}
    if not isinstance(fixtures, dict):
        raise TranscriptError("'fixtures:' must be a mapping", path, line_of(raw))
    for key in fixtures:
        if key != "__line__" and key not in FIXTURE_KEYS_BUILTIN and key not in EXTRA_FIXTURES:
            raise TranscriptError(
                _unknown(key, list(FIXTURE_KEYS_BUILTIN) + sorted(EXTRA_FIXTURES), "fixture"), path, line_of(fixtures)
            )
    tags = raw.get("tags") or []
    if isinstance(tags, str):
        tags = [tags]
    users = strip_lines(raw.get("users") or {})
    if not isinstance(users, dict):
        raise TranscriptError("'users:' maps a name to a chat id, e.g. {alice: 1001, bob: 1002}", path, line_of(raw))
    users, user_languages = _user_languages(users, path, line_of(raw))
    language = raw.get("language")
    if language is not None and (not isinstance(language, str) or not language.strip()):
        raise TranscriptError("'language:' is a Telegram language code such as es or es-MX", path, line_of(raw))
    databases = raw.get("databases") or ["sqlite"]
    if isinstance(databases, str):
        databases = [databases]
    bad = [d for d in databases if d not in DATABASES]
    if bad or not isinstance(databases, list):
        raise TranscriptError(
            f"'databases:' lists some of {', '.join(DATABASES)} (got {', '.join(map(str, bad)) or databases!r})",
            path,
            line_of(raw),
        )
    return Transcript(
        databases=[str(d) for d in dict.fromkeys(databases)],
        path=path,
        name=str(raw.get("name") or _default_name(path)),
        description=str(raw.get("description") or "").strip(),
        tags=[str(t) for t in tags],
        steps=steps,
        fixtures=_keep_fixture_lines(fixtures, path),
        vars=strip_lines(raw.get("vars") or {}),
        users=users,
        rows=_parse_rows(raw.get("rows"), path, line_of(raw)),
        partial=bool(raw.get("partial")) or is_partial_path(path),
        xfail=raw.get("xfail"),
        skip=raw.get("skip"),
        includes=includes,
        language=language.strip() if language else None,
        user_languages=user_languages,
    )


def _user_languages(users: dict, path: Path, line: int | None) -> tuple[dict, dict]:
    """``users:`` as {name: chat id}, and the app language of those written as
    ``{chat: 1001, language: es-MX}``."""
    plain, languages = {}, {}
    for name, value in users.items():
        if isinstance(value, dict):
            unknown = set(value) - {"chat", "id", "language"}
            chat = value.get("chat", value.get("id"))
            if unknown or chat is None:
                raise TranscriptError(
                    f"user {name!r}: a chat id, or {{chat: 1001, language: es-MX}}", path, line
                )
            plain[name] = chat
            if value.get("language"):
                languages[str(name)] = str(value["language"])
        else:
            plain[name] = value
    return plain, languages


def _default_name(path: Path) -> str:
    return path.name[: -len(SUFFIX)] if path.name.endswith(SUFFIX) else path.stem


def _keep_fixture_lines(fixtures: dict, path: Path) -> dict:
    out = strip_lines(fixtures)
    out["__file__"] = path
    out["__line__"] = line_of(fixtures)
    return out


def _parse_rows(rows: Any, path: Path, line: int | None) -> list[Row]:
    if rows is None:
        return []
    if not isinstance(rows, list) or not all(isinstance(r, dict) for r in rows):
        raise TranscriptError("'rows:' must be a list of mappings, one per run", path, line)
    out = []
    ids: set[str] = set()
    for i, row in enumerate(rows, 1):
        values = strip_lines(row)
        rid = str(values.get("id") or values.get("name") or i)
        if rid in ids:
            rid = f"{rid}-{i}"
        ids.add(rid)
        out.append(Row(rid, values, line_of(row)))
    return out


def _parse_steps(
    raw_steps: list, file: Path, via: tuple, includes: list[Path], stack: tuple[Path, ...]
) -> list[Step]:
    steps: list[Step] = []
    for raw in raw_steps:
        if not isinstance(raw, dict):
            raise TranscriptError(
                f"a step is a mapping such as 'say: hello' or 'press: Continue', not {raw!r}", file, None
            )
        line = line_of(raw, 0) or 0
        keys = [k for k in raw if k != "__line__"]
        allowed = ACTIONS + tuple(sorted(EXTRA_ACTIONS)) + MODIFIERS
        for key in keys:
            if key not in allowed:
                raise TranscriptError(_unknown(key, allowed, "step key"), file, line)
        actions = [k for k in keys if k in ACTIONS or k in EXTRA_ACTIONS]
        if len(actions) > 1:
            raise TranscriptError(f"one action per step, this one has {', '.join(actions)}", file, line)
        if "with" in keys and actions not in (["include"], ["hook"]):
            raise TranscriptError("'with:' only goes with 'include:' or 'hook:'", file, line)
        if "expect" in raw:
            _check_expect(raw["expect"], file, line)
        if not actions:
            if "expect" in raw and "capture" not in raw:
                kind = "expect"
            elif "capture" in raw:
                kind = "capture"
            else:
                raise TranscriptError("this step does nothing (no action, 'expect' or 'capture')", file, line)
            value = None
        else:
            kind = actions[0]
            value = raw[kind]
        if kind == "include":
            steps.extend(_include(raw, value, file, line, via, includes, stack))
            continue
        if kind == "set" and not isinstance(value, dict):
            raise TranscriptError("'set:' takes a mapping of variables", file, line)
        steps.append(
            Step(
                kind=kind,
                value=strip_lines(value),
                file=file,
                line=line,
                expect=strip_lines(raw.get("expect")),
                capture=strip_lines(raw.get("capture")),
                user=raw.get("as"),
                note=raw.get("note"),
                via=via,
                source=strip_lines(raw),
            )
        )
    return steps


def _check_expect(expect: Any, file: Path, line: int) -> None:
    if isinstance(expect, (str, list)) or expect is None:
        return
    if not isinstance(expect, dict):
        raise TranscriptError("'expect:' is a text (the reply contains it), a list of texts, or a mapping", file, line)
    for key in expect:
        if key != "__line__" and key not in EXPECT_KEYS:
            raise TranscriptError(_unknown(key, EXPECT_KEYS, "expectation"), file, line_of(expect, line))


def resolve_include(name: str, file: Path) -> Path | None:
    """``include: x.convo.yaml`` is looked for next to the including file, then in a ``partials``
    folder there or in any folder above it."""
    candidates = [file.parent / name]
    for parent in [file.parent, *file.parent.parents]:
        candidates.append(parent / "partials" / name)
        if not name.endswith(SUFFIX):
            candidates.append(parent / "partials" / (name + SUFFIX))
    if not name.endswith(SUFFIX):
        candidates.insert(1, file.parent / (name + SUFFIX))
    for c in candidates:
        if c.is_file():
            return c
    return None


def _include(raw: dict, name: Any, file: Path, line: int, via: tuple, includes: list[Path], stack: tuple) -> list[Step]:
    if not isinstance(name, str):
        raise TranscriptError("'include:' names a partial transcript file", file, line)
    target = resolve_include(name, file)
    if target is None:
        raise TranscriptError(f"can't find the partial {name!r} (looked next to this file and in partials/ folders)", file, line)
    if target.resolve() in stack:
        raise TranscriptError(f"{name!r} includes itself (through {' -> '.join(p.name for p in stack)})", file, line)
    includes.append(target)
    data = load_yaml(target)
    if isinstance(data, list):
        data = {"steps": data}
    if not isinstance(data, dict) or not isinstance(data.get("steps"), list):
        raise TranscriptError("a partial transcript needs a 'steps:' list", target, 1)
    for key in data:
        if key not in ("name", "description", "vars", "steps", "partial", "tags", "__line__"):
            raise TranscriptError(f"a partial transcript can only have name, description, vars and steps, not {key!r}", target, line_of(data))
    out: list[Step] = []
    defaults = strip_lines(data.get("vars") or {})
    if defaults:
        out.append(Step("defaults", defaults, target, line_of(data, 1) or 1, via=via + ((file, line),)))
    given = strip_lines(raw.get("with") or {})
    if given:
        out.insert(0, Step("set", given, file, line, via=via))
    out.extend(_parse_steps(data["steps"], target, via + ((file, line),), includes, stack + (target.resolve(),)))
    if raw.get("as") is not None:
        # `as:` on an include plays the whole partial as that user
        for step in out:
            if step.user is None:
                step.user = raw["as"]
    return out

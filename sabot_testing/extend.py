"""Extension points for transcripts: new fixture keys, new step kinds, setup hooks.

A deployment (or a later feature such as firms) adds its own vocabulary without touching the
runner::

    from sabot_testing.extend import fixture, step

    @fixture("firm")
    async def firm(run, value):           # fixtures: {firm: {name: Acme, admin: 2001}}
        ...                               # run.runtime.services, run.vars...

    @step("firm_admin")
    async def firm_admin(run, step, value):   # - firm_admin: approve ${hire}
        ...                                   # return a runner.Reply (or None)

Modules that register things are imported by naming them in an entry point group
``sabot.scripting`` (``[project.entry-points."sabot.scripting"] firms = "myco.firms_scripting"``),
or from a transcript: ``fixtures: {setup: [{import: myco.firms_scripting}]}``.

Arbitrary code runs from ``setup:`` (before the first step) or a ``hook:`` step, as
``module:function`` or ``file.py:function`` (next to the transcript) called with the run and
the ``with:`` values (``async`` or not); a returned mapping sets variables::

    fixtures:
      setup:
        - hook: ../hooks.py:force_password_change
          with: {username: jrivera85}
"""

from __future__ import annotations

import importlib
import importlib.util
import inspect
from pathlib import Path
from typing import Any, Awaitable, Callable

from sabot_testing import loader

FIXTURES: dict[str, Callable[..., Awaitable[Any]]] = {}
STEPS: dict[str, Callable[..., Awaitable[Any]]] = {}

_plugins_loaded = False

#: the project's own vocabulary, always available (``fixtures: {firm: ...}``)
BUILTIN_PLUGINS = ("sabot_testing.firms",)


def fixture(name: str):
    """Register ``fixtures: {name: value}``; the handler is ``async (run, value)``."""

    def register(fn):
        FIXTURES[name] = fn
        loader.EXTRA_FIXTURES.add(name)
        return fn

    return register


def step(name: str):
    """Register a step kind ``- name: value``; the handler is ``async (run, step, value)`` and
    returns a :class:`sabot_testing.runner.Reply` (or ``None`` for "the bot said nothing")."""

    def register(fn):
        STEPS[name] = fn
        loader.EXTRA_ACTIONS.add(name)
        return fn

    return register


def load_plugins() -> None:
    """Import the built-in plugins and the modules named in the ``sabot.scripting`` entry point
    group (once). The loader calls this before checking a transcript's fixture keys and steps."""
    global _plugins_loaded
    if _plugins_loaded:
        return
    _plugins_loaded = True
    from importlib.metadata import entry_points

    for module in BUILTIN_PLUGINS:
        importlib.import_module(module)

    for ep in entry_points(group="sabot.scripting"):
        ep.load()


def resolve_callable(target: str, base: Path | None = None) -> Callable:
    """``package.module:function`` (or ``package.module.function``), or ``file.py:function`` with
    the file relative to ``base`` (the transcript's folder), to the function."""
    if ":" in target:
        module, _, name = target.partition(":")
    else:
        module, _, name = target.rpartition(".")
    if not module or not name:
        raise ValueError(f"{target!r} is not of the form package.module:function or file.py:function")
    obj: Any
    if module.endswith(".py"):
        path = Path(module)
        if not path.is_absolute() and base is not None:
            path = base / path
        spec = importlib.util.spec_from_file_location(f"sabot_hooks_{abs(hash(str(path.resolve())))}", path)
        if spec is None or spec.loader is None or not path.exists():
            raise ValueError(f"no hook file {path}")
        obj = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(obj)
    else:
        obj = importlib.import_module(module)
    for part in name.split("."):
        obj = getattr(obj, part)
    if not callable(obj):
        raise ValueError(f"{target!r} is not callable")
    return obj


async def call_hook(target: str, run: Any, values: dict | None, base: Path | None = None) -> Any:
    fn = resolve_callable(target, base)
    result = fn(run, **(values or {}))
    if inspect.isawaitable(result):
        result = await result
    return result

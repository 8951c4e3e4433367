"""The floors, read from the code: every ``import`` statement (those inside functions too) is parsed
with ``ast`` and checked against what each package may import.

* ``domain`` - the rules - imports nothing of the project but itself;
* ``flows`` - the conversations - imports only ``flows`` and ``domain``;
* ``bot`` never imports the scripted-test kit (``sabot_testing``) or the benchmark (``sabot_bench``);
* ``bot.storage`` imports nothing of ``bot`` outside itself but ``bot.crypto``, ``bot.clock`` and
  ``bot.config``.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from sabot_testing.diagrams import import_lines

ROOT = Path(__file__).resolve().parents[1]
PROJECT = ("domain", "flows", "bot", "sabot_testing", "sabot_bench")


def _module(path: Path) -> str:
    rel = path.relative_to(ROOT).with_suffix("")
    parts = [p for p in rel.parts if p != "__init__"]
    if parts[:1] == ["tools"]:
        parts = parts[1:]
    return ".".join(parts)


def imports_of(path: Path) -> list[tuple[int, str]]:
    """(line, module) for every module of the project ``path`` imports."""
    module = _module(path)
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    return imports_in(ast.parse(path.read_text(encoding="utf-8"), filename=str(path)), package)


def imports_in(tree: ast.AST, package: str) -> list[tuple[int, str]]:
    """(line, module) for every module of the project imported anywhere in ``tree`` (a module of
    ``package``); ``from a import b`` counts as ``a.b`` when that is a module, else as ``a``."""
    return [(line, name) for line, name in import_lines(tree, package, ROOT) if name.split(".")[0] in PROJECT]


def _files(folder: str) -> list[Path]:
    return sorted((ROOT / folder).rglob("*.py"))


def _offending(folder: str, allowed) -> list[str]:
    bad = []
    for path in _files(folder):
        for line, name in imports_of(path):
            if not allowed(name):
                bad.append(f"{path.relative_to(ROOT)}:{line} imports {name}")
    return bad


def _within(name: str, *packages: str) -> bool:
    return any(name == p or name.startswith(p + ".") for p in packages)


def test_the_scanner_sees_imports_inside_functions_and_relative_ones():
    source = (
        "import os\n"
        "def f():\n"
        "    from bot import engine\n"
        "    import flows.core\n"
        "    from . import validators\n"
        "    from .policies import Policy\n"
    )
    names = [name for _line, name in imports_in(ast.parse(source), "domain")]
    assert names == ["bot.engine", "flows.core", "domain.validators", "domain.policies"]


def test_domain_imports_nothing_of_the_project():
    assert _offending("domain", lambda name: _within(name, "domain")) == []


def test_flows_import_only_flows_and_domain():
    assert _offending("flows", lambda name: _within(name, "flows", "domain")) == []


def test_bot_never_imports_the_test_kit_or_the_benchmark():
    assert _offending("bot", lambda name: not _within(name, "sabot_testing", "sabot_bench")) == []


def test_storage_imports_of_bot_only_crypto_clock_and_config():
    allowed = ("bot.storage", "bot.crypto", "bot.clock", "bot.config")
    assert _offending("bot/storage", lambda name: not _within(name, "bot") or _within(name, *allowed)) == []


def test_the_readme_draws_the_packages_from_the_imports():
    from sabot_testing import diagrams

    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    if "<!-- diagram:packages -->" not in readme:
        pytest.skip("the README has no packages diagram yet")
    start = readme.index("<!-- diagram:packages -->")
    block = readme[start : readme.index("<!-- /diagram:packages -->")]
    assert diagrams.packages() in block, "run `sabot diagram` to redraw the packages"


# -- moves between flows ------------------------------------------------------------------------


def test_ctx_go_refuses_a_move_nobody_declared():
    from flows.core import Ctx, Exits, UndeclaredExit

    ctx = Ctx(chat_id=1, data={}, services=None, repo=None, incoming=None)
    with pytest.raises(UndeclaredExit):
        ctx.go("home", "welcome")  # no flow or command in charge
    ctx.exits = Exits("test", [("done", "home", "registered")])
    ctx.go("home", "registered")
    assert ctx.switch == ("home", "registered", {})
    with pytest.raises(UndeclaredExit, match="home.welcome"):
        ctx.go("home", "welcome")


def test_every_literal_move_in_the_flows_is_declared_somewhere():
    """Each ``ctx.go("flow", "state")`` written with literal names leads where some flow or
    command declares an exit to; and every declared exit leads to a real state."""
    from flows.router import FLOWS, all_exits, check_exits

    check_exits()
    declared = {(row.flow, row.state) for _origin, table in all_exits() for row in table}
    missing = []
    for path in _files("flows"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "go"):
                continue
            args = [a.value if isinstance(a, ast.Constant) else ... for a in node.args[:2]]
            if not args or args[0] is ... or (len(args) > 1 and args[1] is ...):
                continue  # worked out at run time: checked when it happens
            target = (args[0], args[1] if len(args) > 1 else None)
            if target not in declared:
                missing.append(f"{path.relative_to(ROOT)}:{node.lineno} ctx.go{target}")
    assert missing == []
    assert set(FLOWS) >= {flow for flow, _state in declared}


def test_the_commands_table_answers_each_name_in_order():
    from flows import admin, commands

    names = {name for row in commands.COMMANDS for name in row.names}
    assert {"start", "help", "privacy", "delete_my_data", "deletemydata", "status", "back", "cancel", "login",
            "signin", "logout", "signout", "profile", "register", "language", "idioma"} | set(admin.COMMANDS) == names
    # the conditional rows come before the general ones of the same name
    assert [row.when is not None for row in commands.COMMANDS_BY_NAME["start"]] == [True, False]
    assert [row.when is not None for row in commands.COMMANDS_BY_NAME["cancel"]] == [True, False]

"""What sabot keeps on disk is readable by its owner only, whatever the umask: the data folder is
0700; the SQLite database with its WAL and shared-memory files, the key file, the letter exports
and the files the terminal chat saves are 0600. The authenticator's QR code (it holds the key) is
drawn in the terminal and never written anywhere."""

from __future__ import annotations

import io
import os
import re
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from bot.storage.files import private_file, private_folder, write_private
from bot.terminal import TerminalChat
from flows.replies import Photo
from tests.journeys import JORDAN, register

LOOSE_UMASK = 0o022


def mode(path: Path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


@pytest.fixture
def loose_umask():
    """A umask that would leave new files readable by everyone (0644) and folders open (0755)."""
    old = os.umask(LOOSE_UMASK)
    yield
    os.umask(old)


def _env(tmp_path: Path) -> dict[str, str]:
    env = dict(os.environ)
    for key in [k for k in env if k.startswith("SABOT_")]:
        env.pop(key)
    env.update({
        "SABOT_SECURITY__ARGON2_TIME_COST": "1",
        "SABOT_SECURITY__ARGON2_MEMORY_KIB": "8192",
        "SABOT_SECURITY__ARGON2_PARALLELISM": "1",
        "PYTHONUNBUFFERED": "1",
    })
    return env


def _sabot(tmp_path: Path, *args: str, stdin: str = "") -> subprocess.CompletedProcess:
    # the child starts with the loose umask: `umask 022; exec python -m bot.cli ...`
    command = "umask 022; exec \"$0\" -m bot.cli \"$@\""
    return subprocess.run(["sh", "-c", command, sys.executable, *args], input=stdin, env=_env(tmp_path),
                          cwd=tmp_path, capture_output=True, text=True, timeout=120)


# -- the helpers -----------------------------------------------------------------------------------


def test_the_helpers_set_their_modes_whatever_the_umask(tmp_path, loose_umask):
    made = private_folder(tmp_path / "a" / "b")
    assert mode(tmp_path / "a") == 0o700 and mode(made) == 0o700
    assert mode(private_file(tmp_path / "c" / "db")) == 0o600 and mode(tmp_path / "c") == 0o700
    loose = tmp_path / "old.csv"
    loose.write_text("old")
    assert mode(loose) == 0o644
    write_private(loose, "new")
    assert mode(loose) == 0o600 and loose.read_text() == "new"
    private_file(loose)
    assert loose.read_text() == "new"  # making it private leaves its content
    shared = tmp_path / "shared"
    shared.mkdir(mode=0o755)
    private_folder(shared)
    assert mode(shared) == 0o755  # a folder that was there keeps the mode its owner gave it


# -- `sabot chat` on the embedded defaults ---------------------------------------------------------


def test_sabot_chat_keeps_its_data_folder_database_and_keys_private(tmp_path):
    done = _sabot(tmp_path, "chat", stdin="Begin registration\nJordan\n")
    assert done.returncode == 0, done.stderr
    data = tmp_path / ".sabot"
    assert mode(data) == 0o700
    for name in ("sabot.db", "keys.json"):
        assert mode(data / name) == 0o600, name
    for name in ("sabot.db-wal", "sabot.db-shm"):
        if (data / name).exists():
            assert mode(data / name) == 0o600, name


async def test_the_database_and_its_wal_and_shm_are_private_while_open(tmp_path, loose_umask):
    from sqlalchemy import text

    from bot.storage.db import create_engine

    path = tmp_path / "data" / "bot.db"
    engine = create_engine(f"sqlite+aiosqlite:///{path}")
    try:
        assert mode(path) == 0o600 and mode(path.parent) == 0o700  # before SQLite opened it
        async with engine.begin() as conn:
            await conn.execute(text("CREATE TABLE t (x INTEGER)"))
            await conn.execute(text("INSERT INTO t VALUES (1)"))
        async with engine.connect() as conn:
            await conn.execute(text("SELECT x FROM t"))
            for name in ("bot.db", "bot.db-wal", "bot.db-shm"):
                assert mode(path.parent / name) == 0o600, name
    finally:
        await engine.dispose()


async def test_a_database_left_readable_is_made_private_when_opened(tmp_path, loose_umask):
    import sqlite3

    from sqlalchemy import text

    from bot.storage.db import create_engine

    path = tmp_path / "bot.db"
    keep = sqlite3.connect(path)  # holds the WAL and shared-memory files open, as a running bot would
    keep.execute("PRAGMA journal_mode=WAL")
    keep.execute("CREATE TABLE t (x INTEGER)")
    keep.commit()
    for name in ("bot.db", "bot.db-wal", "bot.db-shm"):
        os.chmod(tmp_path / name, 0o644)
    engine = create_engine(f"sqlite+aiosqlite:///{path}")
    try:
        assert mode(path) == 0o600
        async with engine.connect() as conn:
            await conn.execute(text("SELECT x FROM t"))
            for name in ("bot.db", "bot.db-wal", "bot.db-shm"):
                assert mode(tmp_path / name) == 0o600, name
    finally:
        await engine.dispose()
        keep.close()


# -- the letter exports ----------------------------------------------------------------------------


def test_letter_exports_are_private(tmp_path):
    out, pdf = tmp_path / "exports" / "letters.csv", tmp_path / "letters.pdf"
    pdf.write_bytes(b"an old export")
    os.chmod(pdf, 0o644)
    done = _sabot(tmp_path, "letters", "export", "--out", str(out), "--pdf", str(pdf))
    assert done.returncode == 0, done.stderr
    assert out.read_text(encoding="utf-8-sig").strip(), "the CSV has at least its header"
    assert pdf.read_bytes().startswith(b"%PDF")
    assert mode(out) == 0o600 and mode(pdf) == 0o600
    assert mode(out.parent) == 0o700


# -- the terminal chat -----------------------------------------------------------------------------


async def test_the_authenticator_qr_is_drawn_in_the_terminal_and_never_written(harness, loose_umask):
    user = await harness.user(1001)
    await register(harness, user)
    out = io.StringIO()
    chat = TerminalChat(harness.services, harness.engine, chat_id=1001, stdin=io.StringIO(), stdout=out)
    before = sorted(p for p in Path(harness.services.settings.data_dir).rglob("*")) if Path(
        harness.services.settings.data_dir).exists() else []
    await chat.say("/login")
    await chat.say(JORDAN["username"])
    await chat.say(JORDAN["password"])
    await chat.say(await harness.last_code("sms"))
    await chat.say("/profile")
    await chat.say("Add an authenticator app")
    shown = out.getvalue()
    assert "Scan this with your authenticator app." in shown
    assert "▀" in shown or "▄" in shown, "the QR code is drawn with block characters"
    assert "saved to" not in shown
    key = re.search(r"by hand: ([A-Z2-7 ]+?)\n", shown).group(1).replace(" ", "")
    data = Path(harness.services.settings.data_dir)
    after = sorted(p for p in data.rglob("*")) if data.exists() else []
    assert after == before, "nothing was written into the data folder"
    assert not (data / "images").exists()
    # the key is nowhere on disk in the clear (not in a picture, nor in any file under tmp)
    for path in Path(harness.services.settings.data_dir).parent.rglob("*"):
        if path.is_file():
            assert key.encode() not in path.read_bytes(), path


def test_a_picture_without_its_text_is_only_mentioned(tmp_path, harness):
    out = io.StringIO()
    chat = TerminalChat(harness.services, harness.engine, chat_id=5, stdin=io.StringIO(), stdout=out)
    chat._render([Photo(b"\x89PNG", caption="A picture.", filename="authenticator.png")])
    assert "not shown" in out.getvalue() and "A picture." in out.getvalue()
    assert not (Path(harness.services.settings.data_dir) / "images").exists()


async def test_pictures_an_earlier_terminal_kept_are_removed(harness):
    images = Path(harness.services.settings.data_dir) / "images"
    images.mkdir(parents=True)
    (images / "authenticator.png").write_bytes(b"\x89PNG old")
    chat = TerminalChat(harness.services, harness.engine, chat_id=5, stdin=io.StringIO(), stdout=io.StringIO())
    await chat.run()
    assert not images.exists()


async def test_files_the_terminal_saves_are_private(harness, loose_umask):
    from bot.firms import create_firm

    await create_firm(harness.services, "Acme Tax", 77)
    out = io.StringIO()
    chat = TerminalChat(harness.services, harness.engine, chat_id=77, stdin=io.StringIO(), stdout=out)
    await chat.say("/invite Jordan Rivera")
    await chat.say("Skip – no email")
    await chat.say("/export")
    saved = Path(re.search(r"\[file saved to (\S+)\]", out.getvalue()).group(1))
    assert mode(saved) == 0o600
    assert mode(saved.parent) == 0o700

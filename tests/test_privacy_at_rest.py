"""Nothing personal is stored in plain text: the raw SQLite file (and its write-ahead log) holds
none of the SSNs, dates of birth, phone numbers, emails, account digits or passwords that were
typed or imported, in any of the forms they could take."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import make_harness, run_on_harness
from tests.conftest import test_settings as settings_for
from tests.privacy_helpers import (
    find_plaintext,
    fill_with_registrations,
    personal_values,
    sqlite_files,
)

#: more of what people typed, long enough not to turn up by chance in random bytes
OTHER_TYPED = {
    "1234 Elm Street": "an address line",
    "Springfield": "a city",
    "500 Market Street": "an address line",
    "San Francisco": "a city",
    "Natarajan": "a last name",
    "blue heron at dawn": "a site phrase",
    "Biscuit": "a secret answer",
    "the corner bakery": "a secret answer",
}


def test_the_finder_finds_what_is_there():
    values = {"401-22-7788": "SSN", "jordan@example.com": "email"}
    blob = b"xx 401-22-7788 yy " + "JORDAN@example.com".encode("utf-16-le")
    hits = find_plaintext({"db": blob}, values)
    assert {h.value for h in hits} == {"401-22-7788", "jordan@example.com"}
    assert find_plaintext({"db": b"k1.QUJDRA"}, values) == []


async def test_database_file_holds_no_personal_value_in_plain_text(tmp_path: Path):
    settings = settings_for(tmp_path)
    h = await make_harness(settings)
    try:
        people = await fill_with_registrations(h)
        values = {**personal_values(people), **OTHER_TYPED}
        assert len(values) > 100
        db_file = tmp_path / "test.db"
        # while the bot runs: the main file plus the write-ahead log
        files = sqlite_files(db_file)
        assert "test.db-wal" in files and len(files["test.db-wal"]) > 0
        hits = find_plaintext(files, values)
        assert not hits, "\n".join(map(str, hits))
        # the data really is in there, encrypted: the outbox shows it decrypted
        sent = await h.outbox()
        assert any(m.to == "jordan.rivera@example.com" for m in sent)
    finally:
        await h.close()
    # after the log is folded into the file
    files = sqlite_files(db_file)
    hits = find_plaintext(files, values)
    assert not hits, "\n".join(map(str, hits))
    assert len(files["test.db"]) > 50_000


def test_postgresql_dump_holds_no_personal_value_in_plain_text(tmp_path: Path, postgres):
    """The same check on a pg_dump of a PostgreSQL database filled the same way."""
    import shutil
    import subprocess

    from sqlalchemy.engine import make_url

    if postgres.url is None:
        import pytest

        pytest.skip(postgres.reason)
    if shutil.which("pg_dump") is None:
        import pytest

        pytest.skip("pg_dump is not installed")
    postgres.empty()
    settings = settings_for(tmp_path, database={"url": postgres.url})

    people = run_on_harness(settings, fill_with_registrations)
    values = {**personal_values(people), **OTHER_TYPED}
    url = make_url(postgres.url)
    dump = subprocess.run(
        ["pg_dump", "--data-only", "-h", url.host or "127.0.0.1", "-p", str(url.port or 5432),
         "-U", url.username or "postgres", url.database],
        capture_output=True, timeout=120, check=True,
    ).stdout
    assert b"COPY public.conversations" in dump  # the dump really holds the data
    hits = find_plaintext({"pg_dump": dump}, values)
    assert not hits, "\n".join(map(str, hits))

"""Logs carry no personal data: a whole registration, a mail-path registration and sign-ins at
DEBUG, with every library logger (python-telegram-bot, httpx, SQLAlchemy with echo on,
aiosqlite) turned up to DEBUG too, leave none of the personal values in the log output."""

from __future__ import annotations

import io
import logging

import pytest

from bot import logs
from flows import router
from tests.conftest import make_harness
from tests.conftest import test_settings as settings_for
from tests.journeys import JORDAN, to_email_code
from tests.privacy_helpers import fill_with_registrations, find_plaintext, personal_values
from tests.test_privacy_at_rest import OTHER_TYPED

LIBRARIES = ("telegram", "httpx", "httpcore", "sqlalchemy", "sqlalchemy.engine", "aiosqlite", "asyncio", "transitions")


@pytest.fixture
def everything_logged():
    """Root and every library logger at DEBUG, all of it into one buffer (tracebacks included)."""
    buffer = io.StringIO()
    handler = logging.StreamHandler(buffer)
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    handler.setLevel(logging.DEBUG)
    root = logging.getLogger()
    saved = {name: logging.getLogger(name).level for name in ("", *LIBRARIES)}
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)

    def loud():
        for name in LIBRARIES:
            logging.getLogger(name).setLevel(logging.DEBUG)

    loud()
    yield buffer, loud
    root.removeHandler(handler)
    for name, level in saved.items():
        logging.getLogger(name).setLevel(level)


@pytest.fixture
def scrubbing():
    logs.install()
    yield
    logs.uninstall()


def test_scrub_removes_personal_patterns():
    text = (
        "ssn 401-22-7788 / 401227788, born 06/02/1985 or 1985-06-02, phone +12175550123 (217) 555-0123, "
        "mail jordan.rivera@example.com, card 4111 1111 2222 3333, token 123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw "
        "{'first_name': 'Jordan', \"password\": \"copper kettle\"} line1=1234-Elm"
    )
    clean = logs.scrub(text)
    for secret in ("7788", "1985", "555", "jordan.rivera", "3333", "AAHdq", "Jordan", "copper", "1234-Elm"):
        assert secret not in clean, secret
    assert logs.scrub("update 12345 took 0.25s in state email_code") == "update 12345 took 0.25s in state email_code"


def test_int_arguments_stay_readable_text_arguments_are_scrubbed(scrubbing, caplog):
    caplog.set_level(logging.DEBUG)
    caplog.set_level(logging.DEBUG, logger="telegram.ext")  # building an application raises it
    logging.getLogger("sabot.test").info("chat %s typed %s", 987654321, "401-22-7788")
    logging.getLogger("telegram.ext").debug("update body %s", {"text": "Jordan Rivera"})
    logging.getLogger("telegram.ext").error("network trouble for %s", "jordan.rivera@example.com")
    assert "chat 987654321 typed [redacted]" in caplog.text
    assert "Jordan" not in caplog.text and "jordan.rivera" not in caplog.text
    assert "(withheld)" in caplog.text and "network trouble for [redacted]" in caplog.text


def test_tracebacks_are_scrubbed_and_unformattable(scrubbing, caplog):
    caplog.set_level(logging.DEBUG)
    try:
        raise ValueError("no account for jordan.rivera@example.com, SSN 401-22-7788")
    except ValueError:
        logging.getLogger("sabot.engine").exception("step failed for chat %s", 4101)
    record = caplog.records[-1]
    assert record.exc_info is None  # no handler can format the original message again
    assert "ValueError" in caplog.text and "step failed for chat 4101" in caplog.text
    assert "jordan.rivera" not in caplog.text and "7788" not in caplog.text


def test_the_command_line_installs_the_scrubbing():
    from bot.cli import _setup_logging

    try:
        _setup_logging("DEBUG")
        record = logging.getLogger("sabot.test").makeRecord("sabot.test", logging.INFO, __file__, 1, "ssn %s", ("401-22-7788",), None)
        assert record.getMessage() == "ssn [redacted]"
    finally:
        logs.uninstall()


async def test_without_the_scrubbing_this_capture_would_see_personal_data(tmp_path, everything_logged):
    """The probe works: the libraries at DEBUG do log what people type."""
    buffer, loud = everything_logged
    h = await make_harness(settings_for(tmp_path, database={"echo": True}))
    loud()  # building the application raised the library loggers again
    try:
        user = await h.user(4401)
        await to_email_code(h, user)
    finally:
        await h.close()
    assert find_plaintext({"log": buffer.getvalue().encode()}, {JORDAN["email"]: "email"})


async def test_whole_registrations_and_sign_ins_log_no_personal_value(tmp_path, everything_logged, scrubbing, capsys, monkeypatch):
    buffer, loud = everything_logged
    h = await make_harness(settings_for(tmp_path, database={"echo": True}))
    loud()
    try:
        people = await fill_with_registrations(h)
        # a wrong password, a wrong code, /privacy, and a step that fails with personal data in the error
        jordan = await h.user(4101)
        await jordan.command("logout")
        await jordan.command("login")
        await jordan.send(JORDAN["username"])
        await jordan.send("not the password 401-22-7788")
        await jordan.send(JORDAN["password"])
        await jordan.send("000000")
        await jordan.command("privacy")

        async def failing(*_args, **_kwargs):
            raise RuntimeError(f"could not handle {JORDAN['email']} / {JORDAN['ssn']} / {JORDAN['phone']}")

        monkeypatch.setattr(router, "dispatch", failing)
        monkeypatch.setattr("bot.turn.dispatch", failing)
        await jordan.send("anything")
    finally:
        await h.close()
    output = buffer.getvalue()
    echoed = capsys.readouterr()
    values = {**personal_values(people), **OTHER_TYPED}
    hits = find_plaintext({"log": output.encode(), "stdout": echoed.out.encode(), "stderr": echoed.err.encode()}, values)
    assert not hits, "\n".join(map(str, hits))
    # and the log did record what happened
    assert "sabot.audit: signed_in" in output and "sign_in_failed" in output
    assert "RuntimeError" in output and "[redacted]" in output
    assert "telegram" in output and "sqlalchemy.engine" in output and "(withheld)" in output

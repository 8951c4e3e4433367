"""What the operator sees carries no secret and no personal value: the bot token never (when
Telegram refuses it, in polling and in webhook mode, or in any log line), records-file errors
name the record and the field only, and a bad key setting is named, not echoed."""

from __future__ import annotations

import base64
import logging
import os
import subprocess

import pytest

from bot.logs import REDACTED, clean, redact_secrets, register_secret
from tests.test_sabot_run_loopback import _sabot, bot_env, start_api
from tests.test_webhook import free_port

TOKEN = "1234567890:AAHfake-token_for-tests0123456789abcd"


@pytest.fixture
def refusing_api():
    server = start_api(token="42:the-only-token-it-accepts")
    yield server
    server.stop()


@pytest.mark.parametrize("token", [TOKEN, "123456:TEST"])
@pytest.mark.parametrize("mode", ["polling", "webhook"])
def test_a_refused_token_is_never_printed(tmp_path, refusing_api, mode, token):
    env = dict(bot_env(tmp_path, refusing_api), TELEGRAM_BOT_TOKEN=token, SABOT_TELEGRAM__WEBHOOK_SECRET="s3cret")
    args = ["run", "--log-level", "DEBUG"]
    if mode == "webhook":
        port = free_port()
        args += ["--webhook-url", f"http://127.0.0.1:{port}/hook", "--listen", "127.0.0.1", "--port", str(port)]
    done = subprocess.run(_sabot(*args), env=env, cwd=tmp_path, capture_output=True, text=True, timeout=60)
    output = done.stdout + done.stderr
    assert done.returncode != 0
    assert "refused the bot token" in output, output[-2000:]
    assert token not in output and token.split(":")[1] not in output
    assert "Traceback" not in output


def test_logs_and_error_texts_lose_the_token():
    register_secret("777:short")
    assert redact_secrets(f"The token `{TOKEN}` was rejected") == f"The token `{REDACTED}` was rejected"
    assert "777:short" not in redact_secrets("url https://api.telegram.org/bot777:short/getMe")
    record = logging.LogRecord("sabot.serve", logging.ERROR, __file__, 1, "failed: %s", ("bot777:short/getMe",), None)
    assert "777:short" not in clean(record).getMessage()


RECORD = """\
taxpayers:
  - ssn: "418-52-9036"
    first_name: Marisol
    last_name: Quintana
    date_of_birth: "{dob}"
    filing_status: single
    address: {{line1: "742 Maple Ave", city: Portland, state: OR, postal_code: "97205", country: US}}
"""


def _import(tmp_path, text: str) -> subprocess.CompletedProcess:
    path = tmp_path / "people.yaml"
    path.write_text(text, encoding="utf-8")
    env = dict(os.environ, SABOT_DATA_DIR=str(tmp_path / "data"),
               SABOT_DATABASE__URL=f"sqlite+aiosqlite:///{tmp_path / 'bot.db'}")
    env.pop("SABOT_CONFIG", None)
    return subprocess.run(_sabot("records", "import", str(path)), env=env, cwd=tmp_path, capture_output=True,
                          text=True, timeout=60)


def test_records_import_errors_name_the_record_and_field_only(tmp_path):
    done = _import(tmp_path, RECORD.format(dob="1982-13-45"))
    assert done.returncode != 0
    assert "taxpayer #1" in done.stderr and "date_of_birth" in done.stderr
    for value in ("1982-13-45", "Marisol", "Quintana", "418-52-9036", "Maple"):
        assert value not in done.stdout + done.stderr

    broken = RECORD.format(dob="1982-09-17").replace("    last_name: Quintana", "  last_name: Quintana: x")
    done = _import(tmp_path, broken)
    assert done.returncode != 0
    assert "not valid YAML at line" in done.stderr
    for value in ("Marisol", "Quintana", "1982-09-17", "418-52-9036"):
        assert value not in done.stdout + done.stderr


def _key() -> str:
    return base64.b64encode(os.urandom(32)).decode()


@pytest.mark.parametrize("old_keys", ['notjson-SECRETKEY', '["SECRETKEY"]', '{"old": "SECRETKEY!!"}',
                                      '{"old": "U0VDUkVUS0VZ"}'])
def test_a_bad_old_data_keys_setting_is_named_not_printed(tmp_path, old_keys):
    env = dict(os.environ, SABOT_DATA_DIR=str(tmp_path / "data"), SABOT_SECURITY__DATA_KEY=_key(),
               SABOT_SECURITY__HMAC_KEY=_key(), SABOT_SECURITY__OLD_DATA_KEYS=old_keys,
               SABOT_DATABASE__URL=f"sqlite+aiosqlite:///{tmp_path / 'bot.db'}")
    env.pop("SABOT_CONFIG", None)
    done = subprocess.run(_sabot("keys", "status"), env=env, cwd=tmp_path, capture_output=True, text=True, timeout=60)
    output = done.stdout + done.stderr
    assert done.returncode != 0
    assert "SABOT_SECURITY__" in output
    assert "SECRETKEY" not in output and "U0VDUkVUS0VZ" not in output
    assert "Traceback" not in output

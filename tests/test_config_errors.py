"""Configuration and start-up mistakes are one line each, without a traceback: broken YAML with
file and line, a wrong value with its key path and type, unknown keys with a suggestion, a missing
SABOT_CONFIG file, an unreachable database with host and port; plain database URLs work."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from bot.config import ConfigError, async_database_url, load_settings
from tests.conftest import environ_without_bot_settings, unused_port


def _env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = environ_without_bot_settings()
    env.update({"SABOT_DATA_DIR": str(tmp_path / "data")}, **extra)
    return env


def sabot(tmp_path: Path, *args: str, config: str | None = None, **env: str) -> subprocess.CompletedProcess:
    if config is not None:
        (tmp_path / "config.yaml").write_text(config)
    return subprocess.run([sys.executable, "-m", "bot.cli", *args], cwd=tmp_path, env=_env(tmp_path, **env),
                          capture_output=True, text=True, timeout=60)


def one_line_error(done: subprocess.CompletedProcess) -> str:
    assert done.returncode != 0, done.stdout
    assert "Traceback" not in done.stderr + done.stdout, done.stderr
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith("Error: ")
    return lines[0]


def test_broken_yaml_names_file_and_line(tmp_path):
    line = one_line_error(sabot(tmp_path, "outbox", config="database:\n  url: ''\n  max_group: [1\n"))
    assert "config.yaml line" in line and "broken YAML" in line and "line 3" in line


def test_a_wrong_value_names_the_key_path_and_type(tmp_path):
    line = one_line_error(sabot(tmp_path, "outbox", config="policy:\n  codes:\n    confirmation:\n      lifetime_minutes: soon\n"))
    assert "config.yaml line 4" in line
    assert "policy.codes.confirmation.lifetime_minutes must be a number" in line


def test_a_wrong_value_in_a_variable_names_the_variable(tmp_path):
    line = one_line_error(sabot(tmp_path, "outbox", SABOT_DATABASE__MAX_GROUP="many"))
    assert "SABOT_DATABASE__MAX_GROUP" in line and "database.max_group must be a whole number" in line


def test_a_wrong_choice_lists_the_choices(tmp_path):
    line = one_line_error(sabot(tmp_path, "outbox", config="delivery:\n  email:\n    backend: smpt\n"))
    assert "delivery.email.backend must be one of 'outbox' or 'smtp'" in line


def test_an_unknown_key_in_the_file_gets_a_suggestion(tmp_path):
    line = one_line_error(sabot(tmp_path, "outbox", config="databse:\n  url: ''\n"))
    assert "unknown key databse; did you mean database?" in line
    line = one_line_error(sabot(tmp_path, "outbox", config="policy:\n  sign_in:\n    max_atempts: 3\n"))
    assert "config.yaml line 3: unknown key policy.sign_in.max_atempts; did you mean policy.sign_in.max_attempts?" in line


def test_an_unknown_variable_gets_a_suggestion(tmp_path):
    line = one_line_error(sabot(tmp_path, "outbox", SABOT_DATABASE_URL="sqlite:///x.db"))
    assert "SABOT_DATABASE_URL is not a setting" in line and "did you mean SABOT_DATABASE__URL?" in line


def test_a_missing_config_file_is_an_error(tmp_path):
    line = one_line_error(sabot(tmp_path, "outbox", SABOT_CONFIG=str(tmp_path / "nowhere.yaml")))
    assert "SABOT_CONFIG names" in line and "does not exist" in line


def test_an_unreachable_database_gives_host_and_port(tmp_path):
    port = unused_port()
    url = f"postgresql://sabot:hunter2secret@127.0.0.1:{port}/sabot"
    for args in (["outbox"], ["db", "upgrade"]):
        line = one_line_error(sabot(tmp_path, *args, SABOT_DATABASE__URL=url))
        assert f"127.0.0.1:{port}" in line and "connection refused" in line
        assert "hunter2secret" not in line


def test_run_checks_the_database_before_starting(tmp_path):
    port = unused_port()
    line = one_line_error(sabot(tmp_path, "run", TELEGRAM_BOT_TOKEN="123:abc",
                                SABOT_DATABASE__URL=f"postgresql://sabot@127.0.0.1:{port}/sabot"))
    assert f"127.0.0.1:{port}" in line


def test_a_secret_value_is_never_repeated(tmp_path):
    line = one_line_error(sabot(tmp_path, "outbox", config="telegram:\n  token: [SECRETTOKEN]\n"))
    assert "telegram.token must be text" in line and "SECRETTOKEN" not in line


def test_plain_database_urls_get_the_async_driver(tmp_path):
    assert async_database_url("sqlite:///data/sabot.db") == "sqlite+aiosqlite:///data/sabot.db"
    assert async_database_url("postgresql://u@h:5432/db") == "postgresql+asyncpg://u@h:5432/db"
    assert async_database_url("postgres://u@h/db") == "postgresql+asyncpg://u@h/db"
    assert async_database_url("postgresql+asyncpg://u@h/db") == "postgresql+asyncpg://u@h/db"
    done = sabot(tmp_path, "db", "upgrade", SABOT_DATABASE__URL=f"sqlite:///{tmp_path / 'plain.db'}")
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "plain.db").exists()


def test_an_unsupported_database_scheme_is_refused(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("SABOT_DATABASE__URL", "mysql://u:pw@h/db")
    with pytest.raises(ConfigError, match="database.url must look like"):
        load_settings()


def test_secrets_come_from_files(clean_env, tmp_path):
    (tmp_path / "token").write_text("42:from-a-file\n")
    (tmp_path / "hmac").write_text("aG1hYw==\n")
    secrets = tmp_path / "secrets"
    secrets.mkdir()
    (secrets / "SABOT_SECURITY__DATA_KEY_ID").write_text("k-dir\n")
    clean_env.setenv("TELEGRAM_BOT_TOKEN_FILE", str(tmp_path / "token"))
    clean_env.setenv("SABOT_SECURITY__HMAC_KEY_FILE", str(tmp_path / "hmac"))
    clean_env.setenv("SABOT_SECRETS_DIR", str(secrets))
    settings = load_settings()
    assert settings.bot_token == "42:from-a-file"
    assert settings.security.hmac_key == "aG1hYw=="
    assert settings.security.data_key_id == "k-dir"
    clean_env.setenv("SABOT_SECURITY__HMAC_KEY", "direct")
    with pytest.raises(ConfigError, match="both SABOT_SECURITY__HMAC_KEY and SABOT_SECURITY__HMAC_KEY_FILE"):
        load_settings()
    clean_env.delenv("SABOT_SECURITY__HMAC_KEY")
    clean_env.setenv("SABOT_SECURITY__HMAC_KEY_FILE", str(tmp_path / "missing"))
    with pytest.raises(ConfigError, match="does not exist"):
        load_settings()


def test_version(tmp_path):
    done = sabot(tmp_path, "--version")
    assert done.returncode == 0
    assert done.stdout.strip().startswith("sabot ") and done.stdout.count("\n") == 1


def test_the_shipped_config_file_is_accepted(monkeypatch):
    monkeypatch.chdir(Path(__file__).resolve().parents[1])
    monkeypatch.delenv("SABOT_CONFIG", raising=False)
    load_settings()

"""The deployment kit: compose.yaml is a valid Compose file (the Compose specification's JSON
schema; `docker compose config` too where Docker is installed), the Dockerfile builds a slim,
non-root image with a health check, the systemd unit is complete, and every SABOT_ variable they
name is a real setting."""

from __future__ import annotations

import configparser
import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from bot.config import OTHER_VARIABLES, setting_variables

ROOT = Path(__file__).resolve().parents[1]
COMPOSE = ROOT / "compose.yaml"
DOCKERFILE = ROOT / "Dockerfile"
UNIT = ROOT / "deploy" / "sabot.service"


def compose() -> dict:
    return yaml.safe_load(COMPOSE.read_text())


def test_compose_file_matches_the_compose_specification():
    try:
        from importlib.resources import files

        import jsonschema
        schema_file = files("check_jsonschema") / "builtin_schemas" / "vendor" / "compose-spec.json"
        schema = json.loads(schema_file.read_text())
    except (ImportError, FileNotFoundError) as exc:
        pytest.skip(f"the Compose schema comes with check-jsonschema (the dev extra), not installed: {exc}")
    data = compose()
    jsonschema.validate(data, schema)
    # and a mistake is caught, so the check checks something
    broken = dict(data, services={"bot": {"image": "x", "restart": 5, "no_such_key": True}})
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(broken, schema)


def test_docker_compose_config_accepts_it(tmp_path):
    docker = shutil.which("docker")
    if docker is None:
        pytest.skip("Docker is not installed here; the schema test above validates compose.yaml")
    probe = subprocess.run([docker, "compose", "version"], capture_output=True, text=True)
    if probe.returncode != 0:
        pytest.skip(f"`docker compose` is not available here ({(probe.stderr or probe.stdout).strip()[:80]}); "
                    "the schema test above validates compose.yaml")
    secrets = ROOT / "secrets"
    created = not secrets.exists()
    secrets.mkdir(exist_ok=True)
    try:
        for name in compose()["secrets"]:
            (secrets / name).touch()
        done = subprocess.run([docker, "compose", "-f", str(COMPOSE), "config", "--quiet"], cwd=ROOT,
                              env={"PATH": "/usr/bin:/bin:/usr/local/bin", "WEBHOOK_URL": "https://bot.example.org/t"},
                              capture_output=True, text=True)
        assert done.returncode == 0, done.stderr
    finally:
        if created:
            shutil.rmtree(secrets)


def test_compose_runs_the_bot_in_webhook_mode_with_postgresql_16():
    data = compose()
    db, bot = data["services"]["db"], data["services"]["bot"]
    assert db["image"] == "postgres:16"
    assert any(volume.startswith("pgdata:") for volume in db["volumes"]) and "pgdata" in data["volumes"]
    assert bot["command"][:2] == ["run", "--webhook-url"] and "--listen" in bot["command"]
    assert bot["depends_on"]["db"]["condition"] == "service_healthy"
    # secrets come as files, never as plain environment values
    assert bot["environment"]["SABOT_SECRETS_DIR"] == "/run/secrets"
    assert not any(re.search(r"KEY$|TOKEN$|SECRET$|URL$", name) for name in bot["environment"])


def _variables(text: str) -> set[str]:
    return set(re.findall(r"\b(SABOT_[A-Z0-9_]+)", text))


@pytest.mark.parametrize("path", [COMPOSE, UNIT, DOCKERFILE], ids=lambda p: p.name)
def test_every_variable_named_is_a_setting(path):
    known = set(setting_variables()) | OTHER_VARIABLES
    text = path.read_text()
    # (compose's own ${SABOT_DATA_KEY_ID:-k1} is interpolated by compose, not read by the bot)
    named = _variables(re.sub(r"\$\{[^}]*\}", "", text))
    assert named and named <= known, named - known


def test_dockerfile_is_slim_non_root_with_a_health_check():
    text = DOCKERFILE.read_text()
    assert re.search(r"^FROM python:3\.1[1-9]-slim\b", text, re.M)
    users = re.findall(r"^USER (\S+)", text, re.M)
    assert users and users[-1] not in ("root", "0")
    assert re.search(r"^HEALTHCHECK .*\n?.*/healthz", text, re.M)
    assert "ENTRYPOINT [\"sabot\"]" in text
    for copied in re.findall(r"^COPY (.+) \S+$", text, re.M):
        for name in copied.split():
            assert (ROOT / name).exists(), name


def test_systemd_unit_is_complete():
    unit = configparser.ConfigParser(strict=False, interpolation=None)
    unit.optionxform = str
    unit.read_string(UNIT.read_text())
    assert set(unit.sections()) == {"Unit", "Service", "Install"}
    service = unit["Service"]
    assert "sabot run --webhook-url" in service["ExecStart"]
    assert service["User"] == "sabot" and service["Restart"] == "on-failure"
    assert unit["Install"]["WantedBy"] == "multi-user.target"
    credentials = re.findall(r"^LoadCredential=([A-Z_]+):", UNIT.read_text(), re.M)
    assert "TELEGRAM_BOT_TOKEN" in credentials and service["Environment"]  # read through SABOT_SECRETS_DIR=%d
    assert "SABOT_SECRETS_DIR=%d" in UNIT.read_text()

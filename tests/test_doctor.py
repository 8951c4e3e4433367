"""`sabot doctor`: one ✓/✗ line per check, a fix on each ✗, exit 1 on any failure, and a pass on
the embedded defaults."""

from __future__ import annotations

import datetime as dt
import ipaddress
import ssl
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from bot.cli import main
from sabot_testing.botapi_server import BotAPIServer
from tests.conftest import environ_without_bot_settings, unused_port


def doctor() -> tuple[int, list[str]]:
    result = CliRunner().invoke(main, ["doctor"])
    assert "Traceback" not in result.output
    return result.exit_code, result.output.splitlines()


def line_of(lines: list[str], name: str) -> str:
    found = [line for line in lines if line[2:].startswith(f"{name}:")]
    assert found, lines
    return found[0]


def test_passes_on_the_embedded_defaults(clean_env, tmp_path):
    code, lines = doctor()
    assert code == 0, lines
    for name in ("config", "database", "keys", "email", "sms", "telegram", "time zones"):
        assert line_of(lines, name).startswith("✓ ")
    assert lines[-1] == "All 7 checks passed."
    assert not (tmp_path / ".sabot").exists()  # the doctor changes nothing


def test_passes_as_a_command_too(tmp_path):
    done = subprocess.run([sys.executable, "-m", "bot.cli", "doctor"], cwd=tmp_path, env=environ_without_bot_settings(),
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr
    assert all(line.startswith("✓ ") for line in done.stdout.splitlines()[:-1])


def test_a_config_mistake_fails(clean_env, tmp_path):
    (tmp_path / "config.yaml").write_text("databse: {}\n")
    code, lines = doctor()
    assert code == 1
    assert lines[0].startswith("✗ config: config.yaml line 1: unknown key databse; did you mean database?")
    assert "fix:" in lines[0]


def test_an_unreachable_database_fails_with_host_and_port(clean_env):
    port = unused_port()
    clean_env.setenv("SABOT_DATABASE__URL", f"postgresql://sabot:pw@127.0.0.1:{port}/sabot")
    code, lines = doctor()
    assert code == 1
    line = line_of(lines, "database")
    assert line.startswith("✗ ") and f"127.0.0.1:{port}" in line and "fix: " in line
    assert lines[-1] == "1 of 7 checks failed."


def test_migrations_must_be_current(clean_env, tmp_path):
    db = tmp_path / "old.db"
    db.write_bytes(b"")
    clean_env.setenv("SABOT_DATABASE__URL", f"sqlite:///{db}")
    code, lines = doctor()
    assert code == 1 and "not migrated" in line_of(lines, "database") and "sabot db upgrade" in line_of(lines, "database")
    assert CliRunner().invoke(main, ["db", "upgrade"]).exit_code == 0
    code, lines = doctor()
    assert code == 0 and "migrations current" in line_of(lines, "database")


def test_a_key_file_others_can_read_fails(clean_env, tmp_path):
    assert CliRunner().invoke(main, ["keys", "status"]).exit_code == 0  # generates the key file
    key_file = tmp_path / ".sabot" / "keys.json"
    code, lines = doctor()
    assert code == 0 and "mode 600" in line_of(lines, "keys")
    key_file.chmod(0o644)
    code, lines = doctor()
    assert code == 1
    assert line_of(lines, "keys").startswith("✗ keys:") and f"fix: chmod 600 {Path('.sabot') / 'keys.json'}" in line_of(lines, "keys")


def test_environment_keys_are_checked_not_shown(clean_env):
    clean_env.setenv("SABOT_SECURITY__DATA_KEY", "bm90LTMyLWJ5dGVz")
    clean_env.setenv("SABOT_SECURITY__HMAC_KEY", "bm90LTMyLWJ5dGVz")
    code, lines = doctor()
    assert code == 1 and "not 32 bytes" in line_of(lines, "keys")
    assert "bm90LTMyLWJ5dGVz" not in "\n".join(lines)


def test_telegram_getme_and_webhook_info(clean_env):
    with BotAPIServer(token="123:GOOD") as api:
        clean_env.setenv("SABOT_TELEGRAM__BASE_URL", api.base_url)
        clean_env.setenv("TELEGRAM_BOT_TOKEN", "123:GOOD")
        code, lines = doctor()
        assert code == 0, lines
        assert line_of(lines, "telegram").startswith("✓ telegram: getMe: @")
        assert line_of(lines, "telegram webhook").startswith("✓ ")
        clean_env.setenv("TELEGRAM_BOT_TOKEN", "123:WRONG")
        code, lines = doctor()
        assert code == 1 and "refused the bot token" in line_of(lines, "telegram")
        assert "123:WRONG" not in "\n".join(lines)


def test_twilio_credentials_through_a_harmless_call(clean_env):
    twilio = pytest.importorskip("sabot_testing.twilio", reason="the Twilio loopback server is not in this checkout")
    with twilio.TwilioServer() as server:
        for key, value in server.settings().items():
            clean_env.setenv(f"SABOT_DELIVERY__SMS__TWILIO__{key.upper()}", str(value))
        clean_env.setenv("SABOT_DELIVERY__SMS__BACKEND", "twilio")
        code, lines = doctor()
        assert code == 0, lines
        assert line_of(lines, "sms").startswith("✓ sms: Twilio account reachable")
        assert not server.messages  # nothing was sent
        clean_env.setenv("SABOT_DELIVERY__SMS__TWILIO__AUTH_TOKEN", "wrong-token")
        code, lines = doctor()
        assert code == 1 and "refused the account SID or auth token" in line_of(lines, "sms")
        assert "wrong-token" not in "\n".join(lines)


def _certificate(folder: Path) -> tuple[Path, Path]:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - dt.timedelta(minutes=5))
            .not_valid_after(now + dt.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    cert_file, key_file = folder / "cert.pem", folder / "key.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_file, key_file


def test_smtp_connects_and_tls_works(clean_env, tmp_path):
    controller_mod = pytest.importorskip("aiosmtpd.controller", reason="aiosmtpd is not installed")
    cert_file, key_file = _certificate(tmp_path)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert_file, key_file)

    class Sink:
        async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's interface
            return "250 OK"

    port = unused_port()
    controller = controller_mod.Controller(Sink(), hostname="127.0.0.1", port=port, tls_context=context)
    controller.start()
    try:
        clean_env.setenv("SABOT_DELIVERY__EMAIL__BACKEND", "smtp")
        clean_env.setenv("SABOT_DELIVERY__EMAIL__SMTP__HOST", "127.0.0.1")
        clean_env.setenv("SABOT_DELIVERY__EMAIL__SMTP__PORT", str(port))
        code, lines = doctor()
        assert code == 1 and "TLS failed" in line_of(lines, "email") and "ca_file" in line_of(lines, "email")
        clean_env.setenv("SABOT_DELIVERY__EMAIL__SMTP__CA_FILE", str(cert_file))
        code, lines = doctor()
        assert code == 0, lines
        assert line_of(lines, "email") == f"✓ email: SMTP 127.0.0.1:{port} answers (STARTTLS)"
    finally:
        controller.stop()
    code, lines = doctor()
    assert code == 1 and f"can't talk to 127.0.0.1:{port}" in line_of(lines, "email")


def test_missing_zone_data_fails(clean_env):
    clean_env.setenv("SABOT_POLICY__HELP_DESK__TIMEZONE", "Mars/Olympus_Mons")
    code, lines = doctor()
    assert code == 1 and "Mars/Olympus_Mons" in line_of(lines, "time zones") and "tzdata" in line_of(lines, "time zones")

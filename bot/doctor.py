"""`sabot doctor`: checks a deployment before it serves anyone, one ✓ or ✗ line per check, each ✗
with its fix. Nothing is changed (no file created, no migration applied, no message sent) and
nothing secret is printed: not a key, a token or a password."""

from __future__ import annotations

import asyncio
import os
import smtplib
import ssl
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

OK, FAIL = "✓", "✗"


@dataclass
class Check:
    name: str
    ok: bool
    detail: str
    fix: str = ""

    def line(self) -> str:
        fix = f" — fix: {self.fix}" if not self.ok and self.fix else ""
        return f"{OK if self.ok else FAIL} {self.name}: {self.detail}{fix}"


def _words(exc: BaseException, secret: str = "") -> str:
    """An error in a few words; a secret (the bot token) is never repeated."""
    text = str(exc).splitlines()[0] if str(exc) else ""
    said = f"{type(exc).__name__}: {text}" if text else type(exc).__name__
    if secret:
        said = said.replace(secret, "…")
    return said[:200]


# -- the database -----------------------------------------------------------------------------


async def check_database(settings) -> Check:
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory
    from sqlalchemy.engine import make_url

    from bot.preflight import database_place, database_problem
    from bot.storage.db import alembic_config, create_engine

    url = settings.database_url
    place = database_place(url)
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:"):
        path = Path(parsed.database)
        if not path.exists():
            folder = next((p for p in [path.parent, *path.parent.parents] if p.exists()), Path("."))
            if not os.access(folder, os.W_OK):
                return Check("database", False, f"{place} does not exist and {folder} is not writable",
                             f"make {folder} writable by this user, or set database.url")
            return Check("database", True, f"{place} does not exist yet; it is created and migrated at first start")
    heads = set(ScriptDirectory.from_config(alembic_config(url)).get_heads())
    engine = create_engine(url)
    try:
        async def current() -> set[str]:
            async with engine.connect() as conn:
                return set(await conn.run_sync(lambda sync: MigrationContext.configure(sync).get_current_heads()))

        at = await asyncio.wait_for(current(), 15)
    except Exception as exc:  # noqa: BLE001 - said in words
        return Check("database", False, f"can't reach {place}: {database_problem(exc)}",
                     "start the database server, or correct database.url (SABOT_DATABASE__URL)")
    finally:
        await engine.dispose()
    if at == heads:
        return Check("database", True, f"{place} reachable; migrations current ({', '.join(sorted(heads))})")
    if not at:
        return Check("database", False, f"{place} reachable but not migrated", "run `sabot db upgrade` (the bot also does it at start)")
    return Check("database", False, f"{place} at migration {', '.join(sorted(at))}, the bot needs {', '.join(sorted(heads))}",
                 "run `sabot db upgrade` with this version of sabot")


# -- keys -------------------------------------------------------------------------------------


def _base64_key(value: str) -> bool:
    import base64
    import binascii

    try:
        return len(base64.b64decode(value, validate=True)) == 32
    except (binascii.Error, ValueError):
        return False


def check_keys(settings) -> Check:
    sec = settings.security
    if sec.data_key or sec.hmac_key:
        missing = [name for name, value in (("SABOT_SECURITY__DATA_KEY", sec.data_key), ("SABOT_SECURITY__HMAC_KEY", sec.hmac_key)) if not value]
        if missing:
            return Check("keys", False, f"only one key comes from the environment ({', '.join(missing)} is missing)",
                         "set both (`sabot keys generate` makes a data key; 32 random bytes in base64 for the HMAC key)")
        bad = [name for name, value in (("data key", sec.data_key), ("HMAC key", sec.hmac_key)) if not _base64_key(value)]
        bad += [f"old data key {kid}" for kid, value in (sec.old_data_keys or {}).items() if not _base64_key(value)]
        if bad:
            return Check("keys", False, f"not 32 bytes of base64: {', '.join(bad)}", "generate keys with `sabot keys generate`")
        return Check("keys", True, f"from the environment (data key {sec.data_key_id or 'env'}, "
                                   f"{len(sec.old_data_keys or {})} old key(s))")
    path = settings.key_file_path
    if not path.exists():
        folder = next((p for p in [path.parent, *path.parent.parents] if p.exists()), Path("."))
        if not os.access(folder, os.W_OK):
            return Check("keys", False, f"no key file at {path}, and {folder} is not writable to create one",
                         "make the folder writable, or pass keys as SABOT_SECURITY__DATA_KEY/_HMAC_KEY (or their _FILE forms)")
        return Check("keys", True, f"no key file yet; {path} is generated at first start (owner only)")
    info = path.stat()
    if info.st_mode & 0o077:
        return Check("keys", False, f"{path} is readable by others (mode {stat.S_IMODE(info.st_mode):o})", f"chmod 600 {path}")
    if hasattr(os, "getuid") and info.st_uid != os.getuid():
        return Check("keys", False, f"{path} belongs to another user (uid {info.st_uid})", f"chown the file to the user running sabot")
    if path.parent.stat().st_mode & 0o002:
        return Check("keys", False, f"{path.parent} is writable by everyone", f"chmod o-w {path.parent}")
    try:
        from bot.crypto import KeyRing

        ring = KeyRing.from_json(path.read_text())
    except Exception as exc:  # noqa: BLE001 - a damaged file
        return Check("keys", False, f"{path} can't be read as a key file ({type(exc).__name__})",
                     "restore it from your backup; without it stored data can't be decrypted")
    return Check("keys", True, f"{path} (mode 600; active data key {ring.active_kid}, {len(ring.data_keys)} in the ring)")


# -- delivery ---------------------------------------------------------------------------------


def _email_settings(settings) -> tuple[str, Any]:
    delivery = settings.delivery
    email = getattr(delivery, "email", None)
    if email is not None:
        return getattr(email, "backend", "outbox"), getattr(email, "smtp", None)
    return getattr(delivery, "backend", "outbox") or "outbox", getattr(delivery, "smtp", None)


def _smtp_handshake(smtp) -> str:
    host, port = smtp.host, int(smtp.port)
    timeout = float(getattr(smtp, "timeout_seconds", 10))
    context = ssl.create_default_context()
    ca_file = getattr(smtp, "ca_file", "")
    if ca_file:
        context.load_verify_locations(cafile=ca_file)
    if port == 465:
        client: smtplib.SMTP = smtplib.SMTP_SSL(host, port, timeout=timeout, context=context)
        tls = "TLS"
    else:
        client = smtplib.SMTP(host, port, timeout=timeout)
        tls = "no TLS"
    try:
        client.ehlo()
        if port != 465 and getattr(smtp, "starttls", True):
            if not client.has_extn("starttls"):
                raise smtplib.SMTPNotSupportedError("the server does not offer STARTTLS")
            client.starttls(context=context)
            client.ehlo()
            tls = "STARTTLS"
        if getattr(smtp, "username", ""):
            client.login(smtp.username, smtp.password)
            tls += ", signed in"
    finally:
        try:
            client.quit()
        except (smtplib.SMTPException, OSError):
            client.close()
    return tls


async def check_email(settings) -> Check:
    backend, smtp = _email_settings(settings)
    if backend != "smtp":
        return Check("email", True, "outbox (emails are kept in the database for `sabot outbox`); SMTP check skipped")
    where = f"{smtp.host}:{smtp.port}"
    try:
        how = await asyncio.to_thread(_smtp_handshake, smtp)
    except smtplib.SMTPAuthenticationError:
        return Check("email", False, f"{where} refused the user name or password",
                     "correct delivery.email.smtp.username and password (SABOT_DELIVERY__EMAIL__SMTP__PASSWORD_FILE)")
    except smtplib.SMTPNotSupportedError as exc:
        return Check("email", False, f"{where}: {exc}", "use port 465 (TLS from the start) or a server offering STARTTLS")
    except ssl.SSLError as exc:
        return Check("email", False, f"{where}: TLS failed ({exc.reason or type(exc).__name__})",
                     "check the server's certificate, or trust its CA with delivery.email.smtp.ca_file")
    except (OSError, smtplib.SMTPException) as exc:
        return Check("email", False, f"can't talk to {where} ({_words(exc)})",
                     "check delivery.email.smtp.host and port, and that this machine may reach them")
    if how == "no TLS":
        return Check("email", False, f"{where} connected without TLS", "set delivery.email.smtp.starttls: true or use port 465")
    return Check("email", True, f"SMTP {where} answers ({how})")


async def check_sms(settings) -> Check:
    sms = getattr(settings.delivery, "sms", None)
    backend = getattr(sms, "backend", "outbox")
    if backend != "twilio":
        return Check("sms", True, "outbox (texts are kept in the database for `sabot outbox`); provider check skipped")
    twilio = getattr(sms, "twilio", None)
    sid, token = getattr(twilio, "account_sid", ""), getattr(twilio, "auth_token", "")
    base = (getattr(twilio, "base_url", "") or "https://api.twilio.com").rstrip("/")
    missing = [name for name, value in (("account_sid", sid), ("auth_token", token),
                                        ("from_number", getattr(twilio, "from_number", ""))) if not value]
    if missing:
        return Check("sms", False, f"Twilio settings missing: {', '.join(missing)}",
                     "set delivery.sms.twilio." + ", ".join(missing) + " (SABOT_DELIVERY__SMS__TWILIO__...)")
    import httpx

    # reading the account is harmless: nothing is sent, nothing is charged
    try:
        async with httpx.AsyncClient(timeout=float(getattr(twilio, "timeout_seconds", 10))) as client:
            answer = await client.get(f"{base}/2010-04-01/Accounts/{sid}.json", auth=(sid, token))
    except httpx.HTTPError as exc:
        return Check("sms", False, f"can't reach Twilio at {base} ({type(exc).__name__})",
                     "check delivery.sms.twilio.base_url and this machine's access to it")
    if answer.status_code in (401, 403, 404):
        return Check("sms", False, f"Twilio refused the account SID or auth token (HTTP {answer.status_code})",
                     "copy both again from the Twilio console (SABOT_DELIVERY__SMS__TWILIO__AUTH_TOKEN_FILE)")
    if answer.status_code != 200:
        return Check("sms", False, f"Twilio answered HTTP {answer.status_code}", "try again later, or check Twilio's status page")
    try:
        status = answer.json().get("status", "active")
    except ValueError:
        status = "active"
    if status != "active":
        return Check("sms", False, f"the Twilio account is {status}", "reactivate the account in the Twilio console")
    return Check("sms", True, f"Twilio account reachable and active (from {getattr(twilio, 'from_number', '')})")


# -- Telegram ---------------------------------------------------------------------------------


async def check_telegram(settings) -> list[Check]:
    token = settings.bot_token
    if not token:
        return [Check("telegram", True, "no bot token set (TELEGRAM_BOT_TOKEN); needed by `sabot run` only, check skipped")]
    import httpx

    base = settings.telegram.base_url
    try:
        async with httpx.AsyncClient(timeout=15) as client:
            me = await client.get(f"{base}{token}/getMe")
            hook = await client.get(f"{base}{token}/getWebhookInfo") if me.status_code == 200 else None
    except httpx.HTTPError as exc:
        return [Check("telegram", False, f"can't reach the Bot API ({type(exc).__name__})",
                      "check telegram.base_url and this machine's access to api.telegram.org")]
    if me.status_code in (401, 404):
        return [Check("telegram", False, "getMe: Telegram refused the bot token",
                      "copy the token again from @BotFather into TELEGRAM_BOT_TOKEN (or TELEGRAM_BOT_TOKEN_FILE)")]
    if me.status_code != 200:
        return [Check("telegram", False, f"getMe answered HTTP {me.status_code}", "try again later")]
    username = (me.json().get("result") or {}).get("username", "?")
    checks = [Check("telegram", True, f"getMe: @{username}")]
    info = (hook.json().get("result") or {}) if hook is not None and hook.status_code == 200 else None
    if info is None:
        checks.append(Check("telegram webhook", False, "getWebhookInfo failed", "try again later"))
    elif not info.get("url"):
        checks.append(Check("telegram webhook", True, "none set (long polling, or `sabot run --webhook-url` sets it at start)"))
    else:
        from urllib.parse import urlsplit

        url = urlsplit(info["url"])
        pending = info.get("pending_update_count", 0)
        error = info.get("last_error_message")
        if error:
            checks.append(Check("telegram webhook", False,
                                f"https://{url.netloc}/… has {pending} update(s) waiting; Telegram's last try failed: {error}",
                                "make the URL reachable from the internet over HTTPS (a valid certificate) and `sabot run --webhook-url` running behind it"))
        else:
            checks.append(Check("telegram webhook", True, f"https://{url.netloc}/… ({pending} update(s) waiting)"))
    return checks


# -- time zones -------------------------------------------------------------------------------


def check_time_zones(settings) -> Check:
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    names = sorted({"America/New_York", settings.policy.help_desk.timezone, settings.policy.firms.timezone})
    missing = []
    for name in names:
        try:
            ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):
            missing.append(name)
    if missing:
        return Check("time zones", False, f"no zone data for {', '.join(missing)}",
                     "pip install tzdata (a dependency of sabot), or correct policy.help_desk.timezone / policy.firms.timezone")
    try:
        from importlib.metadata import version

        source = f"tzdata {version('tzdata')}"
    except Exception:  # noqa: BLE001 - the system's zone data
        source = "the system's zone data"
    return Check("time zones", True, f"{', '.join(names)} ({source})")


# -- all --------------------------------------------------------------------------------------


async def run_checks(load: Callable[[], Any] | None = None) -> list[Check]:
    from bot.config import ConfigError, _config_file, load_settings

    try:
        settings = (load or load_settings)()
    except ConfigError as exc:
        return [Check("config", False, str(exc), "correct the setting named, then run `sabot doctor` again")]
    try:
        source = _config_file()
    except ConfigError:
        source = None
    checks = [Check("config", True, f"{source or 'embedded defaults'} and SABOT_ variables read")]
    checks.append(await check_database(settings))
    checks.append(check_keys(settings))
    checks.append(await check_email(settings))
    checks.append(await check_sms(settings))
    checks.extend(await check_telegram(settings))
    checks.append(check_time_zones(settings))
    return checks

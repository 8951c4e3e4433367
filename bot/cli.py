"""The `sabot` command."""

from __future__ import annotations

import asyncio
import json
import logging
import sys
from pathlib import Path

import click

from bot.config import ConfigError, load_settings
from bot.preflight import StartupError
from domain.i18n import LANGUAGES, using


def _settings():
    # every mistake is one ConfigError line naming the setting, never its value (it may be a key)
    try:
        return load_settings()
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from None


def _run(coro):
    try:
        return asyncio.run(coro)
    except KeyboardInterrupt:
        return None


def _listing(load, empty: str, line) -> None:
    """Print one line per row ``load(services)`` returns, or ``empty`` when there are none."""
    rows = _with_services(load)
    if not rows:
        click.echo(empty)
    for row in rows:
        click.echo(line(row))


def _with_services(work, settings=None):
    """Run ``work(services)`` with the bot's services, closed afterwards."""
    from bot.services import build_services

    from bot.crypto import KeyConfigError

    async def go():
        try:
            services = await build_services(settings or _settings())
        except KeyConfigError as exc:
            raise click.ClickException(str(exc)) from None
        except Exception as exc:
            from bot.preflight import is_connection_error, unreachable

            if is_connection_error(exc):
                raise unreachable((settings or _settings()).database_url, exc) from None
            raise
        try:
            return await work(services)
        finally:
            await services.close()

    return _run(go())


def _refusing(refusal: type[Exception], work):
    """_with_services(work), an operator error of type ``refusal`` said as a command error."""

    async def refused(services):
        try:
            return await work(services)
        except refusal as exc:
            raise click.ClickException(str(exc)) from None

    return _with_services(refused)


def _setup_logging(level: str) -> None:
    from bot.logs import install as install_log_scrubbing

    # every record is cleaned of personal data before any handler sees it (bot/logs.py)
    install_log_scrubbing()
    logging.basicConfig(level=getattr(logging, level.upper(), logging.INFO),
                        format="%(asctime)s %(levelname)s %(process)d %(name)s: %(message)s")
    # the state machine library narrates every transition at INFO; keep it for debugging only
    logging.getLogger("transitions").setLevel(max(logging.WARNING, logging.getLogger().level))
    # and the migration tool its plugin set-up
    logging.getLogger("alembic.runtime.plugins").setLevel(max(logging.WARNING, logging.getLogger().level))


class _Commands(click.Group):
    """The commands, with configuration and start-up mistakes said in one line (no traceback)."""

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except (ConfigError, StartupError) as exc:
            raise click.ClickException(str(exc)) from None


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("sabot")
    except PackageNotFoundError:  # pragma: no cover - run from a checkout without installing
        return "unknown"


@click.group(cls=_Commands)
@click.version_option(_version(), "--version", prog_name="sabot", message="%(prog)s %(version)s")
def main() -> None:
    """sabot: a chat bot that registers tax professionals for a Secure Access account."""


# -- chat / run -------------------------------------------------------------------------------


@main.command()
@click.option("--chat-id", default=1, show_default=True, help="Which local conversation to hold.")
@click.option("--demo/--no-demo", default=None, help="Load the demo people into an empty record store.")
@click.option("--lang", "language", type=click.Choice(sorted(LANGUAGES)), default=None,
              help="The language to speak (the chat keeps it; /language changes it). Default: the chat's own, "
                   "English for a new chat.")
def chat(chat_id: int, demo: bool | None, language: str | None) -> None:
    """Talk to the bot in this terminal (no Telegram token needed)."""
    from bot.engine import Engine
    from bot.services import load_demo_records_if_empty
    from bot.storage.repo import chat_language, set_chat_language
    from bot.terminal import TerminalChat

    async def work(services):
        if demo if demo is not None else services.settings.records.demo_on_empty:
            loaded = await load_demo_records_if_empty(services)
            if loaded and sys.stdin.isatty():
                click.echo(f"(Loaded {loaded} demo people into the empty record store: see bot/data/demo_records.yaml.)")
        if language:
            await set_chat_language(services.sessions, chat_id, language)  # a chat held before: it switches
            spoken = language
        else:
            async with services.sessions() as session:
                spoken = await chat_language(session, chat_id)
        with using(spoken):  # the terminal's own lines, in the chat's language
            await TerminalChat(services, Engine(services), chat_id=chat_id, language=language).run()

    _with_services(work)


@main.command()
@click.option("--log-level", default="INFO", show_default=True)
@click.option("--webhook-url", default=None, help="Public HTTPS URL Telegram should POST updates to (webhook mode).")
@click.option("--listen", default="127.0.0.1", show_default=True, help="Address the webhook server binds to.")
@click.option("--port", default=8443, show_default=True, help="Port the webhook server listens on.")
@click.option("--workers", default=1, show_default=True, type=click.IntRange(1, 64),
              help="Webhook mode: worker processes sharing the port (and the database).")
@click.option("--set-webhook/--no-set-webhook", default=True, help="Register the webhook URL with Telegram at start.")
def run(log_level: str, webhook_url: str | None, listen: str, port: int, workers: int, set_webhook: bool) -> None:
    """Run the Telegram bot: long polling, or a webhook with --webhook-url.

    The token comes from TELEGRAM_BOT_TOKEN. In webhook mode the secret token Telegram echoes back
    is telegram.webhook_secret (SABOT_TELEGRAM__WEBHOOK_SECRET), or a random one for this run.
    """
    _setup_logging(log_level)
    settings = _settings()
    token = settings.bot_token
    if not token:
        raise click.ClickException("No bot token: set TELEGRAM_BOT_TOKEN (from @BotFather) and try again.")
    from bot import serve
    from bot.logs import register_secret

    register_secret(token)  # never in a log line or an error shown
    from bot.preflight import reach_database

    _run(reach_database(settings.database_url))
    try:
        _serve(serve, settings, token, webhook_url, listen, port, workers, set_webhook, log_level)
    except serve.StartError as exc:
        raise click.ClickException(str(exc)) from None
    except (click.ClickException, SystemExit, KeyboardInterrupt):
        raise
    except Exception as exc:  # noqa: BLE001 - said without a traceback that could quote the token
        from bot.logs import redact_secrets

        raise click.ClickException(redact_secrets(f"the bot stopped: {type(exc).__name__}: {exc}")) from None


def _serve(serve, settings, token, webhook_url, listen, port, workers, set_webhook, log_level) -> None:
    if webhook_url is None:
        if workers > 1:
            raise click.ClickException("--workers needs webhook mode (--webhook-url): long polling has one reader.")
        _run(serve.polling(settings, token))
        return

    from bot.webhook import new_secret, valid_secret

    secret = settings.telegram.webhook_secret or new_secret()
    if not valid_secret(secret):
        raise click.ClickException("telegram.webhook_secret must be 1-256 characters of A-Z, a-z, 0-9, _ and -.")
    if workers == 1:
        _run(serve.webhook_worker(settings, token, webhook_url, listen, port, secret, set_webhook))
        return
    serve.run_workers(settings, webhook_url, listen, port, secret, workers, set_webhook, log_level)


# -- records ----------------------------------------------------------------------------------


@main.group()
def records() -> None:
    """The embedded record store (the identity authority)."""


@records.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def records_import(file: Path) -> None:
    """Load people from a YAML FILE, replacing anyone stored under the same SSN."""
    from bot.records import RecordsFileError, import_people, read_records_file

    try:
        people = read_records_file(file)
    except RecordsFileError as exc:
        raise click.ClickException(f"{file}: {exc}") from None

    count = _with_services(lambda services: import_people(services.sessions, services.vault, services.clock, people))
    if count is None:
        raise click.ClickException("Interrupted; nothing was imported.")
    click.echo(f"Imported {count} {'person' if count == 1 else 'people'} from {file}.")


# -- outbox -----------------------------------------------------------------------------------


@main.command()
@click.option("--json", "as_json", is_flag=True, help="Print a JSON array (oldest first).")
@click.option("--channel", type=click.Choice(["email", "sms", "mail"]), default=None)
@click.option("--to", "to", default=None, help="Only messages to this address or number.")
def outbox(as_json: bool, channel: str | None, to: str | None) -> None:
    """Every email, text and letter the development delivery backend has sent."""
    async def work(services):
        async with services.sessions() as session:
            return await services.outbox.read(session)

    messages = [m for m in _with_services(work) if (channel is None or m.channel == channel) and (to is None or m.to == to)]
    if as_json:
        click.echo(json.dumps([m.as_json() for m in messages], indent=2, ensure_ascii=False))
        return
    if not messages:
        click.echo("The outbox is empty.")
    for m in messages:
        subject = f" — {m.subject}" if m.subject else ""
        click.echo(f"[{m.sent_at.isoformat()}] {m.channel} to {m.to}{subject}")
        for line in m.body.splitlines():
            click.echo(f"    {line}")


# -- help desk ---------------------------------------------------------------------------------


@main.group()
def exception() -> None:
    """The e-Help Desk assistor's side of exception processing."""


@exception.command("list")
def exception_list() -> None:
    """Cases handed to the help desk (reference, status, dates; no personal data)."""
    from bot.helpdesk import list_cases

    _listing(list_cases, "No cases.", lambda case: (
        f"{case.reference}  {case.status:<13} opened {case.created_at:%Y-%m-%d %H:%M} UTC, "
        f"updated {case.updated_at:%Y-%m-%d %H:%M} UTC, speaks {LANGUAGES.get(case.language or 'en', case.language)}"
    ))


@exception.command("approve")
@click.argument("reference")
def exception_approve(reference: str) -> None:
    """The caller passed: create their account with a temporary password and mail a code."""
    from bot.helpdesk import HelpDeskError, approve

    result = _refusing(HelpDeskError, lambda services: approve(services, reference))
    click.echo(f"Account created for username {result.username}.")
    click.echo(f"Temporary password (read it to the caller; it must be changed at first sign-in): {result.temporary_password}")
    click.echo("An activation code letter has been sent to the address of record.")


@exception.command("refer-tac")
@click.argument("reference")
def exception_refer(reference: str) -> None:
    """The caller could not be verified by phone: refer them to a Taxpayer Assistance Center."""
    from bot.helpdesk import HelpDeskError, refer_to_tac

    _refusing(HelpDeskError, lambda services: refer_to_tac(services, reference))
    click.echo(f"Case {reference} referred to a Taxpayer Assistance Center; the person has been told what to do next.")


# -- letters ------------------------------------------------------------------------------------


@main.group()
def letters() -> None:
    """Postal letters carrying mailed activation codes."""


@letters.command("export")
@click.option("--date", "day", default=None, help="Day the letters were created (YYYY-MM-DD, Eastern). Default: today.")
@click.option("--out", "out", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="CSV file to write (default: standard output).")
@click.option("--pdf", "pdf", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Also write the letters as printable pages to this PDF file.")
def letters_export(day: str | None, out: Path | None, pdf: Path | None) -> None:
    """Export the day's letters for the print vendor (CSV, optionally PDF)."""
    from datetime import date as date_, datetime as datetime_
    from zoneinfo import ZoneInfo

    from bot.letters import letters_for_day, to_csv, to_pdf
    from bot.storage.files import write_private

    try:
        wanted = date_.fromisoformat(day) if day else datetime_.now(ZoneInfo("America/New_York")).date()
    except ValueError:
        raise click.BadParameter("use the form YYYY-MM-DD", param_hint="--date") from None

    found = _with_services(lambda services: letters_for_day(services, wanted))
    text = to_csv(found)
    if out:
        write_private(out, text)  # names and addresses: readable by the operator only
        click.echo(f"Wrote {len(found)} letter(s) for {wanted} to {out}.", err=True)
    else:
        click.echo(text, nl=False)
    if pdf:
        write_private(pdf, to_pdf(found))
        click.echo(f"Wrote the printable letters to {pdf}.", err=True)


# -- database ---------------------------------------------------------------------------------


@main.group()
def db() -> None:
    """Database schema."""


@db.command("upgrade")
def db_upgrade() -> None:
    """Apply every pending migration."""
    from bot.preflight import is_connection_error, reach_database, unreachable
    from bot.serve import migrate

    settings = _settings()
    _run(reach_database(settings.database_url))
    try:
        _run(migrate(settings))
    except Exception as exc:
        if is_connection_error(exc):
            raise unreachable(settings.database_url, exc) from None
        raise
    click.echo("The database schema is up to date.")


@main.command()
def doctor() -> None:
    """Check the configuration, database, keys, delivery, Telegram and time zones; one line each,
    with the fix for each failure. Exits 1 when anything fails. Changes nothing."""
    from bot.doctor import run_checks

    checks = _run(run_checks())
    for check in checks:
        click.echo(check.line())
    failed = [c for c in checks if not c.ok]
    click.echo(f"{len(failed)} of {len(checks)} checks failed." if failed else f"All {len(checks)} checks passed.")
    sys.exit(1 if failed else 0)


# -- keys, retention, audit --------------------------------------------------------------------


@main.group()
def keys() -> None:
    """Encryption keys: rotate the data key and re-encrypt what is stored."""


@keys.command("rotate")
@click.option("--drop-old", is_flag=True, help="Finish a rotation: re-encrypt what is left, then remove old keys from the ring.")
@click.option("--batch-size", type=int, default=None, help="Rows per transaction (default: privacy.rotation_batch_size).")
def keys_rotate(drop_old: bool, batch_size: int | None) -> None:
    """Add a new data key and re-encrypt every stored value with it (old keys stay readable).

    With keys from the environment, set the new SABOT_SECURITY__DATA_KEY/_DATA_KEY_ID first and
    move the previous key into SABOT_SECURITY__OLD_DATA_KEYS; this then re-encrypts with it."""
    from bot.crypto import keys_from_environment
    from bot.keys import RotationError, add_key_to_file, drop_old_keys, reencrypt_all

    settings = _settings()
    env = keys_from_environment(settings)
    if not drop_old and not env:
        ring = add_key_to_file(settings)
        click.echo(f"Added data key {ring.active_kid} to {settings.key_file_path}; it seals everything from now on.")

    async def work(services):
        report = await reencrypt_all(
            services.engine,
            services.vault,
            batch_size=batch_size or settings.privacy.rotation_batch_size,
            progress=lambda table, n: click.echo(f"  {table}: {n} value(s) re-encrypted"),
        )
        dropped = None
        if drop_old:
            try:
                dropped = await drop_old_keys(settings, services.engine, services.vault)
            except RotationError as exc:
                dropped = exc
        return services.vault.ring.active_kid, report, dropped

    active, report, dropped = _with_services(work, settings)
    click.echo(f"Re-encrypted {report.total} value(s) with key {active}.")
    for where, n in sorted(report.unreadable.items()):
        click.echo(f"  {where}: {n} value(s) could not be decrypted with any key in the ring; left as they are.", err=True)
    if isinstance(dropped, Exception):
        raise click.ClickException(f"{dropped}. Restart every running bot, then run `sabot keys rotate --drop-old` again.")
    if dropped is not None:
        if not dropped:
            click.echo("No old keys to drop.")
        elif env:
            click.echo(f"No stored value needs {', '.join(dropped)} any more: remove it from SABOT_SECURITY__OLD_DATA_KEYS.")
        else:
            click.echo(f"Dropped old key(s) {', '.join(dropped)} from {settings.key_file_path}.")
    elif not env:
        click.echo("Restart running bots (they also pick the new key up by themselves), then run `sabot keys rotate --drop-old`.")


@keys.command("status")
def keys_status() -> None:
    """Which key sealed how many stored values."""
    from bot.keys import key_usage

    async def work(services):
        return services.vault.ring, await key_usage(services.engine)

    ring, usage = _with_services(work)
    click.echo(f"Active data key: {ring.active_kid}; keys in the ring: {', '.join(sorted(ring.data_keys))}")
    for kid, n in sorted(usage.items()):
        mark = "" if kid in ring.data_keys else "  (NOT in the ring: unreadable)"
        click.echo(f"  {kid}: {n} value(s){mark}")


@keys.command("generate")
def keys_generate() -> None:
    """Print a new random data key and key id, for operators who keep keys in the environment."""
    from bot.keys import new_data_key

    kid, key = new_data_key()
    click.echo(f"SABOT_SECURITY__DATA_KEY_ID={kid}")
    click.echo(f"SABOT_SECURITY__DATA_KEY={key}")


@main.command()
def purge() -> None:
    """Erase abandoned registrations and everything past its retention period (config: privacy)."""
    from bot.storage.privacy import purge_abandoned

    counts = _with_services(lambda services: purge_abandoned(services))
    for kind, n in counts.items():
        click.echo(f"{kind.replace('_', ' ')}: {n} deleted")


@main.command()
@click.option("--since", default=None, help="Only events from this day or moment on (YYYY-MM-DD or ISO time, UTC).")
@click.option("--account", "account_id", type=int, default=None, help="Only events of this account number.")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON array.")
def audit(since: str | None, account_id: int | None, as_json: bool) -> None:
    """Security events (sign-ins, failures, lockouts, factor changes), oldest first. They hold
    no personal data: the kind of event, when, the account number and the chat."""
    from datetime import datetime as datetime_, timezone

    from bot.storage.repo import security_events

    start = None
    if since:
        try:
            start = datetime_.fromisoformat(since)
        except ValueError:
            raise click.BadParameter("use YYYY-MM-DD or an ISO time", param_hint="--since") from None
        if start.tzinfo is None:
            start = start.replace(tzinfo=timezone.utc)

    events = _with_services(lambda services: security_events(services.sessions, since=start, account_id=account_id))
    if as_json:
        click.echo(json.dumps(
            [{"at": e.at.isoformat(), "event": e.event, "account": e.account_id, "chat": e.chat_id} for e in events], indent=2
        ))
        return
    if not events:
        click.echo("No security events.")
    for e in events:
        account = f"account {e.account_id}" if e.account_id is not None else "no account"
        chat = f"  chat {e.chat_id}" if e.chat_id is not None else ""
        click.echo(f"{e.at:%Y-%m-%d %H:%M:%S} UTC  {e.event:<32} {account}{chat}")


# -- firms ------------------------------------------------------------------------------------


@main.group()
def firm() -> None:
    """Tax firms whose admins invite and follow new hires in the chat."""


@firm.command("create")
@click.argument("name")
@click.option("--admin", "admin", type=int, required=True, metavar="TELEGRAM_USER_ID",
              help="The firm's first admin (they can see their id by sending /myid to the bot).")
def firm_create(name: str, admin: int) -> None:
    """Create a firm called NAME with its first admin."""
    from bot.firms import FirmError, create_firm

    created = _refusing(FirmError, lambda services: create_firm(services, name, admin))
    click.echo(f"Created firm {created.id}: {created.name}, with admin {admin}. They can now send /team and /invite to the bot.")


@firm.command("list")
def firm_list() -> None:
    """Every firm: its admins and how many hires it has (no hire's details)."""
    from bot.firms import list_firms

    _listing(list_firms, "No firms yet. Create one with `sabot firm create NAME --admin TELEGRAM_USER_ID`.", lambda f: (
        f"{f.id}  {f.name}  admins: {', '.join(str(a) for a in f.admins) or 'none'}  "
        f"hires: {f.hires} ({f.done} done)  created {f.created_at:%Y-%m-%d}"
    ))





def _add_tool_commands() -> None:
    from bot.cli_tools import bench, diagram, script

    for command in (script, diagram, bench):
        main.add_command(command)


_add_tool_commands()


if __name__ == "__main__":  # pragma: no cover
    main()

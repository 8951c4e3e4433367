"""Running the Telegram bot (`sabot run`): long polling, one webhook worker, or several webhook
worker processes sharing a port. Each runs until SIGINT or SIGTERM, then stops cleanly."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import subprocess
import sys
from urllib.parse import urlsplit

log = logging.getLogger("sabot")


class StartError(Exception):
    """The bot can't start, with the reason in words for the operator (never the token)."""


@contextlib.asynccontextmanager
async def _starting(settings):
    """Telegram's refusals at start said in words, with no token in them (PTB's own message
    for a refused token quotes it)."""
    from telegram.error import InvalidToken, NetworkError, TelegramError

    from bot.logs import redact_secrets

    try:
        yield
    except InvalidToken:
        raise StartError("Telegram refused the bot token: check TELEGRAM_BOT_TOKEN.") from None
    except NetworkError as exc:
        raise StartError(redact_secrets(f"Can't reach the Bot API at {settings.telegram.base_url} ({exc}).")) from None
    except TelegramError as exc:
        raise StartError(redact_secrets(f"Telegram refused to start the bot ({type(exc).__name__}: {exc}).")) from None


def stop_event() -> asyncio.Event:
    """An event set by SIGINT or SIGTERM."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        try:
            loop.add_signal_handler(sig, stop.set)
        except NotImplementedError:  # pragma: no cover - not on this platform
            pass
    return stop


@contextlib.asynccontextmanager
async def _bot(settings, token: str):
    """The services and the Telegram application around one engine, closed on the way out."""
    from bot.engine import Engine
    from bot.services import build_services
    from bot.telegram_adapter import build_application

    services = await build_services(settings)
    engine = Engine(services)
    try:
        application = build_application(token=token, engine=engine, base_url=settings.telegram.base_url, rate_limit=True)
        application.bot_data["services"] = services
        yield application
    finally:
        try:
            await engine.close()
        finally:
            await services.close()


def _ticking(application, settings) -> asyncio.Task:
    """Every telegram.tick_seconds: reminders, notices, and stored replies left unsent."""
    telegram = settings.telegram
    return asyncio.create_task(application.bot_data["adapter"].run_ticks(
        application.bot, telegram.tick_seconds, resend_after=telegram.resend_after_seconds))


async def show_menus(application) -> None:
    """The command menus: the person's for everyone, and the admin's in each firm admin's chat."""
    from bot.telegram_app import admin_chats, set_command_menus

    try:
        chats = await admin_chats(application.bot_data["services"].sessions)
        await set_command_menus(application.bot, chats)
    except Exception as exc:  # noqa: BLE001 - the bot runs without its menus all the same
        log.error("command menus not set (%s)", type(exc).__name__)


def _showing_menus(application) -> asyncio.Task:
    """The menus are set beside the start, not before it: a firm with many admins is many calls."""
    return asyncio.create_task(show_menus(application))


async def _send_unsent(application) -> None:
    """What a crashed process stored and never sent goes out first."""
    try:
        await application.bot_data["adapter"].resend(application.bot, older_than=0)
    except Exception as exc:  # noqa: BLE001 - the ticks try again
        log.error("stored replies not sent at start (%s)", type(exc).__name__)


async def polling(settings, token: str) -> None:
    from bot.runtime import settle_after_start

    async with _bot(settings, token) as application:
        stop = stop_event()
        async with _starting(settings):
            await application.initialize()
        settings.telegram.bot_username = application.bot.username  # for invitation links
        try:
            await application.start()
            settle_after_start()
            menus = _showing_menus(application)
            await _send_unsent(application)
            poller = asyncio.create_task(poll(application, stop))
            ticker = _ticking(application, settings)
            log.info("bot is running (long polling); press Ctrl-C to stop")
            await stop.wait()
            ticker.cancel()
            menus.cancel()
            await poller
            await application.stop()
        finally:
            await application.shutdown()


async def poll(application, stop: asyncio.Event, *, timeout: int = 10) -> None:
    """Long polling that confirms an update to Telegram only once it is handled (its answer and
    replies committed), so an update a crash interrupted comes again to the next process.

    Telegram confirms every update below the offset of the next getUpdates, so the updates of one
    batch are handled together (each chat's in order, different chats at once) and the next batch
    is asked for once they are all done."""
    from telegram.error import Conflict, InvalidToken, NetworkError, TimedOut

    from bot.telegram_app import ALLOWED_UPDATES

    bot = application.bot
    try:
        await bot.delete_webhook(drop_pending_updates=False)
    except NetworkError as exc:
        log.warning("deleteWebhook failed (%s)", type(exc).__name__)
    offset: int | None = None
    pause = 0.0
    while not stop.is_set():
        getting = asyncio.ensure_future(
            bot.get_updates(offset=offset, timeout=timeout, allowed_updates=list(ALLOWED_UPDATES),
                            read_timeout=timeout + 10))
        stopping = asyncio.ensure_future(stop.wait())
        await asyncio.wait({getting, stopping}, return_when=asyncio.FIRST_COMPLETED)
        stopping.cancel()
        if not getting.done():
            getting.cancel()
            break
        try:
            updates = getting.result()
            pause = 0.0
        except InvalidToken:
            log.error("Telegram refused the bot token; polling stopped")
            stop.set()
            break
        except (Conflict, TimedOut, NetworkError) as exc:
            pause = min(30.0, pause * 2 or 1.0)
            log.warning("getUpdates failed (%s); trying again in %.0fs", type(exc).__name__, pause)
            await asyncio.sleep(pause)
            continue
        if not updates:
            continue
        await asyncio.gather(*(_in_order(application, chat) for chat in _by_chat(updates)))
        offset = updates[-1].update_id + 1
    if offset is not None:
        # confirm the last batch before going
        with contextlib.suppress(Exception):
            await bot.get_updates(offset=offset, timeout=0, limit=1)


def _by_chat(updates) -> list[list]:
    chats: dict = {}
    for update in updates:
        chat = update.effective_chat
        chats.setdefault(chat.id if chat is not None else None, []).append(update)
    return list(chats.values())


async def _in_order(application, updates) -> None:
    for update in updates:
        await application.process_update(update)


async def webhook_worker(settings, token, webhook_url, listen, port, secret, set_webhook, *, tick: bool = True) -> None:
    from bot.runtime import settle_after_start
    from bot.telegram_app import ALLOWED_UPDATES
    from bot.webhook import listen as bind, make_server

    async with _bot(settings, token) as application:
        stop = stop_event()
        server = make_server(application, path=urlsplit(webhook_url).path or "/", secret=secret)
        async with _starting(settings):
            await application.initialize()
        async with application:
            settings.telegram.bot_username = application.bot.username  # for invitation links
            await application.start()
            if set_webhook:
                async with _starting(settings):
                    await application.bot.set_webhook(webhook_url, secret_token=secret, drop_pending_updates=False,
                                                      allowed_updates=list(ALLOWED_UPDATES))
            settle_after_start()
            # the worker that sets the webhook sets the menus (once, not once per worker)
            menus = _showing_menus(application) if set_webhook else None
            await _send_unsent(application)
            bind(server, host=listen, port=port)
            ticker = _ticking(application, settings) if tick else None
            log.info("webhook worker listening on %s:%s", listen, port)
            await stop.wait()
            server.stop()
            if menus:
                menus.cancel()
            if ticker:
                ticker.cancel()
            await application.stop()


async def migrate(settings) -> None:
    from bot.storage.db import create_engine, upgrade

    engine = create_engine(settings.database_url)
    try:
        await upgrade(engine)
    finally:
        await engine.dispose()


def run_workers(settings, webhook_url, listen, port, secret, workers, set_webhook, log_level) -> None:
    """Start N worker processes on one port (SO_REUSEPORT); forward signals; wait for them."""
    try:
        asyncio.run(migrate(settings))  # once, before the workers race to do it
    except KeyboardInterrupt:
        pass
    env = dict(os.environ, SABOT_TELEGRAM__WEBHOOK_SECRET=secret)
    children = []
    for index in range(workers):
        args = [sys.executable, "-m", "bot.cli", "run", "--log-level", log_level, "--webhook-url", webhook_url,
                "--listen", listen, "--port", str(port), "--workers", "1"]
        # only the first worker registers the webhook
        if index > 0 or not set_webhook:
            args.append("--no-set-webhook")
        children.append(subprocess.Popen(args, env=env))

    def forward(signum, _frame):
        for child in children:
            if child.poll() is None:
                child.send_signal(signum)

    signal.signal(signal.SIGTERM, forward)
    signal.signal(signal.SIGINT, forward)
    codes = [child.wait() for child in children]
    if any(codes):
        raise SystemExit(max(codes))

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
    """The bot can't start, with the reason in words for the operator."""


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
    try:
        yield build_application(token=token, engine=Engine(services), base_url=settings.telegram.base_url)
    finally:
        await services.close()


def _ticking(application, settings) -> asyncio.Task:
    """Reminders and notices, sent every telegram.tick_seconds."""
    return asyncio.create_task(application.bot_data["adapter"].run_ticks(application.bot, settings.telegram.tick_seconds))


async def polling(settings, token: str) -> None:
    from telegram.error import InvalidToken, NetworkError

    from bot.runtime import settle_after_start

    async with _bot(settings, token) as application:
        stop = stop_event()
        try:
            await application.initialize()
        except InvalidToken:
            raise StartError("Telegram refused the bot token: check TELEGRAM_BOT_TOKEN.") from None
        except NetworkError as exc:
            raise StartError(f"Can't reach the Bot API at {settings.telegram.base_url} ({exc}).") from None
        settings.telegram.bot_username = application.bot.username  # for invitation links
        try:
            await application.start()
            settle_after_start()
            await application.updater.start_polling(drop_pending_updates=False)
            ticker = _ticking(application, settings)
            log.info("bot is running (long polling); press Ctrl-C to stop")
            await stop.wait()
            ticker.cancel()
            await application.updater.stop()
            await application.stop()
        finally:
            await application.shutdown()


async def webhook_worker(settings, token, webhook_url, listen, port, secret, set_webhook, *, tick: bool = True) -> None:
    from bot.runtime import settle_after_start
    from bot.webhook import listen as bind, make_server

    async with _bot(settings, token) as application:
        stop = stop_event()
        server = make_server(application, path=urlsplit(webhook_url).path or "/", secret=secret)
        async with application:
            settings.telegram.bot_username = application.bot.username  # for invitation links
            await application.start()
            if set_webhook:
                await application.bot.set_webhook(webhook_url, secret_token=secret, drop_pending_updates=False)
            settle_after_start()
            bind(server, host=listen, port=port)
            ticker = _ticking(application, settings) if tick else None
            log.info("webhook worker listening on %s:%s", listen, port)
            await stop.wait()
            server.stop()
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

"""Operator actions the transcripts need that have no command yet (called from `hook:` steps)."""

from __future__ import annotations

from bot.storage.repo import Repo


async def force_password_change(run, username: str) -> dict:
    """What an operator would do after a suspected compromise: the next sign-in must set a new
    password."""
    services = run.runtime.services
    async with services.sessions() as session, session.begin():
        repo = Repo(session, services.vault, services.clock)
        account = await repo.account_by_username(username)
        if account is None:
            raise AssertionError(f"no account {username!r}")
        await repo.update_account(account, must_change_password=True)
    return {"forced": username}


async def restart(run) -> None:
    """The bot process stops and a new one starts on the same database (and the same clock): a
    new engine, Telegram application and Bot API connection, nothing kept in memory. What a chat
    was doing must come back from the database alone."""
    from bot.engine import Engine
    from bot.services import build_services, load_demo_records_if_empty
    from bot.telegram_adapter import RetryPolicy, build_application
    from bot.testing.telegram import FAKE_TOKEN, FakeBotAPI

    runtime = run.runtime
    for client in reversed(list(runtime.clients.values())):
        await client.stop()
    runtime.clients = {}
    await runtime.engine.close()
    await runtime.services.close()

    async def no_sleep(_seconds: float) -> None:
        return None

    services = await build_services(runtime.settings, clock=runtime.clock)
    await load_demo_records_if_empty(services)
    engine = Engine(services)
    api = FakeBotAPI()
    runtime.services, runtime.engine, runtime.api = services, engine, api
    runtime.app = build_application(token=FAKE_TOKEN, engine=engine, request=api, retry_policy=RetryPolicy(sleep=no_sleep))


async def count_deliveries(run, channel: str, count: int, to: str = "") -> None:
    """Everything the bot has sent by ``channel`` (email, sms, mail) so far, to ``to`` when given
    (part of the address or envelope), is exactly ``count`` messages."""
    sent = [m for m in await run.runtime.outbox() if m.channel == channel and to in m.to]
    if len(sent) != int(count):
        raise AssertionError(f"expected {count} {channel} deliveries{' to ' + to if to else ''}, found {len(sent)}")


def photos_protected(run) -> None:
    """The last reply has a photo, and every photo in it is sent protected (``protected: true``
    only says that some message of the reply is)."""
    photos = [m for m in (run.last.messages if run.last else []) if m.photo]
    if not photos:
        raise AssertionError("expected a photo in the last reply, there was none")
    if not all(m.protect_content for m in photos):
        raise AssertionError("a photo in the last reply was sent without protect_content")

"""The named limiters: attempts are counted under the same keys as stored attempts, with the
limits of their config entry."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from types import SimpleNamespace

from bot.config import load_settings
from flows.common import CONFIRMATION
from flows.limits import AUTHENTICATOR, FINANCIAL, IDENTITY, SIGN_IN


class Attempts:
    """Stored attempts: key -> times."""

    def __init__(self):
        self.rows: dict[str, list[datetime]] = {}
        self.now = datetime(2026, 3, 2, 15, tzinfo=timezone.utc)

    async def count_attempts(self, key, window):
        times = [t for t in self.rows.get(key, []) if t > self.now - window]
        return len(times), min(times) if times else None

    async def add_attempt(self, key):
        self.rows.setdefault(key, []).append(self.now)


def ctx_for(**policy):
    settings = load_settings(policy=policy)
    return SimpleNamespace(services=SimpleNamespace(settings=settings), policy=settings.policy, repo=Attempts())


def test_keys_keep_their_stored_form():
    assert IDENTITY.key("h") == "identity:h"
    assert FINANCIAL.key("h") == "financial:h"
    assert SIGN_IN.key("jrivera85") == "signin:jrivera85"
    assert AUTHENTICATOR.key(7) == "totp:7"
    assert CONFIRMATION.sends.key("d") == "send:confirmation:d"


async def test_the_limit_and_window_come_from_config():
    ctx = ctx_for(identity={"max_attempts": 2, "window_hours": 1})
    first = await IDENTITY.allowance(ctx, "h")
    assert (first.remaining, first.retry_at) == (2, None)
    await first.hit(ctx)
    await IDENTITY.hit(ctx, "h")
    assert await IDENTITY.remaining(ctx, "h") == 0
    assert await IDENTITY.retry_at(ctx, "h") == ctx.repo.now + timedelta(hours=1)
    assert (await FINANCIAL.allowance(ctx, "h")).remaining == 5  # counted apart

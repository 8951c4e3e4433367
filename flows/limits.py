"""Attempt limits: how many identity, financial, sign-in and code checks are allowed, and when
the next one is once they are used up.

Each :class:`Limiter` is named after the config entry that governs it (``policy.identity``,
``policy.financial``, ``policy.sign_in``...), builds the key its attempts are counted under, and
answers with an :class:`Allowance`: the attempts remaining and, when none are, the time the
oldest counted attempt leaves the window.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Callable

from flows.core import Ctx

#: (max attempts, window) read from the policy when the limit is checked
Rule = Callable[[Ctx], tuple[int, timedelta]]


@dataclass(frozen=True)
class Allowance:
    """What a limiter allows for one key right now."""

    limiter: "Limiter"
    key: str
    remaining: int
    #: when another attempt is allowed; None while attempts remain
    retry_at: datetime | None

    @property
    def blocked(self) -> bool:
        return self.retry_at is not None

    async def hit(self, ctx: Ctx) -> None:
        """Count one attempt (a failed check, or a code sent)."""
        await ctx.repo.add_attempt(self.key)


@dataclass(frozen=True)
class Limiter:
    """Attempts counted under ``prefix:<subject>`` within a rolling window."""

    prefix: str
    rule: Rule

    def key(self, subject: object) -> str:
        return f"{self.prefix}:{subject}"

    async def allowance(self, ctx: Ctx, subject: object) -> Allowance:
        """How many attempts remain for ``subject``, and (when none) when the next is allowed."""
        max_attempts, window = self.rule(ctx)
        key = self.key(subject)
        used, oldest = await ctx.repo.count_attempts(key, window)
        remaining = max_attempts - used
        if remaining <= 0 and oldest is not None:
            return Allowance(self, key, 0, oldest + window)
        return Allowance(self, key, remaining, None)

    async def remaining(self, ctx: Ctx, subject: object) -> int:
        return (await self.allowance(ctx, subject)).remaining

    async def retry_at(self, ctx: Ctx, subject: object) -> datetime | None:
        return (await self.allowance(ctx, subject)).retry_at

    async def hit(self, ctx: Ctx, subject: object) -> None:
        await ctx.repo.add_attempt(self.key(subject))


def _hours(entry: str) -> Rule:
    def rule(ctx: Ctx) -> tuple[int, timedelta]:
        policy = getattr(ctx.policy, entry)
        return policy.max_attempts, timedelta(hours=policy.window_hours)

    return rule


def _sign_in(ctx: Ctx) -> tuple[int, timedelta]:
    policy = ctx.policy.sign_in
    return policy.max_attempts, timedelta(minutes=policy.lockout_minutes)


#: identity checks (SSN, name, date of birth, filing status, address) per SSN: policy.identity
IDENTITY = Limiter("identity", _hours("identity"))
#: financial account checks per person: policy.financial
FINANCIAL = Limiter("financial", _hours("financial"))
#: wrong passwords per username (sign-in, and the current password in the profile): policy.sign_in
SIGN_IN = Limiter("signin", _sign_in)
#: wrong authenticator codes per account: policy.sign_in
AUTHENTICATOR = Limiter("totp", _sign_in)


def code_sends(purpose: str, policy_of: Callable[[Ctx], object]) -> Limiter:
    """New codes of one kind sent to one destination: the code policy's resend limit and window."""

    def rule(ctx: Ctx) -> tuple[int, timedelta]:
        policy = policy_of(ctx)
        return policy.resend_limit, timedelta(minutes=policy.resend_window_minutes)

    return Limiter(f"send:{purpose}", rule)

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


def _hours(entry: str, field: str = "max_attempts") -> Rule:
    def rule(ctx: Ctx) -> tuple[int, timedelta]:
        policy = getattr(ctx.policy, entry)
        return getattr(policy, field), timedelta(hours=policy.window_hours)

    return rule


def _sign_in(field: str = "max_attempts") -> Rule:
    def rule(ctx: Ctx) -> tuple[int, timedelta]:
        policy = ctx.policy.sign_in
        return getattr(policy, field), timedelta(minutes=policy.lockout_minutes)

    return rule


def _identity_ceiling(ctx: Ctx) -> tuple[int, timedelta]:
    return ctx.policy.identity.global_hourly_ceiling, timedelta(hours=1)


def user_id(ctx: Ctx) -> int:
    """The Telegram user behind this update (a chat with no users, the terminal: its chat)."""
    incoming = ctx.incoming
    if incoming is not None and incoming.user_id is not None:
        return incoming.user_id
    return ctx.chat_id


#: failed identity checks (SSN, name, date of birth, filing status, address) per SSN: policy.identity
IDENTITY = Limiter("identity", _hours("identity"))
#: failed identity checks per chat, whatever SSN is tried: policy.identity.chat_max_attempts
IDENTITY_CHAT = Limiter("identity-chat", _hours("identity", "chat_max_attempts"))
#: failed identity checks per Telegram user, in any chat: policy.identity.user_max_attempts
IDENTITY_USER = Limiter("identity-user", _hours("identity", "user_max_attempts"))
#: identity checks of any outcome, deployment-wide, per hour: policy.identity.global_hourly_ceiling
IDENTITY_ALL = Limiter("identity-all", _identity_ceiling)
#: financial account checks per person: policy.financial
FINANCIAL = Limiter("financial", _hours("financial"))
#: wrong passwords per account (a keyed hash of the username) and Telegram user (sign-in, and the
#: current password in the profile): policy.sign_in.max_attempts
SIGN_IN = Limiter("signin", _sign_in())
#: wrong passwords per account from everyone: policy.sign_in.account_max_attempts
SIGN_IN_ACCOUNT = Limiter("signin-all", _sign_in("account_max_attempts"))
#: wrong authenticator codes per account and Telegram user: policy.sign_in
AUTHENTICATOR = Limiter("totp", _sign_in())


def code_sends(purpose: str, policy_of: Callable[[Ctx], object]) -> Limiter:
    """New codes of one kind sent to one destination by one Telegram user: the code policy's
    resend limit and window."""

    def rule(ctx: Ctx) -> tuple[int, timedelta]:
        policy = policy_of(ctx)
        return policy.resend_limit, timedelta(minutes=policy.resend_window_minutes)

    return Limiter(f"send:{purpose}", rule)


def destination_sends(purpose: str, policy_of: Callable[[Ctx], object]) -> Limiter:
    """New codes of one kind sent to one destination by everyone together."""

    def rule(ctx: Ctx) -> tuple[int, timedelta]:
        policy = policy_of(ctx)
        return policy.destination_resend_limit, timedelta(minutes=policy.resend_window_minutes)

    return Limiter(f"send-all:{purpose}", rule)


@dataclass(frozen=True)
class Budget:
    """Several allowances that must all have attempts left: the smallest remaining is the one a
    person is told about, and the latest time a used-up one frees is when the next is allowed."""

    allowances: tuple[Allowance, ...]

    @property
    def remaining(self) -> int:
        return min(a.remaining for a in self.allowances)

    @property
    def blocking(self) -> tuple[Allowance, ...]:
        return tuple(a for a in self.allowances if a.blocked)

    @property
    def retry_at(self) -> datetime | None:
        times = [a.retry_at for a in self.blocking if a.retry_at is not None]
        return max(times) if times else None

    @property
    def blocked(self) -> bool:
        return bool(self.blocking)

    def blocked_by(self, limiter: Limiter) -> bool:
        return any(a.limiter.prefix == limiter.prefix for a in self.blocking)

    async def hit(self, ctx: Ctx) -> None:
        for allowance in self.allowances:
            await allowance.hit(ctx)


async def budget(ctx: Ctx, *limits: tuple[Limiter, object]) -> Budget:
    """The allowances of several (limiter, subject) pairs together."""
    return Budget(tuple([await limiter.allowance(ctx, subject) for limiter, subject in limits]))


# -- consecutive failures (NIST SP 800-63B 5.2.2) ------------------------------------------------


@dataclass(frozen=True)
class Streak:
    """Consecutive failures of one kind of secret (``password``, ``security_text``,
    ``authenticator``) for one account, counted across every window and cleared by a success.

    The chat the account was registered in counts apart from everyone else, so strangers who
    run up the count lock themselves out, not the owner in their own chat."""

    factor: str

    def cap(self, ctx: Ctx) -> int:
        return getattr(ctx.policy.sign_in.max_consecutive_failures, self.factor)

    @staticmethod
    def side(ctx: Ctx, account) -> str:
        return "owner" if account.chat_id is not None and account.chat_id == ctx.chat_id else "others"

    def key(self, account_id: int, side: str) -> str:
        return f"streak:{self.factor}:{account_id}:{side}"

    async def locked(self, ctx: Ctx, account) -> bool:
        return await ctx.repo.failure_count(self.key(account.id, self.side(ctx, account))) >= self.cap(ctx)

    async def fail(self, ctx: Ctx, account) -> bool:
        """Count a failure; True when it locks the account (for this side)."""
        count = await ctx.repo.add_failure(self.key(account.id, self.side(ctx, account)))
        if count >= self.cap(ctx):
            await ctx.repo.audit(f"account_locked:{self.factor}", account.id, ctx.chat_id)
            return True
        return False

    async def clear(self, ctx: Ctx, account) -> None:
        await ctx.repo.clear_failures([self.key(account.id, side) for side in ("owner", "others")])


PASSWORD_STREAK = Streak("password")
SECURITY_TEXT_STREAK = Streak("security_text")
AUTHENTICATOR_STREAK = Streak("authenticator")
STREAKS = (PASSWORD_STREAK, SECURITY_TEXT_STREAK, AUTHENTICATOR_STREAK)

"""Activation codes by postal mail: sending a letter within the limits, and its wording."""

from __future__ import annotations

from datetime import timedelta

from domain.addresses import Address
from domain.policies import add_business_days
from domain.validators import Invalid
from flows.common import CodeKind, when
from flows.core import Ctx

PURPOSE = "activation_mail"


class _LetterCodePolicy:
    """The letter policy seen through the code interface (lifetime in minutes, resend limits)."""

    def __init__(self, letters):
        self.digits = letters.code_digits
        self.lifetime_minutes = letters.code_lifetime_days * 24 * 60
        self.max_attempts = letters.max_code_attempts
        self.resend_limit = letters.max_per_window
        self.resend_window_minutes = letters.window_days * 24 * 60


def code_policy(ctx: Ctx):
    return _LetterCodePolicy(ctx.policy.letters)


#: the mailed activation code: its new code comes with a new letter
LETTER_CODE = CodeKind(PURPOSE, "activation code", "mail", code_policy, resend_label="Send me a new letter")


def arrival_window(ctx: Ctx) -> str:
    policy = ctx.policy.letters
    today = ctx.now().date()
    first = add_business_days(today, policy.delivery_business_days_min)
    last = add_business_days(today, policy.delivery_business_days_max)
    return f"between {first:%a, %b} {first.day} and {last:%a, %b} {last.day}"


async def letter_allowed(ctx: Ctx, account_id: int) -> None:
    """Raise Invalid (saying when another is possible) if a letter can't be sent now."""
    policy = ctx.policy.letters
    now = ctx.now()
    latest = await ctx.repo.latest_letter(account_id)
    if latest is not None:
        earliest = latest.created_at + timedelta(hours=policy.min_hours_between)
        if now < earliest:
            raise Invalid(
                f"A letter was sent very recently. Another one can be sent after {when(ctx, earliest)}; "
                "the newest letter's code is the one that works.",
                "letter.too_soon",
            )
    window_start = now - timedelta(days=policy.window_days)
    recent = await ctx.repo.letters_since(account_id, window_start)
    if len(recent) >= policy.max_per_window:
        earliest = recent[0].created_at + timedelta(days=policy.window_days)
        raise Invalid(
            f"You've had the most letters allowed in {policy.window_days} days. Another can be sent after "
            f"{when(ctx, earliest)}.",
            "letter.limit",
        )


async def send_letter(ctx: Ctx, *, account_id: int, username: str, person: dict) -> None:
    """Issue a mailed activation code and post it to the address of record."""
    await letter_allowed(ctx, account_id)
    policy = ctx.policy.letters
    issued = await ctx.repo.issue_code(f"account:{account_id}", PURPOSE, "mail", code_policy(ctx))
    address = Address.from_dict(person["address"])
    name = f"{person['first_name']} {person['last_name']}"
    envelope = [name, *address.postal_lines()]
    expires = issued.expires_at.date()
    body = (
        f"{name}\n"
        + "\n".join(envelope[1:])
        + "\n\n"
        f"Your Secure Access activation code: {issued.code}\n\n"
        f"This code works until {expires:%B} {expires.day}, {expires.year} ({policy.code_lifetime_days} days).\n"
        "To finish registering: open the chat with the registration bot, sign in with your username "
        f"({username}) and password, and type this code when asked. Then add a phone that can receive "
        "texts, or an authenticator app, for the security code needed at every sign-in.\n\n"
        "If you did not ask for this letter, contact the e-Help Desk."
    )
    await ctx.repo.add_letter(
        account_id=account_id,
        address_enc=ctx.vault.encrypt(envelope, context="letter.address"),
        body_enc=ctx.vault.encrypt(body, context="letter.body"),
        code_expires_at=issued.expires_at,
    )
    await ctx.deliver("mail", ", ".join(envelope), body)

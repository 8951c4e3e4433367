"""Activation codes by postal mail: sending a letter within the limits, and its wording."""

from __future__ import annotations

from datetime import timedelta

from domain.addresses import Address
from domain.i18n import N_, _, format_date, ngettext
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
LETTER_CODE = CodeKind(PURPOSE, N_("activation code"), "mail", code_policy, resend_label=N_("Send me a new letter"))


def arrival_dates(ctx: Ctx) -> tuple[str, str]:
    """The first and last day a letter sent now should arrive ("Tue, Mar 3"), in the turn's
    language."""
    policy = ctx.policy.letters
    today = ctx.now().date()
    first = add_business_days(today, policy.delivery_business_days_min)
    last = add_business_days(today, policy.delivery_business_days_max)
    pattern = _("EEE, MMM d")
    return format_date(first, pattern), format_date(last, pattern)


def arrival_window(ctx: Ctx) -> str:
    """When a letter sent now should arrive: "between Tue, Mar 3 and Thu, Mar 5"."""
    first, last = arrival_dates(ctx)
    return _("between {first} and {last}").format(first=first, last=last)


async def letter_allowed(ctx: Ctx, account_id: int) -> None:
    """Raise Invalid (saying when another is possible) if a letter can't be sent now."""
    policy = ctx.policy.letters
    now = ctx.now()
    latest = await ctx.repo.latest_letter(account_id)
    if latest is not None:
        earliest = latest.created_at + timedelta(hours=policy.min_hours_between)
        if now < earliest:
            raise Invalid(
                _(
                    "A letter was sent very recently. Another one can be sent after {time}; "
                    "the newest letter's code is the one that works."
                ).format(time=when(ctx, earliest)),
                "letter.too_soon",
            )
    window_start = now - timedelta(days=policy.window_days)
    recent = await ctx.repo.letters_since(account_id, window_start)
    if len(recent) >= policy.max_per_window:
        earliest = recent[0].created_at + timedelta(days=policy.window_days)
        raise Invalid(
            # English says "days" even for one (as it always has); other languages agree
            ngettext(
                "You've had the most letters allowed in {days} days. Another can be sent after {time}.",
                "You've had the most letters allowed in {days} days. Another can be sent after {time}.",
                policy.window_days,
            ).format(days=policy.window_days, time=when(ctx, earliest)),
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
        + _("Your Secure Access activation code: {code}").format(code=issued.code)
        + "\n\n"
        + ngettext(  # English says "days" even for one (as it always has)
            "This code works until {date} ({days} days).",
            "This code works until {date} ({days} days).",
            policy.code_lifetime_days,
        ).format(date=format_date(expires, _("MMMM d, y")), days=policy.code_lifetime_days)
        + "\n"
        + _(
            "To finish registering: open the chat with the registration bot, sign in with your username "
            "({username}) and password, and type this code when asked. Then add a phone that can receive "
            "texts, or an authenticator app, for the security code needed at every sign-in."
        ).format(username=username)
        + "\n\n"
        + _("If you did not ask for this letter, contact the e-Help Desk.")
    )
    await ctx.repo.add_letter(
        account_id=account_id,
        address_enc=ctx.vault.encrypt(envelope, context="letter.address"),
        body_enc=ctx.vault.encrypt(body, context="letter.body"),
        code_expires_at=issued.expires_at,
    )
    await ctx.deliver("mail", ", ".join(envelope), body)

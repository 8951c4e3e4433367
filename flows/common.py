"""Pieces several flows share: sending and checking one-time codes, limits, friendly times."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable
from datetime import datetime
from zoneinfo import ZoneInfo

from flows.core import Answer, Ctx, delete_secret
from flows.limits import Limiter, budget, code_sends, destination_sends, user_id
from domain.policies import zone_for_address
from domain.ports import DeliveryRefused, TooManyCodes
from domain import validators as v
from domain.validators import Invalid, one_time_code


def user_zone(ctx: Ctx) -> ZoneInfo:
    return ZoneInfo(zone_for_address(ctx.data.get("address")))


def when(ctx: Ctx, moment: datetime) -> str:
    """A time in the user's own zone (guessed from their address), e.g. '3:05 PM CST on Mar 2'."""
    local = moment.astimezone(user_zone(ctx))
    return local.strftime("%-I:%M %p %Z on %b %-d")


_NUMBER_WORDS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven", "twelve")


def spelled(number: int) -> str:
    """A small count in words, as prose writes it ("six"); larger ones in digits."""
    return _NUMBER_WORDS[number] if 0 <= number < len(_NUMBER_WORDS) else str(number)


def with_article(words: str) -> str:
    """"a six-digit", "an eight-digit"."""
    return f"{'an' if words[:1] in 'aei' or words.startswith('8') else 'a'} {words}"


def plural(count: float, unit: str) -> str:
    """A count with its unit, singular for one: "1 minute", "15 minutes", "2 days"."""
    return f"{count:g} {unit}" + ("" if count == 1 else "s")


def lower_first(label: str) -> str:
    """A button's label inside a sentence: its first letter in lower case, unless the first word
    is an abbreviation ("USPS short forms" stays, "Home equity line of credit (HELOC)" becomes
    "home equity line of credit (HELOC)")."""
    first = label.split(" ", 1)[0]
    if len(first) > 1 and first[:2].isupper():
        return label
    return label[:1].lower() + label[1:]


def listed(items: list[str]) -> str:
    """Items as prose lists them: "a, b and c"."""
    if not items:
        return ""
    return ", ".join(items[:-1]) + (" and " if len(items) > 1 else "") + items[-1]


def tries_left(remaining: int) -> str:
    if remaining <= 0 or remaining > 3:
        return ""
    return f" You have {remaining} {'try' if remaining == 1 else 'tries'} left."


@dataclass(frozen=True)
class CodeKind:
    """One kind of code: what it is called, where it goes and which policy governs it."""

    purpose: str  # confirmation | activation_text | security_text | activation_mail
    name: str  # what the user calls it
    channel: str  # email | sms | mail
    policy_of: Callable[[Ctx], object]
    resend_label: str = "Send a new code"

    def policy(self, ctx: Ctx):
        return self.policy_of(ctx)

    def digits(self, ctx: Ctx) -> str:
        """How the code's length reads in prose: "six-digit"."""
        return f"{spelled(self.policy(ctx).digits)}-digit"

    @property
    def sends(self) -> Limiter:
        """New codes of this kind sent to one destination by one Telegram user."""
        return code_sends(self.purpose, self.policy_of)

    @property
    def all_sends(self) -> Limiter:
        """New codes of this kind sent to one destination by everyone together."""
        return destination_sends(self.purpose, self.policy_of)


CONFIRMATION = CodeKind("confirmation", "confirmation code", "email", lambda ctx: ctx.policy.codes.confirmation)
ACTIVATION_TEXT = CodeKind("activation_text", "activation code", "sms", lambda ctx: ctx.policy.codes.activation_text)
SECURITY_TEXT = CodeKind("security_text", "security code", "sms", lambda ctx: ctx.policy.codes.security_text)


def subject(ctx: Ctx) -> str:
    return f"chat:{ctx.chat_id}"


async def send_code(ctx: Ctx, kind: CodeKind, to: str, *, subject_key: str | None = None) -> None:
    """Issue a new code, deliver it, and tell the user. Raises Invalid when resends are used up.

    Sends are counted per conversation, per destination (a keyed hash of the email address or
    phone number) and Telegram user, so starting a new chat doesn't reset the limit, and per
    destination from everyone, with a much higher limit: a stranger asking for codes to someone
    else's address uses up only their own sends, not the owner's."""
    from_repo = ctx.repo
    policy = kind.policy(ctx)
    destination = ctx.vault.digest("destination", to.lower())
    sends = await budget(ctx, (kind.sends, f"{destination}:{user_id(ctx)}"), (kind.all_sends, destination))
    retry_at = sends.retry_at
    if retry_at is not None:
        await ctx.repo.audit(f"code_send_limited:{kind.purpose}", chat_id=ctx.chat_id)
        raise Invalid(
            f"The most {kind.name}s allowed for now have been sent there. You can ask for another after "
            f"{when(ctx, retry_at)}. If a code arrives late, the newest one is the one that works.",
            "code.resend_limit",
        )
    key = subject_key or subject(ctx)
    try:
        issued = await from_repo.issue_code(key, kind.purpose, kind.channel, kind.policy(ctx))
    except TooManyCodes as exc:
        retry_at = exc.retry_at
        await ctx.repo.audit(f"code_send_limited:{kind.purpose}", chat_id=ctx.chat_id)
        raise Invalid(
            f"You've asked for the most {kind.name}s allowed for now. You can ask for another after "
            f"{when(ctx, retry_at)}. If a code arrives late, the newest one is the one that works.",
            "code.resend_limit",
        ) from None
    await sends.hit(ctx)
    ctx.fresh_codes.add((key, kind.purpose))
    minutes = plural(int(policy.lifetime_minutes), "minute")
    if kind.channel == "email":
        await deliver_code(
            ctx,
            kind,
            "email",
            to,
            subject="Your confirmation code",
            body=(
                f"Your confirmation code is {issued.code}.\n\n"
                f"Type it in the chat within {minutes} to confirm this email address. "
                "If you did not start a Secure Access registration, ignore this email."
            ),
        )
        ctx.say(f"I've emailed a {kind.name} to {to}. It works for {minutes}.")
    else:
        await deliver_code(ctx, kind, "sms", to, body=f"Your {kind.name} is {issued.code}. It expires in {minutes}.")
        ctx.say(f"I've texted {with_article(kind.digits(ctx))} {kind.name} to your phone. It works for {minutes}.")


async def deliver_code(ctx: Ctx, kind: CodeKind, channel: str, to: str, body: str, subject: str | None = None) -> None:
    """Deliver a code; a refusal is audited and becomes Invalid saying what to do instead."""
    try:
        await ctx.deliver(channel, to, body=body, subject=subject)
    except DeliveryRefused as refused:
        await ctx.repo.audit(f"delivery_refused:{channel}_{refused.reason}", chat_id=ctx.chat_id)
        raise Invalid(undelivered(ctx, kind, refused), f"delivery.{refused.reason}") from None


def undelivered(ctx: Ctx, kind: CodeKind, refused: DeliveryRefused) -> str:
    """What to tell the person when their code could not be sent, and what they can do next."""
    if refused.channel == "email":
        if refused.recipient:
            return (
                f"The mail server for that address refused the email, so the {kind.name} couldn't be sent. "
                "Please check the address for typos, or use another email address you can open now."
            )
        return "I couldn't send the email just now: the mail service isn't answering. Please try again in a few minutes."
    if not refused.recipient:
        return "I couldn't send the text just now: the text service isn't answering. Please try again in a few minutes."
    if kind.purpose == "security_text":
        return (
            "The phone on your account can't receive texts right now, so I couldn't send the security code. "
            "If you set up an authenticator app, sign in with it instead; otherwise call the e-Help Desk at "
            f"{ctx.policy.help_desk.phone} to change the phone on your account."
        )
    if refused.reason == "invalid_number":
        return (
            f"The text service says that isn't a working phone number, so the {kind.name} couldn't be sent. "
            "Please check the number and type it again, or try another mobile number."
        )
    if refused.reason == "opted_out":
        return (
            "That number has turned our texts off (STOP was sent in reply to one of them). Reply START to that "
            "text to turn them back on and ask for a new code, or try another mobile number."
        )
    return (
        f"That number can't receive texts (it may be a landline or out of service), so the {kind.name} "
        "couldn't be sent. Please try another mobile number that can receive texts."
    )


async def check_code(ctx: Ctx, kind: CodeKind, answer: Answer, *, subject_key: str | None = None, tap: bool = True) -> None:
    """Check a typed code; returns when it is right, raises Invalid with what to do otherwise
    (``tap`` off: without the button to tap, when the prompt after it says so)."""
    policy = kind.policy(ctx)
    typed = one_time_code(answer.text, digits=policy.digits)
    result = await ctx.repo.check_code(subject_key or subject(ctx), kind.purpose, typed, policy)
    if result.result == "ok":
        return
    await ctx.repo.audit(f"code_{result.result}:{kind.purpose}", chat_id=ctx.chat_id)
    if result.result == "wrong":
        raise Invalid(f"That {kind.name} isn't right. Check the digits and type it again.{tries_left(result.remaining)}", "code.wrong")
    if result.result == "expired":
        raise Invalid(f"That {kind.name} has expired." + (f" Tap \"{kind.resend_label}\" and use the new one." if tap else ""), "code.expired")
    if result.result == "locked":
        raise Invalid(
            f"That {kind.name} was entered wrongly too many times, so it no longer works."
            + (f" Tap \"{kind.resend_label}\" for a fresh one." if tap else ""),
            "code.locked",
        )
    raise Invalid(f"There is no {kind.name} waiting for you." + (f" Tap \"{kind.resend_label}\" to get one." if tap else ""), "code.none")


async def code_status_note(ctx: Ctx, kind: CodeKind, *, subject_key: str | None = None) -> str:
    """A line for the prompt when the code waiting is already out of date (coming back later)."""
    key = subject_key or subject(ctx)
    if (key, kind.purpose) in ctx.fresh_codes:
        return ""  # sent a moment ago, in this very step
    if await ctx.repo.code_expired(key, kind.purpose):
        return f"The last {kind.name} I sent is no longer valid. Tap \"{kind.resend_label}\" to get a fresh one.\n\n"
    return ""


# -- passwords ---------------------------------------------------------------------------------


def password_rule(ctx: Ctx) -> str:
    """The length a new password needs, as prompts say it: "at least 8 characters"."""
    return f"at least {ctx.policy.password.min_length} characters"


def account_profile(ctx: Ctx, account) -> dict:
    return ctx.vault.decrypt(account.profile_enc, context="account.profile") or {}


def new_password(ctx: Ctx, typed: str, *, username: str, profile: dict) -> str:
    """A new password checked against the password policy, the username and the person's name."""
    policy = ctx.policy.password
    return v.password(
        typed,
        username=username,
        personal_words=[profile.get("first_name", ""), profile.get("last_name", "")],
        min_length=policy.min_length,
        max_length=policy.max_length,
    )


async def refuse_password_as_phrase(ctx: Ctx, a: Answer, phrase: str, password_hash: str | None) -> None:
    """The site phrase is shown openly at every sign-in, so it must never be the password; a
    password typed here is as secret as at the password step, so it leaves the chat too."""
    if not password_hash or not await ctx.vault.verify_password(password_hash, phrase):
        return
    if a.incoming.message_id is not None:
        ctx.actions.extend(delete_secret(a.incoming, "your password", ctx))
    raise Invalid(
        "That's your password. The site phrase is shown openly each time you sign in, so pick "
        "different words.",
        "phrase.is_password",
    )


def site_phrase_of(ctx: Ctx, a: Answer) -> str:
    """The typed site phrase, checked against the lengths in config (policy.site_phrase)."""
    rule = ctx.policy.site_phrase
    return v.site_phrase(a.text, min_length=rule.min_length, max_length=rule.max_length)


def site_phrase_help(ctx: Ctx) -> str:
    rule = ctx.policy.site_phrase
    return f"Any short phrase you'll recognise, {rule.min_length} to {rule.max_length} characters."

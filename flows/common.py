"""Pieces several flows share: sending and checking one-time codes, limits, friendly times."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable
from datetime import datetime
from zoneinfo import ZoneInfo

from flows.core import Answer, Ctx, delete_secret
from flows.limits import Limiter, budget, code_sends, destination_sends, user_id
from domain.i18n import N_, _, format_datetime, format_number, ngettext
from domain.policies import zone_for_address
from domain.ports import DeliveryRefused, TooManyCodes
from domain import validators as v
from domain.validators import Invalid, one_time_code


def user_zone(ctx: Ctx) -> ZoneInfo:
    return ZoneInfo(zone_for_address(ctx.data.get("address")))


def when(ctx: Ctx, moment: datetime) -> str:
    """A time in the user's own zone (guessed from their address), e.g. '3:05 PM CST on Mar 2'.

    The zone's abbreviation is the one the time zone database gives ("CST", "CET", "ChST"), the
    same in every language, so it goes into the translated Babel pattern as quoted text."""
    local = moment.astimezone(user_zone(ctx))
    zone = (local.strftime("%Z") or "").replace("'", "")
    return format_datetime(local, _("h:mm a '{zone}' 'on' MMM d").format(zone=zone))


_NUMBER_WORDS = (
    N_("zero"),
    N_("one"),
    N_("two"),
    N_("three"),
    N_("four"),
    N_("five"),
    N_("six"),
    N_("seven"),
    N_("eight"),
    N_("nine"),
    N_("ten"),
    N_("eleven"),
    N_("twelve"),
)


def _english_words(number: int) -> str:
    return _NUMBER_WORDS[number] if 0 <= number < len(_NUMBER_WORDS) else str(number)


def spelled(number: int) -> str:
    """A small count in words, as prose writes it ("six"); larger ones in digits."""
    return _(_NUMBER_WORDS[number]) if 0 <= number < len(_NUMBER_WORDS) else str(number)


def digits_phrase(number: int) -> str:
    """How a code's length reads in prose: "six-digit" ("seis dígitos")."""
    return ngettext("{number}-digit", "{number}-digit", number).format(number=spelled(number))


def takes_an(number: int) -> bool:
    """Whether English writes "an" before the count's digit phrase ("an eight-digit")."""
    words = _english_words(number)
    return words[:1] in "aei" or words.startswith("8")


def by_article(number: int, a: str, an: str) -> str:
    """Of two translated sentences that differ only in English's article before the digit phrase
    of ``number`` ("a six-digit code", "an eight-digit code"), the one English uses: other
    languages translate both the same way."""
    return an if takes_an(number) else a


def with_article(words: str) -> str:
    """"a six-digit", "an eight-digit" (English only: a sentence built with it can't be
    translated; write both sentences and pick one with :func:`by_article`)."""
    return f"{'an' if words[:1] in 'aei' or words.startswith('8') else 'a'} {words}"


def _count_for_plural(count: float) -> int:
    """The whole number a plural form is chosen by (a fraction takes the plural)."""
    return int(count) if float(count).is_integer() else 2


def plural(count: float, unit: str) -> str:
    """A count with its unit, singular for one: "1 minute", "15 minutes", "2 days"."""
    n = _count_for_plural(count)
    shown = format_number(count)
    if unit == "minute":
        return ngettext("{count} minute", "{count} minutes", n).format(count=shown)
    if unit == "day":
        return ngettext("{count} day", "{count} days", n).format(count=shown)
    if unit == "second":
        return ngettext("{count} second", "{count} seconds", n).format(count=shown)
    if unit == "hour":
        return ngettext("{count} hour", "{count} hours", n).format(count=shown)
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
    if len(items) == 1:
        return items[0]
    return _("{first} and {last}").format(first=", ".join(items[:-1]), last=items[-1])


def tries_left(remaining: int) -> str:
    """" You have 2 tries left." (with its leading space) when few remain, else ""."""
    if remaining <= 0 or remaining > 3:
        return ""
    return " " + ngettext("You have {count} try left.", "You have {count} tries left.", remaining).format(count=remaining)


@dataclass(frozen=True)
class CodeKind:
    """One kind of code: what it is called, where it goes and which policy governs it."""

    purpose: str  # confirmation | activation_text | security_text | activation_mail
    name: str  # what the user calls it (marked for translation: shown with :meth:`called`)
    channel: str  # email | sms | mail
    policy_of: Callable[[Ctx], object]
    resend_label: str = N_("Send a new code")

    def policy(self, ctx: Ctx):
        return self.policy_of(ctx)

    def called(self) -> str:
        """What the code is called, in the current language: "confirmation code"."""
        return _(self.name)

    def called_plural(self) -> str:
        """Several of them: "confirmation codes"."""
        many = PLURAL_NAMES.get(self.name)
        return _(many) if many else f"{self.name}s"

    def resend(self) -> str:
        """The label of the button for a new code, in the current language."""
        return _(self.resend_label)

    def digit_count(self, ctx: Ctx) -> int:
        return self.policy(ctx).digits

    def digits(self, ctx: Ctx) -> str:
        """How the code's length reads in prose: "six-digit"."""
        return digits_phrase(self.digit_count(ctx))

    @property
    def sends(self) -> Limiter:
        """New codes of this kind sent to one destination by one Telegram user."""
        return code_sends(self.purpose, self.policy_of)

    @property
    def all_sends(self) -> Limiter:
        """New codes of this kind sent to one destination by everyone together."""
        return destination_sends(self.purpose, self.policy_of)


#: the names of the codes, several of them at once
PLURAL_NAMES = {
    "confirmation code": N_("confirmation codes"),
    "activation code": N_("activation codes"),
    "security code": N_("security codes"),
}

CONFIRMATION = CodeKind("confirmation", N_("confirmation code"), "email", lambda ctx: ctx.policy.codes.confirmation)
ACTIVATION_TEXT = CodeKind("activation_text", N_("activation code"), "sms", lambda ctx: ctx.policy.codes.activation_text)
SECURITY_TEXT = CodeKind("security_text", N_("security code"), "sms", lambda ctx: ctx.policy.codes.security_text)


def subject(ctx: Ctx) -> str:
    return f"chat:{ctx.chat_id}"


async def _sends_used_up(ctx: Ctx, kind: CodeKind, retry_at: datetime, *, by_destination: bool) -> Invalid:
    """Audit a send refused because the sends allowed for now are used up (``by_destination``:
    those to the destination; otherwise those of the code's subject) and return the refusal."""
    await ctx.repo.audit(f"code_send_limited:{kind.purpose}", chat_id=ctx.chat_id)
    if by_destination:
        text = _(
            "The most {codes} allowed for now have been sent there. You can ask for another after "
            "{when}. If a code arrives late, the newest one is the one that works."
        )
    else:
        text = _(
            "You've asked for the most {codes} allowed for now. You can ask for another after "
            "{when}. If a code arrives late, the newest one is the one that works."
        )
    return Invalid(text.format(codes=kind.called_plural(), when=when(ctx, retry_at)), "code.resend_limit")


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
        raise await _sends_used_up(ctx, kind, retry_at, by_destination=True)
    key = subject_key or subject(ctx)
    try:
        issued = await from_repo.issue_code(key, kind.purpose, kind.channel, kind.policy(ctx))
    except TooManyCodes as exc:
        raise await _sends_used_up(ctx, kind, exc.retry_at, by_destination=False) from None
    await sends.hit(ctx)
    ctx.fresh_codes.add((key, kind.purpose))
    minutes = plural(int(policy.lifetime_minutes), "minute")
    if kind.channel == "email":
        await deliver_code(
            ctx,
            kind,
            "email",
            to,
            subject=_("Your confirmation code"),
            body=_(
                "Your confirmation code is {code}.\n\n"
                "Type it in the chat within {minutes} to confirm this email address. "
                "If you did not start a Secure Access registration, ignore this email."
            ).format(code=issued.code, minutes=minutes),
        )
        ctx.say(_("I've emailed a {name} to {to}. It works for {minutes}.").format(name=kind.called(), to=to, minutes=minutes))
    else:
        body = _("Your {name} is {code}. It expires in {minutes}.").format(name=kind.called(), code=issued.code, minutes=minutes)
        await deliver_code(ctx, kind, "sms", to, body=body)
        said = by_article(
            kind.digit_count(ctx),
            _("I've texted a {digits} {name} to your phone. It works for {minutes}."),
            _("I've texted an {digits} {name} to your phone. It works for {minutes}."),
        )
        ctx.say(said.format(digits=kind.digits(ctx), name=kind.called(), minutes=minutes))


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
            return _(
                "The mail server for that address refused the email, so the {name} couldn't be sent. "
                "Please check the address for typos, or use another email address you can open now."
            ).format(name=kind.called())
        return _("I couldn't send the email just now: the mail service isn't answering. Please try again in a few minutes.")
    if not refused.recipient:
        return _("I couldn't send the text just now: the text service isn't answering. Please try again in a few minutes.")
    if kind.purpose == "security_text":
        return _(
            "The phone on your account can't receive texts right now, so I couldn't send the security code. "
            "If you set up an authenticator app, sign in with it instead; otherwise call the e-Help Desk at "
            "{phone} to change the phone on your account."
        ).format(phone=ctx.policy.help_desk.phone)
    if refused.reason == "invalid_number":
        return _(
            "The text service says that isn't a working phone number, so the {name} couldn't be sent. "
            "Please check the number and type it again, or try another mobile number."
        ).format(name=kind.called())
    if refused.reason == "opted_out":
        return _(
            "That number has turned our texts off (STOP was sent in reply to one of them). Reply START to that "
            "text to turn them back on and ask for a new code, or try another mobile number."
        )
    return _(
        "That number can't receive texts (it may be a landline or out of service), so the {name} "
        "couldn't be sent. Please try another mobile number that can receive texts."
    ).format(name=kind.called())


async def check_code(ctx: Ctx, kind: CodeKind, answer: Answer, *, subject_key: str | None = None, tap: bool = True) -> None:
    """Check a typed code; returns when it is right, raises Invalid with what to do otherwise
    (``tap`` off: without the button to tap, when the prompt after it says so)."""
    policy = kind.policy(ctx)
    typed = one_time_code(answer.text, digits=policy.digits)
    result = await ctx.repo.check_code(subject_key or subject(ctx), kind.purpose, typed, policy)
    if result.result == "ok":
        return
    await ctx.repo.audit(f"code_{result.result}:{kind.purpose}", chat_id=ctx.chat_id)
    name = kind.called()
    if result.result == "wrong":
        text = _("That {name} isn't right. Check the digits and type it again.").format(name=name)
        raise Invalid(text + tries_left(result.remaining), "code.wrong")
    if result.result == "expired":
        text = _("That {name} has expired.").format(name=name)
        if tap:
            text += " " + _('Tap "{button}" and use the new one.').format(button=kind.resend())
        raise Invalid(text, "code.expired")
    if result.result == "locked":
        text = _("That {name} was entered wrongly too many times, so it no longer works.").format(name=name)
        if tap:
            text += " " + _('Tap "{button}" for a fresh one.').format(button=kind.resend())
        raise Invalid(text, "code.locked")
    text = _("There is no {name} waiting for you.").format(name=name)
    if tap:
        text += " " + _('Tap "{button}" to get one.').format(button=kind.resend())
    raise Invalid(text, "code.none")


async def code_status_note(ctx: Ctx, kind: CodeKind, *, subject_key: str | None = None) -> str:
    """A line for the prompt when the code waiting is already out of date (coming back later)."""
    key = subject_key or subject(ctx)
    if (key, kind.purpose) in ctx.fresh_codes:
        return ""  # sent a moment ago, in this very step
    if await ctx.repo.code_expired(key, kind.purpose):
        note = _('The last {name} I sent is no longer valid. Tap "{button}" to get a fresh one.')
        return note.format(name=kind.called(), button=kind.resend()) + "\n\n"
    return ""


# -- passwords ---------------------------------------------------------------------------------


def password_rule(ctx: Ctx) -> str:
    """The length a new password needs, as prompts say it: "at least 8 characters"."""
    count = ctx.policy.password.min_length
    return ngettext("at least {count} character", "at least {count} characters", count).format(count=count)


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
        min_guesses=policy.min_guesses,
    )


async def refuse_password_as_phrase(ctx: Ctx, a: Answer, phrase: str, password_hash: str | None) -> None:
    """The site phrase is shown openly at every sign-in, so it must never be the password; a
    password typed here is as secret as at the password step, so it leaves the chat too."""
    if not password_hash or not await ctx.vault.verify_password(password_hash, phrase):
        return
    if a.incoming.message_id is not None:
        ctx.actions.extend(delete_secret(a.incoming, _("your password"), ctx))
    raise Invalid(
        _(
            "That's your password. The site phrase is shown openly each time you sign in, so pick "
            "different words."
        ),
        "phrase.is_password",
    )


def site_phrase_of(ctx: Ctx, a: Answer) -> str:
    """The typed site phrase, checked against the lengths in config (policy.site_phrase)."""
    rule = ctx.policy.site_phrase
    return v.site_phrase(a.text, min_length=rule.min_length, max_length=rule.max_length)


def site_phrase_help(ctx: Ctx) -> str:
    rule = ctx.policy.site_phrase
    return _("Any short phrase you'll recognise, {min} to {max} characters.").format(min=rule.min_length, max=rule.max_length)

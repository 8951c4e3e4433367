"""Signing in, and finishing a registration that waits on a mailed code.

username → password → (a new password, when the old one must change) →
  * an account waiting on its letter: the mailed activation code, then a second factor to set up
    (text messages to any phone that takes texts, or an authenticator app);
  * an active account: a security code by text or from the authenticator app.
An existing e-Services user who has no Secure Access account yet is taken to the upgrade: the
financial check and a phone or the mail path (see flows.registration).
"""

from __future__ import annotations

from domain import authenticator
from domain.authenticator import STEP_SECONDS
from domain import validators as v
from domain.i18n import N_, _
from domain.validators import Invalid
from flows.code_entry import code_entry_step
from flows.common import (
    ACTIVATION_TEXT,
    SECURITY_TEXT,
    account_profile,
    new_password as checked_password,
    password_rule,
    refuse_password_as_phrase,
    send_code,
    site_phrase_help,
    site_phrase_of,
    by_article,
    spelled,
    tries_left,
    when,
)
from flows.core import Answer, Ctx, Flow, delete_secret
from flows.letters import LETTER_CODE, arrival_dates, send_letter
from flows.limits import (
    AUTHENTICATOR,
    AUTHENTICATOR_STREAK,
    PASSWORD_STREAK,
    SECURITY_TEXT_STREAK,
    STREAKS,
    user_id,
)
from flows.registration import SITE_IMAGES
from flows.core import Choices
from flows.sign_in_support import (
    APP_CODE_DIGITS,
    _totp_prompt,
    enroll_authenticator,
    locked_text,
    password_tries,
    refuse_if_locked,
)

flow = Flow("login", N_("Sign-in"), initial="login_username")

def account_subject(ctx: Ctx) -> str:
    return f"account:{ctx.data['login_account_id']}"


async def current_account(ctx: Ctx):
    return await ctx.repo.account(ctx.data["login_account_id"])


async def start_session(ctx: Ctx, account) -> None:
    await ctx.repo.audit("signed_in", account.id, ctx.chat_id)
    now = ctx.now().isoformat()
    ctx.data["session"] = {
        "account_id": account.id,
        "username": account.username,
        "site_image": account.site_image,
        "started": now,
        "seen": now,
    }
    ctx.go("home", "signed_in")


# -- conditions for the transitions table ------------------------------------------------------


def must_change(ctx: Ctx) -> bool:
    return bool(ctx.data.get("must_change"))


def waiting_for_letter(ctx: Ctx) -> bool:
    return ctx.data.get("login_status") == "pending_letter"


def has_app(ctx: Ctx) -> bool:
    return bool(ctx.data.get("has_app"))


def has_phone(ctx: Ctx) -> bool:
    return bool(ctx.data.get("has_phone"))


def both_factors(ctx: Ctx) -> bool:
    return has_app(ctx) and has_phone(ctx)


def wants_app(ctx: Ctx) -> bool:
    return ctx.data.get("factor") == "app"


# =============================================================================================


@flow.step(
    "login_username",
    ask=N_("Let's sign you in. What is your username?"),
    help=N_("The username you chose when you registered, or your e-Services username."),
)
async def login_username(ctx: Ctx, a: Answer):
    name = a.text.strip()
    if not name or len(name) > 64:
        raise Invalid(_("Please type your username."), "login.username")
    if not v.could_be_username(name):
        # not a username at all: most likely the password, typed a step early
        ctx.actions.extend(delete_secret(a.incoming, N_("something that may be your password"), ctx))
        raise Invalid(
            _(
                "That can't be a username: usernames start with a letter and use only letters, digits, "
                "periods, underscores and hyphens, with no spaces. Please type your username."
            ),
            "login.not_username",
        )
    ctx.data["login_username"] = name


def _signing_in(ctx: Ctx, account) -> None:
    """Remember the account whose password was right, and what it still needs."""
    ctx.data.update(
        login_account_id=account.id,
        login_status=account.status,
        must_change=bool(account.must_change_password),
        has_phone=bool(account.phone_enc),
        has_app=bool(account.totp_secret_enc),
    )


async def _security_code_for_account(ctx: Ctx, account) -> None:
    """Send the texted security code when text is the only factor (the app needs nothing sent)."""
    if ctx.data.get("has_phone") and not ctx.data.get("has_app"):
        phone = ctx.vault.decrypt(account.phone_enc, context="account.phone")
        await send_code(ctx, SECURITY_TEXT, phone, subject_key=account_subject(ctx))


@flow.step(
    "login_password",
    ask=N_("And your password?"),
    leave=("other_user", N_("That wasn't my username"), "restart"),
    secret=N_("your password"),
    help=N_("Type the password you set when you registered (or the temporary one from the help desk)."),
)
async def login_password(ctx: Ctx, a: Answer):
    username = ctx.data["login_username"]
    account = await ctx.repo.account_by_username(username)
    tries = await password_tries(ctx, username, account)
    retry_at = tries.retry_at
    if retry_at is not None:
        await ctx.repo.audit("sign_in_locked", chat_id=ctx.chat_id)
        raise Invalid(
            _(
                "Too many wrong passwords. Sign-in for this username is paused until {time}. "
                "Meanwhile, make sure you're using the username you registered with."
            ).format(time=when(ctx, retry_at)),
            "login.locked",
        )
    typed = a.incoming.text
    if account is None:
        person = await ctx.records.e_services_sign_in(username, typed)
        if person is not None:
            return await _existing_e_services_user(ctx, username, person)
        await tries.hit(ctx)
        await ctx.repo.audit("sign_in_failed", chat_id=ctx.chat_id)
        raise Invalid(
            _("That username and password don't go together. Check both and try again.") + tries_left(tries.remaining - 1),
            "login.wrong",
        )
    await refuse_if_locked(ctx, account, *STREAKS)
    if not await ctx.vault.verify_password(account.password_hash, typed):
        await tries.hit(ctx)
        await ctx.repo.audit("sign_in_failed", account.id, ctx.chat_id)
        if await PASSWORD_STREAK.fail(ctx, account):
            raise Invalid(locked_text(ctx), "login.account_locked")
        raise Invalid(
            _("That username and password don't go together. Check both and try again.") + tries_left(tries.remaining - 1),
            "login.wrong",
        )
    await PASSWORD_STREAK.clear(ctx, account)
    _signing_in(ctx, account)
    phrase = ctx.vault.decrypt(account.site_phrase_enc, context="account.site_phrase")
    ctx.data["needs_site"] = not phrase or account.site_image not in SITE_IMAGES
    if phrase and account.site_image in SITE_IMAGES:
        ctx.say(
            _(
                "Your site image is {image} and your site phrase "
                "is \"{phrase}\". If those aren't the ones you chose, stop here and send /cancel."
            ).format(image=_(SITE_IMAGES.get(account.site_image, account.site_image)), phrase=phrase),
            protect=True,
        )
    if not must_change(ctx) and account.status == "active":
        await _security_code_for_account(ctx, account)


async def _existing_e_services_user(ctx: Ctx, username: str, ssn_hash: str):
    """An e-Services user new to Secure Access: merge with a personal account, or upgrade."""
    personal = await ctx.repo.account_by_ssn(ssn_hash)
    if personal is not None:
        # Merge: the e-Services username (permanent) replaces the personal one; its password stays.
        old = personal.username
        await ctx.repo.update_account(personal, username=username, username_key=username.lower())
        _signing_in(ctx, personal)
        ctx.say(
            _(
                "You already had a personal Secure Access account ({old}), so the two are now one: you'll "
                "sign in with your e-Services username {username}, and the password stays the one of your "
                "Secure Access account. Use that password from now on."
            ).format(old=old, username=username)
        )
        if personal.status == "active":
            await _security_code_for_account(ctx, personal)
        return "next"
    person = await ctx.records.person_of_record(ssn_hash)
    ctx.say(
        _(
            "Welcome back, {first_name}. Your e-Services account hasn't moved to Secure Access "
            "yet. Your username {username} stays (it's permanent); we'll check a financial account, "
            "confirm a phone (or send a code by mail), and you'll set a new password that meets today's rules."
        ).format(first_name=person["first_name"], username=username)
    )
    ctx.go("registration", "fin_kind", carry={
        "upgrade": True,
        "ssn_hash": ssn_hash,
        "username": username,
        "first_name": person["first_name"],
        "last_name": person["last_name"],
        "address": person["address"],
        "identity_ok": True,
        "e_services": True,
    })


@flow.step(
    "new_password",
    ask=lambda ctx: _(
        "Before going on, please set a new password: {rule}, any characters, spaces "
        "welcome. Common or leaked passwords and ones containing your username or name are refused."
    ).format(rule=password_rule(ctx)),
    secret=N_("your password"),
    help=N_("A temporary or old password must be replaced before you continue."),
)
async def new_password(ctx: Ctx, a: Answer):
    account = await current_account(ctx)
    chosen = checked_password(ctx, a.incoming.text, username=account.username, profile=account_profile(ctx, account))
    if await ctx.vault.verify_password(account.password_hash, chosen):
        raise Invalid(_("That's the password you already have. Please choose a new one."), "password.same")
    await ctx.repo.update_account(
        account,
        password_hash=await ctx.vault.hash_password(chosen),
        must_change_password=False,
        password_changed_at=ctx.now(),
    )
    ctx.data["must_change"] = False
    ctx.say(_("Your new password is set."))
    if needs_site_details(ctx):
        return "site"
    if account.status == "active":
        await _security_code_for_account(ctx, account)


def needs_site_details(ctx: Ctx) -> bool:
    """An account set up by the e-Help Desk: no site phrase or image chosen yet."""
    return bool(ctx.data.get("needs_site"))


@flow.step(
    "set_site_phrase",
    ask=N_(
        "Pick a site phrase: a few words that I'll show you when you sign in, so you know it's "
        "really us. Don't use your password."
    ),
    help=site_phrase_help,
)
async def set_site_phrase(ctx: Ctx, a: Answer):
    phrase = site_phrase_of(ctx, a)
    account = await current_account(ctx)
    await refuse_password_as_phrase(ctx, a, phrase, account.password_hash)
    await ctx.repo.update_account(account, site_phrase_enc=ctx.vault.encrypt(phrase, context="account.site_phrase"))


SITE_IMAGE_CHOICES: Choices = [[(k, label)] for k, label in SITE_IMAGES.items()]


@flow.menu(
    ask=N_("Now choose a site image. It appears with your site phrase when you sign in."),
    choices=SITE_IMAGE_CHOICES,
    help=N_("Pick the picture you'll remember."),
)
async def set_site_image(ctx: Ctx, a: Answer):
    account = await current_account(ctx)
    await ctx.repo.update_account(account, site_image=a.choice)
    ctx.data["needs_site"] = False
    ctx.say(_("Your site phrase and image are set: {image}.").format(image=_(SITE_IMAGES[a.choice])))
    if account.status == "active":
        await _security_code_for_account(ctx, account)


# -- an account waiting on its letter --------------------------------------------------------


async def _new_letter(ctx: Ctx) -> None:
    account = await current_account(ctx)
    person = await ctx.records.person_of_record(account.ssn_hash)
    await send_letter(ctx, account_id=account.id, username=account.username, person=person)
    first, last = arrival_dates(ctx)
    ctx.say(
        _("A new letter is on its way; it should arrive between {first} and {last}. Only its code will work.").format(
            first=first, last=last
        )
    )


async def _letter_accepted(ctx: Ctx) -> None:
    ctx.say(_("Your activation code is accepted."))


def _letter_help(ctx: Ctx) -> str:
    digits = LETTER_CODE.policy(ctx).digits
    text = by_article(
        digits,
        _(
            "The letter holds a {digits}-digit activation code and the date it works until. If it "
            "never came or has run out, ask for a new letter."
        ),
        _(
            "The letter holds an {digits}-digit activation code and the date it works until. If it "
            "never came or has run out, ask for a new letter."
        ),
    )
    return text.format(digits=spelled(digits))


code_entry_step(
    flow,
    "letter_code",
    LETTER_CODE,
    ask=N_("Type the activation code from the letter we mailed you."),
    resend=_new_letter,
    resend_choice=("new_letter", N_("Send me a new letter")),
    on_success=_letter_accepted,
    subject=account_subject,
    help=_letter_help,
)


@flow.menu(
    ask=N_("How would you like to get the security code you'll need at every sign-in?"),
    choices=[[("sms", N_("Text messages to a phone"))], [("app", N_("An authenticator app"))]],
    help=N_(
        "Any U.S. phone that receives texts works now (prepaid, family or work phones too), or an "
        "authenticator app on a phone or tablet."
    ),
)
async def choose_factor(ctx: Ctx, a: Answer):
    ctx.data["factor"] = a.choice


@flow.step(
    "add_phone",
    ask=N_("Which phone should get the texts? Any U.S. number that can receive text messages."),
    secret=N_("your phone number"),
    choices=[[("app", N_("Use an authenticator app instead"))]],
    help=N_("The number just needs to receive texts; it doesn't have to be in your name now."),
)
async def add_phone(ctx: Ctx, a: Answer):
    if a.choice == "app":
        ctx.data["factor"] = "app"
        return "app"
    number = v.us_mobile_number(a.text)
    phone_hash = ctx.vault.digest("phone", number)
    owner = await ctx.repo.phone_owner(phone_hash)
    if owner is not None and owner.id != ctx.data["login_account_id"]:
        raise Invalid(
            _(
                "That number already belongs to another user's account, and one phone serves one user. "
                "Please use a different number."
            ),
            "phone.taken",
        )
    ctx.data["new_phone"] = number
    await send_code(ctx, ACTIVATION_TEXT, number, subject_key=account_subject(ctx))


def _text_code_help(digits: int) -> str:
    text = by_article(
        digits,
        _("The text holds a {digits}-digit code valid for a few minutes."),
        _("The text holds an {digits}-digit code valid for a few minutes."),
    )
    return text.format(digits=spelled(digits))


async def _new_phone_confirmed(ctx: Ctx) -> None:
    account = await current_account(ctx)
    number = ctx.data.pop("new_phone")
    await ctx.repo.update_account(
        account,
        phone_hash=ctx.vault.digest("phone", number),
        phone_enc=ctx.vault.encrypt(number, context="account.phone"),
        status="active",
    )
    ctx.say(_("Your phone is set up and your registration is complete. 🎉 You're signed in."))
    await start_session(ctx, account)


code_entry_step(
    flow,
    "add_phone_code",
    ACTIVATION_TEXT,
    ask=N_("Type the {digits} activation code I just texted to that phone."),
    resend="new_phone",
    change=("change", N_("Use a different number"), "change"),
    on_success=_new_phone_confirmed,
    subject=account_subject,
    note=False,
    help=lambda ctx: _text_code_help(ACTIVATION_TEXT.policy(ctx).digits),
)


@flow.step(
    "totp_setup",
    ask=_totp_prompt,
    choices=[[("show", N_("Show the key again"))]],
    secret=N_("a code"),
    help=lambda ctx: _(
        "Any standard authenticator app works. The code changes every {seconds} seconds, so type the current one."
    ).format(seconds=STEP_SECONDS),
    protect=True,
)
async def totp_setup(ctx: Ctx, a: Answer):
    if a.choice == "show":
        ctx.data.pop("totp_shown", None)
        return "stay"
    account = await current_account(ctx)
    await enroll_authenticator(
        ctx,
        account,
        a.text,
        wrong=_(
            "That code doesn't match. Type the code the app shows right now, and check the device's clock "
            "is set automatically."
        ),
        status="active",
    )
    ctx.say(_("Your authenticator app is set up and your registration is complete. 🎉 You're signed in."))
    await start_session(ctx, account)


# -- an active account: the security code ------------------------------------------------------


@flow.menu(
    ask=N_("How will you get your security code this time?"),
    choices=[[("sms", N_("Text me a code"))], [("app", N_("Use my authenticator app"))]],
    help=N_("Use whichever device you have with you."),
)
async def pick_factor(ctx: Ctx, a: Answer):
    ctx.data["factor"] = a.choice
    if a.choice == "sms":
        account = await current_account(ctx)
        phone = ctx.vault.decrypt(account.phone_enc, context="account.phone")
        await send_code(ctx, SECURITY_TEXT, phone, subject_key=account_subject(ctx))


async def _send_security_code(ctx: Ctx) -> None:
    account = await current_account(ctx)
    phone = ctx.vault.decrypt(account.phone_enc, context="account.phone")
    await send_code(ctx, SECURITY_TEXT, phone, subject_key=account_subject(ctx))


async def _security_code_right(ctx: Ctx) -> None:
    account = await current_account(ctx)
    await SECURITY_TEXT_STREAK.clear(ctx, account)
    await start_session(ctx, account)


async def _security_code_guard(ctx: Ctx) -> None:
    await refuse_if_locked(ctx, await current_account(ctx), SECURITY_TEXT_STREAK)


async def _security_code_wrong(ctx: Ctx) -> None:
    if await SECURITY_TEXT_STREAK.fail(ctx, await current_account(ctx)):
        raise Invalid(locked_text(ctx), "login.account_locked")


code_entry_step(
    flow,
    "login_code",
    SECURITY_TEXT,
    ask=N_("Type the {digits} security code I texted to your phone."),
    resend=_send_security_code,
    on_success=_security_code_right,
    guard=_security_code_guard,
    on_failure=_security_code_wrong,
    subject=account_subject,
    help=N_("Every sign-in needs a fresh security code from your phone."),
)


@flow.step(
    "login_totp",
    ask=lambda ctx: _("Type the {digits}-digit security code your authenticator app shows now.").format(
        digits=spelled(APP_CODE_DIGITS)
    ),
    secret=N_("a code"),
    help=lambda ctx: _("The app shows a new code every {seconds} seconds; the device's clock must be right.").format(
        seconds=STEP_SECONDS
    ),
)
async def login_totp(ctx: Ctx, a: Answer):
    code = v.one_time_code(a.text, digits=APP_CODE_DIGITS)
    account = await current_account(ctx)
    await refuse_if_locked(ctx, account, AUTHENTICATOR_STREAK)
    tries = await AUTHENTICATOR.allowance(ctx, f"{account.id}:{user_id(ctx)}")
    retry_at = tries.retry_at
    if retry_at is not None:
        await ctx.repo.audit("totp_locked", account.id, ctx.chat_id)
        raise Invalid(_("Too many wrong codes. Try again after {time}.").format(time=when(ctx, retry_at)), "totp.locked")
    secret = ctx.vault.decrypt(account.totp_secret_enc, context="account.totp")
    step = authenticator.matching_step(secret, code, ctx.now(), account.totp_last_step)
    if step is None:
        await tries.hit(ctx)
        if await AUTHENTICATOR_STREAK.fail(ctx, account):
            raise Invalid(locked_text(ctx), "login.account_locked")
        if authenticator.matching_step(secret, code, ctx.now(), None) is not None:
            await ctx.repo.audit("totp_replay_refused", account.id, ctx.chat_id)
            raise Invalid(
                _("That code was already used. Wait for the app to show a new one, then type it."),
                "totp.replay",
            )
        await ctx.repo.audit("totp_failed", account.id, ctx.chat_id)
        raise Invalid(
            _("That code isn't right. Type the code the app shows now, and check the device's clock.")
            + tries_left(tries.remaining - 1),
            "totp.wrong",
        )
    await ctx.repo.update_account(account, totp_last_step=step)
    await AUTHENTICATOR_STREAK.clear(ctx, account)
    await start_session(ctx, account)


flow.transitions(
    [
        ["next", "login_username", "login_password"],
        ["restart", "login_password", "login_username"],
        {"trigger": "next", "source": "login_password", "dest": "new_password", "conditions": must_change},
        ["site", "new_password", "set_site_phrase"],
        ["next", "set_site_phrase", "set_site_image"],
        {"trigger": "next", "source": ["login_password", "new_password", "set_site_image"], "dest": "letter_code", "conditions": waiting_for_letter},
        {"trigger": "next", "source": ["login_password", "new_password", "set_site_image"], "dest": "pick_factor", "conditions": both_factors},
        {"trigger": "next", "source": ["login_password", "new_password", "set_site_image"], "dest": "login_totp", "conditions": has_app},
        {"trigger": "next", "source": ["login_password", "new_password", "set_site_image"], "dest": "login_code"},
        ["next", "letter_code", "choose_factor"],
        {"trigger": "next", "source": "choose_factor", "dest": "totp_setup", "conditions": wants_app},
        ["next", "choose_factor", "add_phone"],
        ["app", "add_phone", "totp_setup"],
        ["next", "add_phone", "add_phone_code"],
        ["change", "add_phone_code", "add_phone"],
        {"trigger": "next", "source": "pick_factor", "dest": "login_totp", "conditions": wants_app},
        ["next", "pick_factor", "login_code"],
    ]
)

flow.exits(
    [
        ("signed in", "home", "signed_in", ["add_phone_code", "totp_setup", "login_code", "login_totp"]),
        ("e-Services user", "registration", "fin_kind", ["login_password"]),
    ]
)
flow.validate()

"""Signing in: username, password, then a six-digit security code by text."""

from __future__ import annotations

from datetime import timedelta

from flows.common import SECURITY_TEXT, check_code, code_status_note, over_limit, send_code, tries_left, when
from flows.core import Answer, Ctx, Flow
from flows.registration import SITE_IMAGES
from flows.validators import Invalid

flow = Flow("login", "Sign-in", initial="login_username")


def account_subject(ctx: Ctx) -> str:
    return f"account:{ctx.data['login_account_id']}"


@flow.step(
    "login_username",
    ask="Let's sign you in. What is your username?",
    help="The username you chose when you registered.",
)
async def login_username(ctx: Ctx, a: Answer):
    name = a.text.strip()
    if not name or len(name) > 64:
        raise Invalid("Please type your username.", "login.username")
    ctx.data["login_username"] = name


@flow.step(
    "login_password",
    ask="And your password?",
    choices=[[("other_user", "That wasn't my username")]],
    secret="your password",
    help="Type the password you set when you registered.",
)
async def login_password(ctx: Ctx, a: Answer):
    if a.choice == "other_user":
        return "restart"
    policy = ctx.policy.sign_in
    key = f"signin:{ctx.data['login_username'].lower()}"
    window = timedelta(minutes=policy.lockout_minutes)
    remaining, retry_at = await over_limit(ctx, key, policy.max_attempts, window)
    if retry_at is not None:
        raise Invalid(
            f"Too many wrong passwords. Sign-in for this username is paused until {when(ctx, retry_at)}.",
            "login.locked",
        )
    account = await ctx.repo.account_by_username(ctx.data["login_username"])
    ok = await ctx.vault.verify_password(account.password_hash if account else None, a.incoming.text)
    if not ok or account is None:
        await ctx.repo.add_attempt(key)
        raise Invalid(
            f"That username and password don't go together. Check both and try again.{tries_left(remaining - 1)}",
            "login.wrong",
        )
    if not account.phone_enc:
        raise Invalid(
            "This account has no phone to send a security code to yet, so it can't sign in here.",
            "login.no_factor",
        )
    ctx.data["login_account_id"] = account.id
    phrase = ctx.vault.decrypt(account.site_phrase_enc, context="account.site_phrase")
    ctx.say(
        f"Your site image is {SITE_IMAGES.get(account.site_image, account.site_image)} and your site phrase "
        f"is \"{phrase}\". If those aren't the ones you chose, stop here and send /cancel."
    )
    phone = ctx.vault.decrypt(account.phone_enc, context="account.phone")
    await send_code(ctx, SECURITY_TEXT, phone, subject_key=account_subject(ctx))


async def _code_prompt(ctx: Ctx) -> str:
    note = await code_status_note(ctx, SECURITY_TEXT, subject_key=account_subject(ctx))
    return f"{note}Type the six-digit security code I texted to your phone."


@flow.step(
    "login_code",
    ask=_code_prompt,
    choices=[[("resend", "Send a new code")]],
    secret="a code",
    help="Every sign-in needs a fresh security code from your phone.",
)
async def login_code(ctx: Ctx, a: Answer):
    account = await ctx.repo.account(ctx.data["login_account_id"])
    if a.choice == "resend":
        phone = ctx.vault.decrypt(account.phone_enc, context="account.phone")
        await send_code(ctx, SECURITY_TEXT, phone, subject_key=account_subject(ctx))
        return "stay"
    await check_code(ctx, SECURITY_TEXT, a, subject_key=account_subject(ctx))
    now = ctx.now().isoformat()
    ctx.data["session"] = {
        "account_id": account.id,
        "username": account.username,
        "site_image": account.site_image,
        "started": now,
        "seen": now,
    }
    ctx.go("home", "signed_in")


flow.transitions(
    [
        ["next", "login_username", "login_password"],
        ["restart", "login_password", "login_username"],
        ["next", "login_password", "login_code"],
    ]
)
flow.validate()

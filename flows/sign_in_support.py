"""What signing in and adding an authenticator share with the profile: attempt keys and budgets,
the locked-account answer, and setting up an authenticator app (its QR code, its first code)."""

from __future__ import annotations

from domain import authenticator
from domain import validators as v
from domain.i18n import _
from domain.policies import format_hours
from domain.validators import Invalid
from flows.common import spelled
from flows.core import Ctx
from flows.helpdesk import desk_menu
from flows.limits import SIGN_IN, SIGN_IN_ACCOUNT, Streak, budget, user_id
from flows.replies import Photo

#: authenticator apps show codes of this many digits (the TOTP standard's usual length)
APP_CODE_DIGITS = 6


def account_key(ctx: Ctx, username: str) -> str:
    """The key an account's sign-in attempts are counted under: a keyed hash of its username,
    so nothing a person typed is stored in the clear."""
    return ctx.vault.digest("username", username.lower())


async def password_tries(ctx: Ctx, username: str, account):
    """Wrong passwords allowed now for ``username``: per Telegram user, and (except in the chat the
    account was registered in) for everyone together."""
    key = account_key(ctx, username)
    limits = [(SIGN_IN, f"{key}:{user_id(ctx)}")]
    if account is None or Streak.side(ctx, account) != "owner":
        limits.append((SIGN_IN_ACCOUNT, key))
    return await budget(ctx, *limits)


def locked_text(ctx: Ctx) -> str:
    """What to do about an account locked after too many failures in a row."""
    desk = ctx.policy.help_desk
    return _(
        "This account is locked because of too many failed sign-in attempts in a row. If it's your "
        "account, sign in from the chat you registered it in (that still works and unlocks it), or "
        "call the e-Help Desk at {phone} ({hours}): {menu}. The assistor "
        "confirms who you are and sets up your access again."
    ).format(phone=desk.phone, hours=format_hours(desk), menu=desk_menu(desk))


async def refuse_if_locked(ctx: Ctx, account, *streaks: Streak) -> None:
    for streak in streaks:
        if await streak.locked(ctx, account):
            await ctx.repo.audit(f"locked_account_refused:{streak.factor}", account.id, ctx.chat_id)
            raise Invalid(locked_text(ctx), "login.account_locked")


async def _totp_prompt(ctx: Ctx) -> str:
    secret = ctx.data.get("totp_pending")
    if not secret:
        secret = authenticator.new_secret()
        ctx.data["totp_pending"] = secret
        ctx.data.pop("totp_shown", None)
    if not ctx.data.get("totp_shown"):
        uri = authenticator.provisioning_uri(secret, ctx.data.get("login_username") or "account")
        ctx.actions.append(
            Photo(authenticator.qr_png(uri), caption=_("Scan this with your authenticator app."), filename="authenticator.png", protect=True,
                  qr=uri)
        )
        ctx.data["totp_shown"] = True
        return _(
            "Open your authenticator app, add an account and scan the picture above, or type this key "
            "by hand: {key}\n\n"
            "Make sure the device's clock is right. Then type the {digits}-digit code the app shows."
        ).format(key=authenticator.grouped(secret), digits=spelled(APP_CODE_DIGITS))
    return _("Type the {digits}-digit code your authenticator app shows now.").format(digits=spelled(APP_CODE_DIGITS))


def forget_pending_key(ctx: Ctx) -> None:
    ctx.data.pop("totp_pending", None)
    ctx.data.pop("totp_shown", None)


async def enroll_authenticator(ctx: Ctx, account, typed: str, *, wrong: str, **fields) -> None:
    """Prove the key being set up with a code from the app, then attach it to ``account``
    (replacing any earlier device only now, once the new one works)."""
    code = v.one_time_code(typed, digits=APP_CODE_DIGITS)
    secret = ctx.data["totp_pending"]
    step = authenticator.matching_step(secret, code, ctx.now(), None)
    if step is None:
        raise Invalid(wrong, "totp.wrong")
    device = ctx.vault.digest("totp_device", secret)
    if await ctx.repo.totp_device_taken(device, account.id):
        raise Invalid(_("That authenticator is already linked to another account."), "totp.taken")
    await ctx.repo.update_account(
        account,
        totp_secret_enc=ctx.vault.encrypt(secret, context="account.totp"),
        totp_last_step=step,
        totp_device_hash=device,
        **fields,
    )
    forget_pending_key(ctx)

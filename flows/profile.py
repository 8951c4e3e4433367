"""The signed-in profile: see the account, change the password, add or replace the
authenticator app, and change phone (which means registering again)."""

from __future__ import annotations

from domain.i18n import N_, _, format_date, ngettext
from domain.validators import Invalid
from flows.common import account_profile, new_password, password_rule, tries_left, when
from flows.core import Answer, Ctx, Flow
from flows.limits import SIGN_IN, user_id
from flows.sign_in_support import _totp_prompt, account_key, enroll_authenticator, forget_pending_key
from flows.registration import SITE_IMAGES

flow = Flow("profile", N_("Profile"), initial="overview")


async def account(ctx: Ctx):
    return await ctx.repo.account(ctx.data["session"]["account_id"])


def _mask_email(email: str | None) -> str:
    if not email or "@" not in email:
        return _("not given")
    local, domain = email.split("@", 1)
    return f"{local[:1]}•••@{domain}"


async def _overview(ctx: Ctx) -> str:
    acc = await account(ctx)
    profile = account_profile(ctx, acc)
    phone = ctx.vault.decrypt(acc.phone_enc, context="account.phone") if acc.phone_enc else None
    return _(
        "Your account\n\nUsername: {username} (permanent)\n"
        "Name: {first_name} {last_name}\n"
        "Email: {email}\n"
        "Text messages: {texts}\n"
        "Authenticator app: {app}\n"
        "Site image: {image}\n"
        "Registered: {date}\n\nWhat would you like to do?"
    ).format(
        username=acc.username,
        first_name=profile.get("first_name", ""),
        last_name=profile.get("last_name", ""),
        email=_mask_email(profile.get("email")),
        texts=_("phone ending in {digits}").format(digits=phone[-2:]) if phone else _("none"),
        app=_("set up") if acc.totp_secret_enc else _("none"),
        image=_(SITE_IMAGES.get(acc.site_image, acc.site_image)),
        date=format_date(acc.created_at, _("MMM d, y")),
    )


async def _overview_choices(ctx: Ctx):
    acc = await account(ctx)
    app_label = _("Replace my authenticator app") if acc.totp_secret_enc else _("Add an authenticator app")
    return [
        [("password", _("Change password"))],
        [("app", app_label)],
        [("phone", _("Change phone number"))],
        [("done", _("Done"))],
    ]


@flow.menu(
    ask=_overview,
    choices=_overview_choices,
    help=N_("Your account details. Secrets such as your password or codes are never shown."),
)
async def overview(ctx: Ctx, a: Answer):
    if a.choice == "done":
        ctx.go("home", "signed_in")
        return None
    return a.choice


@flow.step(
    "current_password",
    ask=N_("To change your password, first type your current one."),
    leave=("cancel", N_("Never mind"), "cancel"),
    secret=N_("your password"),
    help=N_("We ask for the current password so nobody else can change it from an open chat."),
)
async def current_password(ctx: Ctx, a: Answer):
    acc = await account(ctx)
    tries = await SIGN_IN.allowance(ctx, f"{account_key(ctx, acc.username)}:{user_id(ctx)}")
    retry_at = tries.retry_at
    if retry_at is not None:
        await ctx.repo.audit("sign_in_locked", acc.id, ctx.chat_id)
        raise Invalid(_("Too many wrong passwords. Try again after {time}.").format(time=when(ctx, retry_at)), "password.locked")
    if not await ctx.vault.verify_password(acc.password_hash, a.incoming.text):
        await tries.hit(ctx)
        await ctx.repo.audit("password_check_failed", acc.id, ctx.chat_id)
        raise Invalid(_("That isn't your current password.") + tries_left(tries.remaining - 1), "password.wrong")


@flow.step(
    "choose_password",
    ask=lambda ctx: _("Now the new password: {rule}, any characters; common or leaked ones are refused.").format(
        rule=password_rule(ctx)
    ),
    leave=("cancel", N_("Never mind"), "cancel"),
    secret=N_("your password"),
    help=N_("A few unrelated words make a strong password that is easy to remember."),
)
async def choose_password(ctx: Ctx, a: Answer):
    acc = await account(ctx)
    profile = account_profile(ctx, acc)
    chosen = new_password(ctx, a.incoming.text, username=acc.username, profile=profile)
    await ctx.repo.update_account(
        acc, password_hash=await ctx.vault.hash_password(chosen), password_changed_at=ctx.now(), must_change_password=False
    )
    await ctx.repo.audit("password_changed", acc.id, ctx.chat_id)
    if profile.get("email"):
        await ctx.deliver(
            "email",
            profile["email"],
            subject=_("Your password was changed"),
            body=_(
                "The password of your Secure Access account was just changed. If that wasn't you, contact "
                "the e-Help Desk right away."
            ),
        )
    others = await ctx.repo.sign_out_other_chats(acc.id, ctx.chat_id)
    if others:
        ctx.say(
            ngettext(
                "Your password is changed. I've signed you out everywhere else ({n} other chat). If you "
                "didn't do this, contact the e-Help Desk right away.",
                "Your password is changed. I've signed you out everywhere else ({n} other chats). If you "
                "didn't do this, contact the e-Help Desk right away.",
                others,
            ).format(n=others)
        )
    else:
        ctx.say(_("Your password is changed. If you didn't do this, contact the e-Help Desk right away."))


def _app_prompt(ctx: Ctx):
    ctx.data.setdefault("login_username", ctx.data["session"]["username"])
    return _totp_prompt(ctx)


@flow.step(
    "new_app",
    ask=_app_prompt,
    choices=[[("show", N_("Show the key again"))], [("cancel", N_("Never mind"))]],
    secret=N_("a code"),
    help=N_("Set up the new device first; the old one keeps working until the new one is proven."),
    protect=True,
)
async def new_app(ctx: Ctx, a: Answer):
    if a.choice == "cancel":
        forget_pending_key(ctx)
        return "cancel"
    if a.choice == "show":
        ctx.data.pop("totp_shown", None)
        return "stay"
    acc = await account(ctx)
    replaced = bool(acc.totp_secret_enc)
    await enroll_authenticator(
        ctx,
        acc,
        a.text,
        wrong=_(
            "That code doesn't match the new key. Type the code your app shows for the new entry, and "
            "check the device's clock."
        ),
    )
    await ctx.repo.audit("authenticator_replaced" if replaced else "authenticator_added", acc.id, ctx.chat_id)
    if replaced:
        ctx.say(
            _(
                "Your new authenticator works, so the old one has been removed. You can delete the old entry "
                "from the old device now."
            )
        )
    else:
        ctx.say(_("Your authenticator app is added. You can use it for the security code from now on."))


@flow.menu(
    ask=N_(
        "A phone number can't simply be swapped: changing it means going through registration again "
        "(identity, financial account and the new phone). Your username stays the same, and your "
        "current phone keeps working until the new one is confirmed."
    ),
    choices=[[("start", N_("Start re-registering"))], [("cancel", N_("Not now"))]],
    help=N_("Re-registration proves the new phone is yours, the same way the first registration did."),
)
async def change_phone(ctx: Ctx, a: Answer):
    if a.choice == "cancel":
        return "cancel"
    ctx.go("registration", "first_name", carry={"reregister_account_id": ctx.data["session"]["account_id"]})


flow.transitions(
    [
        ["password", "overview", "current_password"],
        ["app", "overview", "new_app"],
        ["phone", "overview", "change_phone"],
        ["next", "current_password", "choose_password"],
        ["cancel", "current_password", "overview"],
        ["next", "choose_password", "overview"],
        ["cancel", "choose_password", "overview"],
        ["next", "new_app", "overview"],
        ["cancel", "new_app", "overview"],
        ["cancel", "change_phone", "overview"],
    ]
)

flow.exits(
    [
        ("done", "home", "signed_in", ["overview"]),
        ("new phone", "registration", "first_name", ["change_phone"]),
    ]
)
flow.validate()

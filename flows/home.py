"""The front door: the welcome with its checklist, and where people land between flows."""

from __future__ import annotations

from domain.i18n import N_, _
from flows.core import Answer, Ctx, Flow
from flows.registration import SITE_IMAGES
from flows.registration_base import refused_cards

flow = Flow("home", N_("Home"), initial="welcome")

CHECKLIST = N_(
    "Hello! I'll register you for a Secure Access account, which e-Services requires: identity "
    "proofing plus a security code at every sign-in. With everything at hand it takes about 15 minutes.\n\n"
    "Have these ready:\n"
    "• an email address you can open right now\n"
    "• your Social Security number\n"
    "• the filing status and address from your last-filed tax return\n"
    "• the account number of a credit card, home mortgage, home equity loan, home equity line of "
    "credit (HELOC) or car loan ({refused_cards} can't be used)\n"
    "• a U.S. mobile phone in your name that can receive texts\n\n"
    "If you have a credit freeze at Experian, lift it for a while before you start.\n\n"
    "I ask for one item at a time. /help explains any step, /back lets you change your last answer, "
    "/status shows what's left and /privacy says what is kept."
)


@flow.menu(
    ask=lambda ctx: _(CHECKLIST).format(refused_cards=refused_cards(ctx)),
    choices=[[("begin", N_("Begin registration"))], [("login", N_("I already have an account – sign in"))]],
    help=N_("Tap \"Begin registration\" to start, or sign in if you registered before."),
)
async def welcome(ctx: Ctx, a: Answer):
    ctx.go("registration" if a.choice == "begin" else "login")


@flow.menu(
    ask=N_("Your account is ready. Sign in whenever you need it."),
    choices=[[("login", N_("Sign in"))]],
    help=N_("Tap \"Sign in\" (or send /login) to sign in with your username, password and a security code."),
)
async def registered(ctx: Ctx, a: Answer):
    ctx.go("login", carry={"login_from": "registered"})


@flow.menu(
    ask=N_(
        "Your account is waiting for the activation code from your letter. When it arrives, sign in "
        "and type it."
    ),
    choices=[[("login", N_("Sign in"))]],
    help=N_("Sign in with your username and password once the letter has come, then type its code."),
)
async def awaiting_letter(ctx: Ctx, a: Answer):
    ctx.go("login", carry={"login_from": "awaiting_letter"})


def _signed_in_text(ctx: Ctx) -> str:
    s = ctx.data.get("session") or {}
    image = SITE_IMAGES.get(s.get("site_image"), "")
    return _("You're signed in as {username}. {image}\nSend /logout to sign out.").format(
        username=s.get("username"), image=_(image)
    )


@flow.menu(
    ask=_signed_in_text,
    choices=[[("logout", N_("Sign out"))]],
    help=N_("You're signed in. /logout signs you out."),
)
async def signed_in(ctx: Ctx, a: Answer):
    ctx.data.pop("session", None)
    ctx.say(_("You're signed out."))
    ctx.go("home", "registered")


flow.transitions([])

flow.exits(
    [
        ("begin", "registration", None, ["welcome"]),
        ("sign in", "login", None, ["welcome", "registered", "awaiting_letter"]),
        ("sign out", "home", "registered", ["signed_in"]),
    ]
)
flow.validate()

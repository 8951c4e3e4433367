"""Firm admins getting their new hires through registration, from their phone.

Commands (handled by :func:`command`, routed from ``flows.router``): ``/team`` the roster,
``/invite`` a new hire, ``/invites`` the unopened invitations, ``/remind`` nudge a hire,
``/admins`` the firm's admins, ``/export`` the roster as CSV; for everyone ``/myid``, and for
invited hires ``/stop_sharing`` and ``/share_progress``. A hire opens their personal link
(``/start <token>``, :func:`open_invite`) and registers as anyone else; flows.hires records how far
they got.

This module is the admin menu: the flow with its steps and transitions, the admins screen and
the commands. The roster (team, one hire, reminders, export) is ``flows.roster``, the
invitations ``flows.invitations``, who is talking and each screen's data ``flows.admin_common``.
"""

from __future__ import annotations

from functools import wraps

from domain.hires import Refused
from domain.i18n import N_, _
from domain.validators import Invalid
from flows import invitations, roster
from flows.admin_common import (
    BUSY_FLOWS,
    FORGED,
    NO_LONGER_ADMIN,
    NOT_ADMIN,
    answered,
    current_hire,
    day,
    firm_of,
    leave,
    need_firm,
    firm_screen,
    user_id,
)
from flows.core import Answer, Ctx, Flow
from flows.hires import privacy_note, set_sharing
from flows.invitations import open_invite
from flows.replies import Action, Reply

__all__ = ["COMMANDS", "cancel", "command", "flow", "open_invite", "privacy_extra"]

flow = Flow("admin", N_("Firm admin"), initial="team")

#: commands this module answers
COMMANDS = ("team", "invite", "invites", "remind", "admins", "export", "myid", "stop_sharing", "share_progress")


def step(name: str, check, **options) -> None:
    """Register ``check`` as the admin step ``name``; once it has handled an answer, the screen
    shown next looks its data up afresh."""

    @wraps(check, assigned=("__name__", "__qualname__", "__doc__"))
    async def handled(ctx: Ctx, a: Answer):
        try:
            return await check(ctx, a)
        finally:
            answered(ctx)

    flow.step(name, **options)(handled)


# =============================================================================================
# Admins
# =============================================================================================


@firm_screen
async def admins_screen(ctx: Ctx, store, me, firm):
    """(me, firm, its admins)."""
    return me, firm, await store.admins(firm.id)


async def admins_text(ctx: Ctx) -> str:
    loaded = await admins_screen(ctx)
    if loaded is None:
        return _(NO_LONGER_ADMIN)
    me, firm, everyone = loaded
    lines = [_("Admins of {firm}:").format(firm=firm.name)]
    for admin in everyone:
        if admin.user_id == me.user_id:
            line = _("• Telegram user {id} (you), since {date}")
        else:
            line = _("• Telegram user {id}, since {date}")
        lines.append(line.format(id=admin.user_id, date=day(ctx, admin.created_at)))
    lines.append(
        "\n"
        + _(
            "Admins see the whole team and get its notices. To add someone, ask them to send /myid to this bot "
            "and tell you the number."
        )
    )
    return "\n".join(lines)


async def admins_choices(ctx: Ctx):
    loaded = await admins_screen(ctx)
    if loaded is None:
        return [[("back", _("Back to the team"))]]
    me, _firm, everyone = loaded
    rows = [[("add", _("➕ Add an admin"))]]
    rows += [[(f"rm{a.user_id}", _("Remove {id}").format(id=a.user_id))] for a in everyone if a.user_id != me.user_id]
    rows.append([("back", _("Back to the team"))])
    return rows


async def admins(ctx: Ctx, a: Answer):
    if a.choice in ("add", "back"):
        return a.choice
    loaded = await admins_screen(ctx)
    if loaded is None:
        return await need_firm(ctx)  # None, and the admin menu closes
    target = int((a.choice or "rm0")[2:] or 0)
    if target not in {x.user_id for x in loaded[2]}:
        raise Invalid(_("That person isn't an admin of your firm."), "firm.not_yours")
    ctx.data["confirm"] = "rmadmin"
    ctx.data["target_admin"] = target
    return "confirm"


async def admin_add(ctx: Ctx, a: Answer):
    if a.choice == "cancel":
        return "cancel"
    text = a.text.strip().lstrip("@")
    if not text.isdigit() or len(text) > 16:
        raise Invalid(_("Please type the number only, for example 123456789."), "firm.admin_id")
    found = await need_firm(ctx)
    if found is None:
        return None
    store, me, firm = found
    try:
        added = await store.add_admin(firm.id, int(text), added_by=me.user_id)
    except Refused as problem:
        raise Invalid(str(problem), "firm.admin") from None
    await ctx.notify(
        added.chat_id,
        lambda: _(
            "You're now an admin of {firm} in this bot. /team shows your firm's new hires and /invite "
            "invites one."
        ).format(firm=firm.name),
    )
    ctx.say(
        _(
            "Telegram user {id} is now an admin of {firm}. I've sent them a message (if they've ever opened this bot)."
        ).format(id=added.user_id, firm=firm.name)
    )


# =============================================================================================
# Confirming a revocation or a removal
# =============================================================================================


def confirm_text(ctx: Ctx) -> str:
    what = ctx.data.get("confirm")
    if what == "revoke":
        return _("Revoke this invitation? The link stops working at once; you can send a new one later.")
    if what == "remove":
        return _("Remove this person from your team list? Any unused link stops working.")
    return _("Remove {id} as an admin of your firm?").format(id=ctx.data.get("target_admin"))


async def confirm(ctx: Ctx, a: Answer):
    what = ctx.data.pop("confirm", None)
    back = "to_admins" if what == "rmadmin" else "to_hire"
    if a.choice != "yes":
        return back
    found = await need_firm(ctx)
    if found is None:
        return None
    store, _admin, firm = found
    if what == "rmadmin":
        target = ctx.data.pop("target_admin", None)
        try:
            await store.remove_admin(firm.id, int(target or 0))
        except Refused as problem:
            raise Invalid(str(problem), "firm.admin") from None
        answered(ctx, firm_changed=True)
        ctx.say(_("{id} is no longer an admin of {firm}.").format(id=target, firm=firm.name))
        if int(target) == user_id(ctx):
            leave(ctx)
            return None
        return back
    hire = await current_hire(ctx, store, firm)
    if hire is None:
        ctx.say(_(FORGED))
        return "to_team"
    name = store.name(hire)
    if what == "revoke":
        count = await store.revoke(hire)
        if count:
            ctx.say(_("The invitation for {name} is revoked; the link no longer works.").format(name=name))
        else:
            ctx.say(_("{name} had no open invitation.").format(name=name))
        return "to_hire"
    await store.remove_hire(hire)
    ctx.say(_("{name} is off your team list.").format(name=name))
    return "to_team"


# =============================================================================================
# The steps
# =============================================================================================

CONFIRM_HELP = N_("Tap Yes to go ahead or No to leave things as they are.")
ADMINS_HELP = N_("Add another admin by their Telegram user id (they can get it by sending /myid to this bot).")
ADMIN_ADD_ASK = N_("Type the Telegram user id of the person to make an admin (they can see it by sending /myid to this bot).")
ADMIN_ADD_HELP = N_("A Telegram user id is a number such as 123456789. A person can be the admin of one firm only.")
CANCEL = [[("cancel", N_("Cancel"))]]
YES_NO = [[("yes", N_("Yes")), ("no", N_("No, go back"))]]
SKIP_EMAIL = [[("skip", N_("Skip – no email"))], [("cancel", N_("Cancel"))]]
AFTER_INVITE = [[("again", N_("Invite someone else"))], [("team", N_("See the team"))], [("close", N_("Close"))]]
BUTTONS, TYPED = False, True

# name, check, ask, choices, help, typed answers accepted
for name, check, ask, choices, help_text, typed in [
    ("team", roster.team, roster.team_text, roster.team_choices, roster.TEAM_HELP, BUTTONS),
    ("hire", roster.hire_card, roster.hire_text, roster.hire_choices, roster.HIRE_HELP, BUTTONS),
    ("confirm", confirm, confirm_text, YES_NO, CONFIRM_HELP, BUTTONS),
    ("invite_name", invitations.invite_name, invitations.name_prompt, CANCEL, invitations.NAME_HELP, TYPED),
    ("invite_email", invitations.invite_email, invitations.email_prompt, SKIP_EMAIL, invitations.EMAIL_HELP, TYPED),
    ("invite_sent", invitations.invite_sent, invitations.sent_text, AFTER_INVITE, invitations.SENT_HELP, BUTTONS),
    ("invites", invitations.invites, invitations.invites_text, invitations.invites_choices, invitations.INVITES_HELP, BUTTONS),
    ("remind_pick", roster.remind_pick, roster.remind_text, roster.remind_choices, roster.REMIND_HELP, BUTTONS),
    ("admins", admins, admins_text, admins_choices, ADMINS_HELP, BUTTONS),
    ("admin_add", admin_add, ADMIN_ADD_ASK, CANCEL, ADMIN_ADD_HELP, TYPED),
]:
    step(name, check, ask=ask, choices=choices, help=help_text, typed=typed)


# =============================================================================================
# Commands (called from flows.router)
# =============================================================================================

#: the admin menu's step each command opens
OPENS = {"team": "team", "invite": "invite_name", "invites": "invites", "remind": "remind_pick", "admins": "admins"}


async def command(ctx: Ctx, name: str, args: str, *, here: tuple[str, str]) -> list[Action]:
    """Answer one of :data:`COMMANDS`. May call ``ctx.go`` to open the admin menu; the router then
    switches, or shows the current prompt again."""
    if name == "myid":
        return [Reply(_("Your Telegram user id is {id}. A firm's admin needs it to make you an admin.").format(id=user_id(ctx)))]
    if name in ("stop_sharing", "share_progress"):
        return [Reply(await set_sharing(ctx, name == "share_progress"))]
    if await firm_of(ctx) is None:
        return [Reply(_(NOT_ADMIN))]
    if name == "export":
        return [await roster.export_team(ctx)]
    flow_name, _state = here
    if flow_name in BUSY_FLOWS:
        return [Reply(_("Let's finish what we started first (or /cancel it); then send /{command} again.").format(command=name))]
    back = ctx.data.get("_return") if flow_name == "admin" else list(here)
    carry: dict = {"_return": back}
    state = OPENS[name]
    out: list[Action] = []
    args = (args or "").strip()
    if name == "invite" and args:
        try:
            carry["invite_name"] = invitations.hire_name(args)
            state = "invite_email"
        except Invalid as problem:
            out.append(Reply(problem.message))
    if name == "remind" and args:
        carry["remind_filter"] = args[:60]
    ctx.go("admin", state, carry=carry)
    return out


async def privacy_extra(ctx: Ctx) -> list[Action]:
    note = await privacy_note(ctx)
    return [Reply(note)] if note else []


def cancel(ctx: Ctx) -> list[Action]:
    """/cancel inside the admin menu: close it."""
    leave(ctx)
    return [Reply(_("Closed the admin menu."))]


# =============================================================================================
# The transitions table
# =============================================================================================

flow.transitions(
    [
        ["hire", "team", "hire"],
        ["invite", "team", "invite_name"],
        ["invites", "team", "invites"],
        ["admins", "team", "admins"],
        ["back", "hire", "team"],
        ["invited", "hire", "invite_sent"],
        ["confirm", "hire", "confirm"],
        ["to_hire", "confirm", "hire"],
        ["to_team", "confirm", "team"],
        ["to_admins", "confirm", "admins"],
        ["next", "invite_name", "invite_email"],
        ["cancel", "invite_name", "team"],
        ["next", "invite_email", "invite_sent"],
        ["cancel", "invite_email", "team"],
        ["again", "invite_sent", "invite_name"],
        ["team", "invite_sent", "team"],
        ["hire", "invites", "hire"],
        ["back", "invites", "team"],
        ["sent", "remind_pick", "team"],
        ["back", "remind_pick", "team"],
        ["add", "admins", "admin_add"],
        ["confirm", "admins", "confirm"],
        ["back", "admins", "team"],
        ["next", "admin_add", "admins"],
        ["cancel", "admin_add", "admins"],
    ]
)

#: the admin menu closes (someone stopped being an admin) back to the screen it was opened from
flow.exits([("closed", "home", state) for state in ("welcome", "registered", "awaiting_letter", "signed_in")])
flow.validate()

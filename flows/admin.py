"""Firm admins getting their new hires through registration, from their phone.

Commands (handled by :func:`command`, routed from ``flows.router``): ``/team`` the roster,
``/invite`` a new hire, ``/invites`` the unopened invitations, ``/remind`` nudge a hire,
``/admins`` the firm's admins, ``/export`` the roster as CSV; for everyone ``/myid``, and for
invited hires ``/stop_sharing`` and ``/share_progress``. A hire opens their personal link
(``/start <token>``, :func:`open_invite`) and registers as anyone else; flows.hires records how far
they got.

An admin is a Telegram user (the terminal chat counts its chat as the user). Every step looks the
admin's firm up again from who is talking, and every hire a button names is fetched *within that
firm*, so a forged or stale button can't reach another firm's people.
"""

from __future__ import annotations

import csv
import io
import re
from datetime import timedelta
from zoneinfo import ZoneInfo

from domain import validators as v
from flows.core import Answer, Ctx, Flow
from flows.hires import (
    BLOCKERS,
    NEXT_STEPS,
    Refused,
    STAGE_LABELS,
    blocker_text,
    finished_notice,
    firm_store,
    local,
    privacy_note,
    rank,
    set_sharing,
)
from flows.replies import Action, Document, Notify, Reply
from domain.validators import Invalid

flow = Flow("admin", "Firm admin", initial="team")

#: commands this module answers
COMMANDS = ("team", "invite", "invites", "remind", "admins", "export", "myid", "stop_sharing", "share_progress")
ADMIN_COMMANDS = ("team", "invite", "invites", "remind", "admins", "export")
#: flows an admin command must not interrupt (their answers would be lost)
BUSY_FLOWS = ("registration", "login", "profile", "exception")

TOKEN = re.compile(r"[A-Za-z0-9_-]{16,64}")

NOT_ADMIN = (
    "That command is for a firm's admins, and you aren't one. If your firm uses this bot, ask its admin "
    "to add you: /myid shows the number they'll need."
)
NO_LONGER_ADMIN = "You aren't an admin of a firm any more, so I've closed the admin menu."
FORGED = "That person isn't on your team list (any more), so I haven't done anything."


# =============================================================================================
# Who is talking
# =============================================================================================


def user_id(ctx: Ctx) -> int:
    """The Telegram user behind this update (the terminal chat has no users: its chat stands in)."""
    incoming = ctx.incoming
    if incoming is not None and incoming.user_id is not None:
        return incoming.user_id
    return ctx.chat_id


async def firm_of(ctx: Ctx):
    """(store, admin, firm) for the user talking, or None if they administer no firm."""
    store = firm_store(ctx)
    found = await store.admin(user_id(ctx))
    if found is None:
        return None
    admin, firm = found
    if admin.chat_id != ctx.chat_id:
        admin.chat_id = ctx.chat_id
    return store, admin, firm


async def need_firm(ctx: Ctx):
    found = await firm_of(ctx)
    if found is None:
        ctx.say(NO_LONGER_ADMIN)
        leave(ctx)
    return found


def leave(ctx: Ctx) -> None:
    """Back to wherever the admin was before the admin menu."""
    flow_name, state = ctx.data.get("_return") or ("home", "welcome")
    if flow_name == "home" and state == "signed_in" and not ctx.data.get("session"):
        state = "registered"
    ctx.go(flow_name, state)


def _zone(ctx: Ctx) -> str:
    return ctx.policy.firms.timezone


def _day(ctx: Ctx, moment) -> str:
    return local(moment, _zone(ctx), with_time=False)


def _time(ctx: Ctx, moment) -> str:
    return local(moment, _zone(ctx))


# =============================================================================================
# Describing hires
# =============================================================================================


def invite_state(ctx: Ctx, invite) -> str:
    """pending | expired | revoked | used | none"""
    if invite is None:
        return "none"
    if invite.used_at is not None:
        return "used"
    if invite.revoked_at is not None:
        return "revoked"
    if invite.expires_at <= ctx.now():
        return "expired"
    return "pending"


async def describe(ctx: Ctx, store, hire, invite, last_seen) -> dict:
    """Everything an admin may see about one hire, as plain values (for the roster, card, CSV)."""
    shared = bool(hire.tracking)
    state = invite_state(ctx, invite)
    out = {
        "name": store.name(hire),
        "email": store.email(hire) or "",
        "stage": hire.stage if shared or hire.stage == "done" else "invited",
        "shared": shared,
        "invite": state,
        "invite_expires": invite.expires_at if invite is not None else None,
        "invited_at": hire.created_at,
        "opened": hire.chat_id is not None,
        "done_at": hire.done_at,
        "last_active": last_seen if shared and hire.chat_id is not None else None,
        "blocker": hire.blocker if shared and hire.stage != "done" else None,
        "blocker_text": blocker_text(hire, _zone(ctx), ctx.now()) if shared and hire.blocker and hire.stage != "done" else "",
        "locked_until": hire.blocker_until if shared and hire.blocker == "locked" else None,
        "letter_expires": None,
        "reminded_at": hire.reminded_at,
    }
    if shared and hire.stage == "waiting_letter":
        out["letter_expires"] = await store.letter_expiry(hire.account_id)
    return out


def status_words(ctx: Ctx, d: dict) -> str:
    """One line: the stage with what matters about it."""
    stage = d["stage"]
    if stage == "done":
        return "done ✅" + (f" (finished {_day(ctx, d['done_at'])})" if d["done_at"] else "")
    if stage == "invited":
        if d["opened"]:
            return "invited (they've chosen not to share their progress)"
        return {
            "pending": f"invited, link not opened yet (expires {_day(ctx, d['invite_expires'])})" if d["invite_expires"] else "invited",
            "expired": f"invited, link expired on {_day(ctx, d['invite_expires'])} unopened" if d["invite_expires"] else "invited",
            "revoked": "invitation withdrawn",
        }.get(d["invite"], "invited")
    text = STAGE_LABELS.get(stage, stage)
    if stage == "waiting_letter" and d["letter_expires"]:
        if d["letter_expires"] > ctx.now():
            text += f" (its code works until {_day(ctx, d['letter_expires'])})"
        else:
            text += f" (its code expired on {_day(ctx, d['letter_expires'])}: they should sign in and ask for a new letter)"
    return text


def short_status(ctx: Ctx, d: dict) -> str:
    if d["blocker"]:
        return "⚠️ stuck"
    if d["stage"] == "done":
        return "✅ done"
    if d["stage"] == "invited":
        return {"expired": "link expired", "revoked": "withdrawn"}.get(d["invite"], "invited")
    return STAGE_LABELS.get(d["stage"], d["stage"])


async def team_rows(ctx: Ctx, store, firm) -> list[tuple[object, dict]]:
    hires = await store.hires(firm.id)
    invites = await store.latest_invites(firm.id)
    seen = await store.last_active([h.chat_id for h in hires if h.chat_id is not None])
    return [(h, await describe(ctx, store, h, invites.get(h.id), seen.get(h.chat_id))) for h in hires]


def _clip(text: str, n: int = 28) -> str:
    return text if len(text) <= n else text[: n - 1] + "…"


# =============================================================================================
# The roster
# =============================================================================================


async def _team_text(ctx: Ctx) -> str:
    found = await firm_of(ctx)
    if found is None:
        return NO_LONGER_ADMIN
    store, _admin, firm = found
    rows = await team_rows(ctx, store, firm)
    if not rows:
        return (
            f"{firm.name}: nobody invited yet.\n\nTap \"Invite a new hire\" to create a personal link for "
            "someone; you forward it to them and follow their registration here."
        )
    lines = [f"{firm.name}: your team ({len(rows)})", ""]
    for i, (_hire, d) in enumerate(rows, 1):
        line = f"{i}. {d['name']}: {status_words(ctx, d)}"
        if d["last_active"]:
            line += f"\n    last active {_time(ctx, d['last_active'])}"
        if d["blocker"]:
            line += f"\n    ⚠️ Stuck: {d['blocker_text']}"
        lines.append(line)
    lines += ["", "Tap a name for details, reminders and the invitation link."]
    most = ctx.policy.firms.roster_buttons
    if len(rows) > most:
        lines.append(
            f"(Buttons are shown for {most} people, those stuck or in progress first; /remind NAME and "
            "/invites reach the others.)"
        )
    return "\n".join(lines)


def _button_order(item) -> tuple:
    """Who gets a button first when the team is large: stuck, then in progress, invited, done."""
    hire, d = item
    if d["blocker"]:
        group = 0
    elif d["stage"] not in ("invited", "done"):
        group = 1
    elif d["stage"] == "invited":
        group = 2
    else:
        group = 3
    return group, hire.created_at, hire.id


async def _team_choices(ctx: Ctx):
    found = await firm_of(ctx)
    if found is None:
        return [[("close", "Close")]]
    store, _admin, firm = found
    shown = sorted(await team_rows(ctx, store, firm), key=_button_order)[: ctx.policy.firms.roster_buttons]
    shown.sort(key=lambda item: (item[0].created_at, item[0].id))
    rows = [[(f"h{hire.id}", f"{_clip(d['name'])} · {short_status(ctx, d)}")] for hire, d in shown]
    rows += [
        [("invite", "➕ Invite a new hire")],
        [("export", "📄 Export (CSV)"), ("invites", "Invitations")],
        [("admins", "Admins"), ("close", "Close")],
    ]
    return rows


async def _picked_hire(ctx: Ctx, a: Answer):
    """The hire a button names, if it belongs to this admin's firm (else a polite refusal)."""
    found = await need_firm(ctx)
    if found is None:
        return None, None
    store, _admin, firm = found
    try:
        hire_id = int((a.choice or "")[1:])
    except ValueError:
        hire_id = 0
    hire = await store.hire(firm.id, hire_id)
    if hire is None:
        raise Invalid(FORGED, "firm.not_yours")
    return store, hire


@flow.step(
    "team",
    ask=_team_text,
    choices=_team_choices,
    typed=False,
    help=(
        "Your firm's new hires and how far each has got. Tap a name for details. /invite invites someone, "
        "/remind nudges a hire, /export sends the list as a spreadsheet, /admins manages admins."
    ),
)
async def team(ctx: Ctx, a: Answer):
    if a.choice == "close":
        leave(ctx)
        return None
    found = await need_firm(ctx)
    if found is None:
        return None
    if a.choice == "export":
        store, _admin, firm = found
        ctx.actions.append(await export_document(ctx, store, firm))
        return "stay"
    if a.choice and a.choice.startswith("h"):
        _store, hire = await _picked_hire(ctx, a)
        if hire is None:
            return None
        ctx.data["hire_id"] = hire.id
        return "hire"
    return a.choice


# =============================================================================================
# One hire
# =============================================================================================


async def _current_hire(ctx: Ctx):
    found = await firm_of(ctx)
    if found is None:
        return None, None, None
    store, _admin, firm = found
    hire = await store.hire(firm.id, ctx.data.get("hire_id") or 0)
    return store, firm, hire


async def _hire_text(ctx: Ctx) -> str:
    store, firm, hire = await _current_hire(ctx)
    if hire is None:
        return FORGED if store else NO_LONGER_ADMIN
    invite = await store.latest_invite(hire)
    seen = (await store.last_active([hire.chat_id])).get(hire.chat_id) if hire.chat_id else None
    d = await describe(ctx, store, hire, invite, seen)
    lines = [d["name"]]
    if d["email"]:
        lines.append(f"Email: {d['email']}")
    lines.append(f"Stage: {status_words(ctx, d)}")
    lines.append(f"Invited: {_day(ctx, d['invited_at'])}")
    if d["last_active"]:
        lines.append(f"Last active: {_time(ctx, d['last_active'])}")
    if d["blocker"]:
        lines.append(f"\n⚠️ Stuck: {d['blocker_text']}")
    if not d["shared"]:
        lines.append("\nThey've chosen not to share their progress, so you'll only see when they're done.")
    if d["reminded_at"]:
        lines.append(f"Last reminder: {_time(ctx, d['reminded_at'])}")
    if d["stage"] == "invited" and not d["opened"] and d["invite"] == "pending":
        lines.append("\nThey haven't opened their link yet. If they lost it, re-send it (the old link stops working).")
    return "\n".join(lines)


async def _hire_choices(ctx: Ctx):
    store, _firm, hire = await _current_hire(ctx)
    if hire is None:
        return [[("back", "Back to the team")]]
    invite = await store.latest_invite(hire)
    state = invite_state(ctx, invite)
    rows = []
    if hire.chat_id is not None and hire.stage != "done":
        rows.append([("remind", "🔔 Send a reminder")])
    if hire.chat_id is None:
        rows.append([("resend", "Re-send invite (new link)")])
        if state == "pending":
            rows.append([("revoke", "Revoke invite")])
    if hire.chat_id is None and state != "pending" or hire.stage == "done":
        rows.append([("remove", "Remove from the list")])
    rows.append([("back", "Back to the team")])
    return rows


@flow.step(
    "hire",
    ask=_hire_text,
    choices=_hire_choices,
    typed=False,
    help="One hire: their stage, when they were last active and anything holding them up, with what to tell them.",
)
async def hire_card(ctx: Ctx, a: Answer):
    if a.choice == "back":
        return "back"
    found = await need_firm(ctx)
    if found is None:
        return None
    store, admin, firm = found
    hire = await store.hire(firm.id, ctx.data.get("hire_id") or 0)
    if hire is None:
        ctx.say(FORGED)
        return "back"
    if a.choice == "remind":
        await remind(ctx, store, firm, hire)
        return "stay"
    if a.choice == "resend":
        if hire.chat_id is not None:
            raise Invalid("They've already opened their invitation, so there's nothing to re-send.", "firm.opened")
        await issue_invite(ctx, store, firm, hire)
        return "invited"
    ctx.data["confirm"] = a.choice  # revoke | remove
    return "confirm"


def _confirm_text(ctx: Ctx) -> str:
    what = ctx.data.get("confirm")
    if what == "revoke":
        return "Revoke this invitation? The link stops working at once; you can send a new one later."
    if what == "remove":
        return "Remove this person from your team list? Any unused link stops working."
    return f"Remove {ctx.data.get('target_admin')} as an admin of your firm?"


@flow.step(
    "confirm",
    ask=_confirm_text,
    choices=[[("yes", "Yes"), ("no", "No, go back")]],
    typed=False,
    help="Tap Yes to go ahead or No to leave things as they are.",
)
async def confirm(ctx: Ctx, a: Answer):
    what = ctx.data.pop("confirm", None)
    back = "to_admins" if what == "rmadmin" else "to_hire"
    if a.choice != "yes":
        return back
    found = await need_firm(ctx)
    if found is None:
        return None
    store, admin, firm = found
    if what == "rmadmin":
        target = ctx.data.pop("target_admin", None)
        try:
            await store.remove_admin(firm.id, int(target or 0))
        except Refused as problem:
            raise Invalid(str(problem), "firm.admin") from None
        ctx.say(f"{target} is no longer an admin of {firm.name}.")
        if int(target) == user_id(ctx):
            leave(ctx)
            return None
        return back
    hire = await store.hire(firm.id, ctx.data.get("hire_id") or 0)
    if hire is None:
        ctx.say(FORGED)
        return "to_team"
    name = store.name(hire)
    if what == "revoke":
        count = await store.revoke(hire)
        ctx.say(f"The invitation for {name} is revoked; the link no longer works." if count else f"{name} had no open invitation.")
        return "to_hire"
    await store.remove_hire(hire)
    ctx.say(f"{name} is off your team list.")
    return "to_team"


# =============================================================================================
# Inviting
# =============================================================================================


def link_for(ctx: Ctx, token: str) -> str:
    return f"https://t.me/{ctx.services.settings.telegram.bot_username}?start={token}"


def invitation_text(ctx: Ctx, firm, name: str, token: str, expires) -> str:
    """The message the admin forwards to the hire."""
    return (
        f"Hello {name},\n\n{firm.name} invites you to register for your Secure Access account (the "
        "identity check and two-step sign-in IRS e-Services requires). A chat assistant walks you "
        "through it in about 15 minutes.\n\n"
        f"Open your personal link in Telegram:\n{link_for(ctx, token)}\n"
        f"(In the terminal chat, send: /start {token})\n\n"
        f"The link works once and until {_day(ctx, expires)}. Have at hand: an email you can open, your SSN, "
        "your last-filed tax return, a credit card or loan account number, and a mobile phone in your name."
    )


async def issue_invite(ctx: Ctx, store, firm, hire) -> None:
    """A fresh link for ``hire``: shown to the admin to forward, and emailed if we have an email."""
    policy = ctx.policy.invites
    if await store.pending_invites(firm.id) >= policy.max_pending_per_firm:
        raise Invalid(
            f"Your firm has {policy.max_pending_per_firm} unopened invitations, the most allowed at once. "
            "Revoke some you no longer need (/invites), or wait until they're opened or expire.",
            "firm.too_many_invites",
        )
    token, invite = await store.new_invite(hire, timedelta(days=policy.lifetime_days))
    name = store.name(hire)
    text = invitation_text(ctx, firm, name, token, invite.expires_at)
    ctx.say(text)
    email = store.email(hire)
    if email:
        await ctx.deliver("email", email, subject=f"{firm.name} invites you to register for Secure Access", body=text)
    ctx.data["invited_name"] = name
    ctx.data["invited_email"] = email or ""


def _name_prompt(ctx: Ctx) -> str:
    return "Who are you inviting? Type the new hire's first and last name (it's only shown to your firm's admins and to them)."


@flow.step(
    "invite_name",
    ask=_name_prompt,
    choices=[[("cancel", "Cancel")]],
    help="Their name as you'd like to see it on your team list, for example Alex Kim.",
)
async def invite_name(ctx: Ctx, a: Answer):
    if a.choice == "cancel":
        return "cancel"
    ctx.data["invite_name"] = hire_name(a.text)


def hire_name(text: str) -> str:
    name = v.person_name(text, field="new hire's name")
    if len(name) < 2:
        raise Invalid("Please type at least two letters of their name.", "firm.name_short")
    return name


@flow.step(
    "invite_email",
    ask=lambda ctx: (
        f"Their email address, if you'd like me to email {ctx.data.get('invite_name')} the link as well? "
        "Otherwise tap Skip and forward the link yourself."
    ),
    choices=[[("skip", "Skip – no email")], [("cancel", "Cancel")]],
    help="Optional: with an email address I send them the invitation myself. You can always forward it too.",
)
async def invite_email(ctx: Ctx, a: Answer):
    if a.choice == "cancel":
        return "cancel"
    email = None if a.choice == "skip" else v.email_address(a.text)
    found = await need_firm(ctx)
    if found is None:
        return None
    store, admin, firm = found
    name = ctx.data.get("invite_name") or ""
    # check the limit before anything is created
    policy = ctx.policy.invites
    if await store.pending_invites(firm.id) >= policy.max_pending_per_firm:
        raise Invalid(
            f"Your firm has {policy.max_pending_per_firm} unopened invitations, the most allowed at once. "
            "Revoke some you no longer need (/invites), or wait until they're opened or expire.",
            "firm.too_many_invites",
        )
    hire = await store.create_hire(firm.id, name=name, email=email, invited_by=admin.user_id)
    ctx.data["hire_id"] = hire.id
    ctx.data.pop("invite_name", None)
    await issue_invite(ctx, store, firm, hire)


def _sent_text(ctx: Ctx) -> str:
    name = ctx.data.get("invited_name", "them")
    email = ctx.data.get("invited_email")
    also = f" I've also emailed it to {email}." if email else ""
    return (
        f"☝️ Forward that message to {name}, or copy the link into a message to them.{also} "
        "I'll tell you when they finish or if they get stuck; /team shows where everyone is."
    )


@flow.step(
    "invite_sent",
    ask=_sent_text,
    choices=[[("again", "Invite someone else")], [("team", "See the team")], [("close", "Close")]],
    typed=False,
    help="The link is personal and works once. If they lose it, re-send it from their card in /team.",
)
async def invite_sent(ctx: Ctx, a: Answer):
    if a.choice == "close":
        leave(ctx)
        return None
    ctx.data.pop("invited_name", None)
    ctx.data.pop("invited_email", None)
    return a.choice


# -- the unopened invitations ------------------------------------------------------------------


async def _unopened(ctx: Ctx):
    found = await firm_of(ctx)
    if found is None:
        return None, []
    store, _admin, firm = found
    rows = [(h, d) for h, d in await team_rows(ctx, store, firm) if not d["opened"]]
    return firm, rows


async def _invites_text(ctx: Ctx) -> str:
    firm, rows = await _unopened(ctx)
    if firm is None:
        return NO_LONGER_ADMIN
    if not rows:
        return "No unopened invitations: everyone you invited has opened their link."
    lines = [f"Invitations not opened yet ({len(rows)}):", ""]
    lines += [f"• {d['name']}: {status_words(ctx, d)}" for _h, d in rows]
    lines += ["", "Tap a name to re-send or revoke their invitation."]
    return "\n".join(lines)


def _hire_rows(ctx: Ctx, rows):
    """One button per hire (name and where they stand), then the way back to the team."""
    return [[(f"h{h.id}", f"{_clip(d['name'])} · {short_status(ctx, d)}")] for h, d in rows] + [[("back", "Back to the team")]]


async def _invites_choices(ctx: Ctx):
    _firm, rows = await _unopened(ctx)
    return _hire_rows(ctx, rows)


@flow.step(
    "invites",
    ask=_invites_text,
    choices=_invites_choices,
    typed=False,
    help="Invitations that haven't been opened: tap one to re-send it (a new link) or revoke it.",
)
async def invites(ctx: Ctx, a: Answer):
    if a.choice == "back":
        return "back"
    _store, hire = await _picked_hire(ctx, a)
    if hire is None:
        return None
    ctx.data["hire_id"] = hire.id
    return "hire"


# =============================================================================================
# Reminding
# =============================================================================================


def nudge_text(ctx: Ctx, firm, hire, letter_expires=None) -> str:
    lead = f"A reminder from {firm.name}: please finish registering for your Secure Access account."
    if not hire.tracking:
        return f"{lead} Send /status to see where you are, or /start to pick up where you left off."
    if hire.blocker in BLOCKERS:
        step = BLOCKERS[hire.blocker][2]
        if hire.blocker == "locked" and hire.blocker_until:
            step = f"the checks are paused until {_time(ctx, hire.blocker_until)}; then {step.split(', then ', 1)[-1]}"
    else:
        step = NEXT_STEPS.get(hire.stage, "carry on where you left off")
        if hire.stage == "waiting_letter" and letter_expires:
            step += f" (the code works until {_day(ctx, letter_expires)})"
    return f"{lead}\nYour next step: {step}.\nSend /status to see where you are."


async def remind(ctx: Ctx, store, firm, hire) -> None:
    """Nudge ``hire`` (of ``firm``) in their own chat, at most once per configured interval."""
    name = store.name(hire)
    if hire.chat_id is None:
        raise Invalid(
            f"{name} hasn't opened their invitation yet, so I can't message them. Re-send the invitation "
            "from their card (it makes a new link), and forward it to them again.",
            "firm.not_opened",
        )
    if hire.stage == "done":
        raise Invalid(f"{name} has already finished; no reminder needed.", "firm.done")
    every = timedelta(hours=ctx.policy.firms.remind_every_hours)
    if hire.reminded_at is not None and ctx.now() < hire.reminded_at + every:
        raise Invalid(
            f"{name} was reminded at {_time(ctx, hire.reminded_at)}. To avoid pestering them, the next reminder "
            f"can go after {_time(ctx, hire.reminded_at + every)}.",
            "firm.remind_too_soon",
        )
    text = nudge_text(ctx, firm, hire, await store.letter_expiry(hire.account_id))
    ctx.actions.append(Notify(hire.chat_id, text))
    hire.reminded_at = ctx.now()
    ctx.say(f"Sent {name} this reminder:\n\n{text}")


async def _remind_candidates(ctx: Ctx):
    found = await firm_of(ctx)
    if found is None:
        return None, []
    store, _admin, firm = found
    wanted = (ctx.data.get("remind_filter") or "").casefold()
    out = []
    for hire, d in await team_rows(ctx, store, firm):
        if hire.chat_id is None or hire.stage == "done":
            continue
        if wanted and wanted not in d["name"].casefold():
            continue
        out.append((hire, d))
    return firm, out


async def _remind_text(ctx: Ctx) -> str:
    firm, rows = await _remind_candidates(ctx)
    if firm is None:
        return NO_LONGER_ADMIN
    if not rows:
        if ctx.data.get("remind_filter"):
            return f"Nobody on your team matching \"{ctx.data['remind_filter']}\" can be reminded right now (they must have opened their link and not be done yet)."
        return "Nobody to remind: reminders go to hires who've opened their link and haven't finished."
    return "Who should I remind? They get a short message with their next step."


async def _remind_choices(ctx: Ctx):
    _firm, rows = await _remind_candidates(ctx)
    return _hire_rows(ctx, rows)


@flow.step(
    "remind_pick",
    ask=_remind_text,
    choices=_remind_choices,
    typed=False,
    help="A reminder is a short message to the hire with their next step. Each hire gets at most one every few hours.",
)
async def remind_pick(ctx: Ctx, a: Answer):
    if a.choice == "back":
        return "back"
    store, hire = await _picked_hire(ctx, a)
    if hire is None:
        return None
    found = await need_firm(ctx)
    await remind(ctx, store, found[2], hire)
    ctx.data.pop("remind_filter", None)
    return "sent"


# =============================================================================================
# Admins
# =============================================================================================


async def _admins_text(ctx: Ctx) -> str:
    found = await firm_of(ctx)
    if found is None:
        return NO_LONGER_ADMIN
    store, me, firm = found
    lines = [f"Admins of {firm.name}:"]
    for admin in await store.admins(firm.id):
        who = " (you)" if admin.user_id == me.user_id else ""
        lines.append(f"• Telegram user {admin.user_id}{who}, since {_day(ctx, admin.created_at)}")
    lines.append(
        "\nAdmins see the whole team and get its notices. To add someone, ask them to send /myid to this bot "
        "and tell you the number."
    )
    return "\n".join(lines)


async def _admins_choices(ctx: Ctx):
    found = await firm_of(ctx)
    if found is None:
        return [[("back", "Back to the team")]]
    store, me, firm = found
    rows = [[("add", "➕ Add an admin")]]
    rows += [[(f"rm{a.user_id}", f"Remove {a.user_id}")] for a in await store.admins(firm.id) if a.user_id != me.user_id]
    rows.append([("back", "Back to the team")])
    return rows


@flow.step(
    "admins",
    ask=_admins_text,
    choices=_admins_choices,
    typed=False,
    help="Add another admin by their Telegram user id (they can get it by sending /myid to this bot).",
)
async def admins(ctx: Ctx, a: Answer):
    if a.choice in ("add", "back"):
        return a.choice
    found = await need_firm(ctx)
    if found is None:
        return None
    store, _me, firm = found
    target = int((a.choice or "rm0")[2:] or 0)
    if target not in {x.user_id for x in await store.admins(firm.id)}:
        raise Invalid("That person isn't an admin of your firm.", "firm.not_yours")
    ctx.data["confirm"] = "rmadmin"
    ctx.data["target_admin"] = target
    return "confirm"


@flow.step(
    "admin_add",
    ask="Type the Telegram user id of the person to make an admin (they can see it by sending /myid to this bot).",
    choices=[[("cancel", "Cancel")]],
    help="A Telegram user id is a number such as 123456789. A person can be the admin of one firm only.",
)
async def admin_add(ctx: Ctx, a: Answer):
    if a.choice == "cancel":
        return "cancel"
    text = a.text.strip().lstrip("@")
    if not text.isdigit() or len(text) > 16:
        raise Invalid("Please type the number only, for example 123456789.", "firm.admin_id")
    found = await need_firm(ctx)
    if found is None:
        return None
    store, me, firm = found
    try:
        added = await store.add_admin(firm.id, int(text), added_by=me.user_id)
    except Refused as problem:
        raise Invalid(str(problem), "firm.admin") from None
    ctx.actions.append(
        Notify(
            added.chat_id,
            f"You're now an admin of {firm.name} in this bot. /team shows your firm's new hires and /invite "
            "invites one.",
        )
    )
    ctx.say(f"Telegram user {added.user_id} is now an admin of {firm.name}. I've sent them a message (if they've ever opened this bot).")


# =============================================================================================
# Export
# =============================================================================================

CSV_FIELDS = [
    "name",
    "email",
    "stage",
    "stuck_on",
    "advice",
    "locked_until",
    "letter_code_expires",
    "last_active",
    "invited_on",
    "invitation",
    "invitation_expires",
    "finished_on",
    "shares_progress",
]


def _cell(value) -> str:
    """Plain text that spreadsheets won't run as a formula."""
    text = "" if value is None else str(value)
    if text[:1] in ("=", "+", "-", "@", "\t", "\r"):
        text = "'" + text
    return text


async def export_document(ctx: Ctx, store, firm) -> Document:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(CSV_FIELDS)
    zone = _zone(ctx)
    rows = await team_rows(ctx, store, firm)
    for _hire, d in rows:
        what, advice = "", ""
        if d["blocker"]:
            what, advice, _ = BLOCKERS.get(d["blocker"], ("", "", ""))
        writer.writerow(
            [
                _cell(x)
                for x in (
                    d["name"],
                    d["email"],
                    STAGE_LABELS.get(d["stage"], d["stage"]),
                    what,
                    advice,
                    local(d["locked_until"], zone) if d["locked_until"] else "",
                    local(d["letter_expires"], zone, with_time=False) if d["letter_expires"] else "",
                    local(d["last_active"], zone) if d["last_active"] else "",
                    local(d["invited_at"], zone, with_time=False),
                    "opened" if d["opened"] else d["invite"],
                    local(d["invite_expires"], zone, with_time=False) if d["invite_expires"] and not d["opened"] else "",
                    local(d["done_at"], zone, with_time=False) if d["done_at"] and d["stage"] == "done" else "",
                    "yes" if d["shared"] else "no",
                )
            ]
        )
    day = ctx.now().astimezone(ZoneInfo(zone)).date().isoformat()
    return Document(
        data=buffer.getvalue().encode("utf-8-sig"),
        filename=f"team-{day}.csv",
        caption=f"{firm.name}: {len(rows)} {'person' if len(rows) == 1 else 'people'} as of {_time(ctx, ctx.now())}.",
    )


# =============================================================================================
# Commands and invitation links (called from flows.router)
# =============================================================================================


async def command(ctx: Ctx, name: str, args: str, *, here: tuple[str, str]) -> list[Action]:
    """Answer one of :data:`COMMANDS`. May call ``ctx.go`` to open the admin menu; the router then
    switches, or shows the current prompt again."""
    if name == "myid":
        return [Reply(f"Your Telegram user id is {user_id(ctx)}. A firm's admin needs it to make you an admin.")]
    if name in ("stop_sharing", "share_progress"):
        return [Reply(await set_sharing(ctx, name == "share_progress"))]
    found = await firm_of(ctx)
    if found is None:
        return [Reply(NOT_ADMIN)]
    store, _admin, firm = found
    if name == "export":
        return [await export_document(ctx, store, firm)]
    flow_name, _state = here
    if flow_name in BUSY_FLOWS:
        return [Reply(f"Let's finish what we started first (or /cancel it); then send /{name} again.")]
    back = ctx.data.get("_return") if flow_name == "admin" else list(here)
    carry: dict = {"_return": back}
    state = {"team": "team", "invite": "invite_name", "invites": "invites", "remind": "remind_pick", "admins": "admins"}[name]
    out: list[Action] = []
    args = (args or "").strip()
    if name == "invite" and args:
        try:
            carry["invite_name"] = hire_name(args)
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
    return [Reply("Closed the admin menu.")]


async def open_invite(ctx: Ctx, token: str, *, here: tuple[str, str]) -> list[Action]:
    """``/start <token>``: a new hire opens their personal invitation link."""
    token = token.strip()
    store = firm_store(ctx)
    found = await store.invite_by_token(token) if TOKEN.fullmatch(token) else None
    if found is None:
        return [
            Reply(
                "I don't recognise that invitation link. Check that you opened the whole link you were sent, "
                "or ask the person who invited you for a new one. You can also register without one: "
                "tap \"Begin registration\"."
            )
        ]
    invite, hire, firm = found.invite, found.hire, found.firm
    now = ctx.now()
    if invite.used_at is not None:
        if invite.used_by_chat == ctx.chat_id:
            return [Reply(f"You've already opened your invitation from {firm.name}. Here's where you are:")]
        return [
            Reply(
                f"This invitation from {firm.name} has already been used: each link works only once. If that "
                "wasn't you, ask them for a new link."
            )
        ]
    if found.replaced:
        return [Reply(f"That link was replaced by a newer one from {firm.name}. Please open the most recent link they sent you.")]
    if invite.revoked_at is not None or hire.removed_at is not None:
        return [Reply(f"{firm.name} has withdrawn this invitation. If you still need one, ask them for a new link.")]
    if invite.expires_at <= now:
        return [
            Reply(
                f"This invitation from {firm.name} expired on {_day(ctx, invite.expires_at)}. Ask them to send "
                "you a new link; it only takes them a moment."
            )
        ]
    invite.used_at = now
    invite.used_by_chat = ctx.chat_id
    hire.chat_id = ctx.chat_id
    hire.opened_at = now
    if rank(hire.stage) < rank("started"):
        hire.stage = "started"
    intro = (
        f"Welcome! {firm.name} invited you to register for your Secure Access account, so you can use IRS "
        "e-Services at work.\n\n"
        f"{firm.name}'s admins will see how far you've got, when you were last active and, if you get held "
        "up, the kind of problem (such as \"credit freeze\") so they can help. Never your SSN, date of birth, "
        "account digits, phone number or answers. /stop_sharing stops this (they'd then see only whether "
        "you've finished); /privacy says more."
    )
    account = await store.account_for_chat(ctx.chat_id)
    if account is not None:
        hire.account_id = account.id
        if account.status == "active":
            hire.stage = "done"
            hire.done_at = now
            await store.notify_admins(hire, finished_notice(store.name(hire)))
            return [Reply(f"{intro}\n\nYou already have an account, so there's nothing more to do: I've told {firm.name} you're all set.")]
        if account.status == "pending_letter":
            hire.stage = "waiting_letter"
    flow_name, _state = here
    if flow_name in BUSY_FLOWS or flow_name == "admin" or account is not None:
        return [Reply(f"{intro}\n\nLet's carry on where you are:")]
    ctx.go("home", "welcome")
    return [Reply(intro)]


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
flow.validate()

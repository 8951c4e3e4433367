"""The roster: an admin's team (``/team``), one hire's card, reminders (``/remind``) and the
team as a spreadsheet (``/export``). The steps are registered by ``flows.admin``.
"""

from __future__ import annotations

import csv
import io
from datetime import timedelta
from zoneinfo import ZoneInfo

from domain import hires as rules
from domain.hires import BLOCKERS, STAGE_LABELS, local
from domain.i18n import N_, _, ngettext
from domain.validators import Invalid
from flows.admin_common import (
    FORGED,
    NO_LONGER_ADMIN,
    clip,
    day,
    describe,
    current_hire,
    hire_list,
    invite_state,
    leave,
    need_firm,
    picked_hire,
    firm_screen,
    short_status,
    status_words,
    team_rows,
    time,
    zone,
)
from flows.core import Answer, Ctx
from flows.hires import facts
from flows.invitations import issue_invite
from flows.replies import Document, Notify

# =============================================================================================
# The team
# =============================================================================================

TEAM_HELP = N_(
    "Your firm's new hires and how far each has got. Tap a name for details. /invite invites someone, "
    "/remind nudges a hire, /export sends the list as a spreadsheet, /admins manages admins."
)


@firm_screen
async def team_screen(ctx: Ctx, store, _admin, firm):
    """(store, firm, rows) of the admin's team."""
    return store, firm, await team_rows(ctx, store, firm)


async def team_text(ctx: Ctx) -> str:
    loaded = await team_screen(ctx)
    if loaded is None:
        return _(NO_LONGER_ADMIN)
    _store, firm, rows = loaded
    if not rows:
        return _(
            "{firm}: nobody invited yet.\n\nTap \"Invite a new hire\" to create a personal link for "
            "someone; you forward it to them and follow their registration here."
        ).format(firm=firm.name)
    lines = [_("{firm}: your team ({n})").format(firm=firm.name, n=len(rows)), ""]
    for i, (_hire, d) in enumerate(rows, 1):
        line = f"{i}. {d['name']}: {status_words(ctx, d)}"
        if d["last_active"]:
            line += "\n    " + _("last active {time}").format(time=time(ctx, d["last_active"]))
        if d["blocker"]:
            line += "\n    " + _("⚠️ Stuck: {problem}").format(problem=d["blocker_text"])
        lines.append(line)
    lines += ["", _("Tap a name for details, reminders and the invitation link.")]
    most = ctx.policy.firms.roster_buttons
    if len(rows) > most:
        lines.append(
            # English says "people" even for one (as it always has); other languages agree
            ngettext(
                "(Buttons are shown for {n} people, those stuck or in progress first; /remind NAME and "
                "/invites reach the others.)",
                "(Buttons are shown for {n} people, those stuck or in progress first; /remind NAME and "
                "/invites reach the others.)",
                most,
            ).format(n=most)
        )
    return "\n".join(lines)


def _button_order(item) -> tuple:
    """Who gets a button first when the team is large: stuck, then in progress, invited, done."""
    hire, d = item
    if d["blocker"]:
        group = 0
    elif d["stage"] != "invited" and not rules.is_done(d["stage"]):
        group = 1
    elif d["stage"] == "invited":
        group = 2
    else:
        group = 3
    return group, hire.created_at, hire.id


async def team_choices(ctx: Ctx):
    loaded = await team_screen(ctx)
    if loaded is None:
        return [[("close", _("Close"))]]
    _store, _firm, rows = loaded
    shown = sorted(rows, key=_button_order)[: ctx.policy.firms.roster_buttons]
    shown.sort(key=lambda item: (item[0].created_at, item[0].id))
    rows = [[(f"h{hire.id}", f"{clip(d['name'])} · {short_status(ctx, d)}")] for hire, d in shown]
    rows += [
        [("invite", _("➕ Invite a new hire"))],
        [("export", _("📄 Export (CSV)")), ("invites", _("Invitations"))],
        [("admins", _("Admins")), ("close", _("Close"))],
    ]
    return rows


async def team(ctx: Ctx, a: Answer):
    if a.choice == "close":
        leave(ctx)
        return None
    found = await need_firm(ctx)
    if found is None:
        return None
    if a.choice == "export":
        ctx.actions.append(await export_team(ctx))
        return "stay"
    if a.choice and a.choice.startswith("h"):
        _store, hire = await picked_hire(ctx, a)
        if hire is None:
            return None
        ctx.data["hire_id"] = hire.id
        return "hire"
    return a.choice


# =============================================================================================
# One hire
# =============================================================================================

HIRE_HELP = N_("One hire: their stage, when they were last active and anything holding them up, with what to tell them.")


@firm_screen
async def hire_screen(ctx: Ctx, store, _admin, firm):
    """(store, hire, their latest invitation, what the admin sees), hire None if not theirs."""
    hire = await current_hire(ctx, store, firm)
    if hire is None:
        return store, None, None, None
    invite = await store.latest_invite(hire)
    seen = (await store.last_active([hire.chat_id])).get(hire.chat_id) if hire.chat_id else None
    return store, hire, invite, await describe(ctx, store, hire, invite, seen)


async def hire_text(ctx: Ctx) -> str:
    loaded = await hire_screen(ctx)
    if loaded is None:
        return _(NO_LONGER_ADMIN)
    _store, hire, _invite, d = loaded
    if hire is None:
        return _(FORGED)
    lines = [d["name"]]
    if d["email"]:
        lines.append(_("Email: {email}").format(email=d["email"]))
    lines.append(_("Stage: {stage}").format(stage=status_words(ctx, d)))
    lines.append(_("Invited: {date}").format(date=day(ctx, d["invited_at"])))
    if d["last_active"]:
        lines.append(_("Last active: {time}").format(time=time(ctx, d["last_active"])))
    if d["blocker"]:
        lines.append("\n" + _("⚠️ Stuck: {problem}").format(problem=d["blocker_text"]))
    if not d["shared"]:
        lines.append("\n" + _("They've chosen not to share their progress, so you'll only see when they're done."))
    if d["reminded_at"]:
        lines.append(_("Last reminder: {time}").format(time=time(ctx, d["reminded_at"])))
    if d["stage"] == "invited" and not d["opened"] and d["invite"] == "pending":
        lines.append(
            "\n" + _("They haven't opened their link yet. If they lost it, re-send it (the old link stops working).")
        )
    return "\n".join(lines)


async def hire_choices(ctx: Ctx):
    loaded = await hire_screen(ctx)
    if loaded is None or loaded[1] is None:
        return [[("back", _("Back to the team"))]]
    _store, hire, invite, _d = loaded
    state = invite_state(ctx, invite)
    done = rules.is_done(hire.stage)
    rows = []
    if hire.chat_id is not None and not done:
        rows.append([("remind", _("🔔 Send a reminder"))])
    if hire.chat_id is None:
        rows.append([("resend", _("Re-send invite (new link)"))])
        if state == "pending":
            rows.append([("revoke", _("Revoke invite"))])
    if hire.chat_id is None and state != "pending" or done:
        rows.append([("remove", _("Remove from the list"))])
    rows.append([("back", _("Back to the team"))])
    return rows


async def hire_card(ctx: Ctx, a: Answer):
    if a.choice == "back":
        return "back"
    found = await need_firm(ctx)
    if found is None:
        return None
    store, _admin, firm = found
    hire = await current_hire(ctx, store, firm)
    if hire is None:
        ctx.say(_(FORGED))
        return "back"
    if a.choice == "remind":
        await remind(ctx, store, firm, hire)
        return "stay"
    if a.choice == "resend":
        if hire.chat_id is not None:
            raise Invalid(_("They've already opened their invitation, so there's nothing to re-send."), "firm.opened")
        await issue_invite(ctx, store, firm, hire)
        return "invited"
    ctx.data["confirm"] = a.choice  # revoke | remove
    return "confirm"


# =============================================================================================
# Reminding
# =============================================================================================

REMIND_HELP = N_(
    "A reminder is a short message to the hire with their next step. Each hire gets at most one every few hours."
)


async def remind(ctx: Ctx, store, firm, hire) -> None:
    """Nudge ``hire`` (of ``firm``) in their own chat, at most once per configured interval."""
    name = store.name(hire)
    if hire.chat_id is None:
        raise Invalid(
            _(
                "{name} hasn't opened their invitation yet, so I can't message them. Re-send the invitation "
                "from their card (it makes a new link), and forward it to them again."
            ).format(name=name),
            "firm.not_opened",
        )
    if rules.is_done(hire.stage):
        raise Invalid(_("{name} has already finished; no reminder needed.").format(name=name), "firm.done")
    every = timedelta(hours=ctx.policy.firms.remind_every_hours)
    if hire.reminded_at is not None and ctx.now() < hire.reminded_at + every:
        raise Invalid(
            _(
                "{name} was reminded at {time}. To avoid pestering them, the next reminder "
                "can go after {next}."
            ).format(name=name, time=time(ctx, hire.reminded_at), next=time(ctx, hire.reminded_at + every)),
            "firm.remind_too_soon",
        )
    letter_expires = await store.letter_expiry(hire.account_id)
    async with ctx.speaking_to(hire.chat_id):  # in the hire's language
        text = rules.nudge_text(firm.name, store.progress(hire), letter_expires, zone(ctx), facts(ctx.policy))
    ctx.actions.append(Notify(hire.chat_id, text))
    store.mark_reminded(hire, ctx.now())
    ctx.say(_("Sent {name} this reminder:\n\n{text}").format(name=name, text=text))


@firm_screen
async def remind_screen(ctx: Ctx, store, _admin, firm):
    """The hires that can be reminded and match the name asked for."""
    wanted = (ctx.data.get("remind_filter") or "").casefold()
    out = []
    for hire, d in await team_rows(ctx, store, firm):
        if hire.chat_id is None or rules.is_done(hire.stage):
            continue
        if wanted and wanted not in d["name"].casefold():
            continue
        out.append((hire, d))
    return out


async def remind_text(ctx: Ctx) -> str:
    rows = await remind_screen(ctx)
    if rows is None:
        return _(NO_LONGER_ADMIN)
    if not rows:
        if ctx.data.get("remind_filter"):
            return _(
                "Nobody on your team matching \"{name}\" can be reminded right now (they must have opened their "
                "link and not be done yet)."
            ).format(name=ctx.data["remind_filter"])
        return _("Nobody to remind: reminders go to hires who've opened their link and haven't finished.")
    return _("Who should I remind? They get a short message with their next step.")


remind_choices = hire_list(remind_screen)


async def remind_pick(ctx: Ctx, a: Answer):
    if a.choice == "back":
        return "back"
    store, hire = await picked_hire(ctx, a)
    if hire is not None:  # then they are an admin: their firm is known this turn
        _store, _admin, firm = await need_firm(ctx)
        await remind(ctx, store, firm, hire)
        ctx.data.pop("remind_filter", None)
        return "sent"
    return None


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


async def export_team(ctx: Ctx) -> Document:
    """The admin's team as a CSV file (they are an admin: :func:`firm_of` found them)."""
    _store, firm, rows = await team_screen(ctx)
    return export_document(ctx, firm, rows)


def export_document(ctx: Ctx, firm, rows) -> Document:
    """The team (``rows`` of :func:`team_rows`) as a CSV file."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(CSV_FIELDS)
    where = zone(ctx)
    for _hire, d in rows:
        what, advice = "", ""
        if d["blocker"]:
            what, advice, _hint = BLOCKERS.get(d["blocker"], ("", "", ""))
        writer.writerow(
            [
                _cell(x)
                for x in (
                    d["name"],
                    d["email"],
                    _(STAGE_LABELS.get(d["stage"], d["stage"])),
                    _(what),
                    _(advice),
                    local(d["locked_until"], where) if d["locked_until"] else "",
                    local(d["letter_expires"], where, with_time=False) if d["letter_expires"] else "",
                    local(d["last_active"], where) if d["last_active"] else "",
                    local(d["invited_at"], where, with_time=False),
                    "opened" if d["opened"] else d["invite"],
                    local(d["invite_expires"], where, with_time=False) if d["invite_expires"] and not d["opened"] else "",
                    local(d["done_at"], where, with_time=False) if d["done_at"] and rules.is_done(d["stage"]) else "",
                    "yes" if d["shared"] else "no",
                )
            ]
        )
    today = ctx.now().astimezone(ZoneInfo(where)).date().isoformat()
    return Document(
        data=buffer.getvalue().encode("utf-8-sig"),
        filename=f"team-{today}.csv",
        caption=ngettext("{firm}: {n} person as of {time}.", "{firm}: {n} people as of {time}.", len(rows)).format(
            firm=firm.name, n=len(rows), time=time(ctx, ctx.now())
        ),
    )

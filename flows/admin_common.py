"""What every admin screen needs: who is talking and their firm, the way out of the admin menu,
times in the firm's zone, each screen's data looked up once per turn, and hires described as an
admin may see them.

An admin is a Telegram user (the terminal chat counts its chat as the user). Every step looks the
admin's firm up from who is talking (once per turn), and every hire a button names is fetched
*within that firm*, so a forged or stale button can't reach another firm's people.
"""

from __future__ import annotations

from functools import wraps
from weakref import WeakKeyDictionary

from domain import hires as rules
from domain.hires import STAGE_LABELS, blocker_text, local
from domain.i18n import N_, _
from domain.validators import Invalid
from flows.core import Answer, Ctx
from flows.hires import facts, firm_store

#: flows an admin command must not interrupt (their answers would be lost)
BUSY_FLOWS = ("registration", "login", "profile", "exception")

NOT_ADMIN = N_(
    "That command is for a firm's admins, and you aren't one. If your firm uses this bot, ask its admin "
    "to add you: /myid shows the number they'll need."
)
NO_LONGER_ADMIN = N_("You aren't an admin of a firm any more, so I've closed the admin menu.")
FORGED = N_("That person isn't on your team list (any more), so I haven't done anything.")

#: what this turn has looked up already: the admin's firm, and each screen's data
_TURNS: WeakKeyDictionary = WeakKeyDictionary()
_FIRM = "firm"


def _turn(ctx: Ctx) -> dict:
    memo = _TURNS.get(ctx)
    if memo is None:
        memo = _TURNS[ctx] = {}
    return memo


def screen(load):
    """A screen's loader, shared by its text and its buttons: run once per turn, until the
    answer is handled (:func:`answered`)."""

    @wraps(load)
    async def loaded(ctx: Ctx):
        memo = _turn(ctx)
        if load not in memo:
            memo[load] = await load(ctx)
        return memo[load]

    return loaded


def firm_screen(load):
    """A screen's loader for an admin, ``load(ctx, store, admin, firm)``, run once per turn; None
    (without running it) when the person talking is no longer an admin."""

    @wraps(load)
    async def for_firm(ctx: Ctx):
        found = await firm_of(ctx)
        return None if found is None else await load(ctx, *found)

    return screen(for_firm)


def answered(ctx: Ctx, *, firm_changed: bool = False) -> None:
    """An answer was handled: the screens shown next are looked up again (and the admin's firm
    too if ``firm_changed``)."""
    memo = _turn(ctx)
    kept = memo.get(_FIRM, ()) if not firm_changed else ()
    memo.clear()
    if kept != ():
        memo[_FIRM] = kept


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
    memo = _turn(ctx)
    if _FIRM not in memo:
        store = firm_store(ctx)
        found = await store.admin(user_id(ctx))
        if found is not None:
            admin, firm = found
            store.note_admin_chat(admin, ctx.chat_id)
            found = (store, admin, firm)
        memo[_FIRM] = found
    return memo[_FIRM]


async def need_firm(ctx: Ctx):
    found = await firm_of(ctx)
    if found is None:
        ctx.say(_(NO_LONGER_ADMIN))
        leave(ctx)
    return found


def leave(ctx: Ctx) -> None:
    """Back to wherever the admin was before the admin menu."""
    flow_name, state = ctx.data.get("_return") or ("home", "welcome")
    if flow_name == "home" and state == "signed_in" and not ctx.data.get("session"):
        state = "registered"
    ctx.go(flow_name, state)


# =============================================================================================
# Times, in the firm's zone
# =============================================================================================


def zone(ctx: Ctx) -> str:
    return ctx.policy.firms.timezone


def day(ctx: Ctx, moment) -> str:
    return local(moment, zone(ctx), with_time=False)


def time(ctx: Ctx, moment) -> str:
    return local(moment, zone(ctx))


def clip(text: str, n: int = 28) -> str:
    return text if len(text) <= n else text[: n - 1] + "…"


# =============================================================================================
# Describing hires
# =============================================================================================


def invite_state(ctx: Ctx, invite) -> str:
    """pending | expired | revoked | used | none"""
    if invite is None:
        return "none"
    return rules.invite_state(invite.used_at, invite.revoked_at, invite.expires_at, ctx.now())


async def describe(ctx: Ctx, store, hire, invite, last_seen) -> dict:
    """Everything an admin may see about one hire, as plain values (for the roster, card, CSV)."""
    shared = bool(hire.tracking)
    done = rules.is_done(hire.stage)
    out = {
        "name": store.name(hire),
        "email": store.email(hire) or "",
        "stage": hire.stage if shared or done else "invited",
        "shared": shared,
        "invite": invite_state(ctx, invite),
        "invite_expires": invite.expires_at if invite is not None else None,
        "invited_at": hire.created_at,
        "opened": hire.chat_id is not None,
        "done_at": hire.done_at,
        "last_active": last_seen if shared and hire.chat_id is not None else None,
        "blocker": hire.blocker if shared and not done else None,
        "blocker_text": (
            blocker_text(hire.blocker, hire.blocker_until, zone(ctx), facts(ctx.policy), ctx.now()) if shared and hire.blocker and not done else ""
        ),
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
    if rules.is_done(stage):
        if d["done_at"]:
            return _("done ✅ (finished {date})").format(date=day(ctx, d["done_at"]))
        return _("done ✅")
    if stage == "invited":
        if d["opened"]:
            return _("invited (they've chosen not to share their progress)")
        invite, expires = d["invite"], d["invite_expires"]
        if invite == "pending" and expires:
            return _("invited, link not opened yet (expires {date})").format(date=day(ctx, expires))
        if invite == "expired" and expires:
            return _("invited, link expired on {date} unopened").format(date=day(ctx, expires))
        if invite == "revoked":
            return _("invitation withdrawn")
        return _("invited")
    text = _(STAGE_LABELS.get(stage, stage))
    if stage == "waiting_letter" and d["letter_expires"]:
        if d["letter_expires"] > ctx.now():
            return _("{stage} (its code works until {date})").format(stage=text, date=day(ctx, d["letter_expires"]))
        return _("{stage} (its code expired on {date}: they should sign in and ask for a new letter)").format(
            stage=text, date=day(ctx, d["letter_expires"])
        )
    return text


def short_status(ctx: Ctx, d: dict) -> str:
    if d["blocker"]:
        return _("⚠️ stuck")
    if rules.is_done(d["stage"]):
        return _("✅ done")
    if d["stage"] == "invited":
        if d["invite"] == "expired":
            return _("link expired")
        if d["invite"] == "revoked":
            return _("withdrawn")
        return _("invited")
    return _(STAGE_LABELS.get(d["stage"], d["stage"]))


async def team_rows(ctx: Ctx, store, firm) -> list[tuple[object, dict]]:
    hires = await store.hires(firm.id)
    invites = await store.latest_invites(firm.id)
    seen = await store.last_active([h.chat_id for h in hires if h.chat_id is not None])
    return [(h, await describe(ctx, store, h, invites.get(h.id), seen.get(h.chat_id))) for h in hires]


def hire_rows(ctx: Ctx, rows):
    """One button per hire (name and where they stand), then the way back to the team."""
    return [[(f"h{h.id}", f"{clip(d['name'])} · {short_status(ctx, d)}")] for h, d in rows] + [[("back", _("Back to the team"))]]


def hire_list(load):
    """The buttons of a screen listing the hires ``load`` finds: one per hire, then back."""

    async def choices(ctx: Ctx):
        return hire_rows(ctx, await load(ctx) or [])

    return choices


async def current_hire(ctx: Ctx, store, firm):
    """The hire the admin is looking at, if still on ``firm``'s team."""
    return await store.hire(firm.id, ctx.data.get("hire_id") or 0)


async def picked_hire(ctx: Ctx, a: Answer):
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
        raise Invalid(_(FORGED), "firm.not_yours")
    return store, hire

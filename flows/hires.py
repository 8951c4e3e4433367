"""New hires invited by a firm: what their admin may see, and the hooks the registration calls.

The registration calls :func:`record_hire_event` where something an admin would want to know
happens (email confirmed, identity confirmed, a credit freeze, a lockout...). For anyone who did
not come through a firm's invitation it does nothing. What is recorded is a stage or a blocker
*category* and a time: never what the hire typed. A hire can stop sharing (``/stop_sharing``):
their firm then sees only "invited" or "done".
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from flows.core import Ctx

class Refused(Exception):
    """A firm request that can't be done; the message says why in plain words."""


#: the stages, in the order a registration reaches them
STAGES = [
    "invited",
    "started",
    "email_confirmed",
    "identity_confirmed",
    "financial_confirmed",
    "phone_confirmed",
    "waiting_letter",
    "done",
]
STAGE_LABELS = {
    "invited": "invited",
    "started": "started",
    "email_confirmed": "email confirmed",
    "identity_confirmed": "identity confirmed",
    "financial_confirmed": "financial account confirmed",
    "phone_confirmed": "phone confirmed",
    "waiting_letter": "waiting for the letter",
    "done": "done",
}

#: blocker category -> (what it is, advice for the admin to pass on, the hire's next step)
BLOCKERS: dict[str, tuple[str, str, str]] = {
    "identity_mismatch": (
        "identity details don't match the tax records",
        "Ask them to copy each item exactly from their last-filed return: the name as printed, the "
        "filing status they actually used, and the address as the return shows it (apartment, "
        "abbreviations, ZIP). If they moved or filed very recently, the previous return's address "
        "may be the one on record.",
        "check each detail against your last-filed return (name, filing status and the address as "
        "printed), fix what differs with its Change button, and check again",
    ),
    "unsupported_card": (
        "tried a card that can't be used",
        "American Express, debit cards and company cards are refused. Any personal Visa, Mastercard "
        "or Discover credit card works, or a home mortgage, home equity loan, HELOC or car loan in "
        "their own name.",
        "use a personal credit card (not American Express, debit or company), or a mortgage, home "
        "equity loan, HELOC or car loan in your name",
    ),
    "financial_mismatch": (
        "financial account digits don't match",
        "They should type the last eight digits of the account number itself (not a card's "
        "security code; for a loan, from a statement), or try a different account in their name.",
        "type the last eight digits of the account number from a statement, or try a different account",
    ),
    "credit_freeze": (
        "credit freeze at Experian",
        "Their Experian credit file is frozen, so the financial check can't read it. They need to "
        "lift the freeze for a while with Experian (online or by phone), then tap \"The freeze is "
        "lifted – try again\".",
        "lift the freeze on your Experian credit file for a while, then tap \"The freeze is lifted – "
        "try again\"",
    ),
    "locked": (
        "too many attempts",
        "The checks are paused after too many tries. Their answers are saved; they can carry on "
        "once the pause ends. Before trying again, they should check each detail against their "
        "last-filed return.",
        "wait until the pause ends, then check each detail against your last-filed return and try again",
    ),
    "phone_not_in_name": (
        "phone not in their name",
        "Their mobile number isn't listed in their name (family-plan, prepaid and work phones "
        "often aren't). They can use a phone in their own name, or choose to get the activation "
        "code by mail (5 to 10 business days) and add any phone afterwards.",
        "use a mobile phone in your own name, or choose \"Send me the code by mail\"",
    ),
}

#: what the hire does next, by stage (for reminders an admin sends)
NEXT_STEPS = {
    "started": "tap \"Begin registration\" and enter your name and email",
    "email_confirmed": "enter your SSN, date of birth, filing status and the address from your last-filed return",
    "identity_confirmed": "the financial check: the last eight digits of a credit card, mortgage, home equity loan, HELOC or car loan",
    "financial_confirmed": "confirm your mobile phone with a texted code (or choose the code by mail)",
    "phone_confirmed": "choose your username, password, site phrase and site image",
    "waiting_letter": "when the letter comes, send /login, sign in and type its activation code",
}

#: events that move a hire forward
PROGRESS = set(STAGES[1:])
#: identity mismatches and unsupported cards happen to everyone once; these stop a hire at once
ALERT_AT_ONCE = {"locked", "credit_freeze"}


def rank(stage: str) -> int:
    return STAGES.index(stage) if stage in STAGES else 0


def local(moment: datetime, zone: str, *, with_time: bool = True) -> str:
    here = moment.astimezone(ZoneInfo(zone))
    if with_time:
        return f"{here:%b} {here.day}, {here:%-I:%M %p %Z}"
    return f"{here:%b} {here.day}, {here.year}"


def blocker_text(hire, zone: str, now: datetime | None = None) -> str:
    """The blocker as an admin sees it: category, when it ends (a pause), advice."""
    what, advice, _ = BLOCKERS.get(hire.blocker, ("held up", "", ""))
    if hire.blocker == "locked" and hire.blocker_until:
        if now is not None and hire.blocker_until <= now:
            what = f"was locked until {local(hire.blocker_until, zone)} ({what}); they can try again now"
        else:
            what = f"locked until {local(hire.blocker_until, zone)} ({what})"
    return f"{what}. {advice}".strip()


def clear_blocker(hire) -> None:
    hire.blocker = None
    hire.blocker_until = None
    hire.blocker_at = None
    hire.blocker_count = 0
    hire.blocker_notified_at = None


# -- notices to the admin ----------------------------------------------------------------------


def finished_notice(name: str) -> str:
    return f"🎉 {name} has finished registering for Secure Access. /team shows everyone."


def stuck_notice(name: str, hire, zone: str) -> str:
    return f"⚠️ {name} is stuck: {blocker_text(hire, zone)}\n\n/remind sends them a short nudge with their next step."


def help_notice(name: str, hire, zone: str) -> str:
    lead = (
        f"⚠️ {name} can't get through online and asked for help. Phone help (exception processing) is "
        "only for people who already have an e-Services account, so it isn't open to them."
    )
    if hire.blocker:
        return f"{lead}\n\nWhat's holding them up: {blocker_text(hire, zone)}"
    return lead


def letter_expiring_notice(name: str, expires: datetime, zone: str) -> str:
    return (
        f"⏳ The activation code in {name}'s letter stops working on {local(expires, zone, with_time=False)}. "
        "If the letter has come, they should send /login, sign in and type it; if not, they can sign in "
        "and ask for a new letter. /remind sends them a nudge."
    )


def invite_expired_notice(name: str, expired: datetime, zone: str) -> str:
    return (
        f"The invitation for {name} expired on {local(expired, zone, with_time=False)} without being opened. "
        f"To send a new link: /team, tap {name}, then \"Re-send invite\"."
    )


# -- the hooks ---------------------------------------------------------------------------------


def firm_store(ctx: Ctx):
    return ctx.services.firms(ctx.repo.session)


def _zone(ctx: Ctx) -> str:
    return ctx.policy.firms.timezone


async def record_hire_event(ctx: Ctx, event: str, *, until: datetime | None = None) -> bool:
    """Note a stage or blocker for the invited hire in this chat (nothing for anyone else).

    ``event`` is a stage of :data:`STAGES`, a blocker of :data:`BLOCKERS`, ``"cancelled"`` (the
    registration was erased) or ``"asked_for_help"`` (online proofing failed and exception
    processing isn't open to them). Returns whether this chat belongs to an invited hire."""
    store = firm_store(ctx)
    hires = await store.hires_for_chat(ctx.chat_id)
    for hire in hires:
        await _apply(ctx, store, hire, event, until)
    return bool(hires)


async def _apply(ctx: Ctx, store, hire, event: str, until: datetime | None) -> None:
    now = ctx.now()
    if ctx.data.get("account_id") and hire.account_id is None:
        hire.account_id = ctx.data["account_id"]
    if hire.stage == "done":
        return
    name = store.name(hire)
    zone = _zone(ctx)
    if event == "done":
        hire.stage = "done"
        hire.done_at = now
        clear_blocker(hire)
        await store.notify_admins(hire, finished_notice(name))
    elif event in PROGRESS:
        if rank(event) > rank(hire.stage):
            hire.stage = event
        clear_blocker(hire)
    elif event == "cancelled":
        hire.stage = "started"
        clear_blocker(hire)
    elif not hire.tracking:
        return
    elif event in BLOCKERS:
        same = hire.blocker == event
        hire.blocker = event
        hire.blocker_until = until
        hire.blocker_count = (hire.blocker_count or 0) + 1 if same else 1
        if not same:
            hire.blocker_at = now
            hire.blocker_notified_at = None
        alert = event in ALERT_AT_ONCE or (
            event == "identity_mismatch" and hire.blocker_count >= ctx.policy.firms.mismatch_alerts_after
        )
        if alert and hire.blocker_notified_at is None:
            hire.blocker_notified_at = now
            await store.notify_admins(hire, stuck_notice(name, hire, zone))
    elif event == "asked_for_help":
        hire.blocker_notified_at = now
        if hire.blocker is None:
            hire.blocker_at = now
        await store.notify_admins(hire, help_notice(name, hire, zone))
        firm = await store.firm(hire.firm_id)
        ctx.say(f"I've let your admin at {firm.name} know what's holding you up, so they can help you with it.")


# -- the hire's side: what the firm sees, and saying no ---------------------------------------


async def privacy_note(ctx: Ctx) -> str | None:
    """For an invited hire, what their firm can see (added to /privacy)."""
    store = firm_store(ctx)
    hires = await store.hires_for_chat(ctx.chat_id)
    if not hires:
        return None
    names = ", ".join(sorted({(await store.firm(h.firm_id)).name for h in hires}))
    if all(not h.tracking for h in hires):
        return (
            f"You came here through an invitation from {names}. You've chosen not to share your progress, so "
            "they only see whether you're invited or done. /share_progress lets them follow it again."
        )
    return (
        f"You came here through an invitation from {names}. Their admins see the name they invited you "
        "under, how far you've got (for example \"identity confirmed\"), when you were last active, and "
        "if you're held up, only the kind of problem (such as \"credit freeze\") so they can help. They "
        "never see your SSN, date of birth, account digits, phone number, answers or password.\n"
        "/stop_sharing stops this: they'll then only see whether you're invited or done."
    )


async def set_sharing(ctx: Ctx, share: bool) -> str:
    store = firm_store(ctx)
    hires = await store.hires_for_chat(ctx.chat_id)
    if not hires:
        return "Nobody follows your registration: you didn't come here through a firm's invitation."
    for hire in hires:
        hire.tracking = share
        if not share:
            clear_blocker(hire)
    if share:
        return "Thanks: your firm can follow your progress again (stage, last active and the kind of any problem)."
    return (
        "Done: your firm now sees only whether you're invited or done, nothing in between. "
        "/share_progress turns sharing back on."
    )

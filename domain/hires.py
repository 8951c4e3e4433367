"""The hire rules: the stages a new hire goes through, what holds them up, what their firm's admin
is told and when. Plain values in, plain values out: the flows and the firm store apply them.

A hire's :class:`Progress` moves with the events the registration reports
(:func:`after_event`); :func:`finished` is the one place a hire becomes done, whether the
registration ends, an invitation is opened by someone already registered, or a letter's code is
typed.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from domain.i18n import N_, _, format_date, format_datetime


class Refused(Exception):
    """A firm request that can't be done; the message says why in plain words (translated where
    it is raised)."""


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
#: (shown as ``_(STAGE_LABELS[stage])``)
STAGE_LABELS = {
    "invited": N_("invited"),
    "started": N_("started"),
    "email_confirmed": N_("email confirmed"),
    "identity_confirmed": N_("identity confirmed"),
    "financial_confirmed": N_("financial account confirmed"),
    "phone_confirmed": N_("phone confirmed"),
    "waiting_letter": N_("waiting for the letter"),
    "done": N_("done"),
}

@dataclass(frozen=True)
class Facts:
    """What the hire texts mention that config.yaml decides: the refused cards ("American Express,
    debit cards and company cards") and how many business days a letter takes (first, last)."""

    refused_cards: str
    letter_days: tuple[int, int]

    def fill(self, text: str) -> str:
        """``text`` translated, with the facts filled in."""
        first, last = self.letter_days
        return _(text).format(
            refused_cards=self.refused_cards, letter_days=_("{first} to {last}").format(first=first, last=last)
        )


#: blocker category -> (what it is, advice for the admin to pass on, the hire's next step)
#: ({refused_cards} and {letter_days} are filled from :class:`Facts`; each text is translated where
#: it is shown, :meth:`Facts.fill` does both)
BLOCKERS: dict[str, tuple[str, str, str]] = {
    "identity_mismatch": (
        N_("identity details don't match the tax records"),
        N_(
            "Ask them to copy each item exactly from their last-filed return: the name as printed, the "
            "filing status they actually used, and the address as the return shows it (apartment, "
            "abbreviations, ZIP). If they moved or filed very recently, the previous return's address "
            "may be the one on record."
        ),
        N_(
            "check each detail against your last-filed return (name, filing status and the address as "
            "printed), fix what differs with its Change button, and check again"
        ),
    ),
    "unsupported_card": (
        N_("tried a card that can't be used"),
        N_(
            "{refused_cards} are refused. Any other personal credit card works, or a home mortgage, "
            "home equity loan, HELOC or car loan in their own name."
        ),
        N_(
            "use a personal credit card (not {refused_cards}), or a mortgage, home equity loan, HELOC "
            "or car loan in your name"
        ),
    ),
    "financial_mismatch": (
        N_("financial account digits don't match"),
        N_(
            "They should type the last eight digits of the account number itself (not a card's "
            "security code; for a loan, from a statement), or try a different account in their name."
        ),
        N_("type the last eight digits of the account number from a statement, or try a different account"),
    ),
    "credit_freeze": (
        N_("credit freeze at Experian"),
        N_(
            "Their Experian credit file is frozen, so the financial check can't read it. They need to "
            "lift the freeze for a while with Experian (online or by phone), then tap \"The freeze is "
            "lifted – try again\"."
        ),
        N_(
            "lift the freeze on your Experian credit file for a while, then tap \"The freeze is lifted – "
            "try again\""
        ),
    ),
    "locked": (
        N_("too many attempts"),
        N_(
            "The checks are paused after too many tries. Their answers are saved; they can carry on "
            "once the pause ends. Before trying again, they should check each detail against their "
            "last-filed return."
        ),
        N_("wait until the pause ends, then check each detail against your last-filed return and try again"),
    ),
    "phone_not_in_name": (
        N_("phone not in their name"),
        N_(
            "Their mobile number isn't listed in their name (family-plan, prepaid and work phones "
            "often aren't). They can use a phone in their own name, or choose to get the activation "
            "code by mail ({letter_days} business days) and add any phone afterwards."
        ),
        N_("use a mobile phone in your own name, or choose \"Send me the code by mail\""),
    ),
}

#: what the hire does next, by stage (for reminders an admin sends)
NEXT_STEPS = {
    "started": N_("tap \"Begin registration\" and enter your name and email"),
    "email_confirmed": N_("enter your SSN, date of birth, filing status and the address from your last-filed return"),
    "identity_confirmed": N_("the financial check: the last eight digits of a credit card, mortgage, home equity loan, HELOC or car loan"),
    "financial_confirmed": N_("confirm your mobile phone with a texted code (or choose the code by mail)"),
    "phone_confirmed": N_("choose your username, password, site phrase and site image"),
    "waiting_letter": N_("when the letter comes, send /login, sign in and type its activation code"),
}

#: events that move a hire forward
PROGRESS = set(STAGES[1:])
#: identity mismatches and unsupported cards happen to everyone once; these stop a hire at once
ALERT_AT_ONCE = {"locked", "credit_freeze"}


#: the notice an event calls for (see :func:`after_event`)
FINISHED, STUCK, HELP = "finished", "stuck", "help"


def rank(stage: str) -> int:
    return STAGES.index(stage) if stage in STAGES else 0


def local(moment: datetime, zone: str, *, with_time: bool = True) -> str:
    """'Mar 3, 7:30 AM EST' (or 'Mar 3, 2027') in ``zone``, in the current language."""
    here = moment.astimezone(ZoneInfo(zone))
    if with_time:
        # a Babel pattern; '{zone}' (quoted: literal text for Babel) is the zone's abbreviation
        return format_datetime(here, _("MMM d, h:mm a '{zone}'")).format(zone=here.tzname() or "")
    return format_date(here, _("MMM d, y"))


# -- where a hire stands -----------------------------------------------------------------------


@dataclass(frozen=True)
class Progress:
    """How far a hire got and what holds them up (the parts of a hire the rules change)."""

    stage: str = "invited"
    done_at: datetime | None = None
    blocker: str | None = None
    blocker_until: datetime | None = None
    blocker_at: datetime | None = None
    blocker_count: int = 0
    blocker_notified_at: datetime | None = None
    tracking: bool = True

    @property
    def done(self) -> bool:
        return is_done(self.stage)


#: the last stage: the hire has finished
DONE = "done"


def is_done(stage: str | None) -> bool:
    """Whether a hire at ``stage`` has finished (nothing more is followed)."""
    return stage == DONE


def cleared(p: Progress) -> Progress:
    """Nothing holds the hire up any more."""
    return replace(p, blocker=None, blocker_until=None, blocker_at=None, blocker_count=0, blocker_notified_at=None)


def finished(p: Progress, now: datetime) -> Progress:
    """The hire is done: registered, or their account became active."""
    return replace(cleared(p), stage=DONE, done_at=now)


def account_finished(status: str | None) -> bool:
    """An account in this status means its hire is done."""
    return status == "active"


def opened(p: Progress, account_status: str | None, now: datetime) -> Progress:
    """The hire opened their invitation (``account_status``: the account already in their chat)."""
    if rank(p.stage) < rank("started"):
        p = replace(p, stage="started")
    if account_finished(account_status):
        return finished(p, now)
    if account_status == "pending_letter":
        p = replace(p, stage="waiting_letter")
    return p


def after_event(
    p: Progress, event: str, *, now: datetime, until: datetime | None = None, alert_after: int = 1
) -> tuple[Progress, str | None]:
    """``p`` after a registration ``event`` (a stage, a blocker, ``"cancelled"`` or
    ``"asked_for_help"``), and the notice the admins should get (:data:`FINISHED`,
    :data:`STUCK`, :data:`HELP` or None). ``alert_after``: identity mismatches in a row that
    make a hire stuck."""
    if p.done:
        return p, None
    if event == DONE:
        return finished(p, now), FINISHED
    if event in PROGRESS:
        return cleared(replace(p, stage=event) if rank(event) > rank(p.stage) else p), None
    if event == "cancelled":
        return cleared(replace(p, stage="started")), None
    if not p.tracking:
        return p, None
    if event in BLOCKERS:
        same = p.blocker == event
        p = replace(p, blocker=event, blocker_until=until, blocker_count=(p.blocker_count or 0) + 1 if same else 1)
        if not same:
            p = replace(p, blocker_at=now, blocker_notified_at=None)
        alert = event in ALERT_AT_ONCE or (event == "identity_mismatch" and p.blocker_count >= alert_after)
        if alert and p.blocker_notified_at is None:
            return replace(p, blocker_notified_at=now), STUCK
        return p, None
    if event == "asked_for_help":
        return replace(p, blocker_notified_at=now, blocker_at=now if p.blocker is None else p.blocker_at), HELP
    return p, None


def sharing(p: Progress, share: bool) -> Progress:
    """The hire chose to share their progress with their firm, or not (nothing held back shows)."""
    p = replace(p, tracking=share)
    return p if share else cleared(p)


def stuck_since(now: datetime, hours: float) -> datetime:
    """A blocker older than this, never told to the admins, makes its hire stuck."""
    return now - timedelta(hours=hours)


def letter_warning_due(expires: datetime | None, warned_for: datetime | None, now: datetime, days: float) -> bool:
    """Whether the admins should now hear that a letter's code (expiring at ``expires``) runs out."""
    if expires is None or expires <= now or warned_for == expires:
        return False
    return expires - now <= timedelta(days=days)


def invite_state(used_at: datetime | None, revoked_at: datetime | None, expires_at: datetime, now: datetime) -> str:
    """pending | expired | revoked | used"""
    if used_at is not None:
        return "used"
    if revoked_at is not None:
        return "revoked"
    if expires_at <= now:
        return "expired"
    return "pending"


# -- what the admin and the hire read ----------------------------------------------------------


_HELD_UP = N_("held up")
_CARRY_ON = N_("carry on where you left off")


def blocker_text(
    blocker: str | None, until: datetime | None, zone: str, facts: Facts, now: datetime | None = None
) -> str:
    """The blocker as an admin sees it: category, when it ends (a pause), advice."""
    what, advice, _step = BLOCKERS.get(blocker, (_HELD_UP, "", ""))
    what = _(what)
    advice = facts.fill(advice)
    if blocker == "locked" and until:
        if now is not None and until <= now:
            what = _("was locked until {time} ({what}); they can try again now").format(
                time=local(until, zone), what=what
            )
        else:
            what = _("locked until {time} ({what})").format(time=local(until, zone), what=what)
    return f"{what}. {advice}".strip()


def nudge_text(firm_name: str, p: Progress, letter_expires: datetime | None, zone: str, facts: Facts) -> str:
    """The reminder an admin sends a hire: their next step."""
    lead = _("A reminder from {firm}: please finish registering for your Secure Access account.").format(
        firm=firm_name
    )
    if not p.tracking:
        return lead + " " + _("Send /status to see where you are, or /start to pick up where you left off.")
    if p.blocker in BLOCKERS:
        step = facts.fill(BLOCKERS[p.blocker][2])
        if p.blocker == "locked" and p.blocker_until:
            step = _(
                "the checks are paused until {time}; then check each detail against your last-filed return "
                "and try again"
            ).format(time=local(p.blocker_until, zone))
    else:
        step = _(NEXT_STEPS.get(p.stage, _CARRY_ON))
        if p.stage == "waiting_letter" and letter_expires:
            step = _("{step} (the code works until {date})").format(
                step=step, date=local(letter_expires, zone, with_time=False)
            )
    return _("{lead}\nYour next step: {step}.\nSend /status to see where you are.").format(lead=lead, step=step)


def finished_notice(name: str) -> str:
    return _("🎉 {name} has finished registering for Secure Access. /team shows everyone.").format(name=name)


def stuck_notice(name: str, p: Progress, zone: str, facts: Facts) -> str:
    return _("⚠️ {name} is stuck: {blocker}\n\n/remind sends them a short nudge with their next step.").format(
        name=name, blocker=blocker_text(p.blocker, p.blocker_until, zone, facts)
    )


def help_notice(name: str, p: Progress, zone: str, facts: Facts) -> str:
    lead = _(
        "⚠️ {name} can't get through online and asked for help. Phone help (exception processing) is "
        "only for people who already have an e-Services account, so it isn't open to them."
    ).format(name=name)
    if p.blocker:
        return _("{lead}\n\nWhat's holding them up: {blocker}").format(
            lead=lead, blocker=blocker_text(p.blocker, p.blocker_until, zone, facts)
        )
    return lead


def notice(kind: str, name: str, p: Progress, zone: str, facts: Facts) -> str:
    """The text of a notice :func:`after_event` called for."""
    if kind == FINISHED:
        return finished_notice(name)
    if kind == STUCK:
        return stuck_notice(name, p, zone, facts)
    return help_notice(name, p, zone, facts)


def letter_expiring_notice(name: str, expires: datetime, zone: str) -> str:
    return _(
        "⏳ The activation code in {name}'s letter stops working on {date}. "
        "If the letter has come, they should send /login, sign in and type it; if not, they can sign in "
        "and ask for a new letter. /remind sends them a nudge."
    ).format(name=name, date=local(expires, zone, with_time=False))


def invite_expired_notice(name: str, expired: datetime, zone: str) -> str:
    return _(
        "The invitation for {name} expired on {date} without being opened. "
        "To send a new link: /team, tap {name}, then \"Re-send invite\"."
    ).format(name=name, date=local(expired, zone, with_time=False))

"""New hires invited by a firm: the hooks the registration calls, and the hire's own say.

The registration calls :func:`record_hire_event` where something an admin would want to know
happens (email confirmed, identity confirmed, a credit freeze, a lockout...). For anyone who did
not come through a firm's invitation it does nothing, without even asking the database: opening
an invitation marks the conversation (:func:`mark_hire`). What is recorded is a stage or a
blocker *category* and a time: never what the hire typed. A hire can stop sharing
(``/stop_sharing``): their firm then sees only "invited" or "done". The rules themselves are
``domain.hires``.
"""

from __future__ import annotations

from datetime import datetime

from domain import hires as rules
from domain.i18n import _
from flows.core import Ctx
from flows.registration_base import refused_cards_of

#: set in a conversation once an invitation was opened in it (kept across flows)
HIRE_FLAG = "_hire"


def facts(policy) -> rules.Facts:
    """What the hire texts mention, from config.yaml's policy."""
    letters = policy.letters
    return rules.Facts(
        refused_cards_of(policy.financial),
        (letters.delivery_business_days_min, letters.delivery_business_days_max),
    )


def firm_store(ctx: Ctx):
    """The firm data (a ``domain.ports.Firms``) inside this step's session."""
    return ctx.services.firms(ctx.repo.session)


def mark_hire(ctx: Ctx) -> None:
    """This chat opened a firm's invitation: its registration is followed from now on."""
    ctx.data[HIRE_FLAG] = True


def is_hire(ctx: Ctx) -> bool:
    """Whether this chat may belong to an invited hire (no database query)."""
    return ctx.data.get(HIRE_FLAG) is not False


async def _chat_hires(ctx: Ctx):
    """(store, the hires linked to this chat); no query for a chat known never to have opened an
    invitation. New conversations start marked as not a hire; one stored before hires were marked
    carries no mark, and is looked up once and marked."""
    if not is_hire(ctx):
        return None, []
    store = firm_store(ctx)
    hires = await store.hires_for_chat(ctx.chat_id)
    if HIRE_FLAG not in ctx.data:
        ctx.data[HIRE_FLAG] = bool(hires)
    return store, hires


async def record_hire_event(ctx: Ctx, event: str, *, until: datetime | None = None) -> bool:
    """Note a stage or blocker for the invited hire in this chat (nothing for anyone else).

    ``event`` is a stage of ``domain.hires.STAGES``, a blocker of ``domain.hires.BLOCKERS``,
    ``"cancelled"`` (the registration was erased) or ``"asked_for_help"`` (online proofing failed
    and exception processing isn't open to them). Returns whether this chat belongs to an
    invited hire."""
    store, hires = await _chat_hires(ctx)
    for hire in hires:
        await _apply(ctx, store, hire, event, until)
    return bool(hires)


async def _apply(ctx: Ctx, store, hire, event: str, until: datetime | None) -> None:
    store.link_account(hire, ctx.data.get("account_id"))
    before = store.progress(hire)
    after, notice = rules.after_event(
        before, event, now=ctx.now(), until=until, alert_after=ctx.policy.firms.mismatch_alerts_after
    )
    if after != before:
        store.save_progress(hire, after)
    if notice is None:
        return
    # written in each admin chat's language
    await store.notify_admins(hire, lambda: rules.notice(notice, store.name(hire), after, ctx.policy.firms.timezone, facts(ctx.policy)))
    if notice == rules.HELP:
        firm = await store.firm(hire.firm_id)
        ctx.say(_("I've let your admin at {firm} know what's holding you up, so they can help you with it.").format(firm=firm.name))


# -- the hire's side: what the firm sees, and saying no ---------------------------------------


async def privacy_note(ctx: Ctx) -> str | None:
    """For an invited hire, what their firm can see (added to /privacy)."""
    store, hires = await _chat_hires(ctx)
    if not hires:
        return None
    names = ", ".join(sorted({(await store.firm(h.firm_id)).name for h in hires}))
    if all(not h.tracking for h in hires):
        return _(
            "You came here through an invitation from {firms}. You've chosen not to share your progress, so "
            "they only see whether you're invited or done. /share_progress lets them follow it again."
        ).format(firms=names)
    return _(
        "You came here through an invitation from {firms}. Their admins see the name they invited you "
        "under, how far you've got (for example \"identity confirmed\"), when you were last active, and "
        "if you're held up, only the kind of problem (such as \"credit freeze\") so they can help. They "
        "never see your SSN, date of birth, account digits, phone number, answers or password.\n"
        "/stop_sharing stops this: they'll then only see whether you're invited or done."
    ).format(firms=names)


async def set_sharing(ctx: Ctx, share: bool) -> str:
    store, hires = await _chat_hires(ctx)
    if not hires:
        return _("Nobody follows your registration: you didn't come here through a firm's invitation.")
    for hire in hires:
        store.save_progress(hire, rules.sharing(store.progress(hire), share))
    if share:
        return _("Thanks: your firm can follow your progress again (stage, last active and the kind of any problem).")
    return _(
        "Done: your firm now sees only whether you're invited or done, nothing in between. "
        "/share_progress turns sharing back on."
    )

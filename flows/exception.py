"""Exception processing: when online proofing can't succeed.

Existing e-Services users are handed to the e-Help Desk (number, menu, hours with "open now" or
when it opens, what to have at hand, what happens next). The assistor's side is the
``sabot exception`` command: approving creates the account with a temporary password and mails
an activation code; referring sends the person to a Taxpayer Assistance Center first. People
with no e-Services account (new hires) are told plainly that this route isn't open to them and
what they can still do online. The hand-off is remembered: /status shows it and coming back
resumes it.
"""

from __future__ import annotations

from domain.i18n import N_, _
from flows.common import user_zone
from flows.core import Answer, Ctx, Flow
from flows.helpdesk import desk_menu
from flows.hires import record_hire_event
from domain.policies import format_hours, format_local, help_desk_status

flow = Flow("exception", N_("Exception processing"), initial="handoff")


def identity_core(ctx: Ctx) -> str:
    """A keyed fingerprint of the SSN, date of birth, name and filing status as typed now: kept
    when a check found those four matching (only the address differing), so a later change of any
    of them, by /back or a Change button, is noticed."""
    d = ctx.data
    typed = "\x00".join(str(d.get(k, "")) for k in ("ssn_hash", "dob", "first_name", "last_name", "filing_status"))
    return ctx.vault.digest("identity_core", typed)


async def hand_off(ctx: Ctx, resume_state: str) -> None:
    """Leave the online registration for the right kind of help (called from a failing step)."""
    ssn_hash = ctx.data["ssn_hash"]
    resume = {"state": resume_state, "data": {k: v for k, v in ctx.data.items() if not k.startswith("_")}}
    carry = {"_resume": resume, "ssn_hash": ssn_hash, "address": ctx.data.get("address")}
    if resume_state == "review" and ctx.data.get("identity_core_ok") != identity_core(ctx):
        # Whether an SSN has an e-Services account is told only to someone whose SSN, date of
        # birth, name and filing status matched the records (only the address may differ), as
        # with the address hints: anyone else gets the same guidance, whatever the SSN.
        await ctx.repo.audit("exception_guidance", chat_id=ctx.chat_id)
        ctx.go("exception", "phone_help", carry=carry)
        return
    if await ctx.records.has_e_services(ssn_hash):
        case = await ctx.repo.open_exception_case(ssn_hash, ctx.chat_id, ctx.data.get("email"))
        await ctx.repo.audit("exception_handoff", chat_id=ctx.chat_id)
        carry["case_ref"] = case.reference
        ctx.go("exception", "handoff", carry=carry)
    else:
        await ctx.repo.audit("exception_not_eligible", chat_id=ctx.chat_id)
        await record_hire_event(ctx, "asked_for_help")
        ctx.go("exception", "not_eligible", carry=carry)


def desk_hours(ctx: Ctx) -> str:
    policy = ctx.policy.help_desk
    status = help_desk_status(ctx.now(), policy)
    zone = str(user_zone(ctx))
    if status.open_now:
        now_line = _("It's open now, until {time}.").format(time=format_local(status.closes_at, policy.timezone))
    else:
        local = format_local(status.opens_at, zone)
        eastern = format_local(status.opens_at, policy.timezone)
        if local != eastern:
            now_line = _("It's closed now; it opens {eastern} ({local} your time).").format(eastern=eastern, local=local)
        else:
            now_line = _("It's closed now; it opens {eastern}.").format(eastern=eastern)
    return _("Hours: {hours}. {now}").format(hours=format_hours(policy), now=now_line)


def _call_line(ctx: Ctx) -> str:
    policy = ctx.policy.help_desk
    return _("Call the e-Help Desk at {phone}: {menu}.").format(phone=policy.phone, menu=desk_menu(policy))


async def _case(ctx: Ctx):
    return await ctx.repo.exception_case(ctx.data["ssn_hash"])


async def _handoff_text(ctx: Ctx) -> str:
    case = await _case(ctx)
    status = case.status if case else "handed_off"
    ref = case.reference if case else ctx.data.get("case_ref", "")
    if status == "approved":
        return _(
            "Good news: the help desk has set up your Secure Access account. Sign in with your e-Services "
            "username and the temporary password the assistor gave you; you'll choose a new password, a site "
            "phrase and a site image, then type the activation code from the letter that is on its way to your address of record."
        )
    if status == "tac_referred":
        return _(
            "The help desk couldn't confirm your identity by phone, so the next step is in person: make an "
            "appointment at a Taxpayer Assistance Center and bring two forms of government-issued "
            "identification.\n\n"
            "Once the center has verified you, call the e-Help Desk again. {call}\n"
            "{hours}\n\n"
            "The assistor will then create your account, give you a temporary password and mail you an "
            "activation code. Your case reference: {ref}."
        ).format(call=_call_line(ctx), hours=desk_hours(ctx), ref=ref)
    return _(
        "The online checks couldn't confirm you, so the next step is exception processing by phone, which "
        "is open to you because you already have an e-Services account.\n\n"
        "{call}\n{hours}\n\n"
        "Have at hand your email, your current and prior year tax returns, and the information returns "
        "(W-2s, 1099s) and schedules that went with them.\n\n"
        "Give the assistor your case reference: {ref}.\n\n"
        "If you answer their questions, they create your account, give you a temporary password and mail "
        "you an activation code; then come back here and sign in. If not, they'll explain how to be "
        "verified in person at a Taxpayer Assistance Center."
    ).format(call=_call_line(ctx), hours=desk_hours(ctx), ref=ref)


async def _handoff_choices(ctx: Ctx):
    case = await _case(ctx)
    if case and case.status == "approved":
        return [[("login", _("Sign in"))]]
    return [[("refresh", _("I've called – check my case"))], [("online", _("Try online again"))]]


@flow.menu(
    ask=_handoff_text,
    choices=_handoff_choices,
    help=N_("Exception processing is a phone call with the e-Help Desk. This chat remembers your case; come back any time."),
    stage=N_("Help desk"),
)
async def handoff(ctx: Ctx, a: Answer):
    if a.choice == "login":
        ctx.go("login")
        return None
    if a.choice == "online":
        return resume_online(ctx)
    case = await _case(ctx)
    if case is None or case.status == "handed_off":
        ctx.say(_("Your case hasn't been updated by the help desk yet. Here is what to do:"))
    return "stay"


def resume_online(ctx: Ctx) -> None:
    resume = ctx.data.get("_resume") or {}
    ctx.say(_("OK, back to the online registration, where you left it."))
    ctx.go("registration", resume.get("state"), carry=resume.get("data") or {})


def _not_eligible_text(ctx: Ctx) -> str:
    return _(
        "I'm sorry: the phone route (exception processing) is only for people who already have an "
        "e-Services account, and the records show none for you, so it isn't available here.\n\n"
        "What you can still do online:\n"
        "• If you have a credit freeze at Experian, lift it for a while, then try the financial check again.\n"
        "• Try another kind of account: a different credit card, a mortgage, home equity loan, HELOC or car loan.\n"
        "• If the trouble is your phone, choose to get the activation code by mail instead.\n"
        "• If you filed recently or moved, the records may not have caught up yet: wait a few weeks and use "
        "the address of the return you filed before.\n"
        "Paused checks open again on their own; the message that paused them said when."
    )


def _phone_help_text(ctx: Ctx) -> str:
    return _(
        "Phone help (exception processing) is for people who already have an e-Services account and "
        "whose Social Security number, date of birth, name and filing status match the tax records, "
        "with only the address differing. Yours don't all match yet, so I can't open a case.\n\n"
        "• Check those four items against your last-filed return, fix any that differ, and check again.\n"
        "• If you have an e-Services account and still can't get through: {call}\n"
        "{hours}\n"
        "Paused checks open again on their own; the message that paused them said when."
    ).format(call=_call_line(ctx), hours=desk_hours(ctx))


async def _back_online(ctx: Ctx, a: Answer):
    return resume_online(ctx)


# The steps saying why the phone route is closed; their one button goes back to registering online
for _name, _text, _why in (
    (
        "not_eligible",
        _not_eligible_text,
        N_("Only existing e-Services users can be helped by phone; everyone else completes registration online."),
    ),
    (
        "phone_help",
        _phone_help_text,
        N_("A phone case can be opened once your SSN, date of birth, name and filing status match the records."),
    ),
):
    flow.step(
        _name, ask=_text, choices=[[("online", N_("Try online again"))]], typed=False, help=_why, stage=N_("Help desk")
    )(_back_online)


flow.transitions([])

flow.exits(
    [
        ("sign in", "login", None, ["handoff"]),
        ("online", "registration", "review", ["handoff", "not_eligible", "phone_help"]),
        ("online", "registration", "fin_kind", ["handoff", "not_eligible"]),
        ("online", "registration", "freeze_hold", ["handoff", "not_eligible"]),
    ]
)
flow.validate()

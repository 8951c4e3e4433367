"""The e-Help Desk assistor's decisions on an exception case (``sabot exception``).

Approving (the caller answered the phone questions) creates the account with a temporary password
the assistor reads to them, mails an activation code and tells the chat; referring (they couldn't
answer) sends the person to a Taxpayer Assistance Center first. The conversation's side of the
case is flows/exception.py.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from domain.i18n import N_, _, using
from domain.ports import NewAccount, Repository, Services
from domain.validators import Invalid
from flows.core import Ctx
from flows.letters import arrival_dates, send_letter

WORDS = (
    "amber", "birch", "cedar", "delta", "ember", "fjord", "grove", "harbor", "indigo", "juniper",
    "kelp", "lumen", "maple", "nectar", "onyx", "pebble", "quartz", "river", "sable", "tundra",
)


class HelpDeskError(Exception):
    """A decision that can't be made, with the reason in plain words for the assistor."""


@dataclass
class Approval:
    username: str
    temporary_password: str


def temporary_password() -> str:
    return "-".join(secrets.choice(WORDS) for _word in range(3)) + "-" + str(secrets.randbelow(90) + 10)


#: the e-Help Desk's phone menu as config.yaml ships it (policy.help_desk.menu)
SHIPPED_MENU = N_("choose your language, then prompt 1, and stay on the line for an assistor")


def desk_menu(desk) -> str:
    """How to get through the e-Help Desk's phone menu: in the turn's language while config.yaml
    keeps the shipped wording, else as configured."""
    return _(SHIPPED_MENU) if desk.menu == SHIPPED_MENU else desk.menu


def approved_notice(ctx: Ctx) -> str:
    first, last = arrival_dates(ctx)
    return _(
        "The help desk has set up your Secure Access account. Sign in with /login using your "
        "e-Services username and the temporary password the assistor gave you. Your activation "
        "code is in the mail and should arrive between {first} and {last}."
    ).format(first=first, last=last)


TAC_NOTICE = N_(
    "The help desk couldn't confirm your identity by phone. Next, visit a Taxpayer Assistance "
    "Center with two forms of government-issued ID, then call the e-Help Desk again. Send "
    "/status here any time to see the details."
)


async def _language_of(repo: Repository, chat_id: int | None) -> str | None:
    """The language the person's chat speaks (its stored choice), where the storage keeps one."""
    lookup = getattr(repo, "chat_language", None)
    return await lookup(chat_id) if lookup is not None and chat_id else None


async def _open_case(repo: Repository, reference: str):
    case = await repo.case_by_reference(reference)
    if case is None:
        raise HelpDeskError(f"no case with reference {reference}")
    if case.status == "approved":
        raise HelpDeskError("this case is already approved")
    return case


async def approve(repo: Repository, services: Services, reference: str) -> Approval:
    """The person passed the phone questions: create the account, temporary password, letter."""
    case = await _open_case(repo, reference)
    if await repo.ssn_registered(case.ssn_hash):
        raise HelpDeskError("this person already has a Secure Access account")
    person = await services.records.person_of_record(case.ssn_hash)
    username = (person or {}).get("e_services_username")
    if not username:
        raise HelpDeskError("the records show no e-Services account for this person")
    vault = services.vault
    temp = temporary_password()
    email = vault.decrypt(case.email_enc, context="case.email") if case.email_enc else None
    account_id = await repo.create_account(
        NewAccount(
            username=username,
            password_hash=await vault.hash_password(temp),
            ssn_hash=case.ssn_hash,
            profile={
                "first_name": person["first_name"],
                "last_name": person["last_name"],
                "email": email,
                "address": person["address"],
            },
            # the person chooses both at their first sign-in
            site_phrase="",
            site_image="",
            status="pending_letter",
            must_change_password=True,
            chat_id=case.chat_id,
        )
    )
    # the letter is written as the person's own chat would write it (their zone, the limits, their
    # language)
    ctx = Ctx(chat_id=case.chat_id or 0, data={"address": person["address"]}, services=services, repo=repo, incoming=None)
    language = await _language_of(repo, case.chat_id)
    try:
        with using(language):
            await send_letter(ctx, account_id=account_id, username=username, person=person)
    except Invalid as exc:
        raise HelpDeskError(exc.message) from None
    await repo.update_case(case, status="approved")
    await repo.audit("exception_approved", account_id)
    if case.chat_id:
        with using(language):
            notice = approved_notice(ctx)
        await repo.notify(case.chat_id, notice)
    return Approval(username, temp)


async def refer_to_tac(repo: Repository, reference: str) -> None:
    """The person could not answer the questions: an in-person visit comes first."""
    case = await _open_case(repo, reference)
    await repo.update_case(case, status="tac_referred")
    await repo.audit("exception_tac_referral")
    if case.chat_id:
        with using(await _language_of(repo, case.chat_id)):
            notice = _(TAC_NOTICE)
        await repo.notify(case.chat_id, notice)

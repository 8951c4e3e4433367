"""The help-desk assistor's side of exception processing (used by `sabot exception`)."""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from sqlalchemy import select

from bot.services import Services
from bot.storage.db import transaction
from bot.storage.models import ExceptionCase
from bot.storage.repo import Repo
from flows.core import Ctx
from flows.letters import arrival_window, send_letter
from domain.validators import Invalid

WORDS = (
    "amber", "birch", "cedar", "delta", "ember", "fjord", "grove", "harbor", "indigo", "juniper",
    "kelp", "lumen", "maple", "nectar", "onyx", "pebble", "quartz", "river", "sable", "tundra",
)


class HelpDeskError(Exception):
    pass


@dataclass
class Approval:
    username: str
    temporary_password: str


def temporary_password() -> str:
    return "-".join(secrets.choice(WORDS) for _ in range(3)) + "-" + str(secrets.randbelow(90) + 10)


async def list_cases(services: Services) -> list[ExceptionCase]:
    async with services.sessions() as session:
        return list((await session.scalars(select(ExceptionCase).order_by(ExceptionCase.id))).all())


async def _case(session, reference: str) -> ExceptionCase:
    case = await session.scalar(select(ExceptionCase).where(ExceptionCase.reference == reference.strip().upper()))
    if case is None:
        raise HelpDeskError(f"no case with reference {reference}")
    return case


async def approve(services: Services, reference: str) -> Approval:
    """The person passed the phone questions: create the account, temporary password, letter."""
    async with transaction(services.sessions) as session:
        case = await _case(session, reference)
        if case.status == "approved":
            raise HelpDeskError("this case is already approved")
        repo = Repo(session, services.vault, services.clock)
        if await repo.account_by_ssn(case.ssn_hash) is not None:
            raise HelpDeskError("this person already has a Secure Access account")
        person = await services.records.person_of_record(case.ssn_hash)
        username = (person or {}).get("e_services_username")
        if not username:
            raise HelpDeskError("the records show no e-Services account for this person")
        temp = temporary_password()
        email = services.vault.decrypt(case.email_enc, context="case.email") if case.email_enc else None
        profile = {
            "first_name": person["first_name"],
            "last_name": person["last_name"],
            "email": email,
            "address": person["address"],
        }
        account_id = await repo.create_account(
            username=username,
            username_key=username.lower(),
            password_hash=await services.vault.hash_password(temp),
            ssn_hash=case.ssn_hash,
            profile_enc=services.vault.encrypt(profile, context="account.profile"),
            site_phrase_enc=services.vault.encrypt("", context="account.site_phrase"),
            site_image="owl",
            status="pending_letter",
            must_change_password=True,
            chat_id=case.chat_id,
        )
        ctx = Ctx(chat_id=case.chat_id or 0, data={"address": person["address"]}, services=services, repo=repo, incoming=None)
        try:
            await send_letter(ctx, account_id=account_id, username=username, person=person)
        except Invalid as exc:
            raise HelpDeskError(exc.message) from None
        case.status = "approved"
        case.updated_at = services.clock.now()
        await repo.audit("exception_approved", account_id)
        if case.chat_id:
            await repo.notify(
                case.chat_id,
                "The help desk has set up your Secure Access account. Sign in with /login using your "
                f"e-Services username and the temporary password the assistor gave you. Your activation "
                f"code is in the mail and should arrive {arrival_window(ctx)}.",
            )
        return Approval(username, temp)


async def refer_to_tac(services: Services, reference: str) -> None:
    """The person could not answer the questions: an in-person visit comes first."""
    async with transaction(services.sessions) as session:
        case = await _case(session, reference)
        if case.status == "approved":
            raise HelpDeskError("this case is already approved")
        case.status = "tac_referred"
        case.updated_at = services.clock.now()
        repo = Repo(session, services.vault, services.clock)
        await repo.audit("exception_tac_referral")
        if case.chat_id:
            await repo.notify(
                case.chat_id,
                "The help desk couldn't confirm your identity by phone. Next, visit a Taxpayer Assistance "
                "Center with two forms of government-issued ID, then call the e-Help Desk again. Send "
                "/status here any time to see the details.",
            )

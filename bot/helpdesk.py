"""The help-desk assistor's side of exception processing (used by `sabot exception`): each
decision (flows.helpdesk) runs in a transaction of its own."""

from __future__ import annotations

from sqlalchemy import select

from bot.services import Services
from bot.storage.db import transaction
from bot.storage.models import ExceptionCase
from bot.storage.repo import Repo
from domain.i18n import using
from flows import helpdesk
from flows.helpdesk import Approval, HelpDeskError, temporary_password

__all__ = ["Approval", "HelpDeskError", "approve", "list_cases", "refer_to_tac", "temporary_password"]


async def list_cases(services: Services) -> list[ExceptionCase]:
    async with services.sessions() as session:
        return list((await session.scalars(select(ExceptionCase).order_by(ExceptionCase.id))).all())


async def _language(session, reference: str) -> str | None:
    """The language of the case's person: the letter and the notice are written in it."""
    return await session.scalar(
        select(ExceptionCase.language).where(ExceptionCase.reference == reference.strip().upper())
    )


async def approve(services: Services, reference: str) -> Approval:
    """The person passed the phone questions: create the account, temporary password, letter."""
    async with transaction(services.sessions) as session:
        with using(await _language(session, reference)):
            return await helpdesk.approve(Repo(session, services.vault, services.clock), services, reference)


async def refer_to_tac(services: Services, reference: str) -> None:
    """The person could not answer the questions: an in-person visit comes first."""
    async with transaction(services.sessions) as session:
        with using(await _language(session, reference)):
            await helpdesk.refer_to_tac(Repo(session, services.vault, services.clock), reference)

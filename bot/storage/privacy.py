"""Erasing a person's data on request, and deleting what is no longer needed on a schedule.

What stays after ``/delete_my_data`` (and why) is told to the user by flows/commands.py:
* security events (``audit_events``): kind and time only, unlinked from the chat;
* attempt counters behind limits and lockouts, until their window has passed (erasing them would
  let anyone reset a lockout), then deleted by :func:`purge_abandoned`;
* the record store (``record_*`` tables): the identity authority's data, not the user's;
* a help-desk case's reference and status (the help desk's work record), without the chat or email;
* a firm's invitation of the person: what its admin typed, unlinked from the chat (bot.firms);
* an active account the chat is not signed in to (signing in proves it is theirs).

The erasure itself is :func:`erase_chat`, run inside the caller's transaction; the flows reach it
through the repository. :func:`purge_abandoned` applies the retention periods of ``privacy:`` in
config.yaml; ``sabot purge`` runs it, and the bot's periodic tick can call it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Awaitable, Callable

from sqlalchemy import and_, delete, exists, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.storage.db import conversations_touched
from bot.storage.models import (
    Account,
    Attempt,
    AuditEvent,
    Conversation,
    Delivery,
    ExceptionCase,
    Letter,
    Notification,
    OneTimeCode,
    PendingReply,
)
from domain.ports import DecryptionError, Vault

#: unlinks a chat from the firms that invited its person; how many invitations it unlinked
ForgetHires = Callable[[AsyncSession, int], Awaitable[int]]

#: answer keys of a conversation that hold an address messages were sent to
_ADDRESS_KEYS = ("email", "phone", "new_phone")
#: accounts in these states never finished registering, so the chat that created them may erase them
UNFINISHED = ("pending_letter",)


@dataclass
class ErasurePlan:
    #: accounts that will be erased (the signed-in one, unfinished ones created in this chat)
    accounts: list[int] = field(default_factory=list)
    #: active accounts created in this chat but not signed in: kept until the person signs in
    needs_sign_in: list[int] = field(default_factory=list)


@dataclass
class ErasureReport:
    accounts: int = 0
    codes: int = 0
    letters: int = 0
    notifications: int = 0
    deliveries: int = 0
    cases_unlinked: int = 0
    #: invitations of firms that had invited this person (the firm keeps what its admin typed)
    hires_unlinked: int = 0
    audit_unlinked: int = 0
    other_chats_signed_out: int = 0
    needs_sign_in: int = 0


async def erasure_plan(session: AsyncSession, chat_id: int, signed_in_account: int | None) -> ErasurePlan:
    plan = ErasurePlan()
    if signed_in_account is not None:
        plan.accounts.append(signed_in_account)
    linked = (await session.execute(select(Account.id, Account.status).where(Account.chat_id == chat_id))).all()
    for account_id, status in linked:
        if account_id in plan.accounts:
            continue
        (plan.accounts if status in UNFINISHED else plan.needs_sign_in).append(account_id)
    return plan


async def erase_chat(
    session: AsyncSession,
    vault: Vault,
    chat_id: int,
    *,
    signed_in_account: int | None = None,
    answers: dict | None = None,
    forget_hires: ForgetHires | None = None,
) -> ErasureReport:
    """Erase what this chat's person gave the bot, inside the caller's transaction.

    The caller resets the conversation itself (it holds the row); ``answers`` are its current
    answers, used to find messages sent to the person's email or phone; ``forget_hires`` unlinks
    the person from the firms that invited them (bot.firms)."""
    plan = await erasure_plan(session, chat_id, signed_in_account)
    report = ErasureReport(needs_sign_in=len(plan.needs_sign_in))
    addresses = {str(answers[k]).lower() for k in _ADDRESS_KEYS if answers and answers.get(k)}

    for account_id in plan.accounts:
        addresses |= await erase_account(session, vault, account_id, report, exclude_chat=chat_id)

    report.codes += (
        await session.execute(delete(OneTimeCode).where(OneTimeCode.subject == f"chat:{chat_id}"))
    ).rowcount or 0
    report.notifications += (
        await session.execute(delete(Notification).where(Notification.chat_id == chat_id))
    ).rowcount or 0
    # replies of earlier turns never sent (the current turn's are stored after this)
    await session.execute(delete(PendingReply).where(PendingReply.chat_id == chat_id))
    report.cases_unlinked += (
        await session.execute(
            update(ExceptionCase).where(ExceptionCase.chat_id == chat_id).values(chat_id=None, email_enc=None)
        )
    ).rowcount or 0
    report.audit_unlinked += (
        await session.execute(update(AuditEvent).where(AuditEvent.chat_id == chat_id).values(chat_id=None))
    ).rowcount or 0
    report.deliveries += await _erase_deliveries(session, vault, addresses)
    if forget_hires is not None:
        report.hires_unlinked += await forget_hires(session, chat_id)
    return report


async def erase_account(session: AsyncSession, vault: Vault, account_id: int, report: ErasureReport, *, exclude_chat=None) -> set[str]:
    """Delete one account and what hangs off it; returns the addresses it was reached at."""
    account = await session.get(Account, account_id)
    if account is None:
        return set()
    addresses: set[str] = set()
    try:
        profile = vault.decrypt(account.profile_enc, context="account.profile") or {}
        if profile.get("email"):
            addresses.add(str(profile["email"]).lower())
        if account.phone_enc:
            addresses.add(str(vault.decrypt(account.phone_enc, context="account.phone")).lower())
    except DecryptionError:
        pass
    for (address_enc,) in (await session.execute(select(Letter.address_enc).where(Letter.account_id == account_id))).all():
        try:
            envelope = vault.decrypt(address_enc, context="letter.address")
            # a letter goes to its envelope's lines joined (flows/letters.py send_letter)
            addresses.add((", ".join(envelope) if isinstance(envelope, list) else str(envelope)).lower())
        except DecryptionError:
            pass
    report.codes += (
        await session.execute(delete(OneTimeCode).where(OneTimeCode.subject == f"account:{account_id}"))
    ).rowcount or 0
    report.letters += (await session.execute(delete(Letter).where(Letter.account_id == account_id))).rowcount or 0
    # Other chats signed in to this account start afresh (their session points at nothing now).
    report.other_chats_signed_out += await sign_out_other_chats(session, vault, account_id, exclude_chat, state="welcome")
    if account.chat_id is not None and account.chat_id != exclude_chat:
        await session.execute(delete(Notification).where(Notification.chat_id == account.chat_id))
    await session.execute(update(AuditEvent).where(AuditEvent.account_id == account_id).values(chat_id=None))
    await session.delete(account)
    await session.flush()
    report.accounts += 1
    return addresses


async def sign_out_other_chats(
    session: AsyncSession, vault: Vault, account_id: int, keep_chat: int | None, *, state: str = "registered"
) -> int:
    """End the session of every chat signed in to ``account_id`` except ``keep_chat`` (after a
    password change, or when the account is erased). Returns how many chats were signed out."""
    others = select(Conversation.chat_id).where(Conversation.account_id == account_id)
    if keep_chat is not None:
        others = others.where(Conversation.chat_id != keep_chat)
    chats = [c for (c,) in (await session.execute(others)).all()]
    if chats:
        await session.execute(
            update(Conversation)
            .where(Conversation.chat_id.in_(chats))
            .values(
                flow="home",
                state=state,
                data_enc=vault.encrypt({}, context="conversation"),
                account_id=None,
                version=Conversation.version + 1,
            )
        )
        touched = conversations_touched.get()
        if touched is not None:
            touched.update(chats)
    return len(chats)


async def _erase_deliveries(session, vault: Vault, addresses: set[str]) -> int:
    """Delete outbox messages sent to any of ``addresses`` (compared after decrypting)."""
    if not addresses:
        return 0
    doomed = []
    for row_id, to_enc in (await session.execute(select(Delivery.id, Delivery.to_enc))).all():
        try:
            to = str(vault.decrypt(to_enc, context="delivery.to")).lower()
        except DecryptionError:
            continue
        if to in addresses:
            doomed.append(row_id)
    for start in range(0, len(doomed), 500):
        await session.execute(delete(Delivery).where(Delivery.id.in_(doomed[start : start + 500])))
    return len(doomed)


# -- the schedule ------------------------------------------------------------------------------


def longest_attempt_window(settings) -> timedelta:
    """The longest window any limit counts attempts over: counters must outlive it."""
    p = settings.policy
    codes = [p.codes.confirmation, p.codes.activation_text, p.codes.security_text]
    return max(
        [timedelta(hours=p.identity.window_hours), timedelta(hours=p.financial.window_hours),
         timedelta(minutes=p.sign_in.lockout_minutes)]
        + [timedelta(minutes=c.resend_window_minutes) for c in codes]
    )


async def purge_abandoned(services, now: datetime | None = None) -> dict[str, int]:
    """Apply every retention period of ``privacy:`` once; returns how many rows went, by kind.

    * conversations not updated for ``abandoned_after_days`` (except one waiting on an open
      help-desk case), with the codes issued to them;
    * accounts still waiting on a mailed code whose last letter's code has been expired for
      ``abandoned_after_days`` (they never finished registering), with their letters and codes;
    * codes, attempt counters, outbox messages, sent notices, letters and security events older
      than their retention period.
    Safe to run at any time and from several processes."""
    settings = services.settings
    keep = settings.privacy
    now = now or services.clock.now()
    abandoned = now - timedelta(days=keep.abandoned_after_days)
    counts: dict[str, int] = {}

    async with services.sessions() as session, session.begin():
        open_case = exists().where(
            ExceptionCase.chat_id == Conversation.chat_id, ExceptionCase.status != "approved"
        )
        stale = (
            await session.execute(
                select(Conversation.chat_id).where(
                    Conversation.updated_at < abandoned,
                    ~and_(Conversation.flow == "exception", open_case),
                )
            )
        ).all()
        chats = [c for (c,) in stale]
        for start in range(0, len(chats), 500):
            part = chats[start : start + 500]
            await session.execute(delete(OneTimeCode).where(OneTimeCode.subject.in_([f"chat:{c}" for c in part])))
            await session.execute(delete(Conversation).where(Conversation.chat_id.in_(part)))
        counts["conversations"] = len(chats)

    async with services.sessions() as session, session.begin():
        live_letter = exists().where(Letter.account_id == Account.id, Letter.code_expires_at >= abandoned)
        unfinished = (
            await session.execute(
                select(Account.id).where(
                    Account.status.in_(UNFINISHED), Account.created_at < abandoned, ~live_letter
                )
            )
        ).all()
        report = ErasureReport()
        for (account_id,) in unfinished:
            await erase_account(session, services.vault, account_id, report)
        counts["unfinished_accounts"] = report.accounts

    days = timedelta(days=1)
    attempts_cutoff = now - max(keep.attempts_retention_days * days, longest_attempt_window(settings))
    codes_cutoff = now - keep.codes_retention_days * days
    rules = [
        ("codes", delete(OneTimeCode).where(
            or_(
                OneTimeCode.expires_at < codes_cutoff,
                and_(or_(OneTimeCode.used_at.is_not(None), OneTimeCode.voided.is_(True)), OneTimeCode.created_at < codes_cutoff),
            )
        )),
        ("attempts", delete(Attempt).where(Attempt.at < attempts_cutoff)),
        ("outbox", delete(Delivery).where(Delivery.sent_at < now - keep.outbox_retention_days * days)),
        ("notifications", delete(Notification).where(
            Notification.sent_at.is_not(None), Notification.sent_at < now - keep.notifications_retention_days * days
        )),
        ("pending_replies", delete(PendingReply).where(
            PendingReply.created_at < now - keep.pending_replies_retention_hours * timedelta(hours=1)
        )),
        ("letters", delete(Letter).where(Letter.code_expires_at < now - keep.letters_retention_days * days)),
        ("audit_events", delete(AuditEvent).where(AuditEvent.at < now - keep.audit_retention_days * days)),
    ]
    for name, statement in rules:
        async with services.sessions() as session, session.begin():
            counts[name] = (await session.execute(statement)).rowcount or 0
    return counts


"""Erasing a person's data on request, and deleting what is no longer needed on a schedule.

What stays after ``/delete_my_data`` (and why) is told to the user by flows/commands.py:
* security events (``audit_events``): kind and time only, unlinked from the chat;
* attempt counters behind limits and lockouts, until their window has passed (erasing them would
  let anyone reset a lockout), then deleted by :func:`purge_abandoned`;
* the record store (``record_*`` tables): the identity authority's data, not the user's;
* a help-desk case's reference and status (the help desk's work record), without the chat or email;
* a firm's invitation of the person: what its admin typed, unlinked from the chat (bot.firms);
* an active account the chat is not signed in to (signing in proves it is theirs).

The erasure itself is bot.storage.privacy.erase_chat, which the flows reach through the
repository. :func:`purge_abandoned` applies the retention periods of ``privacy:`` in config.yaml;
``sabot purge`` runs it, and the bot's periodic tick can call it.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import and_, delete, exists, or_, select

from bot.storage.models import (
    Account,
    Attempt,
    AuditEvent,
    Conversation,
    Delivery,
    ExceptionCase,
    Letter,
    Notification,
    PendingReply,
    OneTimeCode,
)
from bot.storage.privacy import UNFINISHED, ErasureReport, erase_account


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


"""/privacy says what is kept, for how long and who sees it; /delete_my_data erases the person's
data after a confirmation and says what stays and why (Telegram Bot Developer Terms)."""

from __future__ import annotations

from sqlalchemy import func, select

from bot.storage.models import (
    Account,
    AuditEvent,
    Conversation,
    ExceptionCase,
    Letter,
    Notification,
    OneTimeCode,
    Taxpayer,
)
from tests.conftest import make_harness
from tests.conftest import test_settings as settings_for
from tests.journeys import JORDAN, register, to_email_code, to_identity
from tests.privacy_helpers import sign_in_with_text
from tests.test_mail_path import LEE, register_by_mail


def joined(replies) -> str:
    return "\n".join(m.text for m in replies)


async def count(h, model, *where) -> int:
    async with h.services.sessions() as session:
        return int(await session.scalar(select(func.count()).select_from(model).where(*where)))


async def answers(h, chat_id: int) -> dict:
    async with h.services.sessions() as session:
        row = await session.get(Conversation, chat_id)
        return h.services.vault.decrypt(row.data_enc, context="conversation") or {} if row else {}


async def sent_to(h, address: str) -> int:
    return sum(1 for m in await h.outbox() if m.to == address)


async def erase(user) -> str:
    """/delete_my_data, confirmed: what the bot says then."""
    await user.command("delete_my_data")
    return joined(await user.press("Yes, erase my data"))


async def assert_nothing_erased(h, chat_id: int, state: str) -> None:
    """The registration goes on at ``state``, its answers kept."""
    assert await h.engine.where(chat_id) == ("registration", state)
    assert (await answers(h, chat_id))["email"] == JORDAN["email"]


# -- /privacy -------------------------------------------------------------------------------------


async def privacy_read_whole(user) -> str:
    """/privacy, then each of its buttons for more."""
    texts = [joined(await user.command("privacy"))]
    for label in ("What is kept", "Who sees it", "Erasing"):
        await user.command("privacy")
        texts.append(joined(await user.press(label)))
    return "\n".join(texts)


async def test_privacy_says_what_is_kept_how_long_and_who_sees_it(harness):
    user = await harness.user(5001)
    await user.command("start")
    text = await privacy_read_whole(user)
    keep = harness.services.settings.privacy
    for needle in (
        "for how long", "who sees it", "Who sees it: only the operators",
        f"{keep.abandoned_after_days:g} days", f"{keep.codes_retention_days:g} days",
        f"{keep.outbox_retention_days:g} days", f"{keep.audit_retention_days:g} days",
        "Financial account digits: never", "one-way hash", "encrypted", "/delete_my_data",
        "tax authority",
    ):
        assert needle.casefold() in text.casefold(), needle


async def test_privacy_numbers_follow_the_configuration(tmp_path):
    h = await make_harness(settings_for(tmp_path, privacy={"abandoned_after_days": 12, "audit_retention_days": 90}))
    try:
        user = await h.user(5002)
        text = await privacy_read_whole(user)
        assert "come back for 12 days" in text and "for 90 days" in text
    finally:
        await h.close()


# -- /delete_my_data ------------------------------------------------------------------------------


async def test_delete_asks_first_and_no_keeps_everything(harness):
    user = await harness.user(5101)
    await to_identity(harness, user)
    replies = await user.command("delete_my_data")
    assert replies[-1].labels == ["Yes, erase my data", "No, keep it"]
    assert "What stays, and why" in replies[-1].text and "tax authority" in replies[-1].text
    replies = await user.press("No, keep it")
    assert "Nothing was erased" in joined(replies)
    await assert_nothing_erased(harness, 5101, "ssn")


async def test_delete_during_registration_erases_answers_codes_and_messages(harness):
    h = harness
    user = await h.user(5102)
    await to_email_code(h, user)
    assert await sent_to(h, JORDAN["email"]) == 1
    assert await count(h, OneTimeCode, OneTimeCode.subject == "chat:5102") == 1
    text = await erase(user)
    assert "Your data is erased" in text and "What stays, and why" in text
    assert await h.engine.where(5102) == ("home", "welcome")
    left = await answers(h, 5102)
    # only bookkeeping stays: update ids, and the mark that this chat is no firm's hire
    assert not {k: v for k, v in left.items() if not k.startswith("_update") and (k, v) != ("_hire", False)}
    assert await count(h, OneTimeCode, OneTimeCode.subject == "chat:5102") == 0
    assert await sent_to(h, JORDAN["email"]) == 0
    # the record store is the authority's, not the user's: it stays
    assert await count(h, Taxpayer) == 5


async def test_signed_in_person_erases_their_account(harness):
    h = harness
    user = await h.user(5103)
    await register(h, user)
    await sign_in_with_text(h, user, JORDAN)
    assert await h.engine.where(5103) == ("home", "signed_in")
    async with h.services.sessions() as session:
        account_id = await session.scalar(select(Account.id).where(Account.username_key == JORDAN["username"]))
    other_chat = await h.user(5104)
    await sign_in_with_text(h, other_chat, JORDAN)
    assert await count(h, AuditEvent, AuditEvent.account_id == account_id) >= 2

    replies = await user.command("delete_my_data")
    assert "and your Secure Access account" in replies[-1].text
    replies = await user.press("Yes, erase my data")
    assert "including your Secure Access account" in joined(replies)

    assert await count(h, Account) == 0
    assert await count(h, OneTimeCode, OneTimeCode.subject == f"account:{account_id}") == 0
    assert await sent_to(h, JORDAN["email"]) == 0 and await sent_to(h, "+12175550123") == 0
    # security events stay, without anything pointing at the chat
    assert await count(h, AuditEvent, AuditEvent.account_id == account_id) >= 2
    assert await count(h, AuditEvent, AuditEvent.chat_id.in_([5103, 5104])) == 0
    # the other chat signed in to the account starts afresh; the username is gone
    assert await h.engine.where(5104) == ("home", "welcome")
    await user.command("login")
    await user.send(JORDAN["username"])
    replies = await user.send(JORDAN["password"])
    assert "don't go together" in joined(replies)
    # and the person can register again from scratch
    again = await h.user(5105)
    replies = await register(h, again)
    assert "You're registered" in joined(replies)


async def test_an_active_account_needs_a_sign_in_to_be_erased(harness):
    h = harness
    user = await h.user(5106)
    await register(h, user)
    replies = await user.command("delete_my_data")
    assert "stays unless you're signed in" in replies[-1].text
    replies = await user.press("Yes, erase my data")
    assert "Your Secure Access account stays" in joined(replies)
    assert await count(h, Account) == 1


async def test_an_unfinished_mail_registration_is_erased_with_its_letters(harness):
    h = harness
    user = await h.user(5107)
    await register_by_mail(h, user)
    assert await count(h, Letter) == 1
    await erase(user)
    assert await count(h, Account) == 0 and await count(h, Letter) == 0
    assert not [m for m in await h.outbox() if m.channel == "mail" or m.to == LEE["email"]]


async def test_a_help_desk_case_keeps_its_reference_but_loses_the_chat_and_email(harness):
    h = harness
    user = await h.user(5108)
    await to_identity(h, user)
    now = h.clock.now()
    async with h.services.sessions() as session, session.begin():
        session.add(ExceptionCase(
            reference="EX-TEST01", ssn_hash="x" * 64, chat_id=5108, status="handed_off",
            email_enc=h.services.vault.encrypt(JORDAN["email"], context="case.email"), created_at=now, updated_at=now,
        ))
        session.add(Notification(chat_id=5108, text_enc=h.services.vault.encrypt("hi", context="notification"), created_at=now))
    await erase(user)
    async with h.services.sessions() as session:
        case = await session.scalar(select(ExceptionCase).where(ExceptionCase.reference == "EX-TEST01"))
    assert case is not None and case.chat_id is None and case.email_enc is None
    assert await count(h, Notification, Notification.chat_id == 5108) == 0


async def test_typing_instead_of_confirming_erases_nothing(harness):
    user = await harness.user(5109)
    await to_identity(harness, user)
    await user.command("delete_my_data")
    await user.send(JORDAN["ssn"])
    await assert_nothing_erased(harness, 5109, "dob")


async def test_a_firm_invitation_is_unlinked_from_the_person(harness):
    from bot.storage.models import FirmHire

    h = harness
    user = await h.user(5110)
    await to_identity(h, user)
    from bot.firms import create_firm

    firm = await create_firm(h.services, "Test & Co", 999001)
    async with h.services.sessions() as session, session.begin():
        hire = await h.services.firms(session).create_hire(firm.id, name="Jordan Rivera", email=None, invited_by=999001)
        hire.chat_id = 5110
    assert "if a firm invited you" in await erase(user)
    assert await count(h, FirmHire, FirmHire.chat_id == 5110) == 0
    assert await count(h, FirmHire) == 1

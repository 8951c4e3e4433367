"""Identity checks and sign-in limits that a conversation in one chat per user can't show: one
Telegram user in several chats, the records lookup's work for an SSN it doesn't hold, attempt
keys holding nothing typed, and personal data posted in a refused group."""

from __future__ import annotations

import re
from datetime import date

from sqlalchemy import select

from bot.storage.models import Attempt
from domain.addresses import Address
from domain.ports import IDENTITY_MISMATCH, IdentityClaim
from tests.journeys import JORDAN, register, to_email_code, to_review

CHECK = "Everything matches – check it"


def _text(replies) -> str:
    return "\n".join(m.text for m in replies)


async def test_one_telegram_user_in_several_chats_shares_one_identity_budget(harness):
    h = harness
    first = await h.user(7101, user_id=77)
    await to_review(h, first, dict(JORDAN, ssn="401-22-7780"))
    for n in range(1, 5):
        assert "doesn't match the tax records" in _text(await first.press(CHECK))
        await first.press("Change SSN")
        await first.send(f"401-22-778{n}")
    assert "doesn't match the tax records" in _text(await first.press(CHECK))
    second = await h.user(7102, user_id=77)
    await to_review(h, second, dict(JORDAN, email="jordan.two@example.com"))
    reply = _text(await second.press(CHECK))
    assert "too many identity checks from your Telegram account" in reply
    assert "match the records" not in reply


async def test_confirmation_code_sends_follow_the_user_into_a_new_chat(harness):
    h = harness
    first = await h.user(7201, user_id=78)
    await to_email_code(h, first)
    for _ in range(4):
        await first.press("Send a new code")
    assert "most confirmation codes allowed" in _text(await first.press("Send a new code"))
    second = await h.user(7202, user_id=78)
    await second.command("start")
    await second.press("Begin registration")
    await second.send(JORDAN["first_name"])
    await second.send(JORDAN["last_name"])
    assert "most confirmation codes allowed" in _text(await second.send(JORDAN["email"]))


def _claim(vault, **changes) -> IdentityClaim:
    values = dict(
        ssn_hash=vault.digest("ssn", "401227788"),
        first_name="Jordan",
        last_name="Rivera",
        date_of_birth=date(1985, 6, 2),
        filing_status="single",
        address=Address.from_dict(
            {"line1": "1234 Elm St", "line2": "Apt 5B", "city": "Springfield", "state": "IL", "postal_code": "62704", "country": "US"}
        ),
    )
    values.update(changes)
    return IdentityClaim(**values)


async def test_a_missing_ssn_is_answered_and_worked_on_like_a_wrong_detail(harness):
    """The same answer for an SSN the records don't hold as for a known one with a wrong date of
    birth, name or filing status; and the same work: one decryption of a record each time."""
    h = harness
    records, vault = h.services.records, h.services.vault
    assert (await records.verify_identity(_claim(vault))).matched

    decryptions = []
    real = vault.decrypt

    def counting(token, *, context=""):
        decryptions.append(context)
        return real(token, context=context)

    vault.decrypt = counting
    try:
        results, work = {}, {}
        cases = {
            "missing SSN": _claim(vault, ssn_hash=vault.digest("ssn", "401227789")),
            "date of birth": _claim(vault, date_of_birth=date(1985, 6, 3)),
            "name": _claim(vault, first_name="Jordon"),
            "filing status": _claim(vault, filing_status="married_filing_jointly"),
            "missing SSN, wrong ZIP": _claim(vault, ssn_hash=vault.digest("ssn", "401227789"), address=Address.from_dict(
                {"line1": "1234 Elm St", "line2": "Apt 5B", "city": "Springfield", "state": "IL", "postal_code": "62799", "country": "US"})),
        }
        for name, claim in cases.items():
            decryptions.clear()
            results[name] = await records.verify_identity(claim)
            work[name] = list(decryptions)
    finally:
        vault.decrypt = real
    answers = set(results.values())
    assert len(answers) == 1, results
    (answer,) = answers
    assert answer.mismatches == frozenset({IDENTITY_MISMATCH}) and answer.causes == ()
    assert all(done == ["record"] for done in work.values()), work


async def test_the_replies_to_a_missing_ssn_and_a_wrong_detail_are_identical(harness):
    h = harness
    replies = {}
    cases = {
        "missing SSN": dict(JORDAN, ssn="401-22-7789"),
        "date of birth": dict(JORDAN, dob="06/03/1985"),
        "name": dict(JORDAN, first_name="Jordon"),
        "filing status": dict(JORDAN, filing_status="Married filing jointly"),
    }
    for n, (name, person) in enumerate(cases.items()):
        user = await h.user(7301 + n)
        await to_review(h, user, dict(person, email=f"p{n}@example.com"))
        got = await user.press(CHECK)
        explanation = got[0].text.split("\n\nPlease check these details")[0]
        # the tries left count this SSN's checks, whoever made them: the same for every SSN
        explanation = re.sub(r" You have \d+ tr(y|ies) left\.", "", explanation)
        replies[name] = (explanation, tuple(map(tuple, got[-1].buttons)), str(await h.engine.where(user.chat_id)))
    assert len(set(replies.values())) == 1, replies


async def test_attempt_keys_hold_nothing_a_person_typed(harness):
    h = harness
    owner = await h.user(7401)
    await register(h, owner)
    stranger = await h.user(7402)
    await stranger.command("start")
    await stranger.command("login")
    await stranger.send("CorrectHorse9")
    await stranger.send("not the password")
    await stranger.command("login")
    await stranger.send(JORDAN["username"])
    await stranger.send("not the password either")
    async with h.services.sessions() as session:
        keys = (await session.scalars(select(Attempt.key))).all()
    assert keys
    joined = "\n".join(keys).lower()
    for typed in ("correcthorse9", JORDAN["username"], "jordan.rivera@example.com", "not the password"):
        assert typed not in joined, keys


async def test_an_ssn_posted_in_a_refused_group_is_deleted(harness):
    h = harness
    group = await h.user(-5101, chat_type="group", user_id=7501)
    replies = await group.send("my ssn is 401–22–7788")
    assert any("private chat" in m.text for m in replies)
    assert group.user_message_ids[-1] in group.deleted
    await group.send("hello everyone")
    assert group.user_message_ids[-1] not in group.deleted

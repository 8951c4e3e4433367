"""The language a chat speaks: chosen at its first message, switched with /language, kept; the
texts declared with a step translated when shown; notices to another chat in that chat's language;
help-desk cases, hires and letters recording the person's; and the check for English left in a
Spanish reply."""

from __future__ import annotations

import asyncio
import textwrap
from datetime import datetime, timedelta, timezone
from types import SimpleNamespace

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from bot.cli import main
from bot.firms import FirmStore
from bot.letters import PrintedLetter, in_their_languages
from bot.services import build_services
from bot.storage.db import transaction
from bot.storage.models import Conversation, ExceptionCase, Firm, FirmHire, Notification
from bot.storage.repo import Repo, set_chat_language
from domain.i18n import N_, _, current_language, language_for, language_named, using
from flows import commands
from flows.core import MORE, Ctx, Flow, run_answer
from flows.notices import letter_reminder
from flows.replies import SCREEN_CHARS, Incoming, Notify
from sabot_testing.leaks import english_runs, leaks
from sabot_testing.loader import load_transcript
from sabot_testing.runner import run_case
from tests.conftest import test_settings as settings_in

NOW = datetime(2026, 3, 2, 15, 0, tzinfo=timezone.utc)


def test_a_language_tag_names_the_language_the_bot_speaks():
    assert [language_for(c) for c in ("es", "es-MX", "es_419", "ES", "en-GB", "fr", "", None)] == [
        "es", "es", "es", "es", "en", None, None, None,
    ]
    assert [language_named(w) for w in ("Español", "espanol", "Spanish", "es", "English", "inglés", "Jordan", "")] == [
        "es", "es", "es", "es", "en", "en", None, None,
    ]


# -- the chat's language, through the engine ---------------------------------------------------------


def _say(chat: int, command: str, language_code: str | None, text: str = "") -> Incoming:
    return Incoming(chat_id=chat, kind="command", command=command, text=text, language_code=language_code)


async def _texts(engine, incoming: Incoming) -> str:
    return "\n".join(getattr(a, "text", "") for a in await engine.handle(incoming))


async def _stored_language(services, chat: int) -> str | None:
    async with services.sessions() as session:
        return await session.scalar(select(Conversation.language).where(Conversation.chat_id == chat))


async def test_the_first_message_decides_and_the_chat_keeps_it(harness):
    h = harness
    assert "Todavía no ha comenzado" in await _texts(h.engine, _say(7001, "status", "es-MX"))
    assert await _stored_language(h.services, 7001) == "es"
    # the app's language later changes nothing: the chat keeps what it started in (or chose)
    assert "Todavía no ha comenzado" in await _texts(h.engine, _say(7001, "status", "en"))
    assert "You haven't started yet" in await _texts(h.engine, _say(7002, "status", "fr"))
    assert await _stored_language(h.services, 7002) == "en"
    assert "You haven't started yet" in await _texts(h.engine, _say(7003, "status", None))


async def test_language_switches_and_the_terminal_can_ask_for_one(harness):
    h = harness
    await h.engine.handle(_say(7101, "start", "en"))
    replies = await h.engine.handle(_say(7101, "idioma", "en"))
    assert replies[-1].button_labels() == ["English", "Español"]
    assert "A partir de ahora le escribo en español." in await _texts(
        h.engine, Incoming(chat_id=7101, kind="button", data="_lang:es")
    )
    assert await _stored_language(h.services, 7101) == "es"
    assert "From now on I'll write in English." in await _texts(h.engine, _say(7101, "language", None, "english"))
    assert await _stored_language(h.services, 7101) == "en"
    # `sabot chat --lang es` on a chat held before
    await set_chat_language(h.services.sessions, 7101, "es")
    assert "Todavía no ha comenzado" in await _texts(h.engine, _say(7101, "status", None))


async def test_the_choice_is_noted_on_the_persons_case_and_hire(harness):
    h = harness
    async with transaction(h.services.sessions) as session:
        repo = Repo(session, h.services.vault, h.clock)
        with using("es"):
            case = await repo.open_exception_case("f" * 64, 7201, None)
        assert case.language == "es"
        firms = FirmStore(session, h.services.vault, h.clock)
        session.add(firm := Firm(name="Acme", created_at=NOW))
        await session.flush()
        hire = await firms.create_hire(firm.id, name="Sam", email=None, invited_by=None)
        hire.chat_id = 7201
        await session.flush()
        await repo.note_language(7201, "en")
    async with h.services.sessions() as session:
        assert await session.scalar(select(ExceptionCase.language)) == "en"
        assert await session.scalar(select(FirmHire.language)) == "en"


async def test_the_help_desk_listing_shows_the_persons_language(tmp_path, monkeypatch):
    settings = settings_in(tmp_path)
    services = await build_services(settings)
    try:
        async with transaction(services.sessions) as session:
            session.add(ExceptionCase(reference="EX-ABCDEF", ssn_hash="e" * 64, chat_id=1, status="handed_off",
                                      created_at=NOW, updated_at=NOW, language="es"))
    finally:
        await services.close()
    monkeypatch.delenv("SABOT_CONFIG", raising=False)
    monkeypatch.setenv("SABOT_DATA_DIR", settings.data_dir)
    monkeypatch.setenv("SABOT_DATABASE__URL", settings.database_url)
    listed = await asyncio.to_thread(CliRunner().invoke, main, ["exception", "list"])
    assert listed.exit_code == 0, listed.output
    assert "EX-ABCDEF" in listed.output and "speaks Español" in listed.output


# -- messages for another chat ------------------------------------------------------------------------


async def test_a_message_for_another_chat_is_written_in_its_language(harness):
    h = harness
    await h.engine.handle(_say(7301, "start", "es"))  # a chat that speaks Spanish
    await h.engine.handle(_say(7302, "start", "en"))
    async with transaction(h.services.sessions) as session:
        repo = Repo(session, h.services.vault, h.clock)
        with using("en"):
            ctx = Ctx(chat_id=7302, data={}, services=h.services, repo=repo, incoming=None)
            await ctx.notify(7301, lambda: _("Why?"))
            await ctx.notify(7303, lambda: _("Why?"))  # never seen: English
            assert _("Why?") == "Why?"  # this turn's language is untouched
        assert ctx.actions == [Notify(7301, "¿Por qué?"), Notify(7303, "Why?")]
        await FirmStore(session, h.services.vault, h.clock).notify_chat(7301, lambda: _("Why?"))
    async with h.services.sessions() as session:
        row = await session.scalar(select(Notification).where(Notification.chat_id == 7301))
        assert h.services.vault.decrypt(row.text_enc, context="notification") == "¿Por qué?"


def test_letters_are_printed_and_reminded_in_their_persons_language():
    letters = [PrintedLetter(1, NOW, NOW, ["A"], "", "es"), PrintedLetter(2, NOW, NOW, ["B"], "", None)]
    assert [(letter.id, current_language()) for letter in in_their_languages(letters)] == [(1, "es"), (2, "en")]
    assert current_language() == "en"
    with using("es"):
        assert letter_reminder(3).startswith("Un recordatorio") and "3 días" in letter_reminder(3)
        assert "1 día más" in letter_reminder(1)
    assert "works for 3 more days" in letter_reminder(3)


# -- texts declared with a step -----------------------------------------------------------------------


async def test_declared_texts_are_translated_when_shown():
    flow = Flow("demo", "Demo", initial="ask")

    async def check(ctx, answer):
        ctx.data["picked"] = answer.choice
        return "stay"

    flow.step("ask", ask=N_("Why?"), help=N_("All commands"), choices=[[("kept", N_("What is kept"))]], typed=False)(check)
    flow.transitions([])
    ctx = Ctx(chat_id=1, data={}, services=None, repo=None, incoming=None)
    step = flow.steps["ask"]
    with using("es"):
        prompt = await step.prompt(ctx)
        assert (prompt.text, prompt.button_labels()) == ("¿Por qué?", ["Qué se guarda"])
        assert await step.help_text(ctx) == "Todos los comandos"
        # typed, the label counts in Spanish and in English
        for typed in ("qué se guarda", "What is kept"):
            ctx.data.clear()
            await run_answer(flow, "ask", ctx, Incoming(chat_id=1, kind="text", text=typed))
            assert ctx.data["picked"] == "kept"
    prompt = await step.prompt(ctx)
    assert (prompt.text, prompt.button_labels()) == ("Why?", ["What is kept"])


def test_spanish_explanations_fit_on_a_screen(tmp_path):
    ctx = SimpleNamespace(services=SimpleNamespace(settings=settings_in(tmp_path)), data={})
    with using("es"):
        for key, text in MORE.items():
            shown = text(ctx) if callable(text) else _(text)
            assert len(shown) <= SCREEN_CHARS, f"{key}: {len(shown)} characters"
        assert len(commands.privacy_text(ctx)) <= SCREEN_CHARS


async def test_the_help_desk_hand_off_fits_on_a_screen_at_every_hour(tmp_path, monkeypatch):
    """The hand-off is the longest reply: the call line, the hours, the desk's next opening in two
    zones and the case reference. Every hour of a week, at home and abroad, in both languages."""
    import flows.exception as exception

    policy = settings_in(tmp_path).policy
    for status in ("handed_off", "tac_referred", "approved"):
        case = SimpleNamespace(status=status, reference="EX-ABCDEF")

        async def stored_case(ctx, case=case):
            return case

        monkeypatch.setattr(exception, "_case", stored_case)
        for address in ({"state": "IL", "country": "US"}, {"state": "HI", "country": "US"}, {"country": "DE"}):
            for hour in range(7 * 24):
                now = datetime(2027, 3, 1, tzinfo=timezone.utc) + timedelta(hours=hour)
                ctx = SimpleNamespace(policy=policy, now=lambda now=now: now, data={"address": address})
                for language in ("en", "es"):
                    with using(language):
                        text = await exception._handoff_text(ctx)
                    assert len(text) <= SCREEN_CHARS, f"{language} {status} {address} {now}: {len(text)} characters"


# -- English left in a Spanish reply ----------------------------------------------------------------


def test_an_english_sentence_in_a_spanish_reply_is_found():
    assert "Please pick one of the buttons below (or type its label)." in english_runs("es")
    assert leaks(["Elija uno de los botones de abajo (o escriba su texto)."], "es") == []
    assert leaks(["Hola.\n\nPlease pick one of the buttons below (or type its label)."], "es") == [
        "Please pick one of the buttons below (or type its label)."
    ]
    # between placeholders: the words around a name
    assert leaks(["(I deleted your message because it held tu SSN, so it doesn't stay in this chat.)"], "es")
    assert leaks(["anything at all"], "en") == []


async def test_a_spanish_transcript_fails_on_english_left_in_a_reply(tmp_path):
    (tmp_path / "hooks.py").write_text(textwrap.dedent('''
        from sabot_testing.runner import Reply
        from sabot_testing.telegram import BotMessage

        async def english(run):
            return Reply(messages=[BotMessage(text="Please pick one of the buttons below (or type its label).")],
                         chat_id=run.default_chat)
    '''))
    path = tmp_path / "leak.convo.yaml"
    path.write_text("language: es\nsteps:\n  - command: status\n  - hook: hooks.py:english\n", encoding="utf-8")
    result = await run_case(load_transcript(path))
    assert result.outcome == "failed", result.error
    assert "English left in a reply in 'es'" in result.message()
    path.write_text("steps:\n  - command: status\n  - hook: hooks.py:english\n", encoding="utf-8")
    assert (await run_case(load_transcript(path))).outcome == "passed"


@pytest.mark.parametrize("value", ["es", "es-MX"])
def test_a_transcript_sets_the_language_of_its_users(tmp_path, value):
    path = tmp_path / "t.convo.yaml"
    path.write_text(
        f"language: {value}\nusers: {{ana: 1001, bob: {{chat: 1002, language: en}}}}\nsteps:\n  - command: status\n",
        encoding="utf-8",
    )
    transcript = load_transcript(path)
    assert transcript.language == value
    assert transcript.users == {"ana": "1001", "bob": "1002"}
    assert transcript.user_languages == {"bob": "en"}

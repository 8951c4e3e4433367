"""Operator actions the transcripts need that have no command yet (called from `hook:` steps)."""

from __future__ import annotations

from bot.storage.repo import Repo


async def force_password_change(run, username: str) -> dict:
    """What an operator would do after a suspected compromise: the next sign-in must set a new
    password."""
    services = run.runtime.services
    async with services.sessions() as session, session.begin():
        repo = Repo(session, services.vault, services.clock)
        account = await repo.account_by_username(username)
        if account is None:
            raise AssertionError(f"no account {username!r}")
        await repo.update_account(account, must_change_password=True)
    return {"forced": username}


# -- checks and actions for commands/ and privacy/ (from the former tests/test_conv_commands.py,
# -- test_conv_unexpected.py and test_conv_deletion.py) ---------------------------------------


def _chat(run, user) -> int:
    return run.chat_for(user)


async def _reply_to(run, chat: int, act):
    """Run a user action the way the runner's own steps do, and return it as the step's reply."""
    from sabot_testing.runner import Reply

    mark = await run.runtime.outbox_mark()
    errors_before = len(run._errors.records)
    messages = await act()
    return Reply(
        messages=list(messages), chat_id=chat, outbox_mark=mark, internal_errors=run._new_errors(errors_before)
    )


async def press_earlier(run, label: str, on: str, user=None):
    """Press the button ``label`` on an EARLIER bot message, the latest one whose text contains
    ``on`` (a stale button still on the screen), not on the current question. The reply is the
    step's reply, so `expect:` checks it."""
    from sabot_testing.telegram import BotMessage

    chat = _chat(run, user)
    client = await run.runtime.client(chat)
    messages = [BotMessage.from_dict(m) for m in run.runtime.api.messages.get(chat, {}).values()]
    with_buttons = [m for m in messages if m.buttons and m.message_id not in client.deleted]
    wanted = " ".join(on.split())
    for m in reversed(with_buttons):
        if wanted in " ".join(m.text.split()) and label in m.labels:
            if m.message_id == messages[-1].message_id:
                raise AssertionError(f"the message with {on!r} is the current question, not an earlier one")
            return await _reply_to(run, chat, lambda: client.press(label, message_id=m.message_id))
    raise AssertionError(f"no earlier bot message containing {on!r} offers the button {label!r}")


async def stored_answers(run, has=(), lacks=(), user=None) -> None:
    """The answers the bot keeps for the chat (decrypted from the database) hold the keys ``has``
    and none of ``lacks``: what /cancel erases."""
    from bot.storage.models import Conversation

    services = run.runtime.services
    async with services.sessions() as session:
        row = await session.get(Conversation, _chat(run, user))
        answers = (services.vault.decrypt(row.data_enc, context="conversation") or {}) if row else {}
    missing = [key for key in has if key not in answers]
    kept = [key for key in lacks if key in answers]
    if missing:
        raise AssertionError(f"the stored answers lack {missing}; they hold {sorted(answers)}")
    if kept:
        raise AssertionError(f"the stored answers still hold {kept}")


def repeat(run, text: str, times: int, name: str) -> dict:
    """Set the variable ``name`` to ``text`` repeated ``times`` times (a very long message)."""
    return {name: text * int(times)}


async def in_group_chat(run, chat: int, command: str):
    """Send ``/command`` from a group chat ``chat``; the bot must not start a conversation there.
    The reply is the step's reply."""
    from sabot_testing.telegram import TelegramTestClient

    chat = int(chat)
    client = TelegramTestClient(run.runtime.app, chat_id=chat, chat_type="group")
    await client.start()
    run.runtime.clients[chat] = client  # closed with the run
    reply = await _reply_to(run, chat, lambda: client.command(command))
    where = await run.runtime.engine.where(chat)
    if where is not None:
        raise AssertionError(f"the group chat has a conversation: {where}")
    return reply


async def no_secret_in_chat(run, secrets, codes: int, user=None) -> None:
    """No bot message in the chat (the whole history, current texts) contains any of ``secrets``
    or any one-time code sent so far by email, text or letter; exactly ``codes`` codes were sent."""
    import re

    from sabot_testing.telegram import BotMessage

    chat = _chat(run, user)
    everything = "\n".join(BotMessage.from_dict(m).text for m in run.runtime.api.messages.get(chat, {}).values())
    for secret in secrets:
        if str(secret) in everything:
            raise AssertionError(f"the bot repeated {secret!r} in the chat")
    sent = [found.group(1) for m in await run.runtime.outbox() if (found := re.search(r"\b(\d{6})\b", m.body))]
    if len(sent) != int(codes):
        raise AssertionError(f"expected {codes} one-time codes to have been sent, there were {len(sent)}")
    for code in sent:
        if code in everything:
            raise AssertionError("the bot repeated a one-time code in the chat")


async def deleted_count(run, count: int, user=None) -> None:
    """The bot has deleted exactly ``count`` of the user's messages in the chat so far."""
    client = await run.runtime.client(_chat(run, user))
    if len(client.deleted) != int(count):
        raise AssertionError(f"expected {count} of the user's messages to be deleted, {len(client.deleted)} were")


async def restart(run) -> None:
    """The bot process stops and a new one starts on the same database (and the same clock): a
    new engine, Telegram application and Bot API connection, nothing kept in memory. What a chat
    was doing must come back from the database alone."""
    from bot.engine import Engine
    from bot.services import build_services, load_demo_records_if_empty
    from bot.telegram_adapter import RetryPolicy, build_application
    from sabot_testing.telegram import FAKE_TOKEN, FakeBotAPI

    runtime = run.runtime
    for client in reversed(list(runtime.clients.values())):
        await client.stop()
    runtime.clients = {}
    await runtime.engine.close()
    await runtime.services.close()

    async def no_sleep(_seconds: float) -> None:
        return None

    services = await build_services(runtime.settings, clock=runtime.clock)
    await load_demo_records_if_empty(services)
    engine = Engine(services)
    api = FakeBotAPI()
    runtime.services, runtime.engine, runtime.api = services, engine, api
    runtime.app = build_application(token=FAKE_TOKEN, engine=engine, request=api, retry_policy=RetryPolicy(sleep=no_sleep))


async def count_deliveries(run, channel: str, count: int, to: str = "") -> None:
    """Everything the bot has sent by ``channel`` (email, sms, mail) so far, to ``to`` when given
    (part of the address or envelope), is exactly ``count`` messages."""
    sent = [m for m in await run.runtime.outbox() if m.channel == channel and to in m.to]
    if len(sent) != int(count):
        raise AssertionError(f"expected {count} {channel} deliveries{' to ' + to if to else ''}, found {len(sent)}")


def photos_protected(run) -> None:
    """The last reply has a photo, and every photo in it is sent protected (``protected: true``
    only says that some message of the reply is)."""
    photos = [m for m in (run.last.messages if run.last else []) if m.photo]
    if not photos:
        raise AssertionError("expected a photo in the last reply, there was none")
    if not all(m.protect_content for m in photos):
        raise AssertionError("a photo in the last reply was sent without protect_content")


# -- firms (tests/transcripts/admin/): what a chat received, exported files, the firm store ------


def _messages(run, user):
    from sabot_testing.telegram import BotMessage

    chat = run.chat_for(user)
    return chat, [BotMessage.from_dict(m) for m in run.runtime.api.messages.get(chat, {}).values()]


def chat_history(run, user, starting: str | None = None):
    """Every message the bot has sent to ``user``'s chat so far (current content), or only those
    whose text starts with ``starting``, as the step's reply: what another person received."""
    from sabot_testing.runner import Reply

    chat, messages = _messages(run, user)
    if starting is not None:
        messages = [m for m in messages if m.text.startswith(starting)]
    return Reply(messages=messages, chat_id=chat)


def sent_file(run, user, file_name: str | None = None, files: int | None = None):
    """The last document the bot sent to ``user``'s chat, its content as the step's reply (one
    message whose text is the file), so `exact:`/`contains:` check the file itself. ``files``: how
    many documents the chat has been sent so far."""
    from dataclasses import replace

    from sabot_testing.runner import Reply

    chat, messages = _messages(run, user)
    documents = [m for m in messages if m.document]
    if not documents:
        raise AssertionError(f"no document was sent to chat {chat}")
    if files is not None and len(documents) != int(files):
        raise AssertionError(f"{len(documents)} documents were sent to chat {chat}, expected {files}")
    last = documents[-1]
    if file_name is not None and last.document != file_name:
        raise AssertionError(f"the file is named {last.document!r}, not {file_name!r}")
    text = run.runtime.api.files[last.document_id].decode("utf-8-sig")
    return Reply(messages=[replace(last, text=text, buttons=[], button_data=[])], chat_id=chat)


def button_data(run, user, label: str, name: str) -> dict:
    """The callback data of the button whose label starts with ``label`` on ``user``'s latest
    message with buttons, into the variable ``name`` (``${name.id}``: the part after ':h')."""
    chat, messages = _messages(run, user)
    for message in reversed(messages):
        if not message.buttons:
            continue
        for labels, datas in zip(message.buttons, message.button_data):
            for lab, data in zip(labels, datas):
                if lab.startswith(label):
                    return {name: data, f"{name}.id": data.split(":h", 1)[-1], f"{name}.message": str(message.message_id)}
        raise AssertionError(f"no button starting {label!r}: {message.labels}")
    raise AssertionError(f"no message with buttons in chat {chat}")


async def press_data_on(run, user, data: str, message: str):
    """A callback with ``data`` from the (older) bot message ``message``: a stale button."""
    from sabot_testing.runner import Reply

    chat = run.chat_for(user)
    client = await run.runtime.client(chat)
    return Reply(messages=await client.press_data(str(data), message_id=int(message)), chat_id=chat)


async def deliveries_to(run, to: str, count: int, channel: str = "email", contains: str | None = None, subject: str | None = None):
    """Exactly ``count`` deliveries by ``channel`` to ``to`` so far, each with ``contains`` in its
    body and ``subject`` in its subject."""
    sent = [m for m in await run.runtime.outbox() if m.channel == channel and m.to == to]
    if len(sent) != int(count):
        raise AssertionError(f"{len(sent)} {channel} deliveries to {to}, expected {count}")
    for m in sent:
        if contains is not None and str(contains) not in m.body:
            raise AssertionError(f"a {channel} to {to} doesn't contain {contains!r}:\n{m.body}")
        if subject is not None and str(subject) not in (m.subject or ""):
            raise AssertionError(f"a {channel} to {to} has the subject {m.subject!r}, without {subject!r}")


async def firm_rows_keep_no_secrets(run, token: str, name: str):
    """Only a keyed hash of an invitation token is stored, and a hire's name only encrypted."""
    from sqlalchemy import select

    from bot.storage.models import FirmHire, FirmInvite

    async with run.runtime.services.sessions() as session:
        invites = list(await session.scalars(select(FirmInvite)))
        hires = list(await session.scalars(select(FirmHire)))
    if not invites or not hires:
        raise AssertionError("no invitation or hire stored")
    for row in invites:
        if token in row.token_hash:
            raise AssertionError("the invitation token is stored in the clear")
    for row in hires:
        if name in row.name_enc:
            raise AssertionError("the hire's name is stored in the clear")


async def firm_store_hires(run, firm: str, hire: str, found: bool, names: list | None = None):
    """What the firm store returns to firm ``firm``: hire ``hire`` (or None), and its hires' names."""
    services = run.runtime.services
    async with services.sessions() as session:
        store = services.firms(session)
        got = await store.hire(int(firm), int(hire))
        if (got is not None) != bool(found):
            raise AssertionError(f"firm {firm} {'did not get' if found else 'got'} hire {hire}")
        if names is not None:
            actual = [store.name(h) for h in await store.hires(int(firm))]
            if actual != list(names):
                raise AssertionError(f"firm {firm}'s hires are {actual}, expected {names}")


async def forget_firm_hire(run, user, unlinked: int = 1):
    """What erasing a chat's data does to firms (``FirmStore.forget_chat``, called by the
    erasure): the chat's hires are unlinked; afterwards none is found for the chat."""
    services = run.runtime.services
    chat = run.chat_for(user)
    async with services.sessions() as session, session.begin():
        count = await services.firms(session).forget_chat(chat)
    if count != int(unlinked):
        raise AssertionError(f"forget_chat unlinked {count} hires, expected {unlinked}")
    async with services.sessions() as session:
        left = await services.firms(session).hires_for_chat(chat)
    if left:
        raise AssertionError(f"hires still linked to chat {chat}: {left}")

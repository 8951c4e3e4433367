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


# -- firms (tests/transcripts/admin/): what a chat received, exported files, the firm store ------


def _messages(run, user):
    from bot.testing.telegram import BotMessage

    chat = run.chat_for(user)
    return chat, [BotMessage.from_dict(m) for m in run.runtime.api.messages.get(chat, {}).values()]


def chat_history(run, user, starting: str | None = None):
    """Every message the bot has sent to ``user``'s chat so far (current content), or only those
    whose text starts with ``starting``, as the step's reply: what another person received."""
    from bot.scripting.runner import Reply

    chat, messages = _messages(run, user)
    if starting is not None:
        messages = [m for m in messages if m.text.startswith(starting)]
    return Reply(messages=messages, chat_id=chat)


def sent_file(run, user, file_name: str | None = None, files: int | None = None):
    """The last document the bot sent to ``user``'s chat, its content as the step's reply (one
    message whose text is the file), so `exact:`/`contains:` check the file itself. ``files``: how
    many documents the chat has been sent so far."""
    from dataclasses import replace

    from bot.scripting.runner import Reply

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
    from bot.scripting.runner import Reply

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

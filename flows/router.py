"""Routes each incoming event: commands that work everywhere (:mod:`flows.commands`), then the
active flow's step.

Every move from one flow to another is declared: a flow's exits next to its transitions table, a
command's in its row, and the router's own (a session that ends) in :data:`EXITS`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from flows import admin, commands, exception, hires, home, login, profile, registration
from flows.commands import Turn
from flows.core import MORE, Ctx, Exits, Flow, enter, more_buttons, personal_data, run_answer
from flows.replies import Action, DeleteUserMessage, Incoming, Reply
from domain.i18n import N_, _, format_number, language_named, ngettext
from domain.validators import yes_no

FLOWS: dict[str, Flow] = {
    f.name: f for f in (home.flow, registration.flow, login.flow, profile.flow, exception.flow, admin.flow)
}

#: the router's own moves: a signed-in screen whose session ended
EXITS = Exits("router", [("session ended", "home", "registered", ["home", "profile", "registration"])])


def all_exits() -> list[tuple[str, Exits]]:
    """Every declared table of moves: each flow's, each command's, the router's."""
    tables = [(name, flow.exit_table) for name, flow in FLOWS.items()]
    tables += [("/" + row.names[0], row.exits) for row in commands.COMMANDS]
    tables.append(("router", EXITS))
    return tables


def check_exits() -> None:
    """Fail early on a declared move to a flow or state that doesn't exist."""
    for origin, table in all_exits():
        for row in table:
            if row.flow not in FLOWS or (row.state is not None and row.state not in FLOWS[row.flow].steps):
                raise ValueError(f"{origin}: exit {row.name!r} leads to {row.flow}.{row.state}, which doesn't exist")


OTHER_WORDS = {
    "photo": N_("a photo"),
    "sticker": N_("a sticker"),
    "voice": N_("a voice message"),
    "video": N_("a video"),
    "document": N_("a file"),
    "location": N_("a location"),
    "contact": N_("a contact"),
}


@dataclass
class ConversationState:
    flow: str
    state: str
    data: dict

    @classmethod
    def new(cls) -> "ConversationState":
        return cls("home", "welcome", {hires.HIRE_FLAG: False})


#: answers dropped whenever a flow ends, so nothing personal lingers in the conversation
KEEP_ACROSS_FLOWS = ("session", "_update_ids", "_hire", "_explained")


async def _current_prompt(conv: ConversationState, ctx: Ctx) -> list[Action]:
    return await enter(FLOWS[conv.flow], conv.state, ctx)


async def _switch(
    conv: ConversationState, ctx: Ctx, flow_name: str, state: str | None, carry: dict | None = None
) -> list[Action]:
    carried = {k: ctx.data[k] for k in KEEP_ACROSS_FLOWS if k in ctx.data}
    carried.update(carry or {})
    conv.flow = flow_name
    conv.state = state or FLOWS[flow_name].initial
    ctx.data.clear()
    ctx.data.update(carried)
    return await _current_prompt(conv, ctx)


def _session_expired(ctx: Ctx, now: datetime) -> str | None:
    s = ctx.data.get("session")
    if not s:
        return None
    policy = ctx.policy.session
    if now - datetime.fromisoformat(s["started"]) > timedelta(hours=policy.max_hours):
        n = policy.max_hours
        return ngettext(
            "For your security, sessions end after {n} hour, so I've signed you out.",
            "For your security, sessions end after {n} hours, so I've signed you out.",
            n,
        ).format(n=format_number(n))
    if now - datetime.fromisoformat(s["seen"]) > timedelta(minutes=policy.idle_minutes):
        n = policy.idle_minutes
        return ngettext(
            "You were inactive for over {n} minute, so I've signed you out.",
            "You were inactive for over {n} minutes, so I've signed you out.",
            n,
        ).format(n=format_number(n))
    s["seen"] = now.isoformat()
    return None


async def _command(conv: ConversationState, ctx: Ctx, incoming: Incoming) -> list[Action]:
    turn = _turn(conv, ctx, incoming)
    row = commands.lookup(turn)
    if row is None:
        ctx.exits = Exits("an unknown command", [])
        return await commands.unknown(turn)
    ctx.exits = row.exits
    return await row.handler(turn)


def _turn(conv: ConversationState, ctx: Ctx, incoming: Incoming) -> Turn:
    async def prompt() -> list[Action]:
        return await _current_prompt(conv, ctx)

    async def follow(out: list[Action]) -> list[Action]:
        return await _follow(conv, ctx, out)

    return Turn(conv, ctx, incoming, FLOWS[conv.flow], prompt, follow)


async def _follow(conv: ConversationState, ctx: Ctx, out: list[Action]) -> list[Action]:
    """``out``, then the flow a handler switched to (ctx.go), or else the current prompt again."""
    if ctx.switch is None:
        return out + await _current_prompt(conv, ctx)
    flow_name, state, carry = ctx.switch
    ctx.switch = None
    return out + await _switch(conv, ctx, flow_name, state, carry)


async def dispatch(conv: ConversationState, ctx: Ctx, incoming: Incoming) -> list[Action]:
    """Handle one event; ``conv`` and ``ctx.data`` are updated in place."""
    return more_buttons(await _dispatch(conv, ctx, incoming), ctx.more)


def _confirmation(incoming: Incoming, prefix: str) -> str | None:
    """"yes" or "no" for a confirmation's question: its button, or the word typed."""
    if incoming.kind == "button" and incoming.data in (f"{prefix}:yes", f"{prefix}:no"):
        return incoming.data.partition(":")[2]
    if incoming.kind == "text":
        said = yes_no(incoming.text)
        if said is not None:
            return "yes" if said else "no"
    return None


async def _more(conv: ConversationState, ctx: Ctx, key: str) -> list[Action]:
    """A "more" button: its text, then the question again."""
    text = MORE.get(key)
    if text is None:
        return [Reply(_("That button belongs to an earlier message, so I've ignored it. Here is where we are now:"))] + await _current_prompt(conv, ctx)
    if callable(text):
        text = text(ctx)
    return [Reply(_(text))] + await _current_prompt(conv, ctx)


# The questions awaiting a yes: the flag that marks one, its buttons' prefix, what a yes does, and
# what a typed answer leaves undone
_PENDING = (
    ("_pending_delete", "_delete", commands.confirm_delete,
     N_("(Nothing was erased: I've read that as your answer to the question.)")),
    ("_pending_cancel", "_cancel", commands.confirm_cancel,
     N_("(Nothing was cancelled: I've read that as your answer to the question.)")),
)


def _language_chosen(ctx: Ctx, incoming: Incoming) -> str | None:
    """The language a /language button names, or the one typed right after /language."""
    asked = ctx.data.pop(commands.PENDING_LANGUAGE, False)  # /language waits for one message only
    if incoming.kind == "button" and incoming.data.startswith(commands.LANGUAGE_BUTTONS + ":"):
        return incoming.data.partition(":")[2]
    if asked and incoming.kind == "text":
        return language_named(incoming.text)
    return None


async def _dispatch(conv: ConversationState, ctx: Ctx, incoming: Incoming) -> list[Action]:
    out: list[Action] = []

    expired = _session_expired(ctx, ctx.now())
    if expired:
        ctx.data.pop("session", None)
        out.append(Reply(expired))
        if (conv.flow == "home" and conv.state == "signed_in") or conv.flow == "profile" or ctx.data.get("reregister_account_id"):
            ctx.exits = EXITS
            ctx.go("home", "registered")
            return await _follow(conv, ctx, out)

    language = _language_chosen(ctx, incoming)
    if incoming.kind == "button" and incoming.data.startswith("_more:"):
        for pending, *_rest in _PENDING:
            ctx.data.pop(pending, None)
        return out + await _more(conv, ctx, incoming.data.partition(":")[2])

    if language is not None:
        for pending, *_rest in _PENDING:
            ctx.data.pop(pending, None)
        ctx.exits = Exits("/language", [])
        return out + await commands.switch_language(_turn(conv, ctx, incoming), language)

    for pending, buttons, confirm, not_done in _PENDING:
        if ctx.data.pop(pending, False):
            answer = _confirmation(incoming, buttons)
            if answer is not None:
                return out + await confirm(_turn(conv, ctx, incoming), answer)
            if incoming.kind == "text":
                out.append(Reply(_(not_done)))

    if incoming.kind == "command":
        return out + await _command(conv, ctx, incoming)
    if incoming.kind == "other":
        on_secret_step = bool(FLOWS[conv.flow].steps[conv.state].secret)
        # a contact card carries a phone number; a caption may carry anything typed
        carries = incoming.other == "contact" or (incoming.text and (personal_data(incoming.text) or on_secret_step))
        if carries and incoming.message_id is not None:
            out.append(DeleteUserMessage(incoming.message_id))
            out.append(Reply(_("(I deleted that message in case it held something private, so it doesn't stay in this chat.)")))
        if incoming.other == "edited":
            note = _(
                "I noticed you edited a message. Edits don't change an answer I've already read; "
                "to change your last answer use /back."
            )
        else:
            what = OTHER_WORDS.get(incoming.other)
            what = _(what) if what else _("that")
            note = _("I can only read typed answers and button taps here, so I didn't use {what}.").format(what=what)
        return out + [Reply(note)] + await _current_prompt(conv, ctx)

    flow = FLOWS[conv.flow]
    ctx.exits = flow.exit_table
    new_state, actions = await run_answer(flow, conv.state, ctx, incoming)
    out.extend(actions)
    if ctx.switch is not None:
        flow_name, state, carry = ctx.switch
        ctx.switch = None
        out.extend(await _switch(conv, ctx, flow_name, state, carry))
        return out
    conv.state = new_state
    return out


check_exits()

"""Routes each incoming event: commands that work everywhere, then the active flow's step."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from flows import admin, exception, hires, home, login, profile, registration
from flows.core import DIGIT_RUN, Ctx, Flow, buttons, enter, history, run_answer
from flows.replies import Action, DeleteUserMessage, Incoming, Reply

FLOWS: dict[str, Flow] = {
    f.name: f for f in (home.flow, registration.flow, login.flow, profile.flow, exception.flow, admin.flow)
}

COMMANDS_HELP = (
    "Commands: /status where you are, /back change the last answer, /cancel stop and forget "
    "this registration, /login sign in, /profile your account (once signed in), /logout, "
    "/privacy what is kept, /delete_my_data erase what I keep about you, /help this help."
)

def privacy_text(ctx: Ctx) -> str:
    """What is kept, for how long and who sees it: the numbers come from config.yaml (privacy:)."""
    keep = ctx.services.settings.privacy
    days = lambda n: f"{n:g} day{'' if n == 1 else 's'}"  # noqa: E731
    return (
        "What I keep and why, for how long, and who sees it:\n"
        "• While you register: your answers so far (name, email, date of birth, filing status, address, "
        f"phone), encrypted, so you can carry on later. If you don't come back for {days(keep.abandoned_after_days)}, "
        "they're erased.\n"
        "• Your SSN and every code: only as a keyed fingerprint that can't be turned back into the number. "
        f"Codes are deleted {days(keep.codes_retention_days)} after they stop working.\n"
        "• Financial account digits: never kept. They're checked once against the records and dropped.\n"
        "• Once you're registered, your account, for as long as it exists: your username, your password "
        "only as a one-way hash (argon2), and, encrypted, your name, email, date of birth, filing status, "
        "address, phone, site phrase and authenticator key.\n"
        f"• Emails and texts I send you: an encrypted copy for {days(keep.outbox_retention_days)}. Letters with "
        f"a mailed code: until {days(keep.letters_retention_days)} after the code expires.\n"
        "• Security events (sign-ins, wrong codes, lockouts, changes to your password or devices): their "
        f"kind and time only, no personal data, for {days(keep.audit_retention_days)}. Counters behind "
        f"attempt limits: {days(keep.attempts_retention_days)}.\n\n"
        "Who sees it: only the operators of this service, with its own tools. Nobody can read your "
        "password or SSN back. The tax records you're checked against belong to the tax authority, not "
        "to this bot.\n\n"
        "Chats with bots aren't end-to-end encrypted, so I ask only for what each step needs, and I delete "
        "your messages that carry an SSN, date of birth, account digits, a password or a code as soon as "
        "I've read them. /cancel stops a registration and erases its answers; /delete_my_data erases "
        "what I keep about you."
    )


DELETE_KEPT = (
    "What stays, and why: security events (kind and time only, no longer linked to this chat); "
    "counters behind attempt limits until their time runs out (so erasing can't undo a lockout); the "
    "tax records you were checked against (they're the tax authority's, not yours or this bot's); "
    "a help-desk case's reference number, if you had one, without your contact details; and, if a firm "
    "invited you, the name and email its admin typed, no longer linked to you. This chat's "
    "history is on Telegram: you can clear it in your Telegram app."
)

OTHER_WORDS = {
    "photo": "a photo",
    "sticker": "a sticker",
    "voice": "a voice message",
    "video": "a video",
    "document": "a file",
    "location": "a location",
    "contact": "a contact",
}


@dataclass
class ConversationState:
    flow: str
    state: str
    data: dict

    @classmethod
    def new(cls) -> "ConversationState":
        return cls("home", "welcome", {})


#: answers dropped whenever a flow ends, so nothing personal lingers in the conversation
KEEP_ACROSS_FLOWS = ("session", "_update_ids")


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


def _plural(count: float, unit: str) -> str:
    return f"{count:g} {unit}" + ("" if count == 1 else "s")


def _session_expired(ctx: Ctx, now: datetime) -> str | None:
    s = ctx.data.get("session")
    if not s:
        return None
    policy = ctx.policy.session
    if now - datetime.fromisoformat(s["started"]) > timedelta(hours=policy.max_hours):
        return f"For your security, sessions end after {_plural(policy.max_hours, 'hour')}, so I've signed you out."
    if now - datetime.fromisoformat(s["seen"]) > timedelta(minutes=policy.idle_minutes):
        return f"You were inactive for over {_plural(policy.idle_minutes, 'minute')}, so I've signed you out."
    s["seen"] = now.isoformat()
    return None


def status_text(conv: ConversationState, ctx: Ctx) -> str:
    if conv.flow == "registration":
        step = registration.flow.steps[conv.state]
        current = registration.STAGES.index(step.stage) if step.stage in registration.STAGES else 0
        lines = []
        for i, stage in enumerate(registration.STAGES):
            mark = "✅" if i < current else ("➡️" if i == current else "▫️")
            lines.append(f"{mark} {stage}")
        return "Registration progress:\n" + "\n".join(lines) + "\n\nYour answers so far are saved."
    if conv.flow == "login":
        return "You're signing in."
    if conv.flow == "exception":
        if conv.state == "handoff":
            return (
                "Your registration is with the e-Help Desk (exception processing), case "
                f"{ctx.data.get('case_ref', '')}. The details are below; your online answers are kept."
            )
        return "Exception processing isn't open to you; the options that remain are below."
    if conv.flow == "profile":
        return "You're signed in and looking at your profile."
    if conv.flow == "admin":
        return "You're in your firm's admin menu. /cancel closes it."
    if ctx.data.get("session"):
        return f"You're signed in as {ctx.data['session'].get('username')}."
    if conv.state == "registered":
        return "You're registered and signed out. /login signs you in."
    if conv.state == "awaiting_letter":
        return (
            "Your account is set up and waiting for the activation code from your letter. When it "
            "arrives, sign in with /login and type the code."
        )
    return "You haven't started yet. Tap \"Begin registration\" to start."


async def _command(conv: ConversationState, ctx: Ctx, incoming: Incoming) -> list[Action]:
    name = incoming.command
    flow = FLOWS[conv.flow]
    step = flow.steps[conv.state]
    busy = conv.flow in ("registration", "login", "profile", "exception")

    here = (conv.flow, conv.state)
    if name == "start" and incoming.text.strip():  # a deep link: a firm's invitation
        return await _follow(conv, ctx, await admin.open_invite(ctx, incoming.text, here=here))
    if name in admin.COMMANDS:
        return await _follow(conv, ctx, await admin.command(ctx, name, incoming.text, here=here))
    if name == "cancel" and conv.flow == "admin":
        return await _follow(conv, ctx, admin.cancel(ctx))
    if name == "start":
        if busy:
            return [Reply(f"You're already in the middle of {flow.title.lower()}. Here's where we are:")] + await _current_prompt(conv, ctx)
        if ctx.data.get("session") or (conv.flow == "home" and conv.state != "welcome"):
            # registered (or waiting for a letter): their own screen, not the first-time welcome
            return await _current_prompt(conv, ctx)
        return await _switch(conv, ctx, "home", "welcome")
    if name == "help":
        return [Reply(f"{step.help}\n\n{COMMANDS_HELP}".strip())] + await _current_prompt(conv, ctx)
    if name == "privacy":
        return [Reply(privacy_text(ctx))] + await admin.privacy_extra(ctx) + await _current_prompt(conv, ctx)
    if name in ("delete_my_data", "deletemydata"):
        return await _ask_delete(ctx)
    if name == "status":
        return [Reply(status_text(conv, ctx))] + await _current_prompt(conv, ctx)
    if name == "back":
        past = history(ctx)
        if not past:
            if ctx.data.get("_checkpoint"):
                reason = (
                    "There's no earlier answer to change at this point: what came before has already been "
                    "verified. Use /cancel if you need to start over."
                )
            elif busy:
                reason = "This is the first question here, so there's nothing earlier to change."
            else:
                reason = "There's nothing to go back to here."
            return [Reply(reason)] + await _current_prompt(conv, ctx)
        conv.state = past.pop()
        return [Reply("OK, let's redo that one.")] + await _current_prompt(conv, ctx)
    if name == "cancel":
        if not busy:
            return [Reply("There's nothing in progress to cancel.")] + await _current_prompt(conv, ctx)
        ctx.data["_pending_cancel"] = True
        what = {"registration": "registration", "login": "sign-in", "profile": "change", "exception": "registration"}[conv.flow]
        extra = " Everything you've entered so far will be erased." if what == "registration" else ""
        return [
            Reply(
                f"Do you want to cancel this {what}?{extra}",
                buttons("_cancel", [[("yes", f"Yes, cancel the {what}"), ("no", "No, keep going")]]),
            )
        ]
    if name in ("login", "signin"):
        if conv.flow == "registration":
            return [
                Reply("You're in the middle of registering. Finish it first, or /cancel it if you meant to sign in to an existing account.")
            ] + await _current_prompt(conv, ctx)
        if ctx.data.get("session"):
            return [Reply("You're already signed in.")] + await _current_prompt(conv, ctx)
        if conv.flow == "login":
            return await _current_prompt(conv, ctx)
        return await _switch(conv, ctx, "login", None)
    if name in ("logout", "signout"):
        if ctx.data.pop("session", None):
            conv.flow, conv.state = "home", "registered"
            return [Reply("You're signed out.")] + await _current_prompt(conv, ctx)
        return [Reply("You aren't signed in.")] + await _current_prompt(conv, ctx)
    if name == "profile":
        if not ctx.data.get("session"):
            return [Reply("Sign in first with /login; then /profile shows your account.")] + await _current_prompt(conv, ctx)
        if busy:
            return [Reply("Let's finish what we started first:")] + await _current_prompt(conv, ctx)
        return await _switch(conv, ctx, "profile", None)
    if name == "register":
        if busy:
            return [Reply("Let's finish what we started first:")] + await _current_prompt(conv, ctx)
        return await _switch(conv, ctx, "registration", None)
    return [Reply(f"I don't know the command /{name}. {COMMANDS_HELP}")] + await _current_prompt(conv, ctx)


def _signed_in_account(ctx: Ctx) -> int | None:
    return (ctx.data.get("session") or {}).get("account_id")


async def _ask_delete(ctx: Ctx) -> list[Action]:
    plan = await ctx.repo.erasure_plan(ctx.chat_id, _signed_in_account(ctx))
    text = (
        "Do you want me to erase what I keep about you? That is your answers in this chat, the codes "
        "and messages I sent you, and reminders waiting for you"
    )
    text += ", and your Secure Access account with its sign-in details and devices." if plan.accounts else "."
    if plan.accounts:
        text += " You'd have to register again to use it."
    if plan.needs_sign_in:
        text += (
            "\n\nYour Secure Access account registered from this chat stays unless you're signed in: to "
            "erase it too, cancel this, sign in with /login, then send /delete_my_data again."
        )
    text += "\n\n" + DELETE_KEPT
    ctx.data["_pending_delete"] = True
    return [Reply(text, buttons("_delete", [[("yes", "Yes, erase my data"), ("no", "No, keep it")]]))]


async def _delete_my_data(conv: ConversationState, ctx: Ctx) -> list[Action]:
    report = await ctx.repo.erase_personal_data(ctx.chat_id, _signed_in_account(ctx), dict(ctx.data))
    ctx.data.pop("session", None)
    what = "Your data is erased, including your Secure Access account." if report.accounts else "Your data is erased."
    if report.needs_sign_in:
        what += " Your Secure Access account stays: sign in and send /delete_my_data to erase it too."
    return [Reply(f"{what} This chat starts afresh.\n\n{DELETE_KEPT}")] + await _switch(conv, ctx, "home", "welcome")


async def _follow(conv: ConversationState, ctx: Ctx, out: list[Action]) -> list[Action]:
    """``out``, then the flow a handler switched to (ctx.go), or else the current prompt again."""
    if ctx.switch is None:
        return out + await _current_prompt(conv, ctx)
    flow_name, state, carry = ctx.switch
    ctx.switch = None
    return out + await _switch(conv, ctx, flow_name, state, carry)


async def dispatch(conv: ConversationState, ctx: Ctx, incoming: Incoming) -> list[Action]:
    """Handle one event; ``conv`` and ``ctx.data`` are updated in place."""
    out: list[Action] = []

    expired = _session_expired(ctx, ctx.now())
    if expired:
        ctx.data.pop("session", None)
        out.append(Reply(expired))
        if (conv.flow == "home" and conv.state == "signed_in") or conv.flow == "profile" or ctx.data.get("reregister_account_id"):
            return out + await _switch(conv, ctx, "home", "registered")

    if ctx.data.pop("_pending_delete", False):
        if incoming.kind == "button" and incoming.data == "_delete:yes":
            return out + await _delete_my_data(conv, ctx)
        if incoming.kind == "button" and incoming.data == "_delete:no":
            return out + [Reply("Nothing was erased.")] + await _current_prompt(conv, ctx)

    if ctx.data.pop("_pending_cancel", False):
        if incoming.kind == "button" and incoming.data == "_cancel:yes":
            if ctx.data.get("session"):
                out.append(Reply("Cancelled. You're still signed in."))
                return out + await _switch(conv, ctx, "home", "signed_in")
            what = "registration" if conv.flow == "registration" else "sign-in"
            if conv.flow == "registration":
                await hires.record_hire_event(ctx, "cancelled")
            out.append(Reply(f"The {what} is cancelled and what you entered has been erased. You can start again any time."))
            return out + await _switch(conv, ctx, "home", "welcome")
        if incoming.kind == "button" and incoming.data == "_cancel:no":
            return out + [Reply("Good, let's carry on.")] + await _current_prompt(conv, ctx)

    if incoming.kind == "command":
        return out + await _command(conv, ctx, incoming)
    if incoming.kind == "other":
        on_secret_step = bool(FLOWS[conv.flow].steps[conv.state].secret)
        if incoming.text and incoming.message_id is not None and (DIGIT_RUN.search(incoming.text) or on_secret_step):
            out.append(DeleteUserMessage(incoming.message_id))
            out.append(Reply("(I deleted that message in case it held something private, so it doesn't stay in this chat.)"))
        if incoming.other == "edited":
            note = (
                "I noticed you edited a message. Edits don't change an answer I've already read; "
                "to change your last answer use /back."
            )
        else:
            what = OTHER_WORDS.get(incoming.other, "that")
            note = f"I can only read typed answers and button taps here, so I didn't use {what}."
        return out + [Reply(note)] + await _current_prompt(conv, ctx)

    flow = FLOWS[conv.flow]
    new_state, actions = await run_answer(flow, conv.state, ctx, incoming)
    out.extend(actions)
    if ctx.switch is not None:
        flow_name, state, carry = ctx.switch
        ctx.switch = None
        out.extend(await _switch(conv, ctx, flow_name, state, carry))
        return out
    conv.state = new_state
    return out

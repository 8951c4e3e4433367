"""The commands that work everywhere (/start, /help, /cancel...), as a table.

Each row gives the names a command answers to, when it applies, what it does and the moves to
other flows it may make (its exits: ``ctx.go`` refuses any other). The router looks a command up
here: the first row with its name that applies answers it; a name no row knows gets the list of
commands.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Awaitable, Callable

from flows import admin, hires, registration
from flows.core import MORE, Ctx, Exit, Exits, Flow, buttons, history
from flows.replies import Action, Incoming, Reply

if TYPE_CHECKING:  # pragma: no cover
    from flows.router import ConversationState

COMMANDS_HELP = (
    "Commands: /status where you are, /back change the last answer, /cancel stop and forget "
    "this registration, /login sign in, /profile your account (once signed in), /logout, "
    "/privacy what is kept, /delete_my_data erase what I keep about you, /help this help."
)

#: flows whose answers a command must not drop
BUSY = ("registration", "login", "profile", "exception")

#: where the admin menu returns to when it closes: the screen it was opened from
ADMIN_RETURNS = ("welcome", "registered", "awaiting_letter", "signed_in")


def _days(n: float) -> str:
    return f"{n:g} day{'' if n == 1 else 's'}"


def privacy_text(ctx: Ctx) -> str:
    """/privacy in short; the buttons under it (:data:`PRIVACY_MORE`) say the rest."""
    keep = ctx.services.settings.privacy
    return (
        "Privacy in short: I ask only for what each step needs and keep it encrypted. Your SSN and "
        "codes are kept only as fingerprints that can't be turned back, account digits never, and I "
        "delete your messages that carry them as soon as I've read them. Unfinished answers are erased "
        f"after {_days(keep.abandoned_after_days)}. Only this service's operators see your data.\n\n"
        "/cancel erases a registration's answers; /delete_my_data erases what I keep about you. The "
        "buttons below say more."
    )


def privacy_kept(ctx: Ctx) -> str:
    """What is kept, and for how long: the numbers come from config.yaml (privacy:)."""
    keep = ctx.services.settings.privacy
    return (
        "What I keep, and for how long:\n"
        "• While you register: your answers so far (name, email, date of birth, filing status, address, "
        f"phone), encrypted, so you can carry on later; erased if you don't come back for {_days(keep.abandoned_after_days)}.\n"
        "• Your SSN and every code: only as a keyed fingerprint. Codes are deleted "
        f"{_days(keep.codes_retention_days)} after they stop working.\n"
        "• Financial account digits: never. They're checked once against the records and dropped.\n"
        "• Once you're registered, your account for as long as it exists: your username, your password "
        "only as a one-way hash (argon2) and, encrypted, your name, email, date of birth, filing status, "
        "address, phone, site phrase and authenticator key.\n"
        f"• Emails and texts I send you: an encrypted copy for {_days(keep.outbox_retention_days)}; letters "
        f"with a mailed code until {_days(keep.letters_retention_days)} after the code expires.\n"
        f"• Security events: their kind and time only, for {_days(keep.audit_retention_days)}; counters "
        f"behind attempt limits, {_days(keep.attempts_retention_days)}."
    )


PRIVACY_WHO = (
    "Who sees it: only the operators of this service, with its own tools. Nobody can read your "
    "password or SSN back. The tax records you're checked against belong to the tax authority, not "
    "to this bot.\n\n"
    "Chats with bots aren't end-to-end encrypted, so I ask only for what each step needs, and I delete "
    "your messages that carry an SSN, date of birth, account digits, a password or a code as soon as "
    "I've read them."
)


DELETE_KEPT = (
    "What stays, and why: security events (kind and time only, no longer linked to this chat); "
    "counters behind attempt limits until their time runs out (so erasing can't undo a lockout); the "
    "tax records you were checked against (they're the tax authority's, not yours or this bot's); "
    "a help-desk case's reference number, if you had one, without your contact details; and, if a firm "
    "invited you, the name and email its admin typed, no longer linked to you. This chat's "
    "history is on Telegram: you can clear it in your Telegram app."
)


PRIVACY_ERASING = (
    "Erasing: /cancel stops a registration and erases its answers. /delete_my_data erases what I keep "
    "about you, and your account too if you're signed in.\n\n" + DELETE_KEPT
)

MORE.update({"privacy_kept": privacy_kept, "privacy_who": PRIVACY_WHO, "privacy_erasing": PRIVACY_ERASING, "commands": COMMANDS_HELP})

#: the buttons under /privacy
PRIVACY_MORE = [("privacy_kept", "What is kept"), ("privacy_who", "Who sees it"), ("privacy_erasing", "Erasing")]


def status_text(conv: "ConversationState", ctx: Ctx) -> str:
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
        if conv.state == "phone_help":
            return "A phone case needs your SSN, date of birth, name and filing status to match the records first; what to do is below."
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


# -- the turn a command is answered in -----------------------------------------------------------


@dataclass
class Turn:
    """One command being answered: the conversation, what the step sees, the command's message,
    and the router's two ways to end the answer."""

    conv: "ConversationState"
    ctx: Ctx
    incoming: Incoming
    flow: Flow
    #: the current question again
    prompt: Callable[[], Awaitable[list[Action]]]
    #: ``out``, then the flow ``ctx.go`` chose (or else the current question again)
    follow: Callable[[list[Action]], Awaitable[list[Action]]]

    @property
    def busy(self) -> bool:
        return self.conv.flow in BUSY

    @property
    def here(self) -> tuple[str, str]:
        return (self.conv.flow, self.conv.state)

    async def reply(self, text: str) -> list[Action]:
        """``text``, then the current question again."""
        return [Reply(text)] + await self.prompt()

    async def move(
        self, flow: str, state: str | None = None, out: list[Action] | None = None, carry: dict | None = None
    ) -> list[Action]:
        """``out``, then the flow ``flow`` (checked against the command's exits)."""
        self.ctx.go(flow, state, carry)
        return await self.follow(list(out or []))


Handler = Callable[[Turn], Awaitable[list[Action]]]


@dataclass(frozen=True)
class Command:
    """A row of the table: the names, what answers them, when the row applies (None: always)
    and the moves it may make."""

    names: tuple[str, ...]
    handler: Handler
    when: Callable[[Turn], bool] | None = None
    #: in words, for the overview diagram ("" when always)
    when_text: str = ""
    exits: Exits = Exits("a command", [])
    #: how the diagrams name it (default: its first name)
    title: str = ""

    @property
    def label(self) -> str:
        return self.title or f"/{self.names[0]}"

    def applies(self, turn: Turn) -> bool:
        return self.when is None or self.when(turn)


def _exits(name: str, rows) -> Exits:
    return Exits(name if " " in name else f"/{name}", rows)


# -- the handlers, in the order of the table ------------------------------------------------------


async def _invitation(t: Turn) -> list[Action]:
    return await t.follow(await admin.open_invite(t.ctx, t.incoming.text, here=t.here))


async def _admin_command(t: Turn) -> list[Action]:
    return await t.follow(await admin.command(t.ctx, t.incoming.command, t.incoming.text, here=t.here))


async def _close_admin(t: Turn) -> list[Action]:
    return await t.follow(admin.cancel(t.ctx))


async def _start(t: Turn) -> list[Action]:
    if t.busy:
        return [Reply(f"You're already in the middle of {t.flow.title.lower()}. Here's where we are:")] + await t.prompt()
    if t.ctx.data.get("session") or (t.conv.flow == "home" and t.conv.state != "welcome"):
        # registered (or waiting for a letter): their own screen, not the first-time welcome
        return await t.prompt()
    return await t.move("home", "welcome")


async def _help(t: Turn) -> list[Action]:
    step = t.flow.steps[t.conv.state]
    t.ctx.more.append(("commands", "All commands"))
    return await t.reply((await step.help_text(t.ctx)).strip() or "Answer the question below, or tap \"All commands\".")


async def _privacy(t: Turn) -> list[Action]:
    t.ctx.more.extend(PRIVACY_MORE)
    return [Reply(privacy_text(t.ctx))] + await admin.privacy_extra(t.ctx) + await t.prompt()


def _signed_in_account(ctx: Ctx) -> int | None:
    return (ctx.data.get("session") or {}).get("account_id")


async def _ask_delete(t: Turn) -> list[Action]:
    ctx = t.ctx
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


async def _status(t: Turn) -> list[Action]:
    return await t.reply(status_text(t.conv, t.ctx))


async def _back(t: Turn) -> list[Action]:
    past = history(t.ctx)
    if not past:
        if t.ctx.data.get("_checkpoint"):
            reason = (
                "There's no earlier answer to change at this point: what came before has already been "
                "verified. Use /cancel if you need to start over."
            )
        elif t.busy:
            reason = "This is the first question here, so there's nothing earlier to change."
        else:
            reason = "There's nothing to go back to here."
        return await t.reply(reason)
    t.conv.state = past.pop()
    return await t.reply("OK, let's redo that one.")


async def _cancel(t: Turn) -> list[Action]:
    if not t.busy:
        return await t.reply("There's nothing in progress to cancel.")
    t.ctx.data["_pending_cancel"] = True
    what = {"registration": "registration", "login": "sign-in", "profile": "change", "exception": "registration"}[t.conv.flow]
    extra = " Everything you've entered so far will be erased." if what == "registration" else ""
    return [
        Reply(
            f"Do you want to cancel this {what}?{extra}",
            buttons("_cancel", [[("yes", f"Yes, cancel the {what}"), ("no", "No, keep going")]]),
        )
    ]


async def _login(t: Turn) -> list[Action]:
    if t.conv.flow == "registration":
        return await t.reply(
            "You're in the middle of registering. Finish it first, or /cancel it if you meant to sign in to an existing account."
        )
    if t.ctx.data.get("session"):
        return await t.reply("You're already signed in.")
    if t.conv.flow == "login":
        return await t.prompt()
    return await t.move("login", carry={"login_from": t.conv.state} if t.conv.flow == "home" else None)


async def _logout(t: Turn) -> list[Action]:
    if t.ctx.data.pop("session", None):
        # the answers stay: only the screen changes
        t.ctx.exits.check("home", "registered")
        t.conv.flow, t.conv.state = "home", "registered"
        return await t.reply("You're signed out.")
    return await t.reply("You aren't signed in.")


async def _profile(t: Turn) -> list[Action]:
    if not t.ctx.data.get("session"):
        return await t.reply("Sign in first with /login; then /profile shows your account.")
    if t.busy:
        return await t.reply("Let's finish what we started first:")
    return await t.move("profile")


async def _register(t: Turn) -> list[Action]:
    if t.busy:
        return await t.reply("Let's finish what we started first:")
    return await t.move("registration")


# -- the answers to the confirmations /cancel and /delete_my_data ask for --------------------------


async def confirm_delete(t: Turn, answer: str) -> list[Action]:
    """The answer to /delete_my_data's question: erase (and start afresh) or keep."""
    ctx = t.ctx
    ctx.exits = COMMANDS_BY_NAME["delete_my_data"][0].exits
    if answer == "no":
        return [Reply("Nothing was erased.")] + await t.prompt()
    report = await ctx.repo.erase_personal_data(ctx.chat_id, _signed_in_account(ctx), dict(ctx.data))
    ctx.data.pop("session", None)
    what = "Your data is erased, including your Secure Access account." if report.accounts else "Your data is erased."
    if report.needs_sign_in:
        what += " Your Secure Access account stays: sign in and send /delete_my_data to erase it too."
    return await t.move("home", "welcome", [Reply(f"{what} This chat starts afresh.\n\n{DELETE_KEPT}")])


async def confirm_cancel(t: Turn, answer: str) -> list[Action]:
    """The answer to /cancel's question: stop what is in progress, or carry on."""
    ctx = t.ctx
    ctx.exits = _cancel_row.exits
    if answer == "no":
        return [Reply("Good, let's carry on.")] + await t.prompt()
    if ctx.data.get("session"):
        return await t.move("home", "signed_in", [Reply("Cancelled. You're still signed in.")])
    what = "registration" if t.conv.flow == "registration" else "sign-in"
    back = ctx.data.get("login_from") if t.conv.flow == "login" else None
    if back in ("registered", "awaiting_letter"):
        # a registered chat goes back to its own screen, not the first-time welcome
        return await t.move("home", back, [Reply("The sign-in is cancelled.")])
    if t.conv.flow == "registration":
        await hires.record_hire_event(ctx, "cancelled")
    out = [Reply(f"The {what} is cancelled and what you entered has been erased. You can start again any time.")]
    return await t.move("home", "welcome", out)


async def unknown(t: Turn) -> list[Action]:
    t.ctx.more.append(("commands", "All commands"))
    return await t.reply(f"I don't know the command /{t.incoming.command}. Tap \"All commands\" for the ones I know.")


# -- the table --------------------------------------------------------------------------------------

#: the admin menu's steps a command opens (/invite with a name opens at the email)
_ADMIN_MENU = (*dict.fromkeys(admin.OPENS.values()), "invite_email")

_cancel_row = Command(
    ("cancel",), _cancel, when_text="in registration, sign-in, profile or the help-desk hand-off (confirmed)",
    exits=_exits("cancel", [
        ("cancelled", "home", "signed_in", BUSY),
        ("cancelled", "home", "welcome", BUSY),
        ("sign-in cancelled", "home", "registered", ["login"]),
        ("sign-in cancelled", "home", "awaiting_letter", ["login"]),
    ]),
)

COMMANDS: tuple[Command, ...] = (
    Command(
        ("start",), _invitation, when=lambda t: bool(t.incoming.text.strip()), when_text="with an invitation token",
        exits=_exits("start", [("invitation", "home", "welcome")]),
    ),
    Command(
        admin.COMMANDS, _admin_command, when_text="anyone; the menu's commands for a firm's admin, outside registration, sign-in, profile and hand-off",
        title="/team, /invite, /invites, /remind, /admins",
        exits=_exits("an admin command", [("admin menu", "admin", state) for state in _ADMIN_MENU]),
    ),
    Command(
        ("cancel",), _close_admin, when=lambda t: t.conv.flow == "admin", when_text="in the admin menu",
        exits=_exits("cancel", [("close", "home", state, ["admin"]) for state in ADMIN_RETURNS]),
    ),
    Command(
        ("start",), _start, when_text="before registering",
        exits=_exits("start", [("start", "home", "welcome")]),
    ),
    Command(("help",), _help),
    Command(("privacy",), _privacy),
    Command(
        ("delete_my_data", "deletemydata"), _ask_delete, when_text="confirmed",
        exits=_exits("delete_my_data", [("erased", "home", "welcome")]),
    ),
    Command(("status",), _status),
    Command(("back",), _back),
    _cancel_row,
    Command(
        ("login", "signin"), _login, when_text="signed out, outside registration",
        exits=_exits("login", [("login", "login")]),
    ),
    Command(
        ("logout", "signout"), _logout, when_text="signed in",
        exits=_exits("logout", [("logout", "home", "registered")]),
    ),
    Command(
        ("profile",), _profile, when_text="signed in, outside registration, sign-in and hand-off",
        exits=_exits("profile", [("profile", "profile")]),
    ),
    Command(
        ("register",), _register, when_text="outside registration, sign-in, profile and hand-off",
        exits=_exits("register", [("register", "registration")]),
    ),
)

#: name -> the rows answering it, in table order
COMMANDS_BY_NAME: dict[str, list[Command]] = {}
for _row in COMMANDS:
    for _name in _row.names:
        COMMANDS_BY_NAME.setdefault(_name, []).append(_row)


def lookup(turn: Turn) -> Command | None:
    """The first row for the command's name that applies now (None: no such command)."""
    for row in COMMANDS_BY_NAME.get(turn.incoming.command, ()):
        if row.applies(turn):
            return row
    return None

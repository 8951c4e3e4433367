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
from flows.replies import Action, Button, Incoming, Reply
from domain.i18n import LANGUAGES, N_, _, format_number, language_named, ngettext, switch_to

if TYPE_CHECKING:  # pragma: no cover
    from flows.router import ConversationState

COMMANDS_HELP = N_(
    "Commands: /status where you are, /back change the last answer, /cancel stop and forget "
    "this registration, /login sign in, /profile your account (once signed in), /logout, "
    "/privacy what is kept, /delete_my_data erase what I keep about you, /language English or "
    "Spanish, /help this help."
)

#: flows whose answers a command must not drop
BUSY = ("registration", "login", "profile", "exception")

#: where the admin menu returns to when it closes: the screen it was opened from
ADMIN_RETURNS = ("welcome", "registered", "awaiting_letter", "signed_in")


def _days(n: float) -> str:
    """A number of days ("30 days"), a phrase inside a longer sentence."""
    return ngettext("{n} day", "{n} days", n).format(n=format_number(n))


def privacy_text(ctx: Ctx) -> str:
    """/privacy in short; the buttons under it (:data:`PRIVACY_MORE`) say the rest."""
    keep = ctx.services.settings.privacy
    return _(
        "Privacy in short: I ask only for what each step needs and keep it encrypted. Your SSN and "
        "codes are kept only as fingerprints that can't be turned back, account digits never, and I "
        "delete your messages that carry them as soon as I've read them. Unfinished answers are erased "
        "after {days}. Only this service's operators see your data.\n\n"
        "/cancel erases a registration's answers; /delete_my_data erases what I keep about you. The "
        "buttons below say more."
    ).format(days=_days(keep.abandoned_after_days))


def privacy_kept(ctx: Ctx) -> str:
    """What is kept, and for how long: the numbers come from config.yaml (privacy:)."""
    keep = ctx.services.settings.privacy
    return _(
        "What I keep, and for how long:\n"
        "• While you register: your answers so far (name, email, date of birth, filing status, address, "
        "phone), encrypted, so you can carry on later; erased if you don't come back for {abandoned}.\n"
        "• Your SSN and every code: only as a keyed fingerprint. Codes are deleted "
        "{codes} after they stop working.\n"
        "• Financial account digits: never. They're checked once against the records and dropped.\n"
        "• Once you're registered, your account for as long as it exists: your username, your password "
        "only as a one-way hash (argon2) and, encrypted, your name, email, date of birth, filing status, "
        "address, phone, site phrase and authenticator key.\n"
        "• Emails and texts I send you: an encrypted copy for {outbox}; letters "
        "with a mailed code until {letters} after the code expires.\n"
        "• Security events: their kind and time only, for {audit}; counters "
        "behind attempt limits, {attempts}."
    ).format(
        abandoned=_days(keep.abandoned_after_days),
        codes=_days(keep.codes_retention_days),
        outbox=_days(keep.outbox_retention_days),
        letters=_days(keep.letters_retention_days),
        audit=_days(keep.audit_retention_days),
        attempts=_days(keep.attempts_retention_days),
    )


PRIVACY_WHO = N_(
    "Who sees it: only the operators of this service, with its own tools. Nobody can read your "
    "password or SSN back. The tax records you're checked against belong to the tax authority, not "
    "to this bot.\n\n"
    "Chats with bots aren't end-to-end encrypted, so I ask only for what each step needs, and I delete "
    "your messages that carry an SSN, date of birth, account digits, a password or a code as soon as "
    "I've read them."
)


DELETE_KEPT = N_(
    "What stays, and why: security events (kind and time only, no longer linked to this chat); "
    "counters behind attempt limits until their time runs out (so erasing can't undo a lockout); the "
    "tax records you were checked against (they're the tax authority's, not yours or this bot's); "
    "a help-desk case's reference number, if you had one, without your contact details; and, if a firm "
    "invited you, the name and email its admin typed, no longer linked to you. This chat's "
    "history is on Telegram: you can clear it in your Telegram app."
)


def privacy_erasing(ctx: Ctx) -> str:
    return _(
        "Erasing: /cancel stops a registration and erases its answers. /delete_my_data erases what I keep "
        "about you, and your account too if you're signed in."
    ) + "\n\n" + _(DELETE_KEPT)


MORE.update({"privacy_kept": privacy_kept, "privacy_who": PRIVACY_WHO, "privacy_erasing": privacy_erasing, "commands": COMMANDS_HELP})

#: the buttons under /privacy
PRIVACY_MORE = [("privacy_kept", N_("What is kept")), ("privacy_who", N_("Who sees it")), ("privacy_erasing", N_("Erasing"))]


def status_text(conv: "ConversationState", ctx: Ctx) -> str:
    if conv.flow == "registration":
        step = registration.flow.steps[conv.state]
        current = registration.STAGES.index(step.stage) if step.stage in registration.STAGES else 0
        lines = []
        for i, stage in enumerate(registration.STAGES):
            mark = "✅" if i < current else ("➡️" if i == current else "▫️")
            lines.append(f"{mark} {_(stage)}")
        return _("Registration progress:\n{stages}\n\nYour answers so far are saved.").format(stages="\n".join(lines))
    if conv.flow == "login":
        return _("You're signing in.")
    if conv.flow == "exception":
        if conv.state == "handoff":
            return _(
                "Your registration is with the e-Help Desk (exception processing), case "
                "{case}. The details are below; your online answers are kept."
            ).format(case=ctx.data.get("case_ref", ""))
        if conv.state == "phone_help":
            return _("A phone case needs your SSN, date of birth, name and filing status to match the records first; what to do is below.")
        return _("Exception processing isn't open to you; the options that remain are below.")
    if conv.flow == "profile":
        return _("You're signed in and looking at your profile.")
    if conv.flow == "admin":
        return _("You're in your firm's admin menu. /cancel closes it.")
    if ctx.data.get("session"):
        return _("You're signed in as {username}.").format(username=ctx.data["session"].get("username"))
    if conv.state == "registered":
        return _("You're registered and signed out. /login signs you in.")
    if conv.state == "awaiting_letter":
        return _(
            "Your account is set up and waiting for the activation code from your letter. When it "
            "arrives, sign in with /login and type the code."
        )
    return _("You haven't started yet. Tap \"{button}\" to start.").format(button=_("Begin registration"))


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
        return [Reply(_(IN_THE_MIDDLE_OF.get(t.conv.flow, IN_THE_MIDDLE_OF["registration"])))] + await t.prompt()
    if t.ctx.data.get("session") or (t.conv.flow == "home" and t.conv.state != "welcome"):
        # registered (or waiting for a letter): their own screen, not the first-time welcome
        return await t.prompt()
    return await t.move("home", "welcome")


async def _help(t: Turn) -> list[Action]:
    step = t.flow.steps[t.conv.state]
    t.ctx.more.append(("commands", N_("All commands")))
    return await t.reply(
        (await step.help_text(t.ctx)).strip()
        or _("Answer the question below, or tap \"{button}\".").format(button=_("All commands"))
    )


async def _privacy(t: Turn) -> list[Action]:
    t.ctx.more.extend(PRIVACY_MORE)
    return [Reply(privacy_text(t.ctx))] + await admin.privacy_extra(t.ctx) + await t.prompt()


def _signed_in_account(ctx: Ctx) -> int | None:
    return (ctx.data.get("session") or {}).get("account_id")


async def _ask_delete(t: Turn) -> list[Action]:
    ctx = t.ctx
    plan = await ctx.repo.erasure_plan(ctx.chat_id, _signed_in_account(ctx))
    if plan.accounts:
        text = _(
            "Do you want me to erase what I keep about you? That is your answers in this chat, the codes "
            "and messages I sent you, and reminders waiting for you, and your Secure Access account with "
            "its sign-in details and devices. You'd have to register again to use it."
        )
    else:
        text = _(
            "Do you want me to erase what I keep about you? That is your answers in this chat, the codes "
            "and messages I sent you, and reminders waiting for you."
        )
    if plan.needs_sign_in:
        text += "\n\n" + _(
            "Your Secure Access account registered from this chat stays unless you're signed in: to "
            "erase it too, cancel this, sign in with /login, then send /delete_my_data again."
        )
    text += "\n\n" + _(DELETE_KEPT)
    ctx.data["_pending_delete"] = True
    return [Reply(text, buttons("_delete", [[("yes", N_("Yes, erase my data")), ("no", N_("No, keep it"))]]))]


async def _status(t: Turn) -> list[Action]:
    return await t.reply(status_text(t.conv, t.ctx))


async def _back(t: Turn) -> list[Action]:
    past = history(t.ctx)
    if not past:
        if t.ctx.data.get("_checkpoint"):
            reason = _(
                "There's no earlier answer to change at this point: what came before has already been "
                "verified. Use /cancel if you need to start over."
            )
        elif t.busy:
            reason = _("This is the first question here, so there's nothing earlier to change.")
        else:
            reason = _("There's nothing to go back to here.")
        return await t.reply(reason)
    t.conv.state = past.pop()
    return await t.reply(_("OK, let's redo that one."))


#: /cancel's question and its yes, for what is in progress (a registration, a sign-in, a change)
CANCEL_QUESTIONS = {
    "registration": (
        N_("Do you want to cancel this registration? Everything you've entered so far will be erased."),
        N_("Yes, cancel the registration"),
    ),
    "login": (N_("Do you want to cancel this sign-in?"), N_("Yes, cancel the sign-in")),
    "profile": (N_("Do you want to cancel this change?"), N_("Yes, cancel the change")),
}
CANCEL_QUESTIONS["exception"] = CANCEL_QUESTIONS["registration"]

#: /start while something is in progress, by flow
IN_THE_MIDDLE_OF = {
    "registration": N_("You're already in the middle of registration. Here's where we are:"),
    "login": N_("You're already in the middle of sign-in. Here's where we are:"),
    "profile": N_("You're already in the middle of profile. Here's where we are:"),
    "exception": N_("You're already in the middle of exception processing. Here's where we are:"),
}


async def _cancel(t: Turn) -> list[Action]:
    if not t.busy:
        return await t.reply(_("There's nothing in progress to cancel."))
    t.ctx.data["_pending_cancel"] = True
    question, yes = CANCEL_QUESTIONS[t.conv.flow]
    return [Reply(_(question), buttons("_cancel", [[("yes", yes), ("no", N_("No, keep going"))]]))]


async def _login(t: Turn) -> list[Action]:
    if t.conv.flow == "registration":
        return await t.reply(
            _("You're in the middle of registering. Finish it first, or /cancel it if you meant to sign in to an existing account.")
        )
    if t.ctx.data.get("session"):
        return await t.reply(_("You're already signed in."))
    if t.conv.flow == "login":
        return await t.prompt()
    return await t.move("login", carry={"login_from": t.conv.state} if t.conv.flow == "home" else None)


async def _logout(t: Turn) -> list[Action]:
    if t.ctx.data.pop("session", None):
        # the answers stay: only the screen changes
        t.ctx.exits.check("home", "registered")
        t.conv.flow, t.conv.state = "home", "registered"
        return await t.reply(_("You're signed out."))
    return await t.reply(_("You aren't signed in."))


async def _profile(t: Turn) -> list[Action]:
    if not t.ctx.data.get("session"):
        return await t.reply(_("Sign in first with /login; then /profile shows your account."))
    if t.busy:
        return await t.reply(_("Let's finish what we started first:"))
    return await t.move("profile")


async def _register(t: Turn) -> list[Action]:
    if t.busy:
        return await t.reply(_("Let's finish what we started first:"))
    return await t.move("registration")


# -- /language (/idioma) --------------------------------------------------------------------------

#: the prefix of the buttons /language shows ("_lang:es"): they work whenever they are pressed
LANGUAGE_BUTTONS = "_lang"
#: set while /language waits for a language to be typed (the next message only)
PENDING_LANGUAGE = "_pending_language"


async def _language(t: Turn) -> list[Action]:
    """/language es (/idioma español) switches at once; /language alone offers each language by
    its own name. Nothing of what is in progress is lost: the current question comes back."""
    wanted = language_named(t.incoming.text)
    if wanted is not None:
        return await switch_language(t, wanted)
    t.ctx.data[PENDING_LANGUAGE] = True
    keyboard = (tuple(Button(name, f"{LANGUAGE_BUTTONS}:{code}") for code, name in LANGUAGES.items()),)
    return [Reply(_("Which language should I write in?"), keyboard)]


async def switch_language(t: Turn, language: str) -> list[Action]:
    """Speak ``language`` in this chat from now on (this turn included), then the current
    question again, in that language."""
    ctx = t.ctx
    if language not in LANGUAGES:
        return await t.reply(_("That button belongs to an earlier message, so I've ignored it. Here is where we are now:"))
    if language == ctx.language:
        return await t.reply(_("I'm already writing in English."))
    ctx.language = switch_to(language)
    note = getattr(ctx.repo, "note_language", None)
    if note is not None:  # the help desk's cases and the firm's roster show it
        await note(ctx.chat_id, language)
    # the sentence names the language it is written in: each catalog names its own
    return await t.reply(_("From now on I'll write in English."))


# -- the answers to the confirmations /cancel and /delete_my_data ask for --------------------------


async def confirm_delete(t: Turn, answer: str) -> list[Action]:
    """The answer to /delete_my_data's question: erase (and start afresh) or keep."""
    ctx = t.ctx
    ctx.exits = COMMANDS_BY_NAME["delete_my_data"][0].exits
    if answer == "no":
        return [Reply(_("Nothing was erased."))] + await t.prompt()
    report = await ctx.repo.erase_personal_data(ctx.chat_id, _signed_in_account(ctx), dict(ctx.data))
    ctx.data.pop("session", None)
    if report.accounts:
        what = _("Your data is erased, including your Secure Access account.")
    else:
        what = _("Your data is erased.")
    if report.needs_sign_in:
        what += " " + _("Your Secure Access account stays: sign in and send /delete_my_data to erase it too.")
    what += " " + _("This chat starts afresh.")
    return await t.move("home", "welcome", [Reply(f"{what}\n\n{_(DELETE_KEPT)}")])


async def confirm_cancel(t: Turn, answer: str) -> list[Action]:
    """The answer to /cancel's question: stop what is in progress, or carry on."""
    ctx = t.ctx
    ctx.exits = _cancel_row.exits
    if answer == "no":
        return [Reply(_("Good, let's carry on."))] + await t.prompt()
    if ctx.data.get("session"):
        return await t.move("home", "signed_in", [Reply(_("Cancelled. You're still signed in."))])
    back = ctx.data.get("login_from") if t.conv.flow == "login" else None
    if back in ("registered", "awaiting_letter"):
        # a registered chat goes back to its own screen, not the first-time welcome
        return await t.move("home", back, [Reply(_("The sign-in is cancelled."))])
    if t.conv.flow == "registration":
        await hires.record_hire_event(ctx, "cancelled")
        done = _("The registration is cancelled and what you entered has been erased. You can start again any time.")
    else:
        done = _("The sign-in is cancelled and what you entered has been erased. You can start again any time.")
    return await t.move("home", "welcome", [Reply(done)])


async def unknown(t: Turn) -> list[Action]:
    t.ctx.more.append(("commands", N_("All commands")))
    return await t.reply(
        _("I don't know the command /{command}. Tap \"{button}\" for the ones I know.").format(
            command=t.incoming.command, button=_("All commands")
        )
    )


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
    Command(("language", "idioma"), _language, title="/language, /idioma"),
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

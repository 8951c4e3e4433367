"""Invitations: an admin invites a new hire (``/invite``), sees the links not opened yet
(``/invites``), and a hire opens their personal link (``/start <token>``, :func:`open_invite`)
and registers as anyone else. The steps are registered by ``flows.admin``.
"""

from __future__ import annotations

import re
from datetime import timedelta

from domain import hires as rules
from domain import validators as v
from domain.i18n import N_, _, ngettext
from domain.validators import Invalid
from flows.admin_common import (
    BUSY_FLOWS,
    NO_LONGER_ADMIN,
    day,
    hire_list,
    leave,
    need_firm,
    picked_hire,
    firm_screen,
    status_words,
    team_rows,
)
from flows.core import Answer, Ctx
from flows.hires import firm_store, mark_hire
from flows.replies import Action, Reply

TOKEN = re.compile(r"[A-Za-z0-9_-]{16,64}")


def link_for(ctx: Ctx, token: str) -> str:
    return ctx.services.deep_link(token)


def invitation_text(ctx: Ctx, firm, name: str, token: str, expires) -> str:
    """The message the admin forwards to the hire."""
    return _(
        "Hello {name},\n\n{firm} invites you to register for your Secure Access account (the "
        "identity check and two-step sign-in IRS e-Services requires). A chat assistant walks you "
        "through it in about 15 minutes.\n\n"
        "Open your personal link in Telegram:\n{link}\n"
        "(In the terminal chat, send: /start {token})\n\n"
        "The link works once and until {date}. Have at hand: an email you can open, your SSN, "
        "your last-filed tax return, a credit card or loan account number, and a mobile phone in your name."
    ).format(name=name, firm=firm.name, link=link_for(ctx, token), token=token, date=day(ctx, expires))


async def _check_room(ctx: Ctx, store, firm) -> None:
    """Refuse a new link while the firm has as many unopened invitations as allowed."""
    policy = ctx.policy.invites
    if await store.pending_invites(firm.id) >= policy.max_pending_per_firm:
        raise Invalid(
            # English says "invitations" even for one (as it always has); other languages agree
            ngettext(
                "Your firm has {n} unopened invitations, the most allowed at once. "
                "Revoke some you no longer need (/invites), or wait until they're opened or expire.",
                "Your firm has {n} unopened invitations, the most allowed at once. "
                "Revoke some you no longer need (/invites), or wait until they're opened or expire.",
                policy.max_pending_per_firm,
            ).format(n=policy.max_pending_per_firm),
            "firm.too_many_invites",
        )


async def issue_invite(ctx: Ctx, store, firm, hire) -> None:
    """A fresh link for ``hire``: shown to the admin to forward, and emailed if we have an email."""
    await _check_room(ctx, store, firm)
    token, invite = await store.new_invite(hire, timedelta(days=ctx.policy.invites.lifetime_days))
    name = store.name(hire)
    text = invitation_text(ctx, firm, name, token, invite.expires_at)
    ctx.say(text)
    email = store.email(hire)
    if email:
        await ctx.deliver(
            "email", email, subject=_("{firm} invites you to register for Secure Access").format(firm=firm.name), body=text
        )
    ctx.data["invited_name"] = name
    ctx.data["invited_email"] = email or ""


# =============================================================================================
# Inviting
# =============================================================================================

NAME_HELP = N_("Their name as you'd like to see it on your team list, for example Alex Kim.")
EMAIL_HELP = N_("Optional: with an email address I send them the invitation myself. You can always forward it too.")
SENT_HELP = N_("The link is personal and works once. If they lose it, re-send it from their card in /team.")


def name_prompt(ctx: Ctx) -> str:
    return _(
        "Who are you inviting? Type the new hire's first and last name (it's only shown to your firm's admins "
        "and to them)."
    )


async def invite_name(ctx: Ctx, a: Answer):
    if a.choice == "cancel":
        return "cancel"
    ctx.data["invite_name"] = hire_name(a.text)


def hire_name(text: str) -> str:
    name = v.person_name(text, field="new hire's name")
    if len(name) < 2:
        raise Invalid(_("Please type at least two letters of their name."), "firm.name_short")
    return name


def email_prompt(ctx: Ctx) -> str:
    return _(
        "Their email address, if you'd like me to email {name} the link as well? "
        "Otherwise tap Skip and forward the link yourself."
    ).format(name=ctx.data.get("invite_name"))


async def invite_email(ctx: Ctx, a: Answer):
    if a.choice == "cancel":
        return "cancel"
    email = None if a.choice == "skip" else v.email_address(a.text)
    found = await need_firm(ctx)
    if found is None:
        return None
    store, admin, firm = found
    name = ctx.data.get("invite_name") or ""
    await _check_room(ctx, store, firm)  # before anything is created
    hire = await store.create_hire(firm.id, name=name, email=email, invited_by=admin.user_id)
    ctx.data["hire_id"] = hire.id
    ctx.data.pop("invite_name", None)
    await issue_invite(ctx, store, firm, hire)


def sent_text(ctx: Ctx) -> str:
    name = ctx.data.get("invited_name")
    email = ctx.data.get("invited_email")
    if name is None:
        if email:
            text = _(
                "☝️ Forward that message to them, or copy the link into a message to them. I've also emailed it "
                "to {email}. I'll tell you when they finish or if they get stuck; /team shows where everyone is."
            )
        else:
            text = _(
                "☝️ Forward that message to them, or copy the link into a message to them. "
                "I'll tell you when they finish or if they get stuck; /team shows where everyone is."
            )
    elif email:
        text = _(
            "☝️ Forward that message to {name}, or copy the link into a message to them. I've also emailed it "
            "to {email}. I'll tell you when they finish or if they get stuck; /team shows where everyone is."
        )
    else:
        text = _(
            "☝️ Forward that message to {name}, or copy the link into a message to them. "
            "I'll tell you when they finish or if they get stuck; /team shows where everyone is."
        )
    return text.format(name=name, email=email)


async def invite_sent(ctx: Ctx, a: Answer):
    if a.choice == "close":
        leave(ctx)
        return None
    ctx.data.pop("invited_name", None)
    ctx.data.pop("invited_email", None)
    return a.choice


# =============================================================================================
# The unopened invitations
# =============================================================================================

INVITES_HELP = N_("Invitations that haven't been opened: tap one to re-send it (a new link) or revoke it.")


@firm_screen
async def unopened_screen(ctx: Ctx, store, _admin, firm):
    """The hires who haven't opened their link."""
    return [(h, d) for h, d in await team_rows(ctx, store, firm) if not d["opened"]]


async def invites_text(ctx: Ctx) -> str:
    rows = await unopened_screen(ctx)
    if rows is None:
        return _(NO_LONGER_ADMIN)
    if not rows:
        return _("No unopened invitations: everyone you invited has opened their link.")
    lines = [_("Invitations not opened yet ({n}):").format(n=len(rows)), ""]
    lines += [f"• {d['name']}: {status_words(ctx, d)}" for _h, d in rows]
    lines += ["", _("Tap a name to re-send or revoke their invitation.")]
    return "\n".join(lines)


invites_choices = hire_list(unopened_screen)


async def invites(ctx: Ctx, a: Answer):
    if a.choice == "back":
        return "back"
    _store, hire = await picked_hire(ctx, a)
    if hire is None:
        return None
    ctx.data["hire_id"] = hire.id
    return "hire"


# =============================================================================================
# A hire opens their link
# =============================================================================================

INTRO = N_(
    "Welcome! {firm} invited you to register for your Secure Access account, so you can use IRS "
    "e-Services at work.\n\n"
    "{firm}'s admins will see how far you've got, when you were last active and, if you get held "
    "up, the kind of problem (such as \"credit freeze\") so they can help. Never your SSN, date of birth, "
    "account digits, phone number or answers. /stop_sharing stops this (they'd then see only whether "
    "you've finished); /privacy says more."
)


def _refusal(ctx: Ctx, found) -> str | None:
    """Why the invitation ``found`` can't be opened in this chat now (None: it can)."""
    invite, hire, firm = found.invite, found.hire, found.firm
    if invite.used_at is not None:
        if invite.used_by_chat == ctx.chat_id:
            return _("You've already opened your invitation from {firm}. Here's where you are:").format(firm=firm.name)
        return _(
            "This invitation from {firm} has already been used: each link works only once. If that "
            "wasn't you, ask them for a new link."
        ).format(firm=firm.name)
    if found.replaced:
        return _(
            "That link was replaced by a newer one from {firm}. Please open the most recent link they sent you."
        ).format(firm=firm.name)
    if invite.revoked_at is not None or hire.removed_at is not None:
        return _("{firm} has withdrawn this invitation. If you still need one, ask them for a new link.").format(
            firm=firm.name
        )
    if invite.expires_at <= ctx.now():
        return _(
            "This invitation from {firm} expired on {date}. Ask them to send "
            "you a new link; it only takes them a moment."
        ).format(firm=firm.name, date=day(ctx, invite.expires_at))
    return None


async def open_invite(ctx: Ctx, token: str, *, here: tuple[str, str]) -> list[Action]:
    """``/start <token>``: a new hire opens their personal invitation link."""
    token = token.strip()
    store = firm_store(ctx)
    found = await store.invite_by_token(token) if TOKEN.fullmatch(token) else None
    if found is None:
        return [
            Reply(
                _(
                    "I don't recognise that invitation link. Check that you opened the whole link you were sent, "
                    "or ask the person who invited you for a new one. You can also register without one: "
                    "tap \"Begin registration\"."
                )
            )
        ]
    if found.invite.used_by_chat == ctx.chat_id:
        mark_hire(ctx)  # their own link again: this chat is theirs
    refused = _refusal(ctx, found)
    if refused:
        return [Reply(refused)]
    hire, firm = found.hire, found.firm
    now = ctx.now()
    store.open_invite(found.invite, hire, ctx.chat_id, now)
    mark_hire(ctx)
    intro = _(INTRO).format(firm=firm.name)
    account = await store.account_for_chat(ctx.chat_id)
    if account is not None:
        store.link_account(hire, account.id)
    progress = rules.opened(store.progress(hire), account.status if account is not None else None, now)
    if progress.done:
        await store.finish(hire, now)
        return [
            Reply(
                intro
                + "\n\n"
                + _("You already have an account, so there's nothing more to do: I've told {firm} you're all set.").format(
                    firm=firm.name
                )
            )
        ]
    store.save_progress(hire, progress)
    flow_name, _state = here
    if flow_name in BUSY_FLOWS or flow_name == "admin" or account is not None:
        return [Reply(intro + "\n\n" + _("Let's carry on where you are:"))]
    ctx.go("home", "welcome")
    return [Reply(intro)]

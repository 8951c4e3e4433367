"""What the bot says outside a step's own prompts: messages sent between conversation turns
(reminders), and the apology when an answer couldn't be saved. Each is written when it is sent, in
the language of the chat it goes to."""

from __future__ import annotations

from domain.i18n import N_, _, format_number, ngettext, using

TRY_AGAIN = N_(
    "Sorry, something went wrong on my side and that answer wasn't saved. Your earlier answers are "
    "safe. Please send it again in a moment."
)


def try_again(language: str | None = None) -> str:
    """The apology for an answer that couldn't be saved, in ``language`` (None: the turn's)."""
    if language is None:
        return _(TRY_AGAIN)
    with using(language):
        return _(TRY_AGAIN)


def letter_reminder(days_left: int) -> str:
    """Sent once, some days after an activation letter was mailed and while its code still works."""
    return ngettext(
        "A reminder: the activation code in the letter we mailed you works for "
        "{n} more day. When it arrives, send /login, sign in and type it. "
        "If it hasn't come, sign in and ask for a new letter.",
        "A reminder: the activation code in the letter we mailed you works for "
        "{n} more days. When it arrives, send /login, sign in and type it. "
        "If it hasn't come, sign in and ask for a new letter.",
        days_left,
    ).format(n=format_number(days_left))

"""What the bot says outside a step's own prompts: messages sent between conversation turns
(reminders), and the apology when an answer couldn't be saved."""

from __future__ import annotations

TRY_AGAIN = (
    "Sorry, something went wrong on my side and that answer wasn't saved. Your earlier answers are "
    "safe. Please send it again in a moment."
)


def letter_reminder(days_left: int) -> str:
    """Sent once, some days after an activation letter was mailed and while its code still works."""
    return (
        "A reminder: the activation code in the letter we mailed you works for "
        f"{days_left} more days. When it arrives, send /login, sign in and type it. "
        "If it hasn't come, sign in and ask for a new letter."
    )

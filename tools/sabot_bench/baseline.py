"""The benchmark's yardstick: a plain python-telegram-bot 22 ``ConversationHandler``.

It has as many states as sabot's registration journey has updates, and every handler is trivial:
it replies one short text (with an inline keyboard wherever sabot's reply to that update carries
buttons, holding the label the journey presses next) and moves to the next state. Conversation
state lives in the handler's memory; there is no database and nothing is encrypted, hashed or
validated. It is built the way :func:`bot.telegram_adapter.build_application` builds sabot's
application (same Bot API request object, no job queue, concurrent updates), and the benchmark
feeds it through the same driver, with the same window and the same number of updates per user.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.ext import (
    Application,
    ApplicationBuilder,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    ConversationHandler,
    MessageHandler,
    filters,
)
from telegram.request import BaseRequest
from telegram.warnings import PTBUserWarning

#: what the baseline says at the end, so the driver counts finished users the same way
BASELINE_DONE = "You're registered. (baseline)"


@dataclass(frozen=True)
class StepShape:
    """One update of the journey as the baseline must mirror it."""

    #: "command", "text" or "press" (what the user sends)
    kind: str
    #: buttons on sabot's reply to this update (0: no keyboard)
    buttons: int
    #: the labels users press next, when the next update is a button press
    next_labels: tuple[str, ...] = ()


def _keyboard(index: int, shape: StepShape) -> InlineKeyboardMarkup | None:
    if not shape.buttons:
        return None
    labels = list(shape.next_labels) + [f"Option {k}" for k in range(1, shape.buttons + 1)]
    labels = labels[: max(shape.buttons, len(shape.next_labels))]
    return InlineKeyboardMarkup(
        [[InlineKeyboardButton(label, callback_data=f"b{index}:{k}")] for k, label in enumerate(labels)]
    )


def build_baseline_application(*, token: str, request: BaseRequest, shapes: list[StepShape]) -> Application:
    """A PTB application with one ConversationHandler of ``len(shapes)`` steps (see module doc)."""
    if not shapes or shapes[0].kind != "command":
        raise ValueError("the journey must start with a command (/start)")
    builder = (
        ApplicationBuilder()
        .token(token)
        .job_queue(None)
        .request(request)
        .get_updates_request(request)
        .concurrent_updates(True)
    )
    application = builder.build()
    last = len(shapes) - 1

    def handler(index: int):
        text = BASELINE_DONE if index == last else f"Step {index + 1} of {last + 1}: noted."
        markup = _keyboard(index, shapes[index])
        following = ConversationHandler.END if index == last else index + 1

        async def handle(update: Update, context: ContextTypes.DEFAULT_TYPE) -> int:
            if update.callback_query is not None:
                await update.callback_query.answer()
            await context.bot.send_message(update.effective_chat.id, text, reply_markup=markup)
            return following

        return handle

    def state_handlers(index: int):
        if shapes[index].kind == "press":
            return [CallbackQueryHandler(handler(index))]
        if shapes[index].kind == "command":
            return [MessageHandler(filters.COMMAND, handler(index))]
        return [MessageHandler(filters.TEXT & ~filters.COMMAND, handler(index))]

    with warnings.catch_warnings():
        # "per_message=False: CallbackQueryHandler will not be tracked for every message" is
        # exactly the per-chat tracking wanted here
        warnings.simplefilter("ignore", PTBUserWarning)
        conversation = ConversationHandler(
            entry_points=[CommandHandler("start", handler(0))],
            states={i: state_handlers(i) for i in range(1, len(shapes))},
            fallbacks=[],
        )
    application.add_handler(conversation)
    return application


def open_conversations(application: Application) -> int:
    """How many conversations the baseline holds in memory."""
    total = 0
    for group in application.handlers.values():
        for handler in group:
            if isinstance(handler, ConversationHandler):
                total += len(handler._conversations)  # noqa: SLF001 - only for the report
    return total

"""The "type the code" step: one shape for every one-time code a person types.

The emailed confirmation code, the texted activation code (at registration and for a phone added
after a letter), the mailed activation code and the texted security code at sign-in all ask the
same way: the prompt (after a note when the code waiting has expired), a button for a new code,
sometimes a button to change where it goes, and the code check itself.
"""

from __future__ import annotations

from typing import Awaitable, Callable

from flows.common import CodeKind, check_code, code_status_note, send_code
from flows.core import Answer, Ctx, Flow
from domain.i18n import N_, _
from domain.validators import Invalid

Choice = tuple[str, str]


def code_entry_step(
    flow: Flow,
    name: str,
    kind: CodeKind,
    *,
    ask: str | Callable[[Ctx], str],
    resend: str | Callable[[Ctx], Awaitable[None]],
    on_success: Callable[[Ctx], Awaitable[str | None]],
    resend_choice: Choice = ("resend", N_("Send a new code")),
    change: tuple[str, str, str] | None = None,
    subject: Callable[[Ctx], str] | None = None,
    note: bool = True,
    guard: Callable[[Ctx], Awaitable[None]] | None = None,
    on_failure: Callable[[Ctx], Awaitable[None]] | None = None,
    **options,
):
    """Declare the step ``name`` of ``flow`` where the code ``kind`` is typed.

    ``ask`` is the prompt: a sentence marked with ``N_`` whose ``{digits}`` becomes the code's
    length in words ("six-digit"), or ``ask(ctx)`` returning it translated; it is preceded by a
    note when the code waiting has expired, unless ``note`` is off. The ``resend_choice`` button
    sends a new code to the address kept under the answer key ``resend`` (or calls
    ``resend(ctx)``) and asks again; the optional ``change`` button (value, label, trigger) leads
    back to where the destination was given. A right code calls ``on_success(ctx)``, whose
    answer is the step's trigger. ``subject(ctx)`` names whose code it is (the conversation's
    when not given). ``guard(ctx)`` runs before a typed code is checked (it raises Invalid to
    refuse the check, e.g. for a locked account); ``on_failure(ctx)`` runs after a wrong code,
    before its explanation is shown, and ``on_success`` clears what it counted. Other options (help, stage, checkpoint) go to the step.

    The button labels (``resend_choice``, ``change``) are English marked with ``N_``: they are
    translated where they are shown."""
    choices = [[resend_choice]] + ([[(change[0], change[1])]] if change else [])

    def key(ctx: Ctx) -> str | None:
        return subject(ctx) if subject else None

    async def prompt(ctx: Ctx) -> str:
        if ctx.turn.get("code_dead"):
            # the code just typed can't work any more: one thing to do, said once
            return _('Tap "{button}", then type the new code.').format(button=_(resend_choice[1]))
        lead = await code_status_note(ctx, kind, subject_key=key(ctx)) if note else ""
        text = ask(ctx) if callable(ask) else _(ask).format(digits=kind.digits(ctx))
        return f"{lead}{text}"

    async def check(ctx: Ctx, a: Answer) -> str | None:
        if a.choice == resend_choice[0]:
            if callable(resend):
                await resend(ctx)
            else:
                await send_code(ctx, kind, ctx.data[resend], subject_key=key(ctx))
            return "stay"
        if change and a.choice == change[0]:
            return change[2]
        if guard is not None:
            await guard(ctx)
        try:
            await check_code(ctx, kind, a, subject_key=key(ctx), tap=False)
        except Invalid as problem:
            if problem.code in ("code.expired", "code.locked", "code.none"):
                ctx.turn["code_dead"] = True
            if on_failure is not None and problem.code in ("code.wrong", "code.locked"):
                await on_failure(ctx)
            raise
        return await on_success(ctx)

    return flow.step(name, ask=prompt, choices=choices, secret=N_("a code"), **options)(check)

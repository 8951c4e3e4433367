"""Registration, last phase: the sign-in details (username, password, site phrase and image, and
the secret questions of people who get their code by mail), then the account itself and the
summary of what was set up.

Texts given to a step's declaration (``ask``, ``help``, ``secret``, fixed ``choices``) are English
marked with ``N_`` and translated when the step shows them; texts built by a function are
translated as they are built.
"""

from __future__ import annotations

from domain import validators as v
from domain.addresses import plain
from domain.authenticator import STEP_SECONDS
from domain.i18n import N_, _, ngettext
from domain.ports import NewAccount
from domain.validators import Invalid
from flows.common import new_password, plural, refuse_password_as_phrase, site_phrase_help, site_phrase_of
from flows.core import Answer, Ctx
from flows.hires import record_hire_event
from flows.letters import arrival_window, send_letter
from flows.registration_base import SITE_IMAGES, flow, upgrading, via_mail


# =============================================================================================
# 5. Sign-in details
# =============================================================================================


@flow.step(
    "username",
    ask=lambda ctx: _(
        "Choose a username; it can never be changed. Use {min} to {max} letters, digits, "
        "dots, dashes or underscores, starting with a letter."
    ).format(min=ctx.policy.username.min_length, max=ctx.policy.username.max_length),
    help=N_("Your username is permanent, so choose one you're happy to keep."),
    stage="Sign-in details",
)
async def username(ctx: Ctx, a: Answer):
    policy = ctx.policy.username
    name = v.username(a.text, min_length=policy.min_length, max_length=policy.max_length)
    if await ctx.repo.username_taken(name):
        raise Invalid(_("That username is already taken. Please choose another."), "username.taken")
    ctx.data["username"] = name
    if ctx.data.get("finishing"):
        # everything else was already answered: the username was the only thing left
        return await finish(ctx)


@flow.step(
    "password",
    ask=lambda ctx: ngettext(
        "Now a password: at least {count} character, any characters, spaces too. A few unrelated words "
        "make a strong one. Common or leaked passwords, and ones containing your username or name, "
        "are refused.",
        "Now a password: at least {count} characters, any characters, spaces too. A few unrelated words "
        "make a strong one. Common or leaked passwords, and ones containing your username or name, "
        "are refused.",
        ctx.policy.password.min_length,
    ).format(count=ctx.policy.password.min_length),
    secret=N_("your password"),
    help=N_("No special character rules: length and unpredictability matter. Avoid anything others could guess."),
    stage="Sign-in details",
)
async def password(ctx: Ctx, a: Answer):
    chosen = new_password(ctx, a.incoming.text, username=ctx.data.get("username", ""), profile=ctx.data)
    ctx.data["password_hash"] = await ctx.vault.hash_password(chosen)
    ctx.say(_("Password set."))


@flow.step(
    "site_phrase",
    ask=N_(
        "Pick a site phrase: a few words I'll show when you sign in, so you know it's really us. "
        "Not your password."
    ),
    help=site_phrase_help,
    stage="Sign-in details",
)
async def site_phrase(ctx: Ctx, a: Answer):
    phrase = site_phrase_of(ctx, a)
    await refuse_password_as_phrase(ctx, a, phrase, ctx.data.get("password_hash"))
    ctx.data["site_phrase"] = phrase


@flow.menu(
    ask=lambda ctx: (
        _("Now choose a site image, shown with your site phrase when you sign in.")
        if via_mail(ctx)
        else _("Last step: choose a site image, shown with your site phrase when you sign in.")
    ),
    choices=[[(k, label)] for k, label in SITE_IMAGES.items()],
    help=N_("Pick the picture you'll remember."),
    stage="Sign-in details",
)
async def site_image(ctx: Ctx, a: Answer):
    ctx.data["site_image"] = a.choice
    if via_mail(ctx):
        return "next"
    return await finish(ctx)


async def finish(ctx: Ctx) -> str | None:
    """Create the account and close the registration (text path, or letter for the mail path).

    Returns a trigger when something taken meanwhile must be chosen again."""
    blocked = await create_account(ctx)
    if blocked:
        if blocked == "username_taken":
            ctx.data["finishing"] = True  # after the new username, finish straight away
        return None if blocked == "done" else blocked
    ctx.data.pop("finishing", None)
    if via_mail(ctx):
        person = await ctx.records.person_of_record(ctx.data["ssn_hash"])
        await send_letter(ctx, account_id=ctx.data["account_id"], username=ctx.data["username"], person=person)
        await record_hire_event(ctx, "waiting_letter")
        ctx.say(mail_summary(ctx))
        ctx.go("home", "awaiting_letter")
    else:
        await record_hire_event(ctx, "done")
        ctx.say(summary(ctx))
        ctx.go("home", "registered")
    return None


SECRET_QUESTIONS = {
    "street": N_("What street did you grow up on?"),
    "teacher": N_("What was the last name of your favourite teacher?"),
    "first_car": N_("What was the make of your first car?"),
    "city_met": N_("In what city did your parents meet?"),
    "pet": N_("What was the name of your first pet?"),
    "first_job": N_("Where was your first job?"),
}


def _question_choices(ctx: Ctx):
    answered = ctx.data.get("secret_answers") or {}
    return [[(k, _(q))] for k, q in SECRET_QUESTIONS.items() if k not in answered]


def _question_prompt(ctx: Ctx) -> str:
    done = len(ctx.data.get("secret_answers") or {})
    total = ctx.policy.letters.secret_questions
    return _("Choose secret question {number} of {total}. Its answer helps confirm it's you later.").format(
        number=done + 1, total=total
    )


@flow.menu(
    ask=_question_prompt,
    choices=_question_choices,
    help=N_("Pick questions whose answers you'll remember and others can't look up."),
    stage="Sign-in details",
)
async def secret_question(ctx: Ctx, a: Answer):
    ctx.data["pending_question"] = a.choice


def normalise_answer(text: str) -> str:
    """Answers compare without case, accents, punctuation or extra spaces."""
    return plain(text).casefold()


@flow.step(
    "secret_answer",
    ask=lambda ctx: _("{question}\nType your answer:").format(question=_(SECRET_QUESTIONS.get(ctx.data.get("pending_question"), ""))),
    secret=N_("a secret answer"),
    help=N_("Capital letters and punctuation don't matter in the answer."),
    stage="Sign-in details",
)
async def secret_answer(ctx: Ctx, a: Answer):
    answer = normalise_answer(a.text)
    rule = ctx.policy.secret_answer
    if not rule.min_length <= len(answer) <= rule.max_length:
        raise Invalid(
            _("Please type an answer of {min} to {max} characters.").format(min=rule.min_length, max=rule.max_length),
            "secret_answer.length",
        )
    answers = ctx.data.setdefault("secret_answers", {})
    answers[ctx.data.pop("pending_question")] = ctx.vault.digest("secret_answer", answer)
    if len(answers) < ctx.policy.letters.secret_questions:
        return "more"
    return await finish(ctx)


async def create_account(ctx: Ctx) -> str | None:
    """Create the account; or, when something changed since it was checked (another chat of
    the same person finished first, someone took the phone or username meanwhile), say so and
    return where to go instead ("done", "phone_taken", "username_taken")."""
    d = ctx.data
    profile = {
        "first_name": d["first_name"],
        "last_name": d["last_name"],
        "email": d.get("email"),
        "date_of_birth": d.get("dob"),
        "filing_status": d.get("filing_status"),
        "address": d["address"],
    }
    if await ctx.repo.ssn_registered(d["ssn_hash"]):
        ctx.say(_("You already have a Secure Access account (it was just completed in another chat). Sign in with /login."))
        ctx.go("home", "registered")
        return "done"
    if d.get("phone_hash") and await ctx.repo.phone_owner_ssn(d["phone_hash"]) is not None:
        for key in ("phone", "phone_hash", "phone_ok"):
            d.pop(key, None)
        ctx.say(
            _(
                "While you were finishing, that phone number was registered to another account, and one "
                "phone serves only one user. Please confirm a different mobile number; everything else is kept."
            )
        )
        return "phone_taken"
    if not upgrading(ctx) and await ctx.repo.username_taken(d["username"]):
        d.pop("username", None)
        ctx.say(_("Someone took that username a moment ago. Please choose another; everything else is kept."))
        return "username_taken"
    d["account_id"] = await ctx.repo.create_account(
        NewAccount(
            username=d["username"],
            password_hash=d["password_hash"],
            ssn_hash=d["ssn_hash"],
            profile=profile,
            phone_hash=d.get("phone_hash"),
            phone=d.get("phone"),
            site_phrase=d["site_phrase"],
            site_image=d["site_image"],
            status="pending_letter" if via_mail(ctx) else "active",
            secret_answers=d.get("secret_answers"),
            chat_id=ctx.chat_id,
        )
    )
    return None


def mail_summary(ctx: Ctx) -> str:
    d = ctx.data
    letters = ctx.policy.letters
    return _(
        "Your account is set up and your activation code is in the mail. ✉️\n\n"
        "Username: {username} (permanent)\n"
        "The letter should arrive {arrival} (business days, weekends and federal holidays "
        "not counted). Its code works for {lifetime}.\n\n"
        "When it arrives, send /login, sign in with your username and password, and type the code. "
        "Then add any phone that can receive texts, or an authenticator app, for the security code "
        "you'll need at every sign-in."
    ).format(username=d["username"], arrival=arrival_window(ctx), lifetime=plural(letters.code_lifetime_days, "day"))


def _minutes(policy) -> str:
    return plural(int(policy.lifetime_minutes), "minute")


def summary(ctx: Ctx) -> str:
    d = ctx.data
    image = SITE_IMAGES.get(d["site_image"])
    return (
        _("You're registered. 🎉") + "\n\n"
        + _("Username: {username} (permanent)").format(username=d["username"]) + "\n"
        + (_("Email: {email}").format(email=d["email"]) + "\n" if d.get("email") else "")
        + _("Mobile phone: confirmed") + "\n"
        + _("Site image: {image}").format(image=_(image) if image else None) + "\n\n"
        + _(
            "Three kinds of code:\n"
            "• Confirmation code – emailed when you register; works {confirmation}.\n"
            "• Activation code – proves your phone once: by text ({activation_text}) or by mail ({activation_mail}).\n"
            "• Security code – needed at every sign-in: by text ({security_text}) or from an authenticator app "
            "(each lasts {authenticator})."
        ).format(
            confirmation=_minutes(ctx.policy.codes.confirmation),
            activation_text=_minutes(ctx.policy.codes.activation_text),
            activation_mail=plural(ctx.policy.letters.code_lifetime_days, "day"),
            security_text=_minutes(ctx.policy.codes.security_text),
            authenticator=plural(STEP_SECONDS, "second"),
        )
        + "\n\n"
        + _("Sign in any time with /login.")
    )


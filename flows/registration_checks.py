"""Registration, phases three and four: a financial account checked against the records (its
kind first, so refused cards are turned away before any digits), then the mobile phone in the
person's name and its texted activation code, or the choice of a code by mail.

Texts given to a step's declaration (``ask``, ``help``, ``secret``, fixed ``choices``) are English
marked with ``N_`` and translated when the step shows them; texts built by a function are
translated as they are built.
"""

from __future__ import annotations

from domain import validators as v
from domain.i18n import N_, _
from domain.validators import Invalid
from flows.code_entry import code_entry_step
from flows.common import ACTIVATION_TEXT, by_article, lower_first, send_code, tries_left, when
from flows.core import Answer, Ctx, explain, explanation
from flows.exception import hand_off
from flows.hires import record_hire_event
from flows.limits import FINANCIAL
from flows.registration_base import (
    ACCOUNT_LABELS,
    CARD_KINDS,
    CARD_NETWORKS,
    HELP_DESK_CHOICE,
    flow,
    help_desk_label,
    is_card,
    refused_cards,
)


# =============================================================================================
# 3. Financial account
# =============================================================================================


def _kind_choices(ctx: Ctx):
    return [[(k, _(ACCOUNT_LABELS[k]))] for k in ctx.policy.financial.accepted_kinds if k in ACCOUNT_LABELS]


@flow.menu(
    ask=N_(
        "Which kind of account will you use for the financial check? Its number is used once and never "
        "kept. The check may show on your credit report as a \"soft inquiry\", which doesn't affect "
        "your score."
    ),
    choices=_kind_choices,
    help=lambda ctx: _("Any of these accounts in your own name works. {refused} can't be used.").format(refused=refused_cards(ctx)),
    stage="Financial account",
)
async def fin_kind(ctx: Ctx, a: Answer):
    ctx.data["fin_kind"] = a.choice
    ctx.data.pop("card_network", None)
    ctx.data.pop("card_kind", None)


def _network_refusal(network: str) -> str:
    return _(
        "{network} cards can't be used for this check. Please pick another "
        "credit card, or a mortgage, home equity or car loan."
    ).format(network=_(CARD_NETWORKS.get(network, network)))


def _kind_refusal(kind: str) -> str:
    reason = {
        "debit": N_("Debit cards aren't credit accounts, so the check can't use them."),
        "corporate": N_("A card your company issued in your name belongs to the company's account, not yours."),
    }.get(kind, N_("That kind of card can't be used."))
    return _(reason) + " " + _("Please pick a personal credit card, or a mortgage, home equity or car loan.")


def _card_question(name: str, labels: dict, refusal, ask: str, help: str) -> None:
    """A step picking the card's ``name`` among ``labels``: a choice the policy refuses
    (``policy.financial.refused_<name>s``) is turned away with ``refusal(choice)``."""

    async def check(ctx: Ctx, a: Answer):
        if a.choice in getattr(ctx.policy.financial, f"refused_{name}s"):
            ctx.say(refusal(a.choice))
            await record_hire_event(ctx, "unsupported_card")
            return "refused"
        ctx.data[name] = a.choice

    choices = [[(k, label)] for k, label in labels.items()]
    flow.step(name, ask=ask, choices=choices, typed=False, help=help, stage="Financial account")(check)


_card_question("card_network", CARD_NETWORKS, _network_refusal, N_("Which network is the card on?"),
               N_("The network's name is printed on the card (Visa, Mastercard, Discover...)."))
_card_question("card_kind", CARD_KINDS, _kind_refusal, N_("What kind of card is it?"), N_("Only a personal credit card works here."))


def _digits_prompt(ctx: Ctx) -> str:
    label = ACCOUNT_LABELS.get(ctx.data.get("fin_kind")) or N_("account")
    what = lower_first(_(label))
    if is_card(ctx):
        return _("Type the last eight digits of your {account} number (the long number on the front).").format(account=what)
    return _("Type the last eight digits of your {account} number (from a statement).").format(account=what)


def _digits_choices(ctx: Ctx):
    rows = [[("other", _("Use a different account"))]]
    if ctx.data.get("financial_failures"):
        rows.append([(HELP_DESK_CHOICE[0], help_desk_label())])
    return rows


@flow.step(
    "fin_digits",
    ask=_digits_prompt,
    choices=_digits_choices,
    secret=N_("account digits"),
    help=N_("Only the last eight digits of the account number, not the card's three-digit security code."),
    stage="Financial account",
    checkpoint=("verified",),
)
async def fin_digits(ctx: Ctx, a: Answer):
    if a.choice == "other":
        return "other"
    if a.choice == "helpdesk":
        await hand_off(ctx, "fin_kind")
        return None
    last8 = v.last_eight_digits(a.text)
    checks = await FINANCIAL.allowance(ctx, ctx.data["ssn_hash"])
    retry_at = checks.retry_at
    if retry_at is not None:
        ctx.data["financial_failures"] = ctx.data.get("financial_failures", 0) or 1
        await ctx.repo.audit("financial_checks_locked", chat_id=ctx.chat_id)
        await record_hire_event(ctx, "locked", until=retry_at)
        raise Invalid(
            _(
                "There have been too many account checks, so they are paused until {when}. "
                "Your progress is saved. Tap \"{button}\" to see what else you can do."
            ).format(when=when(ctx, retry_at), button=help_desk_label()),
            "financial.locked",
        )
    result = await ctx.records.verify_financial(
        ctx.data["ssn_hash"], ctx.data["fin_kind"], last8, ctx.data.get("card_network"), ctx.data.get("card_kind")
    )
    if result.credit_freeze:
        await record_hire_event(ctx, "credit_freeze")
        return "freeze"
    if not result.matched:
        await checks.hit(ctx)
        await ctx.repo.audit("financial_check_failed", chat_id=ctx.chat_id)
        ctx.data["financial_failures"] = ctx.data.get("financial_failures", 0) + 1
        await record_hire_event(ctx, "financial_mismatch")
        raise Invalid(
            _(
                "Those digits don't match an account of this kind in your name. Use the last eight digits "
                "of the account number itself (not a security code); for a loan, copy it from a statement. "
                "You can also try a different account."
            )
            + tries_left(checks.remaining - 1),
            "financial.mismatch",
        )
    ctx.data["financial_ok"] = True
    await record_hire_event(ctx, "financial_confirmed")
    ctx.say(_("Your financial account checks out. The number has not been kept."))
    return "verified"


FREEZE_TEXT = explanation(
    "credit_freeze",
    N_(
        "Your credit file at Experian has a security freeze, so the financial check can't read it. "
        "Ask Experian to lift the freeze for a while (online or by phone), then come back and tap "
        "the button below. Everything you've done so far is saved."
    ),
)


def _freeze_prompt(ctx: Ctx) -> str:
    return explain(
        ctx, "credit_freeze", _(FREEZE_TEXT),
        _("The credit freeze at Experian still blocks the check. Tap the button below once it's lifted."),
    )


@flow.menu(
    ask=_freeze_prompt,
    choices=[
        [("retry", N_("The freeze is lifted – try again"))],
        [("other", N_("Use a different account"))],
        [HELP_DESK_CHOICE],
    ],
    help=N_("A credit freeze blocks the financial check. Lift it temporarily with Experian, then try again."),
    stage="Financial account",
)
async def freeze_hold(ctx: Ctx, a: Answer):
    if a.choice == "helpdesk":
        await hand_off(ctx, "freeze_hold")
        return None
    return a.choice


# =============================================================================================
# 4. Mobile phone
# =============================================================================================


@flow.step(
    "phone",
    ask=N_("What is your mobile phone number? A U.S. number in your name that can receive texts."),
    leave=("no_phone", N_("I don't have a mobile phone in my name"), "no_phone"),
    secret=N_("your phone number"),
    help=N_("A prepaid, business or family-plan phone usually isn't in your name; then the code can come by mail instead."),
    stage="Mobile phone",
)
async def phone(ctx: Ctx, a: Answer):
    number = v.us_mobile_number(a.text)
    phone_hash = ctx.vault.digest("phone", number)
    owner = await ctx.repo.phone_owner_ssn(phone_hash)
    if owner is not None and owner != ctx.data["ssn_hash"]:
        raise Invalid(
            _(
                "That number is already linked to another person's account, and each phone can belong to "
                "only one user. Please use a different mobile number."
            ),
            "phone.taken",
        )
    status = await ctx.records.phone_status(ctx.data["ssn_hash"], number)
    if not status.in_name:
        ctx.data["phone_rejected"] = "not_in_name"
        await record_hire_event(ctx, "phone_not_in_name")
        return "no_phone"
    if not status.text_enabled:
        raise Invalid(
            _(
                "That line can't receive text messages, so it can't get the activation code. Please use a "
                "mobile number that can receive texts."
            ),
            "phone.no_text",
        )
    ctx.data["phone"] = number
    ctx.data["phone_hash"] = phone_hash
    await send_code(ctx, ACTIVATION_TEXT, number)


def _no_phone_text(ctx: Ctx) -> str:
    lead = (
        _("That number isn't listed in your name with the phone records, so a texted code can't prove it's yours.") + "\n\n"
        if ctx.data.get("phone_rejected") == "not_in_name"
        else ""
    )
    letters = ctx.policy.letters
    return lead + _(
        "Without a mobile phone in your name you can get the activation code by mail instead: "
        "you create your username and password now, a letter with the code goes to your address of "
        "record (it takes {min_days} to {max_days} business days and the code lasts {lifetime_days} "
        "days), and when it arrives you sign in, type the code, and add any phone that can receive "
        "texts (a prepaid, family-plan or work phone is fine then) or an authenticator app."
    ).format(
        min_days=letters.delivery_business_days_min,
        max_days=letters.delivery_business_days_max,
        lifetime_days=letters.code_lifetime_days,
    )


@flow.menu(
    ask=_no_phone_text,
    choices=[[("mail", N_("Send me the code by mail"))], [("retry", N_("Try another number"))]],
    help=N_("A texted code needs a U.S. mobile number in your name. Otherwise the activation code can come by mail."),
    stage="Mobile phone",
)
async def no_phone(ctx: Ctx, a: Answer):
    ctx.data.pop("phone_rejected", None)
    if a.choice == "mail":
        ctx.data["via_mail"] = True
        ctx.data.pop("phone", None)
        ctx.data.pop("phone_hash", None)
        ctx.say(_("All right, the activation code will come by mail. First, let's set up how you'll sign in."))
    return a.choice


async def _phone_confirmed(ctx: Ctx) -> None:
    ctx.data["phone_ok"] = True
    await record_hire_event(ctx, "phone_confirmed")
    ctx.say(_("Your phone is confirmed."))
    if ctx.data.get("reregister_account_id"):
        account = await ctx.repo.account(ctx.data["reregister_account_id"])
        await ctx.repo.update_account(
            account,
            phone_hash=ctx.data["phone_hash"],
            phone_enc=ctx.vault.encrypt(ctx.data["phone"], context="account.phone"),
        )
        await ctx.repo.audit("phone_changed", account.id, ctx.chat_id)
        ctx.say(_("Your account now uses the new phone number; the old one no longer gets security codes."))
        ctx.go("home", "signed_in" if ctx.data.get("session") else "registered")


code_entry_step(
    flow,
    "phone_code",
    ACTIVATION_TEXT,
    ask=N_("Type the {digits} activation code I texted to your phone."),
    resend="phone",
    change=("change", N_("Use a different number"), "change_phone"),
    on_success=_phone_confirmed,
    help=lambda ctx: by_article(
        ACTIVATION_TEXT.digit_count(ctx),
        _(
            "The text message holds a {digits} activation code. It works for a limited "
            "time; ask for a new one if needed."
        ),
        _(
            "The text message holds an {digits} activation code. It works for a limited "
            "time; ask for a new one if needed."
        ),
    ).format(digits=ACTIVATION_TEXT.digits(ctx)),
    stage="Mobile phone",
    checkpoint=("next",),
)

"""Registration, first two phases: the name and the emailed confirmation code, then the identity
details of the last-filed return (SSN, date of birth, filing status, address) and one check of
them all against the records.

Texts given to a step's declaration (``ask``, ``help``, ``secret``, fixed ``choices``) are English
marked with ``N_`` and translated when the step shows them; texts built by a function are
translated as they are built.
"""

from __future__ import annotations

from domain import validators as v
from domain.address_layouts import label as layout_label
from domain.address_layouts import layouts as address_layouts
from domain.address_layouts import variants_left
from domain.addresses import EXPLANATIONS, Address, country_label
from domain.i18n import N_, _
from domain.places import postal_doubt, zip_doubt
from domain.ports import IDENTITY_MISMATCH, IdentityClaim
from domain.validators import Invalid
from flows.code_entry import code_entry_step
from flows.common import CONFIRMATION, listed, lower_first, send_code, tries_left, when
from flows.core import Answer, Ctx, explain, explanation
from flows.exception import hand_off, identity_core
from flows.hires import record_hire_event
from flows.limits import IDENTITY, IDENTITY_ALL, IDENTITY_CHAT, IDENTITY_USER, Budget, budget, user_id
from flows.registration_base import FILING_STATUS_LABELS, HELP_DESK_CHOICE, address, flow, help_desk_label


# =============================================================================================
# 1. Name and email
# =============================================================================================


def _name_step(key: str, field: str, *, ask: str, help: str) -> None:
    """A step that keeps one part of the name as the tax return shows it (``field`` names it in
    a refusal)."""

    async def check(ctx: Ctx, a: Answer):
        ctx.data[key] = v.person_name(a.text, field=field)

    flow.step(key, ask=ask, help=help, stage="Name and email")(check)


_name_step(
    "first_name",
    "first name",
    ask=N_("What is your first name, exactly as it appears on your last-filed tax return?"),
    help=N_("Your name is matched against the tax records, so type it the way your last return shows it."),
)
_name_step(
    "last_name",
    "last name",
    ask=N_("And your last name? Add a suffix such as Jr. only if the return has one."),
    help=N_("Type your family name as your last-filed return shows it, including any hyphen."),
)


@flow.step(
    "email",
    ask=N_("What email address can you open right now? I'll send a code to it."),
    help=N_("You'll need to read a code from this mailbox in the next few minutes, so use one you can open now."),
    stage="Name and email",
)
async def email(ctx: Ctx, a: Answer):
    address_ = v.email_address(a.text)
    ctx.data["email"] = address_
    await send_code(ctx, CONFIRMATION, address_)


async def _email_confirmed(ctx: Ctx) -> None:
    ctx.data["email_confirmed"] = True
    await record_hire_event(ctx, "email_confirmed")
    ctx.say(_("Thanks, your email address is confirmed."))


def _just_sent(ctx: Ctx, purpose: str) -> bool:
    """A code of ``purpose`` went out in this very turn: the note above the prompt said where."""
    return any(sent == purpose for _key, sent in ctx.fresh_codes)


code_entry_step(
    flow,
    "email_code",
    CONFIRMATION,
    ask=lambda ctx: (
        _("Type the {digits} confirmation code from that email.").format(digits=CONFIRMATION.digits(ctx))
        if _just_sent(ctx, CONFIRMATION.purpose)
        else _("Type the {digits} confirmation code from the email I sent to {email}.").format(
            digits=CONFIRMATION.digits(ctx), email=ctx.data.get("email")
        )
    ),
    resend="email",
    change=("change", N_("Use a different email"), "change_email"),
    on_success=_email_confirmed,
    help=N_(
        "Look for an email titled \"Your confirmation code\" (check the spam folder too). The code works for a limited time; ask for a new one if it has run out."
    ),
    stage="Name and email",
    checkpoint=("next",),
)


# =============================================================================================
# 2. Identity: SSN, date of birth, filing status, address of the last-filed return
# =============================================================================================


@flow.step(
    "ssn",
    ask=N_("Now your Social Security number (nine digits; dashes are fine)."),
    secret=N_("your SSN"),
    help=N_(
        "Your SSN identifies you in the tax records. It is kept only in a scrambled form that can't be turned back into the number."
    ),
    stage="Identity",
)
async def ssn(ctx: Ctx, a: Answer):
    digits = v.ssn(a.text)
    ctx.data["ssn_hash"] = ctx.vault.digest("ssn", digits)


@flow.step(
    "dob",
    ask=N_("What is your date of birth? For example 03/14/1979 or 1979-03-14."),
    secret=N_("your date of birth"),
    help=N_("Month first for dates with slashes (MM/DD/YYYY), or year first with dashes (YYYY-MM-DD)."),
    stage="Identity",
)
async def dob(ctx: Ctx, a: Answer):
    born = v.date_of_birth(
        a.text,
        today=ctx.now().date(),
        min_age=ctx.policy.identity.min_age_years,
        max_age=ctx.policy.identity.max_age_years,
    )
    ctx.data["dob"] = born.isoformat()


@flow.menu(
    ask=N_("Which filing status did you use on your last-filed return?"),
    choices=[[(k, label)] for k, label in FILING_STATUS_LABELS.items()],
    help=N_("Pick the status of the most recent return you actually filed, even if your situation has changed since."),
    stage="Identity",
)
async def filing_status(ctx: Ctx, a: Answer):
    ctx.data["filing_status"] = a.choice


@flow.menu(
    ask=N_("Next, the address on your last-filed return. Was it a U.S. address or one abroad?"),
    choices=[[("us", N_("A U.S. address"))], [("abroad", N_("An address outside the U.S."))]],
    help=N_("Use the address printed on your last-filed return, even if you have moved since."),
    stage="Identity",
)
async def addr_where(ctx: Ctx, a: Answer):
    for key in ("addr_edit", "addr_doubt", "addr_doubt_kept"):
        ctx.data.pop(key, None)
    ctx.data["addr_where"] = a.choice
    ctx.data["address"] = {"country": "US"} if a.choice == "us" else {}


def _address_part(name: str, part: str, read, skip: str, ask: str, help: str) -> None:
    """A step reading one part of the address with ``read``; ``skip`` labels a button that leaves
    the part empty."""

    async def check(ctx: Ctx, a: Answer):
        address(ctx)[part] = "" if skip and a.choice == "skip" else read(a.text)
        if name in DOUBT_FIX:
            _flag_doubt(ctx, name)

    choices = [[("skip", skip)]] if skip else None
    flow.step(name, ask=ask, choices=choices, help=help, stage="Identity")(check)


#: the steps reading the address part by part: the step, the part it fills, how it reads the
#: answer, the label of a button leaving the part empty (if any), the question, then its help
_SKIP_NONE = N_("Skip – none on the return")
for _row in (
    ("line1", "line1", v.address_line, "", N_("Address line 1, exactly as on that return (street number and name):"),
     N_("Type it the way the return shows it; don't add or drop words such as an apartment number that the return puts on line 2.")),
    ("line2", "line2", v.address_line, N_("Skip – there is no line 2"), N_("Address line 2 (apartment, suite, unit), if the return has one:"),
     N_("Only if your return has a second address line. Otherwise tap Skip.")),
    ("city", "city", v.city, "", N_("City, as on the return:"), N_("The city exactly as written on your last-filed return.")),
    ("state", "state", v.us_state, "", N_("State (two-letter code or full name):"), N_("For example IL or Illinois. Military addresses use AA, AE or AP.")),
    ("zip", "postal_code", v.zip_code, "", N_("ZIP code (five digits, or ZIP+4):"), N_("For example 62704 or 62704-1234.")),
    ("province", "state", v.province, _SKIP_NONE, N_("Province, state or region, if the return shows one:"),
     N_("For example ON for Ontario. Skip it if your return has none.")),
    ("postal_code", "postal_code", lambda text: v.postal_code(text, "XX"), _SKIP_NONE, N_("Postal code, as on the return:"),
     N_("The postal code exactly as your return shows it.")),
):
    _address_part(*_row)


@flow.step(
    "country",
    ask=N_("Country (name or two-letter code):"),
    help=N_("For example Canada or CA."),
    stage="Identity",
)
async def country(ctx: Ctx, a: Answer):
    code = v.country(a.text)
    if code == "US":
        raise Invalid(
            _(
                "That's the United States. If the return has a U.S. address, use /back a few times and choose "
                "\"{button}\" instead, or type the foreign country."
            ).format(button=_("A U.S. address")),
            "country.is_us",
        )
    addr = address(ctx)
    addr["country"] = code
    if code == "CA" and addr.get("postal_code"):
        try:
            addr["postal_code"] = v.postal_code(addr["postal_code"], "CA")
        except Invalid:
            pass
    _flag_doubt(ctx, "postal_code")


# -- a ZIP or postal code that doesn't belong with the rest, caught before it costs a check ------

#: the part to fix when a doubt comes up at a step (button label)
DOUBT_FIX = {
    "city": N_("Fix the city"),
    "state": N_("Fix the state"),
    "zip": N_("Fix the ZIP code"),
    "province": N_("Fix the province"),
    "postal_code": N_("Fix the postal code"),
}


FIX_IT = N_("Fix it")


def _flag_doubt(ctx: Ctx, part: str) -> None:
    """Note a ZIP code that isn't the state's (or city's), or a postal code whose first letter
    isn't the province's, unless the person already chose to keep this very combination."""
    addr = address(ctx)
    if ctx.data.get("addr_where") != "abroad":
        doubt = zip_doubt(addr.get("postal_code", ""), addr.get("state", ""), addr.get("city", ""))
    else:
        doubt = postal_doubt(addr.get("postal_code", ""), addr.get("state", ""), addr.get("country", ""))
    if doubt and doubt != ctx.data.get("addr_doubt_kept"):
        ctx.data["addr_doubt"] = {"text": doubt, "part": part}
    else:
        ctx.data.pop("addr_doubt", None)


@flow.menu(
    ask=lambda ctx: (
        _("{doubt} Please check it against your return. A typo here would cost an identity check.").format(
            doubt=(ctx.data.get("addr_doubt") or {}).get("text", "")
        )
    ),
    choices=lambda ctx: [
        [("fix", _(DOUBT_FIX.get((ctx.data.get("addr_doubt") or {}).get("part", ""), FIX_IT)))],
        [("keep", _("Keep it – the return shows it so"))],
    ],
    help=N_("Fix the part if it was a typo. If your return really shows it this way, keep it."),
    stage="Identity",
)
async def addr_doubt(ctx: Ctx, a: Answer):
    doubt = ctx.data.pop("addr_doubt", None) or {}
    if a.choice == "keep":
        ctx.data["addr_doubt_kept"] = doubt.get("text")
        return "next"
    part = doubt.get("part") or "zip"
    ctx.data["addr_edit"] = part
    return f"to_{part}"


# -- changing one part of the address from the review ---------------------------------------------


def _field_choices(ctx: Ctx):
    if ctx.data.get("addr_where") == "abroad":
        rows = [
            [("to_line1", _("Line 1")), ("to_line2", _("Line 2"))],
            [("to_city", _("City")), ("to_province", _("Province"))],
            [("to_postal_code", _("Postal code")), ("to_country", _("Country"))],
        ]
    else:
        rows = [
            [("to_line1", _("Line 1")), ("to_line2", _("Line 2"))],
            [("to_city", _("City")), ("to_state", _("State"))],
            [("to_zip", _("ZIP code"))],
        ]
    return rows + [[("whole", _("The whole address"))]]


@flow.menu(
    ask=N_("Which part of the address do you want to change?"),
    choices=_field_choices,
    help=N_(
        "Pick the one part to retype; you'll come back to the review after it. \"The whole address\" asks for every part again."
    ),
    stage="Identity",
)
async def addr_field(ctx: Ctx, a: Answer):
    if a.choice == "whole":
        return "whole"
    ctx.data["addr_edit"] = a.choice.removeprefix("to_")
    return a.choice


def _review_text(ctx: Ctx) -> str:
    d = ctx.data
    addr = Address.from_dict(d.get("address") or {})
    shown = addr.lines()
    if not addr.domestic and shown:
        shown[-1] = country_label(addr.country)  # "Canada", never "CA" (California?)
    lines = "\n".join("   " + line for line in shown)
    status = d.get("filing_status")
    details = _(
        "Name: {first_name} {last_name}\n"
        "SSN: provided (hidden)\n"
        "Date of birth: provided (hidden)\n"
        "Filing status: {filing_status}\n"
        "Address:\n{address}"
    ).format(
        first_name=d.get("first_name"),
        last_name=d.get("last_name"),
        filing_status=_(FILING_STATUS_LABELS[status]) if status in FILING_STATUS_LABELS else "-",
        address=lines,
    )
    text = _("Please check these details against your last-filed return:\n\n{details}").format(details=details)
    # what happens next in full the first time; afterwards a "Why?" button under the review
    why = _(REVIEW_WHY)
    if explain(ctx, "review", why, "") == why:
        text += "\n\n" + _("When everything matches the return, I'll check it against the records.")
    return text


REVIEW_WHY = explanation(
    "review",
    N_(
        "The records are matched against your last-filed return, so each detail must be as that return "
        "shows it. When everything matches the return, tap \"Everything matches – check it\" and I'll "
        "check it against the records."
    ),
)


REVIEW_CHOICES = [
    [("check", N_("Everything matches – check it"))],
    [("edit_name", N_("Change name")), ("edit_ssn", N_("Change SSN"))],
    [("edit_dob", N_("Change date of birth")), ("edit_status", N_("Change filing status"))],
    [("edit_address", N_("Change address"))],
]


def _suggestions(ctx: Ctx) -> list[tuple[str, str, Address]]:
    """The one-tap rewrites offered after a mismatch, built from the address as it is now."""
    offered = set(ctx.data.get("variants") or ())
    if not offered:
        return []
    current = Address.from_dict(ctx.data.get("address") or {})
    return [v for v in variants_left(current) if v[0] in offered]


def _review_choices(ctx: Ctx):
    # the suggestions go below the fixed buttons, which keep their places after a mismatch
    rows = [[(value, _(label)) for value, label in row] for row in REVIEW_CHOICES]
    rows += [[(f"variant:{code}", text)] for code, text, _address in _suggestions(ctx)]
    if ctx.data.get("identity_failures"):
        rows.append([(HELP_DESK_CHOICE[0], help_desk_label())])
    return rows


ADDRESS_PARTS = {
    "address_line": N_("the street lines"),
    "city": N_("the city"),
    "state": N_("the state or province"),
    "postal_code": N_("the ZIP or postal code"),
    "country": N_("the country"),
}


#: the one answer to a mismatch in the SSN, date of birth, name or filing status (or an SSN the
#: records don't hold): which of them differs is never told, so the answer can't be used to learn
#: whether an SSN exists or which detail of a known person is right
IDENTITY_MISMATCH_TEXT = explanation(
    "identity_mismatch",
    N_(
        "Your name, SSN, date of birth or filing status doesn't match the tax records. Check each against "
        "your last-filed return: the name exactly as printed there (same spelling and hyphens, a suffix "
        "such as Jr. only if the return has one), the SSN digit by digit, the date of birth (month first), "
        "and the filing status of the last return you actually filed, not the one you plan to use next."
    ),
)


IDENTITY_MISMATCH_AGAIN = N_("Your name, SSN, date of birth or filing status still doesn't match the tax records.")


def mismatch_explanation(
    mismatches: frozenset[str],
    causes: tuple[str, ...],
    *,
    layouts_tried: int = 1,
    closest: str = "",
    country: str = "",
) -> str:
    """Say what to check, in order: the person's core details as one, and only once those all
    match, which part of the address differs, which of the records' layouts were tried and what
    is left. Never what the records hold. In the current language."""
    address = [_(ADDRESS_PARTS[c]) for c in ADDRESS_PARTS if c in mismatches]
    if IDENTITY_MISMATCH in mismatches or not address:
        return _(IDENTITY_MISMATCH_TEXT)
    parts = listed(address)
    if layouts_tried > 1 and country and country != "US":
        where = country_label(country)
        if closest and closest != "as_typed":
            text = _(
                "The address you entered doesn't match in {parts}. I tried it in all {count} layouts the "
                "records use for {country} (as one try); the closest was with the {layout}."
            ).format(parts=parts, count=layouts_tried, country=where, layout=layout_label(closest))
        else:
            text = _(
                "The address you entered doesn't match in {parts}. I tried it in all {count} layouts the "
                "records use for {country} (as one try)."
            ).format(parts=parts, count=layouts_tried, country=where)
    elif layouts_tried > 1:
        text = _("The address you entered doesn't match in {parts}, as typed or in the USPS standard form.").format(parts=parts)
    else:
        text = _("The address you entered doesn't match in {parts}.").format(parts=parts)
    hints = [EXPLANATIONS[c] for c in causes if c in EXPLANATIONS and c != "unknown"][:1]
    if hints:
        text += " " + _(hints[0])
    return text


def _keep_layout(ctx: Ctx, code: str) -> None:
    """Keep the records' layout the address matched in, and the address written in it: letters
    go to the authority's layout. Say which layout it was when it isn't the one typed."""
    code = code or "as_typed"
    ctx.data["address_layout"] = code
    entered = Address.from_dict(ctx.data.get("address") or {})
    laid_out = next((layout.address for layout in address_layouts(entered) if layout.code == code), entered)
    ctx.data["address_for_letters"] = laid_out.to_dict()
    if code != "as_typed":
        ctx.say(_("Matched with the records' layout: {layout}.").format(layout=layout_label(code)))


def _identity_budget_text(ctx: Ctx, checks: Budget, retry_at) -> str:
    """Why checks are paused: the SSN's, the chat's or the person's own checks used up."""
    if checks.blocked_by(IDENTITY):
        text = _(
            "There have been too many identity checks for this SSN, so checks are paused until "
            "{when}. Your answers are saved; come back then and check again, or tap "
            "\"{button}\" to see what else you can do."
        )
    elif checks.blocked_by(IDENTITY_CHAT):
        text = _(
            "There have been too many identity checks in this chat, so checks are paused until "
            "{when}. Your answers are saved; come back then and check again, or tap "
            "\"{button}\" to see what else you can do."
        )
    else:
        text = _(
            "There have been too many identity checks from your Telegram account, so checks are paused until "
            "{when}. Your answers are saved; come back then and check again, or tap "
            "\"{button}\" to see what else you can do."
        )
    return text.format(when=when(ctx, retry_at), button=help_desk_label())


@flow.menu(
    ask=_review_text,
    choices=_review_choices,
    help=N_("Compare each item with your last-filed return. Tap a Change button to fix one, or check when all match."),
    stage="Identity",
    checkpoint=("verified",),
)
async def review(ctx: Ctx, a: Answer):
    ctx.data["editing"] = False
    for key in ("addr_edit", "addr_doubt"):
        ctx.data.pop(key, None)
    if a.choice == "helpdesk":
        await hand_off(ctx, "review")
        return None
    if a.choice and a.choice.startswith("variant:"):
        # built from the answers as they are now, never from those of the mismatch (after /back)
        chosen = next((v for v in _suggestions(ctx) if f"variant:{v[0]}" == a.choice), None)
        if chosen is None:
            ctx.data.pop("variants", None)
            raise Invalid(_("That suggestion no longer applies to the address as it is now."), "identity.variant")
        ctx.data["address"] = chosen[2].to_dict()
        ctx.say(_("Trying the address with this change: {change}.").format(change=lower_first(chosen[1])))
    elif a.choice != "check":
        ctx.data["editing"] = True
        ctx.data.pop("variants", None)
        return a.choice
    ceiling = await IDENTITY_ALL.allowance(ctx, "all")
    if ceiling.retry_at is not None:
        await ctx.repo.audit("identity_checks_paused_everywhere", chat_id=ctx.chat_id)
        raise Invalid(
            _(
                "Online identity checks are paused for everyone for a while because of unusually heavy "
                "use. Your answers are saved; please come back after {when} and check again."
            ).format(when=when(ctx, ceiling.retry_at)),
            "identity.ceiling",
        )
    checks = await budget(
        ctx,
        (IDENTITY, ctx.data["ssn_hash"]),
        (IDENTITY_CHAT, ctx.chat_id),
        (IDENTITY_USER, user_id(ctx)),
    )
    retry_at = checks.retry_at
    if retry_at is not None:
        ctx.data["identity_failures"] = ctx.data.get("identity_failures", 0) or 1
        await ctx.repo.audit("identity_checks_locked", chat_id=ctx.chat_id)
        await record_hire_event(ctx, "locked", until=retry_at)
        raise Invalid(_identity_budget_text(ctx, checks, retry_at), "identity.locked")
    await ceiling.hit(ctx)
    result = await ctx.records.verify_identity(IdentityClaim.from_answers(ctx.data))
    reregister = ctx.data.get("reregister_account_id")
    if result.matched and reregister:
        own = await ctx.repo.account(reregister)
        if own is None or own.ssn_hash != ctx.data["ssn_hash"]:
            result = type(result)(False, frozenset({IDENTITY_MISMATCH}))
    if not result.matched:
        await checks.hit(ctx)
        await ctx.repo.audit("identity_check_failed", chat_id=ctx.chat_id)
        ctx.data["identity_failures"] = ctx.data.get("identity_failures", 0) + 1
        address_off = IDENTITY_MISMATCH not in result.mismatches and bool(result.mismatches & set(ADDRESS_PARTS))
        ctx.data["identity_core_ok"] = identity_core(ctx) if address_off else None
        entered = Address.from_dict(ctx.data["address"])
        left = variants_left(entered) if address_off else []
        ctx.data["variants"] = [code for code, _label, _address in left]
        await record_hire_event(ctx, "identity_mismatch")
        if left:
            offer = _("Tap a suggestion to try it written another way, or fix an item with its Change button.")
        elif address_off:
            offer = _(
                "If every line is as on your return, the records hold it in a way I can't try online; "
                "tap \"{button}\" and the e-Help Desk can check it with you."
            ).format(button=help_desk_label())
        else:
            offer = _("You can fix an item with its Change button and check again.")
        explanation = mismatch_explanation(
            result.mismatches,
            result.causes if address_off else (),
            layouts_tried=result.layouts_tried if address_off else 1,
            closest=result.layout if address_off else "",
            country=entered.country,
        )
        if explanation == _(IDENTITY_MISMATCH_TEXT):  # what to check, in full once per conversation
            explanation = explain(
                ctx, "identity_mismatch", _(IDENTITY_MISMATCH_TEXT), _(IDENTITY_MISMATCH_AGAIN), _("What to check")
            )
        raise Invalid(f"{explanation}\n\n{offer}{tries_left(checks.remaining - 1)}", "identity.mismatch")
    ctx.data["identity_ok"] = True
    ctx.data["e_services"] = result.e_services
    ctx.data.pop("variants", None)
    _keep_layout(ctx, result.layout)
    if not reregister and await ctx.repo.ssn_registered(ctx.data["ssn_hash"]):
        ctx.say(
            _(
                "You already have a Secure Access account. Sign in with /login. To change its phone number, "
                "sign in and choose \"{button}\" in /profile."
            ).format(button=_("Change phone number"))
        )
        await record_hire_event(ctx, "done")
        ctx.go("home", "registered")
        return None
    await record_hire_event(ctx, "identity_confirmed")
    ctx.say(_("Your identity details match the records."))
    return "verified"


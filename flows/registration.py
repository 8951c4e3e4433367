"""First-time registration, in the order the process runs.

1. name and email, then the emailed confirmation code;
2. SSN, date of birth, filing status and the address from the last-filed return, then one
   identity check of all of them against the records;
3. the financial account (kind first, so refused cards are turned away before any digits);
4. the mobile phone and the texted activation code;
5. username, password, site phrase and site image.
"""

from __future__ import annotations

from datetime import timedelta

from domain import validators as v
from domain.addresses import EXPLANATIONS, WHY_RECORDS_DIFFER, Address
from domain.addresses import variants as address_variants
from flows.common import (
    ACTIVATION_TEXT,
    CONFIRMATION,
    check_code,
    code_status_note,
    over_limit,
    send_code,
    tries_left,
    when,
)
from domain.authenticator import STEP_SECONDS
from flows.core import Answer, Ctx, Flow, delete_secret
from flows.exception import hand_off
from flows.hires import record_hire_event
from flows.letters import arrival_window, send_letter
from domain.ports import IdentityClaim
from domain.validators import Invalid

flow = Flow("registration", "Registration", initial="first_name")

FILING_STATUS_LABELS = {
    "single": "Single",
    "married_filing_jointly": "Married filing jointly",
    "married_filing_separately": "Married filing separately",
    "head_of_household": "Head of household",
    "qualifying_surviving_spouse": "Qualifying surviving spouse",
}
ACCOUNT_LABELS = {
    "credit_card": "Credit card",
    "mortgage": "Home mortgage loan",
    "home_equity_loan": "Home equity loan (second mortgage)",
    "heloc": "Home equity line of credit (HELOC)",
    "auto_loan": "Car loan",
}
CARD_NETWORKS = {
    "visa": "Visa",
    "mastercard": "Mastercard",
    "discover": "Discover",
    "amex": "American Express",
    "other": "Another network",
}
CARD_KINDS = {
    "credit": "Personal credit card",
    "debit": "Debit card",
    "corporate": "Company card issued in my name",
}
SITE_IMAGES = {
    "lighthouse": "🗼 Lighthouse",
    "owl": "🦉 Owl",
    "sailboat": "⛵ Sailboat",
    "cactus": "🌵 Cactus",
    "guitar": "🎸 Guitar",
    "mountain": "🏔 Mountain",
    "bicycle": "🚲 Bicycle",
    "sunflower": "🌻 Sunflower",
}
STAGES = ["Name and email", "Identity", "Financial account", "Mobile phone", "Sign-in details"]

SKIP = [[("skip", "Skip – there is no line 2")]]


def upgrading(ctx: Ctx) -> bool:
    """An existing e-Services user moving to Secure Access: the username is already theirs."""
    return bool(ctx.data.get("upgrade"))


def via_mail(ctx: Ctx) -> bool:
    return bool(ctx.data.get("via_mail"))


def editing(ctx: Ctx) -> bool:
    return bool(ctx.data.get("editing"))


def abroad(ctx: Ctx) -> bool:
    return ctx.data.get("addr_where") == "abroad"


def is_card(ctx: Ctx) -> bool:
    return ctx.data.get("fin_kind") == "credit_card"


def address(ctx: Ctx) -> dict:
    return ctx.data.setdefault("address", {})


# =============================================================================================
# 1. Name and email
# =============================================================================================


@flow.step(
    "first_name",
    ask="What is your first name, exactly as it appears on your last-filed tax return?",
    help="Your name is matched against the tax records, so type it the way your last return shows it.",
    stage="Name and email",
)
async def first_name(ctx: Ctx, a: Answer):
    ctx.data["first_name"] = v.person_name(a.text, field="first name")


@flow.step(
    "last_name",
    ask="And your last name, as on that return? (Include a suffix such as Jr. only if the return shows it.)",
    help="Type your family name as your last-filed return shows it, including any hyphen.",
    stage="Name and email",
)
async def last_name(ctx: Ctx, a: Answer):
    ctx.data["last_name"] = v.person_name(a.text, field="last name")


@flow.step(
    "email",
    ask="What email address can you open right now? I'll send a confirmation code to it.",
    help="You'll need to read a code from this mailbox in the next few minutes, so use one you can open now.",
    stage="Name and email",
)
async def email(ctx: Ctx, a: Answer):
    address_ = v.email_address(a.text)
    ctx.data["email"] = address_
    await send_code(ctx, CONFIRMATION, address_)


async def _email_code_prompt(ctx: Ctx) -> str:
    note = await code_status_note(ctx, CONFIRMATION)
    return f"{note}Type the six-digit confirmation code from the email I sent to {ctx.data.get('email')}."


@flow.step(
    "email_code",
    ask=_email_code_prompt,
    choices=[[("resend", "Send a new code")], [("change", "Use a different email")]],
    secret="a code",
    help="Look for an email titled \"Your confirmation code\" (check the spam folder too). The code works for a limited time; ask for a new one if it has run out.",
    stage="Name and email",
    checkpoint=("next",),
)
async def email_code(ctx: Ctx, a: Answer):
    if a.choice == "resend":
        await send_code(ctx, CONFIRMATION, ctx.data["email"])
        return "stay"
    if a.choice == "change":
        return "change_email"
    await check_code(ctx, CONFIRMATION, a)
    ctx.data["email_confirmed"] = True
    await record_hire_event(ctx, "email_confirmed")
    ctx.say("Thanks, your email address is confirmed.")


# =============================================================================================
# 2. Identity: SSN, date of birth, filing status, address of the last-filed return
# =============================================================================================


@flow.step(
    "ssn",
    ask="Now your Social Security number (nine digits; dashes are fine).",
    secret="your SSN",
    help="Your SSN identifies you in the tax records. It is kept only in a scrambled form that can't be turned back into the number.",
    stage="Identity",
)
async def ssn(ctx: Ctx, a: Answer):
    digits = v.ssn(a.text)
    ctx.data["ssn_hash"] = ctx.vault.digest("ssn", digits)


@flow.step(
    "dob",
    ask="What is your date of birth? For example 03/14/1979 or 1979-03-14.",
    secret="your date of birth",
    help="Month first for dates with slashes (MM/DD/YYYY), or year first with dashes (YYYY-MM-DD).",
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


@flow.step(
    "filing_status",
    ask="Which filing status did you use on your last-filed return?",
    choices=[[(k, label)] for k, label in FILING_STATUS_LABELS.items()],
    typed=False,
    help="Pick the status of the most recent return you actually filed, even if your situation has changed since.",
    stage="Identity",
)
async def filing_status(ctx: Ctx, a: Answer):
    ctx.data["filing_status"] = a.choice


@flow.step(
    "addr_where",
    ask="Next, the address on your last-filed return. Was it a U.S. address or one abroad?",
    choices=[[("us", "A U.S. address")], [("abroad", "An address outside the U.S.")]],
    typed=False,
    help="Use the address printed on your last-filed return, even if you have moved since.",
    stage="Identity",
)
async def addr_where(ctx: Ctx, a: Answer):
    ctx.data["addr_where"] = a.choice
    ctx.data["address"] = {"country": "US"} if a.choice == "us" else {}


@flow.step(
    "line1",
    ask="Address line 1, exactly as on that return (street number and name):",
    help="Type it the way the return shows it; don't add or drop words such as an apartment number that the return puts on line 2.",
    stage="Identity",
)
async def line1(ctx: Ctx, a: Answer):
    address(ctx)["line1"] = v.address_line(a.text)


@flow.step(
    "line2",
    ask="Address line 2 (apartment, suite, unit), if the return has one:",
    choices=SKIP,
    help="Only if your return has a second address line. Otherwise tap Skip.",
    stage="Identity",
)
async def line2(ctx: Ctx, a: Answer):
    address(ctx)["line2"] = "" if a.choice == "skip" else v.address_line(a.text)


@flow.step(
    "city",
    ask="City, as on the return:",
    help="The city exactly as written on your last-filed return.",
    stage="Identity",
)
async def city(ctx: Ctx, a: Answer):
    address(ctx)["city"] = v.city(a.text)


@flow.step(
    "state",
    ask="State (two-letter code or full name):",
    help="For example IL or Illinois. Military addresses use AA, AE or AP.",
    stage="Identity",
)
async def state(ctx: Ctx, a: Answer):
    address(ctx)["state"] = v.us_state(a.text)


@flow.step(
    "zip",
    ask="ZIP code (five digits, or ZIP+4):",
    help="For example 62704 or 62704-1234.",
    stage="Identity",
)
async def zip_(ctx: Ctx, a: Answer):
    address(ctx)["postal_code"] = v.zip_code(a.text)


@flow.step(
    "province",
    ask="Province, state or region, if the return shows one:",
    choices=[[("skip", "Skip – none on the return")]],
    help="For example ON for Ontario. Skip it if your return has none.",
    stage="Identity",
)
async def province(ctx: Ctx, a: Answer):
    address(ctx)["state"] = "" if a.choice == "skip" else v.province(a.text)


@flow.step(
    "postal_code",
    ask="Postal code, as on the return:",
    choices=[[("skip", "Skip – none on the return")]],
    help="The postal code exactly as your return shows it.",
    stage="Identity",
)
async def postal_code(ctx: Ctx, a: Answer):
    if a.choice == "skip":
        address(ctx)["postal_code"] = ""
        return
    address(ctx)["postal_code"] = v.postal_code(a.text, "XX")


@flow.step(
    "country",
    ask="Country (name or two-letter code):",
    help="For example Canada or CA.",
    stage="Identity",
)
async def country(ctx: Ctx, a: Answer):
    code = v.country(a.text)
    if code == "US":
        raise Invalid(
            "That's the United States. If the return has a U.S. address, use /back a few times and choose "
            "\"A U.S. address\" instead, or type the foreign country.",
            "country.is_us",
        )
    addr = address(ctx)
    addr["country"] = code
    if code == "CA" and addr.get("postal_code"):
        try:
            addr["postal_code"] = v.postal_code(addr["postal_code"], "CA")
        except Invalid:
            pass


def _review_text(ctx: Ctx) -> str:
    d = ctx.data
    addr = Address.from_dict(d.get("address") or {})
    lines = "\n".join("   " + line for line in addr.lines())
    return (
        "Please check these details against your last-filed return:\n\n"
        f"Name: {d.get('first_name')} {d.get('last_name')}\n"
        "SSN: provided (hidden)\n"
        "Date of birth: provided (hidden)\n"
        f"Filing status: {FILING_STATUS_LABELS.get(d.get('filing_status'), '-')}\n"
        f"Address:\n{lines}\n\n"
        "When everything matches the return, I'll check it against the records."
    )


REVIEW_CHOICES = [
    [("check", "Everything matches – check it")],
    [("edit_name", "Change name"), ("edit_ssn", "Change SSN")],
    [("edit_dob", "Change date of birth"), ("edit_status", "Change filing status")],
    [("edit_address", "Change address")],
]


HELP_DESK_CHOICE = ("helpdesk", "I can't get through online")


def _review_choices(ctx: Ctx):
    rows = [[(f"variant:{v['code']}", v["label"])] for v in ctx.data.get("variants") or []]
    rows += REVIEW_CHOICES
    if ctx.data.get("identity_failures"):
        rows.append([HELP_DESK_CHOICE])
    return rows


ADDRESS_PARTS = {
    "address_line": "the street lines",
    "city": "the city",
    "state": "the state or province",
    "postal_code": "the ZIP or postal code",
    "country": "the country",
}


def mismatch_explanation(mismatches: frozenset[str], causes: tuple[str, ...]) -> str:
    """Say which kind of detail differs and what to try, never what the records hold."""
    parts: list[str] = []
    if "name" in mismatches:
        parts.append(
            "The name doesn't match. Type it exactly as printed on your last-filed return: the same "
            "spelling and hyphens, a middle name only if the return shows it on the first-name line, "
            "and a suffix such as Jr. only if the return has one."
        )
    if mismatches & {"ssn", "date_of_birth", "filing_status"}:
        parts.append(
            "Your SSN, date of birth or filing status doesn't match. Check the SSN digit by digit, the "
            "date of birth (month first), and pick the filing status of the last return you actually "
            "filed, not the one you plan to use next."
        )
    address = [ADDRESS_PARTS[c] for c in ADDRESS_PARTS if c in mismatches]
    if address:
        listed = ", ".join(address[:-1]) + (" and " if len(address) > 1 else "") + address[-1]
        text = f"The address you entered doesn't match in {listed}."
        hints = [EXPLANATIONS[c] for c in causes if c in EXPLANATIONS][:2]
        if hints:
            text += " " + " ".join(hints)
        text += "\n\n" + WHY_RECORDS_DIFFER
        parts.append(text)
    return "\n\n".join(parts) or "These details don't match the tax records. Check each item against your last-filed return."


@flow.step(
    "review",
    ask=_review_text,
    choices=_review_choices,
    typed=False,
    help="Compare each item with your last-filed return. Tap a Change button to fix one, or check when all match.",
    stage="Identity",
    checkpoint=("verified",),
)
async def review(ctx: Ctx, a: Answer):
    ctx.data["editing"] = False
    if a.choice == "helpdesk":
        await hand_off(ctx, "review")
        return None
    if a.choice and a.choice.startswith("variant:"):
        chosen = next((v for v in ctx.data.get("variants") or [] if f"variant:{v['code']}" == a.choice), None)
        if chosen is None:
            raise Invalid("That suggestion no longer applies. Please choose again.", "identity.variant")
        ctx.data["address"] = chosen["address"]
        ctx.say(f"Trying the address with this change: {chosen['label'].lower()}.")
    elif a.choice != "check":
        ctx.data["editing"] = True
        ctx.data.pop("variants", None)
        return a.choice
    policy = ctx.policy.identity
    window = timedelta(hours=policy.window_hours)
    key = f"identity:{ctx.data['ssn_hash']}"
    remaining, retry_at = await over_limit(ctx, key, policy.max_attempts, window)
    if retry_at is not None:
        ctx.data["identity_failures"] = ctx.data.get("identity_failures", 0) or 1
        await ctx.repo.audit("identity_checks_locked", chat_id=ctx.chat_id)
        await record_hire_event(ctx, "locked", until=retry_at)
        raise Invalid(
            "There have been too many identity checks for this SSN, so checks are paused until "
            f"{when(ctx, retry_at)}. Your answers are saved; come back then and check again, or tap "
            f"\"{HELP_DESK_CHOICE[1]}\" to see what else you can do.",
            "identity.locked",
        )
    result = await ctx.records.verify_identity(IdentityClaim.from_answers(ctx.data))
    reregister = ctx.data.get("reregister_account_id")
    if result.matched and reregister:
        own = await ctx.repo.account(reregister)
        if own is None or own.ssn_hash != ctx.data["ssn_hash"]:
            result = type(result)(False, frozenset({"ssn"}))
    if not result.matched:
        await ctx.repo.add_attempt(key)
        await ctx.repo.audit("identity_check_failed", chat_id=ctx.chat_id)
        ctx.data["identity_failures"] = ctx.data.get("identity_failures", 0) + 1
        address_off = bool(result.mismatches & set(ADDRESS_PARTS))
        ctx.data["variants"] = (
            [
                {"code": code, "label": label, "address": alt.to_dict()}
                for code, label, alt in address_variants(Address.from_dict(ctx.data["address"]))
            ]
            if address_off
            else []
        )
        await record_hire_event(ctx, "identity_mismatch")
        offer = "Tap one of the suggestions to try your address written another way, or" if ctx.data["variants"] else "You can"
        raise Invalid(
            mismatch_explanation(result.mismatches, result.causes)
            + f"\n\n{offer} fix an item with its Change button and check again.{tries_left(remaining - 1)}",
            "identity.mismatch",
        )
    ctx.data["identity_ok"] = True
    ctx.data["e_services"] = result.e_services
    ctx.data.pop("variants", None)
    if not reregister and await ctx.repo.ssn_registered(ctx.data["ssn_hash"]):
        ctx.say(
            "You already have a Secure Access account. Sign in with /login. To change its phone number, "
            "sign in and choose \"Change phone number\" in /profile."
        )
        await record_hire_event(ctx, "done")
        ctx.go("home", "registered")
        return None
    await record_hire_event(ctx, "identity_confirmed")
    ctx.say("Your identity details match the records.")
    return "verified"


# =============================================================================================
# 3. Financial account
# =============================================================================================


def _kind_choices(ctx: Ctx):
    return [[(k, ACCOUNT_LABELS[k])] for k in ctx.policy.financial.accepted_kinds if k in ACCOUNT_LABELS]


@flow.step(
    "fin_kind",
    ask=(
        "Now a quick check against your financial records. Which kind of account will you use? "
        "Its account number is used once for this check and never kept. The check may show on your "
        "credit report as a \"soft inquiry\", which doesn't affect your credit score."
    ),
    choices=_kind_choices,
    typed=False,
    help="Any of these accounts in your own name works. American Express, debit cards and company cards can't be used.",
    stage="Financial account",
)
async def fin_kind(ctx: Ctx, a: Answer):
    ctx.data["fin_kind"] = a.choice
    ctx.data.pop("card_network", None)
    ctx.data.pop("card_kind", None)


@flow.step(
    "card_network",
    ask="Which network is the card on?",
    choices=[[(k, label)] for k, label in CARD_NETWORKS.items()],
    typed=False,
    help="The network's name is printed on the card (Visa, Mastercard, Discover...).",
    stage="Financial account",
)
async def card_network(ctx: Ctx, a: Answer):
    if a.choice in ctx.policy.financial.refused_card_networks:
        ctx.say(
            f"{CARD_NETWORKS.get(a.choice, 'This')} cards can't be used for this check. Please pick another "
            "credit card, or a mortgage, home equity or car loan."
        )
        await record_hire_event(ctx, "unsupported_card")
        return "refused"
    ctx.data["card_network"] = a.choice


@flow.step(
    "card_kind",
    ask="What kind of card is it?",
    choices=[[(k, label)] for k, label in CARD_KINDS.items()],
    typed=False,
    help="Only a personal credit card works here.",
    stage="Financial account",
)
async def card_kind(ctx: Ctx, a: Answer):
    if a.choice in ctx.policy.financial.refused_card_kinds:
        reason = {
            "debit": "Debit cards aren't credit accounts, so the check can't use them.",
            "corporate": "A card your company issued in your name belongs to the company's account, not yours.",
        }.get(a.choice, "That kind of card can't be used.")
        ctx.say(f"{reason} Please pick a personal credit card, or a mortgage, home equity or car loan.")
        await record_hire_event(ctx, "unsupported_card")
        return "refused"
    ctx.data["card_kind"] = a.choice


def _digits_prompt(ctx: Ctx) -> str:
    what = ACCOUNT_LABELS.get(ctx.data.get("fin_kind"), "account").lower()
    hint = " (the long number on the front of the card)" if is_card(ctx) else " (from a statement)"
    return (
        f"Type the last eight digits of your {what} account number{hint}. "
        "I check them once and don't keep them."
    )


def _digits_choices(ctx: Ctx):
    rows = [[("other", "Use a different account")]]
    if ctx.data.get("financial_failures"):
        rows.append([HELP_DESK_CHOICE])
    return rows


@flow.step(
    "fin_digits",
    ask=_digits_prompt,
    choices=_digits_choices,
    secret="account digits",
    help="Only the last eight digits of the account number, not the card's three-digit security code.",
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
    policy = ctx.policy.financial
    window = timedelta(hours=policy.window_hours)
    key = f"financial:{ctx.data['ssn_hash']}"
    remaining, retry_at = await over_limit(ctx, key, policy.max_attempts, window)
    if retry_at is not None:
        ctx.data["financial_failures"] = ctx.data.get("financial_failures", 0) or 1
        await ctx.repo.audit("financial_checks_locked", chat_id=ctx.chat_id)
        await record_hire_event(ctx, "locked", until=retry_at)
        raise Invalid(
            f"There have been too many account checks, so they are paused until {when(ctx, retry_at)}. "
            f"Your progress is saved. Tap \"{HELP_DESK_CHOICE[1]}\" to see what else you can do.",
            "financial.locked",
        )
    result = await ctx.records.verify_financial(
        ctx.data["ssn_hash"], ctx.data["fin_kind"], last8, ctx.data.get("card_network"), ctx.data.get("card_kind")
    )
    if result.credit_freeze:
        await record_hire_event(ctx, "credit_freeze")
        return "freeze"
    if not result.matched:
        await ctx.repo.add_attempt(key)
        await ctx.repo.audit("financial_check_failed", chat_id=ctx.chat_id)
        ctx.data["financial_failures"] = ctx.data.get("financial_failures", 0) + 1
        await record_hire_event(ctx, "financial_mismatch")
        raise Invalid(
            "Those digits don't match an account of this kind in your name. Use the last eight digits "
            "of the account number itself (not a security code); for a loan, copy it from a statement. "
            f"You can also try a different account.{tries_left(remaining - 1)}",
            "financial.mismatch",
        )
    ctx.data["financial_ok"] = True
    await record_hire_event(ctx, "financial_confirmed")
    ctx.say("Your financial account checks out. The number has not been kept.")
    return "verified"


@flow.step(
    "freeze_hold",
    ask=(
        "Your credit file at Experian has a security freeze, so the financial check can't read it. "
        "Ask Experian to lift the freeze for a while (online or by phone), then come back and tap "
        "the button below. Everything you've done so far is saved."
    ),
    choices=[[("retry", "The freeze is lifted – try again")], [("other", "Use a different account")], [HELP_DESK_CHOICE]],
    typed=False,
    help="A credit freeze blocks the financial check. Lift it temporarily with Experian, then try again.",
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
    ask=(
        "What is your mobile phone number? It must be a U.S. number that can receive texts and is "
        "registered in your name."
    ),
    choices=[[("no_phone", "I don't have a mobile phone in my name")]],
    secret="your phone number",
    help="A prepaid, business or family-plan phone usually isn't in your name; then the code can come by mail instead.",
    stage="Mobile phone",
)
async def phone(ctx: Ctx, a: Answer):
    if a.choice == "no_phone":
        return "no_phone"
    number = v.us_mobile_number(a.text)
    phone_hash = ctx.vault.digest("phone", number)
    owner = await ctx.repo.phone_owner_ssn(phone_hash)
    if owner is not None and owner != ctx.data["ssn_hash"]:
        raise Invalid(
            "That number is already linked to another person's account, and each phone can belong to "
            "only one user. Please use a different mobile number.",
            "phone.taken",
        )
    status = await ctx.records.phone_status(ctx.data["ssn_hash"], number)
    if not status.in_name:
        ctx.data["phone_rejected"] = "not_in_name"
        await record_hire_event(ctx, "phone_not_in_name")
        return "no_phone"
    if not status.text_enabled:
        raise Invalid(
            "That line can't receive text messages, so it can't get the activation code. Please use a "
            "mobile number that can receive texts.",
            "phone.no_text",
        )
    ctx.data["phone"] = number
    ctx.data["phone_hash"] = phone_hash
    await send_code(ctx, ACTIVATION_TEXT, number)


def _no_phone_text(ctx: Ctx) -> str:
    lead = (
        "That number isn't listed in your name with the phone records, so a texted code can't prove it's yours.\n\n"
        if ctx.data.get("phone_rejected") == "not_in_name"
        else ""
    )
    letters = ctx.policy.letters
    return (
        f"{lead}Without a mobile phone in your name you can get the activation code by mail instead: "
        "you create your username and password now, a letter with the code goes to your address of "
        f"record (it takes {letters.delivery_business_days_min} to {letters.delivery_business_days_max} "
        f"business days and the code lasts {letters.code_lifetime_days} days), and when it arrives you "
        "sign in, type the code, and add any phone that can receive texts (a prepaid, family-plan or work "
        "phone is fine then) or an authenticator app."
    )


@flow.step(
    "no_phone",
    ask=_no_phone_text,
    choices=[[("mail", "Send me the code by mail")], [("retry", "Try another number")]],
    typed=False,
    help="A texted code needs a U.S. mobile number in your name. Otherwise the activation code can come by mail.",
    stage="Mobile phone",
)
async def no_phone(ctx: Ctx, a: Answer):
    ctx.data.pop("phone_rejected", None)
    if a.choice == "mail":
        ctx.data["via_mail"] = True
        ctx.data.pop("phone", None)
        ctx.data.pop("phone_hash", None)
        ctx.say("All right, the activation code will come by mail. First, let's set up how you'll sign in.")
    return a.choice


async def _phone_code_prompt(ctx: Ctx) -> str:
    note = await code_status_note(ctx, ACTIVATION_TEXT)
    return f"{note}Type the six-digit activation code I texted to your phone."


@flow.step(
    "phone_code",
    ask=_phone_code_prompt,
    choices=[[("resend", "Send a new code")], [("change", "Use a different number")]],
    secret="a code",
    help="The text message holds a six-digit activation code. It works for a limited time; ask for a new one if needed.",
    stage="Mobile phone",
    checkpoint=("next",),
)
async def phone_code(ctx: Ctx, a: Answer):
    if a.choice == "resend":
        await send_code(ctx, ACTIVATION_TEXT, ctx.data["phone"])
        return "stay"
    if a.choice == "change":
        return "change_phone"
    await check_code(ctx, ACTIVATION_TEXT, a)
    ctx.data["phone_ok"] = True
    await record_hire_event(ctx, "phone_confirmed")
    ctx.say("Your phone is confirmed.")
    if ctx.data.get("reregister_account_id"):
        account = await ctx.repo.account(ctx.data["reregister_account_id"])
        await ctx.repo.update_account(
            account,
            phone_hash=ctx.data["phone_hash"],
            phone_enc=ctx.vault.encrypt(ctx.data["phone"], context="account.phone"),
        )
        await ctx.repo.audit("phone_changed", account.id, ctx.chat_id)
        ctx.say("Your account now uses the new phone number; the old one no longer gets security codes.")
        ctx.go("home", "signed_in" if ctx.data.get("session") else "registered")


# =============================================================================================
# 5. Sign-in details
# =============================================================================================


@flow.step(
    "username",
    ask=(
        "Choose a username. Note that it can never be changed later. Use 6 to 32 letters, digits, "
        "dots, dashes or underscores, starting with a letter."
    ),
    help="Your username is permanent, so choose one you're happy to keep.",
    stage="Sign-in details",
)
async def username(ctx: Ctx, a: Answer):
    policy = ctx.policy.username
    name = v.username(a.text, min_length=policy.min_length, max_length=policy.max_length)
    if await ctx.repo.username_taken(name):
        raise Invalid("That username is already taken. Please choose another.", "username.taken")
    ctx.data["username"] = name
    if ctx.data.get("finishing"):
        # everything else was already answered: the username was the only thing left
        return await finish(ctx)


@flow.step(
    "password",
    ask=(
        "Now a password: at least 8 characters, and long is good. Any characters work, spaces "
        "included; a few unrelated words make a strong one. Common or leaked passwords, and ones "
        "containing your username or name, are refused."
    ),
    secret="your password",
    help="No special character rules: length and unpredictability matter. Avoid anything others could guess.",
    stage="Sign-in details",
)
async def password(ctx: Ctx, a: Answer):
    policy = ctx.policy.password
    chosen = v.password(
        a.incoming.text,
        username=ctx.data.get("username", ""),
        personal_words=[ctx.data.get("first_name", ""), ctx.data.get("last_name", "")],
        min_length=policy.min_length,
        max_length=policy.max_length,
    )
    ctx.data["password_hash"] = await ctx.vault.hash_password(chosen)
    ctx.say("Password set.")


@flow.step(
    "site_phrase",
    ask=(
        "Pick a site phrase: a few words that I'll show you when you sign in, so you know it's "
        "really us. Don't use your password."
    ),
    help="Any short phrase you'll recognise, 4 to 40 characters.",
    stage="Sign-in details",
)
async def site_phrase(ctx: Ctx, a: Answer):
    phrase = v.site_phrase(a.text)
    # the phrase is shown in the chat at every sign-in, so it must never be the password
    if ctx.data.get("password_hash") and await ctx.vault.verify_password(ctx.data["password_hash"], phrase):
        # a password typed here is as secret as at the password step: it leaves the chat too
        if a.incoming.message_id is not None:
            ctx.actions.extend(delete_secret(a.incoming, "your password"))
        raise Invalid(
            "That's your password. The site phrase is shown openly each time you sign in, so pick "
            "different words.",
            "phrase.is_password",
        )
    ctx.data["site_phrase"] = phrase


@flow.step(
    "site_image",
    ask="Last step: choose a site image. It appears with your site phrase when you sign in.",
    choices=[[(k, label)] for k, label in SITE_IMAGES.items()],
    typed=False,
    help="Pick the picture you'll remember.",
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
    "street": "What street did you grow up on?",
    "teacher": "What was the last name of your favourite teacher?",
    "first_car": "What was the make of your first car?",
    "city_met": "In what city did your parents meet?",
    "pet": "What was the name of your first pet?",
    "first_job": "Where was your first job?",
}


def _question_choices(ctx: Ctx):
    answered = ctx.data.get("secret_answers") or {}
    return [[(k, q)] for k, q in SECRET_QUESTIONS.items() if k not in answered]


def _question_prompt(ctx: Ctx) -> str:
    done = len(ctx.data.get("secret_answers") or {})
    total = ctx.policy.letters.secret_questions
    return f"Choose secret question {done + 1} of {total}. Its answer helps confirm it's you later."


@flow.step(
    "secret_question",
    ask=_question_prompt,
    choices=_question_choices,
    typed=False,
    help="Pick questions whose answers you'll remember and others can't look up.",
    stage="Sign-in details",
)
async def secret_question(ctx: Ctx, a: Answer):
    ctx.data["pending_question"] = a.choice


def normalise_answer(text: str) -> str:
    """Answers compare without case, accents, punctuation or extra spaces."""
    from domain.addresses import plain

    return plain(text).casefold()


@flow.step(
    "secret_answer",
    ask=lambda ctx: f"{SECRET_QUESTIONS.get(ctx.data.get('pending_question'), '')}\nType your answer:",
    secret="a secret answer",
    help="Capital letters and punctuation don't matter in the answer.",
    stage="Sign-in details",
)
async def secret_answer(ctx: Ctx, a: Answer):
    answer = normalise_answer(a.text)
    if len(answer) < 2 or len(answer) > 60:
        raise Invalid("Please type an answer of 2 to 60 characters.", "secret_answer.length")
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
        ctx.say("You already have a Secure Access account (it was just completed in another chat). Sign in with /login.")
        ctx.go("home", "registered")
        return "done"
    if d.get("phone_hash") and await ctx.repo.phone_owner_ssn(d["phone_hash"]) is not None:
        for key in ("phone", "phone_hash", "phone_ok"):
            d.pop(key, None)
        ctx.say(
            "While you were finishing, that phone number was registered to another account, and one "
            "phone serves only one user. Please confirm a different mobile number; everything else is kept."
        )
        return "phone_taken"
    if not upgrading(ctx) and await ctx.repo.username_taken(d["username"]):
        d.pop("username", None)
        ctx.say("Someone took that username a moment ago. Please choose another; everything else is kept.")
        return "username_taken"
    d["account_id"] = await ctx.repo.create_account(
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
    return None


def mail_summary(ctx: Ctx) -> str:
    d = ctx.data
    letters = ctx.policy.letters
    return (
        "Your account is set up and your activation code is in the mail. ✉️\n\n"
        f"Username: {d['username']} (permanent)\n"
        f"The letter should arrive {arrival_window(ctx)} (business days, weekends and federal holidays "
        f"not counted). Its code works for {letters.code_lifetime_days} days.\n\n"
        "When it arrives, send /login, sign in with your username and password, and type the code. "
        "Then add any phone that can receive texts, or an authenticator app, for the security code "
        "you'll need at every sign-in."
    )


def summary(ctx: Ctx) -> str:
    d = ctx.data
    return (
        "You're registered. 🎉\n\n"
        f"Username: {d['username']} (permanent)\n"
        + (f"Email: {d['email']}\n" if d.get("email") else "")
        + "Mobile phone: confirmed\n"
        f"Site image: {SITE_IMAGES.get(d['site_image'])}\n\n"
        "Three kinds of code, so they don't get mixed up:\n"
        f"• Confirmation code – emailed when you register; works {int(ctx.policy.codes.confirmation.lifetime_minutes)} minutes.\n"
        f"• Activation code – proves your phone once: by text ({int(ctx.policy.codes.activation_text.lifetime_minutes)} minutes) or by mail ({ctx.policy.letters.code_lifetime_days} days).\n"
        f"• Security code – needed at every sign-in: by text ({int(ctx.policy.codes.security_text.lifetime_minutes)} minutes) or from an authenticator app (each lasts {STEP_SECONDS} seconds).\n\n"
        "Sign in any time with /login."
    )


# =============================================================================================
# The transitions table: where each answer leads
# =============================================================================================

flow.transitions(
    [
        # 1. name and email
        {"trigger": "next", "source": "first_name", "dest": "last_name"},
        {"trigger": "next", "source": "last_name", "dest": "review", "conditions": editing},
        {"trigger": "next", "source": "last_name", "dest": "email"},
        ["next", "email", "email_code"],
        ["change_email", "email_code", "email"],
        ["next", "email_code", "ssn"],
        # 2. identity
        {"trigger": "next", "source": "ssn", "dest": "review", "conditions": editing},
        ["next", "ssn", "dob"],
        {"trigger": "next", "source": "dob", "dest": "review", "conditions": editing},
        ["next", "dob", "filing_status"],
        {"trigger": "next", "source": "filing_status", "dest": "review", "conditions": editing},
        ["next", "filing_status", "addr_where"],
        ["next", "addr_where", "line1"],
        ["next", "line1", "line2"],
        ["next", "line2", "city"],
        {"trigger": "next", "source": "city", "dest": "province", "conditions": abroad},
        ["next", "city", "state"],
        ["next", "state", "zip"],
        ["next", "zip", "review"],
        ["next", "province", "postal_code"],
        ["next", "postal_code", "country"],
        ["next", "country", "review"],
        ["edit_name", "review", "first_name"],
        ["edit_ssn", "review", "ssn"],
        ["edit_dob", "review", "dob"],
        ["edit_status", "review", "filing_status"],
        ["edit_address", "review", "addr_where"],
        ["verified", "review", "fin_kind"],
        # 3. financial account
        {"trigger": "next", "source": "fin_kind", "dest": "card_network", "conditions": is_card},
        ["next", "fin_kind", "fin_digits"],
        ["refused", "card_network", "fin_kind"],
        ["next", "card_network", "card_kind"],
        ["refused", "card_kind", "fin_kind"],
        ["next", "card_kind", "fin_digits"],
        ["other", "fin_digits", "fin_kind"],
        ["freeze", "fin_digits", "freeze_hold"],
        ["retry", "freeze_hold", "fin_digits"],
        ["other", "freeze_hold", "fin_kind"],
        ["verified", "fin_digits", "phone"],
        # 4. mobile phone
        ["next", "phone", "phone_code"],
        ["no_phone", "phone", "no_phone"],
        ["retry", "no_phone", "phone"],
        {"trigger": "mail", "source": "no_phone", "dest": "password", "conditions": upgrading},
        ["mail", "no_phone", "username"],
        ["change_phone", "phone_code", "phone"],
        {"trigger": "next", "source": "phone_code", "dest": "password", "conditions": upgrading},
        ["next", "phone_code", "username"],
        # 5. sign-in details
        ["next", "username", "password"],
        ["next", "password", "site_phrase"],
        ["next", "site_phrase", "site_image"],
        ["next", "site_image", "secret_question"],
        ["next", "secret_question", "secret_answer"],
        ["more", "secret_answer", "secret_question"],
        ["phone_taken", "site_image", "phone"],
        ["username_taken", ["site_image", "secret_answer"], "username"],
    ]
)
flow.validate()

"""The registration flow and what its steps share: the labels of the choices offered, the
stages shown by /status, and the conditions over the answers that the transitions table uses.

The steps themselves live with their phase (flows.registration_identity, flows.registration_checks,
flows.registration_account); flows.registration puts them in order.

The labels below are English, marked with ``N_``: each is translated where it is shown
(``_(FILING_STATUS_LABELS[key])``), and stays English as a key (a step's ``stage`` is looked up
in :data:`STAGES`).
"""

from __future__ import annotations

from domain.i18n import N_, _
from flows.common import listed
from flows.core import Ctx, Flow

flow = Flow("registration", N_("Registration"), initial="first_name")

FILING_STATUS_LABELS = {
    "single": N_("Single"),
    "married_filing_jointly": N_("Married filing jointly"),
    "married_filing_separately": N_("Married filing separately"),
    "head_of_household": N_("Head of household"),
    "qualifying_surviving_spouse": N_("Qualifying surviving spouse"),
}
ACCOUNT_LABELS = {
    "credit_card": N_("Credit card"),
    "mortgage": N_("Home mortgage loan"),
    "home_equity_loan": N_("Home equity loan (second mortgage)"),
    "heloc": N_("Home equity line of credit (HELOC)"),
    "auto_loan": N_("Car loan"),
}
#: the networks' names are brands, the same in every language
CARD_NETWORKS = {
    "visa": "Visa",
    "mastercard": "Mastercard",
    "discover": "Discover",
    "amex": "American Express",
    "other": N_("Another network"),
}
CARD_KINDS = {
    "credit": N_("Personal credit card"),
    "debit": N_("Debit card"),
    "corporate": N_("Company card issued in my name"),
}
SITE_IMAGES = {
    "lighthouse": N_("🗼 Tower"),  # the key stays for accounts that chose it; there is no lighthouse emoji
    "owl": N_("🦉 Owl"),
    "sailboat": N_("⛵ Sailboat"),
    "cactus": N_("🌵 Cactus"),
    "guitar": N_("🎸 Guitar"),
    "mountain": N_("🏔 Mountain"),
    "bicycle": N_("🚲 Bicycle"),
    "sunflower": N_("🌻 Sunflower"),
}

#: refused card kinds, as a sentence names them
REFUSED_KIND_NAMES = {"debit": N_("debit cards"), "corporate": N_("company cards")}
STAGES = [N_("Name and email"), N_("Identity"), N_("Financial account"), N_("Mobile phone"), N_("Sign-in details")]

HELP_DESK_CHOICE = ("helpdesk", N_("I can't get through online"))


def help_desk_label() -> str:
    """The label of :data:`HELP_DESK_CHOICE`, in the current language (for sentences that name it)."""
    return _(HELP_DESK_CHOICE[1])


def upgrading(ctx: Ctx) -> bool:
    """An existing e-Services user moving to Secure Access: the username is already theirs."""
    return bool(ctx.data.get("upgrade"))


def via_mail(ctx: Ctx) -> bool:
    return bool(ctx.data.get("via_mail"))


def editing(ctx: Ctx) -> bool:
    return bool(ctx.data.get("editing"))


def one_field(ctx: Ctx) -> bool:
    """One part of the address is being changed from the review: back to the review after it."""
    return bool(ctx.data.get("addr_edit"))


def address_doubtful(ctx: Ctx) -> bool:
    """The ZIP or postal code just typed doesn't seem to belong with the state, city or province."""
    return bool(ctx.data.get("addr_doubt"))


def abroad(ctx: Ctx) -> bool:
    return ctx.data.get("addr_where") == "abroad"


def is_card(ctx: Ctx) -> bool:
    return ctx.data.get("fin_kind") == "credit_card"


def address(ctx: Ctx) -> dict:
    return ctx.data.setdefault("address", {})


def refused_cards(ctx: Ctx) -> str:
    """The cards the financial check refuses (policy.financial), e.g. "American Express, debit
    cards and company cards"."""
    return refused_cards_of(ctx.policy.financial)


def refused_cards_of(policy) -> str:
    """:func:`refused_cards` for a ``policy.financial`` section, in the current language."""
    names = [_(CARD_NETWORKS[n]) if n in CARD_NETWORKS else n for n in policy.refused_card_networks]
    names += [
        _(REFUSED_KIND_NAMES[k]) if k in REFUSED_KIND_NAMES else _("{kind} cards").format(kind=k)
        for k in policy.refused_card_kinds
    ]
    return listed(names)

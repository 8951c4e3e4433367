"""The registration flow and what its steps share: the labels of the choices offered, the
stages shown by /status, and the conditions over the answers that the transitions table uses.

The steps themselves live with their phase (flows.registration_identity, flows.registration_checks,
flows.registration_account); flows.registration puts them in order.
"""

from __future__ import annotations

from flows.common import listed
from flows.core import Ctx, Flow

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
    "lighthouse": "🗼 Tower",  # the key stays for accounts that chose it; there is no lighthouse emoji
    "owl": "🦉 Owl",
    "sailboat": "⛵ Sailboat",
    "cactus": "🌵 Cactus",
    "guitar": "🎸 Guitar",
    "mountain": "🏔 Mountain",
    "bicycle": "🚲 Bicycle",
    "sunflower": "🌻 Sunflower",
}

#: refused card kinds, as a sentence names them
REFUSED_KIND_NAMES = {"debit": "debit cards", "corporate": "company cards"}
STAGES = ["Name and email", "Identity", "Financial account", "Mobile phone", "Sign-in details"]

HELP_DESK_CHOICE = ("helpdesk", "I can't get through online")


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
    """:func:`refused_cards` for a ``policy.financial`` section."""
    names = [CARD_NETWORKS.get(n, n) for n in policy.refused_card_networks]
    names += [REFUSED_KIND_NAMES.get(k, f"{k} cards") for k in policy.refused_card_kinds]
    return listed(names)

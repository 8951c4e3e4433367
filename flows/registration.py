"""First-time registration, in the order the process runs.

1. name and email, then the emailed confirmation code;
2. SSN, date of birth, filing status and the address from the last-filed return, then one
   identity check of all of them against the records;
3. the financial account (kind first, so refused cards are turned away before any digits);
4. the mobile phone and the texted activation code;
5. username, password, site phrase and site image.

The steps of phases 1-2 are in flows.registration_identity, 3-4 in flows.registration_checks and
5 in flows.registration_account; this module orders them with the transitions table.
"""

from __future__ import annotations

# the step modules declare their steps on the flow when imported, in reading order
from flows import registration_identity, registration_checks, registration_account  # noqa: F401
from flows.registration_account import create_account, finish, mail_summary, summary  # noqa: F401
from flows.registration_base import (  # noqa: F401
    ACCOUNT_LABELS,
    CARD_KINDS,
    CARD_NETWORKS,
    FILING_STATUS_LABELS,
    HELP_DESK_CHOICE,
    SITE_IMAGES,
    STAGES,
    abroad,
    address_doubtful,
    editing,
    flow,
    is_card,
    one_field,
    upgrading,
    via_mail,
)
from flows.registration_identity import mismatch_explanation  # noqa: F401

__all__ = [
    "ACCOUNT_LABELS",
    "CARD_KINDS",
    "CARD_NETWORKS",
    "FILING_STATUS_LABELS",
    "HELP_DESK_CHOICE",
    "SITE_IMAGES",
    "STAGES",
    "create_account",
    "finish",
    "flow",
    "mail_summary",
    "mismatch_explanation",
    "registration_account",
    "registration_checks",
    "registration_identity",
    "summary",
    "via_mail",
]


# =============================================================================================
# The transitions table: where each answer leads
# =============================================================================================

#: the steps that read one part of the address, and those a doubtful ZIP or postal code can be
#: fixed at (it is caught after them and after the country)
ADDRESS_STEPS = ["line1", "line2", "city", "state", "zip", "province", "postal_code", "country"]
DOUBT_SOURCES = ["city", "state", "zip", "province", "postal_code"]

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
        # a ZIP or postal code that doesn't seem to belong: fix it or keep it, before any check
        {"trigger": "next", "source": [*DOUBT_SOURCES, "country"], "dest": "addr_doubt", "conditions": address_doubtful},
        # one part of the address changed from the review: straight back to it
        {"trigger": "next", "source": ADDRESS_STEPS, "dest": "review", "conditions": one_field},
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
        ["edit_address", "review", "addr_field"],
        ["whole", "addr_field", "addr_where"],
        *[[f"to_{part}", "addr_field", part] for part in ADDRESS_STEPS],
        *[[f"to_{part}", "addr_doubt", part] for part in DOUBT_SOURCES],
        ["next", "addr_doubt", "review"],
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

flow.exits(
    [
        ("help desk", "exception", "handoff", ["review", "fin_digits", "freeze_hold"]),
        ("help desk", "exception", "not_eligible", ["review", "fin_digits", "freeze_hold"]),
        ("help desk", "exception", "phone_help", ["review"]),
        ("already registered", "home", "registered", ["review"]),
        ("phone changed", "home", "signed_in", ["phone_code"]),
        ("phone changed", "home", "registered", ["phone_code"]),
        ("registered", "home", "registered", ["username", "site_image", "secret_answer"]),
        ("by mail", "home", "awaiting_letter", ["username", "site_image", "secret_answer"]),
    ]
)
flow.validate()

"""Wording a new user tripped over: counts with their units, labels inside sentences, the site
images' names and countries by name."""

from __future__ import annotations

from domain.addresses import country_name
from flows.common import lower_first, plural
from flows.registration_base import ACCOUNT_LABELS, SITE_IMAGES


def test_one_of_a_unit_is_singular():
    assert plural(1, "minute") == "1 minute"
    assert plural(15, "minute") == "15 minutes"
    assert plural(1.5, "hour") == "1.5 hours"
    assert plural(30, "day") == "30 days"


def test_a_label_inside_a_sentence_keeps_its_abbreviations():
    assert lower_first("USPS short forms (St, Apt)") == "USPS short forms (St, Apt)"
    assert lower_first(ACCOUNT_LABELS["heloc"]) == "home equity line of credit (HELOC)"
    assert lower_first("Credit card") == "credit card"


def test_no_site_image_is_named_for_something_it_does_not_show():
    labels = SITE_IMAGES
    assert labels["lighthouse"] == "🗼 Tower"
    assert all("Lighthouse" not in label for label in labels.values())


def test_a_country_is_shown_by_its_name():
    assert country_name("CA") == "Canada"
    assert country_name("GB") in ("United Kingdom", "The United Kingdom")


def test_every_explanation_is_declared_at_import():
    """A "Why?" button pressed in a worker that has not given that explanation since it started
    (a restart, another worker) still shows it: every key ``explain`` uses is declared on import."""
    import re
    from pathlib import Path

    import flows.router  # noqa: F401 - imports every flow
    from flows.core import MORE

    used = set()
    for path in (Path(__file__).resolve().parents[2] / "flows").glob("*.py"):
        used |= set(re.findall(r'explain\(\s*ctx,\s*"(\w+)"', path.read_text(encoding="utf-8")))
    assert used >= {"credit_freeze", "review", "identity_mismatch"}
    assert used <= set(MORE), used - set(MORE)

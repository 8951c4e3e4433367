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

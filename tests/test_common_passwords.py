"""Common passwords are refused, strong passphrases are not.

The reference list is the first 1,000 passwords of 8+ characters in a well-known public list
(Django's common-passwords list, drawn from a 20,000-password breach corpus), kept in tests/data so
the test needs no network."""

from __future__ import annotations

from pathlib import Path

import pytest

from domain import validators as v

TOP = [
    line for line in (Path(__file__).parent / "data" / "django_top1000_8plus.txt").read_text(encoding="utf-8").splitlines()
    if line and not line.startswith("#")
]


def refused(password: str) -> bool:
    try:
        v.password(password, username="someone1")
    except v.Invalid:
        return True
    return False


def test_the_reference_list_is_what_it_says():
    assert len(TOP) == 1000 and all(len(p) >= 8 for p in TOP)


def test_at_least_99_percent_of_the_top_1000_are_refused():
    passed = [p for p in TOP if not refused(p)]
    assert len(passed) <= 10, passed[:20]


@pytest.mark.parametrize("common", ["michelle", "jennifer", "basketball", "1g2w3e4r", "12341234", "Basketball2024!"])
def test_names_words_and_keyboard_walks_are_refused(common):
    assert refused(common)


@pytest.mark.parametrize(
    "strong",
    [
        "copper kettle mountain drum",
        "granite pelican orbit tulip",
        "saffron glacier whistle nine",
        "michelle walks the quiet harbor",
        "Tr0mb0ne-Paprika-Quasar",
        "basketball under a violet moon",
    ],
)
def test_strong_passphrases_are_accepted(strong):
    assert not refused(strong)

"""The domain's sentences are marked for translation without changing the English: the layout
labels of the data file are all in the catalog, Babel formats dates as strftime did, and answers
typed in Spanish (country names, dates, yes/no) are read."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from domain import address_layouts, hires, policies, validators
from domain.places import country


def test_every_layout_label_of_the_data_file_is_marked_for_translation():
    labels = address_layouts.conventions().get("labels") or {}
    assert sorted(labels.values()) == sorted(address_layouts.LABELS)


@pytest.mark.parametrize("zone", ["America/New_York", "America/Chicago", "Europe/Berlin", "Asia/Kolkata", "Pacific/Guam"])
def test_local_times_read_as_before(zone):
    start = datetime(2027, 1, 1, 0, 7, tzinfo=timezone.utc)
    for hours in range(0, 365 * 24, 97):
        here = (start + timedelta(hours=hours)).astimezone(ZoneInfo(zone))
        assert policies.format_local(here, zone) == here.strftime("%a, %b %-d at %-I:%M %p %Z")
        assert hires.local(here, zone) == f"{here:%b} {here.day}, {here:%-I:%M %p %Z}"
        assert hires.local(here, zone, with_time=False) == f"{here:%b} {here.day}, {here.year}"


def test_help_desk_hours_read_as_before():
    class Desk:
        opens, closes = "07:00", "19:30"

    assert policies.format_hours(Desk) == (
        "7 a.m. to 7:30 p.m. Eastern time, Monday to Friday except federal holidays"
    )


def test_answers_typed_in_spanish_are_read():
    assert country("Alemania") == "DE"
    assert country("Canadá") == "CA"
    assert country("Estados Unidos") == "US"
    today = date(2027, 1, 1)
    assert validators.date_of_birth("3 de marzo de 1980", today=today) == date(1980, 3, 3)
    assert validators.date_of_birth("15 de setiembre del 1975", today=today) == date(1975, 9, 15)
    assert validators.yes_no("claro") is True
    assert validators.yes_no("no gracias") is False

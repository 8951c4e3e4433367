"""The help desk's hours are Eastern time, whatever the server's zone: open at 6:30 p.m. New York
time (23:30 UTC in winter, when a UTC reading would say closed), closed from the 7:00 p.m. instant,
and across the daylight-saving change."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from types import SimpleNamespace
from zoneinfo import ZoneInfo

import pytest

from domain.policies import help_desk_status

NY = ZoneInfo("America/New_York")
POLICY = SimpleNamespace(timezone="America/New_York", opens="07:30", closes="19:00")


def at(*args) -> datetime:
    """A New York wall-clock time, handed over in UTC as the bot's clock gives it."""
    return datetime(*args, tzinfo=NY).astimezone(timezone.utc)


@pytest.mark.parametrize("day", [(2026, 1, 14), (2026, 7, 15)], ids=["winter", "summer"])
def test_open_at_half_past_six_in_the_evening(day):
    status = help_desk_status(at(*day, 18, 30), POLICY)
    assert status.open_now
    assert status.closes_at == datetime(*day, 19, 0, tzinfo=NY)


@pytest.mark.parametrize("day", [(2026, 1, 14), (2026, 7, 15)], ids=["winter", "summer"])
def test_closed_from_the_seven_oclock_instant(day):
    closing = at(*day, 19, 0)
    assert help_desk_status(closing - timedelta(microseconds=1), POLICY).open_now
    after = help_desk_status(closing, POLICY)
    assert not after.open_now
    assert after.opens_at == datetime(2026, day[1], day[2] + 1, 7, 30, tzinfo=NY)


def test_opens_at_half_past_seven_new_york_time_not_utc():
    assert not help_desk_status(at(2026, 1, 14, 7, 29), POLICY).open_now
    assert help_desk_status(at(2026, 1, 14, 7, 30), POLICY).open_now
    # 07:30 UTC is 2:30 a.m. in New York: closed
    assert not help_desk_status(datetime(2026, 1, 14, 7, 30, tzinfo=timezone.utc), POLICY).open_now


def test_friday_evening_points_to_monday_morning():
    friday_late = help_desk_status(at(2026, 1, 16, 19, 0), POLICY)
    assert not friday_late.open_now
    assert friday_late.opens_at == datetime(2026, 1, 20, 7, 30, tzinfo=NY)  # Monday Jan 19 is MLK Day

"""Rules computed from configuration: business days, help-desk hours, local times.

Every number comes from ``config.yaml`` (``policy.*``); nothing here hard-codes a limit.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

import holidays
import us
import zoneinfo

from domain.i18n import _, format_datetime, format_time


@lru_cache(maxsize=16)
def _us_holidays(year: int) -> holidays.HolidayBase:
    return holidays.US(years=year)


def is_business_day(day: date) -> bool:
    """Monday to Friday, and not a U.S. federal holiday (observed dates included)."""
    return day.weekday() < 5 and day not in _us_holidays(day.year)


def add_business_days(start: date, count: int) -> date:
    """The date ``count`` business days after ``start`` (``start`` itself not counted)."""
    day = start
    added = 0
    while added < count:
        day += timedelta(days=1)
        if is_business_day(day):
            added += 1
    return day


def _clock(text: str) -> time:
    hours, minutes = text.split(":")
    return time(int(hours), int(minutes))


@dataclass(frozen=True)
class DeskStatus:
    open_now: bool
    #: when it next opens (None while open)
    opens_at: datetime | None
    #: when it closes today (None while closed)
    closes_at: datetime | None


def help_desk_status(now: datetime, policy) -> DeskStatus:
    """Is the help desk open at ``now``; if not, when does it open next."""
    zone = ZoneInfo(policy.timezone)
    local = now.astimezone(zone)
    opens, closes = _clock(policy.opens), _clock(policy.closes)
    today = local.date()
    if is_business_day(today):
        start = datetime.combine(today, opens, zone)
        end = datetime.combine(today, closes, zone)
        if start <= local < end:
            return DeskStatus(True, None, end)
        if local < start:
            return DeskStatus(False, start, None)
    day = today + timedelta(days=1)
    while not is_business_day(day):
        day += timedelta(days=1)
    return DeskStatus(False, datetime.combine(day, opens, zone), None)


def format_local(moment: datetime, zone_name: str = "America/New_York") -> str:
    """'Tue, Mar 3 at 7:30 AM EST' in the given zone, in the current language. The zone is named
    by its own abbreviation (EST, CET, IST), the same in every language."""
    local = moment.astimezone(ZoneInfo(zone_name))
    # a Babel pattern; '{zone}' (quoted: literal text for Babel) is filled in after
    pattern = _("EEE, MMM d 'at' h:mm a '{zone}'")
    return format_datetime(local, pattern).format(zone=local.tzname() or "")


def format_hours(policy) -> str:
    """'8 a.m. to 5:30 p.m. Eastern time, Monday to Friday except federal holidays'."""

    def twelve(text: str) -> str:
        t = _clock(text)
        # Babel patterns, one per case, so a language can write the hours its own way (17:30)
        if t.hour < 12:
            pattern = _("h:mm 'a.m.'") if t.minute else _("h 'a.m.'")
        else:
            pattern = _("h:mm 'p.m.'") if t.minute else _("h 'p.m.'")
        return format_time(t, pattern)

    return _("{opens} to {closes} Eastern time, Monday to Friday except federal holidays").format(
        opens=twelve(policy.opens), closes=twelve(policy.closes)
    )


@lru_cache(maxsize=1)
def _country_zones() -> dict[str, str]:
    """First listed zone of each country, from the system's zone1970.tab/zone.tab."""
    zones: dict[str, str] = {}
    for base in zoneinfo.TZPATH:
        for name in ("zone1970.tab", "zone.tab"):
            try:
                with open(f"{base}/{name}", encoding="utf-8") as fh:
                    for line in fh:
                        if line.startswith("#") or not line.strip():
                            continue
                        codes, _coords, zone = line.split("\t")[:3]
                        for code in codes.split(","):
                            zones.setdefault(code, zone.strip())
            except OSError:
                continue
        if zones:
            break
    return zones


@lru_cache(maxsize=1)
def _zone_names() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones())


def zone_for_address(address: dict | None, default: str = "America/New_York") -> str:
    """A likely time zone for a person from the address they gave (a best guess, never stored).

    Abroad, the zone follows the province or state where the country has several (from the
    layout data, domain/data/address_layouts.yaml; a Canadian postal code's first letter stands
    in for a province left out), then the country's own zone there, then the system's first zone
    of the country."""
    address = address or {}
    country = (address.get("country") or "").upper()
    try:
        if country in ("", "US"):
            state = us.states.lookup(address.get("state") or "")
            if state and state.time_zones:
                return state.time_zones[0]
            return default
        from domain.address_layouts import province_of_postal_code, zone_of_province

        province = str(address.get("state") or "")
        if not province:
            provinces = province_of_postal_code(country, str(address.get("postal_code") or "")) or []
            province = str(provinces[0]) if len(provinces) == 1 else ""
        zone = zone_of_province(country, province)
        if zone and zone in _zone_names():
            return zone
        return _country_zones().get(country, default)
    except Exception:  # noqa: BLE001 - a guess; fall back quietly
        return default

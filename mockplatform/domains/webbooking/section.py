"""Web booking's section of the fixtures file: 1177's own id, the booking systems (where they answer,
their units connected to web booking, whether their index updates become inbox messages) and the
bookings and invitations the example booking system starts with.

    [webbooking]
    hsa_id_1177 = "SE5565594230-1177"    # 1177 calling crm:scheduling, and subscribing to the index

    [[webbooking.booking_systems]]
    hsa_id = "SE2321000016-BOKA"         # its consumer id and the sourceSystem of its index posts
    name = "Exempel Tidbok"
    address = "http://127.0.0.1:8089/scheduling"
    units = ["SE2321000016-A1B2"]        # care units connected to web booking
    activated_for_inbox = true                # 1177 is activated for its invitations and bookings

    [[webbooking.bookings]]              # for the example booking system (and the probe's citizens)
    booking_id = "B-1001"
    citizen = "191212121212"
    unit = "SE2321000016-A1B2"
    in_days = 7                          # the day, counted from today; left out: an open invitation
    time = "09:30"
    minutes = 30
    invitation = false
    purpose = "Årlig kontroll"
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ...errors import ConfigError
from ...fixtures import Fixtures
from ...personnummer import problems
from .names import DOMAIN_NAME

_TIME = re.compile(r"([01]\d|2[0-3]):[0-5]\d")


@dataclass(frozen=True)
class BookingSystem:
    hsa_id: str
    name: str = ""
    address: str = ""
    units: tuple[str, ...] = ()
    activated_for_inbox: bool = False


@dataclass(frozen=True)
class SeedBooking:
    """A booking or an invitation that the example booking system holds at its start."""

    booking_id: str
    citizen: str
    unit: str
    in_days: int | None = None  # None: an open invitation, without a time
    time: str = "09:00"
    minutes: int = 30
    invitation: bool = False
    purpose: str = ""
    time_type_id: str = "T1"
    time_type_name: str = "Mottagningsbesök"
    care_type_id: str = "C1"
    care_type_name: str = "Läkarbesök"
    cancel_allowed: bool = True
    rebook_allowed: bool = True
    message_allowed: bool = False


@dataclass(frozen=True)
class WebBookingFixtures:
    hsa_id_1177: str
    booking_systems: tuple[BookingSystem, ...] = ()
    bookings: tuple[SeedBooking, ...] = ()

    def system_of_unit(self, unit: str) -> BookingSystem | None:
        return next((s for s in self.booking_systems if unit.lower() in (u.lower() for u in s.units)), None)

    def system(self, hsa_id: str) -> BookingSystem | None:
        return next((s for s in self.booking_systems if s.hsa_id.lower() == hsa_id.strip().lower()), None)

    @property
    def units(self) -> tuple[str, ...]:
        """Every unit connected to web booking."""
        return tuple(u for s in self.booking_systems for u in s.units)

    def to_json(self) -> dict[str, Any]:
        return {"webbooking": {
            "hsa_id_1177": self.hsa_id_1177,
            "booking_systems": [{"hsa_id": s.hsa_id, "name": s.name, "address": s.address, "units": list(s.units),
                                 "activated_for_inbox": s.activated_for_inbox} for s in self.booking_systems],
            "bookings": [dict(b.__dict__) for b in self.bookings]}}


def _text(row: dict, key: str, path: Path, where: str, default: str | None = None) -> str:
    value = row.get(key, default)
    if not isinstance(value, str) or (default is None and not value.strip()):
        raise ConfigError(f"{path}: {where}: '{key}' is required (a string)")
    return value.strip()


def read_section(data: dict[str, Any], path: Path) -> WebBookingFixtures:
    section = data.get(DOMAIN_NAME, {})
    if not isinstance(section, dict):
        raise ConfigError(f"{path}: [{DOMAIN_NAME}] must be a table")
    systems = []
    for i, row in enumerate(section.get("booking_systems", []), 1):
        where = f"[[{DOMAIN_NAME}.booking_systems]] #{i}"
        if not isinstance(row, dict):
            raise ConfigError(f"{path}: {where} must be a table")
        units = row.get("units", [])
        if not isinstance(units, list) or not all(isinstance(u, str) and u.strip() for u in units):
            raise ConfigError(f"{path}: {where}: 'units' must be a list of HSA-ids")
        systems.append(BookingSystem(_text(row, "hsa_id", path, where), _text(row, "name", path, where, ""),
                                     _text(row, "address", path, where, ""), tuple(u.strip() for u in units),
                                     bool(row.get("activated_for_inbox", False))))
    bookings = []
    for i, row in enumerate(section.get("bookings", []), 1):
        where = f"[[{DOMAIN_NAME}.bookings]] #{i}"
        if not isinstance(row, dict):
            raise ConfigError(f"{path}: {where} must be a table")
        citizen = _text(row, "citizen", path, where)
        if problems(citizen):
            raise ConfigError(f"{path}: {where}: citizen {citizen}: {'; '.join(problems(citizen))}")
        in_days = row.get("in_days")
        if in_days is not None and (isinstance(in_days, bool) or not isinstance(in_days, int) or in_days < 0):
            raise ConfigError(f"{path}: {where}: 'in_days' must be a whole number of days from today (0 or more)")
        time = _text(row, "time", path, where, "09:00")
        if not _TIME.fullmatch(time):
            raise ConfigError(f"{path}: {where}: 'time' must be HH:MM, not '{time}'")
        minutes = row.get("minutes", 30)
        if isinstance(minutes, bool) or not isinstance(minutes, int) or not 1 <= minutes <= 24 * 60:
            raise ConfigError(f"{path}: {where}: 'minutes' must be a whole number from 1 to 1440")
        invitation = bool(row.get("invitation", False))
        if in_days is None and not invitation:
            raise ConfigError(f"{path}: {where}: a booking needs 'in_days' (only an invitation may be open)")
        bookings.append(SeedBooking(
            _text(row, "booking_id", path, where), citizen, _text(row, "unit", path, where), in_days, time, minutes,
            invitation, _text(row, "purpose", path, where, ""),
            _text(row, "time_type_id", path, where, "T1"),
            _text(row, "time_type_name", path, where, "Mottagningsbesök"),
            _text(row, "care_type_id", path, where, "C1"), _text(row, "care_type_name", path, where, "Läkarbesök"),
            bool(row.get("cancel_allowed", True)), bool(row.get("rebook_allowed", True)),
            bool(row.get("message_allowed", False))))
    return WebBookingFixtures(_text(section, "hsa_id_1177", path, f"[{DOMAIN_NAME}]", "SE5565594230-1177"),
                              tuple(systems), tuple(bookings))


def web_booking(fixtures: Fixtures) -> WebBookingFixtures:
    return fixtures.section(DOMAIN_NAME)

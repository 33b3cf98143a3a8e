"""The web booking probe: 1177 against a booking system, through the platform.

For each unit and test citizen: GetSubjectOfCareSchedule and GetBookingDetails (mandatory for every
booking system), of the bookings it lists and of the open invitations the index knows; GetAvailableDates
and GetAvailableTimeslots; then, on the first test citizen, a booking made (MakeBooking, when offered),
rebooked (UpdateBooking, when its flags allow) and cancelled (CancelBooking, when allowed), and
GetAllHealthcareFacilities when rebooking is offered. Each answer is judged afterwards by the
``web-booking`` profile, which also checks that the index got the Update calls each change requires;
the probe waits ``wait_s`` for them after its last change.
"""

from __future__ import annotations

import time
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from ...errors import ConfigError
from ...localtime import rivta_ts, zone
from ...probing import FAILED, NOT_OFFERED, NOT_RUN, PASSED, ProbeOptions, ProbeRun
from ...tak import RouteOutcome
from ..engagementindex.store import IndexStore
from .client import Answered, Scheduling, indexed_invitations
from .messages import Timeslot
from .names import MANDATORY, responder
from .section import web_booking

if TYPE_CHECKING:
    from ...app import Application

DAYS_AHEAD = 14


def _outcome(answered: Answered) -> tuple[str, str]:
    if answered.ok:
        result = answered.result
        if result is not None and result.code not in ("OK", "INFO"):
            return FAILED, f"resultCode {result.code}: {result.text or ''}".strip()
        return PASSED, ""
    if answered.fault:
        return FAILED, answered.fault
    return FAILED, f"HTTP {answered.outcome.status} without a SOAP answer ({len(answered.outcome.body)} bytes)"


class _Probe:
    def __init__(self, app: Application, options: ProbeOptions) -> None:
        self.app = app
        self.options = options
        self.client = Scheduling(app)
        self.run = ProbeRun()
        self.section = web_booking(app.fixtures)
        self.no_free = ""  # why the last look for free times found none

    def step(self, what: str, unit: str, answered: Answered) -> Answered:
        outcome, note = _outcome(answered)
        self.run.add(what, unit, outcome, note, answered.outcome.exchange_id)
        self.options.say(f"  {what} at {unit}: {outcome}{': ' + note if note else ''}")
        return answered

    def units(self) -> tuple[str, ...]:
        return self.options.units or self.section.units

    def citizens(self) -> tuple[str, ...]:
        if self.options.citizens:
            return self.options.citizens
        seeded = tuple(dict.fromkeys(b.citizen for b in self.section.bookings))
        return seeded or tuple(c.subject_of_care_id for c in self.app.fixtures.citizens[:1])

    def open_invitations(self, unit: str, citizen: str) -> list[str]:
        return [booking_id for at, booking_id in indexed_invitations(self.app, citizen) if at.lower() == unit.lower()]

    def await_index(self, units: tuple[str, ...]) -> None:
        """Open invitations are found only through the index: when it holds nothing for these units yet (the
        booking system may be sending its reload as the probe starts), wait for it up to ``wait_s``."""
        wanted = {u.lower() for u in units}
        store = IndexStore(self.app.journal)

        def indexed() -> bool:
            return any(p["logicalAddress"].lower() in wanted for p in store.posts())

        deadline = time.monotonic() + self.options.wait_s
        if not indexed():
            self.options.say(f"the index holds no post for {', '.join(units)}: waiting up to "
                             f"{self.options.wait_s:g} s for the booking system's index updates")
        while not indexed() and time.monotonic() < deadline:
            time.sleep(0.2)
        if not indexed():
            self.run.add("(engagement index)", ", ".join(units), NOT_RUN,
                         "the index holds no post for these units, so open invitations could not be found "
                         "(they are not in GetSubjectOfCareSchedule); send the index your bookings first")

    def free_times(self, unit: str, citizen: str, booking_id: str | None = None,
                   time_type: str | None = None) -> list[Timeslot]:
        """The free times to come in the next DAYS_AHEAD days; when there is none, ``self.no_free`` says why."""
        self.no_free = ""
        first = datetime.now(zone()).date()  # the Swedish day, whatever the machine's zone
        last = first + timedelta(days=DAYS_AHEAD - 1)
        dates = self.step("GetAvailableDates" + (f" {booking_id}" if booking_id else ""), unit,
                          self.client.available_dates(unit, citizen, first.strftime("%Y%m%d"),
                                                      last.strftime("%Y%m%d"), booking_id, time_type))
        days = sorted({d["date"] for d in dates.dates if d.get("date")})
        if not days:
            self.no_free = (f"GetAvailableDates failed ({_outcome(dates)[1]})" if not dates.ok else
                            f"GetAvailableDates named no free day in the coming {DAYS_AHEAD} days")
            return []
        slots = self.step("GetAvailableTimeslots" + (f" {booking_id}" if booking_id else ""), unit,
                          self.client.available_timeslots(unit, citizen, days[0], days[-1], booking_id, time_type))
        now = rivta_ts()
        found = [s for s in slots.timeslots if s.start and s.start > now]
        if not found:
            self.no_free = (f"GetAvailableTimeslots failed ({_outcome(slots)[1]})" if not slots.ok else
                            "GetAvailableTimeslots offered no free time that has not passed")
        return found

    def check_routes(self, units: tuple[str, ...]) -> None:
        """Every unit probed is routed in the TAK: a call to one that is not never reaches the booking system (the
        platform answers VP004 itself), so there would be nothing to judge."""
        day = datetime.now(zone()).date()
        contract = responder(MANDATORY[0])
        unrouted = [u for u in units if self.app.tak.route(contract, u, day).outcome is not RouteOutcome.FOUND]
        if unrouted:
            given = "--unit " if self.options.units else "unit "
            raise ConfigError(
                f"{given}{', '.join(unrouted)}: the TAK ({self.app.tak.source or 'built in'}) has no route for "
                f"{MANDATORY[0]} (crm:scheduling) at {'this logical address' if len(unrouted) == 1 else 'these'}, "
                "so every call would be answered VP004 by the platform and never reach your booking system; "
                "give --tak with a TAK that routes the crm:scheduling contracts at your units to your booking "
                "system, or --unit with a unit it routes")

    def probe(self) -> ProbeRun:
        say = self.options.say
        units, citizens = self.units(), self.citizens()
        if not units:
            self.run.add("(no unit)", "", NOT_RUN, "no unit connected to web booking in the fixtures, and no --unit")
            return self.run
        self.check_routes(units)
        systems = {s.hsa_id if s is not None else None for s in map(self.section.system_of_unit, units)}
        if len(systems) == 1:  # one booking system of the fixtures holds every unit probed: the system under test
            self.run.system = systems.pop()
        self.await_index(units)
        details: dict[tuple[str, str, str], Timeslot] = {}
        for unit in units:
            for citizen in citizens:
                say(f"{unit}, citizen {citizen}:")
                listed = self.step("GetSubjectOfCareSchedule", unit, self.client.schedule(unit, citizen))
                ids = [s.booking_id for s in listed.timeslots if s.booking_id]
                for booking_id in dict.fromkeys(ids + self.open_invitations(unit, citizen)):
                    answered = self.step(f"GetBookingDetails {booking_id}", unit,
                                         self.client.details(unit, booking_id, citizen))
                    if answered.timeslots:
                        details[(unit, citizen, booking_id)] = answered.timeslots[0]
        self.changes(units[0], citizens[0], details)
        say(f"waiting {self.options.wait_s:g} s for the booking system's index updates")
        time.sleep(self.options.wait_s)
        self.app.outbox.wait_idle(self.options.wait_s + 10)
        return self.run

    def changes(self, unit: str, citizen: str, known: dict[tuple[str, str, str], Timeslot]) -> None:
        """A booking made, rebooked and cancelled on the test citizen, as far as the system offers it."""
        say = self.options.say
        say(f"changes at {unit} for {citizen}:")
        free = self.free_times(unit, citizen)
        name = next((c.name for c in self.app.fixtures.citizens if c.subject_of_care_id == citizen), "")
        name = name or "Test Testsson"
        first_name, _, last_name = name.partition(" ")
        booking_id = None
        slot = None
        if free:
            slot = free[0]
            made = self.client.make_booking(unit, citizen, slot, first_name, last_name or first_name)
            self.step("MakeBooking", unit, made)
            if made.ok and made.result is not None and made.result.code in ("OK", "INFO"):
                booking_id = made.result.booking_id
        else:
            self.run.add("MakeBooking", unit, NOT_RUN, f"no free time to book: {self.no_free}")
        if booking_id is None:  # fall back on a booking the citizen already has that allows changes
            candidate = next(((b, s) for (u, c, b), s in known.items() if u == unit and c == citizen and s.start
                              and (s.allowed("rebooking_allowed") or s.allowed("cancel_booking_allowed"))), None)
            if candidate is None:
                self.run.add("UpdateBooking", unit, NOT_RUN, "no booking of the test citizen to change")
                self.run.add("CancelBooking", unit, NOT_RUN, "no booking of the test citizen to cancel")
                return
            booking_id, slot = candidate
        details = self.step(f"GetBookingDetails {booking_id}", unit, self.client.details(unit, booking_id, citizen))
        current = details.timeslots[0] if details.timeslots else slot
        if current.allowed("rebooking_allowed"):
            self.step("GetAllHealthcareFacilities", unit, self.client.facilities(unit, citizen, booking_id))
            other = [s for s in self.free_times(unit, citizen, booking_id, current.time_type_id)
                     if s.start != current.start]
            if other:
                self.step(f"UpdateBooking {booking_id}", unit,
                          self.client.update_booking(unit, citizen, other[0], booking_id))
                self.step(f"GetBookingDetails {booking_id}", unit, self.client.details(unit, booking_id, citizen))
            else:
                why = self.no_free if self.no_free else "the only free time offered is the booking's own"
                self.run.add(f"UpdateBooking {booking_id}", unit, NOT_RUN, f"no other free time to rebook to: {why}")
        else:
            self.run.add(f"UpdateBooking {booking_id}", unit, NOT_OFFERED, "rebooking_allowed is not true")
        if current.allowed("cancel_booking_allowed"):
            self.step(f"CancelBooking {booking_id}", unit, self.client.cancel(unit, booking_id, citizen))
        else:
            self.run.add(f"CancelBooking {booking_id}", unit, NOT_OFFERED, "cancel_booking_allowed is not true")


def probe(app: Application, options: ProbeOptions) -> ProbeRun:
    return _Probe(app, options).probe()

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

from ...localtime import rivta_ts, zone
from ...probing import FAILED, NOT_OFFERED, NOT_RUN, PASSED, ProbeOptions, ProbeRun
from ..engagementindex.store import IndexStore
from .client import Answered, Scheduling, indexed_invitations
from .messages import Timeslot
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
    return FAILED, answered.fault or "no answer"


class _Probe:
    def __init__(self, app: Application, options: ProbeOptions) -> None:
        self.app = app
        self.options = options
        self.client = Scheduling(app)
        self.run = ProbeRun()
        self.section = web_booking(app.fixtures)

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
        first = datetime.now(zone()).date()  # the Swedish day, whatever the machine's zone
        last = first + timedelta(days=DAYS_AHEAD - 1)
        dates = self.step("GetAvailableDates" + (f" {booking_id}" if booking_id else ""), unit,
                          self.client.available_dates(unit, citizen, first.strftime("%Y%m%d"),
                                                      last.strftime("%Y%m%d"), booking_id, time_type))
        days = sorted({d["date"] for d in dates.dates if d.get("date")})
        if not days:
            return []
        slots = self.step("GetAvailableTimeslots" + (f" {booking_id}" if booking_id else ""), unit,
                          self.client.available_timeslots(unit, citizen, days[0], days[-1], booking_id, time_type))
        now = rivta_ts()
        return [s for s in slots.timeslots if s.start and s.start > now]

    def probe(self) -> ProbeRun:
        say = self.options.say
        units, citizens = self.units(), self.citizens()
        if not units:
            self.run.add("(no unit)", "", NOT_RUN, "no unit connected to web booking in the fixtures, and no --unit")
            return self.run
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
            self.run.add("MakeBooking", unit, NOT_RUN, "no free time was offered (GetAvailableTimeslots)")
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
                self.run.add(f"UpdateBooking {booking_id}", unit, NOT_RUN, "no other free time to rebook to")
        else:
            self.run.add(f"UpdateBooking {booking_id}", unit, NOT_OFFERED, "rebooking_allowed is not true")
        if current.allowed("cancel_booking_allowed"):
            self.step(f"CancelBooking {booking_id}", unit, self.client.cancel(unit, booking_id, citizen))
        else:
            self.run.add(f"CancelBooking {booking_id}", unit, NOT_OFFERED, "cancel_booking_allowed is not true")


def probe(app: Application, options: ProbeOptions) -> ProbeRun:
    return _Probe(app, options).probe()

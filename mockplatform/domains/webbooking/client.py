"""1177 calling a booking system through the platform, as 1177 web booking does: every crm:scheduling
operation 1177 uses, with the Actor header of the citizen, routed by the unit's logical address.
The citizen pages, the subscriber and the probe all call through here, so their calls are journaled
(marked with the origin ``1177``) and judged like any other."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING
from xml.sax.saxutils import escape

from ...outbound import Outcome, call
from ..engagementindex.store import IndexStore
from .messages import (
    Result,
    Timeslot,
    actor_xml,
    child_text,
    children,
    field_xml,
    read_result,
    read_timeslot,
    request_xml,
    timeslot_xml,
)
from .names import INVITATION, SERVICE_DOMAIN, responder
from .section import web_booking

if TYPE_CHECKING:
    from ...app import Application

ORIGIN = "1177"


@dataclass
class Answered:
    """One call's outcome, and what was read from it: timeslots, a result, dates or facilities."""

    outcome: Outcome
    timeslots: list[Timeslot] = field(default_factory=list)
    result: Result | None = None
    dates: list[dict[str, str | None]] = field(default_factory=list)
    facilities: list[tuple[str, str | None]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """A SOAP answer that is not a fault (HTTP 200)."""
        answer = self.outcome.answer
        return self.outcome.status == 200 and answer is not None and not answer.is_fault

    @property
    def fault(self) -> str | None:
        answer = self.outcome.answer
        if answer is not None and answer.is_fault:
            return answer.fault_string or "SOAP fault"
        if self.outcome.status != 200:
            return f"HTTP {self.outcome.status}"
        return None


class Scheduling:
    """crm:scheduling calls as 1177 (``consumer``: 1177's HSA-id from the fixtures by default)."""

    def __init__(self, app: Application, consumer: str | None = None, origin: str = ORIGIN) -> None:
        self.app = app
        self.consumer = consumer or web_booking(app.fixtures).hsa_id_1177
        self.origin = origin

    def send(self, operation: str, unit: str, citizen: str, body: str) -> Outcome:
        return call(self.app, origin=self.origin, consumer=self.consumer, logical_address=unit,
                    contract=responder(operation), operation=operation, payload_xml=request_xml(operation, body),
                    extra_headers_xml=actor_xml(citizen))

    def _read(self, outcome: Outcome, list_name: str | None = None, result: bool = False) -> Answered:
        answered = Answered(outcome)
        answer = outcome.answer
        if not answered.ok or answer is None or answer.payload is None:
            return answered
        if list_name is not None:
            answered.timeslots = [read_timeslot(e) for e in children(answer.payload, list_name)]
        if result:
            answered.result = read_result(answer.payload)
        return answered

    def schedule(self, unit: str, citizen: str) -> Answered:
        """GetSubjectOfCareSchedule: the citizen's bookings (and timed invitations) at the unit."""
        body = field_xml("healthcare_facility", unit) + field_xml("subject_of_care", citizen)
        return self._read(self.send("GetSubjectOfCareSchedule", unit, citizen, body), "timeslotDetail")

    def details(self, unit: str, booking_id: str, citizen: str) -> Answered:
        body = field_xml("healthcare_facility", unit) + field_xml("bookingId", booking_id)
        return self._read(self.send("GetBookingDetails", unit, citizen, body), "timeslotDetail")

    def cancel(self, unit: str, booking_id: str, citizen: str, message: str | None = None) -> Answered:
        body = (field_xml("healthcare_facility", unit) + field_xml("bookingId", booking_id)
                + field_xml("message", message))
        return self._read(self.send("CancelBooking", unit, citizen, body), result=True)

    def _availability(self, operation: str, unit: str, citizen: str, first_day: str, last_day: str,
                      booking_id: str | None, time_type_id: str | None) -> str:
        ext = f"urn:riv:crm:scheduling:{operation}Responder:1.1"
        return (field_xml("healthcare_facility", unit) + field_xml("bookingId", booking_id)
                + field_xml("startDateInclusive", first_day) + field_xml("endDateInclusive", last_day)
                + field_xml("timeTypeID", time_type_id)
                + f'<x:subject_of_care xmlns:x="{ext}">{citizen}</x:subject_of_care>')

    def available_dates(self, unit: str, citizen: str, first_day: str, last_day: str, booking_id: str | None = None,
                        time_type_id: str | None = None) -> Answered:
        """GetAvailableDates: the days with free times (``first_day``/``last_day`` as YYYYMMDD)."""
        body = self._availability("GetAvailableDates", unit, citizen, first_day, last_day, booking_id, time_type_id)
        answered = self._read(self.send("GetAvailableDates", unit, citizen, body))
        if answered.ok and answered.outcome.answer.payload is not None:
            answered.dates = [{name: child_text(e, name) for name in ("date", "healthcare_facility", "timeTypeID",
                                                                      "performer")}
                              for e in children(answered.outcome.answer.payload, "performerAvailabilityByDate")]
        return answered

    def available_timeslots(self, unit: str, citizen: str, first_day: str, last_day: str,
                            booking_id: str | None = None, time_type_id: str | None = None) -> Answered:
        body = self._availability("GetAvailableTimeslots", unit, citizen, first_day, last_day, booking_id,
                                  time_type_id)
        return self._read(self.send("GetAvailableTimeslots", unit, citizen, body), "timeslotDetail")

    def make_booking(self, unit: str, citizen: str, slot: Timeslot, first_name: str, last_name: str,
                     booking_id: str | None = None) -> Answered:
        """MakeBooking of a free time (``booking_id``: the open invitation booked from, if any)."""
        wanted = Timeslot(start=slot.start, end=slot.end, healthcare_facility=slot.healthcare_facility or unit,
                          performer=slot.performer, booking_id=booking_id, subject_of_care=citizen,
                          resource_id=slot.resource_id, time_type_id=slot.time_type_id, care_type_id=slot.care_type_id)
        body = (field_xml("healthcare_facility_med", unit)
                + f"<requestedTimeslot>{timeslot_xml(wanted)}</requestedTimeslot>"
                + f"<subject_of_care_info><ext:firstName>{escape(first_name)}</ext:firstName>"
                  f"<ext:lastName>{escape(last_name)}</ext:lastName></subject_of_care_info>")
        return self._read(self.send("MakeBooking", unit, citizen, body), result=True)

    def update_booking(self, unit: str, citizen: str, slot: Timeslot, booking_id: str) -> Answered:
        """UpdateBooking: move the booking to the free time ``slot``."""
        wanted = Timeslot(start=slot.start, end=slot.end, healthcare_facility=slot.healthcare_facility or unit,
                          performer=slot.performer, booking_id=booking_id, subject_of_care=citizen,
                          resource_id=slot.resource_id, time_type_id=slot.time_type_id, care_type_id=slot.care_type_id)
        body = f"<requestedTimeslot>{timeslot_xml(wanted)}</requestedTimeslot>"
        return self._read(self.send("UpdateBooking", unit, citizen, body), result=True)

    def facilities(self, unit: str, citizen: str, booking_id: str | None = None) -> Answered:
        body = (field_xml("healthcare_facility", unit) + field_xml("subject_of_care", citizen)
                + field_xml("bookingId", booking_id))
        answered = self._read(self.send("GetAllHealthcareFacilities", unit, citizen, body))
        if answered.ok and answered.outcome.answer.payload is not None:
            infos = children(answered.outcome.answer.payload, "healthcareFacilityInfos")
            answered.facilities = [(child_text(e, "healthcare_facility") or "",
                                    child_text(e, "healthcare_facility_name")) for e in infos]
        return answered


def indexed_invitations(app: Application, citizen: str) -> list[tuple[str, str]]:
    """(unit, bookingId) of the citizen's invitations that 1177 knows from the engagement index: open ones
    are not in GetSubjectOfCareSchedule, so the index is where 1177 finds them."""
    return [(p["logicalAddress"], p["businessObjectInstanceIdentifier"]) for p in IndexStore(app.journal).posts(citizen)
            if p["serviceDomain"] == SERVICE_DOMAIN and p["categorization"] == INVITATION]

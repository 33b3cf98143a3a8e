"""The inbox messages 1177 makes from web booking: an invitation or a booking confirmation (after an
index notification and GetBookingDetails), and the "avbokad" notice when the citizen cancels through
1177. They go into the 1177 inbox's store, tied to the exchange they came from."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..inbox1177.store import deliver
from .client import Answered
from .messages import Timeslot
from .names import INVITATION

if TYPE_CHECKING:
    from ...app import Application

INVITATION_HEADING = "Kallelse"
BOOKING_HEADING = "Bokningsbekräftelse"
CANCELLED_HEADING = "Avbokad tid"


def when(slot: Timeslot) -> str | None:
    """A TS start time as the citizen reads it (2026-12-10 kl. 09:30); None without a time."""
    start = (slot.start or "").strip()
    if len(start) != 14 or not start.isdigit():
        return None
    return f"{start[0:4]}-{start[4:6]}-{start[6:8]} kl. {start[8:10]}:{start[10:12]}"


def _text(slot: Timeslot, lead: str | None) -> str:
    """The message text: the purpose as the booking system wrote it when it is DocBook (1177 shows it as
    such), else plain text with the time and the place."""
    purpose = (slot.purpose or "").strip()
    if purpose.startswith("<"):
        return purpose
    lines = [line for line in (lead, purpose) if line]
    if when(slot):
        lines.append(f"Tid: {when(slot)}")
    place = slot.healthcare_facility_name or slot.healthcare_facility
    if place:
        lines.append(f"Mottagning: {place}")
    return "\n\n".join(lines)


def booking_message(app: Application, citizen: str, answered: Answered, categorization: str,
                    source_system: str) -> int | None:
    """An invitation or a booking confirmation from a GetBookingDetails answer; none when the inbox already
    holds the same (the index notifies again when a booking system reloads it unchanged)."""
    slot = answered.timeslots[0]
    invitation = categorization == INVITATION
    lead = None if invitation else "Du har bokat en tid."
    return deliver(app.journal, citizen, answered.outcome.exchange_id or 0, answered.outcome.correlation_id or "",
                   source_system, once=True, unit_id=slot.healthcare_facility,
                   unit_name=slot.healthcare_facility_name,
                   thread_id=slot.booking_id, description=INVITATION_HEADING if invitation else BOOKING_HEADING,
                   text=_text(slot, lead), source_system=source_system)


def cancelled_message(app: Application, citizen: str, slot: Timeslot, answered: Answered) -> int:
    """1177's own "avbokad" notice after the citizen cancelled through 1177."""
    lead = "Din tid är avbokad."
    text = "\n\n".join(x for x in (lead, f"Tid: {when(slot)}" if when(slot) else None,
                                   f"Mottagning: {slot.healthcare_facility_name or slot.healthcare_facility}")
                       if x)
    return deliver(app.journal, citizen, answered.outcome.exchange_id or 0, answered.outcome.correlation_id or "",
                   None, unit_id=slot.healthcare_facility, unit_name=slot.healthcare_facility_name,
                   thread_id=slot.booking_id, description=CANCELLED_HEADING, text=text)

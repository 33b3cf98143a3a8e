"""The one reader and writer of crm:scheduling messages: a TimeslotType, the answers of each operation,
and the requests 1177 sends (the citizen pages, the subscriber, the probe all use these).

Readers go by local name, as the platform reads everything; a wrong namespace is the schema's finding.
Writers follow the package's schemas: request fields in the responder namespace, TimeslotType and
SubjectOfCareType fields in the core namespace, the 1.1 extension elements in theirs.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from xml.sax.saxutils import escape

from lxml import etree

from ...xmlsafe import local_name, text_value
from .names import ACTOR_NS, SCHEDULING_CORE, SCHEDULING_EXT, responder

# TimeslotType's fields in the schema's order: (element, attribute).
TIMESLOT_FIELDS = (
    ("startTimeInclusive", "start"), ("endTimeExclusive", "end"), ("healthcare_facility", "healthcare_facility"),
    ("performer", "performer"), ("bookingId", "booking_id"), ("subject_of_care", "subject_of_care"),
    ("purpose", "purpose"), ("reason", "reason"), ("resourceName", "resource_name"),
    ("healthcare_facility_name", "healthcare_facility_name"), ("performerName", "performer_name"),
    ("resourceID", "resource_id"), ("timeTypeName", "time_type_name"), ("timeTypeID", "time_type_id"),
    ("careTypeName", "care_type_name"), ("careTypeID", "care_type_id"),
    ("cancel_booking_allowed", "cancel_booking_allowed"), ("rebooking_allowed", "rebooking_allowed"),
    ("message_allowed", "message_allowed"), ("isInvitation", "is_invitation"),
)
_ATTRIBUTE = dict(TIMESLOT_FIELDS)
FLAGS = ("cancel_booking_allowed", "rebooking_allowed", "message_allowed", "isInvitation")


def boolean(text: str | None) -> bool | None:
    """An xs:boolean's value (None: absent or not a boolean)."""
    if text is None:
        return None
    value = text.strip()
    return True if value in ("true", "1") else False if value in ("false", "0") else None


@dataclass
class Timeslot:
    """A TimeslotType as sent. Text fields as written (None: absent); the flags as booleans. ``empty`` names
    the elements sent without a value (``<tag/>``), which crm:scheduling does not allow."""

    start: str | None = None
    end: str | None = None
    healthcare_facility: str | None = None
    performer: str | None = None
    booking_id: str | None = None
    subject_of_care: str | None = None
    purpose: str | None = None
    reason: str | None = None
    resource_name: str | None = None
    healthcare_facility_name: str | None = None
    performer_name: str | None = None
    resource_id: str | None = None
    time_type_name: str | None = None
    time_type_id: str | None = None
    care_type_name: str | None = None
    care_type_id: str | None = None
    cancel_booking_allowed: bool | None = None
    rebooking_allowed: bool | None = None
    message_allowed: bool | None = None
    is_invitation: bool | None = None
    present: set[str] = field(default_factory=set)  # element names present
    empty: list[str] = field(default_factory=list)

    @property
    def open_invitation(self) -> bool:
        return bool(self.is_invitation) and not self.start

    def allowed(self, flag: str) -> bool:
        """A ``*_allowed`` flag: absent means false."""
        return bool(getattr(self, flag))


def read_timeslot(element: etree._Element) -> Timeslot:
    slot = Timeslot()
    for child in element:
        name = local_name(child)
        attribute = _ATTRIBUTE.get(name)
        if attribute is None or name in slot.present:
            continue
        slot.present.add(name)
        value = text_value(child)
        if not value.strip() and len(child) == 0:
            slot.empty.append(name)
        setattr(slot, attribute, boolean(value) if name in FLAGS else value)
    return slot


def timeslot_xml(slot: Timeslot, core: str = "core", ext: str = "ext") -> str:
    """A TimeslotType's fields (in a request: requestedTimeslot), prefixes ``core`` and ``ext`` declared
    by the caller (``request_xml`` does)."""
    out = []
    for name, attribute in TIMESLOT_FIELDS:
        value = getattr(slot, attribute)
        if value is None:
            continue
        text = ("true" if value else "false") if isinstance(value, bool) else escape(value)
        prefix = ext if name == "isInvitation" else core
        out.append(f"<{prefix}:{name}>{text}</{prefix}:{name}>")
    return "".join(out)


def request_xml(operation: str, body: str) -> str:
    """The request element of ``operation`` around ``body`` (fields in the responder namespace, the
    default; ``core:`` and ``ext:`` declared for the types of the core and the 1.1 extension)."""
    return (f'<{operation} xmlns="{responder(operation)}" xmlns:core="{SCHEDULING_CORE}" '
            f'xmlns:ext="{SCHEDULING_EXT}">{body}</{operation}>')


def field_xml(name: str, value: str | None, ns_prefix: str = "") -> str:
    if value is None:
        return ""
    tag = f"{ns_prefix}:{name}" if ns_prefix else name
    return f"<{tag}>{escape(value)}</{tag}>"


def actor_xml(citizen: str, actor_type: str = "subject_of_care") -> str:
    """The Actor header every crm:scheduling request carries: who acts (the citizen, logged in at 1177)."""
    return (f'<hdr:Actor xmlns:hdr="{ACTOR_NS}"><hdr:actorId>{escape(citizen)}</hdr:actorId>'
            f"<hdr:actorType>{escape(actor_type)}</hdr:actorType></hdr:Actor>")


@dataclass
class Result:
    """resultCode, resultText and bookingId of a MakeBooking, UpdateBooking or CancelBooking answer."""

    code: str | None
    text: str | None
    booking_id: str | None
    booking_id_present: bool = False


def read_result(payload: etree._Element) -> Result:
    values: dict[str, str] = {}
    for child in payload:
        name = local_name(child)
        if name in ("resultCode", "resultText", "bookingId") and name not in values:
            values[name] = text_value(child)
    code = values.get("resultCode")
    return Result(code.strip() if code is not None else None, values.get("resultText"), values.get("bookingId"),
                  "bookingId" in values)


@dataclass
class SchedulingRequest:
    """What a crm:scheduling request says that matters to web booking (values as written; None: absent)."""

    healthcare_facility: str | None = None  # healthcare_facility, or MakeBooking's healthcare_facility_med
    booking_id: str | None = None  # bookingId, or requestedTimeslot's (UpdateBooking; MakeBooking from an invitation)
    subject_of_care: str | None = None
    requested: Timeslot | None = None  # requestedTimeslot (MakeBooking, UpdateBooking)


def read_request(payload: etree._Element) -> SchedulingRequest:
    """A crm:scheduling request element, by local name (the extension's subject_of_care too)."""
    request = SchedulingRequest()
    for child in payload:
        name = local_name(child)
        if name in ("healthcare_facility", "healthcare_facility_med") and request.healthcare_facility is None:
            request.healthcare_facility = text_value(child)
        elif name == "bookingId" and request.booking_id is None:
            request.booking_id = text_value(child)
        elif name == "subject_of_care" and request.subject_of_care is None:
            request.subject_of_care = text_value(child)
        elif name == "requestedTimeslot" and request.requested is None:
            request.requested = read_timeslot(child)
    slot = request.requested
    if slot is not None:
        request.booking_id = request.booking_id if request.booking_id is not None else slot.booking_id
        request.subject_of_care = request.subject_of_care if request.subject_of_care is not None \
            else slot.subject_of_care
    return request


def actor_id(header: etree._Element | None) -> str | None:
    """The Actor header's actorId (who acts: the citizen logged in at 1177); None without one."""
    for element in header if header is not None else ():
        if local_name(element) == "Actor":
            return child_text(element, "actorId")
    return None


def ts_moment(value: str | None) -> datetime | None:
    """A TS (``YYYYMMDDhhmmss``, Swedish local time without zone) as a naive datetime; None when the value is
    not a real time of that form (20260230120000 is not: February has no 30th)."""
    text = (value or "").strip()
    if len(text) != 14 or not text.isdigit():
        return None
    try:
        return datetime.strptime(text, "%Y%m%d%H%M%S")
    except ValueError:
        return None


def children(payload: etree._Element, name: str) -> list[etree._Element]:
    return [c for c in payload if local_name(c) == name]


def child_text(element: etree._Element, name: str) -> str | None:
    for child in element:
        if local_name(child) == name:
            return text_value(child)
    return None


__all__ = ["FLAGS", "TIMESLOT_FIELDS", "Result", "SchedulingRequest", "Timeslot", "actor_id", "actor_xml", "boolean",
           "child_text", "children", "field_xml", "read_request", "read_result", "read_timeslot", "request_xml",
           "timeslot_xml", "ts_moment"]

"""How web booking's rules and test cases see an exchange: the core's ``RequestView`` with what the request
asked (read by ``messages``, the one reader of crm:scheduling) and what the booking system answered; for an
Update to the engagement index, its transactions (read by the index's own reader) and the index's answer.

The profile judges the booking system: its answers to crm:scheduling calls, whoever called (1177's
simulated calls, marked with ``x-mockplatform-origin``, a probe, a tester's client), and its Update calls.
An answer that fault injection made, or a VP fault of the platform's own (anything but VP009, which means
the booking system did not answer in time or not as SOAP), is not the booking system's and is not judged.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from lxml import etree

from ...contracts import ContractRegistry
from ...journal import Exchange
from ...rules import RequestView, RuleContext, read_view
from ..engagementindex.names import UPDATE_NS
from ..engagementindex.request import KEY_FIELDS, Engagement, engagement_key, read_transactions
from .messages import (
    Result,
    SchedulingRequest,
    Timeslot,
    actor_id,
    children,
    read_request,
    read_result,
    read_timeslot,
)
from .names import CHANGES, DATES, DETAILS, INDEX_UPDATE, OPERATIONS, PERFORMED, SCHEDULE, SERVICE_DOMAIN, responder
from .section import BookingSystem, WebBookingFixtures

_EI_CODE = re.compile(r"\b(EI00\d)\b")


@dataclass(frozen=True)
class Post:
    """One transaction of an Update, as web booking's journal rules keep it (no tree, a few strings)."""

    delete: bool | None
    resident: str
    service_domain: str
    categorization: str
    unit: str  # logicalAddress as sent (stripped)
    booking_id: str  # businessObjectInstanceIdentifier (stripped)
    most_recent: str | None
    source_system: str
    key: str  # the index's key without the owner (the index puts its own id there)
    engaged: bool = True  # the transaction holds an engagement (without one, the schema, EI001, says so)


def post_of(delete: bool | None, engagement: Engagement | None) -> Post:
    e = engagement or Engagement()

    def value(name: str) -> str:
        return (getattr(e, name) or "").strip()

    key = engagement_key(*(None if name == "owner" else getattr(e, name) for name in KEY_FIELDS))
    return Post(delete, value("registeredResidentIdentification"), value("serviceDomain"), value("categorization"),
                value("logicalAddress"), value("businessObjectInstanceIdentifier"),
                (e.mostRecentContent or "").strip() or None, value("sourceSystem"), key, engagement is not None)


@dataclass
class WebBookingView(RequestView):
    unit: str | None = None  # the LogicalAddress (a crm:scheduling call: the care unit), stripped
    citizen: str | None = None  # the Actor's actorId, or the request's subject_of_care
    request: SchedulingRequest | None = None
    request_valid: bool | None = None  # the request against its schema (None: not known, no contracts given)
    from_booking_system: bool = False  # the answer (or the failure) is the booking system's own
    answered: bool = False  # it answered with a response element (HTTP 200, no fault)
    fault: str | None = None  # its SOAP fault, HTTP error or VP009, in a few words
    replied: bool = False  # it answered with SOAP: a response element or a SOAP fault (not VP009, not HTML)
    response: etree._Element | None = field(default=None, repr=False)  # its response element (let go by slim)
    slots: list[tuple[etree._Element, Timeslot]] = field(default_factory=list, repr=False)  # (let go by slim)
    count: int = 0  # timeslotDetail (or performerAvailabilityByDate) in the answer
    # (bookingId, isInvitation, start) of each timeslot with a bookingId in a schedule or details answer
    reported: tuple[tuple[str, bool, str | None], ...] = ()
    result: Result | None = None  # of MakeBooking, UpdateBooking, CancelBooking
    posts: list[Post] = field(default_factory=list)  # an Update's transactions, in order
    index_ok: bool = False  # the index accepted the Update (HTTP 200, ResultCode OK)
    index_refusal: str | None = None  # what the index (or the platform) said instead

    @property
    def performed(self) -> bool:
        """A change the booking system says it made (resultCode OK or INFO)."""
        return self.answered and self.result is not None and self.result.code in PERFORMED

    def outcome(self) -> str | None:
        if self.operation == INDEX_UPDATE:
            if self.index_ok:
                return f"ResultCode=OK ({len(self.posts)} engagementTransaction)"
            return self.index_refusal
        if self.fault:
            return self.fault
        if self.result is not None:
            said = f"resultCode={self.result.code}"
            booking = (self.result.booking_id or "").strip()
            return f"{said}, bookingId={booking}" if booking else said
        if self.answered:
            name = "performerAvailabilityByDate" if self.operation == DATES else "timeslotDetail"
            return f"{name}: {self.count}"
        return None

    def slim(self, owned: bool = False) -> WebBookingView:
        super().slim(owned)
        self.response = None
        self.slots = []
        return self


def read_web_booking_view(exchange: Exchange, contracts: ContractRegistry | None = None) -> WebBookingView:
    """Parse an exchange for web booking's rules; never raises (see ``rules.read_view``). ``contracts``: to
    know whether a crm:scheduling request was schema-valid (a fault is the right answer to one that is not)."""
    view = read_view(exchange, OPERATIONS + (INDEX_UPDATE,), WebBookingView)
    if view.operation is None:
        return view
    contract = view.envelope.contract.lower()
    wanted = UPDATE_NS if view.operation == INDEX_UPDATE else responder(view.operation)
    if contract != wanted.lower():  # another contract's element of the same name: not web booking's
        view.operation = None
        view.elements, view.lines = {}, {}
        return view
    if view.operation == INDEX_UPDATE:
        _read_update(view)
    else:
        _read_scheduling(view, contracts)
    return view


def _read_scheduling(view: WebBookingView, contracts: ContractRegistry | None) -> None:
    env, ex = view.envelope, view.exchange
    view.unit = (env.logical_address or "").strip() or None
    view.request = read_request(env.payload)
    view.citizen = ((actor_id(env.header) or view.request.subject_of_care or "").strip()) or None
    loaded = contracts.get(env.contract) if contracts is not None else None
    if loaded is not None:
        view.request_valid = loaded.validator.is_valid(env.payload)
    if ex.injected or (ex.vp_code and ex.vp_code != "VP009"):
        return  # an injected answer, or the platform's own fault: nothing the booking system said
    view.from_booking_system = True
    answer = view.answer
    if ex.vp_code == "VP009":
        view.fault = f"VP009: {ex.fault_detail}" if ex.fault_detail else "VP009"
        return
    if ex.http_status != 200 or (answer is not None and answer.is_fault):
        said = answer.fault_string if answer is not None and answer.is_fault else None
        view.fault = f"HTTP {ex.http_status}" + (f" SOAP fault: {said}" if said else "")
        view.replied = answer is not None and answer.is_fault
        return
    if answer is None or answer.payload is None:
        return  # HTTP 200 without a readable answer: the schema rule says so
    view.answered = view.replied = True
    view.response = answer.payload
    if view.operation == DATES:
        view.count = len(children(answer.payload, "performerAvailabilityByDate"))
    else:
        view.slots = [(e, read_timeslot(e)) for e in children(answer.payload, "timeslotDetail")]
        view.count = len(view.slots)
    if view.operation in (SCHEDULE, DETAILS):
        asked = (view.request.booking_id or "").strip() if view.operation == DETAILS else ""
        view.reported = tuple(((slot.booking_id or "").strip() or asked, bool(slot.is_invitation),
                               (slot.start or "").strip() or None)
                              for _, slot in view.slots if (slot.booking_id or "").strip() or asked)
    if view.operation in CHANGES:
        view.result = read_result(answer.payload)


def _read_update(view: WebBookingView) -> None:
    ex, answer = view.exchange, view.answer
    view.posts = [post_of(t.delete, t.engagement) for t in read_transactions(view.envelope.payload)]
    if ex.injected:
        view.index_refusal = f"[injicerat / injected: {ex.injected}]"
        return
    if ex.http_status == 200 and answer is not None and not answer.is_fault:
        code = (answer.child_text("ResultCode") or "").strip()
        if code == "OK":
            view.index_ok = True
            return
        comment = (answer.child_text("comment") or "").strip()
        view.index_refusal = f"ResultCode={code or '(none)'}" + (f": {comment}" if comment else "")
        return
    said = answer.fault_string if answer is not None and answer.is_fault else None
    if ex.vp_code:
        view.index_refusal = f"{ex.vp_code}: {said or ex.fault_detail or ''}".rstrip(": ")
    else:
        view.index_refusal = said or f"HTTP {ex.http_status}"


def ei_code(text: str | None) -> str | None:
    """The index's error code (EI000-EI006) at the start of its fault text, if it is one."""
    found = _EI_CODE.search(text or "")
    return found[1] if found else None


@dataclass
class WebBookingContext(RuleContext):
    """What web booking's rules judge against: the booking systems of the fixtures with their units, the wait
    for an index update after a change, and the response time of the SLA.

    ``consumer`` names the booking system judged: its Update calls, and the crm:scheduling calls to its units
    (for an HSA-id that is no booking system of the fixtures: the calls that HSA-id made)."""

    section: WebBookingFixtures = field(default_factory=lambda: WebBookingFixtures(""))
    index_wait_s: float = 10.0  # a change answered OK must be followed by its index update within this
    sla_s: float = 3.0  # the booking system's answer within this (95 % of calls)
    # The end of the judged period when it was given (verify --until; a probe's end): the journal covers the
    # wait after a change up to here, even if nothing was journaled after the change. None: its last exchange.
    until_t: float | None = None

    def selects(self, view: RequestView) -> bool:
        if not view.judged or view.operation is None:
            return False
        who = (view.exchange.consumer or "").strip().lower()
        if view.operation == INDEX_UPDATE:
            if self.consumer is not None:
                return who == self.consumer.strip().lower()
            return self.section.system(who) is not None or any(
                p.service_domain == SERVICE_DOMAIN for p in getattr(view, "posts", ()))
        if self.consumer is None:
            return True
        system = self.section.system(self.consumer)
        if system is None:
            return who == self.consumer.strip().lower()
        return (getattr(view, "unit", None) or "").lower() in {u.lower() for u in system.units}

    def booking_system(self, hsa_id: str | None) -> BookingSystem | None:
        return self.section.system(hsa_id or "")

    def connected_units(self, hsa_id: str | None) -> tuple[str, ...]:
        """The units connected to web booking that this booking system may index: its own when the fixtures
        know it, else every booking system's."""
        system = self.booking_system(hsa_id)
        return system.units if system is not None else self.section.units


"""Exempel Tidbok: a small regional booking system (tidbok) as a vendor would write one.

It is the *producer* of crm:scheduling 1.1 (1177 web booking calls it through the national service
platform) and the *consumer* of the engagement index contract Update: it tells the national index about
every booking and invitation it holds, through the platform's /vp with x-vp-sender-id = its HSA-id.

Standalone: the Python standard library and lxml; it does not import mockplatform.

    python examples/booking_system/booking_system.py --port 8089 --platform http://127.0.0.1:8080 \
        [--fixtures fixtures/inbox.toml] [--broken]

``--broken`` plants seven deliberate mistakes (see README.md; each is marked ``BROKEN`` in the code).
From Python: ``start(...)`` returns a ``Running`` with ``.url``, ``.port``, ``.system`` and ``.stop()``.
"""

from __future__ import annotations

import argparse
import copy
import json
import logging
import queue
import signal
import threading
import time
import tomllib
import urllib.error
import urllib.request
import uuid
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from zoneinfo import ZoneInfo

from lxml import etree

log = logging.getLogger("booking_system")

# -- names ------------------------------------------------------------------------------------------
SOAP11 = "http://schemas.xmlsoap.org/soap/envelope/"
SOAP12 = "http://www.w3.org/2003/05/soap-envelope"
REGISTRY = "urn:riv:itintegration:registry:1"  # the LogicalAddress header
ACTOR_NS = "urn:riv:interoperability:headers:1"  # the Actor header of crm:scheduling
CORE = "urn:riv:crm:scheduling:1"  # TimeslotType and the other core types
EXT = "urn:riv:crm:scheduling:1.1"  # isInvitation, firstName, middleName, lastName
EI_CORE = "urn:riv:itintegration:engagementindex:1"
UPDATE_NS = "urn:riv:itintegration:engagementindex:UpdateResponder:1"
UPDATE_ACTION = f"{UPDATE_NS}:Update"
INDEX_ADDRESS = "5565594230"  # the national engagement index's owner (Inera AB): Update's logical address
SERVICE_DOMAIN = "riv:crm:scheduling"
BOOKING, INVITATION = "Booking", "Invitation"
ACTOR_TYPES = ("subject_of_care", "subject_of_care_agent")
MAX_TRANSACTIONS = 1000  # per Update call, as the national index takes them
MAX_BODY = 1024 * 1024
SERVICE_PATH = "/scheduling"

DEFAULT_HSA_ID = "SE2321000016-BOKA"
DEFAULT_PLATFORM = "http://127.0.0.1:8080"
DEFAULT_FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "inbox.toml"

ZONE = ZoneInfo("Europe/Stockholm")  # every time in crm:scheduling is Swedish local time without a zone
DAY_START, DAY_END, SLOT_MINUTES, DAYS_AHEAD = 8, 16, 30, 14
SWEEP_S = 60.0  # how often passed bookings leave the index
RELOAD_RETRY_S = 2.0  # how soon a reload the platform did not answer is sent again

# What every unit offers; the time types of the fixtures' bookings are added per unit.
BASE_TIME_TYPES = (("T1", "Mottagningsbesök", "C1", "Läkarbesök"), ("T3", "Provtagning", "C3", "Sjuksköterskebesök"))
# stable clinicalProcessInterestIds: uuid5 of (system, unit, bookingId, kind), see Post
INTEREST_NAMESPACE = uuid.UUID("6f1c1a52-5b1e-4d0c-9a55-0d6c1f6b7a11")


def responder(operation: str) -> str:
    return f"urn:riv:crm:scheduling:{operation}Responder:1"


def now() -> datetime:
    """Swedish local time, without a zone (as the contract writes it)."""
    return datetime.now(ZONE).replace(tzinfo=None, microsecond=0)


def ts(moment: datetime) -> str:
    return moment.strftime("%Y%m%d%H%M%S")


def day_ts(day: date) -> str:
    """A business date as a TS: the day at 000000."""
    return day.strftime("%Y%m%d") + "000000"


# -- the state ----------------------------------------------------------------------------------------
@dataclass(frozen=True)
class TimeType:
    id: str
    name: str
    care_type_id: str
    care_type_name: str


@dataclass
class Slot:
    """A time in a unit's schedule: free, taken by a booking (``taken_by``), or by someone else."""

    unit: str
    start: datetime
    minutes: int
    time_type: TimeType
    taken_by: str | None = None
    blocked: bool = False  # booked by a patient who does not use the web

    @property
    def end(self) -> datetime:
        return self.start + timedelta(minutes=self.minutes)

    @property
    def free(self) -> bool:
        return self.taken_by is None and not self.blocked


@dataclass(frozen=True)
class Post:
    """One post in the engagement index, as this system sent it (the index adds owner and times)."""

    citizen: str
    categorization: str
    unit: str
    booking_id: str
    interest_id: str
    most_recent: str | None

    @property
    def key(self) -> tuple[str, ...]:
        """What the index's key is made of (beside the constant service domain, source and owner)."""
        return (self.citizen, self.categorization, self.unit, self.booking_id, self.interest_id)


@dataclass
class Booking:
    """A booked time, or an invitation (kallelse): timed, or open (``start`` None) for the citizen to book."""

    booking_id: str
    citizen: str
    unit: str
    start: datetime | None
    minutes: int
    invitation: bool
    purpose: str
    time_type: TimeType
    cancel_allowed: bool = True
    rebook_allowed: bool = True
    message_allowed: bool = False
    business_date: date = field(default_factory=lambda: now().date())  # when it was made or sent
    first_name: str | None = None
    last_name: str | None = None
    posted: Post | None = None  # what the index holds for it (None: nothing)

    @property
    def end(self) -> datetime | None:
        return None if self.start is None else self.start + timedelta(minutes=self.minutes)

    @property
    def open(self) -> bool:
        return self.start is None

    def passed(self, at: datetime) -> bool:
        return self.end is not None and self.end <= at


@dataclass
class IndexCall:
    """One Update this system sent, and how it went."""

    transactions: list[tuple[bool, Post]]
    ok: bool
    status: int | None
    detail: str


@dataclass(frozen=True)
class Setup:
    """What the fixtures file says about this system: its units (id -> name) and the bookings to start with."""

    hsa_id: str
    name: str
    units: dict[str, str]
    seeds: tuple[dict, ...]


def load_setup(path: Path, hsa_id: str) -> Setup:
    """This booking system's part of a mockplatform fixtures file (``[[webbooking.booking_systems]]`` with
    its HSA-id, the ``[[webbooking.bookings]]`` at its units, the names of ``[[units]]``)."""
    with open(path, "rb") as f:
        data = tomllib.load(f)
    section = data.get("webbooking", {})
    system = next((s for s in section.get("booking_systems", [])
                   if str(s.get("hsa_id", "")).strip().lower() == hsa_id.lower()), None)
    if system is None or not system.get("units"):
        raise ValueError(f"{path}: no [[webbooking.booking_systems]] with hsa_id = {hsa_id} and units")
    names = {str(u.get("unit_id", "")).lower(): u.get("name") for u in data.get("units", [])}
    units = {u: names.get(u.lower()) or u for u in system["units"]}
    mine = {u.lower() for u in units}
    seeds = tuple(b for b in section.get("bookings", []) if str(b.get("unit", "")).lower() in mine)
    return Setup(hsa_id, system.get("name") or hsa_id, units, seeds)


class SoapFault(Exception):
    """A technical error (or a request this system will not answer): a SOAP 1.1 fault, HTTP 500."""

    def __init__(self, text: str, code: str = "Client") -> None:
        super().__init__(text)
        self.code = code
        self.text = text


class Refused(Exception):
    """A logical error of MakeBooking, UpdateBooking or CancelBooking: resultCode ERROR, the text for the citizen."""


# -- a request, read ----------------------------------------------------------------------------------
def local(element: etree._Element) -> str:
    return etree.QName(element).localname if isinstance(element.tag, str) else ""


def fields_of(element: etree._Element | None) -> dict[str, str]:
    """An element's leaf children by local name (the first of each), stripped; empty ones left out."""
    out: dict[str, str] = {}
    if element is not None:
        for child in element:
            name = local(child)
            if name and name not in out and len(child) == 0 and (child.text or "").strip():
                out[name] = child.text.strip()
    return out


def child(element: etree._Element, name: str) -> etree._Element | None:
    return next((c for c in element if local(c) == name), None)


@dataclass
class Call:
    operation: str
    logical_address: str
    actor_id: str
    actor_type: str
    payload: etree._Element

    @property
    def fields(self) -> dict[str, str]:
        return fields_of(self.payload)

    def need(self, name: str, within: dict[str, str] | None = None) -> str:
        value = (self.fields if within is None else within).get(name)
        if not value:
            raise SoapFault(f"{self.operation}: {name} is required")
        return value


_parsers = threading.local()


def parse(body: bytes) -> etree._Element:
    """The one parser for what comes from outside: no entities, no network, no DTD."""
    parser = getattr(_parsers, "parser", None)
    if parser is None:
        parser = _parsers.parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False,
                                                   huge_tree=False, remove_comments=True)
    try:
        root = etree.fromstring(body, parser)
    except etree.XMLSyntaxError as exc:
        raise SoapFault(f"The request is not well-formed XML: {exc}") from None
    if root.getroottree().docinfo.doctype:
        raise SoapFault("A DOCTYPE is not allowed in a SOAP message")
    return root


def read_call(body: bytes) -> Call:
    root = parse(body)
    if local(root) != "Envelope":
        raise SoapFault("The request is not a SOAP envelope")
    if etree.QName(root).namespace == SOAP12:
        raise SoapFault("SOAP 1.2 is not supported: RIVTA BP 2.1 uses SOAP 1.1", "VersionMismatch")
    if etree.QName(root).namespace != SOAP11:
        raise SoapFault("Unknown SOAP envelope namespace", "VersionMismatch")
    header, body_el = child(root, "Header"), child(root, "Body")
    payload = next((c for c in body_el if isinstance(c.tag, str)), None) if body_el is not None else None
    if payload is None:
        raise SoapFault("The SOAP Body is empty")
    namespace = etree.QName(payload).namespace or ""
    operation = local(payload)
    if namespace.lower() != responder(operation).lower():
        raise SoapFault(f"{{{namespace}}}{operation} is not a crm:scheduling 1 operation")
    logical_address = actor_id = actor_type = ""
    if header is not None:
        logical_address = fields_of(header).get("LogicalAddress", "")
        actor = child(header, "Actor")
        if actor is not None:
            said = fields_of(actor)
            actor_id, actor_type = said.get("actorId", ""), said.get("actorType", "")
    return Call(operation, logical_address, actor_id, actor_type, payload)


# -- answers, written ---------------------------------------------------------------------------------
EMPTY = object()  # BROKEN (WB-EMPTY-ELEMENT): written as an element without a value
TIMESLOT_ORDER = ("startTimeInclusive", "endTimeExclusive", "healthcare_facility", "performer", "bookingId",
                  "subject_of_care", "purpose", "reason", "resourceName", "healthcare_facility_name",
                  "performerName", "resourceID", "timeTypeName", "timeTypeID", "careTypeName", "careTypeID",
                  "cancel_booking_allowed", "rebooking_allowed", "message_allowed", "isInvitation")


def response(operation: str) -> etree._Element:
    return etree.Element(f"{{{responder(operation)}}}{operation}Response",
                         nsmap={None: responder(operation), "core": CORE, "ext": EXT})


def add(parent: etree._Element, namespace: str, name: str, value: object) -> None:
    """A field; None and "" are left out (crm:scheduling allows no empty elements), booleans as xs:boolean."""
    if value is None or value == "":
        return
    element = etree.SubElement(parent, f"{{{namespace}}}{name}")
    if value is not EMPTY:
        element.text = ("true" if value else "false") if isinstance(value, bool) else str(value)


def add_fields(parent: etree._Element, namespace: str, fields: list[tuple[str, object]]) -> None:
    for name, value in fields:
        add(parent, namespace, name, value)


def add_timeslot(parent: etree._Element, name: str, values: dict[str, object]) -> None:
    """A TimeslotType: its fields in the schema's order, isInvitation in the 1.1 extension namespace."""
    element = etree.SubElement(parent, f"{{{parent.nsmap[None]}}}{name}")
    for field_name in TIMESLOT_ORDER:
        add(element, EXT if field_name == "isInvitation" else CORE, field_name, values.get(field_name))


def envelope(payload: etree._Element) -> bytes:
    root = etree.Element(f"{{{SOAP11}}}Envelope", nsmap={"soapenv": SOAP11})
    etree.SubElement(root, f"{{{SOAP11}}}Header")
    etree.SubElement(root, f"{{{SOAP11}}}Body").append(payload)
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8")


def fault_envelope(fault: SoapFault) -> bytes:
    root = etree.Element(f"{{{SOAP11}}}Envelope", nsmap={"soapenv": SOAP11})
    body = etree.SubElement(root, f"{{{SOAP11}}}Body")
    element = etree.SubElement(body, f"{{{SOAP11}}}Fault")
    etree.SubElement(element, "faultcode").text = f"soapenv:{fault.code}"
    etree.SubElement(element, "faultstring").text = fault.text
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8")


def result(operation: str, code: str, text: str | None = None, booking_id: str | None = None) -> etree._Element:
    answer = response(operation)
    ns = responder(operation)
    add_fields(answer, ns, [("bookingId", booking_id), ("resultCode", code), ("resultText", text)])
    return answer


def update_request(posts: list[tuple[bool, Post]], hsa_id: str) -> bytes:
    """An engagement index Update: one engagementTransaction per (delete, post)."""
    root = etree.Element(f"{{{SOAP11}}}Envelope", nsmap={"soapenv": SOAP11, "itr": REGISTRY})
    etree.SubElement(etree.SubElement(root, f"{{{SOAP11}}}Header"), f"{{{REGISTRY}}}LogicalAddress").text = \
        INDEX_ADDRESS
    update = etree.SubElement(etree.SubElement(root, f"{{{SOAP11}}}Body"), f"{{{UPDATE_NS}}}Update",
                              nsmap={None: UPDATE_NS, "core": EI_CORE})
    for delete, post in posts:
        transaction = etree.SubElement(update, f"{{{UPDATE_NS}}}engagementTransaction")
        add(transaction, EI_CORE, "deleteFlag", delete)
        engagement = etree.SubElement(transaction, f"{{{EI_CORE}}}engagement")
        add_fields(engagement, EI_CORE, [
            ("registeredResidentIdentification", post.citizen), ("serviceDomain", SERVICE_DOMAIN),
            ("categorization", post.categorization), ("logicalAddress", post.unit),
            ("businessObjectInstanceIdentifier", post.booking_id), ("clinicalProcessInterestId", post.interest_id),
            ("mostRecentContent", post.most_recent), ("sourceSystem", hsa_id), ("dataController", hsa_id)])
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8")


# -- the engagement index, through the platform ------------------------------------------------------------
Done = Callable[[IndexCall], None]


class IndexClient:
    """Sends Updates to ``{platform_url}/vp`` on one worker thread, in the order they were submitted
    (the order of the changes). A failure is logged and kept in ``calls``; nothing is retried here (the
    system sends a reload that did not reach the platform again). No web proxy: the platform is reached
    directly, whatever http_proxy says."""

    def __init__(self, platform_url: str, hsa_id: str, timeout_s: float = 10.0) -> None:
        self.url = platform_url.rstrip("/") + "/vp"
        self.hsa_id = hsa_id
        self.timeout_s = timeout_s
        self.calls: list[IndexCall] = []
        self._queue: queue.Queue[tuple[list[tuple[bool, Post]], Done | None] | None] = queue.Queue()
        self._thread = threading.Thread(target=self._run, name="booking-system-index", daemon=True)
        self._opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))

    def start(self) -> None:
        self._thread.start()

    def submit(self, transactions: list[tuple[bool, Post]], done: Done | None = None) -> None:
        """Send these transactions (in Updates of at most MAX_TRANSACTIONS); ``done`` gets each call's outcome."""
        for first in range(0, len(transactions), MAX_TRANSACTIONS):
            self._queue.put((transactions[first:first + MAX_TRANSACTIONS], done))

    def wait_idle(self, timeout_s: float = 10.0) -> bool:
        """Wait until every Update submitted so far has been answered (or failed); False on timeout."""
        with self._queue.all_tasks_done:
            return self._queue.all_tasks_done.wait_for(lambda: self._queue.unfinished_tasks == 0, timeout_s)

    def stop(self, timeout_s: float = 10.0) -> None:
        if self._thread.is_alive():
            self._queue.put(None)  # after what is queued: that is sent first
            self._thread.join(timeout_s)

    def _run(self) -> None:
        while True:
            item = self._queue.get()
            try:
                if item is None:
                    return
                transactions, done = item
                sent = self._send(transactions)
                self.calls.append(sent)
                if done is not None:
                    done(sent)
            except Exception:  # never let the worker die
                log.exception("index update failed")
            finally:
                self._queue.task_done()

    def _send(self, transactions: list[tuple[bool, Post]]) -> IndexCall:
        request = urllib.request.Request(self.url, data=update_request(transactions, self.hsa_id), method="POST",
                                         headers={"Content-Type": "text/xml; charset=UTF-8",
                                                  "SOAPAction": f'"{UPDATE_ACTION}"', "x-vp-sender-id": self.hsa_id})
        what = ", ".join(f"{'delete' if d else 'post'} {p.categorization} {p.booking_id}@{p.unit}"
                         for d, p in transactions[:5]) + (" ..." if len(transactions) > 5 else "")
        try:
            with self._opener.open(request, timeout=self.timeout_s) as answer:
                status, body = answer.status, answer.read()
        except urllib.error.HTTPError as exc:
            status, body = exc.code, exc.read()
        except (OSError, ValueError) as exc:  # refused, reset, timed out, a bad URL
            log.error("engagement index Update (%s) not sent to %s: %s", what, self.url, exc)
            return IndexCall(transactions, False, None, str(exc))
        said = _read_update_answer(body)
        ok = status == 200 and said == "OK"
        if ok:
            log.info("engagement index Update OK: %s", what)
        else:
            log.error("engagement index Update (%s) failed: HTTP %s %s", what, status, said)
        return IndexCall(transactions, ok, status, said)


def _read_update_answer(body: bytes) -> str:
    """ResultCode of an UpdateResponse, or a fault's faultstring, or what the body was."""
    try:
        root = parse(body)
    except SoapFault:
        return body[:200].decode("utf-8", "replace")
    for element in root.iter():
        if local(element) in ("ResultCode", "faultstring"):
            return (element.text or "").strip()
    return "no ResultCode"


# -- the booking system ---------------------------------------------------------------------------------
class BookingSystem:
    """The tidbok: units, their free times, the bookings and invitations, and what the index is told.
    One lock guards the state; index changes are submitted under it, so they go out in the order made."""

    def __init__(self, setup: Setup, index: IndexClient, broken: bool = False,
                 clock: Callable[[], datetime] = now) -> None:
        self.hsa_id = setup.hsa_id
        self.name = setup.name
        self.units = dict(setup.units)
        self.broken = broken
        self.index = index
        self.clock = clock
        self.lock = threading.RLock()
        self._by_lower = {u.lower(): u for u in self.units}
        self._bookings: dict[str, Booking] = {}
        self._next_id = 5001
        self.cancelled: list[tuple[Booking, str | None]] = []  # (the booking, the citizen's message)
        self.reload_pending = False  # the last reload did not reach the platform: housekeeping sends it again
        self.time_types: dict[str, list[TimeType]] = {u: [TimeType(*t) for t in BASE_TIME_TYPES] for u in self.units}
        today = self.clock().date()
        for seed in setup.seeds:
            self._add_seed(seed, today)
        self.slots: dict[str, dict[datetime, Slot]] = {u: self._generate(u, today) for u in self.units}
        for booking in self._bookings.values():
            self._take(booking)

    # -- setting up
    def _add_seed(self, seed: dict, today: date) -> None:
        unit = self._by_lower[str(seed["unit"]).lower()]
        time_type = TimeType(seed.get("time_type_id", "T1"), seed.get("time_type_name", "Mottagningsbesök"),
                             seed.get("care_type_id", "C1"), seed.get("care_type_name", "Läkarbesök"))
        if time_type.id not in {t.id for t in self.time_types[unit]}:
            self.time_types[unit].append(time_type)
        start = None
        if seed.get("in_days") is not None:
            hour, minute = (int(x) for x in str(seed.get("time", "09:00")).split(":"))
            start = datetime.combine(today + timedelta(days=int(seed["in_days"])), datetime.min.time()).replace(
                hour=hour, minute=minute)
        booking = Booking(str(seed["booking_id"]), str(seed["citizen"]), unit, start, int(seed.get("minutes", 30)),
                          bool(seed.get("invitation", False)), str(seed.get("purpose", "")), time_type,
                          bool(seed.get("cancel_allowed", True)), bool(seed.get("rebook_allowed", True)),
                          bool(seed.get("message_allowed", False)), today)
        self._bookings[booking.booking_id] = booking

    def _generate(self, unit: str, today: date) -> dict[datetime, Slot]:
        """Weekdays from today for DAYS_AHEAD days, DAY_START to DAY_END every SLOT_MINUTES, the unit's time
        types in turn, about one in five taken by patients who do not book on the web. Yesterday's times
        are kept too (whatever the weekday): they must never be offered."""
        types = self.time_types[unit]
        slots: dict[datetime, Slot] = {}
        for offset in range(-1, DAYS_AHEAD):
            day = today + timedelta(days=offset)
            if offset >= 0 and day.weekday() >= 5:
                continue
            per_day = (DAY_END - DAY_START) * 60 // SLOT_MINUTES
            for i in range(per_day):
                start = datetime.combine(day, datetime.min.time()) + timedelta(hours=DAY_START,
                                                                               minutes=i * SLOT_MINUTES)
                blocked = zlib.crc32(f"{unit}{day.isoformat()}{i}".encode()) % 5 == 0
                slots[start] = Slot(unit, start, SLOT_MINUTES, types[i % len(types)], blocked=blocked)
        return slots

    def _take(self, booking: Booking) -> None:
        if booking.start is None:
            return
        for slot in self.slots[booking.unit].values():
            if slot.start < booking.end and booking.start < slot.end and slot.taken_by is None:
                slot.taken_by = booking.booking_id
                slot.blocked = False  # this booking holds the time, not a patient outside the web

    def _release(self, booking: Booking) -> None:
        for slot in self.slots[booking.unit].values():
            if slot.taken_by == booking.booking_id:
                slot.taken_by = None

    # -- reading (for people and tests)
    def bookings(self) -> list[Booking]:
        """Every booking and invitation held (copies), in bookingId order."""
        with self.lock:
            return [copy.copy(b) for _, b in sorted(self._bookings.items())]

    def booking(self, booking_id: str) -> Booking | None:
        with self.lock:
            found = self._bookings.get(booking_id)
            return copy.copy(found) if found else None

    def free_slots(self, unit: str) -> list[Slot]:
        """The times that can be booked at a unit now (not passed), in time order."""
        at = self.clock()
        with self.lock:
            return [copy.copy(s) for s in self.slots[self.unit(unit)].values() if s.free and s.start > at]

    def wait_idle(self, timeout_s: float = 10.0) -> bool:
        """Wait until every index Update made so far has been answered."""
        return self.index.wait_idle(timeout_s)

    def unit(self, value: str | None) -> str:
        """The unit of an HSA-id (case-insensitive); a SOAP fault when it is not one of this system's."""
        found = self._by_lower.get((value or "").strip().lower())
        if found is None:
            raise SoapFault(f"{value or '(none)'} is not a care unit of booking system {self.hsa_id}")
        return found

    # -- the engagement index
    def _post(self, booking: Booking) -> Post | None:
        """The index post a booking should have now (None: none: it has passed)."""
        if booking.passed(self.clock()):
            return None
        kind = INVITATION if booking.invitation else BOOKING
        categorization = kind
        if self.broken and booking.invitation:
            categorization = BOOKING  # BROKEN (WB-EI-CATEGORIZATION): invitations posted as bookings
        if booking.start is None:
            most_recent = day_ts(booking.business_date)  # an open invitation: its business date
        elif self.broken and not booking.invitation:
            most_recent = day_ts(booking.start.date())  # BROKEN (WB-EI-MOST-RECENT): the day, not the time
        else:
            most_recent = ts(booking.start)
        # Stable across restarts (a reload overwrites instead of adding), different for the delete and the
        # new post of one change (the unit or the kind differ), so the keys in one Update stay unique.
        interest = uuid.uuid5(INTEREST_NAMESPACE, f"{self.hsa_id}|{booking.unit}|{booking.booking_id}|{kind}")
        return Post(booking.citizen, categorization, booking.unit, booking.booking_id, str(interest), most_recent)

    def _reindex(self, booking: Booking, gone: bool = False) -> None:
        """Tell the index what changed: the same key is updated; otherwise the old post is deleted and a
        new one made (both in one Update)."""
        before, after = booking.posted, None if gone else self._post(booking)
        transactions: list[tuple[bool, Post]] = []
        if before is not None and (after is None or after.key != before.key):
            transactions.append((True, before))
        if after is not None and after != before:
            transactions.append((False, after))
        booking.posted = after
        if transactions:
            self.index.submit(transactions)

    def reload(self) -> int:
        """Send the index a post for every booking and invitation held (deleteFlag false); how many."""
        with self.lock:
            transactions = []
            for booking in sorted(self._bookings.values(), key=lambda b: b.booking_id):
                booking.posted = self._post(booking)
                if booking.posted is not None:
                    transactions.append((False, booking.posted))
            if transactions:
                self.index.submit(transactions, self._reload_done)
            return len(transactions)

    def _reload_done(self, call: IndexCall) -> None:
        if call.status is None:  # the platform was not reached (not started yet?): try again later
            self.reload_pending = True

    def housekeeping(self, sweep: bool) -> None:
        """Run now and then: a reload that did not reach the platform is sent again; with ``sweep``, passed
        bookings leave the index."""
        if self.reload_pending:
            self.reload_pending = False
            self.reload()
        if sweep:
            self.expire_passed()

    def expire_passed(self) -> int:
        """Passed bookings leave the index and the active list; how many."""
        at = self.clock()
        with self.lock:
            passed = [b for b in self._bookings.values() if b.passed(at)]
            for booking in passed:
                del self._bookings[booking.booking_id]
                self._reindex(booking, gone=True)
            return len(passed)

    # -- what the staff do (not through crm:scheduling)
    def invite(self, citizen: str, unit: str, purpose: str, start: datetime | None = None, minutes: int = 30,
               time_type_id: str = "T1", cancel_allowed: bool = True, rebook_allowed: bool = True) -> Booking:
        """The staff send an invitation, open (no ``start``) or timed: a new Invitation post."""
        with self.lock:
            unit = self.unit(unit)
            time_type = next(t for t in self.time_types[unit] if t.id == time_type_id)
            booking = Booking(self._new_id(), citizen, unit, start, minutes, True, purpose, time_type,
                              cancel_allowed, rebook_allowed, False, self.clock().date())
            self._bookings[booking.booking_id] = booking
            self._take(booking)
            self._reindex(booking)
            return copy.copy(booking)

    def staff_cancel(self, booking_id: str) -> bool:
        """The staff cancel a booking or withdraw an invitation: its post is deleted."""
        with self.lock:
            booking = self._bookings.pop(booking_id, None)
            if booking is None:
                return False
            self._release(booking)
            self._reindex(booking, gone=True)
            return True

    def _new_id(self) -> str:
        while f"BK-{self._next_id}" in self._bookings:
            self._next_id += 1
        self._next_id += 1
        return f"BK-{self._next_id - 1}"

    # -- crm:scheduling
    def soap(self, body: bytes) -> tuple[int, bytes]:
        """One SOAP request -> (HTTP status, SOAP 1.1 answer): 200 with the response, 500 with a fault."""
        try:
            call = read_call(body)
            handler = OPERATIONS.get(call.operation)
            if handler is None:
                raise SoapFault(f"{call.operation} is not offered by this booking system")
            if not call.logical_address:
                raise SoapFault("The LogicalAddress header is missing")
            self.unit(call.logical_address)
            if not call.actor_id or call.actor_type not in ACTOR_TYPES:
                raise SoapFault("The Actor header (actorId, and actorType subject_of_care or subject_of_care_agent) "
                                "is required")
            with self.lock:
                return 200, envelope(handler(self, call))
        except SoapFault as fault:
            return 500, fault_envelope(fault)
        except Exception:
            log.exception("crm:scheduling request failed")
            return 500, fault_envelope(SoapFault("Internal error in the booking system", "Server"))

    def _acts_for(self, call: Call, citizen: str) -> bool:
        """Whether the Actor may see the citizen's bookings: the citizen, or an agent (1177 checked the right)."""
        return call.actor_type == "subject_of_care_agent" or call.actor_id == citizen

    def _require_actor(self, call: Call, citizen: str) -> None:
        if not self._acts_for(call, citizen):
            raise SoapFault(f"The actor {call.actor_id} may not act for subject of care {citizen}")

    def _find(self, call: Call, booking_id: str, unit: str | None = None) -> Booking | None:
        """The citizen's booking (None: unknown, at another unit, or not the actor's)."""
        booking = self._bookings.get(booking_id)
        if booking is None or (unit is not None and booking.unit != unit) or not self._acts_for(call,
                                                                                              booking.citizen):
            return None
        return booking

    def _timeslot(self, booking: Booking, flags: bool = True) -> dict[str, object]:
        at = self.clock()
        values: dict[str, object] = {
            "startTimeInclusive": ts(booking.start) if booking.start else None,
            "endTimeExclusive": ts(booking.end) if booking.end else None,
            "healthcare_facility": booking.unit, "bookingId": booking.booking_id,
            "subject_of_care": booking.citizen,
            "purpose": booking.purpose or ("Kallelse" if booking.invitation else None),
            "healthcare_facility_name": self.units[booking.unit],
            "timeTypeName": booking.time_type.name, "timeTypeID": booking.time_type.id,
            "careTypeName": booking.time_type.care_type_name, "careTypeID": booking.time_type.care_type_id,
            "isInvitation": booking.invitation,
        }
        if flags:
            passed = booking.passed(at)
            values["cancel_booking_allowed"] = booking.cancel_allowed and not passed
            values["rebooking_allowed"] = booking.rebook_allowed and not booking.open and not passed
            values["message_allowed"] = booking.message_allowed and not passed
        return values

    def _slot_values(self, slot: Slot) -> dict[str, object]:
        return {"startTimeInclusive": ts(slot.start), "endTimeExclusive": ts(slot.end),
                "healthcare_facility": slot.unit, "healthcare_facility_name": self.units[slot.unit],
                "timeTypeName": slot.time_type.name, "timeTypeID": slot.time_type.id,
                "careTypeName": slot.time_type.care_type_name, "careTypeID": slot.time_type.care_type_id}

    def get_subject_of_care_schedule(self, call: Call) -> etree._Element:
        unit = self.unit(call.need("healthcare_facility"))
        citizen = call.need("subject_of_care")
        self._require_actor(call, citizen)
        at = self.clock()
        answer = response(call.operation)
        shown = [b for b in self._bookings.values()
                 if b.unit == unit and b.citizen == citizen and b.start is not None and not b.passed(at)]
        for booking in sorted(shown, key=lambda b: (b.start, b.booking_id)):
            values = self._timeslot(booking)
            if self.broken:
                values["reason"] = EMPTY  # BROKEN (WB-EMPTY-ELEMENT): <core:reason/>
            add_timeslot(answer, "timeslotDetail", values)
        return answer

    def get_booking_details(self, call: Call) -> etree._Element:
        unit = self.unit(call.need("healthcare_facility"))
        booking_id = call.need("bookingId")
        booking = self._find(call, booking_id, unit)
        if booking is None:  # no resultCode in this contract: a fault
            raise SoapFault(f"Unknown booking {booking_id} at {unit}")
        values = self._timeslot(booking)
        if self.broken:
            del values["message_allowed"]  # BROKEN (WB-DETAILS-FLAGS)
        answer = response(call.operation)
        add_timeslot(answer, "timeslotDetail", values)
        return answer

    def cancel_booking(self, call: Call) -> etree._Element:
        unit = self.unit(call.need("healthcare_facility"))
        booking = self._find(call, call.need("bookingId"), unit)
        try:
            if booking is None:
                raise Refused("Bokningen finns inte. Den kan redan vara avbokad.")
            if not booking.cancel_allowed:
                raise Refused("Den här tiden kan inte avbokas via webben. Ring mottagningen för att avboka.")
            if booking.passed(self.clock()):
                raise Refused("Tiden har redan passerat och kan inte avbokas.")
        except Refused as refused:
            return result(call.operation, "ERROR", str(refused))
        del self._bookings[booking.booking_id]
        self._release(booking)
        self.cancelled.append((booking, call.fields.get("message")))
        if self.broken:
            booking.posted = None  # BROKEN (WB-EI-AFTER-CHANGE): the index is not told
        else:
            self._reindex(booking, gone=True)
        return result(call.operation, "OK")

    def _requested(self, call: Call) -> tuple[dict[str, str], str, datetime, datetime]:
        """requestedTimeslot's fields, its unit, start and end (SOAP faults for what the contract requires)."""
        requested = child(call.payload, "requestedTimeslot")
        if requested is None:
            raise SoapFault(f"{call.operation}: requestedTimeslot is required")
        values = fields_of(requested)
        unit = self.unit(call.need("healthcare_facility", values))
        start, end = (_parse_ts(call.need(name, values), name) for name in ("startTimeInclusive", "endTimeExclusive"))
        return values, unit, start, end

    def _free_slot(self, unit: str, start: datetime, end: datetime, time_type: TimeType | None) -> Slot:
        slot = self.slots[unit].get(start)
        if slot is None or slot.end != end or not slot.free or slot.start <= self.clock():
            raise Refused("Tiden är inte längre ledig. Välj en annan tid.")
        if time_type is not None and slot.time_type.id != time_type.id:
            raise Refused(f"Tiden gäller inte {time_type.name.lower()}. Välj en tid för {time_type.name.lower()}.")
        return slot

    def make_booking(self, call: Call) -> etree._Element:
        self.unit(call.need("healthcare_facility_med"))
        values, unit, start, end = self._requested(call)
        citizen = call.need("subject_of_care", values)
        self._require_actor(call, citizen)
        names = fields_of(child(call.payload, "subject_of_care_info"))
        try:
            invitation = None
            if values.get("bookingId"):
                invitation = self._find(call, values["bookingId"])
                if invitation is None or not invitation.invitation or invitation.citizen != citizen:
                    raise Refused("Kallelsen finns inte längre. Kontakta mottagningen.")
                if not invitation.open:
                    raise Refused("Kallelsen har redan en tid. Boka om den i stället.")
                if invitation.unit != unit:
                    raise Refused(f"Kallelsen gäller {self.units[invitation.unit]}. Välj en tid där.")
            slot = self._free_slot(unit, start, end, invitation.time_type if invitation else None)
        except Refused as refused:
            return result(call.operation, "ERROR", str(refused))
        if invitation is not None:  # the invitation becomes the booking: delete Invitation + new Booking
            booking = invitation
            booking.start, booking.minutes, booking.invitation = slot.start, slot.minutes, False
        else:
            booking = Booking(self._new_id(), citizen, unit, slot.start, slot.minutes, False, "", slot.time_type,
                              business_date=self.clock().date())
            self._bookings[booking.booking_id] = booking
        booking.first_name = names.get("firstName", booking.first_name)
        booking.last_name = names.get("lastName", booking.last_name)
        self._take(booking)
        self._reindex(booking)
        if self.broken:
            return result(call.operation, "OK")  # BROKEN (WB-BOOKINGID-RESULT): no bookingId
        return result(call.operation, "OK", booking_id=booking.booking_id)

    def update_booking(self, call: Call) -> etree._Element:
        values, unit, start, end = self._requested(call)
        booking_id = call.need("bookingId", values)
        try:
            booking = self._find(call, booking_id)
            if booking is None or values.get("subject_of_care", booking.citizen) != booking.citizen:
                raise Refused("Bokningen finns inte. Den kan vara avbokad.")
            if booking.open:
                raise Refused("En kallelse utan tid kan inte bokas om. Boka en tid från kallelsen i stället.")
            if not booking.rebook_allowed:
                raise Refused("Den här tiden kan inte bokas om via webben. Ring mottagningen.")
            if booking.passed(self.clock()):
                raise Refused("Tiden har redan passerat och kan inte bokas om.")
            slot = self._free_slot(unit, start, end, booking.time_type)
        except Refused as refused:
            return result(call.operation, "ERROR", str(refused))
        self._release(booking)
        # Same unit: the same post, updated. Another unit, or a timed invitation (now a booking): delete + new.
        booking.unit, booking.start, booking.minutes, booking.invitation = unit, slot.start, slot.minutes, False
        self._take(booking)
        self._reindex(booking)
        return result(call.operation, "OK")

    def _availability(self, call: Call) -> tuple[str, list[Slot]]:
        """The free times GetAvailableDates and GetAvailableTimeslots answer with: the unit's, in the
        date range, of the time type (and care type) asked for or of the booking being rebooked."""
        fields = call.fields
        unit = self.unit(call.need("healthcare_facility"))
        self._require_actor(call, call.need("subject_of_care"))
        first = _parse_dt(call.need("startDateInclusive"), "startDateInclusive")
        last = _parse_dt(call.need("endDateInclusive"), "endDateInclusive")
        time_type_id, care_type_id = fields.get("timeTypeID"), fields.get("careTypeID")
        if fields.get("bookingId"):
            booking = self._find(call, fields["bookingId"])
            if booking is None:
                raise SoapFault(f"Unknown booking {fields['bookingId']}")
            time_type_id = time_type_id or booking.time_type.id
        at = self.clock()
        slots = [s for s in self.slots[unit].values()
                 if s.free and s.start > at and first <= s.start.date() <= last
                 and (not time_type_id or s.time_type.id == time_type_id)
                 and (not care_type_id or s.time_type.care_type_id == care_type_id)]
        return unit, sorted(slots, key=lambda s: s.start)

    def get_available_dates(self, call: Call) -> etree._Element:
        unit, slots = self._availability(call)
        answer = response(call.operation)
        seen: set[tuple[date, str]] = set()
        for slot in slots:
            if (slot.start.date(), slot.time_type.id) in seen:
                continue
            seen.add((slot.start.date(), slot.time_type.id))
            element = etree.SubElement(answer, f"{{{responder(call.operation)}}}performerAvailabilityByDate")
            add_fields(element, CORE, [
                ("healthcare_facility", unit), ("date", slot.start.strftime("%Y%m%d")),
                ("timeTypeName", slot.time_type.name), ("timeTypeID", slot.time_type.id),
                ("careTypeName", slot.time_type.care_type_name), ("careTypeID", slot.time_type.care_type_id)])
        return answer

    def get_available_timeslots(self, call: Call) -> etree._Element:
        unit, slots = self._availability(call)
        if self.broken:  # BROKEN (WB-PASSED-TIMES): a time that has passed (yesterday's first free one)
            yesterday = self.clock().date() - timedelta(days=1)
            slots = [s for s in self.slots[unit].values() if s.free and s.start.date() == yesterday][:1] + slots
        answer = response(call.operation)
        for slot in slots:
            add_timeslot(answer, "timeslotDetail", self._slot_values(slot))
        return answer

    def get_all_healthcare_facilities(self, call: Call) -> etree._Element:
        asked = self.unit(call.need("healthcare_facility"))
        self._require_actor(call, call.need("subject_of_care"))
        answer = response(call.operation)
        for unit in [asked] + [u for u in self.units if u != asked]:  # itself first
            element = etree.SubElement(answer, f"{{{responder(call.operation)}}}healthcareFacilityInfos")
            add_fields(element, CORE, [("healthcare_facility", unit), ("healthcare_facility_name", self.units[unit])])
        return answer

    def get_all_time_types(self, call: Call) -> etree._Element:
        unit = self.unit(call.need("healthcare_facility"))
        self._require_actor(call, call.need("subject_of_care"))
        care_types = {(c.text or "").strip() for c in call.payload if local(c) == "careTypeIDs"} - {""}
        answer = response(call.operation)
        for time_type in self.time_types[unit]:
            if not care_types or time_type.care_type_id in care_types:
                element = etree.SubElement(answer, f"{{{responder(call.operation)}}}ListOfTimeTypes")
                add_fields(element, CORE, [("timeTypeName", time_type.name), ("timeTypeId", time_type.id)])
        return answer

    def get_all_care_types(self, call: Call) -> etree._Element:
        unit = self.unit(call.need("healthcare_facility"))
        self._require_actor(call, call.need("subject_of_care"))
        wanted = {(c.text or "").strip() for c in call.payload if local(c) == "timeTypeIDs"} - {""}
        answer = response(call.operation)
        seen: set[str] = set()
        for time_type in self.time_types[unit]:
            if (not wanted or time_type.id in wanted) and time_type.care_type_id not in seen:
                seen.add(time_type.care_type_id)
                element = etree.SubElement(answer, f"{{{responder(call.operation)}}}careTypes")
                add_fields(element, CORE, [("careTypeName", time_type.care_type_name),
                                           ("careTypeId", time_type.care_type_id)])
        return answer

    def get_all_performers(self, call: Call) -> etree._Element:
        """No named performers: this tidbok books the unit's times, not a person's."""
        self.unit(call.need("healthcare_facility"))
        self._require_actor(call, call.need("subject_of_care"))
        return response(call.operation)


def _parse_ts(value: str, name: str) -> datetime:
    try:
        if len(value) != 14 or not value.isdigit():
            raise ValueError
        return datetime.strptime(value, "%Y%m%d%H%M%S")
    except ValueError:
        raise SoapFault(f"{name} '{value}' is not a time of the form YYYYMMDDhhmmss") from None


def _parse_dt(value: str, name: str) -> date:
    try:
        if len(value) != 8 or not value.isdigit():
            raise ValueError
        return datetime.strptime(value, "%Y%m%d").date()
    except ValueError:
        raise SoapFault(f"{name} '{value}' is not a date of the form YYYYMMDD") from None


OPERATIONS: dict[str, Callable[[BookingSystem, Call], etree._Element]] = {
    "GetSubjectOfCareSchedule": BookingSystem.get_subject_of_care_schedule,
    "GetBookingDetails": BookingSystem.get_booking_details,
    "CancelBooking": BookingSystem.cancel_booking,
    "UpdateBooking": BookingSystem.update_booking,
    "GetAvailableDates": BookingSystem.get_available_dates,
    "GetAvailableTimeslots": BookingSystem.get_available_timeslots,
    "GetAllHealthcareFacilities": BookingSystem.get_all_healthcare_facilities,
    "MakeBooking": BookingSystem.make_booking,
    "GetAllTimeTypes": BookingSystem.get_all_time_types,
    "GetAllCareTypes": BookingSystem.get_all_care_types,
    "GetAllPerformers": BookingSystem.get_all_performers,
}


# -- HTTP -------------------------------------------------------------------------------------------------
class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "ExempelTidbok/1.0"
    server: _Server

    def do_POST(self) -> None:  # noqa: N802 (http.server's name)
        if self.path.split("?", 1)[0].rstrip("/") != SERVICE_PATH:
            return self._send(404, b"Not found: crm:scheduling is answered at /scheduling\n", "text/plain")
        body = self._body()
        if body is None:
            return None
        status, answer = self.server.system.soap(body)
        return self._send(status, answer, "text/xml; charset=UTF-8")

    def do_GET(self) -> None:  # noqa: N802
        if self.path.split("?", 1)[0].rstrip("/") != "/bookings":
            return self._send(404, b"Not found. GET /bookings lists the bookings; POST SOAP to /scheduling\n",
                              "text/plain")
        rows = [{"bookingId": b.booking_id, "citizen": b.citizen, "unit": b.unit,
                 "start": ts(b.start) if b.start else None, "minutes": b.minutes, "invitation": b.invitation,
                 "purpose": b.purpose, "timeTypeID": b.time_type.id,
                 "indexed": None if b.posted is None else b.posted.categorization}
                for b in self.server.system.bookings()]
        return self._send(200, json.dumps(rows, ensure_ascii=False, indent=1).encode(),
                          "application/json; charset=UTF-8")

    def _body(self) -> bytes | None:
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            parts, size = [], 0
            while True:
                length = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if length == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return b"".join(parts)
                size += length
                if size > MAX_BODY:
                    break
                parts.append(self.rfile.read(length))
                self.rfile.readline()
        else:
            try:
                length = int(self.headers.get("Content-Length") or "")
            except ValueError:
                self.close_connection = True
                self._send(411, b"Content-Length required\n", "text/plain")
                return None
            if length <= MAX_BODY:
                return self.rfile.read(length)
        self.close_connection = True
        self._send(413, b"Request too large\n", "text/plain")
        return None

    def _send(self, status: int, body: bytes, content_type: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 (http.server's name)
        log.debug("%s %s", self.address_string(), format % args)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    system: BookingSystem


@dataclass
class Running:
    """A started booking system: its crm:scheduling ``url``, ``port``, state (``system``), and ``stop()``."""

    url: str
    port: int
    system: BookingSystem
    server: _Server
    _stopping: threading.Event
    _threads: list[threading.Thread]

    def stop(self) -> None:
        self._stopping.set()
        self.server.shutdown()
        self.server.server_close()
        self.system.index.stop()
        for thread in self._threads:
            thread.join(5)


def start(port: int = 0, platform_url: str = DEFAULT_PLATFORM, fixtures: Path | None = None, broken: bool = False,
          hsa_id: str = DEFAULT_HSA_ID, host: str = "127.0.0.1") -> Running:
    """Start the booking system on ``host``:``port`` (0: a free port) and reload the engagement index: one
    Update through ``platform_url`` with a post for each booking and invitation. Returns when the reload
    has been answered (or has failed: that is logged, not fatal; a reload that did not reach the platform is
    sent again every RELOAD_RETRY_S seconds, so the platform may be started after the booking system)."""
    setup = load_setup(Path(fixtures) if fixtures else DEFAULT_FIXTURES, hsa_id)
    index = IndexClient(platform_url, hsa_id)
    system = BookingSystem(setup, index, broken)
    server = _Server((host, port), _Handler)
    server.system = system
    serving = threading.Thread(target=server.serve_forever, args=(0.1,), name="booking-system-http", daemon=True)
    serving.start()
    index.start()
    sent = system.reload()
    index.wait_idle(2 * index.timeout_s)
    log.info("index reload: %d posts", sent)
    stopping = threading.Event()

    def housekeeping() -> None:
        swept = time.monotonic()
        while not stopping.wait(RELOAD_RETRY_S):
            sweep = time.monotonic() - swept >= SWEEP_S
            swept = time.monotonic() if sweep else swept
            system.housekeeping(sweep)

    sweeper = threading.Thread(target=housekeeping, name="booking-system-housekeeping", daemon=True)
    sweeper.start()
    bound = server.server_address[1]
    shown = "127.0.0.1" if host in ("", "0.0.0.0") else host
    return Running(f"http://{shown}:{bound}{SERVICE_PATH}", bound, system, server, stopping, [serving, sweeper])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Exempel Tidbok: a crm:scheduling 1.1 producer that keeps the "
                                                 "engagement index up to date through the platform")
    parser.add_argument("--port", type=int, default=8089, help="port to listen on (default 8089, as the built-in TAK)")
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    parser.add_argument("--platform", default=DEFAULT_PLATFORM,
                        help=f"the platform's base URL; Updates go to its /vp (default {DEFAULT_PLATFORM})")
    parser.add_argument("--fixtures", type=Path, help=f"fixtures file (default {DEFAULT_FIXTURES})")
    parser.add_argument("--hsa-id", default=DEFAULT_HSA_ID, help=f"this system's HSA-id (default {DEFAULT_HSA_ID})")
    parser.add_argument("--broken", action="store_true", help="plant the seven deliberate mistakes (see README)")
    parser.add_argument("-v", "--verbose", action="store_true", help="log every HTTP request")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO,
                        format="%(asctime)s %(levelname)s %(message)s")
    try:
        running = start(args.port, args.platform, args.fixtures, args.broken, args.hsa_id, args.host)
    except (OSError, ValueError) as exc:
        print(f"booking_system: {exc}")
        return 2
    system = running.system
    print(f"{system.name} ({system.hsa_id}){' BROKEN' if args.broken else ''} answers crm:scheduling at "
          f"{running.url} for {', '.join(system.units)}; {len(system.bookings())} bookings and invitations; "
          f"index Updates to {system.index.url}. Ctrl-C stops it.", flush=True)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        while not stop.wait(0.5):
            pass
    except KeyboardInterrupt:
        pass
    finally:
        running.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

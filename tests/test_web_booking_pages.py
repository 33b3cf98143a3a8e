"""The citizen's web booking pages (/ui/bookings) over real HTTP: the platform routes the eleven
crm:scheduling contracts at the two units of the fixtures to a booking system on this machine, and every
page calls it through the platform as 1177 does. Covered: the list (every unit's schedule, open
invitations from the engagement index, a unit answering with a fault), the details and the actions their
flags allow, cancel (and 1177's "avbokad" message in the inbox), rebook, book from an open invitation,
the booking system's ERROR and INFO texts, escaping of everything it sends, and the core's POST support
(same-origin, 405, the ui setting, nothing of it in the journal). The last tests click through the
pages in a headless Chromium (skipped without one, like tests/test_browser.py).

The booking system (``BOOKING_SYSTEM``) is examples/booking_system when it is there, else this file's
stub with the same API (``stub_start``). What 1177 sent is read from the platform's journal, so the
tests hold for either. The tests that need the booking system to say something particular (an ERROR or
an INFO text, markup in its names) use the stub, whose answers a test sets.
"""

from __future__ import annotations

import importlib.util
import re
import socket
import sys
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import quote
from xml.sax.saxutils import escape

import pytest
import requests
from lxml import html as lxml_html

from mockplatform import Application, Config, Request, Settings
from mockplatform.domains.inbox1177.docbook import MISMATCH_TEXT
from mockplatform.domains.inbox1177.store import InboxStore
from mockplatform.domains.webbooking.messages import Timeslot, read_timeslot, timeslot_xml
from mockplatform.domains.webbooking.names import CONTRACTS, SCHEDULING_CORE, SCHEDULING_EXT, responder
from mockplatform.domains.webbooking.pages import WINDOW_DAYS, day_text, time_text
from mockplatform.domains.webbooking.section import web_booking
from mockplatform.envelope import read_answer
from mockplatform.fixtures import builtin_fixtures_dir, load_fixtures
from mockplatform.http_routes import handle as route
from mockplatform.localtime import zone
from mockplatform.messages import from_this_site
from mockplatform.xmlsafe import local_name, parse, text_value

from .chromium import headless_chromium, why_no_browser
from .test_web import css

ROOT = Path(__file__).resolve().parent.parent
UNIT_A, UNIT_C = "SE2321000016-A1B2", "SE2321000016-C3D4"  # the two units connected to web booking
TOLVAN, ANNA, CECILIA = "191212121212", "198505133283", "200103292389"
EI_OWNER, BOOKING_SYSTEM_ID = "5565594230", "SE2321000016-BOKA"
UPDATE = "urn:riv:itintegration:engagementindex:UpdateResponder:1"
EI_CORE = "urn:riv:itintegration:engagementindex:1"
SOAP11 = "http://schemas.xmlsoap.org/soap/envelope/"
FORM = {"Content-Type": "application/x-www-form-urlencoded"}


def ts(moment: datetime) -> str:
    return moment.strftime("%Y%m%d%H%M%S")


def today() -> date:
    return datetime.now(zone()).date()


# -- the stub: the example's API, state from the fixtures, answers a test can set ---------------------


@dataclass
class StubSystem:
    """What the stub holds. ``refuse[operation] = (code, text)`` makes its next answer to that operation a
    logical ERROR (nothing done) or INFO (done, and the text shown); ``performer_name`` names the free times."""

    units: dict[str, str]
    bookings: dict[str, Timeslot]
    performer_name: str = "Doktor Dalia Exempel"
    refuse: dict[str, tuple[str, str]] = field(default_factory=dict)
    next_id: int = 9001
    lock: threading.Lock = field(default_factory=threading.Lock)

    @classmethod
    def of(cls, fixtures_path: Path | None) -> StubSystem:
        fixtures = load_fixtures(fixtures_path)
        units = {u.unit_id: u.name for u in fixtures.units}
        bookings = {}
        for seed in web_booking(fixtures).bookings:
            start = end = None
            if seed.in_days is not None:
                begins = datetime.combine(today() + timedelta(days=seed.in_days),
                                          datetime.strptime(seed.time, "%H:%M").time())
                start, end = ts(begins), ts(begins + timedelta(minutes=seed.minutes))
            bookings[seed.booking_id] = Timeslot(
                start=start, end=end, healthcare_facility=seed.unit, booking_id=seed.booking_id,
                subject_of_care=seed.citizen, purpose=seed.purpose or None,
                healthcare_facility_name=units.get(seed.unit) or None, time_type_name=seed.time_type_name,
                time_type_id=seed.time_type_id, care_type_name=seed.care_type_name, care_type_id=seed.care_type_id,
                cancel_booking_allowed=seed.cancel_allowed, rebooking_allowed=seed.rebook_allowed,
                message_allowed=seed.message_allowed, is_invitation=seed.invitation)
        return cls(units, bookings)

    def free_days(self) -> list[date]:
        return [today() + timedelta(days=n) for n in (1, 2)]

    def answer(self, operation: str, request: Any) -> tuple[int, str]:
        fields: dict[str, Any] = {}
        for child in request:
            name = local_name(child)
            if name == "requestedTimeslot":
                fields[name] = read_timeslot(child)
            else:
                fields[name] = {local_name(g): text_value(g) for g in child} if len(child) else text_value(child)
        with self.lock:
            handler = getattr(self, f"_{operation}", None)
            if handler is None:
                return 500, fault(f"{operation} finns inte i stubben")
            refused = self.refuse.pop(operation, None)
            if refused is not None and refused[0] == "ERROR":
                return 200, result(operation, "ERROR", refused[1])
            status, body = handler(fields)
            if refused is not None:  # INFO: done, and the text shown
                booking_id = re.search(r"<bookingId>([^<]*)</bookingId>", body)
                body = result(operation, "INFO", refused[1], booking_id[1] if booking_id else None)
            return status, body

    def _mine(self, unit: str, booking_id: str) -> Timeslot | None:
        slot = self.bookings.get(booking_id)
        return slot if slot is not None and slot.healthcare_facility.lower() == unit.strip().lower() else None

    def _GetSubjectOfCareSchedule(self, f):  # noqa: N802 (the operation's name)
        slots = [s for s in self.bookings.values() if s.start and s.subject_of_care == f["subject_of_care"]
                 and s.healthcare_facility.lower() == f["healthcare_facility"].lower()]
        return 200, response("GetSubjectOfCareSchedule", "".join(
            f"<timeslotDetail>{timeslot_xml(s)}</timeslotDetail>" for s in slots))

    def _GetBookingDetails(self, f):  # noqa: N802
        slot = self._mine(f["healthcare_facility"], f["bookingId"])
        if slot is None:
            return 500, fault(f"Okänd bokning {f['bookingId']}")
        return 200, response("GetBookingDetails", f"<timeslotDetail>{timeslot_xml(slot)}</timeslotDetail>")

    def _CancelBooking(self, f):  # noqa: N802
        slot = self._mine(f["healthcare_facility"], f["bookingId"])
        if slot is None or not slot.cancel_booking_allowed:
            return 200, result("CancelBooking", "ERROR", "Tiden kan inte avbokas.")
        del self.bookings[slot.booking_id]
        return 200, result("CancelBooking", "OK")

    def _GetAvailableDates(self, f):  # noqa: N802
        unit = escape(f["healthcare_facility"])
        return 200, response("GetAvailableDates", "".join(
            f"<performerAvailabilityByDate><core:healthcare_facility>{unit}</core:healthcare_facility>"
            f"<core:performer>SE2321000016-DR01</core:performer><core:date>{day:%Y%m%d}</core:date>"
            f"</performerAvailabilityByDate>" for day in self.free_days()))

    def _GetAvailableTimeslots(self, f):  # noqa: N802
        day = datetime.strptime(f["startDateInclusive"], "%Y%m%d").date()
        slots = []
        if day in self.free_days():
            unit = f["healthcare_facility"]
            for minute in (0, 30):
                begins = datetime.combine(day, datetime.min.time()).replace(hour=10, minute=minute)
                slots.append(Timeslot(start=ts(begins), end=ts(begins + timedelta(minutes=30)),
                                      healthcare_facility=unit, performer="SE2321000016-DR01",
                                      healthcare_facility_name=self.units.get(unit) or None,
                                      performer_name=self.performer_name, time_type_id="T1"))
        return 200, response("GetAvailableTimeslots", "".join(
            f"<timeslotDetail>{timeslot_xml(s)}</timeslotDetail>" for s in slots))

    def _UpdateBooking(self, f):  # noqa: N802
        wanted = f["requestedTimeslot"]
        slot = self._mine(wanted.healthcare_facility or "", wanted.booking_id or "")
        if slot is None or not slot.rebooking_allowed or not slot.start:
            return 200, result("UpdateBooking", "ERROR", "Tiden kan inte ombokas.")
        slot.start, slot.end, slot.is_invitation = wanted.start, wanted.end, False
        return 200, result("UpdateBooking", "OK")

    def _MakeBooking(self, f):  # noqa: N802
        wanted: Timeslot = f["requestedTimeslot"]
        base = self.bookings.pop(wanted.booking_id, None) if wanted.booking_id else None
        new_id = f"BK-{self.next_id}"
        self.next_id += 1
        base = base or Timeslot(time_type_name="Mottagningsbesök", care_type_name="Läkarbesök")
        self.bookings[new_id] = Timeslot(
            start=wanted.start, end=wanted.end, healthcare_facility=wanted.healthcare_facility, booking_id=new_id,
            subject_of_care=wanted.subject_of_care, purpose=base.purpose,
            healthcare_facility_name=self.units.get(wanted.healthcare_facility or "") or None,
            performer_name=self.performer_name, time_type_name=base.time_type_name, time_type_id=base.time_type_id,
            care_type_name=base.care_type_name, care_type_id=base.care_type_id, cancel_booking_allowed=True,
            rebooking_allowed=True, message_allowed=False, is_invitation=False)
        return 200, result("MakeBooking", "OK", booking_id=new_id)


def response(operation: str, inner: str) -> str:
    return envelope(f'<{operation}Response xmlns="{responder(operation)}" xmlns:core="{SCHEDULING_CORE}" '
                    f'xmlns:ext="{SCHEDULING_EXT}">{inner}</{operation}Response>')


def result(operation: str, code: str, text: str | None = None, booking_id: str | None = None) -> str:
    inner = (f"<bookingId>{escape(booking_id)}</bookingId>" if booking_id else "") + f"<resultCode>{code}</resultCode>"
    inner += f"<resultText>{escape(text)}</resultText>" if text else ""
    return response(operation, inner)


def envelope(body: str) -> str:
    return f'<?xml version="1.0" encoding="UTF-8"?><s:Envelope xmlns:s="{SOAP11}"><s:Body>{body}</s:Body></s:Envelope>'


def fault(text: str) -> str:
    return envelope(f"<s:Fault><faultcode>s:Server</faultcode><faultstring>{escape(text)}</faultstring></s:Fault>")


@dataclass
class StubRunning:
    url: str
    port: int
    system: StubSystem
    server: ThreadingHTTPServer

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def stub_start(port: int = 0, platform_url: str | None = None, fixtures: Path | None = None,
               broken: bool = False) -> StubRunning:
    """The stub on ``port``; with ``platform_url`` it tells the engagement index (through the platform) about
    every booking and invitation it holds, as a booking system must. ``broken`` is the example's (its planted
    mistakes): the stub has none."""
    system = StubSystem.of(fixtures)

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args) -> None:
            pass

        def do_POST(self) -> None:  # noqa: N802
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            try:
                request = next(iter(parse(body).find(f"{{{SOAP11}}}Body")))
                status, answer = system.answer(local_name(request), request)
            except Exception as exc:  # the stub's own mistake: a fault that says so
                status, answer = 500, fault(f"stub: {type(exc).__name__}: {exc}")
            data = answer.encode("utf-8")
            self.send_response(status)
            self.send_header("Content-Type", "text/xml; charset=UTF-8")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    port = server.server_address[1]
    if platform_url:
        index(platform_url, system)
    return StubRunning(f"http://127.0.0.1:{port}/scheduling", port, system, server)


def index(platform_url: str, system: StubSystem) -> None:
    """One Update with a post per booking and invitation, as the booking system sends it to the index."""
    posts = []
    for slot in system.bookings.values():
        values = {"registeredResidentIdentification": slot.subject_of_care, "serviceDomain": "riv:crm:scheduling",
                  "categorization": "Invitation" if slot.is_invitation else "Booking",
                  "logicalAddress": slot.healthcare_facility, "businessObjectInstanceIdentifier": slot.booking_id,
                  "clinicalProcessInterestId": f"{slot.booking_id}-cpi",
                  "mostRecentContent": slot.start or ts(datetime.now()), "sourceSystem": BOOKING_SYSTEM_ID,
                  "dataController": BOOKING_SYSTEM_ID}
        fields = "".join(f"<core:{k}>{escape(v)}</core:{k}>" for k, v in values.items())
        posts.append(f"<engagementTransaction><core:deleteFlag>false</core:deleteFlag><core:engagement>{fields}"
                     f"</core:engagement></engagementTransaction>")
    body = (f'<s:Envelope xmlns:s="{SOAP11}" xmlns:itr="urn:riv:itintegration:registry:1"><s:Header>'
            f"<itr:LogicalAddress>{EI_OWNER}</itr:LogicalAddress></s:Header><s:Body>"
            f'<Update xmlns="{UPDATE}" xmlns:core="{EI_CORE}">{"".join(posts)}</Update></s:Body></s:Envelope>')
    r = requests.post(platform_url + "/vp", data=body.encode(), timeout=30,
                      headers={"Content-Type": "text/xml; charset=UTF-8", "x-vp-sender-id": BOOKING_SYSTEM_ID,
                               "SOAPAction": f"{UPDATE}:Update"})
    assert r.status_code == 200, r.text


def _example() -> Callable[..., Any] | None:
    """examples/booking_system's ``start`` when it is there (this file's stub stands in otherwise)."""
    path = ROOT / "examples" / "booking_system" / "booking_system.py"
    if not path.is_file():
        return None
    name = "example_booking_system"
    module = sys.modules.get(name)
    if module is None:
        spec = importlib.util.spec_from_file_location(name, path)
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module  # before it runs: its dataclasses look their module up
        spec.loader.exec_module(module)
    return getattr(module, "start", None)


BOOKING_SYSTEM = _example() or stub_start


# -- the platform in front of it ----------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def tak_file(tmp_path: Path, routes: dict[str, str]) -> Path:
    """The built-in TAK (the inbox, the index) with crm:scheduling at each unit routed to ``routes[unit]``."""
    builtin = (builtin_fixtures_dir() / "tak.toml").read_text(encoding="utf-8")
    parts = [builtin[: builtin.index("# --- Web booking")]]
    quoted = "[\n" + "".join(f'  "{c}",\n' for c in CONTRACTS) + "]"
    for unit, url in routes.items():
        parts.append(f'[[route]]\ncontracts = {quoted}\nlogical_address = "{unit}"\naddress = "{url}"\n'
                     f'profile = "RIVTABP21"\n\n[[authorisation]]\nconsumer = "SE5565594230-1177"\n'
                     f'contracts = {quoted}\nlogical_address = "{unit}"\n\n')
    path = tmp_path / f"tak{len(list(tmp_path.glob('tak*.toml')))}.toml"
    path.write_text("".join(parts), encoding="utf-8")
    return path


@dataclass
class Site:
    """The platform (``platform.url``, ``platform.app``) and the booking system behind it."""

    platform: Any
    booking: Any

    @property
    def url(self) -> str:
        return self.platform.url

    def get(self, path: str, **params: str) -> requests.Response:
        return requests.get(self.url + path, params=params, timeout=30)

    def page(self, path: str, **params: str) -> lxml_html.HtmlElement:
        r = self.get(path, **params)
        assert r.status_code == 200, r.text[:2000]
        return lxml_html.fromstring(r.text)

    def post(self, path: str, data: dict[str, str], headers: dict[str, str] | None = None) -> requests.Response:
        """A form of the pages, as a browser sends it from them (its Origin is this site)."""
        sent = {"Origin": self.url, **FORM, **(headers or {})}
        return requests.post(self.url + path, data=data, headers=sent, timeout=30, allow_redirects=False)

    def sent(self, operation: str) -> list[dict[str, Any]]:
        """What 1177 sent to the booking system for ``operation``, oldest first, read from the journal:
        fields by local name, requestedTimeslot as a Timeslot, other containers as dicts."""
        out = []
        for exchange in self.platform.app.journal.iter_exchanges(contract=responder(operation)):
            request = next(iter(parse(exchange.request_body).find(f"{{{SOAP11}}}Body")))
            fields: dict[str, Any] = {}
            for child in request:
                name = local_name(child)
                if name == "requestedTimeslot":
                    fields[name] = read_timeslot(child)
                else:
                    fields[name] = {local_name(g): text_value(g) for g in child} if len(child) else text_value(child)
            out.append(fields)
        return out

    def calls(self) -> int:
        """The crm:scheduling calls in the journal."""
        return sum(1 for e in self.platform.app.journal.iter_exchanges()
                   if (e.contract or "").startswith("urn:riv:crm:scheduling"))


@pytest.fixture
def start_site(start_platform, tmp_path) -> Iterator[Callable[..., Site]]:
    stopped = []

    def start(booking: Callable[..., Any] = BOOKING_SYSTEM, fixtures: Path | None = None,
              routes: dict[str, str] | None = None) -> Site:
        port = free_port()
        url = f"http://127.0.0.1:{port}/scheduling"
        platform = start_platform(tak=tak_file(tmp_path, {UNIT_A: url, UNIT_C: url, **(routes or {})}),
                                  fixtures=fixtures)
        running = booking(port=port, platform_url=platform.url, fixtures=fixtures)
        stopped.append(running)
        platform.app.outbox.wait_idle(20)  # the index's notifications of the start-up Update, 1177's messages
        return Site(platform, running)

    yield start
    for running in stopped:
        running.stop()


@pytest.fixture
def site(start_site) -> Site:
    return start_site()


@pytest.fixture
def stub_site(start_site) -> Site:
    """A site with this file's stub, whatever BOOKING_SYSTEM is: for answers a test sets."""
    return start_site(booking=stub_start)


def text(element) -> str:
    return " ".join(element.text_content().split())


def details_path(unit: str, booking_id: str, action: str = "") -> str:
    return f"/ui/bookings/{quote(unit, safe='')}/{quote(booking_id, safe='')}" + (f"/{action}" if action else "")


def rows(doc, list_id: str) -> list[dict[str, str]]:
    """The rows of a booking list as the citizen reads them; [] when the page has no such list."""
    out = []
    for li in css(doc, f"#{list_id} li.booking"):
        def part(selector: str, li=li) -> str:
            found = css(li, selector)
            return text(found[0]) if found else ""

        out.append({"when": part(".booking-when"), "unit": part(".booking-unit"),
                    "time_type": part(".booking-time-type"), "care_type": part(".booking-care-type"),
                    "performer": part(".booking-performer"), "kallelse": part(".badge-invitation"),
                    "href": css(li, "a")[0].get("href")})
    return out


def first_free_time(site: Site, unit: str, booking_id: str, citizen: str) -> tuple[str, dict[str, str]]:
    """The times page's first day with free times, and the form of its first free time."""
    doc = site.page(details_path(unit, booking_id, "times"), citizen=citizen)
    day = css(doc, "#day-list a.day-link")[0].get("data-date")
    doc = site.page(details_path(unit, booking_id, "times"), citizen=citizen, date=day)
    return day, {i.get("name"): i.get("value") for i in css(css(doc, "#slot-list li.slot")[0], "input")}


# -- the list -----------------------------------------------------------------------------------------


def test_the_list_shows_the_schedule_of_every_unit_and_the_open_invitations_from_the_index(site):
    doc = site.page("/ui/bookings", citizen="19121212-1212")
    booked = rows(doc, "booking-list")
    seven = today() + timedelta(days=7)
    assert booked == [{"when": f"{day_text(seven)} kl. 09:30–10:00", "unit": "Vårdcentralen Exempelby",
                       "time_type": "Mottagningsbesök", "care_type": "Läkarbesök", "performer": "", "kallelse": "",
                       "href": f"{details_path(UNIT_A, 'BK-1001')}?citizen={TOLVAN}"}]
    assert css(doc, "#booking-list time")[0].get("datetime") == f"{seven:%Y-%m-%d}T09:30"
    invitations = rows(doc, "invitation-list")
    assert [(r["unit"], r["time_type"], r["care_type"], r["kallelse"]) for r in invitations] == [
        ("Hudmottagningen Exempelstad", "Nybesök", "Hudläkarbesök", "Kallelse")]
    assert invitations[0]["href"].startswith(details_path(UNIT_C, "BK-1002"))
    assert not css(doc, ".unit-problem")
    # every unit's schedule, through the platform; the open invitation read with GetBookingDetails
    assert sorted(f["healthcare_facility"] for f in site.sent("GetSubjectOfCareSchedule")) == [UNIT_A, UNIT_C]
    assert {f["bookingId"] for f in site.sent("GetBookingDetails")} >= {"BK-1002"}


def test_a_timed_invitation_is_in_the_list_with_the_kallelse_marker(site):
    doc = site.page("/ui/bookings", citizen=ANNA)
    booked = rows(doc, "booking-list")
    assert [(r["unit"], r["kallelse"]) for r in booked] == [("Vårdcentralen Exempelby", "Kallelse")]
    assert booked[0]["when"].endswith("kl. 14:00–14:20")
    assert not css(doc, "#invitation-list") and css(doc, "#no-invitations")


def test_the_picker_lists_the_citizens_and_says_when_a_value_is_no_personnummer(site):
    doc = site.page("/ui/bookings")
    assert [o.get("value") for o in css(doc, "#citizen option")][:2] == [TOLVAN, ANNA]
    assert not css(doc, "#booking-list")
    assert "inget personnummer" in text(css(site.page("/ui/bookings", citizen="nonsense"), ".notice")[0])
    unknown = site.page("/ui/bookings", citizen="190101019801")
    assert "finns inte bland testdatan" in text(css(unknown, ".notice")[0])


def test_a_unit_answering_with_a_fault_is_named_with_its_fault_and_the_others_are_listed(start_site, producer):
    producer.behaviour.status = 500
    producer.behaviour.body = fault("Bokningssystemet är ur funktion").encode()
    producer.behaviour.headers = {"Content-Type": "text/xml; charset=UTF-8"}
    site = start_site(routes={UNIT_C: producer.url})
    doc = site.page("/ui/bookings", citizen=TOLVAN)
    problems = css(doc, ".unit-problem")
    assert len(problems) == 1 and problems[0].get("data-unit") == UNIT_C  # once, not again for its invitation
    notice = text(problems[0])
    assert "Hudmottagningen Exempelstad" in notice and UNIT_C in notice
    assert "Bokningssystemet är ur funktion" in notice
    assert [r["unit"] for r in rows(doc, "booking-list")] == ["Vårdcentralen Exempelby"]


# -- one booking --------------------------------------------------------------------------------------


def test_details_show_the_booking_its_purpose_and_the_actions_its_flags_allow(site):
    doc = site.page(details_path(UNIT_A, "BK-1001"), citizen=TOLVAN)
    assert text(doc.get_element_by_id("booking-heading")) == "Bokad tid"
    assert text(doc.get_element_by_id("booking-unit")) == "Vårdcentralen Exempelby"
    assert text(doc.get_element_by_id("booking-time-type")) == "Mottagningsbesök"
    assert text(doc.get_element_by_id("booking-purpose")) == "Årlig kontroll av blodtryck"
    assert doc.get_element_by_id("booking-when").text_content().endswith("kl. 09:30–10:00")
    assert css(doc, "#cancel-form button#cancel") and css(doc, "a#rebook") and not css(doc, "a#book")
    assert doc.get_element_by_id("cancel-form").get("method") == "post"


def test_an_open_invitation_offers_boka_tid_and_no_omboka(site):
    doc = site.page(details_path(UNIT_C, "BK-1002"), citizen=TOLVAN)
    assert text(doc.get_element_by_id("booking-heading")).startswith("Kallelse: boka en tid")
    assert text(doc.get_element_by_id("booking-when")) == "Ingen tid bokad ännu"
    assert "födelsemärke" in text(doc.get_element_by_id("booking-purpose"))
    assert css(doc, "a#book") and not css(doc, "a#rebook")


def test_a_booking_whose_flags_allow_nothing_shows_no_action(site):
    doc = site.page(details_path(UNIT_A, "BK-1004"), citizen=CECILIA)
    assert not css(doc, "#cancel-form") and not css(doc, "a#rebook") and not css(doc, "a#book")
    assert css(doc, "#no-actions")


def test_another_citizens_booking_is_not_shown(site):
    doc = site.page(details_path(UNIT_A, "BK-1001"), citizen=ANNA)
    assert css(doc, "#booking-problem") and not css(doc, "#booking") and not css(doc, "#cancel-form")


def test_a_unit_not_connected_to_web_booking_is_never_called(site):
    before = site.calls()
    r = site.get(details_path("SE2321000016-X9Z8", "BK-1001"), citizen=TOLVAN)
    assert r.status_code == 404 and "inte ansluten" in r.text
    assert site.calls() == before


# -- cancel -------------------------------------------------------------------------------------------


def test_cancel_calls_cancelbooking_and_puts_the_avbokad_message_in_the_inbox(site):
    r = site.post(details_path(UNIT_A, "BK-1001", "cancel"), {"citizen": TOLVAN})
    assert r.status_code == 200, r.text
    doc = lxml_html.fromstring(r.text)
    assert text(doc.get_element_by_id("outcome-heading")).startswith("Tiden är avbokad")
    assert doc.get_element_by_id("inbox-link").get("href") == f"/ui/inbox?citizen={TOLVAN}"
    assert [(f["healthcare_facility"], f["bookingId"]) for f in site.sent("CancelBooking")] == [(UNIT_A, "BK-1001")]
    inbox = site.page("/ui/inbox", citizen=TOLVAN)
    assert "Avbokad tid" in [text(h) for h in css(inbox, ".case-heading")]
    cancelled = [m for c in InboxStore(site.platform.app.journal).cases(TOLVAN) for m in c["messages"]
                 if m["description"] == "Avbokad tid"]
    assert len(cancelled) == 1 and "Vårdcentralen Exempelby" in cancelled[0]["text"]
    assert "kl. 09:30" in cancelled[0]["text"]
    assert not rows(site.page("/ui/bookings", citizen=TOLVAN), "booking-list")


@pytest.mark.parametrize(("code", "cancelled"), [("ERROR", False), ("INFO", True)])
def test_the_booking_systems_text_is_shown_when_it_answers_error_or_info(stub_site, code, cancelled):
    stub_site.booking.system.refuse["CancelBooking"] = (code, "Avboka senast 24 timmar före besöket <b>alltid</b>.")
    r = stub_site.post(details_path(UNIT_A, "BK-1001", "cancel"), {"citizen": TOLVAN})
    doc = lxml_html.fromstring(r.text)
    assert text(doc.get_element_by_id("result-text")) == "Avboka senast 24 timmar före besöket <b>alltid</b>."
    assert "<b>alltid</b>" not in r.text  # shown as text
    heading = text(doc.get_element_by_id("outcome-heading"))
    assert heading.startswith("Tiden är avbokad" if cancelled else "Tiden kunde inte avbokas")
    inbox = [m["description"] for c in InboxStore(stub_site.platform.app.journal).cases(TOLVAN)
             for m in c["messages"]]
    assert ("Avbokad tid" in inbox) is cancelled


def test_cancel_is_not_sent_when_the_flags_do_not_allow_it(site):
    r = site.post(details_path(UNIT_A, "BK-1004", "cancel"), {"citizen": CECILIA})
    assert r.status_code == 200 and "går inte att avboka" in r.text
    assert not site.sent("CancelBooking")


# -- rebook and book ----------------------------------------------------------------------------------


def test_rebook_lists_free_days_and_times_and_moves_the_booking_with_updatebooking(site):
    doc = site.page(details_path(UNIT_A, "BK-1001", "times"), citizen=TOLVAN)
    first, last = today(), today() + timedelta(days=WINDOW_DAYS - 1)
    days = [(a.get("data-date"), text(a)) for a in css(doc, "#day-list a.day-link")]
    assert days and days == sorted(days) and all(f"{first:%Y%m%d}" <= d <= f"{last:%Y%m%d}" for d, _ in days)
    assert all(t == day_text(datetime.strptime(d, "%Y%m%d").date()) for d, t in days)
    asked = site.sent("GetAvailableDates")[-1]
    assert (asked["bookingId"], asked["timeTypeID"]) == ("BK-1001", "T1")
    assert (asked["startDateInclusive"], asked["endDateInclusive"]) == (f"{first:%Y%m%d}", f"{last:%Y%m%d}")
    day = days[-1][0]
    doc = site.page(details_path(UNIT_A, "BK-1001", "times"), citizen=TOLVAN, date=day)
    slots = css(doc, "#slot-list li.slot")
    whens = [text(css(s, ".slot-when")[0]) for s in slots]
    assert whens and all(w.startswith(f"{day_text(datetime.strptime(day, '%Y%m%d').date())} kl. ") for w in whens)
    timeslots = site.sent("GetAvailableTimeslots")[-1]
    assert (timeslots["bookingId"], timeslots["startDateInclusive"], timeslots["endDateInclusive"]) == (
        "BK-1001", day, day)
    form = {i.get("name"): i.get("value") for i in css(slots[-1], "input")}
    r = site.post(details_path(UNIT_A, "BK-1001", "book"), form)
    assert r.status_code == 200, r.text
    done = lxml_html.fromstring(r.text)
    assert text(done.get_element_by_id("outcome-heading")).startswith("Tiden är ombokad"), r.text
    wanted = site.sent("UpdateBooking")[-1]["requestedTimeslot"]
    assert (wanted.booking_id, wanted.start, wanted.end) == ("BK-1001", form["start"], form["end"])
    assert not site.sent("MakeBooking")
    moved = site.page(details_path(UNIT_A, "BK-1001"), citizen=TOLVAN)
    assert text(moved.get_element_by_id("booking-when")) == time_text(form["start"], form["end"])


def test_book_from_an_open_invitation_with_makebooking(site):
    doc = site.page(details_path(UNIT_C, "BK-1002", "times"), citizen=TOLVAN)
    asked = site.sent("GetAvailableDates")[-1]
    assert "bookingId" not in asked and asked["timeTypeID"] == "T2"  # booking, not rebooking
    assert css(doc, "#day-list a.day-link")
    day, form = first_free_time(site, UNIT_C, "BK-1002", TOLVAN)
    r = site.post(details_path(UNIT_C, "BK-1002", "book"), form)
    done = lxml_html.fromstring(r.text)
    assert text(done.get_element_by_id("outcome-heading")).startswith("Tiden är bokad"), r.text
    made = site.sent("MakeBooking")[-1]
    assert made["healthcare_facility_med"] == UNIT_C
    assert (made["requestedTimeslot"].booking_id, made["requestedTimeslot"].start) == ("BK-1002", form["start"])
    assert made["requestedTimeslot"].subject_of_care == TOLVAN
    assert made["subject_of_care_info"] == {"firstName": "Tolvan", "lastName": "Tolvansson"}  # the fixtures' name
    assert not site.sent("UpdateBooking")
    booked = done.get_element_by_id("booked-link").get("href")
    assert booked.startswith(f"/ui/bookings/{UNIT_C}/")
    shown = lxml_html.fromstring(requests.get(site.url + booked, timeout=30).text)
    assert text(shown.get_element_by_id("booking-heading")) == "Bokad tid"
    assert text(shown.get_element_by_id("booking-when")) == time_text(form["start"], form["end"])
    listed = site.page("/ui/bookings", citizen=TOLVAN)
    assert len(rows(listed, "booking-list")) == 2 and not rows(listed, "invitation-list")


def test_a_refused_booking_shows_the_booking_systems_text(stub_site):
    stub_site.booking.system.refuse["MakeBooking"] = ("ERROR", "Tiden är inte längre ledig.")
    _, form = first_free_time(stub_site, UNIT_C, "BK-1002", TOLVAN)
    r = stub_site.post(details_path(UNIT_C, "BK-1002", "book"), form)
    doc = lxml_html.fromstring(r.text)
    assert text(doc.get_element_by_id("outcome-heading")).startswith("Tiden kunde inte bokas")
    assert text(doc.get_element_by_id("result-text")) == "Tiden är inte längre ledig."
    assert "BK-1002" in stub_site.booking.system.bookings


def test_rebooking_is_not_sent_when_the_flags_do_not_allow_it(site):
    day = f"{today() + timedelta(days=1):%Y%m%d}"
    r = site.post(details_path(UNIT_A, "BK-1004", "book"),
                  {"citizen": CECILIA, "start": f"{day}100000", "end": f"{day}103000"})
    assert r.status_code == 200 and "går inte att omboka" in r.text
    assert not site.sent("UpdateBooking") and not site.sent("MakeBooking")
    assert "går inte att omboka" in site.get(details_path(UNIT_A, "BK-1004", "times"), citizen=CECILIA).text
    assert not site.sent("GetAvailableDates")


def test_a_chosen_time_that_is_no_time_is_refused_before_any_call(site):
    r = site.post(details_path(UNIT_A, "BK-1001", "book"), {"citizen": TOLVAN, "start": "tomorrow", "end": "x"})
    assert r.status_code == 400 and "Välj en av de lediga tiderna" in r.text
    assert not site.sent("UpdateBooking")


# -- untrusted content --------------------------------------------------------------------------------


HOSTILE_UNIT = "<script>alert('unit')</script>Vårdcentralen"
HOSTILE_PURPOSE = "Årlig kontroll <script>alert('purpose')</script>"  # plain text: not DocBook
HOSTILE_DOCBOOK = ('<article><para>Läs <ulink url="javascript:alert(1)">här</ulink> och '
                   '<ulink url="https://www.1177.se/">på 1177</ulink>.</para></article>')


def hostile_fixtures(tmp_path: Path) -> Path:
    source = (builtin_fixtures_dir() / "inbox.toml").read_text(encoding="utf-8")
    replaced = {
        'name = "Vårdcentralen Exempelby"': f'name = "{HOSTILE_UNIT}"',
        'purpose = "Årlig kontroll av blodtryck"': f'purpose = "{HOSTILE_PURPOSE}"',
        'purpose = "Uppföljande samtal"': "purpose = \"<script>alert('docbook?')</script>\"",
        'time_type_name = "Nybesök"': 'time_type_name = "<img src=x onerror=alert(2)>"',
    }
    for old, new in replaced.items():
        assert old in source, old
        source = source.replace(old, new)
    start = source.index('purpose = "Du är kallad')
    source = source[:start] + f"purpose = '{HOSTILE_DOCBOOK}'" + source[source.index("\n", start):]
    path = tmp_path / "hostile.toml"
    path.write_text(source, encoding="utf-8")
    return path


def test_everything_the_booking_system_sends_is_escaped_and_only_http_links_are_links(start_site, tmp_path):
    site = start_site(booking=stub_start, fixtures=hostile_fixtures(tmp_path))
    site.booking.system.performer_name = '"><script>alert("performer")</script>'
    day = f"{site.booking.system.free_days()[0]:%Y%m%d}"
    pages = [("/ui/bookings", {"citizen": TOLVAN}),
             (details_path(UNIT_A, "BK-1001"), {"citizen": TOLVAN}),
             (details_path(UNIT_C, "BK-1002"), {"citizen": TOLVAN}),
             (details_path(UNIT_A, "BK-1004"), {"citizen": CECILIA}),
             (details_path(UNIT_A, "BK-1001", "times"), {"citizen": TOLVAN, "date": day})]
    for path, params in pages:
        r = site.get(path, **params)
        assert r.status_code == 200, path
        assert "<script" not in r.text and "<img" not in r.text, path
        doc = lxml_html.fromstring(r.text)
        assert not css(doc, "script") and not css(doc, "img"), path
        hrefs = doc.xpath("//a/@href")
        assert all(h.startswith(("/", "https://", "http://")) for h in hrefs), (path, hrefs)
    listed = site.page("/ui/bookings", citizen=TOLVAN)
    assert HOSTILE_UNIT in text(listed.get_element_by_id("booking-list"))  # shown as text
    details = site.page(details_path(UNIT_A, "BK-1001"), citizen=TOLVAN)
    assert text(details.get_element_by_id("booking-purpose")) == HOSTILE_PURPOSE
    # a purpose starting with '<' is DocBook to 1177: outside the subset, the citizen sees the mismatch text
    starting = site.page(details_path(UNIT_A, "BK-1004"), citizen=CECILIA)
    assert text(starting.get_element_by_id("booking-purpose")) == MISMATCH_TEXT
    invitation = site.page(details_path(UNIT_C, "BK-1002"), citizen=TOLVAN)
    purpose = invitation.get_element_by_id("booking-purpose")
    assert [a.get("href") for a in css(purpose, "a")] == ["https://www.1177.se/"]
    assert text(css(purpose, ".inert-link")[0]) == "här"
    assert text(invitation.get_element_by_id("booking-time-type")) == "<img src=x onerror=alert(2)>"
    times = site.page(details_path(UNIT_A, "BK-1001", "times"), citizen=TOLVAN, date=day)
    assert text(css(times, ".slot-who")[0]) == '"><script>alert("performer")</script>'


def test_a_booking_id_that_looks_like_a_link_stays_a_path_below_the_pages(stub_site):
    bookings = stub_site.booking.system.bookings
    slot = bookings.pop("BK-1001")
    slot.booking_id = "javascript:alert(1)//x/../y"
    bookings[slot.booking_id] = slot
    href = rows(stub_site.page("/ui/bookings", citizen=TOLVAN), "booking-list")[0]["href"]
    assert href.startswith(f"/ui/bookings/{UNIT_A}/javascript%3Aalert%281%29%2F%2Fx%2F..%2Fy?")
    opened = lxml_html.fromstring(requests.get(stub_site.url + href, timeout=30).text)
    assert text(opened.get_element_by_id("booking-heading")) == "Bokad tid"


def test_every_answer_of_the_booking_system_is_schema_valid(site):
    """The booking system answers what crm:scheduling says: each answer it gave in these flows passes the
    validator the platform judges with (so the pages are tested on valid answers)."""
    site.page("/ui/bookings", citizen=TOLVAN)
    first_free_time(site, UNIT_A, "BK-1001", TOLVAN)
    site.post(details_path(UNIT_A, "BK-1001", "cancel"), {"citizen": TOLVAN})
    app = site.platform.app
    checked = set()
    for exchange in app.journal.iter_exchanges():
        if exchange.http_status != 200 or not (exchange.contract or "").startswith("urn:riv:crm:scheduling"):
            continue
        payload = read_answer(exchange.response_body).payload
        assert app.contracts.get(exchange.contract).validator.findings(payload) == [], exchange.contract
        checked.add(exchange.contract)
    assert len(checked) == 5  # schedule, details, dates, times, cancel


# -- POST to the pages: the core ----------------------------------------------------------------------


@pytest.mark.parametrize(("headers", "reason"), [
    ({"Origin": "http://evil.example"}, "its Origin 'http://evil.example' is not http://127.0.0.1:"),
    ({"Origin": "null"}, "Origin is null"),
    ({"Referer": "http://evil.example/ui/bookings"}, "its Referer 'http://evil.example/ui/bookings' is not"),
    ({}, "neither an Origin nor a Referer"),
    ({"Origin": "https://127.0.0.1"}, "is not http://"),  # another scheme
    ({"Origin": "http://127.0.0.1"}, "is not http://"),  # another port
])
def test_a_post_from_another_site_is_refused_before_any_call(site, headers, reason):
    before = site.calls()
    r = requests.post(site.url + details_path(UNIT_A, "BK-1001", "cancel"), data={"citizen": TOLVAN},
                      headers={**FORM, **headers}, timeout=30)
    assert r.status_code == 403 and reason in r.text and "Formuläret tas bara emot" in r.text
    assert site.calls() == before and not site.sent("CancelBooking")
    assert rows(site.page("/ui/bookings", citizen=TOLVAN), "booking-list")


@pytest.mark.parametrize(("scheme", "host", "url", "same"), [
    ("http", "127.0.0.1:8080", "http://127.0.0.1:8080", True),
    ("http", "LocalHost:8080", "http://localhost:8080/ui/bookings?citizen=1", True),  # a Referer, any case
    ("http", "localhost", "http://localhost:80", True), ("https", "localhost:443", "https://localhost", True),
    ("https", "[::1]:8443", "https://[::1]:8443", True),
    ("http", "localhost:8080", "http://localhost:8081", False),
    ("http", "localhost:8080", "https://localhost:8080", False),
    ("http", "localhost:8080", "http://localhost.evil.example:8080", False),
    ("http", "localhost:8080", "http://evil@localhost:8080", False), ("http", "localhost:8080", "null", False),
    ("http", "localhost:8080", "file://localhost:8080", False), ("http", "localhost:8080", "http://localhost:x", False),
    ("http", "", "http://localhost", False),
])
def test_from_this_site_is_one_rule_for_the_pages_and_the_admin_api(scheme, host, url, same):
    request = Request("POST", "/ui/x", [("Host", host)] if host else [], scheme=scheme)
    assert from_this_site(request, url) is same


def test_a_post_with_the_pages_own_referer_and_no_origin_is_taken(site):
    referer = f"{site.url}{details_path(UNIT_A, 'BK-1001')}?citizen={TOLVAN}"
    r = requests.post(site.url + details_path(UNIT_A, "BK-1001", "cancel"), data={"citizen": TOLVAN},
                      headers={**FORM, "Referer": referer}, timeout=30)
    assert r.status_code == 200 and "Tiden är avbokad" in r.text


def test_a_method_a_page_does_not_answer_is_405_with_allow(site):
    r = site.post("/ui/bookings", {"citizen": TOLVAN})
    assert r.status_code == 405 and r.headers["Allow"] == "GET, HEAD"
    r = site.get(details_path(UNIT_A, "BK-1001", "cancel"), citizen=TOLVAN)
    assert r.status_code == 405 and r.headers["Allow"] == "POST"
    assert site.post("/ui/journal", {}).status_code == 405
    assert site.post("/ui", {}).status_code == 405
    assert site.post("/ui/nothing-here", {}).status_code == 404
    assert not site.sent("CancelBooking")


def test_posts_to_the_pages_stay_out_of_the_journal_and_the_calls_they_make_are_in_it(site):
    site.post(details_path(UNIT_A, "BK-1001", "cancel"), {"citizen": TOLVAN})
    site.post("/ui/bookings", {})
    site.post("/ui/nothing-here", {})
    site.post(details_path(UNIT_A, "BK-1001", "cancel"), {"citizen": TOLVAN}, headers={"Origin": "http://evil"})
    exchanges = list(site.platform.app.journal.iter_exchanges())
    assert not [e for e in exchanges if e.path.startswith("/ui")]
    assert [e for e in exchanges if e.contract == responder("CancelBooking")]
    r = requests.post(site.url + "/nowhere", data=b"x", timeout=30)  # outside /ui: journaled as before
    assert r.status_code == 404
    assert [e.path for e in site.platform.app.journal.iter_exchanges()][-1] == "/nowhere"


def test_the_forms_pages_send_their_origin_to_this_site_only(site):
    for path in (details_path(UNIT_A, "BK-1001"), details_path(UNIT_A, "BK-1001", "times")):
        r = site.get(path, citizen=TOLVAN)
        assert r.headers["Referrer-Policy"] == "same-origin", path
        assert css(lxml_html.fromstring(r.text), "meta[name='referrer']")[0].get("content") == "same-origin"
    r = site.get("/ui/bookings", citizen=TOLVAN)
    assert r.headers["Referrer-Policy"] == "no-referrer"


@pytest.mark.parametrize(("mode", "status"), [("loopback", 403), ("off", 404)])
def test_the_ui_setting_applies_to_posts(tmp_path, mode, status):
    app = Application(Config(journal=tmp_path / "j.sqlite", settings=Settings(ui=mode)))
    try:
        request = Request("POST", details_path(UNIT_A, "BK-1001", "cancel"),
                          [("Host", "203.0.113.5:8080"), ("Origin", "http://203.0.113.5:8080"), *FORM.items()],
                          body=f"citizen={TOLVAN}".encode(), client="203.0.113.9:5000")
        assert route(app, request).status == status
        assert app.journal.count() == 0  # neither the POST nor a call to the booking system
    finally:
        app.close()


# -- in a real browser --------------------------------------------------------------------------------


NO_BROWSER = why_no_browser()
needs_browser = pytest.mark.skipif(NO_BROWSER is not None, reason=NO_BROWSER or "")


@pytest.fixture(scope="module")
def browser() -> Iterator:
    """One headless Chromium for the module."""
    yield from headless_chromium()


def wait_for(driver, selector: str):
    from selenium.webdriver.support.ui import WebDriverWait

    return WebDriverWait(driver, 10, poll_frequency=0.1).until(lambda d: d.find_elements("css selector", selector))[0]


@needs_browser
def test_browser_list_details_cancel_and_the_inbox(browser, site):
    browser.get(f"{site.url}/ui/bookings?citizen={TOLVAN}")
    row = wait_for(browser, "#booking-list li.booking a.booking-link")
    assert "Vårdcentralen Exempelby" in row.text
    row.click()
    assert wait_for(browser, "#booking-heading").text == "Bokad tid"
    assert browser.find_element("id", "booking-purpose").text == "Årlig kontroll av blodtryck"
    browser.find_element("id", "cancel").click()  # the form's POST: Chromium sends this site as its Origin
    assert wait_for(browser, "#outcome-heading").text.startswith("Tiden är avbokad")
    assert [f["bookingId"] for f in site.sent("CancelBooking")] == ["BK-1001"]
    browser.find_element("id", "inbox-link").click()
    wait_for(browser, "#case-list")
    assert "Avbokad tid" in [e.text for e in browser.find_elements("css selector", "#case-list .case-heading")]


@needs_browser
def test_browser_book_a_time_from_an_open_invitation(browser, site):
    browser.get(f"{site.url}/ui/bookings?citizen={TOLVAN}")
    wait_for(browser, "#invitation-list a.booking-link").click()
    wait_for(browser, "a#book").click()
    wait_for(browser, "#day-list a.day-link").click()
    choose = wait_for(browser, "#slot-list button.slot-choose")
    start = choose.get_attribute("data-start")
    choose.click()
    assert wait_for(browser, "#outcome-heading").text.startswith("Tiden är bokad")
    made = site.sent("MakeBooking")[-1]["requestedTimeslot"]
    assert (made.booking_id, made.start) == ("BK-1002", start)
    browser.find_element("id", "booked-link").click()
    assert wait_for(browser, "#booking-heading").text == "Bokad tid"
    assert browser.find_element("id", "booking-when").text == time_text(made.start, made.end)

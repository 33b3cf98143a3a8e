"""The example booking system against a real mockplatform, over real HTTP both ways: 1177 (the platform's
``Scheduling`` client) calls it through the platform, it sends its Updates to the platform's /vp, the fake
national index keeps the posts, and 1177's subscriber calls GetBookingDetails back on it.

Every answer of the booking system and every Update it sent must pass the contract package's schema; the
broken variant must really show each of its seven planted mistakes.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import requests
from booking_system import Running, start
from lxml import etree

from mockplatform import Application, Config, Settings
from mockplatform.domains.engagementindex.store import IndexStore
from mockplatform.domains.webbooking.client import Answered, Scheduling
from mockplatform.domains.webbooking.messages import Timeslot, field_xml
from mockplatform.domains.webbooking.names import CONTRACTS, responder
from mockplatform.envelope import read_answer
from mockplatform.server import start_in_thread

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
FIXTURES = REPO / "fixtures" / "inbox.toml"
BUILTIN_ADDRESS = "http://127.0.0.1:8089/scheduling"
UPDATE_NS = "urn:riv:itintegration:engagementindex:UpdateResponder:1"
HSA_ID = "SE2321000016-BOKA"
A, C = "SE2321000016-A1B2", "SE2321000016-C3D4"
TOLVAN, ANNA, CECILIA = "191212121212", "198505133283", "200103292389"
ZONE = ZoneInfo("Europe/Stockholm")


def swedish_now() -> datetime:
    return datetime.now(ZONE).replace(tzinfo=None)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class World:
    app: Application
    platform_url: str
    booking: Running
    s: Scheduling

    def settle(self) -> None:
        """Every Update answered, and every follow-up (notification, 1177's GetBookingDetails) run."""
        assert self.booking.system.wait_idle(20)
        assert self.app.outbox.wait_idle(20)

    def posts(self) -> dict[tuple[str, str], dict]:
        """The index's posts by (bookingId, categorization)."""
        self.settle()
        posts = IndexStore(self.app.journal).posts()
        keyed = {(p["businessObjectInstanceIdentifier"], p["categorization"]): p for p in posts}
        assert len(keyed) == len(posts), "one booking or invitation = exactly one post"
        return keyed

    def updates(self) -> list:
        return self.app.journal.exchanges(contract=UPDATE_NS)


@pytest.fixture
def start_world(tmp_path):
    started: list[tuple] = []

    def make(broken: bool = False) -> World:
        port = free_port()
        builtin = (REPO / "fixtures" / "tak.toml").read_text(encoding="utf-8")
        assert BUILTIN_ADDRESS in builtin
        tak = tmp_path / "tak.toml"
        tak.write_text(builtin.replace(BUILTIN_ADDRESS, f"http://127.0.0.1:{port}/scheduling"), encoding="utf-8")
        app = Application(Config(journal=tmp_path / "journal.sqlite", tak=tak, settings=Settings()))
        server = start_in_thread(app)
        started.append((app, server, None))
        booking = start(port=port, platform_url=server.url, fixtures=FIXTURES, broken=broken)
        started[-1] = (app, server, booking)
        return World(app, server.url, booking, Scheduling(app))

    yield make
    for app, server, booking in started:
        if booking is not None:
            booking.stop()
        server.shutdown()
        server.server_close()
        app.close()


@pytest.fixture
def world(start_world) -> World:
    return start_world()


@pytest.fixture
def broken(start_world) -> World:
    return start_world(broken=True)


def assert_schema_valid(world: World) -> int:
    """Every crm:scheduling answer from the booking system and every Update it sent passes the package's
    schema, and no answer holds an empty element. Returns how many were checked."""
    checked = 0
    scheduling = {c.lower() for c in CONTRACTS}
    for exchange in world.app.journal.exchanges():
        contract = (exchange.contract or "").lower()
        if contract in scheduling:
            answer = read_answer(exchange.response_body)
            assert answer is not None, exchange.response_body
            if answer.is_fault:
                continue
            body = exchange.response_body
        elif contract == UPDATE_NS.lower():
            answer = read_answer(exchange.request_body)
            body = exchange.request_body
        else:
            continue
        findings = world.app.contracts.get(exchange.contract).validator.findings(answer.payload)
        assert findings == [], (body, [f.message_en for f in findings])
        empty = [etree.QName(e).localname for e in answer.payload.iterdescendants()
                 if len(e) == 0 and not (e.text or "").strip()]
        assert empty == [], (body, empty)
        checked += 1
    return checked


def at(days: int, hhmm: str) -> str:
    day = swedish_now().date() + timedelta(days=days)
    return day.strftime("%Y%m%d") + hhmm.replace(":", "") + "00"


def first_day_last_day() -> tuple[str, str]:
    today = swedish_now().date()
    return today.strftime("%Y%m%d"), (today + timedelta(days=14)).strftime("%Y%m%d")


def free_times(world: World, unit: str, citizen: str, **kw) -> list[Timeslot]:
    answered = world.s.available_timeslots(unit, citizen, *first_day_last_day(), **kw)
    assert answered.ok, answered.fault
    return answered.timeslots


def bookable(world: World, unit: str, citizen: str) -> list[Timeslot]:
    """The free times that have not passed (the broken variant also offers one that has)."""
    now = swedish_now().strftime("%Y%m%d%H%M%S")
    return [t for t in free_times(world, unit, citizen) if t.start > now]


def fault_of(answered: Answered) -> tuple[int, str | None, str | None]:
    answer = answered.outcome.answer
    return answered.outcome.status, answer.fault_code, answer.fault_string


# -- the index reload at the start -------------------------------------------------------------------------
def test_start_reloads_the_index_with_a_post_for_every_booking_and_invitation(world):
    posts = world.posts()
    assert set(posts) == {("BK-1001", "Booking"), ("BK-1002", "Invitation"), ("BK-1003", "Invitation"),
                          ("BK-1004", "Booking")}
    bk1001, bk1002, bk1003 = posts["BK-1001", "Booking"], posts["BK-1002", "Invitation"], posts["BK-1003", "Invitation"]
    assert (bk1001["registeredResidentIdentification"], bk1001["logicalAddress"]) == (TOLVAN, A)
    assert bk1001["mostRecentContent"] == at(7, "09:30")  # the start time
    assert bk1003["mostRecentContent"] == at(3, "14:00")  # a timed invitation: its time
    assert bk1002["mostRecentContent"] == at(0, "00:00")  # an open invitation: its business date
    assert bk1002["logicalAddress"] == C
    for post in posts.values():
        assert post["serviceDomain"] == "riv:crm:scheduling"
        assert post["sourceSystem"] == post["dataController"] == HSA_ID
        assert post["owner"] == "5565594230"
        assert post["clinicalProcessInterestId"]
    updates = world.updates()
    assert len(updates) == 1, "one Update with every post"
    assert (updates[0].consumer, updates[0].logical_address, updates[0].http_status) == (HSA_ID, "5565594230", 200)
    assert updates[0].path == "/vp"
    # 1177 is activated for this system: it fetched the details of each post, through the platform, while the
    # booking system was serving (a threaded server).
    fetched = world.app.journal.exchanges(contract=responder("GetBookingDetails"))
    assert sorted((e.logical_address, e.http_status) for e in fetched) == [(A, 200), (A, 200), (A, 200), (C, 200)]
    assert assert_schema_valid(world) == 5


def test_a_restart_reloads_onto_the_same_posts(world):
    """The clinicalProcessInterestId is stable, so a second reload updates the posts rather than adding some."""
    keys = {k: p["key"] for k, p in world.posts().items()}
    assert world.booking.system.reload() == 4
    assert {k: p["key"] for k, p in world.posts().items()} == keys


# -- reading -------------------------------------------------------------------------------------------------
def test_schedule_lists_bookings_and_timed_invitations_but_not_open_ones(world):
    tolvan = world.s.schedule(A, TOLVAN)
    assert tolvan.ok and [t.booking_id for t in tolvan.timeslots] == ["BK-1001"]
    slot = tolvan.timeslots[0]
    assert (slot.start, slot.end) == (at(7, "09:30"), at(7, "10:00"))
    assert (slot.healthcare_facility, slot.subject_of_care, slot.time_type_id) == (A, TOLVAN, "T1")
    assert slot.is_invitation is False and slot.healthcare_facility_name == "Vårdcentralen Exempelby"
    open_only = world.s.schedule(C, TOLVAN)
    assert open_only.ok and open_only.timeslots == []  # BK-1002 is an open invitation
    anna = world.s.schedule(A, ANNA)
    assert [(t.booking_id, t.is_invitation, t.start) for t in anna.timeslots] == [("BK-1003", True, at(3, "14:00"))]
    for answered in (tolvan, anna):
        for t in answered.timeslots:
            assert {"startTimeInclusive", "endTimeExclusive", "healthcare_facility", "bookingId",
                    "subject_of_care", "timeTypeID"} <= t.present
            assert t.empty == []
    assert_schema_valid(world)


def test_booking_details_carry_the_three_flags_and_an_invitations_purpose(world):
    open_invitation = world.s.details(C, "BK-1002", TOLVAN).timeslots[0]
    assert open_invitation.start is None and open_invitation.end is None
    assert open_invitation.is_invitation is True and "födelsemärke" in open_invitation.purpose
    assert (open_invitation.time_type_id, open_invitation.care_type_id) == ("T2", "C2")
    assert {"cancel_booking_allowed", "rebooking_allowed", "message_allowed"} <= open_invitation.present
    assert open_invitation.rebooking_allowed is False  # an open invitation is booked, not rebooked
    locked = world.s.details(A, "BK-1004", CECILIA).timeslots[0]
    assert (locked.cancel_booking_allowed, locked.rebooking_allowed, locked.message_allowed) == (False, False, False)
    booked = world.s.details(A, "BK-1001", TOLVAN).timeslots[0]
    assert (booked.cancel_booking_allowed, booked.rebooking_allowed, booked.is_invitation) == (True, True, False)
    assert_schema_valid(world)


def test_an_unknown_or_someone_elses_booking_is_a_client_fault(world):
    status, code, text = fault_of(world.s.details(A, "BK-9999", TOLVAN))
    assert (status, code) == (500, "Client") and "BK-9999" in text
    assert fault_of(world.s.details(A, "BK-1004", TOLVAN))[:2] == (500, "Client")  # Cecilia's
    assert fault_of(world.s.details(C, "BK-1001", TOLVAN))[:2] == (500, "Client")  # at the other unit


def test_wrong_logical_address_or_missing_actor_is_a_soap_fault(world):
    def post(logical_address: str, actor: str) -> requests.Response:
        body = (f'<?xml version="1.0" encoding="UTF-8"?><soapenv:Envelope '
                f'xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/"><soapenv:Header>'
                f'<itr:LogicalAddress xmlns:itr="urn:riv:itintegration:registry:1">{logical_address}'
                f"</itr:LogicalAddress>{actor}</soapenv:Header><soapenv:Body>"
                f'<GetSubjectOfCareSchedule xmlns="{responder("GetSubjectOfCareSchedule")}">'
                f"<healthcare_facility>{A}</healthcare_facility><subject_of_care>{TOLVAN}</subject_of_care>"
                "</GetSubjectOfCareSchedule></soapenv:Body></soapenv:Envelope>")
        return requests.post(world.booking.url, data=body.encode(), timeout=10,
                             headers={"Content-Type": "text/xml; charset=UTF-8"})

    actor = ('<hdr:Actor xmlns:hdr="urn:riv:interoperability:headers:1"><hdr:actorId>191212121212</hdr:actorId>'
             "<hdr:actorType>subject_of_care</hdr:actorType></hdr:Actor>")
    assert post(A.lower(), actor).status_code == 200  # the logical address is case-insensitive
    for answer in (post("SE2321000016-X9Z8", actor), post(A, ""), post(A, actor.replace(TOLVAN, ANNA))):
        read = read_answer(answer.content)
        assert answer.status_code == 500 and read.soap11 and read.is_fault and read.fault_code == "Client"
    assert "SE2321000016-X9Z8" in read_answer(post("SE2321000016-X9Z8", actor).content).fault_string


def test_available_times_are_free_future_and_complete(world):
    now = swedish_now().strftime("%Y%m%d%H%M%S")
    times = free_times(world, A, TOLVAN)
    assert len(times) > 50
    for t in times:
        assert t.start > now and t.end > t.start and t.healthcare_facility == A
        assert t.time_type_id and t.booking_id is None
    assert at(7, "09:30") not in {t.start for t in times}  # BK-1001's time is taken
    assert {t.time_type_id for t in free_times(world, A, TOLVAN, time_type_id="T3")} == {"T3"}
    dates = world.s.available_dates(A, TOLVAN, *first_day_last_day())
    assert dates.ok and {d["date"] for d in dates.dates} == {t.start[:8] for t in times}
    assert all(datetime.strptime(d["date"], "%Y%m%d").weekday() < 5 for d in dates.dates)
    assert_schema_valid(world)


def test_facilities_time_types_care_types_and_performers(world):
    facilities = world.s.facilities(C, TOLVAN, booking_id="BK-1001")
    assert facilities.facilities == [(C, "Hudmottagningen Exempelstad"), (A, "Vårdcentralen Exempelby")]

    def ext(op: str) -> str:
        return f'<x:subject_of_care xmlns:x="urn:riv:crm:scheduling:{op}Responder:1.1">{TOLVAN}</x:subject_of_care>'

    types = read_answer(world.s.send("GetAllTimeTypes", C, TOLVAN, field_xml("healthcare_facility", C)
                                     + ext("GetAllTimeTypes")).body)
    assert [e[1].text for e in types.children_named("ListOfTimeTypes")] == ["T1", "T3", "T2"]
    care = read_answer(world.s.send("GetAllCareTypes", C, TOLVAN, field_xml("healthcare_facility", C)
                                    + "<timeTypeIDs>T2</timeTypeIDs>" + field_xml("subject_of_care", TOLVAN)).body)
    assert [e[1].text for e in care.children_named("careTypes")] == ["C2"]
    performers = world.s.send("GetAllPerformers", C, TOLVAN, field_xml("healthcare_facility", C)
                              + field_xml("subject_of_care", TOLVAN))
    assert performers.status == 200 and read_answer(performers.body).children_named("performerInfos") == []
    assert_schema_valid(world)


def test_concurrent_calls_are_answered(world):
    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(lambda _: world.s.details(A, "BK-1001", TOLVAN), range(16)))
    assert all(a.ok and a.timeslots[0].booking_id == "BK-1001" for a in answers)


# -- changing -------------------------------------------------------------------------------------------------
def test_cancel_deletes_the_booking_and_its_post(world):
    before = len(world.updates())
    cancelled = world.s.cancel(A, "BK-1001", TOLVAN, message="Jag är bortrest")
    assert (cancelled.result.code, cancelled.result.text) == ("OK", None)
    assert ("BK-1001", "Booking") not in world.posts()
    assert len(world.updates()) == before + 1
    assert world.s.schedule(A, TOLVAN).timeslots == []
    assert fault_of(world.s.details(A, "BK-1001", TOLVAN))[:2] == (500, "Client")
    assert world.booking.system.cancelled[-1][1] == "Jag är bortrest"
    assert at(7, "09:30") in {t.start for t in free_times(world, A, TOLVAN)}  # the time is free again
    again = world.s.cancel(A, "BK-1001", TOLVAN)
    assert again.result.code == "ERROR" and again.result.text
    assert_schema_valid(world)


def test_a_cancel_that_is_not_allowed_is_a_logical_error_and_changes_nothing(world):
    posts = world.posts()
    refused = world.s.cancel(A, "BK-1004", CECILIA)
    assert refused.ok and refused.result.code == "ERROR" and "avbokas" in refused.result.text
    assert world.posts() == posts
    assert world.booking.system.booking("BK-1004") is not None
    assert_schema_valid(world)


def test_rebooking_at_the_same_unit_updates_the_same_post(world):
    old = world.posts()["BK-1001", "Booking"]
    target = free_times(world, A, TOLVAN, booking_id="BK-1001")[-1]
    moved = world.s.update_booking(A, TOLVAN, target, "BK-1001")
    assert moved.result.code == "OK"
    new = world.posts()["BK-1001", "Booking"]
    assert new["key"] == old["key"] and new["mostRecentContent"] == target.start
    assert new["creationTime"] == old["creationTime"]
    deleted = etree.fromstring(world.updates()[-1].request_body).findall(".//{*}deleteFlag")
    assert [d.text for d in deleted] == ["false"]
    assert [t.start for t in world.s.schedule(A, TOLVAN).timeslots] == [target.start]
    assert_schema_valid(world)


def test_rebooking_to_another_unit_deletes_and_posts_anew(world):
    old = world.posts()["BK-1001", "Booking"]
    target = free_times(world, C, TOLVAN, booking_id="BK-1001")[0]
    assert target.time_type_id == "T1"  # the booking's time type, offered there too
    assert world.s.update_booking(A, TOLVAN, target, "BK-1001").result.code == "OK"
    posts = world.posts()
    new = posts["BK-1001", "Booking"]
    assert (new["logicalAddress"], new["mostRecentContent"]) == (C, target.start) and new["key"] != old["key"]
    body = etree.fromstring(world.updates()[-1].request_body)
    assert [d.text for d in body.findall(".//{*}deleteFlag")] == ["true", "false"]
    assert world.s.schedule(A, TOLVAN).timeslots == []
    assert [t.booking_id for t in world.s.schedule(C, TOLVAN).timeslots] == ["BK-1001"]
    assert_schema_valid(world)


def test_rebooking_a_timed_invitation_turns_the_invitation_post_into_a_booking_post(world):
    target = free_times(world, A, ANNA, booking_id="BK-1003")[0]
    assert world.s.update_booking(A, ANNA, target, "BK-1003").result.code == "OK"
    posts = world.posts()
    assert ("BK-1003", "Invitation") not in posts
    assert posts["BK-1003", "Booking"]["mostRecentContent"] == target.start
    assert_schema_valid(world)


def test_an_open_invitation_cannot_be_rebooked_nor_a_locked_booking(world):
    some = free_times(world, C, TOLVAN, time_type_id="T2")[0]
    refused = world.s.update_booking(C, TOLVAN, some, "BK-1002")
    assert refused.result.code == "ERROR" and refused.result.text
    locked = world.s.update_booking(A, CECILIA, free_times(world, A, CECILIA)[0], "BK-1004")
    assert locked.result.code == "ERROR"
    assert ("BK-1002", "Invitation") in world.posts()
    assert_schema_valid(world)


def test_booking_from_an_open_invitation_replaces_the_invitation_post_with_a_booking_post(world):
    wrong_type = free_times(world, C, TOLVAN, time_type_id="T1")[0]
    refused = world.s.make_booking(C, TOLVAN, wrong_type, "Tolvan", "Tolvansson", booking_id="BK-1002")
    assert refused.result.code == "ERROR" and not refused.result.booking_id_present
    target = free_times(world, C, TOLVAN, time_type_id="T2")[0]
    booked = world.s.make_booking(C, TOLVAN, target, "Tolvan", "Tolvansson", booking_id="BK-1002")
    assert (booked.result.code, booked.result.booking_id) == ("OK", "BK-1002")
    posts = world.posts()
    assert ("BK-1002", "Invitation") not in posts
    assert posts["BK-1002", "Booking"]["mostRecentContent"] == target.start
    body = etree.fromstring(world.updates()[-1].request_body)
    assert [(d.text, c.text) for d, c in zip(body.findall(".//{*}deleteFlag"), body.findall(".//{*}categorization"),
                                             strict=True)] == [("true", "Invitation"), ("false", "Booking")]
    [slot] = world.s.schedule(C, TOLVAN).timeslots
    assert (slot.booking_id, slot.start, slot.purpose is not None) == ("BK-1002", target.start, True)
    assert_schema_valid(world)


def test_booking_a_free_time_makes_a_booking_post_and_the_time_is_then_taken(world):
    target = free_times(world, A, CECILIA)[2]
    booked = world.s.make_booking(A, CECILIA, target, "Cecilia", "Carlsson")
    assert booked.result.code == "OK" and booked.result.booking_id
    new_id = booked.result.booking_id
    post = world.posts()[new_id, "Booking"]
    assert (post["mostRecentContent"], post["logicalAddress"], post["registeredResidentIdentification"]) == (
        target.start, A, CECILIA)
    assert target.start not in {t.start for t in free_times(world, A, CECILIA)}
    twice = world.s.make_booking(A, TOLVAN, target, "Tolvan", "Tolvansson")
    assert twice.result.code == "ERROR" and not twice.result.booking_id_present and twice.result.text
    details = world.s.details(A, new_id, CECILIA).timeslots[0]
    assert (details.start, details.is_invitation) == (target.start, False)
    # 1177 fetched the new booking's details after the index told it
    fetched = world.app.journal.exchanges(contract=responder("GetBookingDetails"))
    assert any(new_id.encode() in e.request_body and e.http_status == 200 for e in fetched)
    assert_schema_valid(world)


def test_staff_invitations_and_cancellations_reach_the_index(world):
    system = world.booking.system
    invited = system.invite(CECILIA, C, "Kallelse till uppföljning.", time_type_id="T3")
    assert world.posts()[invited.booking_id, "Invitation"]["logicalAddress"] == C
    assert system.staff_cancel(invited.booking_id)
    assert (invited.booking_id, "Invitation") not in world.posts()


def test_an_unreachable_platform_is_logged_and_the_reload_sent_again_once_it_answers(tmp_path, caplog):
    port = free_port()
    running = start(port=0, platform_url=f"http://127.0.0.1:{port}", fixtures=FIXTURES)
    app = server = None
    try:
        assert [c.ok for c in running.system.index.calls] == [False]
        assert "not sent" in caplog.text
        answer = requests.get(running.url.replace("/scheduling", "/bookings"), timeout=10).json()
        assert {row["bookingId"] for row in answer} == {"BK-1001", "BK-1002", "BK-1003", "BK-1004"}
        builtin = (REPO / "fixtures" / "tak.toml").read_text(encoding="utf-8")
        tak = tmp_path / "tak.toml"
        tak.write_text(builtin.replace(BUILTIN_ADDRESS, running.url), encoding="utf-8")
        app = Application(Config(journal=tmp_path / "journal.sqlite", tak=tak))
        server = start_in_thread(app, port=port)
        deadline = time.monotonic() + 15
        while IndexStore(app.journal).count() < 4 and time.monotonic() < deadline:
            time.sleep(0.2)
        assert IndexStore(app.journal).count() == 4
        assert [c.ok for c in running.system.index.calls][-1] is True
    finally:
        running.stop()
        if server is not None:
            server.shutdown()
            server.server_close()
            app.close()


def test_passed_bookings_leave_the_index(world):
    system = world.booking.system
    assert ("BK-1003", "Invitation") in world.posts()
    system.clock = lambda: swedish_now().replace(microsecond=0) + timedelta(days=4)
    assert system.expire_passed() == 1  # BK-1003, three days ahead; the open invitation stays
    posts = world.posts()
    assert ("BK-1003", "Invitation") not in posts and ("BK-1002", "Invitation") in posts
    assert system.booking("BK-1003") is None


def test_the_command_line_serves_until_terminated(tmp_path):
    port = free_port()
    builtin = (REPO / "fixtures" / "tak.toml").read_text(encoding="utf-8")
    tak = tmp_path / "tak.toml"
    tak.write_text(builtin.replace(BUILTIN_ADDRESS, f"http://127.0.0.1:{port}/scheduling"), encoding="utf-8")
    app = Application(Config(journal=tmp_path / "journal.sqlite", tak=tak))
    server = start_in_thread(app)
    process = subprocess.Popen([sys.executable, str(HERE / "booking_system.py"), "--port", str(port),
                                "--platform", server.url, "--fixtures", str(FIXTURES)],
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                               env={**os.environ, "PYTHONUNBUFFERED": "1"})
    try:
        lines = []
        while not any("Ctrl-C" in line for line in lines):
            line = process.stdout.readline()
            assert line, "".join(lines)
            lines.append(line)
        assert f"http://127.0.0.1:{port}/scheduling" in lines[-1]
        assert Scheduling(app).schedule(A, TOLVAN).timeslots[0].booking_id == "BK-1001"
        process.send_signal(signal.SIGTERM)
        assert process.wait(20) == 0
    finally:
        if process.poll() is None:
            process.kill()
        process.stdout.close()
        server.shutdown()
        server.server_close()
        app.close()


# -- the broken variant: each planted mistake, observed ------------------------------------------------------
def test_broken_details_leave_out_message_allowed(broken):  # WB-DETAILS-FLAGS
    slot = broken.s.details(A, "BK-1001", TOLVAN).timeslots[0]
    assert "message_allowed" not in slot.present
    assert {"cancel_booking_allowed", "rebooking_allowed"} <= slot.present
    assert_schema_valid(broken)  # optional in the schema: only the contract's rule catches it


def test_broken_schedule_carries_an_empty_reason(broken):  # WB-EMPTY-ELEMENT
    answered = broken.s.schedule(A, TOLVAN)
    assert answered.ok and answered.timeslots[0].empty == ["reason"]
    assert b"<core:reason/>" in answered.outcome.body
    findings = broken.app.contracts.get(responder("GetSubjectOfCareSchedule")).validator.findings(
        answered.outcome.answer.payload)
    assert findings == []  # an empty xs:string breaks no schema


def test_broken_make_booking_answers_ok_without_a_booking_id(broken):  # WB-BOOKINGID-RESULT
    booked = broken.s.make_booking(A, CECILIA, bookable(broken, A, CECILIA)[0], "Cecilia", "Carlsson")
    assert booked.result.code == "OK" and not booked.result.booking_id_present


def test_broken_cancel_sends_no_index_delete(broken):  # WB-EI-AFTER-CHANGE
    before = len(broken.updates())
    assert broken.s.cancel(A, "BK-1001", TOLVAN).result.code == "OK"
    assert ("BK-1001", "Booking") in broken.posts()  # still in the index
    assert len(broken.updates()) == before
    assert broken.booking.system.booking("BK-1001") is None


def test_broken_booking_posts_carry_the_day_not_the_start_time(broken):  # WB-EI-MOST-RECENT
    posts = broken.posts()
    assert posts["BK-1001", "Booking"]["mostRecentContent"] == at(7, "00:00")
    assert posts["BK-1004", "Booking"]["mostRecentContent"] == at(10, "00:00")
    target = bookable(broken, A, CECILIA)[3]
    booked = broken.s.make_booking(A, CECILIA, target, "Cecilia", "Carlsson")
    assert booked.result.code == "OK"
    new = [p for p in IndexStore(broken.app.journal).posts(CECILIA) if p["businessObjectInstanceIdentifier"]
           not in ("BK-1004",)]
    assert [p["mostRecentContent"] for p in new] == [target.start[:8] + "000000"]


def test_broken_available_times_include_one_that_has_passed(broken):  # WB-PASSED-TIMES
    now = swedish_now().strftime("%Y%m%d%H%M%S")
    passed = [t for t in free_times(broken, A, TOLVAN) if t.start <= now]
    yesterday = (swedish_now().date() - timedelta(days=1)).strftime("%Y%m%d")
    assert len(passed) == 1 and passed[0].start.startswith(yesterday)


def test_broken_invitations_are_posted_as_bookings(broken):  # WB-EI-CATEGORIZATION
    posts = broken.posts()
    assert {c for _, c in posts} == {"Booking"}
    assert {b for b, _ in posts} == {"BK-1001", "BK-1002", "BK-1003", "BK-1004"}
    assert broken.s.details(C, "BK-1002", TOLVAN).timeslots[0].is_invitation is True
    assert_schema_valid(broken)


def test_a_seeded_booking_on_a_time_that_would_be_blocked_frees_it_when_cancelled(tmp_path):
    """Which generated times are taken by patients outside the web depends on the day; a seeded booking on
    such a time holds it itself, so cancelling it frees it (it failed on days where the hash said 'blocked')."""
    from booking_system import BookingSystem, load_setup

    day = datetime(2026, 12, 4, 0, 30)  # BK-1001 then falls on 2026-12-11 09:30, a blocked time at A1B2
    system = BookingSystem(load_setup(FIXTURES, HSA_ID), index=None, clock=lambda: day)
    booking = system.booking("BK-1001")
    assert booking.start == datetime(2026, 12, 11, 9, 30)
    slot = system.slots[A][booking.start]
    assert slot.taken_by == "BK-1001" and not slot.blocked

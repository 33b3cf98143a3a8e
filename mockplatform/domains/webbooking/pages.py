"""The citizen's side of web booking: 1177 webbtidbok's pages, every call through the platform (``client``).

- ``/ui/bookings?citizen=``: the citizen's bookings and timed invitations (GetSubjectOfCareSchedule at
  each unit connected to web booking) and open invitations (not in the schedule: found from the citizen's
  Invitation posts in the engagement index, each read with GetBookingDetails). A unit answering with a
  fault is named with the fault; the others are still listed.
- ``/ui/bookings/<unit>/<bookingId>``: GetBookingDetails, the purpose (DocBook or plain, rendered as the
  inbox renders a message), and the actions its flags allow: Avboka (cancel_booking_allowed), Omboka
  (rebooking_allowed, not for an open invitation), Boka tid (an open invitation).
- ``.../cancel`` (POST): CancelBooking; OK or INFO puts 1177's own "avbokad" notice in the inbox.
- ``.../times``: the free days of the next ``WINDOW_DAYS`` days (GetAvailableDates) and the free times of a
  chosen day (GetAvailableTimeslots); ``.../book`` (POST) books one: UpdateBooking (rebooking) or
  MakeBooking (from an open invitation, with the invitation's bookingId).

Everything shown comes from the booking system and is escaped by the templates; the one link target
from it (ulink in a DocBook purpose) goes through the inbox's renderer, which keeps only http(s). What a
form may do is decided again on the POST from a fresh GetBookingDetails, never from the form. The times
in crm:scheduling are Swedish local time without a zone (TS); they are shown as they are, in words.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING
from urllib.parse import quote, unquote, urlencode

from ...fixtures import Citizen
from ...localtime import zone
from ...messages import Request, Response
from ...personnummer import WRITTEN_FORMS, from_written
from ...web import responses
from ...web.display import display_pnr
from ...web.forms import fields
from ..inbox1177.render_docbook import render_message_text
from .client import Answered, Scheduling, indexed_invitations
from .messages import Timeslot, ts_moment
from .notices import cancelled_message
from .section import web_booking

if TYPE_CHECKING:
    from ...app import Application

WINDOW_DAYS = 14  # GetAvailableDates asks for today and the 13 days after
PREFIX = "/ui/bookings"
BOOK, REBOOK = "book", "rebook"
_DT = re.compile(r"\d{8}")
_FIELD_MAX = 256  # a form field longer than any id or name a booking system sends
DAYS = ("måndag", "tisdag", "onsdag", "torsdag", "fredag", "lördag", "söndag")
MONTHS = ("januari", "februari", "mars", "april", "maj", "juni", "juli", "augusti", "september", "oktober",
          "november", "december")


# -- how times and links are written ------------------------------------------------------------------


def day_text(day: date) -> str:
    """``torsdag 10 december 2026``."""
    return f"{DAYS[day.weekday()]} {day.day} {MONTHS[day.month - 1]} {day.year}"


def time_text(start: str | None, end: str | None = None) -> str:
    """A timeslot as the citizen reads it: ``torsdag 10 december 2026 kl. 09:30–10:00`` (Swedish local time,
    as crm:scheduling writes it). A time that is no TS is shown as sent; none gives ""."""
    begins, ends = ts_moment(start), ts_moment(end)
    if begins is None:
        return (start or "").strip()
    text = f"{day_text(begins.date())} kl. {begins:%H:%M}"
    if ends is not None and ends.date() == begins.date():
        return f"{text}–{ends:%H:%M}"
    if ends is not None:
        return f"{text} – {day_text(ends.date())} kl. {ends:%H:%M}"
    return text


def iso_time(ts: str | None) -> str:
    """A TS for ``<time datetime>`` (local time, no zone, as in the contract); "" when it is not a TS."""
    moment = ts_moment(ts)
    return moment.strftime("%Y-%m-%dT%H:%M") if moment is not None else ""


def date_of(dt: str | None) -> date | None:
    """A DT (``YYYYMMDD``) as a date; None when it is not one."""
    text = (dt or "").strip()
    if not _DT.fullmatch(text):
        return None
    try:
        return datetime.strptime(text, "%Y%m%d").date()
    except ValueError:
        return None


def today() -> date:
    """Today in Sweden: the day crm:scheduling's dates count from."""
    return datetime.now(zone()).date()


def booking_href(unit: str, booking_id: str, citizen: str, action: str = "", **query: str) -> str:
    """A page of one booking; unit and id are the booking system's, so each is quoted whole (a '/' or a
    'javascript:' in them stays inside its path segment, below /ui/bookings)."""
    path = f"{PREFIX}/{quote(unit, safe='')}/{quote(booking_id, safe='')}" + (f"/{action}" if action else "")
    return path + "?" + urlencode({"citizen": citizen, **query})


def list_href(citizen: str) -> str:
    return f"{PREFIX}?{urlencode({'citizen': citizen})}"


# -- who and where ------------------------------------------------------------------------------------


def _citizen(app: Application, number: str | None) -> Citizen | None:
    return next((c for c in app.fixtures.citizens if c.subject_of_care_id == number), None) if number else None


def _unit(app: Application, written: str) -> str | None:
    """The unit as the fixtures write it, if it is connected to web booking (only those are called)."""
    return next((u for u in web_booking(app.fixtures).units if u.lower() == written.strip().lower()), None)


def unit_name(app: Application, unit: str, slot: Timeslot | None = None) -> str:
    """The booking system's name of the unit, else the fixtures' name, else its HSA-id."""
    if slot is not None and (slot.healthcare_facility_name or "").strip():
        return slot.healthcare_facility_name.strip()
    known = next((u.name for u in app.fixtures.units if u.unit_id.lower() == unit.lower() and u.name), None)
    return known or unit


def names_of(citizen: Citizen) -> tuple[str, str]:
    """firstName and lastName for MakeBooking, from the fixtures' name ("Tolvan Tolvansson"; a note in
    parentheses is left out); a citizen without a name books as "Invånare" and the personnummer."""
    words = re.sub(r"\([^)]*\)", " ", citizen.name or "").split()
    if not words:
        return "Invånare", display_pnr(citizen.subject_of_care_id)
    return words[0], " ".join(words[1:]) or words[0]


@dataclass(frozen=True)
class Call:
    """One call the page made, for the integrators' box: what, where, its journal row and how it went."""

    operation: str
    unit: str
    exchange_id: int | None
    outcome: str


@dataclass
class Calls:
    made: list[Call] = field(default_factory=list)

    def note(self, operation: str, unit: str, answered: Answered) -> Answered:
        if answered.ok:
            result = answered.result
            outcome = f"resultCode={result.code}" if result is not None and result.code else "OK"
        else:
            outcome = answered.fault or f"HTTP {answered.outcome.status}, inget SOAP-svar"
        self.made.append(Call(operation, unit, answered.outcome.exchange_id, outcome))
        return answered


def problem_of(answered: Answered) -> str | None:
    """What went wrong with a call, as the citizen's notice names it; None when it was answered."""
    if answered.ok:
        return None
    if answered.fault:
        return answered.fault
    return f"HTTP {answered.outcome.status} utan läsbart SOAP-svar"


# -- the list -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Row:
    """A booking or an invitation as the list shows it."""

    when: str
    iso: str
    start: str
    unit: str
    unit_name: str
    time_type: str
    care_type: str
    performer: str
    invitation: bool
    href: str


@dataclass(frozen=True)
class UnitProblem:
    unit: str
    unit_name: str
    problem: str
    booking_id: str | None = None


def _row(app: Application, citizen: str, unit: str, slot: Timeslot) -> Row:
    return Row(time_text(slot.start, slot.end), iso_time(slot.start), slot.start or "", unit,
               unit_name(app, unit, slot), (slot.time_type_name or "").strip(), (slot.care_type_name or "").strip(),
               (slot.performer_name or slot.resource_name or "").strip(), bool(slot.is_invitation),
               booking_href(unit, slot.booking_id or "", citizen))


def bookings_page(app: Application, request: Request) -> Response:
    """GET /ui/bookings?citizen=<personnummer>: the picker, the citizen's bookings and invitations."""
    pnr = (request.query.get("citizen") or "").strip()
    number = from_written(pnr) if pnr else None
    citizen = _citizen(app, number)
    rows: list[Row] = []
    invitations: list[Row] = []
    problems: list[UnitProblem] = []
    calls = Calls()
    if citizen is not None:
        rows, invitations, problems = _schedule(app, citizen.subject_of_care_id, calls)
    return responses.page(
        "bookings.html.j2", title="Tidbok", nav="bookings", citizens=app.fixtures.citizens, pnr=pnr,
        citizen=citizen, readable=number is not None, written_forms=WRITTEN_FORMS, display_pnr=display_pnr,
        rows=rows, invitations=invitations, problems=problems, units=web_booking(app.fixtures).units,
        calls=calls.made,
    )


def _schedule(app: Application, citizen: str, calls: Calls) -> tuple[list[Row], list[Row], list[UnitProblem]]:
    """The timed rows (schedule of every unit), the open invitations (from the index), the units' faults."""
    scheduling = Scheduling(app)
    rows, invitations, problems = [], [], []
    seen: set[tuple[str, str]] = set()
    failed: set[str] = set()
    for unit in web_booking(app.fixtures).units:
        answered = calls.note("GetSubjectOfCareSchedule", unit, scheduling.schedule(unit, citizen))
        problem = problem_of(answered)
        if problem is not None:
            problems.append(UnitProblem(unit, unit_name(app, unit), problem))
            failed.add(unit)
            continue
        for slot in answered.timeslots:
            if not slot.booking_id:
                continue  # bookingId is required in a schedule; without it there is nothing to open
            seen.add((unit.lower(), slot.booking_id))
            rows.append(_row(app, citizen, unit, slot))
    # Open invitations are not in GetSubjectOfCareSchedule: the index knows them (Invitation posts).
    for address, booking_id in indexed_invitations(app, citizen):
        unit = _unit(app, address)
        if unit is None or (unit.lower(), booking_id) in seen or unit in failed:
            continue  # not connected to web booking, listed already (timed), or its unit named with its fault
        seen.add((unit.lower(), booking_id))
        answered = calls.note("GetBookingDetails", unit, scheduling.details(unit, booking_id, citizen))
        problem = problem_of(answered) or (None if answered.timeslots else "svaret saknar timeslotDetail")
        if problem is not None:
            problems.append(UnitProblem(unit, unit_name(app, unit), problem, booking_id))
            continue
        slot = answered.timeslots[0]
        if not _belongs(slot, citizen):
            continue
        (invitations if slot.open_invitation else rows).append(_row(app, citizen, unit, slot))
    rows.sort(key=lambda r: (r.start, r.unit_name))
    return rows, invitations, problems


def _belongs(slot: Timeslot, citizen: str) -> bool:
    """The booking is the citizen's (or does not say whose it is)."""
    return not slot.subject_of_care or slot.subject_of_care.strip() == citizen


# -- one booking --------------------------------------------------------------------------------------


@dataclass
class Opened:
    """A booking page's request: the citizen, the unit, the booking, and its details once read."""

    citizen: Citizen
    unit: str
    booking_id: str
    calls: Calls = field(default_factory=Calls)
    slot: Timeslot | None = None
    problem: str | None = None

    @property
    def pnr(self) -> str:
        return self.citizen.subject_of_care_id

    @property
    def mode(self) -> str | None:
        """What the times page does for this booking: BOOK (an open invitation), REBOOK (rebooking_allowed),
        or None (neither)."""
        if self.slot is None:
            return None
        if self.slot.open_invitation:
            return BOOK
        return REBOOK if self.slot.allowed("rebooking_allowed") else None

    def href(self, action: str = "", **query: str) -> str:
        return booking_href(self.unit, self.booking_id, self.pnr, action, **query)


def _open(app: Application, match: re.Match[str], values: dict[str, str]) -> Opened | Response:
    """The booking the path names, for the citizen the query or form names, with its details read."""
    unit = _unit(app, unquote(match[1]))
    booking_id = unquote(match[2])
    if unit is None:
        return responses.not_found("Mottagningen är inte ansluten till webbtidboken.",
                                   "No unit connected to web booking by that HSA-id.")
    if not booking_id.strip() or len(booking_id) > _FIELD_MAX:
        return responses.not_found("Bokningen finns inte.", "No such booking.")
    number = from_written(values.get("citizen") or "")
    citizen = _citizen(app, number)
    if citizen is None:
        return responses.not_found("Välj en invånare i tidboken först: invånaren finns inte bland testdatan.",
                                   "No such citizen in the fixtures: pick one on the Tidbok page.")
    opened = Opened(citizen, unit, booking_id)
    answered = opened.calls.note("GetBookingDetails", unit, Scheduling(app).details(unit, booking_id, opened.pnr))
    opened.problem = problem_of(answered) or (None if answered.timeslots else "svaret saknar timeslotDetail")
    if opened.problem is None:
        slot = answered.timeslots[0]
        if _belongs(slot, opened.pnr):
            opened.slot = slot
        else:
            opened.problem = "bokningen tillhör en annan invånare"
    return opened


def booking_page(app: Application, request: Request, match: re.Match[str]) -> Response:
    """GET /ui/bookings/<unit>/<bookingId>?citizen=: the details and the actions the flags allow."""
    opened = _open(app, match, request.query)
    if isinstance(opened, Response):
        return opened
    slot = opened.slot
    purpose = render_message_text(slot.purpose) if slot is not None and (slot.purpose or "").strip() else None
    return responses.page(
        "booking.html.j2", title="Kallelse" if slot is not None and slot.is_invitation else "Bokning",
        nav="bookings", referrer_policy=responses.FORM_REFERRER_POLICY, o=opened, slot=slot,
        when=time_text(slot.start, slot.end) if slot is not None else "",
        iso=iso_time(slot.start) if slot is not None else "",
        unit_name=unit_name(app, opened.unit, slot), purpose=purpose, list_href=list_href(opened.pnr),
        display_pnr=display_pnr, calls=opened.calls.made, BOOK=BOOK, REBOOK=REBOOK,
    )


def cancel(app: Application, request: Request, match: re.Match[str]) -> Response:
    """POST .../cancel: CancelBooking if the fresh details allow it; OK or INFO puts 1177's "avbokad" in
    the inbox; ERROR and INFO texts are shown to the citizen."""
    form = fields(request)
    opened = _open(app, match, form)
    if isinstance(opened, Response):
        return opened
    slot = opened.slot
    if slot is None:
        return _done(app, opened, "cancel", problem=opened.problem)
    if not slot.allowed("cancel_booking_allowed"):
        return _done(app, opened, "cancel", refused="Tiden går inte att avboka här. Kontakta mottagningen.")
    message = (form.get("message") or "").strip()[:1000] if slot.allowed("message_allowed") else ""
    answered = opened.calls.note("CancelBooking", opened.unit, Scheduling(app).cancel(
        opened.unit, opened.booking_id, opened.pnr, message or None))
    result = answered.result if answered.ok else None
    inbox_message = None
    if result is not None and result.code in ("OK", "INFO"):
        slot.healthcare_facility = slot.healthcare_facility or opened.unit
        slot.healthcare_facility_name = unit_name(app, opened.unit, slot)
        inbox_message = cancelled_message(app, opened.pnr, slot, answered)
    return _done(app, opened, "cancel", answered=answered, inbox_message=inbox_message)


def times_page(app: Application, request: Request, match: re.Match[str]) -> Response:
    """GET .../times?citizen=[&date=YYYYMMDD]: the free days of the coming two weeks, and a day's free times."""
    opened = _open(app, match, request.query)
    if isinstance(opened, Response):
        return opened
    mode, slot = opened.mode, opened.slot
    days: list[tuple[str, str]] = []
    free: list[Timeslot] = []
    problem = opened.problem
    chosen = (request.query.get("date") or "").strip()
    chosen_day = date_of(chosen)
    if slot is not None and mode is not None:
        scheduling = Scheduling(app)
        first = today()
        last = first + timedelta(days=WINDOW_DAYS - 1)
        rebooking = opened.booking_id if mode == REBOOK else None
        answered = opened.calls.note("GetAvailableDates", opened.unit, scheduling.available_dates(
            opened.unit, opened.pnr, f"{first:%Y%m%d}", f"{last:%Y%m%d}", rebooking, slot.time_type_id))
        problem = problem_of(answered)
        found = {d["date"].strip(): date_of(d["date"]) for d in answered.dates if d.get("date")}
        days = [(dt, day_text(day)) for dt, day in sorted(found.items()) if day is not None]
        if chosen_day is not None and problem is None:
            answered = opened.calls.note("GetAvailableTimeslots", opened.unit, scheduling.available_timeslots(
                opened.unit, opened.pnr, chosen, chosen, rebooking, slot.time_type_id))
            problem = problem_of(answered)
            free = sorted((s for s in answered.timeslots if ts_moment(s.start) and ts_moment(s.end)),
                          key=lambda s: s.start or "")
    return responses.page(
        "booking_times.html.j2", title="Välj tid", nav="bookings", referrer_policy=responses.FORM_REFERRER_POLICY,
        o=opened, slot=slot, mode=mode, BOOK=BOOK, REBOOK=REBOOK, problem=problem, days=days,
        chosen=chosen if chosen_day is not None else "", chosen_text=day_text(chosen_day) if chosen_day else "",
        bad_date=bool(chosen) and chosen_day is None, free=free, time_text=time_text, iso_time=iso_time,
        current=time_text(slot.start, slot.end) if slot is not None else "",
        unit_name=unit_name(app, opened.unit, slot), list_href=list_href(opened.pnr), calls=opened.calls.made,
        window_days=WINDOW_DAYS,
    )


def book(app: Application, request: Request, match: re.Match[str]) -> Response:
    """POST .../book: the chosen free time; UpdateBooking when rebooking, MakeBooking (with the invitation's
    bookingId) when booking from an open invitation, as the fresh details decide."""
    form = fields(request)
    opened = _open(app, match, form)
    if isinstance(opened, Response):
        return opened
    mode = opened.mode
    if opened.slot is None:
        return _done(app, opened, BOOK, problem=opened.problem)
    if mode is None:
        return _done(app, opened, REBOOK, refused="Tiden går inte att omboka här. Kontakta mottagningen.")
    wanted = _wanted(form)
    if wanted is None:
        return _done(app, opened, mode, refused="Välj en av de lediga tiderna.", http_status=400)
    scheduling = Scheduling(app)
    if mode == BOOK:
        first, last = names_of(opened.citizen)
        answered = opened.calls.note("MakeBooking", opened.unit, scheduling.make_booking(
            opened.unit, opened.pnr, wanted, first, last, booking_id=opened.booking_id))
    else:
        answered = opened.calls.note("UpdateBooking", opened.unit, scheduling.update_booking(
            opened.unit, opened.pnr, wanted, opened.booking_id))
    return _done(app, opened, mode, answered=answered, wanted=wanted)


def _wanted(form: dict[str, str]) -> Timeslot | None:
    """The free time the form chose (as the times page wrote it from GetAvailableTimeslots); None when its
    start and end are not a TS each, start before end, or a field is too long."""
    values = {name: (form.get(name) or "").strip() for name in (
        "start", "end", "healthcare_facility", "performer", "resource_id", "time_type_id", "care_type_id")}
    if any(len(v) > _FIELD_MAX for v in values.values()):
        return None
    start, end = ts_moment(values["start"]), ts_moment(values["end"])
    if start is None or end is None or end <= start:
        return None
    return Timeslot(start=values["start"], end=values["end"],
                    **{k: v or None for k, v in values.items() if k not in ("start", "end")})


def _done(app: Application, opened: Opened, action: str, *, answered: Answered | None = None,
          problem: str | None = None, refused: str | None = None, wanted: Timeslot | None = None,
          inbox_message: int | None = None, http_status: int = 200) -> Response:
    """The page after a cancel, a booking or a rebooking: what the booking system said, in its words."""
    result = answered.result if answered is not None and answered.ok else None
    if answered is not None and problem is None and result is None:
        problem = problem_of(answered) or "svaret saknar resultCode"
    code = result.code if result is not None else None
    new_id = result.booking_id.strip() if result is not None and result.booking_id else None
    booked_href = None
    if code in ("OK", "INFO"):
        booked_href = opened.href() if action == REBOOK else (
            booking_href(opened.unit, new_id, opened.pnr) if new_id else None)
    slot = opened.slot
    titles = {"cancel": "Avbokning", BOOK: "Bokning", REBOOK: "Ombokning"}
    return responses.page(
        "booking_done.html.j2", http_status, title=titles[action], nav="bookings", o=opened, action=action,
        code=code, text=(result.text or "").strip() if result else "", problem=problem, refused=refused,
        booked_href=booked_href, new_id=new_id,
        when=time_text(wanted.start, wanted.end) if wanted is not None else (
            time_text(slot.start, slot.end) if slot is not None else ""),
        unit_name=unit_name(app, opened.unit, slot), list_href=list_href(opened.pnr),
        inbox_href="/ui/inbox?" + urlencode({"citizen": opened.pnr}), inbox_message=inbox_message,
        calls=opened.calls.made, BOOK=BOOK, REBOOK=REBOOK,
    )


__all__ = ["WINDOW_DAYS", "book", "booking_href", "booking_page", "bookings_page", "cancel", "day_text",
           "names_of", "time_text", "times_page"]

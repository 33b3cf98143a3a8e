"""Request-scope rules of web booking: what one exchange shows of the booking system. For a crm:scheduling
call, its answer (the schema, empty elements, what each operation's answer must hold, its response time);
for an Update, the index's verdict and the values of each post. Paths and lines of an answer's findings are
in the answer (its response body), and every message says so.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, datetime
from functools import wraps

from lxml import etree

from ...localtime import rivta_ts
from ...rules import Hit
from ...rules.base import xml_path
from ...xmlsafe import local_name, text_value
from ..engagementindex.names import DOMAIN_NAME as INDEX_DOMAIN
from .messages import Timeslot, ts_moment
from .names import BOOKING, INVITATION, PERFORMED, SERVICE_DOMAIN
from .view import WebBookingContext as RuleContext
from .view import WebBookingView as RequestView
from .view import ei_code

MAX_PER_ANSWER = 10  # findings of one rule on one exchange; then one that counts the rest


def _capped(rule: Callable[[RequestView, RuleContext], Iterable[Hit]]) -> Callable[[RequestView, RuleContext],
                                                                                     Iterator[Hit]]:
    """At most MAX_PER_ANSWER findings of a rule on one exchange, then one saying how many more there were."""

    @wraps(rule)
    def capped(view: RequestView, ctx: RuleContext) -> Iterator[Hit]:
        more = 0
        last: Hit | None = None
        for count, hit in enumerate(rule(view, ctx), 1):
            if count <= MAX_PER_ANSWER:
                yield hit
            else:
                more, last = more + 1, hit
        if more and last is not None:
            yield Hit(f"... and {more} more like the ones above in this answer",
                      f"... och {more} till av samma slag i det här svaret", path=last.path, line=last.line,
                      hint="correct the ones listed: the rest are the same mistake",
                      hint_sv="rätta de som listas: resten är samma fel")

    return capped


def _slot_where(view: RequestView, index: int, element: etree._Element, name: str | None = None
                ) -> tuple[str, int | None]:
    """The path and line of a timeslotDetail (numbered when the answer has several), or of its child ``name``
    (its place, when it is missing)."""
    path = xml_path(element) + (f"[{index + 1}]" if len(view.slots) > 1 else "")
    line = element.sourceline
    if name is not None:
        path += f"/{name}"
        child = next((c for c in element if local_name(c) == name), None)
        if child is not None:
            line = child.sourceline
    return path, line


def _blank(value: str | None) -> bool:
    return not (value or "").strip()


def _which(slot: Timeslot) -> str:
    """A timeslot named for a message: by its bookingId, else by its start."""
    if not _blank(slot.booking_id):
        return f"bookingId {slot.booking_id.strip()}"
    if not _blank(slot.start):
        return f"startTimeInclusive {slot.start.strip()}"
    return "a timeslotDetail"


def _which_sv(slot: Timeslot) -> str:
    text = _which(slot)
    return "en timeslotDetail" if text == "a timeslotDetail" else text


# -- every answer ---------------------------------------------------------------------------------------------


def schema(view: RequestView, ctx: RuleContext) -> Iterator[Hit]:
    """The answer is the operation's response element, valid against the contract's schema (the validator that
    judges requests; the responder schema declares the response element too)."""
    if not view.from_booking_system or view.fault:
        return
    want = f"{view.operation}Response"
    if view.response is None:
        yield Hit(f"The booking system answered HTTP 200 without a SOAP envelope holding a response element; "
                  f"1177 expects <{want}>",
                  f"Bokningssystemet svarade HTTP 200 utan ett SOAP-kuvert med ett svarselement; 1177 väntar sig "
                  f"<{want}>", path="/Envelope/Body",
                  hint=f"answer with a SOAP 1.1 envelope whose Body holds <{want}> in {view.envelope.contract}",
                  hint_sv=f"svara med ett SOAP 1.1-kuvert vars Body innehåller <{want}> i {view.envelope.contract}")
        return
    have = local_name(view.response)
    if have != want:
        yield Hit(f"The answer's element is <{have}>; the answer to {view.operation} is <{want}>",
                  f"Svarets element är <{have}>; svaret på {view.operation} är <{want}>",
                  path=xml_path(view.response), line=view.response.sourceline,
                  hint=f"answer {view.operation} with <{want}> in {view.envelope.contract}",
                  hint_sv=f"svara på {view.operation} med <{want}> i {view.envelope.contract}")
        return
    loaded = ctx.contracts.get(view.envelope.contract)
    if loaded is None:
        return
    base = xml_path(view.response.getparent())
    for f in loaded.validator.iter_findings(view.response):
        path = base + f.path if f.path and f.path.startswith("/") else f.path
        yield Hit(f"In the answer: {f.message_en}", f"I svaret: {f.message_sv}", path=path, line=f.line,
                  hint=f.hint, hint_sv=f.hint_sv, source=f.source)


@_capped
def empty_element(view: RequestView, ctx: RuleContext) -> Iterator[Hit]:
    """crm:scheduling: a field without a value is left out; <tag/> and <tag></tag> are not allowed."""
    if view.response is None:
        return
    for element in view.response.iter():
        if element is view.response or not isinstance(element.tag, str):
            continue
        if any(isinstance(c.tag, str) for c in element) or text_value(element).strip():
            continue
        name = local_name(element)
        yield Hit(f"In the answer, <{name}> is empty; crm:scheduling does not allow <{name}/> or "
                  f"<{name}></{name}>: an optional field without a value is left out",
                  f"I svaret är <{name}> tomt; crm:scheduling tillåter inte <{name}/> eller <{name}></{name}>: "
                  "ett valfritt fält utan värde utelämnas",
                  path=xml_path(element), line=element.sourceline,
                  hint=f"leave <{name}> out when it has no value (many serialisers write empty elements for null "
                  "or empty strings: configure them to omit them)",
                  hint_sv=f"utelämna <{name}> när det saknar värde (många serialiserare skriver tomma element för "
                  "null eller tomma strängar: ställ in dem så att de utelämnas)")


# -- the timeslots of an answer -------------------------------------------------------------------------------

SCHEDULE_REQUIRED = ("startTimeInclusive", "endTimeExclusive", "healthcare_facility", "bookingId", "subject_of_care")
_ATTRIBUTE = {"startTimeInclusive": "start", "endTimeExclusive": "end", "healthcare_facility": "healthcare_facility",
              "bookingId": "booking_id", "subject_of_care": "subject_of_care"}


@_capped
def schedule_required(view: RequestView, ctx: RuleContext) -> Iterator[Hit]:
    """GetSubjectOfCareSchedule: each timeslotDetail has start, end, healthcare_facility, bookingId and
    subject_of_care (an open invitation's missing times are WB-SCHEDULE-OPEN-INVITATION's)."""
    for i, (element, slot) in enumerate(view.slots):
        missing = [n for n in SCHEDULE_REQUIRED if _blank(getattr(slot, _ATTRIBUTE[n]))]
        if slot.open_invitation:
            missing = [n for n in missing if n not in ("startTimeInclusive", "endTimeExclusive")]
        if not missing:
            continue
        path, line = _slot_where(view, i, element, missing[0])
        names = ", ".join(missing)
        yield Hit(f"In the answer, the timeslotDetail of {_which(slot)} has no value for {names}; "
                  "GetSubjectOfCareSchedule requires startTimeInclusive, endTimeExclusive, healthcare_facility, "
                  "bookingId and subject_of_care in every timeslotDetail",
                  f"I svaret saknar timeslotDetail för {_which_sv(slot)} värde för {names}; "
                  "GetSubjectOfCareSchedule kräver startTimeInclusive, endTimeExclusive, healthcare_facility, "
                  "bookingId och subject_of_care i varje timeslotDetail",
                  path=path, line=line,
                  hint=f"fill in {names} for every booking listed (1177 needs them to show, cancel and rebook it)",
                  hint_sv=f"fyll i {names} för varje bokning som listas (1177 behöver dem för att visa, avboka och "
                  "omboka den)")


@_capped
def schedule_open_invitation(view: RequestView, ctx: RuleContext) -> Iterator[Hit]:
    """GetSubjectOfCareSchedule does not return open invitations (isInvitation=true without a time)."""
    for i, (element, slot) in enumerate(view.slots):
        if slot.is_invitation and _blank(slot.start):
            path, line = _slot_where(view, i, element, "isInvitation")
            yield Hit(f"In the answer, {_which(slot)} is an open invitation (isInvitation=true, no "
                      "startTimeInclusive); GetSubjectOfCareSchedule returns bookings and timed invitations only",
                      f"I svaret är {_which_sv(slot)} en öppen kallelse (isInvitation=true, ingen "
                      "startTimeInclusive); GetSubjectOfCareSchedule returnerar bara bokningar och kallelser med tid",
                      path=path, line=line,
                      hint="leave open invitations out of the schedule: 1177 learns of them from the engagement "
                      "index and asks GetBookingDetails",
                      hint_sv="utelämna öppna kallelser i tidboken: 1177 får veta om dem genom engagemangsindex och "
                      "frågar GetBookingDetails")


DETAILS_FLAGS = ("cancel_booking_allowed", "rebooking_allowed", "message_allowed")


@_capped
def details_flags(view: RequestView, ctx: RuleContext) -> Iterator[Hit]:
    """GetBookingDetails: cancel_booking_allowed, rebooking_allowed and message_allowed are required."""
    for i, (element, slot) in enumerate(view.slots):
        missing = [n for n in DETAILS_FLAGS if getattr(slot, n) is None]
        if not missing:
            continue
        names = ", ".join(missing)
        path, line = _slot_where(view, i, element, missing[0])
        yield Hit(f"In the answer, the timeslotDetail of {_which(slot)} lacks {names} (or has no true/false "
                  "there); GetBookingDetails requires all three of cancel_booking_allowed, rebooking_allowed and "
                  "message_allowed",
                  f"I svaret saknar timeslotDetail för {_which_sv(slot)} {names} (eller har inte true/false där); "
                  "GetBookingDetails kräver alla tre: cancel_booking_allowed, rebooking_allowed och message_allowed",
                  path=path, line=line,
                  hint=f"send {names} as true or false: 1177 offers cancelling, rebooking and messages by them",
                  hint_sv=f"skicka {names} som true eller false: 1177 erbjuder avbokning, ombokning och meddelanden "
                  "utifrån dem")


@_capped
def purpose_invitation(view: RequestView, ctx: RuleContext) -> Iterator[Hit]:
    """An invitation (isInvitation=true) carries its text in purpose."""
    for i, (element, slot) in enumerate(view.slots):
        if slot.is_invitation and _blank(slot.purpose):
            path, line = _slot_where(view, i, element, "purpose")
            yield Hit(f"In the answer, {_which(slot)} is an invitation (isInvitation=true) without purpose; the "
                      "invitation's text is required (1177 shows it and puts it in the citizen's inbox)",
                      f"I svaret är {_which_sv(slot)} en kallelse (isInvitation=true) utan purpose; kallelsens text "
                      "krävs (1177 visar den och lägger den i invånarens inkorg)",
                      path=path, line=line,
                      hint="send the invitation's text in purpose (plain text, or entity-encoded DocBook: article, "
                      "info, title, para, section, bibliography)",
                      hint_sv="skicka kallelsens text i purpose (vanlig text, eller entitetskodad DocBook: article, "
                      "info, title, para, section, bibliography)")


@_capped
def time_type_id(view: RequestView, ctx: RuleContext) -> Iterator[Hit]:
    """timeTypeID: optional in the schema, required by 1177."""
    for i, (element, slot) in enumerate(view.slots):
        if _blank(slot.time_type_id):
            path, line = _slot_where(view, i, element, "timeTypeID")
            yield Hit(f"In the answer, the timeslotDetail of {_which(slot)} has no timeTypeID; the schema makes it "
                      "optional, 1177 requires it",
                      f"I svaret saknar timeslotDetail för {_which_sv(slot)} timeTypeID; schemat gör det valfritt, "
                      "1177 kräver det",
                      path=path, line=line,
                      hint="send the time type's id in timeTypeID (the id GetAllTimeTypes lists), after timeTypeName",
                      hint_sv="skicka tidstypens id i timeTypeID (det id som GetAllTimeTypes listar), efter "
                      "timeTypeName")


@_capped
def time_order(view: RequestView, ctx: RuleContext) -> Iterator[Hit]:
    """startTimeInclusive and endTimeExclusive are real TS times, the start before the end."""
    for i, (element, slot) in enumerate(view.slots):
        moments = {}
        for name, value in (("startTimeInclusive", slot.start), ("endTimeExclusive", slot.end)):
            if _blank(value):
                continue
            moments[name] = ts_moment(value)
            if moments[name] is None:
                path, line = _slot_where(view, i, element, name)
                yield Hit(f"In the answer, {name} '{value.strip()}' of {_which(slot)} is not a real time of the "
                          "form YYYYMMDDhhmmss (TS, Swedish local time)",
                          f"I svaret är {name} '{value.strip()}' för {_which_sv(slot)} ingen riktig tidpunkt på "
                          "formen ÅÅÅÅMMDDttmmss (TS, svensk lokal tid)",
                          path=path, line=line, hint="write the time as 14 digits, e.g. 20261210093000",
                          hint_sv="skriv tiden med 14 siffror, t.ex. 20261210093000")
        start, end = moments.get("startTimeInclusive"), moments.get("endTimeExclusive")
        if start is not None and end is not None and start >= end:
            path, line = _slot_where(view, i, element, "endTimeExclusive")
            yield Hit(f"In the answer, {_which(slot)} ends ({slot.end.strip()}) no later than it starts "
                      f"({slot.start.strip()}); startTimeInclusive comes before endTimeExclusive",
                      f"I svaret slutar {_which_sv(slot)} ({slot.end.strip()}) inte senare än den börjar "
                      f"({slot.start.strip()}); startTimeInclusive ska vara före endTimeExclusive",
                      path=path, line=line, hint="send the start in startTimeInclusive and the end in "
                      "endTimeExclusive (the end is the first moment after the time)",
                      hint_sv="skicka starten i startTimeInclusive och slutet i endTimeExclusive (slutet är första "
                      "ögonblicket efter tiden)")


@_capped
def passed_times(view: RequestView, ctx: RuleContext) -> Iterator[Hit]:
    """GetAvailableTimeslots: start, end and healthcare_facility in each free time, and no time that has passed
    (one that started before the call, in Swedish local time)."""
    called = rivta_ts(datetime.fromtimestamp(view.t, UTC)) if view.t is not None else None
    for i, (element, slot) in enumerate(view.slots):
        missing = [n for n, v in (("startTimeInclusive", slot.start), ("endTimeExclusive", slot.end),
                                  ("healthcare_facility", slot.healthcare_facility)) if _blank(v)]
        if missing:
            names = ", ".join(missing)
            path, line = _slot_where(view, i, element, missing[0])
            yield Hit(f"In the answer, a free time ({_which(slot)}) has no {names}; GetAvailableTimeslots requires "
                      "startTimeInclusive, endTimeExclusive and healthcare_facility in each",
                      f"I svaret saknar en ledig tid ({_which_sv(slot)}) {names}; GetAvailableTimeslots kräver "
                      "startTimeInclusive, endTimeExclusive och healthcare_facility i varje",
                      path=path, line=line, hint=f"send {names} for every free time",
                      hint_sv=f"skicka {names} för varje ledig tid")
        start = ts_moment(slot.start)
        if called is not None and start is not None and slot.start.strip() < called:
            path, line = _slot_where(view, i, element, "startTimeInclusive")
            yield Hit(f"In the answer, the free time starting {slot.start.strip()} had already started when 1177 "
                      f"asked ({called}, Swedish local time); passed times must not be returned",
                      f"I svaret hade den lediga tiden som börjar {slot.start.strip()} redan börjat när 1177 frågade "
                      f"({called}, svensk lokal tid); passerade tider får inte returneras",
                      path=path, line=line,
                      hint="leave out every time that starts before now (compare in Swedish local time, as TS "
                      "times are written)",
                      hint_sv="utelämna varje tid som börjar före nu (jämför i svensk lokal tid, som TS-tider skrivs)")


# -- the answers of changes -----------------------------------------------------------------------------------


def booking_id_result(view: RequestView, ctx: RuleContext) -> Iterator[Hit]:
    """MakeBooking: bookingId with resultCode OK or INFO, none with ERROR."""
    result = view.result
    if result is None:
        return
    where = xml_path(view.response)
    if result.code in PERFORMED and _blank(result.booking_id):
        yield Hit(f"In the answer, MakeBooking says resultCode={result.code} without a bookingId; the booking "
                  "made must be named (1177 shows it, cancels and rebooks by it)",
                  f"I svaret säger MakeBooking resultCode={result.code} utan bookingId; den gjorda bokningen måste "
                  "anges (1177 visar, avbokar och ombokar med det)",
                  path=f"{where}/bookingId", line=view.response.sourceline,
                  hint="send the new booking's id in bookingId, before resultCode",
                  hint_sv="skicka den nya bokningens id i bookingId, före resultCode")
    elif result.code == "ERROR" and result.booking_id_present:
        yield Hit(f"In the answer, MakeBooking says resultCode=ERROR (nothing was booked) but gives a bookingId "
                  f"('{(result.booking_id or '').strip()}')",
                  f"I svaret säger MakeBooking resultCode=ERROR (inget bokades) men anger ett bookingId "
                  f"('{(result.booking_id or '').strip()}')",
                  path=f"{where}/bookingId", line=view.response.sourceline,
                  hint="leave bookingId out when the booking was not made",
                  hint_sv="utelämna bookingId när bokningen inte gjordes")


def result_text(view: RequestView, ctx: RuleContext) -> Iterator[Hit]:
    """resultCode ERROR or INFO comes with resultText: the text 1177 shows the citizen."""
    result = view.result
    if result is None or result.code not in ("ERROR", "INFO") or not _blank(result.text):
        return
    meaning = ("the change was not made" if result.code == "ERROR" else "the change was made, with a text to show")
    meaning_sv = ("ändringen gjordes inte" if result.code == "ERROR" else "ändringen gjordes, med en text att visa")
    yield Hit(f"In the answer, {view.operation} says resultCode={result.code} ({meaning}) without resultText; "
              "1177 shows that text to the citizen",
              f"I svaret säger {view.operation} resultCode={result.code} ({meaning_sv}) utan resultText; 1177 "
              "visar den texten för invånaren",
              path=f"{xml_path(view.response)}/resultText", line=view.response.sourceline,
              hint="write in resultText, in Swedish, what happened and what the citizen can do",
              hint_sv="skriv i resultText, på svenska, vad som hände och vad invånaren kan göra")


# -- the response time ----------------------------------------------------------------------------------------


def sla(view: RequestView, ctx: RuleContext) -> Iterator[Hit]:
    """The booking system answers within the SLA's 3 s (95 % of calls: the case TC-WB-09 judges that)."""
    ms = view.exchange.producer_ms
    if not view.from_booking_system or ms is None or ms <= ctx.sla_s * 1000:
        return
    yield Hit(f"The booking system took {ms / 1000:.1f} s to answer {view.operation}; the SLA is {ctx.sla_s:g} s "
              "for 95 % of calls",
              f"Bokningssystemet tog {ms / 1000:.1f} s på sig att svara på {view.operation}; SLA:n är "
              f"{ctx.sla_s:g} s för 95 % av anropen",
              path="/Envelope",
              hint="answer within 3 s: index the schedule by citizen and unit, and keep slow look-ups out of the call",
              hint_sv="svara inom 3 s: indexera tidboken per invånare och enhet, och håll långsamma uppslag utanför "
              "anropet")


# -- the booking system's Update calls ------------------------------------------------------------------------


def ei_answered(view: RequestView, ctx: RuleContext) -> Iterator[Hit]:
    """The index (or the platform) accepted the Update: a refusal changes nothing in the index, so 1177 and
    everyone else go on seeing the old posts."""
    if view.index_ok or view.exchange.injected:
        return
    said = view.index_refusal or f"HTTP {view.exchange.http_status}"
    code = ei_code(said) or view.exchange.vp_code
    who, who_sv = (("the platform", "plattformen") if view.exchange.vp_code else ("the index", "indexet"))
    lead = f"{code}: " if code and not said.startswith(code) else ""
    hint, hint_sv = _REFUSAL_HINTS.get(code or "", _REFUSAL_HINT)
    if code == "VP004":  # no route for Update at the address sent: most often not the index owner's
        owner = ctx.fixtures.section(INDEX_DOMAIN).owner
        sent = (view.exchange.logical_address or "").strip() or "(none)"
        hint = (f"send the Update to the index owner's logical address, {owner} (LogicalAddress header), not to "
                f"{sent}: the index is one, whatever unit a post is about; the unit goes in logicalAddress of "
                "each engagement")
        hint_sv = (f"skicka Update till indexägarens logiska adress, {owner} (huvudet LogicalAddress), inte till "
                   f"{sent}: indexet är ett, vilken enhet en post än gäller; enheten anges i logicalAddress i "
                   "varje engagement")
    yield Hit(f"{who.capitalize()} refused the Update ({lead}{said}); nothing in it reached the index",
              f"{who_sv.capitalize()} avvisade Update-anropet ({lead}{said}); inget i det kom in i indexet",
              path="/Envelope/Body/Update", line=view.lines.get(""), hint=hint, hint_sv=hint_sv)


_REFUSAL_HINT = ("correct what the answer names and send the Update again",
                 "rätta det som svaret anger och skicka Update igen")


_REFUSAL_HINTS = {
    "EI000": ("send 1 to 1000 engagementTransaction per call; retry a technical error later",
              "skicka 1 till 1000 engagementTransaction per anrop; försök igen senare vid tekniskt fel"),
    "EI001": ("send the Update as the schema says (engagement fields in urn:riv:itintegration:engagementindex:1)",
              "skicka Update enligt schemat (engagement-fälten i urn:riv:itintegration:engagementindex:1)"),
    "EI002": ("send each post (key) once per call: merge or drop the duplicate transaction",
              "skicka varje post (nyckel) en gång per anrop: slå ihop eller ta bort den dubblerade transaktionen"),
    "EI003": ("send the Update to the index owner's logical address (the national index: 5565594230)",
              "skicka Update till indexägarens logiska adress (det nationella indexet: 5565594230)"),
    "EI004": ("fill in every mandatory field, without whitespace around values, dates as yyyyMMddHHmmss",
              "fyll i varje obligatoriskt fält, utan blanksteg runt värdena, datum som ååååMMddTTmmss"),
    "EI005": ("use the care unit's HSA-id as logicalAddress, not a reserved one",
              "använd vårdenhetens HSA-id som logicalAddress, inte en reserverad adress"),
    "EI006": ("send the booking system's own HSA-id as sourceSystem, not a reserved one",
              "skicka bokningssystemets eget HSA-id som sourceSystem, inte ett reserverat"),
    "VP007": ("ask for the booking system to be authorised for Update in the TAK (as a consumer of the index)",
              "beställ behörighet för bokningssystemet till Update i TAK (som konsument av indexet)"),
}


def _post_where(view: RequestView, index: int, name: str) -> tuple[str, int | None]:
    payload = view.elements.get("")
    path = f"/Envelope/Body/Update/engagementTransaction[{index + 1}]/engagement/{name}"
    if payload is None:
        return path, None
    transactions = [t for t in payload if local_name(t) == "engagementTransaction"]
    if index >= len(transactions):
        return path, payload.sourceline
    line = transactions[index].sourceline
    for element in transactions[index].iter():
        if local_name(element) == name:
            return path, element.sourceline
    return path, line


@_capped
def ei_values(view: RequestView, ctx: RuleContext) -> Iterator[Hit]:
    """What web booking requires of a post's values: serviceDomain riv:crm:scheduling, categorization Booking or
    Invitation, logicalAddress a unit connected to web booking, the bookingId as businessObjectInstanceIdentifier,
    the booking system's own HSA-id as sourceSystem."""
    system = (view.exchange.consumer or "").strip()
    units = ctx.connected_units(system)
    units_lower = {u.lower() for u in units}
    for i, post in enumerate(view.posts):
        if not post.engaged:
            continue  # no engagement at all: no values to judge (the index refuses it, EI001: WB-EI-ANSWERED)
        what = f"transaction {i + 1}" + (f" (bookingId {post.booking_id})" if post.booking_id else "")
        what_sv = f"transaktion {i + 1}" + (f" (bookingId {post.booking_id})" if post.booking_id else "")
        if post.service_domain != SERVICE_DOMAIN:
            path, line = _post_where(view, i, "serviceDomain")
            yield Hit(f"In {what}, serviceDomain is '{post.service_domain}'; web booking's posts are in "
                      f"{SERVICE_DOMAIN}",
                      f"I {what_sv} är serviceDomain '{post.service_domain}'; webbtidbokningens poster ligger i "
                      f"{SERVICE_DOMAIN}", path=path, line=line,
                      hint=f"send serviceDomain {SERVICE_DOMAIN} (1177 subscribes to that domain)",
                      hint_sv=f"skicka serviceDomain {SERVICE_DOMAIN} (1177 prenumererar på den domänen)")
        if post.categorization not in (BOOKING, INVITATION):
            path, line = _post_where(view, i, "categorization")
            yield Hit(f"In {what}, categorization is '{post.categorization}'; web booking uses {BOOKING} (a "
                      f"booking) or {INVITATION} (an invitation)",
                      f"I {what_sv} är categorization '{post.categorization}'; webbtidbokning använder {BOOKING} "
                      f"(en bokning) eller {INVITATION} (en kallelse)", path=path, line=line,
                      hint=f"send {BOOKING} or {INVITATION}, written exactly so",
                      hint_sv=f"skicka {BOOKING} eller {INVITATION}, skrivet exakt så")
        if post.unit.lower() not in units_lower:
            path, line = _post_where(view, i, "logicalAddress")
            shown = ", ".join(units) or "(none in the fixtures)"
            shown_sv = ", ".join(units) or "(inga i fixturerna)"
            yield Hit(f"In {what}, logicalAddress '{post.unit}' is not a care unit connected to web booking "
                      f"(of {system or 'this booking system'}: {shown}); only connected units are indexed, by the "
                      "HSA-id that is their crm:scheduling logical address",
                      f"I {what_sv} är logicalAddress '{post.unit}' ingen vårdenhet som är ansluten till "
                      f"webbtidbokning (för {system or 'bokningssystemet'}: {shown_sv}); bara anslutna enheter "
                      "indexeras, med det HSA-id som är deras logiska adress för crm:scheduling",
                      path=path, line=line, hint=f"send the care unit's HSA-id, one of: {shown}",
                      hint_sv=f"skicka vårdenhetens HSA-id, ett av: {shown_sv}")
        if not post.booking_id:
            path, line = _post_where(view, i, "businessObjectInstanceIdentifier")
            yield Hit(f"In {what}, businessObjectInstanceIdentifier is empty; it is the bookingId (1177 asks "
                      "GetBookingDetails with it)",
                      f"I {what_sv} är businessObjectInstanceIdentifier tom; den ska vara bookingId (1177 frågar "
                      "GetBookingDetails med det)", path=path, line=line,
                      hint="send the booking's or invitation's bookingId",
                      hint_sv="skicka bokningens eller kallelsens bookingId")
        if system and post.source_system.lower() != system.lower():
            path, line = _post_where(view, i, "sourceSystem")
            yield Hit(f"In {what}, sourceSystem is '{post.source_system}', not the booking system's own HSA-id "
                      f"({system}, the consumer that sent the Update); 1177 activates inbox messages per "
                      "sourceSystem",
                      f"I {what_sv} är sourceSystem '{post.source_system}', inte bokningssystemets eget HSA-id "
                      f"({system}, tjänstekonsumenten som skickade Update); 1177 aktiverar inkorgsmeddelanden per "
                      "sourceSystem", path=path, line=line,
                      hint=f"send sourceSystem {system}", hint_sv=f"skicka sourceSystem {system}")


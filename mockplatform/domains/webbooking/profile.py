"""The "web-booking" profile: how 1177 judges a booking system connected to web booking, by its answers to
crm:scheduling calls and by its Update calls to the engagement index; with the "Webbtidbokning" catalogue.

The catalogue below is the one place where rule ids, severities, titles and sources are written; ids are stable
once published. The order is the order of the protocol's rule table. Decisions where the reference is silent:

- WB-TIMETYPE-ID is an error: the reference says 1177 *requires* timeTypeID, as it requires sourceSystem of
  the inbox (INBOX-SOURCE-SYSTEM, an error).
- WB-FAULT is a warning: technical errors happen (the SLA asks for 99.5 % availability), and a fault is the
  only way GetBookingDetails can say "no such booking". So it is no finding at all when the request is about a
  booking the booking system has not said exists (or has cancelled), nor when the request was not
  schema-valid; VP009 (no answer in time, or not SOAP) is the booking system's failure too.
- WB-SLA is a warning per call; TC-WB-09 fails when fewer than 95 % of the answers came within 3 s.
- WB-EMPTY-ELEMENT counts an element holding only whitespace as empty (it has no value either).
- WB-PURPOSE-INVITATION applies wherever a timeslot is answered (schedule, details, free times): the reference
  states it for GetBookingDetails, and an invitation's text is what 1177 shows of it anywhere.
- WB-EI-CATEGORIZATION and WB-EI-MOST-RECENT compare a post with what the booking system last said of the
  booking (its answers, and a change it answered OK with the requested time); a post made before a change is
  not compared until the booking system updates it (WB-EI-AFTER-CHANGE's business).
- WB-EI-ONE-POST: two live posts for one booking are a finding only when they outlive the wait (a delete and a
  new post may come in two calls).
- CancelBooking is followed by the delete of the booking's post, whatever its categorization (a cancelled timed
  invitation is deleted as an Invitation).
- Answers made by fault injection, and the platform's own VP faults (but VP009), are not the booking system's:
  they are not judged, and no case takes them as evidence.
"""

from __future__ import annotations

from datetime import datetime

from ...contracts import ContractRegistry
from ...findings import Severity
from ...fixtures import Fixtures
from ...journal import Exchange
from ...rules import Profile, RuleInfo
from ...rules.base import JOURNAL, REQUEST, JournalRule, RequestRule
from ..engagementindex.names import UPDATE_NS
from . import answer_rules as answer
from . import behaviour_rules as behaviour
from .cases import CATALOGUE as CASES
from .names import (
    CHANGES,
    CONTRACTS,
    DETAILS,
    DOMAIN_NAME,
    INDEX_UPDATE,
    MAKE,
    OPERATIONS,
    PROFILE_ID,
    PROFILE_NAME,
    SCHEDULE,
    TIMESLOT_ANSWERS,
    TIMESLOTS,
)
from .view import WebBookingContext, WebBookingView, read_web_booking_view

CATALOGUE_NAME = "Webbtidbokning"
INDEX_WAIT_S = 10.0  # the default wait for a change's index update (verify --wait, probe --wait)
TKB = "TKB crm:scheduling 1.1"
SCHEMAS = "crm:scheduling 1.1 schemas"
EI_VALUES = "Webbtidbokning och Engagemangsindex: värden i indexposten"
EI_EVENTS = "Webbtidbokning och Engagemangsindex: händelser och indexanrop"
EI_CONTRACT = "TKB engagementindex 1.0: Update (EI000-EI006)"
ERR, WARN = Severity.ERROR, Severity.WARNING
UPDATE = (INDEX_UPDATE,)

CATALOGUE: tuple[tuple[RuleInfo, RequestRule | JournalRule], ...] = (
    (RuleInfo("WB-SCHEMA", ERR, "The answer is the operation's response element, valid against the contract's schema",
              "Svaret är operationens svarselement och giltigt enligt kontraktets schema", SCHEMAS, REQUEST,
              OPERATIONS), answer.schema),
    (RuleInfo("WB-EMPTY-ELEMENT", ERR, "No empty element in an answer (<tag/>, <tag></tag>)",
              "Inget tomt element i ett svar (<tag/>, <tag></tag>)", f"{TKB}: utelämna fält utan värde", REQUEST,
              OPERATIONS), answer.empty_element),
    (RuleInfo("WB-SCHEDULE-REQUIRED", ERR,
              "GetSubjectOfCareSchedule: every timeslotDetail has start, end, healthcare_facility, bookingId and "
              "subject_of_care",
              "GetSubjectOfCareSchedule: varje timeslotDetail har start, slut, healthcare_facility, bookingId och "
              "subject_of_care", f"{TKB}: GetSubjectOfCareSchedule", REQUEST, (SCHEDULE,)), answer.schedule_required),
    (RuleInfo("WB-SCHEDULE-OPEN-INVITATION", ERR, "GetSubjectOfCareSchedule returns no open invitation",
              "GetSubjectOfCareSchedule returnerar inga öppna kallelser", f"{TKB}: GetSubjectOfCareSchedule",
              REQUEST, (SCHEDULE,)), answer.schedule_open_invitation),
    (RuleInfo("WB-DETAILS-FLAGS", ERR,
              "GetBookingDetails: cancel_booking_allowed, rebooking_allowed and message_allowed are given",
              "GetBookingDetails: cancel_booking_allowed, rebooking_allowed och message_allowed är angivna",
              f"{TKB}: GetBookingDetails", REQUEST, (DETAILS,)), answer.details_flags),
    (RuleInfo("WB-PURPOSE-INVITATION", ERR, "An invitation (isInvitation=true) has its text in purpose",
              "En kallelse (isInvitation=true) har sin text i purpose", f"{TKB}: GetBookingDetails, TimeslotType",
              REQUEST, TIMESLOT_ANSWERS), answer.purpose_invitation),
    (RuleInfo("WB-TIMETYPE-ID", ERR, "Every timeslot has timeTypeID (required by 1177)",
              "Varje tid har timeTypeID (krävs av 1177)", f"{TKB}: TimeslotType (timeTypeID krävs av 1177)", REQUEST,
              TIMESLOT_ANSWERS), answer.time_type_id),
    (RuleInfo("WB-BOOKINGID-RESULT", ERR, "MakeBooking names the booking with OK and INFO, and none with ERROR",
              "MakeBooking anger bokningen vid OK och INFO, och ingen vid ERROR", f"{TKB}: MakeBooking", REQUEST,
              (MAKE,)), answer.booking_id_result),
    (RuleInfo("WB-RESULT-TEXT", ERR, "resultCode ERROR or INFO comes with resultText (shown to the citizen)",
              "resultCode ERROR eller INFO har en resultText (visas för invånaren)", f"{TKB}: felhantering", REQUEST,
              CHANGES), answer.result_text),
    (RuleInfo("WB-TIME-ORDER", ERR, "Times are real TS times, each start before its end",
              "Tider är riktiga TS-tider, varje start före sitt slut", f"{TKB}: TS, TimeslotType", REQUEST,
              TIMESLOT_ANSWERS), answer.time_order),
    (RuleInfo("WB-PASSED-TIMES", ERR,
              "GetAvailableTimeslots returns no passed time, each with start, end and healthcare_facility",
              "GetAvailableTimeslots returnerar inga passerade tider, var och en med start, slut och "
              "healthcare_facility", f"{TKB}: GetAvailableTimeslots", REQUEST, (TIMESLOTS,)), answer.passed_times),
    (RuleInfo("WB-SLA", WARN, "The booking system answers within 3 s", "Bokningssystemet svarar inom 3 s",
              f"{TKB}: SLA (3 s för 95 % av anropen)", REQUEST, OPERATIONS), answer.sla),
    (RuleInfo("WB-FAULT", WARN, "No technical error (SOAP fault, HTTP error, VP009) to a schema-valid request",
              "Inget tekniskt fel (SOAP-fel, HTTP-fel, VP009) på ett schemagiltigt anrop", f"{TKB}: felhantering",
              JOURNAL), behaviour.fault),
    (RuleInfo("WB-EI-ANSWERED", ERR, "The index accepts the booking system's Update",
              "Indexet tar emot bokningssystemets Update", EI_CONTRACT, REQUEST, UPDATE), answer.ei_answered),
    (RuleInfo("WB-EI-VALUES", ERR,
              "Index posts carry web booking's values: serviceDomain, categorization, unit, bookingId, sourceSystem",
              "Indexposter har webbtidbokningens värden: serviceDomain, categorization, enhet, bookingId, "
              "sourceSystem", EI_VALUES, REQUEST, UPDATE), answer.ei_values),
    (RuleInfo("WB-EI-CATEGORIZATION", ERR, "A post's categorization is what the booking system says of the booking",
              "En posts categorization är det som bokningssystemet säger om bokningen", EI_VALUES, JOURNAL),
     behaviour.ei_categorization),
    (RuleInfo("WB-EI-MOST-RECENT", ERR, "A Booking post's mostRecentContent is the booking's start",
              "En Booking-posts mostRecentContent är bokningens start", EI_VALUES, JOURNAL),
     behaviour.ei_most_recent),
    (RuleInfo("WB-EI-ONE-POST", ERR, "One booking or invitation is exactly one index post",
              "En bokning eller kallelse är exakt en indexpost", EI_VALUES, JOURNAL), behaviour.ei_one_post),
    (RuleInfo("WB-EI-AFTER-CHANGE", ERR, "A change answered OK is followed by its index update within the wait",
              "En ändring som besvarats med OK följs av sin uppdatering av indexet inom väntetiden", EI_EVENTS,
              JOURNAL), behaviour.ei_after_change),
)


_OWN = frozenset(c.lower() for c in (*CONTRACTS, UPDATE_NS))


def owns_contract(namespace: str) -> bool:
    return namespace.lower() in _OWN or "crm:scheduling" in namespace.lower()


class _Reading:
    """How the profile reads an exchange: with the contracts its context was made with, so that a request's
    schema validity is known (a fault is the right answer to an invalid one). Before a context is made, requests
    are read without it (the journal's exchange page makes one first; WB-FAULT, a journal rule, is not run there)."""

    def __init__(self) -> None:
        self.contracts: ContractRegistry | None = None

    def read(self, exchange: Exchange) -> WebBookingView:
        return read_web_booking_view(exchange, self.contracts)

    def context(self, fixtures: Fixtures, contracts: ContractRegistry, consumer: str | None = None,
                system_ids: tuple[str, ...] = (), until: str | None = None, wait_s: float | None = None,
                sla_s: float = 3.0, **options: object) -> WebBookingContext:
        """The context web booking's rules judge in; options of other profiles (the inbox's same-text threshold)
        are ignored. ``until``: the judged period's end (ISO), ``wait_s``: how long a change may wait for its
        index update (None: INDEX_WAIT_S), ``sla_s``: the SLA's response time."""
        self.contracts = contracts
        return web_booking_context(fixtures, contracts, consumer, system_ids, until,
                                   INDEX_WAIT_S if wait_s is None else wait_s, sla_s)


def web_booking_context(fixtures: Fixtures, contracts: ContractRegistry, consumer: str | None = None,
                        system_ids: tuple[str, ...] = (), until: str | None = None,
                        index_wait_s: float = INDEX_WAIT_S, sla_s: float = 3.0) -> WebBookingContext:
    namespaces = frozenset(i.responder_namespace.lower() for i in contracts.interactions
                           if owns_contract(i.responder_namespace))
    return WebBookingContext(fixtures=fixtures, contracts=contracts, consumer=consumer, system_ids=tuple(system_ids),
                             contract_namespaces=namespaces, section=fixtures.section(DOMAIN_NAME),
                             index_wait_s=index_wait_s, sla_s=sla_s,
                             until_t=datetime.fromisoformat(until).timestamp() if until else None)


def profile() -> Profile:
    """A fresh web-booking profile."""
    reading = _Reading()
    return Profile(PROFILE_ID, PROFILE_NAME, CATALOGUE, read=reading.read, context=reading.context, cases=CASES,
                   owns_contract=owns_contract, catalogue=CATALOGUE_NAME, subject="booking-system")

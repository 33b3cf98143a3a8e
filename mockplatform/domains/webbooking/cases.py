"""The "Webbtidbokning" catalogue: the test cases a booking system connecting to 1177 web booking demonstrates
(see ``rules.cases`` for how a case is judged). Each case is judged on the booking system's own answers:
answers that fault injection made are no evidence of it, and are counted in the case's note."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import replace

from ...findings import Finding, Severity
from ...rules import Hit
from ...rules.cases import MAX_EVIDENCE, CaseJudge, Outcome, TestCase, errors_in
from .ledger import AFTER_CHANGE, CATEGORIZATION, FOLLOWED, MOST_RECENT, NOT_JUDGED, ONE_POST, Event, Ledger
from .names import CANCEL, DATES, DETAILS, INDEX_UPDATE, MAKE, SCHEDULE, TIMESLOTS, UPDATE_BOOKING
from .view import WebBookingContext as RuleContext
from .view import WebBookingView as RequestView

INDEX_SOURCE = "Webbtidbokning och Engagemangsindex: uppdateringar av indexet"
LEDGER_RULES = {CATEGORIZATION: "WB-EI-CATEGORIZATION", MOST_RECENT: "WB-EI-MOST-RECENT", ONE_POST: "WB-EI-ONE-POST",
                AFTER_CHANGE: "WB-EI-AFTER-CHANGE"}
SLA_SHARE = 0.95
SLA_RULE = "WB-SLA"


def _own(kind: str, exchange_id: int, hit: Hit) -> tuple[int, Finding]:
    """A ledger event as the case's own finding, under the rule id of the journal rule that reports it too."""
    return exchange_id, Finding(LEDGER_RULES[kind], Severity.ERROR, hit.message_en, hit.message_sv, path=hit.path,
                                line=hit.line, source=INDEX_SOURCE, hint=hit.hint, hint_sv=hit.hint_sv)


def answered(operations: tuple[str, ...], proves: Callable[[RequestView], bool], what_en: str,
             what_sv: str) -> type[CaseJudge]:
    """The judge of a case the booking system demonstrates with its answers to ``operations``: each answer that
    proves the case is evidence, and so is each answer that broke an error rule (it fails the case). Answers
    that prove nothing (a fault, an empty list) are counted, and named in the note when nothing proved it."""

    class Answered(CaseJudge):
        def __init__(self, ctx: RuleContext) -> None:
            super().__init__(ctx)
            self.faults = self.unproven = self.injected = 0
            self.refused: Counter[str] = Counter()  # calls the platform answered itself (VP004, VP007, ...)

        def feed(self, view: RequestView, findings: Sequence[Finding]) -> None:
            if view.operation not in operations:
                return
            if view.exchange.injected:
                self.injected += 1
            elif errors_in(findings) or (view.from_booking_system and proves(view)):
                self.outcome.add(view, findings)
            elif not view.from_booking_system and view.exchange.vp_code:
                self.refused[view.exchange.vp_code] += 1
            elif view.fault:
                self.faults += 1
            elif view.answered:
                self.unproven += 1

        def finish(self) -> Outcome:
            out = self.outcome
            if out.has_evidence:
                return out
            said_sv, said_en = [], []
            if self.unproven:
                said_sv.append(f"{self.unproven} svar utan {what_sv}")
                said_en.append(f"{self.unproven} answer(s) without {what_en}")
            if self.faults:
                said_sv.append(f"{self.faults} svar med tekniskt fel")
                said_en.append(f"{self.faults} answer(s) with a technical error")
            if self.injected:
                said_sv.append(f"{self.injected} injicerade svar, inte bokningssystemets egna")
                said_en.append(f"{self.injected} injected answer(s), not the booking system's own")
            if self.refused:
                codes = ", ".join(f"{code} ×{n}" if n > 1 else code for code, n in sorted(self.refused.items()))
                count = sum(self.refused.values())
                said_sv.append(f"{count} anrop som plattformen själv besvarade ({codes}) och som aldrig nådde "
                               "bokningssystemet: se TAK:ens vägval och behörigheter för enheten")
                said_en.append(f"{count} call(s) the platform answered itself ({codes}), which never reached the "
                               "booking system: see the TAK's routing and authorisations for the unit")
            if said_sv:
                out.note = (f"Sågs: {'; '.join(said_sv)}. Seen: {'; '.join(said_en)}.")
            return out

    return Answered


class _IndexPosts(CaseJudge):
    """TC-WB-07: the booking system's Updates. Each is evidence, failing on its own errors (WB-EI-VALUES,
    WB-EI-ANSWERED) and on a post that disagrees with what the booking system said (followed by a ledger of its
    own: a disagreement may show only when the answer comes after the post)."""

    def __init__(self, ctx: RuleContext) -> None:
        super().__init__(ctx)
        self.ledger = Ledger(ctx.index_wait_s, ctx.until_t)

    def feed(self, view: RequestView, findings: Sequence[Finding]) -> None:
        mine = [f for f in findings if f.rule_id not in LEDGER_RULES.values()]
        if view.operation == INDEX_UPDATE and (view.posts or errors_in(mine)):
            self.outcome.add(view, mine)
        self._take(self.ledger.feed(view))

    def _take(self, events: list[Event]) -> None:
        for event in events:
            if event.kind in (CATEGORIZATION, MOST_RECENT):
                self.outcome.add_id(event.exchange_id, failing=True)
                self.outcome.own(*_own(event.kind, event.exchange_id, event.hit))

    def finish(self) -> Outcome:
        self._take(self.ledger.finish())
        return self.outcome


class _AfterChange(CaseJudge):
    """TC-WB-08: every change answered OK followed by its index update within the wait, and one live post per
    booking. A change the journal ended on before the wait was over cannot be judged; the note says how many."""

    def __init__(self, ctx: RuleContext) -> None:
        super().__init__(ctx)
        self.ledger = Ledger(ctx.index_wait_s, ctx.until_t)
        self.not_judged = 0

    def feed(self, view: RequestView, findings: Sequence[Finding]) -> None:
        self._take(self.ledger.feed(view))

    def _take(self, events: list[Event]) -> None:
        for event in events:
            if event.kind == FOLLOWED:
                self.outcome.add_id(event.exchange_id)
            elif event.kind == NOT_JUDGED:
                self.not_judged += 1
            elif event.kind in (AFTER_CHANGE, ONE_POST):
                self.outcome.add_id(event.exchange_id, failing=True)
                self.outcome.own(*_own(event.kind, event.exchange_id, event.hit))

    def finish(self) -> Outcome:
        self._take(self.ledger.finish())
        out, wait = self.outcome, f"{self.ctx.index_wait_s:g}"
        if self.not_judged:
            out.note = (f"Kunde inte bedömas: {self.not_judged} ändring(ar) besvarades mindre än {wait} s före "
                        "journalens slut, för kort tid för att se om uppdateringen av indexet kom; låt testet "
                        f"fortsätta, eller vidga --until. Could not be judged: {self.not_judged} change(s) answered "
                        f"less than {wait} s before the journal ends, too little to see whether the index update "
                        "came; keep the test running, or widen --until.")
        return out


class _ResponseTimes(CaseJudge):
    """TC-WB-09: 95 % of the booking system's answers within the SLA's 3 s. Kept: three counts and a few slow
    exchanges' ids. A call the booking system did not answer (VP009: no answer, or not SOAP; HTTP 200 without a
    SOAP envelope) is no answer within 3 s: it counts as slow once it took longer than that, and is otherwise
    left out and named in the note (a refused connection says nothing of how fast the system answers)."""

    def __init__(self, ctx: RuleContext) -> None:
        super().__init__(ctx)
        self.calls = self.within = self.unanswered = 0
        self.slow: list[int] = []

    def feed(self, view: RequestView, findings: Sequence[Finding]) -> None:
        ms = view.exchange.producer_ms
        if view.operation in (None, INDEX_UPDATE) or not view.from_booking_system or ms is None:
            return
        if not view.replied and ms <= self.ctx.sla_s * 1000:
            self.unanswered += 1
            return
        self.calls += 1
        # Only the response time is this case's: an answer's other findings belong to the case of its operation.
        self.outcome.add(view, [f for f in findings if f.rule_id == SLA_RULE])
        if ms <= self.ctx.sla_s * 1000:
            self.within += 1
        elif len(self.slow) < MAX_EVIDENCE:
            self.slow.append(view.exchange.id)

    def finish(self) -> Outcome:
        out = self.outcome
        unanswered = ""
        if self.unanswered:
            unanswered = (f"Sågs: {self.unanswered} anrop som bokningssystemet inte besvarade med SOAP (VP009 eller "
                          f"inget SOAP-kuvert), inga belägg för svarstiden. Seen: {self.unanswered} call(s) the "
                          "booking system did not answer with SOAP (VP009 or no SOAP envelope), no evidence of its "
                          "response time.")
        if not self.calls:
            out.note = unanswered
            return out
        share = self.within / self.calls
        sla = f"{self.ctx.sla_s:g}"
        out.note = (f"{self.within} av {self.calls} svar inom {sla} s ({share:.1%}). {self.within} of {self.calls} "
                    f"answers within {sla} s ({share:.1%}).").replace(".0%", "%") + (f" {unanswered}" if unanswered
                                                                                       else "")
        if share >= SLA_SHARE:
            return out
        for exchange_id in self.slow:
            out.add_id(exchange_id, failing=True)
        out.own(self.slow[0], Finding(
            "CASE-WB-SLA-95", Severity.ERROR,
            f"Only {share:.1%} of the booking system's answers came within {sla} s ({self.within} of {self.calls}); "
            "the SLA asks for 95 %",
            f"Bara {share:.1%} av bokningssystemets svar kom inom {sla} s ({self.within} av {self.calls}); SLA:n "
            "kräver 95 %", source="TKB crm:scheduling 1.1: SLA (3 s för 95 % av anropen)",
            hint="find what makes the slow calls slow (WB-SLA names each); answer within 3 s",
            hint_sv="ta reda på vad som gör de långsamma anropen långsamma (WB-SLA anger vart och ett); svara "
            "inom 3 s"))
        return out


def _listed(view: RequestView) -> bool:
    return view.answered and view.count > 0


def _performed(view: RequestView) -> bool:
    return view.performed


def _booked(view: RequestView) -> bool:
    return view.performed and bool((view.result.booking_id or "").strip())


CATALOGUE: list[TestCase] = [
    TestCase("TC-WB-01", "Lista bokningar", "List bookings",
             "GetSubjectOfCareSchedule answers with the citizen's bookings and timed invitations at the unit, each "
             "with its time, unit, bookingId and citizen.",
             "Let 1177 (or a probe) call GetSubjectOfCareSchedule for a citizen with at least one booking.",
             answered((SCHEDULE,), _listed, "a booking", "någon bokning")),
    TestCase("TC-WB-02", "Bokningsdetaljer", "Booking details",
             "GetBookingDetails answers with the booking or invitation, with cancel_booking_allowed, "
             "rebooking_allowed and message_allowed (and the invitation's text in purpose).",
             "Call GetBookingDetails for a booking and an invitation the booking system holds.",
             answered((DETAILS,), _listed, "a timeslotDetail", "timeslotDetail")),
    TestCase("TC-WB-03", "Avbokning", "Cancel a booking",
             "CancelBooking of a booking that may be cancelled is performed (resultCode OK, or INFO with its text).",
             "Cancel a booking with cancel_booking_allowed=true through 1177 (or a probe).",
             answered((CANCEL,), _performed, "resultCode OK or INFO", "resultCode OK eller INFO")),
    TestCase("TC-WB-04", "Ombokning", "Rebook",
             "UpdateBooking moves a booking that may be rebooked to a free time (resultCode OK, or INFO with its "
             "text).",
             "Rebook a booking with rebooking_allowed=true to a time GetAvailableTimeslots offers.",
             answered((UPDATE_BOOKING,), _performed, "resultCode OK or INFO", "resultCode OK eller INFO")),
    TestCase("TC-WB-05", "Lediga tider", "Free times",
             "GetAvailableDates and GetAvailableTimeslots answer with free days and times, none of them passed, "
             "each time with its start, end and unit.",
             "Ask for free days and times at a unit for the coming weeks (GetAvailableDates, then "
             "GetAvailableTimeslots for a day it named).",
             answered((DATES, TIMESLOTS), _listed, "a free day or time", "någon ledig dag eller tid")),
    TestCase("TC-WB-06", "Bokning", "Book a time",
             "MakeBooking of a free time is performed and names the new booking (resultCode OK or INFO, bookingId).",
             "Book a free time through 1177 (or a probe), and book from an open invitation.",
             answered((MAKE,), _booked, "resultCode OK or INFO with a bookingId",
                      "resultCode OK eller INFO med bookingId")),
    TestCase("TC-WB-07", "Engagemangsindex: poster", "Engagement index: posts",
             "The booking system's Update calls are accepted by the index, with web booking's values: serviceDomain "
             "riv:crm:scheduling, Booking or Invitation as the booking system itself says, the unit, the bookingId, "
             "the start as mostRecentContent, its own HSA-id as sourceSystem.",
             "Let the booking system index a booking and an invitation (create them in it, or reload the index).",
             _IndexPosts),
    TestCase("TC-WB-08", "Engagemangsindex efter ändring", "Engagement index after a change",
             "After every booking, cancellation and rebooking answered OK, the booking system updates the index "
             "within the wait (10 s by default), and each booking has one live post.",
             "Book, cancel and rebook through 1177 (or a probe) and let the journal run on for the wait after the "
             "last change.",
             _AfterChange),
    TestCase("TC-WB-09", "Svarstider", "Response times",
             "95 % of the booking system's answers come within 3 s (the SLA).",
             "Run the other cases against the booking system in its test environment.",
             _ResponseTimes),
]

# Each case's purpose and advice in Swedish, which the protocol shows first (the English ones are above).
SWEDISH: dict[str, tuple[str, str]] = {
    "TC-WB-01": ("GetSubjectOfCareSchedule svarar med invånarens bokningar och kallelser med tid på enheten, var "
                 "och en med tid, enhet, bookingId och invånare.",
                 "Låt 1177 (eller en sond) anropa GetSubjectOfCareSchedule för en invånare med minst en bokning."),
    "TC-WB-02": ("GetBookingDetails svarar med bokningen eller kallelsen, med cancel_booking_allowed, "
                 "rebooking_allowed och message_allowed (och kallelsens text i purpose).",
                 "Anropa GetBookingDetails för en bokning och en kallelse som bokningssystemet har."),
    "TC-WB-03": ("CancelBooking av en bokning som får avbokas genomförs (resultCode OK, eller INFO med sin text).",
                 "Avboka en bokning med cancel_booking_allowed=true genom 1177 (eller en sond)."),
    "TC-WB-04": ("UpdateBooking flyttar en bokning som får ombokas till en ledig tid (resultCode OK, eller INFO med "
                 "sin text).",
                 "Omboka en bokning med rebooking_allowed=true till en tid som GetAvailableTimeslots erbjuder."),
    "TC-WB-05": ("GetAvailableDates och GetAvailableTimeslots svarar med lediga dagar och tider, inga passerade, "
                 "varje tid med start, slut och enhet.",
                 "Fråga efter lediga dagar och tider på en enhet för de kommande veckorna (GetAvailableDates, sedan "
                 "GetAvailableTimeslots för en dag som den angav)."),
    "TC-WB-06": ("MakeBooking av en ledig tid genomförs och anger den nya bokningen (resultCode OK eller INFO, "
                 "bookingId).",
                 "Boka en ledig tid genom 1177 (eller en sond), och boka från en öppen kallelse."),
    "TC-WB-07": ("Bokningssystemets Update-anrop tas emot av indexet, med webbtidbokningens värden: serviceDomain "
                 "riv:crm:scheduling, Booking eller Invitation så som bokningssystemet självt säger, enheten, "
                 "bookingId, starten som mostRecentContent och det egna HSA-id:t som sourceSystem.",
                 "Låt bokningssystemet indexera en bokning och en kallelse (skapa dem i det, eller läs om indexet)."),
    "TC-WB-08": ("Efter varje bokning, avbokning och ombokning som besvarats med OK uppdaterar bokningssystemet "
                 "indexet inom väntetiden (10 s som standard), och varje bokning har en levande post.",
                 "Boka, avboka och omboka genom 1177 (eller en sond) och låt journalen fortsätta väntetiden ut efter "
                 "den sista ändringen."),
    "TC-WB-09": ("95 % av bokningssystemets svar kommer inom 3 s (SLA:n).",
                 "Kör de andra fallen mot bokningssystemet i dess testmiljö."),
}
CATALOGUE = [replace(case, purpose_sv=SWEDISH[case.id][0], how_to_run_sv=SWEDISH[case.id][1]) for case in CATALOGUE]

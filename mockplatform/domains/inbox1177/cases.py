"""The catalogue of test cases a system connecting to the 1177 inbox demonstrates (see
``rules.cases`` for how a case is judged)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import NamedTuple

from ...findings import Finding, Severity
from ...localtime import swedish_time
from ...rules.cases import CaseJudge, Outcome, TestCase, attempts, errors_in
from . import docbook
from .behaviour_rules import message_keys
from .names import ADD_MESSAGE, IS_ACTIVE_USER, NOT_ACTIVE_TEXT
from .view import InboxContext as RuleContext
from .view import InboxView as RequestView

RETRY_RULE = "PP-RETRY-BACKOFF"  # the profile's rule on retry timing; TC-09 fails on its findings


def _ok(view: RequestView) -> bool:
    return view.exchange.http_status == 200 and view.result_code == "OK"


def _is_docbook(view: RequestView) -> bool:
    return docbook.is_docbook(view.message_text)


def _has_ulink(view: RequestView) -> bool:
    if not _is_docbook(view):
        return False
    try:
        return bool(view.docbook()[1])  # docbook.ulink_urls of the messageText, parsed once for the exchange
    except Exception:  # not well-formed: the DocBook rule says why
        return False


class _Threaded(CaseJudge):
    """Two or more accepted messages with the same thread id to one citizen; a threaded message that broke an
    error rule fails the case it attempted. Kept: the id of each thread's first message until its second
    comes (a view each would grow with the journal)."""

    def __init__(self, ctx: RuleContext) -> None:
        super().__init__(ctx)
        self.first: dict[tuple[str, str], int | None] = {}  # None: the thread is already evidence

    def feed(self, view: RequestView, findings: Sequence[Finding]) -> None:
        if view.operation != ADD_MESSAGE or not (view.thread_id or "").strip():
            return
        if not _ok(view):
            if errors_in(findings):
                self.outcome.add(view, findings)
            return
        key = ((view.subject_of_care_id or "").strip(), view.thread_id.strip())
        if key not in self.first:
            self.first[key] = view.exchange.id
            return
        earlier = self.first[key]
        if earlier is not None:
            self.outcome.add_id(earlier)
            self.first[key] = None
        self.outcome.add(view, findings)


# A resend of a message answered ERROR would come with the consumer's retry schedule; the contract's back-off
# begins with a retry after 4 s, so a shorter watch after the answer could miss it: the case is not judged.
RESEND_WINDOW_S = 4.0


class _Pending(NamedTuple):
    """What a judge keeps of a message that may be sent again: no view, only what the finding names."""

    exchange_id: int
    t: float | None
    time: str
    citizen: str | None
    keys: tuple[tuple, ...]


def _pending(view: RequestView) -> _Pending:
    return _Pending(view.exchange.id, view.t, view.exchange.time, view.subject_of_care_id,
                    tuple(message_keys(view)))


class _LogicalErrorHandled(CaseJudge):
    """An ERROR answer was seen, and the same message was not sent again (a logical error is final) in a
    watch of at least RESEND_WINDOW_S after it, until the end of the judged period; the case says how long.
    Kept: the messages answered ERROR and not resent."""

    def __init__(self, ctx: RuleContext) -> None:
        super().__init__(ctx)
        self.pending: dict[tuple, _Pending] = {}
        self.end: float | None = None

    def feed(self, view: RequestView, findings: Sequence[Finding]) -> None:
        if view.t is not None:
            self.end = view.t if self.end is None else max(self.end, view.t)
        if view.operation != ADD_MESSAGE:
            return
        keys = message_keys(view)
        earlier = next((self.pending[k] for k in keys if k in self.pending), None)
        if earlier is not None:
            for k in earlier.keys:
                self.pending.pop(k, None)
            self.outcome.add_id(earlier.exchange_id, failing=True)
            self.outcome.own(view.exchange.id, Finding(
                "CASE-LOGICAL-ERROR-RESENT", Severity.ERROR,
                f"The message to {earlier.citizen} was answered resultCode=ERROR ('{NOT_ACTIVE_TEXT}') "
                f"at {swedish_time(earlier.time)} and sent again at {swedish_time(view.exchange.time)}. A logical "
                "error is final: "
                "do not resend; check the citizen with IsActiveUser and reach them another way.",
                f"Meddelandet till {earlier.citizen} fick resultCode=ERROR ('{NOT_ACTIVE_TEXT}') "
                f"{swedish_time(earlier.time)} och skickades igen {swedish_time(view.exchange.time)}. Ett logiskt "
                "fel är slutgiltigt: "
                "skicka inte om; kontrollera invånaren med IsActiveUser och nå hen på annat sätt.",
                source="TKB patientportal 1.0: felhantering (logiska fel / tekniska fel)",
                hint="treat resultCode=ERROR as final; retry only technical faults (SOAP faults, timeouts)",
                hint_sv="behandla resultCode=ERROR som slutgiltigt; försök igen bara vid tekniska fel "
                "(SOAP-fel, timeout)"))
        if view.result_code == "ERROR":
            entry = _pending(view)
            for k in entry.keys:
                self.pending[k] = entry

    def finish(self) -> Outcome:
        out = self.outcome
        watched: list[float] = []
        too_short = 0
        for entry in {e.exchange_id: e for e in self.pending.values()}.values():
            window = (self.end - entry.t) if self.end is not None and entry.t is not None else 0.0
            if window < RESEND_WINDOW_S:
                too_short += 1
                continue
            out.add_id(entry.exchange_id)
            watched.append(window)
        if watched:
            shortest = min(watched)
            out.note = (f"Ingen omsändning inom {shortest:.1f} s efter ERROR-svaret (till slutet av den bedömda "
                        f"perioden). No resend within {shortest:.1f} s after the ERROR answer (until the end of the "
                        "judged period).")
        elif too_short and not out.has_evidence:
            out.note = (f"Kunde inte bedömas: {too_short} ERROR-svar kom mindre än {RESEND_WINDOW_S:g} s före slutet "
                        "av den bedömda perioden, för kort tid för att se om meddelandet skickades igen (kontraktets "
                        "första omförsök kommer efter 4 s); låt testet fortsätta, eller vidga --until. "
                        f"Could not be judged: {too_short} ERROR answer(s) came less than {RESEND_WINDOW_S:g} s "
                        "before the end of the judged period, too little to see whether the message was resent (the "
                        "contract's first retry comes after 4 s); keep the test running, or widen --until.")
        return out


class _RetryAfterFault(CaseJudge):
    """A technical fault followed by a resend of the same request; its timing is judged by the profile's
    retry rule, whose finding on the resend fails the case. Kept: the faults not yet retried."""

    def __init__(self, ctx: RuleContext) -> None:
        super().__init__(ctx)
        self.pending: dict[tuple, _Pending] = {}

    def feed(self, view: RequestView, findings: Sequence[Finding]) -> None:
        if view.operation is None:
            return
        keys = message_keys(view)
        fault = next((self.pending[k] for k in keys if k in self.pending), None)
        if fault is not None:
            for k in fault.keys:
                self.pending.pop(k, None)
            # The retry's timing is what this case demonstrates: a too-early retry (the profile's warning) is
            # the case's own error, so the case fails on it; a warning alone never fails a case.
            too_soon = [f for f in findings if f.rule_id == RETRY_RULE]
            self.outcome.add_id(fault.exchange_id, failing=bool(too_soon))
            self.outcome.add(view, findings, failing=bool(too_soon))
            for f in too_soon:
                self.outcome.own(view.exchange.id, Finding(
                    "CASE-RETRY-TOO-SOON", Severity.ERROR, f.message_en, f.message_sv, path=f.path, line=f.line,
                    source=f.source, hint=f.hint, hint_sv=f.hint_sv))
        if view.technical_fault:
            entry = _pending(view)
            for k in entry.keys:
                self.pending[k] = entry

    def finish(self) -> Outcome:
        left = len({e.exchange_id for e in self.pending.values()})
        if not self.outcome.has_evidence and left:
            self.outcome.note = (f"{left} tekniska fel sågs, men samma anrop skickades aldrig igen under den "
                                 f"bedömda perioden. {left} technical fault(s) were seen, but the same request was "
                                 "never sent again in the judged period.")
        return self.outcome


CATALOGUE: list[TestCase] = [
    TestCase("TC-01", "Kontrollera en aktiv invånare", "Check an active user",
             "IsActiveUser for a citizen with a 1177 account answers status=true; the system reads the answer.",
             "Call IsActiveUser for an active test citizen (e.g. 191212121212).",
             attempts(lambda v: v.operation == IS_ACTIVE_USER and v.active is not False,
                      lambda v: v.exchange.http_status == 200 and v.active is True)),
    TestCase("TC-02", "Kontrollera en inaktiv invånare", "Check an inactive user",
             "IsActiveUser for a citizen without an active account answers status=false; nothing is sent to them.",
             "Call IsActiveUser for an inactive test citizen (e.g. 199002272392).",
             attempts(lambda v: v.operation == IS_ACTIVE_USER and v.active is False,
                      lambda v: v.exchange.http_status == 200)),
    TestCase("TC-03", "Skicka ett meddelande i klartext", "Send a plain-text message",
             "AddMessageToPatientPortalInbox with a plain-text messageText is accepted (resultCode=OK).",
             "Send a message with plain text (no DocBook) to an active citizen.",
             attempts(lambda v: v.operation == ADD_MESSAGE and not _is_docbook(v), _ok)),
    TestCase("TC-04", "Skicka ett DocBook-formaterat meddelande", "Send a DocBook-formatted message",
             "A messageText in the accepted DocBook subset, entity-encoded, is accepted and shown formatted.",
             "Send a message whose messageText is an entity-encoded DocBook <article> (sections, paragraphs).",
             attempts(lambda v: v.operation == ADD_MESSAGE and _is_docbook(v), _ok)),
    TestCase("TC-05", "Skicka ett meddelande med SSO-länk", "Send a message with an SSO link",
             "A message with an ssoLink (or a DocBook ulink) and a DocBook messageText, with a registered systemId.",
             "Send a message with message/ssoLink (systemId, text, type) and a DocBook messageText.",
             attempts(lambda v: v.operation == ADD_MESSAGE and (v.has_sso_link or _has_ulink(v)), _ok)),
    TestCase("TC-06", "Skicka ett meddelande med avisering", "Send a message with notification",
             "notify=true with sourceSystem: the inbox notifies the citizen by their own settings (notificationSent).",
             "Send a message with notify=true and sourceSystem to a citizen with SMS or e-mail (e.g. 191212121212).",
             attempts(lambda v: v.operation == ADD_MESSAGE and v.notify is True,
                      lambda v: _ok(v) and v.notifications_sent > 0)),
    TestCase("TC-07", "Skicka meddelanden i samma tråd", "Send threaded messages",
             "Two or more messages with the same messageThreadId to one citizen form one main case.",
             "Send two messages with the same message/messageThreadId to the same active citizen.",
             _Threaded),
    TestCase("TC-08", "Hantera svaret ERROR för inaktiv invånare", "Handle the ERROR answer for an inactive citizen",
             "resultCode=ERROR ('Target person is not active user') is treated as final: the message is not resent.",
             "Send a message to an inactive citizen (e.g. 199002272392) and let the system handle the ERROR answer.",
             _LogicalErrorHandled),
    TestCase("TC-09", "Hantera plattformsfel med rimlig omsändning", "Handle a platform fault with a sane retry",
             "After a technical fault (VP009, timeout, producer SOAP fault) the same request is retried, no sooner "
             "than the contract's back-off (first retry after 4 s).",
             "Inject a producer fault for one call (connection refused or timeout) and let the system retry it.",
             _RetryAfterFault),
]

# Each case's purpose and advice in Swedish, which the protocol shows first (the English ones are above).
SWEDISH: dict[str, tuple[str, str]] = {
    "TC-01": ("IsActiveUser för en invånare med konto på 1177 svarar status=true, och systemet läser svaret.",
              "Anropa IsActiveUser för en aktiv testinvånare (t.ex. 191212121212)."),
    "TC-02": ("IsActiveUser för en invånare utan aktivt konto svarar status=false, och inget skickas till hen.",
              "Anropa IsActiveUser för en inaktiv testinvånare (t.ex. 199002272392)."),
    "TC-03": ("AddMessageToPatientPortalInbox med en messageText i klartext tas emot (resultCode=OK).",
              "Skicka ett meddelande i klartext (utan DocBook) till en aktiv invånare."),
    "TC-04": ("En messageText i den DocBook-delmängd som 1177 godtar, entitetskodad, tas emot och visas formaterad.",
              "Skicka ett meddelande vars messageText är en entitetskodad DocBook-<article> (sektioner, stycken)."),
    "TC-05": ("Ett meddelande med ssoLink (eller en ulink i DocBook) och en messageText i DocBook, med ett "
              "registrerat systemId.",
              "Skicka ett meddelande med message/ssoLink (systemId, text, type) och en messageText i DocBook."),
    "TC-06": ("notify=true tillsammans med sourceSystem: inkorgen aviserar invånaren på det sätt hen själv valt "
              "(notificationSent).",
              "Skicka ett meddelande med notify=true och sourceSystem till en invånare som har sms eller e-post "
              "(t.ex. 191212121212)."),
    "TC-07": ("Två eller fler meddelanden med samma messageThreadId till en invånare bildar ett huvudärende.",
              "Skicka två meddelanden med samma message/messageThreadId till samma aktiva invånare."),
    "TC-08": ("resultCode=ERROR ('Target person is not active user') behandlas som slutgiltigt: meddelandet "
              "skickas inte igen.",
              "Skicka ett meddelande till en inaktiv invånare (t.ex. 199002272392) och låt systemet hantera svaret "
              "ERROR."),
    "TC-09": ("Efter ett tekniskt fel (VP009, timeout, SOAP-fel från producenten) skickas samma anrop igen, men inte "
              "tidigare än kontraktets väntetider tillåter (första omförsöket efter 4 s).",
              "Injicera ett producentfel för ett anrop (vägrad anslutning eller timeout) och låt systemet försöka "
              "igen."),
}
CATALOGUE = [replace(case, purpose_sv=SWEDISH[case.id][0], how_to_run_sv=SWEDISH[case.id][1]) for case in CATALOGUE]

"""The catalogue of test cases a system connecting to the 1177 inbox demonstrates (see
``rules.cases`` for how a case is judged)."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import replace

from ...findings import Finding, Severity
from ...rules.cases import Findings, Outcome, TestCase, attempts
from . import docbook
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
        return bool(docbook.ulink_urls(view.message_text or ""))
    except Exception:  # not well-formed: the DocBook rule says why
        return False


def _threaded(views: list[RequestView], ctx: RuleContext, findings: Findings) -> Outcome:
    threads: dict[tuple[str, str], list[RequestView]] = defaultdict(list)
    broken = []  # threaded messages that broke an error rule: they fail the case they were attempting
    for v in views:
        if v.operation == ADD_MESSAGE and (v.thread_id or "").strip():
            if _ok(v):
                threads[((v.subject_of_care_id or "").strip(), v.thread_id.strip())].append(v)
            elif any(f.severity is Severity.ERROR for f in findings.get(v.exchange.id, ())):
                broken.append(v)
    evidence = [v for group in threads.values() if len(group) >= 2 for v in group]
    return Outcome(evidence=sorted(evidence + broken, key=lambda v: views.index(v)) if broken else evidence)


def _same_message(a: RequestView, b: RequestView) -> bool:
    """Is b a resend of a: same body, or the same operation, citizen and text."""
    if a.body_sha256 == b.body_sha256:
        return True
    return (a.operation == b.operation and a.operation is not None
            and (a.subject_of_care_id or "").strip() == (b.subject_of_care_id or "").strip()
            and (a.message_text or "") == (b.message_text or ""))


# A resend of a message answered ERROR would come with the consumer's retry schedule; the contract's back-off
# begins with a retry after 4 s, so a shorter watch after the answer could miss it: the case is not judged.
RESEND_WINDOW_S = 4.0


def _logical_error_handled(views: list[RequestView], ctx: RuleContext, findings: Findings) -> Outcome:
    """An ERROR answer was seen, and the same message was not sent again (a logical error is final) in a
    watch of at least RESEND_WINDOW_S after it, until the end of the judged period; the case says how long."""
    out = Outcome()
    end = max((v.t for v in views if v.t is not None), default=None)
    watched: list[float] = []
    too_short = 0
    for i, v in enumerate(views):
        if v.operation != ADD_MESSAGE or v.result_code != "ERROR":
            continue
        window = (end - v.t) if end is not None and v.t is not None else 0.0
        resent = next((later for later in views[i + 1:] if later.operation == ADD_MESSAGE and _same_message(v, later)),
                      None)
        if resent is None and window < RESEND_WINDOW_S:
            too_short += 1
            continue
        out.evidence.append(v)
        if resent is None:
            watched.append(window)
        for later in ([resent] if resent is not None else []):
            if later.operation == ADD_MESSAGE and _same_message(v, later):
                out.findings.append((later.exchange.id, Finding(
                    "CASE-LOGICAL-ERROR-RESENT", Severity.ERROR,
                    f"The message to {v.subject_of_care_id} was answered resultCode=ERROR ('{NOT_ACTIVE_TEXT}') "
                    f"at {v.exchange.time} and sent again at {later.exchange.time}. A logical error is final: "
                    "do not resend; check the citizen with IsActiveUser and reach them another way.",
                    f"Meddelandet till {v.subject_of_care_id} fick resultCode=ERROR ('{NOT_ACTIVE_TEXT}') "
                    f"{v.exchange.time} och skickades igen {later.exchange.time}. Ett logiskt fel är slutgiltigt: "
                    "skicka inte om; kontrollera invånaren med IsActiveUser och nå hen på annat sätt.",
                    source="TKB patientportal 1.0: felhantering (logiska fel / tekniska fel)",
                    hint="treat resultCode=ERROR as final; retry only technical faults (SOAP faults, timeouts)",
                    hint_sv="behandla resultCode=ERROR som slutgiltigt; försök igen bara vid tekniska fel "
                    "(SOAP-fel, timeout)")))
    if watched:
        shortest = min(watched)
        out.note = (f"Ingen omsändning inom {shortest:.1f} s efter ERROR-svaret (till slutet av den bedömda "
                    f"perioden). No resend within {shortest:.1f} s after the ERROR answer (until the end of the "
                    "judged period).")
    elif too_short:
        out.note = (f"Could not be judged: {too_short} ERROR answer(s) came less than {RESEND_WINDOW_S:g} s before "
                    "the end of the judged period, too little to see whether the message was resent (the contract's "
                    "first retry comes after 4 s); keep the test running, or widen --until.")
    return out


def _retry_after_fault(views: list[RequestView], ctx: RuleContext, findings: Findings) -> Outcome:
    """A technical fault followed by a resend of the same request; its timing is judged by the
    profile's retry rule, whose findings on the resend fail the case."""
    out = Outcome()
    faults_without_retry = 0
    for i, v in enumerate(views):
        if v.operation is None or not v.technical_fault:
            continue
        retry = next((later for later in views[i + 1:] if _same_message(v, later)), None)
        if retry is None:
            faults_without_retry += 1
            continue
        out.evidence += [v, retry]
        # The retry's timing is what this case demonstrates: a too-early retry (the profile's warning) is the
        # case's own error, so the case fails on it; a warning alone never fails a case.
        out.findings += [(retry.exchange.id, Finding(
            "CASE-RETRY-TOO-SOON", Severity.ERROR, f.message_en, f.message_sv, path=f.path, line=f.line,
            source=f.source, hint=f.hint)) for f in findings.get(retry.exchange.id, ()) if f.rule_id == RETRY_RULE]
    if not out.evidence and faults_without_retry:
        out.note = (f"{faults_without_retry} technical fault(s) were seen, but the same request was never sent "
                    "again in the judged period.")
    return out


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
             _threaded),
    TestCase("TC-08", "Hantera svaret ERROR för inaktiv invånare", "Handle the ERROR answer for an inactive citizen",
             "resultCode=ERROR ('Target person is not active user') is treated as final: the message is not resent.",
             "Send a message to an inactive citizen (e.g. 199002272392) and let the system handle the ERROR answer.",
             _logical_error_handled),
    TestCase("TC-09", "Hantera plattformsfel med rimlig omsändning", "Handle a platform fault with a sane retry",
             "After a technical fault (VP009, timeout, producer SOAP fault) the same request is retried, no sooner "
             "than the contract's back-off (first retry after 4 s).",
             "Inject a producer fault for one call (connection refused or timeout) and let the system retry it.",
             _retry_after_fault),
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

"""Labels and value formatting shared by every protocol format, so all of them say the same thing.

Swedish first (the reviewer at 1177 reads Swedish), English second. Everything that came from a
consumer request is untrusted: ``clean`` (from ``display_text``, shared with the web pages) makes it
safe to put into any format (no control characters, no lone surrogates); each renderer still escapes
for its own syntax. Times are shown in Swedish local time with the zone (``when``), the way the pages show
them; protocol.json keeps the journal's UTC values.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from ..display_text import clean, contract_name
from ..findings import Finding
from ..localtime import swedish_time
from .model import SUBJECTS, CaseResult, CaseStatus, Evidence, Protocol, Verdict


@dataclass(frozen=True)
class Label:
    sv: str
    en: str

    def __str__(self) -> str:
        return self.sv if self.sv == self.en else f"{self.sv} / {self.en}"


TITLE = Label("Testprotokoll", "Test protocol")


@dataclass(frozen=True)
class Wording:
    """How the protocol names the system tested, by its role (``ProtocolHead.subject``, from the rule profile)."""

    subtitle: Label
    id_label: Label  # the head row of its id (protocol.json keeps the key consumer_hsa_id)
    identified: Label  # the head row of how it was identified
    evidence: Label  # who sent an exchange, under each evidence row
    identity: Label  # its identity, in the sentence that it was declared, not proven (DECLARED_NOT_PROVEN)


# One wording per subject (model.SUBJECTS): the renderers take them through ``subtitle``, ``head_rows``,
# ``evidence_facts`` and ``identification``, never from here.
WORDINGS = {
    "consumer": Wording(
        Label("Kontraktstest av konsumentsystem mot tjänsteplattformen",
              "Contract test of a consumer system against the service platform"),
        Label("Konsumentens HSA-id", "Consumer HSA id"),
        Label("Hur konsumenten identifierades", "How the consumer was identified"),
        Label("Konsument", "Consumer"),
        Label("konsumentens identitet", "the consumer's identity"),
    ),
    "booking-system": Wording(
        Label("Kontraktstest av bokningssystem mot 1177 webbtidbokning och engagemangsindex via tjänsteplattformen",
              "Contract test of a booking system against 1177 web booking and the engagement index through the "
              "service platform"),
        Label("Bokningssystemets HSA-id", "Booking system HSA id"),
        Label("Hur bokningssystemet identifierades", "How the booking system was identified"),
        Label("Bokningssystem", "Booking system"),
        Label("bokningssystemets identitet", "the booking system's identity"),
    ),
    "service-provider": Wording(
        Label("Test av tjänsteleverantör (SAML SP) mot 1177:s inloggning (uthopp, ställföreträdande IdP)",
              "Test of a service provider (SAML SP) against 1177's login (uthopp, stand-in IdP)"),
        Label("Tjänsteleverantörens entityID", "Service provider entityID"),
        Label("Hur tjänsteleverantören identifierades", "How the service provider was identified"),
        Label("Tjänsteleverantör", "Service provider"),
        Label("tjänsteleverantörens identitet", "the service provider's identity"),
    ),
}


def wording(protocol: Protocol) -> Wording:
    """The wording for the protocol's subject; an unknown one is an error, not a consumer's wording."""
    subject = protocol.head.subject
    if subject not in WORDINGS:
        raise ValueError(f"protocol subject {subject!r} is none of {', '.join(SUBJECTS)}")
    return WORDINGS[subject]


def subtitle(protocol: Protocol) -> Label:
    """What was tested against what, as the protocol's subtitle says it."""
    return wording(protocol).subtitle


MISSING = Label("saknas", "not given")

HEAD_SECTION = Label("Uppgifter om testet", "Test details")
FIELD = Label("Uppgift", "Field")
VALUE = Label("Värde", "Value")
# The head rows' labels; the id's and the "how identified" row's follow the subject (``Wording``).
HEAD = {
    "system_name": Label("Systemnamn", "System name"),
    "organisation": Label("Organisation", "Organisation"),
    "system_id": Label("System-id (från 1177)", "System id (issued by 1177)"),
    "environment": Label("Miljö", "Environment"),
    "period": Label("Testperiod", "Test period"),
    "tool_version": Label("Verktygsversion", "Tool version"),
    "contracts": Label("Tjänstekontrakt", "Service contracts"),
    "journal": Label("Journal (logg över anropen)", "Journal (log of the exchanges)"),
    "journal_sha256": Label("Journalens SHA-256", "Journal SHA-256"),
    "rule_profile": Label("Regelprofil", "Rule profile"),
    "catalogue": Label("Testfallskatalog", "Test case catalogue"),
    "created": Label("Datum", "Date"),
    "contacts": Label("Kontaktpersoner", "Contacts"),
    "declared_volume": Label("Uppgiven volym, meddelanden per år", "Declared volume, messages per year"),
    "cost": Label("Beräknad årskostnad", "Estimated yearly cost"),
    "exchanges_judged": Label("Bedömda anrop", "Exchanges judged"),
    "format_version": Label("Protokollformat", "Protocol format"),
    "demonstration": Label("Demonstration", "Demonstration"),
    "injected": Label("Injicerade fel", "Injected faults"),
    "journal_hash_covers": Label("Journalens SHA-256 omfattar", "The journal SHA-256 covers"),
    "selection": Label("Urval som bedömdes", "What was judged"),
}
IDENTIFIED_BY = {
    "certificate": Label("klientcertifikat", "client certificate"),
    "sender-header": Label("x-vp-sender-id över HTTP (uppgivet)", "x-vp-sender-id over HTTP (declared)"),
    "default": Label("standardkonsument, inget angavs", "the default consumer, nothing was sent"),
    "saml-signature": Label("SAML Issuer med signatur som stämmer med metadata", "SAML Issuer, with a signature "
                            "that verifies with its metadata"),
    "saml-issuer": Label("SAML Issuer utan signatur (uppgivet)", "SAML Issuer without a signature (declared)"),
    "idp-message": Label("IdP:ns eget meddelande till tjänsten (utloggning från 1177)", "the IdP's own message to "
                         "the service (logout at 1177)"),
    "probe": Label("proben postade till tjänstens ACS enligt dess metadata", "the probe posted to the service's ACS "
                   "from its metadata"),
    "probe-page": Label("proben öppnade tjänstens skyddade sida (--start)", "the probe opened the service's "
                        "protected page (--start)"),
}
PROVEN = ("certificate", "saml-signature")  # ways that prove who sent a request (the others declare it)
DECLARED_NOT_PROVEN = Label(  # {identity}: the subject's (Wording.identity)
    "Inget anrop identifierades med klientcertifikat eller signatur: {identity} är uppgiven, inte bevisad.",
    "No exchange was identified by client certificate or signature: {identity} was declared, not proven.")
DEMONSTRATION_TEXT = Label(
    "{n} av anropen kom från mockplatforms inbyggda exempelkonsument: protokollet är en demonstration av "
    "verktyget och inget bevis för något system.",
    "{n} of the exchanges came from mockplatform's built-in sample consumer: this protocol demonstrates the tool "
    "and is no evidence for any system.")
INJECTED_MARK = Label("injicerat", "injected")
EVIDENCE_FACTS = {  # and who sent it, worded by the subject (Wording.evidence)
    "request_sha256": Label("SHA-256 anrop", "SHA-256 request"),
    "response_sha256": Label("SHA-256 svar", "SHA-256 response"),
    "client": Label("Klient", "Client"),
    "injected": Label("Injicerat fel", "Injected fault"),
}
CONTRACT_COLUMNS = (
    Label("Kontrakt", "Contract"),
    Label("Version", "Version"),
    Label("Namnrymd", "Namespace"),
    Label("Källa", "Source"),
    Label("SHA-256 för scheman", "Schema SHA-256"),
)
COST_SECTION = Label("Kostnadsuppskattning", "Cost estimate")
COST_COLUMNS = (
    Label("Meddelande nr", "Message no."),
    Label("Pris per meddelande", "Price each"),
    Label("Antal", "Messages"),
    Label("Belopp", "Amount"),
)
COST_TOTAL = Label("Summa per år (avrundat)", "Total per year (rounded)")
CONNECTION_FEE = Label("Anslutningsavgift, engångs, tillkommer", "Connection fee, one-time, on top")
COST_NOTE = Label(
    "Per ansluten system och år enligt 1177:s prislista; en uppskattning, inte en faktura.",
    "Per connected system and year by the 1177 price list; an estimate, not an invoice.",
)

SUMMARY_SECTION = Label("Sammanfattning", "Summary")
VERDICT = Label("Bedömning", "Verdict")
COUNT = Label("Antal", "Count")
INCONSISTENT = Label("Motsägelse i protokollet", "Protocol contradicts itself")

CASES_SECTION = Label("Testfall", "Test cases")
CASE_COLUMNS = (Label("Id", "Id"), Label("Titel", "Title"), Label("Status", "Status"))
PURPOSE = Label("Syfte", "Purpose")
FIX = Label("Åtgärd", "Fix")
STATUS = Label("Status", "Status")
HOW_TO_RUN = Label("Så genomförs fallet", "How to run this case")
NO_EVIDENCE = Label("Inga anrop visar fallet.", "No exchange shows this case.")

EVIDENCE_SECTION = Label("Underlag", "Evidence")
EVIDENCE_COLUMNS = (
    Label("Anrop", "Exchange"),
    Label("Tid", "Time"),
    Label("Korrelations-id", "Correlation id"),
    Label("Logisk adress", "Logical address"),
    Label("Kontrakt", "Contract"),
    Label("HTTP / VP", "HTTP / VP"),
    Label("Utfall", "Outcome"),
)
NOTE = Label("Observera", "Note")
REQUEST_SHA = Label("SHA-256 anrop", "SHA-256 request")
RESPONSE_SHA = Label("SHA-256 svar", "SHA-256 response")
EXCERPT = Label("Utdrag ur anropet", "Request excerpt")

FINDINGS_SECTION = Label("Avvikelser", "Findings")
FINDING_COLUMNS = (
    Label("Anrop", "Exchange"),  # the exchange the finding was found on (perhaps not one of those shown)
    Label("Regel", "Rule"),
    Label("Allvar", "Severity"),
    Label("Meddelande", "Message"),
    Label("Sökväg", "Path"),
    Label("Rad", "Line"),
    Label("Åtgärd", "Fix"),
)
NO_FINDINGS = Label("Inga avvikelser.", "No findings.")

RULES_SECTION = Label("Regler", "Rules")
RULE_COLUMNS = (
    Label("Regel-id", "Rule id"),
    Label("Allvar", "Severity"),
    Label("Titel", "Title"),
    Label("Källa", "Source"),
    Label("Kontrollerade", "Checked"),
    Label("Avvikelser", "Violations"),
    Label("Exempel", "Examples"),
)
RULE_NOT_CHECKED = Label("ej kontrollerad", "not checked")
NO_RULES = Label("Inga regler i profilen.", "No rules in the profile.")

# Where the reviewers sign: the Word document (the form 1177 receives) and the printed HTML page.
SIGN_OFF_SECTION = Label("Underskrifter", "Sign-off")
SIGN_OFF_NOTE = Label(
    "Protokollet är genomgånget och resultatet stämmer med journalen ovan.",
    "The protocol has been reviewed and its result matches the journal above.",
)
SIGN_OFF_ROLES = (Label("Testad av", "Tested by"), Label("Granskad av", "Reviewed by"))
SIGN_OFF_COLUMNS = (
    Label("Roll", "Role"),
    Label("Namn och organisation", "Name and organisation"),
    Label("Datum", "Date"),
    Label("Underskrift", "Signature"),
)
PAGE = Label("Sida", "Page")
PAGE_OF = Label("av", "of")

STATUS_LABELS = {
    CaseStatus.PASSED: Label("Godkänd", "Passed"),
    CaseStatus.FAILED: Label("Underkänd", "Failed"),
    CaseStatus.NOT_RUN: Label("Ej genomförd", "Not run"),
}
# A symbol next to the words, so status never rests on colour alone (and survives grey printing).
STATUS_SYMBOLS = {CaseStatus.PASSED: "✔", CaseStatus.FAILED: "✘", CaseStatus.NOT_RUN: "–"}

VERDICT_LABELS = {
    Verdict.CONFORMANT: Label("Uppfyller kraven", "Conformant"),
    Verdict.NONCONFORMANT: Label("Uppfyller inte kraven", "Not conformant"),
    Verdict.INCOMPLETE: Label("Ofullständigt: alla fall är inte genomförda", "Incomplete: not every case was run"),
    Verdict.DEMONSTRATION: Label("Demonstration: inget bevis för ett system",
                                 "Demonstration: no evidence for a system"),
}
VERDICT_SYMBOLS = {Verdict.CONFORMANT: "✔", Verdict.NONCONFORMANT: "✘", Verdict.INCOMPLETE: "–",
                   Verdict.DEMONSTRATION: "ℹ"}  # in DejaVu and Segoe UI Symbol (ⓘ is not in DejaVu)

SEVERITY_LABELS = {"error": Label("Fel", "Error"), "warning": Label("Varning", "Warning")}


@dataclass(frozen=True)
class HeadRow:
    """A row of the protocol's head table, as every format shows it (``head_rows``)."""

    key: str  # what it is (the model's field, or a name for a value made of several); JUnit's property name
    label: Label
    lines: tuple[str, ...]  # the value, cleaned: one line, several for a list (contacts), none when missing
    mono: bool = False  # read character by character (ids, paths, digests): shown in a monospace font

    @property
    def missing(self) -> bool:
        return not self.lines

    @property
    def text(self) -> str:
        """The value as one text, its lines joined by newlines; a visible mark when it is missing."""
        return "\n".join(self.lines) if self.lines else or_missing(None)


def _given(value: object) -> tuple[str, ...]:
    text = clean(value).strip()
    return (text,) if text else ()


def head_rows(protocol: Protocol) -> list[HeadRow]:
    """The head table of the protocol, built here once: the HTML, docx and Markdown formats show these rows
    in this order, the JUnit file has one property per row, the console summary takes its head values here.

    The contracts and the cost tiers are tables of their own after it.
    """
    head = protocol.head
    cost = head.cost

    words = wording(protocol)
    labels = {**HEAD, "consumer_hsa_id": words.id_label, "identified": words.identified}

    def row(key: str, value: object, mono: bool = False) -> HeadRow:
        lines = value if isinstance(value, tuple) else _given(value)
        return HeadRow(key, labels[key], lines, mono)

    return [
        *([row("demonstration", (DEMONSTRATION_TEXT.sv.format(n=head.demonstration),
                                 DEMONSTRATION_TEXT.en.format(n=head.demonstration)))] if head.demonstration else []),
        row("system_name", head.system_name),
        row("organisation", head.organisation),
        row("system_id", head.system_id, mono=True),
        row("consumer_hsa_id", head.consumer_hsa_id, mono=True),
        row("environment", head.environment),
        row("period", period(protocol) if head.period_from or head.period_to else None),
        row("created", when(head.created)),
        row("tool_version", head.tool_version),
        row("rule_profile", head.rule_profile),
        row("catalogue", head.catalogue),
        row("journal", head.journal, mono=True),
        row("journal_sha256", head.journal_sha256, mono=True),
        row("journal_hash_covers", head.journal_hash_covers),
        row("selection", selection(protocol)),
        row("exchanges_judged", protocol.exchanges_judged),
        row("identified", identification(protocol)),
        row("injected", injection(protocol)),
        row("contacts", tuple(line for contact in head.contacts for line in _given(contact))),
        row("declared_volume", number(head.declared_volume) if head.declared_volume is not None else None),
        row("cost", f"{sek(cost.per_year_sek)} + {sek(cost.connection_fee_sek)} ({CONNECTION_FEE})" if cost else None),
        row("format_version", protocol.format_version),
    ]


def identification(protocol: Protocol) -> tuple[str, ...]:
    """How many judged exchanges were identified which way; and, without a certificate, that the identity
    was declared, not proven."""
    counts = protocol.head.identified
    if not counts:
        return ()
    lines = [f"{IDENTIFIED_BY[k] if k in IDENTIFIED_BY else clean(k)}: {number(n)}" for k, n in sorted(counts.items())]
    if not any(counts.get(k) for k in PROVEN):
        declared = declared_not_proven(protocol)
        lines += [declared.sv, declared.en]
    return tuple(lines)


def declared_not_proven(protocol: Protocol) -> Label:
    """That no exchange proved who sent it, of the protocol's subject."""
    identity = wording(protocol).identity
    return Label(DECLARED_NOT_PROVEN.sv.format(identity=identity.sv),
                 DECLARED_NOT_PROVEN.en.format(identity=identity.en))


def injection(protocol: Protocol) -> tuple[str, ...]:
    """The judged exchanges whose answer came from fault injection, by kind ("none" when there were none)."""
    counts = protocol.head.injected
    if not protocol.head.identified:  # no exchange was counted: nothing to say
        return ()
    if not counts:
        return ("inga / none",)
    total = sum(counts.values())
    return (f"{number(total)}: " + ", ".join(f"{clean(kind)} {number(n)}" for kind, n in sorted(counts.items())),)


def selection(protocol: Protocol) -> tuple[str, ...]:
    """The options that chose what was judged (``protocol check`` judges the same again)."""
    lines = []
    for key, value in protocol.head.selection.items():
        if isinstance(value, list):
            value = ", ".join(clean(v) for v in value)
        elif key in ("since", "until"):  # times: as every time is shown; protocol.json keeps the ISO value
            value = when(value)
        if value not in (None, ""):
            lines.append(f"{clean(key)}: {clean(value)}")
    return tuple(lines)


def evidence_facts(protocol: Protocol, evidence: Evidence) -> list[tuple[Label, str]]:
    """The lines shown under an evidence row of the protocol in every format: hashes, who called (worded by the
    subject) and how it was known, from where, and an injected fault."""
    who = clean(evidence.consumer) or "—"
    how = IDENTIFIED_BY.get(evidence.identified_by or "")
    if how is not None:
        who += f" ({how})"
    if evidence.client_certificate:
        who += f"; {clean(evidence.client_certificate)}"
    client = clean(evidence.client) or "—"
    if evidence.user_agent:
        client += f", User-Agent: {clean(evidence.user_agent)}"
    if evidence.demonstration:
        client += f" ({DEMONSTRATION_MARK})"
    facts = [(EVIDENCE_FACTS["request_sha256"], clean(evidence.request_sha256) or "—"),
             (EVIDENCE_FACTS["response_sha256"], clean(evidence.response_sha256) or "—"),
             (wording(protocol).evidence, who), (EVIDENCE_FACTS["client"], client)]
    if evidence.injected:
        facts.append((EVIDENCE_FACTS["injected"], clean(evidence.injected)))
    return facts


DEMONSTRATION_MARK = Label("mockplatforms exempelkonsument", "mockplatform's sample consumer")


def or_missing(value: object) -> str:
    """A head value, or a visible "missing" mark: a blank in an evidence document must show."""
    text = clean(value).strip()
    return text if text else f"— ({MISSING})"


def status_label(status: CaseStatus) -> Label:
    return STATUS_LABELS[CaseStatus(status)]


def status_text(status: CaseStatus) -> str:
    status = CaseStatus(status)
    return f"{STATUS_SYMBOLS[status]} {STATUS_LABELS[status]}"


def verdict_text(verdict: Verdict) -> str:
    verdict = Verdict(verdict)
    return f"{VERDICT_SYMBOLS[verdict]} {VERDICT_LABELS[verdict]}"


def severity_text(severity: object) -> str:
    key = clean(severity)
    label = SEVERITY_LABELS.get(key)
    return str(label) if label else key


def when(value: object) -> str:
    """A time of the journal (ISO, UTC) as people read it: Swedish local time to the second, with the zone,
    ``2026-12-03 17:05:09 CET`` (``localtime.swedish_time``, as on the pages); "" for none; a value that is no
    ISO time as it is."""
    return swedish_time(clean(value)) if value else ""


def period(protocol: Protocol) -> str:
    head = protocol.head
    if not head.period_from and not head.period_to:
        return or_missing(None)
    return f"{when(head.period_from) or '?'} – {when(head.period_to) or '?'}"


def number(value: int) -> str:
    """Swedish digit grouping with a no-break space: 214 999."""
    return f"{value:,}".replace(",", "\u00a0")


def sek(amount: float, decimals: int = 0) -> str:
    """An amount in kronor, half up, Swedish style: ``214 999 SEK``, ``3,10 SEK``."""
    quantum = Decimal(1).scaleb(-decimals)
    exact = Decimal(str(amount)).quantize(quantum, rounding=ROUND_HALF_UP)
    whole, _, fraction = f"{exact:.{decimals}f}".partition(".")
    text = number(int(whole))
    return f"{text},{fraction} SEK" if fraction else f"{text} SEK"


def tier_range(first: int, last: int | None) -> str:
    return f"{number(first)}–{number(last)}" if last is not None else f"{number(first)}–"


def http_vp(evidence: Evidence) -> str:
    return f"{evidence.http_status} / {clean(evidence.vp_code) or '—'}"


def contract_op(evidence: Evidence) -> str:
    """The contract by its short name, as the pages show it (``DoSomething 1``, not the whole namespace: the
    contracts table has that), and the operation when it is not the contract's own name."""
    name = clean(contract_name(evidence.contract))
    operation = clean(evidence.operation)
    if operation and (not name or name.rsplit(" ", 1)[0] != operation):
        return f"{name} ({operation})" if name else operation
    return name or "—"


def bilingual(sv: object, en: object) -> tuple[str, ...]:
    """A text given in Swedish and English, as its lines: Swedish first, English second; one line when they are
    the same or one is missing; none when both are."""
    sv_text, en_text = clean(sv).strip(), clean(en).strip()
    return tuple(dict.fromkeys(t for t in (sv_text, en_text) if t))


def purpose(case: CaseResult) -> tuple[str, ...]:
    """The case's purpose: Swedish, then English."""
    return bilingual(case.purpose_sv, case.purpose)


def how_to_run(case: CaseResult) -> tuple[str, ...]:
    """What to do so a case not run can be judged: Swedish, then English."""
    return bilingual(case.how_to_run_sv, case.how_to_run)


def hint(finding: Finding) -> tuple[str, ...]:
    """How to fix a finding: Swedish, then English (either may be missing)."""
    return bilingual(finding.hint_sv, finding.hint)


def evidence_shown(case: CaseResult) -> Label | None:
    """What the reader must know when a case had more evidence than it shows ("5 of 12 shown"): which are
    shown, and that each finding names its exchange; None when every exchange of evidence is shown."""
    if not case.evidence_not_shown:
        return None
    shown, total = len(case.evidence), case.evidence_in_all
    return Label(f"{shown} av {total} anrop i underlaget visas: de som visar fel först, sedan de första. Varje "
                 "avvikelse anger anropet den hittades i; övriga anrop finns i journalen.",
                 f"{shown} of {total} exchanges of evidence shown: those that show what is wrong first, then the "
                 "first. Each finding names the exchange it was found on; the others are in the journal.")


def finding_line(finding: Finding, exchange_id: int | None = None) -> str:
    """One line per finding for plain-text places (JUnit bodies, rule examples); ``exchange_id``: the exchange
    it was found on, said first."""
    where = clean(finding.path) or "?"
    if finding.line:
        where += f" (rad/line {finding.line})"
    text = f"{clean(finding.rule_id)} [{clean(finding.severity)}] {where}: {clean(finding.message_sv)}"
    if exchange_id is not None:
        text = f"#{exchange_id} {text}"
    text += f" / {clean(finding.message_en)}"
    fix = hint(finding)
    if fix:
        text += f" {FIX.sv}/{FIX.en}: " + " / ".join(fix)
    return text


def inconsistencies(protocol: Protocol) -> list[Label]:
    """Contradictions between the verdict and the cases, shown loudly rather than smoothed over.

    The renderers never compute a verdict; they show the model's. If the model claims more than
    its cases support, the reader must see that next to the claim.
    """
    out: list[Label] = []
    counts = protocol.counts
    if protocol.verdict == Verdict.CONFORMANT and protocol.head.demonstration:
        out.append(Label("Bedömningen säger att kraven uppfylls, men anropen kom från exempelkonsumenten.",
                         "The verdict says conformant, but the exchanges came from the sample consumer."))
    if protocol.verdict == Verdict.CONFORMANT:
        if counts[CaseStatus.FAILED.value] or counts[CaseStatus.NOT_RUN.value]:
            out.append(Label(
                "Bedömningen säger att kraven uppfylls, men alla fall är inte godkända.",
                "The verdict says conformant, but not every case passed.",
            ))
        if not protocol.cases:
            out.append(Label("Bedömningen säger att kraven uppfylls, men inga fall finns.",
                             "The verdict says conformant, but there are no cases."))
        if protocol.exchanges_judged == 0:
            out.append(Label("Bedömningen säger att kraven uppfylls, men inga anrop bedömdes.",
                             "The verdict says conformant, but no exchange was judged."))
    for case in protocol.cases:
        if case.status == CaseStatus.PASSED and any(clean(f.severity) == "error" for _, f in case.findings):
            out.append(Label(f"{clean(case.id)} är markerat godkänt men har fel.",
                             f"{clean(case.id)} is marked passed but has error findings."))
    return out

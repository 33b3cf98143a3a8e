"""The test protocol as data: what was observed, case by case, with its evidence.

The verification engine fills it in; each output format (HTML, docx, Markdown, JSON, JUnit) is a
renderer over this one model, so every report says the same thing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from ..findings import Finding

# 1.2: purpose_sv and how_to_run_sv of a case, hint_sv of a finding; 1.3: catalogue; 1.4: subject, and a case's
# evidence_count and the exchange_id of each finding a case lists
PROTOCOL_FORMAT_VERSION = "1.4"
# The role of the system tested, as its rule profile says (``Profile.subject``): a consumer of the service platform
# (the inbox profiles, rivta-generic), a booking system (web-booking: the producer of crm:scheduling and a consumer
# of the engagement index), or a SAML service provider tested against the SSO stand-in (uthopp). The protocol's
# wording follows it (``text.wording``).
SUBJECTS = ("consumer", "booking-system", "service-provider")


class CaseStatus(StrEnum):
    PASSED = "passed"
    FAILED = "failed"
    NOT_RUN = "not_run"


class Verdict(StrEnum):
    CONFORMANT = "conformant"  # every case passed, no error findings
    NONCONFORMANT = "nonconformant"  # some case failed or some request broke an error rule
    INCOMPLETE = "incomplete"  # nothing failed, but cases were not run (or the journal was empty)
    # built on requests of the built-in sample consumer: it shows the tool, and proves nothing of a system
    DEMONSTRATION = "demonstration"


@dataclass(frozen=True)
class ContractInfo:
    """A contract the requests were judged against, with a digest of its schema files."""

    name: str  # the interaction's name, e.g. DoSomething
    version: str  # e.g. 1.0
    namespace: str  # responder namespace
    sha256: str  # over the package's schema files used for the contract
    source: str  # "built-in" or the package path


@dataclass(frozen=True)
class CostEstimate:
    """A yearly cost from a declared volume, by the 1177 price tiers."""

    messages_per_year: int
    tiers: list[tuple[int, int | None, float, int, float]]  # (from, to or None, SEK each, messages, SEK)
    per_year_sek: float
    connection_fee_sek: float


@dataclass
class ProtocolHead:
    system_name: str = ""
    organisation: str = ""
    system_id: str = ""
    consumer_hsa_id: str = ""  # the system tested's id (an SP's entityID for uthopp); the key stays for readers
    environment: str = ""
    period_from: str | None = None  # ISO time of the first exchange judged
    period_to: str | None = None
    tool_version: str = ""
    contracts: list[ContractInfo] = field(default_factory=list)
    created: str = ""  # ISO time the protocol was made
    journal: str = ""  # path of the journal read
    journal_sha256: str = ""  # digest of the judged exchanges (ids, times, body hashes) for traceability
    rule_profile: str = ""
    catalogue: str = ""  # the name of the profile's test-case catalogue ("Webbtidbokning")
    subject: str = "consumer"  # the role of the system tested (SUBJECTS), from the profile
    contacts: list[str] = field(default_factory=list)
    declared_volume: int | None = None
    cost: CostEstimate | None = None
    # Judged exchanges whose answer came from fault injection, by the fault's kind.
    injected: dict[str, int] = field(default_factory=dict)
    # Judged exchanges by how the platform identified the consumer: certificate, sender-header, default.
    identified: dict[str, int] = field(default_factory=dict)
    demonstration: int = 0  # judged exchanges sent by the built-in sample consumer (its mark in the headers)
    journal_hash_covers: str = ""  # what journal_sha256 is computed over, exactly
    # What was judged, so ``protocol check`` can judge the same again: since/until (ISO, UTC), consumer,
    # system_id, same_text_threshold, fixtures and contracts (paths; null: built in).
    selection: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Evidence:
    """One exchange that proves (or disproves) a case."""

    exchange_id: int
    time: str
    correlation_id: str | None
    logical_address: str | None
    contract: str | None
    operation: str | None  # the request element's name, when the profile judges that operation
    http_status: int
    vp_code: str | None
    request_sha256: str
    response_sha256: str
    excerpt: str  # the part of the request that matters for the case, a few lines of XML
    outcome: str  # short text: "status=true", "resultCode=OK", "VP009", ...; an injected answer says so
    injected: str | None = None  # the kind of the fault injected into this answer, if one was
    consumer: str | None = None
    identified_by: str | None = None  # certificate, sender-header or default (see ProtocolHead.identified)
    client_certificate: str | None = None  # subject and issuer, when identified by certificate
    client: str | None = None  # the client's address
    user_agent: str | None = None
    demonstration: bool = False  # sent by the built-in sample consumer


@dataclass
class CaseResult:
    id: str  # stable, e.g. "TC-01"
    title_sv: str
    title_en: str
    purpose: str  # what 1177 wants demonstrated, in English (purpose_sv: in Swedish)
    status: CaseStatus
    evidence: list[Evidence] = field(default_factory=list)  # a few: what is wrong first
    # Why it failed (errors) or warnings seen, each with the exchange it was found on: (exchange id, finding). The
    # exchange may be one of the evidence not shown (``evidence_count``).
    findings: list[tuple[int, Finding]] = field(default_factory=list)
    how_to_run: str = ""  # for not run: what to do so the case can be judged
    note: str = ""  # what the reader must know of the evidence (e.g. proven only by injected answers)
    purpose_sv: str = ""  # the purpose in Swedish, shown first ("" for a case that has none)
    how_to_run_sv: str = ""  # the advice in Swedish, shown first
    evidence_count: int = 0  # exchanges that were evidence in all (``evidence`` shows a few of them)

    @property
    def evidence_in_all(self) -> int:
        """How many exchanges were evidence, the shown ones at least."""
        return max(self.evidence_count, len(self.evidence))

    @property
    def evidence_not_shown(self) -> bool:
        return self.evidence_in_all > len(self.evidence)


@dataclass
class RuleResult:
    """A rule's outcome over all judged requests (for the rule table of the protocol)."""

    rule_id: str
    severity: str  # error | warning
    title_en: str
    title_sv: str
    source: str
    checked: int  # requests (or journal windows) the rule was applied to; 0 = not run
    violations: int
    examples: list[tuple[int, Finding]] = field(default_factory=list)  # (exchange id, finding), a few


@dataclass
class Protocol:
    head: ProtocolHead
    cases: list[CaseResult]
    rules: list[RuleResult]
    verdict: Verdict
    exchanges_judged: int
    format_version: str = PROTOCOL_FORMAT_VERSION

    @property
    def counts(self) -> dict[str, int]:
        out = {s.value: 0 for s in CaseStatus}
        for case in self.cases:
            out[case.status.value] += 1
        return out

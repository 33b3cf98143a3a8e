"""Judging a journal: every consumer request through the rule profile, every test case against the
exchanges that demonstrate it, and the filled-in protocol.

One function, ``verify``; the ``mockplatform verify`` command and the pytest suite in
``contract_tests/`` both call it, so they can never disagree.
"""

from __future__ import annotations

import hashlib
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from lxml import etree

from .. import domains
from ..contracts import ContractRegistry, Interaction, is_builtin, load_package
from ..envelope import read_answer
from ..errors import ConfigError
from ..findings import Finding, Severity
from ..fixtures import Fixtures, load_fixtures
from ..journal import Exchange, Journal
from ..messages import is_demonstration
from ..protocol.model import (
    CaseResult,
    CaseStatus,
    ContractInfo,
    Evidence,
    Protocol,
    ProtocolHead,
    RuleResult,
    Verdict,
)
from ..rules import Profile, RequestView, RuleContext, TestCase
from ..version import __version__
from .description import Description

MAX_EVIDENCE = 5
MAX_EXAMPLES = 5
EXCERPT_LINES = 40
EXCERPT_TEXT = 400  # characters of messageText kept in an excerpt


@dataclass
class VerifyOptions:
    """What to judge and how. Times are ISO 8601 (a date alone means its start, UTC)."""

    journal: Path
    since: str | None = None
    until: str | None = None
    since_reset: bool = False
    consumer: str | None = None
    system_id: str | None = None
    profile: str | None = None  # a rule profile of an installed domain; None: the first installed
    fixtures: Path | None = None
    contracts: list[Path] = field(default_factory=list)
    description: Description = field(default_factory=Description)
    same_text_threshold: int = 20  # this many citizens with the same text = a general information channel


def contract_registry(packages: list[Path]) -> ContractRegistry:
    """The contracts the platform ran with: every installed domain's, then the packages given."""
    registry = ContractRegistry()
    for domain in domains.installed():
        for package in domain.contract_packages:
            registry.add(load_package(package))
    for package in packages:
        registry.add(load_package(package))
    return registry


def verify(options: VerifyOptions) -> Protocol:
    """Read the journal, judge it, and return the protocol. Raises JournalError, ConfigError."""
    profile = domains.profile(options.profile)
    fixtures = load_fixtures(options.fixtures)
    registry = contract_registry(options.contracts)
    ctx = profile.context(fixtures, registry, consumer=options.consumer,
                          system_ids=(options.system_id,) if options.system_id else (),
                          same_text_threshold=options.same_text_threshold)

    journal = Journal(options.journal, read_only=True)
    try:
        since = _iso(options.since, "--since")
        if options.since_reset:
            reset = journal.last_reset()
            since = max(since, reset) if since and reset else (since or reset)
        until = _iso(options.until, "--until", end=True)
        exchanges = journal.iter_exchanges(since=since, until=until)
        judged = profile.judge(exchanges, ctx)  # the one judging path; it counts what each rule checked
    finally:
        journal.close()

    ordered = judged.views
    findings = judged.findings
    cases = [_case(case, profile, ordered, ctx, findings) for case in profile.cases]
    rules = _rule_results(profile, judged.checked, findings)
    selection = {"since": since, "until": until, "consumer": options.consumer, "system_id": options.system_id,
                 "same_text_threshold": options.same_text_threshold,
                 "fixtures": str(options.fixtures) if options.fixtures else None,
                 "contracts": [str(p) for p in options.contracts]}
    head = _head(options, profile, registry, ordered, selection)
    return Protocol(head=head, cases=cases, rules=rules, verdict=_verdict(cases, findings, ordered),
                    exchanges_judged=len(ordered))


def _iso(value: str | None, option: str, end: bool = False) -> str | None:
    """Normalise a time option to the journal's ISO form (UTC, microseconds), so strings compare."""
    if value is None:
        return None
    text = value.strip()
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise ConfigError(f"{option}: '{value}' is not an ISO 8601 time (e.g. 2026-11-26 or 2026-11-26T10:00)") \
            from None
    if len(text) == 10 and end:  # a date alone as the end: the whole day
        moment = moment.replace(hour=23, minute=59, second=59, microsecond=999999)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


def _case(case: TestCase, profile: Profile, views: list[RequestView], ctx: RuleContext,
          findings: dict[int, list[Finding]]) -> CaseResult:
    outcome = case.judge(views, ctx, findings)
    result = CaseResult(case.id, case.title_sv, case.title_en, case.purpose, CaseStatus.NOT_RUN,
                        purpose_sv=case.purpose_sv)
    if not outcome.evidence:
        result.how_to_run = case.how_to_run + (f" ({outcome.note})" if outcome.note else "")
        result.how_to_run_sv = case.how_to_run_sv  # the note once, with the English advice shown after it
        return result
    errors = [(v, f) for v in outcome.evidence for f in findings.get(v.exchange.id, ())
              if f.severity is Severity.ERROR]
    own = [f for _, f in outcome.findings]
    failing = {v.exchange.id for v, _ in errors} | {i for i, _ in outcome.findings}
    # Evidence: every exchange that shows what is wrong, then the ones that prove the case, in time order.
    wrong = [v for v in outcome.evidence if v.exchange.id in failing]
    right = [v for v in outcome.evidence if v.exchange.id not in failing]
    shown = wrong[:MAX_EVIDENCE] + right[:max(0, MAX_EVIDENCE - len(wrong))]
    order = {id(v): i for i, v in enumerate(outcome.evidence)}
    result.evidence = [_evidence(v, profile) for v in sorted(shown, key=lambda v: order[id(v)])]
    result.findings = _unique([f for _, f in errors] + own)
    result.status = CaseStatus.FAILED if result.findings else CaseStatus.PASSED
    result.note = outcome.note
    kinds = sorted({v.exchange.injected for v in outcome.evidence if v.exchange.injected})
    if kinds and all(v.exchange.injected for v in outcome.evidence):
        result.note = (f"Visat enbart med injicerade svar ({', '.join(kinds)}), inte med producentens egna. "
                       f"Proven only by injected answers ({', '.join(kinds)}), not by the producer's own. "
                       + result.note).strip()
    if result.status is CaseStatus.PASSED:
        warnings = [f for v in outcome.evidence for f in findings.get(v.exchange.id, ())
                    if f.severity is Severity.WARNING]
        result.findings = _unique(warnings)[:MAX_EXAMPLES]
    return result


def _unique(items: list[Finding]) -> list[Finding]:
    seen, out = set(), []
    for f in items:
        key = (f.rule_id, f.message_en, f.path)
        if key not in seen:
            seen.add(key)
            out.append(f)
    return out


def _evidence(view: RequestView, profile: Profile) -> Evidence:
    ex = view.exchange
    return Evidence(
        exchange_id=ex.id,
        time=ex.time,
        correlation_id=ex.correlation_id,
        logical_address=ex.logical_address,
        contract=ex.contract,
        operation=view.operation,
        http_status=ex.http_status,
        vp_code=ex.vp_code,
        request_sha256=view.body_sha256,
        response_sha256=hashlib.sha256(ex.response_body or b"").hexdigest(),
        excerpt=_excerpt(profile.read(ex)),
        outcome=_outcome(view) + (f" [injicerat / injected: {ex.injected}]" if ex.injected else ""),
        injected=ex.injected,
        consumer=ex.consumer,
        identified_by=ex.identified_by,
        client_certificate=ex.client_certificate,
        client=ex.client,
        user_agent=_header(ex, "user-agent"),
        demonstration=is_demonstration(ex.request_headers),
    )


def _header(exchange: Exchange, name: str) -> str | None:
    return next((v for k, v in exchange.request_headers if k.lower() == name), None)


def _outcome(view: RequestView) -> str:
    ex = view.exchange
    if ex.vp_code:
        return f"{ex.vp_code} (HTTP {ex.http_status})"
    if ex.http_status != 200:
        answer = read_answer(ex.response_body)
        return f"HTTP {ex.http_status}" + (" SOAP fault" if answer is not None and answer.is_fault else "")
    said = view.outcome()
    return said if said else f"HTTP {ex.http_status}"


def _excerpt(view: RequestView) -> str:
    """The request's payload, pretty-printed, with a long messageText shortened."""
    if view.envelope is None:
        body = (view.exchange.request_body or b"")[:2000].decode("utf-8", "replace")
        return "\n".join(body.splitlines()[:EXCERPT_LINES])
    payload = etree.fromstring(etree.tostring(view.envelope.payload))  # a copy: the journal's tree stays intact
    for element in payload.iter():
        if isinstance(element.tag, str) and element.tag.rpartition("}")[2] == "messageText" and element.text \
                and len(element.text) > EXCERPT_TEXT:
            element.text = element.text[:EXCERPT_TEXT] + f"... [{len(element.text)} characters]"
    etree.indent(payload, space="  ")
    lines = etree.tostring(payload, encoding="unicode").splitlines()
    if len(lines) > EXCERPT_LINES:
        lines = lines[:EXCERPT_LINES] + [f"... [{len(lines) - EXCERPT_LINES} more lines]"]
    return "\n".join(lines)


def _rule_results(profile: Profile, checked: dict[str, int], findings: dict[int, list[Finding]]) -> list[RuleResult]:
    by_rule: dict[str, list[tuple[int, Finding]]] = defaultdict(list)
    for exchange_id, items in sorted(findings.items()):
        for f in items:
            by_rule[f.rule_id].append((exchange_id, f))
    out = []
    for rule in profile.rules:
        hits = by_rule.get(rule.id, [])
        out.append(RuleResult(rule.id, rule.severity.value, rule.title_en, rule.title_sv, rule.source,
                              checked=checked.get(rule.id, 0), violations=len({i for i, _ in hits}),
                              examples=hits[:MAX_EXAMPLES]))
    return out


JOURNAL_HASH_COVERS = (
    "SHA-256 over one line per judged exchange, in the order judged (time, then id): "
    "'<id>|<time>|<SHA-256 of the request body as journaled>|<SHA-256 of the response body>' and a newline "
    "(UTF-8). `mockplatform protocol check` computes it again from the journal.")


def _head(options: VerifyOptions, profile: Profile, registry: ContractRegistry,
          views: list[RequestView], selection: dict[str, Any]) -> ProtocolHead:
    d = options.description
    consumers = sorted({v.exchange.consumer for v in views if v.exchange.consumer})
    digest = hashlib.sha256()
    for v in views:
        ex = v.exchange
        digest.update(f"{ex.id}|{ex.time}|{v.body_sha256}|"
                      f"{hashlib.sha256(ex.response_body or b'').hexdigest()}\n".encode())
    injected: Counter[str] = Counter(v.exchange.injected for v in views if v.exchange.injected)
    identified: Counter[str] = Counter(v.exchange.identified_by or "unidentified" for v in views)
    used = {(v.exchange.contract or "").lower() for v in views}
    contracts = [_contract_info(i) for i in registry.interactions
                 if i.responder_namespace.lower() in used or profile.owns_contract(i.responder_namespace)]
    return ProtocolHead(
        system_name=d.system_name,
        organisation=d.organisation,
        system_id=options.system_id or d.system_id or "",
        consumer_hsa_id=options.consumer or d.consumer_hsa_id or ", ".join(consumers),
        environment=d.environment,
        period_from=views[0].exchange.time if views else None,
        period_to=views[-1].exchange.time if views else None,
        tool_version=f"mockplatform {__version__}",
        contracts=sorted(contracts, key=lambda c: c.name),
        created=datetime.now(UTC).isoformat(timespec="seconds"),
        journal=str(options.journal),
        journal_sha256=digest.hexdigest(),
        rule_profile=profile.id,
        contacts=list(d.contacts),
        declared_volume=d.messages_per_year,
        cost=profile.cost(d.messages_per_year) if d.messages_per_year else None,
        injected=dict(sorted(injected.items())),
        identified=dict(sorted(identified.items())),
        demonstration=sum(1 for v in views if is_demonstration(v.exchange.request_headers)),
        journal_hash_covers=JOURNAL_HASH_COVERS,
        selection=selection,
    )


def _contract_info(interaction: Interaction) -> ContractInfo:
    package = interaction.package
    files = [interaction.wsdl_file, interaction.responder_file]
    files += [f for f in package.files if f.startswith("schemas/core_components/") and f.endswith(".xsd")]
    digest = hashlib.sha256()
    for rel in files:
        digest.update(rel.encode() + b"\0" + package.read(rel) + b"\0")
    source = "built-in" if is_builtin(package) else package.source
    return ContractInfo(interaction.name, interaction.version, interaction.responder_namespace,
                        digest.hexdigest(), source)


def _verdict(cases: list[CaseResult], findings: dict[int, list[Finding]], views: list[RequestView]) -> Verdict:
    if not views:
        return Verdict.INCOMPLETE
    if any(c.status is CaseStatus.FAILED for c in cases):
        return Verdict.NONCONFORMANT
    if any(f.severity is Severity.ERROR for items in findings.values() for f in items):
        return Verdict.NONCONFORMANT
    if any(is_demonstration(v.exchange.request_headers) for v in views):
        return Verdict.DEMONSTRATION  # the sample consumer's calls prove nothing of a system, whatever it is named
    if any(c.status is CaseStatus.NOT_RUN for c in cases):
        return Verdict.INCOMPLETE
    return Verdict.CONFORMANT


def judge_exchanges(exchanges: list[Exchange], fixtures: Fixtures, contracts: ContractRegistry,
                    profile: str | None = None) -> list[tuple[int, Finding]]:
    """The profile's findings for a handful of exchanges (a test's own calls), without a protocol."""
    chosen = domains.profile(profile)
    return chosen.judge(exchanges, chosen.context(fixtures, contracts)).found

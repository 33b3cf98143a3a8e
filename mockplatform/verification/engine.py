"""Judging a journal: every consumer request through the rule profile, every test case against the
exchanges that demonstrate it, and the filled-in protocol.

One function, ``verify``; the ``mockplatform verify`` command and the pytest suite in
``contract_tests/`` both call it, so they can never disagree.
"""

from __future__ import annotations

import copy
import hashlib
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any

from lxml import etree

from .. import domains
from ..contracts import ContractRegistry, Interaction, is_builtin, load_package
from ..database import shown
from ..envelope import read_answer
from ..errors import ConfigError
from ..findings import Finding, Severity
from ..fixtures import Fixtures, load_fixtures
from ..journal import Exchange, Journal
from ..localtime import zone
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
from ..rules.cases import Outcome
from ..version import __version__
from . import parallel
from .description import Description

MAX_EVIDENCE = 5
MAX_EXAMPLES = 5
EXCERPT_LINES = 40
EXCERPT_TEXT = 400  # characters of messageText kept in an excerpt


@dataclass
class VerifyOptions:
    """What to judge and how. Times are ISO 8601 (a date alone means its start, UTC)."""

    journal: Path | str  # a SQLite file, or a PostgreSQL URL
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
    # How long what an exchange causes may take to come (web booking: a change's index update); None: the
    # profile's own default. A probe gives the wait it kept.
    wait_s: float | None = None


def contract_registry(packages: list[Path]) -> ContractRegistry:
    """The contracts the platform ran with: every installed domain's, then the packages given."""
    registry = ContractRegistry()
    for domain in domains.installed():
        for package in domain.contract_packages:
            registry.add(load_package(package))
    for package in packages:
        registry.add(load_package(package))
    return registry


def verify(options: VerifyOptions, progress: Callable[[int], None] | None = None) -> Protocol:
    """Read the journal, judge it, and return the protocol. Raises JournalError, ConfigError.

    The journal is read once, as a stream (``Profile.stream``): rules, cases and the head keep counts and a
    few examples, never the exchanges, so memory stays flat whatever the journal's size. ``progress`` is told
    the number of exchanges judged every PROGRESS_EVERY.
    """
    profile, fixtures, registry, until = judging(options)
    journal = Journal(options.journal, read_only=True)
    try:
        # The end of the judged period, for a rule that waits (``wait_s``) for something after an exchange:
        # --until, else when the platform last stopped listening (it would have journaled what came until then).
        observed = until or journal.observed_until()
        ctx = judging_context(options, profile, fixtures, registry, observed)
        since = _iso(options.since, "--since")
        if options.since_reset:
            reset = journal.last_reset()
            since = max(since, reset) if since and reset else (since or reset)
        rules = _RuleTally(profile)
        head = _HeadTally()
        catalogue = profile.test_cases(ctx)
        judges = [case.judge(ctx) for case in catalogue]
        with parallel.fewer_collections():
            # The one judging path: each exchange prepared (``Profile.prepare``: here, or in worker processes for a
            # large journal), then in time order through the journal rules (``Profile.stream_prepared``).
            prepared = parallel.prepared(journal, since, until, profile, ctx, rules.checked,
                                         setup=partial(_judging_in_worker, options, observed))
            for view, found in profile.stream_prepared(prepared, ctx, rules.checked, rules.add):
                head.feed(view)
                for judge in judges:
                    judge.feed(view, found)
                if progress is not None and head.count % PROGRESS_EVERY == 0:
                    progress(head.count)
        cases = [_case(case, judge.finish(), profile, journal) for case, judge in zip(catalogue, judges, strict=True)]
    finally:
        journal.close()
    selection = {"since": since, "until": until, "consumer": options.consumer, "system_id": options.system_id,
                 "same_text_threshold": options.same_text_threshold, "wait_s": options.wait_s,
                 "fixtures": str(options.fixtures) if options.fixtures else None,
                 "contracts": [str(p) for p in options.contracts]}
    return Protocol(head=_head(options, profile, registry, head, selection), cases=cases,
                    rules=rules.results(), verdict=_verdict(cases, rules, head), exchanges_judged=head.count)


PROGRESS_EVERY = 10_000


def judging(options: VerifyOptions) -> tuple[Profile, Fixtures, ContractRegistry, str | None]:
    """What judging is made of, from the options alone: the profile, the fixtures, the contracts and the end of
    the judged period given (``--until``). ``verify`` and each worker process of ``parallel`` make them alike."""
    return (domains.profile(options.profile), load_fixtures(options.fixtures), contract_registry(options.contracts),
            _iso(options.until, "--until", end=True))


def judging_context(options: VerifyOptions, profile: Profile, fixtures: Fixtures, registry: ContractRegistry,
                    observed: str | None) -> RuleContext:
    """The rules' context of a verify; ``observed``: the end of the judged period for a rule that waits."""
    return profile.context(fixtures, registry, consumer=options.consumer,
                           system_ids=(options.system_id,) if options.system_id else (),
                           same_text_threshold=options.same_text_threshold, until=observed, wait_s=options.wait_s)


def _judging_in_worker(options: VerifyOptions, observed: str | None) -> tuple[Profile, RuleContext]:
    """The profile and context of a worker process of ``parallel``, made as ``verify`` made its own."""
    profile, fixtures, registry, _ = judging(options)
    return profile, judging_context(options, profile, fixtures, registry, observed)


class _RuleTally:
    """Per rule: requests checked, exchanges that broke it, a few examples; and whether any error was found."""

    def __init__(self, profile: Profile) -> None:
        self.profile = profile
        self.checked: Counter[str] = Counter()
        self.broken: Counter[str] = Counter()
        self.examples: dict[str, list[tuple[int, Finding]]] = defaultdict(list)
        self.last: dict[str, int] = {}  # the exchange last counted as breaking each rule
        self.any_error = False

    def add(self, exchange_id: int, finding: Finding) -> None:
        rule = finding.rule_id
        if self.last.get(rule) != exchange_id:  # a rule's findings on one exchange come together
            self.last[rule] = exchange_id
            self.broken[rule] += 1
        if len(self.examples[rule]) < MAX_EXAMPLES:
            self.examples[rule].append((exchange_id, finding))
        if finding.severity is Severity.ERROR:
            self.any_error = True

    def results(self) -> list[RuleResult]:
        return [RuleResult(rule.id, rule.severity.value, rule.title_en, rule.title_sv, rule.source,
                           checked=self.checked.get(rule.id, 0), violations=self.broken.get(rule.id, 0),
                           examples=sorted(self.examples.get(rule.id, []), key=lambda item: item[0]))
                for rule in self.profile.rules]


class _HeadTally:
    """What the protocol's head says of the judged exchanges, kept as they stream past."""

    def __init__(self) -> None:
        self.count = 0
        self.digest = hashlib.sha256()
        self.first: str | None = None
        self.last: str | None = None
        self.consumers: set[str] = set()
        self.contracts: set[str] = set()
        self.injected: Counter[str] = Counter()
        self.identified: Counter[str] = Counter()
        self.demonstration = 0

    def feed(self, view: RequestView) -> None:
        ex = view.exchange
        self.count += 1
        self.digest.update(f"{ex.id}|{ex.time}|{view.body_sha256}|{view.response_sha256}\n".encode())
        if self.first is None:
            self.first = ex.time
        self.last = ex.time
        if ex.consumer:
            self.consumers.add(ex.consumer)
        self.contracts.add((ex.contract or "").lower())
        if ex.injected:
            self.injected[ex.injected] += 1
        self.identified[ex.identified_by or "unidentified"] += 1
        if is_demonstration(ex.request_headers):
            self.demonstration += 1


def _iso(value: str | None, option: str, end: bool = False) -> str | None:
    """Normalise a time option to the journal's ISO form (UTC, microseconds), so strings compare. A time without
    a zone is Swedish local time, as the protocol and the pages show times (``2026-11-26T10:00`` is 10:00 CET)."""
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
        moment = moment.replace(tzinfo=zone())
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


def _case(case: TestCase, outcome: Outcome, profile: Profile, journal: Journal) -> CaseResult:
    result = CaseResult(case.id, case.title_sv, case.title_en, case.purpose, CaseStatus.NOT_RUN,
                        purpose_sv=case.purpose_sv)
    if not outcome.has_evidence:
        result.how_to_run = case.how_to_run + (f" ({outcome.note})" if outcome.note else "")
        result.how_to_run_sv = case.how_to_run_sv  # the note once, with the English advice shown after it
        return result
    shown = [_resolve(v, profile, journal) for v in outcome.shown()]
    result.evidence = [_evidence(v, profile, journal) for v in shown if v is not None]
    result.evidence_count = max(outcome.seen, len(result.evidence))
    result.findings = _unique(outcome.errors + outcome.findings)
    result.status = CaseStatus.FAILED if outcome.failed else CaseStatus.PASSED
    result.note = outcome.note
    evidence = [v for v in (_resolve(v, profile, journal) for v in outcome.wrong + outcome.right) if v is not None]
    kinds = sorted({v.exchange.injected for v in evidence if v.exchange.injected})
    if kinds and all(v.exchange.injected for v in evidence):
        result.note = (f"Visat enbart med injicerade svar ({', '.join(kinds)}), inte med producentens egna. "
                       f"Proven only by injected answers ({', '.join(kinds)}), not by the producer's own. "
                       + result.note).strip()
    if result.status is CaseStatus.PASSED:
        result.findings = _unique(outcome.warnings)[:MAX_EXAMPLES]
    return result


def _resolve(item: RequestView | int, profile: Profile, journal: Journal) -> RequestView | None:
    """Evidence a judge kept by exchange id, read again (the view itself was let go of)."""
    if not isinstance(item, int):
        return item
    exchange = journal.exchange(item)
    return None if exchange is None else profile.read(exchange).slim()


def _unique(items: list[tuple[int, Finding]]) -> list[tuple[int, Finding]]:
    """Each finding once, with the exchange it was first found on."""
    seen, out = set(), []
    for exchange_id, f in items:
        key = (f.rule_id, f.message_en, f.path)
        if key not in seen:
            seen.add(key)
            out.append((exchange_id, f))
    return out


def _evidence(view: RequestView, profile: Profile, journal: Journal) -> Evidence:
    """The evidence of one exchange, read again from the journal: the judging let its bodies go, and a profile may
    have left columns it does not judge unread (``Profile.unread``)."""
    ex = whole = journal.exchange(view.exchange.id) or view.exchange
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
        response_sha256=view.response_sha256 or hashlib.sha256(whole.response_body or b"").hexdigest(),
        excerpt=_excerpt(profile.read(whole)),
        outcome=_outcome(view, whole) + (f" [injicerat / injected: {ex.injected}]" if ex.injected else ""),
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


def _outcome(view: RequestView, whole: Exchange) -> str:
    ex = view.exchange
    if ex.vp_code:
        return f"{ex.vp_code} (HTTP {ex.http_status})"
    if ex.http_status != 200:
        answer = read_answer(whole.response_body)
        return f"HTTP {ex.http_status}" + (" SOAP fault" if answer is not None and answer.is_fault else "")
    said = view.outcome()
    return said if said else f"HTTP {ex.http_status}"


def _excerpt(view: RequestView) -> str:
    """The request's payload, pretty-printed, with a long messageText shortened."""
    if view.envelope is None:
        body = (view.exchange.request_body or b"")[:2000].decode("utf-8", "replace")
        return "\n".join(body.splitlines()[:EXCERPT_LINES])
    payload = copy.deepcopy(view.envelope.payload)  # a copy: the request's own tree stays intact
    for element in payload.iter():
        if isinstance(element.tag, str) and element.tag.rpartition("}")[2] == "messageText" and element.text \
                and len(element.text) > EXCERPT_TEXT:
            element.text = element.text[:EXCERPT_TEXT] + f"... [{len(element.text)} characters]"
    etree.indent(payload, space="  ")
    lines = etree.tostring(payload, encoding="unicode").splitlines()
    if len(lines) > EXCERPT_LINES:
        lines = lines[:EXCERPT_LINES] + [f"... [{len(lines) - EXCERPT_LINES} more lines]"]
    return "\n".join(lines)


JOURNAL_HASH_COVERS = (
    "SHA-256 over one line per judged exchange, in the order judged (time, then id): "
    "'<id>|<time>|<SHA-256 of the request body as journaled>|<SHA-256 of the response body>' and a newline "
    "(UTF-8). `mockplatform protocol check` computes it again from the journal.")


def _head(options: VerifyOptions, profile: Profile, registry: ContractRegistry, tally: _HeadTally,
          selection: dict[str, Any]) -> ProtocolHead:
    d = options.description
    consumers = sorted(tally.consumers)
    used = tally.contracts
    contracts = [_contract_info(i) for i in registry.interactions
                 if i.responder_namespace.lower() in used or profile.owns_contract(i.responder_namespace)]
    return ProtocolHead(
        system_name=d.system_name,
        organisation=d.organisation,
        system_id=options.system_id or d.system_id or "",
        consumer_hsa_id=options.consumer or d.consumer_hsa_id or ", ".join(consumers),
        environment=d.environment,
        period_from=tally.first,
        period_to=tally.last,
        tool_version=f"mockplatform {__version__}",
        contracts=sorted(contracts, key=lambda c: c.name),
        created=datetime.now(UTC).isoformat(timespec="seconds"),
        journal=shown(options.journal),
        journal_sha256=tally.digest.hexdigest(),
        rule_profile=profile.id,
        catalogue=profile.catalogue,
        subject=profile.subject,
        contacts=list(d.contacts),
        declared_volume=d.messages_per_year,
        cost=profile.cost(d.messages_per_year) if d.messages_per_year else None,
        injected=dict(sorted(tally.injected.items())),
        identified=dict(sorted(tally.identified.items())),
        demonstration=tally.demonstration,
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


def _verdict(cases: list[CaseResult], rules: _RuleTally, head: _HeadTally) -> Verdict:
    if not head.count:
        return Verdict.INCOMPLETE
    if any(c.status is CaseStatus.FAILED for c in cases):
        return Verdict.NONCONFORMANT
    if rules.any_error:
        return Verdict.NONCONFORMANT
    if head.demonstration:
        return Verdict.DEMONSTRATION  # the sample consumer's calls prove nothing of a system, whatever it is named
    if any(c.status is CaseStatus.NOT_RUN for c in cases):
        return Verdict.INCOMPLETE
    return Verdict.CONFORMANT


def judge_exchanges(exchanges: list[Exchange], fixtures: Fixtures, contracts: ContractRegistry,
                    profile: str | None = None) -> list[tuple[int, Finding]]:
    """The profile's findings for a handful of exchanges (a test's own calls), without a protocol."""
    chosen = domains.profile(profile)
    return chosen.judge(exchanges, chosen.context(fixtures, contracts)).found

"""What a test case is: a domain's catalogue lists them, and the verification engine judges each.

Each case says which exchanges in the journal demonstrate it (its ``judge``). The engine marks a case
*passed* only with those exchanges as evidence and none of them breaking an error rule, *failed*
when a demonstrating exchange breaks a rule (or the behaviour is wrong), and *not run* when the
journal holds no such exchange; then ``how_to_run`` says what to do.

A judge sees the journal once, as a stream: ``feed`` gets each judged request in time order with the
findings known for it so far (its request rules', and the journal rules' found on it), and ``finish``
gives the ``Outcome``. It keeps only what it must (a few examples of evidence, and state per citizen,
thread or message), so judging takes the same memory whatever the journal's size.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from ..findings import Finding, Severity

if TYPE_CHECKING:
    from ..contracts import Interaction
    from .base import RequestView, RuleContext

MAX_EVIDENCE = 5  # exchanges shown as a case's evidence: those that show what is wrong first
MAX_FINDINGS = 50  # a case's own findings kept (they are counted beyond that)


def errors_in(findings: Sequence[Finding]) -> list[Finding]:
    return [f for f in findings if f.severity is Severity.ERROR]


@dataclass
class Outcome:
    """What a case's judge saw: evidence (a few examples of it, those that break a rule first, and how much
    there was), the findings of the evidence, findings of its own about the behaviour, and a note."""

    # Evidence with an error (or named by an own finding), and evidence that proves the case: views, or the ids
    # of exchanges a judge chose not to keep the view of (the engine reads those again).
    wrong: list[RequestView | int] = field(default_factory=list)
    right: list[RequestView | int] = field(default_factory=list)
    seen: int = 0  # evidence exchanges in all (the protocol says how many when it shows fewer)
    # The findings of the evidence, each once, with the exchange it was first found on: (exchange id, finding).
    errors: list[tuple[int, Finding]] = field(default_factory=list)
    warnings: list[tuple[int, Finding]] = field(default_factory=list)
    findings: list[tuple[int, Finding]] = field(default_factory=list)  # the case's own (they fail it)
    own_count: int = 0
    note: str = ""  # what the reader must know (not run although something related was seen; a window watched)
    _order: dict[int, int] = field(default_factory=dict, repr=False)  # exchange id of kept evidence -> when

    def add(self, view: RequestView, findings: Sequence[Finding] = (), failing: bool = False) -> None:
        """One exchange of evidence, with the findings known for it; ``failing``: it shows what is wrong even
        without an error finding of its own (a case finding names it)."""
        errors = errors_in(findings)
        exchange_id = view.exchange.id
        _unique_into(self.errors, exchange_id, errors, MAX_FINDINGS)
        _unique_into(self.warnings, exchange_id, [f for f in findings if f.severity is not Severity.ERROR],
                     MAX_EVIDENCE)
        self._keep(view, self.wrong if errors or failing else self.right)

    def add_id(self, exchange_id: int, failing: bool = False) -> None:
        """Evidence by the id of its exchange: for a judge that keeps ids, not views, of what may become
        evidence later (the first message of every thread, a fault not yet retried)."""
        self._keep(exchange_id, self.wrong if failing else self.right)

    def _keep(self, item: RequestView | int, kept: list[RequestView | int]) -> None:
        """Count the evidence; keep it (and when it came) only while fewer than MAX_EVIDENCE are kept, so what
        a judge holds does not grow with the journal. An exchange already kept is not counted again."""
        key = _key(item)
        if key in self._order:
            if all(_key(k) != key for k in kept) and len(kept) < MAX_EVIDENCE:
                kept.append(item)  # kept already, as the other kind: now this kind too (it shows both)
            return
        self.seen += 1
        if len(kept) < MAX_EVIDENCE:
            kept.append(item)
            self._order[key] = self.seen

    def own(self, exchange_id: int, finding: Finding) -> None:
        """A finding of the case's own about the behaviour it demonstrates: it fails the case."""
        self.own_count += 1
        if len(self.findings) < MAX_FINDINGS:
            self.findings.append((exchange_id, finding))

    @property
    def has_evidence(self) -> bool:
        return self.seen > 0

    @property
    def failed(self) -> bool:
        return bool(self.errors) or self.own_count > 0

    def shown(self) -> list[RequestView | int]:
        """The evidence to show: what is wrong first, then what proves the case, in the order they came."""
        wrong_ids = {_key(v) for v in self.wrong}
        right = [v for v in self.right if _key(v) not in wrong_ids]
        shown = self.wrong[:MAX_EVIDENCE] + right[:max(0, MAX_EVIDENCE - len(self.wrong))]
        return sorted(shown, key=lambda v: self._order.get(_key(v), 0))


def _key(item: RequestView | int) -> int:
    """The exchange id of a piece of evidence, kept as a view or as the id itself."""
    return item if isinstance(item, int) else item.exchange.id


def _unique_into(kept: list[tuple[int, Finding]], exchange_id: int, found: Sequence[Finding], limit: int) -> None:
    for f in found:
        if len(kept) >= limit:
            return
        if all((k.rule_id, k.message_en, k.path) != (f.rule_id, f.message_en, f.path) for _, k in kept):
            kept.append((exchange_id, f))


class CaseJudge:
    """A case's judge over the stream of judged requests (see the module docstring)."""

    def __init__(self, ctx: RuleContext) -> None:
        self.ctx = ctx
        self.outcome = Outcome()

    def feed(self, view: RequestView, findings: Sequence[Finding]) -> None:
        raise NotImplementedError

    def finish(self) -> Outcome:
        return self.outcome


JudgeFactory = Callable[["RuleContext"], CaseJudge]


@dataclass(frozen=True)
class TestCase:
    id: str
    title_sv: str
    title_en: str
    purpose: str  # in English; purpose_sv in Swedish
    how_to_run: str
    judge: JudgeFactory
    purpose_sv: str = ""
    how_to_run_sv: str = ""


def select(predicate: Callable[[RequestView], bool]) -> JudgeFactory:
    """The plain judge: every exchange for which the predicate holds demonstrates the case."""

    class Select(CaseJudge):
        def feed(self, view: RequestView, findings: Sequence[Finding]) -> None:
            if predicate(view):
                self.outcome.add(view, findings)

    return Select


def attempts(attempted: Callable[[RequestView], bool], proves: Callable[[RequestView], bool]) -> JudgeFactory:
    """The judge of a case a request attempts by what it sends: every attempt that proves the case is its
    evidence, and so is every attempt that broke an error rule (a schema-invalid request fails the case it
    was attempting, rather than belonging to none)."""

    class Attempts(CaseJudge):
        def feed(self, view: RequestView, findings: Sequence[Finding]) -> None:
            if attempted(view) and (proves(view) or errors_in(findings)):
                self.outcome.add(view, findings)

    return Attempts


def major_version(namespace: str) -> str:
    """A contract's major version, the last part of its responder namespace ("...:AddMessageResponder:2" -> "2");
    "" when it ends otherwise."""
    last = namespace.rstrip(":").rpartition(":")[2]
    return last if last.isdigit() else ""


def answered_cases(interactions: Iterable[Interaction], prefix: str) -> list[TestCase]:
    """One case per operation of the given contracts, for a profile of contracts it knows only by their schemas:
    a valid request to it, answered (HTTP 200, not a SOAP fault). A request that broke an error rule fails the
    case of the operation it was sent to. Ids: ``<prefix>-<operation>-<major version>``, in that order."""
    out = []
    for interaction in sorted(interactions, key=lambda i: (i.name, i.responder_namespace)):
        name, namespace = interaction.name, interaction.responder_namespace
        major = major_version(namespace)
        out.append(TestCase(
            f"{prefix}-{name}" + (f"-{major}" if major else ""),
            f"Ett giltigt anrop till {name} {interaction.version} besvaras",
            f"A valid request to {name} {interaction.version} answered",
            f"A request to {name} ({namespace}) that breaks no error rule is answered (HTTP 200, not a SOAP fault).",
            f"Send a valid {interaction.request_element} request to {namespace} through the platform.",
            attempts(_to_contract(namespace), _answered),
            purpose_sv=f"Ett anrop till {name} ({namespace}) som inte bryter mot någon felregel besvaras (HTTP 200, "
            "inget SOAP-fel).",
            how_to_run_sv=f"Skicka ett giltigt {interaction.request_element}-anrop till {namespace} genom "
            "plattformen."))
    return out


def _to_contract(namespace: str) -> Callable[[RequestView], bool]:
    wanted = namespace.lower()
    return lambda view: (view.exchange.contract or "").lower() == wanted


def _answered(view: RequestView) -> bool:
    return view.exchange.http_status == 200 and view.fault_code is None

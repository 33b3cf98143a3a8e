"""What a test case is: a domain's catalogue lists them, and the verification engine judges each.

Each case says which exchanges in the journal demonstrate it (its ``judge``). The engine marks a case
*passed* only with those exchanges as evidence and none of them breaking an error rule, *failed*
when a demonstrating exchange breaks a rule (or the behaviour is wrong), and *not run* when the
journal holds no such exchange; then ``how_to_run`` says what to do.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from ..findings import Finding, Severity

if TYPE_CHECKING:
    from .base import RequestView, RuleContext


@dataclass
class Outcome:
    """What a case's judge saw: demonstrating exchanges, and behaviour findings of its own."""

    evidence: list[RequestView] = field(default_factory=list)
    findings: list[tuple[int, Finding]] = field(default_factory=list)
    note: str = ""  # for a case not run although something related was seen


Findings = dict[int, list[Finding]]
Judge = Callable[["list[RequestView]", "RuleContext", Findings], Outcome]


@dataclass(frozen=True)
class TestCase:
    id: str
    title_sv: str
    title_en: str
    purpose: str  # in English; purpose_sv in Swedish
    how_to_run: str
    judge: Judge
    purpose_sv: str = ""
    how_to_run_sv: str = ""


def select(predicate: Callable[[RequestView], bool]) -> Judge:
    """The plain judge: every exchange for which the predicate holds demonstrates the case."""

    def judge(views: list[RequestView], ctx: RuleContext, findings: Findings) -> Outcome:
        return Outcome(evidence=[v for v in views if predicate(v)])

    return judge


def attempts(attempted: Callable[[RequestView], bool], proves: Callable[[RequestView], bool]) -> Judge:
    """The judge of a case a request attempts by what it sends: every attempt that proves the case is its
    evidence, and so is every attempt that broke an error rule (a schema-invalid request fails the case it
    was attempting, rather than belonging to none)."""

    def judge(views: list[RequestView], ctx: RuleContext, findings: Findings) -> Outcome:
        return Outcome(evidence=[v for v in views if attempted(v) and (proves(v) or _has_error(findings, v))])

    return judge


def _has_error(findings: Findings, view: RequestView) -> bool:
    return any(f.severity is Severity.ERROR for f in findings.get(view.exchange.id, ()))

"""Each test-protocol case, and each rule of the profile, as a pytest test over the journal."""

from __future__ import annotations

import pytest

from mockplatform.protocol.model import CaseStatus
from mockplatform.protocol.text import finding_line


def test_journal_holds_consumer_requests(protocol):
    assert protocol.exchanges_judged > 0, (
        "the journal holds no consumer request in the judged period: nothing is demonstrated "
        "(check --journal, --since/--until/--since-reset and --consumer)")


def test_journal_is_not_a_demonstration(protocol):
    assert not protocol.head.demonstration, (
        f"{protocol.head.demonstration} of the judged requests came from mockplatform's built-in sample consumer "
        "(mockplatform demo): they demonstrate the tool and are no evidence for your system. Judge a journal of "
        "your own system's calls")


def test_case(protocol, case_id):
    case = next(c for c in protocol.cases if c.id == case_id)
    if case.status is CaseStatus.NOT_RUN:
        pytest.skip(f"{case.id} {case.title_en}: not run. {case.how_to_run}")
    assert case.status is CaseStatus.PASSED, (
        f"{case.id} {case.title_en} failed:\n" + "\n".join(finding_line(f) for f in case.findings))


def test_rule(protocol, rule_id):
    rule = next(r for r in protocol.rules if r.rule_id == rule_id)
    if not rule.checked:
        pytest.skip(f"{rule.rule_id}: no request this rule applies to")
    if rule.severity == "warning":
        for _, finding in rule.examples:
            import warnings

            warnings.warn(f"{rule.rule_id}: {finding_line(finding)}", stacklevel=1)
        return
    assert not rule.violations, (
        f"{rule.rule_id} {rule.title_en}: {rule.violations} of {rule.checked} requests break it, e.g.\n"
        + "\n".join(f"exchange {i}: {finding_line(f)}" for i, f in rule.examples))

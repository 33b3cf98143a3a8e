"""The protocol as a short summary for a terminal or a CI log: verdict, cases, what to fix."""

from __future__ import annotations

from ..findings import Severity
from . import text as t
from .model import CaseStatus, Protocol

MAX_FINDINGS_PER_CASE = 5
SUMMARY_HEAD = ("exchanges_judged", "period")  # the head rows (``text.head_rows``) shown


def render_summary(protocol: Protocol) -> str:
    head = {row.key: row for row in t.head_rows(protocol)}
    lines = [f"{t.TITLE}: {t.verdict_text(protocol.verdict)}",
             "  " + "; ".join(f"{head[key].label.en.lower()}: {head[key].text}" for key in SUMMARY_HEAD)]
    counts = protocol.counts
    lines.append(f"  cases: {counts['passed']} passed, {counts['failed']} failed, {counts['not_run']} not run")
    for case in protocol.cases:
        lines.append(f"  {case.id} {t.status_text(case.status):28} {case.title_en}")
        if case.status is CaseStatus.FAILED:
            lines += [f"      {t.finding_line(f, exchange_id)}"
                      for exchange_id, f in case.findings[:MAX_FINDINGS_PER_CASE]]
        elif case.status is CaseStatus.NOT_RUN:
            lines.append(f"      to run it: {case.how_to_run}")
    broken = [r for r in protocol.rules if r.violations]
    if broken:
        lines.append("  rules with violations:")
        for rule in broken:
            kind = "error" if rule.severity == Severity.ERROR.value else "warning"
            lines.append(f"    {rule.rule_id} ({kind}): {rule.violations} of {rule.checked} — {rule.title_en}")
    return "\n".join(lines)

"""junit.xml: the protocol in the xunit2 shape (as pytest writes with junit_family=xunit2), for CI pages.

Two test suites under ``<testsuites>``:

- ``mockplatform.protocol.<profile>``: one testcase per protocol case (``TC-01 <title_en>``).
  passed -> plain testcase; failed -> ``<failure>`` with every finding; not run -> ``<skipped>`` with
  the how-to-run advice. The evidence (exchange ids, times, outcomes) goes to ``<system-out>``. This
  suite is the protocol; its properties carry the verdict and the head rows (``text.head_rows``).
- ``mockplatform.protocol.<profile>.rules``: one testcase per rule of the profile, so a CI page shows
  which rule broke and how often. A violated error rule -> ``<failure>`` with examples; a violated
  warning rule passes (warnings do not fail the verdict either) with the examples in
  ``<system-out>``; a rule that checked nothing -> ``<skipped>``.

A failing request usually fails a case and a rule, so the total failure count on ``<testsuites>``
counts it twice; read the cases suite for the protocol's own counts. No ``<properties>`` inside a
testcase (xunit2 has none); times are 0 because the protocol judges a journal, it times nothing. The
suites' ``timestamp`` is the protocol's ISO time (for machines); the texts show times in Swedish local time.
The XML is built with lxml, so untrusted text is always escaped as text, never spliced in.
"""

from __future__ import annotations

import re
import socket
from datetime import UTC, datetime

from lxml import etree

from . import text as t
from .model import CaseResult, CaseStatus, Protocol, RuleResult

_MESSAGE_MAX = 300  # the message attribute is a one-line summary; the full text is the element body


def _classname(profile: str) -> str:
    name = re.sub(r"[^A-Za-z0-9_.-]+", "_", t.clean(profile)).strip("._") or "default"
    return f"mockplatform.protocol.{name}"


def _short(text: str) -> str:
    line = " ".join(text.split())
    return line if len(line) <= _MESSAGE_MAX else line[: _MESSAGE_MAX - 1] + "…"


def _evidence_text(protocol: Protocol, case: CaseResult) -> str:
    lines = [f"{label}: {text}" for label, text in
             ((t.PURPOSE.sv, t.clean(case.purpose_sv).strip()), (t.PURPOSE.en, t.clean(case.purpose).strip())) if text]
    for e in case.evidence:
        lines.append(
            f"exchange {e.exchange_id} at {t.when(e.time)}: {t.contract_op(e)} to "
            f"{t.clean(e.logical_address) or '-'}, HTTP {t.http_vp(e)}, correlation id "
            f"{t.clean(e.correlation_id) or '-'}, outcome {t.clean(e.outcome)}; "
            + "; ".join(f"{label.en} {value}" for label, value in t.evidence_facts(protocol, e))
        )
        if e.excerpt:
            lines.append(t.clean(e.excerpt))
    if not case.evidence:
        lines.append(t.NO_EVIDENCE.en)
    shown = t.evidence_shown(case)
    if shown is not None:
        lines.append(shown.en)
    if case.note:
        lines.append(f"{t.NOTE.en}: {t.clean(case.note)}")
    return "\n".join(lines)


def _case(suite: etree._Element, classname: str, protocol: Protocol, case: CaseResult) -> None:
    status = CaseStatus(case.status)
    tc = etree.SubElement(suite, "testcase", classname=classname,
                          name=t.clean(f"{case.id} {case.title_en}"), time="0.000")
    if status == CaseStatus.FAILED:
        errors = [f for _, f in case.findings if t.clean(f.severity) == "error"] or [f for _, f in case.findings]
        summary = "; ".join(f"{t.clean(f.rule_id)}: {t.clean(f.message_en)}" for f in errors) or "case failed"
        failure = etree.SubElement(tc, "failure", message=_short(summary))
        failure.text = "\n".join(t.finding_line(f, exchange_id) for exchange_id, f in case.findings) \
            or "The case failed (no findings given)."
    elif status == CaseStatus.NOT_RUN:
        advice = "\n".join(t.how_to_run(case)) or "not run"  # Swedish, then English
        skipped = etree.SubElement(tc, "skipped", message=_short(f"not run: {advice}"))
        skipped.text = advice
    out = _evidence_text(protocol, case)
    if status != CaseStatus.FAILED and case.findings:  # warnings seen on a passed case
        out += "\n" + "\n".join(t.finding_line(f, exchange_id) for exchange_id, f in case.findings)
    etree.SubElement(tc, "system-out").text = out


def _rule(suite: etree._Element, classname: str, rule: RuleResult) -> None:
    tc = etree.SubElement(suite, "testcase", classname=classname,
                          name=t.clean(f"{rule.rule_id} {rule.title_en}"), time="0.000")
    examples = "\n".join(f"exchange {ex_id}: {t.finding_line(f)}" for ex_id, f in rule.examples)
    if not rule.checked:
        etree.SubElement(tc, "skipped", message="not checked: no judged request this rule applies to")
    elif rule.violations and t.clean(rule.severity) == "error":
        summary = f"{rule.violations} of {rule.checked} checked requests violate {t.clean(rule.rule_id)}"
        failure = etree.SubElement(tc, "failure", message=_short(summary))
        failure.text = examples or f"{rule.violations} violations"
    text = f"{t.clean(rule.source)}\nchecked {rule.checked}, violations {rule.violations}"
    etree.SubElement(tc, "system-out").text = text + (f"\n{examples}" if examples else "")


def _suite(root: etree._Element, name: str, timestamp: str, hostname: str) -> etree._Element:
    return etree.SubElement(root, "testsuite", name=name, errors="0", failures="0", skipped="0", tests="0",
                            time="0.000", timestamp=timestamp, hostname=hostname)


def _count(suite: etree._Element) -> dict[str, int]:
    cases = suite.findall("testcase")
    counts = {
        "tests": len(cases),
        "failures": sum(1 for c in cases if c.find("failure") is not None),
        "errors": sum(1 for c in cases if c.find("error") is not None),
        "skipped": sum(1 for c in cases if c.find("skipped") is not None),
    }
    for key, value in counts.items():
        suite.set(key, str(value))
    return counts


def render_junit(protocol: Protocol, hostname: str | None = None) -> bytes:
    head = protocol.head
    hostname = t.clean(hostname if hostname is not None else socket.gethostname())
    timestamp = t.clean(head.created) or datetime.now(UTC).isoformat(timespec="seconds")
    classname = _classname(head.rule_profile)
    root = etree.Element("testsuites", name="mockplatform test protocol")

    cases = _suite(root, classname, timestamp, hostname)
    properties = etree.SubElement(cases, "properties")
    etree.SubElement(properties, "property", name="verdict", value=str(protocol.verdict))
    for row in t.head_rows(protocol):  # a missing value is empty here, for the machines that read it
        etree.SubElement(properties, "property", name=row.key, value="\n".join(row.lines))
    for case in protocol.cases:
        _case(cases, classname, protocol, case)

    rules = _suite(root, f"{classname}.rules", timestamp, hostname)
    for rule in protocol.rules:
        _rule(rules, f"{classname}.rules", rule)

    totals = [_count(cases), _count(rules)]
    for key in ("tests", "failures", "errors"):
        root.set(key, str(sum(c[key] for c in totals)))
    root.set("time", "0.000")
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)

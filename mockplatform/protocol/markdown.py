"""protocol.md: the protocol as GitHub-flavoured Markdown, for reading in a Git web view.

Untrusted text (anything from a consumer request) is escaped so it cannot become markup: Markdown
punctuation is backslash-escaped, ``<`` cannot open HTML, ``|`` cannot split a table cell, and
excerpts go into fenced blocks whose fence is longer than any backtick run inside.
"""

from __future__ import annotations

import re

from . import text as t
from .model import CaseResult, CaseStatus, Evidence, Protocol, RuleResult

_SPECIAL = re.compile(r"([\\`*_\[\]<>|~#!&{}])")
_STATUS_ICON = {CaseStatus.PASSED: "✅", CaseStatus.FAILED: "❌", CaseStatus.NOT_RUN: "⏸️"}


def esc(value: object) -> str:
    """Inline text: escaped, lines joined with ``<br>`` (our own tag; GitHub keeps it in tables)."""
    lines = t.clean(value).replace("\r\n", "\n").replace("\r", "\n").split("\n")
    return "<br>".join(_SPECIAL.sub(r"\\\1", line.replace("\t", " ")) for line in lines)


def code(value: object) -> str:
    """A code span that the content cannot close; ``|`` escaped, as GFM needs even inside code in tables."""
    content = t.clean(value).replace("\n", " ").replace("|", "\\|")
    if not content:
        return "—"
    ticks = "`" * (max((len(m) for m in re.findall(r"`+", content)), default=0) + 1)
    pad = " " if content.startswith("`") or content.endswith("`") else ""
    return f"{ticks}{pad}{content}{pad}{ticks}"


def fenced(value: object, lang: str = "xml") -> list[str]:
    content = t.clean(value).rstrip("\n")
    fence = "`" * max(3, max((len(m) for m in re.findall(r"`+", content)), default=0) + 1)
    return [f"{fence}{lang}", *content.split("\n"), fence]


def table(header: list[str], rows: list[list[str]]) -> list[str]:
    out = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    out += ["| " + " | ".join(cell or " " for cell in row) + " |" for row in rows]
    return out + [""]


def _label(label: t.Label) -> str:
    return label.sv if label.sv == label.en else f"{label.sv} / *{label.en}*"


def _sv_en(sv: object, en: object, between: str = " ") -> str:
    """A text in both languages, escaped: the Swedish, then the English in italics; the English alone, upright,
    when there is no Swedish; "" when there is neither."""
    sv_text, en_text = t.clean(sv).strip(), t.clean(en).strip()
    if not sv_text:
        return esc(en_text)
    if not en_text or en_text == sv_text:
        return esc(sv_text)
    return f"{esc(sv_text)}{between}*{esc(en_text)}*"


def _status(status: CaseStatus) -> str:
    return f"{_STATUS_ICON[CaseStatus(status)]} **{t.status_label(status)}**"


def _value(row: t.HeadRow) -> str:
    if row.missing:
        return f"*{esc(row.text)}*"
    return "<br>".join(code(line) if row.mono else esc(line) for line in row.lines)


def _head(protocol: Protocol) -> list[str]:
    head = protocol.head
    h = t.HEAD
    rows = [[_label(row.label), _value(row)] for row in t.head_rows(protocol)]
    out = [f"## {_label(t.HEAD_SECTION)}", "", *table([_label(t.FIELD), _label(t.VALUE)], rows)]
    out += [f"### {_label(h['contracts'])}", ""]
    if head.contracts:
        out += table([_label(c) for c in t.CONTRACT_COLUMNS], [
            [esc(c.name), esc(c.version), esc(c.namespace), esc(c.source), code(c.sha256)] for c in head.contracts
        ])
    else:
        out += [esc(t.or_missing(None)), ""]
    if head.cost:
        cost = head.cost
        out += [f"### {_label(t.COST_SECTION)}", ""]
        out += table([_label(c) for c in t.COST_COLUMNS], [
            [t.tier_range(first, last), t.sek(each, 2), t.number(count), t.sek(amount, 2)]
            for first, last, each, count, amount in cost.tiers
        ] + [
            [f"**{_label(t.COST_TOTAL)}**", "", t.number(cost.messages_per_year), f"**{t.sek(cost.per_year_sek)}**"],
            [_label(t.CONNECTION_FEE), "", "", t.sek(cost.connection_fee_sek)],
        ])
        out += [f"{t.COST_NOTE.sv} *{t.COST_NOTE.en}*", ""]
    return out


def _summary(protocol: Protocol) -> list[str]:
    out = [f"## {_label(t.SUMMARY_SECTION)}", ""]
    out += [f"**{_label(t.VERDICT)}: {t.verdict_text(protocol.verdict)}**", ""]
    for problem in t.inconsistencies(protocol):
        out += [f"> ⚠️ **{_label(t.INCONSISTENT)}:** {problem.sv} *{problem.en}*", ""]
    counts = protocol.counts
    out += table([_label(t.STATUS), _label(t.COUNT)], [[_status(s), str(counts[s.value])] for s in CaseStatus])
    return out


def _cases_table(protocol: Protocol) -> list[str]:
    rows = [[esc(c.id), f"{esc(c.title_sv)}<br>*{esc(c.title_en)}*", _status(c.status)] for c in protocol.cases]
    return [f"## {_label(t.CASES_SECTION)}", "", *table([_label(c) for c in t.CASE_COLUMNS], rows)]


def _evidence(protocol: Protocol, items: list[Evidence]) -> list[str]:
    out = [f"#### {_label(t.EVIDENCE_SECTION)}", ""]
    if not items:
        return out + [f"{t.NO_EVIDENCE.sv} *{t.NO_EVIDENCE.en}*", ""]
    out += table([_label(c) for c in t.EVIDENCE_COLUMNS], [
        [str(e.exchange_id), esc(t.when(e.time)), esc(e.correlation_id or "—"), esc(e.logical_address or "—"),
         esc(t.contract_op(e)), esc(t.http_vp(e)), esc(e.outcome)] for e in items
    ])
    for e in items:
        out += [f"{_label(t.EVIDENCE_COLUMNS[0])} {e.exchange_id}:", ""]
        out += [f"- {_label(label)}: {code(value)}" for label, value in t.evidence_facts(protocol, e)] + [""]
        if e.excerpt:
            out += [f"{_label(t.EXCERPT)}:", "", *fenced(e.excerpt), ""]
    return out


def _findings(case: CaseResult) -> list[str]:
    out = [f"#### {_label(t.FINDINGS_SECTION)}", ""]
    if not case.findings:
        return out + [f"{t.NO_FINDINGS.sv} *{t.NO_FINDINGS.en}*", ""]
    return out + table([_label(c) for c in t.FINDING_COLUMNS], [
        [str(exchange_id), code(f.rule_id), esc(t.severity_text(f.severity)),
         f"{esc(f.message_sv)}<br>*{esc(f.message_en)}*", code(f.path) if f.path else "—",
         str(f.line) if f.line else "—", _sv_en(f.hint_sv, f.hint, "<br>") or "—"]
        for exchange_id, f in case.findings
    ])


def _case(protocol: Protocol, case: CaseResult) -> list[str]:
    out = [f"### {esc(case.id)} {esc(case.title_sv)} / *{esc(case.title_en)}*", ""]
    out += [f"**{_label(t.STATUS)}:** {_status(case.status)}", "",
            f"**{_label(t.PURPOSE)}:** {_sv_en(case.purpose_sv, case.purpose)}", ""]
    if case.status == CaseStatus.NOT_RUN:
        advice = _sv_en(case.how_to_run_sv, case.how_to_run) or esc(t.or_missing(None))
        out += [f"> **{_label(t.HOW_TO_RUN)}:** {advice}", ""]
    if case.note:
        out += [f"> **{_label(t.NOTE)}:** {esc(case.note)}", ""]
    out += _evidence(protocol, case.evidence)
    shown = t.evidence_shown(case)
    if shown is not None:
        out += [f"> {esc(shown.sv)} *{esc(shown.en)}*", ""]
    return out + _findings(case)


def _rules(rules: list[RuleResult]) -> list[str]:
    out = [f"## {_label(t.RULES_SECTION)}", ""]
    if not rules:
        return out + [f"{t.NO_RULES.sv} *{t.NO_RULES.en}*", ""]
    rows = []
    for r in rules:
        checked = str(r.checked) if r.checked else f"⏸️ {t.RULE_NOT_CHECKED}"
        examples = "<br>".join(f"\\#{ex_id}: {esc(t.finding_line(f))}" for ex_id, f in r.examples) or "—"
        rows.append([code(r.rule_id), esc(t.severity_text(r.severity)), f"{esc(r.title_sv)}<br>*{esc(r.title_en)}*",
                     esc(r.source), checked, str(r.violations), examples])
    return out + table([_label(c) for c in t.RULE_COLUMNS], rows)


def render_markdown(protocol: Protocol) -> bytes:
    subtitle = t.subtitle(protocol)
    lines = [f"# {_label(t.TITLE)}", "", f"{subtitle.sv} *{subtitle.en}*", ""]
    lines += _head(protocol) + _summary(protocol) + _cases_table(protocol)
    for case in protocol.cases:
        lines += _case(protocol, case)
    lines += _rules(protocol.rules)
    return ("\n".join(lines).rstrip("\n") + "\n").encode("utf-8")

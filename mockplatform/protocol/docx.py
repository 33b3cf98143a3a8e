"""protocol.docx: the protocol as a Word document, the form 1177 expects a test protocol in.

Same content and order as the HTML page: head table, verdict, cases table, one section per case
with evidence, request excerpts (monospace) and findings, then the rules table. python-docx writes
text as XML text nodes, so untrusted text cannot become markup; ``text.clean`` removes the
characters Word files cannot hold.
"""

from __future__ import annotations

import io
from collections.abc import Collection
from datetime import UTC, datetime
from typing import Any

from . import text as t
from .model import CaseResult, CaseStatus, Protocol, Verdict

MONO = "Courier New"
_FILL = {"passed": "E2F3DF", "failed": "FDE4E4", "not_run": "E6E6E6"}
_FILL_VERDICT = {Verdict.CONFORMANT: "passed", Verdict.NONCONFORMANT: "failed", Verdict.INCOMPLETE: "not_run",
                 Verdict.DEMONSTRATION: "not_run"}


def _bi(label: t.Label) -> str:
    return str(label)


def _shade(cell: Any, fill: str) -> None:
    from docx.oxml import OxmlElement
    from docx.oxml.ns import qn

    shd = OxmlElement("w:shd")
    shd.set(qn("w:val"), "clear")
    shd.set(qn("w:color"), "auto")
    shd.set(qn("w:fill"), fill)
    cell._tc.get_or_add_tcPr().append(shd)


def _repeat_header(row: Any) -> None:
    """Mark a table's first row as a header row, repeated on every page the table spans."""
    from docx.oxml import OxmlElement
    from docx.oxml.ns import qn

    el = OxmlElement("w:tblHeader")
    el.set(qn("w:val"), "true")
    row._tr.get_or_add_trPr().append(el)


def _set(cell: Any, value: object, *, mono: bool = False, bold: bool = False, size: float | None = None) -> None:
    from docx.shared import Pt

    paragraph = cell.paragraphs[0]
    run = paragraph.add_run(t.clean(value).replace("\r\n", "\n"))
    run.bold = bold or None
    if mono:
        run.font.name = MONO
        run.font.size = Pt(size or 8)
    elif size:
        run.font.size = Pt(size)


def _table(doc: Any, header: list[str], rows: list[list[object]], mono_cols: tuple[int, ...] = (),
           mono_cells: Collection[tuple[int, int]] = ()) -> Any:
    """A table with a header row; ``mono_cols`` (column numbers) and ``mono_cells`` ((row, column) of ``rows``)
    in a monospace font."""
    from docx.shared import Pt

    table = doc.add_table(rows=1, cols=len(header))
    table.style = "Table Grid"
    for cell, text in zip(table.rows[0].cells, header, strict=True):
        _set(cell, text, bold=True, size=8.5)
        _shade(cell, "EEEEEE")
    _repeat_header(table.rows[0])
    for r, row in enumerate(rows):
        cells = table.add_row().cells
        for i, (cell, value) in enumerate(zip(cells, row, strict=True)):
            mono = i in mono_cols or (r, i) in mono_cells
            _set(cell, value, mono=mono, size=8 if mono else 9)
    for paragraph in (p for row in table.rows for c in row.cells for p in c.paragraphs):
        paragraph.paragraph_format.space_after = Pt(0)
    doc.add_paragraph()
    return table


def _para(doc: Any, *parts: tuple[str, bool]) -> Any:
    paragraph = doc.add_paragraph()
    for text, bold in parts:
        paragraph.add_run(t.clean(text)).bold = bold or None
    return paragraph


def _mono_block(doc: Any, text: str) -> None:
    from docx.shared import Pt, RGBColor

    paragraph = doc.add_paragraph()
    run = paragraph.add_run(t.clean(text).replace("\r\n", "\n"))
    run.font.name = MONO
    run.font.size = Pt(8)
    run.font.color.rgb = RGBColor(0x22, 0x22, 0x22)


def _head(doc: Any, protocol: Protocol) -> None:
    head, h = protocol.head, t.HEAD
    doc.add_heading(_bi(t.HEAD_SECTION), level=1)
    cost = head.cost
    head_rows = t.head_rows(protocol)
    _table(doc, [_bi(t.FIELD), _bi(t.VALUE)], [[_bi(row.label), row.text] for row in head_rows],
           mono_cells={(i, 1) for i, row in enumerate(head_rows) if row.mono and not row.missing})

    doc.add_heading(_bi(h["contracts"]), level=2)
    if head.contracts:
        _table(doc, [_bi(c) for c in t.CONTRACT_COLUMNS],
               [[c.name, c.version, c.namespace, c.source, c.sha256 or t.or_missing(None)] for c in head.contracts],
               mono_cols=(2, 4))
    else:
        _para(doc, (t.or_missing(None), False))
    if cost:
        doc.add_heading(_bi(t.COST_SECTION), level=2)
        rows = [[t.tier_range(first, last), t.sek(each, 2), t.number(count), t.sek(amount, 2)]
                for first, last, each, count, amount in cost.tiers]
        rows.append([_bi(t.COST_TOTAL), "", t.number(cost.messages_per_year), t.sek(cost.per_year_sek)])
        rows.append([_bi(t.CONNECTION_FEE), "", "", t.sek(cost.connection_fee_sek)])
        _table(doc, [_bi(c) for c in t.COST_COLUMNS], rows)
        _para(doc, (_bi(t.COST_NOTE), False))


def _summary(doc: Any, protocol: Protocol) -> None:
    doc.add_heading(_bi(t.SUMMARY_SECTION), level=1)
    verdict = doc.add_table(rows=1, cols=1)
    verdict.style = "Table Grid"
    cell = verdict.rows[0].cells[0]
    _set(cell, f"{_bi(t.VERDICT)}: {t.verdict_text(protocol.verdict)}", bold=True, size=13)
    _shade(cell, _FILL[_FILL_VERDICT[Verdict(protocol.verdict)]])
    doc.add_paragraph()
    for problem in t.inconsistencies(protocol):
        _para(doc, (f"⚠ {_bi(t.INCONSISTENT)}: ", True), (f"{problem.sv} / {problem.en}", True))
    counts = protocol.counts
    table = _table(doc, [_bi(t.STATUS), _bi(t.COUNT)], [[t.status_text(s), str(counts[s.value])] for s in CaseStatus])
    for row, status in zip(table.rows[1:], CaseStatus, strict=True):
        _shade(row.cells[0], _FILL[status.value])


def _case(doc: Any, case: CaseResult) -> None:
    status = CaseStatus(case.status)
    doc.add_heading(t.clean(f"{case.id} {case.title_sv} / {case.title_en}"), level=2)
    status_table = doc.add_table(rows=1, cols=2)
    status_table.style = "Table Grid"
    _set(status_table.rows[0].cells[0], _bi(t.STATUS), bold=True, size=9)
    _set(status_table.rows[0].cells[1], t.status_text(status), bold=True, size=10)
    _shade(status_table.rows[0].cells[1], _FILL[status.value])
    doc.add_paragraph()
    _para(doc, (f"{_bi(t.PURPOSE)}: ", True), (case.purpose, False))
    if status == CaseStatus.NOT_RUN:
        _para(doc, (f"{_bi(t.HOW_TO_RUN)}: ", True), (case.how_to_run or t.or_missing(None), False))
    if case.note:
        _para(doc, (f"{_bi(t.NOTE)}: ", True), (t.clean(case.note), False))

    doc.add_heading(_bi(t.EVIDENCE_SECTION), level=3)
    if case.evidence:
        _table(doc, [_bi(c) for c in t.EVIDENCE_COLUMNS], [
            [str(e.exchange_id), e.time, e.correlation_id or "—", e.logical_address or "—", t.contract_op(e),
             t.http_vp(e), e.outcome] for e in case.evidence
        ], mono_cols=(2, 3))
        for e in case.evidence:
            _para(doc, (f"{_bi(t.EVIDENCE_COLUMNS[0])} {e.exchange_id}", True))
            _mono_block(doc, "\n".join(f"{label.en}: {value}" for label, value in t.evidence_facts(e)))
            if e.excerpt:
                _para(doc, (f"{_bi(t.EXCERPT)}:", False))
                _mono_block(doc, e.excerpt)
    else:
        _para(doc, (_bi(t.NO_EVIDENCE), False))

    doc.add_heading(_bi(t.FINDINGS_SECTION), level=3)
    if case.findings:
        _table(doc, [_bi(c) for c in t.FINDING_COLUMNS], [
            [f.rule_id, t.severity_text(f.severity), f"{t.clean(f.message_sv)}\n{t.clean(f.message_en)}",
             f.path or "—", str(f.line) if f.line else "—", f.hint or "—"] for f in case.findings
        ], mono_cols=(0, 3))
    else:
        _para(doc, (_bi(t.NO_FINDINGS), False))


def _rules(doc: Any, protocol: Protocol) -> None:
    doc.add_heading(_bi(t.RULES_SECTION), level=1)
    if not protocol.rules:
        _para(doc, (_bi(t.NO_RULES), False))
        return
    _table(doc, [_bi(c) for c in t.RULE_COLUMNS], [
        [r.rule_id, t.severity_text(r.severity), f"{t.clean(r.title_sv)}\n{t.clean(r.title_en)}", r.source,
         str(r.checked) if r.checked else f"– {t.RULE_NOT_CHECKED}", str(r.violations),
         "\n".join(f"#{ex_id}: {t.finding_line(f)}" for ex_id, f in r.examples) or "—"]
        for r in protocol.rules
    ], mono_cols=(0,))


def _created(iso: str) -> datetime:
    """The protocol's date for the document properties (the blank template's own date is from 2013)."""
    try:
        moment = datetime.fromisoformat(iso)
    except ValueError:
        return datetime.now(UTC)
    # python-docx writes the time as UTC without converting: convert here (a naive time stays as is).
    return moment.astimezone(UTC) if moment.tzinfo else moment


def render_docx(protocol: Protocol) -> bytes:
    import docx
    from docx.shared import Mm

    doc = docx.Document()
    section = doc.sections[0]
    section.page_width, section.page_height = Mm(210), Mm(297)
    section.left_margin = section.right_margin = Mm(18)
    section.top_margin = section.bottom_margin = Mm(18)
    props = doc.core_properties
    props.title = t.clean(f"{t.TITLE}: {protocol.head.system_name}")
    props.subject = str(t.SUBTITLE)
    props.author = props.last_modified_by = "mockplatform"
    props.created = props.modified = _created(protocol.head.created)
    props.comments = t.clean(f"mockplatform {protocol.head.tool_version}, format {protocol.format_version}")

    doc.add_heading(_bi(t.TITLE), level=0)
    _para(doc, (_bi(t.SUBTITLE), False))
    _head(doc, protocol)
    _summary(doc, protocol)
    doc.add_heading(_bi(t.CASES_SECTION), level=1)
    cases = _table(doc, [_bi(c) for c in t.CASE_COLUMNS],
                   [[c.id, f"{t.clean(c.title_sv)}\n{t.clean(c.title_en)}", t.status_text(c.status)]
                    for c in protocol.cases])
    for row, case in zip(cases.rows[1:], protocol.cases, strict=True):
        _shade(row.cells[2], _FILL[CaseStatus(case.status).value])
    for case in protocol.cases:
        _case(doc, case)
    _rules(doc, protocol)

    out = io.BytesIO()
    doc.save(out)
    return out.getvalue()

"""protocol.docx: the protocol as a Word document, the form 1177 expects a test protocol in.

Same content and order as the HTML page: head table, verdict, cases table, one section per case
with evidence, request excerpts (monospace) and findings, the rules table, then where the tester and
the reviewer sign. A4 with a header (the system and the date) and a footer with page numbers (PAGE and
NUMPAGES fields); the document language is Swedish (``w:lang sv-SE`` in the styles' defaults), the English
halves of purposes and fixes are marked English. Each table's columns are fitted to their content within
the page's usable width (``_fit``), with a fixed layout, so no table runs off the page whatever a
consumer sent; header rows repeat on every page and rows do not split across pages.

python-docx writes text as XML text nodes, so untrusted text cannot become markup; ``text.clean``
removes the characters Word files cannot hold.
"""

from __future__ import annotations

import io
import re
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from . import text as t
from .model import CaseResult, CaseStatus, Protocol, Verdict

MONO = "Courier New"
LANGUAGE = "sv-SE"  # the document's language: spelling, hyphenation and the reader's voice in Word
ENGLISH = "en-GB"  # the English halves of bilingual texts
_FILL = {"passed": "E2F3DF", "failed": "FDE4E4", "not_run": "E6E6E6"}
_FILL_VERDICT = {Verdict.CONFORMANT: "passed", Verdict.NONCONFORMANT: "failed", Verdict.INCOMPLETE: "not_run",
                 Verdict.DEMONSTRATION: "not_run"}

PAGE_MM = (210, 297)
MARGIN_MM = 18
USABLE_MM = PAGE_MM[0] - 2 * MARGIN_MM  # the width every table is fitted into
# Estimates for fitting columns: the width of a character as a share of the font size (a proportional font,
# generously: the reader's word processor may substitute a wider font than Calibri, as LibreOffice does
# with DejaVu; a monospace one), a cell's left and right padding (Table Grid: 0.08 inch each), and the
# widest a word of a value may make a column (longer ones are broken by the word processor; a header's
# words are never broken).
_CHAR_EM = {False: 0.60, True: 0.62}
_BOLD = 1.1
_PT_MM = 25.4 / 72
_CELL_MARGIN_MM = 1.2  # left and right, in every table (Table Grid's own is 1.9 mm)
_PAD_MM = 2 * _CELL_MARGIN_MM + 0.6
_TOKEN_MAX_MM = 22.0
_LONG_WORD = 18
_SHORT_LINE = 12
_TWIPS_PER_MM = 1440 / 25.4
WIDE_TABLE = 6  # columns from which a table is set a point smaller


@dataclass(frozen=True)
class _Cell:
    text: str
    mono: bool
    size: float  # pt (a bold text's size times _BOLD)
    header: bool = False  # a header's words are never broken


def _bi(label: t.Label) -> str:
    return str(label)


def _col(label: t.Label) -> str:
    """A column header: Swedish over English, as on the HTML page (one line each keeps columns narrow)."""
    return label.sv if label.sv == label.en else f"{label.sv}\n{label.en}"


def _qn(tag: str) -> str:
    from docx.oxml.ns import qn

    return qn(tag)


def _element(tag: str, **attributes: str) -> Any:
    from docx.oxml import OxmlElement

    element = OxmlElement(tag)
    for name, value in attributes.items():
        element.set(_qn(f"w:{name}"), value)
    return element


def _shade(cell: Any, fill: str) -> None:
    cell._tc.get_or_add_tcPr().append(_element("w:shd", val="clear", color="auto", fill=fill))


def _row_props(row: Any, *, header: bool = False) -> None:
    """A row never split across pages; the header row repeated on every page the table spans."""
    tr_pr = row._tr.get_or_add_trPr()
    tr_pr.append(_element("w:cantSplit"))
    if header:
        tr_pr.append(_element("w:tblHeader", val="true"))


def _lang(run: Any, lang: str) -> None:
    r_pr = run._r.get_or_add_rPr()
    r_pr.append(_element("w:lang", val=lang))


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


def _text_mm(text: str, size: float, mono: bool) -> float:
    return len(text) * size * _CHAR_EM[mono] * _PT_MM


def _word_mm(word: str, cell: _Cell) -> float:
    """The width a word asks of its column: all of it for a word of a language (up to _LONG_WORD characters,
    Swedish has long ones), at most _TOKEN_MAX_MM for a longer one, an identifier the word processor breaks."""
    width = _text_mm(word, cell.size, cell.mono)
    return width if len(word) <= _LONG_WORD else min(width, _TOKEN_MAX_MM)


def _tokens(line: str) -> list[str]:
    """The pieces of a line a word processor keeps whole: words between spaces (not no-break spaces); one made
    of several hyphenated parts (a rule id, a UUID) cut after its hyphens, where an HSA-id stays whole."""
    if len(line) <= _SHORT_LINE:  # "200 / —", "Fel / Error": kept on one line
        return [line] if line.strip() else []
    out = []
    for word in re.split(r"[ \t]+", line):
        if len(word) > 12 and word.count("-") >= 2:
            out += [piece for piece in re.split(r"(?<=-)", word) if piece]
        elif word:
            out.append(word)
    return out


def _column_widths(columns: Sequence[Sequence[_Cell]], usable_mm: float) -> list[float]:
    """Widths (mm) that fit the columns' content into ``usable_mm``, the way a browser lays out a table:
    each column at least as wide as its longest word (capped), the rest shared by how much more each needs
    for its longest line; a table whose content is narrower than the page is widened to the full width.
    When even the longest words do not fit side by side, the headers' words still do (they are never broken)
    and the columns with long values share what is left, so those values break."""
    hard, low, high = [], [], []
    for cells in columns:
        lines = [(line, c) for c in cells for line in c.text.split("\n")] or [("", _Cell("", False, 9))]
        widest = max(_text_mm(line, c.size, c.mono) for line, c in lines)
        hard.append(max((_text_mm(w, c.size, c.mono) for line, c in lines if c.header for w in line.split()),
                        default=0.0) + _PAD_MM)
        body = max((_word_mm(w, c) for line, c in lines if not c.header for w in _tokens(line)),
                   default=0.0) + _PAD_MM
        low.append(max(hard[-1], body))
        high.append(max(widest + _PAD_MM, low[-1]))
    if sum(high) <= usable_mm:
        return [h * usable_mm / sum(high) for h in high]
    if sum(low) > usable_mm:
        if sum(hard) >= usable_mm:
            return [w * usable_mm / sum(hard) for w in hard]
        wanted = sum(w - h for w, h in zip(low, hard, strict=True))
        return [h + (usable_mm - sum(hard)) * (w - h) / wanted for w, h in zip(low, hard, strict=True)]
    spare = usable_mm - sum(low)
    need = sum(h - w for h, w in zip(high, low, strict=True)) or 1.0
    return [w + spare * (h - w) / need for h, w in zip(high, low, strict=True)]


def _apply_widths(table: Any, widths_mm: Sequence[float]) -> None:
    """A fixed layout with these column widths (whole twips, rounded down, so the sum stays within the page):
    Word and LibreOffice then keep the table inside the margins and wrap the text in its cells."""
    from docx.shared import Twips

    twips = [int(w * _TWIPS_PER_MM) for w in widths_mm]
    table.autofit = False
    margins = _element("w:tblCellMar")
    for side in ("left", "right"):
        margins.append(_element(f"w:{side}", w=str(round(_CELL_MARGIN_MM * _TWIPS_PER_MM)), type="dxa"))
    look = table._tbl.tblPr.find(_qn("w:tblLook"))  # tblCellMar's place in CT_TblPr: after tblLayout, before it
    if look is not None:
        look.addprevious(margins)
    else:
        table._tbl.tblPr.append(margins)
    tbl_w = table._tbl.tblPr.find(_qn("w:tblW"))
    if tbl_w is None:
        tbl_w = _element("w:tblW")
        table._tbl.tblPr.append(tbl_w)
    tbl_w.set(_qn("w:type"), "dxa")
    tbl_w.set(_qn("w:w"), str(sum(twips)))
    for column, width in zip(table.columns, twips, strict=True):
        column.width = Twips(width)
    for row in table.rows:
        for cell, width in zip(row.cells, twips, strict=True):
            cell.width = Twips(width)


def _table(doc: Any, header: list[str], rows: list[list[object]], mono_cols: tuple[int, ...] = (),
           mono_cells: Collection[tuple[int, int]] = ()) -> Any:
    """A table with a header row, its columns fitted to their content; ``mono_cols`` (column numbers) and
    ``mono_cells`` ((row, column) of ``rows``) in a monospace font. A table of six columns or more is set a
    point smaller, so that its words fit side by side on A4."""
    from docx.shared import Pt

    table = doc.add_table(rows=1, cols=len(header))
    table.style = "Table Grid"
    smaller = 1.0 if len(header) >= WIDE_TABLE else 0.0
    head_size, text_size, mono_size = 8.5 - smaller, 9 - smaller, 8 - smaller / 2
    columns: list[list[_Cell]] = [[] for _ in header]
    for i, (cell, text) in enumerate(zip(table.rows[0].cells, header, strict=True)):
        _set(cell, text, bold=True, size=head_size)
        _shade(cell, "EEEEEE")
        columns[i].append(_Cell(t.clean(text), False, head_size * _BOLD, header=True))
    _row_props(table.rows[0], header=True)
    for r, row in enumerate(rows):
        added = table.add_row()
        _row_props(added)
        for i, (cell, value) in enumerate(zip(added.cells, row, strict=True)):
            mono = i in mono_cols or (r, i) in mono_cells
            size = mono_size if mono else text_size
            _set(cell, value, mono=mono, size=size)
            columns[i].append(_Cell(t.clean(value), mono, size))
    for paragraph in (p for row in table.rows for c in row.cells for p in c.paragraphs):
        paragraph.paragraph_format.space_after = Pt(0)
    _apply_widths(table, _column_widths(columns, USABLE_MM))
    doc.add_paragraph()
    return table


def _para(doc: Any, *parts: tuple[str, bool]) -> Any:
    paragraph = doc.add_paragraph()
    for text, bold in parts:
        paragraph.add_run(t.clean(text)).bold = bold or None
    return paragraph


def _bilingual(doc: Any, label: t.Label, sv: str, en: str, *, missing: bool = False) -> Any:
    """``Label: Swedish text``, and the English under it in italics, marked English; only the English when
    there is no Swedish one; a visible "missing" mark when there is neither (``missing``)."""
    paragraph = doc.add_paragraph()
    paragraph.add_run(f"{_bi(label)}: ").bold = True
    sv, en = t.clean(sv).strip(), t.clean(en).strip()
    if sv:
        paragraph.add_run(sv)
    if en and en != sv:
        if sv:
            paragraph.add_run().add_break()
        run = paragraph.add_run(en)
        run.italic = bool(sv) or None
        _lang(run, ENGLISH)
    if not sv and not en and missing:
        paragraph.add_run(t.or_missing(None))
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
    _table(doc, [_col(t.FIELD), _col(t.VALUE)], [[_bi(row.label), row.text] for row in head_rows],
           mono_cells={(i, 1) for i, row in enumerate(head_rows) if row.mono and not row.missing})

    doc.add_heading(_bi(h["contracts"]), level=2)
    if head.contracts:
        _table(doc, [_col(c) for c in t.CONTRACT_COLUMNS],
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
        _table(doc, [_col(c) for c in t.COST_COLUMNS], rows)
        _para(doc, (_bi(t.COST_NOTE), False))


def _summary(doc: Any, protocol: Protocol) -> None:
    doc.add_heading(_bi(t.SUMMARY_SECTION), level=1)
    verdict = doc.add_table(rows=1, cols=1)
    verdict.style = "Table Grid"
    cell = verdict.rows[0].cells[0]
    _set(cell, f"{_bi(t.VERDICT)}: {t.verdict_text(protocol.verdict)}", bold=True, size=13)
    _shade(cell, _FILL[_FILL_VERDICT[Verdict(protocol.verdict)]])
    _row_props(verdict.rows[0])
    _apply_widths(verdict, [USABLE_MM])
    doc.add_paragraph()
    for problem in t.inconsistencies(protocol):
        _para(doc, (f"⚠ {_bi(t.INCONSISTENT)}: ", True), (f"{problem.sv} / {problem.en}", True))
    counts = protocol.counts
    table = _table(doc, [_col(t.STATUS), _col(t.COUNT)], [[t.status_text(s), str(counts[s.value])] for s in CaseStatus])
    for row, status in zip(table.rows[1:], CaseStatus, strict=True):
        _shade(row.cells[0], _FILL[status.value])


def _case(doc: Any, protocol: Protocol, case: CaseResult) -> None:
    status = CaseStatus(case.status)
    doc.add_heading(t.clean(f"{case.id} {case.title_sv} / {case.title_en}"), level=2)
    status_table = doc.add_table(rows=1, cols=2)
    status_table.style = "Table Grid"
    _set(status_table.rows[0].cells[0], _bi(t.STATUS), bold=True, size=9)
    _set(status_table.rows[0].cells[1], t.status_text(status), bold=True, size=10)
    _shade(status_table.rows[0].cells[1], _FILL[status.value])
    _row_props(status_table.rows[0])
    _apply_widths(status_table, [40.0, USABLE_MM - 40.0])
    doc.add_paragraph()
    _bilingual(doc, t.PURPOSE, case.purpose_sv, case.purpose)
    if status == CaseStatus.NOT_RUN:
        _bilingual(doc, t.HOW_TO_RUN, case.how_to_run_sv, case.how_to_run, missing=True)
    if case.note:
        _para(doc, (f"{_bi(t.NOTE)}: ", True), (t.clean(case.note), False))

    doc.add_heading(_bi(t.EVIDENCE_SECTION), level=3)
    if case.evidence:
        _table(doc, [_col(c) for c in t.EVIDENCE_COLUMNS], [
            [str(e.exchange_id), t.when(e.time), e.correlation_id or "—", e.logical_address or "—",
             t.contract_op(e), t.http_vp(e), e.outcome] for e in case.evidence
        ], mono_cols=(2, 3))
        for e in case.evidence:
            _para(doc, (f"{_bi(t.EVIDENCE_COLUMNS[0])} {e.exchange_id}", True))
            _mono_block(doc, "\n".join(f"{label}: {value}" for label, value in t.evidence_facts(protocol, e)))
            if e.excerpt:
                _para(doc, (f"{_bi(t.EXCERPT)}:", False))
                _mono_block(doc, e.excerpt)
    else:
        _para(doc, (_bi(t.NO_EVIDENCE), False))
    shown = t.evidence_shown(case)
    if shown is not None:
        _para(doc, (f"{_bi(t.NOTE)}: ", True), (f"{shown.sv} / {shown.en}", False))

    doc.add_heading(_bi(t.FINDINGS_SECTION), level=3)
    if case.findings:
        _table(doc, [_col(c) for c in t.FINDING_COLUMNS], [
            [str(exchange_id), f.rule_id, t.severity_text(f.severity),
             f"{t.clean(f.message_sv)}\n{t.clean(f.message_en)}", f.path or "—", str(f.line) if f.line else "—",
             "\n".join(t.hint(f)) or "—"] for exchange_id, f in case.findings
        ], mono_cols=(1, 4))
    else:
        _para(doc, (_bi(t.NO_FINDINGS), False))


def _rules(doc: Any, protocol: Protocol) -> None:
    doc.add_heading(_bi(t.RULES_SECTION), level=1)
    if not protocol.rules:
        _para(doc, (_bi(t.NO_RULES), False))
        return
    _table(doc, [_col(c) for c in t.RULE_COLUMNS], [
        [r.rule_id, t.severity_text(r.severity), f"{t.clean(r.title_sv)}\n{t.clean(r.title_en)}", r.source,
         str(r.checked) if r.checked else f"– {t.RULE_NOT_CHECKED}", str(r.violations),
         "\n".join(f"#{ex_id}: {t.finding_line(f)}" for ex_id, f in r.examples) or "—"]
        for r in protocol.rules
    ], mono_cols=(0,))


def _sign_off(doc: Any) -> None:
    """Where the tester and the reviewer sign: name and organisation, date, signature; kept on one page."""
    from docx.enum.table import WD_ROW_HEIGHT_RULE
    from docx.shared import Mm

    heading = doc.add_heading(_bi(t.SIGN_OFF_SECTION), level=1)
    heading.paragraph_format.page_break_before = False
    note = _para(doc, (_bi(t.SIGN_OFF_NOTE), False))
    note.paragraph_format.keep_with_next = True
    table = doc.add_table(rows=1, cols=len(t.SIGN_OFF_COLUMNS))
    table.style = "Table Grid"
    for cell, label in zip(table.rows[0].cells, t.SIGN_OFF_COLUMNS, strict=True):
        _set(cell, _col(label), bold=True, size=8.5)
        _shade(cell, "EEEEEE")
        cell.paragraphs[0].paragraph_format.keep_with_next = True
    _row_props(table.rows[0], header=True)
    for role in t.SIGN_OFF_ROLES:
        row = table.add_row()
        _row_props(row)
        row.height = Mm(16)
        row.height_rule = WD_ROW_HEIGHT_RULE.AT_LEAST
        _set(row.cells[0], _col(role), bold=True, size=9)
        for cell in row.cells:
            cell.paragraphs[0].paragraph_format.keep_with_next = True
    _apply_widths(table, [34.0, 62.0, 28.0, USABLE_MM - 124.0])


def _field(paragraph: Any, instruction: str, shown: str) -> None:
    """A Word field (PAGE, NUMPAGES) in its complete form: begin, instruction, separate, the last result, end."""
    for part in (_element("w:fldChar", fldCharType="begin"), "instr", _element("w:fldChar", fldCharType="separate"),
                 "result", _element("w:fldChar", fldCharType="end")):
        run = paragraph.add_run()
        if part == "instr":
            instr = _element("w:instrText")
            instr.set("{http://www.w3.org/XML/1998/namespace}space", "preserve")
            instr.text = f" {instruction} "
            run._r.append(instr)
        elif part == "result":
            run.text = shown
        else:
            run._r.append(part)


def _header_footer(section: Any, protocol: Protocol) -> None:
    """Header: the protocol, the system and the date; footer: "Sida / Page n av / of m"."""
    from docx.enum.text import WD_ALIGN_PARAGRAPH
    from docx.shared import Pt, RGBColor

    head = protocol.head
    system = t.clean(head.system_name).strip() or t.or_missing(None)
    if t.clean(head.system_id).strip():
        system += f" ({t.clean(head.system_id).strip()})"
    date = t.when(head.created) or t.or_missing(None)
    header = section.header.paragraphs[0]
    run = header.add_run(f"{t.TITLE.sv}: {system} · {t.HEAD['created'].sv}: {date}")
    run.font.size, run.font.color.rgb = Pt(8), RGBColor(0x55, 0x55, 0x55)

    footer = section.footer.paragraphs[0]
    footer.alignment = WD_ALIGN_PARAGRAPH.CENTER
    footer.add_run(f"{_bi(t.PAGE)} ")
    _field(footer, "PAGE", "1")
    footer.add_run(f" {_bi(t.PAGE_OF)} ")
    _field(footer, "NUMPAGES", "1")
    for run in footer.runs:
        run.font.size, run.font.color.rgb = Pt(8), RGBColor(0x55, 0x55, 0x55)


def _swedish(doc: Any) -> None:
    """Swedish as the document's language: the styles' default run properties (every style inherits them)
    and the theme's font language in the settings."""
    styles = doc.styles.element
    r_pr = styles.find(f"{_qn('w:docDefaults')}/{_qn('w:rPrDefault')}/{_qn('w:rPr')}")
    if r_pr is None:  # a template without run defaults: add them
        defaults = styles.find(_qn("w:docDefaults"))
        if defaults is None:
            defaults = _element("w:docDefaults")
            styles.insert(0, defaults)
        r_pr_default = defaults.find(_qn("w:rPrDefault"))
        if r_pr_default is None:
            r_pr_default = _element("w:rPrDefault")
            defaults.insert(0, r_pr_default)
        r_pr = _element("w:rPr")
        r_pr_default.append(r_pr)
    lang = r_pr.find(_qn("w:lang"))
    if lang is None:
        lang = _element("w:lang")
        r_pr.append(lang)
    lang.set(_qn("w:val"), LANGUAGE)
    lang.set(_qn("w:eastAsia"), LANGUAGE)
    settings = doc.settings.element
    theme_lang = settings.find(_qn("w:themeFontLang"))
    if theme_lang is None:  # python-docx's template has one; its place in CT_Settings is before these
        theme_lang = _element("w:themeFontLang")
        anchor = next((settings.find(_qn(f"w:{name}")) for name in ("clrSchemeMapping", "doNotAutoCompressPictures")
                       if settings.find(_qn(f"w:{name}")) is not None), None)
        if anchor is not None:
            anchor.addprevious(theme_lang)
        else:
            settings.append(theme_lang)
    theme_lang.set(_qn("w:val"), LANGUAGE)


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
    _swedish(doc)
    section = doc.sections[0]
    section.page_width, section.page_height = Mm(PAGE_MM[0]), Mm(PAGE_MM[1])
    section.left_margin = section.right_margin = Mm(MARGIN_MM)
    section.top_margin = section.bottom_margin = Mm(MARGIN_MM)
    section.header_distance = section.footer_distance = Mm(8)
    _header_footer(section, protocol)
    props = doc.core_properties
    props.title = t.clean(f"{t.TITLE}: {protocol.head.system_name}")
    props.subject = str(t.subtitle(protocol))
    props.author = props.last_modified_by = "mockplatform"
    props.created = props.modified = _created(protocol.head.created)
    props.comments = t.clean(f"mockplatform {protocol.head.tool_version}, format {protocol.format_version}")
    props.language = LANGUAGE

    doc.add_heading(_bi(t.TITLE), level=0)
    _para(doc, (_bi(t.subtitle(protocol)), False))
    _head(doc, protocol)
    _summary(doc, protocol)
    doc.add_heading(_bi(t.CASES_SECTION), level=1)
    cases = _table(doc, [_col(c) for c in t.CASE_COLUMNS],
                   [[c.id, f"{t.clean(c.title_sv)}\n{t.clean(c.title_en)}", t.status_text(c.status)]
                    for c in protocol.cases])
    for row, case in zip(cases.rows[1:], protocol.cases, strict=True):
        _shade(row.cells[2], _FILL[CaseStatus(case.status).value])
    for case in protocol.cases:
        _case(doc, protocol, case)
    _rules(doc, protocol)
    _sign_off(doc)

    out = io.BytesIO()
    doc.save(out)
    return out.getvalue()

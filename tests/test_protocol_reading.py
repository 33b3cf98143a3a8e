"""The protocol as people read it (issue 13, "Reading it"): on screen and printed to A4 without words broken
in the middle, Word with Swedish as its language, a header, page numbers, columns fitted to their content
and a place to sign, times in Swedish local time with the zone, and purposes and fixes in Swedish first.

The printed forms are checked for real where the tools are installed (headless Chromium, LibreOffice,
poppler's pdftotext and pdfinfo; ``.ci/run`` installs them); without them those tests are skipped and say
which tool is missing.
"""

from __future__ import annotations

import ast
import dataclasses
import io
import json
import os
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import docx
import lxml.html
import pytest
from docx.shared import Length
from lxml import etree

from mockplatform.cli import main
from mockplatform.domains.inbox1177.cases import CATALOGUE
from mockplatform.findings import Finding, Severity
from mockplatform.localtime import swedish_time
from mockplatform.protocol import render_docx, render_html, render_json, render_junit, render_markdown, text
from mockplatform.protocol.model import CaseStatus, Protocol
from mockplatform.web.display import local_time

from .soap import add_message, is_active_user
from .test_protocol import make_protocol
from .test_web import Client

ROOT = Path(__file__).resolve().parent.parent
ADD_MESSAGE_URN = "urn:riv:infrastructure:eservicesupply:patientportal:AddMessageToPatientPortalInboxResponder:1"
A4_PT = (595.28, 841.89)
PAGE_MM, MARGIN_MM = (210, 297), 18  # the Word protocol's page and margins
MM_PT = 72 / 25.4
SWEDISH_TIME = re.compile(r"(?<!\d)\d{4}-\d\d-\d\d \d\d:\d\d:\d\d CES?T\b")


def _tool(*names: str) -> str | None:
    return next((path for path in map(shutil.which, names) if path), None)


CHROMIUM = _tool("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
SOFFICE = _tool("soffice", "libreoffice")
PDFTOTEXT = _tool("pdftotext")
needs_pdftotext = pytest.mark.skipif(
    PDFTOTEXT is None, reason="pdftotext is not installed (Debian: apt-get install poppler-utils; .ci/run does)")
needs_chromium = pytest.mark.skipif(
    CHROMIUM is None, reason="Chromium is not installed (Debian: apt-get install chromium; .ci/run does)")
needs_soffice = pytest.mark.skipif(
    SOFFICE is None,
    reason="LibreOffice is not installed (Debian: apt-get install libreoffice-writer-nogui; .ci/run does)")


# ---------------------------------------------------------------- helpers


def words_by_page(pdf: Path) -> list[tuple[float, float, list[tuple[float, float, float, float, str]]]]:
    """Each page of a PDF as (width, height, words with xMin, yMin, xMax, yMax), read by ``pdftotext -bbox``."""
    out = subprocess.run([PDFTOTEXT, "-bbox", str(pdf), "-"], capture_output=True, check=True, timeout=60).stdout
    root = lxml.html.document_fromstring(out)
    pages = []
    for page in root.iter("page"):
        words = [(float(w.get("xmin")), float(w.get("ymin")), float(w.get("xmax")), float(w.get("ymax")),
                  w.text_content()) for w in page.iter("word")]
        pages.append((float(page.get("width")), float(page.get("height")), words))
    return pages


def page_texts(pdf: Path) -> list[str]:
    out = subprocess.run([PDFTOTEXT, "-layout", str(pdf), "-"], capture_output=True, check=True, timeout=60).stdout
    return out.decode("utf-8").split("\f")[:-1]


def print_html(html: Path, pdf: Path) -> None:
    """Headless Chromium's print to PDF, as a reader's "Save as PDF" (no browser header or footer)."""
    subprocess.run([CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--no-pdf-header-footer",
                    "--print-to-pdf-no-header", f"--print-to-pdf={pdf}", html.as_uri()],
                   capture_output=True, check=True, timeout=120)
    assert pdf.exists() and pdf.stat().st_size > 0


def convert_docx(path: Path, out_dir: Path) -> Path:
    """LibreOffice's conversion to PDF, with a profile of its own (no clash with a running office)."""
    profile = out_dir / "lo-profile"
    subprocess.run([SOFFICE, f"-env:UserInstallation={profile.as_uri()}", "--headless", "--convert-to", "pdf",
                    "--outdir", str(out_dir), str(path)], capture_output=True, check=True, timeout=180)
    pdf = out_dir / (path.stem + ".pdf")
    assert pdf.exists(), f"LibreOffice wrote no {pdf.name}"
    return pdf


@pytest.fixture(scope="module")
def demo(tmp_path_factory) -> Path:
    """The demo's protocol, all formats (what a reader gets from ``mockplatform demo``)."""
    out = tmp_path_factory.mktemp("demo")
    assert main(["demo", "--out", str(out)]) == 0
    return out


def long_protocol() -> Protocol:
    """The test protocol with values that are hard to lay out: long namespaces, paths and unbroken tokens."""
    protocol = make_protocol()
    evidence = dataclasses.replace(protocol.cases[1].evidence[0], contract=ADD_MESSAGE_URN,
                                   correlation_id="c0ee6e3e-b11a-431d-9ecd-45f1a0f3193e-" + "f" * 40)
    protocol.cases[1].evidence[0] = evidence
    long_finding = dataclasses.replace(
        protocol.cases[1].findings[0][1], message_en=f"The namespace '{ADD_MESSAGE_URN}' is wrong {'x' * 120}",
        path="/Envelope/Body/AddMessageToPatientPortalInbox/message/organisationUnit/unitId/" + "y" * 60,
        hint_sv="skriv " + "z" * 90)
    protocol.cases[1].findings[0] = (2, long_finding)
    return protocol


# ---------------------------------------------------------------- times


def test_swedish_time_is_local_time_in_stockholm_to_the_second_with_the_zone():
    assert swedish_time("2026-12-03T16:05:09.987654+00:00") == "2026-12-03 17:05:09 CET"
    assert swedish_time("2026-07-03T16:05:09+00:00") == "2026-07-03 18:05:09 CEST"
    assert swedish_time("2026-03-29T00:59:59Z") == "2026-03-29 01:59:59 CET"  # the switch to summer time
    assert swedish_time("2026-03-29T01:00:00Z") == "2026-03-29 03:00:00 CEST"
    assert swedish_time("2026-10-25T00:30:00+00:00") == "2026-10-25 02:30:00 CEST"  # the hour shown twice
    assert swedish_time("2026-10-25T01:30:00+00:00") == "2026-10-25 02:30:00 CET"
    assert swedish_time("2024-05-02T10:00:00+02:00") == "2024-05-02 10:00:00 CEST"
    assert swedish_time("2026-12-03T16:05:09") == "2026-12-03 17:05:09 CET"  # the journal's, without offset: UTC
    assert swedish_time("not a time") == "not a time" and swedish_time(None) == "" and swedish_time("") == ""


def test_swedish_time_works_without_a_tz_database_on_the_machine(tmp_path):
    """zoneinfo finds no zones in an empty tz path; the tzdata package (a dependency) has them."""
    env = dict(os.environ, PYTHONTZPATH=str(tmp_path))
    code = ("import sys, zoneinfo; assert zoneinfo.TZPATH == (sys.argv[1],), zoneinfo.TZPATH; "
            "from mockplatform.localtime import swedish_time; print(swedish_time('2026-12-03T16:05:09Z'))")
    done = subprocess.run([sys.executable, "-c", code, str(tmp_path)], capture_output=True, text=True, env=env,
                          cwd=ROOT, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "2026-12-03 17:05:09 CET"


def test_the_pages_show_swedish_local_time_whatever_the_machine_zone(monkeypatch):
    monkeypatch.setenv("TZ", "America/New_York")
    if hasattr(__import__("time"), "tzset"):
        __import__("time").tzset()
    try:
        assert local_time("2026-12-03T16:05:09.5+00:00") == "2026-12-03 17:05:09 CET"
        assert local_time(None) == "" and local_time("garbage") == "garbage"
    finally:
        monkeypatch.undo()
        if hasattr(__import__("time"), "tzset"):
            __import__("time").tzset()


def test_the_journal_and_inbox_pages_show_times_with_seconds_and_the_zone(tmp_path):
    from mockplatform import Application, Config

    app = Application(Config(journal=tmp_path / "journal.sqlite"))
    try:
        client = Client(app)
        assert client.post(is_active_user()).status == 200
        client.send()
        journal = " ".join(client.page("/ui/journal").text_content().split())
        assert SWEDISH_TIME.search(journal), journal[:500]
        exchange = " ".join(client.page("/ui/journal/1").text_content().split())
        assert SWEDISH_TIME.search(exchange)
        inbox = " ".join(client.page("/ui/inbox", citizen="191212121212").text_content().split())
        assert SWEDISH_TIME.search(inbox), inbox[:800]
    finally:
        app.close()


def test_every_format_for_people_shows_times_in_swedish_local_time_and_json_keeps_utc():
    protocol = make_protocol()
    protocol.head.created = "2024-05-03T07:00:00+00:00"
    protocol.head.period_from, protocol.head.period_to = "2024-05-02T08:00:00+00:00", "2024-05-02T09:00:00Z"
    first = protocol.cases[0].evidence[0]
    protocol.cases[0].evidence[0] = dataclasses.replace(first, time="2024-05-02T08:00:01.123456+00:00")
    shown = "2024-05-02 10:00:01 CEST"
    html = lxml.html.document_fromstring(render_html(protocol))
    assert shown in html.xpath("//article[@data-case-id='TC-01']//table[@class='evidence']")[0].text_content()
    head = " ".join(html.xpath("//table[@class='head']")[0].text_content().split())
    assert "2024-05-02 10:00:00 CEST – 2024-05-02 11:00:00 CEST" in head and "2024-05-03 09:00:00 CEST" in head
    document = docx.Document(io.BytesIO(render_docx(protocol)))
    assert shown in [c.text for t in document.tables for row in t.rows for c in row.cells]
    assert "2024-05-03 09:00:00 CEST" in document.sections[0].header.paragraphs[0].text
    assert f"| 1 | {shown} |" in render_markdown(protocol).decode()
    junit = render_junit(protocol, hostname="ci").decode()
    assert f"exchange 1 at {shown}" in junit and "2024-05-02T08:00:01" not in junit.split("timestamp=")[0]
    data = json.loads(render_json(protocol))
    assert data["cases"][0]["evidence"][0]["time"] == "2024-05-02T08:00:01.123456+00:00"
    assert data["head"]["period_from"] == "2024-05-02T08:00:00+00:00"


# ---------------------------------------------------------------- HTML


def test_html_evidence_names_the_contract_by_its_short_name():
    protocol = make_protocol()
    first = protocol.cases[0].evidence[0]
    protocol.cases[0].evidence[0] = dataclasses.replace(first, contract=ADD_MESSAGE_URN)
    html = lxml.html.document_fromstring(render_html(protocol))
    evidence = html.xpath("//article[@data-case-id='TC-01']//table[@class='evidence']")[0]
    cell = evidence.xpath(".//td[@class='contract']")[0].text_content()
    assert cell == "AddMessageToPatientPortalInbox\u00a01"
    assert "urn:riv" not in evidence.xpath("./tbody/tr[1]")[0].text_content()
    assert text.contract_op(protocol.cases[0].evidence[0]) == "AddMessageToPatientPortalInbox 1"
    other = dataclasses.replace(first, contract=ADD_MESSAGE_URN, operation="SomethingElse")
    assert text.contract_op(other) == "AddMessageToPatientPortalInbox 1 (SomethingElse)"


def test_html_keeps_words_whole_and_breaks_long_values_only_at_marked_points():
    html = render_html(long_protocol()).decode()
    css = lxml.html.document_fromstring(html).xpath("//style")[0].text
    rule = re.search(r"th, td \{[^}]*\}", css).group()
    assert "word-break: normal" in rule and "overflow-wrap: normal" in rule and "anywhere" not in rule
    anywhere = re.findall(r"([^{}]+)\{[^}]*overflow-wrap: anywhere", css)
    assert anywhere and all(set(re.findall(r"[.\w-]+", sel)) <= {"code.hash", ".long", "table.head", "td.mono",
                                                                 "pre"} for sel in anywhere), anywhere
    assert "break-all" not in css
    # A namespace breaks after its colons, a CamelCase name between its words; short words are left whole.
    assert "urn:<wbr>riv:<wbr>infrastructure:<wbr>eservicesupply:<wbr>patientportal:<wbr>" in html
    assert "Add<wbr>Message<wbr>To<wbr>Patient<wbr>Portal<wbr>Inbox" in html
    assert "status=true" not in html or "status<wbr>" not in html
    assert '<span class="nw">SE2321000016-ABCD</span>' in html  # an HSA-id is not broken after its hyphen


def test_html_prints_on_a4_with_header_rows_repeated_and_rows_kept_whole():
    css = lxml.html.document_fromstring(render_html(make_protocol())).xpath("//style")[0].text
    page = re.search(r"@page \{[^{}]*\}", css).group()
    assert "size: A4" in page and "margin:" in page
    assert "thead { display: table-header-group; }" in css
    assert re.search(r"\btr \{ break-inside: avoid; \}", css)
    assert "max-width: 100%" in css and "counter(page)" in css


def test_html_has_a_sign_off_table_for_tester_and_reviewer():
    html = lxml.html.document_fromstring(render_html(make_protocol()))
    table = html.xpath("//section[@id='signoff']//table[@class='signoff']")[0]
    head = " ".join(" ".join(table.xpath("./thead")[0].itertext()).split())
    assert head == "Roll Role Namn och organisation Name and organisation Datum Date Underskrift Signature"
    rows = [" ".join(" ".join(th.itertext()).split()) for th in table.xpath("./tbody/tr/th")]
    assert rows == ["Testad av Tested by", "Granskad av Reviewed by"]


@needs_chromium
@needs_pdftotext
@pytest.mark.parametrize("which", ["demo", "long values"])
def test_html_printed_to_pdf_is_a4_with_whole_words_and_nothing_past_the_margins(which, demo, tmp_path):
    html = demo / "protocol.html"
    if which == "long values":
        html = tmp_path / "protocol.html"
        html.write_bytes(render_html(long_protocol()))
    pdf = tmp_path / "protocol.pdf"
    print_html(html, pdf)
    pages = words_by_page(pdf)
    words = {w[4] for _, _, page in pages for w in page}
    for width, height, _ in pages:
        assert abs(width - A4_PT[0]) < 2 and abs(height - A4_PT[1]) < 2, (width, height)
    whole = {"Anrop", "Exchange", "Korrelations-id", "Logisk", "adress", "Kontrakt", "Utfall", "Outcome",
             "Version", "Allvar", "Kontrollerade", "Avvikelser"}
    if which == "demo":
        whole |= {"status=true", "status=false", "resultCode=OK", "IsActiveUser", "SE5565594230-1177"}
    assert whole <= words, sorted(whole - words)
    fragments = {"Anr", "op", "Logis", "adres", "statu", "tr", "ue", "Ver", "sio", "Korrelations", "Exch"}
    assert not fragments & words, sorted(fragments & words)
    left, right, bottom = 14 * MM_PT, 14 * MM_PT, 16 * MM_PT  # the @page margins
    for number, (width, height, page) in enumerate(pages, 1):
        body = [w for w in page if w[1] < height - bottom]  # the page number sits in the bottom margin
        outside = [w[4] for w in body if w[0] < left - 1 or w[2] > width - right + 1]
        assert not outside, f"page {number}: past the margins: {outside[:5]}"
        assert all(w[0] >= 0 and w[2] <= width for w in page)
    assert f"Sida / Page 1 / {len(pages)}" in page_texts(pdf)[0]


# ---------------------------------------------------------------- Word


def test_docx_language_is_swedish_in_the_styles_and_english_halves_are_marked():
    data = render_docx(make_protocol())
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        styles = etree.fromstring(z.read("word/styles.xml"))
        settings = etree.fromstring(z.read("word/settings.xml"))
        body = etree.fromstring(z.read("word/document.xml"))
    w = {"w": "http://schemas.openxmlformats.org/wordprocessingml/2006/main"}
    lang = styles.xpath("w:docDefaults/w:rPrDefault/w:rPr/w:lang/@w:val", namespaces=w)
    assert lang == ["sv-SE"]
    assert settings.xpath("w:themeFontLang/@w:val", namespaces=w) == ["sv-SE"]
    assert "en-GB" in body.xpath("//w:r/w:rPr/w:lang/@w:val", namespaces=w)
    assert docx.Document(io.BytesIO(data)).core_properties.language == "sv-SE"


def test_docx_has_a_header_with_system_and_date_and_a_footer_with_page_numbers():
    protocol = make_protocol()
    document = docx.Document(io.BytesIO(render_docx(protocol)))
    section = document.sections[0]
    header = section.header.paragraphs[0].text
    assert protocol.head.system_name in header and "SYS-1177-42" in header
    assert "Datum: 2024-05-03 09:00:00 CEST" in header
    footer = section.footer._element
    w = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
    fields = [i.text.strip() for i in footer.iter(f"{w}instrText")]
    assert fields == ["PAGE", "NUMPAGES"]
    assert [c.get(f"{w}fldCharType") for c in footer.iter(f"{w}fldChar")] == ["begin", "separate", "end"] * 2
    assert section.footer.paragraphs[0].text.startswith("Sida / Page ")


def _grid(table) -> list[int]:
    w = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
    return [int(col.get(f"{w}w")) for col in table._tbl.tblGrid.iter(f"{w}gridCol")]


@pytest.mark.parametrize("make", [make_protocol, long_protocol])
def test_docx_tables_fit_the_page_with_columns_fitted_to_their_content(make):
    document = docx.Document(io.BytesIO(render_docx(make())))
    usable = round((PAGE_MM[0] - 2 * MARGIN_MM) * 1440 / 25.4)
    section = document.sections[0]
    assert abs(Length(section.page_width - section.left_margin - section.right_margin).twips - usable) <= 1
    w = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
    for table in document.tables:
        grid = _grid(table)
        assert sum(grid) <= usable, (table.rows[0].cells[0].text, grid)
        assert table._tbl.tblPr.find(f"{w}tblLayout").get(f"{w}type") == "fixed"
        for row in table.rows:
            assert [c.width.twips for c in row.cells] == grid
            assert row._tr.trPr.find(f"{w}cantSplit") is not None  # a row is never split across pages
    evidence = next(t for t in document.tables if t.rows[0].cells[0].text.startswith("Anrop"))
    exchange, time, correlation = _grid(evidence)[:3]
    assert exchange < correlation and time < correlation  # widths follow the content, not equal shares
    head = document.tables[0]
    assert _grid(head)[0] < _grid(head)[1]  # labels narrower than the values


def test_docx_has_a_sign_off_block_with_lines_to_sign():
    document = docx.Document(io.BytesIO(render_docx(make_protocol())))
    headings = [p.text for p in document.paragraphs if p.style.name.startswith("Heading")]
    assert headings[-1] == "Underskrifter / Sign-off"
    table = document.tables[-1]
    assert [c.text for c in table.rows[0].cells] == [
        "Roll\nRole", "Namn och organisation\nName and organisation", "Datum\nDate", "Underskrift\nSignature"]
    assert [r.cells[0].text for r in table.rows[1:]] == ["Testad av\nTested by", "Granskad av\nReviewed by"]
    assert all(r.height is not None and r.height.mm >= 12 for r in table.rows[1:])
    assert all(c.text == "" for r in table.rows[1:] for c in r.cells[1:])


@needs_soffice
@needs_pdftotext
def test_docx_converted_to_pdf_fits_a4_with_header_and_numbered_pages(demo, tmp_path):
    pdf = convert_docx(demo / "protocol.docx", tmp_path)
    pages = words_by_page(pdf)
    texts = page_texts(pdf)
    assert 5 <= len(pages) <= 20, f"the demo protocol takes {len(pages)} pages"
    for number, ((width, height, words), page) in enumerate(zip(pages, texts, strict=True), 1):
        assert abs(width - A4_PT[0]) < 2 and abs(height - A4_PT[1]) < 2, (width, height)
        assert f"Sida / Page {number} av / of {len(pages)}" in page
        assert "Testprotokoll: Exempel Journalsystem" in page and SWEDISH_TIME.search(page)
        margin = MARGIN_MM * MM_PT
        outside = [w[4] for w in words if w[0] < margin - 1 or w[2] > width - margin + 1]
        assert not outside, f"page {number}: past the margins: {outside[:5]}"
    words = {w[4] for _, _, page in pages for w in page}
    assert {"Anrop", "Exchange", "Korrelations-id", "Logisk", "adress", "status=true", "Underskrift"} <= words


# ---------------------------------------------------------------- Swedish purposes, advice and fixes


def test_every_inbox_case_has_its_purpose_and_advice_in_swedish():
    for case in CATALOGUE:
        assert case.purpose_sv and case.purpose_sv != case.purpose, case.id
        assert case.how_to_run_sv and case.how_to_run_sv != case.how_to_run, case.id


def _hits_without_swedish_hint(path: Path) -> list[int]:
    """Lines of ``Hit(...)``/``Finding(...)`` calls that give a hint but no hint_sv."""
    missing = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Call) and getattr(node.func, "id", None) in ("Hit", "Finding"):
            given = {k.arg for k in node.keywords}
            if "hint" in given and "hint_sv" not in given:
                missing.append(node.lineno)
    return missing


@pytest.mark.parametrize("module", ["mockplatform/rules/rivta.py", "mockplatform/contracts/validation.py",
                                    "mockplatform/domains/inbox1177/payload_rules.py",
                                    "mockplatform/domains/inbox1177/behaviour_rules.py",
                                    "mockplatform/domains/inbox1177/cases.py"])
def test_every_rule_hint_has_a_swedish_version(module):
    assert _hits_without_swedish_hint(ROOT / module) == []


def test_a_judged_request_gets_its_fix_in_swedish_and_english(tmp_path):
    from mockplatform import Application, Config
    from mockplatform.verification.engine import VerifyOptions, verify

    journal = tmp_path / "journal.sqlite"
    app = Application(Config(journal=journal))
    try:
        Client(app).post(add_message(source_system=None))
    finally:
        app.close()
    protocol = verify(VerifyOptions(journal=journal))
    findings = [f for c in protocol.cases for _, f in c.findings] + [f for r in protocol.rules for _, f in r.examples]
    source = next(f for f in findings if f.rule_id == "INBOX-SOURCE-SYSTEM")
    assert source.hint and source.hint_sv and source.hint_sv.startswith("lägg till <sourceSystem>")
    assert protocol.cases[0].purpose_sv == CATALOGUE[0].purpose_sv


def test_every_format_shows_purpose_advice_and_fix_in_swedish_first():
    protocol = make_protocol()
    fix = dataclasses.replace(protocol.cases[1].findings[0][1], hint_sv="Skicka system-id:t från 1177")
    protocol.cases[1].findings[0] = (2, fix)
    protocol.cases[0].purpose_sv = "Visa IsActiveUser före sändning."
    protocol.cases[2].how_to_run_sv = "Kör IsActiveUser för en inaktiv invånare först."
    sv_en = [(protocol.cases[0].purpose_sv, protocol.cases[0].purpose),
             (protocol.cases[2].how_to_run_sv, protocol.cases[2].how_to_run), (fix.hint_sv, fix.hint)]

    def in_order(shown: str) -> None:
        for sv, en in sv_en:
            assert sv in shown and en in shown and shown.index(sv) < shown.index(en), (sv, en)

    html = lxml.html.document_fromstring(render_html(protocol))
    in_order(html.text_content())
    purpose = html.xpath("//article[@data-case-id='TC-01']//p[@class='purpose']")[0]
    assert purpose.xpath("./span[@lang='en']")[0].text_content() == protocol.cases[0].purpose
    fix_cell = html.xpath("//article[@data-case-id='TC-02']//td[@class='fix']")[0]
    assert fix_cell.xpath("./span[@lang='en']")[0].text_content() == fix.hint
    document = docx.Document(io.BytesIO(render_docx(protocol)))
    in_order("\n".join([p.text for p in document.paragraphs]
                       + [c.text for t in document.tables for r in t.rows for c in r.cells]))
    md = render_markdown(protocol).decode().replace("\\<", "<").replace("\\>", ">")
    in_order(md)
    junit = render_junit(protocol, hostname="ci").decode().replace("&lt;", "<").replace("&gt;", ">")
    in_order(junit)
    assert "Åtgärd/Fix: Skicka system-id:t från 1177 / Send the system-id from 1177 <here>" in junit
    data = json.loads(render_json(protocol))
    assert data["format_version"] == "1.4"
    assert data["cases"][0]["purpose_sv"] == protocol.cases[0].purpose_sv
    assert data["cases"][2]["how_to_run_sv"] == protocol.cases[2].how_to_run_sv
    assert data["cases"][1]["findings"][0]["hint_sv"] == fix.hint_sv


def test_a_case_without_swedish_texts_shows_the_english_ones_alone():
    protocol = make_protocol()
    assert protocol.cases[0].purpose_sv == "" and protocol.cases[2].status is CaseStatus.NOT_RUN
    html = lxml.html.document_fromstring(render_html(protocol))
    purpose = html.xpath("//article[@data-case-id='TC-01']//p[@class='purpose']")[0]
    assert " ".join(purpose.text_content().split()) == f"Syfte Purpose: {protocol.cases[0].purpose}"
    assert text.hint(Finding("X", Severity.ERROR, "m", "m", hint="fix it")) == ("fix it",)
    assert text.hint(Finding("X", Severity.ERROR, "m", "m")) == ()

"""The protocol renderers: every format says what the model says, parses back, and cannot be hijacked
by text from a consumer request (script tags, CDATA terminators, control characters, Swedish letters)."""

from __future__ import annotations

import dataclasses
import io
import json
import re
from pathlib import Path

import docx
import jsonschema
import lxml.html
import pytest
from lxml import etree

from mockplatform.display_text import clean
from mockplatform.domains import profile as get_profile
from mockplatform.domains.inbox1177.pricing import estimate
from mockplatform.errors import MockplatformError
from mockplatform.findings import Finding, Severity
from mockplatform.journal import Journal
from mockplatform.protocol import (
    FILE_NAMES,
    ProtocolWriteError,
    load_schema,
    render_docx,
    render_html,
    render_json,
    render_junit,
    render_markdown,
    text,
    write_all,
)
from mockplatform.protocol import markdown as md
from mockplatform.protocol.console import render_summary
from mockplatform.protocol.model import (
    PROTOCOL_FORMAT_VERSION,
    SUBJECTS,
    CaseResult,
    CaseStatus,
    ContractInfo,
    CostEstimate,
    Evidence,
    Protocol,
    ProtocolHead,
    RuleResult,
    Verdict,
)
from mockplatform.rules.base import Profile
from mockplatform.verification import VerifyOptions, verify
from mockplatform.web import responses

XUNIT2_XSD = Path(__file__).parent / "data" / "xunit2.xsd"
SCRIPT = "<script>alert(1)</script>"
SYSTEM_NAME = f"Journalsystemet Åre {SCRIPT} ]]> & co"
HASH_A = "a" * 63 + "1"
HASH_B = "0123456789abcdef" * 4
EXCERPT = (
    '<add:message xmlns:add="urn:x">\n'
    f"  <core:messageText>Hej Åsa! {SCRIPT} <![CDATA[x]]> ]]> ``` fence</core:messageText>\n"
    "</add:message>"
)
HOW_TO_RUN = "Skicka IsActiveUser för en inaktiv medborgare <b>först</b>; run IsActiveUser first."

ERROR = Finding("IN-003", Severity.ERROR, f"sourceSystem missing {SCRIPT}", "sourceSystem saknas ]]> åäö",
                path="/AddMessageToPatientPortalInbox/sourceSystem", line=7, source="1177 anslutningssida",
                hint="Send the system-id from 1177 <here>")
WARNING = Finding("IN-010", Severity.WARNING, "No messageThreadId", "Inget messageThreadId", path="/x/message")


def evidence(exchange_id: int, excerpt: str = EXCERPT, vp_code: str | None = None) -> Evidence:
    return Evidence(
        exchange_id=exchange_id, time=f"2024-05-02T10:00:0{exchange_id}+02:00", correlation_id=f"corr-{exchange_id}",
        logical_address="SE2321000016-ABCD", contract="AddMessageToPatientPortalInbox 1.0",
        operation="AddMessageToPatientPortalInbox", http_status=500 if vp_code else 200, vp_code=vp_code,
        request_sha256=HASH_A, response_sha256=HASH_B, excerpt=excerpt, outcome=f"resultCode=OK {SCRIPT}",
    )


def make_protocol(verdict: Verdict = Verdict.NONCONFORMANT, excerpt: str = EXCERPT) -> Protocol:
    head = ProtocolHead(
        system_name=SYSTEM_NAME, organisation="Region Jämtland Härjedalen", system_id="SYS-1177-42",
        consumer_hsa_id="SE2321000016-CONS", environment="QA", period_from="2024-05-02T10:00:00+02:00",
        period_to="2024-05-02T11:00:00+02:00", tool_version="0.1.0",
        contracts=[ContractInfo("AddMessageToPatientPortalInbox", "1.0",
                                "urn:riv:infrastructure:eservicesupply:patientportal:AddMessageToPatientPortalInboxResponder:1",
                                HASH_B, "built-in")],
        created="2024-05-03T09:00:00+02:00", journal="/tmp/journal.sqlite", journal_sha256=HASH_A,
        rule_profile="1177-inbox", catalogue="Inkorgsfunktionen",
        contacts=["Örjan Öst <orjan@example.se>", "Support 010-123 45 67"],
        declared_volume=75_000, cost=estimate(75_000), injected={"logical_error": 1},
        identified={"sender-header": 3}, demonstration=0, journal_hash_covers="SHA-256 over the judged lines",
        selection={"since": "2024-05-02T08:00:00+00:00", "consumer": "SE2321000016-CONS", "contracts": []},
    )
    cases = [
        CaseResult("TC-01", "Kontroll av aktiv användare", "Check the citizen is an active user",
                   "Show IsActiveUser before sending.", CaseStatus.PASSED, evidence=[evidence(1, excerpt)],
                   findings=[(1, WARNING)]),
        CaseResult("TC-02", "Skicka meddelande åäö", f"Send a message {SCRIPT}", "Send a 1177 message.",
                   CaseStatus.FAILED, evidence=[evidence(2, vp_code="VP009"), evidence(3)],
                   findings=[(2, ERROR), (3, WARNING)], evidence_count=2),
        CaseResult("TC-03", "Inaktiv medborgare", "Inactive citizen", "Handle resultCode=ERROR.",
                   CaseStatus.NOT_RUN, how_to_run=HOW_TO_RUN),
    ]
    rules = [
        RuleResult("IN-003", "error", "sourceSystem is set", "sourceSystem är satt", "1177", 3, 1, [(2, ERROR)]),
        RuleResult("IN-010", "warning", "Thread id used", "Tråd-id används", "TKB", 3, 2, [(1, WARNING)]),
        RuleResult("IN-020", "error", "Retry back-off", "Omförsök med väntan", "TKB 6.2", 0, 0),
        RuleResult("IN-001", "error", "Logical address is the producer", "Logisk adress", "AB-1", 3, 0),
    ]
    return Protocol(head=head, cases=cases, rules=rules, verdict=verdict, exchanges_judged=3)


@pytest.fixture
def protocol() -> Protocol:
    return make_protocol()


# ---------------------------------------------------------------- HTML


def html_doc(protocol: Protocol) -> lxml.html.HtmlElement:
    return lxml.html.document_fromstring(render_html(protocol))


def test_html_escapes_hostile_text_so_no_script_or_active_content_exists(protocol):
    doc = html_doc(protocol)
    assert doc.xpath("//script") == []
    assert doc.xpath("//*[starts-with(local-name(), 'on')]") == []
    assert doc.xpath("//@*[starts-with(name(), 'on')]") == []
    for tag in ("iframe", "object", "embed", "img", "link", "base", "form", "b"):
        assert doc.xpath(f"//{tag}") == [], tag
    # The hostile text is there, as text.
    assert SCRIPT in doc.text_content()
    assert doc.xpath("//title")[0].text_content().count(SCRIPT) == 1
    assert "<b>först</b>" in doc.text_content()


def test_html_loads_nothing_from_elsewhere_and_forbids_it_by_policy(protocol):
    doc = html_doc(protocol)
    for element, attribute, link, _pos in doc.iterlinks():
        assert link.startswith("#"), (element.tag, attribute, link)
    assert "@import" not in render_html(protocol).decode()
    csp = doc.xpath("//meta[@http-equiv='Content-Security-Policy']/@content")
    assert csp and "default-src 'none'" in csp[0]
    assert "script-src" not in csp[0]


def test_html_has_a_table_per_section_and_every_case(protocol):
    doc = html_doc(protocol)
    for section in ("head", "summary", "cases", "rules"):
        assert doc.xpath(f"//section[@id='{section}']//table"), section
    head = doc.xpath("//section[@id='head']//table[@class='head']")[0].text_content()
    for value in ("SYS-1177-42", "SE2321000016-CONS", "QA", "1177-inbox", "Region Jämtland Härjedalen",
                  HASH_A, "Örjan Öst <orjan@example.se>", "214\u00a0999 SEK", "75\u00a0000"):
        assert value in head, value
    contracts = doc.xpath("//table[@class='contracts']")[0].text_content()
    assert "AddMessageToPatientPortalInbox" in contracts and HASH_B in contracts
    cost = doc.xpath("//table[@class='cost']")[0].text_content()
    for value in ("49\u00a0999", "25\u00a0001", "3,10 SEK", "2,40 SEK", "214\u00a0999 SEK", "25\u00a0000 SEK"):
        assert value in cost, value
    articles = doc.xpath("//article")
    assert [a.get("data-case-id") for a in articles] == ["TC-01", "TC-02", "TC-03"]
    for article in articles:
        assert article.xpath(".//table[@class='evidence']") or article.get("data-case-id") == "TC-03"
    assert doc.xpath("//article[@data-case-id='TC-02']//table[@class='findings']")


def test_html_shows_each_case_with_exactly_the_status_the_model_gives(protocol):
    doc = html_doc(protocol)
    rows = doc.xpath("//table[@class='cases']/tbody/tr")
    assert len(rows) == len(protocol.cases)
    for row, case in zip(rows, protocol.cases, strict=True):
        assert row.xpath("./td[1]")[0].text_content() == case.id
        badges = row.xpath(".//span[contains(@class, 'status')]")
        assert [b.get("class") for b in badges] == [f"status st-{case.status.value}"]
    for article, case in zip(doc.xpath("//article"), protocol.cases, strict=True):
        assert f"case-{case.status.value}" in article.get("class")
        assert article.get("data-status") == case.status.value
    # Passed badges appear only for the passed case (cases table + its section) and in the count legend.
    assert len(doc.xpath("//span[@class='status st-passed']")) == 3
    assert len(doc.xpath("//article//span[@class='status st-passed']")) == 1


def test_html_not_run_case_looks_different_and_says_how_to_run(protocol):
    doc = html_doc(protocol)
    passed = doc.xpath("//article[@data-case-id='TC-01']")[0]
    not_run = doc.xpath("//article[@data-case-id='TC-03']")[0]
    assert passed.get("class") != not_run.get("class")
    text = " ".join(not_run.text_content().split())
    assert "Ej genomförd" in text and "Not run" in text
    assert "Godkänd" not in text and "Passed" not in text
    assert HOW_TO_RUN in not_run.xpath(".//div[@class='howto']")[0].text_content()
    assert not passed.xpath(".//div[@class='howto']")
    css = doc.xpath("//style")[0].text
    assert ".st-not_run" in css and ".case-not_run" in css


def test_html_summary_counts_and_verdict_come_from_the_model(protocol):
    doc = html_doc(protocol)
    for status, count in protocol.counts.items():
        cell = doc.xpath(f"//section[@id='summary']//tr[@class='count-{status}']/td[2]")[0]
        assert cell.text_content() == str(count)
    verdict = doc.xpath("//p[contains(@class, 'verdict')]")[0]
    assert "v-nonconformant" in verdict.get("class")
    assert "Uppfyller inte kraven" in verdict.text_content() and "Not conformant" in verdict.text_content()
    assert not doc.xpath("//*[@class='problem']")


def test_html_evidence_shows_full_hashes_and_the_excerpt_verbatim(protocol):
    doc = html_doc(protocol)
    article = doc.xpath("//article[@data-case-id='TC-02']")[0]
    hashes = [c.text_content() for c in article.xpath(".//code[@class='hash']")]
    assert hashes == [HASH_A, HASH_B, HASH_A, HASH_B]
    assert [p.text_content() for p in article.xpath(".//pre")] == [EXCERPT, EXCERPT]
    evidence_text = article.xpath(".//table[@class='evidence']")[0].text_content()
    assert "500 / VP009" in evidence_text and "corr-2" in evidence_text
    findings = article.xpath(".//table[@class='findings']/tbody/tr")
    assert len(findings) == 2
    first = findings[0].text_content()
    for value in ("IN-003", "Fel / Error", ERROR.message_sv, ERROR.message_en, ERROR.path, "7", ERROR.hint):
        assert value in first, value


def test_html_rules_table_marks_a_rule_that_checked_nothing(protocol):
    doc = html_doc(protocol)
    rows = doc.xpath("//table[@class='rules']/tbody/tr")
    assert [r.xpath("./td[1]")[0].text_content() for r in rows] == ["IN-003", "IN-010", "IN-020", "IN-001"]
    assert [r.get("class") for r in rows] == ["violated", "violated", "not-checked", "clean"]
    assert "ej kontrollerad / not checked" in rows[2].text_content()
    assert "#2: IN-003" in rows[0].text_content()


def test_html_says_so_when_the_verdict_contradicts_the_cases():
    doc = html_doc(make_protocol(verdict=Verdict.CONFORMANT))
    problems = doc.xpath("//*[@class='problem']")
    assert problems and "not every case passed" in problems[0].text_content()


def test_markdown_and_docx_also_say_so_when_the_verdict_contradicts_the_cases():
    protocol = make_protocol(verdict=Verdict.CONFORMANT)
    assert "The verdict says conformant, but not every case passed." in render_markdown(protocol).decode()
    assert "not every case passed" in docx_text(docx.Document(io.BytesIO(render_docx(protocol))))
    assert "not every case passed" not in render_markdown(make_protocol()).decode()


def test_html_prints_on_a4_with_bilingual_headings(protocol):
    html = render_html(protocol).decode()
    assert "size: A4" in html
    doc = lxml.html.document_fromstring(html)
    assert doc.get("lang") == "sv"
    h1 = doc.xpath("//h1")[0]
    assert h1.text_content() == "Testprotokoll Test protocol"
    assert h1.xpath("./span[@lang='en']")[0].text == "Test protocol"


def test_control_characters_in_an_excerpt_are_shown_not_fatal():
    protocol = make_protocol(excerpt="a\x00b\x1bc\udcff")
    doc = html_doc(protocol)
    assert doc.xpath("//pre")[0].text_content() == "a[U+0000]b[U+001B]c[U+DCFF]"
    assert "a[U+0000]b" in docx_text(docx.Document(io.BytesIO(render_docx(protocol))))
    assert b"a[U+0000]b[U+001B]c" in render_junit(protocol)
    assert "a[U+0000]b" in render_markdown(protocol).decode()
    assert json.loads(render_json(protocol))["cases"][0]["evidence"][0]["excerpt"] == "a\x00b\x1bc\udcff"


def test_one_clean_for_pages_and_protocols_shows_each_forbidden_character_by_its_code_point():
    """C0 controls but tab, newline and return; DEL; the noncharacters U+FFFE, U+FFFF; lone surrogates."""
    allowed = "\t\n\r åäö € \x80 \ufffd 😀"
    assert clean("\x00\x08\x0b\x0c\x0e\x1b\x1f\x7f\ufffe\uffff\ud800\udfff" + allowed) == (
        "[U+0000][U+0008][U+000B][U+000C][U+000E][U+001B][U+001F][U+007F][U+FFFE][U+FFFF][U+D800][U+DFFF]" + allowed)
    assert clean(None) == "" and clean(42) == "42"
    assert responses.environment().from_string("{{ v }}").render(v="a\x7fb\x1b") == "a[U+007F]b[U+001B]"


def test_every_protocol_format_shows_a_delete_character_as_the_pages_do():
    """DEL is legal XML, but invisible: the protocol showed it raw, the pages as [U+007F]."""
    protocol = make_protocol(excerpt="a\x7fb")
    assert html_doc(protocol).xpath("//pre")[0].text_content() == "a[U+007F]b"
    assert "a[U+007F]b" in docx_text(docx.Document(io.BytesIO(render_docx(protocol))))
    assert b"a[U+007F]b" in render_junit(protocol)
    assert "a[U+007F]b" in render_markdown(protocol).decode()


# ---------------------------------------------------------------- docx


def docx_text(document) -> str:
    parts = [p.text for p in document.paragraphs]
    for table in document.tables:
        parts += [cell.text for row in table.rows for cell in row.cells]
    return "\n".join(parts)


def test_docx_has_head_values_in_a_table_and_every_case(protocol):
    document = docx.Document(io.BytesIO(render_docx(protocol)))
    head = {row.cells[0].text: row.cells[1].text for row in document.tables[0].rows}
    assert head["Systemnamn / System name"] == SYSTEM_NAME
    assert head["System-id (från 1177) / System id (issued by 1177)"] == "SYS-1177-42"
    assert head["Journalens SHA-256 / Journal SHA-256"] == HASH_A
    assert head["Kontaktpersoner / Contacts"] == "\n".join(protocol.head.contacts)
    assert "214\u00a0999 SEK" in head["Beräknad årskostnad / Estimated yearly cost"]
    text = docx_text(document)
    for case in protocol.cases:
        assert case.id in text
    headings = [p.text for p in document.paragraphs if p.style.name.startswith("Heading")]
    assert any(h.startswith("TC-02 Skicka meddelande åäö") for h in headings)


def test_docx_tables_have_repeating_header_rows(protocol):
    document = docx.Document(io.BytesIO(render_docx(protocol)))
    tagged = [t for t in document.tables if t.rows[0]._tr.xpath("./w:trPr/w:tblHeader")]
    assert len(tagged) >= 5  # head, contracts, cost, counts, cases, evidence, findings, rules
    cases_table = next(t for t in document.tables if t.rows[0].cells[0].text == "Id")
    statuses = [row.cells[2].text for row in cases_table.rows[1:]]
    assert statuses == ["✔ Godkänd / Passed", "✘ Underkänd / Failed", "– Ej genomförd / Not run"]


def test_docx_shows_the_excerpt_in_a_monospace_font_and_the_how_to_run_advice(protocol):
    document = docx.Document(io.BytesIO(render_docx(protocol)))
    excerpt_runs = [r for p in document.paragraphs for r in p.runs if "messageText" in r.text]
    assert excerpt_runs and all(r.font.name == "Courier New" for r in excerpt_runs)
    assert excerpt_runs[0].text == EXCERPT
    assert HOW_TO_RUN in docx_text(document)
    contracts = next(t for t in document.tables if t.rows[0].cells[0].text == "Kontrakt\nContract")
    assert contracts.rows[1].cells[4].text == HASH_B
    assert contracts.rows[1].cells[4].paragraphs[0].runs[0].font.name == "Courier New"
    findings = [t for t in document.tables if t.rows[0].cells[0].text == "Anrop\nExchange"
                and t.rows[0].cells[1].text == "Regel\nRule"][1]  # TC-02's
    assert (findings.rows[1].cells[0].text, findings.rows[1].cells[1].text) == ("2", "IN-003")  # its exchange
    assert ERROR.message_sv in findings.rows[1].cells[3].text


def test_docx_is_a4_and_dated_by_the_protocol(protocol):
    document = docx.Document(io.BytesIO(render_docx(protocol)))
    section = document.sections[0]
    assert (round(section.page_width.mm), round(section.page_height.mm)) == (210, 297)
    assert document.core_properties.created.isoformat().startswith("2024-05-03T07:00:00")  # 09:00+02:00 in UTC


# ---------------------------------------------------------------- JSON


def test_json_validates_against_the_shipped_schema(protocol):
    schema = load_schema()
    jsonschema.Draft202012Validator.check_schema(schema)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["properties"]["format_version"]["const"] == PROTOCOL_FORMAT_VERSION
    jsonschema.Draft202012Validator(schema).validate(json.loads(render_json(protocol)))


def test_json_schema_is_not_vacuous(protocol):
    validator = jsonschema.Draft202012Validator(load_schema())
    data = json.loads(render_json(protocol))
    data["cases"][0]["status"] = "ok"
    data["head"]["unknown"] = 1
    del data["rules"][0]["examples"][0]["finding"]["hint"]
    messages = {e.message for e in validator.iter_errors(data)}
    assert len(messages) == 3, messages


def test_json_round_trips_every_field_of_the_model(protocol):
    data = json.loads(render_json(protocol))
    assert data["format_version"] == PROTOCOL_FORMAT_VERSION
    assert data["verdict"] == "nonconformant" and data["exchanges_judged"] == 3
    assert data["counts"] == {"passed": 1, "failed": 1, "not_run": 1}
    head = data["head"]
    assert head["system_name"] == SYSTEM_NAME and head["contacts"] == protocol.head.contacts
    assert head["contracts"][0] == dataclasses.asdict(protocol.head.contracts[0])
    assert head["cost"]["tiers"][1] == {"from": 50_000, "to": 499_999, "sek_each": 2.4, "messages": 25_001,
                                        "sek": pytest.approx(60_002.4)}
    assert head["cost"]["per_year_sek"] == pytest.approx(214_999.3)
    case = data["cases"][1]
    assert case["status"] == "failed"
    assert case["evidence"][0] == dataclasses.asdict(protocol.cases[1].evidence[0])
    assert case["findings"][0] == {"exchange_id": 2, **ERROR.to_json()}  # the exchange it was found on (1.4)
    assert case["evidence_count"] == 2
    assert data["cases"][2]["how_to_run"] == HOW_TO_RUN
    assert data["rules"][0]["examples"] == [{"exchange_id": 2, "finding": ERROR.to_json()}]
    # Every model field is written: a field added to the model must reach the JSON (and the schema).
    for cls, obj in [(Protocol, data), (ProtocolHead, head), (ContractInfo, head["contracts"][0]),
                     (CostEstimate, head["cost"]), (CaseResult, case), (Evidence, case["evidence"][0]),
                     (RuleResult, data["rules"][0]), (Finding, case["findings"][0])]:
        assert {f.name for f in dataclasses.fields(cls)} <= set(obj), cls.__name__


def test_json_keeps_undecodable_request_bytes_loadable():
    data = json.loads(render_json(make_protocol(excerpt="x\udc80y")))
    assert data["cases"][0]["evidence"][0]["excerpt"] == "x\udc80y"


# ---------------------------------------------------------------- JUnit


def junit_root(protocol: Protocol) -> etree._Element:
    data = render_junit(protocol, hostname="ci-runner")
    schema = etree.XMLSchema(etree.parse(str(XUNIT2_XSD)))
    root = etree.fromstring(data)
    schema.assertValid(root)
    return root


def test_junit_validates_against_xunit2_with_counts_matching_the_cases(protocol):
    root = junit_root(protocol)
    cases_suite, rules_suite = root.findall("testsuite")
    assert cases_suite.get("name") == "mockplatform.protocol.1177-inbox"
    assert {k: cases_suite.get(k) for k in ("tests", "failures", "errors", "skipped")} == {
        "tests": "3", "failures": "1", "errors": "0", "skipped": "1"}
    assert cases_suite.get("hostname") == "ci-runner"
    assert cases_suite.get("timestamp") == protocol.head.created
    testcases = cases_suite.findall("testcase")
    assert [tc.get("name") for tc in testcases] == [
        "TC-01 Check the citizen is an active user", f"TC-02 Send a message {SCRIPT}", "TC-03 Inactive citizen"]
    assert {tc.get("classname") for tc in testcases} == {"mockplatform.protocol.1177-inbox"}
    assert [[child.tag for child in tc] for tc in testcases] == [
        ["system-out"], ["failure", "system-out"], ["skipped", "system-out"]]
    assert root.xpath("//testcase/properties") == []
    props = {p.get("name"): p.get("value") for p in cases_suite.findall("properties/property")}
    assert props["verdict"] == "nonconformant" and props["system_id"] == "SYS-1177-42"


def test_junit_failure_carries_the_findings_and_skipped_the_advice(protocol):
    root = junit_root(protocol)
    failure = root.find("testsuite/testcase/failure")
    assert "IN-003" in failure.get("message") and SCRIPT in failure.get("message")
    assert "IN-010" not in failure.get("message")  # the one-line message names the errors, not the warnings
    assert ERROR.message_sv in failure.text and ERROR.hint in failure.text and "IN-010" in failure.text
    skipped = root.find("testsuite/testcase/skipped")
    assert skipped.text == HOW_TO_RUN and HOW_TO_RUN in skipped.get("message")
    out = root.find("testsuite/testcase/system-out").text
    assert EXCERPT in out and HASH_A in out and "IN-010" in out  # a passed case still shows its warning


def test_junit_rules_suite_fails_error_rules_only_and_skips_unchecked(protocol):
    rules_suite = junit_root(protocol).findall("testsuite")[1]
    assert rules_suite.get("name") == "mockplatform.protocol.1177-inbox.rules"
    outcome = {tc.get("name").split()[0]: [c.tag for c in tc if c.tag != "system-out"]
               for tc in rules_suite.findall("testcase")}
    assert outcome == {"IN-003": ["failure"], "IN-010": [], "IN-020": ["skipped"], "IN-001": []}
    assert (rules_suite.get("tests"), rules_suite.get("failures"), rules_suite.get("skipped")) == ("4", "1", "1")


def test_junit_totals_sum_the_suites(protocol):
    root = junit_root(protocol)
    assert (root.get("tests"), root.get("failures"), root.get("errors")) == ("7", "2", "0")


def test_xunit2_schema_rejects_wrong_shapes():
    schema = etree.XMLSchema(etree.parse(str(XUNIT2_XSD)))
    ok = b'<testsuites><testsuite name="s" tests="1" failures="0" errors="0"><testcase classname="c" name="n"/>' \
         b'</testsuite></testsuites>'
    assert schema.validate(etree.fromstring(ok))
    for bad in (
        ok.replace(b'<testcase classname="c" name="n"/>',
                   b'<testcase classname="c" name="n"><properties/></testcase>'),
        ok.replace(b' name="n"', b""),
        ok.replace(b'tests="1"', b'tests="one"'),
        ok.replace(b"<testcase", b"<testcase><failure/></testcase><testcase"),
    ):
        assert not schema.validate(etree.fromstring(bad)), bad


# ---------------------------------------------------------------- Markdown


def test_markdown_escapes_hostile_text_and_fences_excerpts_safely(protocol):
    md = render_markdown(protocol).decode()
    outside_code = []
    in_fence = ""
    for line in md.splitlines():
        if in_fence:
            if line == in_fence:
                in_fence = ""
            continue
        if line.startswith("```"):
            in_fence = line[: len(line) - len(line.lstrip("`"))]
            continue
        outside_code.append(line)
    prose = "\n".join(outside_code)
    assert re.findall(r"(?<!\\)<(?!br>)", prose) == []  # every < is escaped, except our own <br>
    assert "\\<script\\>" in prose
    assert "\\]\\]\\>" in prose and "Åre" in prose
    assert prose.count("<br>") > 0 and "<b>" not in prose
    # The excerpt holds ``` so its fence must be longer, and the excerpt appears verbatim inside it.
    assert f"````xml\n{EXCERPT}\n````" in md


def test_markdown_lists_every_case_with_its_status(protocol):
    md = render_markdown(protocol).decode()
    for heading in ("## Uppgifter om testet", "## Sammanfattning", "## Testfall", "## Regler"):
        assert heading in md
    rows = [line for line in md.splitlines() if line.startswith("| TC-")]
    assert len(rows) == 3
    assert "Godkänd / Passed" in rows[0] and "Underkänd / Failed" in rows[1] and "Ej genomförd / Not run" in rows[2]
    assert "### TC-03" in md and "Så genomförs fallet" in md
    assert "214\u00a0999 SEK" in md and HASH_A in md


def test_markdown_table_cells_cannot_be_split_by_a_pipe():
    protocol = make_protocol()
    protocol.head.system_name = "A | B"
    protocol.cases[1].findings[0] = (2, dataclasses.replace(ERROR, path="/a|b"))
    md = render_markdown(protocol).decode()
    row = next(line for line in md.splitlines() if "System name" in line)
    assert len(re.findall(r"(?<!\\)\|", row)) == 3 and "A \\| B" in row
    row = next(line for line in md.splitlines() if line.startswith("| 2 | `IN-003`") and "/a" in line)
    assert len(re.findall(r"(?<!\\)\|", row)) == 8 and "`/a\\|b`" in row


# ---------------------------------------------------------------- the head rows, built once


def head_shown(protocol: Protocol) -> dict[str, list[tuple[str, str]]]:
    """The head table of each format as (label, value) pairs, read back from the rendered file."""
    shown = {}
    table = html_doc(protocol).xpath("//table[@class='head']")[0]
    shown["html"] = [(th.text_content(), td.text_content().strip()) for th, td in
                     ((tr.find("th"), tr.find("td")) for tr in table.xpath("./tbody/tr"))]
    document = docx.Document(io.BytesIO(render_docx(protocol)))
    shown["docx"] = [(row.cells[0].text, row.cells[1].text) for row in document.tables[0].rows[1:]]
    lines = render_markdown(protocol).decode().split("\n")
    start = lines.index(f"| {md._label(text.FIELD)} | {md._label(text.VALUE)} |") + 2
    end = lines.index("", start)
    shown["md"] = [tuple(line.removeprefix("| ").removesuffix(" |").split(" | ", 1)) for line in lines[start:end]]
    properties = junit_root(protocol).findall("testsuite")[0].findall("properties/property")
    shown["junit"] = [(p.get("name"), p.get("value")) for p in properties][1:]  # after the verdict
    return shown


def expected_head(rows: list[text.HeadRow]) -> dict[str, list[tuple[str, str]]]:
    """What each format shows of each row: the same label and value, in the format's own notation."""
    return {
        "html": [(r.label.sv + ("" if r.label.sv == r.label.en else r.label.en), "".join(r.lines) or r.text)
                 for r in rows],
        "docx": [(str(r.label), r.text) for r in rows],
        "md": [(md._label(r.label), md._value(r)) for r in rows],
        "junit": [(r.key, "\n".join(r.lines)) for r in rows],
    }


def test_every_format_shows_every_head_row_in_order(protocol):
    assert head_shown(protocol) == expected_head(text.head_rows(protocol))


def test_a_head_row_added_in_one_place_shows_in_every_format(protocol, monkeypatch):
    """The renderers have no list of head rows of their own: a row added to ``head_rows`` is in all of them,
    with its monospace and missing marks."""
    rows = text.head_rows(protocol)
    extra = [text.HeadRow("test_only", text.Label("Provrad", "Test row"), ("värde 1", "värde 2"), mono=True),
             text.HeadRow("test_missing", text.Label("Tom rad", "Empty row"), ())]
    monkeypatch.setattr(text, "head_rows", lambda p: rows + extra)
    assert head_shown(protocol) == expected_head(rows + extra)
    cells = html_doc(protocol).xpath("//table[@class='head']/tbody/tr/td")
    assert cells[-2].get("class") == "mono" and cells[-1].xpath("./span[@class='missing']")
    assert "| Provrad / *Test row* | `värde 1`<br>`värde 2` |" in render_markdown(protocol).decode()
    document = docx.Document(io.BytesIO(render_docx(protocol)))
    assert document.tables[0].rows[-2].cells[1].paragraphs[0].runs[0].font.name == "Courier New"


def test_the_head_rows_hold_every_field_of_the_model_head():
    """A field added to ProtocolHead must be shown: here, or in a table of its own (the contracts)."""
    protocol = make_protocol()
    shown = "\n".join(row.text for row in text.head_rows(protocol))
    for f in dataclasses.fields(ProtocolHead):
        value = getattr(protocol.head, f.name)
        if f.name == "contracts":  # the contracts table
            continue
        if f.name == "subject":  # shown by the wording: the id's and the "how identified" rows' labels
            assert [r.label for r in text.head_rows(protocol) if r.key in ("consumer_hsa_id", "identified")] == [
                text.WORDINGS[value].id_label, text.WORDINGS[value].identified]
            continue
        if f.name == "cost":
            parts = [text.sek(value.per_year_sek), text.sek(value.connection_fee_sek)]
        elif f.name == "declared_volume":
            parts = [text.number(value)]
        elif f.name == "identified":  # shown by what each way means
            parts = [str(text.IDENTIFIED_BY[k]) for k in value] + [str(n) for n in value.values()]
        elif f.name in ("period_from", "period_to", "created"):  # times: in Swedish local time
            parts = [text.when(value)]
        elif isinstance(value, dict):  # counts by kind, and the selection: every key and value shows
            parts = [clean(v) for k, given in value.items() if given not in (None, "", [])
                     for v in (k, text.when(given) if k in ("since", "until") else given)]
        elif f.name == "demonstration":
            parts = [str(value)]
        else:
            parts = [clean(v) for v in value] if isinstance(value, list) else [clean(value)]
        assert all(part and part in shown for part in parts), f.name
    assert [row.key for row in text.head_rows(protocol)][-2:] == ["cost", "format_version"]


def test_a_head_left_empty_is_marked_missing_in_every_format():
    protocol = dataclasses.replace(make_protocol(), head=ProtocolHead())
    rows = text.head_rows(protocol)
    assert [r.key for r in rows if not r.missing] == ["exchanges_judged", "format_version"]
    shown = head_shown(protocol)
    assert shown == expected_head(rows)
    mark = text.or_missing(None)
    for fmt in ("html", "docx"):
        assert [value == mark for _, value in shown[fmt]] == [r.missing for r in rows]
    assert [value for _, value in shown["junit"] if not value] == [""] * (len(rows) - 2)


def test_the_console_summary_takes_its_head_values_from_the_head_rows(protocol):
    summary = render_summary(protocol)
    head = {row.key: row for row in text.head_rows(protocol)}
    assert f"exchanges judged: {head['exchanges_judged'].text}; test period: {head['period'].text}" in summary


# ---------------------------------------------------------------- the system tested (subject)


ENTITY_ID = "https://tjanst.example.se/saml/metadata"


def subject_protocol(subject: str) -> Protocol:
    """The sample protocol for a system of another role: a booking system by its HSA id, a service provider by its
    entityID and a SAML Issuer without a signature (so its identity too was declared, not proven)."""
    protocol = make_protocol()
    who = ENTITY_ID if subject == "service-provider" else protocol.head.consumer_hsa_id
    how = "saml-issuer" if subject == "service-provider" else "sender-header"
    protocol.head = dataclasses.replace(protocol.head, subject=subject, consumer_hsa_id=who, identified={how: 3},
                                        rule_profile={"booking-system": "web-booking"}.get(subject, "uthopp"))
    for case in protocol.cases:
        case.evidence = [dataclasses.replace(e, consumer=who, identified_by=how) for e in case.evidence]
    return protocol


def shown_for_people(protocol: Protocol) -> dict[str, str]:
    """The text of each format for people (and JUnit's, for CI pages), markup taken away."""
    return {"md": render_markdown(protocol).decode(),
            "html": html_doc(protocol).text_content(),
            "docx": docx_text(docx.Document(io.BytesIO(render_docx(protocol)))),
            "junit": "".join(junit_root(protocol).itertext())}


def wording_texts(subject: str) -> list[str]:
    words = text.WORDINGS[subject]
    declared = text.declared_not_proven(dataclasses.replace(make_protocol(), head=ProtocolHead(subject=subject)))
    return [*(part for label in (words.subtitle, words.id_label, words.identified, words.evidence, declared)
              for part in (label.sv, label.en))]


def test_every_subject_has_its_wording_and_the_schema_names_every_one():
    assert tuple(text.WORDINGS) == SUBJECTS
    assert load_schema()["$defs"]["head"]["properties"]["subject"]["enum"] == list(SUBJECTS)
    assert len({w.subtitle for w in text.WORDINGS.values()}) == len(SUBJECTS)
    with pytest.raises(ValueError, match="'producer' is none of consumer"):
        text.subtitle(dataclasses.replace(make_protocol(), head=ProtocolHead(subject="producer")))


@pytest.mark.parametrize("subject", ["booking-system", "service-provider"])
def test_a_booking_system_and_a_service_provider_are_named_as_such_in_every_format(subject):
    protocol = subject_protocol(subject)
    shown = shown_for_people(protocol)
    words = text.WORDINGS[subject]
    for fmt in ("md", "html", "docx"):
        for part in wording_texts(subject):
            assert part in shown[fmt], (fmt, part)
        for part in wording_texts("consumer"):  # nothing of the consumer's wording is left
            assert part not in shown[fmt], (fmt, part)
    assert f"{words.evidence.en} {protocol.head.consumer_hsa_id}" in shown["junit"]
    assert "Consumer" not in shown["junit"]
    md_text = shown["md"]
    assert f"{words.subtitle.sv} *{words.subtitle.en}*" in md_text
    assert f"| {md._label(words.id_label)} | `{protocol.head.consumer_hsa_id}` |" in md_text
    assert f"- {md._label(words.evidence)}: `{protocol.head.consumer_hsa_id} (" in md_text
    html = html_doc(protocol)
    assert html.xpath("string(//p[@class='subtitle'])") == f"{words.subtitle.sv} {words.subtitle.en}"
    document = docx.Document(io.BytesIO(render_docx(protocol)))
    head = {row.cells[0].text: row.cells[1].text for row in document.tables[0].rows}
    assert head[str(words.id_label)] == protocol.head.consumer_hsa_id
    assert document.paragraphs[1].text == str(words.subtitle) and document.core_properties.subject == str(
        words.subtitle)
    data = json.loads(render_json(protocol))
    jsonschema.Draft202012Validator(load_schema()).validate(data)
    assert data["head"]["subject"] == subject and data["format_version"] == "1.4"
    assert data["head"]["consumer_hsa_id"] == protocol.head.consumer_hsa_id  # the key keeps its name
    invalid = json.loads(json.dumps(data))
    invalid["head"]["subject"] = "producer"
    assert not jsonschema.Draft202012Validator(load_schema()).is_valid(invalid)
    del invalid["head"]["subject"]
    assert not jsonschema.Draft202012Validator(load_schema()).is_valid(invalid)  # required from 1.4 on


def test_the_inbox_protocol_still_names_a_consumer(protocol):
    assert protocol.head.subject == "consumer"
    shown = shown_for_people(protocol)
    md_text = shown["md"]
    assert ("Kontraktstest av konsumentsystem mot tjänsteplattformen *Contract test of a consumer system against "
            "the service platform*") in md_text
    assert "| Konsumentens HSA-id / *Consumer HSA id* | `SE2321000016-CONS` |" in md_text
    assert "| Hur konsumenten identifierades / *How the consumer was identified* |" in md_text
    assert "- Konsument / *Consumer*: `—`" in md_text
    declared = ("Inget anrop identifierades med klientcertifikat eller signatur: konsumentens identitet är uppgiven, "
                "inte bevisad.", "No exchange was identified by client certificate or signature: the consumer's "
                "identity was declared, not proven.")
    for fmt in ("md", "html", "docx"):
        for part in (*wording_texts("consumer"), *declared):
            assert part in shown[fmt], (fmt, part)
    data = json.loads(render_json(protocol))
    assert data["head"]["subject"] == "consumer"


@pytest.mark.parametrize(("profile", "subject"), [("1177-inbox", "consumer"), ("web-booking", "booking-system"),
                                                  ("uthopp", "service-provider")])
def test_verify_takes_the_subject_from_the_rule_profile(profile, subject, tmp_path):
    assert get_profile(profile).subject == subject
    Journal(tmp_path / "journal.sqlite").close()
    protocol = verify(VerifyOptions(journal=tmp_path / "journal.sqlite", profile=profile))
    assert protocol.head.subject == subject
    assert text.subtitle(protocol) == text.WORDINGS[subject].subtitle


def test_a_profile_names_a_known_subject():
    assert Profile("x", "X", []).subject == "consumer"
    with pytest.raises(MockplatformError, match="subject 'producer' is none of"):
        Profile("x", "X", [], subject="producer")


# ---------------------------------------------------------------- write_all


def test_write_all_writes_every_format(protocol, tmp_path):
    out = tmp_path / "protocol-out"
    paths = write_all(protocol, out)
    assert {k: p.name for k, p in paths.items()} == FILE_NAMES
    assert sorted(p.name for p in out.iterdir()) == sorted(FILE_NAMES.values())  # no temporary files left
    assert json.loads(paths["json"].read_bytes())["verdict"] == "nonconformant"
    assert paths["docx"].read_bytes()[:2] == b"PK"


def test_write_all_to_an_unwritable_directory_names_the_path(protocol, tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    with pytest.raises(ProtocolWriteError) as info:
        write_all(protocol, blocker / "out")
    assert isinstance(info.value, OSError)
    assert str(blocker / "out") in str(info.value)
    assert info.value.filename == str(blocker / "out")


def test_write_all_names_the_file_that_cannot_be_written(protocol, tmp_path):
    (tmp_path / "protocol.md").mkdir()  # a directory where a file must go
    with pytest.raises(OSError, match="protocol.md") as info:
        write_all(protocol, tmp_path)
    assert isinstance(info.value, ProtocolWriteError)
    assert not list(tmp_path.glob(".*.tmp"))

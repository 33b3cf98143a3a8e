"""Contracts the platform does not ship, from two packages the tests make out of repository files
(``tests/loaded_packages.py``): a stand-in for the 1177 Inkorg 2.0 package and a made-up complaints-like service
with a domain of its own (tests/data/complaintsdomain). Each loads as a folder and as a zip, routes through the
TAK to the generic producer, is validated, answered from its schema and from templates, takes injected faults
(a logical ERROR where its answer has a result code), and is judged by ``verify``: by the rivta-generic profile,
by 1177-inbox-2 for the inbox 2.0 stand-in, and by the complaints domain's own profile."""

from __future__ import annotations

import json
import sys
from datetime import datetime
from pathlib import Path

import pytest
from lxml import etree

from mockplatform import Application, Config, Request, Settings, domains
from mockplatform.cli import main
from mockplatform.domains.anycontract.profile import profile as generic_profile
from mockplatform.domains.inbox1177.profile import owns_contract as inbox_owns
from mockplatform.domains.inbox1177.profile2 import owns_contract as inbox2_owns
from mockplatform.envelope import read_answer
from mockplatform.errors import ConfigError
from mockplatform.http_routes import handle
from mockplatform.producers.faults import FaultKind, InjectedFault
from mockplatform.protocol.model import CaseStatus
from mockplatform.verification import VerifyOptions, verify
from mockplatform.web import responses

from .loaded_packages import (
    ACTIVE_2,
    ADD_2,
    COMPLAINT_STATUS,
    COMPLAINTS_CORE,
    COMPLAINTS_DOMAIN,
    CORE,
    INBOX2_ADDRESS,
    PATIENT_BOARD,
    REGISTER,
    STATUS_2,
    add_message_2,
    as_zip,
    complaint_status,
    is_active_2,
    make_complaints,
    make_inbox2,
    make_tak,
    register_complaint,
    thread_status_2,
)
from .soap import add_message, envelope

FORMS = ("folder", "zip")
GENERIC_CASES = ["GEN-AddMessageToPatientPortalInbox-2", "GEN-GetComplaintStatus-1", "GEN-GetMessageThreadStatus-2",
                 "GEN-IsActiveUser-2", "GEN-RegisterComplaint-1"]


@pytest.fixture(scope="module")
def made(tmp_path_factory) -> dict[str, dict[str, Path]]:
    """Both packages, each as a folder and as a zip."""
    base = tmp_path_factory.mktemp("packages")
    inbox2 = make_inbox2(base / "patientportal_2")
    complaints = make_complaints(base / "complaints_1")
    return {"folder": {"inbox2": inbox2, "complaints": complaints},
            "zip": {"inbox2": as_zip(inbox2, base / "ServiceContracts_patientportal_2.0.zip"),
                    "complaints": as_zip(complaints, base / "ServiceContracts_ehr_complaints_1.0.zip")}}


@pytest.fixture
def app_with(tmp_path, made):
    """An application with both packages in the form asked, the given templates, closed after."""
    apps: list[Application] = []

    def build(form: str = "folder", templates: dict[str, str] | None = None, **settings) -> Application:
        folder = None
        if templates is not None:
            folder = tmp_path / f"templates{len(apps)}"
            folder.mkdir()
            for name, text in templates.items():
                (folder / name).write_text(text, encoding="utf-8")
        apps.append(Application(Config(journal=tmp_path / f"journal{len(apps)}.sqlite", tak=make_tak(tmp_path),
                                       contracts=list(made[form].values()), templates=folder,
                                       settings=Settings(admin="on", **settings))))
        return apps[-1]

    yield build
    for app in apps:
        app.close()


def call(app: Application, body: bytes) -> tuple[int, bytes]:
    response = handle(app, Request("POST", "/vp", [("Content-Type", "text/xml; charset=UTF-8")], body,
                                   client="127.0.0.1:1"))
    return response.status, response.body


def payload_of(body: bytes) -> etree._Element:
    answer = read_answer(body)
    assert answer is not None and answer.payload is not None and not answer.is_fault, body
    return answer.payload


def admin_fault(app: Application, fault: dict) -> tuple[int, dict]:
    response = handle(app, Request("POST", "/admin/faults", [("Content-Type", "application/json")],
                                   json.dumps(fault).encode(), client="127.0.0.1:1"))
    return response.status, json.loads(response.body)


# -- loading, routing, validating, answering ---------------------------------------------------------------------


@pytest.mark.parametrize("form", FORMS)
def test_each_package_loads_routes_validates_and_answers_from_its_schema(form, app_with):
    app = app_with(form)
    names = {(i.name, i.version) for i in app.contracts.interactions if i.responder_namespace.startswith(
        ("urn:riv:ehr:complaints", "urn:riv:infrastructure:eservicesupply:patientportal")) and i.version != "1.0"
        or "complaints" in i.responder_namespace}
    assert names == {("AddMessageToPatientPortalInbox", "2.0"), ("IsActiveUser", "2.0"),
                     ("GetMessageThreadStatus", "2.0"), ("RegisterComplaint", "1.0"), ("GetComplaintStatus", "1.0")}
    answers = {}
    for body in (add_message_2(), is_active_2(), thread_status_2(), register_complaint(), complaint_status()):
        status, answer = call(app, body)
        assert status == 200, answer
        element = payload_of(answer)
        namespace = etree.QName(element).namespace
        assert app.contracts.get(namespace).validator.findings(element) == []  # the smallest valid answer
        answers[etree.QName(element).localname] = element
    assert answers["AddMessageToPatientPortalInboxResponse"].findtext(f"{{{ADD_2}}}resultCode") == "OK"
    assert answers["IsActiveUserResponse"].findtext(f"{{{ACTIVE_2}}}status") == "false"
    assert answers["RegisterComplaintResponse"].findtext(f"{{{REGISTER}}}result/{{{COMPLAINTS_CORE}}}resultCode") \
        == "OK"
    assert answers["GetComplaintStatusResponse"].findtext(f"{{{COMPLAINT_STATUS}}}status") == "RECEIVED"
    routed = {e.contract: (e.logical_address, e.producer_address) for e in app.journal.exchanges()}
    assert routed[REGISTER] == (PATIENT_BOARD, "builtin:generic")
    assert routed[ADD_2] == (INBOX2_ADDRESS, "builtin:generic")
    # the WSDLs are served where the real platform serves them
    wsdl = handle(app, Request("GET", "/vp/ehr/complaints/RegisterComplaint/1/rivtabp21", [], b"",
                               query={"wsdl": ""}, client="127.0.0.1:1"))
    assert wsdl.status == 200 and b"RegisterComplaintResponderService" in wsdl.body


def test_a_schema_invalid_request_gets_the_fault_the_inbox_gives(app_with):
    """The generic producer faults as the fake inbox does: a Client fault naming every violation, with the same
    words for the same violation (a personnummer with a hyphen, in AddMessage 1 and in the 2.0 stand-in)."""
    app = app_with()
    status, body = call(app, add_message_2(citizen="19900101-2388"))
    fault = read_answer(body)
    assert status == 500 and fault.fault_code == "Client"
    inbox_status, inbox_body = call(app, add_message(pnr="19900101-2388"))
    inbox_fault = read_answer(inbox_body)
    assert inbox_status == 500 and inbox_fault.fault_code == "Client"
    assert fault.fault_string.replace("_2.0", "_1.0").replace("Responder:2", "Responder:1") == \
        inbox_fault.fault_string
    status, body = call(app, register_complaint(category="care"))
    fault = read_answer(body)
    assert status == 500 and fault.fault_code == "Client"
    assert "category" in fault.fault_string and "CARE, TREATMENT, COMMUNICATION, ACCESS, OTHER" in fault.fault_string


# -- templates ---------------------------------------------------------------------------------------------------

ADD_TEMPLATE = """{% set thread = recall("thread", request.text("messageThreadId")) %}
{% do store("thread", request.text("messageThreadId"), {"citizen": citizen,
   "messages": (thread.messages if thread else 0) + 1}) %}""" + f"""
<AddMessageToPatientPortalInboxResponse xmlns="{ADD_2}">
  <messageThreadId>{{{{ request.text("messageThreadId") }}}}</messageThreadId>
  <resultCode>OK</resultCode>
</AddMessageToPatientPortalInboxResponse>
"""
STATUS_TEMPLATE = f"""{{% set thread = recall("thread", request.text("messageThreadId")) %}}
<GetMessageThreadStatusResponse xmlns="{STATUS_2}">
{{% if thread and thread.citizen == citizen %}}
  <messageThreadStatus>UNREAD</messageThreadStatus>
  <messages>{{{{ thread.messages }}}}</messages>
  <resultCode>OK</resultCode>
{{% else %}}
  <resultCode>ERROR</resultCode>
  <resultText>No message thread {{{{ request.text("messageThreadId") }}}} for this citizen</resultText>
{{% endif %}}
</GetMessageThreadStatusResponse>
"""
REGISTER_TEMPLATE = """{% set case = "SK-%06d" % counter("case") %}
{% do store("case", case, {"category": request.text("category")}) %}""" + f"""
<RegisterComplaintResponse xmlns="{REGISTER}" xmlns:core="{COMPLAINTS_CORE}">
  <caseId>{{{{ case }}}}</caseId>
  <result><core:resultCode>OK</core:resultCode></result>
</RegisterComplaintResponse>
"""
COMPLAINT_STATUS_TEMPLATE = f"""{{% set case = recall("case", request.text("caseId")) %}}
<GetComplaintStatusResponse xmlns="{COMPLAINT_STATUS}">
  <status>{{{{ "IN_PROGRESS" if case else "CLOSED" }}}}</status>
  <updated>{{{{ now() }}}}</updated>
</GetComplaintStatusResponse>
"""
TEMPLATES = {"AddMessageToPatientPortalInbox.xml": ADD_TEMPLATE, "GetMessageThreadStatus.xml": STATUS_TEMPLATE,
             "RegisterComplaint.xml": REGISTER_TEMPLATE, "GetComplaintStatus.xml": COMPLAINT_STATUS_TEMPLATE}


def test_the_smallest_answer_says_the_time_of_each_call_though_it_is_made_once(app_with, monkeypatch):
    from mockplatform.domains.anycontract import producer
    from mockplatform.localtime import zone

    app = app_with()
    moments = iter([datetime(2026, 12, 3, 17, 5, 9, tzinfo=zone()), datetime(2027, 1, 2, 3, 4, 5, tzinfo=zone())])

    class Clock(datetime):
        @classmethod
        def now(cls, tz=None):
            return next(moments)

    monkeypatch.setattr(producer, "datetime", Clock)
    said = [payload_of(call(app, complaint_status())[1]).findtext(f"{{{COMPLAINT_STATUS}}}updated") for _ in "12"]
    assert said == ["20261203170509", "20270102030405"]  # TimeStampType: a pattern-typed yyyyMMddHHmmss
    made = app.producers["generic"].minimal(app.contracts.get(COMPLAINT_STATUS))
    assert made.kinds == ("stamp",) and len(made.parts) == 2  # made once, the time left open


@pytest.mark.parametrize("form", FORMS)
def test_the_inbox_2_flow_from_templates_a_message_added_then_its_thread_status_read(form, app_with):
    app = app_with(form, TEMPLATES)
    status_of = lambda **kw: payload_of(call(app, thread_status_2(**kw))[1])  # noqa: E731
    before = status_of(thread="t-7")
    assert before.findtext(f"{{{STATUS_2}}}resultCode") == "ERROR"
    assert before.findtext(f"{{{STATUS_2}}}resultText") == "No message thread t-7 for this citizen"
    added = payload_of(call(app, add_message_2(thread="t-7"))[1])
    assert added.findtext(f"{{{ADD_2}}}messageThreadId") == "t-7"
    after = status_of(thread="t-7")
    assert (after.findtext(f"{{{STATUS_2}}}messageThreadStatus"), after.findtext(f"{{{STATUS_2}}}messages"),
            after.findtext(f"{{{STATUS_2}}}resultCode")) == ("UNREAD", "1", "OK")
    call(app, add_message_2(thread="t-7"))
    assert status_of(thread="t-7").findtext(f"{{{STATUS_2}}}messages") == "2"
    assert status_of(thread="t-7", citizen="191212121212").findtext(f"{{{STATUS_2}}}resultCode") == "ERROR"
    # the complaints service from its templates: a case id counted, then its status from what was stored
    first = payload_of(call(app, register_complaint())[1])
    assert first.findtext(f"{{{REGISTER}}}caseId") == "SK-000001"
    assert payload_of(call(app, complaint_status("SK-000001"))[1]).findtext(f"{{{COMPLAINT_STATUS}}}status") \
        == "IN_PROGRESS"
    assert payload_of(call(app, complaint_status("SK-000009"))[1]).findtext(f"{{{COMPLAINT_STATUS}}}status") \
        == "CLOSED"
    app.reset()
    assert status_of(thread="t-7").findtext(f"{{{STATUS_2}}}resultCode") == "ERROR"


# -- fault injection ---------------------------------------------------------------------------------------------


def test_injected_faults_and_logical_errors_for_loaded_contracts(app_with):
    app = app_with()
    assert admin_fault(app, {"kind": "soap_fault", "contract": REGISTER, "text": "Ärendesystemet är nere"})[0] == 201
    status, body = call(app, register_complaint())
    assert status == 500 and read_answer(body).fault_string == "Ärendesystemet är nere"
    # a logical ERROR, made from the response schema: resultCode (here inside result) ERROR with the text
    assert admin_fault(app, {"kind": "logical_error", "contract": REGISTER, "text": "Okänd mottagare"})[0] == 201
    status, body = call(app, register_complaint())
    answer = payload_of(body)
    assert status == 200 and app.contracts.get(REGISTER).validator.findings(answer) == []
    result = answer.find(f"{{{REGISTER}}}result")
    assert [(etree.QName(e).localname, e.text) for e in result] == [("resultCode", "ERROR"),
                                                                     ("comment", "Okänd mottagare")]
    assert admin_fault(app, {"kind": "logical_error", "contract": ADD_2, "text": "Target person is not active user"}
                       )[0] == 201
    answer = payload_of(call(app, add_message_2())[1])
    assert (answer.findtext(f"{{{ADD_2}}}resultCode"), answer.findtext(f"{{{ADD_2}}}resultText")) == \
        ("ERROR", "Target person is not active user")
    assert [e.injected for e in app.journal.exchanges()] == ["soap_fault", "logical_error", "logical_error"]
    # the journal's pages label such an answer a logical error, not OK (its result code, in any namespace)
    rows = json.loads(handle(app, Request("GET", "/ui/api/journal", [], b"", client="127.0.0.1:1")).body)["exchanges"]
    assert [(r["outcome"], r["outcome_label"]) for r in rows] == [("logical", "Logiskt fel")] * 2 + [
        ("producer", "Producentfel")]
    page = handle(app, Request("GET", f"/ui/journal/{rows[0]['id']}", [], b"", client="127.0.0.1:1"))
    assert b"Logiskt fel" in page.body and b"outcome-logical" in page.body
    # a contract whose answer has no result code: refused, naming the contract
    status, error = admin_fault(app, {"kind": "logical_error", "contract": COMPLAINT_STATUS})
    assert status == 400 and COMPLAINT_STATUS in error["error"] and "resultCode" in error["error"]
    with pytest.raises(ConfigError, match=f"the contract {ACTIVE_2} has none"):
        app.faults.add(InjectedFault(FaultKind.LOGICAL_ERROR, contract=ACTIVE_2))
    # armed for any contract: passes over a call whose answer has none, and takes the next that has one
    app.faults.add(InjectedFault(FaultKind.LOGICAL_ERROR, text="Inte nu"))
    assert payload_of(call(app, complaint_status())[1]).findtext(f"{{{COMPLAINT_STATUS}}}status") == "RECEIVED"
    answer = payload_of(call(app, thread_status_2())[1])
    assert (answer.findtext(f"{{{STATUS_2}}}resultCode"), answer.findtext(f"{{{STATUS_2}}}resultText")) == \
        ("ERROR", "Inte nu")
    # the built-in inbox keeps its own ERROR answer
    app.faults.add(InjectedFault(FaultKind.LOGICAL_ERROR, contract=ADD_2[:-1] + "1", text="Nej"))
    assert b"<resultCode>ERROR</resultCode><resultText>Nej</resultText>" in call(app, add_message())[1]


# -- verify ------------------------------------------------------------------------------------------------------


def _journal_of_both(app: Application) -> Path:
    """Calls to both packages: each operation once, validly; a schema-invalid complaint; a request without a
    LogicalAddress; and a built-in inbox call (another profile's to judge)."""
    for body in (add_message_2(), is_active_2(), thread_status_2(), register_complaint(), complaint_status(),
                 register_complaint(category="care"), add_message()):
        call(app, body)
    call(app, envelope(f'<GetComplaintStatus xmlns="{COMPLAINT_STATUS}"><caseId>SK-000001</caseId>'
                       "</GetComplaintStatus>", address=None))
    return app.journal.path


@pytest.mark.parametrize("form", FORMS)
def test_verify_judges_both_packages_with_the_generic_profile(form, app_with, made, tmp_path):
    app = app_with(form)
    journal = _journal_of_both(app)
    app.close()
    protocol = verify(VerifyOptions(journal=journal, profile="rivta-generic", contracts=list(made[form].values())))
    assert protocol.head.rule_profile == "rivta-generic" and protocol.head.catalogue == "Inlästa tjänstekontrakt"
    assert protocol.exchanges_judged == 7  # not the built-in inbox's call
    assert [c.id for c in protocol.cases] == GENERIC_CASES
    status = {c.id: c.status for c in protocol.cases}
    assert status["GEN-RegisterComplaint-1"] is CaseStatus.FAILED  # the invalid complaint was attempted
    assert status["GEN-GetComplaintStatus-1"] is CaseStatus.FAILED  # one sent without a LogicalAddress
    assert {s for c, s in status.items() if c not in ("GEN-RegisterComplaint-1", "GEN-GetComplaintStatus-1")} == \
        {CaseStatus.PASSED}
    rules = {r.rule_id: r for r in protocol.rules}
    assert (rules["SCHEMA"].checked, rules["SCHEMA"].violations) == (7, 1)
    assert rules["RIVTA-LOGICAL-ADDRESS"].violations == 1
    assert "no LogicalAddress" in rules["RIVTA-LOGICAL-ADDRESS"].examples[0][1].message_en
    assert {c.name for c in protocol.head.contracts} == {"AddMessageToPatientPortalInbox", "IsActiveUser",
                                                         "GetMessageThreadStatus", "RegisterComplaint",
                                                         "GetComplaintStatus"}
    assert all(c.source != "built-in" for c in protocol.head.contracts)
    # the command: the packages as the platform ran with them, the protocol written
    out = tmp_path / "protocol"
    code = main(["verify", "--journal", str(journal), "--profile", "rivta-generic", "--out", str(out),
                 *[arg for package in made[form].values() for arg in ("--contracts", str(package))]])
    assert code != 0  # nonconformant: the invalid complaint
    written = (out / "protocol.md").read_text(encoding="utf-8")
    assert "GEN-GetMessageThreadStatus-2" in written and "A valid request to RegisterComplaint 1.0 answered" in written


def test_a_case_with_more_evidence_than_it_shows_says_how_much_and_each_finding_names_its_exchange(app_with, made,
                                                                                                    tmp_path, capsys):
    """Ten complaints, seven of them schema-invalid each in its own way: the case shows five exchanges (the wrong
    ones first), says that it shows 5 of 10, and every one of its seven findings names the exchange it was found
    on, two of them exchanges that are not shown."""
    import jsonschema

    from mockplatform.protocol import write_all
    from mockplatform.protocol.json_format import load_schema

    app = app_with()
    for number in range(10):
        call(app, register_complaint(category="CARE" if number in (0, 4, 8) else f"WRONG{number}"))
    journal = app.journal.path
    app.close()
    protocol = verify(VerifyOptions(journal=journal, profile="rivta-generic", contracts=[made["folder"]["complaints"]]))
    case = next(c for c in protocol.cases if c.id == "GEN-RegisterComplaint-1")
    assert case.status is CaseStatus.FAILED and (len(case.evidence), case.evidence_count) == (5, 10)
    shown = {e.exchange_id for e in case.evidence}
    wrong = [e.id for e in app.journal.exchanges() if e.http_status == 500]
    assert [exchange_id for exchange_id, _ in case.findings] == wrong  # one finding each, on its own exchange
    assert set(wrong) - shown == set(wrong[5:])  # the last two are not shown, but named
    written = write_all(protocol, tmp_path / "p")
    data = json.loads(written["json"].read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator(load_schema()).validate(data)
    listed = next(c for c in data["cases"] if c["id"] == case.id)
    assert listed["evidence_count"] == 10 and [f["exchange_id"] for f in listed["findings"]] == wrong
    for fmt in ("md", "html", "junit"):
        assert "5 of 10 exchanges of evidence shown" in written[fmt].read_text(encoding="utf-8"), fmt
    import docx

    document = docx.Document(str(written["docx"]))
    assert any("5 av 10 anrop i underlaget visas" in p.text for p in document.paragraphs)
    # protocol check compares both: how much evidence there was, and each finding's exchange
    assert main(["protocol", "check", str(written["json"]), "--journal", str(journal),
                 "--contracts", str(made["folder"]["complaints"])]) == 0
    for field, value in (("evidence_count", 9), ("findings", None)):
        forged = json.loads(json.dumps(data))
        target = next(c for c in forged["cases"] if c["id"] == case.id)
        if field == "findings":
            target["findings"][0]["exchange_id"] = wrong[1]
        else:
            target[field] = value
        (tmp_path / "forged.json").write_text(json.dumps(forged), encoding="utf-8")
        capsys.readouterr()
        assert main(["protocol", "check", str(tmp_path / "forged.json"), "--journal", str(journal),
                     "--contracts", str(made["folder"]["complaints"])]) == 1, field
        said = capsys.readouterr().out
        assert ("evidence in all" if field == "evidence_count" else "findings (exchange ids)") in said


DOCBOOK_2 = ('<article><para>Välkommen. <emphasis role="bold">Ta med legitimation.</emphasis> '
             '<link xmlns:xlink="http://www.w3.org/1999/xlink" xlink:href="https://vard.example/boka">Boka om</link>'
             "</para><itemizedlist><listitem>Kom i tid</listitem></itemizedlist></article>")


def test_verify_judges_the_inbox_2_messages_by_the_rules_that_carry_over(app_with, made):
    app = app_with()
    for body in (add_message_2(text=DOCBOOK_2),  # the wider 2.0 DocBook subset: nothing to say
                 add_message_2(source_system=None),  # 1177 requires sourceSystem
                 add_message_2(description=None, unit="SE2321000016-ZZZZ"),  # no heading; a unit not connected
                 add_message_2(citizen="199001012389"),  # a wrong check digit
                 add_message_2(text='<article><para><emphasis role="red">Obs</emphasis><table/></para></article>'),
                 add_message_2(text='Se <ulink url="https://vard.example">här</ulink>'),  # a link needs DocBook
                 thread_status_2(), is_active_2(), add_message()):
        assert call(app, body)[0] == 200
    journal = app.journal.path
    app.close()
    protocol = verify(VerifyOptions(journal=journal, profile="1177-inbox-2", contracts=[made["folder"]["inbox2"]]))
    assert protocol.exchanges_judged == 8  # the 1.x inbox's call is 1177-inbox's
    rules = {r.rule_id: r for r in protocol.rules}
    broken = {rule: r.violations for rule, r in rules.items() if r.violations}
    assert broken == {"INBOX-SOURCE-SYSTEM": 1, "INBOX-MESSAGE-DESCRIPTION": 1, "INBOX-UNIT-CONNECTED": 1,
                      "PP-SUBJECT-OF-CARE-ID": 1, "INBOX-DOCBOOK": 1, "INBOX-SSO-NEEDS-DOCBOOK": 1,
                      "INBOX2-RULES-APPLIED": 1}
    assert rules["INBOX-SOURCE-SYSTEM"].examples[0][1].message_en.startswith("sourceSystem is missing")
    docbook = [f.message_en for _, f in rules["INBOX-DOCBOOK"].examples]
    assert any("<emphasis> has role='red'" in m for m in docbook) and any("<table> is not in the subset" in m
                                                                          for m in docbook)
    assert not any("link" in m or "itemizedlist" in m or "bold" in m.split("one of")[0] for m in docbook)
    # the message rules judge the six AddMessage calls; the citizen's id every call
    assert rules["INBOX-SOURCE-SYSTEM"].checked == 6 and rules["PP-SUBJECT-OF-CARE-ID"].checked == 8
    # notify is not in the package: its rule is not applied, not counted as checked, and the protocol says why
    assert rules["PP-NOTIFY-NEEDS-SOURCE-SYSTEM"].checked == 0
    (_, note), = rules["INBOX2-RULES-APPLIED"].examples
    assert note.severity.value == "warning"
    assert note.message_en.startswith(
        "Rule PP-NOTIFY-NEEDS-SOURCE-SYSTEM (notify=true comes with sourceSystem) not applied to "
        "AddMessageToPatientPortalInbox: the request schema of AddMessageToPatientPortalInbox 2.0 in the loaded "
        "package declares no element named notify. It is not counted as checked")
    assert [c.id for c in protocol.cases] == ["INBOX2-AddMessageToPatientPortalInbox-2",
                                              "INBOX2-GetMessageThreadStatus-2", "INBOX2-IsActiveUser-2"]
    assert protocol.verdict.value == "nonconformant"
    # a missing field's place in the hint is the one the package's schema gives
    hint = rules["INBOX-MESSAGE-DESCRIPTION"].examples[0][1].hint
    assert hint.endswith("inside <message>, where the contract's schema declares it (message/messageDescription)")


def test_without_the_package_a_field_missing_from_the_request_is_said_not_applied(app_with, made, tmp_path):
    """verify without --contracts does not know the contract's fields: a rule whose field the request lacks is
    not applied (and said so), where with the package it would have been applied and broken."""
    app = app_with()
    call(app, add_message_2(source_system=None))
    journal = app.journal.path
    app.close()
    protocol = verify(VerifyOptions(journal=journal, profile="1177-inbox-2"))
    rules = {r.rule_id: r for r in protocol.rules}
    assert rules["INBOX-SOURCE-SYSTEM"].checked == 0
    said = {f.message_en.split(" ")[1]: f.message_en for _, f in rules["INBOX2-RULES-APPLIED"].examples}
    assert "no element named sourceSystem in this request (its contract's package is not loaded" in \
        said["INBOX-SOURCE-SYSTEM"]
    assert rules["RIVTA-CONTRACT-NAMESPACE"].violations == 1  # and the contract is not a known one
    assert rules["RIVTA-CONTRACT-NAMESPACE"].examples[0][1].hint.startswith(
        "no contract of this profile is loaded: give its release package with --contracts")
    assert protocol.cases == []  # none made: no 2.0 contract is loaded


def test_without_the_package_no_check_is_claimed_that_could_not_be_made(app_with, made):
    """verify without --contracts: SCHEMA has no schema to judge by, so it is not counted as checked (1177-inbox-2
    says so in INBOX2-RULES-APPLIED); no rule source speaks of a loaded package; and 1177-inbox-2 judges only the
    2.0 patientportal calls (by namespace), not a complaints call whose package is not loaded either."""
    app = app_with()
    for body in (add_message_2(), is_active_2(), register_complaint(), complaint_status(), add_message()):
        assert call(app, body)[0] == 200
    journal = app.journal.path
    app.close()
    generic = verify(VerifyOptions(journal=journal, profile="rivta-generic"))
    assert generic.exchanges_judged == 4  # not the built-in inbox's call
    rules = {r.rule_id: r for r in generic.rules}
    assert (rules["SCHEMA"].checked, rules["RIVTA-LOGICAL-ADDRESS"].checked) == (0, 4)
    inbox2 = verify(VerifyOptions(journal=journal, profile="1177-inbox-2"))
    assert inbox2.exchanges_judged == 2  # the two 2.0 calls: neither the complaints nor the 1.x inbox's
    rules = {r.rule_id: r for r in inbox2.rules}
    assert (rules["SCHEMA"].checked, rules["PP-SUBJECT-OF-CARE-ID"].checked) == (0, 2)
    said = [f.message_en for _, f in rules["INBOX2-RULES-APPLIED"].examples]
    assert sum(m.startswith("Rule SCHEMA (") for m in said) == 2  # once per contract
    assert any("the schema of its contract (" + ADD_2 + ") is not loaded: give the contract's release package with "
               "--contracts" in m for m in said)
    for protocol in (generic, inbox2):
        assert [r.rule_id for r in protocol.rules if "loaded" in r.source and "package" in r.source] == []
    # with the package the same calls are checked against it
    loaded = verify(VerifyOptions(journal=journal, profile="1177-inbox-2", contracts=[made["folder"]["inbox2"]]))
    assert {r.rule_id: r.checked for r in loaded.rules}["SCHEMA"] == 2


SOAP12_EMPTY = (b'<?xml version="1.0" encoding="UTF-8"?><s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope">'
                b"<s:Header/><s:Body/></s:Envelope>")


@pytest.mark.parametrize("with_package", [True, False])
def test_a_request_that_is_no_envelope_gets_only_the_envelope_finding_from_1177_inbox_2(with_package, app_with, made):
    """A SOAP 1.2 POST with an empty Body to a 2.0 address: there is no request to read fields in, so no rule but
    the envelope's applies (no "sourceSystem is missing" at no path) and none other counts it as checked."""
    app = app_with()
    response = handle(app, Request("POST", "/vp/infrastructure/eservicesupply/patientportal/AddMessage/2/rivtabp21",
                                   [("Content-Type", "application/soap+xml; charset=UTF-8")], SOAP12_EMPTY,
                                   client="127.0.0.1:1"))
    assert response.status == 500
    journal = app.journal.path
    app.close()
    protocol = verify(VerifyOptions(journal=journal, profile="1177-inbox-2",
                                    contracts=[made["folder"]["inbox2"]] if with_package else []))
    assert protocol.exchanges_judged == 1
    found = [(r.rule_id, f.path) for r in protocol.rules for _, f in r.examples]
    assert found == [("RIVTA-SOAP-ENVELOPE", "/Envelope")]
    assert {r.rule_id: r.checked for r in protocol.rules if r.checked and r.rule_id != "INBOX2-RULES-APPLIED"} == \
        {"RIVTA-SOAP-ENVELOPE": 1}


def test_the_journal_page_judges_a_2_0_call_by_the_1177_inbox_2_profile(app_with):
    app = app_with()
    call(app, add_message_2(source_system=None))
    exchange = app.journal.exchanges()[0]
    page = handle(app, Request("GET", f"/ui/journal/{exchange.id}", [], b"", client="127.0.0.1:1"))
    assert page.status == 200 and b"1177-inbox-2" in page.body and b"INBOX-SOURCE-SYSTEM" in page.body


def test_which_profile_owns_which_contract():
    assert inbox_owns("urn:riv:infrastructure:eservicesupply:patientportal:AddMessageToPatientPortalInboxResponder:1")
    assert inbox_owns("urn:riv:infrastructure::eservicesupply:patientportal:IsActiveUserResponder:1")  # an RC's
    assert not inbox_owns(ADD_2) and inbox2_owns(ADD_2) and inbox2_owns(
        "urn:riv-application:infrastructure:eservicesupply:patientportal:AddMessageResponder:2")
    assert not inbox2_owns(ADD_2[:-1] + "1") and not inbox2_owns(CORE)
    generic = generic_profile()
    assert not generic.owns_contract(ADD_2) and generic.owns_contract(REGISTER)  # 1177-inbox-2 owns the first
    assert domains.default_profile() == "1177-inbox"


# -- the complaints service's own domain -------------------------------------------------------------------------


@pytest.fixture
def complaints_domain(monkeypatch):
    """The complaints domain's distribution on sys.path, as pip would put it in site-packages."""
    monkeypatch.syspath_prepend(str(COMPLAINTS_DOMAIN))
    domains.installed.cache_clear()
    responses.environment.cache_clear()
    responses.menu.cache_clear()
    yield
    monkeypatch.undo()
    sys.modules.pop("complaints_domain", None)
    domains.installed.cache_clear()
    responses.environment.cache_clear()
    responses.menu.cache_clear()


def test_a_domain_of_its_own_owns_the_complaints_contracts(complaints_domain, app_with, made):
    assert "complaints" in domains.profiles()
    app = app_with()
    for body in (register_complaint(), register_complaint(unit="SE2321000016-NOPE"), complaint_status()):
        assert call(app, body)[0] == 200
    exchange = app.journal.exchanges()[1]
    page = handle(app, Request("GET", f"/ui/journal/{exchange.id}", [], b"", client="127.0.0.1:1"))
    assert b"COMPLAINT-RECIPIENT" in page.body  # the page judges it by the owning domain's profile
    journal = app.journal.path
    app.close()
    own = verify(VerifyOptions(journal=journal, profile="complaints", contracts=[made["zip"]["complaints"]]))
    rules = {r.rule_id: r for r in own.rules}
    assert (rules["COMPLAINT-RECIPIENT"].checked, rules["COMPLAINT-RECIPIENT"].violations) == (2, 1)
    assert [c.id for c in own.cases] == ["COMPLAINT-GetComplaintStatus-1", "COMPLAINT-RegisterComplaint-1"]
    # the generic profile still judges them by the RIVTA rules (a domain's profile adds to it, it does not hide)
    generic = verify(VerifyOptions(journal=journal, profile="rivta-generic", contracts=[made["zip"]["complaints"]]))
    assert generic.exchanges_judged == 3 and [c.id for c in generic.cases] == ["GEN-GetComplaintStatus-1",
                                                                                "GEN-RegisterComplaint-1"]
    assert all(r.violations == 0 for r in generic.rules)


def test_a_domains_tak_section_is_written_by_fixtures_generate_and_not_read_by_serve(complaints_domain, made,
                                                                                    tmp_path):
    """What the README says of a domain's tak_section: serve routes by the TAK it is given only (with the
    complaints domain installed, a complaint to the built-in TAK gets VP004), fixtures --generate writes it."""
    app = Application(Config(journal=tmp_path / "journal.sqlite", contracts=[made["folder"]["complaints"]]))
    try:
        status, body = call(app, register_complaint())
    finally:
        app.close()
    assert status == 500 and b"VP004" in body
    assert main(["fixtures", "--generate", "--seed", "7", "--out", str(tmp_path / "generated")]) == 0
    tak = (tmp_path / "generated" / "tak.toml").read_text(encoding="utf-8")
    assert REGISTER in tak and 'address = "builtin:generic"' in tak
    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")
    assert "A domain's `tak_section` (the complaints\ndomain has one) is read only by `fixtures --generate`" in readme
    assert "a `tak_section` routing them to `builtin:generic`" not in readme


def test_the_readme_names_every_rule_of_the_two_profiles_and_what_not_applied_looks_like():
    from mockplatform.domains.anycontract.profile import CATALOGUE as GENERIC
    from mockplatform.domains.inbox1177.profile2 import CATALOGUE as INBOX2

    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")
    section = readme[readme.index("## Testing a contract the platform does not know yet"):]
    section = section[:section.index("\n## ")]
    assert [info.id for info, _ in (*GENERIC, *INBOX2) if f"`{info.id}`" not in section] == []
    assert "`rivta-generic`" in section and "`1177-inbox-2`" in section and "**Logical errors.**" in section
    assert ("not applied to AddMessage: the request schema of AddMessage 2.0 in the loaded package declares no "
            "element named notify. It is not counted as checked for these requests; this is said once per contract"
            ) in section


def test_serve_and_verify_commands_with_the_packages_and_the_complaints_domain_installed(made, tmp_path):
    """The commands as a user runs them: the complaints domain's distribution on PYTHONPATH (as pip installs it),
    ``serve --contracts`` with one package as a zip and the other as a folder, then ``verify``."""
    import os
    import subprocess

    import requests

    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(COMPLAINTS_DOMAIN), os.environ.get("PYTHONPATH", "")])}
    journal = tmp_path / "journal.sqlite"
    packages = ["--contracts", str(made["zip"]["inbox2"]), "--contracts", str(made["folder"]["complaints"])]
    server = subprocess.Popen([sys.executable, "-m", "mockplatform", "serve", "--port", "0", "--journal", str(journal),
                               "--tak", str(make_tak(tmp_path)), *packages], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True, env=env)
    try:
        said = []
        for line in server.stdout:
            said.append(line)
            if "listening on" in line:
                break
        assert said and "listening on" in said[-1], (said, server.stderr.read() if server.poll() is not None else "")
        assert any("contract RegisterComplaint 1.0:" in line for line in said)
        assert any("contract GetMessageThreadStatus 2.0:" in line for line in said)
        url = said[-1].split("listening on ")[1].strip()
        for body in (register_complaint(), register_complaint(unit="SE2321000016-NOPE"), add_message_2()):
            answer = requests.post(url, data=body, headers={"Content-Type": "text/xml; charset=UTF-8"}, timeout=30)
            assert answer.status_code == 200, answer.text
    finally:
        server.terminate()
        server.wait(timeout=60)
    out = tmp_path / "protocol"
    judged = subprocess.run([sys.executable, "-m", "mockplatform", "verify", "--journal", str(journal), "--profile",
                             "complaints", "--out", str(out), *packages], env=env, capture_output=True, text=True,
                            timeout=120)
    assert judged.returncode == 1, judged.stderr  # nonconformant: a complaint to a unit that takes none
    protocol = json.loads((out / "protocol.json").read_text(encoding="utf-8"))
    assert "COMPLAINT-RECIPIENT" in json.dumps(protocol["rules"]) and protocol["head"]["rule_profile"] == "complaints"

"""The generic producer (builtin:generic) and response templates: a contract the platform has no fake for,
loaded from a release package, answered with its smallest schema-valid response or from a template folder.

The package is the built-in inbox package with its namespaces moved to a major version 2 (a contract the
platform does not know), made by the tests from the files in the repository, as a folder and as a zip."""

from __future__ import annotations

import re
import shutil
import zipfile
from datetime import datetime
from pathlib import Path

import pytest
import requests
import zeep
from lxml import etree
from zeep.transports import Transport

from mockplatform import Application, Config, Request, Settings, ns
from mockplatform.cli import main
from mockplatform.contracts import ContractRegistry, load_package
from mockplatform.domains import installed
from mockplatform.domains.anycontract.patterns import PatternError, generate
from mockplatform.domains.anycontract.producer import minimal_response
from mockplatform.domains.anycontract.synthesis import SynthesisError, minimal_element, minimal_made, simple_value
from mockplatform.domains.inbox1177 import PACKAGE as INBOX_PACKAGE
from mockplatform.envelope import read_answer
from mockplatform.errors import ConfigError
from mockplatform.fixtures import builtin_fixtures_dir
from mockplatform.http_routes import handle
from mockplatform.localtime import zone
from mockplatform.producers.faults import FaultKind, InjectedFault
from mockplatform.xmlsafe import parse

from .soap import CONSUMER, OTHER_CONSUMER, envelope

ADD_2 = "urn:riv:infrastructure:eservicesupply:patientportal:AddMessageToPatientPortalInboxResponder:2"
ACTIVE_2 = "urn:riv:infrastructure:eservicesupply:patientportal:IsActiveUserResponder:2"
CORE = "urn:riv:infrastructure:eservicesupply:patientportal:1"  # the core namespace stays at 1
ADDRESS = "SE2321000016-INK2"  # the logical address the version 2 contracts are routed at
CITIZEN = "199001012388"

pytest_plugins = ["pytester"]


# -- the package, the TAK and the templates the tests make ------------------------------------------------------


def make_package(folder: Path) -> Path:
    """The built-in inbox package, its interactions moved to major version 2 (namespaces and file names)."""
    shutil.copytree(INBOX_PACKAGE, folder)
    for path in sorted((folder / "schemas" / "interactions").rglob("*")):
        if not path.is_file():
            continue
        text = path.read_text(encoding="utf-8")
        text = text.replace("Responder:1", "Responder:2").replace(":1:rivtabp21", ":2:rivtabp21")
        text = text.replace("Responder_1.0.xsd", "Responder_2.0.xsd")
        path.write_text(text, encoding="utf-8")
        if "_1.0" in path.name:
            path.rename(path.with_name(path.name.replace("_1.0", "_2.0")))
    return folder


def make_zip(folder: Path, target: Path) -> Path:
    """The package as Inera ships one: a zip whose files lie under a folder named after the release."""
    with zipfile.ZipFile(target, "w") as zf:
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                zf.write(path, "ServiceContracts_patientportal_2.0/" + path.relative_to(folder).as_posix())
    return target


@pytest.fixture(scope="module")
def package(tmp_path_factory) -> Path:
    return make_package(tmp_path_factory.mktemp("package") / "patientportal_2")


@pytest.fixture(scope="module")
def package_zip(package, tmp_path_factory) -> Path:
    return make_zip(package, tmp_path_factory.mktemp("zip") / "ServiceContracts_patientportal_2.0.zip")


def make_tak(folder: Path) -> Path:
    tak = folder / "tak.toml"
    quoted = f'["{ADD_2}", "{ACTIVE_2}"]'
    tak.write_text(f'import = ["{builtin_fixtures_dir() / "tak.toml"}"]\n\n'
                   f'[[route]]\ncontracts = {quoted}\nlogical_address = "{ADDRESS}"\naddress = "builtin:generic"\n\n'
                   f'[[authorisation]]\nconsumers = ["{CONSUMER}", "{OTHER_CONSUMER}"]\ncontracts = {quoted}\n'
                   f'logical_address = "{ADDRESS}"\n', encoding="utf-8")
    return tak


def write_templates(folder: Path, files: dict[str, str]) -> Path:
    folder.mkdir(exist_ok=True)
    for name, text in files.items():
        (folder / name).write_text(text, encoding="utf-8")
    return folder


ECHO = (f'<AddMessageToPatientPortalInboxResponse xmlns="{ADD_2}">\n'
        '  <messageThreadId>{{ request.text("messageThreadId") }}|{{ citizen }}|{{ now() }}|{{ counter("sent") }}'
        "</messageThreadId>\n  <resultCode>OK</resultCode>\n</AddMessageToPatientPortalInboxResponse>\n")
# AddMessage remembers the citizen a message went to; IsActiveUser answers from it: active once sent to.
REMEMBER = """{% do store("citizens", citizen, {"thread": request.text("messageThreadId"), "messages": counter("m")})
%}""" + f"""
<AddMessageToPatientPortalInboxResponse xmlns="{ADD_2}">
  <resultCode>OK</resultCode>
  <resultText>message {{{{ counter("m") }}}} to {{{{ citizen }}}}</resultText>
</AddMessageToPatientPortalInboxResponse>
"""
RECALL = f"""{{% set known = recall("citizens", request.text("subjectOfCareId")) %}}
<IsActiveUserResponse xmlns="{ACTIVE_2}">
  <status>{{{{ "true" if known else "false" }}}}</status>
{{% if known %}}  <activeNotificationMethods>{{{{ "SMS" if known.thread else "Email" }}}}</activeNotificationMethods>
{{% endif %}}</IsActiveUserResponse>
"""


def add_message_2(citizen: str = CITIZEN, thread: str | None = "thread-<1>", address: str = ADDRESS) -> bytes:
    threaded = f"<c:messageThreadId>{thread.replace('<', '&lt;').replace('>', '&gt;')}</c:messageThreadId>" \
        if thread is not None else ""
    return envelope(f'<AddMessageToPatientPortalInbox xmlns="{ADD_2}" xmlns:c="{CORE}">'
                    f"<subjectOfCareId>{citizen}</subjectOfCareId><message><c:organisationUnit>"
                    "<c:unitId>SE2321000016-A1B2</c:unitId><c:unitName>Vårdcentralen</c:unitName></c:organisationUnit>"
                    f"{threaded}<c:messageDescription>Kallelse</c:messageDescription><c:messageText>Hej</c:messageText>"
                    "</message><sourceSystem>SE2321000016-7XQA</sourceSystem></AddMessageToPatientPortalInbox>",
                    address=address)


def is_active_2(citizen: str = CITIZEN, **kw) -> bytes:
    return envelope(f'<IsActiveUser xmlns="{ACTIVE_2}"><subjectOfCareId>{citizen}</subjectOfCareId></IsActiveUser>',
                    address=kw.pop("address", ADDRESS), **kw)


def make_app(tmp_path: Path, package: Path, templates: Path | None = None, journal: str = "journal.sqlite",
             **settings) -> Application:
    return Application(Config(journal=tmp_path / journal, tak=make_tak(tmp_path), contracts=[package],
                              templates=templates, settings=Settings(admin="on", **settings)))


def call(app: Application, body: bytes, path: str = "/vp", method: str = "POST") -> tuple[int, bytes]:
    response = handle(app, Request(method, path, [("Content-Type", "text/xml; charset=UTF-8")], body,
                                   client="127.0.0.1:1"))
    return response.status, response.body


def payload_of(body: bytes) -> etree._Element:
    answer = read_answer(body)
    assert answer.payload is not None, body
    return answer.payload


@pytest.fixture
def app_with(tmp_path, package):
    """An application on the version 2 package, with the templates given (name -> text), closed after."""
    made: list[Application] = []

    def build(templates: dict[str, str] | None = None, **settings) -> Application:
        folder = write_templates(tmp_path / "templates", templates) if templates is not None else None
        made.append(make_app(tmp_path, package, folder, journal=f"journal{len(made)}.sqlite", **settings))
        return made[-1]

    yield build
    for app in made:
        app.close()


# -- the minimal answer, for every operation of every built-in package ------------------------------------------


def builtin_registry() -> ContractRegistry:
    registry = ContractRegistry()
    for domain in installed():
        for folder in domain.contract_packages:
            registry.add(load_package(folder))
    return registry


BUILTIN = builtin_registry()


def test_the_builtin_packages_have_the_operations_the_answers_are_made_for():
    by_domain = {}
    for interaction in BUILTIN.interactions:
        by_domain.setdefault(interaction.responder_namespace.split(":")[2], []).append(interaction.name)
    assert len(by_domain["crm"]) == 11 and len(by_domain["itintegration"]) == 4
    assert len(by_domain["infrastructure"]) == 2


@pytest.mark.parametrize("contract", sorted(i.responder_namespace for i in BUILTIN.interactions))
def test_every_operation_gets_a_minimal_answer_and_request_the_one_validator_accepts(contract):
    loaded = BUILTIN.get(contract)
    answer = parse(minimal_response(loaded).encode())
    assert etree.QName(answer).localname == loaded.interaction.response_element
    assert loaded.validator.findings(answer) == []
    request = minimal_element(loaded.validator.xsd_schema(), f"{{{contract}}}{loaded.interaction.request_element}")
    assert loaded.validator.findings(request) == []


def test_the_minimal_answer_has_required_elements_only_in_the_schemas_namespaces_and_prefixes():
    details = parse(minimal_response(BUILTIN.get("urn:riv:crm:scheduling:GetBookingDetailsResponder:1")).encode())
    assert details.nsmap == {None: "urn:riv:crm:scheduling:GetBookingDetailsResponder:1",
                             "core": "urn:riv:crm:scheduling:1"}  # the prefix the schema files give it
    assert [etree.QName(e).text for e in details.iter()] == [
        "{urn:riv:crm:scheduling:GetBookingDetailsResponder:1}GetBookingDetailsResponse",
        "{urn:riv:crm:scheduling:GetBookingDetailsResponder:1}timeslotDetail",
        "{urn:riv:crm:scheduling:1}healthcare_facility"]
    updates = parse(minimal_response(BUILTIN.get("urn:riv:itintegration:engagementindex:GetUpdatesResponder:1"))
                    .encode())
    assert [(etree.QName(e).localname, e.text) for e in updates] == [("ResultCode", "OK"),  # an enumeration's first
                                                                       ("responseIsComplete", "false")]


# a schema of the constructs RIVTA schemas use, and some they do not, for the value generator
SCHEMA = """<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema" xmlns:t="urn:t" targetNamespace="urn:t"
   elementFormDefault="qualified">
  <xs:simpleType name="TS"><xs:restriction base="xs:string">
    <xs:pattern value="[0-9]{4}(0[1-9]|1[0-2])(0[1-9]|[12][0-9]|3[01])([01][0-9]|2[0-3])[0-5][0-9][0-5][0-9]"/>
  </xs:restriction></xs:simpleType>
  <xs:simpleType name="Code"><xs:restriction base="xs:string"><xs:pattern value="[A-Z]{2}-\\d{3,}"/>
    <xs:minLength value="8"/></xs:restriction></xs:simpleType>
  <xs:simpleType name="Small"><xs:restriction base="xs:positiveInteger"><xs:maxExclusive value="5"/>
    </xs:restriction></xs:simpleType>
  <xs:simpleType name="Negative"><xs:restriction base="xs:int"><xs:maxInclusive value="-7"/></xs:restriction>
    </xs:simpleType>
  <xs:simpleType name="Long"><xs:restriction base="xs:string"><xs:length value="4"/></xs:restriction></xs:simpleType>
  <xs:simpleType name="Greek"><xs:restriction base="xs:string"><xs:pattern value="\\p{IsGreek}+"/></xs:restriction>
    </xs:simpleType>
  <xs:simpleType name="Never"><xs:restriction base="xs:string"><xs:pattern value="a+"/><xs:maxLength value="0"/>
    </xs:restriction></xs:simpleType>
  <xs:element name="R"><xs:complexType><xs:sequence>
    <xs:element name="ts" type="t:TS"/><xs:element name="code" type="t:Code"/><xs:element name="small" type="t:Small"/>
    <xs:element name="negative" type="t:Negative"/><xs:element name="long" type="t:Long"/>
    <xs:element name="day" type="xs:date"/><xs:element name="moment" type="xs:dateTime"/>
    <xs:element name="flag" type="xs:boolean" minOccurs="2" maxOccurs="2"/>
    <xs:choice><xs:element name="first" type="xs:string"/><xs:element name="second" type="xs:int"/></xs:choice>
    <xs:element name="local" form="unqualified" type="xs:string"/>
    <xs:element name="optional" type="xs:string" minOccurs="0"/>
    <xs:any namespace="##other" processContents="lax" minOccurs="0"/>
  </xs:sequence><xs:attribute name="id" type="xs:int" use="required"/>
  <xs:attribute name="note" type="xs:string"/></xs:complexType></xs:element>
  <xs:element name="Bad"><xs:complexType><xs:sequence><xs:element name="g" type="t:Greek"/></xs:sequence>
    </xs:complexType></xs:element>
  <xs:element name="Worse"><xs:complexType><xs:sequence><xs:element name="n" type="t:Never"/></xs:sequence>
    </xs:complexType></xs:element>
  <xs:element name="Open"><xs:complexType><xs:sequence><xs:any namespace="##other"/></xs:sequence>
    </xs:complexType></xs:element>
</xs:schema>"""


def test_values_are_type_correct_within_facets_now_for_times_and_elements_qualified_as_the_schema_says():
    import xmlschema

    schema = xmlschema.XMLSchema(SCHEMA)
    now = datetime(2026, 12, 3, 17, 5, 9, tzinfo=zone())
    element = minimal_element(schema, "{urn:t}R", now)
    assert schema.is_valid(etree.tostring(element).decode())
    values = [(etree.QName(e).text, e.text) for e in element]
    assert values == [("{urn:t}ts", "20261203170509"), ("{urn:t}code", "AA-00000"), ("{urn:t}small", "1"),
                      ("{urn:t}negative", "-7"), ("{urn:t}long", "xxxx"), ("{urn:t}day", "2026-12-03"),
                      ("{urn:t}moment", "2026-12-03T17:05:09+01:00"), ("{urn:t}flag", "false"),
                      ("{urn:t}flag", "false"), ("{urn:t}first", "x"), ("local", "x")]
    assert element.attrib == {"id": "0"}
    made = minimal_made(schema, "{urn:t}R", now)  # where it says the time, to say another moment there
    assert [(etree.QName(e).localname, kind) for e, _, kind in made.timed] == [("ts", "stamp"), ("day", "date"),
                                                                                ("moment", "dateTime")]
    assert b'<local xmlns="">' in etree.tostring(element) or b"<local>" in etree.tostring(element)
    with pytest.raises(SynthesisError, match=r"simple type Greek: pattern '\\p\{IsGreek\}\+'.*not supported"):
        minimal_element(schema, "{urn:t}Bad", now)
    with pytest.raises(SynthesisError, match="simple type Never: none of the values"):
        minimal_element(schema, "{urn:t}Worse", now)
    with pytest.raises(SynthesisError, match="requires an xs:any"):
        minimal_element(schema, "{urn:t}Open", now)
    assert simple_value(schema.types["Small"]) == "1"


@pytest.mark.parametrize(("pattern", "smallest"), [
    ("[0-9]{8}[0-9pPtTfF][0-9]{3}", "000000000000"),
    ("[0-9]{4}(0[1-9]|1[0-2])(0[1-9]|[12][0-9]|3[01])", "00000101"),
    (r"\d+(\.\d{1,2})?", "0"),
    ("(ab|cd)*e", "e"),
    ("[^a-z]{2}", "00"),
    ("[a-z-[abc]]x?", "d"),
    (r"SE\d{10}-[A-Z0-9]{4,}", "SE0000000000-AAAA"),  # a class: its first character as written
    (r"\p{Lu}\w{2}", "A00"),
    (r"\i\c*", "a"),
    (r"^\.\$", "^.$"),  # in XML Schema ^ and $ are ordinary characters
])
def test_the_pattern_generator_writes_the_smallest_matching_value(pattern, smallest):
    import xmlschema

    assert generate(pattern) == smallest
    schema = xmlschema.XMLSchema(f'<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema"><xs:element name="v">'
                                 f'<xs:simpleType><xs:restriction base="xs:string"><xs:pattern value="{pattern}"/>'
                                 '</xs:restriction></xs:simpleType></xs:element></xs:schema>')
    for extra in (0, 3):
        for last in (False, True):
            assert schema.is_valid(f"<v>{generate(pattern, extra, last)}</v>"), (pattern, extra, last)


@pytest.mark.parametrize("pattern", ["(?:ab)", "[a-", "a{3,1}", "\\q", "*a"])
def test_a_pattern_outside_the_subset_is_an_error_naming_it(pattern):
    with pytest.raises(PatternError, match=re.escape(f"pattern '{pattern}'")):
        generate(pattern)


# -- the version 2 package, loaded, routed to builtin:generic, answered -----------------------------------------


@pytest.mark.parametrize("form", ["folder", "zip"])
def test_a_loaded_package_routed_to_the_generic_producer_is_answered_through_zeep(form, package, package_zip,
                                                                                   tmp_path, start_platform):
    running = start_platform(tak=make_tak(tmp_path), contracts=[package if form == "folder" else package_zip])
    interactions = {i.responder_namespace: i for i in running.app.contracts.interactions}
    session = requests.Session()
    active = zeep.Client(running.url + interactions[ACTIVE_2].wsdl_path + "?wsdl",
                         transport=Transport(session=session))
    assert active.service.IsActiveUser(subjectOfCareId=CITIZEN, _soapheaders={"LogicalAddress": ADDRESS}).status \
        is False
    add = zeep.Client(running.url + interactions[ADD_2].wsdl_path + "?wsdl", transport=Transport(session=session))
    answer = add.service.AddMessageToPatientPortalInbox(
        subjectOfCareId=CITIZEN, message={"organisationUnit": {"unitId": "SE2321000016-A1B2", "unitName": "VC"},
                                          "messageText": "Hej"}, _soapheaders={"LogicalAddress": ADDRESS})
    assert answer.resultCode == "OK" and answer.messageThreadId is None
    exchanges = running.app.journal.exchanges()
    assert [(e.contract, e.producer_address, e.http_status) for e in exchanges] == [
        (ACTIVE_2, "builtin:generic", 200), (ADD_2, "builtin:generic", 200)]
    for exchange in exchanges:  # each answer as the journal holds it is valid against the loaded schema
        loaded = running.app.contracts.get(exchange.contract)
        assert loaded.validator.findings(payload_of(exchange.response_body)) == []


def test_the_generic_producer_validates_the_request_as_the_inbox_does(app_with):
    app = app_with()
    status, body = call(app, envelope(f'<IsActiveUser xmlns="{ACTIVE_2}"><subjectOfCareId>19900101-2388'
                                      "</subjectOfCareId></IsActiveUser>", address=ADDRESS))
    assert status == 500
    fault = read_answer(body)
    assert fault.fault_code == "Client" and "Schema validation failed with 1 violation" in fault.fault_string
    assert "subjectOfCareId" in fault.fault_string
    status, body = call(app, is_active_2(soap_ns=ns.SOAP12))
    assert status == 500 and read_answer(body).fault_code == "VersionMismatch"
    lenient = app_with(lenient=True)
    status, body = call(lenient, envelope(f'<IsActiveUser xmlns="{ACTIVE_2}"><subjectOfCareId>x</subjectOfCareId>'
                                          "</IsActiveUser>", address=ADDRESS))
    assert status == 200 and payload_of(body).findtext(f"{{{ACTIVE_2}}}status") == "false"


def test_a_contract_that_is_not_loaded_gets_a_fault_saying_to_load_it(tmp_path):
    tak = tmp_path / "unknown.toml"
    tak.write_text(f'[[route]]\ncontract = "urn:riv:x:DoResponder:1"\nlogical_address = "{ADDRESS}"\n'
                   f'address = "builtin:generic"\n\n[[authorisation]]\nconsumer = "{CONSUMER}"\n'
                   f'contract = "urn:riv:x:DoResponder:1"\nlogical_address = "{ADDRESS}"\n', encoding="utf-8")
    other = Application(Config(journal=tmp_path / "other.sqlite", tak=tak))
    try:
        status, body = call(other, envelope('<Do xmlns="urn:riv:x:DoResponder:1"/>', address=ADDRESS))
    finally:
        other.close()
    assert status == 500
    assert "knows no contract urn:riv:x:DoResponder:1: load its release package with --contracts" in \
        read_answer(body).fault_string


# -- templates --------------------------------------------------------------------------------------------------


def test_a_template_echoes_the_requests_ids_the_citizen_and_the_time(app_with):
    app = app_with({"AddMessageToPatientPortalInbox.xml": ECHO})
    before = datetime.now(zone()).replace(microsecond=0)
    status, body = call(app, add_message_2(thread="thread-<1>"))
    after = datetime.now(zone())
    assert status == 200
    answer = payload_of(body)
    assert app.contracts.get(ADD_2).validator.findings(answer) == []
    thread, citizen, moment, count = answer.findtext(f"{{{ADD_2}}}messageThreadId").split("|")
    assert (thread, citizen, count) == ("thread-<1>", CITIZEN, "1")  # escaped on the way out, read back as sent
    assert before <= datetime.strptime(moment, "%Y%m%d%H%M%S").replace(tzinfo=zone()) <= after
    assert b"thread-&lt;1&gt;" in body


def test_a_counter_counts_per_template_goes_on_after_a_restart_and_starts_again_after_a_reset(tmp_path, package):
    folder = write_templates(tmp_path / "templates", {"AddMessageToPatientPortalInbox.xml": ECHO})

    def counts(app: Application, calls: int) -> list[str]:
        return [payload_of(call(app, add_message_2())[1]).findtext(f"{{{ADD_2}}}messageThreadId").split("|")[3]
                for _ in range(calls)]

    app = make_app(tmp_path, package, folder)
    try:
        assert counts(app, 3) == ["1", "2", "3"]
    finally:
        app.close()
    app = make_app(tmp_path, package, folder)  # the same journal
    try:
        assert counts(app, 1) == ["4"]
        app.reset()
        assert counts(app, 2) == ["1", "2"]
    finally:
        app.close()


def test_what_one_operation_stores_another_answers_from_until_a_reset(app_with):
    app = app_with({"AddMessageToPatientPortalInbox.xml": REMEMBER, "IsActiveUser.xml": RECALL})
    status_of = lambda: payload_of(call(app, is_active_2())[1]).findtext(f"{{{ACTIVE_2}}}status")  # noqa: E731
    assert status_of() == "false"
    status, body = call(app, add_message_2(thread="t-9"))
    assert status == 200 and payload_of(body).findtext(f"{{{ADD_2}}}resultText") == f"message 2 to {CITIZEN}"
    answer = payload_of(call(app, is_active_2())[1])
    assert answer.findtext(f"{{{ACTIVE_2}}}status") == "true"
    assert answer.findtext(f"{{{ACTIVE_2}}}activeNotificationMethods") == "SMS"
    assert payload_of(call(app, is_active_2("191212121212"))[1]).findtext(f"{{{ACTIVE_2}}}status") == "false"
    exchange_id = app.journal.exchanges(contract=ADD_2)[0].id
    stored = [{"bucket": "citizens", "key": CITIZEN, "value": {"messages": 1, "thread": "t-9"},
               "exchange_id": exchange_id}]
    admin = handle(app, Request("GET", "/admin/generic", [], b"", client="127.0.0.1:1"))
    assert admin.status == 200
    import json
    data = json.loads(admin.body)
    assert data["stored"] == stored and data["address"] == "builtin:generic"
    assert {t["operation"] for t in data["templates"]} == {"AddMessageToPatientPortalInbox", "IsActiveUser"}
    assert data["counters"] == [{"template": "AddMessageToPatientPortalInbox.xml", "name": "m", "value": 2}]
    app.reset()
    assert status_of() == "false"
    assert json.loads(handle(app, Request("GET", "/admin/generic", [], b"", client="127.0.0.1:1")).body)[
        "stored"] == []


def test_an_injected_fault_applies_to_a_loaded_contract_and_the_template_stores_nothing(app_with):
    app = app_with({"AddMessageToPatientPortalInbox.xml": REMEMBER, "IsActiveUser.xml": RECALL})
    response = handle(app, Request("POST", "/admin/faults", [("Content-Type", "application/json")],
                                   f'{{"kind": "soap_fault", "contract": "{ADD_2}", "text": "Inkorgen är nere"}}'
                                   .encode(), client="127.0.0.1:1"))
    assert response.status == 201
    status, body = call(app, add_message_2())
    assert status == 500 and read_answer(body).fault_string == "Inkorgen är nere"
    assert app.journal.exchanges(contract=ADD_2)[0].injected == "soap_fault"
    assert payload_of(call(app, is_active_2())[1]).findtext(f"{{{ACTIVE_2}}}status") == "false"
    app.faults.add(InjectedFault(FaultKind.HTTP_500, contract=ACTIVE_2))
    status, body = call(app, is_active_2())
    assert status == 500 and b"VP009" in body
    assert call(app, add_message_2())[0] == 200  # each fault was for one call
    assert payload_of(call(app, is_active_2())[1]).findtext(f"{{{ACTIVE_2}}}status") == "true"


def test_the_journal_pages_show_the_calls_of_a_loaded_contract(app_with):
    app = app_with({"AddMessageToPatientPortalInbox.xml": ECHO})
    call(app, add_message_2())
    exchange = app.journal.exchanges()[0]
    listed = handle(app, Request("GET", "/admin/journal", [], b"", query={"contract": ADD_2}, client="127.0.0.1:1"))
    assert listed.status == 200 and ADD_2.encode() in listed.body
    page = handle(app, Request("GET", f"/ui/journal/{exchange.id}", [], b"", client="127.0.0.1:1"))
    assert exchange.http_status == 200 and exchange.contract == ADD_2
    assert page.status == 200 and b"builtin:generic" in page.body
    assert b"AddMessageToPatientPortalInboxResponse" in page.body and b"|1&lt;/" in page.body  # the answer, counted


def test_a_template_that_fails_on_a_real_request_is_a_server_fault_naming_file_and_line(app_with):
    # valid for the made-up request the check uses (its citizen is the test personnummer), not for others
    template = (f'<IsActiveUserResponse xmlns="{ACTIVE_2}">\n'
                '  <status>{{ "true" if citizen == "191212121212" else "maybe" }}</status>\n</IsActiveUserResponse>\n')
    app = app_with({"IsActiveUser.xml": template})
    assert payload_of(call(app, is_active_2("191212121212"))[1]).findtext(f"{{{ACTIVE_2}}}status") == "true"
    status, body = call(app, is_active_2())
    fault = read_answer(body)
    assert status == 500 and fault.fault_code == "Server"
    assert "response template failed" in fault.fault_string and "IsActiveUser.xml, line 2:" in fault.fault_string
    assert "'maybe' is not an xs:boolean" in fault.fault_string


def test_the_version_of_a_shared_operation_name_is_the_one_the_template_names(app_with):
    # IsActiveUser is an operation of the built-in contract (version 1) and of the loaded one (version 2)
    app = app_with({"IsActiveUser.xml": RECALL})
    assert app.prepared["anycontract"].get(ACTIVE_2) is not None
    neither = RECALL.replace(ACTIVE_2, "{{ 'urn:x' }}")
    with pytest.raises(ConfigError, match=r"IsActiveUser.xml, line 1: 'IsActiveUser' is an operation of 2 loaded "
                                          r"contracts .*write the responder namespace"):
        app_with({"IsActiveUser.xml": neither})


BAD = {
    "bad Jinja": ("AddMessageToPatientPortalInbox.xml",
                  f'<AddMessageToPatientPortalInboxResponse xmlns="{ADD_2}">\n  <resultCode>{{{{ request.text( }}}}'
                  "</resultCode>\n</AddMessageToPatientPortalInboxResponse>\n",
                  r"AddMessageToPatientPortalInbox.xml, line 2: template syntax: unexpected '}'"),
    "unknown operation": ("AddMessage.xml", "<AddMessageResponse/>",
                          r"AddMessage.xml: no loaded contract has an operation 'AddMessage'; a template is named "
                          r"<Operation>.xml after one of: AddMessageToPatientPortalInbox, "),
    "schema-invalid result": ("AddMessageToPatientPortalInbox.xml",
                              f'<AddMessageToPatientPortalInboxResponse xmlns="{ADD_2}">\n\n'
                              "  <resultCode>{{ 'ok' }}</resultCode>\n</AddMessageToPatientPortalInboxResponse>\n",
                              r"AddMessageToPatientPortalInbox.xml, line 3: the rendered answer is not valid against "
                              r"schemas/.*AddMessageToPatientPortalInboxResponder_2.0.xsd: "
                              r"/AddMessageToPatientPortalInboxResponse/resultCode: the value 'ok' of <resultCode> "
                              r"is not one of OK, ERROR, INFO"),
    "not well-formed": ("IsActiveUser.xml", f'<IsActiveUserResponse xmlns="{ACTIVE_2}">\n<status>true</stat>\n',
                        r"IsActiveUser.xml, line 2: not well-formed XML once rendered: Opening and ending tag "
                        r"mismatch"),
    "another element": ("IsActiveUser.xml", f'<IsActiveUser xmlns="{ACTIVE_2}"><subjectOfCareId>{CITIZEN}'
                        "</subjectOfCareId></IsActiveUser>",
                        r"IsActiveUser.xml, line 1: the root element is IsActiveUser .*the answer to IsActiveUser is "
                        r"IsActiveUserResponse in namespace '" + re.escape(ACTIVE_2)),
    "misspelt template name": ("IsActivUser.xml", f'<IsActiveUserResponse xmlns="{ACTIVE_2}"/>',
                               r"IsActivUser.xml: no loaded contract has an operation 'IsActivUser' \(did you mean "
                               r"IsActiveUser.xml\?\); a template is named <Operation>.xml after one of: .*; any other "
                               r"file here must be one a template includes by this name \(a file included by a name "
                               r"the template computes goes in a subfolder"),
    "a value store() cannot keep": ("AddMessageToPatientPortalInbox.xml",
                                    '\n{% do store("b", "k", request) %}' + ECHO,
                                    r"AddMessageToPatientPortalInbox.xml, line 2: store\('b', \.\.\.\): the value "
                                    r"cannot be kept \(Object of type RequestView is not JSON serializable\); store "
                                    r"text, numbers"),
    "undefined name": ("IsActiveUser.xml", f'<IsActiveUserResponse xmlns="{ACTIVE_2}">\n\n'
                       "<status>{{ active }}</status></IsActiveUserResponse>",
                       r"IsActiveUser.xml, line 3: UndefinedError: 'active' is undefined"),
    "recalled value used wrongly": ("IsActiveUser.xml", RECALL.replace("known.thread", "known.thread.nope"),
                                    r"IsActiveUser.xml, line 4: UndefinedError: .*checked with what the other "
                                    r"templates store: 'citizens' from AddMessageToPatientPortalInbox.xml"),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_an_invalid_template_is_a_config_error_naming_file_line_and_violation(case, tmp_path, package):
    name, text, expected = BAD[case]
    files = {name: text}
    if case == "recalled value used wrongly":
        files["AddMessageToPatientPortalInbox.xml"] = REMEMBER
    folder = write_templates(tmp_path / "templates", files)
    with pytest.raises(ConfigError, match=expected) as raised:
        make_app(tmp_path, package, folder)
    assert str(folder / name) in str(raised.value)
    assert not (tmp_path / "journal.sqlite").exists()  # nothing half-loaded: no journal was opened


def test_serve_with_bad_templates_exits_2_naming_file_and_line_with_nothing_left_behind(tmp_path, package, capsys):
    folder = write_templates(tmp_path / "bad", {"IsActiveUser.xml": BAD["undefined name"][1]})
    journal = tmp_path / "journal.sqlite"
    code = main(["serve", "--port", "0", "--journal", str(journal), "--contracts", str(package),
                 "--templates", str(folder)])
    assert code == 2
    err = capsys.readouterr().err
    assert f"{folder / 'IsActiveUser.xml'}, line 3: UndefinedError: 'active' is undefined" in err
    assert not journal.exists()
    assert main(["serve", "--port", "0", "--journal", str(journal), "--templates", str(tmp_path / "none")]) == 3
    assert "no such folder of response templates" in capsys.readouterr().err


def test_serve_says_which_templates_it_answers_from(app_with):
    app = app_with({"IsActiveUser.xml": RECALL})
    said = [line for domain in app.domains for line in domain.banner(app)]
    lines = [line for line in said if "response templates" in line]
    assert len(lines) == 1 and "1 from" in lines[0] and "(IsActiveUser)" in lines[0]
    assert not [line for line in said if "warning" in line]  # its contract is routed to builtin:generic


def test_a_file_a_template_includes_may_lie_beside_it_whatever_its_suffix(app_with):
    """part.xml, not named after an operation, is not a template but a file the template includes."""
    app = app_with({"IsActiveUser.xml": f'<IsActiveUserResponse xmlns="{ACTIVE_2}">\n{{% include "part.xml" %}}'
                                        "</IsActiveUserResponse>\n", "part.xml": "  <status>true</status>\n"})
    assert [t["operation"] for t in app.prepared["anycontract"].describe()] == ["IsActiveUser"]
    assert payload_of(call(app, is_active_2())[1]).findtext(f"{{{ACTIVE_2}}}status") == "true"


def test_a_failed_answer_gives_its_counter_value_back(app_with):
    """Counters are written with the exchange that answered: a call whose template failed (a Server fault) takes
    no number, and the next answer gets the one it would have had."""
    template = (f'<AddMessageToPatientPortalInboxResponse xmlns="{ADD_2}">\n'
                '  <resultCode>{{ "OK" if citizen == "191212121212" else "ok" }}</resultCode>\n'
                '  <resultText>{{ counter("sent") }}</resultText>\n</AddMessageToPatientPortalInboxResponse>\n')
    app = app_with({"AddMessageToPatientPortalInbox.xml": template})
    text = lambda body: payload_of(body).findtext(f"{{{ADD_2}}}resultText")  # noqa: E731
    assert text(call(app, add_message_2("191212121212"))[1]) == "1"
    status, body = call(app, add_message_2())
    assert status == 500 and read_answer(body).fault_code == "Server"
    assert text(call(app, add_message_2("191212121212"))[1]) == "2"
    admin = handle(app, Request("GET", "/admin/generic", [], b"", client="127.0.0.1:1"))
    import json
    assert json.loads(admin.body)["counters"] == [{"template": "AddMessageToPatientPortalInbox.xml", "name": "sent",
                                                   "value": 2}]


def test_the_pytest_plugin_loads_packages_and_templates_named_in_the_ini_file(pytester, package):
    folder = pytester.mkdir("consumer")
    write_templates(folder / "templates", {"IsActiveUser.xml": RECALL})
    shutil.copy(make_tak(pytester.path), folder / "tak.toml")
    (folder / "pytest.ini").write_text(f"[pytest]\nmockplatform_tak = tak.toml\nmockplatform_contracts =\n"
                                       f"    {package}\nmockplatform_templates = templates\n")
    (folder / "test_it.py").write_text(f'''
import requests

def test_answered_from_the_template(mockplatform):
    body = """<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Header><LogicalAddress
      xmlns="urn:riv:itintegration:registry:1">{ADDRESS}</LogicalAddress></s:Header><s:Body><IsActiveUser
      xmlns="{ACTIVE_2}"><subjectOfCareId>{CITIZEN}</subjectOfCareId></IsActiveUser></s:Body></s:Envelope>"""
    answer = requests.post(mockplatform.vp_url, data=body.encode(), headers={{"Content-Type": "text/xml"}}, timeout=10)
    assert answer.status_code == 200 and "<status>false</status>" in answer.text
    assert mockplatform.stored() == []
''')
    result = pytester.runpytest("-p", "no:cacheprovider", "consumer")
    result.assert_outcomes(passed=1)


def test_a_template_folder_changes_nothing_for_contracts_with_a_fake_of_their_own(app_with):
    """A template for the built-in AddMessage (version 1) is checked, but the fake inbox, not the generic
    producer, answers the contract where the TAK routes it to builtin:inbox."""
    template = ECHO.replace(ADD_2, ADD_2[:-1] + "1")
    app = app_with({"AddMessageToPatientPortalInbox.xml": template})
    assert app.prepared["anycontract"].get(ADD_2[:-1] + "1") is not None
    from .soap import add_message

    status, body = call(app, add_message())
    assert status == 200 and b"|" not in body and b"<resultCode>OK</resultCode>" in body
    # and serve says at start that the template is never used
    said = [line for domain in app.domains for line in domain.banner(app) if line.startswith("warning:")]
    assert len(said) == 1 and said[0].startswith(
        f"warning: response template {app.prepared['anycontract'].folder / 'AddMessageToPatientPortalInbox.xml'} is "
        f"never used: its contract, AddMessageToPatientPortalInbox 1.0 ({ADD_2[:-1]}1), is not routed to "
        "builtin:generic in the TAK (")


def test_the_readmes_template_examples_compile_and_use_only_the_documented_api(tmp_path):
    import jinja2.meta

    from mockplatform.domains.anycontract.templates import _environment

    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")
    examples = re.findall(r"^```jinja\n(.*?)^```", readme, re.M | re.S)
    assert len(examples) == 2
    env = _environment(tmp_path)
    api = {"request", "citizen", "now", "counter", "store", "recall"}
    for text in examples:
        names = jinja2.meta.find_undeclared_variables(env.parse(text))
        assert names <= api, names
    section = readme[readme.index("## Testing a contract the platform does not know yet"):]
    section = section[:section.index("## The journal")]
    documented = ("`request.text(", "`request.all(", "`citizen`", "`now(", "`counter(", "do store(", "`recall(")
    assert [name for name in documented if name not in section] == []

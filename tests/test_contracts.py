"""Contract packages: the built-in one, official packages (folder or zip) with the pattern repair,
the served WSDL, and a real SOAP toolkit (zeep) building its client from the URL alone."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import zipfile

import pytest
import requests
import zeep
from zeep.transports import Transport

from mockplatform.contracts import load_package
from mockplatform.contracts import package as packages
from mockplatform.domains.inbox1177 import PACKAGE as INBOX_PACKAGE
from mockplatform.domains.inbox1177.names import ADD_MESSAGE_NS, IS_ACTIVE_USER_NS
from mockplatform.errors import ContractPackageError
from mockplatform.xmlsafe import parse

from .soap import ACTIVE_SMS_EMAIL, INACTIVE, INBOX, UNIT, envelope

WSDL_IS_ACTIVE = "/vp/infrastructure/eservicesupply/patientportal/IsActiveUser/1/rivtabp21"
WSDL_ADD = "/vp/infrastructure/eservicesupply/patientportal/AddMessageToPatientPortalInbox/1/rivtabp21"


def test_builtin_package_has_both_interactions_and_no_repairs():
    package = load_package(INBOX_PACKAGE)
    by_name = {i.name: i for i in package.interactions}
    assert set(by_name) == {"IsActiveUser", "AddMessageToPatientPortalInbox"}
    assert by_name["IsActiveUser"].responder_namespace == IS_ACTIVE_USER_NS
    assert by_name["IsActiveUser"].wsdl_path == WSDL_IS_ACTIVE
    assert by_name["AddMessageToPatientPortalInbox"].soap_action == f"{ADD_MESSAGE_NS}:AddMessageToPatientPortalInbox"
    assert by_name["IsActiveUser"].version == "1.0"
    assert package.repairs == []


def official_like_package(tmp_path, as_zip: bool):
    """The built-in package as Inera publishes it: with the broken ^...$ personnummer pattern."""
    root = tmp_path / "ServiceContracts_infrastructure_eservicesupply_patientportal_1.0"
    shutil.copytree(INBOX_PACKAGE, root)
    core = next((root / "schemas" / "core_components").glob("*patientportal*.xsd"))
    text = core.read_text(encoding="utf-8")
    assert "[0-9]{8}[0-9pPtTfF][0-9]{3}" in text
    core.write_text(text.replace("[0-9]{8}[0-9pPtTfF][0-9]{3}", "^[0-9]{8}[0-9pPtTfF][0-9]{3}$"), encoding="utf-8")
    if not as_zip:
        return root
    archive = tmp_path / "ServiceContracts_infrastructure_eservicesupply_patientportal_1.0.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for path in root.rglob("*"):
            zf.write(path, path.relative_to(tmp_path).as_posix())
    return archive


@pytest.mark.parametrize("as_zip", [False, True])
def test_official_package_pattern_is_repaired_and_reported(tmp_path, as_zip):
    source = official_like_package(tmp_path, as_zip)
    package = load_package(source)
    assert len(package.repairs) == 1
    repair = package.repairs[0]
    assert repair.type_name == "SubjectOfCareIdType"
    assert repair.before == "^[0-9]{8}[0-9pPtTfF][0-9]{3}$" and repair.after == "[0-9]{8}[0-9pPtTfF][0-9]{3}"
    from mockplatform.contracts.validation import SchemaValidator

    interaction = next(i for i in package.interactions if i.name == "IsActiveUser")
    validator = SchemaValidator(interaction)
    good = parse(envelope(f'<IsActiveUser xmlns="{IS_ACTIVE_USER_NS}"><subjectOfCareId>191212121212'
                          "</subjectOfCareId></IsActiveUser>"))[1][0]
    assert validator.is_valid(good)
    if not as_zip:  # the user's own files are never changed
        assert "^[0-9]{8}" in next((source / "schemas" / "core_components").glob("*patientportal*")).read_text()


def test_not_a_package_is_a_clear_error(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(ContractPackageError, match="schemas"):
        load_package(tmp_path / "empty")
    bad = tmp_path / "x.zip"
    with zipfile.ZipFile(bad, "w") as zf:
        zf.writestr("readme.txt", "hello")
    with pytest.raises(ContractPackageError, match="schemas/interactions"):
        load_package(bad)


def scheduling_package(tmp_path):
    """A package of another domain, to show that loading is generic."""
    root = tmp_path / "ServiceContracts_crm_scheduling_1.1" / "schemas"
    inter = root / "interactions" / "GetAllCareTypesInteraction"
    inter.mkdir(parents=True)
    (root / "core_components").mkdir()
    (root / "core_components" / "itintegration_registry_1.0.xsd").write_text(
        '<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema" targetNamespace="urn:riv:itintegration:registry:1" '
        'elementFormDefault="qualified"><xs:element name="LogicalAddress" type="xs:string"/></xs:schema>')
    rns = "urn:riv:crm:scheduling:GetAllCareTypesResponder:1"
    (inter / "GetAllCareTypesResponder_1.1.xsd").write_text(
        f'<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema" targetNamespace="{rns}" xmlns="{rns}" '
        'elementFormDefault="qualified"><xs:element name="GetAllCareTypes"><xs:complexType><xs:sequence>'
        '<xs:element name="healthcareFacility" type="xs:string"/></xs:sequence></xs:complexType></xs:element>'
        '<xs:element name="GetAllCareTypesResponse"><xs:complexType><xs:sequence/></xs:complexType></xs:element>'
        "</xs:schema>")
    wns = "urn:riv:crm:scheduling:GetAllCareTypes:1:rivtabp21"
    (inter / "GetAllCareTypesInteraction_1.1_RIVTABP21.wsdl").write_text(f"""<?xml version="1.0"?>
<wsdl:definitions xmlns:wsdl="http://schemas.xmlsoap.org/wsdl/" xmlns:soap="http://schemas.xmlsoap.org/wsdl/soap/"
  xmlns:xs="http://www.w3.org/2001/XMLSchema" xmlns:tjsr="{rns}" xmlns:tns="{wns}"
  xmlns:itr="urn:riv:itintegration:registry:1" name="GetAllCareTypesInteraction" targetNamespace="{wns}">
  <wsdl:types><xs:schema targetNamespace="{wns}">
    <xs:import schemaLocation="GetAllCareTypesResponder_1.1.xsd" namespace="{rns}"/>
    <xs:import schemaLocation="../../core_components/itintegration_registry_1.0.xsd"
      namespace="urn:riv:itintegration:registry:1"/></xs:schema></wsdl:types>
  <wsdl:message name="GetAllCareTypesRequest"><wsdl:part name="LogicalAddress" element="itr:LogicalAddress"/>
    <wsdl:part name="parameters" element="tjsr:GetAllCareTypes"/></wsdl:message>
  <wsdl:message name="GetAllCareTypesResponse"><wsdl:part name="parameters" element="tjsr:GetAllCareTypesResponse"/>
  </wsdl:message>
  <wsdl:portType name="GetAllCareTypesResponderInterface"><wsdl:operation name="GetAllCareTypes">
    <wsdl:input message="tns:GetAllCareTypesRequest"/><wsdl:output message="tns:GetAllCareTypesResponse"/>
  </wsdl:operation></wsdl:portType>
  <wsdl:binding name="GetAllCareTypesResponderBinding" type="tns:GetAllCareTypesResponderInterface">
    <soap:binding style="document" transport="http://schemas.xmlsoap.org/soap/http"/>
    <wsdl:operation name="GetAllCareTypes"><soap:operation soapAction="{rns}:GetAllCareTypes" style="document"/>
      <wsdl:input><soap:header use="literal" message="tns:GetAllCareTypesRequest" part="LogicalAddress"/>
        <soap:body use="literal" parts="parameters"/></wsdl:input>
      <wsdl:output><soap:body use="literal"/></wsdl:output></wsdl:operation></wsdl:binding>
  <wsdl:service name="GetAllCareTypesResponderService"><wsdl:port name="GetAllCareTypesResponderPort"
    binding="tns:GetAllCareTypesResponderBinding"><soap:address location="http://tempuri.org"/></wsdl:port>
  </wsdl:service></wsdl:definitions>""")
    return root.parent


def test_loaded_package_registers_its_interactions_and_serves_its_wsdl(start_platform, tmp_path):
    p = start_platform(contracts=[scheduling_package(tmp_path)])
    status = p.session.get(p.url + "/status").json()
    assert "urn:riv:crm:scheduling:GetAllCareTypesResponder:1" in {c["namespace"] for c in status["Contracts"]}
    r = p.session.get(p.url + "/vp/crm/scheduling/GetAllCareTypes/1/rivtabp21?wsdl")
    assert r.status_code == 200 and b"GetAllCareTypesInteraction" in r.content


@pytest.mark.parametrize("path", [WSDL_IS_ACTIVE, WSDL_ADD])
def test_wsdl_is_served_with_schema_locations_pointing_back(platform, path):
    r = platform.session.get(platform.url + path + "?wsdl")
    assert r.status_code == 200
    assert r.headers["Content-Type"].startswith("text/xml")
    assert f'location="{platform.url}{path}"'.encode() in r.content
    assert f'schemaLocation="{platform.url}{path}?xsd='.encode() in r.content
    root = parse(r.content)
    for imp in root.iter("{http://www.w3.org/2001/XMLSchema}import"):
        xsd = platform.session.get(imp.get("schemaLocation"))
        assert xsd.status_code == 200, imp.get("schemaLocation")
        parse(xsd.content)


def test_unknown_wsdl_path_lists_the_available_ones(platform):
    r = platform.session.get(platform.url + "/vp/no/such/Contract/1/rivtabp21?wsdl")
    assert r.status_code == 500
    assert f"{platform.url}{WSDL_IS_ACTIVE}?wsdl" in r.text and f"{platform.url}{WSDL_ADD}?wsdl" in r.text


def test_xsd_outside_the_package_is_refused(platform):
    r = platform.session.get(platform.url + WSDL_IS_ACTIVE + "?xsd=../../../../../../etc/passwd")
    assert r.status_code == 404


def zeep_client(platform, path):
    session = requests.Session()
    return zeep.Client(platform.url + path + "?wsdl", transport=Transport(session=session))


def test_zeep_builds_clients_from_the_served_wsdl_and_calls_both_operations(platform):
    header = {"LogicalAddress": INBOX}
    is_active = zeep_client(platform, WSDL_IS_ACTIVE)
    answer = is_active.service.IsActiveUser(subjectOfCareId=ACTIVE_SMS_EMAIL, _soapheaders=header)
    assert answer.status is True
    assert answer.activeNotificationMethods == ["SMS", "Email"]
    assert is_active.service.IsActiveUser(subjectOfCareId=INACTIVE, _soapheaders=header).status is False

    add = zeep_client(platform, WSDL_ADD)
    answer = add.service.AddMessageToPatientPortalInbox(
        subjectOfCareId=ACTIVE_SMS_EMAIL,
        message={
            "organisationUnit": {"unitId": UNIT, "unitName": "Vårdcentralen Exempelby"},
            "messageThreadId": "zeep-1",
            "messageDescription": "Från zeep",
            "messageText": "Hej",
        },
        notify=True,
        sourceSystem="SE2321000016-7XQA",
        _soapheaders=header,
    )
    assert answer.resultCode == "OK"
    assert answer.messageThreadId == "zeep-1"
    assert answer.notificationSent == ["SMS", "Email"]
    exchanges = platform.app.journal.exchanges()
    assert [e.http_status for e in exchanges] == [200, 200, 200]


def test_a_flood_of_violations_is_listed_up_to_a_cap_and_counted():
    from mockplatform.contracts import ContractRegistry
    from mockplatform.envelope import read_envelope

    from .soap import is_active_user

    registry = ContractRegistry()
    registry.add(load_package(INBOX_PACKAGE))
    many = b" ".join(b"a%d='1'" % i for i in range(80))
    body = is_active_user().replace(b"<IsActiveUser ", b"<IsActiveUser " + many + b" ")
    validator = registry.get(read_envelope(body).contract).validator
    findings = validator.findings(read_envelope(body).payload)
    assert len(findings) == 51
    assert "80 schema violations in all" in findings[-1].message_en
    assert all(f.rule_id == "SCHEMA" for f in findings)


def test_the_private_copies_of_processes_that_are_gone_are_removed(tmp_path, monkeypatch):
    """A process killed before it could remove its copy of a package leaves it behind: the next process to load
    a package removes it (and leaves the copies of live processes alone)."""
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    monkeypatch.setattr(packages, "_swept", False)
    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    left = tmp_path / f"mockplatform-contracts-{gone.stdout.strip()}-abc"
    mine = tmp_path / f"mockplatform-contracts-{os.getppid()}-def"  # pytest's parent: alive
    for folder in (left, mine):
        (folder / "schemas").mkdir(parents=True)
    loaded = load_package(INBOX_PACKAGE)
    assert not left.exists() and mine.exists()
    assert loaded.root.is_relative_to(tmp_path) and f"-{os.getpid()}-" in loaded.root.name

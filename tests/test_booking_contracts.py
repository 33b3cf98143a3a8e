"""The built-in release packages of web booking (crm:scheduling 1.1) and the engagement index (1.0): they load
without pattern repairs, lxml and xmlschema compile every schema, a request file for each operation passes the
platform's validator and the files with a classic mistake do not, and zeep builds every client from the WSDL
alone (from the file and as the platform serves it), rendering requests the validator accepts."""

from __future__ import annotations

from pathlib import Path

import pytest
import requests
import xmlschema
import zeep
from lxml import etree
from zeep.transports import Transport

import mockplatform
from mockplatform import ns
from mockplatform.contracts import ContractRegistry, Interaction, load_package
from mockplatform.envelope import read_envelope
from mockplatform.xmlsafe import parse_file

from .soap import envelope

DOMAINS = Path(mockplatform.__file__).resolve().parent / "domains"
SCHEDULING = DOMAINS / "webbooking" / "contracts" / "crm_scheduling"
INDEX = DOMAINS / "engagementindex" / "contracts" / "engagementindex"
HEADERS_XSD = SCHEDULING / "schemas" / "core_components" / "interoperability_headers_1.0.xsd"
REQUESTS = Path(__file__).parent / "data" / "booking_requests"

SCHEDULING_OPERATIONS = (
    "GetSubjectOfCareSchedule", "GetBookingDetails", "CancelBooking", "UpdateBooking", "GetAvailableDates",
    "GetAvailableTimeslots", "GetAllHealthcareFacilities", "MakeBooking", "GetAllTimeTypes", "GetAllCareTypes",
    "GetAllPerformers",
)
INDEX_OPERATIONS = ("Update", "FindContent", "ProcessNotification", "GetUpdates")
OPERATIONS = SCHEDULING_OPERATIONS + INDEX_OPERATIONS
HEADERS_NS = "urn:riv:interoperability:headers:1"

UNIT = "SE2321000016-A1B2"  # the care unit owning the schedule: crm:scheduling's logical address
INDEX_OWNER = "5565594230"  # Inera AB: the national index's logical address
ACTOR = {"actorId": "191212121212", "actorType": "subject_of_care"}


def responder_namespace(operation: str) -> str:
    if operation in SCHEDULING_OPERATIONS:
        return f"urn:riv:crm:scheduling:{operation}Responder:1"
    return f"urn:riv:itintegration:engagementindex:{operation}Responder:1"


@pytest.fixture(scope="module")
def registry() -> ContractRegistry:
    reg = ContractRegistry()
    reg.add(load_package(SCHEDULING))
    reg.add(load_package(INDEX))
    return reg


def interaction(registry: ContractRegistry, operation: str) -> Interaction:
    loaded = registry.get(responder_namespace(operation))
    assert loaded is not None, operation
    return loaded.interaction


def headers_xml(operation: str) -> str:
    """The SOAP headers a consumer sends: LogicalAddress, and for crm:scheduling the Actor too."""
    if operation in INDEX_OPERATIONS:
        return f'<reg:LogicalAddress xmlns:reg="{ns.REGISTRY}">{INDEX_OWNER}</reg:LogicalAddress>'
    return (f'<reg:LogicalAddress xmlns:reg="{ns.REGISTRY}">{UNIT}</reg:LogicalAddress>'
            f'<hdr:Actor xmlns:hdr="{HEADERS_NS}"><hdr:actorId>{ACTOR["actorId"]}</hdr:actorId>'
            f'<hdr:actorType>{ACTOR["actorType"]}</hdr:actorType></hdr:Actor>')


def soap_headers(operation: str) -> dict:
    if operation in INDEX_OPERATIONS:
        return {"LogicalAddress": INDEX_OWNER}
    return {"LogicalAddress": UNIT, "Actor": ACTOR}


def shape(element: etree._Element) -> list[tuple[str, str]]:
    """Every element's qualified name and text, in document order: what a request says, whatever its prefixes."""
    return [(e.tag, (e.text or "").strip()) for e in element.iter() if isinstance(e.tag, str)]


def schema_findings(registry: ContractRegistry, body: bytes) -> list:
    env = read_envelope(body)
    loaded = registry.get(env.contract)
    assert loaded is not None, env.contract
    return loaded.validator.findings(env.payload)


# -- the packages ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("source, count", [(SCHEDULING, 11), (INDEX, 4)])
def test_each_package_loads_without_pattern_repairs(source, count):
    package = load_package(source)
    assert package.repairs == []
    assert len(package.interactions) == count


def test_the_registry_knows_the_15_interactions_with_namespace_soap_action_version_and_wsdl_path(registry):
    assert len(registry.interactions) == 15
    for operation in OPERATIONS:
        found = interaction(registry, operation)
        rns = responder_namespace(operation)
        domain = "crm:scheduling" if operation in SCHEDULING_OPERATIONS else "itintegration:engagementindex"
        assert found.name == operation
        assert found.responder_namespace == rns
        assert found.soap_action == f"{rns}:{operation}"
        assert found.version == ("1.1" if operation in SCHEDULING_OPERATIONS else "1.0")
        assert found.wsdl_namespace == f"urn:riv:{domain}:{operation}:1:rivtabp21"
        assert found.wsdl_path == f"/vp/{domain.replace(':', '/')}/{operation}/1/rivtabp21"
        assert (found.request_element, found.response_element) == (operation, operation + "Response")


SCHEMA_FILES = sorted([*SCHEDULING.rglob("*.xsd"), *INDEX.rglob("*.xsd")])
CONTRACT_FILES = sorted([*SCHEMA_FILES, *SCHEDULING.rglob("*.wsdl"), *INDEX.rglob("*.wsdl")])


@pytest.mark.parametrize("path", SCHEMA_FILES, ids=lambda p: p.name)
def test_lxml_and_xmlschema_compile_every_schema_deterministic_content_models_included(path):
    """Both refuse a content model that breaks Unique Particle Attribution (an optional extension element right
    before an xs:any ##other), so compiling is the check."""
    etree.XMLSchema(parse_file(path))
    xmlschema.XMLSchema(str(path), allow="local", defuse="always")


@pytest.mark.parametrize("path", CONTRACT_FILES, ids=lambda p: p.name)
def test_every_file_says_it_is_written_by_the_project_not_the_official_one(path):
    comment = next(node for node in parse_file(path).getroot().itersiblings(preceding=True)
                   if isinstance(node, etree._Comment))
    text = " ".join(comment.text.split())
    assert "Written by the mockplatform project" in text and "not the official Inera file" in text


def test_scheduling_wsdls_carry_logical_address_and_actor_headers_and_index_wsdls_no_actor(registry):
    for operation in OPERATIONS:
        found = interaction(registry, operation)
        root = parse_file(found.package.file_path(found.wsdl_file)).getroot()
        headers = [h.get("part") for h in root.iter(f"{{{ns.WSDL_SOAP}}}header")]
        assert headers == (["LogicalAddress", "Actor"] if operation in SCHEDULING_OPERATIONS
                           else ["LogicalAddress"]), operation


# -- requests as files --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("operation", OPERATIONS)
def test_the_valid_request_of_each_operation_passes_the_validator(registry, operation):
    payload = (REQUESTS / f"{operation}.xml").read_text(encoding="utf-8")
    body = envelope(payload, header_xml=headers_xml(operation))
    assert read_envelope(body).contract == responder_namespace(operation)
    assert schema_findings(registry, body) == []


INVALID = {  # file stem: (the path of the first finding, what its message says)
    "GetSubjectOfCareSchedule.personnummer-with-dash": (
        "/GetSubjectOfCareSchedule/subject_of_care", "'19121212-1212' of <subject_of_care> does not match the pattern"),
    "MakeBooking.start-time-12-digits": (
        "/MakeBooking/requestedTimeslot/startTimeInclusive",
        "'202703150930' of <startTimeInclusive> does not match the pattern"),
    "UpdateBooking.isInvitation-capitalised": (
        "/UpdateBooking/requestedTimeslot/isInvitation", "'True' is not an xs:boolean value"),
    "GetAvailableDates.subject-of-care-in-1.0-namespace": (
        "/GetAvailableDates/subject_of_care",
        "expects it in namespace urn:riv:crm:scheduling:GetAvailableDatesResponder:1.1"),
    "MakeBooking.first-name-in-core-namespace": (
        "/MakeBooking/subject_of_care_info/firstName", "expects it in namespace urn:riv:crm:scheduling:1.1"),
    "Update.no-engagement-transaction": (
        "/Update/engagementTransaction", "<Update> is missing <engagementTransaction>"),
    "GetBookingDetails.missing-healthcare-facility": (
        "/GetBookingDetails/bookingId", "<GetBookingDetails> is missing <healthcare_facility>"),
    "FindContent.missing-service-domain": ("/FindContent/categorization", "<FindContent> is missing <serviceDomain>"),
}
INVALID_FILES = sorted(p for p in (REQUESTS / "invalid").glob("*.xml") if not p.name.startswith("Actor."))


def invalid_body(case: str) -> bytes:
    operation = case.partition(".")[0]
    return envelope((REQUESTS / "invalid" / f"{case}.xml").read_text(encoding="utf-8"),
                    header_xml=headers_xml(operation))


def test_every_invalid_file_has_its_expected_finding():
    assert set(INVALID) == {p.stem for p in INVALID_FILES}


@pytest.mark.parametrize("case", sorted(INVALID))
def test_every_request_with_a_classic_mistake_is_refused(registry, case):
    findings = schema_findings(registry, invalid_body(case))
    assert findings and all(f.rule_id == "SCHEMA" and f.hint for f in findings)


@pytest.mark.parametrize("case", sorted(INVALID))
def test_the_finding_names_the_mistake_and_where_it_is(registry, case):
    path, message = INVALID[case]
    first = schema_findings(registry, invalid_body(case))[0]
    assert first.path == path
    assert message in first.message_en


# The element after a missing one is in the content model, in its own namespace; that its name is also declared in
# the core namespace (bookingId in TimeslotType, categorization in EngagementType) does not make it misplaced.
MISSING_BEFORE = {  # case: (missing, the element after it, the order in the request element)
    "GetBookingDetails.missing-healthcare-facility": ("healthcare_facility", "bookingId",
                                                      "healthcare_facility, bookingId"),
    "FindContent.missing-service-domain": ("serviceDomain", "categorization",
                                           "registeredResidentIdentification, serviceDomain, categorization, "),
}


@pytest.mark.parametrize("case", sorted(MISSING_BEFORE))
def test_a_missing_element_is_named_not_the_next_one_in_a_wrong_namespace(registry, case):
    missing, after, order = MISSING_BEFORE[case]
    where = case.partition(".")[0]
    [finding] = schema_findings(registry, invalid_body(case))
    assert finding.message_en == f"<{where}> is missing <{missing}>, which comes before <{after}>"
    assert finding.message_sv == f"<{where}> saknar <{missing}>, som ska stå före <{after}>"
    assert finding.hint.startswith(f"add <{missing}> before <{after}> (the order in <{where}>: {order}")
    assert finding.hint_sv.startswith(f"lägg till <{missing}> före <{after}> (ordningen i <{where}>: {order}")
    assert "namespace" not in finding.message_en + finding.hint and "namnrymd" not in finding.message_sv


SCHEDULING_CORE = "urn:riv:crm:scheduling:1"


def test_a_wrong_namespace_hint_says_which_children_of_the_type_the_schema_declares_in_the_right_one(registry):
    """No other contract's note (the inbox's message, organisationUnit and ssoLink): what this schema declares."""
    [dates] = schema_findings(registry, invalid_body("GetAvailableDates.subject-of-care-in-1.0-namespace"))
    extension = "urn:riv:crm:scheduling:GetAvailableDatesResponder:1.1"
    assert dates.hint == (f"put <subject_of_care> in namespace {extension}, not "
                          f"{responder_namespace('GetAvailableDates')} (of the children of <GetAvailableDates>, of "
                          f"type GetAvailableDatesType, the contract declares only <subject_of_care> in namespace "
                          f"{extension})")
    assert dates.hint_sv == (f"lägg <subject_of_care> i namnrymden {extension}, inte i "
                             f"{responder_namespace('GetAvailableDates')} (av barnen till <GetAvailableDates>, av "
                             f"typen GetAvailableDatesType, deklarerar kontraktet bara <subject_of_care> i namnrymden "
                             f"{extension})")
    first, last = schema_findings(registry, invalid_body("MakeBooking.first-name-in-core-namespace"))
    for finding, name in ((first, "firstName"), (last, "lastName")):  # also after the first went wrong
        assert finding.hint == (f"put <{name}> in namespace {SCHEDULING_CORE}.1, not {SCHEDULING_CORE} (of the "
                                "children of <subject_of_care_info>, of type SubjectOfCareType, the contract declares "
                                f"<firstName>, <middleName> and <lastName> in namespace {SCHEDULING_CORE}.1)")
        assert finding.hint_sv == (f"lägg <{name}> i namnrymden {SCHEDULING_CORE}.1, inte i {SCHEDULING_CORE} (av "
                                   "barnen till <subject_of_care_info>, av typen SubjectOfCareType, deklarerar "
                                   f"kontraktet <firstName>, <middleName> och <lastName> i namnrymden "
                                   f"{SCHEDULING_CORE}.1)")
        assert finding.message_sv.startswith(f"elementet <{name}> ligger i namnrymden {SCHEDULING_CORE}, men ")


def test_a_name_only_declared_elsewhere_is_told_where_the_contract_declares_it(registry):
    """Not in the content model at all, but declared by that name in one other namespace: that namespace, and the
    type declaring it there."""
    body = invalid_body("GetBookingDetails.missing-healthcare-facility").replace(
        b"<bookingId>", b"<healthcare_facility>SE2321000016-A1B2</healthcare_facility><email>a@b.se</email><bookingId>")
    [finding] = schema_findings(registry, body)
    assert finding.path == "/GetBookingDetails/email"
    assert finding.message_en.endswith(f"but the contract expects it in namespace {SCHEDULING_CORE}")
    assert finding.hint.endswith("(the contract declares <email> in the core namespace as a child of type "
                                 "SubjectOfCareType)")
    assert finding.hint_sv.endswith("(kontraktet deklarerar <email> i kärnnamnrymden (core) som barn till typen "
                                    "SubjectOfCareType)")


def test_the_actor_header_schema_takes_the_two_actor_types_only():
    schema = xmlschema.XMLSchema(str(HEADERS_XSD), allow="local", defuse="always")
    for actor_type in ("subject_of_care", "subject_of_care_agent"):
        good = (f'<Actor xmlns="{HEADERS_NS}"><actorId>191212121212</actorId><actorType>{actor_type}</actorType>'
                "</Actor>")
        assert schema.is_valid(good)
    errors = list(schema.iter_errors(str(REQUESTS / "invalid" / "Actor.actor-type-wrong.xml")))
    assert len(errors) == 1 and "citizen" in str(errors[0])


# -- zeep ------------------------------------------------------------------------------------------------------------


def request_from_file(client: zeep.Client, operation: str) -> tuple[etree._Element, dict]:
    """The operation's request file, and the same request as zeep's keyword arguments (zeep reads the file with the
    WSDL's types; strict, so an element the WSDL does not know fails here)."""
    payload = parse_file(REQUESTS / f"{operation}.xml").getroot()
    value = client.get_element(f"{{{responder_namespace(operation)}}}{operation}").parse(payload, client.wsdl.types)
    return payload, {key: value[key] for key in value}


def check_rendered(registry: ContractRegistry, operation: str, message: etree._Element,
                   payload: etree._Element | None = None) -> None:
    """zeep's request: the validator takes its body (the same request as the file, when given), and its header
    holds LogicalAddress, and Actor (valid by the header schema) for crm:scheduling only."""
    body = etree.tostring(message)
    env = read_envelope(body)
    assert env.contract == responder_namespace(operation)
    assert registry.get(env.contract).validator.findings(env.payload) == []
    if payload is not None:
        assert shape(env.payload) == shape(payload)
    header = message.find(f"{{{ns.SOAP11}}}Header")
    tags = [child.tag for child in header]
    if operation in SCHEDULING_OPERATIONS:
        assert tags == [f"{{{ns.REGISTRY}}}LogicalAddress", f"{{{HEADERS_NS}}}Actor"]
        assert env.logical_address == UNIT
        schema = xmlschema.XMLSchema(str(HEADERS_XSD), allow="local", defuse="always")
        schema.validate(header[1])
        assert [(e.tag.partition("}")[2], e.text) for e in header[1]] == list(ACTOR.items())
    else:
        assert tags == [f"{{{ns.REGISTRY}}}LogicalAddress"]
        assert env.logical_address == INDEX_OWNER


@pytest.mark.parametrize("operation", OPERATIONS)
def test_zeep_builds_the_client_from_the_wsdl_file_and_renders_a_request_the_validator_accepts(registry, operation):
    found = interaction(registry, operation)
    client = zeep.Client(wsdl=str(found.package.file_path(found.wsdl_file)), settings=zeep.Settings(strict=True))
    binding = next(iter(client.wsdl.bindings.values()))
    assert binding.get(operation).soapaction == found.soap_action
    payload, kwargs = request_from_file(client, operation)
    message = client.create_message(client.service, operation, **kwargs, _soapheaders=soap_headers(operation))
    check_rendered(registry, operation, message, payload)


def test_zeep_takes_the_extension_elements_as_plain_keyword_arguments(registry):
    """A consumer writes the 1.1 extension elements (subject_of_care, firstName, isInvitation) like any other."""
    found = interaction(registry, "MakeBooking")
    client = zeep.Client(wsdl=str(found.package.file_path(found.wsdl_file)), settings=zeep.Settings(strict=True))
    message = client.create_message(
        client.service, "MakeBooking",
        healthcare_facility_med=UNIT,
        requestedTimeslot={"startTimeInclusive": "20270315093000", "endTimeExclusive": "20270315100000",
                           "healthcare_facility": UNIT, "bookingId": "BK-2027-004711",
                           "subject_of_care": "191212121212", "timeTypeID": "TT-17", "isInvitation": True},
        subject_of_care_info={"firstName": "Tolvan", "lastName": "Tolvansson"},
        _soapheaders=soap_headers("MakeBooking"),
    )
    check_rendered(registry, "MakeBooking", message)
    timeslot = message.find(f".//{{{responder_namespace('MakeBooking')}}}requestedTimeslot")
    assert timeslot[-1].tag == "{urn:riv:crm:scheduling:1.1}isInvitation" and timeslot[-1].text == "true"

    found = interaction(registry, "GetAllTimeTypes")
    client = zeep.Client(wsdl=str(found.package.file_path(found.wsdl_file)), settings=zeep.Settings(strict=True))
    message = client.create_message(client.service, "GetAllTimeTypes", healthcare_facility=UNIT,
                                    careTypeIDs=["CT-3", "CT-8"], subject_of_care="191212121212",
                                    _soapheaders=soap_headers("GetAllTimeTypes"))
    check_rendered(registry, "GetAllTimeTypes", message)
    extension = "urn:riv:crm:scheduling:GetAllTimeTypesResponder:1.1"
    assert [e.tag for e in read_envelope(etree.tostring(message)).payload] == [
        f"{{{responder_namespace('GetAllTimeTypes')}}}healthcare_facility", f"{{{extension}}}careTypeIDs",
        f"{{{extension}}}careTypeIDs", f"{{{extension}}}subject_of_care"]


def test_zeep_builds_every_client_from_the_wsdl_the_platform_serves(start_platform, registry):
    platform = start_platform(contracts=[SCHEDULING, INDEX])
    transport = Transport(session=requests.Session())
    for operation in OPERATIONS:
        path = interaction(registry, operation).wsdl_path
        client = zeep.Client(platform.url + path + "?wsdl", transport=transport, settings=zeep.Settings(strict=True))
        payload, kwargs = request_from_file(client, operation)
        message = client.create_message(client.service, operation, **kwargs, _soapheaders=soap_headers(operation))
        check_rendered(registry, operation, message, payload)

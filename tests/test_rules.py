"""The 1177-inbox rule profile: for every rule a request that breaks it and one that does not.

Exchanges are built directly (no server): the rules only read what the journal recorded.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from mockplatform import domains, ns
from mockplatform.contracts import ContractRegistry, load_package
from mockplatform.domains.inbox1177 import PACKAGE as INBOX_PACKAGE
from mockplatform.domains.inbox1177.names import ADD_MESSAGE_NS, IS_ACTIVE_USER_NS
from mockplatform.domains.inbox1177.view import read_inbox_view as view_of
from mockplatform.errors import MockplatformError
from mockplatform.findings import Finding, Severity
from mockplatform.fixtures import load_fixtures
from mockplatform.journal import Exchange
from mockplatform.personnummer import with_check_digit
from mockplatform.rules import Profile, RuleContext

from . import soap
from .soap import ACTIVE_SMS_EMAIL, CONSUMER, INBOX, OTHER_CONSUMER, SYSTEM_ID, UNIT

T0 = datetime(2024, 5, 2, 8, 0, 0, tzinfo=UTC)
SSO = (f'<c:ssoLink><c:systemId>{SYSTEM_ID}</c:systemId><c:text>Logga in</c:text>'
       "<c:queryString>id=1</c:queryString><c:type>NewTarget</c:type></c:ssoLink>")
DOCBOOK_TEXT = '<article><para>Svara på enkäten <ulink url="https://e.invalid/x">här</ulink>.</para></article>'


@pytest.fixture(scope="module")
def registry() -> ContractRegistry:
    reg = ContractRegistry()
    reg.add(load_package(INBOX_PACKAGE))
    return reg


@pytest.fixture
def ctx(registry) -> RuleContext:
    return domains.profile("1177-inbox").context(load_fixtures(), registry)


@pytest.fixture(scope="module")
def profile() -> Profile:
    return domains.profile("1177-inbox")


_ids = iter(range(1, 10**9))


def exchange(body: bytes, seconds: float = 0.0, status: int = 200, response: bytes = b"", **kw) -> Exchange:
    fields = dict(
        time=(T0 + timedelta(seconds=seconds)).isoformat(timespec="microseconds"), duration_ms=3.0,
        client="127.0.0.1", method="POST", path="/vp/infrastructure/eservicesupply/patientportal",
        request_headers=[("Content-Type", "text/xml")], request_body=body, http_status=status,
        response_headers=[], response_body=response, consumer=CONSUMER, id=next(_ids),
    )
    fields.update(kw)
    return Exchange(**fields)


def request_findings(profile: Profile, ctx: RuleContext, body: bytes, **kw) -> list[Finding]:
    return list(profile.iter_request_findings(view_of(exchange(body, **kw)), ctx))


def ids(profile: Profile, ctx: RuleContext, body: bytes, **kw) -> set[str]:
    return {f.rule_id for f in request_findings(profile, ctx, body, **kw)}


def only(profile: Profile, ctx: RuleContext, rule_id: str, body: bytes, **kw) -> Finding:
    found = [f for f in request_findings(profile, ctx, body, **kw) if f.rule_id == rule_id]
    assert len(found) == 1, found
    return found[0]


def journal_ids(profile: Profile, ctx: RuleContext, exchanges: list[Exchange]) -> list[tuple[int, str]]:
    views = [view_of(e) for e in exchanges]
    return [(i, f.rule_id) for i, f in profile.iter_journal_findings(views, ctx)]


def soap_answer(payload: str) -> bytes:
    return f'<s:Envelope xmlns:s="{ns.SOAP11}"><s:Body>{payload}</s:Body></s:Envelope>'.encode()


def active_answer(status: bool) -> bytes:
    return soap_answer(f'<IsActiveUserResponse xmlns="{IS_ACTIVE_USER_NS}"><status>{str(status).lower()}</status>'
                       "</IsActiveUserResponse>")


OK_ANSWER = soap_answer(f'<AddMessageToPatientPortalInboxResponse xmlns="{ADD_MESSAGE_NS}"><resultCode>OK'
                        "</resultCode></AddMessageToPatientPortalInboxResponse>")


def pnr(n: int) -> str:
    return with_check_digit(f"19800101{n:03d}")


# -- the catalogue ------------------------------------------------------------------------------


def test_the_profile_has_a_stable_catalogue(profile):
    assert profile.id == "1177-inbox"
    assert [r.id for r in profile.rules] == [
        "RIVTA-SOAP-ENVELOPE", "RIVTA-LOGICAL-ADDRESS", "RIVTA-BP20-ADDRESS", "RIVTA-CONTRACT-NAMESPACE", "SCHEMA",
        "INBOX-SOURCE-SYSTEM", "INBOX-MESSAGE-DESCRIPTION", "INBOX-UNIT-CONNECTED", "PP-NOTIFY-NEEDS-SOURCE-SYSTEM",
        "PP-SUBJECT-OF-CARE-ID", "PP-SUBJECT-OF-CARE-ID-RESERVNUMMER", "INBOX-DOCBOOK", "INBOX-SSO-NEEDS-DOCBOOK",
        "INBOX-SSO-SYSTEM-ID",
        "PP-ACTIVE-USER-CHECKED", "PP-RETRY-BACKOFF", "PP-BATCH-SIZE", "INBOX-GENERAL-INFORMATION",
    ]
    for rule in profile.rules:
        assert rule.title_en and rule.title_sv and rule.source
        assert rule.scope in ("request", "journal")
        if rule.scope == "journal":
            assert rule.severity is Severity.WARNING


@pytest.mark.parametrize("body", [soap.add_message(), soap.is_active_user(),
                                  soap.add_message(text=DOCBOOK_TEXT, sso=SSO, notify=True, thread_id="t-1")])
def test_a_correct_request_has_no_findings(profile, ctx, body):
    assert request_findings(profile, ctx, body) == []


BROKEN = [
    soap.add_message(soap_ns=ns.SOAP12),
    b"not xml",
    soap.add_message(address=UNIT, source_system=None, description=" ", unit_id="SE-NOPE", notify=True,
                     pnr="191212121213", text="<article><para><emphasis>x</emphasis></para></article>",
                     sso="<c:ssoLink><c:systemId>NOPE</c:systemId><c:text>t</c:text><c:type>Widget</c:type>"
                         "</c:ssoLink>", message_ns=ADD_MESSAGE_NS),
    soap.add_message(wsa=True, sso=SSO).replace(b"Responder:1", b"Responder:1x"),
]


@pytest.mark.parametrize("body", BROKEN)
def test_every_finding_says_what_to_fix_in_both_languages(profile, ctx, body):
    catalogue = {r.id: r for r in profile.rules}
    findings = request_findings(profile, ctx, body)
    assert findings
    for f in findings:
        assert f.rule_id in catalogue
        assert f.severity is catalogue[f.rule_id].severity
        assert f.message_en and f.message_sv and f.source, f
        assert f.path and f.path.startswith("/Envelope"), f
        assert f.hint and f.message_sv != f.message_en, f  # schema findings too: every violation has a hint


# -- which exchanges are judged -------------------------------------------------------------------


def test_only_posts_under_vp_are_judged(profile, ctx):
    assert ids(profile, ctx, b"junk", method="GET") == set()
    assert ids(profile, ctx, b"junk", path="/other") == set()
    assert ids(profile, ctx, b"junk", path="/vp") == {"RIVTA-SOAP-ENVELOPE"}


def test_a_consumer_given_in_the_context_selects_its_exchanges(profile, ctx):
    ctx.consumer = OTHER_CONSUMER
    assert ids(profile, ctx, b"junk") == set()
    assert ids(profile, ctx, b"junk", consumer=OTHER_CONSUMER.lower()) == {"RIVTA-SOAP-ENVELOPE"}


@pytest.mark.parametrize("body", [b"", b"\x00\xff\xfe", b"<a>", "<å/>".encode("latin-1"), b"<?xml version='1.0'?>",
                                  b'<!DOCTYPE a [<!ENTITY x SYSTEM "file:///etc/passwd">]><a>&x;</a>',
                                  soap.add_message()[:120]])
def test_view_of_never_raises_and_an_unreadable_body_is_a_finding(profile, ctx, body):
    view = view_of(exchange(body, time="not a time", response=b"<<<"))
    assert view.envelope is None and view.parse_error
    assert ids(profile, ctx, body) == {"RIVTA-SOAP-ENVELOPE"}


def test_a_body_cut_by_the_journal_says_so(profile, ctx):
    body = soap.add_message()
    finding = only(profile, ctx, "RIVTA-SOAP-ENVELOPE", body[:200], request_size=len(body))
    assert "journal kept only 200" in finding.message_en


def test_the_view_reads_the_fields_and_the_answer():
    view = view_of(exchange(soap.add_message(thread_id="T1", notify=True, sso=SSO), response=OK_ANSWER))
    assert view.operation == "AddMessageToPatientPortalInbox"
    assert (view.subject_of_care_id, view.unit_id, view.thread_id, view.source_system, view.sso_system_id) == (
        ACTIVE_SMS_EMAIL, UNIT, "T1", SYSTEM_ID, SYSTEM_ID)
    assert view.notify is True and view.result_code == "OK" and view.has_sso_link
    assert view.t == T0.timestamp()
    assert view_of(exchange(soap.is_active_user(), response=active_answer(False))).active is False


# -- 1. SOAP 1.1 ------------------------------------------------------------------------------------


def test_soap_12_is_refused(profile, ctx):
    finding = only(profile, ctx, "RIVTA-SOAP-ENVELOPE", soap.is_active_user(soap_ns=ns.SOAP12))
    assert "SOAP 1.2" in finding.message_en and finding.path == "/Envelope" and finding.line == 1


def test_soap_12_says_what_the_producer_answers_and_how_to_switch_to_soap_11(profile, ctx):
    finding = only(profile, ctx, "RIVTA-SOAP-ENVELOPE", soap.add_message(soap_ns=ns.SOAP12))
    assert "VersionMismatch fault (HTTP 500, faultcode SOAP-ENV:VersionMismatch)" in finding.message_en
    assert "VersionMismatch" in finding.message_sv
    assert finding.hint.startswith("switch the client to SOAP 1.1")
    assert "text/xml" in finding.hint and "SOAPAction" in finding.hint and "basicHttpBinding" in finding.hint


def version_mismatch() -> bytes:
    from mockplatform.producers import version_mismatch as answer

    return answer(ns.SOAP12).body


def test_a_version_mismatch_fault_is_a_client_side_fault_not_a_technical_one(profile, ctx):
    """A retry cannot cure a VersionMismatch: it is not counted as a technical fault (TC-09, back-off)."""
    view = view_of(exchange(soap.is_active_user(soap_ns=ns.SOAP12), status=500, response=version_mismatch()))
    assert view.fault_code == "VersionMismatch"
    assert view.technical_fault is False
    server = version_mismatch().replace(b"SOAP-ENV:VersionMismatch", b"SOAP-ENV:Server")
    assert view_of(exchange(soap.is_active_user(), status=500, response=server)).technical_fault is True


def test_a_root_that_is_not_an_envelope_is_refused(profile, ctx):
    finding = only(profile, ctx, "RIVTA-SOAP-ENVELOPE", b'<IsActiveUser xmlns="x"/>')
    assert "Envelope" in finding.message_en


def test_soap_11_passes(profile, ctx):
    assert "RIVTA-SOAP-ENVELOPE" not in ids(profile, ctx, soap.is_active_user())


# -- 2. logical address -------------------------------------------------------------------------------


def test_a_missing_logical_address_is_found(profile, ctx):
    finding = only(profile, ctx, "RIVTA-LOGICAL-ADDRESS", soap.is_active_user(address=None))
    assert finding.path == "/Envelope/Header/LogicalAddress"
    assert INBOX in finding.hint


def test_the_unit_as_logical_address_is_the_classic_mistake(profile, ctx):
    finding = only(profile, ctx, "RIVTA-LOGICAL-ADDRESS", soap.add_message(address=UNIT))
    assert "system-addressed" in finding.message_en and "unitId" in finding.message_en
    assert finding.path == "/Envelope/Header/LogicalAddress" and finding.line == 1


def test_the_unit_of_the_body_counts_as_a_unit_even_if_unknown(profile, ctx):
    finding = only(profile, ctx, "RIVTA-LOGICAL-ADDRESS", soap.add_message(address="SE-MY-UNIT", unit_id="SE-MY-UNIT"))
    assert "system-addressed" in finding.message_en


def test_another_logical_address_is_found(profile, ctx):
    finding = only(profile, ctx, "RIVTA-LOGICAL-ADDRESS", soap.is_active_user(address="SE000-OTHER"))
    assert INBOX in finding.message_en


def test_a_logical_address_outside_the_registry_namespace_is_found(profile, ctx):
    body = soap.is_active_user(header_xml=f"<LogicalAddress>{INBOX}</LogicalAddress>")
    assert "urn:riv:itintegration:registry:1" in only(profile, ctx, "RIVTA-LOGICAL-ADDRESS", body).message_en


def test_the_inbox_address_passes_in_any_case(profile, ctx):
    assert "RIVTA-LOGICAL-ADDRESS" not in ids(profile, ctx, soap.is_active_user(address=INBOX.lower()))


def test_a_bp20_to_header_is_a_warning(profile, ctx):
    found = ids(profile, ctx, soap.is_active_user(wsa=True))
    assert found == {"RIVTA-BP20-ADDRESS"}
    assert only(profile, ctx, "RIVTA-BP20-ADDRESS", soap.is_active_user(wsa=True)).severity is Severity.WARNING
    assert "RIVTA-BP20-ADDRESS" not in ids(profile, ctx, soap.is_active_user())


# -- 3. contract namespace --------------------------------------------------------------------------


def rc(body: bytes) -> bytes:
    return body.replace(b"urn:riv:infrastructure:eservicesupply:patientportal:IsActiveUser",
                        b"urn:riv:infrastructure::eservicesupply:patientportal:IsActiveUser")


def test_the_release_candidate_namespace_gets_its_own_explanation(profile, ctx):
    finding = only(profile, ctx, "RIVTA-CONTRACT-NAMESPACE", rc(soap.is_active_user()))
    assert "release candidate" in finding.message_en
    assert "regenerate the client from release 1.0" in finding.hint
    assert IS_ACTIVE_USER_NS in finding.hint
    assert finding.path == "/Envelope/Body/IsActiveUser"


def test_the_other_rules_still_judge_a_request_in_a_wrong_namespace(profile, ctx):
    assert ids(profile, ctx, rc(soap.is_active_user(pnr="191212121213"))) == {
        "RIVTA-CONTRACT-NAMESPACE", "PP-SUBJECT-OF-CARE-ID"}


def test_the_wsdl_namespace_and_an_unknown_namespace_are_found(profile, ctx):
    wsdl = soap.is_active_user().replace(b"IsActiveUserResponder:1", b"IsActiveUser:1:rivtabp21")
    assert "WSDL namespace" in only(profile, ctx, "RIVTA-CONTRACT-NAMESPACE", wsdl).message_en
    unknown = soap.is_active_user().replace(b"IsActiveUserResponder:1", b"IsActiveUserResponder:9")
    assert IS_ACTIVE_USER_NS in only(profile, ctx, "RIVTA-CONTRACT-NAMESPACE", unknown).hint


def test_a_known_contract_namespace_passes(profile, ctx):
    assert "RIVTA-CONTRACT-NAMESPACE" not in ids(profile, ctx, soap.add_message())


# -- 4. schema --------------------------------------------------------------------------------------


def test_schema_findings_come_from_the_validator_with_envelope_paths(profile, ctx):
    found = [f for f in request_findings(profile, ctx, soap.add_message(message_ns=ADD_MESSAGE_NS))
             if f.rule_id == "SCHEMA"]
    assert found
    assert all(f.path.startswith("/Envelope/Body/AddMessageToPatientPortalInbox") for f in found)
    assert any("core namespace" in (f.hint or "") for f in found)
    assert found[0].source.endswith("AddMessageToPatientPortalInboxResponder_1.0.xsd")


def test_a_schema_valid_request_has_no_schema_findings(profile, ctx):
    assert "SCHEMA" not in ids(profile, ctx, soap.add_message())


# -- 5. sourceSystem --------------------------------------------------------------------------------


def test_a_missing_source_system_names_the_issued_ids(profile, ctx):
    finding = only(profile, ctx, "INBOX-SOURCE-SYSTEM", soap.add_message(source_system=None))
    assert finding.message_en == ("sourceSystem is missing; 1177 requires the system-id it issued to you "
                                  f"(one of: {SYSTEM_ID})")
    assert finding.path == "/Envelope/Body/AddMessageToPatientPortalInbox/sourceSystem"


def test_a_source_system_issued_to_another_consumer_is_found(profile, ctx):
    assert "INBOX-SOURCE-SYSTEM" in ids(profile, ctx, soap.add_message(source_system=OTHER_CONSUMER))
    assert "write it exactly" in only(profile, ctx, "INBOX-SOURCE-SYSTEM",
                                      soap.add_message(source_system=SYSTEM_ID.lower())).hint


def test_system_ids_in_the_context_override_the_fixtures(profile, ctx):
    ctx.system_ids = ("SE-ISSUED",)
    assert "INBOX-SOURCE-SYSTEM" in ids(profile, ctx, soap.add_message())
    assert "INBOX-SOURCE-SYSTEM" not in ids(profile, ctx, soap.add_message(source_system="SE-ISSUED"))


def test_for_an_unknown_consumer_only_presence_is_checked(profile, ctx):
    assert "INBOX-SOURCE-SYSTEM" not in ids(profile, ctx, soap.add_message(source_system="ANY"), consumer="SE-NEW")
    assert "INBOX-SOURCE-SYSTEM" in ids(profile, ctx, soap.add_message(source_system=" "), consumer="SE-NEW")


def test_the_issued_source_system_passes(profile, ctx):
    assert "INBOX-SOURCE-SYSTEM" not in ids(profile, ctx, soap.add_message())


# -- 6. messageDescription --------------------------------------------------------------------------


@pytest.mark.parametrize("description", [None, "", "   "])
def test_a_missing_or_blank_description_is_found(profile, ctx, description):
    finding = only(profile, ctx, "INBOX-MESSAGE-DESCRIPTION", soap.add_message(description=description))
    assert "Meddelande" in finding.message_en
    assert finding.path == "/Envelope/Body/AddMessageToPatientPortalInbox/message/messageDescription"


def test_a_description_passes(profile, ctx):
    assert "INBOX-MESSAGE-DESCRIPTION" not in ids(profile, ctx, soap.add_message(description="Kallelse"))


# -- 7. unitId --------------------------------------------------------------------------------------


def test_an_unknown_unit_lists_the_connected_ones(profile, ctx):
    finding = only(profile, ctx, "INBOX-UNIT-CONNECTED", soap.add_message(unit_id="SE-UNKNOWN"))
    assert "SE2321000016-A1B2 (Vårdcentralen Exempelby)" in finding.hint
    assert "SE2321000016-X9Z8" not in finding.hint
    assert finding.path.endswith("/message/organisationUnit/unitId")


def test_a_unit_not_connected_to_1177_is_found(profile, ctx):
    finding = only(profile, ctx, "INBOX-UNIT-CONNECTED", soap.add_message(unit_id="SE2321000016-X9Z8"))
    assert "not connected" in finding.message_en


def test_a_connected_unit_passes(profile, ctx):
    assert "INBOX-UNIT-CONNECTED" not in ids(profile, ctx, soap.add_message(unit_id="se2321000016-c3d4"))


# -- 8. notify needs sourceSystem ---------------------------------------------------------------------


def test_notify_without_source_system_is_found(profile, ctx):
    finding = only(profile, ctx, "PP-NOTIFY-NEEDS-SOURCE-SYSTEM", soap.add_message(notify=True, source_system=None))
    assert finding.path == "/Envelope/Body/AddMessageToPatientPortalInbox/notify"


def test_notify_with_source_system_or_false_passes(profile, ctx):
    assert "PP-NOTIFY-NEEDS-SOURCE-SYSTEM" not in ids(profile, ctx, soap.add_message(notify=True))
    assert "PP-NOTIFY-NEEDS-SOURCE-SYSTEM" not in ids(profile, ctx, soap.add_message(notify=False, source_system=None))


# -- 9. subjectOfCareId -------------------------------------------------------------------------------


@pytest.mark.parametrize(("number", "why"), [
    ("191212121213", "check digit"), ("19121312" + "1212", "date"), ("197209914561", "date"),
])
def test_an_invalid_personnummer_is_found_for_both_operations(profile, ctx, number, why):
    for body in (soap.add_message(pnr=number), soap.is_active_user(pnr=number)):
        finding = only(profile, ctx, "PP-SUBJECT-OF-CARE-ID", body)
        assert why in finding.message_en and finding.path.endswith("/subjectOfCareId")


@pytest.mark.parametrize("number", ["191212121212", "197209644561"])
def test_a_personnummer_and_a_samordningsnummer_pass(profile, ctx, number):
    assert "PP-SUBJECT-OF-CARE-ID" not in ids(profile, ctx, soap.add_message(pnr=number))
    assert "PP-SUBJECT-OF-CARE-ID" not in ids(profile, ctx, soap.is_active_user(pnr=number))


@pytest.mark.parametrize("number", ["19121212T212", "19121212t212", "19800101F123", "20240229P001"])
def test_a_reservnummer_in_the_contracts_letter_form_is_a_warning_not_an_error(profile, ctx, number):
    """SubjectOfCareIdType allows T, F or P in the ninth position: a reservnummer (no check digit). The
    contract allows it, so it is no PP-SUBJECT-OF-CARE-ID error; it is a warning, as no 1177 user has one."""
    for body in (soap.add_message(pnr=number), soap.is_active_user(pnr=number)):
        found = ids(profile, ctx, body)
        assert "PP-SUBJECT-OF-CARE-ID" not in found and "SCHEMA" not in found
        finding = only(profile, ctx, "PP-SUBJECT-OF-CARE-ID-RESERVNUMMER", body)
        assert finding.severity is Severity.WARNING
        assert f"the letter {number[8].upper()} in the ninth position" in finding.message_en
        assert "not a real date" not in finding.message_en
        assert "personnummer or samordningsnummer" in finding.hint


def test_a_reservnummer_with_an_impossible_date_says_so(profile, ctx):
    finding = only(profile, ctx, "PP-SUBJECT-OF-CARE-ID-RESERVNUMMER", soap.is_active_user(pnr="19121312T212"))
    assert "date part is not a real date" in finding.message_en


def test_a_personnummer_is_not_a_reservnummer(profile, ctx):
    assert "PP-SUBJECT-OF-CARE-ID-RESERVNUMMER" not in ids(profile, ctx, soap.is_active_user(pnr="191212121213"))
    assert "PP-SUBJECT-OF-CARE-ID-RESERVNUMMER" not in ids(profile, ctx, soap.is_active_user())


# -- 10. DocBook --------------------------------------------------------------------------------------


def test_each_docbook_problem_is_a_finding_with_its_element_path(profile, ctx):
    text = "<article>\n<para>a</para>\n<para>b <emphasis>c</emphasis></para>\n<section><section/></section>\n</article>"
    found = [f for f in request_findings(profile, ctx, soap.add_message(text=text)) if f.rule_id == "INBOX-DOCBOOK"]
    assert len(found) == 2
    assert "/article/para[2]/emphasis" in found[0].message_en
    assert "/article/section/section" in found[1].message_en
    assert found[0].path == "/Envelope/Body/AddMessageToPatientPortalInbox/message/messageText"
    assert (found[0].line, found[1].line) == (3, 4)


def test_docbook_that_is_not_well_formed_is_found(profile, ctx):
    finding = only(profile, ctx, "INBOX-DOCBOOK", soap.add_message(text="<article><para>x</article>"))
    assert "not well-formed" in finding.message_en


def test_docbook_with_a_doctype_is_refused(profile, ctx):
    text = '<!DOCTYPE article [<!ENTITY x SYSTEM "file:///etc/passwd">]><article><para>&x;</para></article>'
    assert "DOCTYPE" in only(profile, ctx, "INBOX-DOCBOOK", soap.add_message(text=text)).message_en


def test_docbook_sent_as_xml_elements_instead_of_text_is_found(profile, ctx):
    body = soap.add_message(text="PLACEHOLDER").replace(b"PLACEHOLDER", b"<article><para>x</para></article>")
    finding = only(profile, ctx, "INBOX-DOCBOOK", body)
    assert "CDATA" in finding.hint


def test_docbook_in_cdata_and_plain_text_pass(profile, ctx):
    body = soap.add_message(text="PLACEHOLDER").replace(b"PLACEHOLDER", f"<![CDATA[{DOCBOOK_TEXT}]]>".encode())
    assert ids(profile, ctx, body) == set()
    assert "INBOX-DOCBOOK" not in ids(profile, ctx, soap.add_message(text="Hej, a < b & c"))


# -- 11. SSO link needs DocBook -----------------------------------------------------------------------


def test_an_sso_link_with_plain_text_is_found(profile, ctx):
    finding = only(profile, ctx, "INBOX-SSO-NEEDS-DOCBOOK", soap.add_message(sso=SSO))
    assert "ssoLink" in finding.message_en and finding.path.endswith("/message/messageText")


def test_a_ulink_in_plain_text_is_found(profile, ctx):
    body = soap.add_message(text='Svara <ulink url="https://x">här</ulink>')
    assert "INBOX-SSO-NEEDS-DOCBOOK" in ids(profile, ctx, body)


def test_an_sso_link_with_docbook_passes(profile, ctx):
    assert "INBOX-SSO-NEEDS-DOCBOOK" not in ids(profile, ctx, soap.add_message(sso=SSO, text=DOCBOOK_TEXT))
    assert "INBOX-SSO-NEEDS-DOCBOOK" not in ids(profile, ctx, soap.add_message(text=DOCBOOK_TEXT))


# -- 12. ssoLink systemId --------------------------------------------------------------------------------


def test_an_unregistered_sso_system_is_found(profile, ctx):
    sso = SSO.replace(SYSTEM_ID, "SE-NOT-REGISTERED")
    finding = only(profile, ctx, "INBOX-SSO-SYSTEM-ID", soap.add_message(sso=sso, text=DOCBOOK_TEXT))
    assert finding.path.endswith("/message/ssoLink/systemId")
    assert SYSTEM_ID in finding.hint


def test_a_registered_sso_system_passes(profile, ctx):
    assert "INBOX-SSO-SYSTEM-ID" not in ids(profile, ctx, soap.add_message(sso=SSO, text=DOCBOOK_TEXT))


# -- 13. IsActiveUser before AddMessage ------------------------------------------------------------------


def test_a_message_to_an_unchecked_citizen_warns_once(profile, ctx):
    sends = [exchange(soap.add_message(), i) for i in range(3)]
    assert journal_ids(profile, ctx, sends) == [(sends[0].id, "PP-ACTIVE-USER-CHECKED")]


def test_a_check_by_another_consumer_does_not_count(profile, ctx):
    check = exchange(soap.is_active_user(), 0, response=active_answer(True), consumer=OTHER_CONSUMER)
    send = exchange(soap.add_message(), 1)
    assert journal_ids(profile, ctx, [check, send]) == [(send.id, "PP-ACTIVE-USER-CHECKED")]


def test_a_message_after_status_false_warns(profile, ctx):
    check = exchange(soap.is_active_user(), 0, response=active_answer(False))
    send = exchange(soap.add_message(), 1)
    views = [view_of(check), view_of(send)]
    [(exchange_id, finding)] = list(profile.iter_journal_findings(views, ctx))
    assert exchange_id == send.id and "status=false" in finding.message_en


def test_a_message_after_is_active_user_passes(profile, ctx):
    # given in any order: the rules sort by time
    send = exchange(soap.add_message(), 1)
    check = exchange(soap.is_active_user(), 0, response=active_answer(True))
    assert journal_ids(profile, ctx, [send, check]) == []


# -- 14. retry back-off ------------------------------------------------------------------------------------


def test_a_retry_sooner_than_the_back_off_warns(profile, ctx):
    check = exchange(soap.is_active_user(), -60, response=active_answer(True))
    failed = exchange(soap.add_message(), 0, status=500)
    retry = exchange(soap.add_message(), 1.5, response=OK_ANSWER)
    [(exchange_id, finding)] = [(i, f) for i, f in profile.iter_journal_findings(
        [view_of(e) for e in (check, failed, retry)], ctx)]
    assert exchange_id == retry.id and finding.rule_id == "PP-RETRY-BACKOFF"
    assert "1.5 s" in finding.message_en and str(failed.id) in finding.message_en


def test_a_retry_with_another_body_but_the_same_text_and_citizen_counts(profile, ctx):
    check = exchange(soap.is_active_user(), -60, response=active_answer(True))
    failed = exchange(soap.add_message(thread_id="a"), 0, status=500)
    retry = exchange(soap.add_message(thread_id="b"), 1)
    assert (retry.id, "PP-RETRY-BACKOFF") in journal_ids(profile, ctx, [check, failed, retry])


def test_a_retry_after_the_back_off_passes(profile, ctx):
    failed = exchange(soap.is_active_user(), 0, status=500)
    retry = exchange(soap.is_active_user(), 4.0)
    assert journal_ids(profile, ctx, [failed, retry]) == []


def test_a_quick_repeat_after_a_success_or_a_logical_error_is_not_a_retry(profile, ctx):
    first = exchange(soap.is_active_user(), 0, response=active_answer(True))
    again = exchange(soap.is_active_user(), 0.5)
    assert journal_ids(profile, ctx, [first, again]) == []
    error = OK_ANSWER.replace(b">OK<", b">ERROR<")
    sent = exchange(soap.add_message(), 10, response=error)
    resent = exchange(soap.add_message(), 10.5)
    assert view_of(sent).result_code == "ERROR"
    assert "PP-RETRY-BACKOFF" not in [r for _, r in journal_ids(profile, ctx, [first, sent, resent])]


# -- 15. batch size -----------------------------------------------------------------------------------------


def sends(count: int, start: float = 0.0, step: float = 1.0) -> list[Exchange]:
    return [exchange(soap.add_message(pnr=pnr(i % 50), text=f"Text {i}"), start + i * step) for i in range(count)]


def batch_findings(profile, ctx, exchanges):
    return [(i, f) for i, f in profile.iter_journal_findings([view_of(e) for e in exchanges], ctx)
            if f.rule_id == "PP-BATCH-SIZE"]


def test_a_batch_over_the_limit_warns_once_with_its_size(profile, ctx):
    ctx.batch_max = 5
    run = sends(8)
    [(exchange_id, finding)] = batch_findings(profile, ctx, run)
    assert exchange_id == run[5].id
    assert "batch of 8 AddMessage calls" in finding.message_en


def test_a_short_pause_does_not_end_a_batch(profile, ctx):
    ctx.batch_max = 5
    assert len(batch_findings(profile, ctx, sends(4) + sends(4, start=200))) == 1


def test_batches_within_the_limit_and_five_minutes_apart_pass(profile, ctx):
    ctx.batch_max = 5
    assert batch_findings(profile, ctx, sends(5) + sends(5, start=4 + 300)) == []


def test_the_contract_limit_is_1000_per_batch(profile, ctx):
    assert len(batch_findings(profile, ctx, sends(1001, step=0.1))) == 1
    assert batch_findings(profile, ctx, sends(1000, step=0.1)) == []


# -- 16. general information channel -----------------------------------------------------------------------


def same_text(count: int) -> list[Exchange]:
    return [exchange(soap.add_message(pnr=pnr(i), text="Nu kan du vaccinera dig mot influensa."), i)
            for i in range(count)]


def test_the_same_text_to_many_citizens_warns_once(profile, ctx):
    run = same_text(25)
    found = [(i, r) for i, r in journal_ids(profile, ctx, run) if r == "INBOX-GENERAL-INFORMATION"]
    assert found == [(run[19].id, "INBOX-GENERAL-INFORMATION")]


def test_the_same_text_to_fewer_citizens_passes(profile, ctx):
    found = [r for _, r in journal_ids(profile, ctx, same_text(19)) if r == "INBOX-GENERAL-INFORMATION"]
    assert found == []


# -- the one path over a set of exchanges ------------------------------------------------------------------


def test_iter_findings_gives_request_then_journal_findings(profile, ctx):
    bad = exchange(soap.add_message(description=None), 0)
    found = list(profile.iter_findings([bad], ctx))
    assert [(i, f.rule_id) for i, f in found] == [(bad.id, "INBOX-MESSAGE-DESCRIPTION"),
                                                  (bad.id, "PP-ACTIVE-USER-CHECKED")]
    # the journal rules ran on slim views (no parsed tree) and still say where
    assert found[1][1].path == "/Envelope/Body/AddMessageToPatientPortalInbox/subjectOfCareId"
    assert found[1][1].line == 1


def test_a_slim_view_keeps_fields_and_lines_but_not_the_tree():
    view = view_of(exchange(soap.add_message(sso=SSO)))
    slim = view.slim()
    assert slim.envelope is None and slim.elements == {} and slim.parse_error is None
    assert slim.where("message/messageText") == view.where("message/messageText")
    assert slim.has_sso_link and slim.message_text == view.message_text


def test_the_catalogue_is_looked_up_by_id_and_ids_are_unique(profile):
    assert profile.rule("SCHEMA").severity is Severity.ERROR
    with pytest.raises(KeyError):
        profile.rule("NO-SUCH-RULE")
    info = profile.rules[0]
    with pytest.raises(MockplatformError, match="duplicate"):
        Profile("x", "x", [(info, lambda v, c: []), (info, lambda v, c: [])])


"""Requests real clients send that the platform refuses (rightly), judged from the journal: each finding
names the cause the platform's fault does not, and the fix. Each case goes through the running platform,
so the fault is the one the consumer saw, and the rules judge the exchange as journaled."""

from __future__ import annotations

import pytest
from lxml import etree

from mockplatform import domains, ns
from mockplatform.domains.inbox1177.names import IS_ACTIVE_USER_NS
from mockplatform.domains.inbox1177.view import read_inbox_view
from mockplatform.findings import Finding

from .soap import ACTIVE_SMS_EMAIL, INBOX, envelope, is_active_user

URL = "http://127.0.0.1:8080/vp/infrastructure/eservicesupply/patientportal/IsActiveUser/1/rivtabp21"


def judged(platform, body: bytes) -> tuple[dict, list[Finding]]:
    """Post the request; the fault the consumer got, and the findings on the journaled exchange."""
    response = platform.post(body)
    root = etree.fromstring(response.content)
    fault = root.find(f".//{{{ns.SOAP11}}}Fault")
    said = {"status": response.status_code,
            "faultcode": fault.findtext("faultcode") if fault is not None else None,
            "faultstring": fault.findtext("faultstring") if fault is not None else None,
            "detail": fault.findtext("detail/detailString") if fault is not None else None}
    profile = domains.profile("1177-inbox")
    ctx = profile.context(platform.app.fixtures, platform.app.contracts)
    exchange = platform.app.journal.exchanges()[-1]
    return said, list(profile.iter_request_findings(read_inbox_view(exchange), ctx))


def by_rule(found: list[Finding], rule_id: str) -> list[Finding]:
    return [f for f in found if f.rule_id == rule_id]


# -- a logical address with whitespace around it ------------------------------------------------------------


@pytest.mark.parametrize("written", [f" {INBOX} ", f"\n    {INBOX}\n  "])
def test_whitespace_around_the_logical_address_is_the_cause_of_vp004(platform, written):
    fault, found = judged(platform, is_active_user(address=written))
    assert fault["faultstring"].startswith("VP004")
    assert fault["detail"].endswith("Whitespace detected in incoming request!")
    [finding] = by_rule(found, "RIVTA-LOGICAL-ADDRESS")
    assert f"has whitespace around '{INBOX}'" in finding.message_en
    assert "does not trim" in finding.message_en and "VP004" in finding.message_en
    assert "\n" not in finding.message_en  # the whitespace is shown, not printed
    assert finding.hint.startswith(f"send the address with nothing around it, <LogicalAddress>{INBOX}</LogicalAddress>")
    assert finding.path == "/Envelope/Header/LogicalAddress"


# -- node-soap: the LogicalAddress header part sent as the Body ---------------------------------------------

NODE_SOAP_BODY = (f'<LogicalAddress xmlns="{ns.REGISTRY}"><subjectOfCareId>{ACTIVE_SMS_EMAIL}</subjectOfCareId>'
                  "</LogicalAddress>")


@pytest.mark.parametrize(("header", "vp"), [(True, "VP004"), (False, "VP003")])
def test_the_header_part_sent_as_the_payload_is_named_with_the_node_soap_fix(platform, header, vp):
    body = envelope(NODE_SOAP_BODY, address=INBOX if header else None)
    fault, found = judged(platform, body)
    assert fault["faultstring"].startswith(vp)
    [namespace] = by_rule(found, "RIVTA-CONTRACT-NAMESPACE")
    assert "the LogicalAddress header part was sent as the request payload" in namespace.message_en
    assert vp in namespace.message_en and "node-soap" in namespace.message_en
    assert "client.addSoapHeader(" in namespace.hint and "leave LogicalAddress out of the call's arguments" in \
        namespace.hint
    assert IS_ACTIVE_USER_NS in namespace.hint
    assert namespace.path == "/Envelope/Body/LogicalAddress"
    [schema] = by_rule(found, "SCHEMA")
    assert "LogicalAddress holds elements (<subjectOfCareId>)" in schema.message_en
    assert "declares it a string" in schema.message_en
    assert schema.source.endswith("itintegration_registry_1.0.xsd") and schema.hint
    if not header:
        [address] = by_rule(found, "RIVTA-LOGICAL-ADDRESS")
        assert "sent as the Body's first element" in address.message_en and "addSoapHeader" in address.hint


# -- WCF: a WS-Addressing To after LogicalAddress -----------------------------------------------------------

WSA = ns.WSA


def wcf_headers(to: str = URL, logical: bool = True) -> str:
    """The headers WCF sends with WS-Addressing on (Soap11WSAddressing10): To last, with the endpoint URL."""
    return (f'<a:Action xmlns:a="{WSA}">{IS_ACTIVE_USER_NS}:IsActiveUser</a:Action>'
            + (f'<LogicalAddress xmlns="{ns.REGISTRY}">{INBOX}</LogicalAddress>' if logical else "")
            + f'<a:MessageID xmlns:a="{WSA}">urn:uuid:5f0c3f4e-1d2b-4c55-9d1e-0d6a2b9f7c11</a:MessageID>'
            f'<a:ReplyTo xmlns:a="{WSA}"><a:Address>{WSA}/anonymous</a:Address></a:ReplyTo>'
            f'<a:To xmlns:a="{WSA}">{to}</a:To>')


@pytest.mark.parametrize("logical", [True, False], ids=["after LogicalAddress", "alone"])
def test_a_ws_addressing_to_after_logical_address_is_named_as_the_cause(platform, logical):
    fault, found = judged(platform, is_active_user(header_xml=wcf_headers(logical=logical)))
    assert fault["faultstring"].startswith("VP004") and f"receiverId: {URL}" in fault["detail"]
    [address] = by_rule(found, "RIVTA-LOGICAL-ADDRESS")
    assert ("A WS-Addressing <To> header after LogicalAddress carries" if logical else
            "A WS-Addressing <To> header carries") in address.message_en
    assert URL in address.message_en and "VP004" in address.message_en
    assert "turn WS-Addressing off" in address.hint and "basicHttpBinding" in address.hint
    assert "Soap11" in address.hint and "rivtabp21 WSDL" not in address.hint
    assert address.path == "/Envelope/Header/To"
    [warning] = by_rule(found, "RIVTA-BP20-ADDRESS")
    assert "the SOAP stack added" in warning.message_en
    assert "turn WS-Addressing off" in warning.hint and "rivtabp21 WSDL" not in warning.hint


def test_a_bp20_to_with_the_address_still_gets_the_bp20_advice(platform):
    fault, found = judged(platform, is_active_user(wsa=True))
    assert fault["status"] == 200
    [warning] = by_rule(found, "RIVTA-BP20-ADDRESS")
    assert "rivtabp21 WSDL" in warning.hint
    assert by_rule(found, "RIVTA-LOGICAL-ADDRESS") == []


# -- SOAP 1.2 -----------------------------------------------------------------------------------------------


def test_soap_12_names_the_version_mismatch_the_consumer_got(platform):
    fault, found = judged(platform, is_active_user(soap_ns=ns.SOAP12))
    assert (fault["status"], fault["faultcode"]) == (500, "SOAP-ENV:VersionMismatch")
    [finding] = found
    assert finding.rule_id == "RIVTA-SOAP-ENVELOPE" and "VersionMismatch" in finding.message_en
    assert finding.hint.startswith("switch the client to SOAP 1.1")

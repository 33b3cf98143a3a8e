"""Reading requests as the platform does: local names, last address wins, hardened parsing."""

import pytest

from mockplatform import ns
from mockplatform.domains.inbox1177.names import IS_ACTIVE_USER_NS
from mockplatform.envelope import MalformedRequest, read_envelope, rewrite_address_header

from .soap import envelope, is_active_user


def test_contract_is_the_namespace_of_the_first_body_element():
    env = read_envelope(is_active_user())
    assert env.contract == IS_ACTIVE_USER_NS
    assert env.logical_address == "SE5565594230-1177"
    assert env.profile == "RIVTABP21"


def test_last_address_header_wins_and_namespace_is_ignored():
    header = '<a:LogicalAddress xmlns:a="urn:x">FIRST</a:LogicalAddress><b:To xmlns:b="urn:y">LAST</b:To>'
    env = read_envelope(envelope("<p:X xmlns:p='urn:c'/>", header_xml=header))
    assert env.logical_address == "LAST"
    assert env.profile == "RIVTABP20"


def test_surrounding_whitespace_is_kept():
    env = read_envelope(is_active_user(address=" SE1 "))
    assert env.logical_address == " SE1 "


def test_soap12_envelope_is_read_by_local_names():
    env = read_envelope(is_active_user(soap_ns=ns.SOAP12))
    assert env.contract == IS_ACTIVE_USER_NS


@pytest.mark.parametrize(
    "body, needle",
    [
        (b"", "empty"),
        (b"not xml", "Start tag expected"),
        (b"<a><b></a>", "mismatch"),
        (b"<x/>", "SOAP Envelope"),
        (b'<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"/>', "No SOAP Body"),
        (b'<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body/></s:Envelope>', "no element"),
        (b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e "boom">]><x>&e;</x>', "DOCTYPE"),
        (b'<!DOCTYPE x SYSTEM "file:///etc/passwd"><x/>', "DOCTYPE"),
    ],
)
def test_malformed_requests_are_refused_with_the_reason(body, needle):
    with pytest.raises(MalformedRequest) as info:
        read_envelope(body)
    assert needle.lower() in str(info.value).lower()


def test_bp20_to_is_rewritten_to_bp21_logical_address_and_back():
    env = read_envelope(is_active_user(wsa=True))
    assert rewrite_address_header(env, "RIVTABP21")
    body = env.to_bytes()
    assert b"LogicalAddress" in body and b"addressing" not in body
    again = read_envelope(body)
    assert again.profile == "RIVTABP21" and again.logical_address == "SE5565594230-1177"
    assert rewrite_address_header(again, "RIVTABP20")
    assert read_envelope(again.to_bytes()).profile == "RIVTABP20"
    assert not rewrite_address_header(read_envelope(is_active_user()), "RIVTABP21")


ANSWERS = [
    # (body, is SOAP 1.1, fault code, fault string)
    (b'<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body><s:Fault>'
     b'<faultcode> s:Client </faultcode><faultstring>bad\n request</faultstring></s:Fault></s:Body></s:Envelope>',
     True, "Client", "bad request"),
    (b'<Envelope xmlns="http://schemas.xmlsoap.org/soap/envelope/"><Header/><Body><!--x--><Fault>'
     b'<faultcode>Server</faultcode><faultstring>down</faultstring></Fault></Body></Envelope>', True, "Server", "down"),
    (b'<e:Envelope xmlns:e="http://www.w3.org/2003/05/soap-envelope"><e:Body><e:Fault/></e:Body></e:Envelope>',
     False, None, None),
    (b'<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body><r:Ok xmlns:r="urn:r">'
     b'<resultCode>OK</resultCode></r:Ok></s:Body></s:Envelope>', True, None, None),
]


@pytest.mark.parametrize(("body", "soap11", "code", "said"), ANSWERS)
def test_one_reader_of_answers(body, soap11, code, said):
    """The platform (pass a fault on, or VP009), the rules (a retry-curable fault?) and the test kit (a near
    miss's faultstring) all read answers through ``read_answer``: one reading, whatever the prefixes."""
    from mockplatform.envelope import read_answer
    from mockplatform.expectations import _fault_string
    from mockplatform.platform import _is_soap11_fault

    answer = read_answer(body)
    assert answer.soap11 is soap11 and answer.fault_code == code and answer.fault_string == said
    assert _is_soap11_fault(body) is (soap11 and answer.is_fault)
    assert _fault_string(body) == said


@pytest.mark.parametrize("body", [b"", b"not xml", b"<html><body>502</body></html>",
                                  b'<!DOCTYPE x [<!ENTITY a "b">]><x/>'])
def test_what_is_not_a_soap_answer_reads_as_none(body):
    from mockplatform.envelope import read_answer

    assert read_answer(body) is None

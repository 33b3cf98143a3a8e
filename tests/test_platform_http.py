"""The real platform's own system-test checklist (ntjp.md), over real HTTP."""

from __future__ import annotations

import re
import socket
import struct
import threading
import time
import uuid

import pytest
import requests
from lxml import etree

from mockplatform import Settings, ns
from mockplatform.domains.inbox1177.names import IS_ACTIVE_USER_NS
from mockplatform.platform import CORRELATION

from .soap import (
    ACTIVE_SMS_EMAIL,
    CONSUMER,
    INBOX,
    UNAUTHORISED,
    add_message,
    envelope,
    is_active_user,
)
from .test_faults import SPEC_TEXTS

SOAP = "http://schemas.xmlsoap.org/soap/envelope/"


def fault(response) -> dict:
    """faultcode, faultstring, detailString of a platform fault, checking its exact shape."""
    assert response.status_code == 500
    assert response.headers["Content-Type"] == "text/xml; charset=UTF-8"
    root = etree.fromstring(response.content)
    assert root.tag == f"{{{SOAP}}}Envelope"
    assert root[0].tag == f"{{{SOAP}}}Header" and len(root[0]) == 0
    f = root.find(f"{{{SOAP}}}Body/{{{SOAP}}}Fault")
    return {
        "faultcode": f.findtext("faultcode"),
        "faultstring": f.findtext("faultstring"),
        "detail": f.findtext("detail/detailString"),
    }


def write_tak(tmp_path, text: str):
    path = tmp_path / "tak.toml"
    path.write_text(text, encoding="utf-8")
    return path


def route(contract, address, target, profile="RIVTABP21", **extra):
    lines = [f'contract = "{contract}"', f'logical_address = "{address}"', f'address = "{target}"',
             f'profile = "{profile}"'] + [f"{k} = {v}" for k, v in extra.items()]
    return "[[route]]\n" + "\n".join(lines) + "\n"


def auth(consumer, contract, address):
    return f'[[authorisation]]\nconsumer = "{consumer}"\ncontract = "{contract}"\nlogical_address = "{address}"\n'


# -- routing through the built-in TAK to the built-in inbox ---------------------------------------

def test_call_is_routed_and_answered_with_platform_headers(platform):
    r = platform.post(is_active_user())
    assert r.status_code == 200, r.text
    assert r.headers["Content-Type"] == "text/xml; charset=UTF-8"
    assert re.fullmatch(r"[0-9a-f-]{36}", r.headers["x-skltp-correlation-id"])
    assert int(r.headers["x-skltp-prt"]) >= 0
    assert "SOAPAction" not in r.headers
    assert b"<status>true</status>" in r.content


def test_correlation_id_is_echoed_also_when_reused_and_on_faults(platform):
    cid = str(uuid.uuid4())
    for _ in range(2):
        r = platform.post(is_active_user(), headers={"x-skltp-correlation-id": cid})
        assert r.headers["x-skltp-correlation-id"] == cid
    r = platform.post(is_active_user(address=""), headers={"x-skltp-correlation-id": cid})
    assert r.headers["x-skltp-correlation-id"] == cid
    assert fault(r)["faultstring"].startswith("VP003")


def test_a_correlation_id_with_control_characters_is_replaced_not_echoed(platform):
    """It could not go back in a header as it is (nor into a log line): the platform gives a new one.
    (A NUL, CR or LF in a header value is refused by the HTTP layer before: see test_http1.)"""
    body = is_active_user()
    port = int(platform.url.rsplit(":", 1)[1])
    with socket.create_connection(("127.0.0.1", port), timeout=10) as conn:
        conn.sendall(b"POST /vp HTTP/1.1\r\nHost: x\r\nContent-Type: text/xml\r\nx-skltp-correlation-id: a\x01b\x1b[31m"
                     + b"\r\nConnection: close\r\nContent-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body)
        answer = b""
        while chunk := conn.recv(65536):
            answer += chunk
    head = answer.split(b"\r\n\r\n", 1)[0].decode("latin-1")
    assert head.startswith("HTTP/1.1 200") and "\x01" not in head and "\x1b" not in head
    echoed = next(line.split(": ", 1)[1] for line in head.split("\r\n") if line.lower().startswith(CORRELATION))
    assert re.fullmatch(r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}", echoed)
    assert platform.app.journal.exchanges(correlation_id=echoed)[0].http_status == 200


def test_any_path_under_vp_works_and_host_root_is_404(platform):
    assert platform.post(is_active_user(), path="/vp/some/unknown/path").status_code == 200
    assert platform.post(is_active_user(), path="/vp").status_code == 200
    assert platform.post(is_active_user(), path="/").status_code == 404
    assert platform.post(is_active_user(), path="/other/vp").status_code == 404
    assert platform.session.get(platform.url + "/").status_code == 404


@pytest.mark.parametrize("address", ["", "   ", None])
def test_missing_or_empty_logical_address_is_vp003(platform, address):
    r = platform.post(is_active_user(address=address))
    f = fault(r)
    assert f["faultcode"] == "SOAP-ENV:Client"
    assert f["faultstring"] == ("VP003 [mockplatform] Logisk adressat (ReceiverId) saknas i RivHeadern i "
                                "inkommande meddelande.")
    assert f["detail"] == "No receiverId (logical address) found in message header."


def test_unknown_address_is_vp004_even_for_an_unauthorised_consumer(platform):
    r = platform.post(is_active_user(address="SE0000000000-NONE"), headers={"x-vp-sender-id": UNAUTHORISED})
    f = fault(r)
    assert f["faultcode"] == "SOAP-ENV:Client"
    assert f["faultstring"] == f"VP004 [mockplatform] {SPEC_TEXTS['VP004'][1]}"
    assert f["detail"] == (f"No receiverId (logical address) found for serviceNamespace: {IS_ACTIVE_USER_NS}, "
                           "receiverId: SE0000000000-NONE")


def test_address_with_surrounding_whitespace_is_vp004_with_a_note(platform):
    f = fault(platform.post(is_active_user(address=f" {INBOX} ")))
    assert f["faultstring"].startswith("VP004")
    assert f["detail"].endswith(". Whitespace detected in incoming request!")


def test_unauthorised_consumer_is_vp007(platform):
    f = fault(platform.post(is_active_user(), headers={"x-vp-sender-id": UNAUTHORISED}))
    assert f["faultcode"] == "SOAP-ENV:Server"
    assert f["faultstring"] == f"VP007 [mockplatform] {SPEC_TEXTS['VP007'][1]}"
    assert f["detail"] == (f"Authorization missing for serviceNamespace: {IS_ACTIVE_USER_NS}, "
                           f"receiverId: {INBOX}, senderId: {UNAUTHORISED}")


@pytest.mark.parametrize("address", [INBOX.lower(), INBOX.upper(), "Se5565594230-1177"])
def test_logical_addresses_match_in_any_case(platform, address):
    assert platform.post(is_active_user(address=address)).status_code == 200


def test_malformed_xml_is_vp015_with_the_parser_message(platform):
    f = fault(platform.post(b"<soap:Envelope><broken"))
    assert f["faultcode"] == "SOAP-ENV:Client"
    assert f["faultstring"] == "VP015 [mockplatform] Anrop ej korrekt utformat och kan därför inte behandlas."
    assert f["detail"]


def test_doctype_is_refused_with_vp015(platform):
    body = b'<!DOCTYPE x [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;">]>' + is_active_user()[38:]
    f = fault(platform.post(body))
    assert f["faultstring"].startswith("VP015") and "DOCTYPE" in f["detail"]


def test_routing_loop_is_vp014(platform):
    r = platform.post(is_active_user(), headers={"x-rivta-routing-history": "SE1#other-vp#mockplatform"})
    f = fault(r)
    assert f["faultcode"] == "SOAP-ENV:Server"
    assert f["faultstring"] == f"VP014 [mockplatform] {SPEC_TEXTS['VP014'][1]}"
    assert f["detail"] in ("", None)


def test_vp014_comes_before_vp015(platform):
    r = platform.post(b"garbage", headers={"x-rivta-routing-history": "X#mockplatform"})
    assert fault(r)["faultstring"].startswith("VP014")


def test_soap12_consumer_is_routed_and_platform_faults_stay_soap11(platform):
    # routed to the producer, whose answer (the inbox: a SOAP 1.1 VersionMismatch fault) is passed on
    assert fault(platform.post(is_active_user(soap_ns=ns.SOAP12)))["faultcode"] == "SOAP-ENV:VersionMismatch"
    assert fault(platform.post(is_active_user(soap_ns=ns.SOAP12, address="")))["faultstring"].startswith("VP003")


def test_instance_name_appears_in_fault_texts(start_platform):
    p = start_platform(settings=Settings(instance_name="NTjP QA"))
    assert fault(p.post(is_active_user(address="")))["faultstring"].startswith("VP003 [NTjP QA] ")


def test_on_faults_only_the_correlation_id_header_is_added(platform):
    r = platform.post(is_active_user(address=""))
    assert "x-skltp-prt" not in r.headers
    assert "x-skltp-correlation-id" in r.headers


# -- consumer identity -----------------------------------------------------------------------------

def test_strict_sender_requires_instance_id_else_vp002(start_platform):
    p = start_platform(settings=Settings(strict_sender=True))
    f = fault(p.post(is_active_user(), headers={"x-vp-sender-id": CONSUMER}))
    assert f["faultstring"].startswith("VP002") and f["faultcode"] == "SOAP-ENV:Client"
    assert f["detail"] == "No sender ID (SERIALNUMBER) found in certificate."
    r = p.post(is_active_user(), headers={"x-vp-sender-id": CONSUMER, "x-vp-instance-id": "mockplatform"})
    assert r.status_code == 200


def test_strict_sender_from_an_address_not_allowed_is_vp011(start_platform):
    p = start_platform(settings=Settings(strict_sender=True, sender_allowed_ips=("10.1.2.3",)))
    f = fault(p.post(is_active_user(), headers={"x-vp-sender-id": CONSUMER, "x-vp-instance-id": "mockplatform"}))
    assert f["faultstring"].startswith("VP011")
    assert "IP-address: 127.0.0.1" in f["detail"]


def test_strict_sender_trusts_this_machine_by_the_one_loopback_rule(start_platform):
    """A trusted sender from 127.0.0.2 (this machine, as the admin API and the pages count it) is not VP011;
    from another address it is."""
    from mockplatform.http_routes import handle
    from mockplatform.messages import Request

    p = start_platform(settings=Settings(strict_sender=True))
    headers = [("x-vp-sender-id", CONSUMER), ("x-vp-instance-id", "mockplatform")]
    for client, status in (("127.0.0.2:5555", 200), ("[::1]:5555", 200), ("192.0.2.7:5555", 500)):
        answer = handle(p.app, Request("POST", "/vp", headers, is_active_user(), client=client))
        assert answer.status == status, (client, answer.body[:300])


def test_without_sender_header_the_default_consumer_is_used(platform):
    platform.post(is_active_user())
    assert platform.app.journal.exchanges()[-1].consumer == CONSUMER


def test_without_default_consumer_and_sender_header_is_vp002(start_platform, tmp_path):
    fixtures = tmp_path / "inbox.toml"
    from mockplatform.fixtures import builtin_fixtures_dir

    text = (builtin_fixtures_dir() / "inbox.toml").read_text(encoding="utf-8")
    fixtures.write_text(text.replace('default_consumer = "SE2321000016-7XQA"', ""), encoding="utf-8")
    p = start_platform(fixtures=fixtures)
    assert fault(p.post(is_active_user()))["faultstring"].startswith("VP002")


def test_vp013_only_when_configured(start_platform):
    headers = {"x-rivta-original-serviceconsumer-hsaid": "SE999-ORIGIN"}
    p = start_platform()
    assert p.post(is_active_user(), headers=headers).status_code == 200
    strict = start_platform(settings=Settings(original_consumer_allowed=("SE2321000016-8KVR",)))
    f = fault(strict.post(is_active_user(), headers=headers))
    assert f["faultstring"].startswith("VP013") and f["faultcode"] == "SOAP-ENV:Client"
    assert strict.post(is_active_user(), headers={**headers, "x-vp-sender-id": "SE2321000016-8KVR"}).status_code == 200
    assert strict.post(is_active_user()).status_code == 200
    empty = {"x-rivta-original-serviceconsumer-hsaid": ""}  # as good as absent, with or without the setting
    assert strict.post(is_active_user(), headers=empty).status_code == 200


# -- producers at URLs ------------------------------------------------------------------------------

C = "urn:riv:test:PingResponder:1"
PING = envelope(f'<Ping xmlns="{C}"><x>1</x></Ping>', address="PRODUCER-1")
PING20 = envelope(f'<Ping xmlns="{C}"><x>1</x></Ping>', address="PRODUCER-1", wsa=True)
OK_BODY = b'<?xml version="1.0"?><s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body>' \
          b'<PingResponse xmlns="urn:riv:test:PingResponder:1"/></s:Body></s:Envelope>'
PRODUCER_FAULT = (b'<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body><s:Fault>'
                  b"<faultcode>s:Server</faultcode><faultstring>producer says no</faultstring></s:Fault>"
                  b"</s:Body></s:Envelope>")


@pytest.fixture
def forwarding(start_platform, producer, tmp_path):
    def start(profile="RIVTABP21", address=None, settings=None, extra=""):
        tak = write_tak(tmp_path, route(C, "PRODUCER-1", address or producer.url, profile)
                        + auth(CONSUMER, C, "PRODUCER-1") + extra)
        return start_platform(tak=tak, settings=settings or Settings(connect_retry_delay_s=2.0))
    return start


def test_producer_answer_is_passed_through_with_headers(forwarding, producer):
    producer.behaviour.body = OK_BODY
    producer.behaviour.headers = {"X-Producer": "yes", "Content-Type": "application/soap+xml", "SOAPAction": "x"}
    p = forwarding()
    r = p.post(PING, headers={"SOAPAction": "urn:ping", "x-rivta-custom": "1", "X-Forwarded-For": "1.2.3.4",
                              "x-vp-other": "strip", "x-skltp-correlation-id": "cid-1"})
    assert r.status_code == 200 and r.content == OK_BODY
    assert r.headers["X-Producer"] == "yes"
    assert r.headers["Content-Type"] == "text/xml; charset=UTF-8"
    assert "SOAPAction" not in r.headers and "x-skltp-prt" in r.headers
    sent_headers, sent_body = producer.behaviour.seen[-1]
    low = {k.lower(): v for k, v in sent_headers.items()}
    assert low["soapaction"] == "urn:ping" and low["x-rivta-custom"] == "1"
    assert "x-forwarded-for" not in low and "x-vp-other" not in low
    assert low["x-vp-sender-id"] == CONSUMER and low["x-vp-instance-id"] == "mockplatform"
    assert low["x-rivta-original-serviceconsumer-hsaid"] == CONSUMER
    assert low["x-rivta-routing-history"] == f"{CONSUMER}#mockplatform"
    assert low["x-skltp-correlation-id"] == "cid-1"


def test_original_consumer_header_is_forwarded_as_is(forwarding, producer):
    producer.behaviour.body = OK_BODY
    forwarding().post(PING, headers={"x-rivta-original-serviceconsumer-hsaid": "SE-ORIGIN",
                                     "x-rivta-routing-history": "SE-ORIGIN#vp-a"})
    low = {k.lower(): v for k, v in producer.behaviour.seen[-1][0].items()}
    assert low["x-rivta-original-serviceconsumer-hsaid"] == "SE-ORIGIN"
    assert low["x-rivta-routing-history"] == "SE-ORIGIN#vp-a#mockplatform"


def test_producer_soap_fault_with_500_is_passed_through(forwarding, producer):
    producer.behaviour.status, producer.behaviour.body = 500, PRODUCER_FAULT
    r = forwarding().post(PING)
    assert r.status_code == 500 and r.content == PRODUCER_FAULT


def test_producer_soap_fault_with_200_is_passed_through_with_200(forwarding, producer):
    producer.behaviour.status, producer.behaviour.body = 200, PRODUCER_FAULT
    assert forwarding().post(PING).status_code == 200


@pytest.mark.parametrize("status, body", [(500, b"<html>oops</html>"), (404, b"not here"), (503, b"")])
def test_producer_non_soap_error_is_vp009_with_http_status(forwarding, producer, status, body):
    producer.behaviour.status, producer.behaviour.body = status, body
    f = fault(forwarding().post(PING))
    assert f["faultstring"] == "VP009 [mockplatform] Fel vid kontakt med tjänsteproducenten."
    assert f["faultcode"] == "SOAP-ENV:Server"
    assert f["detail"].startswith(f"Error connecting to service producer at address {producer.url}.")
    assert f["detail"].endswith(f"\nVP_PRODUCER_EXCEPTION_HTTP_STATUS={status}")


def test_empty_answer_is_vp009(forwarding, producer):
    producer.behaviour.status, producer.behaviour.body = 200, b""
    assert fault(forwarding().post(PING))["faultstring"].startswith("VP009")


def test_unreachable_producer_is_vp009_after_more_than_two_seconds(forwarding):
    p = forwarding(address="http://127.0.0.1:9/nothing-listens-here")
    t0 = time.monotonic()
    f = fault(p.post(PING))
    assert time.monotonic() - t0 > 2.0
    assert f["faultstring"].startswith("VP009")
    assert "http://127.0.0.1:9/nothing-listens-here" in f["detail"]


def test_a_reset_connection_is_retried_once_then_vp009(forwarding):
    """Connection reset: the platform tries again once, after the retry delay, then gives VP009."""
    listener = socket.create_server(("127.0.0.1", 0))
    accepted = []

    def reset_every_connection() -> None:
        while True:
            try:
                conn, _ = listener.accept()
            except OSError:
                return  # the listener is closed: the test is over
            accepted.append(time.monotonic())
            conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            conn.close()  # with linger 0: a reset

    threading.Thread(target=reset_every_connection, daemon=True).start()
    try:
        port = listener.getsockname()[1]
        p = forwarding(address=f"http://127.0.0.1:{port}/reset", settings=Settings(connect_retry_delay_s=0.5))
        f = fault(p.post(PING))
        assert f["faultstring"].startswith("VP009 ")
        assert len(accepted) == 2  # the first attempt and one retry, no more
        assert accepted[1] - accepted[0] >= 0.5
    finally:
        listener.close()


def test_a_forced_stop_gives_a_silent_remote_producer_a_grace_then_stops(forwarding, producer):
    from mockplatform.server import STOP_GRACE_S

    producer.behaviour.body, producer.behaviour.delay_s = OK_BODY, STOP_GRACE_S + 2
    p = forwarding()
    answers: list = []

    def call() -> None:
        try:
            answers.append(p.post(PING))
        except requests.RequestException as exc:
            answers.append(exc)

    thread = threading.Thread(target=call)
    thread.start()
    time.sleep(0.3)  # the call waits on the producer
    t0 = time.monotonic()
    p.server.shutdown()  # forced: a test's teardown does not wait out a producer
    assert STOP_GRACE_S - 0.1 < time.monotonic() - t0 < STOP_GRACE_S + 1
    assert p.server.unanswered == 1
    thread.join(10)
    assert isinstance(answers[0], requests.ConnectionError)  # never answered: the connection is closed


def test_producer_read_timeout_is_vp009_without_retry(forwarding, producer, tmp_path):
    producer.behaviour.body, producer.behaviour.delay_s = OK_BODY, 1.5
    p = forwarding(extra=f'[producer_timeout_ms]\n"{C}" = 300\n')
    t0 = time.monotonic()
    f = fault(p.post(PING))
    assert time.monotonic() - t0 < 1.4
    assert f["detail"].endswith("Timeout when waiting on response from producer.")
    time.sleep(1.3)
    assert len(producer.behaviour.seen) == 1


@pytest.mark.parametrize("consumer_bp20", [False, True])
@pytest.mark.parametrize("producer_profile", ["RIVTABP21", "RIVTABP20"])
def test_bp20_and_bp21_consumers_reach_bp20_and_bp21_producers(forwarding, producer, consumer_bp20, producer_profile):
    producer.behaviour.body = OK_BODY
    r = forwarding(profile=producer_profile).post(PING20 if consumer_bp20 else PING)
    assert r.status_code == 200
    sent = etree.fromstring(producer.behaviour.seen[-1][1])
    header = sent.find(f"{{{SOAP}}}Header")
    names = [child.tag for child in header]
    if producer_profile == "RIVTABP21":
        assert names == [f"{{{ns.REGISTRY}}}LogicalAddress"]
    else:
        assert names == [f"{{{ns.WSA}}}To"]
    assert header[0].text == "PRODUCER-1"


def test_unknown_profile_is_vp005(forwarding):
    f = fault(forwarding(profile="RIVTABP30").post(PING))
    assert f["faultstring"].startswith("VP005") and f["faultcode"] == "SOAP-ENV:Client"


def test_two_valid_routes_is_vp006(start_platform, tmp_path):
    tak = write_tak(tmp_path, route(C, "A", "http://127.0.0.1:9/a") + route(C, "A", "http://127.0.0.1:9/b")
                    + auth(CONSUMER, C, "A"))
    f = fault(start_platform(tak=tak).post(envelope(f'<Ping xmlns="{C}"/>', address="A")))
    assert f["faultstring"].startswith("VP006") and f["faultcode"] == "SOAP-ENV:Server"


def test_route_without_address_is_vp010(start_platform, tmp_path):
    tak = write_tak(tmp_path, route(C, "A", "") + auth(CONSUMER, C, "A"))
    f = fault(start_platform(tak=tak).post(envelope(f'<Ping xmlns="{C}"/>', address="A")))
    assert f["faultstring"].startswith("VP010")
    assert f["detail"] == ("Physical Address field is empty in Service Producer for "
                           f"serviceNamespace: {C}, receiverId: A")


@pytest.mark.parametrize("with_default_auth", [True, False])
@pytest.mark.parametrize("default", ["*", "SE"])
def test_default_routes_with_and_without_default_authorisation(start_platform, producer, tmp_path, default,
                                                               with_default_auth):
    producer.behaviour.body = OK_BODY
    authorisation = auth(CONSUMER, C, default) if with_default_auth else auth(CONSUMER, C, "SOMEWHERE-ELSE")
    tak = write_tak(tmp_path, route(C, default, producer.url) + authorisation)
    r = start_platform(tak=tak).post(envelope(f'<Ping xmlns="{C}"/>', address="SE123-ANY"))
    if with_default_auth:
        assert r.status_code == 200
    else:
        assert fault(r)["faultstring"].startswith("VP007")


@pytest.mark.parametrize("default", ["*", "SE"])
def test_default_route_with_the_authorisation_on_the_exact_address(start_platform, producer, tmp_path, default):
    producer.behaviour.body = OK_BODY
    tak = write_tak(tmp_path, route(C, default, producer.url) + auth(CONSUMER, C, "SE123-ANY"))
    p = start_platform(tak=tak)
    assert p.post(envelope(f'<Ping xmlns="{C}"/>', address="SE123-ANY")).status_code == 200
    other = p.post(envelope(f'<Ping xmlns="{C}"/>', address="SE123-OTHER"))  # routed, but not authorised there
    assert fault(other)["faultstring"].startswith("VP007 ")


def test_hsa_tree_climbing_routes_and_authorises_via_parent(start_platform, producer, tmp_path):
    producer.behaviour.body = OK_BODY
    tak = write_tak(tmp_path, route(C, "SE123-REGION", producer.url) + auth(CONSUMER, C, "SE123-REGION")
                    + '[hsa_parents]\n"SE123-UNIT" = "SE123-CLINIC"\n"SE123-CLINIC" = "SE123-REGION"\n')
    p = start_platform(tak=tak)
    assert p.post(envelope(f'<Ping xmlns="{C}"/>', address="SE123-UNIT")).status_code == 200
    trace = p.app.journal.exchanges()[-1].route_trace
    assert trace[:3] == ["route: SE123-UNIT", "route: (parent)SE123-CLINIC", "route: (parent)SE123-REGION"]


def test_status_document(platform):
    data = platform.session.get(platform.url + "/status").json()
    assert data["ServiceStatus"] == "Started"
    assert data["InstanceName"] == "mockplatform"
    # the built-in TAK: the inbox (2 contracts), the engagement index (3) and crm:scheduling at two units (22)
    assert data["Routes"] == 27 and data["Authorisations"] == 31
    assert {"IsActiveUser", "AddMessageToPatientPortalInbox", "Update", "ProcessNotification",
            "GetBookingDetails"} <= {c["name"] for c in data["Contracts"]}
    assert len(data["Contracts"]) == 17
    assert "Uptime" in data and data["TakCacheInitialized"] is True


def test_add_message_goes_through_the_platform(platform):
    r = platform.post(add_message(ACTIVE_SMS_EMAIL))
    assert r.status_code == 200 and b"<resultCode>OK</resultCode>" in r.content


@pytest.mark.parametrize("method", ["PUT", "DELETE"])
def test_a_soap_call_with_the_wrong_method_is_405_and_journaled(platform, method):
    cid = f"wrong-method-{uuid.uuid4()}"
    r = platform.session.request(method, platform.url + "/vp", data=is_active_user(), timeout=10,
                                 headers={"Content-Type": "text/xml", "x-skltp-correlation-id": cid})
    assert r.status_code == 405 and r.headers["Allow"] == "POST" and "POSTed to /vp" in r.text
    row = platform.app.journal.exchanges(limit=1, newest_first=True)[0]
    assert row.method == method and row.http_status == 405 and row.correlation_id == cid

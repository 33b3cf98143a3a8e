"""Consumer identity over HTTPS with client certificates: SERIALNUMBER, VP002, unknown CA."""

from __future__ import annotations

import asyncio.sslproto
import logging
import socket
import ssl
import time

import pytest
import requests

from mockplatform import Settings
from mockplatform.server import start_in_thread, tls_context

from .certs import CA
from .soap import CONSUMER, UNAUTHORISED, is_active_user
from .test_platform_http import fault


def _start(tmp_path, settings: Settings | None = None):
    from mockplatform import Application, Config

    ca = CA(tmp_path)
    server_cert, server_key = ca.issue("server", "localhost", server=True)
    app = Application(Config(journal=tmp_path / "j.sqlite", settings=settings or Settings()))
    server = start_in_thread(app, ssl_context=tls_context(server_cert, server_key, ca.cert_path))
    return server, ca


@pytest.fixture
def tls_platform(tmp_path):
    server, ca = _start(tmp_path)
    yield server, ca, tmp_path
    server.shutdown()
    server.server_close()
    server.app.close()


def post(server, ca, cert=None, headers=None):
    return requests.post(server.url + "/vp", data=is_active_user(), verify=str(ca.cert_path), cert=cert,
                         headers=headers or {}, timeout=10)


def test_serialnumber_of_the_client_certificate_is_the_consumer(tls_platform):
    server, ca, _ = tls_platform
    r = post(server, ca, ca.issue("consumer", "Journal", serialnumber=CONSUMER))
    assert r.status_code == 200, r.text
    assert server.app.journal.exchanges()[-1].consumer == CONSUMER
    r = post(server, ca, ca.issue("other", "Other", serialnumber=UNAUTHORISED))
    assert fault(r)["faultstring"].startswith("VP007")


def test_certificate_without_serialnumber_or_no_certificate_is_vp002(tls_platform):
    server, ca, _ = tls_platform
    for cert in (ca.issue("noserial", "No serial"), None):
        f = fault(post(server, ca, cert))
        assert f["faultstring"].startswith("VP002")
        assert f["detail"] == "No sender ID (SERIALNUMBER) found in certificate."


def test_sender_header_is_not_trusted_over_tls_not_even_with_the_instance_id(tls_platform):
    """x-vp-sender-id is for the platform's internal plain-HTTP entry: over TLS the certificate decides."""
    server, ca, _ = tls_platform
    cert = ca.issue("consumer", "Journal", serialnumber=CONSUMER)
    for headers in ({"x-vp-sender-id": UNAUTHORISED},
                    {"x-vp-sender-id": UNAUTHORISED, "x-vp-instance-id": server.app.settings.instance_id}):
        assert post(server, ca, cert, headers=headers).status_code == 200
        assert server.app.journal.exchanges()[-1].consumer == CONSUMER
        f = fault(post(server, ca, None, headers={**headers, "x-vp-sender-id": CONSUMER}))  # no certificate
        assert f["faultstring"].startswith("VP002")


def test_certificate_from_an_unknown_ca_fails_the_handshake(tls_platform):
    server, ca, tmp_path = tls_platform
    other = tmp_path / "other"
    other.mkdir()
    stranger = CA(other, "Stranger CA").issue("stranger", "Stranger", serialnumber=CONSUMER)
    with pytest.raises(requests.exceptions.SSLError):
        post(server, ca, stranger)
    assert post(server, ca, ca.issue("consumer", "Journal", serialnumber=CONSUMER)).status_code == 200


def test_a_client_closing_its_tls_connection_leaves_no_warning(tls_platform, caplog):
    """The TLS layer tells the server of the close (close_notify); that is routine, not a warning."""
    server, ca, _ = tls_platform
    caplog.set_level(logging.WARNING)
    cert_path, key_path = ca.issue("consumer", "Journal", serialnumber=CONSUMER)
    context = ssl.create_default_context(cafile=str(ca.cert_path))
    context.load_cert_chain(str(cert_path), str(key_path))
    host, port = server.server_address[:2]
    body = is_active_user()
    with socket.create_connection((host, port), timeout=5) as raw, \
            context.wrap_socket(raw, server_hostname="localhost") as tls:
        tls.sendall(b"POST /vp HTTP/1.1\r\nHost: localhost\r\nContent-Type: text/xml\r\n"
                    b"Content-Length: %d\r\n\r\n" % len(body) + body)
        assert tls.recv(65536).startswith(b"HTTP/1.1 200 ")
        tls.unwrap()  # close_notify, as a well-behaved client closes
    time.sleep(0.3)
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING], caplog.text


def _client_context(ca: CA, cert: tuple | None, tls12: bool = False) -> ssl.SSLContext:
    context = ssl.create_default_context(cafile=str(ca.cert_path))
    context.verify_flags |= ssl.VERIFY_X509_STRICT  # what Python 3.13 does by default
    if tls12:
        context.maximum_version = ssl.TLSVersion.TLSv1_2
    if cert is not None:
        context.load_cert_chain(str(cert[0]), str(cert[1]))
    return context


def _refused(server, context: ssl.SSLContext) -> tuple[str, ssl.SSLError]:
    """Connect and send a call; where the TLS error came ("handshake" or "read"), and the error."""
    host, port = server.server_address[:2]
    raw = socket.create_connection((host, port), timeout=5)
    with context.wrap_socket(raw, server_hostname="localhost", do_handshake_on_connect=False) as tls:
        try:
            tls.do_handshake()
        except ssl.SSLError as exc:
            return "handshake", exc
        body = is_active_user()
        try:
            tls.sendall(b"POST /vp HTTP/1.1\r\nHost: localhost\r\nContent-Length: %d\r\n\r\n" % len(body) + body)
            data = tls.recv(65536)
        except ssl.SSLError as exc:
            return "read", exc
        raise AssertionError(f"the call was answered: {data[:100]!r}")


@pytest.mark.parametrize("tls12", [True, False], ids=["TLS 1.2", "TLS 1.3"])
@pytest.mark.parametrize("kind, alert", [("unknown CA", "TLSV1_ALERT_UNKNOWN_CA"),
                                         ("expired", "SSLV3_ALERT_CERTIFICATE_EXPIRED")])
def test_a_refused_certificate_gets_the_alert_that_says_why(tls_platform, kind, alert, tls12):
    """The alert reaches the client before the connection closes: in the handshake with TLS 1.2; with
    TLS 1.3 the client has finished its part of the handshake before the server checks its certificate,
    so the alert is the answer to its first read. Nothing reaches the platform either way."""
    server, ca, tmp_path = tls_platform
    if kind == "expired":
        cert = ca.issue("expired", "Journal", serialnumber=CONSUMER, expired=True)
    else:
        (tmp_path / "other").mkdir()
        cert = CA(tmp_path / "other", "Stranger CA").issue("stranger", "Stranger", serialnumber=CONSUMER)
    where, error = _refused(server, _client_context(ca, cert, tls12))
    assert where == ("handshake" if tls12 else "read")
    assert error.reason == alert, error
    assert server.app.journal.exchanges() == []


def test_tls_needs_no_private_part_of_asyncio(tmp_path, monkeypatch):
    """The server's TLS layer is its own, over ssl.MemoryBIO: it works with asyncio's TLS protocol
    (private, and changed between Python versions) out of reach, and still sends its alerts."""
    def unavailable(*args, **kwargs):
        raise AssertionError("asyncio's private SSLProtocol was used")

    monkeypatch.setattr(asyncio.sslproto.SSLProtocol, "__init__", unavailable)
    server, ca = _start(tmp_path)
    try:
        assert post(server, ca, ca.issue("consumer", "Journal", serialnumber=CONSUMER)).status_code == 200
        (tmp_path / "other").mkdir()
        stranger = CA(tmp_path / "other", "Stranger CA").issue("stranger", "Stranger")
        where, error = _refused(server, _client_context(ca, stranger, tls12=True))
        assert (where, error.reason) == ("handshake", "TLSV1_ALERT_UNKNOWN_CA")
    finally:
        server.shutdown()
        server.server_close()
        server.app.close()


def test_a_client_that_never_finishes_its_handshake_is_dropped_after_the_read_timeout(tmp_path):
    """A TCP client that says nothing holds a connection for ``read_timeout_s``, not for ever."""
    server, ca = _start(tmp_path, Settings(read_timeout_s=0.3))
    try:
        host, port = server.server_address[:2]
        with socket.create_connection((host, port), timeout=5) as raw:
            t0 = time.monotonic()
            assert raw.recv(1) == b""  # closed by the server
            assert 0.2 < time.monotonic() - t0 < 3
    finally:
        server.shutdown()
        server.server_close()
        server.app.close()


def test_test_certificates_pass_strict_verification(tls_platform):
    """Python 3.13 verifies with VERIFY_X509_STRICT by default: the test CA and its certificates carry
    the key identifiers and usages it asks for, so the suite runs the same on 3.11 to 3.13."""
    server, ca, _ = tls_platform
    context = _client_context(ca, ca.issue("consumer", "Journal", serialnumber=CONSUMER))
    host, port = server.server_address[:2]
    with socket.create_connection((host, port), timeout=5) as raw, \
            context.wrap_socket(raw, server_hostname="localhost") as tls:
        body = is_active_user()
        tls.sendall(b"POST /vp HTTP/1.1\r\nHost: localhost\r\nContent-Length: %d\r\n\r\n" % len(body) + body)
        assert tls.recv(65536).startswith(b"HTTP/1.1 200 ")


def test_a_call_identified_by_certificate_is_evidence_of_who_called(tls_platform):
    """The journal keeps how the consumer was identified, with the certificate's subject and issuer, and the
    protocol says the identity was proven (not merely declared)."""
    from mockplatform.verification import VerifyOptions, verify

    server, ca, _ = tls_platform
    assert post(server, ca, ca.issue("consumer", "Journal", serialnumber=CONSUMER)).status_code == 200
    exchange = server.app.journal.exchanges()[-1]
    assert exchange.identified_by == "certificate"
    assert f"SERIALNUMBER={CONSUMER}" in exchange.client_certificate and "CN=Journal" in exchange.client_certificate
    assert "issuer: " in exchange.client_certificate
    protocol = verify(VerifyOptions(journal=server.app.journal.path))
    assert protocol.head.identified == {"certificate": 1}
    from mockplatform.protocol import text

    shown = "\n".join(row.text for row in text.head_rows(protocol))
    assert "declared, not proven" not in shown and "client certificate: 1" in shown

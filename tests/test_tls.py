"""Consumer identity over HTTPS with client certificates: SERIALNUMBER, VP002, unknown CA."""

from __future__ import annotations

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


@pytest.fixture
def tls_platform(tmp_path):
    from mockplatform import Application, Config

    ca = CA(tmp_path)
    server_cert, server_key = ca.issue("server", "localhost", server=True)
    app = Application(Config(journal=tmp_path / "j.sqlite", settings=Settings()))
    server = start_in_thread(app, ssl_context=tls_context(server_cert, server_key, ca.cert_path))
    yield server, ca, tmp_path
    server.shutdown()
    server.server_close()
    app.close()


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

"""The transport-free request value: what every adapter hands to the platform."""

import pytest

from mockplatform.messages import Request


@pytest.mark.parametrize("client, ip", [
    ("127.0.0.1:5555", "127.0.0.1"), ("[::1]:5555", "::1"), ("::1:5555", "::1"), ("192.0.2.7:80", "192.0.2.7"),
])
def test_client_ip_drops_the_port_for_ipv4_and_ipv6(client, ip):
    assert Request("GET", "/", [], client=client).client_ip == ip


def test_header_lookup_is_case_insensitive_and_takes_the_first():
    request = Request("POST", "/vp", [("X-VP-Sender-Id", "A"), ("x-vp-sender-id", "B")])
    assert request.header("x-vp-sender-id") == "A"
    assert request.header("missing") is None

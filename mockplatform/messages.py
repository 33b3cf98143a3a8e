"""Transport-free request and response values: what every adapter (HTTP server, responses
mode, tests) hands to the platform and gets back."""

from __future__ import annotations

import ipaddress
import json
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

# The mark the built-in sample consumer puts on every call it makes: the journal keeps it with the headers,
# and a protocol built on such calls is a demonstration of the tool, not evidence for a system.
DEMONSTRATION_HEADER = "x-mockplatform-demonstration"
XML_CONTENT_TYPE = "text/xml; charset=UTF-8"  # SOAP messages (the platform's, its producers', a consumer's) and WSDLs


@dataclass(slots=True)
class Request:
    method: str
    path: str
    headers: list[tuple[str, str]]
    body: bytes = b""
    query: dict[str, str] = field(default_factory=dict)  # names in lower case, values decoded
    raw_query: str = ""  # as sent, still percent-encoded (SAML's Redirect binding signs it so)
    client: str = ""  # "ip:port"
    tls: bool = False
    # SERIALNUMBER of the verified client certificate's subject; "" when a cert had none.
    tls_serialnumber: str | None = None
    tls_subject: str | None = None  # the verified client certificate's subject and issuer, as RFC 4514 text
    tls_issuer: str | None = None
    scheme: str = "http"
    body_size: int | None = None  # the announced size when only part of the body is kept (over the limit, or cut short)
    # The SOAP envelope once read (``SoapPipeline.may_wait`` reads it before ``handle``, which reuses it).
    envelope: Any = field(default=None, repr=False, compare=False)
    # Whether a fault was armed when ``may_wait`` looked (None: it did not look): ``handle`` asks no second time,
    # which on a shared database is a round trip.
    faults_armed: bool | None = field(default=None, repr=False, compare=False)

    def header(self, name: str) -> str | None:
        name = name.lower()
        for key, value in self.headers:
            if key.lower() == name:
                return value
        return None

    @property
    def client_ip(self) -> str:
        """The address without the port: "127.0.0.1:5555", "[::1]:5555" and "::1:5555" all work."""
        client = self.client
        if client.startswith("[") and "]" in client:
            return client[1:client.index("]")]
        if ":" in client:
            return client.rpartition(":")[0]
        return client

    @property
    def from_loopback(self) -> bool:
        """Is the client on this machine? The one loopback rule: the admin API and the pages both ask it."""
        return is_loopback(self.client)


def is_loopback(client: str) -> bool:
    """Is the client ("ip:port", "[ip]:port" or a bare ip) on this machine: 127.0.0.0/8, ::1, or an
    IPv4-mapped loopback address? A name ("localhost") is not an address: no."""
    if client.startswith("[") and "]" in client:
        candidates = [client[1:client.index("]")]]
    else:  # the HTTP adapter writes "host:port" for IPv6 too: strip the port first, then try as is
        candidates = [client.rsplit(":", 1)[0], client] if ":" in client else [client]
    for candidate in candidates:
        try:
            address = ipaddress.ip_address(candidate)
        except ValueError:
            continue
        if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
            address = address.ipv4_mapped
        return address.is_loopback
    return False


_DEFAULT_PORTS = {"http": 80, "https": 443}


def from_this_site(request: Request, url: str) -> bool:
    """Whether ``url`` (a browser's Origin, or its Referer) is of the site the request was sent to: the
    request's scheme, and the host and port of its Host header (a scheme's default port written or not).
    The one rule for the admin API and the pages' forms; "null" and anything not http(s) are not."""
    host = (request.header("host") or "").strip().lower()
    try:
        named, sent = urlsplit(url.strip()), urlsplit(f"{request.scheme}://{host}")
        ports = (named.port or _DEFAULT_PORTS.get(named.scheme), sent.port or _DEFAULT_PORTS.get(sent.scheme))
    except ValueError:  # a port that is no number
        return False
    return (bool(host) and named.scheme == request.scheme and named.scheme in _DEFAULT_PORTS
            and named.hostname is not None and named.hostname == sent.hostname and ports[0] == ports[1]
            and not named.username and not named.password)


@dataclass(slots=True)
class Response:
    status: int
    headers: list[tuple[str, str]]
    body: bytes
    # The journal's id of the exchange, once committed (not sent): a caller inside the process (``outbound``)
    # ties what it does next to it. None when held for a later commit, or not journaled.
    exchange_id: int | None = field(default=None, compare=False)


def is_demonstration(headers: list[tuple[str, str]]) -> bool:
    """Whether a request carries the sample consumer's mark (``DEMONSTRATION_HEADER``)."""
    for key, _ in headers:  # noqa: SIM110 - a loop: judging asks it of every exchange, a generator costs more
        if key.lower() == DEMONSTRATION_HEADER:
            return True
    return False


ID_MAX = 2**63 - 1  # the largest integer SQLite stores: journal ids and limits above it are refused


def whole_number(text: str) -> int | None:
    """A query parameter as a whole number from 0 to ID_MAX (an id, a limit); None when it is not one."""
    try:
        value = int(text)
    except ValueError:
        return None
    return value if 0 <= value <= ID_MAX else None


def json_response(status: int, data: Any) -> Response:
    """A JSON answer (status document, admin API, page APIs): UTF-8, readable."""
    return Response(status, [("Content-Type", "application/json; charset=UTF-8")],
                    json.dumps(data, ensure_ascii=False, indent=2).encode("utf-8"))

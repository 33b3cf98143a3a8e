"""A call the platform's own simulated systems make through the platform (the engagement index
notifying a subscriber; 1177 asking a booking system), on the one path every call takes: routed by
the TAK, authorised, answered, journaled. It is marked with ``ORIGIN_HEADER`` so the journal and the
protocol tell it from a call the system under test made.
"""

from __future__ import annotations

from dataclasses import dataclass
from xml.sax.saxutils import escape

from . import http_routes, ns
from .app import Application
from .envelope import Answer, read_answer
from .messages import XML_CONTENT_TYPE, Request

ORIGIN_HEADER = "x-mockplatform-origin"  # which simulated system made the call (e.g. "engagementindex")


@dataclass(frozen=True)
class Outcome:
    """What came back: the HTTP status, the body, the answer read (None when not SOAP), the correlation id,
    and the journal's id of the exchange."""

    status: int
    body: bytes
    answer: Answer | None
    correlation_id: str | None
    exchange_id: int | None


def envelope(logical_address: str, payload_xml: str, extra_headers_xml: str = "") -> bytes:
    """A SOAP 1.1 request as RIVTA BP 2.1 writes it: LogicalAddress (then any other header), the payload."""
    return (f'<?xml version="1.0" encoding="UTF-8"?><soapenv:Envelope xmlns:soapenv="{ns.SOAP11}" '
            f'xmlns:itr="{ns.REGISTRY}"><soapenv:Header><itr:LogicalAddress>{escape(logical_address)}'
            f"</itr:LogicalAddress>{extra_headers_xml}</soapenv:Header><soapenv:Body>{payload_xml}"
            "</soapenv:Body></soapenv:Envelope>").encode()


def call(app: Application, *, origin: str, consumer: str, logical_address: str, contract: str, operation: str,
         payload_xml: str, extra_headers_xml: str = "") -> Outcome:
    """Send ``payload_xml`` (the request element, escaped) for ``contract`` (its responder namespace) to
    ``logical_address`` as ``consumer``, through the platform. Never raises for what the platform answers."""
    interaction = app.contracts.get(contract)
    path = interaction.interaction.wsdl_path if interaction is not None else "/vp"
    request = Request(
        method="POST",
        path=path,
        headers=[("Host", "mockplatform.internal"), ("Content-Type", XML_CONTENT_TYPE),
                 ("SOAPAction", f'"{contract}:{operation}"'), ("x-vp-sender-id", consumer),
                 ("x-vp-instance-id", app.settings.instance_id), (ORIGIN_HEADER, origin),
                 ("User-Agent", f"mockplatform/{origin}")],
        body=envelope(logical_address, payload_xml, extra_headers_xml),
        client="127.0.0.1:0",
    )
    response = http_routes.handle(app, request)
    correlation = next((v for k, v in response.headers if k.lower() == "x-skltp-correlation-id"), None)
    return Outcome(response.status, response.body, read_answer(response.body), correlation, response.exchange_id)


__all__ = ["ORIGIN_HEADER", "Outcome", "call", "envelope"]

"""The producer interface shared by in-process producers and forwarding to URLs."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from .. import ns
from ..envelope import Envelope
from ..faults import render_fault
from ..findings import Finding
from ..journal import Effect
from ..messages import XML_CONTENT_TYPE
from ..tak import Route


@dataclass(slots=True)
class ProducerCall:
    route: Route
    contract: str
    logical_address: str
    consumer: str
    correlation_id: str
    envelope: Envelope
    headers: list[tuple[str, str]]  # the platform's headers to a producer URL (none for an in-process one)
    timeout_s: float
    request_size: int = 0  # bytes of the consumer's request

    def body(self) -> bytes:
        return self.envelope.to_bytes()


@dataclass(slots=True)
class ProducerAnswer:
    """What came back. ``status`` is None when nothing came back (``failure`` says why)."""

    status: int | None
    body: bytes = b""
    headers: list[tuple[str, str]] = field(default_factory=list)
    effects: list[Effect] = field(default_factory=list)
    failure: str | None = None
    # A state change recorded with the exchange, as data, and applied when the producer's state is next
    # read (``Exchange.effect``): nothing for the commit to do while the consumer waits.
    deferred: str | None = None


Producer = Callable[[ProducerCall], ProducerAnswer]


def soap_answer(payload_xml: str, status: int = 200) -> ProducerAnswer:
    """A producer's SOAP 1.1 answer around ``payload_xml`` (the response element, already escaped)."""
    body = (
        '<?xml version="1.0" encoding="UTF-8"?>'
        f'<soapenv:Envelope xmlns:soapenv="{ns.SOAP11}"><soapenv:Body>{payload_xml}'
        "</soapenv:Body></soapenv:Envelope>"
    ).encode()
    return ProducerAnswer(status, body, [("Content-Type", XML_CONTENT_TYPE)])


def fault_answer(faultcode: str, faultstring: str, detail: str | None = None) -> ProducerAnswer:
    """A producer's SOAP fault, HTTP 500 (the platform passes it on)."""
    return ProducerAnswer(500, render_fault(faultcode, faultstring, detail), [("Content-Type", XML_CONTENT_TYPE)])


def schema_fault(findings: Sequence[Finding]) -> ProducerAnswer:
    """A validating producer's Client fault naming every schema violation (path, line, reason, fix)."""
    lines = [f"{i}) {f.path or '?'}" + (f" (line {f.line})" if f.line else "") + f": {f.message_en}"
             + (f" [fix: {f.hint}]" if f.hint else "") for i, f in enumerate(findings, 1)]
    faultstring = f"Schema validation failed with {len(findings)} violation(s):\n" + "\n".join(lines)
    return fault_answer("SOAP-ENV:Client", faultstring, "\n".join(lines))


def version_mismatch(envelope_namespace: str) -> ProducerAnswer | None:
    """What a SOAP 1.1-only producer answers an envelope that is not SOAP 1.1 (None: it is SOAP 1.1)."""
    if envelope_namespace == ns.SOAP11:
        return None
    if envelope_namespace == ns.SOAP12:
        said = "A SOAP 1.2 message is not valid when sent to a SOAP 1.1 only endpoint. SOAP 1.2 is not supported"
    else:
        said = (f"A message in envelope namespace '{envelope_namespace}' is not valid when sent to a SOAP 1.1 only "
                "endpoint")
    return fault_answer("SOAP-ENV:VersionMismatch",
                        f"{said}: send SOAP 1.1 (envelope namespace {ns.SOAP11}, Content-Type text/xml, a "
                        "SOAPAction header), as RIVTA BP 2.1 requires")

"""Reading a SOAP request the way the platform does: by local names, whatever the SOAP version.

The service contract is the namespace of the first element in Body; the logical address is the
last header element named ``LogicalAddress`` (RIVTA BP 2.1) or ``To`` (BP 2.0, WS-Addressing).
"""

from __future__ import annotations

from dataclasses import dataclass

from lxml import etree

from . import ns
from .xmlsafe import UnsafeXMLError, local_name, namespace, parse, text_value

PROFILE_BP21 = "RIVTABP21"
PROFILE_BP20 = "RIVTABP20"


@dataclass(slots=True)
class Envelope:
    root: etree._Element
    header: etree._Element | None
    body: etree._Element
    payload: etree._Element
    contract: str
    logical_address: str | None
    address_element: etree._Element | None

    @property
    def soap_namespace(self) -> str:
        return namespace(self.root)

    @property
    def profile(self) -> str | None:
        """The RIVTA profile the consumer used, read from which address header it sent."""
        if self.address_element is None:
            return None
        return PROFILE_BP20 if local_name(self.address_element) == "To" else PROFILE_BP21

    def to_bytes(self) -> bytes:
        return etree.tostring(self.root, xml_declaration=True, encoding="UTF-8")


class MalformedRequest(ValueError):
    """The request cannot be read as a SOAP message (the platform answers VP015)."""


def read_envelope(data: bytes) -> Envelope:
    """Parse and dissect a request; raise MalformedRequest with the parser's message."""
    try:
        root = parse(data)
    except etree.XMLSyntaxError as exc:
        # lxml appends "(<string>, line N)" to the parser's own message; the consumer sent no file name.
        message = str(exc).removesuffix(f" (<string>, line {exc.lineno})")
        raise MalformedRequest(" ".join(message.split()).replace(" ,", ",")) from None
    except UnsafeXMLError as exc:
        raise MalformedRequest(str(exc)) from None
    except ValueError as exc:  # e.g. lxml refusing a str with an encoding declaration
        raise MalformedRequest(str(exc)) from None
    tag = root.tag
    if tag != "Envelope" and not tag.endswith("}Envelope"):  # by local name, as everywhere here
        raise MalformedRequest(f"Root element is '{local_name(root)}', expected a SOAP Envelope")
    # Plain loops over the few children: cheaper than lxml's tag-filtered iterators, which parse
    # their filters on every call. Comments and PIs have a non-str tag and are passed over.
    header = body = None
    for child in root:
        tag = child.tag
        if isinstance(tag, str):
            name = tag.rpartition("}")[2]
            if name == "Header":
                if header is None:
                    header = child
            elif name == "Body" and body is None:
                body = child
    if body is None:
        raise MalformedRequest("No SOAP Body in the request")
    payload = next((c for c in body if isinstance(c.tag, str)), None)
    if payload is None:
        raise MalformedRequest("SOAP Body has no element: the service contract cannot be determined")
    address_element = None
    if header is not None:
        for child in header:
            tag = child.tag
            if isinstance(tag, str) and tag.rpartition("}")[2] in ("LogicalAddress", "To"):
                address_element = child  # the last one wins, as on the real platform
    logical_address = None
    if address_element is not None:
        logical_address = text_value(address_element)
    return Envelope(
        root=root,
        header=header,
        body=body,
        payload=payload,
        contract=namespace(payload),
        logical_address=logical_address,
        address_element=address_element,
    )


def rewrite_address_header(envelope: Envelope, producer_profile: str) -> bool:
    """Rewrite BP 2.0 ``To`` <-> BP 2.1 ``LogicalAddress`` when the producer's profile differs.

    Returns True when the envelope was changed.
    """
    consumer_profile = envelope.profile
    if consumer_profile is None or consumer_profile == producer_profile.upper():
        return False
    old = envelope.address_element
    if producer_profile.upper() == PROFILE_BP21:
        new = etree.Element(f"{{{ns.REGISTRY}}}LogicalAddress", nsmap={None: ns.REGISTRY})
    else:
        new = etree.Element(f"{{{ns.WSA}}}To", nsmap={"wsa": ns.WSA})
    new.text = envelope.logical_address
    new.tail = old.tail
    old.getparent().replace(old, new)
    envelope.address_element = new
    return True


# Fault codes that put the blame on the request (SOAP 1.1 Client, SOAP 1.2 Sender, a SOAP version or a
# mandatory header the producer cannot take): it needs correcting, a retry cannot cure it.
CLIENT_FAULT_CODES = frozenset({"Client", "Sender", "VersionMismatch", "MustUnderstand"})


@dataclass(slots=True)
class Answer:
    """A SOAP answer (a producer's, or the platform's fault) read once: the one reader of answers.

    ``payload`` is the first element in Body: the response element, or the Fault. For a fault,
    ``fault_code`` is the faultcode's local part ("Client", "Server") and ``fault_string`` its text.
    """

    root: etree._Element
    payload: etree._Element | None
    soap11: bool
    fault_code: str | None = None
    fault_string: str | None = None

    @property
    def is_fault(self) -> bool:
        return self.payload is not None and local_name(self.payload) == "Fault"

    @property
    def client_fault(self) -> bool:
        """A fault that blames the request (``CLIENT_FAULT_CODES``), such as a schema violation."""
        return self.fault_code in CLIENT_FAULT_CODES

    def child_text(self, name: str) -> str | None:
        """The text of the payload's first child with this local name (None if there is none)."""
        if self.payload is not None:
            for child in self.payload:
                if local_name(child) == name:
                    return text_value(child)
        return None

    def children_named(self, name: str) -> list[etree._Element]:
        return [] if self.payload is None else [c for c in self.payload if local_name(c) == name]


def read_answer(data: bytes | None) -> Answer | None:
    """An answer as SOAP (parsed with the one hardened parser); None when it is not a SOAP envelope."""
    if not data:
        return None
    try:
        root = parse(data)
    except (etree.XMLSyntaxError, UnsafeXMLError, ValueError):
        return None
    if local_name(root) != "Envelope":
        return None
    body = next((c for c in root if local_name(c) == "Body"), None)
    payload = None if body is None else next((c for c in body if isinstance(c.tag, str)), None)
    answer = Answer(root, payload, namespace(root) == ns.SOAP11)
    if answer.is_fault:
        code = answer.child_text("faultcode")
        answer.fault_code = None if code is None else code.strip().rpartition(":")[2]
        said = answer.child_text("faultstring")
        answer.fault_string = None if said is None else " ".join(said.split())
    return answer

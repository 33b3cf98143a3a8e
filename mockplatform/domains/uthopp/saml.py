"""SAML messages on the wire: decoding the two bindings, checking signatures, and writing the stand-in's
Response, LogoutRequest and LogoutResponse, signed for real with signxml (XML-DSig, RSA-SHA256, exclusive
c14n). Which broken Response to send instead of a valid one is a ``ResponseKind``."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import html
import secrets
import zlib
from dataclasses import dataclass
from urllib.parse import unquote_plus

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding
from lxml import etree

from ...messages import Response
from ...xmlsafe import hardened_parser, parse
from .keys import SigningKey
from .names import (
    ATTRNAME_URI,
    BEARER,
    DISPLAY_NAME,
    DS,
    GIVEN_NAME,
    LOA3,
    PERSONAL_IDENTITY_NUMBER,
    SAML,
    SAMLP,
    STATUS_SUCCESS,
    SURNAME,
    XS,
    XSI,
)

SIG_ALGS = {
    "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256": hashes.SHA256,
    "http://www.w3.org/2001/04/xmldsig-more#rsa-sha384": hashes.SHA384,
    "http://www.w3.org/2001/04/xmldsig-more#rsa-sha512": hashes.SHA512,
    "http://www.w3.org/2000/09/xmldsig#rsa-sha1": hashes.SHA1,
}
WEAK_SIG_ALGS = frozenset({"http://www.w3.org/2000/09/xmldsig#rsa-sha1"})
MAX_INFLATED = 1024 * 1024  # a deflated AuthnRequest is small; a bigger one is refused, not inflated on


class BindingError(ValueError):
    """A SAML message that cannot be read from its binding (not base64, not deflated, not XML)."""


# -- reading ------------------------------------------------------------------------------------------------


def decode_redirect(value: str) -> bytes:
    """SAMLRequest/SAMLResponse of the HTTP-Redirect binding: base64 of raw DEFLATE."""
    try:
        raw = base64.b64decode(value, validate=False)
    except ValueError as exc:
        raise BindingError(f"not base64: {exc}") from exc
    inflater = zlib.decompressobj(-15)
    try:
        out = inflater.decompress(raw, MAX_INFLATED)
    except zlib.error as exc:
        raise BindingError(f"not DEFLATE-compressed, as the HTTP-Redirect binding requires ({exc})") from exc
    if inflater.unconsumed_tail:
        raise BindingError(f"inflates to more than {MAX_INFLATED} bytes")
    return out


def decode_post(value: str) -> bytes:
    """SAMLRequest/SAMLResponse of the HTTP-POST binding: base64 of the XML."""
    try:
        return base64.b64decode("".join(value.split()), validate=True)
    except ValueError as exc:
        raise BindingError(f"not base64: {exc}") from exc


def read_message(xml: bytes) -> etree._Element:
    try:
        return parse(xml, "a SAML message")
    except Exception as exc:
        raise BindingError(f"not well-formed XML: {exc}") from exc


def verify_redirect(raw_query: str, field: str, certs_pem: tuple[str, ...]) -> tuple[str, str]:
    """The HTTP-Redirect binding's signature (SAML bindings 3.4.4.1): over the query's own encoded
    ``field=..&RelayState=..&SigAlg=..``. Returns (outcome, detail), outcome "absent", "valid" or "invalid"."""
    parts: dict[str, str] = {}
    for pair in raw_query.split("&"):
        name, _, value = pair.partition("=")
        parts.setdefault(name, value)
    if "Signature" not in parts:
        return "absent", "no Signature parameter"
    alg = unquote_plus(parts.get("SigAlg", ""))
    if alg not in SIG_ALGS:
        return "invalid", f"SigAlg {alg or '(none)'} is not an RSA signature algorithm the stand-in knows"
    if not certs_pem:
        return "invalid", "signed, but the metadata has no signing certificate to check it with"
    signed = "&".join(f"{n}={parts[n]}" for n in (field, "RelayState", "SigAlg") if n in parts).encode()
    try:
        signature = base64.b64decode(unquote_plus(parts["Signature"]))
    except ValueError:
        return "invalid", "Signature is not base64"
    for pem in certs_pem:
        key = x509.load_pem_x509_certificate(pem.encode()).public_key()
        try:
            key.verify(signature, signed, padding.PKCS1v15(), SIG_ALGS[alg]())  # type: ignore[union-attr,call-arg]
            return "valid", alg
        except (InvalidSignature, TypeError, ValueError):
            continue
    return "invalid", "the signature does not verify with the certificate(s) in the metadata"


def verify_xml(xml: bytes, certs_pem: tuple[str, ...]) -> tuple[str, str]:
    """An enveloped XML signature on the message's root (HTTP-POST binding). (outcome, detail) as above."""
    from signxml import XMLVerifier
    from signxml.exceptions import InvalidInput
    from signxml.exceptions import InvalidSignature as XmlInvalidSignature

    root = read_message(xml)
    sig = root.find(f"{{{DS}}}Signature")
    if sig is None:
        return "absent", "no ds:Signature on the message"
    if not certs_pem:
        return "invalid", "signed, but the metadata has no signing certificate to check it with"
    last = ""
    for pem in certs_pem:
        try:
            result = XMLVerifier().verify(xml, x509_cert=pem, parser=hardened_parser())
        except (XmlInvalidSignature, InvalidInput, ValueError) as exc:
            last = str(exc)
            continue
        signed = result.signed_xml  # type: ignore[union-attr]
        # What was signed must be the message itself, not an element somewhere in it (signature wrapping).
        if signed is None or signed.tag != root.tag or signed.get("ID") != root.get("ID"):
            return "invalid", "the signature does not cover the message's root element"
        return "valid", "enveloped signature verified"
    return "invalid", f"the signature does not verify with the certificate(s) in the metadata: {last}"


# -- writing ------------------------------------------------------------------------------------------------


def new_id() -> str:
    return "_" + secrets.token_hex(20)


def instant(when: dt.datetime) -> str:
    return when.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(microsecond=0)


@dataclass(frozen=True)
class ResponseKind:
    """A Response the stand-in can send instead of a valid one, to see that the SP refuses it."""

    name: str
    en: str
    sv: str


VALID = "valid"
KINDS: dict[str, ResponseKind] = {k.name: k for k in (
    ResponseKind(VALID, "a valid Response, signed", "ett giltigt, signerat Response"),
    ResponseKind("bad-signature", "the assertion changed after signing (the signatures do not verify)",
                 "intyget ändrat efter signeringen (signaturerna stämmer inte)"),
    ResponseKind("unsigned-assertion", "neither the assertion nor the Response is signed",
                 "varken intyget eller Response är signerat"),
    ResponseKind("wrong-audience", "the Audience is another service provider",
                 "Audience är en annan tjänsteleverantör"),
    ResponseKind("wrong-recipient", "SubjectConfirmationData's Recipient is another address than the ACS",
                 "SubjectConfirmationData Recipient är en annan adress än ACS"),
    ResponseKind("wrong-destination", "the Response's Destination is another address than the ACS",
                 "Responsets Destination är en annan adress än ACS"),
    ResponseKind("expired", "the assertion expired an hour ago (NotOnOrAfter passed)",
                 "intyget gick ut för en timme sedan (NotOnOrAfter passerad)"),
    ResponseKind("not-yet-valid", "the assertion is valid only from an hour from now (NotBefore)",
                 "intyget gäller först om en timme (NotBefore)"),
    ResponseKind("replayed", "a valid Response this service provider was sent before, sent again",
                 "ett giltigt Response som tjänsteleverantören fått förut, skickat igen"),
    ResponseKind("unknown-in-response-to", "InResponseTo names a request the service provider never sent",
                 "InResponseTo anger en begäran som tjänsteleverantören aldrig skickat"),
)}
ELSEWHERE = "https://elsewhere.invalid/saml/acs"
OTHER_AUDIENCE = "https://another-service.invalid/saml/metadata"


@dataclass(frozen=True)
class Subject:
    pnr: str
    given_name: str
    surname: str
    name_id: str
    name_id_format: str
    session_index: str


def _el(parent: etree._Element | None, ns: str, tag: str, text: str | None = None, **attrs: str) -> etree._Element:
    el = etree.Element(f"{{{ns}}}{tag}", nsmap={"saml": SAML} if ns == SAML else {"samlp": SAMLP, "saml": SAML}) \
        if parent is None else etree.SubElement(parent, f"{{{ns}}}{tag}")
    for k, v in attrs.items():
        el.set(k, v)
    if text is not None:
        el.text = text
    return el


def _sign(element: etree._Element, key: SigningKey) -> etree._Element:
    """Sign ``element`` (enveloped, placed after its Issuer as SAML's schema wants it), with signxml."""
    from signxml import XMLSigner

    issuer = element.find(f"{{{SAML}}}Issuer")
    placeholder = etree.Element(f"{{{DS}}}Signature", Id="placeholder", nsmap={"ds": DS})
    if issuer is not None:
        issuer.addnext(placeholder)
    else:
        element.insert(0, placeholder)
    signer = XMLSigner(signature_algorithm="rsa-sha256", digest_algorithm="sha256",
                       c14n_algorithm="http://www.w3.org/2001/10/xml-exc-c14n#")
    return signer.sign(element, key=key.private_key, cert=key.cert_pem, reference_uri=element.get("ID"))


def build_response(*, issuer: str, key: SigningKey, acs_url: str, audience: str, in_response_to: str | None,
                   subject: Subject, kind: str = VALID) -> bytes:
    """A signed Response with one assertion for ``subject``; ``kind`` breaks it as ``KINDS`` says
    ("replayed" is the caller's: it sends an earlier Response again)."""
    t = now()
    issued = t - dt.timedelta(hours=2) if kind == "expired" else t
    not_before = t + dt.timedelta(hours=1) if kind == "not-yet-valid" else issued - dt.timedelta(minutes=1)
    not_after = (t - dt.timedelta(hours=1) if kind == "expired" else
                 t + dt.timedelta(hours=2) if kind == "not-yet-valid" else t + dt.timedelta(minutes=5))
    answer_to = new_id() if kind == "unknown-in-response-to" else in_response_to
    response = _el(None, SAMLP, "Response", ID=new_id(), Version="2.0", IssueInstant=instant(issued),
                   Destination=ELSEWHERE if kind == "wrong-destination" else acs_url)
    if answer_to:
        response.set("InResponseTo", answer_to)
    _el(response, SAML, "Issuer", issuer)
    status = _el(response, SAMLP, "Status")
    _el(status, SAMLP, "StatusCode", Value=STATUS_SUCCESS)

    assertion = _el(None, SAML, "Assertion", ID=new_id(), Version="2.0", IssueInstant=instant(issued))
    _el(assertion, SAML, "Issuer", issuer)
    subj = _el(assertion, SAML, "Subject")
    _el(subj, SAML, "NameID", subject.name_id, Format=subject.name_id_format, NameQualifier=issuer,
        SPNameQualifier=audience)
    confirmation = _el(subj, SAML, "SubjectConfirmation", Method=BEARER)
    data = _el(confirmation, SAML, "SubjectConfirmationData", NotOnOrAfter=instant(not_after),
               Recipient=ELSEWHERE if kind == "wrong-recipient" else acs_url)
    if answer_to:
        data.set("InResponseTo", answer_to)
    conditions = _el(assertion, SAML, "Conditions", NotBefore=instant(not_before), NotOnOrAfter=instant(not_after))
    restriction = _el(conditions, SAML, "AudienceRestriction")
    _el(restriction, SAML, "Audience", OTHER_AUDIENCE if kind == "wrong-audience" else audience)
    authn = _el(assertion, SAML, "AuthnStatement", AuthnInstant=instant(issued), SessionIndex=subject.session_index,
                SessionNotOnOrAfter=instant(issued + dt.timedelta(hours=8)))
    context = _el(authn, SAML, "AuthnContext")
    _el(context, SAML, "AuthnContextClassRef", LOA3)
    attributes = _el(assertion, SAML, "AttributeStatement")
    for name, value in ((PERSONAL_IDENTITY_NUMBER, subject.pnr), (GIVEN_NAME, subject.given_name),
                        (SURNAME, subject.surname), (DISPLAY_NAME, f"{subject.given_name} {subject.surname}".strip())):
        if not value:
            continue
        attribute = _el(attributes, SAML, "Attribute", Name=name, NameFormat=ATTRNAME_URI)
        av = etree.SubElement(attribute, f"{{{SAML}}}AttributeValue", nsmap={"xs": XS, "xsi": XSI})
        av.set(f"{{{XSI}}}type", "xs:string")
        av.text = value

    if kind != "unsigned-assertion":
        assertion = _sign(assertion, key)
    response.append(assertion)
    if kind != "unsigned-assertion":
        response = _sign(response, key)
    if kind == "bad-signature":  # changed after signing: the digests no longer match
        for av in response.iter(f"{{{SAML}}}AttributeValue"):
            if av.text == subject.pnr:
                av.text = "191010101010" if subject.pnr != "191010101010" else "191212121212"
    return etree.tostring(response, xml_declaration=True, encoding="UTF-8")


def build_status_response(*, issuer: str, key: SigningKey, destination: str, in_response_to: str | None,
                          top: str, second: str | None, message: str) -> bytes:
    """A signed Response without an assertion: the request is refused with a SAML status (e.g.
    Responder/NoAuthnContext)."""
    response = _el(None, SAMLP, "Response", ID=new_id(), Version="2.0", IssueInstant=instant(now()),
                   Destination=destination)
    if in_response_to:
        response.set("InResponseTo", in_response_to)
    _el(response, SAML, "Issuer", issuer)
    status = _el(response, SAMLP, "Status")
    code = _el(status, SAMLP, "StatusCode", Value=top)
    if second:
        _el(code, SAMLP, "StatusCode", Value=second)
    _el(status, SAMLP, "StatusMessage", message)
    return etree.tostring(_sign(response, key), xml_declaration=True, encoding="UTF-8")


def build_logout_request(*, issuer: str, key: SigningKey, destination: str, name_id: str, name_id_format: str,
                         sp_name_qualifier: str, session_index: str) -> tuple[str, bytes]:
    """A signed LogoutRequest for one service provider's part of the citizen's session: (its ID, XML)."""
    request_id = new_id()
    request = _el(None, SAMLP, "LogoutRequest", ID=request_id, Version="2.0", IssueInstant=instant(now()),
                  Destination=destination, Reason="urn:oasis:names:tc:SAML:2.0:logout:user",
                  NotOnOrAfter=instant(now() + dt.timedelta(minutes=5)))
    _el(request, SAML, "Issuer", issuer)
    _el(request, SAML, "NameID", name_id, Format=name_id_format, NameQualifier=issuer,
        SPNameQualifier=sp_name_qualifier)
    _el(request, SAMLP, "SessionIndex", session_index)
    return request_id, etree.tostring(_sign(request, key), xml_declaration=True, encoding="UTF-8")


def build_logout_response(*, issuer: str, key: SigningKey, destination: str, in_response_to: str | None,
                          status: str = STATUS_SUCCESS) -> bytes:
    response = _el(None, SAMLP, "LogoutResponse", ID=new_id(), Version="2.0", IssueInstant=instant(now()),
                   Destination=destination)
    if in_response_to:
        response.set("InResponseTo", in_response_to)
    _el(response, SAML, "Issuer", issuer)
    st = _el(response, SAMLP, "Status")
    _el(st, SAMLP, "StatusCode", Value=status)
    return etree.tostring(_sign(response, key), xml_declaration=True, encoding="UTF-8")


def post_form(url: str, field: str, xml: bytes, relay_state: str | None, note: str = "") -> Response:
    """The HTTP-POST binding: a page whose form posts the message to ``url`` by itself (and has a button for
    a browser without JavaScript)."""
    value = base64.b64encode(xml).decode()
    relay = (f'<input type="hidden" name="RelayState" value="{html.escape(relay_state, quote=True)}">'
             if relay_state else "")
    script = "document.getElementById('saml').submit();"
    body = (f'<!doctype html><html lang="sv"><head><meta charset="utf-8"><title>Skickar / Sending</title></head>'
            f'<body><p>{html.escape(note)}</p><form id="saml" method="post" action="{html.escape(url, quote=True)}">'
            f'<input type="hidden" name="{field}" value="{value}">{relay}'
            f'<noscript><button type="submit">Fortsätt / Continue</button></noscript></form>'
            f'<script>{script}</script></body></html>').encode()
    digest = base64.b64encode(hashlib.sha256(script.encode()).digest()).decode()
    return Response(200, [("Content-Type", "text/html; charset=utf-8"), ("Cache-Control", "no-store"),
                          ("Content-Security-Policy", f"default-src 'none'; script-src 'sha256-{digest}'"),
                          ("X-Content-Type-Options", "nosniff"), ("Referrer-Policy", "no-referrer")], body)


__all__ = ["KINDS", "VALID", "BindingError", "ResponseKind", "Subject", "build_logout_request",
           "build_logout_response", "build_response", "build_status_response", "decode_post", "decode_redirect",
           "instant", "new_id", "post_form", "read_message", "verify_redirect", "verify_xml"]

"""SAML metadata both ways: the stand-in's IdP metadata (written), and a service provider's (read, from a
file, a URL or the admin API). The one reader of SP metadata; XML from outside goes through the hardened
parser."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lxml import etree

from ...errors import ConfigError
from ...xmlsafe import UnsafeXMLError, parse
from .keys import SigningKey, certificate_from_base64, pem_of
from .names import DS, MD, NAMEID_FORMATS, POST, REDIRECT


class MetadataError(ValueError):
    """SP metadata that cannot be used: the message says what and where."""


@dataclass(frozen=True)
class SpEndpoint:
    binding: str
    location: str
    index: int | None = None
    is_default: bool = False
    response_location: str | None = None


@dataclass(frozen=True)
class ServiceProvider:
    """A registered service provider, as its metadata describes it."""

    entity_id: str
    environment: str
    acs: tuple[SpEndpoint, ...]
    slo: tuple[SpEndpoint, ...] = ()
    signing_certs: tuple[str, ...] = ()  # PEM
    authn_requests_signed: bool = False
    want_assertions_signed: bool = False
    nameid_formats: tuple[str, ...] = ()
    source: str = ""  # where it was registered from: a file, a URL, "admin API"
    system_id: str | None = None  # the 1177 system-id whose ssoLink leads to it, if the registration says
    metadata_xml: str = field(default="", repr=False)

    def acs_for(self, url: str | None, index: int | None, binding: str | None) -> SpEndpoint | None:
        """The assertion consumer service an AuthnRequest asks for (by URL, or by index, or the default)."""
        if url is not None:
            return next((e for e in self.acs if e.location == url and (binding is None or e.binding == binding)),
                        None)
        if index is not None:
            return next((e for e in self.acs if e.index == index), None)
        return self.default_acs

    @property
    def default_acs(self) -> SpEndpoint | None:
        posts = [e for e in self.acs if e.binding == POST]
        return next((e for e in posts if e.is_default), posts[0] if posts else None)

    @property
    def slo_post(self) -> SpEndpoint | None:
        return next((e for e in self.slo if e.binding == POST), None)

    def summary(self) -> dict[str, Any]:
        """What the journal keeps of the registration an exchange was judged against."""
        return {"entity_id": self.entity_id, "environment": self.environment, "source": self.source,
                "acs": [[e.binding, e.location, e.index] for e in self.acs],
                "slo": [[e.binding, e.location] for e in self.slo],
                "authn_requests_signed": self.authn_requests_signed,
                "want_assertions_signed": self.want_assertions_signed, "signing_certificates": len(self.signing_certs),
                "nameid_formats": list(self.nameid_formats)}


_NS = {"md": MD, "ds": DS}


def _bool(value: str | None) -> bool:
    return (value or "").strip().lower() in ("true", "1")


FETCH_TIMEOUT_S = 10.0


def fetch_metadata(where: str, what: str = "metadata") -> bytes:
    """SP metadata from a file or an http(s) URL; ConfigError naming it and what went wrong."""
    if where.startswith(("http://", "https://")):
        import urllib3

        try:
            answer = urllib3.request("GET", where, timeout=FETCH_TIMEOUT_S, retries=False)
        except Exception as exc:
            raise ConfigError(f"{what} {where}: cannot be fetched: {exc}") from exc
        if answer.status != 200:
            raise ConfigError(f"{what} {where}: HTTP {answer.status}, not the metadata")
        return answer.data
    try:
        return Path(where).read_bytes()
    except OSError as exc:
        raise ConfigError(f"{what} {where}: cannot be read: {exc.strerror or exc}") from exc


def _web_address(url: str) -> bool:
    """An address the citizen's browser may be sent to with a form: absolute http(s) with a host."""
    from urllib.parse import urlsplit

    try:
        parts = urlsplit(url)
    except ValueError:
        return False
    return parts.scheme in ("http", "https") and bool(parts.hostname) and url.isprintable()


def read_sp_metadata(data: bytes, environment: str, source: str, system_id: str | None = None) -> ServiceProvider:
    """Read SP metadata (an EntityDescriptor with an SPSSODescriptor); MetadataError naming ``source`` and
    what is missing."""
    try:
        root = parse(data, "SAML metadata")
    except UnsafeXMLError as exc:
        raise MetadataError(f"{source}: {exc} (the stand-in reads no DTD): remove the DOCTYPE") from exc
    except Exception as exc:
        raise MetadataError(f"{source}: not well-formed XML: {exc}") from exc
    if root.tag == f"{{{MD}}}EntitiesDescriptor":
        entities = root.findall("md:EntityDescriptor", _NS)
        if len(entities) != 1:
            raise MetadataError(f"{source}: an EntitiesDescriptor with {len(entities)} entities; give one "
                                "EntityDescriptor per service provider")
        root = entities[0]
    if root.tag != f"{{{MD}}}EntityDescriptor":
        raise MetadataError(f"{source}: the root element is {root.tag}, not md:EntityDescriptor ({MD})")
    entity_id = (root.get("entityID") or "").strip()
    if not entity_id:
        raise MetadataError(f"{source}: EntityDescriptor has no entityID")
    sp = root.find("md:SPSSODescriptor", _NS)
    if sp is None:
        raise MetadataError(f"{source} (entityID {entity_id}): no md:SPSSODescriptor: this is not a service "
                            "provider's metadata")
    acs = []
    for el in sp.findall("md:AssertionConsumerService", _NS):
        index = el.get("index")
        acs.append(SpEndpoint(el.get("Binding", ""), (el.get("Location") or "").strip(),
                              int(index) if index and index.strip().isdigit() else None, _bool(el.get("isDefault"))))
    for el, endpoint in [*zip(sp.findall("md:AssertionConsumerService", _NS), acs, strict=True)]:
        if not _web_address(endpoint.location):
            raise MetadataError(f"{source} (entityID {entity_id}, line {el.sourceline}): the AssertionConsumerService "
                                f"Location {endpoint.location!r} is not an http(s) address")
    if not any(e.binding == POST and e.location for e in acs):
        raise MetadataError(f"{source} (entityID {entity_id}, line {sp.sourceline}): no AssertionConsumerService "
                            f"with Binding {POST}: the stand-in answers only with HTTP-POST, as 1177's IdP does")
    slo = [SpEndpoint(el.get("Binding", ""), (el.get("Location") or "").strip(),
                      response_location=(el.get("ResponseLocation") or "").strip() or None)
           for el in sp.findall("md:SingleLogoutService", _NS)]
    for endpoint in slo:
        for where in (endpoint.location, endpoint.response_location):
            if where is not None and not _web_address(where):
                raise MetadataError(f"{source} (entityID {entity_id}): the SingleLogoutService address {where!r} is "
                                    "not an http(s) address")
    certs = []
    for kd in sp.findall("md:KeyDescriptor", _NS):
        if kd.get("use") not in (None, "signing"):
            continue
        for text in kd.findall(".//ds:X509Certificate", _NS):
            try:
                certs.append(pem_of(certificate_from_base64(text.text or "")))
            except Exception as exc:
                raise MetadataError(f"{source} (entityID {entity_id}, line {text.sourceline}): an X509Certificate "
                                    f"that cannot be read: {exc}") from exc
    formats = tuple((el.text or "").strip() for el in sp.findall("md:NameIDFormat", _NS) if (el.text or "").strip())
    return ServiceProvider(entity_id, environment, tuple(acs), tuple(slo), tuple(certs),
                           _bool(sp.get("AuthnRequestsSigned")), _bool(sp.get("WantAssertionsSigned")), formats,
                           source, system_id, data.decode("utf-8", "replace"))


def idp_metadata(entity_id: str, base: str, key: SigningKey) -> bytes:
    """The stand-in's IdP metadata for one environment: its signing certificate, single sign-on with
    HTTP-Redirect and single logout with HTTP-POST (as the reference describes 1177's IdP)."""
    root = etree.Element(f"{{{MD}}}EntityDescriptor", nsmap={"md": MD, "ds": DS}, entityID=entity_id)
    idp = etree.SubElement(root, f"{{{MD}}}IDPSSODescriptor", WantAuthnRequestsSigned="false",
                           protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol")
    kd = etree.SubElement(idp, f"{{{MD}}}KeyDescriptor", use="signing")
    info = etree.SubElement(kd, f"{{{DS}}}KeyInfo")
    data = etree.SubElement(info, f"{{{DS}}}X509Data")
    etree.SubElement(data, f"{{{DS}}}X509Certificate").text = key.cert_base64
    etree.SubElement(idp, f"{{{MD}}}SingleLogoutService", Binding=POST, Location=f"{base}/slo")
    for fmt in NAMEID_FORMATS:
        etree.SubElement(idp, f"{{{MD}}}NameIDFormat").text = fmt
    etree.SubElement(idp, f"{{{MD}}}SingleSignOnService", Binding=REDIRECT, Location=f"{base}/redirect")
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)


__all__ = ["MetadataError", "ServiceProvider", "SpEndpoint", "fetch_metadata", "idp_metadata", "read_sp_metadata"]

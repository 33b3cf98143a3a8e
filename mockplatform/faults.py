"""The platform's own faults: VP codes, their exact texts, and the SOAP 1.1 rendering.

Texts are those of the real platform (SKLTP VP); a consumer that matches on them in production
must see the same strings here.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from xml.sax.saxutils import escape


class FaultCode(Enum):
    CLIENT = "SOAP-ENV:Client"
    SERVER = "SOAP-ENV:Server"


@dataclass(frozen=True)
class VPCode:
    code: str
    faultcode: FaultCode
    text: str
    when: str


_C, _S = FaultCode.CLIENT, FaultCode.SERVER

VP_CODES: dict[str, VPCode] = {
    c.code: c
    for c in (
        VPCode("VP001", _C, "Rivta-version saknas i anrop eller stöds ej av tjänsteplattformen.",
               "no RIVTA version found"),
        VPCode("VP002", _C, "Fel i klientcertifikat. Saknas, är av felaktig typ, eller är felaktigt utformad.",
               "certificate missing or without SERIALNUMBER"),
        VPCode("VP003", _C, "Logisk adressat (ReceiverId) saknas i RivHeadern i inkommande meddelande.",
               "no or empty logical address"),
        VPCode("VP004", _C,
               "Det finns inget vägval i tjänsteadresseringskatalogen som matchar anropets logiska adressat "
               "(ReceiverId) och tjänstekontrakt. Kontrollera uppgifterna i anropet och vid behov, beställ "
               "konfigurering i aktuell tjänsteplattform.",
               "no valid route"),
        VPCode("VP005", _C,
               "Tjänsteproducenten stödjer inte anropets angivna rivta-version. Kontrollera uppgifterna.",
               "producer profile not convertible"),
        VPCode("VP006", _S,
               "Internt fel i tjänsteplattformen. Det finns fler än en tjänsteproducent definierad i "
               "tjänsteadresseringskatalogen som matchar logisk adressat (ReceiverId), tjänstekontrakt och "
               "dagens datum. Tyder på felkonfiguration. Rapportera felet till tjänsteplattformsförvaltningen.",
               "several valid routes"),
        VPCode("VP007", _S,
               "Tjänstekonsumenten saknar behörighet att anropa den logiska adressaten via detta "
               "tjänstekontrakt. Kontrollera uppgifterna och vid behov, tillse att det beställs konfiguration "
               "i aktuell tjänsteplattform.",
               "no valid authorisation"),
        VPCode("VP008", _S,
               "Internt fel i tjänsteplattformen. Ingen kontakt med tjänsteadresseringskatalogen. Informera "
               "tjänsteplattformsförvaltningen.",
               "no catalogue loaded"),
        VPCode("VP009", _S, "Fel vid kontakt med tjänsteproducenten.",
               "producer unreachable, timeout, non-SOAP error, empty answer"),
        VPCode("VP010", _S,
               "Internt fel i tjänsteplattformen. URL saknas för tjänsteproducenten i tjänsteplattformens "
               "tjänsteadresseringskatalog.",
               "route without address"),
        VPCode("VP011", _C,
               "Anrop har gjorts utanför TLS vilket ej är tillåtet. Tjänstekonsumenten ska alltid använda TLS "
               "för säker kommunikation.",
               "plain HTTP from a caller not allowed"),
        VPCode("VP012", _S,
               "Internt fel i tjänsteplattformen. Nödvändiga resurser saknas för att VP skall fungera.",
               "internal resource error"),
        VPCode("VP013", _C,
               "Enligt tjänsteplattformens konfiguration saknar tjänstekonsumenten rätt att använda headern "
               "x-rivta-original-serviceconsumer-hsaid. Kontakta tjänsteplattformsförvaltningen.",
               "consumer may not set x-rivta-original-serviceconsumer-hsaid"),
        VPCode("VP014", _S,
               "Anropsförmedlingen för den logiska adressaten har givit upphov till rundgång mellan "
               "tjänsteplattformar. Rapportera felet till tjänsteplattformsförvaltningen.",
               "own instance id already in x-rivta-routing-history"),
        VPCode("VP015", _C, "Anrop ej korrekt utformat och kan därför inte behandlas.",
               "not well-formed XML"),
    )
}


@dataclass(frozen=True)
class VPFault:
    """A fault the platform itself answers with. A value, recorded like any other answer."""

    code: str
    detail: str

    @property
    def vp(self) -> VPCode:
        return VP_CODES[self.code]

    def faultstring(self, instance_name: str) -> str:
        return f"{self.code} [{instance_name}] {self.vp.text}"

    def render(self, instance_name: str) -> bytes:
        return render_fault(self.vp.faultcode.value, self.faultstring(instance_name), self.detail)


def render_fault(faultcode: str, faultstring: str, detail: str | None) -> bytes:
    """A SOAP 1.1 fault in the platform's exact shape (empty Header, detail/detailString)."""
    detail_xml = (
        f"<detail><detailString>{escape(detail)}</detailString></detail>" if detail is not None else ""
    )
    return (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<SOAP-ENV:Envelope xmlns:SOAP-ENV="http://schemas.xmlsoap.org/soap/envelope/">'
        "<SOAP-ENV:Header/><SOAP-ENV:Body><SOAP-ENV:Fault>"
        f"<faultcode>{faultcode}</faultcode>"
        f"<faultstring>{escape(faultstring)}</faultstring>"
        f"{detail_xml}"
        "</SOAP-ENV:Fault></SOAP-ENV:Body></SOAP-ENV:Envelope>"
    ).encode()


# English details, worded as the real platform words them.

def vp002() -> VPFault:
    return VPFault("VP002", "No sender ID (SERIALNUMBER) found in certificate.")


def vp003() -> VPFault:
    return VPFault("VP003", "No receiverId (logical address) found in message header.")


def vp004(contract: str, address: str) -> VPFault:
    detail = f"No receiverId (logical address) found for serviceNamespace: {contract}, receiverId: {address}"
    if address != address.strip():
        detail += ". Whitespace detected in incoming request!"
    return VPFault("VP004", detail)


def vp005(profile: str) -> VPFault:
    return VPFault("VP005", f"No receiverId (logical address) with matching Riv-version found for {profile.lower()}")


def vp006(contract: str, address: str) -> VPFault:
    return VPFault(
        "VP006",
        "More than one receiverId (logical address) with matching Riv-version found for "
        f"serviceNamespace: {contract}, receiverId: {address}",
    )


def vp007(contract: str, address: str, consumer: str) -> VPFault:
    return VPFault(
        "VP007",
        f"Authorization missing for serviceNamespace: {contract}, receiverId: {address}, senderId: {consumer}",
    )


def vp008() -> VPFault:
    return VPFault(
        "VP008",
        "No contact with TAK at startup, and no local cache to fallback on, not possible to route call",
    )


# What VP009's detail says went wrong, after "Error connecting to service producer at address <url>.";
# the producers (forwarding, fault injection) and the pipeline all take these from here.
VP009_TIMEOUT = "Timeout when waiting on response from producer."
VP009_EMPTY = "Empty response from producer."
VP009_UNSUPPORTED_ADDRESS = "Unsupported producer address (use http://, https:// or builtin:)."


def vp009_connection_failed(reason: str) -> str:
    """A connection refused or reset twice (the platform retries once)."""
    return f"Connection failed after one retry: {reason}"


def vp009_http_status(status: int) -> str:
    return f"Producer answered HTTP {status}."


def vp009(url: str, reason: str = "", http_status: int | None = None) -> VPFault:
    detail = f"Error connecting to service producer at address {url}."
    if reason:
        detail += f" {reason}"
    if http_status is not None:
        detail += f"\nVP_PRODUCER_EXCEPTION_HTTP_STATUS={http_status}"
    return VPFault("VP009", detail)


def vp010(contract: str, address: str) -> VPFault:
    return VPFault(
        "VP010",
        f"Physical Address field is empty in Service Producer for serviceNamespace: {contract}, "
        f"receiverId: {address}",
    )


def vp011(ip: str, header: str) -> VPFault:
    return VPFault(
        "VP011",
        f"Caller was not on the white list of accepted IP-addresses. IP-address: {ip}. "
        f"HTTP header that caused checking: {header}",
    )


def vp012(reason: str) -> VPFault:
    """Our own internal errors (a bug, a journal that cannot be written), answered as the platform would."""
    return VPFault("VP012", f"Server problem, VP does not have all necessary resources to operate. ({reason})")


def vp013() -> VPFault:
    return VPFault("VP013", "Sender is not approved to set header x-rivta-original-serviceconsumer-hsaid.")


def vp014() -> VPFault:
    return VPFault("VP014", "")


def vp015(parser_message: str) -> VPFault:
    return VPFault("VP015", parser_message)

"""Request rules of the RIVTA basic profile that hold for any contract: the SOAP envelope, the address
header, the contract namespace and the schema. A domain's profile lists them in its catalogue beside
its own rules (how its logical address is formed, what its fields must say)."""

from __future__ import annotations

from collections.abc import Iterator

from .. import ns
from ..envelope import PROFILE_BP20
from .base import Hit, RequestView, RuleContext, xml_path


def soap_envelope(view: RequestView, ctx: RuleContext) -> Iterator[Hit]:
    """RIVTA BP 2.1 is SOAP 1.1; anything else (SOAP 1.2, not XML, no Envelope) cannot be served."""
    if view.envelope is None:
        yield Hit(f"The request cannot be read as a SOAP 1.1 envelope: {view.parse_error}",
                  f"Anropet kan inte läsas som ett SOAP 1.1-kuvert: {view.parse_error}",
                  path="/Envelope", hint="send a well-formed SOAP 1.1 envelope (namespace "
                  f"{ns.SOAP11}) with a Header and a Body holding the request element")
        return
    have = view.envelope.soap_namespace
    if have == ns.SOAP11:
        return
    what = "SOAP 1.2" if have == ns.SOAP12 else f"an envelope in namespace '{have}'"
    yield Hit(f"The request is {what}; RIVTA BP 2.1 is SOAP 1.1 only (namespace {ns.SOAP11}). A SOAP 1.1-only "
              "producer answers with a SOAP 1.1 VersionMismatch fault (HTTP 500, faultcode "
              "SOAP-ENV:VersionMismatch), which the platform passes on and a SOAP 1.2 client cannot read; a "
              "retry gets the same answer",
              f"Anropet är {what}; RIVTA BP 2.1 är bara SOAP 1.1 (namnrymden {ns.SOAP11}). En producent som bara "
              "talar SOAP 1.1 svarar med ett SOAP 1.1-fel VersionMismatch (HTTP 500, faultcode "
              "SOAP-ENV:VersionMismatch), som plattformen skickar vidare och som en SOAP 1.2-klient inte kan läsa; "
              "ett nytt försök får samma svar",
              path=xml_path(view.envelope.root), line=view.envelope.root.sourceline,
              hint=f"switch the client to SOAP 1.1, the only binding in the contract's WSDL: envelope namespace "
              f"{ns.SOAP11}, Content-Type text/xml and a SOAPAction header (not application/soap+xml). In WCF use "
              "basicHttpBinding (or a customBinding with messageVersion Soap11), not wsHttpBinding or Soap12; in "
              "JAX-WS/CXF do not set SOAPBinding.SOAP12HTTP_BINDING")


def bp20_address(view: RequestView, ctx: RuleContext) -> Iterator[Hit]:
    """A BP 2.0 client (WS-Addressing To) works through the platform's rewrite, but the contract is 2.1."""
    env = view.envelope
    if env is None or env.profile != PROFILE_BP20:
        return
    yield Hit("The logical address is sent as WS-Addressing <To> (RIVTA BP 2.0); the contract is RIVTA BP 2.1 "
              "and addresses with <LogicalAddress>",
              "Den logiska adressen skickas som WS-Addressing <To> (RIVTA BP 2.0); kontraktet är RIVTA BP 2.1 "
              "och adresseras med <LogicalAddress>",
              path=xml_path(env.address_element), line=env.address_element.sourceline,
              hint=f'generate the client from the rivtabp21 WSDL; it sends <LogicalAddress xmlns="{ns.REGISTRY}">')


def contract_namespace(view: RequestView, ctx: RuleContext) -> Iterator[Hit]:
    """The request element's namespace must be one of the profile's contracts that the platform knows."""
    env = view.envelope
    if env is None:
        return
    have = env.contract
    mine = ctx.contract_namespaces
    known = [i for i in ctx.contracts.interactions if not mine or i.responder_namespace.lower() in mine]
    if any(i.responder_namespace == have for i in known):
        return
    where = {"path": xml_path(env.payload), "line": env.payload.sourceline}
    listed = ", ".join(sorted(i.responder_namespace for i in known))
    if "::" in have:
        fixed = have.replace("::", ":")
        yield Hit(f"The namespace '{have}' (with '::') is from a 2014 release candidate of the contracts; the "
                  "client was built from a release candidate, not from release 1.0",
                  f"Namnrymden '{have}' (med '::') kommer från en release candidate av kontrakten (2014); "
                  "klienten är byggd från en release candidate, inte från release 1.0",
                  **where, hint=f"regenerate the client from release 1.0 (namespace {fixed})")
        return
    same_case = [i for i in known if i.responder_namespace.lower() == have.lower()]
    if same_case:
        right = same_case[0].responder_namespace
        yield Hit(f"The namespace '{have}' differs in case from the contract's '{right}' (namespaces are "
                  "case-sensitive)",
                  f"Namnrymden '{have}' skiljer sig i versaler/gemener från kontraktets '{right}' (namnrymder är "
                  "skiftlägeskänsliga)", **where, hint=f"write the namespace as {right}")
        return
    wsdl = [i for i in known if i.wsdl_namespace.lower() == have.lower()]
    if wsdl:
        right = wsdl[0].responder_namespace
        yield Hit(f"The request element is in the WSDL namespace '{have}'; the request itself belongs to the "
                  f"responder namespace '{right}'",
                  f"Anropselementet ligger i WSDL-namnrymden '{have}'; själva anropet hör till responder-"
                  f"namnrymden '{right}'", **where, hint=f"put the request element in namespace {right}")
        return
    shown = have or "(no namespace)"
    yield Hit(f"The request element is in namespace '{shown}', which is not a contract of this profile known to "
              "the platform",
              f"Anropselementet ligger i namnrymden '{shown}', som inte är ett av profilens kontrakt som "
              "plattformen känner till", **where, hint=f"known contracts: {listed}")


def schema(view: RequestView, ctx: RuleContext) -> Iterator[Hit]:
    """Every schema violation, as the contract's validator names them (paths made envelope-relative)."""
    env = view.envelope
    if env is None:
        return
    contract = ctx.contracts.get(env.contract)
    if contract is None:
        return  # the namespace rule says why
    base = xml_path(env.body)
    for f in contract.validator.iter_findings(env.payload):
        path = base + f.path if f.path and f.path.startswith("/") else f.path
        yield Hit(f.message_en, f.message_sv, path=path, line=f.line, hint=f.hint, source=f.source)

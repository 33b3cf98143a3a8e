"""Request rules of the RIVTA basic profile that hold for any contract: the SOAP envelope, the address
header, the contract namespace and the schema. A domain's profile lists them in its catalogue beside
its own rules (how its logical address is formed, what its fields must say)."""

from __future__ import annotations

from collections.abc import Collection, Generator, Iterator

from lxml import etree

from .. import ns
from ..contracts import ContractRegistry
from ..envelope import PROFILE_BP20, Envelope
from ..findings import Severity
from ..xmlsafe import local_name, namespace, text_value
from .base import REQUEST, Hit, RequestRule, RequestView, RuleContext, RuleInfo, xml_path

BP21 = "RIVTA Basic Profile 2.1"
REGISTRY_SCHEMA = "schemas/core_components/itintegration_registry_1.0.xsd"
_REGISTRY_ADDRESS = f"{{{ns.REGISTRY}}}LogicalAddress"
# How to keep a SOAP stack from adding WS-Addressing's To (WCF does by default) after LogicalAddress.
WSA_OFF = ("turn WS-Addressing off, so that LogicalAddress is the only address header: in WCF use basicHttpBinding, "
           "or a customBinding whose textMessageEncoding has messageVersion=\"Soap11\" (MessageVersion.Soap11, not "
           "Soap11WSAddressing10); other stacks: disable their WS-Addressing feature")
WSA_OFF_SV = ("stäng av WS-Addressing, så att LogicalAddress är det enda adresshuvudet: i WCF med basicHttpBinding "
              "eller en customBinding vars textMessageEncoding har messageVersion=\"Soap11\" (MessageVersion.Soap11, "
              "inte Soap11WSAddressing10); i andra stackar: stäng av deras WS-Addressing-funktion")
# How to send the LogicalAddress header with node-soap, which sends a message's first part as the Body.
NODE_SOAP = ("with node-soap: add the header with client.addSoapHeader('<LogicalAddress xmlns=\"" + ns.REGISTRY
             + "\">ADDRESS</LogicalAddress>'), leave LogicalAddress out of the call's arguments, and build the "
             "client from a copy of the WSDL without the LogicalAddress part in the input message (node-soap "
             "ignores soap:header and sends the first part, LogicalAddress, as the Body)")
NODE_SOAP_SV = ("med node-soap: lägg till huvudet med client.addSoapHeader('<LogicalAddress xmlns=\"" + ns.REGISTRY
                + "\">ADRESS</LogicalAddress>'), ta inte med LogicalAddress bland anropets argument och bygg klienten "
                "från en kopia av WSDL:en utan LogicalAddress-delen i indatameddelandet (node-soap bortser från "
                "soap:header och skickar den första delen, LogicalAddress, som Body)")


def visible(text: str) -> str:
    """A value with its whitespace made visible (line breaks and tabs written as \\n, \\r, \\t)."""
    return text.replace("\r", "\\r").replace("\n", "\\n").replace("\t", "\\t")


def logical_address_headers(env: Envelope) -> list[etree._Element]:
    """The Header's LogicalAddress elements (by local name, as the platform reads them), in order."""
    header = env.header if env.header is not None else ()
    return [h for h in header if isinstance(h.tag, str) and local_name(h) == "LogicalAddress"]


def stack_to_header(env: Envelope) -> etree._Element | None:
    """The WS-Addressing To a SOAP stack added, when the platform takes it as the logical address: a To after a
    LogicalAddress header with another value (what WCF sends by default: the endpoint URL), or a To holding a
    URL (an endpoint's, not a logical address)."""
    to = env.address_element
    if to is None or local_name(to) != "To":
        return None
    value = (env.logical_address or "").strip().lower()
    if value.startswith(("http://", "https://")):
        return to
    before = [text_value(h).strip().lower() for h in logical_address_headers(env)]
    return to if before and value not in before else None


def header_part_as_payload(env: Envelope) -> bool:
    """Is the Body's first element the LogicalAddress header part (a registry element), sent as the payload?"""
    return local_name(env.payload) == "LogicalAddress" or namespace(env.payload) == ns.REGISTRY


def soap_envelope(view: RequestView, ctx: RuleContext) -> Iterator[Hit]:
    """RIVTA BP 2.1 is SOAP 1.1; anything else (SOAP 1.2, not XML, no Envelope) cannot be served."""
    if view.envelope is None:
        yield Hit(f"The request cannot be read as a SOAP 1.1 envelope: {view.parse_error}",
                  f"Anropet kan inte läsas som ett SOAP 1.1-kuvert: {view.parse_error}",
                  path="/Envelope", hint="send a well-formed SOAP 1.1 envelope (namespace "
                  f"{ns.SOAP11}) with a Header and a Body holding the request element",
                  hint_sv=f"skicka ett välformat SOAP 1.1-kuvert (namnrymden {ns.SOAP11}) med en Header och en Body "
                  "som innehåller anropselementet")
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
              "JAX-WS/CXF do not set SOAPBinding.SOAP12HTTP_BINDING",
              hint_sv=f"ställ om klienten till SOAP 1.1, den enda bindningen i kontraktets WSDL: kuvertets namnrymd "
              f"{ns.SOAP11}, Content-Type text/xml och ett SOAPAction-huvud (inte application/soap+xml). I WCF: "
              "basicHttpBinding (eller en customBinding med messageVersion Soap11), inte wsHttpBinding eller Soap12; i "
              "JAX-WS/CXF: sätt inte SOAPBinding.SOAP12HTTP_BINDING")


def address_header(env: Envelope, want: str | None = None) -> Generator[Hit, None, bool]:
    """What RIVTA BP 2.1 asks of any request's address header, whatever the domain: one is there (not sent as the
    Body's first element), it is not a WS-Addressing To the SOAP stack added, it is in the registry namespace, and
    it has no whitespace around it (the platform routes by the value as sent: it trims nothing, and it takes the
    last address header). ``want``: the address the domain's producer has, for the hints (None: not known here).
    Returns True when what it found leaves nothing more to say of the address (no header; a stack's To)."""
    shown, shown_sv = want or "ADDRESS", want or "ADRESS"
    element = env.address_element
    if element is None:
        base = env.header if env.header is not None else env.root
        path = f"{xml_path(base)}/LogicalAddress" if env.header is not None else "/Envelope/Header"
        if header_part_as_payload(env):
            yield Hit("The SOAP header has no LogicalAddress: it was sent as the Body's first element instead (the "
                      "header part sent as the payload), so the platform finds no logical address (VP003)",
                      "SOAP-huvudet saknar LogicalAddress: den skickades i stället som Bodyns första element "
                      "(huvudets del skickad som innehåll), så plattformen hittar ingen logisk adress (VP003)",
                      path=path, line=base.sourceline,
                      hint=f'send <LogicalAddress xmlns="{ns.REGISTRY}">{shown}</LogicalAddress> in the Header and '
                      f"only the request element in the Body; {NODE_SOAP}",
                      hint_sv=f'skicka <LogicalAddress xmlns="{ns.REGISTRY}">{shown_sv}</LogicalAddress> i Header '
                      f"och bara anropselementet i Body; {NODE_SOAP_SV}")
            return True
        yield Hit("The SOAP header has no LogicalAddress (RIVTA BP 2.1)",
                  "SOAP-huvudet saknar LogicalAddress (RIVTA BP 2.1)",
                  path=path, line=base.sourceline,
                  hint=f'send <LogicalAddress xmlns="{ns.REGISTRY}">{shown}</LogicalAddress> as the first header',
                  hint_sv=f'skicka <LogicalAddress xmlns="{ns.REGISTRY}">{shown_sv}</LogicalAddress> som första '
                  "huvudelement")
        return True
    raw = env.logical_address or ""
    have = raw.strip()
    if stack_to_header(env) is not None and (want is None or have.lower() != want.lower()):
        after = bool(logical_address_headers(env))
        not_by, not_by_sv = (f", not by {want}", f", inte på {want}") if want else ("", "")
        send, send_sv = ((f"; send {want} as LogicalAddress", f"; skicka {want} som LogicalAddress") if want else
                         ("; send the producer's logical address as LogicalAddress",
                          "; skicka producentens logiska adress som LogicalAddress"))
        yield Hit(f"A WS-Addressing <To> header {'after LogicalAddress ' if after else ''}carries '{visible(raw)}' "
                  "(the endpoint URL, as WCF adds it by default). The platform takes the last LogicalAddress or To "
                  f"header as the logical address, so it routes by '{visible(raw)}'{not_by}: VP004"
                  + ("" if after else "; and there is no LogicalAddress header"),
                  f"Ett WS-Addressing <To>-huvud {'efter LogicalAddress ' if after else ''}innehåller "
                  f"'{visible(raw)}' (tjänstens URL, som WCF lägger till som standard). Plattformen läser det sista "
                  f"LogicalAddress- eller To-huvudet som logisk adress, så den vägväljer på '{visible(raw)}'"
                  f"{not_by_sv}: VP004" + ("" if after else "; och LogicalAddress-huvudet saknas"),
                  path=xml_path(element), line=element.sourceline, hint=f"{WSA_OFF}{send}",
                  hint_sv=f"{WSA_OFF_SV}{send_sv}")
        return True
    if env.profile != PROFILE_BP20 and namespace(element) != ns.REGISTRY:
        yield Hit(f"LogicalAddress is in namespace '{namespace(element)}'; RIVTA BP 2.1 puts it in {ns.REGISTRY}",
                  f"LogicalAddress ligger i namnrymden '{namespace(element)}'; RIVTA BP 2.1 kräver {ns.REGISTRY}",
                  path=xml_path(element), line=element.sourceline,
                  hint=f'write <LogicalAddress xmlns="{ns.REGISTRY}">{shown}</LogicalAddress>',
                  hint_sv=f'skriv <LogicalAddress xmlns="{ns.REGISTRY}">{shown_sv}</LogicalAddress>')
    if have and have != raw:
        yield Hit(f"The logical address '{visible(raw)}' has whitespace around '{have}'. The platform does not trim "
                  f"it: it looks for a route to '{visible(raw)}' as sent and answers VP004 ('Whitespace detected in "
                  "incoming request')",
                  f"Den logiska adressen '{visible(raw)}' har blanksteg runt '{have}'. Plattformen tar inte bort "
                  f"dem: den söker ett vägval för '{visible(raw)}' som det skickades och svarar VP004 "
                  "('Whitespace detected in incoming request')",
                  path=xml_path(element), line=element.sourceline,
                  hint=f"send the address with nothing around it, <LogicalAddress>{have}</LogicalAddress>: no spaces "
                  "or line breaks inside the element (as a pretty-printer or a template with the value on its own "
                  "line adds them)",
                  hint_sv=f"skicka adressen utan något runt den, <LogicalAddress>{have}</LogicalAddress>: inga "
                  "blanksteg eller radbrytningar i elementet (som en formaterare eller en mall med värdet på en egen "
                  "rad lägger till)")
    return False


def logical_address(view: RequestView, ctx: RuleContext) -> Iterator[Hit]:
    """The address header of a contract whose producer's address the profile does not know (any loaded
    contract): present, in the registry namespace, exactly as routed (``address_header``), and not empty. Which
    address is right is the TAK's to say: a wrong one is answered VP004 and journaled as such."""
    env = view.envelope
    if env is None:
        return
    if (yield from address_header(env)):
        return
    if not (env.logical_address or "").strip():
        element = env.address_element
        yield Hit("The logical address is empty", "Den logiska adressen är tom",
                  path=xml_path(element), line=element.sourceline,
                  hint="send the logical address the contract is routed at in the TAK (the producer system's or the "
                  "care unit's HSA-id, as the contract's domain addresses it)",
                  hint_sv="skicka den logiska adress som kontraktet är vägvalt på i TAK (producentsystemets eller "
                  "vårdenhetens HSA-id, så som kontraktets domän adresserar)")


def bp20_address(view: RequestView, ctx: RuleContext) -> Iterator[Hit]:
    """A BP 2.0 client (WS-Addressing To) works through the platform's rewrite, but the contract is 2.1."""
    env = view.envelope
    if env is None or env.profile != PROFILE_BP20:
        return
    where = {"path": xml_path(env.address_element), "line": env.address_element.sourceline}
    if stack_to_header(env) is not None:
        yield Hit(f"The address header the platform takes is a WS-Addressing <To> ('{env.logical_address}') that "
                  "the SOAP stack added (WCF does by default), not a RIVTA address: the platform takes the last "
                  "LogicalAddress or To header, so it routes by that",
                  f"Adresshuvudet som plattformen läser är ett WS-Addressing <To> ('{env.logical_address}') som "
                  "SOAP-stacken har lagt till (WCF gör det som standard), ingen RIVTA-adress: plattformen läser det "
                  "sista LogicalAddress- eller To-huvudet och vägväljer på det", **where, hint=WSA_OFF,
                  hint_sv=WSA_OFF_SV)
        return
    yield Hit("The logical address is sent as WS-Addressing <To> (RIVTA BP 2.0); the contract is RIVTA BP 2.1 "
              "and addresses with <LogicalAddress>",
              "Den logiska adressen skickas som WS-Addressing <To> (RIVTA BP 2.0); kontraktet är RIVTA BP 2.1 "
              "och adresseras med <LogicalAddress>", **where,
              hint=f'generate the client from the rivtabp21 WSDL; it sends <LogicalAddress xmlns="{ns.REGISTRY}">',
              hint_sv="generera klienten från WSDL:en för rivtabp21; den skickar "
              f'<LogicalAddress xmlns="{ns.REGISTRY}">')


def contract_namespace(view: RequestView, ctx: RuleContext) -> Iterator[Hit]:
    """The request element's namespace must be one of the profile's contracts that the platform knows."""
    env = view.envelope
    if env is None:
        return
    have = env.contract
    mine = ctx.contract_namespaces
    # The usual case first, without listing every contract: the registry holds one interaction per namespace
    # (compared in lower case), so the one it gives for ``have`` is the only one that can be ``have`` exactly.
    loaded = ctx.contracts.get(have)
    if loaded is not None and loaded.interaction.responder_namespace == have and (not mine or have.lower() in mine):
        return
    known = [i for i in ctx.contracts.interactions if not mine or i.responder_namespace.lower() in mine]
    if any(i.responder_namespace == have for i in known):
        return
    where = {"path": xml_path(env.payload), "line": env.payload.sourceline}
    listed = ", ".join(sorted(i.responder_namespace for i in known))
    if header_part_as_payload(env):
        routed = bool((env.logical_address or "").strip())
        fault = "VP004: no route for that namespace" if routed else "VP003: the Header has no logical address"
        fault_sv = "VP004: inget vägval för den namnrymden" if routed else "VP003: Header saknar logisk adress"
        yield Hit(f"The Body's first element is <{local_name(env.payload)}> in namespace '{have}': the LogicalAddress "
                  f"header part was sent as the request payload, so the platform reads '{have}' as the service "
                  f"contract ({fault}). node-soap does this with a RIVTA WSDL: it sends "
                  "the first part of the input message, LogicalAddress, as the Body, with the call's arguments "
                  "inside it",
                  f"Bodyns första element är <{local_name(env.payload)}> i namnrymden '{have}': LogicalAddress, "
                  f"som hör till SOAP-huvudet, skickades som anropets innehåll, så plattformen läser '{have}' som "
                  f"tjänstekontrakt ({fault_sv}). node-soap gör så med en RIVTA-WSDL: den skickar meddelandets "
                  "första del, LogicalAddress, som Body, med anropets argument inuti",
                  **where, hint="send LogicalAddress in the SOAP Header and only the request element (in its "
                  f"responder namespace: {listed}) in the Body; {NODE_SOAP}",
                  hint_sv="skicka LogicalAddress i SOAP-huvudet (Header) och bara anropselementet (i sin "
                  f"responder-namnrymd: {listed}) i Body; {NODE_SOAP_SV}")
        return
    if "::" in have:
        fixed = have.replace("::", ":")
        yield Hit(f"The namespace '{have}' (with '::') is from a 2014 release candidate of the contracts; the "
                  "client was built from a release candidate, not from release 1.0",
                  f"Namnrymden '{have}' (med '::') kommer från en release candidate av kontrakten (2014); "
                  "klienten är byggd från en release candidate, inte från release 1.0",
                  **where, hint=f"regenerate the client from release 1.0 (namespace {fixed})",
                  hint_sv=f"generera om klienten från release 1.0 (namnrymden {fixed})")
        return
    same_case = [i for i in known if i.responder_namespace.lower() == have.lower()]
    if same_case:
        right = same_case[0].responder_namespace
        yield Hit(f"The namespace '{have}' differs in case from the contract's '{right}' (namespaces are "
                  "case-sensitive)",
                  f"Namnrymden '{have}' skiljer sig i versaler/gemener från kontraktets '{right}' (namnrymder är "
                  "skiftlägeskänsliga)", **where, hint=f"write the namespace as {right}",
                  hint_sv=f"skriv namnrymden som {right}")
        return
    wsdl = [i for i in known if i.wsdl_namespace.lower() == have.lower()]
    if wsdl:
        right = wsdl[0].responder_namespace
        yield Hit(f"The request element is in the WSDL namespace '{have}'; the request itself belongs to the "
                  f"responder namespace '{right}'",
                  f"Anropselementet ligger i WSDL-namnrymden '{have}'; själva anropet hör till responder-"
                  f"namnrymden '{right}'", **where, hint=f"put the request element in namespace {right}",
                  hint_sv=f"lägg anropselementet i namnrymden {right}")
        return
    shown = have or "(no namespace)"
    yield Hit(f"The request element is in namespace '{shown}', which is not a contract of this profile known to "
              "the platform",
              f"Anropselementet ligger i namnrymden '{shown}', som inte är ett av profilens kontrakt som "
              "plattformen känner till", **where,
              hint=f"known contracts: {listed}" if listed else "no contract of this profile is loaded: give its "
              "release package with --contracts (to serve and to verify alike)",
              hint_sv=f"kända kontrakt: {listed}" if listed else "inget av profilens kontrakt är inläst: ange dess "
              "releasepaket med --contracts (både för serve och för verify)")


def schema(view: RequestView, ctx: RuleContext) -> Iterator[Hit]:
    """Every schema violation, as the contract's validator names them (paths made envelope-relative); and a
    LogicalAddress with element children, which the registry schema declares a string."""
    env = view.envelope
    if env is None:
        return
    yield from _registry_string(env)
    contract = ctx.contracts.get(env.contract)
    if contract is None:
        return  # the namespace rule says why
    for f in contract.validator.findings(env.payload):  # a valid payload (the usual case) without a generator
        path = xml_path(env.body) + f.path if f.path and f.path.startswith("/") else f.path
        yield Hit(f.message_en, f.message_sv, path=path, line=f.line, hint=f.hint, source=f.source,
                  hint_sv=f.hint_sv)


def _registry_string(env: Envelope) -> Iterator[Hit]:
    """itintegration_registry_1.0.xsd: LogicalAddress (urn:riv:itintegration:registry:1) is an xs:string."""
    for element in [*(env.header if env.header is not None else ()), env.payload]:
        if element.tag != _REGISTRY_ADDRESS:  # local name LogicalAddress in the registry namespace (not a comment)
            continue
        inside = [local_name(c) for c in element if isinstance(c.tag, str)]
        if not inside:
            continue
        shown = ", ".join(f"<{n}>" for n in dict.fromkeys(inside))
        yield Hit(f"LogicalAddress holds elements ({shown}), but the registry schema declares it a string "
                  f"({ns.REGISTRY}): element children are a schema violation",
                  f"LogicalAddress innehåller element ({shown}), men registerschemat anger den som en sträng "
                  f"({ns.REGISTRY}): barnelement bryter mot schemat",
                  path=xml_path(element), line=element.sourceline, source=REGISTRY_SCHEMA,
                  hint=f'LogicalAddress holds the address as text only: <LogicalAddress xmlns="{ns.REGISTRY}">'
                  "ADDRESS</LogicalAddress>, in the SOAP Header",
                  hint_sv=f'LogicalAddress innehåller adressen som text och inget annat: <LogicalAddress '
                  f'xmlns="{ns.REGISTRY}">ADRESS</LogicalAddress>, i SOAP-huvudet')


ENVELOPE_RULE = "RIVTA-SOAP-ENVELOPE"
SCHEMA_RULE = "SCHEMA"
SILENT = ("", "")  # why a rule was not applied, when there is nothing to say (see ``unapplicable``)


def unapplicable(view: RequestView, contracts: ContractRegistry | None,
                 rule_ids: Collection[str]) -> dict[str, tuple[str, str]]:
    """The rules of a profile of loaded contracts (``rule_ids``, its request rules) that cannot be applied to this
    request, with why (English, Swedish; ``SILENT``: nothing worth saying), for ``RequestView.unapplied``: such a
    rule is not run and not counted as checked. On a request that cannot be read as an envelope, every rule but
    the envelope's (each reads the envelope; the envelope rule says what is wrong); on a request whose contract is
    not loaded, SCHEMA (there is no schema to judge it by; the namespace rule says the contract is not a loaded
    one). ``contracts``: the loaded packages; None while not known (then SCHEMA stays)."""
    if view.envelope is None:
        return {rule_id: SILENT for rule_id in rule_ids if rule_id != ENVELOPE_RULE}
    if contracts is None or SCHEMA_RULE not in rule_ids or contracts.get(view.envelope.contract) is not None:
        return {}
    contract = view.envelope.contract or "(no namespace)"
    return {SCHEMA_RULE: (f"the schema of its contract ({contract}) is not loaded: give the contract's release "
                          "package with --contracts",
                          f"schemat för dess kontrakt ({contract}) är inte inläst: ange kontraktets releasepaket "
                          "med --contracts")}


def catalogue(schemas: str, namespace_title: tuple[str, str],
              address_rule: tuple[RuleInfo, RequestRule] | None = None) -> tuple[tuple[RuleInfo, RequestRule], ...]:
    """The entries of these rules for a domain's catalogue, in its order: the envelope, the address header, BP 2.0's
    address, the namespace, the schema. ``schemas``: where the domain's schemas come from (the source of the last
    two); ``namespace_title``: the namespace rule's title (English, Swedish), naming the contracts it knows;
    ``address_rule``: the domain's own RIVTA-LOGICAL-ADDRESS entry (default: that a header is there)."""
    err, warn = Severity.ERROR, Severity.WARNING
    return (
        (RuleInfo(ENVELOPE_RULE, err, "The request is a SOAP 1.1 envelope", "Anropet är ett SOAP 1.1-kuvert", BP21,
                  REQUEST), soap_envelope),
        address_rule or (RuleInfo("RIVTA-LOGICAL-ADDRESS", err,
                                  "A LogicalAddress header is there, as RIVTA BP 2.1 writes it",
                                  "Ett LogicalAddress-huvud finns, så som RIVTA BP 2.1 skriver det", BP21, REQUEST),
                         logical_address),
        (RuleInfo("RIVTA-BP20-ADDRESS", warn, "The address header is BP 2.1 LogicalAddress, not BP 2.0 To",
                  "Adresshuvudet är BP 2.1 LogicalAddress, inte BP 2.0 To", BP21, REQUEST), bp20_address),
        (RuleInfo("RIVTA-CONTRACT-NAMESPACE", err, *namespace_title, schemas, REQUEST), contract_namespace),
        (RuleInfo(SCHEMA_RULE, err, "The request is valid against the contract's schema",
                  "Anropet är giltigt enligt kontraktets schema", schemas, REQUEST), schema),
    )

"""The identity provider stand-in's endpoints under /sso/<environment>/: metadata, single sign-on
(HTTP-Redirect in, HTTP-POST out), its login page, and single logout (HTTP-POST both ways).

Every SAML message from a service provider is checked against the SP's registration and journaled with what
was observed (``Observations``): the ``uthopp`` profile's rules judge those. A check that makes the message
unanswerable (an unknown issuer, an ACS that is not in the metadata, a bad signature) is also why the stand-in
refuses it, as an IdP must."""

from __future__ import annotations

import datetime as dt
import html
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from lxml import etree

from ...messages import Request, Response
from ...web import citizen as citizen_session
from ...web import forms
from . import saml
from .metadata import ServiceProvider, idp_metadata
from .names import (
    AUTHN_REQUEST,
    BINDING_NAMES,
    COOKIE_SESSION,
    ENVIRONMENTS,
    LOA3,
    LOA_RANKS,
    LOGOUT_REQUEST,
    LOGOUT_RESPONSE,
    NAMEID_FORMATS,
    PERSISTENT,
    POST,
    PREFIX,
    REDIRECT,
    SAML,
    SAMLP,
    STATUS_INVALID_NAMEID_POLICY,
    STATUS_NO_AUTHN_CONTEXT,
    STATUS_NO_PASSIVE,
    STATUS_REQUEST_DENIED,
    STATUS_REQUESTER,
    STATUS_RESPONDER,
    STATUS_SUCCESS,
    STATUS_VERSION_MISMATCH,
    TRANSIENT,
    UNSPECIFIED,
)
from .section import sso_fixtures
from .store import SsoStore

if TYPE_CHECKING:
    from ...app import Application
    from ...journal import Effect

CLOCK_SKEW = dt.timedelta(minutes=5)
_TEXT = "text/plain; charset=UTF-8"


@dataclass
class Observations:
    """What the stand-in saw of one SAML message: the checks (rule id, passed, English, Swedish, hint), the
    registration it was judged against, and how it was answered. Journaled as the exchange's observations."""

    message: str
    binding: str
    environment: str
    checks: list[list[Any]] = field(default_factory=list)
    facts: dict[str, Any] = field(default_factory=dict)
    raw: bytes | None = None  # the message as decoded from its binding: the journaled request body

    def check(self, rule: str, ok: bool, en: str = "", sv: str = "", hint: str = "") -> bool:
        self.checks.append([rule, True, "", "", ""] if ok else [rule, False, en, sv, hint])
        return ok

    def to_json(self) -> dict[str, Any]:
        return {"message": self.message, "binding": self.binding, "environment": self.environment,
                "checks": self.checks, **self.facts}


class Armed:
    """Broken Responses armed for the next logins (the probe, or an SP's own tests through the admin API):
    per service provider (or any), each for a number of logins. Kept in the database, so every instance on it
    uses an arming exactly as many times as asked, and a reset disarms."""

    def __init__(self, store: SsoStore) -> None:
        self.store = store

    def arm(self, kind: str, sp: str | None = None, times: int = 1) -> dict[str, Any]:
        if kind not in saml.KINDS:
            raise ValueError(f"unknown Response kind {kind!r}; known: {', '.join(saml.KINDS)}")
        if isinstance(times, bool) or not isinstance(times, int) or times < 1:
            raise ValueError("times must be a whole number, 1 or more")
        self.store.arm(kind, sp, times)
        return {"kind": kind, "sp": sp, "remaining": times}

    def take(self, sp: str) -> str:
        return self.store.take_armed(sp) or saml.VALID

    def listed(self) -> list[dict[str, Any]]:
        return self.store.armed()

    def clear(self) -> int:
        return self.store.disarm()


def state(app: Application) -> Armed:
    return Armed(SsoStore(app.journal))


# -- addresses ------------------------------------------------------------------------------------------------


def base_url(app: Application, request: Request) -> str:
    configured = sso_fixtures(app.fixtures).base_url
    if configured:
        return configured
    return f"{request.scheme}://{request.header('host') or 'localhost'}"


def entity_id(app: Application, request: Request, environment: str) -> str:
    return f"{base_url(app, request)}{PREFIX}/{environment}"


def metadata_url(base: str, environment: str) -> str:
    return f"{base}{PREFIX}/{environment}/metadata"


# -- the endpoint ---------------------------------------------------------------------------------------------


def handle(app: Application, request: Request) -> Response | None:
    parts = request.path[len(PREFIX):].strip("/").split("/")
    if parts == [""]:
        return _index(app, request)
    if len(parts) != 2 or parts[0] not in ENVIRONMENTS:
        return None
    environment, what = parts
    method = request.method
    allowed = {"metadata": ("GET", "HEAD"), "redirect": ("GET", "POST"), "login": ("GET", "POST"),
               "slo": ("GET", "POST"), "logout": ("GET",)}.get(what)
    if allowed is None:
        return None
    if method not in allowed:
        answer = _plain(405, f"{method} is not answered at {request.path}: {', '.join(allowed)} is\n")
        answer.headers.append(("Allow", ", ".join(allowed)))
        return answer
    if request.body_size is not None and request.body_size > len(request.body):
        return _plain(413, "Payload too large: a SAML message is small. Meddelandet är för stort.\n")
    if what == "metadata":
        body = idp_metadata(entity_id(app, request, environment), f"{base_url(app, request)}{PREFIX}/{environment}",
                            SsoStore(app.journal).key(environment))
        return Response(200, [("Content-Type", "application/samlmetadata+xml"), ("Cache-Control", "no-store")], body)
    if what == "redirect":
        return single_sign_on(app, request, environment)
    if what == "login":
        return login(app, request, environment)
    if what == "slo":
        return single_logout(app, request, environment)
    return idp_logout(app, request, environment)


def _plain(status: int, text: str) -> Response:
    return Response(status, [("Content-Type", _TEXT), ("Cache-Control", "no-store")], text.encode())


def _index(app: Application, request: Request) -> Response:
    base = base_url(app, request)
    lines = ["mockplatform SSO stand-in (SAML 2.0 IdP; this tool's conventions, not 1177's specification)", ""]
    for env in ENVIRONMENTS:
        lines.append(f"{env}: metadata {metadata_url(base, env)}  entityID {base}{PREFIX}/{env}")
    return _plain(200, "\n".join(lines) + "\n")


def _params(request: Request) -> dict[str, str]:
    """SAMLRequest/SAMLResponse/RelayState/SigAlg/Signature from the query (GET) or the form (POST)."""
    from urllib.parse import parse_qsl

    if request.method != "GET":
        return forms.fields(request)
    out: dict[str, str] = {}
    for name, value in parse_qsl(request.raw_query, keep_blank_values=True):
        out.setdefault(name, value)
    return out


def _error_page(status: int, en: str, sv: str) -> Response:
    body = (f'<!doctype html><html lang="sv"><head><meta charset="utf-8"><title>SSO-fel</title></head><body>'
            f'<h1>Inloggningen kan inte göras</h1><p>{html.escape(sv)}</p><p lang="en">{html.escape(en)}</p>'
            f'<p><small>mockplatform SSO stand-in</small></p></body></html>').encode()
    return Response(status, [("Content-Type", "text/html; charset=utf-8"), ("Cache-Control", "no-store"),
                             ("Content-Security-Policy", "default-src 'none'")], body)


def _journal(app: Application, request: Request, response: Response, obs: Observations, *, consumer: str | None,
             contract: str, body: bytes | None = None, injected: str | None = None,
             effects: list[Effect] | None = None, trace: list[str] | None = None,
             identified_by: str | None = None) -> int | None:
    """Journal an SSO message: the decoded SAML XML as the request body (what the SP said, readable), the
    answer as sent, and the observations."""
    recorded = Request(request.method, request.path + ("?" + request.raw_query if request.raw_query else ""),
                       request.headers, body if body is not None else request.body, request.query, request.raw_query,
                       request.client, request.tls, scheme=request.scheme)
    how = identified_by or (None if consumer is None else "saml-signature" if obs.facts.get("signature") == "valid"
                            else "saml-issuer")
    return app.pipeline.record_endpoint(recorded, response, consumer=consumer, contract=contract,
                                        logical_address=obs.environment, trace=trace, injected=injected,
                                        observations=obs.to_json(), effects=effects, identified_by=how)


def _read_signed_message(obs: Observations, params: dict[str, str], field_name: str, request: Request,
                         ) -> etree._Element | None:
    """Decode the message from its binding (noting the binding check), or None with the failed check noted."""
    value = params.get(field_name)
    if value is None:
        obs.check("UTH-READABLE", False, f"no {field_name} parameter", f"parametern {field_name} saknas",
                  f"send the message as {field_name} (SAML bindings 3.4/3.5)")
        return None
    try:
        xml = saml.decode_redirect(value) if request.method == "GET" else saml.decode_post(value)
        obs.raw = xml
        root = saml.read_message(xml)
    except saml.BindingError as exc:
        obs.check("UTH-READABLE", False, f"{field_name} cannot be read: {exc}",
                  f"{field_name} går inte att läsa: {exc}",
                  "HTTP-Redirect: base64 of raw DEFLATE (no zlib header); HTTP-POST: base64 of the XML")
        return None
    return root


def _issuer(root: etree._Element) -> str | None:
    el = root.find(f"{{{SAML}}}Issuer")
    return (el.text or "").strip() if el is not None else None


def _check_basics(obs: Observations, root: etree._Element, tag: str, endpoint: str) -> bool:
    if root.tag != f"{{{SAMLP}}}{tag}":
        return obs.check("UTH-READABLE", False, f"the message is {root.tag}, not samlp:{tag}",
                         f"meddelandet är {root.tag}, inte samlp:{tag}", f"send a {tag} in {SAMLP}")
    problems = []
    if root.get("Version") != "2.0":
        problems.append(f"Version is {root.get('Version')!r}, not '2.0'")
        obs.facts["version_mismatch"] = True
    if not (root.get("ID") or "").strip():
        problems.append("ID is missing")
    elif root.get("ID", "")[0].isdigit():
        problems.append("ID starts with a digit (it is an xs:ID: an NCName)")
    issued = root.get("IssueInstant")
    try:
        when = dt.datetime.fromisoformat((issued or "").replace("Z", "+00:00"))
        if when.tzinfo is None:
            problems.append("IssueInstant has no time zone (SAML times are UTC, ending in Z)")
        elif abs(dt.datetime.now(dt.UTC) - when) > CLOCK_SKEW:
            problems.append(f"IssueInstant {issued} is more than five minutes from now")
            obs.facts["stale"] = True
    except ValueError:
        problems.append(f"IssueInstant {issued!r} is not an xs:dateTime")
    destination = root.get("Destination")
    if destination is not None and destination != endpoint:
        problems.append(f"Destination {destination} is not this endpoint ({endpoint})")
        obs.facts["elsewhere"] = True  # SAML bindings 3.4.5.2: a message for another endpoint is not taken
    if problems:
        return obs.check("UTH-READABLE", False, f"{tag}: " + "; ".join(problems), f"{tag}: " + "; ".join(problems),
                         "SAML core 3.2.1: Version 2.0, a unique ID, IssueInstant in UTC, Destination = the endpoint")
    return obs.check("UTH-READABLE", True)


def _check_signature(obs: Observations, sp: ServiceProvider, request: Request, field_name: str, promised: bool,
                     required_why: str) -> bool:
    raw = obs.raw or b""
    if request.method == "GET":
        outcome, detail = saml.verify_redirect(request.raw_query, field_name, sp.signing_certs)
        alg = _params(request).get("SigAlg")
    else:
        outcome, detail = saml.verify_xml(raw, sp.signing_certs)
        sig = saml.read_message(raw).find("{http://www.w3.org/2000/09/xmldsig#}Signature")
        method = sig.find(".//{http://www.w3.org/2000/09/xmldsig#}SignatureMethod") if sig is not None else None
        alg = method.get("Algorithm") if method is not None else None
    obs.facts["signature"] = outcome
    if outcome == "valid" and alg in saml.WEAK_SIG_ALGS:
        obs.check("UTH-SIGALG", False, f"signed with {alg} (SHA-1)", f"signerat med {alg} (SHA-1)",
                  "sign with RSA-SHA256 (http://www.w3.org/2001/04/xmldsig-more#rsa-sha256)")
    elif outcome == "valid":
        obs.check("UTH-SIGALG", True)
    if outcome == "invalid":
        return obs.check("UTH-SIGNATURE", False, f"the signature is invalid: {detail}",
                         f"signaturen är ogiltig: {detail}",
                         "sign with the key whose certificate is in your metadata (KeyDescriptor use=\"signing\")")
    if outcome == "absent" and promised:
        return obs.check("UTH-SIGNATURE", False, f"unsigned, but {required_why}", f"osignerat, men {required_why}",
                         "sign the message, or change the metadata")
    return obs.check("UTH-SIGNATURE", True)


def _begin(app: Application, request: Request, environment: str, message: str, where: str, expected: str,
           rule: str) -> tuple[Observations, str]:
    """The start of reading an SP's message at ``/sso/<environment>/<where>``: its observations, with the
    check that it came with the ``expected`` binding; and the endpoint's own address (for Destination)."""
    binding = REDIRECT if request.method == "GET" else POST
    obs = Observations(message, BINDING_NAMES[binding], environment)
    came, wanted = BINDING_NAMES[binding], BINDING_NAMES[expected]
    how = ("send the AuthnRequest with the HTTP-Redirect binding (a 302 to the SingleSignOnService Location)"
           if expected == REDIRECT else f"single logout uses HTTP-POST both ways: post the {message} to the "
           "SingleLogoutService Location")
    obs.check(rule, binding == expected, f"the {message} came with {came}, not {wanted}",
              f"{message} kom med {came}, inte {wanted}", how)
    return obs, f"{base_url(app, request)}{PREFIX}/{environment}/{where}"


# -- single sign-on ----------------------------------------------------------------------------------------------


def single_sign_on(app: Application, request: Request, environment: str) -> Response:
    store = SsoStore(app.journal)
    params = _params(request)
    obs, endpoint = _begin(app, request, environment, "AuthnRequest", "redirect", REDIRECT, "UTH-BINDING")
    root = _read_signed_message(obs, params, "SAMLRequest", request)
    if root is None:
        response = _error_page(400, "The SAML request cannot be read.", "SAML-begäran går inte att läsa.")
        _journal(app, request, response, obs, consumer=None, contract=AUTHN_REQUEST)
        return response
    issuer = _issuer(root)
    if not _check_basics(obs, root, "AuthnRequest", endpoint) and root.tag != f"{{{SAMLP}}}AuthnRequest":
        response = _error_page(400, "Not an AuthnRequest.", "Inte en AuthnRequest.")
        _journal(app, request, response, obs, consumer=issuer, contract=AUTHN_REQUEST, body=obs.raw)
        return response
    request_id = root.get("ID") or ""
    sp = store.provider(issuer, environment) if issuer else None
    if sp is None:
        elsewhere = store.environments_of(issuer) if issuer else []
        en = (f"the Issuer {issuer!r} is registered only for {', '.join(elsewhere)}, not for {environment}"
              if elsewhere else f"the Issuer {issuer!r} is not a registered service provider" if issuer
              else "the AuthnRequest has no Issuer")
        sv = (f"Issuer {issuer!r} är bara registrerad för {', '.join(elsewhere)}, inte för {environment}"
              if elsewhere else f"Issuer {issuer!r} är ingen registrerad tjänsteleverantör" if issuer
              else "AuthnRequest saknar Issuer")
        obs.check("UTH-ISSUER", False, en, sv, "send your metadata's entityID as Issuer, and use the IdP metadata of "
                  "the environment you are registered in (test and production are kept apart)")
        response = _error_page(403, en, sv)
        _journal(app, request, response, obs, consumer=issuer, contract=AUTHN_REQUEST, body=obs.raw)
        return response
    obs.check("UTH-ISSUER", True)
    obs.facts["sp"] = sp.summary()
    trace = [f"issuer {sp.entity_id}: registered for {environment} from {sp.source}"]
    signed_ok = _check_signature(obs, sp, request, "SAMLRequest", sp.authn_requests_signed,
                                 "the metadata says AuthnRequestsSigned=\"true\"")
    acs_url = root.get("AssertionConsumerServiceURL")
    index = root.get("AssertionConsumerServiceIndex")
    protocol_binding = root.get("ProtocolBinding")
    acs = sp.acs_for(acs_url, int(index) if index and index.isdigit() else None, protocol_binding)
    acs_ok = acs is not None and acs.binding == POST and (protocol_binding in (None, POST))
    if acs is None:
        en = (f"AssertionConsumerServiceURL {acs_url} is not in the metadata" if acs_url else
              f"AssertionConsumerServiceIndex {index} is not in the metadata" if index else
              "no ACS with HTTP-POST in the metadata")
    else:
        en = f"ProtocolBinding {protocol_binding} or the ACS's binding {acs.binding} is not HTTP-POST"
    obs.check("UTH-ACS", acs_ok, en, en.replace("is not in the metadata", "finns inte i metadata"),
              "ask for an AssertionConsumerService of your metadata, with ProtocolBinding HTTP-POST")
    duplicate = store.seen_request(sp.entity_id, request_id) if request_id else None
    obs.check("UTH-REQUEST-ID", duplicate is None, f"the request ID {request_id} was used before (exchange "
              f"#{duplicate})", f"begärans ID {request_id} har använts förut (utväxling #{duplicate})",
              "make a new random ID for every AuthnRequest (and remember it, to check InResponseTo)")
    relay = params.get("RelayState")
    if relay is not None and len(relay.encode()) > 80:
        obs.check("UTH-RELAYSTATE", False, f"RelayState is {len(relay.encode())} bytes (at most 80)",
                  f"RelayState är {len(relay.encode())} byte (högst 80)",
                  "keep RelayState to 80 bytes (SAML bindings 3.4.3): send a key to what you keep, not a URL")
    elif relay is not None:
        obs.check("UTH-RELAYSTATE", True)
    effects: list[Effect] = [store.note_request(sp.entity_id, request_id)] if request_id else []
    if not signed_ok or not acs_ok:
        en, sv = ("the request's signature is not valid", "begärans signatur är ogiltig") if not signed_ok else \
            ("the ACS asked for is not in the metadata", "den begärda ACS:en finns inte i metadata")
        response = _error_page(403, f"{en}; the stand-in does not answer it.", f"{sv}; den besvaras inte.")
        obs.facts["answer"] = "refused"
        _journal(app, request, response, obs, consumer=sp.entity_id, contract=AUTHN_REQUEST, body=obs.raw,
                 effects=effects, trace=trace)
        return response
    # Policies: refused with a SAML status (SAML core 3.2.2.2, 3.4.1.1, 3.3.2.2.1), sent back to the ACS.
    fmt = _nameid_format(root)
    contexts, comparison = _requested_context(root)
    status: tuple[str, str | None, str] | None = None
    if obs.facts.get("version_mismatch"):
        status = (STATUS_VERSION_MISMATCH, None, "the request is not SAML 2.0 (Version)")
    elif obs.facts.get("elsewhere") or obs.facts.get("stale"):
        status = (STATUS_REQUESTER, STATUS_REQUEST_DENIED, "the request's Destination is not this endpoint, or its "
                  "IssueInstant is more than five minutes from now")
    if fmt not in (None, UNSPECIFIED, *NAMEID_FORMATS):
        obs.check("UTH-NAMEIDPOLICY", False, f"NameIDPolicy Format {fmt} is not one the IdP issues",
                  f"NameIDPolicy Format {fmt} ges inte ut av IdP:n",
                  f"ask for {TRANSIENT} or {PERSISTENT}, or leave Format out; the citizen is the "
                  "personalIdentityNumber attribute")
        status = status or (STATUS_REQUESTER, STATUS_INVALID_NAMEID_POLICY, f"NameID format {fmt} is not supported")
    else:
        obs.check("UTH-NAMEIDPOLICY", True)
    if contexts and not _satisfiable(contexts, comparison):
        obs.check("UTH-AUTHNCONTEXT", False, f"RequestedAuthnContext {comparison} {', '.join(contexts)} cannot be met "
                  f"(the IdP authenticates at {LOA3})", f"RequestedAuthnContext {comparison} {', '.join(contexts)} "
                  f"kan inte uppfyllas (IdP:n autentiserar på {LOA3})",
                  f"request {LOA3} (the default for Swedish e-ID) or leave RequestedAuthnContext out")
        status = status or (STATUS_RESPONDER, STATUS_NO_AUTHN_CONTEXT, "the requested authentication context "
                            "cannot be met")
    else:
        obs.check("UTH-AUTHNCONTEXT", True)
    assert acs is not None
    key = store.key(environment)
    issuer_id = entity_id(app, request, environment)
    if status is not None:
        body = saml.build_status_response(issuer=issuer_id, key=key, destination=acs.location,
                                          in_response_to=request_id, top=status[0], second=status[1],
                                          message=status[2])
        response = saml.post_form(acs.location, "SAMLResponse", body, relay)
        obs.facts["answer"] = f"status {status[1] or status[0]}"
        obs.facts["response_xml"] = body.decode()
        _journal(app, request, response, obs, consumer=sp.entity_id, contract=AUTHN_REQUEST, body=obs.raw,
                 effects=effects, trace=trace)
        return response
    citizen = citizen_session.logged_in(request)
    if citizen is None or _fixture_citizen(app, citizen) is None:
        if (root.get("IsPassive") or "").strip().lower() in ("true", "1"):  # SAML core 3.4.1: not to be asked
            body = saml.build_status_response(issuer=issuer_id, key=key, destination=acs.location,
                                              in_response_to=request_id, top=STATUS_RESPONDER,
                                              second=STATUS_NO_PASSIVE, message="no citizen is logged in")
            response = saml.post_form(acs.location, "SAMLResponse", body, relay)
            obs.facts.update(answer=f"status {STATUS_NO_PASSIVE}", response_xml=body.decode())
            _journal(app, request, response, obs, consumer=sp.entity_id, contract=AUTHN_REQUEST, body=obs.raw,
                     effects=effects, trace=trace)
            return response
        return _login_page(app, request, environment, sp)  # not journaled yet: after the login, it is
    session_id = citizen_session.cookie(request, COOKIE_SESSION)
    session = store.session(session_id) if session_id else None
    new_session = session is None or session.ended is not None or session.citizen != citizen \
        or session.environment != environment
    if new_session:
        session_id = saml.new_id()
        effects.append(store.open_session(session_id, environment, citizen))
    assert session_id is not None
    name_format = PERSISTENT if fmt == PERSISTENT else TRANSIENT
    name_id = _name_id(citizen, sp.entity_id, name_format)
    effects.append(store.join_session(session_id, sp.entity_id, name_id, name_format))
    armed = state(app)
    kind = armed.take(sp.entity_id)
    last = store.last_sent(sp.entity_id) if kind == "replayed" else None
    given, surname = _names(app, citizen)
    subject = saml.Subject(citizen, given, surname, name_id, name_format, session_id)
    if last is not None:
        body = last
    else:
        body = saml.build_response(issuer=issuer_id, key=key, acs_url=acs.location, audience=sp.entity_id,
                                   in_response_to=request_id, subject=subject,
                                   kind=kind if kind != "replayed" else saml.VALID)
    if kind == saml.VALID:
        effects.append(store.keep_sent(sp.entity_id, body))
    response = saml.post_form(acs.location, "SAMLResponse", body, relay)
    if new_session:
        response.headers.append(("Set-Cookie", f"{COOKIE_SESSION}={session_id}; Path={PREFIX}; HttpOnly; "
                                               "SameSite=Lax"))
    obs.facts.update(answer="Response", kind=kind, citizen=citizen, response_xml=body.decode(), session=session_id)
    _journal(app, request, response, obs, consumer=sp.entity_id, contract=AUTHN_REQUEST, body=obs.raw,
             injected=None if kind == saml.VALID else f"saml:{kind}", effects=effects, trace=trace)
    return response


def _nameid_format(root: etree._Element) -> str | None:
    policy = root.find(f"{{{SAMLP}}}NameIDPolicy")
    return policy.get("Format") if policy is not None else None


def _requested_context(root: etree._Element) -> tuple[list[str], str]:
    requested = root.find(f"{{{SAMLP}}}RequestedAuthnContext")
    if requested is None:
        return [], "exact"
    refs = [(el.text or "").strip() for el in requested.findall(f"{{{SAML}}}AuthnContextClassRef")]
    return [r for r in refs if r], requested.get("Comparison", "exact")


def _satisfiable(contexts: list[str], comparison: str) -> bool:
    ours = LOA_RANKS[LOA3]
    if comparison == "exact":
        return LOA3 in contexts
    ranks = [LOA_RANKS[c] for c in contexts if c in LOA_RANKS]
    if comparison == "minimum":
        return any(r <= ours for r in ranks)
    if comparison == "maximum":
        return any(r >= ours for r in ranks)
    if comparison == "better":
        return any(r < ours for r in ranks)
    return False


def _name_id(citizen: str, sp: str, fmt: str) -> str:
    """Transient: new each login; persistent: the same for this citizen and SP, and no other (not the
    personnummer)."""
    import hashlib

    if fmt == PERSISTENT:
        return "_" + hashlib.sha256(f"{sp}\n{citizen}".encode()).hexdigest()[:40]
    return saml.new_id()


def _fixture_citizen(app: Application, pnr: str):  # noqa: ANN202
    return next((c for c in app.fixtures.citizens if c.subject_of_care_id == pnr), None)


def _names(app: Application, pnr: str) -> tuple[str, str]:
    citizen = _fixture_citizen(app, pnr)
    name = (citizen.name if citizen else "").strip()
    given, _, surname = name.rpartition(" ")
    return (given, surname) if given else (name, "")


def _login_page(app: Application, request: Request, environment: str, sp: ServiceProvider) -> Response:
    """The stand-in's own login page, for a flow the SP starts when no citizen is logged in: pick a test
    citizen; the request is then answered (and journaled) as if the citizen had been logged in."""
    options = "".join(
        f'<li><button type="submit" name="citizen" value="{html.escape(c.subject_of_care_id)}">'
        f'{html.escape(c.name or c.subject_of_care_id)} ({html.escape(c.subject_of_care_id)})</button></li>'
        for c in app.fixtures.citizens)
    action = f"{PREFIX}/{environment}/login?{request.raw_query}" if request.method == "GET" else \
        f"{PREFIX}/{environment}/login?{request.body.decode('latin-1')}"
    body = (f'<!doctype html><html lang="sv"><head><meta charset="utf-8"><title>Logga in</title></head><body>'
            f'<h1>Logga in (testinvånare)</h1><p>{html.escape(sp.entity_id)} vill att du loggar in. Välj en '
            f'testinvånare; ingen riktig e-legitimation används.</p><p lang="en">Choose a test citizen to log in as '
            f'(no real e-ID is used).</p><form method="post" action="{html.escape(action, quote=True)}"><ul '
            f'id="citizens">{options}</ul></form></body></html>').encode()
    return Response(200, [("Content-Type", "text/html; charset=utf-8"), ("Cache-Control", "no-store"),
                          ("Content-Security-Policy", "default-src 'none'; form-action 'self'")], body)


def login(app: Application, request: Request, environment: str) -> Response:
    """POST: the citizen chosen on the login page is logged in, and the AuthnRequest is answered."""
    if request.method != "POST":
        return _plain(405, "choose a citizen on the login page\n")
    chosen = forms.fields(request).get("citizen", "")
    if _fixture_citizen(app, chosen) is None:
        return _error_page(400, "No such test citizen.", "Ingen sådan testinvånare.")
    response = Response(303, [("Location", f"{PREFIX}/{environment}/redirect?{request.raw_query}"),
                              ("Cache-Control", "no-store"), citizen_session.log_in(chosen)], b"")
    return response


# -- single logout ----------------------------------------------------------------------------------------------


def single_logout(app: Application, request: Request, environment: str) -> Response:
    """A LogoutRequest from an SP (the citizen logs out there) or a LogoutResponse (to the stand-in's)."""
    params = _params(request)
    if "SAMLResponse" in params:
        return _logout_response(app, request, environment, params)
    store = SsoStore(app.journal)
    obs, endpoint = _begin(app, request, environment, "LogoutRequest", "slo", POST, "UTH-LOGOUT-BINDING")
    root = _read_signed_message(obs, params, "SAMLRequest", request)
    if root is None or not _check_basics(obs, root, "LogoutRequest", endpoint) and \
            root.tag != f"{{{SAMLP}}}LogoutRequest":
        response = _error_page(400, "The logout request cannot be read.", "Utloggningsbegäran går inte att läsa.")
        _journal(app, request, response, obs, consumer=_issuer(root) if root is not None else None,
                 contract=LOGOUT_REQUEST, body=obs.raw)
        return response
    issuer = _issuer(root)
    sp = store.provider(issuer, environment) if issuer else None
    if sp is None:
        obs.check("UTH-ISSUER", False, f"the Issuer {issuer!r} is not registered for {environment}",
                  f"Issuer {issuer!r} är inte registrerad för {environment}", "send your metadata's entityID")
        response = _error_page(403, "Unknown service provider.", "Okänd tjänsteleverantör.")
        _journal(app, request, response, obs, consumer=issuer, contract=LOGOUT_REQUEST, body=obs.raw)
        return response
    obs.check("UTH-ISSUER", True)
    obs.facts["sp"] = sp.summary()
    signed = _check_signature(obs, sp, request, "SAMLRequest", True,
                              "a LogoutRequest must be signed (SAML profiles 4.4.3.1: the requester authenticates "
                              "itself and protects the message's integrity)")
    name_el = root.find(f"{{{SAML}}}NameID")
    name_id = (name_el.text or "").strip() if name_el is not None else ""
    session_id = store.session_of_name_id(sp.entity_id, name_id) if name_id else None
    indexes = [(el.text or "").strip() for el in root.findall(f"{{{SAMLP}}}SessionIndex")]
    session_ok = session_id is not None and (not indexes or session_id in indexes)
    obs.check("UTH-LOGOUT-SESSION", session_ok,
              "the NameID and SessionIndex are not those of a session the IdP has with this SP",
              "NameID och SessionIndex hör inte till en session som IdP:n har med tjänsteleverantören",
              "send the NameID and SessionIndex of the assertion the citizen logged in with")
    effects: list[Effect] = []
    status = STATUS_SUCCESS
    if not signed or not session_ok:  # a SessionIndex of another session ends nothing
        status = STATUS_REQUESTER
    destination = sp.slo_post.response_location or sp.slo_post.location if sp.slo_post else None
    if destination is None:
        obs.check("UTH-LOGOUT-ANSWER", False, "the metadata has no SingleLogoutService with HTTP-POST for the answer",
                  "metadata saknar SingleLogoutService med HTTP-POST för svaret",
                  "publish a SingleLogoutService with Binding HTTP-POST in your metadata")
        response = _error_page(400, "No SingleLogoutService (HTTP-POST) in the SP's metadata.",
                               "Ingen SingleLogoutService (HTTP-POST) i tjänsteleverantörens metadata.")
        obs.facts["answer"] = "refused"
    elif status == STATUS_SUCCESS and session_id is not None and _others_to_log_out(store, session_id, sp.entity_id,
                                                                                     environment):
        # SAML profiles 4.4.3.2: the IdP first logs the citizen out of the session's other SPs (through the
        # browser, as for 1177's logout), then answers this SP: kept until the chain ends (``idp_logout``).
        effects += [store.leave_session(session_id, sp.entity_id),
                    store.await_others(session_id, sp.entity_id, root.get("ID") or "", destination,
                                       params.get("RelayState"))]
        response = Response(303, [("Location", f"{PREFIX}/{environment}/logout?session={session_id}"),
                                  ("Cache-Control", "no-store")], b"")
        obs.facts["answer"] = "Success, after the session's other service providers"
    else:
        if status == STATUS_SUCCESS and session_id is not None:
            effects += [store.leave_session(session_id, sp.entity_id), store.end_session(session_id)]
        body = saml.build_logout_response(issuer=entity_id(app, request, environment),
                                          key=store.key(environment), destination=destination,
                                          in_response_to=root.get("ID"), status=status)
        response = saml.post_form(destination, "SAMLResponse", body, params.get("RelayState"))
        obs.facts["response_xml"] = body.decode()
        obs.facts["answer"] = status
        if status == STATUS_SUCCESS:
            response.headers += _logged_out_cookies()
    _journal(app, request, response, obs, consumer=sp.entity_id, contract=LOGOUT_REQUEST, body=obs.raw,
             effects=effects)
    return response


def _others_to_log_out(store: SsoStore, session_id: str, entity: str, environment: str) -> bool:
    session = store.session(session_id)
    return session is not None and any(
        m.entity_id != entity and m.logged_out is None and (sp := store.provider(m.entity_id, environment)) is not None
        and sp.slo_post is not None for m in session.sps)


def _logged_out_cookies() -> list[tuple[str, str]]:
    return [citizen_session.log_out(),
            ("Set-Cookie", f"{COOKIE_SESSION}=; Path={PREFIX}; HttpOnly; SameSite=Lax; Max-Age=0")]


def idp_logout(app: Application, request: Request, environment: str) -> Response:
    """GET /sso/<env>/logout: the citizen logs out at 1177. Each SP of the session still logged in gets a
    LogoutRequest through the browser (HTTP-POST), one after another; their answers come to /slo, which sends
    the browser on to the next, and at last to the logged-out page."""
    store = SsoStore(app.journal)
    # The session: the browser's cookie, or (the chain after an SP's own logout, whose POST came cross-site
    # without the cookie) the session named in the link the stand-in itself gave.
    session_id = request.query.get("session") or citizen_session.cookie(request, COOKIE_SESSION)
    session = store.session(session_id) if session_id else None
    pending = [sp for sp in (session.sps if session else ()) if sp.logged_out is None]
    for member in pending:
        sp = store.provider(member.entity_id, environment)
        if sp is None or sp.slo_post is None:
            continue
        logout_id, body = saml.build_logout_request(
            issuer=entity_id(app, request, environment), key=store.key(environment), destination=sp.slo_post.location,
            name_id=member.name_id, name_id_format=member.name_id_format, sp_name_qualifier=sp.entity_id,
            session_index=session.id)  # type: ignore[union-attr]
        store.note_logout_sent(logout_id, session.id, sp.entity_id)  # type: ignore[union-attr]
        obs = Observations("LogoutRequest to SP", "HTTP-POST", environment,
                           facts={"logout_id": logout_id, "direction": "to-sp", "sp": sp.summary(),
                                  "response_xml": body.decode()})
        response = saml.post_form(sp.slo_post.location, "SAMLRequest", body, f"logout-{session.id}"[:80],
                                  "Loggar ut / Logging out")
        _journal(app, request, response, obs, consumer=sp.entity_id, contract=LOGOUT_REQUEST, body=b"",
                 effects=[store.leave_session(session.id, sp.entity_id)],  # type: ignore[union-attr]
                 identified_by="idp-message")
        return response
    if session is not None and session.ended is None:
        store.end_session_now(session.id)
    initiator = store.take_waiting(session.id) if session is not None else None
    if initiator is not None:  # an SP's own logout: now answered, the others logged out
        entity, request_id, destination, relay = initiator
        body = saml.build_logout_response(issuer=entity_id(app, request, environment), key=store.key(environment),
                                          destination=destination, in_response_to=request_id)
        response = saml.post_form(destination, "SAMLResponse", body, relay, "Loggar ut / Logging out")
        response.headers += _logged_out_cookies()
        registered = store.provider(entity, environment)
        obs = Observations("LogoutResponse to SP", "HTTP-POST", environment,
                           facts={"direction": "to-sp", "in_response_to": request_id, "response_xml": body.decode(),
                                  **({"sp": registered.summary()} if registered else {})})
        _journal(app, request, response, obs, consumer=entity, contract=LOGOUT_RESPONSE, body=b"",
                 identified_by="idp-message")
        return response
    return _logged_out(environment)


def _logged_out(environment: str) -> Response:
    body = ('<!doctype html><html lang="sv"><head><meta charset="utf-8"><title>Utloggad</title></head><body>'
            '<h1 id="logged-out">Du är utloggad</h1><p lang="en">You are logged out of the stand-in and of every '
            'service provider that answered.</p><p><a href="/ui/inbox">Till inkorgen</a></p></body></html>').encode()
    return Response(200, [("Content-Type", "text/html; charset=utf-8"), ("Cache-Control", "no-store"),
                          ("Content-Security-Policy", "default-src 'none'"), *_logged_out_cookies()], body)


def _logout_response(app: Application, request: Request, environment: str, params: dict[str, str]) -> Response:
    store = SsoStore(app.journal)
    obs, endpoint = _begin(app, request, environment, "LogoutResponse", "slo", POST, "UTH-LOGOUT-BINDING")
    root = _read_signed_message(obs, params, "SAMLResponse", request)
    if root is None:
        response = _error_page(400, "The logout response cannot be read.", "Utloggningssvaret går inte att läsa.")
        _journal(app, request, response, obs, consumer=None, contract=LOGOUT_RESPONSE)
        return response
    _check_basics(obs, root, "LogoutResponse", endpoint)
    issuer = _issuer(root)
    sp = store.provider(issuer, environment) if issuer else None
    obs.check("UTH-ISSUER", sp is not None, f"the Issuer {issuer!r} is not registered for {environment}",
              f"Issuer {issuer!r} är inte registrerad för {environment}", "send your metadata's entityID")
    effects: list[Effect] = []
    answered = root.get("InResponseTo") or ""
    sent = store.logout_sent(answered) if answered else None
    code = root.find(f"{{{SAMLP}}}Status/{{{SAMLP}}}StatusCode")
    value = code.get("Value") if code is not None else None
    ok = sent is not None and sp is not None and sent[1] == sp.entity_id and value == STATUS_SUCCESS
    obs.check("UTH-LOGOUT-ANSWER", ok,
              f"InResponseTo {answered!r} is not a LogoutRequest the IdP sent this SP" if sent is None or sp is None
              or sent[1] != sp.entity_id else f"the status is {value}, not Success",
              f"InResponseTo {answered!r} är ingen LogoutRequest som IdP:n skickat" if sent is None or sp is None
              or sent[1] != sp.entity_id else f"statusen är {value}, inte Success",
              "answer the IdP's LogoutRequest with InResponseTo = its ID and status Success once the local session "
              "has ended")
    if sp is not None:
        obs.facts["sp"] = sp.summary()
        _check_signature(obs, sp, request, "SAMLResponse", True,
                         "a LogoutResponse must be signed (SAML profiles 4.4.3.4)")
    obs.facts["in_response_to"] = answered
    if sent is not None:
        effects.append(store.logout_answered(answered))
    # On to the next SP still logged in, or the logged-out page (the session named: this POST came cross-site).
    after = f"{PREFIX}/{environment}/logout" + (f"?session={sent[0]}" if sent is not None else "")
    response = Response(303, [("Location", after), ("Cache-Control", "no-store")], b"")
    _journal(app, request, response, obs, consumer=issuer, contract=LOGOUT_RESPONSE, body=obs.raw,
             effects=effects)
    return response


def register_metadata(app: Application, data: bytes, environment: str, source: str,
                      system_id: str | None = None) -> ServiceProvider:
    from .metadata import read_sp_metadata

    sp = read_sp_metadata(data, environment, source, system_id)
    SsoStore(app.journal).register(sp)
    return sp


__all__ = ["Armed", "Observations", "handle", "register_metadata", "state"]

"""Exempel Journal, e-tjänst: a small SAML 2.0 service provider (SP) that 1177 links to, as a vendor would write
one, on OneLogin's python3-saml toolkit and the standard library's ``http.server``.

The citizen opens the protected page ``/`` (from an inbox message's ``ssoLink``, say); without a session the SP
sends a signed AuthnRequest to the IdP (HTTP-Redirect), the IdP posts a signed Response back to ``/saml/acs``
(HTTP-POST), and the page shows who logged in. Single logout goes over HTTP-POST both ways: the SP's own
``/logout``, and a LogoutRequest from the IdP to ``/saml/sls``. It does not import mockplatform.

    python examples/sso_service/sso_service.py --port 8090 \
        --idp-metadata http://127.0.0.1:8080/sso/test/metadata [--keys DIR] [--register] [--skip CHECK]

``--skip CHECK`` (one of ``SKIPPABLE``) makes it skip exactly that one validation of a Response: a deliberately
broken variant for the probe to catch. Each place is marked ``SKIPPED`` in the code.
From Python: ``start(...)`` returns a ``Running`` with ``.url``, ``.metadata_url``, ``.sp`` and ``.stop()``.
"""

from __future__ import annotations

import argparse
import base64
import copy
import datetime as dt
import hashlib
import html
import logging
import secrets
import signal
import threading
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qsl, urlencode, urlsplit

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID
from onelogin.saml2.auth import OneLogin_Saml2_Auth
from onelogin.saml2.constants import OneLogin_Saml2_Constants as C
from onelogin.saml2.errors import OneLogin_Saml2_ValidationError as ValidationError
from onelogin.saml2.idp_metadata_parser import OneLogin_Saml2_IdPMetadataParser
from onelogin.saml2.logout_request import OneLogin_Saml2_Logout_Request
from onelogin.saml2.logout_response import OneLogin_Saml2_Logout_Response
from onelogin.saml2.response import OneLogin_Saml2_Response
from onelogin.saml2.settings import OneLogin_Saml2_Settings
from onelogin.saml2.utils import OneLogin_Saml2_Utils

log = logging.getLogger("sso_service")

NAME = "Exempel Journal, e-tjänst"
DEFAULT_PORT = 8090
DEFAULT_IDP_METADATA = "http://127.0.0.1:8080/sso/test/metadata"
# Not the platform's cookie names; and with the SP's port in it, because browsers share cookies across the ports
# of one host (two example SPs on 127.0.0.1 would otherwise overwrite each other's session).
COOKIE = "exempel-journal-session"
SESSION_TTL = dt.timedelta(hours=8)
MAX_PENDING = 10  # AuthnRequests one browser session may have outstanding (several tabs)
MAX_BODY = 256 * 1024
FETCH_TIMEOUT_S = 10

# The stand-in's attributes (Sweden Connect's names) and the level of assurance asked for.
PNR = "urn:oid:1.2.752.29.4.13"
GIVEN_NAME = "urn:oid:2.5.4.42"
SURNAME = "urn:oid:2.5.4.4"
DISPLAY_NAME = "urn:oid:2.16.840.1.113730.3.1.241"
LOA3 = "http://id.swedenconnect.se/loa/1.0/uncertified-loa3"

# The validations ``--skip`` can switch off, one at a time (the deliberately broken variants).
SKIPPABLE = ("signature", "audience", "recipient", "destination", "time", "replay", "in-response-to")


# -- keys ---------------------------------------------------------------------------------------------------
def make_keys(folder: Path | None = None) -> tuple[str, str]:
    """The SP's signing key and self-signed certificate (PEM): read from ``folder`` (sp.key, sp.crt) if there,
    else made now (RSA 3072, ten years) and, with a folder, kept there for the next start."""
    if folder is not None and (folder / "sp.key").exists() and (folder / "sp.crt").exists():
        return (folder / "sp.key").read_text(), (folder / "sp.crt").read_text()
    key = rsa.generate_private_key(public_exponent=65537, key_size=3072)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, NAME)])
    now = dt.datetime.now(dt.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - dt.timedelta(days=1))
            .not_valid_after(now + dt.timedelta(days=3650)).sign(key, hashes.SHA256()))
    key_pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption()).decode()
    cert_pem = cert.public_bytes(serialization.Encoding.PEM).decode()
    if folder is not None:
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "sp.key").write_text(key_pem)
        (folder / "sp.key").chmod(0o600)
        (folder / "sp.crt").write_text(cert_pem)
    return key_pem, cert_pem


class IdpUnreachable(ValueError):
    """The IdP's metadata URL does not answer (yet): the platform may be started after the SP."""


def read_idp_metadata(where: str) -> dict:
    """The IdP's settings (entityID, SSO with HTTP-Redirect, SLO with HTTP-POST, certificate) from its metadata,
    a URL or a file; ValueError saying what went wrong (IdpUnreachable: the URL does not answer)."""
    try:
        if where.startswith(("http://", "https://")):
            with urllib.request.urlopen(where, timeout=FETCH_TIMEOUT_S) as answer:  # noqa: S310 (http(s) only)
                xml = answer.read()
        else:
            xml = Path(where).read_bytes()
    except urllib.error.HTTPError as exc:
        raise ValueError(f"IdP metadata {where}: HTTP {exc.code}, not the metadata") from exc
    except OSError as exc:
        if where.startswith(("http://", "https://")):
            raise IdpUnreachable(f"IdP metadata {where}: no answer ({exc})") from exc
        raise ValueError(f"IdP metadata {where}: cannot be read: {exc}") from exc
    try:
        parsed = OneLogin_Saml2_IdPMetadataParser.parse(xml, required_sso_binding=C.BINDING_HTTP_REDIRECT,
                                                        required_slo_binding=C.BINDING_HTTP_POST)
    except Exception as exc:
        raise ValueError(f"IdP metadata {where}: not usable SAML metadata: {exc}") from exc
    idp = parsed.get("idp") or {}
    missing = [what for what, ok in (("entityID", idp.get("entityId")),
                                     ("SingleSignOnService (HTTP-Redirect)", idp.get("singleSignOnService")),
                                     ("SingleLogoutService (HTTP-POST)", idp.get("singleLogoutService")),
                                     ("signing certificate", idp.get("x509cert") or idp.get("x509certMulti")))
               if not ok]
    if missing:
        raise ValueError(f"IdP metadata {where}: no {', '.join(missing)}")
    return idp


# -- a Response, validated by python3-saml (with one check skipped in a broken variant) -------------------------
class SpResponse(OneLogin_Saml2_Response):
    """python3-saml's Response. ``skip`` None: every check of the library, unchanged. Otherwise the one check
    named is SKIPPED, and only that one: python3-saml's other checks still run."""

    _SUBJECT_CONFIRMATION = "/saml:Subject/saml:SubjectConfirmation"
    _JUST_BEFORE_DESTINATION = "/saml:AttributeStatement/saml:EncryptedAttribute"  # is_valid's query right before

    def __init__(self, settings: OneLogin_Saml2_Settings, response: str, skip: str | None = None) -> None:
        super().__init__(settings, response)
        self.skip = skip
        self._hidden_destination: str | None = None

    def is_valid(self, request_data, request_id=None, raise_exceptions=False):  # noqa: ANN001, ANN201
        try:
            return super().is_valid(request_data, request_id, raise_exceptions)
        finally:
            self._restore_destination()

    def validate_timestamps(self, raise_exceptions=False):  # noqa: ANN001, ANN201
        if self.skip == "time":
            return True  # SKIPPED (time): Conditions NotBefore/NotOnOrAfter are not checked
        return super().validate_timestamps(raise_exceptions=raise_exceptions)

    def get_audiences(self):  # noqa: ANN201
        self._restore_destination()  # python3-saml asks for the audiences right after the Destination check
        if self.skip == "audience":
            return []  # SKIPPED (audience): no Audience means python3-saml does not compare it with our entityID
        return super().get_audiences()

    def _query_assertion(self, xpath_expr):  # noqa: ANN001, ANN202
        nodes = super()._query_assertion(xpath_expr)
        if xpath_expr == self._JUST_BEFORE_DESTINATION and self.skip == "destination":
            # SKIPPED (destination): python3-saml reads the Response's Destination right after this query; it is
            # hidden for that one read and put back (get_audiences, next) before the signature is verified.
            self._hidden_destination = self.document.attrib.pop("Destination", None)
        if xpath_expr == self._SUBJECT_CONFIRMATION and self.skip in ("recipient", "time"):
            # SKIPPED (recipient / time): python3-saml's SubjectConfirmation loop sees copies without Recipient
            # (or without NotBefore/NotOnOrAfter); the document itself, and so its signature, is untouched.
            dropped = ("Recipient",) if self.skip == "recipient" else ("NotBefore", "NotOnOrAfter")
            nodes = [copy.deepcopy(node) for node in nodes]
            for node in nodes:
                for data in node.findall(f"{{{C.NS_SAML}}}SubjectConfirmationData"):
                    for name in dropped:
                        data.attrib.pop(name, None)
        return nodes

    def _restore_destination(self) -> None:
        if self._hidden_destination is not None:
            self.document.set("Destination", self._hidden_destination)
            self._hidden_destination = None


# -- the service provider's state ---------------------------------------------------------------------------------
@dataclass
class User:
    """Who logged in, from the assertion: what the page shows and what a logout needs."""

    pnr: str
    given_name: str
    surname: str
    display_name: str
    name_id: str
    name_id_format: str | None
    name_qualifier: str | None
    sp_name_qualifier: str | None
    session_index: str | None
    authn_contexts: list[str]
    logged_in: str


@dataclass
class Session:
    id: str
    created: dt.datetime
    pending: dict[str, str] = field(default_factory=dict)  # AuthnRequest ID -> RelayState key
    relays: dict[str, str] = field(default_factory=dict)  # RelayState key -> the path to return to
    user: User | None = None


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class ServiceProvider:
    """The SP: python3-saml's settings, the browser sessions, the assertions already used, the logouts sent.

    The IdP's metadata (``idp_metadata``, a URL or a file) is read once: at start (``idp``), or, when its URL
    did not answer then, at the first login (the platform may be started after the SP)."""

    def __init__(self, base_url: str, idp_metadata: str, key_pem: str, cert_pem: str, skip: str | None = None,
                 idp: dict | None = None) -> None:
        if skip is not None and skip not in SKIPPABLE:
            raise ValueError(f"--skip {skip}: one of {', '.join(SKIPPABLE)}")
        self.base_url = base_url.rstrip("/")
        self.skip = skip
        self.idp_metadata = idp_metadata
        self.key_pem, self.cert_pem = key_pem, cert_pem
        self.entity_id = f"{self.base_url}/saml/metadata"
        self.acs_url = f"{self.base_url}/saml/acs"
        self.sls_url = f"{self.base_url}/saml/sls"
        self.own_settings = OneLogin_Saml2_Settings(self.settings_dict({}), sp_validation_only=True)
        self._settings = None if idp is None else OneLogin_Saml2_Settings(self.settings_dict(idp))
        self._idp_lock = threading.Lock()
        self.lock = threading.Lock()
        self.sessions: dict[str, Session] = {}
        self.used_assertions: dict[str, dt.datetime] = {}  # assertion ID -> when it may be forgotten
        self.logouts_sent: dict[str, dt.datetime] = {}  # LogoutRequest ID -> when sent
        self.refusals: list[str] = []  # why each refused Response was refused (for the tests and the log)

    @property
    def settings(self) -> OneLogin_Saml2_Settings:
        """python3-saml's settings with the IdP's; ValueError (IdpUnreachable) when its metadata cannot be read."""
        with self._idp_lock:
            if self._settings is None:
                self._settings = OneLogin_Saml2_Settings(self.settings_dict(read_idp_metadata(self.idp_metadata)))
                log.info("IdP metadata read from %s", self.idp_metadata)
            return self._settings

    @property
    def idp(self) -> dict:
        return self.settings.get_idp_data()

    def settings_dict(self, idp: dict) -> dict:
        return {
            "strict": True,
            "debug": False,
            "sp": {
                "entityId": self.entity_id,
                "assertionConsumerService": {"url": self.acs_url, "binding": C.BINDING_HTTP_POST},
                "singleLogoutService": {"url": self.sls_url, "binding": C.BINDING_HTTP_POST},
                "NameIDFormat": C.NAMEID_TRANSIENT,
                "x509cert": self.cert_pem,
                "privateKey": self.key_pem,
            },
            "idp": idp,
            "security": {
                "authnRequestsSigned": True,  # the HTTP-Redirect binding's signature (SigAlg, Signature)
                "logoutRequestSigned": True,
                "logoutResponseSigned": True,
                "wantAssertionsSigned": True,
                "wantMessagesSigned": False,  # python3-saml would look for a Redirect signature on logout messages
                "wantAttributeStatement": True,
                "requestedAuthnContext": [LOA3],
                "requestedAuthnContextComparison": "exact",
                "failOnAuthnContextMismatch": True,
                "rejectDeprecatedAlgorithm": True,
                "signatureAlgorithm": C.RSA_SHA256,
                "digestAlgorithm": C.SHA256,
            },
        }

    def metadata(self) -> bytes:
        xml = self.own_settings.get_sp_metadata()
        errors = self.own_settings.validate_metadata(xml)
        if errors:
            raise ValueError(f"the SP's own metadata does not validate: {errors}")
        return xml if isinstance(xml, bytes) else xml.encode()

    def request_data(self, path: str, post: dict[str, str] | None = None) -> dict:
        """What python3-saml knows of a request: our own configured address (not the Host header), the path."""
        parts = urlsplit(self.base_url)
        return {"https": "on" if parts.scheme == "https" else "off", "http_host": parts.netloc,
                "script_name": path, "get_data": {}, "post_data": post or {}}

    # -- sessions -----------------------------------------------------------------------------------------------
    def session(self, sid: str | None, create: bool = False) -> Session | None:
        with self.lock:
            now = _now()
            for old in [s for s in self.sessions.values() if now - s.created > SESSION_TTL]:
                del self.sessions[old.id]
            found = self.sessions.get(sid or "")
            if found is None and create:
                found = Session(secrets.token_urlsafe(24), now)
                self.sessions[found.id] = found
            return found

    # -- single sign-on -------------------------------------------------------------------------------------------
    def login_url(self, session: Session, return_to: str) -> str:
        """A signed AuthnRequest (HTTP-Redirect) with a short RelayState key; its ID kept in the session."""
        auth = OneLogin_Saml2_Auth(self.request_data("/"), self.settings)
        relay = secrets.token_urlsafe(12)  # 16 characters: SAML allows 80 bytes of RelayState
        url = auth.login(return_to=relay)
        with self.lock:
            session.relays[relay] = return_to
            session.pending[auth.get_last_request_id()] = relay
            while len(session.pending) > MAX_PENDING:
                session.relays.pop(session.pending.pop(next(iter(session.pending))), None)
        return url

    def consume(self, session: Session | None, form: dict[str, str]) -> tuple[User, str]:
        """Validate a posted Response; the user and the path to return to, or ValueError saying why not."""
        value = form.get("SAMLResponse")
        if not value:
            raise ValueError("no SAMLResponse in the form")
        try:
            response = SpResponse(self.settings, value, self.skip)
        except Exception as exc:
            raise ValueError(f"the SAMLResponse cannot be read: {exc}") from exc
        answered = response.get_in_response_to()
        with self.lock:
            pending = dict(session.pending) if session else {}
        # The AuthnRequest this browser session sent and the Response answers; with none outstanding it is an
        # unsolicited Response (IdP-initiated), and InResponseTo is not compared (the replay check still applies).
        request_id = answered if answered in pending else next(reversed(pending), None)
        if self.skip == "in-response-to":
            request_id = None  # SKIPPED (in-response-to): InResponseTo is never compared with what we sent
        try:
            response.is_valid(self.request_data("/saml/acs", form), request_id, raise_exceptions=True)
        except ValidationError as exc:
            if not (self.skip == "signature" and exc.code == ValidationError.INVALID_SIGNATURE):
                raise ValueError(str(exc)) from exc
            # SKIPPED (signature): python3-saml verifies the signatures last, after every other check has passed
        except Exception as exc:
            raise ValueError(str(exc)) from exc
        attributes = response.get_attributes()

        def first(name: str) -> str:
            values = attributes.get(name) or [""]
            return str(values[0] or "")

        pnr = first(PNR)
        if not pnr:
            raise ValueError(f"the assertion has no personalIdentityNumber ({PNR})")
        assertion_id = response.get_assertion_id()
        now = _now()
        with self.lock:
            for used in [a for a, until in self.used_assertions.items() if until <= now]:
                del self.used_assertions[used]
            if assertion_id in self.used_assertions and self.skip != "replay":  # SKIPPED (replay) when skip=replay
                raise ValueError(f"the assertion {assertion_id} has been used before (a replayed Response)")
            not_after = response.get_assertion_not_on_or_after()
            until = dt.datetime.fromtimestamp(not_after, dt.UTC) if not_after else now
            self.used_assertions[assertion_id] = max(until, now) + dt.timedelta(hours=1)
            relay_key = form.get("RelayState", "")
            return_to = session.relays.pop(relay_key, "/") if session else "/"
            if session is not None and request_id in session.pending:
                del session.pending[request_id]
        try:
            data = response.get_nameid_data()
            user = User(pnr, first(GIVEN_NAME), first(SURNAME), first(DISPLAY_NAME) or f"{first(GIVEN_NAME)} "
                        f"{first(SURNAME)}".strip(), data["Value"], data.get("Format"), data.get("NameQualifier"),
                        data.get("SPNameQualifier"), response.get_session_index(), response.get_authn_contexts(),
                        now.isoformat(timespec="seconds"))
        except Exception as exc:
            raise ValueError(f"the assertion's subject cannot be read: {exc}") from exc
        return user, return_to if return_to.startswith("/") and not return_to.startswith("//") else "/"

    def log_in(self, old: Session | None, user: User) -> Session:
        """A new session id for the logged-in session (the one before the login is dropped: no fixation)."""
        with self.lock:
            if old is not None:
                self.sessions.pop(old.id, None)
            new = Session(secrets.token_urlsafe(24), _now(), user=user)
            if old is not None:
                new.relays, new.pending = old.relays, old.pending
            self.sessions[new.id] = new
            return new

    # -- single logout ----------------------------------------------------------------------------------------------
    def sign(self, xml: str | bytes) -> bytes:
        """An enveloped XML signature (RSA-SHA256), as the HTTP-POST binding carries it."""
        signed = OneLogin_Saml2_Utils.add_sign(xml, self.key_pem, self.cert_pem, sign_algorithm=C.RSA_SHA256,
                                               digest_algorithm=C.SHA256)
        return signed if isinstance(signed, bytes) else signed.encode()

    def logout_request(self, session: Session) -> bytes:
        """The SP's own logout: a signed LogoutRequest for the session's NameID and SessionIndex. The local
        session ends now; the IdP's LogoutResponse comes back to /saml/sls."""
        user = session.user
        assert user is not None
        request = OneLogin_Saml2_Logout_Request(self.settings, name_id=user.name_id, session_index=user.session_index,
                                                nq=user.name_qualifier, name_id_format=user.name_id_format,
                                                spnq=user.sp_name_qualifier)
        with self.lock:
            self.sessions.pop(session.id, None)
            self.logouts_sent[request.id] = _now()
        return self.sign(request.get_xml())

    def verify(self, xml: bytes, root: str) -> None:
        """The enveloped signature of a logout message from the IdP, with the IdP's certificate; ValueError."""
        idp = self.idp
        try:
            ok = OneLogin_Saml2_Utils.validate_sign(xml, idp.get("x509cert"), xpath=f"/samlp:{root}/ds:Signature",
                                                    multicerts=(idp.get("x509certMulti") or {}).get("signing"),
                                                    raise_exceptions=True)
        except Exception as exc:
            raise ValueError(f"the {root}'s signature does not verify with the IdP's certificate: {exc}") from exc
        if not ok:
            raise ValueError(f"the {root}'s signature does not verify with the IdP's certificate")

    def idp_logout(self, form: dict[str, str]) -> bytes:
        """A LogoutRequest from the IdP: verified, the sessions of its NameID/SessionIndex ended, and the signed
        LogoutResponse to post back. ValueError: not a LogoutRequest we may act on."""
        request = OneLogin_Saml2_Logout_Request(self.settings, request=form["SAMLRequest"])
        xml = request.get_xml()
        self.verify(xml.encode() if isinstance(xml, str) else xml, "LogoutRequest")
        try:
            request.is_valid(self.request_data("/saml/sls", form), raise_exceptions=True)
        except Exception as exc:
            raise ValueError(str(exc)) from exc
        name_id = OneLogin_Saml2_Logout_Request.get_nameid(xml)
        indexes = OneLogin_Saml2_Logout_Request.get_session_indexes(xml)
        with self.lock:
            ended = [s.id for s in self.sessions.values() if s.user and s.user.name_id == name_id
                     and (not indexes or s.user.session_index in indexes)]
            for sid in ended:
                del self.sessions[sid]
        log.info("IdP logout of %s: %d session(s) ended", name_id, len(ended))
        answer = OneLogin_Saml2_Logout_Response(self.settings)
        answer.build(request.id, C.STATUS_SUCCESS)
        return self.sign(answer.get_xml())

    def logout_answered(self, form: dict[str, str]) -> None:
        """The IdP's LogoutResponse to our LogoutRequest; ValueError if it is not one, or not a success."""
        answer = OneLogin_Saml2_Logout_Response(self.settings, form["SAMLResponse"])
        self.verify(answer.get_xml().encode() if isinstance(answer.get_xml(), str) else answer.get_xml(),
                    "LogoutResponse")
        answered = answer.get_in_response_to()
        with self.lock:
            sent = self.logouts_sent.pop(answered or "", None)
        if sent is None:
            raise ValueError(f"InResponseTo {answered!r} is not a LogoutRequest this SP sent (or it was answered)")
        try:
            answer.is_valid(self.request_data("/saml/sls", form), answered, raise_exceptions=True)
        except Exception as exc:
            raise ValueError(str(exc)) from exc
        if answer.get_status() != C.STATUS_SUCCESS:
            raise ValueError(f"the IdP answered {answer.get_status()}")

    @property
    def idp_slo(self) -> str:
        return self.settings.get_idp_slo_url()

    @property
    def idp_slo_response(self) -> str:
        return self.settings.get_idp_slo_response_url()


# -- pages ----------------------------------------------------------------------------------------------------------
def page(title: str, body: str) -> bytes:
    return (f'<!doctype html><html lang="sv"><head><meta charset="utf-8"><title>{html.escape(title)} · {NAME}'
            f'</title></head><body><header><strong>{NAME}</strong></header><main>{body}</main></body></html>'
            ).encode()


def protected_page(user: User, query: str) -> bytes:
    asked = "".join(f"<li><code>{html.escape(k)}</code> = {html.escape(v)}</li>" for k, v in parse_qsl(query))
    return page("Min journal", (
        f'<h1>Min journal</h1><p id="who">Inloggad: <span id="name">{html.escape(user.display_name)}</span>, '
        f'personnummer <span id="pnr">{html.escape(user.pnr)}</span></p>'
        f'<p><small>Inloggad {html.escape(user.logged_in)} med {html.escape(", ".join(user.authn_contexts))}'
        f'</small></p>' + (f'<ul id="query">{asked}</ul>' if asked else "")
        + '<p><a id="logout" href="/logout">Logga ut</a></p>'))


AUTO_SUBMIT = "document.getElementById('saml').submit();"
AUTO_SUBMIT_CSP = ("default-src 'none'; script-src 'sha256-"
                   + base64.b64encode(hashlib.sha256(AUTO_SUBMIT.encode()).digest()).decode() + "'")


def post_form(url: str, field_name: str, xml: bytes, relay_state: str | None) -> bytes:
    """The HTTP-POST binding: a form that posts the message by itself (a button without JavaScript)."""
    relay = (f'<input type="hidden" name="RelayState" value="{html.escape(relay_state, quote=True)}">'
             if relay_state else "")
    return page("Skickar", (
        f'<form id="saml" method="post" action="{html.escape(url, quote=True)}">'
        f'<input type="hidden" name="{field_name}" value="{base64.b64encode(xml).decode()}">{relay}'
        f'<noscript><button type="submit">Fortsätt</button></noscript></form><script>{AUTO_SUBMIT}</script>'))


# -- HTTP -----------------------------------------------------------------------------------------------------------
class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "ExempelJournal/1.0"
    server: _Server

    @property
    def sp(self) -> ServiceProvider:
        return self.server.sp

    def do_GET(self) -> None:  # noqa: N802 (http.server's name)
        path, _, query = self.path.partition("?")
        if path == "/":
            return self.protected(query)
        if path == "/saml/metadata":
            return self.send(200, self.sp.metadata(), "application/samlmetadata+xml")
        if path == "/logout":
            return self.logout()
        if path == "/logged-out":
            return self.send(200, page("Utloggad", '<h1 id="logged-out">Du är utloggad</h1>'
                                       '<p><a href="/">Logga in igen</a></p>'))
        return self.send(404, page("Finns inte", "<h1>Sidan finns inte</h1>"))

    def do_POST(self) -> None:  # noqa: N802
        path = self.path.partition("?")[0]
        if path not in ("/saml/acs", "/saml/sls"):
            return self.send(404, page("Finns inte", "<h1>Sidan finns inte</h1>"))
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_BODY:
            self.close_connection = True
            return self.send(413, page("För stort", "<h1>För stor begäran</h1>"))
        form = dict(parse_qsl(self.rfile.read(length).decode("utf-8", "replace"), keep_blank_values=True))
        return self.acs(form) if path == "/saml/acs" else self.sls(form)

    # -- the routes ---------------------------------------------------------------------------------------------
    def protected(self, query: str) -> None:
        session = self.sp.session(self.cookie())
        if session is not None and session.user is not None:
            return self.send(200, protected_page(session.user, query))
        session = self.sp.session(self.cookie(), create=True)
        assert session is not None
        try:
            url = self.sp.login_url(session, "/" + ("?" + query if query else ""))
        except ValueError as exc:  # the IdP's metadata cannot be read (yet)
            return self.send(503, page("Inloggningen är inte tillgänglig", "<h1>Inloggningen är inte tillgänglig"
                                       f'</h1><p id="reason" lang="en">{html.escape(str(exc))}</p>'))
        return self.send(302, b"", headers=[("Location", url), self.set_cookie(session.id)])

    def acs(self, form: dict[str, str]) -> None:
        session = self.sp.session(self.cookie())
        try:
            user, return_to = self.sp.consume(session, form)
        except ValueError as exc:
            self.sp.refusals.append(str(exc))
            log.warning("Response refused: %s", exc)
            return self.send(403, page("Inloggningen nekades", (
                '<h1>Inloggningen nekades</h1><p>Svaret från identitetsutfärdaren godtogs inte.</p>'
                f'<p id="reason" lang="en">{html.escape(str(exc))}</p><p><a href="/">Försök igen</a></p>')))
        session = self.sp.log_in(session, user)
        log.info("logged in: %s", user.pnr)
        return self.send(303, b"", headers=[("Location", return_to), self.set_cookie(session.id)])

    def logout(self) -> None:
        session = self.sp.session(self.cookie())
        if session is None or session.user is None:
            return self.send(303, b"", headers=[("Location", "/logged-out")])
        body = post_form(self.sp.idp_slo, "SAMLRequest", self.sp.logout_request(session), "logout")
        return self.send(200, body, headers=[self.clear_cookie(), ("Content-Security-Policy", AUTO_SUBMIT_CSP)])

    def sls(self, form: dict[str, str]) -> None:
        try:
            if "SAMLRequest" in form:  # the IdP logs the citizen out (1177's logout)
                answer = self.sp.idp_logout(form)
                body = post_form(self.sp.idp_slo_response, "SAMLResponse", answer, form.get("RelayState"))
                return self.send(200, body, headers=[self.clear_cookie(),
                                                     ("Content-Security-Policy", AUTO_SUBMIT_CSP)])
            if "SAMLResponse" in form:  # the IdP's answer to our own logout
                self.sp.logout_answered(form)
                return self.send(200, page("Utloggad", '<h1 id="logged-out">Du är utloggad</h1>'
                                           '<p><a href="/">Logga in igen</a></p>'), headers=[self.clear_cookie()])
        except (ValueError, KeyError) as exc:
            log.warning("logout message refused: %s", exc)
            return self.send(400, page("Utloggningen misslyckades", '<h1>Utloggningen kunde inte göras</h1>'
                                       f'<p id="reason" lang="en">{html.escape(str(exc))}</p>'))
        return self.send(400, page("Utloggning", "<h1>Varken SAMLRequest eller SAMLResponse</h1>"))

    # -- HTTP details ----------------------------------------------------------------------------------------------
    def cookie(self) -> str | None:
        for part in (self.headers.get("Cookie") or "").split(";"):
            name, _, value = part.strip().partition("=")
            if name == self.cookie_name and value:
                return value
        return None

    @property
    def cookie_name(self) -> str:
        return f"{COOKIE}-{self.server.server_address[1]}"

    def set_cookie(self, sid: str) -> tuple[str, str]:
        return ("Set-Cookie", f"{self.cookie_name}={sid}; Path=/; HttpOnly; SameSite=Lax")

    def clear_cookie(self) -> tuple[str, str]:
        return ("Set-Cookie", f"{self.cookie_name}=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0")

    def send(self, status: int, body: bytes, content_type: str = "text/html; charset=utf-8",
             headers: list[tuple[str, str]] | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        for name, value in headers or []:
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 (http.server's name)
        log.debug("%s %s", self.address_string(), format % args)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    sp: ServiceProvider


@dataclass
class Running:
    """A started SP: its protected page ``url``, ``metadata_url``, ``port``, state (``sp``), and ``stop()``."""

    url: str
    metadata_url: str
    port: int
    sp: ServiceProvider
    server: _Server
    thread: threading.Thread

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(5)


def start(port: int = 0, idp_metadata: str = DEFAULT_IDP_METADATA, skip: str | None = None,
          keys: Path | None = None, host: str = "127.0.0.1", base_url: str | None = None) -> Running:
    """Start the SP on ``host``:``port`` (0: a free port), trusting the IdP of ``idp_metadata`` (a URL or a file).
    ``base_url`` is where browsers reach it (default http://<host>:<port>); its entityID is
    <base_url>/saml/metadata. ValueError: the IdP metadata cannot be used, or ``skip`` is no check."""
    if skip is not None and skip not in SKIPPABLE:
        raise ValueError(f"--skip {skip}: one of {', '.join(SKIPPABLE)}")
    try:
        idp: dict | None = read_idp_metadata(idp_metadata)
    except IdpUnreachable as exc:
        log.warning("%s: read at the first login instead", exc)
        idp = None
    key_pem, cert_pem = make_keys(keys)
    server = _Server((host, port), _Handler)
    bound = server.server_address[1]
    shown = "127.0.0.1" if host in ("", "0.0.0.0") else host
    base = (base_url or f"http://{shown}:{bound}").rstrip("/")
    try:
        server.sp = ServiceProvider(base, idp_metadata, key_pem, cert_pem, skip, idp)
    except Exception:
        server.server_close()
        raise
    thread = threading.Thread(target=server.serve_forever, args=(0.1,), name="sso-service-http", daemon=True)
    thread.start()
    return Running(f"{base}/", f"{base}/saml/metadata", bound, server.sp, server, thread)


def register(platform_url: str, metadata: bytes, environment: str = "test", system_id: str | None = None) -> str:
    """Register the SP's metadata at the platform's admin API (loopback only); the answer's text."""
    query = urlencode({"environment": environment, **({"system_id": system_id} if system_id else {})})
    request = urllib.request.Request(f"{platform_url.rstrip('/')}/admin/sso/sps?{query}", data=metadata,
                                     method="POST", headers={"Content-Type": "application/samlmetadata+xml"})
    with urllib.request.urlopen(request, timeout=FETCH_TIMEOUT_S) as answer:  # noqa: S310
        return answer.read().decode()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=f"{NAME}: a SAML 2.0 service provider on python3-saml, for the "
                                                 "platform's SSO stand-in (or any IdP with HTTP-POST logout)")
    parser.add_argument("--port", type=int, default=DEFAULT_PORT, help=f"port to listen on (default {DEFAULT_PORT})")
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    parser.add_argument("--base-url", help="where browsers reach it (default http://HOST:PORT)")
    parser.add_argument("--idp-metadata", default=DEFAULT_IDP_METADATA,
                        help=f"the IdP's metadata, a URL or a file (default {DEFAULT_IDP_METADATA})")
    parser.add_argument("--keys", type=Path, help="a folder for the SP's key and certificate (sp.key, sp.crt): "
                                                  "kept over restarts; default: new ones at every start")
    parser.add_argument("--register", action="store_true",
                        help="register the SP's metadata at the platform the IdP metadata came from (admin API)")
    parser.add_argument("--system-id", default="SE2321000016-7XQA",
                        help="with --register: the 1177 system-id whose ssoLink leads here")
    parser.add_argument("--skip", choices=SKIPPABLE, help="skip this one validation of a Response (a broken variant)")
    parser.add_argument("-v", "--verbose", action="store_true", help="log every HTTP request")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO,
                        format="%(asctime)s %(levelname)s %(message)s")
    try:
        running = start(args.port, args.idp_metadata, args.skip, args.keys, args.host, args.base_url)
    except (OSError, ValueError) as exc:
        print(f"sso_service: {exc}")
        return 2
    print(f"{NAME}{' SKIPS ' + args.skip.upper() + ' CHECK' if args.skip else ''}: protected page {running.url}, "
          f"metadata {running.metadata_url}; IdP metadata {args.idp_metadata}. Ctrl-C stops it.", flush=True)
    if args.register:
        if not args.idp_metadata.startswith(("http://", "https://")):
            print("sso_service: --register needs --idp-metadata as the platform's URL")
        else:
            parts = urlsplit(args.idp_metadata)
            try:
                register(f"{parts.scheme}://{parts.netloc}", running.sp.metadata(), system_id=args.system_id)
                print(f"registered at {parts.netloc} for test, system-id {args.system_id}", flush=True)
            except OSError as exc:
                print(f"sso_service: registering at {parts.netloc} failed: {exc}")
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        while not stop.wait(0.5):
            pass
    except KeyboardInterrupt:
        pass
    finally:
        running.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

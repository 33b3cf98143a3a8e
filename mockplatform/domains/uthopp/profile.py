"""The "uthopp" profile: how a service provider (an external system 1177 links to) behaves in SAML single
sign-on with 1177's IdP, judged from what the IdP stand-in observed of each message it got, and from what the
probe saw the SP do with each Response. With the "Uthopp (SSO)" test-case catalogue.

The catalogue below is the one place where rule ids, severities, titles and sources are written. The checks
themselves are made where the message is read (``idp``): the same check decides whether the stand-in answers,
and is journaled as an observation that the rules here turn into findings. Decisions where the sources are
silent: UTH-SIGALG (SHA-1) and UTH-RELAYSTATE (over 80 bytes) are warnings, as SAML says SHOULD; a request the
IdP refuses with a SAML status (NameIDPolicy, RequestedAuthnContext) is an error of the request.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from ...findings import Severity
from ...journal import Exchange
from ...rules import Hit, Profile, RuleInfo
from ...rules.base import JOURNAL, REQUEST, JournalState, RequestView, RuleContext, _seconds
from .cases import CASES, CATALOGUE_NAME
from .names import PROFILE_ID, PROFILE_NAME, SAML_CONTRACTS

AUTHN, LOGOUT, LOGOUT_TO_SP, LOGOUT_ANSWER = "AuthnRequest", "LogoutRequest", "LogoutRequestToSp", "LogoutResponse"
LOGOUT_ANSWER_TO_SP = "LogoutResponseToSp"  # the IdP's answer to an SP's own logout: journaled, judged by no rule
VALID_RESPONSE, BROKEN_RESPONSE, AFTER_LOGOUT_CHECK = "ValidResponseToSp", "BrokenResponseToSp", "AfterLogout"
REACTIONS = (VALID_RESPONSE, BROKEN_RESPONSE)
OPERATIONS = {"AuthnRequest": AUTHN, "LogoutRequest": LOGOUT, "LogoutRequest to SP": LOGOUT_TO_SP,
              "LogoutResponse": LOGOUT_ANSWER, "After logout": AFTER_LOGOUT_CHECK,
              "LogoutResponse to SP": LOGOUT_ANSWER_TO_SP}
BINDINGS = "SAML 2.0 bindings (HTTP-Redirect 3.4, HTTP-POST 3.5)"
CORE = "SAML 2.0 core"
PROFILES = "SAML 2.0 profiles (Web Browser SSO 4.1, Single Logout 4.4)"
REFERENCE = "1177 uthopp: IdP med HTTP-Redirect in, HTTP-POST ut; SLO med HTTP-POST"
ERR, WARN = Severity.ERROR, Severity.WARNING


@dataclass
class SsoView(RequestView):
    """An SSO exchange: the stand-in's observations of it (without the message bodies)."""

    observations: dict[str, Any] = field(default_factory=dict)

    @property
    def kind(self) -> str | None:
        return self.observations.get("kind")

    def failed_checks(self, rule: str) -> list[list[Any]]:
        return [c for c in self.observations.get("checks", ()) if c[0] == rule and not c[1]]

    def outcome(self) -> str | None:
        obs = self.observations
        if self.operation in REACTIONS:
            return f"{obs.get('kind')}: {'släppt in / let in' if obs.get('let_in') else 'avvisat / refused'}"
        if self.operation == AFTER_LOGOUT_CHECK:
            return ("fortfarande inloggad / still logged in" if obs.get("let_in")
                    else "utloggad, ny inloggning krävs / logged out, a new login is asked for")
        return obs.get("answer")


def read_sso_view(exchange: Exchange) -> SsoView:
    """The one reader of an SSO exchange for the rules; any other exchange is not judged by this profile."""
    view = SsoView(exchange, None, None, None, judged=exchange.contract in SAML_CONTRACTS, t=_seconds(exchange.time),
                   body_sha256=hashlib.sha256(exchange.request_body or b"").hexdigest())
    if not view.judged:
        return view
    try:
        obs = json.loads(exchange.observations or "{}")
    except ValueError:
        obs = {}
    view.observations = {k: v for k, v in obs.items() if k not in ("xml", "response_xml", "raw")}
    message = obs.get("message", "")
    view.operation = (OPERATIONS.get(message) if message != "Response to SP" else
                      VALID_RESPONSE if obs.get("kind") == "valid" else BROKEN_RESPONSE)
    if view.operation is None:
        view.parse_error = "no observations of the SSO stand-in for this exchange"
    return view


def _checked(rule: str):  # noqa: ANN202
    """A rule that reports the stand-in's failed check of this id."""
    def rule_fn(view: SsoView, ctx: RuleContext) -> Iterator[Hit]:
        for _, _, en, sv, hint in view.failed_checks(rule):
            yield Hit(en, sv, hint=hint or None)
    return rule_fn


def _reaction(valid: bool):  # noqa: ANN202
    """UTH-ACCEPTS-VALID / UTH-REFUSES-BROKEN: what the SP did with a Response the probe posted to it."""
    def rule_fn(view: SsoView, ctx: RuleContext) -> Iterator[Hit]:
        obs = view.observations
        kind, let_in = obs.get("kind"), bool(obs.get("let_in"))
        shown = obs.get("detail", "")
        if valid and not let_in:
            yield Hit(f"a valid Response did not let the citizen in: {shown}",
                      f"ett giltigt Response släppte inte in invånaren: {shown}",
                      hint="accept a Response signed with the key in the IdP metadata, for your entityID and ACS, "
                           "answering your AuthnRequest")
        elif not valid and let_in:
            yield Hit(f"the service provider let the citizen in with a broken Response ({kind}: {obs.get('what_en')})",
                      f"tjänsteleverantören släppte in invånaren med ett felaktigt Response ({kind}: "
                      f"{obs.get('what_sv')})", hint=HINTS.get(kind, ""))
    return rule_fn


HINTS = {
    "bad-signature": "verify the signature over the assertion (or the Response) with the IdP metadata's certificate",
    "unsigned-assertion": "refuse a Response in which neither the assertion nor the Response is signed",
    "wrong-audience": "check that the AudienceRestriction names your entityID",
    "wrong-recipient": "check SubjectConfirmationData's Recipient against your ACS URL",
    "wrong-destination": "check the Response's Destination against your ACS URL",
    "expired": "check NotOnOrAfter (Conditions and SubjectConfirmationData) with a small clock skew",
    "not-yet-valid": "check Conditions' NotBefore with a small clock skew",
    "replayed": "remember the IDs of the assertions you accepted until they expire, and refuse one seen before",
    "unknown-in-response-to": "keep the ID of each AuthnRequest you sent and refuse a Response whose InResponseTo "
                              "is not one of them",
}


def _logout_ends(view: SsoView, ctx: RuleContext) -> Iterator[Hit]:
    """UTH-LOGOUT-ENDS: after a logout (the SP's own, or 1177's) the protected page asks for a new login."""
    obs = view.observations
    if obs.get("let_in"):
        yield Hit(f"{obs.get('logout')}: {obs.get('detail')}", f"{obs.get('logout')}: "
                  "den skyddade sidan visades fortfarande efter utloggningen",
                  hint="end the local session when the LogoutRequest (or your own logout) comes, before answering")


class LogoutAnswered(JournalState):
    """UTH-LOGOUT-ANSWERED: every LogoutRequest the IdP sent an SP (the citizen logged out at 1177) is answered
    with a LogoutResponse to it before the judged period ends."""

    def __init__(self, ctx: RuleContext) -> None:
        super().__init__(ctx)
        self.sent: dict[str, int] = {}

    def feed(self, view: SsoView) -> Iterable[tuple[int, Hit]]:
        if view.operation == LOGOUT_TO_SP:
            self.sent[str(view.observations.get("logout_id"))] = view.exchange.id or 0
        elif view.operation == LOGOUT_ANSWER:
            self.sent.pop(str(view.observations.get("in_response_to")), None)
        return ()

    def finish(self) -> Iterable[tuple[int, Hit]]:
        for logout_id, exchange_id in self.sent.items():
            yield exchange_id, Hit(f"the LogoutRequest {logout_id} was never answered with a LogoutResponse",
                                   f"LogoutRequest {logout_id} besvarades aldrig med ett LogoutResponse",
                                   hint="end the local session and post a LogoutResponse (InResponseTo the request's "
                                        "ID) to the IdP's SingleLogoutService")


SP_MESSAGES = (AUTHN, LOGOUT, LOGOUT_ANSWER)
CATALOGUE: tuple[tuple[RuleInfo, Any], ...] = (
    (RuleInfo("UTH-READABLE", ERR, "The SAML message decodes from its binding and is a valid SAML 2.0 message "
              "(Version, ID, IssueInstant, Destination)", "SAML-meddelandet avkodas från sin bindning och är ett "
              "giltigt SAML 2.0-meddelande (Version, ID, IssueInstant, Destination)", f"{CORE} 3.2; {BINDINGS}",
              REQUEST, SP_MESSAGES), _checked("UTH-READABLE")),
    (RuleInfo("UTH-BINDING", ERR, "The AuthnRequest comes with HTTP-Redirect", "AuthnRequest kommer med HTTP-Redirect",
              REFERENCE, REQUEST, (AUTHN,)), _checked("UTH-BINDING")),
    (RuleInfo("UTH-ISSUER", ERR, "The Issuer is the entityID of a service provider registered for this environment",
              "Issuer är entityID för en tjänsteleverantör registrerad för miljön", f"{PROFILES} 4.1.4.1; {REFERENCE}",
              REQUEST, SP_MESSAGES), _checked("UTH-ISSUER")),
    (RuleInfo("UTH-ACS", ERR, "The ACS asked for is in the SP's metadata, with HTTP-POST",
              "Den begärda ACS:en finns i tjänsteleverantörens metadata, med HTTP-POST", f"{PROFILES} 4.1.4.1",
              REQUEST, (AUTHN,)), _checked("UTH-ACS")),
    (RuleInfo("UTH-SIGNATURE", ERR, "Messages are signed where the metadata or SAML asks it, and every signature "
              "verifies with the metadata's certificate", "Meddelanden är signerade där metadata eller SAML kräver "
              "det, och varje signatur stämmer med certifikatet i metadata", f"{BINDINGS}; {PROFILES} 4.4.3",
              REQUEST, SP_MESSAGES), _checked("UTH-SIGNATURE")),
    (RuleInfo("UTH-SIGALG", WARN, "Signatures use RSA-SHA256 or stronger, not SHA-1",
              "Signaturer använder RSA-SHA256 eller starkare, inte SHA-1", "XML-DSig; SAML 2.0 bindings",
              REQUEST, SP_MESSAGES), _checked("UTH-SIGALG")),
    (RuleInfo("UTH-REQUEST-ID", ERR, "Every AuthnRequest has a new ID", "Varje AuthnRequest har ett nytt ID",
              f"{CORE} 1.3.4", REQUEST, (AUTHN,)), _checked("UTH-REQUEST-ID")),
    (RuleInfo("UTH-RELAYSTATE", WARN, "RelayState is at most 80 bytes", "RelayState är högst 80 byte",
              f"{BINDINGS} 3.4.3", REQUEST, (AUTHN,)), _checked("UTH-RELAYSTATE")),
    (RuleInfo("UTH-NAMEIDPOLICY", ERR, "NameIDPolicy asks for a format the IdP issues (transient, persistent)",
              "NameIDPolicy begär ett format som IdP:n ger ut (transient, persistent)", f"{CORE} 3.4.1.1",
              REQUEST, (AUTHN,)), _checked("UTH-NAMEIDPOLICY")),
    (RuleInfo("UTH-AUTHNCONTEXT", ERR, "RequestedAuthnContext can be met by the IdP (Swedish e-ID, "
              "uncertified-loa3)", "RequestedAuthnContext kan uppfyllas av IdP:n (svensk e-legitimation, "
              "uncertified-loa3)", f"{CORE} 3.3.2.2.1; {REFERENCE}", REQUEST, (AUTHN,)), _checked("UTH-AUTHNCONTEXT")),
    (RuleInfo("UTH-ACCEPTS-VALID", ERR, "A valid Response lets the citizen in",
              "Ett giltigt Response släpper in invånaren", f"{PROFILES} 4.1.4.3", REQUEST, (VALID_RESPONSE,)),
     _reaction(True)),
    (RuleInfo("UTH-REFUSES-BROKEN", ERR, "A broken Response (signature, audience, recipient, destination, time, "
              "replay, InResponseTo) does not let the citizen in", "Ett felaktigt Response (signatur, audience, "
              "mottagare, destination, tid, återspelning, InResponseTo) släpper inte in invånaren",
              f"{PROFILES} 4.1.4.3, 4.1.4.5; {CORE} 2.5, 5", REQUEST, (BROKEN_RESPONSE,)), _reaction(False)),
    (RuleInfo("UTH-LOGOUT-ENDS", ERR, "After a logout the protected page asks for a new login",
              "Efter en utloggning kräver den skyddade sidan en ny inloggning", f"{PROFILES} 4.4", REQUEST,
              (AFTER_LOGOUT_CHECK,)), _logout_ends),
    (RuleInfo("UTH-LOGOUT-BINDING", ERR, "Single logout messages come with HTTP-POST",
              "Utloggningsmeddelanden kommer med HTTP-POST", REFERENCE, REQUEST, (LOGOUT, LOGOUT_ANSWER)),
     _checked("UTH-LOGOUT-BINDING")),
    (RuleInfo("UTH-LOGOUT-SESSION", ERR, "A LogoutRequest names the NameID and SessionIndex of the citizen's session",
              "En LogoutRequest anger NameID och SessionIndex för invånarens session", f"{PROFILES} 4.4.4.1",
              REQUEST, (LOGOUT,)), _checked("UTH-LOGOUT-SESSION")),
    (RuleInfo("UTH-LOGOUT-ANSWER", ERR, "A LogoutResponse answers the IdP's LogoutRequest, with status Success",
              "Ett LogoutResponse besvarar IdP:ns LogoutRequest, med status Success", f"{PROFILES} 4.4.4.2",
              REQUEST, (LOGOUT_ANSWER,)), _checked("UTH-LOGOUT-ANSWER")),
    (RuleInfo("UTH-LOGOUT-ANSWERED", ERR, "Every LogoutRequest from the IdP is answered",
              "Varje LogoutRequest från IdP:n besvaras", f"{PROFILES} 4.4.3", JOURNAL, (LOGOUT_TO_SP, LOGOUT_ANSWER)),
     LogoutAnswered),
)


def profile() -> Profile:
    """A fresh uthopp profile."""
    return Profile(PROFILE_ID, PROFILE_NAME, CATALOGUE, read=read_sso_view, cases=CASES, subject="service-provider",
                   owns_contract=lambda namespace: namespace in SAML_CONTRACTS, catalogue=CATALOGUE_NAME)


__all__ = ["CATALOGUE", "SsoView", "profile", "read_sso_view"]

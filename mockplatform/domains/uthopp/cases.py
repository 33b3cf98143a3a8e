"""The "Uthopp (SSO)" catalogue: what a service provider reached by SSO from 1177 demonstrates (see
``rules.cases`` for how a case is judged). The first cases are shown by any login and logout through the
stand-in; the cases of broken Responses only by the probe (``mockplatform probe --profile uthopp``), which is
the one that sees what the SP did with each Response."""

from __future__ import annotations

from ...rules.cases import TestCase, select
from .saml import KINDS, VALID

CATALOGUE_NAME = "Uthopp (SSO)"
PROBE = ("mockplatform probe --profile uthopp --sp-metadata <your metadata> --start <a protected page>",
         "kör proben: mockplatform probe --profile uthopp --sp-metadata <er metadata> --start <en skyddad sida>")


def _op(name: str):  # noqa: ANN202
    return lambda view: view.operation == name


def _reaction(kind: str):  # noqa: ANN202
    return lambda view: view.operation in ("ValidResponseToSp", "BrokenResponseToSp") and view.kind == kind


def _after_logout(which: str):  # noqa: ANN202
    return lambda view: view.operation == "AfterLogout" and view.observations.get("logout") == which


_BASE = [
    TestCase("TC-UTH-01", "Inloggning startas enligt metadata", "Login is started as the metadata says",
             "The SP sends an AuthnRequest with HTTP-Redirect as its registered entityID, for an ACS of its metadata, "
             "signed if it says so, that the IdP can answer",
             "Open a protected page of the service provider (or an SSO link in the inbox preview) with the "
             "platform's IdP metadata configured in the SP", select(_op("AuthnRequest")),
             "Tjänsteleverantören skickar en AuthnRequest med HTTP-Redirect som sitt registrerade entityID, för en "
             "ACS i sin metadata, signerad om metadata säger det, och som IdP:n kan besvara",
             "Öppna en skyddad sida hos tjänsteleverantören (eller en SSO-länk i inkorgens förhandsvisning) med "
             "plattformens IdP-metadata inlagd i tjänsten"),
    TestCase("TC-UTH-02", "Invånaren släpps in med ett giltigt svar", "A valid Response lets the citizen in",
             "With a valid, signed Response the service provider shows the protected page without a new login",
             PROBE[0], select(_reaction(VALID)),
             "Med ett giltigt, signerat Response visar tjänsteleverantören den skyddade sidan utan ny inloggning",
             PROBE[1]),
]
_BROKEN = [
    TestCase(f"TC-UTH-{i:02d}", f"Avvisar: {k.sv}", f"Refuses: {k.en}",
             f"The service provider does not let the citizen in with a Response where {k.en}", PROBE[0],
             select(_reaction(k.name)),
             f"Tjänsteleverantören släpper inte in invånaren med ett Response där {k.sv}", PROBE[1])
    for i, k in enumerate((k for k in KINDS.values() if k.name != VALID), start=3)
]
_LOGOUT = [
    TestCase(f"TC-UTH-{len(_BROKEN) + 3:02d}", "Utloggning från tjänsten", "Logout started at the service provider",
             "The SP posts a signed LogoutRequest for the citizen's session to the IdP (HTTP-POST)",
             "Log out in the service provider after a login through the stand-in (the probe: --logout URL)",
             select(lambda v: v.operation == "LogoutRequest" or _after_logout("SP logout")(v)),
             "Tjänsteleverantören postar en signerad LogoutRequest för invånarens session till IdP:n (HTTP-POST)",
             "Logga ut i tjänsten efter en inloggning genom ställföreträdaren"),
    TestCase(f"TC-UTH-{len(_BROKEN) + 4:02d}", "Utloggning från 1177", "Logout started at 1177",
             "The SP answers the IdP's LogoutRequest with a signed LogoutResponse (HTTP-POST), status Success",
             "After a login, log out at the stand-in: /sso/test/logout (the inbox preview's logout)",
             select(lambda v: v.operation in ("LogoutResponse", "LogoutRequestToSp")
                    or _after_logout("1177 logout")(v)),
             "Tjänsteleverantören besvarar IdP:ns LogoutRequest med ett signerat LogoutResponse (HTTP-POST), "
             "status Success",
             "Efter en inloggning, logga ut hos ställföreträdaren: /sso/test/logout (inkorgens utloggning)"),
]
CASES = (*_BASE, *_BROKEN, *_LOGOUT)

__all__ = ["CASES", "CATALOGUE_NAME"]

"""The SSO stand-in's names: SAML's namespaces, bindings and statuses, the Swedish e-ID conventions the
stand-in follows, and what its journal rows are called. One place, so no module spells them twice."""

from __future__ import annotations

DOMAIN_NAME = "uthopp"
PROFILE_ID = "uthopp"
PROFILE_NAME = "Uthopp (SAML 2.0 single sign-on från 1177)"
PREFIX = "/sso"  # the stand-in's paths: /sso/<environment>/...
ENVIRONMENTS = ("test", "production")  # test and "production-like" metadata, kept apart as 1177 does

SAMLP = "urn:oasis:names:tc:SAML:2.0:protocol"
SAML = "urn:oasis:names:tc:SAML:2.0:assertion"
MD = "urn:oasis:names:tc:SAML:2.0:metadata"
DS = "http://www.w3.org/2000/09/xmldsig#"
XSI = "http://www.w3.org/2001/XMLSchema-instance"
XS = "http://www.w3.org/2001/XMLSchema"

REDIRECT = "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect"
POST = "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST"
BINDING_NAMES = {REDIRECT: "HTTP-Redirect", POST: "HTTP-POST"}

TRANSIENT = "urn:oasis:names:tc:SAML:2.0:nameid-format:transient"
PERSISTENT = "urn:oasis:names:tc:SAML:2.0:nameid-format:persistent"
UNSPECIFIED = "urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified"
NAMEID_FORMATS = (TRANSIENT, PERSISTENT)  # what the stand-in issues (unspecified: transient)

STATUS_SUCCESS = "urn:oasis:names:tc:SAML:2.0:status:Success"
STATUS_REQUESTER = "urn:oasis:names:tc:SAML:2.0:status:Requester"
STATUS_RESPONDER = "urn:oasis:names:tc:SAML:2.0:status:Responder"
STATUS_NO_AUTHN_CONTEXT = "urn:oasis:names:tc:SAML:2.0:status:NoAuthnContext"
STATUS_INVALID_NAMEID_POLICY = "urn:oasis:names:tc:SAML:2.0:status:InvalidNameIDPolicy"
STATUS_REQUEST_DENIED = "urn:oasis:names:tc:SAML:2.0:status:RequestDenied"
STATUS_NO_PASSIVE = "urn:oasis:names:tc:SAML:2.0:status:NoPassive"
STATUS_VERSION_MISMATCH = "urn:oasis:names:tc:SAML:2.0:status:VersionMismatch"
BEARER = "urn:oasis:names:tc:SAML:2.0:cm:bearer"
ATTRNAME_URI = "urn:oasis:names:tc:SAML:2.0:attrname-format:uri"
LOGOUT_USER = "urn:oasis:names:tc:SAML:2.0:logout:user"

# The reference: the default authentication context for Swedish e-ID. Ranks for RequestedAuthnContext's
# comparisons (SAML core 3.3.2.2.1), from the Sweden Connect LoA URIs.
LOA3 = "http://id.swedenconnect.se/loa/1.0/uncertified-loa3"
LOA_RANKS = {
    "http://id.swedenconnect.se/loa/1.0/loa1": 1,
    "http://id.swedenconnect.se/loa/1.0/uncertified-loa1": 1,
    "http://id.swedenconnect.se/loa/1.0/loa2": 2,
    "http://id.swedenconnect.se/loa/1.0/uncertified-loa2": 2,
    "http://id.swedenconnect.se/loa/1.0/loa3": 3,
    LOA3: 3,
    "http://id.swedenconnect.se/loa/1.0/loa4": 4,
}

# Attributes (Sweden Connect's names, as the reference gives them): the stand-in's convention.
PERSONAL_IDENTITY_NUMBER = "urn:oid:1.2.752.29.4.13"
GIVEN_NAME = "urn:oid:2.5.4.42"
SURNAME = "urn:oid:2.5.4.4"
DISPLAY_NAME = "urn:oid:2.16.840.1.113730.3.1.241"
ATTRIBUTE_FRIENDLY = {PERSONAL_IDENTITY_NUMBER: "personalIdentityNumber", GIVEN_NAME: "givenName", SURNAME: "sn",
                      DISPLAY_NAME: "displayName"}

# The journal's "contract" of an SSO exchange: the SAML message it carried (this stand-in's convention).
AUTHN_REQUEST = "saml2:AuthnRequest"
LOGOUT_REQUEST = "saml2:LogoutRequest"  # from the service provider
LOGOUT_RESPONSE = "saml2:LogoutResponse"  # from the service provider, to the stand-in's LogoutRequest
SP_REACTION = "saml2:Response"  # the probe's browser posting a Response to the SP, and what the SP did
AFTER_LOGOUT = "uthopp:after-logout"  # the probe's browser opening the SP's protected page after a logout
SAML_CONTRACTS = (AUTHN_REQUEST, LOGOUT_REQUEST, LOGOUT_RESPONSE, SP_REACTION, AFTER_LOGOUT)

COOKIE_SESSION = "mockplatform-sso"  # the stand-in's own session (its id), path /sso

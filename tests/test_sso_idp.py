"""The SSO stand-in (domain uthopp) against OneLogin's python3-saml as the service provider, in process:
metadata and keys, single sign-on, the policies it refuses with a SAML status, the broken Responses it can
send, single logout both ways, what it journals, and what the uthopp profile makes of it."""

from __future__ import annotations

import base64
import html
import json
import re
import zlib
from pathlib import Path
from urllib.parse import parse_qsl, urlencode, urlsplit

import pytest

pytest.importorskip("onelogin.saml2.auth")
from onelogin.saml2.auth import OneLogin_Saml2_Auth  # noqa: E402
from onelogin.saml2.response import OneLogin_Saml2_Response  # noqa: E402
from onelogin.saml2.settings import OneLogin_Saml2_Settings  # noqa: E402
from onelogin.saml2.utils import OneLogin_Saml2_Utils  # noqa: E402

from mockplatform import http_routes  # noqa: E402
from mockplatform.app import Application, Config  # noqa: E402
from mockplatform.domains.uthopp import keys, saml  # noqa: E402
from mockplatform.messages import Request  # noqa: E402

from .conftest import stored

HOST = "127.0.0.1:8080"
IDP = f"http://{HOST}/sso/test"
SP_ID = "http://sp.example.invalid/saml/metadata"
ACS = "http://sp.example.invalid/saml/acs"
SLS = "http://sp.example.invalid/saml/sls"
PNR = "191212121212"
POST_BINDING = "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST"
SP_KEY = keys.generate("sp")  # one key for the module: RSA 3072 takes a moment to make


def call(app, method, url, body=b"", cookies=None):
    parts = urlsplit(url)
    headers = [("Host", HOST)]
    if cookies:
        headers.append(("Cookie", "; ".join(f"{k}={v}" for k, v in cookies.items())))
    if body:
        headers.append(("Content-Type", "application/x-www-form-urlencoded"))
    query = {k.lower(): v for k, v in parse_qsl(parts.query, keep_blank_values=True)}
    return http_routes.handle(app, Request(method, parts.path, headers, body, query, parts.query, "127.0.0.1:5000"))


def idp_cert(app) -> str:
    body = call(app, "GET", f"{IDP}/metadata").body
    return re.search(rb"<ds:X509Certificate>(.*?)</ds:X509Certificate>", body).group(1).decode()


def settings(app, signed=True, **security) -> dict:
    return {"strict": True, "debug": True,
            "sp": {"entityId": SP_ID, "assertionConsumerService": {"url": ACS, "binding": POST_BINDING},
                   "singleLogoutService": {"url": SLS, "binding": POST_BINDING},
                   "NameIDFormat": "urn:oasis:names:tc:SAML:2.0:nameid-format:transient",
                   "x509cert": SP_KEY.cert_base64, "privateKey": SP_KEY.key_pem},
            "idp": {"entityId": IDP,
                    "singleSignOnService": {"url": f"{IDP}/redirect",
                                            "binding": "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect"},
                    "singleLogoutService": {"url": f"{IDP}/slo", "binding": POST_BINDING},
                    "x509cert": idp_cert(app)},
            "security": {"authnRequestsSigned": signed, "wantAssertionsSigned": True,
                         "signatureAlgorithm": "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256",
                         "digestAlgorithm": "http://www.w3.org/2001/04/xmlenc#sha256",
                         "requestedAuthnContext": ["http://id.swedenconnect.se/loa/1.0/uncertified-loa3"],
                         **security}}


def sp_request(path="/", post=None) -> dict:
    return {"https": "off", "http_host": "sp.example.invalid", "script_name": path,
            "get_data": {}, "post_data": post or {}}


@pytest.fixture
def app(tmp_path):
    application = Application(Config(**stored(tmp_path / "journal.sqlite")))
    yield application
    application.close()


@pytest.fixture
def sp(app) -> dict:
    """The SP registered (test environment) from its own metadata, through the admin API."""
    conf = settings(app)
    metadata = OneLogin_Saml2_Settings(conf).get_sp_metadata()
    answer = call(app, "POST", "http://127.0.0.1:8080/admin/sso/sps?environment=test", metadata)
    assert answer.status == 201, answer.body
    return conf


def login_url(conf, **kwargs) -> tuple[str, str]:
    auth = OneLogin_Saml2_Auth(sp_request(), conf)
    url = auth.login(return_to="/page", **kwargs)
    return url, auth.get_last_request_id()


def form_of(response) -> dict[str, str]:
    fields = dict(re.findall(rb'name="(\w+)" value="([^"]*)"', response.body))
    return {k.decode(): html.unescape(v.decode()) for k, v in fields.items()}


def consume(conf, response, request_id):
    """What the SP makes of the stand-in's answer: (errors, attributes)."""
    fields = form_of(response)
    auth = OneLogin_Saml2_Auth(sp_request("/saml/acs", {"SAMLResponse": fields["SAMLResponse"]}), conf)
    auth.process_response(request_id=request_id)
    return auth.get_errors(), auth.get_last_error_reason(), auth.get_attributes()


def checks_of(exchange) -> dict[str, bool]:
    return {c[0]: c[1] for c in json.loads(exchange.observations)["checks"]}


def redirect_query(xml: bytes, relay: str | None = None, sign_with=None) -> str:
    deflater = zlib.compressobj(9, zlib.DEFLATED, -15)
    value = base64.b64encode(deflater.compress(xml) + deflater.flush()).decode()
    params = [("SAMLRequest", value)] + ([("RelayState", relay)] if relay else [])
    if sign_with is None:
        return urlencode(params)
    alg = "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"
    params.append(("SigAlg", alg))
    signed = urlencode(params).encode()
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import padding

    signature = sign_with.private_key.sign(signed, padding.PKCS1v15(), hashes.SHA256())
    return urlencode([*params, ("Signature", base64.b64encode(signature).decode())])


def authn_request(request_id="_r1", acs=ACS, issuer=SP_ID, extra="") -> bytes:
    return (f'<samlp:AuthnRequest xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" '
            f'xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="{request_id}" Version="2.0" '
            f'IssueInstant="{saml.instant(saml.now())}" Destination="{IDP}/redirect" '
            f'AssertionConsumerServiceURL="{acs}" ProtocolBinding="{POST_BINDING}">'
            f'<saml:Issuer>{issuer}</saml:Issuer>{extra}</samlp:AuthnRequest>').encode()


# -- metadata and keys ---------------------------------------------------------------------------------------


def test_metadata_has_signing_certificate_redirect_sso_and_post_slo(app):
    answer = call(app, "GET", f"{IDP}/metadata")
    assert answer.status == 200
    body = answer.body.decode()
    assert f'entityID="{IDP}"' in body
    assert 'Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect" Location="' + IDP + '/redirect"' in body
    assert 'Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST" Location="' + IDP + '/slo"' in body
    assert 'use="signing"' in body


def test_test_and_production_metadata_have_their_own_keys_kept_over_restart_and_reset(tmp_path):
    journal = tmp_path / "j.sqlite"
    first = Application(Config(**stored(journal)))
    test_cert = idp_cert(first)
    prod = call(first, "GET", "http://127.0.0.1:8080/sso/production/metadata").body
    assert test_cert.encode() not in prod
    first.reset()
    assert idp_cert(first) == test_cert
    first.close()
    again = Application(Config(**stored(journal)))
    assert idp_cert(again) == test_cert
    again.close()


# -- single sign-on ---------------------------------------------------------------------------------------------


def test_signed_request_of_a_logged_in_citizen_gets_a_response_the_sp_accepts(app, sp):
    url, request_id = login_url(sp)
    answer = call(app, "GET", url, cookies={"mockplatform-citizen": PNR})
    assert answer.status == 200
    assert "script-src 'sha256-" in dict(answer.headers)["Content-Security-Policy"]
    errors, reason, attributes = consume(sp, answer, request_id)
    assert errors == [], reason
    assert attributes["urn:oid:1.2.752.29.4.13"] == [PNR]
    assert attributes["urn:oid:2.16.840.1.113730.3.1.241"] == ["Tolvan Tolvansson"]
    assert b"uncertified-loa3" in base64.b64decode(form_of(answer)["SAMLResponse"])
    exchange = app.journal.exchanges()[-1]
    assert (exchange.contract, exchange.consumer, exchange.logical_address) == ("saml2:AuthnRequest", SP_ID, "test")
    assert exchange.request_body.startswith(b"<samlp:AuthnRequest")  # the request as decoded from its binding
    assert all(checks_of(exchange).values()), exchange.observations
    assert json.loads(exchange.observations)["answer"] == "Response"


def test_without_a_logged_in_citizen_the_login_page_then_the_response(app, sp):
    url, request_id = login_url(sp)
    page = call(app, "GET", url)
    assert page.status == 200 and b'name="citizen"' in page.body
    assert app.journal.count() == 0  # journaled once answered
    action = html.unescape(re.search(rb'action="([^"]+)"', page.body).group(1).decode())
    chosen = call(app, "POST", f"http://{HOST}{action}", b"citizen=" + PNR.encode())
    assert chosen.status == 303
    cookie = dict(chosen.headers)["Set-Cookie"]
    assert cookie.startswith(f"mockplatform-citizen={PNR}")
    answer = call(app, "GET", f"http://{HOST}{dict(chosen.headers)['Location']}", cookies={"mockplatform-citizen": PNR})
    assert consume(sp, answer, request_id)[0] == []


def test_unknown_issuer_is_refused_and_journaled(app, sp):
    answer = call(app, "GET", f"{IDP}/redirect?" + redirect_query(authn_request(issuer="https://nobody.invalid")),
                  cookies={"mockplatform-citizen": PNR})
    assert answer.status == 403 and b"nobody.invalid" in answer.body
    exchange = app.journal.exchanges()[-1]
    assert checks_of(exchange)["UTH-ISSUER"] is False


def test_sp_registered_for_test_is_refused_by_the_production_idp(app, sp):
    url, _ = login_url(sp)
    production = url.replace("/sso/test/", "/sso/production/")
    answer = call(app, "GET", production, cookies={"mockplatform-citizen": PNR})
    assert answer.status == 403
    assert b"registered only for test" in answer.body


def test_unsigned_request_from_an_sp_that_promises_signing_is_refused(app, sp):
    answer = call(app, "GET", f"{IDP}/redirect?" + redirect_query(authn_request()),
                  cookies={"mockplatform-citizen": PNR})
    assert answer.status == 403
    checks = checks_of(app.journal.exchanges()[-1])
    assert checks["UTH-SIGNATURE"] is False


def test_request_signed_with_another_key_is_refused(app, sp):
    other = keys.generate("other")
    answer = call(app, "GET", f"{IDP}/redirect?" + redirect_query(authn_request(), sign_with=other),
                  cookies={"mockplatform-citizen": PNR})
    assert answer.status == 403
    exchange = app.journal.exchanges()[-1]
    failed = [c for c in json.loads(exchange.observations)["checks"] if not c[1]]
    assert failed[0][0] == "UTH-SIGNATURE" and "does not verify" in failed[0][2]


def test_acs_not_in_the_metadata_is_refused(app, sp):
    answer = call(app, "GET", f"{IDP}/redirect?" + redirect_query(authn_request(acs="https://evil.invalid/acs"),
                                                                     sign_with=SP_KEY),
                  cookies={"mockplatform-citizen": PNR})
    assert answer.status == 403 and b"evil.invalid" not in answer.body.split(b"<form")[0][:0]
    assert checks_of(app.journal.exchanges()[-1])["UTH-ACS"] is False


def test_a_request_id_used_twice_is_a_finding(app, sp):
    query = redirect_query(authn_request("_same"), sign_with=SP_KEY)
    for _ in range(2):
        assert call(app, "GET", f"{IDP}/redirect?{query}", cookies={"mockplatform-citizen": PNR}).status == 200
    first, second = app.journal.exchanges()
    assert checks_of(first)["UTH-REQUEST-ID"] and not checks_of(second)["UTH-REQUEST-ID"]


@pytest.mark.parametrize(("extra", "status"), [
    ('<samlp:NameIDPolicy Format="urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress"/>', "InvalidNameIDPolicy"),
    ('<samlp:RequestedAuthnContext Comparison="exact"><saml:AuthnContextClassRef>'
     'http://id.swedenconnect.se/loa/1.0/loa4</saml:AuthnContextClassRef></samlp:RequestedAuthnContext>',
     "NoAuthnContext"),
])
def test_policies_the_idp_cannot_meet_get_a_saml_status(app, sp, extra, status):
    answer = call(app, "GET", f"{IDP}/redirect?" + redirect_query(authn_request(extra=extra), sign_with=SP_KEY),
                  cookies={"mockplatform-citizen": PNR})
    xml = base64.b64decode(form_of(answer)["SAMLResponse"])
    assert f"urn:oasis:names:tc:SAML:2.0:status:{status}".encode() in xml
    assert b"<saml:Assertion" not in xml
    assert saml.verify_xml(xml, (keys_pem(app),))[0] == "valid"


def keys_pem(app) -> str:
    from mockplatform.domains.uthopp.store import SsoStore

    return SsoStore(app.journal).key("test").cert_pem


def test_a_lower_minimum_context_is_met_with_loa3(app, sp):
    extra = ('<samlp:RequestedAuthnContext Comparison="minimum"><saml:AuthnContextClassRef>'
             'http://id.swedenconnect.se/loa/1.0/loa2</saml:AuthnContextClassRef></samlp:RequestedAuthnContext>')
    answer = call(app, "GET", f"{IDP}/redirect?" + redirect_query(authn_request(extra=extra), sign_with=SP_KEY),
                  cookies={"mockplatform-citizen": PNR})
    assert b"<saml:Assertion" in base64.b64decode(form_of(answer)["SAMLResponse"])


@pytest.mark.parametrize("kind", [k for k in saml.KINDS if k not in (saml.VALID, "replayed")])
def test_each_armed_broken_response_is_refused_by_python3_saml(app, sp, kind):
    armed = call(app, "POST", "http://127.0.0.1:8080/admin/sso/responses",
                 json.dumps({"kind": kind, "sp": SP_ID}).encode())
    assert armed.status == 201
    url, request_id = login_url(sp)
    answer = call(app, "GET", url, cookies={"mockplatform-citizen": PNR})
    errors, reason, _ = consume(sp, answer, request_id)
    assert errors, kind
    assert app.journal.exchanges()[-1].injected == f"saml:{kind}"
    # used once: the next login is valid again
    url, request_id = login_url(sp)
    assert consume(sp, call(app, "GET", url, cookies={"mockplatform-citizen": PNR}), request_id)[0] == []


def test_replayed_sends_the_last_valid_response_again(app, sp):
    url, request_id = login_url(sp)
    first = form_of(call(app, "GET", url, cookies={"mockplatform-citizen": PNR}))["SAMLResponse"]
    app.domain("uthopp").test_api(app)["sso_arm"]("replayed", SP_ID)
    url, _ = login_url(sp)
    again = form_of(call(app, "GET", url, cookies={"mockplatform-citizen": PNR}))["SAMLResponse"]
    assert again == first


def test_arming_an_unknown_kind_is_a_400_naming_the_kinds(app):
    answer = call(app, "POST", "http://127.0.0.1:8080/admin/sso/responses", b'{"kind": "nonsense"}')
    assert answer.status == 400 and b"bad-signature" in answer.body


def test_reset_disarms(app, sp):
    app.domain("uthopp").test_api(app)["sso_arm"]("expired", None, 5)
    app.reset()
    url, request_id = login_url(sp)
    assert consume(sp, call(app, "GET", url, cookies={"mockplatform-citizen": PNR}), request_id)[0] == []


# -- hostile and broken input -------------------------------------------------------------------------------------


@pytest.mark.parametrize("value", ["not base64 at all!!", base64.b64encode(b"not deflated").decode(),
                                   base64.b64encode(zlib.compress(b"<x/>")[2:-4] + b"junk").decode()])
def test_unreadable_requests_get_400_and_are_journaled(app, value):
    answer = call(app, "GET", f"{IDP}/redirect?" + urlencode({"SAMLRequest": value}))
    assert answer.status == 400
    assert checks_of(app.journal.exchanges()[-1])["UTH-READABLE"] is False


def test_entity_expansion_is_refused(app, sp):
    xml = (b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaaaaaaaa">]>'
           b'<samlp:AuthnRequest xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol">&a;</samlp:AuthnRequest>')
    answer = call(app, "GET", f"{IDP}/redirect?" + redirect_query(xml))
    assert answer.status == 400


def test_a_deflate_bomb_is_not_inflated(app):
    deflater = zlib.compressobj(9, zlib.DEFLATED, -15)
    bomb = deflater.compress(b"<a>" + b"x" * (20 * 1024 * 1024)) + deflater.flush()
    answer = call(app, "GET", f"{IDP}/redirect?" + urlencode({"SAMLRequest": base64.b64encode(bomb).decode()}))
    assert answer.status == 400 and b"inflates to more than" not in answer.body  # said in the journal, not here
    assert "inflates to more than" in app.journal.exchanges()[-1].observations


def test_bad_sp_metadata_through_the_admin_api_is_a_400_saying_why(app):
    answer = call(app, "POST", "http://127.0.0.1:8080/admin/sso/sps", b"<md:EntityDescriptor xmlns:md="
                  b'"urn:oasis:names:tc:SAML:2.0:metadata" entityID="x"/>')
    assert answer.status == 400 and b"SPSSODescriptor" in answer.body


def test_a_missing_metadata_file_in_the_fixtures_stops_start(tmp_path):
    from mockplatform.errors import ConfigError

    source = (Path(__file__).resolve().parents[1] / "fixtures" / "inbox.toml").read_text(encoding="utf-8")
    fixtures = tmp_path / "fixtures.toml"
    fixtures.write_text(source + '\n[[uthopp.service_providers]]\nmetadata = "missing-sp.xml"\n', encoding="utf-8")
    with pytest.raises(ConfigError, match="missing-sp.xml"):
        Application(Config(**stored(tmp_path / "j.sqlite"), fixtures=fixtures))
    assert not (tmp_path / "j.sqlite").exists()


# -- single logout ------------------------------------------------------------------------------------------------


def logged_in(app, sp) -> tuple[dict, dict]:
    """A login; returns (the SP's view of it: name id and session index, the browser's cookies at the IdP)."""
    url, request_id = login_url(sp)
    answer = call(app, "GET", url, cookies={"mockplatform-citizen": PNR})
    fields = form_of(answer)
    response = OneLogin_Saml2_Response(OneLogin_Saml2_Settings(sp), fields["SAMLResponse"])
    cookie = dict(answer.headers)["Set-Cookie"].split(";")[0].split("=", 1)
    return ({"name_id": response.get_nameid(), "session_index": response.get_session_index()},
            {"mockplatform-citizen": PNR, cookie[0]: cookie[1]})


def logout_request_xml(sp, name_id, session_index, signed=True) -> bytes:
    from onelogin.saml2.logout_request import OneLogin_Saml2_Logout_Request

    request = OneLogin_Saml2_Logout_Request(OneLogin_Saml2_Settings(sp), name_id=name_id, session_index=session_index)
    xml = request.get_xml()
    if signed:
        xml = OneLogin_Saml2_Utils.add_sign(xml, SP_KEY.key_pem, SP_KEY.cert_pem,
                                           sign_algorithm="http://www.w3.org/2001/04/xmldsig-more#rsa-sha256",
                                           digest_algorithm="http://www.w3.org/2001/04/xmlenc#sha256")
    return xml if isinstance(xml, bytes) else xml.encode()


def test_sp_initiated_logout_ends_the_session_with_a_signed_logout_response(app, sp):
    session, cookies = logged_in(app, sp)
    xml = logout_request_xml(sp, session["name_id"], session["session_index"])
    answer = call(app, "POST", f"{IDP}/slo", urlencode({"SAMLRequest": base64.b64encode(xml).decode()}).encode())
    assert answer.status == 200
    fields = form_of(answer)
    reply = base64.b64decode(fields["SAMLResponse"])
    assert b"status:Success" in reply and saml.verify_xml(reply, (keys_pem(app),))[0] == "valid"
    assert re.search(rb'action="' + SLS.encode(), answer.body)
    exchange = app.journal.exchanges()[-1]
    assert exchange.contract == "saml2:LogoutRequest" and all(checks_of(exchange).values()), exchange.observations
    sessions = json.loads(call(app, "GET", "http://127.0.0.1:8080/admin/sso/sessions").body)["sessions"]
    assert sessions[0]["ended"]


def test_unsigned_logout_request_is_refused_with_requester(app, sp):
    session, _ = logged_in(app, sp)
    xml = logout_request_xml(sp, session["name_id"], session["session_index"], signed=False)
    answer = call(app, "POST", f"{IDP}/slo", urlencode({"SAMLRequest": base64.b64encode(xml).decode()}).encode())
    assert b"status:Requester" in base64.b64decode(form_of(answer)["SAMLResponse"])
    assert checks_of(app.journal.exchanges()[-1])["UTH-SIGNATURE"] is False


def test_idp_initiated_logout_sends_a_signed_logout_request_and_takes_the_answer(app, sp):
    session, cookies = logged_in(app, sp)
    page = call(app, "GET", f"{IDP}/logout", cookies=cookies)
    fields = form_of(page)
    request_xml = base64.b64decode(fields["SAMLRequest"])
    assert saml.verify_xml(request_xml, (keys_pem(app),))[0] == "valid"
    assert session["name_id"].encode() in request_xml
    request_id = re.search(rb'ID="([^"]+)"', request_xml).group(1).decode()
    from onelogin.saml2.logout_response import OneLogin_Saml2_Logout_Response

    reply = OneLogin_Saml2_Logout_Response(OneLogin_Saml2_Settings(sp))
    reply.build(request_id)
    xml = OneLogin_Saml2_Utils.add_sign(reply.get_xml(), SP_KEY.key_pem, SP_KEY.cert_pem,
                                        sign_algorithm="http://www.w3.org/2001/04/xmldsig-more#rsa-sha256",
                                        digest_algorithm="http://www.w3.org/2001/04/xmlenc#sha256")
    answered = call(app, "POST", f"{IDP}/slo", urlencode({"SAMLResponse": base64.b64encode(xml).decode()}).encode(),
                    cookies=cookies)
    assert answered.status == 303
    exchange = app.journal.exchanges()[-1]
    assert exchange.contract == "saml2:LogoutResponse" and all(checks_of(exchange).values()), exchange.observations
    done = call(app, "GET", f"{IDP}/logout", cookies=cookies)
    assert b'id="logged-out"' in done.body
    assert any(v.startswith("mockplatform-citizen=;") for k, v in done.headers if k == "Set-Cookie")


# -- judged by the uthopp profile -----------------------------------------------------------------------------------


def test_verify_judges_the_sp_messages_into_a_protocol(app, sp, tmp_path):
    from mockplatform.verification import VerifyOptions, verify

    url, _ = login_url(sp)
    call(app, "GET", url, cookies={"mockplatform-citizen": PNR})
    call(app, "GET", f"{IDP}/redirect?" + redirect_query(authn_request("_unsigned")),
         cookies={"mockplatform-citizen": PNR})
    app.close()
    protocol = verify(VerifyOptions(journal=app.journal.path, profile="uthopp"))
    cases = {c.id: c for c in protocol.cases}
    assert cases["TC-UTH-01"].status.value == "failed"
    assert cases["TC-UTH-02"].status.value == "not_run"
    rules = {r.rule_id: r for r in protocol.rules}
    assert rules["UTH-SIGNATURE"].violations == 1


def another_sp(app, sp: dict, host: str) -> dict:
    """A second SP (python3-saml settings) at ``host``, registered; with ``sp``'s key."""
    second = json.loads(json.dumps(sp))
    second["sp"].update(entityId=f"http://{host}/metadata",
                        assertionConsumerService={"url": f"http://{host}/acs", "binding": POST_BINDING},
                        singleLogoutService={"url": f"http://{host}/sls", "binding": POST_BINDING})
    assert call(app, "POST", "http://127.0.0.1:8080/admin/sso/sps",
                OneLogin_Saml2_Settings(second).get_sp_metadata()).status == 201
    return second


def signed_logout_response(settings: dict, request_xml: bytes) -> bytes:
    """An SP's signed LogoutResponse (python3-saml) to the stand-in's LogoutRequest ``request_xml``."""
    from onelogin.saml2.logout_response import OneLogin_Saml2_Logout_Response

    reply = OneLogin_Saml2_Logout_Response(OneLogin_Saml2_Settings(settings))
    reply.build(re.search(rb'ID="([^"]+)"', request_xml).group(1).decode())
    return OneLogin_Saml2_Utils.add_sign(reply.get_xml(), SP_KEY.key_pem, SP_KEY.cert_pem,
                                         sign_algorithm="http://www.w3.org/2001/04/xmldsig-more#rsa-sha256",
                                         digest_algorithm="http://www.w3.org/2001/04/xmlenc#sha256")


def test_sp_initiated_logout_first_logs_the_citizen_out_of_the_sessions_other_sp(app, sp):
    second = another_sp(app, sp, "other.example.invalid")
    session, cookies = logged_in(app, sp)
    url, _ = login_url(second)
    assert call(app, "GET", url, cookies=cookies).status == 200  # the same IdP session: no new cookie
    xml = logout_request_xml(sp, session["name_id"], session["session_index"])
    first_id = re.search(rb'ID="([^"]+)"', xml).group(1).decode()
    answer = call(app, "POST", f"{IDP}/slo", urlencode({"SAMLRequest": base64.b64encode(xml).decode()}).encode())
    assert answer.status == 303  # cross-site POST, no cookie: the chain names the session itself
    to_other = call(app, "GET", f"http://{HOST}{dict(answer.headers)['Location']}")
    assert b'action="http://other.example.invalid/sls"' in to_other.body
    signed = signed_logout_response(second, base64.b64decode(form_of(to_other)["SAMLRequest"]))
    back = call(app, "POST", f"{IDP}/slo", urlencode({"SAMLResponse": base64.b64encode(signed).decode()}).encode())
    assert back.status == 303
    last = call(app, "GET", f"http://{HOST}{dict(back.headers)['Location']}")
    answer_xml = base64.b64decode(form_of(last)["SAMLResponse"])
    assert b'action="' + SLS.encode() in last.body
    assert f'InResponseTo="{first_id}"'.encode() in answer_xml and b"status:Success" in answer_xml
    sessions = json.loads(call(app, "GET", "http://127.0.0.1:8080/admin/sso/sessions").body)["sessions"]
    assert sessions[0]["ended"] and all(s["logged_out"] for s in sessions[0]["service_providers"])


def test_a_signature_over_another_element_is_not_the_messages(app):
    """Signature wrapping: a valid signature of an element inside the message does not sign the message."""
    from lxml import etree

    from mockplatform.domains.uthopp.store import SsoStore

    key = SsoStore(app.journal).key("test")
    _, signed = saml.build_logout_request(issuer=IDP, key=key, destination=SLS, name_id="_n",
                                          name_id_format="urn:oasis:names:tc:SAML:2.0:nameid-format:transient",
                                          sp_name_qualifier=SP_ID, session_index="_s")
    assert saml.verify_xml(signed, (key.cert_pem,))[0] == "valid"
    inner = etree.fromstring(signed)
    signature = inner.find("{http://www.w3.org/2000/09/xmldsig#}Signature")
    inner.remove(signature)
    outer = etree.Element("{urn:oasis:names:tc:SAML:2.0:protocol}LogoutRequest", ID="_outer", Version="2.0")
    outer.append(signature)
    extensions = etree.SubElement(outer, "{urn:oasis:names:tc:SAML:2.0:protocol}Extensions")
    extensions.append(inner)
    outcome, detail = saml.verify_xml(etree.tostring(outer), (key.cert_pem,))
    assert outcome == "invalid" and "root element" in detail


@pytest.mark.parametrize(("extra_attrs", "status"), [
    ('IsPassive="true"', "NoPassive"),
])
def test_a_passive_request_with_nobody_logged_in_gets_no_passive(app, sp, extra_attrs, status):
    xml = authn_request().replace(b' Version="2.0"', b' Version="2.0" ' + extra_attrs.encode())
    answer = call(app, "GET", f"{IDP}/redirect?" + redirect_query(xml, sign_with=SP_KEY))
    assert f"status:{status}".encode() in base64.b64decode(form_of(answer)["SAMLResponse"])


@pytest.mark.parametrize(("change", "status"), [
    ((b' Version="2.0"', b' Version="1.1"'), "VersionMismatch"),
    ((b' Destination="' + IDP.encode() + b'/redirect"', b' Destination="https://elsewhere.invalid/sso"'),
     "RequestDenied"),
])
def test_a_request_for_another_version_or_endpoint_is_refused_with_a_status(app, sp, change, status):
    xml = authn_request().replace(*change)
    answer = call(app, "GET", f"{IDP}/redirect?" + redirect_query(xml, sign_with=SP_KEY),
                  cookies={"mockplatform-citizen": PNR})
    reply = base64.b64decode(form_of(answer)["SAMLResponse"])
    assert f"status:{status}".encode() in reply and b"<saml:Assertion" not in reply
    assert checks_of(app.journal.exchanges()[-1])["UTH-READABLE"] is False


def test_arming_for_an_unregistered_sp_is_a_400(app, sp):
    for body in (b'{"kind": "expired", "sp": "http://unknown.invalid/"}', b'{"kind": "expired", "sp": 123}'):
        answer = call(app, "POST", "http://127.0.0.1:8080/admin/sso/responses", body)
        assert answer.status == 400 and b"registered" in answer.body


def test_unknown_paths_are_404_and_a_wrong_method_405(app):
    assert call(app, "GET", "http://127.0.0.1:8080/admin/sso/bogus").status == 404
    assert call(app, "GET", f"{IDP}/nope").status == 404
    answer = call(app, "POST", f"{IDP}/metadata", b"x=1")
    assert answer.status == 405 and ("Allow", "GET, HEAD") in answer.headers


@pytest.mark.parametrize(("metadata", "said"), [
    (b'<!DOCTYPE x><md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" entityID="x"/>',
     b"DOCTYPE is not allowed in SAML metadata"),
    (b'<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" entityID="x"><md:SPSSODescriptor '
     b'protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol"><md:AssertionConsumerService Binding="'
     + POST_BINDING.encode() + b'" Location="javascript:alert(1)" index="0"/></md:SPSSODescriptor>'
     b'</md:EntityDescriptor>', b"not an http(s) address"),
])
def test_metadata_refusals_say_why(app, metadata, said):
    answer = call(app, "POST", "http://127.0.0.1:8080/admin/sso/sps", metadata)
    assert answer.status == 400 and said in answer.body


def test_an_oversized_post_is_413(app):
    request = Request("POST", "/sso/test/slo", [("Host", HOST)], b"SAMLRequest=" + b"A" * 100, {}, "",
                      "127.0.0.1:5000", body_size=30 * 1024 * 1024)
    assert http_routes.handle(app, request).status == 413


def test_the_views_carry_the_request_bodys_hash_for_protocol_check(app, sp):
    from mockplatform.domains.uthopp.profile import read_sso_view

    url, _ = login_url(sp)
    call(app, "GET", url, cookies={"mockplatform-citizen": PNR})
    exchange = app.journal.exchanges()[-1]
    import hashlib

    assert read_sso_view(exchange).body_sha256 == hashlib.sha256(exchange.request_body).hexdigest()


def test_the_probe_says_when_the_service_provider_does_not_answer(app, sp, tmp_path):
    from mockplatform.domains.uthopp.probe import probe
    from mockplatform.errors import ConfigError
    from mockplatform.probing import ProbeOptions

    metadata = tmp_path / "sp.xml"
    metadata.write_text(OneLogin_Saml2_Settings(sp).get_sp_metadata().decode()
                        if isinstance(OneLogin_Saml2_Settings(sp).get_sp_metadata(), bytes)
                        else OneLogin_Saml2_Settings(sp).get_sp_metadata(), encoding="utf-8")
    options = ProbeOptions(platform_url=f"http://{HOST}", sp_metadata=str(metadata), start_url="http://127.0.0.1:9/",
                           say=lambda line: None)
    with pytest.raises(ConfigError, match="does not answer"):
        probe(app, options)


def test_the_journal_page_shows_an_sso_message_with_what_was_observed_and_its_findings(app, sp):
    call(app, "GET", f"{IDP}/redirect?" + redirect_query(authn_request("_unsigned2")),
         cookies={"mockplatform-citizen": PNR})
    exchange = app.journal.exchanges()[-1]
    page = call(app, "GET", f"http://127.0.0.1:8080/ui/journal/{exchange.id}").body.decode()
    assert 'id="observations"' in page and "UTH-SIGNATURE" in page
    assert "&lt;samlp:AuthnRequest" in page  # the request as decoded from its binding
    assert "profile uthopp" in page


def test_the_answer_to_an_sps_own_logout_after_the_others_is_journaled(app, sp):
    second = another_sp(app, sp, "third.example.invalid")
    session, cookies = logged_in(app, sp)
    call(app, "GET", login_url(second)[0], cookies=cookies)
    xml = logout_request_xml(sp, session["name_id"], session["session_index"])
    answer = call(app, "POST", f"{IDP}/slo", urlencode({"SAMLRequest": base64.b64encode(xml).decode()}).encode())
    to_other = call(app, "GET", f"http://{HOST}{dict(answer.headers)['Location']}")
    signed = signed_logout_response(second, base64.b64decode(form_of(to_other)["SAMLRequest"]))
    back = call(app, "POST", f"{IDP}/slo", urlencode({"SAMLResponse": base64.b64encode(signed).decode()}).encode())
    call(app, "GET", f"http://{HOST}{dict(back.headers)['Location']}")
    last = app.journal.exchanges()[-1]
    assert last.contract == "saml2:LogoutResponse" and last.consumer == SP_ID
    assert json.loads(last.observations)["message"] == "LogoutResponse to SP"
    assert last.identified_by == "idp-message"

"""The example service provider against a real mockplatform, over real HTTP: the platform's SSO stand-in is
the IdP, the SP is registered through the admin API, and a small scripted browser (``requests`` following the
redirects and submitting SAML's auto-posting forms) plays the citizen.

The correct SP lets the citizen in and refuses every broken Response the stand-in can be armed with; each
``--skip`` variant wrongly accepts exactly the kinds its skipped check would have caught. Logout started at
the SP and at 1177 both end the SP's session, and the journal holds the SAML exchanges with no failed check.
"""

from __future__ import annotations

import base64
import html
import json
import re
import socket
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qsl

import pytest
import requests
from lxml import etree
from onelogin.saml2.constants import OneLogin_Saml2_Constants as C
from onelogin.saml2.utils import OneLogin_Saml2_Utils
from sso_service import SKIPPABLE, Running, make_keys, read_idp_metadata, start

from mockplatform import Application, Config, Settings
from mockplatform.domains.uthopp.saml import KINDS, VALID
from mockplatform.server import start_in_thread

TOLVAN = "191212121212"
BROKEN = tuple(k for k in KINDS if k != VALID)
# What each --skip lets through: the kinds that only that check catches (the time check: both windows).
LET_THROUGH = {"signature": {"bad-signature"}, "audience": {"wrong-audience"}, "recipient": {"wrong-recipient"},
               "destination": {"wrong-destination"}, "time": {"expired", "not-yet-valid"}, "replay": {"replayed"},
               "in-response-to": {"unknown-in-response-to"}}
SAML_CONTRACTS = ("saml2:AuthnRequest", "saml2:LogoutRequest", "saml2:LogoutResponse")
_FORM = re.compile(r'<form id="saml" method="post" action="([^"]*)">')
_INPUT = re.compile(r'<input type="hidden" name="([^"]*)" value="([^"]*)">')


@dataclass
class Platform:
    app: Application
    url: str


@pytest.fixture(scope="module")
def platform(tmp_path_factory) -> Platform:
    """One platform for the module; each test starts on an empty journal and no sessions (``start_sp``), as a
    test's SP may get the port, and so the entityID, of an earlier test's."""
    app = Application(Config(journal=tmp_path_factory.mktemp("sso") / "journal.sqlite", settings=Settings()))
    server = start_in_thread(app)
    yield Platform(app, server.url)
    server.shutdown()
    server.server_close()
    app.close()


@pytest.fixture(scope="module")
def keys(tmp_path_factory) -> Path:
    """One SP key pair for the module (made once: an RSA 3072 key takes a moment)."""
    folder = tmp_path_factory.mktemp("sp-keys")
    make_keys(folder)
    return folder


@pytest.fixture
def start_sp(platform, keys):
    assert requests.post(f"{platform.url}/admin/reset", timeout=10).status_code == 200  # keeps registrations
    started: list[Running] = []

    def make(skip: str | None = None, register: bool = True) -> Running:
        sp = start(idp_metadata=f"{platform.url}/sso/test/metadata", skip=skip, keys=keys)
        started.append(sp)
        if register:
            answer = requests.post(f"{platform.url}/admin/sso/sps?environment=test&system_id=SE2321000016-7XQA",
                                   data=requests.get(sp.metadata_url, timeout=10).content, timeout=10)
            assert answer.status_code == 201, answer.text
        return sp

    yield make
    for sp in started:
        sp.stop()


@pytest.fixture
def sp(start_sp) -> Running:
    return start_sp()


def form_of(response: requests.Response) -> tuple[str, dict[str, str]] | None:
    """The auto-posting SAML form of a page: (action, fields), or None."""
    match = _FORM.search(response.text)
    if match is None:
        return None
    return html.unescape(match.group(1)), {html.unescape(k): html.unescape(v) for k, v in _INPUT.findall(response.text)}


class Browser:
    """The citizen's browser: cookies, redirects followed, SAML forms submitted when asked (no JavaScript)."""

    def __init__(self, platform: Platform, sp: Running, citizen: str | None = TOLVAN) -> None:
        self.platform, self.sp = platform, sp
        self.http = requests.Session()
        if citizen is not None:  # logged in to the inbox preview, as 1177's IdP knows it
            assert self.http.get(f"{platform.url}/ui/inbox?citizen={citizen}", timeout=10).status_code == 200

    def get(self, url: str, **kw) -> requests.Response:
        return self.http.get(url, timeout=10, **kw)

    def post(self, url: str, fields: dict[str, str], **kw) -> requests.Response:
        return self.http.post(url, data=fields, timeout=10, **kw)

    def to_idp(self, query: str = "") -> tuple[str, dict[str, str]]:
        """Open the protected page and follow it to the IdP; the IdP's answer (a form posting to the ACS)."""
        answer = self.get(self.sp.url + query)
        assert answer.url.startswith(f"{self.platform.url}/sso/test/redirect?"), answer.url
        form = form_of(answer)
        assert form is not None, answer.text
        return form

    def post_to_acs(self, form: tuple[str, dict[str, str]]) -> requests.Response:
        assert form[0] == f"{self.sp.url}saml/acs"
        return self.post(*form, allow_redirects=False)

    def page(self) -> requests.Response:
        """The protected page without following a redirect: 200 when let in, 302 to the IdP when not."""
        return self.get(self.sp.url, allow_redirects=False)

    def shown_pnr(self) -> str | None:
        """The personnummer the protected page shows, or None when it sends the browser to the IdP instead."""
        answer = self.page()
        if answer.status_code == 200:
            return re.search(r'<span id="pnr">(\d{12})</span>', answer.text).group(1)
        assert answer.status_code == 302 and answer.headers["Location"].startswith(f"{self.platform.url}/sso/")
        return None

    def let_in(self) -> bool:
        return self.shown_pnr() is not None

    def log_in(self) -> tuple[str, dict[str, str]]:
        form = self.to_idp()
        answer = self.post_to_acs(form)
        assert answer.status_code == 303, answer.text
        assert self.shown_pnr() == TOLVAN
        return form

    def submit_forms(self, answer: requests.Response, most: int = 8) -> requests.Response:
        """Follow a chain of auto-posting SAML forms (logout goes back and forth) to its last page."""
        for _ in range(most):
            form = form_of(answer)
            if form is None:
                return answer
            answer = self.post(*form)
        raise AssertionError("the chain of SAML forms does not end")


def arm(platform: Platform, kind: str, sp: Running) -> None:
    answer = requests.post(f"{platform.url}/admin/sso/responses", json={"kind": kind, "sp": sp.sp.entity_id,
                                                                        "times": 1}, timeout=10)
    assert answer.status_code == 201, answer.text


def try_kind(platform: Platform, sp: Running, kind: str, replay: tuple[str, dict[str, str]] | None
             ) -> tuple[bool, requests.Response]:
    """A new browser session gets a Response of ``kind``: armed at the IdP for one login, or, for "replayed",
    the valid Response accepted earlier (``replay``) posted again, as the probe does. (ACS answer, let in?)"""
    browser = Browser(platform, sp)
    if kind == "replayed":
        answer = browser.post_to_acs(replay)
    else:
        arm(platform, kind, sp)
        answer = browser.post_to_acs(browser.to_idp())
    let_in = browser.let_in()
    assert (answer.status_code == 303) == let_in, (answer.status_code, answer.text)
    return let_in, answer


def saml_exchanges(platform: Platform, sp: Running) -> list:
    return [e for e in platform.app.journal.exchanges(consumer=sp.sp.entity_id) if e.contract in SAML_CONTRACTS]


def assert_no_failed_checks(platform: Platform, sp: Running, *contracts: str) -> list:
    exchanges = saml_exchanges(platform, sp)
    assert {e.contract for e in exchanges} >= set(contracts), [e.contract for e in exchanges]
    for exchange in exchanges:
        checks = json.loads(exchange.observations)["checks"]
        assert [c for c in checks if not c[1]] == [], (exchange.contract, exchange.path, checks)
    return exchanges


# -- the SP's metadata and a login --------------------------------------------------------------------------------
def test_metadata_promises_signed_requests_and_assertions_and_post_endpoints(sp):
    answer = requests.get(sp.metadata_url, timeout=10)
    assert answer.status_code == 200 and answer.headers["Content-Type"] == "application/samlmetadata+xml"
    root = etree.fromstring(answer.content)
    assert root.get("entityID") == f"{sp.url}saml/metadata"
    md = {"md": C.NS_MD}
    descriptor = root.find("md:SPSSODescriptor", md)
    assert (descriptor.get("AuthnRequestsSigned"), descriptor.get("WantAssertionsSigned")) == ("true", "true")
    acs = descriptor.find("md:AssertionConsumerService", md)
    assert (acs.get("Binding"), acs.get("Location")) == (C.BINDING_HTTP_POST, f"{sp.url}saml/acs")
    slo = descriptor.find("md:SingleLogoutService", md)
    assert (slo.get("Binding"), slo.get("Location")) == (C.BINDING_HTTP_POST, f"{sp.url}saml/sls")
    assert descriptor.find("md:KeyDescriptor[@use='signing']", md) is not None


def test_the_correct_sp_lets_the_citizen_in(platform, sp):
    browser = Browser(platform, sp)
    first = browser.get(sp.url + "?case=4711&action=rebook", allow_redirects=False)
    assert first.status_code == 302
    location = first.headers["Location"]
    assert location.startswith(f"{platform.url}/sso/test/redirect?SAMLRequest=")
    assert "&Signature=" in location and "&SigAlg=" in location  # signed, as the metadata promises
    relay = dict(parse_qsl(location.partition("?")[2]))["RelayState"]
    assert 0 < len(relay.encode()) <= 80
    page = browser.post(*form_of(browser.get(location)))  # the ACS 303s back to the page asked for
    assert page.status_code == 200 and page.url == f"{sp.url}?case=4711&action=rebook"
    assert f'<span id="pnr">{TOLVAN}</span>' in page.text and "Tolvan Tolvansson" in page.text
    assert "4711" in page.text
    assert browser.let_in()  # and stays in
    [authn] = assert_no_failed_checks(platform, sp, "saml2:AuthnRequest")
    observations = json.loads(authn.observations)
    assert observations["signature"] == "valid" and observations["answer"] == "Response"


def test_the_idp_login_page_when_no_citizen_is_logged_in(platform, sp):
    browser = Browser(platform, sp, citizen=None)
    login = browser.get(sp.url)
    assert 'name="citizen"' in login.text and login.url.startswith(f"{platform.url}/sso/test/redirect?")
    action = html.unescape(re.search(r'<form method="post" action="([^"]*)"', login.text).group(1))
    form = form_of(browser.post(platform.url + action, {"citizen": TOLVAN}))
    assert browser.post_to_acs(form).status_code == 303 and browser.let_in()


# -- broken Responses ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("kind", BROKEN)
def test_the_correct_sp_refuses_each_broken_response(platform, sp, kind):
    valid = Browser(platform, sp).log_in()  # the IdP now has a Response to replay, and the probe's replay its form
    let_in, answer = try_kind(platform, sp, kind, valid)
    assert not let_in and answer.status_code == 403
    assert '<p id="reason"' in answer.text
    if kind == "replayed":  # also the IdP's replay in a new login: refused for its InResponseTo
        arm(platform, "replayed", sp)
        browser = Browser(platform, sp)
        assert browser.post_to_acs(browser.to_idp()).status_code == 403 and not browser.let_in()
        assert "InResponseTo" in sp.sp.refusals[-1]


@pytest.mark.parametrize("skip", SKIPPABLE)
def test_each_skip_variant_accepts_exactly_the_kinds_its_check_catches(platform, start_sp, skip):
    sp = start_sp(skip=skip)
    valid = Browser(platform, sp).log_in()
    accepted = {kind for kind in BROKEN if try_kind(platform, sp, kind, valid)[0]}
    assert accepted == LET_THROUGH[skip]


@pytest.mark.parametrize(("skip", "kind"), [(s, k) for s, kinds in LET_THROUGH.items() for k in sorted(kinds)])
def test_a_skip_variant_lets_the_citizen_in_with_its_kind(platform, start_sp, skip, kind):
    sp = start_sp(skip=skip)
    valid = Browser(platform, sp).log_in()
    browser = Browser(platform, sp)
    if kind == "replayed":
        answer = browser.post_to_acs(valid)
    else:
        arm(platform, kind, sp)
        answer = browser.post_to_acs(browser.to_idp())
    assert answer.status_code == 303 and sp.sp.refusals == []
    # let in: with the signature unchecked, as whoever the changed assertion names
    assert browser.shown_pnr() == ("191010101010" if kind == "bad-signature" else TOLVAN)


def test_the_refusal_reason_names_the_check(platform, sp):
    valid = Browser(platform, sp).log_in()
    reasons = {}
    for kind in ("bad-signature", "wrong-audience", "wrong-destination", "expired", "replayed",
                 "unknown-in-response-to"):
        reasons[kind] = html.unescape(try_kind(platform, sp, kind, valid)[1].text)
    assert "Signature validation failed" in reasons["bad-signature"]
    assert "not a valid audience" in reasons["wrong-audience"]
    assert "instead of https://elsewhere.invalid" in reasons["wrong-destination"]
    assert "expired" in reasons["expired"]
    assert "used before" in reasons["replayed"]
    assert "InResponseTo" in reasons["unknown-in-response-to"]


# -- logout -------------------------------------------------------------------------------------------------------
def test_logout_at_the_sp_ends_both_sessions(platform, sp):
    browser = Browser(platform, sp)
    browser.log_in()
    started = browser.get(f"{sp.url}logout")
    assert form_of(started)[0] == f"{platform.url}/sso/test/slo"
    done = browser.submit_forms(started)  # SP -> IdP (LogoutRequest) -> SP (LogoutResponse)
    assert done.url == f"{sp.url}saml/sls" and 'id="logged-out"' in done.text
    assert not browser.let_in()
    # the IdP ended its session too: the citizen is asked to log in again there
    assert 'name="citizen"' in browser.get(sp.url).text
    sessions = requests.get(f"{platform.url}/admin/sso/sessions", timeout=10).json()["sessions"]
    mine = [s for s in sessions if any(p["entity_id"] == sp.sp.entity_id for p in s["service_providers"])]
    assert mine and all(s["ended"] for s in mine)
    exchanges = assert_no_failed_checks(platform, sp, "saml2:AuthnRequest", "saml2:LogoutRequest")
    [logout] = [e for e in exchanges if e.contract == "saml2:LogoutRequest"]
    assert json.loads(logout.observations)["signature"] == "valid"
    assert json.loads(logout.observations)["answer"] == C.STATUS_SUCCESS


def test_logout_at_the_sp_after_a_second_login_in_the_same_idp_session(platform, sp):
    """As the probe does it: a new SP session (its cookie gone), the IdP session kept; the second login's NameID
    is the one the IdP must know the SP's LogoutRequest by."""
    browser = Browser(platform, sp)
    browser.log_in()
    port = sp.url.rstrip("/").rpartition(":")[2]
    browser.http.cookies.clear(domain="127.0.0.1", path="/", name=f"exempel-journal-session-{port}")
    assert not browser.let_in()
    browser.log_in()
    done = browser.submit_forms(browser.get(f"{sp.url}logout"))
    assert 'id="logged-out"' in done.text and not browser.let_in()
    assert_no_failed_checks(platform, sp, "saml2:AuthnRequest", "saml2:LogoutRequest")


def test_a_logout_request_naming_another_session_index_ends_nothing_at_the_idp(platform, sp):
    browser = Browser(platform, sp)
    browser.log_in()
    next(s for s in sp.sp.sessions.values() if s.user is not None).user.session_index = "_another-session"
    done = browser.submit_forms(browser.get(f"{sp.url}logout"))
    assert done.status_code == 400 and C.STATUS_REQUESTER in done.text
    sessions = requests.get(f"{platform.url}/admin/sso/sessions", timeout=10).json()["sessions"]
    mine = [s for s in sessions if any(p["entity_id"] == sp.sp.entity_id for p in s["service_providers"])]
    assert mine and not any(s["ended"] for s in mine)
    [logout] = [e for e in saml_exchanges(platform, sp) if e.contract == "saml2:LogoutRequest"]
    assert [c[0] for c in json.loads(logout.observations)["checks"] if not c[1]] == ["UTH-LOGOUT-SESSION"]


def test_logout_at_1177_ends_the_sp_session(platform, sp):
    browser = Browser(platform, sp)
    browser.log_in()
    started = browser.get(f"{platform.url}/sso/test/logout")
    assert form_of(started)[0] == f"{sp.url}saml/sls"  # the IdP's signed LogoutRequest, through the browser
    done = browser.submit_forms(started)  # IdP -> SP (LogoutRequest) -> IdP (LogoutResponse) -> logged-out page
    assert done.url.startswith(f"{platform.url}/sso/test/logout") and 'id="logged-out"' in done.text
    assert not browser.let_in()
    exchanges = assert_no_failed_checks(platform, sp, "saml2:AuthnRequest", "saml2:LogoutRequest",
                                        "saml2:LogoutResponse")
    [answer] = [e for e in exchanges if e.contract == "saml2:LogoutResponse"]
    assert json.loads(answer.observations)["signature"] == "valid"


def test_a_logout_request_not_signed_by_the_idp_is_refused(platform, sp, keys):
    browser = Browser(platform, sp)
    browser.log_in()
    session = next(s for s in sp.sp.sessions.values() if s.user is not None)
    idp = read_idp_metadata(f"{platform.url}/sso/test/metadata")
    xml = (f'<samlp:LogoutRequest xmlns:samlp="{C.NS_SAMLP}" xmlns:saml="{C.NS_SAML}" ID="_forged1" Version="2.0" '
           f'IssueInstant="{OneLogin_Saml2_Utils.parse_time_to_SAML(OneLogin_Saml2_Utils.now())}" '
           f'Destination="{sp.url}saml/sls"><saml:Issuer>{idp["entityId"]}</saml:Issuer>'
           f'<saml:NameID>{session.user.name_id}</saml:NameID></samlp:LogoutRequest>')
    key, cert = (keys / "sp.key").read_text(), (keys / "sp.crt").read_text()  # not the IdP's key
    for body in (xml.encode(), OneLogin_Saml2_Utils.add_sign(xml, key, cert)):
        answer = browser.post(f"{sp.url}saml/sls", {"SAMLRequest": base64.b64encode(body).decode()})
        assert answer.status_code == 400 and "signature" in answer.text
    assert browser.let_in()


def test_an_unreadable_response_is_refused(platform, sp):
    browser = Browser(platform, sp)
    for fields in ({}, {"SAMLResponse": "not base64 at all"}, {"SAMLResponse": base64.b64encode(b"<x/>").decode()}):
        assert browser.post(f"{sp.url}saml/acs", fields, allow_redirects=False).status_code == 403
    assert not browser.let_in()


def test_start_refuses_unusable_idp_metadata(tmp_path):
    with pytest.raises(ValueError, match="cannot be read"):
        start(idp_metadata=str(tmp_path / "missing.xml"))
    (tmp_path / "sp.xml").write_text('<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" '
                                     'entityID="x"/>')
    with pytest.raises(ValueError, match="IdP metadata"):
        start(idp_metadata=str(tmp_path / "sp.xml"))
    with pytest.raises(ValueError, match="--skip"):
        start(idp_metadata=str(tmp_path / "missing.xml"), skip="everything")


def test_the_sp_may_start_before_the_platform(tmp_path, keys):
    """As with the probe, which starts the platform itself: the SP serves its metadata at once and reads the
    IdP's metadata at the first login."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    sp = start(idp_metadata=f"http://127.0.0.1:{port}/sso/test/metadata", keys=keys)
    try:
        assert requests.get(sp.metadata_url, timeout=10).status_code == 200
        assert requests.get(sp.url, allow_redirects=False, timeout=10).status_code == 503  # no IdP yet
        app = Application(Config(journal=tmp_path / "journal.sqlite", settings=Settings()))
        server = start_in_thread(app, port=port)
        try:
            platform = Platform(app, server.url)
            assert requests.post(f"{platform.url}/admin/sso/sps?environment=test",
                                 data=requests.get(sp.metadata_url, timeout=10).content, timeout=10).status_code == 201
            Browser(platform, sp).log_in()
        finally:
            server.shutdown()
            server.server_close()
            app.close()
    finally:
        sp.stop()

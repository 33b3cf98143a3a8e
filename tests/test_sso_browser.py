"""The SSO jump ("uthopp") end to end in a real headless Chromium: an inbox message's SSO link leads through
the platform's SAML IdP stand-in to the example service provider (examples/sso_service), which shows the
citizen logged in to the inbox preview, without any login page; logging out (at the SP, or at 1177) ends it.

Needs Chromium, chromedriver and selenium (skipped without them, with the reason) and python3-saml.
"""

from __future__ import annotations

import importlib.util
import json
import socket
import sys
from collections.abc import Iterator
from pathlib import Path
from xml.sax.saxutils import escape

import pytest
import requests

from mockplatform.domains.inbox1177.names import PATIENTPORTAL_CORE
from mockplatform.fixtures import builtin_fixtures_dir

from .chromium import blank, by_css, headless_chromium, wait, why_no_browser
from .soap import ACTIVE_SMS_EMAIL, CONSUMER, add_message

pytestmark = [pytest.mark.skipif(why_no_browser() is not None, reason=why_no_browser() or ""),
              pytest.mark.skipif(importlib.util.find_spec("onelogin") is None,
                                 reason="SSO browser tests: python3-saml is not installed (pip install python3-saml)")]

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "sso_service"
ORIGINAL = 'sso_base_url = "https://journal.exempel.invalid/sso/1177"'


@pytest.fixture(scope="module")
def browser() -> Iterator:
    yield from headless_chromium()


@pytest.fixture
def driver(browser):
    """The module's browser with one window, a blank page and no cookies, whatever the previous test left."""
    return blank(browser, keep_cookies=False)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def world(start_platform, tmp_path):
    """The platform, its fixtures pointing system SE2321000016-7XQA's SSO links at the example SP; the SP,
    trusting the platform's IdP metadata and registered through the admin API. (platform, SP)"""
    sys.path.insert(0, str(EXAMPLE))
    try:
        from sso_service import start
    finally:
        sys.path.remove(str(EXAMPLE))
    port = _free_port()  # the SP's address goes into the platform's fixtures, so it is chosen first
    fixtures = (builtin_fixtures_dir() / "inbox.toml").read_text(encoding="utf-8")
    assert ORIGINAL in fixtures
    path = tmp_path / "inbox.toml"
    path.write_text(fixtures.replace(ORIGINAL, f'sso_base_url = "http://127.0.0.1:{port}/"'), encoding="utf-8")
    site = start_platform(fixtures=path)
    sp = start(port=port, idp_metadata=f"{site.url}/sso/test/metadata")
    try:
        answer = requests.post(f"{site.url}/admin/sso/sps?environment=test&system_id={CONSUMER}",
                               data=requests.get(sp.metadata_url, timeout=10).content, timeout=10)
        assert answer.status_code == 201, answer.text
        yield site, sp
    finally:
        sp.stop()


def send(site, **kw) -> None:
    answer = site.post(add_message(**kw))
    assert answer.status_code == 200 and b"<resultCode>OK</resultCode>" in answer.content, answer.text


def sso_link(query: str, text: str = "Öppna din journal") -> str:
    c = PATIENTPORTAL_CORE
    return (f'<c:ssoLink xmlns:c="{c}"><c:systemId>{CONSUMER}</c:systemId><c:text>{escape(text)}</c:text>'
            f"<c:queryString>{escape(query)}</c:queryString><c:type>CurrentTarget</c:type></c:ssoLink>")


def open_message(driver, site, heading: str) -> None:
    """The citizen opens the inbox preview (logging in there) and the message headed ``heading``."""
    driver.get(f"{site.url}/ui/inbox?citizen={ACTIVE_SMS_EMAIL}")
    case = next(c for c in by_css(driver, "#case-list li.case")
                if c.find_element("css selector", ".case-heading").text == heading)
    case.find_element("css selector", "a.case-link").click()
    wait(driver, lambda d: by_css(d, "#message-body"))


def at_sp_page(driver, sp) -> str:
    """Wait for the SP's protected page; the personnummer it shows."""
    wait(driver, lambda d: d.current_url.startswith(sp.url) and by_css(d, "#pnr"))
    return by_css(driver, "#pnr")[0].text


def assert_single_sign_on_without_login_page(site, sp) -> None:
    """The IdP answered the SP's AuthnRequest with a Response for the inbox's citizen: no login page shown."""
    authn = [e for e in site.app.journal.exchanges(contract="saml2:AuthnRequest") if e.consumer == sp.sp.entity_id]
    assert authn, "the SP sent no AuthnRequest"
    for exchange in authn:
        observations = json.loads(exchange.observations)
        assert observations["answer"] == "Response" and observations["citizen"] == ACTIVE_SMS_EMAIL
        assert [c for c in observations["checks"] if not c[1]] == []
    assert not [e for e in site.app.journal.exchanges() if e.path.startswith("/sso/test/login")]


def assert_logged_out_of_sp(driver, sp) -> None:
    """The SP's page no longer shows the citizen: it sends the browser to the IdP, which (logged out too)
    asks who logs in."""
    driver.get(sp.url)
    wait(driver, lambda d: by_css(d, "#citizens") or by_css(d, "#pnr"))
    assert not by_css(driver, "#pnr") and "/sso/test/" in driver.current_url


def test_sso_link_logs_the_inbox_citizen_in_to_the_sp_and_the_sp_logs_out(driver, world):
    site, sp = world
    send(site, description="Din journal", text="<article><para>Läs din journal hos oss.</para></article>",
         sso=sso_link("case=4711&action=read"))
    open_message(driver, site, "Din journal")
    link = wait(driver, lambda d: by_css(d, "#sso-link"))[0]
    assert link.get_attribute("href") == f"{sp.url}?case=4711&action=read"
    link.click()
    assert at_sp_page(driver, sp) == ACTIVE_SMS_EMAIL
    assert driver.current_url == f"{sp.url}?case=4711&action=read"  # the RelayState led back to the page asked for
    assert "Tolvan Tolvansson" in by_css(driver, "#name")[0].text
    assert_single_sign_on_without_login_page(site, sp)
    by_css(driver, "#logout")[0].click()  # SP -> IdP (LogoutRequest) -> SP (LogoutResponse)
    wait(driver, lambda d: d.current_url == f"{sp.url}saml/sls" and by_css(d, "#logged-out"))
    assert_logged_out_of_sp(driver, sp)
    logout = [e for e in site.app.journal.exchanges(contract="saml2:LogoutRequest") if e.consumer == sp.sp.entity_id]
    assert len(logout) == 1 and json.loads(logout[0].observations)["signature"] == "valid"


def test_logout_at_1177_ends_the_sp_session(driver, world):
    site, sp = world
    send(site, description="Din journal", text="<article><para>Läs din journal hos oss.</para></article>",
         sso=sso_link("case=1"))
    open_message(driver, site, "Din journal")
    wait(driver, lambda d: by_css(d, "#sso-link"))[0].click()
    assert at_sp_page(driver, sp) == ACTIVE_SMS_EMAIL
    driver.get(f"{site.url}/sso/test/logout")  # IdP -> SP (LogoutRequest) -> IdP (LogoutResponse) -> logged out
    wait(driver, lambda d: d.current_url.startswith(f"{site.url}/sso/test/logout") and by_css(d, "#logged-out"))
    assert_logged_out_of_sp(driver, sp)
    answers = [e for e in site.app.journal.exchanges(contract="saml2:LogoutResponse")
               if e.consumer == sp.sp.entity_id]
    assert len(answers) == 1
    observations = json.loads(answers[0].observations)
    assert observations["signature"] == "valid" and [c for c in observations["checks"] if not c[1]] == []


def test_a_docbook_ulink_to_the_sp_logs_the_citizen_in_too(driver, world):
    site, sp = world
    url = f"{sp.url}?case=9"
    send(site, description="Länk i texten",
         text=f'<article><para>Se <ulink url="{escape(url)}">din journal</ulink>.</para></article>')
    open_message(driver, site, "Länk i texten")
    first = driver.current_window_handle
    link = by_css(driver, "#message-body a.db-ulink")[0]
    assert link.get_attribute("href") == url
    link.click()  # a ulink opens a new window
    wait(driver, lambda d: len(d.window_handles) == 2)
    driver.switch_to.window(next(h for h in driver.window_handles if h != first))
    assert at_sp_page(driver, sp) == ACTIVE_SMS_EMAIL
    assert_single_sign_on_without_login_page(site, sp)

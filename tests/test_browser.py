"""End to end in a real headless Chromium: messages sent to /vp over HTTP, seen as the citizen sees
them in the inbox preview, and nothing from a message runs in the browser.

Needs the Debian packages chromium and chromium-driver and ``pip install selenium``; without them
every test here is skipped (with the reason), so a machine without a browser still passes.
"""

from __future__ import annotations

import importlib.util
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from xml.sax.saxutils import escape

import pytest

from mockplatform.domains.inbox1177.docbook import MISMATCH_TEXT
from mockplatform.domains.inbox1177.names import PATIENTPORTAL_CORE
from mockplatform.fixtures import builtin_fixtures_dir

from .chromium import blank, by_css, headless_chromium, wait, why_no_browser
from .soap import ACTIVE_SMS_EMAIL, CONSUMER, add_message, is_active_user

pytestmark = pytest.mark.skipif(why_no_browser() is not None, reason=why_no_browser() or "")

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def browser() -> Iterator:
    """One headless Chromium for the module."""
    yield from headless_chromium()


@pytest.fixture
def driver(browser):
    """The module's browser with one window and a blank page, whatever the previous test left."""
    return blank(browser)


class SsoTarget:
    """A local web server standing in for the consumer's system behind the SSO link; records each GET."""

    def __init__(self) -> None:
        seen = self.seen = []

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:
                pass

            def do_GET(self) -> None:
                seen.append(self.path)
                body = b"<!DOCTYPE html><title>Journalsystemet</title><p>Inloggad</p>"
                self.send_response(200)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.base_url = f"http://127.0.0.1:{self.server.server_address[1]}/sso/1177"
        threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def sso_target() -> Iterator[SsoTarget]:
    target = SsoTarget()
    yield target
    target.close()


@pytest.fixture
def site(start_platform, sso_target, tmp_path):
    """The platform, with the fixtures' SSO base URL of the consumer's system pointing at ``sso_target``."""
    fixtures = (builtin_fixtures_dir() / "inbox.toml").read_text(encoding="utf-8")
    original = 'sso_base_url = "https://journal.exempel.invalid/sso/1177"'
    assert original in fixtures
    path = tmp_path / "inbox.toml"
    path.write_text(fixtures.replace(original, f'sso_base_url = "{sso_target.base_url}"'), encoding="utf-8")
    return start_platform(fixtures=path)


def send(site, **kw) -> None:
    response = site.post(add_message(**kw))
    assert response.status_code == 200 and b"<resultCode>OK</resultCode>" in response.content, response.text


def open_inbox(driver, site) -> list:
    driver.get(f"{site.url}/ui/inbox?citizen={ACTIVE_SMS_EMAIL}")
    return by_css(driver, "#case-list li.case")


def case_named(driver, heading: str):
    for case in by_css(driver, "#case-list li.case"):
        if case.find_element("css selector", ".case-heading").text == heading:
            return case
    raise AssertionError(f"no case headed {heading!r} in the inbox")


DOCBOOK = """<article>
  <info><title>Välkommen på återbesök</title></info>
  <para>Läs om <ulink url="https://www.1177.se/avgifter">avgifter i vården</ulink> före besöket.</para>
  <section>
    <title>Inför besöket</title>
    <para>Ta med legitimation.</para>
    <variablelist>
      <title>Din tid</title>
      <varlistentry><term>Datum</term><listitem>14 maj 09.30</listitem></varlistentry>
    </variablelist>
    <bibliography>Går inte att svara på.</bibliography>
  </section>
  <para>Viktigt: <emphasis>fasta</emphasis> före provet.</para>
</article>"""


def test_inbox_list_shows_cases_as_1177(driver, site):
    send(site, description="Provsvar", text="Ditt provsvar är klart.")
    send(site, description=None, text="Ett meddelande utan rubrik.")
    send(site, description="Frågor om din behandling", thread_id="t-1", text="Första")
    send(site, description="Frågor om din behandling", thread_id="t-1", text="Andra")
    cases = open_inbox(driver, site)
    assert [c.find_element("css selector", ".case-heading").text for c in cases] == [
        "Frågor om din behandling", "Meddelande", "Provsvar"]
    for case in cases:
        assert case.find_element("css selector", ".case-unit").text == "Vårdcentralen Exempelby"
        assert case.find_element("css selector", ".case-date").text.strip()
        badge = case.find_element("css selector", ".badge-unread")
        assert badge.is_displayed() and badge.text == "Oläst"
        assert case.find_element("css selector", ".marker").value_of_css_property("background-color") not in (
            "rgba(0, 0, 0, 0)", "transparent")
    assert cases[0].find_element("css selector", ".thread-count").text == "2 meddelanden"
    assert not cases[1].find_elements("css selector", ".thread-count")


def test_opened_message_renders_docbook_and_is_read_after_going_back(driver, site):
    send(site, description="Kallelse till återbesök", text=DOCBOOK)
    send(site, description="Annat", text="Något annat.")
    open_inbox(driver, site)
    case_named(driver, "Kallelse till återbesök").find_element("css selector", "a.case-link").click()
    wait(driver, lambda d: by_css(d, "#message-heading"))
    assert driver.find_element("id", "message-heading").text == "Kallelse till återbesök"
    body = driver.find_element("id", "message-body")
    assert [h.text for h in body.find_elements("css selector", "h2")] == ["Välkommen på återbesök"]
    assert [h.text for h in body.find_elements("css selector", "h3")] == ["Inför besöket"]
    assert [h.text for h in body.find_elements("css selector", "h4")] == ["Din tid"]
    paras = [p.text for p in body.find_elements("css selector", "p.db-para")]
    assert paras[:2] == ["Läs om avgifter i vården före besöket.", "Ta med legitimation."]
    assert body.find_element("css selector", "dt").text == "Datum"
    assert body.find_element("css selector", "dd").text == "14 maj 09.30"
    assert body.find_element("css selector", "p.db-bibliography").text == "Går inte att svara på."
    link = body.find_element("link text", "avgifter i vården")
    assert link.get_attribute("href") == "https://www.1177.se/avgifter"
    # <emphasis> is outside the 1.x subset: the citizen sees the mismatch text in its place
    assert paras[2] == f"Viktigt: {MISMATCH_TEXT} före provet."
    assert "fasta" not in body.text
    driver.back()
    wait(driver, lambda d: by_css(d, "#case-list"))
    assert "unread" not in case_named(driver, "Kallelse till återbesök").get_attribute("class")
    assert not case_named(driver, "Kallelse till återbesök").find_elements("css selector", ".badge-unread")
    assert "unread" in case_named(driver, "Annat").get_attribute("class")
    driver.refresh()  # the state is the server's, not the browser's
    assert "unread" not in case_named(driver, "Kallelse till återbesök").get_attribute("class")


def sso_xml(query: str, link_type: str, text: str = "Boka om din tid") -> str:
    c = PATIENTPORTAL_CORE
    return (f'<c:ssoLink xmlns:c="{c}"><c:systemId>{CONSUMER}</c:systemId><c:text>{escape(text)}</c:text>'
            f"<c:queryString>{escape(query)}</c:queryString><c:type>{link_type}</c:type></c:ssoLink>")


def test_sso_link_leads_to_the_systems_base_url_with_the_query_string(driver, site, sso_target):
    send(site, description="Ombokning", text="<article><para>Du kan boka om din tid.</para></article>",
         sso=sso_xml("case=4711&action=rebook", "CurrentTarget"))
    open_inbox(driver, site)
    case_named(driver, "Ombokning").find_element("css selector", "a.case-link").click()
    link = wait(driver, lambda d: by_css(d, "#sso a.sso-link"))[0]
    expected = f"{sso_target.base_url}?case=4711&action=rebook"
    assert link.text == "Boka om din tid" and link.get_attribute("href") == expected
    assert link.get_attribute("target") in (None, "")
    link.click()
    wait(driver, lambda d: d.current_url == expected)
    assert driver.title == "Journalsystemet"
    assert [p for p in sso_target.seen if p != "/favicon.ico"] == ["/sso/1177?case=4711&action=rebook"]


def test_sso_link_of_type_new_target_opens_a_new_window(driver, site, sso_target):
    send(site, description="Enkät", text="<article><para>Svara på enkäten.</para></article>",
         sso=sso_xml("enkat=prom", "NewTarget", "Svara"))
    open_inbox(driver, site)
    case_named(driver, "Enkät").find_element("css selector", "a.case-link").click()
    link = wait(driver, lambda d: by_css(d, "#sso a.sso-link"))[0]
    assert link.get_attribute("target") == "_blank" and link.get_attribute("rel") == "noopener noreferrer"
    first = driver.current_window_handle
    link.click()
    wait(driver, lambda d: len(d.window_handles) == 2)
    driver.switch_to.window(next(h for h in driver.window_handles if h != first))
    wait(driver, lambda d: d.current_url == f"{sso_target.base_url}?enkat=prom")
    assert driver.execute_script("return window.opener") is None


def test_script_in_a_message_does_not_run(driver, site):
    attack = ("<script>document.title='pwned';window.pwned=1</script>"
              "<img src=x onerror=\"window.pwned=2\">")
    send(site, description=f"Rubrik {attack}", text=f"Hej {attack}")
    send(site, description="DocBook", text=f"<article><para>Hej</para>{attack}</article>")
    send(site, description="Inne i para", text=f"<article><para>{escape(attack)}</para></article>")
    cases = open_inbox(driver, site)
    assert len(cases) == 3
    for i in range(3):
        open_inbox(driver, site)[i].find_element("css selector", "a.case-link").click()
        wait(driver, lambda d: by_css(d, "#message-body"))
        assert driver.title.endswith(" · mockplatform") and not driver.title.startswith("pwned")
        assert driver.execute_script("return window.pwned === undefined")
        assert not by_css(driver, "#message-body img, #message-body script, #message-heading script")
    # the plain-text message shows the markup as the text it is
    open_inbox(driver, site)
    case_named(driver, f"Rubrik {attack}").find_element("css selector", "a.case-link").click()
    assert driver.find_element("id", "message-body").text == f"Hej {attack}"
    assert driver.find_element("id", "message-heading").text == f"Rubrik {attack}"
    assert driver.execute_script("return window.pwned === undefined")
    assert driver.title.endswith(" · mockplatform") and not driver.title.startswith("pwned")


def test_javascript_ulink_is_not_a_clickable_link(driver, site):
    text = ('<article><para>Klicka <ulink url="javascript:window.pwned=3;document.title=\'pwned\'">här</ulink> '
            'eller <ulink url="data:text/html,&lt;script&gt;alert(1)&lt;/script&gt;">där</ulink>.</para></article>')
    send(site, description="Länkar", text=text)
    open_inbox(driver, site)
    case_named(driver, "Länkar").find_element("css selector", "a.case-link").click()
    body = wait(driver, lambda d: by_css(d, "#message-body"))[0]
    assert not body.find_elements("css selector", "a")
    inert = body.find_elements("css selector", ".inert-link")
    assert [i.text for i in inert] == ["här", "där"]
    url = driver.current_url
    for element in inert:
        element.click()
    assert driver.current_url == url and len(driver.window_handles) == 1
    assert driver.execute_script("return window.pwned === undefined")
    assert driver.title.endswith(" · mockplatform") and not driver.title.startswith("pwned")


def test_journal_shows_new_exchanges_without_reloading(driver, site):
    site.post(is_active_user())
    driver.get(f"{site.url}/ui/journal")
    rows = by_css(driver, "#journal-rows tr")
    assert [r.get_attribute("data-id") for r in rows] == ["1"]
    driver.execute_script("window.notReloaded = true")
    site.post(is_active_user(address="SE-NOWHERE"))
    send(site, description="Live")
    wait(driver, lambda d: len(by_css(d, "#journal-rows tr")) == 3)
    rows = by_css(driver, "#journal-rows tr")
    assert [r.get_attribute("data-id") for r in rows] == ["3", "2", "1"]
    assert rows[1].find_element("css selector", ".badge").text == "VP004"
    assert rows[0].find_element("css selector", ".badge").text == "OK"
    assert driver.execute_script("return window.notReloaded === true")
    rows[1].find_element("css selector", "a").click()
    fault = wait(driver, lambda d: by_css(d, "#vp-fault"))[0]
    assert "VP004" in fault.text


def test_filtered_journal_adds_only_matching_exchanges(driver, site):
    driver.get(f"{site.url}/ui/journal?outcome=vp")
    assert not by_css(driver, "#journal-rows tr")
    assert driver.find_element("id", "journal-empty").is_displayed()
    site.post(is_active_user())
    site.post(is_active_user(address="SE-NOWHERE"))
    wait(driver, lambda d: len(by_css(d, "#journal-rows tr")) == 1)
    assert by_css(driver, "#journal-rows tr")[0].get_attribute("data-id") == "2"
    assert not driver.find_element("id", "journal-empty").is_displayed()
    site.post(is_active_user())
    site.post(is_active_user(address="SE-NOWHERE"))
    wait(driver, lambda d: len(by_css(d, "#journal-rows tr")) == 2)
    assert [r.get_attribute("data-id") for r in by_css(driver, "#journal-rows tr")] == ["4", "2"]


def test_screenshot_script_writes_both_pictures(tmp_path):
    spec = importlib.util.spec_from_file_location("make_screenshots", ROOT / "docs" / "make_screenshots.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert module.main(["--out", str(tmp_path)]) == 0
    for name in ("inbox.png", "message.png"):
        data = (tmp_path / name).read_bytes()
        assert data.startswith(b"\x89PNG\r\n\x1a\n") and len(data) > 20_000, name

"""The web pages: the inbox as the citizen sees it, the journal viewer, and that nothing a consumer
sends can run, load or link anywhere unsafe. In-process through ``Application.handle``; a few over
real HTTP."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from xml.sax.saxutils import escape

import pytest
import requests
from lxml import html as lxml_html

import mockplatform.web
from mockplatform import Application, Config, Request, Settings
from mockplatform.domains.inbox1177.docbook import MISMATCH_TEXT
from mockplatform.domains.inbox1177.links import safe_url
from mockplatform.domains.inbox1177.names import ADD_MESSAGE_NS, IS_ACTIVE_USER_NS, PATIENTPORTAL_CORE
from mockplatform.domains.inbox1177.store import read_inbox, sync_inbox
from mockplatform.errors import ConfigError
from mockplatform.http_routes import handle as route
from mockplatform.messages import is_loopback
from mockplatform.producers.faults import FaultKind, InjectedFault
from mockplatform.web.responses import CSP

from .conftest import stored
from .soap import (
    ACTIVE_NO_NOTIFICATION,
    ACTIVE_SMS_EMAIL,
    CONSUMER,
    OTHER_CONSUMER,
    UNAUTHORISED,
    add_message,
    envelope,
    is_active_user,
)

BASE = "https://journal.exempel.invalid/sso/1177"  # sso_base_url of SE2321000016-7XQA in the fixtures


class Client:
    """Calls the application in-process, the way the HTTP adapter would."""

    def __init__(self, app: Application) -> None:
        self.app = app

    def post(self, body: bytes, consumer: str | None = None, path: str = "/vp"):
        headers = [("Content-Type", "text/xml; charset=UTF-8")]
        if consumer:
            headers.append(("x-vp-sender-id", consumer))
        return route(self.app, Request("POST", path, headers, body, client="127.0.0.1:40000"))

    def get(self, path: str, client: str = "127.0.0.1:40000", method: str = "GET", **query: str):
        return route(self.app, Request(method, path, [("Host", "localhost")], query=query, client=client))

    def page(self, path: str, **query: str):
        response = self.get(path, **query)
        assert response.status == 200, response.body[:500]
        return lxml_html.fromstring(response.body)

    def send(self, **kw) -> int:
        """Send an AddMessage and return the stored message's id."""
        response = self.post(add_message(**kw))
        assert response.status == 200 and b"<resultCode>OK</resultCode>" in response.body, response.body
        sync_inbox(self.app.journal)
        return self.app.journal.reader().execute("SELECT max(id) FROM inbox_messages").fetchone()[0]


@pytest.fixture
def client(tmp_path) -> Iterator[Client]:
    app = Application(Config(**stored(tmp_path / "journal.sqlite")))
    yield Client(app)
    app.close()


_COMPOUND = re.compile(r"([a-z0-9]*)((?:[#.][\w-]+|\[[\w-]+='[^']*'\])*)")
_SIMPLE = re.compile(r"([#.])([\w-]+)|\[([\w-]+)='([^']*)'\]")


def css(element, selector: str) -> list:
    """The elements a simple CSS selector picks (tag, #id, .class, [attr='v'], descendants, commas).

    Enough for these tests without the cssselect package.
    """
    alternatives = []
    for alternative in selector.split(","):
        steps = []
        for compound in alternative.split():
            match = _COMPOUND.fullmatch(compound)
            assert match, f"selector not supported: {compound}"
            conditions = []
            for kind, name, attr, value in _SIMPLE.findall(match[2]):
                if kind == "#":
                    conditions.append(f"@id='{name}'")
                elif kind == ".":
                    conditions.append(f"contains(concat(' ', normalize-space(@class), ' '), ' {name} ')")
                else:
                    conditions.append(f"@{attr}='{value}'")
            steps.append((match[1] or "*") + "".join(f"[{c}]" for c in conditions))
        alternatives.append("descendant-or-self::" + "//".join(steps))
    return element.xpath(" | ".join(alternatives))


def text_of(element) -> str:
    return " ".join(element.text_content().split())


def sso(system_id: str = CONSUMER, text: str = "Logga in", query: str | None = "case=1&a=b",
        link_type: str = "NewTarget") -> str:
    c = PATIENTPORTAL_CORE
    q = f"<c:queryString>{escape(query)}</c:queryString>" if query is not None else ""
    return (f'<c:ssoLink xmlns:c="{c}"><c:systemId>{system_id}</c:systemId><c:text>{escape(text)}</c:text>{q}'
            f"<c:type>{link_type}</c:type></c:ssoLink>")


# -- the front page and what every page carries -------------------------------------------------


def test_front_page_shows_status_and_links(client):
    ui = client.get("/ui")
    assert ui.status == 302 and dict(ui.headers)["Location"] == "/ui/"
    assert client.get("/").status == 404  # the host root stays the platform's
    doc = client.page("/ui/")
    links = {a.get("href") for a in doc.iter("a")}
    assert {"/ui/inbox", "/ui/journal", "/status"} <= links
    body = text_of(doc)
    assert "mockplatform" in body and "SE5565594230-1177" in body and "27 vägval" in body
    assert any(h.endswith("?wsdl") for h in links)


PAGES = ["/ui/", "/ui/inbox", "/ui/journal", "/ui/journal/1", "/ui/message/1", "/ui/api/journal", "/ui/nope",
         "/ui/static/journal.js", "/favicon.ico"]


def test_the_favicon_every_browser_asks_for_is_served(client, tmp_path):
    """Browsers ask every site for /favicon.ico: it is an icon from the package (it was a 404 in the log)."""
    icon = client.get("/favicon.ico")
    assert icon.status == 200 and dict(icon.headers)["Content-Type"] == "image/x-icon"
    assert icon.body[:4] == b"\0\0\1\0" and int.from_bytes(icon.body[4:6], "little") >= 1  # an ICO file
    assert icon.body == (Path(mockplatform.web.__file__).parent / "static" / "favicon.ico").read_bytes()
    assert client.get("/favicon.ico", method="HEAD").status == 200
    assert route(client.app, Request("POST", "/favicon.ico", [("Host", "localhost")], b"", query={},
                                     client="127.0.0.1:1")).status == 404
    off = Client(Application(Config(**stored(tmp_path / "off.sqlite"),
                                    settings=Settings(ui="off"))))
    try:
        assert off.get("/favicon.ico").status == 404  # no pages, no icon
    finally:
        off.app.close()


@pytest.mark.parametrize("path", PAGES)
def test_every_page_has_the_strict_content_security_policy(client, path):
    client.send()
    headers = dict(client.get(path).headers)
    assert headers["Content-Security-Policy"] == CSP
    assert "script-src 'self'" in CSP and "default-src 'none'" in CSP and "base-uri 'none'" in CSP
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Referrer-Policy"] == "no-referrer"


def test_pages_load_only_their_own_static_files(client):
    client.send(text="<article><para>x</para></article>")
    for path in ("/ui/", "/ui/inbox", "/ui/journal", "/ui/message/1", "/ui/journal/1"):
        doc = client.page(path)
        sources = [el.get("src") for el in doc.iter("script", "img", "iframe")]
        sources += [el.get("href") for el in doc.iter("link")]
        assert all(s is not None and s.startswith("/ui/static/") for s in sources), (path, sources)
        assert not [el for el in doc.iter("script") if (el.text or "").strip()], "no inline script"


def test_static_files_are_only_the_named_ones(client):
    js = client.get("/ui/static/journal.js")
    assert js.status == 200 and dict(js.headers)["Content-Type"].startswith("text/javascript")
    assert b"innerHTML" not in js.body  # rows are built with textContent
    assert client.get("/ui/static/ui.css").status == 200
    for bad in ("/ui/static/../app.py", "/ui/static/__init__.py", "/ui/static/", "/ui/static/x.js"):
        assert client.get(bad).status == 404, bad


def test_head_answers_like_get_without_marking_read(client):
    message_id = client.send()
    assert client.get(f"/ui/message/{message_id}", method="HEAD").status == 200
    assert read_inbox(client.app.journal, ACTIVE_SMS_EMAIL)[0]["messages"][0]["unread"] is True


def test_pages_leave_other_paths_alone(client):
    assert client.get("/status").status == 200
    assert client.get("/nothing").status == 404
    wsdl = "/vp/infrastructure/eservicesupply/patientportal/IsActiveUser/1/rivtabp21"
    assert client.get(wsdl, wsdl="").status == 200
    assert client.post(is_active_user()).status == 200


# -- the inbox list ---------------------------------------------------------------------------------


def test_inbox_lists_main_cases_as_1177_does(client):
    client.send(description="Provsvar", text="Ditt provsvar är klart.")
    client.send(description=None, text="Utan rubrik")
    client.send(description="Frågor om din behandling", thread_id="t-1", text="Första")
    client.send(description="Frågor om din behandling", thread_id="t-1", text="Andra")
    client.send(pnr=ACTIVE_NO_NOTIFICATION, description="Till någon annan")
    doc = client.page("/ui/inbox", citizen=ACTIVE_SMS_EMAIL)
    cases = css(doc, "#case-list li.case")
    headings = [text_of(css(c, ".case-heading")[0]) for c in cases]
    assert headings == ["Frågor om din behandling", "Meddelande", "Provsvar"]  # newest first
    assert all(text_of(css(c, ".case-unit")[0]) == "Vårdcentralen Exempelby" for c in cases)
    assert all("unread" in c.get("class") for c in cases)
    assert all(css(c, ".case-date")[0].text_content().strip() for c in cases)
    counts = [text_of(css(c, ".thread-count")[0]) if css(c, ".thread-count") else None for c in cases]
    assert counts == ["2 meddelanden", None, None]
    assert text_of(css(doc, "#unread-count")[0]) == "3"


def test_a_thread_row_opens_the_message_it_shows(client):
    """The row shows the thread's newest message, and opens that one (it opened the oldest unread); the
    case stays unread while an older message is, and the message page lists that one as unread."""
    first = client.send(description="Frågor", thread_id="t-2", text="Första")
    newest = client.send(description="Svar på dina frågor", thread_id="t-2", text="Andra")
    row = css(client.page("/ui/inbox", citizen=ACTIVE_SMS_EMAIL), "#case-list li.case")[0]
    assert text_of(css(row, ".case-heading")[0]) == "Svar på dina frågor"
    assert css(row, "a.case-link")[0].get("href") == f"/ui/message/{newest}"
    opened = client.page(f"/ui/message/{newest}")
    assert text_of(css(opened, "#message-heading")[0]) == "Svar på dina frågor"
    older = css(opened, "#thread-list li")[0]
    assert "unread" in older.get("class") and css(older, "a")[0].get("href") == f"/ui/message/{first}"
    row = css(client.page("/ui/inbox", citizen=ACTIVE_SMS_EMAIL), "#case-list li.case")[0]
    assert "unread" in row.get("class")
    client.page(f"/ui/message/{first}")
    row = css(client.page("/ui/inbox", citizen=ACTIVE_SMS_EMAIL), "#case-list li.case")[0]
    assert "unread" not in row.get("class") and css(row, "a.case-link")[0].get("href") == f"/ui/message/{newest}"


def test_inbox_picker_lists_the_fixture_citizens(client):
    doc = client.page("/ui/inbox")
    values = [o.get("value") for o in css(doc, "select#citizen option")]
    assert values == [c.subject_of_care_id for c in client.app.fixtures.citizens]
    unknown = client.page("/ui/inbox", citizen="200001012384")
    assert "finns inte" in text_of(unknown)


def test_the_inbox_page_takes_the_citizen_as_it_shows_it(client):
    """The picker shows 19121212-1212: the page opens that inbox written so, as the admin API does; what is no
    12-digit number is told so, not called an unknown citizen."""
    shown = client.page("/ui/inbox", citizen=f"{ACTIVE_SMS_EMAIL[:8]}-{ACTIVE_SMS_EMAIL[8:]}")
    assert "finns inte" not in text_of(shown) and css(shown, "#inbox-title")
    for bad in ("121212-1212", "abc"):
        said = text_of(client.page("/ui/inbox", citizen=bad))
        assert "tolv siffror" in said and "finns inte" not in said, bad


# -- opening a message --------------------------------------------------------------------------------


def test_opening_a_message_marks_it_read_and_the_mark_survives_a_restart(tmp_path):
    journal = tmp_path / "j.sqlite"
    app = Application(Config(**stored(journal)))
    c = Client(app)
    first = c.send(description="Första")
    c.send(description="Andra")
    c.page(f"/ui/message/{first}")
    app.close()
    app = Application(Config(**stored(journal)))
    try:
        messages = {m["description"]: m["unread"] for case in read_inbox(app.journal, ACTIVE_SMS_EMAIL)
                    for m in case["messages"]}
        assert messages == {"Första": False, "Andra": True}
        cases = css(Client(app).page("/ui/inbox", citizen=ACTIVE_SMS_EMAIL), "li.case")
        assert ["unread" in c.get("class") for c in cases] == [True, False]
    finally:
        app.close()


def test_message_shows_heading_unit_details_and_blank_heading_when_missing(client):
    unit = (f'<c:organisationUnit xmlns:c="{PATIENTPORTAL_CORE}"><c:unitId>SE2321000016-A1B2</c:unitId>'
            "<c:unitName>Vårdcentralen Exempelby</c:unitName><c:unitAddress>Storgatan 1</c:unitAddress>"
            "<c:unitPostalCode>123 45</c:unitPostalCode><c:unitPostalCity>Exempelby</c:unitPostalCity>"
            "<c:unitTelephone>010-123 45 67</c:unitTelephone></c:organisationUnit>")
    body = add_message(description="Kallelse").replace(
        b"<c:organisationUnit><c:unitId>SE2321000016-A1B2</c:unitId><c:unitName>V\xc3\xa5rdcentralen Exempelby"
        b"</c:unitName></c:organisationUnit>", unit.encode())
    assert client.post(body).status == 200
    doc = client.page("/ui/message/1")
    assert text_of(css(doc, "#message-heading")[0]) == "Kallelse"
    card = text_of(css(doc, "#unit")[0])
    for part in ("Vårdcentralen Exempelby", "Storgatan 1", "123 45", "Exempelby", "010-123 45 67", "SE2321000016-A1B2"):
        assert part in card
    missing = client.send(description=None)
    doc = client.page(f"/ui/message/{missing}")
    assert text_of(css(doc, "#message-heading")[0]) == ""
    assert "messageDescription saknas" in text_of(css(doc, ".integrator")[0])


def test_message_shows_its_thread(client):
    ids = [client.send(description=f"Svar {i}", thread_id="tråd-9") for i in range(3)]
    doc = client.page(f"/ui/message/{ids[1]}")
    items = css(doc, "#thread-list li")
    assert [text_of(css(i, ".thread-heading")[0]) for i in items] == ["Svar 0", "Svar 1", "Svar 2"]
    assert "current" in items[1].get("class") and not css(items[1], "a")
    assert [a.get("href") for a in css(doc, "#thread-list a")] == [f"/ui/message/{ids[0]}",
                                                                       f"/ui/message/{ids[2]}"]
    alone = client.send(description="Ensam")
    assert not css(client.page(f"/ui/message/{alone}"), "#thread-list")


def test_unknown_message_and_exchange_are_404(client):
    assert client.get("/ui/message/999").status == 404
    assert client.get("/ui/journal/999").status == 404
    assert client.get("/ui/message/abc").status == 404


# -- rendering the text ---------------------------------------------------------------------------


DOCBOOK = """<article>
  <info><title>Välkommen</title></info>
  <para>Hej! Läs <ulink url="https://www.1177.se/x?a=1&amp;b=2">mer här</ulink>, tack.</para>
  <section>
    <title>Inför besöket</title>
    <para>Ta med legitimation.</para>
    <variablelist>
      <title>Din tid</title>
      <varlistentry><term>Datum</term><listitem>14 maj 09.30</listitem></varlistentry>
      <varlistentry><term>Plats</term><listitem>Storgatan 12</listitem></varlistentry>
    </variablelist>
    <bibliography>Går inte att svara på.</bibliography>
  </section>
</article>"""


def test_docbook_in_the_subset_is_rendered_as_readable_html(client):
    doc = client.page(f"/ui/message/{client.send(text=DOCBOOK)}")
    body = css(doc, "#message-body")[0]
    assert [text_of(h) for h in css(body, "h2")] == ["Välkommen"]
    assert [text_of(h) for h in css(body, "h3")] == ["Inför besöket"]
    assert [text_of(h) for h in css(body, "h4")] == ["Din tid"]
    assert [text_of(p) for p in css(body, "p.db-para")] == ["Hej! Läs mer här, tack.", "Ta med legitimation."]
    assert [text_of(t) for t in css(body, "dl dt")] == ["Datum", "Plats"]
    assert [text_of(t) for t in css(body, "dl dd")] == ["14 maj 09.30", "Storgatan 12"]
    assert text_of(css(body, "p.db-bibliography")[0]) == "Går inte att svara på."
    (link,) = css(body, "a")
    assert link.get("href") == "https://www.1177.se/x?a=1&b=2" and text_of(link) == "mer här"
    assert link.get("rel") == "noopener noreferrer" and link.get("target") == "_blank"
    assert MISMATCH_TEXT not in text_of(body)
    assert not css(doc, "#docbook-problems")


MISMATCHES = {
    "element outside the subset": ("<article><para>Hej <emphasis>du</emphasis>!</para></article>", "Hej", 1),
    "wrong parent": ("<article><section><section><para>x</para></section></section><para>Kvar</para></article>",
                     "Kvar", 1),
    "root other than article": ("<html><body>x</body></html>", None, 1),
    "not well-formed": ("<article><para>x</article>", None, 1),
}


@pytest.mark.parametrize(("text", "kept", "count"), MISMATCHES.values(), ids=MISMATCHES.keys())
def test_anything_outside_the_subset_shows_the_mismatch_text(client, text, kept, count):
    doc = client.page(f"/ui/message/{client.send(text=text)}")
    body = text_of(css(doc, "#message-body")[0])
    assert body.count(MISMATCH_TEXT) == count
    if kept:
        assert kept in body
    assert css(doc, "#docbook-problems li"), "the integrator box names the problem"


def test_plain_text_is_shown_as_text_with_its_line_breaks(client):
    text = "Hej!\n\nDitt provsvar är klart.\n<b>Inte fetstil</b> & inget annat."
    response = client.get(f"/ui/message/{client.send(text=text)}")
    (div,) = css(lxml_html.fromstring(response.body), "#message-body .plain-text")
    assert div.text_content() == text and not len(div)
    assert b"&lt;b&gt;Inte fetstil&lt;/b&gt; &amp; inget annat." in response.body


def test_no_text_from_a_message_can_become_markup(client):
    evil = '"><script>document.title="pwned"</script><img src=x onerror=alert(1)>'
    unit_evil = add_message(description=evil, text="Hej " + evil).replace(
        "Vårdcentralen Exempelby".encode(), escape(evil).encode())
    assert client.post(unit_evil).status == 200
    client.send(text=f"<article><para>{escape(evil)}</para><script>alert(1)</script></article>", description=evil)
    pages = [("/ui/inbox", {"citizen": ACTIVE_SMS_EMAIL}), ("/ui/message/1", {}), ("/ui/message/2", {}),
             ("/ui/journal", {}), ("/ui/journal/1", {}), ("/ui/journal/2", {}), ("/ui/api/journal", {})]
    for path, query in pages:
        response = client.get(path, **query)
        if path.startswith("/ui/api/"):  # JSON: the script puts its values in as text
            assert json.loads(response.body)["exchanges"][0]["consumer"] == CONSUMER
            continue
        assert response.status == 200
        doc = lxml_html.fromstring(response.body)
        assert not css(doc, "img"), path
        assert all(s.get("src", "").startswith("/ui/static/") and not (s.text or "").strip()
                   for s in doc.iter("script")), path
        assert not [el for el in doc.iter() if any(a.startswith("on") for a in el.attrib)], path
        assert b"<script>document.title" not in response.body, path


UNSAFE_URLS = ["javascript:alert(1)", "JaVaScRiPt:alert(1)", " javascript:alert(1)", "java&#9;script:alert(1)",
               "vbscript:msgbox(1)", "data:text/html,<b>x</b>", "file:///etc/passwd", "//evil.example/x",
               "/relative", "https:/\\evil.example", "mailto:a@b.se", ""]


@pytest.mark.parametrize("url", UNSAFE_URLS)
def test_only_http_and_https_ulinks_become_links(client, url):
    text = (f'<article><para>Klicka <ulink url="{escape(url, {chr(34): "&quot;"})}">här</ulink> eller '
            '<ulink url="https://www.1177.se/">1177</ulink>.</para></article>')
    doc = client.page(f"/ui/message/{client.send(text=text)}")
    links = css(doc, "#message-body a")
    assert [a.get("href") for a in links] == ["https://www.1177.se/"]
    inert = css(doc, "#message-body .inert-link")
    assert [text_of(i) for i in inert] == ["här"]


def test_integrator_box_lists_the_refused_link_targets(client):
    text = '<article><para><ulink url="javascript:alert(1)">a</ulink><ulink url="https://ok.se">b</ulink></para></article>'
    doc = client.page(f"/ui/message/{client.send(text=text)}")
    assert [text_of(li) for li in css(doc, "#refused-links li")] == ["javascript:alert(1)"]


@pytest.mark.parametrize("url", ["https://www.1177.se/a?b=c#d", "http://localhost:8080/x", "HTTPS://EXEMPEL.SE"])
def test_http_and_https_urls_are_kept(url):
    assert safe_url(url) == url


@pytest.mark.parametrize("url", [*UNSAFE_URLS, "java\tscript:alert(1)", "https://a\nb.se", "https://\x00a.se", None])
def test_safe_url_refuses(url):
    assert safe_url(url.replace("&#9;", "\t") if url else url) is None


# -- the SSO link ----------------------------------------------------------------------------------


def test_sso_link_is_the_systems_base_url_with_the_query_string(client):
    text = "<article><para>Logga in för att boka om.</para></article>"
    message_id = client.send(text=text, sso=sso(query='case=12&x="1"'))
    doc = client.page(f"/ui/message/{message_id}")
    (link,) = css(doc, "#sso a")
    assert link.get("href") == f'{BASE}?case=12&x="1"'
    assert text_of(link) == "Logga in"
    assert link.get("target") == "_blank" and link.get("rel") == "noopener noreferrer"


@pytest.mark.parametrize(("link_type", "target", "note"), [
    ("NewTarget", "_blank", False), ("CurrentTarget", None, False), ("Embedded", "_blank", True),
    ("Widget", "_blank", True),
])
def test_sso_link_opens_per_type(client, link_type, target, note):
    message_id = client.send(text="<article><para>x</para></article>", sso=sso(link_type=link_type))
    doc = client.page(f"/ui/message/{message_id}")
    (link,) = css(doc, "#sso a")
    assert link.get("target") == target
    assert bool(css(doc, "#sso .integrator-note")) is note
    assert not css(doc, "iframe, object, embed")


def test_sso_link_without_a_configured_system_is_inert(client):
    doc = client.page(f"/ui/message/{client.send(text='<article><para>x</para></article>', sso=sso('SE-OKAND'))}")
    assert not css(doc, "#sso a")
    assert text_of(css(doc, "#sso .inert-link")[0]) == "Logga in"
    assert "SE-OKAND" in text_of(css(doc, "#sso")[0])


def test_sso_link_without_query_string_is_the_base_url(client):
    doc = client.page(f"/ui/message/{client.send(text='<article><para>x</para></article>', sso=sso(query=None))}")
    assert css(doc, "#sso a")[0].get("href") == BASE


# -- the journal ------------------------------------------------------------------------------------


@pytest.fixture
def mixed(client) -> Client:
    """One exchange of each outcome: ok (1, 2), VP004 (3), VP007 (4), the producer's Client fault for a schema
    violation (5), POST outside /vp (6)."""
    assert client.post(is_active_user()).status == 200
    assert client.post(add_message(), consumer=OTHER_CONSUMER).status == 200
    assert client.post(is_active_user(address="SE-NOWHERE")).status == 500
    assert client.post(is_active_user(), consumer=UNAUTHORISED).status == 500
    invalid = add_message(message_ns=ADD_MESSAGE_NS)  # message children in the responder namespace
    assert client.post(invalid).status == 500
    assert client.post(is_active_user(), path="/wrong").status == 404
    return client


def api(client: Client, **query) -> dict:
    response = client.get("/ui/api/journal", **query)
    assert response.status == 200
    assert dict(response.headers)["Content-Type"].startswith("application/json")
    return json.loads(response.body)


def ids(client: Client, **query) -> list[int]:
    doc = client.page("/ui/journal", **query)
    return [int(tr.get("data-id")) for tr in css(doc, "#journal-rows tr")]


FILTERS = {
    "nothing": ({}, [6, 5, 4, 3, 2, 1]),
    "ok": ({"outcome": "ok"}, [2, 1]),
    "vp fault": ({"outcome": "vp"}, [4, 3]),
    "one vp code": ({"outcome": "VP007"}, [4]),
    "vp code in lower case": ({"outcome": "vp004"}, [3]),
    "client fault": ({"outcome": "client"}, [5]),
    "producer fault": ({"outcome": "producer"}, []),
    "other": ({"outcome": "other"}, [6]),
    "contract": ({"contract": ADD_MESSAGE_NS}, [5, 2]),
    "consumer": ({"consumer": OTHER_CONSUMER}, [2]),
    "consumer, any case": ({"consumer": UNAUTHORISED.lower()}, [4]),
    "logical address": ({"address": "SE-NOWHERE"}, [3]),
    "combined": ({"contract": IS_ACTIVE_USER_NS, "outcome": "vp"}, [4, 3]),
}


@pytest.mark.parametrize(("query", "expected"), FILTERS.values(), ids=FILTERS.keys())
def test_journal_filters_the_page_and_the_api_alike(mixed, query, expected):
    assert ids(mixed, **query) == expected
    assert [e["id"] for e in api(mixed, **query)["exchanges"]] == expected


def test_a_schema_violation_is_a_client_fault_and_an_injected_server_fault_a_producer_fault(client):
    """The producer's SOAP Client fault (a schema violation) is labelled Klientfel, its Server fault
    Producentfel; the outcome filter tells them apart."""
    assert client.post(add_message(message_ns=ADD_MESSAGE_NS)).status == 500
    client.app.faults.add(InjectedFault(FaultKind.SOAP_FAULT, text="Databasen svarar inte"))
    assert client.post(is_active_user()).status == 500
    rows = {e["id"]: e for e in api(client)["exchanges"]}
    assert (rows[1]["outcome"], rows[1]["outcome_label"]) == ("client", "Klientfel")
    assert (rows[2]["outcome"], rows[2]["outcome_label"]) == ("producer", "Producentfel")
    assert ids(client, outcome="client") == [1] and ids(client, outcome="producer") == [2]
    doc = client.page("/ui/journal")
    assert [text_of(b) for b in css(doc, "#journal-rows .badge.outcome")] == ["Producentfel", "Klientfel"]
    options = [text_of(o) for o in css(doc, "select[name='outcome'] option")]
    assert any(o.startswith("Klientfel (client fault") for o in options)
    exchange = client.page("/ui/journal/1")
    assert "Klientfel" in text_of(css(exchange, "h1")[0])


def test_journal_rows_name_contract_and_outcome(mixed):
    rows = {e["id"]: e for e in api(mixed)["exchanges"]}
    assert rows[1]["contract_name"] == "IsActiveUser 1" and rows[1]["outcome"] == "ok"
    assert rows[3]["outcome_label"] == "VP004" and rows[3]["outcome"] == "vp"
    assert rows[5]["outcome"] == "client" and rows[5]["http_status"] == 500
    assert rows[5]["outcome_label"] == "Klientfel"
    assert rows[6]["contract_name"] == "POST /wrong"
    doc = mixed.page("/ui/journal")
    filter_names = {s.get("name") for s in css(doc, "form.filters select")}
    assert filter_names == {"contract", "consumer", "address", "outcome"}


def test_poll_endpoint_returns_only_newer_exchanges(mixed):
    first = api(mixed, after="0")
    assert [e["id"] for e in first["exchanges"]] == [6, 5, 4, 3, 2, 1] and first["last_id"] == 6
    assert api(mixed, after="6") == {"exchanges": [], "last_id": 6}
    mixed.post(is_active_user())
    newer = api(mixed, after="6")
    assert [e["id"] for e in newer["exchanges"]] == [7] and newer["last_id"] == 7
    assert newer["exchanges"][0]["url"] == "/ui/journal/7"
    # last_id moves on past exchanges the filter hides, so the next poll does not read them again
    mixed.post(is_active_user(address="SE-NOWHERE"))
    assert api(mixed, after="7", outcome="ok") == {"exchanges": [], "last_id": 8}
    assert mixed.get("/ui/api/journal", after="x").status == 400


def test_journal_page_carries_the_poll_state_for_its_script(mixed):
    doc = mixed.page("/ui/journal", outcome="ok")
    tbody = css(doc, "#journal-rows")[0]
    assert tbody.get("data-last-id") == "6" and tbody.get("data-api") == "/ui/api/journal"
    assert [s.get("src") for s in doc.iter("script")] == ["/ui/static/journal.js"]


def test_exchange_shows_bodies_headers_fault_and_trace(mixed):
    doc = mixed.page("/ui/journal/3")
    assert "VP004" in text_of(css(doc, "#vp-fault")[0])
    assert "No receiverId (logical address) found" in text_of(css(doc, "#vp-fault")[0])
    assert [text_of(li) for li in css(doc, "#route-trace li")]
    request_body = css(doc, "#request-body")[0].text_content()
    assert "<soap:Envelope" in request_body and "\n  <soap:Header>" in request_body  # indented, as text
    assert "VP004" in css(doc, "#response-body")[0].text_content()
    headers = [text_of(th) for th in css(doc, "#request table.headers th")]
    assert "Content-Type" in headers


def test_exchange_shows_the_contract_rule_findings_with_hints(client):
    client.send(description=None, source_system=None)
    doc = client.page("/ui/journal/1")
    rule_ids = [text_of(c) for c in css(doc, "#findings .rule-id")]
    assert "INBOX-MESSAGE-DESCRIPTION" in rule_ids and "INBOX-SOURCE-SYSTEM" in rule_ids
    assert css(doc, "#findings .hint")
    assert css(doc, "a[href='/ui/message/1']"), "links to the message as the citizen sees it"
    client.send()
    assert "Inga anmärkningar" in text_of(css(client.page("/ui/journal/2"), "#findings")[0])


def test_exchange_body_that_is_not_xml_is_shown_as_escaped_text(client):
    client.post(b"<script>alert(1)</script> not xml <", path="/vp")
    response = client.get("/ui/journal/1")
    doc = lxml_html.fromstring(response.body)
    assert css(doc, "#request-body")[0].text_content() == "<script>alert(1)</script> not xml <"
    assert b"<script>alert(1)" not in response.body


def test_envelope_with_header_values_that_look_like_markup(client):
    body = envelope(f'<IsActiveUser xmlns="{IS_ACTIVE_USER_NS}"><subjectOfCareId>{ACTIVE_SMS_EMAIL}'
                    "</subjectOfCareId></IsActiveUser>")
    route(client.app, Request("POST", "/vp", [("Content-Type", "text/xml"), ("x-evil", "<b onclick=x>")], body,
                              client="127.0.0.1:1"))
    response = client.get("/ui/journal/1")
    assert b"<b onclick" not in response.body and b"&lt;b onclick=x&gt;" in response.body


# -- the ui setting --------------------------------------------------------------------------------


def test_ui_setting_is_validated_by_name():
    with pytest.raises(ConfigError, match="'ui'"):
        Settings(ui="yes")
    assert Settings().ui == "on"


def test_ui_off_serves_no_pages_and_leaves_the_platform_alone(tmp_path):
    app = Application(Config(**stored(tmp_path / "j.sqlite"), settings=Settings(ui="off")))
    c = Client(app)
    try:
        for path in ("/ui", "/ui/", "/ui/inbox", "/ui/api/journal", "/ui/static/journal.js"):
            assert c.get(path).status == 404, path
        assert c.get("/status").status == 200
        assert c.post(is_active_user()).status == 200
    finally:
        app.close()


@pytest.mark.parametrize(("client_addr", "status"), [
    ("127.0.0.1:5000", 200), ("[::1]:5000", 200), ("::1:5000", 200), ("::ffff:127.0.0.1:5000", 200),
    ("192.0.2.7:5000", 403), ("[2001:db8::1]:5000", 403), ("10.0.0.1", 403), ("", 403),
])
def test_ui_loopback_answers_only_this_machine(tmp_path, client_addr, status):
    app = Application(Config(**stored(tmp_path / "j.sqlite"), settings=Settings(ui="loopback")))
    try:
        c = Client(app)
        for path in ("/ui/", "/ui/api/journal", "/ui/static/ui.css"):
            assert c.get(path, client=client_addr).status == status, path
        assert c.get("/status", client=client_addr).status == 200
    finally:
        app.close()


@pytest.mark.parametrize(("client_addr", "expected"), [
    ("127.0.0.1:1", True), ("127.1.2.3:1", True), ("[::1]:1", True), ("::1:80", True), ("::1", True),
    ("192.0.2.1:1", False), ("[::2]:1", False), ("localhost:1", False), ("", False),
])
def test_is_loopback(client_addr, expected):
    assert is_loopback(client_addr) is expected


# -- over real HTTP -------------------------------------------------------------------------------


def test_pages_over_http(platform):
    platform.post(add_message(description="Över HTTP"))
    r = requests.get(platform.url + "/ui", allow_redirects=False, timeout=10)
    assert r.status_code == 302 and r.headers["Location"] == "/ui/"
    r = requests.get(f"{platform.url}/ui/inbox", params={"citizen": ACTIVE_SMS_EMAIL}, timeout=10)
    assert r.status_code == 200 and r.headers["Content-Type"] == "text/html; charset=utf-8"
    assert "Över HTTP" in r.text and r.headers["Content-Security-Policy"] == CSP
    head = requests.head(f"{platform.url}/ui/journal", timeout=10)
    assert head.status_code == 200 and head.content == b""
    data = requests.get(f"{platform.url}/ui/api/journal", params={"after": 0}, timeout=10).json()
    assert [e["id"] for e in data["exchanges"]] == [1]

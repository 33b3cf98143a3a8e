"""The SSO probe: the citizen's browser against a service provider, with the stand-in as 1177's IdP.

It registers the SP from its metadata, then, each time with a new SP session: opens the protected start page,
follows the SP's redirect to the stand-in (where the test citizen is logged in), and posts the Response the
stand-in answers to the SP's ACS; first a valid one, then each broken kind (``saml.KINDS``), armed for that SP
like a fault. Whether the SP let the citizen in is seen by opening the start page again: shown, or sent back to
the IdP. A replay is the valid Response posted again in a new session. Then the SP's own logout (``--logout``,
when given) and 1177's logout (the stand-in's /logout). Each post to the SP is journaled with what was seen;
the ``uthopp`` profile judges them with the SP's own messages.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, field
from http.cookies import CookieError, SimpleCookie
from typing import TYPE_CHECKING
from urllib.parse import urlencode, urljoin, urlsplit

from ...errors import ConfigError
from ...messages import Request, Response
from ...probing import FAILED, NOT_RUN, PASSED, ProbeOptions, ProbeRun
from ...web.forms import FORM_TYPE
from . import saml
from .idp import state
from .metadata import MetadataError, fetch_metadata, read_sp_metadata
from .names import AFTER_LOGOUT, PREFIX, SP_REACTION
from .store import SsoStore

if TYPE_CHECKING:
    import urllib3

    from ...app import Application

TIMEOUT_S = 15.0
MAX_HOPS = 8
ENVIRONMENT = "test"
_INPUT = re.compile(r"<input\b[^>]*>", re.I)
_ATTR = re.compile(r"""(\w+)\s*=\s*("[^"]*"|'[^']*')""")
_FORM = re.compile(r"<form\b[^>]*>", re.I)


class Unreachable(Exception):
    """The browser could not get an answer (refused, timed out): nothing can be concluded from it."""


@dataclass
class Page:
    url: str
    status: int
    headers: dict[str, str]
    body: bytes

    @property
    def location(self) -> str | None:
        loc = self.headers.get("location")
        return urljoin(self.url, loc) if loc and 300 <= self.status < 400 else None

    def form(self) -> tuple[str, dict[str, str]] | None:
        """The page's first form that posts a SAML message: (absolute action, fields)."""
        text = self.body.decode("utf-8", "replace")
        match = _FORM.search(text)
        if match is None:
            return None
        attrs = {k.lower(): html.unescape(v[1:-1]) for k, v in _ATTR.findall(match.group(0))}
        fields = {}
        for tag in _INPUT.findall(text[match.end():]):
            a = {k.lower(): html.unescape(v[1:-1]) for k, v in _ATTR.findall(tag)}
            if "name" in a:
                fields[a["name"]] = a.get("value", "")
        if not any(k in fields for k in ("SAMLResponse", "SAMLRequest")):
            return None
        return urljoin(self.url, attrs.get("action", self.url)), fields


@dataclass
class Browser:
    """A small browser: cookies per origin, no JavaScript (it submits SAML's auto-posting forms itself)."""

    http: urllib3.PoolManager
    cookies: dict[str, dict[str, str]] = field(default_factory=dict)

    @staticmethod
    def origin(url: str) -> str:
        parts = urlsplit(url)
        return f"{parts.scheme}://{parts.netloc}"

    def forget(self, url: str) -> None:
        self.cookies.pop(self.origin(url), None)

    def request(self, method: str, url: str, form: dict[str, str] | None = None) -> Page:
        jar = self.cookies.setdefault(self.origin(url), {})
        headers = {"User-Agent": "mockplatform-probe (uthopp)", "Accept": "text/html"}
        if jar:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in jar.items())
        body = None
        if form is not None:
            body = urlencode(form).encode()
            headers["Content-Type"] = FORM_TYPE
            headers["Origin"] = "null"  # a form posted from another site's page
        try:
            answer = self.http.request(method, url, body=body, headers=headers, redirect=False, retries=False,
                                       timeout=TIMEOUT_S)
        except Exception as exc:  # urllib3's connection errors and timeouts: said, not a traceback
            raise Unreachable(f"{method} {url}: {type(exc).__name__}: {exc}") from exc
        for value in answer.headers.getlist("set-cookie"):
            cookie: SimpleCookie = SimpleCookie()
            try:
                cookie.load(value)
            except CookieError:
                continue
            for name, morsel in cookie.items():
                if morsel["max-age"] == "0" or not morsel.value:
                    jar.pop(name, None)
                else:
                    jar[name] = morsel.value
        return Page(url, answer.status, {k.lower(): v for k, v in answer.headers.items()}, answer.data)


class _Probe:
    def __init__(self, app: Application, options: ProbeOptions) -> None:
        import urllib3

        if not options.sp_metadata or not options.start_url:
            raise ConfigError("the uthopp probe needs --sp-metadata (the service provider's metadata, a file or a "
                              "URL) and --start (a protected page of the service provider)")
        if not options.start_url.startswith(("http://", "https://")):
            raise ConfigError(f"--start {options.start_url}: give the protected page as an http(s) URL")
        self.app = app
        self.options = options
        self.run = ProbeRun()
        try:
            self.sp = read_sp_metadata(fetch_metadata(options.sp_metadata, "--sp-metadata"), ENVIRONMENT,
                                       f"probe --sp-metadata {options.sp_metadata}")
        except MetadataError as exc:
            raise ConfigError(f"--sp-metadata: {exc}") from exc
        SsoStore(app.journal).register(self.sp)
        self.run.system = self.sp.entity_id
        self.idp = options.platform_url.rstrip("/")
        citizens = options.citizens or tuple(c.subject_of_care_id for c in app.fixtures.citizens[:1])
        if not citizens:
            raise ConfigError("no test citizen: give --citizen or add [[citizens]] to the fixtures")
        self.citizen = citizens[0]
        self.browser = Browser(urllib3.PoolManager())
        self.valid_form: tuple[str, dict[str, str]] | None = None

    def say(self, line: str) -> None:
        self.options.say(line)

    def new_session(self) -> None:
        """A new SP session; the citizen stays logged in at 1177 (the stand-in)."""
        self.browser.forget(self.options.start_url or "")
        self.browser.cookies.setdefault(Browser.origin(self.idp), {})["mockplatform-citizen"] = self.citizen

    def at_idp(self, url: str | None) -> bool:
        return bool(url) and url.startswith(f"{self.idp}{PREFIX}/")  # type: ignore[union-attr]

    def start(self) -> Page:
        return self.browser.request("GET", self.options.start_url or "")

    def let_in(self) -> tuple[bool, Page]:
        """Is the start page shown now (not sent to the IdP)? Redirects inside the SP are followed."""
        page = self.start()
        for _ in range(MAX_HOPS):
            if page.location is None or self.at_idp(page.location):
                break
            page = self.browser.request("GET", page.location)
        return 200 <= page.status < 300 and not self.at_idp(page.location), page

    def follow_sp(self, page: Page) -> Page:
        for _ in range(MAX_HOPS):
            if page.location is None or self.at_idp(page.location):
                return page
            page = self.browser.request("GET", page.location)
        return page

    def login_flow(self, kind: str) -> tuple[str, dict[str, str]] | str:
        """Start at the protected page and get the stand-in's answer for ``kind``: its form, or why not."""
        page = self.start()
        hops = 0
        while page.location and not self.at_idp(page.location) and hops < MAX_HOPS:
            page = self.browser.request("GET", page.location)
            hops += 1
        if page.location is None:
            return (f"the start page answered HTTP {page.status} without sending the browser to the IdP "
                    f"({self.idp}{PREFIX}/{ENVIRONMENT}/redirect): is it protected, and is the SP configured with "
                    f"the stand-in's metadata ({self.idp}{PREFIX}/{ENVIRONMENT}/metadata)?")
        state(self.app).arm(kind, self.sp.entity_id, 1)
        answer = self.browser.request("GET", page.location)
        form = answer.form()
        if form is None:
            state(self.app).store.disarm()
            text = answer.body.decode("utf-8", "replace")
            return f"the IdP did not answer with a Response (HTTP {answer.status}): {_text(text)[:300]}"
        return form

    def post(self, kind: str, action: str, fields: dict[str, str], note: str = "") -> None:
        """Post the Response to the ACS, see whether the citizen is let in, journal it, and note the step."""
        try:
            posted = self.browser.request("POST", action, fields)
            self.follow_sp(posted)
            let_in, page = self.let_in()
        except Unreachable as exc:  # no answer proves nothing: the case stays without evidence
            self.run.add(f"Response: {kind}", action, FAILED, f"no answer from the service provider: {exc}")
            self.say(f"  {kind}: no answer from the service provider ({exc})")
            return
        detail = (f"ACS answered HTTP {posted.status}; the start page then "
                  + ("was shown" if let_in else f"answered HTTP {page.status}"
                     + (" sending the browser to the IdP" if self.at_idp(page.location) else "")))
        expected = let_in if kind == saml.VALID else not let_in
        exchange_id = self.journal_post(action, fields, posted, kind, let_in, detail, page.status, note)
        self.run.add(f"Response: {kind}", action, PASSED if expected else FAILED,
                     f"{detail}{'; ' + note if note else ''}", exchange_id)
        self.say(f"  {kind}: {'let in' if let_in else 'refused'} ({'as it should' if expected else 'WRONG'})")
        if kind == saml.VALID and let_in:
            self.valid_form = (action, fields)

    def journal_post(self, action: str, fields: dict[str, str], posted: Page, kind: str, let_in: bool, detail: str,
                     page_status: int, note: str) -> int | None:
        """The post of a Response to the SP's ACS as the journal keeps an SSO message: the Response decoded from
        its binding as the request body, the SP's answer as the response."""
        parts = urlsplit(action)
        try:
            body = saml.decode_post(fields.get("SAMLResponse", ""))
        except saml.BindingError:
            body = urlencode(fields).encode()
        request = Request("POST", parts.path or "/", [("Host", parts.netloc), ("Content-Type", FORM_TYPE)], body,
                          {}, parts.query, "probe:0", scheme=parts.scheme)
        response = Response(posted.status, list(posted.headers.items()), posted.body[:64 * 1024])
        what = saml.KINDS[kind]
        return self.app.pipeline.record_endpoint(
            request, response, consumer=self.sp.entity_id, contract=SP_REACTION, logical_address=ENVIRONMENT,
            trace=[f"probe: posted a Response ({kind}) to {action}"], identified_by="probe",
            observations={"message": "Response to SP", "kind": kind, "let_in": let_in, "acs_status": posted.status,
                          "page_status": page_status, "detail": detail, "note": note, "what_en": what.en,
                          "what_sv": what.sv})

    def journal_check(self, which: str, page: Page, still: bool, detail: str) -> int | None:
        """The look at the protected page after a logout: a GET, as the browser made it."""
        parts = urlsplit(page.url)
        request = Request("GET", parts.path or "/", [("Host", parts.netloc)], b"", {}, parts.query, "probe:0",
                          scheme=parts.scheme)
        response = Response(page.status, list(page.headers.items()), page.body[:64 * 1024])
        return self.app.pipeline.record_endpoint(
            request, response, consumer=self.sp.entity_id, contract=AFTER_LOGOUT, logical_address=ENVIRONMENT,
            trace=[f"probe: opened {page.url} after the {which}"], identified_by="probe-page",
            observations={"message": "After logout", "logout": which, "let_in": still, "detail": detail,
                          "page_status": page.status})

    def run_all(self) -> ProbeRun:
        self.say(f"uthopp probe: {self.sp.entity_id} (start page {self.options.start_url}), citizen {self.citizen}")
        self.new_session()
        try:
            self.start()
        except Unreachable as exc:
            raise ConfigError(f"--start {self.options.start_url}: the service provider does not answer ({exc}): "
                              "start it first, or give the address it listens on") from exc
        for kind in saml.KINDS:
            self.new_session()
            if kind == "replayed":
                if self.valid_form is None:
                    self.run.add("Response: replayed", "-", NOT_RUN, "no valid Response was accepted to replay")
                    continue
                self.post(kind, *self.valid_form, note="the valid Response accepted earlier, posted again in a new "
                          "session (the SP may refuse it for its assertion ID or its InResponseTo)")
                continue
            try:
                got = self.login_flow(kind)
            except Unreachable as exc:
                got = f"no answer: {exc}"
            if isinstance(got, str):
                self.run.add(f"Response: {kind}", self.options.start_url or "", FAILED, got)
                self.say(f"  {kind}: {got}")
                if kind == saml.VALID:
                    break
                continue
            self.post(kind, *got)
        self.logouts()
        return self.run

    def logouts(self) -> None:
        try:
            self._logouts()
        except Unreachable as exc:
            self.run.add("Logout", "-", FAILED, f"no answer from the service provider: {exc}")
            self.say(f"  logout: no answer ({exc})")

    def _logouts(self) -> None:
        if self.valid_form is None:
            self.run.add("Logout", "-", NOT_RUN, "no login succeeded, so there is nothing to log out of")
            return
        if self.options.logout_url:
            self.new_session()
            got = self.login_flow(saml.VALID)
            if not isinstance(got, str):
                self.browser.request("POST", got[0], got[1])
                self.logout_chain(self.browser.request("GET", self.options.logout_url), "SP logout",
                                  self.options.logout_url)
        else:
            self.run.add("SP logout", "-", NOT_RUN, "no --logout URL given: the SP's own logout was not started")
        self.new_session()
        got = self.login_flow(saml.VALID)
        if isinstance(got, str):
            self.run.add("1177 logout", "-", FAILED, got)
            return
        self.browser.request("POST", got[0], got[1])
        url = f"{self.idp}{PREFIX}/{ENVIRONMENT}/logout"
        self.logout_chain(self.browser.request("GET", url), "1177 logout", url)

    def logout_chain(self, page: Page, what: str, where: str) -> None:
        """Follow redirects and SAML forms between the SP and the IdP until the chain ends; then the start page
        must ask for a login again."""
        for _ in range(MAX_HOPS * 2):
            form = page.form()
            if form is not None:
                page = self.browser.request("POST", form[0], form[1])
            elif page.location:
                page = self.browser.request("GET", page.location)
            else:
                break
        still, shown = self.let_in()
        detail = f"after the logout the start page {'was still shown' if still else 'asked for a new login'}"
        exchange_id = self.journal_check(what, shown, still, detail)
        self.run.add(what, where, FAILED if still else PASSED, detail, exchange_id)
        self.say(f"  {what}: {detail}")


def _text(html_text: str) -> str:
    return " ".join(re.sub(r"<[^>]+>", " ", html_text).split())


def probe(app: Application, options: ProbeOptions) -> ProbeRun:
    """``mockplatform probe --profile uthopp``: see the module docstring."""
    return _Probe(app, options).run_all()


__all__ = ["Browser", "probe"]

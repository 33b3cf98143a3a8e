"""Responses of the web pages: one Jinja2 environment with autoescape, and the security headers.

Every page shows what consumers sent, so every value is escaped by the environment (autoescape on
for every template, whatever its name), and the Content-Security-Policy lets the browser run only
our own script file and load nothing from elsewhere, should something slip through anyway.
Jinja2 is imported on first use, so starting the platform does not pay for it.
"""

from __future__ import annotations

import functools
import json
from typing import Any

from ..display_text import clean
from ..domains import installed
from ..messages import Response

CSP = ("default-src 'none'; style-src 'self' 'unsafe-inline'; script-src 'self'; connect-src 'self'; "
       "img-src 'self' data:; base-uri 'none'; form-action 'self'; frame-ancestors 'none'")
REFERRER_POLICY = "no-referrer"
# A page with a form that POSTs: the browser then sends the form's Origin to this site (under no-referrer
# it sends "null", and web.forms.same_origin could not accept it); other sites still get no referrer.
FORM_REFERRER_POLICY = "same-origin"
SECURITY_HEADERS = [
    ("Content-Security-Policy", CSP),
    ("X-Content-Type-Options", "nosniff"),
    ("Referrer-Policy", REFERRER_POLICY),
    ("X-Frame-Options", "DENY"),
]
HTML = "text/html; charset=utf-8"


@functools.cache
def environment() -> Any:
    """The one template environment of the pages (built once)."""
    import jinja2

    loaders = [jinja2.PackageLoader("mockplatform.web", "templates")]
    loaders += [jinja2.FileSystemLoader(str(d.template_dir)) for d in installed() if d.template_dir is not None]
    env = jinja2.Environment(
        loader=jinja2.ChoiceLoader(loaders),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        finalize=lambda value: value if hasattr(value, "__html__") else clean(value),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.globals["menu"] = menu
    return env


@functools.cache
def menu() -> list[tuple[str, str, str]]:
    """The top menu's domain entries (key, label, href) from the installed domains' pages."""
    return [(p.nav[0], p.nav[1], "/ui" + p.pattern.removesuffix("/?").replace("\\", ""))
            for d in installed() for p in d.pages() if p.nav is not None]


def page(template: str, http_status: int = 200, *, referrer_policy: str = REFERRER_POLICY, **context: Any) -> Response:
    """A rendered HTML page; pages reflect live state, so they are never cached. ``referrer_policy``:
    ``FORM_REFERRER_POLICY`` for a page with a form that POSTs (in the header and the page's meta tag)."""
    body = environment().get_template(template).render(referrer_policy=referrer_policy, **context).encode("utf-8")
    headers = [(k, referrer_policy if k == "Referrer-Policy" else v) for k, v in SECURITY_HEADERS]
    return Response(http_status, [("Content-Type", HTML), ("Cache-Control", "no-store"), *headers], body)


def json_response(data: Any, status: int = 200) -> Response:
    body = json.dumps(data, ensure_ascii=False).encode("utf-8")
    return Response(status, [("Content-Type", "application/json; charset=utf-8"), ("Cache-Control", "no-store"),
                             *SECURITY_HEADERS], body)


def redirect(location: str) -> Response:
    return Response(302, [("Location", location), ("Content-Type", "text/plain; charset=utf-8"),
                          *SECURITY_HEADERS], f"See {location}\n".encode())


def plain(status: int, text: str) -> Response:
    return Response(status, [("Content-Type", "text/plain; charset=utf-8"), *SECURITY_HEADERS], text.encode("utf-8"))


def not_found(what_sv: str = "Sidan finns inte.", what_en: str = "No such page.") -> Response:
    return page("not_found.html.j2", 404, title="Hittades inte", nav="", what_sv=what_sv, what_en=what_en)

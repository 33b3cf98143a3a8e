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
SECURITY_HEADERS = [
    ("Content-Security-Policy", CSP),
    ("X-Content-Type-Options", "nosniff"),
    ("Referrer-Policy", "no-referrer"),
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


def page(template: str, http_status: int = 200, **context: Any) -> Response:
    """A rendered HTML page; pages reflect live state, so they are never cached."""
    body = environment().get_template(template).render(**context).encode("utf-8")
    return Response(http_status, [("Content-Type", HTML), ("Cache-Control", "no-store"), *SECURITY_HEADERS], body)


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

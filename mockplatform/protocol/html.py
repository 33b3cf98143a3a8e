"""protocol.html: one self-contained page (inline CSS, no scripts, no external resources) that
opens anywhere and prints on A4.

Everything in a protocol came from an untrusted consumer request, so the template engine escapes
every value (autoescape on for all templates, whatever their name), ``finalize`` cleans each value
of characters no document may hold, and a Content-Security-Policy forbids scripts and any load
from elsewhere should something slip through anyway. Jinja2 is imported here, where it is used, so
importing the protocol model stays cheap.
"""

from __future__ import annotations

from typing import Any

from . import text as t
from .model import CaseStatus, Protocol

TEMPLATE = "protocol.html.j2"


def _environment() -> Any:
    import jinja2
    from markupsafe import Markup

    def finalize(value: Any) -> Any:
        return value if isinstance(value, Markup) else t.clean(value)

    env = jinja2.Environment(
        loader=jinja2.PackageLoader("mockplatform.protocol", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        finalize=finalize,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.globals.update(t=t, CaseStatus=CaseStatus)
    env.filters.update(severity_text=t.severity_text, sek=t.sek, number=t.number)
    return env


def render_html(protocol: Protocol) -> bytes:
    template = _environment().get_template(TEMPLATE)
    html = template.render(p=protocol, head=protocol.head, head_rows=t.head_rows(protocol), counts=protocol.counts,
                           problems=t.inconsistencies(protocol))
    return html.encode("utf-8")

"""protocol.html: one self-contained page (inline CSS, no scripts, no external resources) that
opens anywhere and prints on A4.

Everything in a protocol came from an untrusted consumer request, so the template engine escapes
every value (autoescape on for all templates, whatever their name), ``finalize`` cleans each value
of characters no document may hold, and a Content-Security-Policy forbids scripts and any load
from elsewhere should something slip through anyway. Jinja2 is imported here, where it is used, so
importing the protocol model stays cheap.
"""

from __future__ import annotations

import re
from typing import Any

from . import text as t
from .model import CaseStatus, Protocol

TEMPLATE = "protocol.html.j2"

# Table cells wrap between words only (``word-break: normal``), so a header or a value such as "status=true"
# never breaks inside a word. A long token (a namespace, a path, a URL, a contract name) gets break
# opportunities (<wbr>) at sensible points instead: after ':' '/' '-' and the like, between the words of a
# CamelCase name, and, for a run of letters and digits still too long for a narrow column, every few
# characters. A short token with a hyphen (an HSA-id, a date, "x-vp-sender-id") is kept on one line, where
# a browser would break it after the hyphen. Hashes and correlation ids wrap anywhere (their CSS class), as
# nothing in them is a word.
LONG = 20  # tokens longer than this get break opportunities
_AFTER = re.compile(r"(?<=[:/=&?;,_.\-])(?=.)")
_CAMEL = re.compile(r"(?<=[a-zåäö])(?=[A-ZÅÄÖ])")
_CHUNK = 16


def _pieces(token: str) -> list[str]:
    """A long token cut where a line may break: after punctuation, then at CamelCase, then every _CHUNK."""
    out = []
    for part in _AFTER.split(token):
        for word in _CAMEL.split(part) if len(part) > LONG else [part]:
            out += [word[i:i + _CHUNK] for i in range(0, len(word), _CHUNK)] if len(word) > LONG else [word]
    return out


def soft_breaks(value: Any) -> Any:
    """The value, cleaned and escaped, with <wbr> in its long tokens (``urn:<wbr>riv:<wbr>...``); short words
    are left whole."""
    from markupsafe import Markup, escape

    text = t.clean(value)
    parts = []
    for token in re.split(r"(\s+)", text):
        if len(token) > LONG and not token.isspace():
            parts.append(Markup("<wbr>").join(escape(piece) for piece in _pieces(token)))
        elif "-" in token.strip("-"):
            parts.append(Markup('<span class="nw">{}</span>').format(token))
        else:
            parts.append(escape(token))
    return Markup("").join(parts)


def contract_html(evidence: Any) -> Any:
    """The evidence's contract by its short name (``text.contract_op``), its version kept with the name."""
    from markupsafe import Markup

    shown = t.contract_op(evidence)
    name, space, rest = shown.partition(" ")
    return soft_breaks(name) + (Markup("&nbsp;") + soft_breaks(rest) if space else Markup(""))


def time_html(value: Any) -> Any:
    """A journal time as ``2026-12-03 17:05:09 CET``, the date and the clock time each kept on one line."""
    from markupsafe import Markup

    shown = t.when(value)
    date, _, clock = shown.partition(" ")
    if not clock:
        return soft_breaks(shown) if shown else Markup("—")
    return Markup('<span class="nw">{}</span> <span class="nw">{}</span>').format(date, clock)


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
    env.filters.update(severity_text=t.severity_text, sek=t.sek, number=t.number, soft=soft_breaks, time=time_html,
                       contract=contract_html)
    return env


def render_html(protocol: Protocol) -> bytes:
    template = _environment().get_template(TEMPLATE)
    html = template.render(p=protocol, head=protocol.head, head_rows=t.head_rows(protocol), counts=protocol.counts,
                           problems=t.inconsistencies(protocol))
    return html.encode("utf-8")

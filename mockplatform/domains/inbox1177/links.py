"""Which link targets from a message may become a clickable link, and where an ssoLink points.

Everything in a message is the consumer's: a ``javascript:``, ``data:`` or ``file:`` target (or a
disguised one with control characters inside) must never reach an ``href``. Only absolute
``http``/``https`` URLs with a host pass; the pages render anything else as inert text.

The SSO link is built the way AB-2.2 describes (the consumer sends parameters only): the base URL
configured for the ``systemId`` in the fixtures, ``?``, then ``queryString``. That join is this
stand-in's convention; 1177's exact configuration format is not public.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

from ...fixtures import Fixtures

SAFE_SCHEMES = ("http", "https")
# How each ssoLink type opens. Embedded and Widget would load remote content in a frame: shown as a link.
NEW_TARGET, CURRENT_TARGET, EMBEDDED, WIDGET = "NewTarget", "CurrentTarget", "Embedded", "Widget"


def safe_url(url: str | None) -> str | None:
    """The URL if a citizen's browser may follow it (absolute http/https with a host), else None."""
    if url is None:
        return None
    url = url.strip()
    # Browsers drop tabs and newlines inside URLs ("java\tscript:"): any control character is refused.
    if not url or any(ord(ch) < 0x20 or 0x7F <= ord(ch) <= 0x9F for ch in url):
        return None
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    if parts.scheme.lower() not in SAFE_SCHEMES or not parts.hostname or "\\" in url:
        return None
    return url


@dataclass(frozen=True)
class SsoLink:
    """An ssoLink as the citizen would get it; ``href`` None when it cannot be a link (with ``problem`` saying why)."""

    text: str
    link_type: str
    system_id: str
    href: str | None
    problem_sv: str | None = None
    problem_en: str | None = None

    @property
    def new_window(self) -> bool:
        return self.link_type in (NEW_TARGET, EMBEDDED, WIDGET)

    @property
    def embedded(self) -> bool:
        return self.link_type in (EMBEDDED, WIDGET)


def sso_link(fixtures: Fixtures, system_id: str | None, text: str | None, query: str | None,
             link_type: str | None) -> SsoLink | None:
    """The link of a stored message's ssoLink (None when the message has none)."""
    if system_id is None and text is None and query is None and link_type is None:
        return None
    system_id = (system_id or "").strip()
    link_type = (link_type or "").strip()
    shown = text if text and text.strip() else system_id
    system = next((s for s in fixtures.systems if s.system_id == system_id), None)
    if system is None or not system.sso_base_url:
        return SsoLink(shown, link_type, system_id, None,
                       f"systemId {system_id!r} har ingen konfigurerad bas-URL för SSO, så länken leder ingenstans",
                       f"systemId {system_id!r} has no SSO base URL configured, so the link leads nowhere")
    href = system.sso_base_url + ("?" + query if query else "")
    safe = safe_url(href)
    if safe is None:
        return SsoLink(shown, link_type, system_id, None,
                       "länken blir ingen giltig http(s)-adress", "the link is not a valid http(s) address")
    return SsoLink(shown, link_type, system_id, safe)

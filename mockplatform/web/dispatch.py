"""The pages' one entry point: ``handle(app, request) -> Response | None``, transport-free.

It owns GET and HEAD of ``/ui`` and everything under it, and of ``/favicon.ico`` (which browsers
ask for on every page); for any other request it returns None and the platform answers as before
(the host root stays 404). The ``ui`` setting decides who may see
the pages: "on" everyone, "loopback" only clients on this machine (others get 403), "off" nobody
(404, the platform's ordinary answer for a path it does not serve).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from typing import TYPE_CHECKING

from ..messages import Request, Response
from . import responses
from .front_page import front_page
from .journal_view import exchange_page, journal_api, journal_page
from .static_files import favicon, static_file

if TYPE_CHECKING:
    from ..app import Application

PREFIX = "/ui"
FAVICON = "/favicon.ico"
UI_ON, UI_LOOPBACK, UI_OFF = "on", "loopback", "off"

Page = Callable[["Application", Request, re.Match[str]], Response | None]

# Paths below /ui, tried in order; a match's groups are the page's arguments. The domains' pages follow.
_ROUTES: list[tuple[re.Pattern[str], Page]] = [
    (re.compile(r"/"), lambda app, req, m: front_page(app)),
    (re.compile(r"/journal/?"), lambda app, req, m: journal_page(app, req)),
    (re.compile(r"/journal/(\d{1,18})"), lambda app, req, m: exchange_page(app, int(m[1]))),
    (re.compile(r"/api/journal/?"), lambda app, req, m: journal_api(app, req)),
    (re.compile(r"/static/([A-Za-z0-9_.-]{1,64})"), lambda app, req, m: static_file(app, m[1])),
]


def handle(app: Application, request: Request) -> Response | None:
    """The page for a GET/HEAD under ``/ui``; None for anything the pages do not own."""
    path = request.path
    if request.method not in ("GET", "HEAD") or not (path in (PREFIX, FAVICON) or path.startswith(PREFIX + "/")):
        return None
    mode = app.settings.ui
    if mode == UI_OFF:
        return None
    if mode == UI_LOOPBACK and not request.from_loopback:
        return responses.plain(403, "Forbidden: the web pages answer only on this machine (setting ui=loopback). "
                                    "Webbsidorna svarar bara på den här datorn.\n")
    if path == FAVICON:
        return favicon()
    if path == PREFIX:
        return responses.redirect(PREFIX + "/")
    rest = path[len(PREFIX):]
    for pattern, page in [*_ROUTES, *_domain_routes(app)]:
        match = pattern.fullmatch(rest)
        if match:
            response = page(app, request, match)
            return response if response is not None else responses.not_found()
    return responses.not_found()


def _domain_routes(app: Application) -> list[tuple[re.Pattern[str], Page]]:
    return [(_compiled(p.pattern), p.handler) for d in app.domains for p in d.pages()]


@functools.cache
def _compiled(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern)

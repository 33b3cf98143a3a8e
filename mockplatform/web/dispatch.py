"""The pages' one entry point: ``handle(app, request) -> Response | None``, transport-free.

It owns GET, HEAD and POST of ``/ui`` and everything under it, and GET/HEAD of ``/favicon.ico`` (which
browsers ask for on every page); for any other request it returns None and the platform answers as
before (the host root stays 404). Each page names the methods it answers (``domains.Page.methods``,
GET by default); another method on its path is answered 405. A POST is a form of the pages changing
something: it is taken only from the pages themselves (``forms.same_origin``, else 403) and is never
journaled (the journal holds the platform's calls; a page's POST is the citizen's click). The ``ui``
setting decides who may see and use the pages: "on" everyone, "loopback" only clients on this machine
(others get 403), "off" nobody (404, as for any path the platform does not serve).
"""

from __future__ import annotations

import functools
import re
from typing import TYPE_CHECKING

from ..domains import Page
from ..messages import Request, Response
from . import responses
from .forms import same_origin
from .front_page import front_page
from .journal_view import exchange_page, journal_api, journal_page
from .static_files import favicon, static_file

if TYPE_CHECKING:
    from ..app import Application

PREFIX = "/ui"
FAVICON = "/favicon.ico"
UI_ON, UI_LOOPBACK, UI_OFF = "on", "loopback", "off"
METHODS = ("GET", "HEAD", "POST")  # what the pages may answer; each page says which of them it does

# Paths below /ui, tried in order; a match's groups are the page's arguments. The domains' pages follow.
_ROUTES: tuple[Page, ...] = (
    Page(r"/", lambda app, req, m: front_page(app)),
    Page(r"/journal/?", lambda app, req, m: journal_page(app, req)),
    Page(r"/journal/(\d{1,18})", lambda app, req, m: exchange_page(app, int(m[1]))),
    Page(r"/api/journal/?", lambda app, req, m: journal_api(app, req)),
    Page(r"/static/([A-Za-z0-9_.-]{1,64})", lambda app, req, m: static_file(app, m[1])),
)


def handle(app: Application, request: Request) -> Response | None:
    """The page for a request under ``/ui``; None for anything the pages do not own."""
    path, method = request.path, request.method
    if method not in METHODS or not (path in (PREFIX, FAVICON) or path.startswith(PREFIX + "/")):
        return None
    if path == FAVICON and method == "POST":
        return None
    mode = app.settings.ui
    if mode == UI_OFF:  # as for any path the platform does not serve; a POST to the pages is still not journaled
        return responses.plain(404, "Not found\n") if method == "POST" else None
    if mode == UI_LOOPBACK and not request.from_loopback:
        return responses.plain(403, "Forbidden: the web pages answer only on this machine (setting ui=loopback). "
                                    "Webbsidorna svarar bara på den här datorn.\n")
    if path == FAVICON:
        return favicon()
    if path == PREFIX:
        return responses.redirect(PREFIX + "/") if method != "POST" else _not_allowed(["GET"])
    rest = path[len(PREFIX):]
    matched: list[tuple[Page, re.Match[str]]] = []
    for page in (*_ROUTES, *(p for d in app.domains for p in d.pages())):
        match = _compiled(page.pattern).fullmatch(rest)
        if match is not None:
            matched.append((page, match))
    if not matched:
        return responses.not_found()
    answering = next(((page, match) for page, match in matched if _answers(page, method)), None)
    if answering is None:  # the path is a page, the method is not one it answers
        return _not_allowed([m for page, _ in matched for m in page.methods])
    if method == "POST":
        refused = same_origin(request)
        if refused is not None:
            return responses.plain(403, f"Forbidden: a form of these pages is taken only from these pages, and this "
                                        f"POST is not from them: {refused}.\nFormuläret tas bara emot från de här "
                                        f"sidorna.\n")
        if request.body_size is not None and request.body_size > len(request.body):
            return responses.plain(413, "Payload too large: a form of these pages is small. "
                                        "Formuläret är för stort.\n")
    page, match = answering
    response = page.handler(app, request, match)
    return response if response is not None else responses.not_found()


def _answers(page: Page, method: str) -> bool:
    return method in page.methods or (method == "HEAD" and "GET" in page.methods)


def _not_allowed(methods: list[str]) -> Response:
    names = list(dict.fromkeys(m.upper() for m in methods))
    if "GET" in names and "HEAD" not in names:
        names.insert(names.index("GET") + 1, "HEAD")
    allow = ", ".join(names)
    response = responses.plain(405, f"Method not allowed: this page answers {allow}. "
                                    f"Sidan svarar bara på {allow}.\n")
    response.headers.append(("Allow", allow))
    return response


@functools.cache
def _compiled(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern)

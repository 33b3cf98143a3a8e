"""The HTTP route table: which part of the platform answers a request. An adapter around
``Application``, like the admin API and the pages it dispatches to; the HTTP server, the in-process
``responses`` mode and the tests all call ``handle``.

POST under /vp goes to the SOAP pipeline, GET ?wsdl/?xsd to the contract documents, /admin/ to the
admin API, /ui to the pages (GET and HEAD, and POST of their forms, which is not journaled), GET /status
to the status document, a domain's own endpoints (``Domain.endpoints``: SSO under /sso) to that domain, and
everything else to 404 (a POST journaled, so a consumer with a wrong URL sees
it).
"""

from __future__ import annotations

import logging

from . import admin, web
from .app import Application
from .contracts import wsdl as wsdl_documents
from .database import UNREACHABLE, first_line
from .messages import Request, Response, json_response

log = logging.getLogger("mockplatform")

_TEXT = "text/plain; charset=UTF-8"


def under_vp(path: str) -> bool:
    """The platform's paths: /vp and everything under it."""
    return path == "/vp" or path.startswith("/vp/")


def needs_worker(app: Application, request: Request) -> bool:
    """Whether handling ``request`` may wait on something outside this process, or is not a platform
    call at all: the HTTP server hands such requests to a worker thread and handles the rest (calls
    routed to in-process producers) on its event loop, where a wait would hold up every client."""
    if request.method != "POST" or not under_vp(request.path):
        return True  # the admin API and the pages: not the hot path, and some read a lot
    return app.pipeline.may_wait(request)


def handle(app: Application, request: Request) -> Response:
    try:
        return _route(app, request)
    except UNREACHABLE as exc:  # a page, the admin API: the database is away (a SOAP call gets VP012 instead)
        said = first_line(exc)
        log.error("the database cannot be reached (%s): %s %s answered 503", said, request.method, request.path)
        return Response(503, [("Content-Type", _TEXT), ("Retry-After", "5")],
                        f"mockplatform: the database cannot be reached ({said}); GET /status says when it is "
                        "back\n".encode())


def _route(app: Application, request: Request) -> Response:
    path = request.path
    in_vp = under_vp(path)
    if request.method == "POST" and in_vp:
        return app.pipeline.handle(request)
    answer = admin.handle(app, request)
    if answer is not None:
        return answer
    page = web.handle(app, request)  # GET, HEAD and POST of /ui and below; None for every other request
    if page is not None:
        return page
    if not in_vp:
        for domain in app.domains:  # a domain's own protocol (SSO under /sso): it journals what it judges
            for endpoint in domain.endpoints():
                if path == endpoint.prefix or path.startswith(endpoint.prefix + "/"):
                    answer = endpoint.handler(app, request)
                    return answer if answer is not None else Response(404, [("Content-Type", _TEXT)], b"Not found\n")
    if request.method in ("GET", "HEAD"):
        if path in ("/status", "/status/"):
            status = app.status()
            # 503 while the database does not answer: a load balancer's health check takes the instance out.
            return json_response(200 if status["DatabaseReachable"] else 503, status)
        if in_vp and ("wsdl" in request.query or "xsd" in request.query):
            doc = wsdl_documents.serve(app.contracts, path, request.query, base_url(request))
            return Response(doc.status, [("Content-Type", doc.content_type)], doc.body)
    if request.method == "POST":
        # Not under /vp: not the platform. Recorded so a consumer with a wrong URL can see it.
        response = Response(404, [("Content-Type", _TEXT)],
                            b"Not found. The platform accepts SOAP calls on paths under /vp\n")
        app.pipeline.record_plain(request, response)
        return response
    if in_vp and request.method not in ("GET", "HEAD"):
        # A call with the wrong method (PUT, DELETE): recorded, so the consumer's developer sees it.
        response = Response(405, [("Content-Type", _TEXT), ("Allow", "POST")],
                            f"{request.method} is not allowed: SOAP calls are POSTed to /vp\n".encode())
        app.pipeline.record_plain(request, response)
        return response
    return Response(404, [("Content-Type", _TEXT)], b"Not found\n")


def base_url(request: Request) -> str:
    host = request.header("host") or "localhost"
    return f"{request.scheme}://{host}"

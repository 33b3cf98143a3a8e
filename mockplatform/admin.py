"""The admin API under ``/admin/``: what a consumer's own test suite needs, in any language.

    GET    /admin/                      this list
    GET    /admin/journal               exchanges (filters: contract, logical_address, consumer,
                                        correlation_id, since, until, after, limit, bodies=1)
    POST   /admin/reset                 empty the journal, every domain's state and the faults (a new test run)
    GET    /admin/faults                the faults in force
    POST   /admin/faults                inject one: {"kind": ..., "contract": ..., "logical_address": ...,
                                        "count": N or null, "delay_ms": N, "text": ...}
    DELETE /admin/faults[/<id>]         clear all faults, or one
    ...                                 and each domain's own routes (the inbox: GET /admin/inbox/<citizen>)

Transport-free like the rest: ``handle(app, request)`` returns a Response, or None for a path it
does not own. Answers are JSON; a bad request gets 400 with an ``error`` that names the field.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from .errors import ConfigError
from .messages import ID_MAX, Request, Response, from_this_site, whole_number
from .messages import json_response as _json
from .producers.faults import FaultKind, InjectedFault

if TYPE_CHECKING:
    from .app import Application

PREFIX = "/admin"
_JOURNAL_FILTERS = ("contract", "logical_address", "consumer", "correlation_id", "since", "until")

ENDPOINTS = (
    ("GET", "/admin/", "this list"),
    ("GET", "/admin/journal", "exchanges; filters: contract, logical_address, consumer, correlation_id, since, until, "
                              "after (id), limit, bodies=1"),
    ("POST", "/admin/reset", "empty the journal, every domain's state and the faults (a new test run)"),
    ("GET", "/admin/faults", "the faults in force"),
    ("POST", "/admin/faults", 'inject one: {"kind", "contract", "logical_address", "count" (null: until cleared), '
                              '"delay_ms", "text"}'),
    ("DELETE", "/admin/faults", "clear all faults"),
    ("DELETE", "/admin/faults/<id>", "clear one fault"),
)

class BadRequest(ValueError):
    """A request to the admin API that cannot be carried out; the text goes back as 400."""


def handle(app: Application, request: Request) -> Response | None:
    path = request.path.rstrip("/")
    if path != PREFIX and not path.startswith(PREFIX + "/"):
        return None
    access = app.settings.admin
    if access == "off":
        return _json(404, {"error": "the admin API is disabled (admin = off)"})
    if access == "loopback" and not request.from_loopback:
        return _json(403, {"error": f"the admin API answers only on loopback; {request.client_ip} is not"})
    if request.method not in ("GET", "HEAD") and _from_another_site(request):
        return _json(403, {"error": f"a change through the admin API from a web page at {request.header('origin')} "
                                    "is refused: only scripts and tools (no Origin header) or this server's own "
                                    "pages may make one"})
    parts = path[len(PREFIX):].strip("/").split("/") if path != PREFIX else []
    try:
        return _route(app, request, parts)
    except (BadRequest, ConfigError) as exc:
        return _json(400, {"error": str(exc)})


def _route(app: Application, request: Request, parts: list[str]) -> Response:
    method = request.method
    head = parts[0] if parts else ""
    if not parts and method in ("GET", "HEAD"):
        endpoints = [{"method": m, "path": p, "what": w} for m, p, w in ENDPOINTS]
        endpoints += [{"method": r.method, "path": f"{PREFIX}/{r.prefix}/...", "what": r.what}
                      for d in app.domains for r in d.admin_routes()]
        return _json(200, {"endpoints": endpoints})
    if head == "journal" and len(parts) == 1 and method in ("GET", "HEAD"):
        return _journal(app, request.query)
    if head == "reset" and len(parts) == 1 and method == "POST":
        return _json(200, app.reset())
    for domain in app.domains:
        for route in domain.admin_routes():
            wanted = ("GET", "HEAD") if route.method == "GET" else (route.method,)
            if head == route.prefix and method in wanted:
                answer = route.handler(app, request, parts[1:])
                if answer is not None:
                    return answer if isinstance(answer, Response) else _json(200, answer)
    if head == "faults" and len(parts) == 1:
        if method in ("GET", "HEAD"):
            return _json(200, {"faults": [f.to_json() for f in app.faults.active()]})
        if method == "POST":
            fault = fault_from_json(_body(request))
            if fault.contract:
                fault.contract = app.contracts.resolve(fault.contract)
            fault = app.faults.add(fault)
            return _json(201, fault.to_json())
        if method == "DELETE":
            return _json(200, {"cleared": app.faults.clear()})
    if head == "faults" and len(parts) == 2 and method == "DELETE":
        try:
            fault_id = int(parts[1])
        except ValueError:
            raise BadRequest(f"fault id '{parts[1]}' is not a number") from None
        cleared = app.faults.clear(fault_id)
        if not cleared:
            return _json(404, {"error": f"no fault with id {fault_id}"})
        return _json(200, {"cleared": cleared})
    return _json(404, {"error": f"no {method} {request.path} in the admin API; GET /admin/ lists what there is"})


def _from_another_site(request: Request) -> bool:
    """Whether a browser sends this for a page of another site. Browsers send a cross-site POST (a form, a
    fetch without CORS) without asking first, and name the page's origin in it: without this check any page
    the developer opens could reset the journal or inject faults. Tools and test suites send no Origin."""
    origin = request.header("origin")
    return origin is not None and not from_this_site(request, origin)


def _journal(app: Application, query: dict[str, str]) -> Response:
    filters: dict[str, Any] = {k: query[k] for k in _JOURNAL_FILTERS if query.get(k)}
    if "contract" in filters:
        filters["contract"] = app.contracts.resolve(filters["contract"])
    for key in ("after", "limit"):
        if query.get(key):
            value = whole_number(query[key])
            if value is None:
                raise BadRequest(f"'{key}' must be a whole number from 0 to {ID_MAX}, not '{query[key]}'")
            filters["after_id" if key == "after" else key] = value
    bodies = query.get("bodies", "") in ("1", "true", "yes")
    rows = [ex.to_json(bodies=bodies) for ex in app.journal.iter_exchanges(**filters)]
    return _json(200, {"count": len(rows), "exchanges": rows})


def fault_from_json(data: Any) -> InjectedFault:
    """An injected fault from the admin API's JSON, with errors that name the field."""
    if not isinstance(data, dict):
        raise BadRequest("the body must be a JSON object")
    allowed = {"kind", "contract", "logical_address", "count", "delay_ms", "text"}
    unknown = sorted(set(data) - allowed)
    if unknown:
        raise BadRequest(f"unknown field(s) {unknown}; expected some of {sorted(allowed)}")
    try:
        kind = FaultKind(str(data.get("kind", "")))
    except ValueError:
        raise BadRequest(f"'kind' must be one of {[k.value for k in FaultKind]}") from None
    count = data.get("count", 1)
    if count is not None and (not isinstance(count, int) or isinstance(count, bool)):
        raise BadRequest("'count' must be a whole number, or null for 'until cleared'")
    delay = data.get("delay_ms", 0)
    if not isinstance(delay, int) or isinstance(delay, bool):
        raise BadRequest("'delay_ms' must be a whole number of milliseconds")
    for key in ("contract", "logical_address", "text"):
        if data.get(key) is not None and not isinstance(data[key], str):
            raise BadRequest(f"'{key}' must be a string")
    return InjectedFault(kind, contract=data.get("contract"), logical_address=data.get("logical_address"),
                         count=count, delay_ms=delay, text=data.get("text") or "")


def _body(request: Request) -> Any:
    try:
        return json.loads(request.body or b"{}")
    except (ValueError, UnicodeDecodeError) as exc:
        raise BadRequest(f"the body is not JSON: {exc}") from None
    except RecursionError:  # e.g. a hundred thousand nested lists
        raise BadRequest("the body is not JSON we can read: nested too deeply") from None



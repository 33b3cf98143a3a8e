"""The admin API under ``/admin/``: what a consumer's own test suite needs, in any language.

    GET    /admin/                      this list
    GET    /admin/journal               exchanges (filters: contract, logical_address, consumer,
                                        correlation_id, since, until, after, limit, bodies=1)
    POST   /admin/reset                 empty the journal, the inbox and the faults (a new test run)
    GET    /admin/inbox/<citizen>       a citizen's inbox as the fake producer holds it
    GET    /admin/faults                the faults in force
    POST   /admin/faults                inject one: {"kind": ..., "contract": ..., "logical_address": ...,
                                        "count": N or null, "delay_ms": N, "text": ...}
    DELETE /admin/faults[/<id>]         clear all faults, or one

Transport-free like the rest: ``handle(app, request)`` returns a Response, or None for a path it
does not own. Answers are JSON; a bad request gets 400 with an ``error`` that names the field.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from .errors import ConfigError
from .messages import ID_MAX, Request, Response, whole_number
from .messages import json_response as _json
from .producers.faults import FaultKind, InjectedFault
from .producers.inbox_store import read_inbox, reset_inbox

if TYPE_CHECKING:
    from .app import Application

PREFIX = "/admin"
LOOPBACK = ("127.0.0.1", "::1", "localhost")
_JOURNAL_FILTERS = ("contract", "logical_address", "consumer", "correlation_id", "since", "until")

ENDPOINTS = (
    ("GET", "/admin/", "this list"),
    ("GET", "/admin/journal", "exchanges; filters: contract, logical_address, consumer, correlation_id, since, until, "
                              "after (id), limit, bodies=1"),
    ("POST", "/admin/reset", "empty the journal, the inbox and the faults (a new test run)"),
    ("GET", "/admin/inbox/<citizen>", "a citizen's inbox as the fake producer holds it"),
    ("GET", "/admin/faults", "the faults in force"),
    ("POST", "/admin/faults", 'inject one: {"kind", "contract", "logical_address", "count" (null: until cleared), '
                              '"delay_ms", "text"}'),
    ("DELETE", "/admin/faults", "clear all faults"),
    ("DELETE", "/admin/faults/<id>", "clear one fault"),
)

# Short contract names an integrator may use instead of the responder namespace.
_SHORT_CONTRACTS = {"isactiveuser", "addmessagetopatientportalinbox"}


class BadRequest(ValueError):
    """A request to the admin API that cannot be carried out; the text goes back as 400."""


def handle(app: Application, request: Request) -> Response | None:
    path = request.path.rstrip("/")
    if path != PREFIX and not path.startswith(PREFIX + "/"):
        return None
    access = app.settings.admin
    if access == "off":
        return _json(404, {"error": "the admin API is disabled (admin = off)"})
    if access == "loopback" and request.client_ip not in LOOPBACK:
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
        return _json(200, {"endpoints": [{"method": m, "path": p, "what": w} for m, p, w in ENDPOINTS]})
    if head == "journal" and len(parts) == 1 and method in ("GET", "HEAD"):
        return _journal(app, request.query)
    if head == "reset" and len(parts) == 1 and method == "POST":
        return _json(200, reset(app))
    if head == "inbox" and len(parts) == 2 and method in ("GET", "HEAD"):
        citizen = parts[1]
        known = any(c.subject_of_care_id == citizen for c in app.fixtures.citizens)
        cases = read_inbox(app.journal, citizen)
        return _json(200, {"citizen": citizen, "known_citizen": known, "cases": cases})
    if head == "faults" and len(parts) == 1:
        if method in ("GET", "HEAD"):
            return _json(200, {"faults": [f.to_json() for f in app.faults.active()]})
        if method == "POST":
            fault = fault_from_json(_body(request))
            if fault.contract:
                fault.contract = resolve_contract(app, fault.contract)
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
    if origin is None:
        return False
    host = (request.header("host") or "").lower()
    return origin.lower().rstrip("/").partition("://")[2] != host or not host


def reset(app: Application) -> dict[str, Any]:
    """Empty the journal, the inbox and the faults in one go, and note when (a new test run starts)."""
    when = datetime.now(UTC).isoformat(timespec="microseconds")

    def wipe(conn) -> int:
        removed = conn.execute("DELETE FROM exchanges").rowcount
        reset_inbox(conn)
        return removed

    removed = app.journal.write(wipe)
    app.journal.mark_reset(when)
    faults = app.faults.clear()
    return {"reset_at": when, "exchanges_removed": removed, "faults_cleared": faults}


def _journal(app: Application, query: dict[str, str]) -> Response:
    filters: dict[str, Any] = {k: query[k] for k in _JOURNAL_FILTERS if query.get(k)}
    if "contract" in filters:
        filters["contract"] = resolve_contract(app, filters["contract"])
    for key in ("after", "limit"):
        if query.get(key):
            value = whole_number(query[key])
            if value is None:
                raise BadRequest(f"'{key}' must be a whole number from 0 to {ID_MAX}, not '{query[key]}'")
            filters["after_id" if key == "after" else key] = value
    bodies = query.get("bodies", "") in ("1", "true", "yes")
    rows = [ex.to_json(bodies=bodies) for ex in app.journal.iter_exchanges(**filters)]
    return _json(200, {"count": len(rows), "exchanges": rows})


def resolve_contract(app: Application, name: str) -> str:
    """A contract by responder namespace or by its short name (``IsActiveUser``)."""
    if name.lower() in _SHORT_CONTRACTS or ":" not in name:
        for interaction in app.contracts.interactions:
            if interaction.name.lower() == name.lower():
                return interaction.responder_namespace
        raise BadRequest(f"unknown contract '{name}'; known: "
                         + ", ".join(sorted(i.name for i in app.contracts.interactions)))
    return name


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



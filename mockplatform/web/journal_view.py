"""The integrator's side: the journal of exchanges, filterable, with one exchange opened in full.

The list and the JSON poll endpoint share one query (``select``), so the live rows a browser adds
are exactly the rows a reload would show. The findings of an exchange are the request rules of the
profile whose contract it called, the same the protocol uses.
"""

from __future__ import annotations

import itertools
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from lxml import etree

from .. import domains
from ..envelope import read_answer
from ..faults import VP_CODES
from ..journal import Exchange
from ..messages import Request, Response, whole_number
from ..xmlsafe import parse
from . import responses
from .display import contract_name, local_time

if TYPE_CHECKING:
    from ..app import Application
    from ..rules import Profile

PAGE_ROWS = 200
POLL_ROWS = 200
OK, LOGICAL, VP, CLIENT, PRODUCER, OTHER = "ok", "logical", "vp", "client", "producer", "other"
OUTCOME_LABELS = {
    OK: ("OK", "ok"),
    LOGICAL: ("Logiskt fel", "logical error: answered, with a result code of ERROR (the producer's, or injected)"),
    VP: ("VP-fel", "VP fault"),
    CLIENT: ("Klientfel", "client fault: the producer refused the request, e.g. a schema violation"),
    PRODUCER: ("Producentfel", "producer fault"),
    OTHER: ("Annat", "not a SOAP call"),
}
# Query parameter -> Journal.iter_exchanges keyword.
_COLUMN_FILTERS = {"contract": "contract", "consumer": "consumer", "address": "logical_address"}


# A result code of ERROR in an answer (resultCode, ResultCode; any prefix): a logical error, answered with HTTP 200.
_LOGICAL_ERROR = re.compile(rb"<(?:[\w.-]+:)?[rR]esultCode(?:\s[^>]*)?>\s*ERROR\s*</")


def outcome(exchange: Exchange) -> str:
    """ok (2xx answer), logical (a 2xx answer whose result code is ERROR: the producer's logical error, or an
    injected logical_error), vp (the platform's own fault), client (the producer's fault that blames the request:
    a SOAP Client fault such as a schema violation), producer (any other fault from the producer), or other."""
    if exchange.vp_code:
        return VP
    if 200 <= exchange.http_status < 300:
        return LOGICAL if _LOGICAL_ERROR.search(exchange.response_body or b"") else OK
    if exchange.producer_status is not None:
        answer = read_answer(exchange.response_body)
        return CLIENT if answer is not None and answer.client_fault else PRODUCER
    return OTHER


@dataclass(frozen=True)
class Filters:
    """The journal filters of a request's query; empty strings are no filter."""

    contract: str = ""
    consumer: str = ""
    address: str = ""
    outcome: str = ""

    @classmethod
    def of(cls, request: Request) -> Filters:
        return cls(*((request.query.get(k) or "").strip() for k in ("contract", "consumer", "address", "outcome")))

    def keep(self, exchange: Exchange) -> bool:
        if not self.outcome:
            return True
        if self.outcome in OUTCOME_LABELS:
            return outcome(exchange) == self.outcome
        return (exchange.vp_code or "").upper() == self.outcome.upper()

    @property
    def active(self) -> bool:
        return any((self.contract, self.consumer, self.address, self.outcome))


def select(app: Application, filters: Filters, after: int | None = None, limit: int = PAGE_ROWS) -> Iterator[Exchange]:
    """The matching exchanges, newest first (the outcome filter is applied while reading)."""
    columns = {kw: getattr(filters, key) for key, kw in _COLUMN_FILTERS.items() if getattr(filters, key)}
    rows = app.journal.iter_exchanges(after_id=after, newest_first=True, **columns)
    return itertools.islice(filter(filters.keep, rows), limit)


def row_json(exchange: Exchange) -> dict[str, Any]:
    """One journal row as the list (and the live poll) shows it."""
    kind = outcome(exchange)
    label = exchange.vp_code or OUTCOME_LABELS[kind][0]
    return {
        "id": exchange.id,
        "time": exchange.time,
        "time_local": local_time(exchange.time),
        "contract": exchange.contract,
        "contract_name": contract_name(exchange.contract) or f"{exchange.method} {exchange.path}",
        "consumer": exchange.consumer,
        "logical_address": exchange.logical_address,
        "http_status": exchange.http_status,
        "vp_code": exchange.vp_code,
        "outcome": kind,
        "outcome_label": label,
        "duration_ms": round(exchange.duration_ms, 1),
        "url": f"/ui/journal/{exchange.id}",
    }


def journal_page(app: Application, request: Request) -> Response:
    """GET /ui/journal: the newest exchanges with the filters; journal.js adds new ones as they come."""
    filters = Filters.of(request)
    last_id = app.journal.last_id()  # read first: a row written meanwhile is shown twice at worst, and deduplicated
    rows = [row_json(e) for e in select(app, filters)]
    return responses.page(
        "journal.html.j2", title="Journal", nav="journal", filters=filters, rows=rows, last_id=last_id,
        page_rows=PAGE_ROWS, outcomes=OUTCOME_LABELS,
        contracts=[(c, contract_name(c)) for c in app.journal.distinct("contract")],
        consumers=[(c, c) for c in app.journal.distinct("consumer")],
        addresses=[(a, a) for a in app.journal.distinct("logical_address")],
        vp_codes=sorted(set(app.journal.distinct("vp_code")) | set(VP_CODES)),
    )


def journal_api(app: Application, request: Request) -> Response:
    """GET /ui/api/journal?after=<id>&<filters>: the matching exchanges newer than ``after``, newest first.

    ``last_id`` is the newest exchange id seen, matching or not: the next poll asks for what follows it.
    """
    after = whole_number(request.query.get("after") or "0")
    if after is None:
        return responses.json_response({"error": "after must be an exchange id (a whole number)"}, 400)
    last_id = max(after, app.journal.last_id())
    rows = [row_json(e) for e in select(app, Filters.of(request), after=after, limit=POLL_ROWS)]
    return responses.json_response({"exchanges": rows, "last_id": max([last_id, *(r["id"] for r in rows)])})


def pretty(body: bytes) -> str:
    """A body for reading: XML indented (parsed with the hardened parser), anything else as text."""
    try:
        root = parse(body)
    except Exception:  # not XML, or refused: shown as it came
        return body.decode("utf-8", "replace")
    etree.indent(root, space="  ")
    return etree.tostring(root, encoding="unicode")


def exchange_page(app: Application, exchange_id: int) -> Response:
    """GET /ui/journal/<id>: one exchange in full, with the contract-rule findings of its request."""
    exchange = next(app.journal.iter_exchanges(after_id=exchange_id - 1, limit=1), None)
    if exchange is None or exchange.id != exchange_id:
        return responses.not_found("Det finns inget anrop med det numret i journalen.", "No such exchange.")
    profile = _profile_of(app, exchange)
    findings, judged = [], False
    if profile is not None:
        ctx = profile.context(app.fixtures, app.contracts)  # first: a profile may read with what its context holds
        view = profile.read(exchange)
        judged = view.judged
        findings = list(profile.iter_request_findings(view, ctx))
    links = [link for domain in app.domains for link in domain.exchange_links(app, exchange)]
    vp = VP_CODES.get(exchange.vp_code or "")
    return responses.page(
        "exchange.html.j2", title=f"Anrop {exchange_id}", nav="journal", e=exchange, row=row_json(exchange),
        outcomes=OUTCOME_LABELS, vp=vp, judged=judged, findings=findings,
        profile=profile.id if profile is not None else None, links=links,
        request_body=pretty(exchange.request_body), response_body=pretty(exchange.response_body),
        truncated=exchange.request_size is not None and exchange.request_size > len(exchange.request_body),
        time_local=local_time(exchange.time), observations=_observations(exchange),
    )


def _observations(exchange: Exchange) -> str | None:
    """What a domain's own endpoint observed of the request (an SSO message's checks), indented for reading."""
    if not exchange.observations:
        return None
    try:
        return json.dumps(json.loads(exchange.observations), ensure_ascii=False, indent=2)
    except ValueError:
        return exchange.observations


def _profile_of(app: Application, exchange: Exchange) -> Profile | None:
    """The rule profile that judges calls of this exchange's contract; for a call whose contract no profile
    owns (unreadable, unknown), the first installed profile; None when no domain provides one."""
    contract = exchange.contract or ""
    made = [factory() for factory in domains.profiles(app.domains).values()]
    return next((p for p in made if contract and p.owns_contract(contract)), made[0] if made else None)

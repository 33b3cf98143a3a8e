"""What every rule profile is made of: the catalogue entry, the context, the parsed request, the profile.

A request is parsed once (``view_of``) and every rule reads the same ``RequestView``; a rule is a
small callable that yields ``Hit``s, and the profile turns them into ``Finding``s with the id,
severity and source from its catalogue, so no rule repeats them.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from functools import cached_property

from lxml import etree

from ..contracts import ContractRegistry
from ..envelope import Envelope, MalformedRequest, read_envelope
from ..errors import MockplatformError
from ..findings import Finding, Severity
from ..fixtures import Fixtures, System, Unit
from ..journal import Exchange
from ..xmlsafe import local_name, parse, text_value

_CLIENT_FAULT = re.compile(rb"<(?:[\w.-]+:)?faultcode>\s*(?:[\w.-]+:)?Client\s*</")
IS_ACTIVE_USER = "IsActiveUser"
ADD_MESSAGE = "AddMessageToPatientPortalInbox"
OPERATIONS = (IS_ACTIVE_USER, ADD_MESSAGE)
REQUEST = "request"
JOURNAL = "journal"


@dataclass(frozen=True)
class RuleInfo:
    """A rule's catalogue entry: what the protocol's rule table shows, and what every finding carries."""

    id: str  # stable id, e.g. "INBOX-SOURCE-SYSTEM"; never renamed once published
    severity: Severity
    title_en: str
    title_sv: str
    source: str  # where the rule comes from (TKB, 1177's pages, RIVTA BP 2.1)
    scope: str  # "request" (one exchange) or "journal" (behaviour across exchanges)
    operations: tuple[str, ...] = ()  # the operations the rule applies to; empty = every request


@dataclass(frozen=True)
class Hit:
    """What a rule found, before the profile adds the rule's id, severity and source."""

    message_en: str
    message_sv: str
    path: str | None = None
    line: int | None = None
    hint: str | None = None
    source: str | None = None  # only when more precise than the catalogue's (e.g. the schema file)


@dataclass
class RuleContext:
    """What the rules judge against: the fixtures, the contracts, and the limits of the behaviour rules."""

    fixtures: Fixtures
    contracts: ContractRegistry
    consumer: str | None = None  # the consumer HSA-id judged (None: whatever consumer each exchange has)
    system_ids: tuple[str, ...] = ()  # system-ids issued to that consumer; empty = the consumer's in fixtures
    same_text_threshold: int = 20  # same messageText to this many distinct citizens = general information
    min_retry_s: float = 4.0  # contract back-off example: first retry after 4 s
    batch_max: int = 1000
    batch_gap_s: float = 300.0  # 5 minutes between batches

    def selects(self, view: RequestView) -> bool:
        """Is this exchange judged: a consumer request to the platform, of the consumer asked for."""
        if not view.judged:
            return False
        return self.consumer is None or (view.exchange.consumer or "").lower() == self.consumer.lower()

    def issued_system_ids(self, view: RequestView) -> tuple[str, ...]:
        """The system-ids 1177 issued to the sender of this request (empty = not known)."""
        if self.system_ids:
            return self.system_ids
        who = (self.consumer or view.exchange.consumer or "").lower()
        return self._consumer_system_ids.get(who, ())

    @cached_property
    def _consumer_system_ids(self) -> dict[str, tuple[str, ...]]:
        return {c.hsa_id.lower(): c.system_ids for c in self.fixtures.consumers}

    @cached_property
    def units(self) -> dict[str, Unit]:
        """Units of the fixtures by lower-case HSA-id (HSA-ids compare case-insensitively)."""
        return {u.unit_id.lower(): u for u in self.fixtures.units}

    @cached_property
    def systems(self) -> dict[str, System]:
        """Systems with an SSO configuration at 1177, by system-id."""
        return {s.system_id: s for s in self.fixtures.systems}


@dataclass
class RequestView:
    """One journal exchange parsed once, shared by every rule.

    Elements of the request are named by their path below the request element ("subjectOfCareId",
    "message/messageText", ...); ``lines`` keeps their source lines after ``slim()`` has let go
    of the parsed tree.
    """

    exchange: Exchange
    envelope: Envelope | None
    parse_error: str | None
    operation: str | None  # "IsActiveUser", "AddMessageToPatientPortalInbox", or None
    judged: bool = True  # a consumer request to the platform: POST under /vp
    t: float | None = None  # exchange.time as POSIX seconds (None: unreadable time)
    body_sha256: str = ""
    subject_of_care_id: str | None = None
    message_text: str | None = None  # the text content of messageText (DocBook still as text)
    message_description: str | None = None
    unit_id: str | None = None
    thread_id: str | None = None
    notify: bool | None = None  # None = no notify element
    source_system: str | None = None
    sso_system_id: str | None = None
    result_code: str | None = None  # AddMessage response resultCode (None: no readable answer)
    active: bool | None = None  # IsActiveUser response status (None: no readable answer)
    elements: dict[str, etree._Element] = field(default_factory=dict)  # "" = the request element
    lines: dict[str, int | None] = field(default_factory=dict)

    @property
    def technical_fault(self) -> bool:
        """Did the call fail in a way a retry can cure: VP009 (producer unreachable, timeout, non-SOAP
        error) or the producer's own Server fault. A Client fault (VP003, VP004, VP007, a schema
        violation) needs a corrected request, not a retry; resultCode=ERROR is a logical answer."""
        ex = self.exchange
        if ex.http_status < 500:
            return False
        if ex.vp_code:
            return ex.vp_code == "VP009"
        return _CLIENT_FAULT.search(ex.response_body or b"") is None

    @property
    def has_sso_link(self) -> bool:
        return "message/ssoLink" in self.lines

    def has(self, rel: str) -> bool:
        return rel in self.lines

    def where(self, rel: str) -> tuple[str | None, int | None]:
        """Path and line of an element of the request; for a missing one, its place and its parent's line."""
        if self.operation is None:
            return None, None
        probe = rel
        while probe not in self.lines and probe:
            probe = probe.rpartition("/")[0]
        return f"/Envelope/Body/{self.operation}/{rel}", self.lines.get(probe)

    def slim(self) -> RequestView:
        """Drop the parsed tree, in place, for the journal rules over many exchanges (saves ~5 kB each)."""
        self.envelope = None
        self.elements = {}
        return self


def xml_path(element: etree._Element) -> str:
    """``/Envelope/Body/AddMessageToPatientPortalInbox/message/messageText``: local names from the root."""
    names = []
    while element is not None:
        names.append(local_name(element))
        element = element.getparent()
    return "/" + "/".join(reversed(names))


def _child(parent: etree._Element | None, name: str) -> etree._Element | None:
    """The first child with this local name, in any namespace (lxml's ``{*}`` runs in C)."""
    return None if parent is None else parent.find("{*}" + name)


def _seconds(time: str) -> float | None:
    try:
        return datetime.fromisoformat(time).timestamp()
    except (TypeError, ValueError):
        return None


def view_of(exchange: Exchange) -> RequestView:
    """Parse an exchange for the rules; never raises: what cannot be read becomes ``parse_error``.

    Children are found by local name whatever their namespace, so a request with a namespace
    mistake is still judged by the other rules (the namespace rules and the schema name it).
    """
    body = exchange.request_body or b""
    judged = (exchange.method or "").upper() == "POST" and ((exchange.path or "") + "/").startswith("/vp/")
    view = RequestView(exchange, None, None, None, judged=judged, t=_seconds(exchange.time),
                       body_sha256=hashlib.sha256(body).hexdigest())
    try:
        view.envelope = read_envelope(body)
    except MalformedRequest as exc:
        view.parse_error = str(exc)
    except Exception as exc:  # never raise on any bytes
        view.parse_error = f"{type(exc).__name__}: {exc}"
    if view.parse_error is not None:
        size = exchange.request_size
        if size is not None and size > len(body):
            view.parse_error += (f" (the journal kept only {len(body)} of the request's {size} bytes: raise the "
                                 "journal's body limit to judge this request)")
        return view
    payload = view.envelope.payload
    name = local_name(payload)
    view.operation = name if name in OPERATIONS else None
    if view.operation is None:
        return view
    view.elements[""], view.lines[""] = payload, payload.sourceline

    def find(rel: str) -> etree._Element | None:
        parent_rel, _, tag = rel.rpartition("/")
        element = _child(view.elements.get(parent_rel), tag)
        if element is not None:
            view.elements[rel], view.lines[rel] = element, element.sourceline
        return element

    def text(rel: str) -> str | None:
        element = find(rel)
        return None if element is None else text_value(element)

    view.subject_of_care_id = text("subjectOfCareId")
    if view.operation == ADD_MESSAGE:
        find("message")
        find("message/organisationUnit")
        view.unit_id = text("message/organisationUnit/unitId")
        view.thread_id = text("message/messageThreadId")
        view.message_description = text("message/messageDescription")
        view.message_text = text("message/messageText")
        find("message/ssoLink")
        view.sso_system_id = text("message/ssoLink/systemId")
        notify = text("notify")
        view.notify = None if notify is None else notify.strip() in ("true", "1")
        view.source_system = text("sourceSystem")
    if exchange.http_status == 200 and exchange.response_body:
        _read_answer(view)
    return view


def _read_answer(view: RequestView) -> None:
    """resultCode / status of the producer's answer, for the journal rules."""
    try:
        root = parse(view.exchange.response_body)
    except Exception:  # an unreadable answer is the producer's problem, not the consumer's
        return
    body = _child(root, "Body")
    answer = next((c for c in body if isinstance(c.tag, str)), None) if body is not None else None
    if view.operation == ADD_MESSAGE:
        code = _child(answer, "resultCode")
        view.result_code = None if code is None else text_value(code).strip()
    else:
        status = _child(answer, "status")
        view.active = None if status is None else text_value(status).strip() in ("true", "1")


RequestRule = Callable[[RequestView, RuleContext], Iterable[Hit]]
JournalRule = Callable[[list[RequestView], RuleContext], Iterable[tuple[int, Hit]]]


class Profile:
    """A named set of rules: the catalogue (data) and, by id, the callable that applies each rule."""

    def __init__(self, id: str, name: str, rules: Iterable[tuple[RuleInfo, RequestRule | JournalRule]]) -> None:
        self.id = id
        self.name = name
        pairs = list(rules)
        self.rules: list[RuleInfo] = [info for info, _ in pairs]
        self._request = [(i, fn) for i, fn in pairs if i.scope == REQUEST]
        self._journal = [(i, fn) for i, fn in pairs if i.scope == JOURNAL]
        self._by_id = {i.id: i for i in self.rules}
        if len(self._by_id) != len(self.rules):
            raise MockplatformError(f"rule profile {id}: duplicate rule ids in {[i.id for i in self.rules]}")

    def rule(self, rule_id: str) -> RuleInfo:
        """The catalogue entry of a rule id (KeyError if the profile has no such rule)."""
        return self._by_id[rule_id]

    @staticmethod
    def applies(info: RuleInfo, view: RequestView) -> bool:
        """Does the rule look at this request (for the protocol's "checked" counts too)."""
        return not info.operations or view.operation in info.operations

    def iter_request_findings(self, view: RequestView, ctx: RuleContext) -> Iterator[Finding]:
        """Every finding of the request rules for one exchange (nothing if it is not judged)."""
        if not ctx.selects(view):
            return
        for info, rule in self._request:
            if self.applies(info, view):
                for hit in rule(view, ctx):
                    yield _finding(info, hit)

    def iter_journal_findings(self, views: list[RequestView], ctx: RuleContext) -> Iterator[tuple[int, Finding]]:
        """Findings about behaviour across exchanges, as (exchange id, finding).

        The rules get the judged views in time order (ties by exchange id).
        """
        ordered = sorted((v for v in views if ctx.selects(v)),
                         key=lambda v: (v.t if v.t is not None else float("-inf"), v.exchange.id or 0))
        for info, rule in self._journal:
            mine = [v for v in ordered if self.applies(info, v)]
            for exchange_id, hit in rule(mine, ctx):
                yield exchange_id, _finding(info, hit)

    def iter_findings(self, exchanges: Iterable[Exchange], ctx: RuleContext) -> Iterator[tuple[int, Finding]]:
        """The one path over a set of exchanges: each request's findings, then the journal's."""
        views = []
        for exchange in exchanges:
            view = view_of(exchange)
            for finding in self.iter_request_findings(view, ctx):
                yield exchange.id, finding
            views.append(view.slim())
        yield from self.iter_journal_findings(views, ctx)


def _finding(info: RuleInfo, hit: Hit) -> Finding:
    return Finding(info.id, info.severity, hit.message_en, hit.message_sv, path=hit.path, line=hit.line,
                   source=hit.source or info.source, hint=hit.hint)

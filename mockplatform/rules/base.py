"""What every rule profile is made of: the catalogue entry, the context, the parsed request, the profile.

A request is parsed once (the profile's ``read``, built on ``read_view``) and every rule reads the
same ``RequestView``; a rule is a small callable that yields ``Hit``s, and the profile turns them
into ``Finding``s with the id, severity and source from its catalogue, so no rule repeats them.
"""

from __future__ import annotations

import hashlib
import heapq
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import cached_property, lru_cache

from lxml import etree

from ..contracts import ContractRegistry
from ..envelope import CLIENT_FAULT_CODES, Answer, Envelope, MalformedRequest, read_answer, read_envelope
from ..errors import MockplatformError
from ..findings import Finding, Severity
from ..fixtures import Fixtures, System, Unit
from ..journal import Exchange
from ..protocol.model import SUBJECTS, CostEstimate
from ..xmlsafe import local_name
from .cases import TestCase

REQUEST = "request"
JOURNAL = "journal"
# ``RuleContext.contract_namespaces`` of a profile none of whose contracts is loaded (empty would mean any).
NO_CONTRACTS: frozenset[str] = frozenset({""})


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
    hint_sv: str | None = None  # the hint in Swedish (the protocol shows it first)


@dataclass
class RuleContext:
    """What the rules judge against. A domain's profile may hand its rules a subclass with more."""

    fixtures: Fixtures
    contracts: ContractRegistry
    consumer: str | None = None  # the consumer HSA-id judged (None: whatever consumer each exchange has)
    system_ids: tuple[str, ...] = ()  # system-ids issued to that consumer; empty = the consumer's in fixtures
    contract_namespaces: frozenset[str] = frozenset()  # the profile's contracts (lower case); empty = any
    # Contracts another installed domain owns (lower case): their calls are that domain's to judge (a booking
    # system's index updates in a journal judged for the inbox), not a consumer's mistake here.
    foreign_namespaces: frozenset[str] = frozenset()

    def selects(self, view: RequestView) -> bool:
        """Is this exchange judged: a consumer request to the platform, of the consumer asked for, for a
        contract no other domain owns."""
        if not view.judged:
            return False
        if self.foreign_namespaces and (view.exchange.contract or "").lower() in self.foreign_namespaces:
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
    """One journal exchange parsed once, shared by every rule. A domain's profile reads more into a
    subclass (the fields its rules need), from its one reader of each request.

    Elements of the request are named by their path below the request element ("subjectOfCareId",
    "message/messageText", ...); ``lines`` keeps their source lines after ``slim()`` has let go
    of the parsed tree.
    """

    exchange: Exchange
    envelope: Envelope | None
    parse_error: str | None
    operation: str | None  # the request element's local name, when the profile judges that operation
    judged: bool = True  # a consumer request to the platform: POST under /vp
    t: float | None = None  # exchange.time as POSIX seconds (None: unreadable time)
    body_sha256: str = ""
    answer: Answer | None = field(default=None, repr=False)  # the answer, read (None: not a SOAP answer)
    fault_code: str | None = None  # the answer's faultcode ("Client", "Server"), kept when the tree is let go
    response_sha256: str | None = None  # of the answer's body (set by ``slim``, which lets the body go)
    elements: dict[str, etree._Element] = field(default_factory=dict)  # "" = the request element
    lines: dict[str, int | None] = field(default_factory=dict)
    # Rules the profile could not apply to this request, by id, with why (English, Swedish): a field the rule
    # reads is not in the request or its contract. Such a rule is neither applied nor counted as checked here;
    # the profile says so in a finding of its own (plain data: kept by ``slim``).
    unapplied: dict[str, tuple[str, str]] | None = None

    @property
    def technical_fault(self) -> bool:
        """Did the call fail in a way a retry can cure: VP009 (producer unreachable, timeout, non-SOAP
        error) or the producer's own Server fault. A Client fault (VP003, VP004, VP007, a schema
        violation), and a VersionMismatch or MustUnderstand fault (the request's SOAP version or headers),
        needs a corrected request, not a retry; a logical ERROR is an answer."""
        ex = self.exchange
        if ex.http_status < 500:
            return False
        if ex.vp_code:
            return ex.vp_code == "VP009"
        return self.fault_code not in CLIENT_FAULT_CODES

    def has(self, rel: str) -> bool:
        return rel in self.lines

    def outcome(self) -> str | None:
        """What the answer said, in a few words for the protocol ("status=true"); None: nothing to add."""
        return None

    def where(self, rel: str) -> tuple[str | None, int | None]:
        """Path and line of an element of the request; for a missing one, its place and its parent's line."""
        if self.operation is None:
            return None, None
        probe = rel
        while probe not in self.lines and probe:
            probe = probe.rpartition("/")[0]
        return f"/Envelope/Body/{self.operation}/{rel}", self.lines.get(probe)

    def slim(self, owned: bool = False) -> RequestView:
        """Drop the parsed trees and the bodies, in place, once the request rules have seen them: what the
        journal rules, the cases and the protocol's head need stays (hashes, names, outcome). The evidence
        that is shown reads its exchange again, by id. The exchange is copied without its bodies, unless
        ``owned``: it was read for this view alone (``Profile.prepare``'s), and is emptied in place."""
        ex = self.exchange
        if self.response_sha256 is None:
            self.response_sha256 = _sha256(ex.response_body or b"")
        self.envelope = None
        if self.elements:
            self.elements = {}
        self.answer = None
        if ex.request_body or ex.response_body or ex.response_headers:
            if owned:
                ex.request_body = ex.response_body = b""
                ex.response_headers = []
            else:
                self.exchange = ex.without_bodies()
        return self


def xml_path(element: etree._Element) -> str:
    """``/Envelope/Body/DoSomething/message/text``: local names from the root."""
    names = []
    while element is not None:
        names.append(local_name(element))
        element = element.getparent()
    return "/" + "/".join(reversed(names))


def _seconds(time: str) -> float | None:
    try:
        return datetime.fromisoformat(time).timestamp()
    except (TypeError, ValueError):
        return None


def read_view(exchange: Exchange, operations: tuple[str, ...] = (), view_type: type[RequestView] = RequestView,
              parse_answer: bool = True, **fields: object) -> RequestView:
    """Parse an exchange for the rules; never raises: what cannot be read becomes ``parse_error``.

    ``operations``: the request elements the profile judges (empty: any); the view's ``operation`` is
    None for any other. The answer is read when the platform passed one on (HTTP 200 or a fault);
    ``parse_answer=False``: not here, the profile's reader takes what its rules need of the answer
    itself (and sets ``fault_code``), and ``answer`` stays None.
    """
    body = exchange.request_body or b""
    judged = (exchange.method or "").upper() == "POST" and ((exchange.path or "") + "/").startswith("/vp/")
    view = view_type(exchange, None, None, None, judged=judged, t=_seconds(exchange.time),
                     body_sha256=hashlib.sha256(body).hexdigest(), **fields)
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
    view.operation = name if not operations or name in operations else None
    if parse_answer and has_answer(exchange):
        view.answer = read_answer(exchange.response_body)
        view.fault_code = view.answer.fault_code if view.answer is not None else None
    if view.operation is not None:
        view.elements[""], view.lines[""] = payload, payload.sourceline
    return view


def has_answer(exchange: Exchange) -> bool:
    """Did the platform pass an answer on to be read: a body with HTTP 200 or a fault (5xx)."""
    return bool(exchange.response_body) and (exchange.http_status == 200 or exchange.http_status >= 500)


RequestRule = Callable[[RequestView, RuleContext], Iterable[Hit]]


class JournalState:
    """A journal rule at work over the stream of judged requests, in time order: ``feed`` sees each (the
    rule's operations only) and yields what it finds then; ``finish`` yields what only the end shows (a
    batch still open). It keeps state per consumer, citizen or message, never the requests themselves."""

    def __init__(self, ctx: RuleContext) -> None:
        self.ctx = ctx

    def feed(self, view: RequestView) -> Iterable[tuple[int, Hit]]:
        raise NotImplementedError

    def finish(self) -> Iterable[tuple[int, Hit]]:
        return ()


JournalRule = Callable[[RuleContext], JournalState]  # a JournalState subclass, or any factory of one
REORDER = 2000  # exchanges held to put the stream in time order (the journal is in commit order)


@dataclass
class Judgement:
    """What a profile made of a set of exchanges: how many requests (or, for journal rules, views) each rule
    checked, and every finding in the order found; with ``keep=True`` also the judged views (slim, in time
    order) and the findings by exchange id."""

    checked: Counter[str] = field(default_factory=Counter)
    found: list[tuple[int, Finding]] = field(default_factory=list)  # as found: requests', then the journal's
    views: list[RequestView] = field(default_factory=list)
    findings: dict[int, list[Finding]] = field(default_factory=lambda: defaultdict(list))

    def add(self, exchange_id: int, finding: Finding) -> None:
        self.findings[exchange_id].append(finding)
        self.found.append((exchange_id, finding))


class Profile:
    """A named set of rules: the catalogue (data) and, by id, the callable that applies each rule; and
    how its domain reads a request for them (``read``), the context its rules need (``context``), its
    test cases (fixed, or made for the context: ``cases_for``) and the name of their catalogue, which contracts
    are its own, what its protocol section adds (``catalogue``, ``cost``), and the role of the system it tests
    (``subject``)."""

    def __init__(self, id: str, name: str, rules: Iterable[tuple[RuleInfo, RequestRule | JournalRule]], *,
                 read: Callable[[Exchange], RequestView] = read_view,
                 context: Callable[..., RuleContext] | None = None,
                 cases: Sequence[TestCase] = (),
                 owns_contract: Callable[[str], bool] = lambda namespace: True,
                 cost: Callable[[int], CostEstimate | None] = lambda volume: None,
                 catalogue: str = "", unread: Iterable[str] = (),
                 cases_for: Callable[[RuleContext], Sequence[TestCase]] | None = None,
                 subject: str = "consumer") -> None:
        if subject not in SUBJECTS:
            raise MockplatformError(f"rule profile {id}: subject {subject!r} is none of {', '.join(SUBJECTS)}")
        self.id = id
        self.name = name
        pairs = list(rules)
        self.rules: list[RuleInfo] = [info for info, _ in pairs]
        self._request = [(i, fn) for i, fn in pairs if i.scope == REQUEST]
        self._journal = [(i, fn) for i, fn in pairs if i.scope == JOURNAL]
        self._by_id = {i.id: i for i in self.rules}
        self._request_by_operation: dict[str | None, list] = {}  # see ``_applying``
        if len(self._by_id) != len(self.rules):
            raise MockplatformError(f"rule profile {id}: duplicate rule ids in {[i.id for i in self.rules]}")
        self.read = read
        self.context = context or core_context
        self.cases = list(cases)
        self.cases_for = cases_for
        self.owns_contract = owns_contract
        self.cost = cost
        self.catalogue = catalogue  # the name of its test-case catalogue, as the protocol's head shows it
        # The role of the system it tests (protocol.model.SUBJECTS): the protocol's head carries it and words its
        # subtitle and labels by it (a consumer, a booking system, a SAML service provider).
        self.subject = subject
        # Journal columns that neither its rules and cases nor the protocol read: ``verify`` leaves them unread
        # (their fields empty), which saves decoding them for every exchange.
        self.unread = frozenset(unread)

    def test_cases(self, ctx: RuleContext) -> list[TestCase]:
        """Its test cases for a context: the fixed catalogue, or, for a profile whose cases depend on what is
        loaded (one per operation of the loaded contracts: ``cases_for``), the catalogue made for the context."""
        return list(self.cases_for(ctx)) if self.cases_for is not None else self.cases

    def rule(self, rule_id: str) -> RuleInfo:
        """The catalogue entry of a rule id (KeyError if the profile has no such rule)."""
        return self._by_id[rule_id]

    @staticmethod
    def applies(info: RuleInfo, view: RequestView) -> bool:
        """Does the rule look at this request (for the protocol's "checked" counts too)."""
        return not info.operations or view.operation in info.operations

    def iter_request_findings(self, view: RequestView, ctx: RuleContext,
                              checked: Counter[str] | None = None) -> Iterator[Finding]:
        """Every finding of the request rules for one exchange (nothing if it is not judged); each rule
        that looked at it is counted in ``checked``."""
        if not ctx.selects(view):
            return
        unapplied = view.unapplied
        for info, rule in _applying(self._request, view.operation, self._request_by_operation):
            if unapplied and info.id in unapplied:
                continue
            if checked is not None:
                checked[info.id] += 1
            for hit in rule(view, ctx):
                yield _finding(info, hit)

    def stream(self, exchanges: Iterable[Exchange], ctx: RuleContext, checked: Counter[str],
               on_finding: Callable[[int, Finding], None]) -> Iterator[tuple[RequestView, list[Finding]]]:
        """The one judging path: each judged request read once, its request rules applied and its parsed trees
        let go of (``prepare``), then put in time order and fed to every journal rule (``stream_prepared``).
        Yields each view with the findings known for it then (its request rules' and the journal rules' found
        on it), for the test cases; every finding also goes to ``on_finding``. Memory stays flat: only the
        rules' own state and the reorder window are kept."""
        return self.stream_prepared(self.prepare(exchanges, ctx, checked), ctx, checked, on_finding)

    def prepare(self, exchanges: Iterable[Exchange], ctx: RuleContext, checked: Counter[str],
                owned: bool = False) -> Iterator[tuple[RequestView, list[Finding]]]:
        """The first half of ``stream``, each exchange on its own: the judged ones read once (the profile's
        ``read``), their request rules applied (counted in ``checked``) and their parsed trees and bodies let go
        of (``slim``). Yields (slim view, its request findings) in the order of ``exchanges``. It keeps nothing
        from one exchange to the next, so parts of a journal can be prepared apart (``verification.parallel``:
        in worker processes, the views handed over as they are). ``owned``: the exchanges were read for this
        alone (a journal's stream), so ``slim`` empties them in place instead of copying them."""
        for exchange in exchanges:
            view = self.read(exchange)
            if ctx.selects(view):
                found = list(self.iter_request_findings(view, ctx, checked))
                yield view.slim(owned), found

    def stream_prepared(self, prepared: Iterable[tuple[RequestView, list[Finding]]], ctx: RuleContext,
                        checked: Counter[str], on_finding: Callable[[int, Finding], None],
                        ) -> Iterator[tuple[RequestView, list[Finding]]]:
        """The second half of ``stream``: the prepared views, in the journal's order, each request finding told
        to ``on_finding`` as it comes, put in time order (ties by id; the journal is in commit order, so REORDER
        exchanges are held to sort) and fed to every journal rule."""
        states = [(info, rule(ctx)) for info, rule in self._journal]
        by_operation: dict[str | None, list] = {}
        held: list[tuple[float, int, int, RequestView, list[Finding]]] = []

        def release(item: tuple[float, int, int, RequestView, list[Finding]]) -> tuple[RequestView, list[Finding]]:
            view, found = item[3], item[4]
            for info, state in _applying(states, view.operation, by_operation):
                checked[info.id] += 1
                for exchange_id, hit in state.feed(view):
                    finding = _finding(info, hit)
                    on_finding(exchange_id, finding)
                    if exchange_id == view.exchange.id:
                        found.append(finding)
            return view, found

        for sequence, (view, found) in enumerate(prepared, 1):
            exchange_id = view.exchange.id
            for finding in found:
                on_finding(exchange_id, finding)
            # (``_in_time``, written out: this runs for every exchange of a journal)
            item = (view.t if view.t is not None else float("-inf"), exchange_id or 0, sequence, view, found)
            if len(held) < REORDER:
                heapq.heappush(held, item)
            else:  # the earliest of those held and this one goes on
                yield release(heapq.heappushpop(held, item))
        while held:
            yield release(heapq.heappop(held))
        for info, state in states:
            for exchange_id, hit in state.finish():
                on_finding(exchange_id, _finding(info, hit))

    def iter_journal_findings(self, views: list[RequestView], ctx: RuleContext,
                              checked: Counter[str] | None = None) -> Iterator[tuple[int, Finding]]:
        """Findings about behaviour across exchanges, as (exchange id, finding), for views already read: the
        journal rules get them in time order (ties by exchange id)."""
        ordered = sorted((v for v in views if ctx.selects(v)), key=_in_time)
        for info, rule in self._journal:
            state = rule(ctx)
            mine = [v for v in ordered if self.applies(info, v)]
            if checked is not None:
                checked[info.id] = len(mine)
            for view in mine:
                for exchange_id, hit in state.feed(view):
                    yield exchange_id, _finding(info, hit)
            for exchange_id, hit in state.finish():
                yield exchange_id, _finding(info, hit)

    def judge(self, exchanges: Iterable[Exchange], ctx: RuleContext, keep: bool = True) -> Judgement:
        """The findings of a set of exchanges (a test's own calls, one exchange on a page) through ``stream``;
        ``keep`` keeps the views too (for a handful of exchanges, not a journal)."""
        out = Judgement()
        for view, _ in self.stream(exchanges, ctx, out.checked, out.add):
            if keep:
                out.views.append(view)
        return out

    def iter_findings(self, exchanges: Iterable[Exchange], ctx: RuleContext) -> Iterator[tuple[int, Finding]]:
        """(exchange id, finding): each request's findings, then the journal's."""
        out = self.judge(exchanges, ctx, keep=False)
        requests = [(i, f) for i, f in out.found if self.rule(f.rule_id).scope == REQUEST]
        yield from requests + [(i, f) for i, f in out.found if self.rule(f.rule_id).scope != REQUEST]


def core_context(fixtures: Fixtures, contracts: ContractRegistry, consumer: str | None = None,
                 system_ids: tuple[str, ...] = (), **options: object) -> RuleContext:
    """The context of a profile without one of its own; options it has no use for (another profile's,
    such as the inbox's same-text threshold) are ignored."""
    return RuleContext(fixtures=fixtures, contracts=contracts, consumer=consumer, system_ids=tuple(system_ids))


def _applying(pairs: list[tuple[RuleInfo, object]], operation: str | None,
              cache: dict[str | None, list]) -> list[tuple[RuleInfo, object]]:
    """The pairs (a rule's info, its callable or state) whose rule ``Profile.applies`` to a view of this
    operation, in order: worked out once per operation (in ``cache``, kept beside ``pairs``), not per exchange."""
    found = cache.get(operation)
    if found is None:
        found = cache[operation] = [(info, x) for info, x in pairs
                                    if not info.operations or operation in info.operations]
    return found


def _sha256(body: bytes) -> str:
    """An answer's SHA-256 (hex). A journal's answers are mostly a handful of distinct bodies (OK, a fault), so
    short ones come from a small cache instead of being hashed again for every exchange."""
    return _short_sha256(body) if len(body) <= 4096 else hashlib.sha256(body).hexdigest()


@lru_cache(maxsize=256)
def _short_sha256(body: bytes) -> str:
    return hashlib.sha256(body).hexdigest()


def _in_time(view: RequestView) -> tuple[float, int]:
    return (view.t if view.t is not None else float("-inf"), view.exchange.id or 0)


def _finding(info: RuleInfo, hit: Hit) -> Finding:
    return Finding(info.id, info.severity, hit.message_en, hit.message_sv, path=hit.path, line=hit.line,
                   source=hit.source or info.source, hint=hit.hint, hint_sv=hit.hint_sv)

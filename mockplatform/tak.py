"""TAK, the routing and authorisation catalogue, and the two lookups over it.

The lookups return decisions that carry the row used and the trace of what was tried, in the
order the real platform tries it; the trace goes to the journal and into explanations.
Routing order:        exact address -> HSA parents up to SE (if enabled) -> default ``*``.
Authorisation order:  exact address -> default ``*`` -> HSA parents up to SE (if enabled).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date
from enum import Enum
from functools import cached_property

ROOT = "SE"
DEFAULT = "*"
PROFILES = ("RIVTABP20", "RIVTABP21")
FOREVER = date(9999, 12, 31)
_MAX_DECISIONS = 10_000
BEGINNING = date(1900, 1, 1)


@dataclass(frozen=True)
class Route:
    """A routing entry ("vägval"): contract + logical address -> producer address and profile."""

    contract: str
    logical_address: str
    address: str
    profile: str = "RIVTABP21"
    valid_from: date = BEGINNING
    valid_to: date = FOREVER
    origin: str = ""

    def valid_on(self, day: date) -> bool:
        return self.valid_from <= day <= self.valid_to


@dataclass(frozen=True)
class Authorisation:
    """An authorisation ("anropsbehörighet"): consumer may call contract at logical address."""

    consumer: str
    contract: str
    logical_address: str
    valid_from: date = BEGINNING
    valid_to: date = FOREVER
    origin: str = ""

    def valid_on(self, day: date) -> bool:
        return self.valid_from <= day <= self.valid_to


class RouteOutcome(Enum):
    FOUND = "found"
    NOT_FOUND = "not_found"  # VP004
    AMBIGUOUS = "ambiguous"  # VP006
    NO_ADDRESS = "no_address"  # VP010


@dataclass
class RouteDecision:
    outcome: RouteOutcome
    route: Route | None
    trace: list[str]
    candidates: list[Route] = field(default_factory=list)
    matched_address: str | None = None

    @cached_property
    def shown_trace(self) -> tuple[str, ...]:
        """The steps as an exchange's trace shows them (made once: decisions are remembered)."""
        return tuple(f"route: {step}" for step in self.trace)


@dataclass
class AuthorisationDecision:
    allowed: bool
    authorisation: Authorisation | None
    trace: list[str]

    @cached_property
    def shown_trace(self) -> tuple[str, ...]:
        return tuple(f"authorisation: {step}" for step in self.trace)


def _key(*parts: str) -> tuple[str, ...]:
    return tuple(p.lower() for p in parts)


class Tak:
    """The catalogue, indexed for case-insensitive lookups. Immutable once built."""

    def __init__(
        self,
        routes: Iterable[Route] = (),
        authorisations: Iterable[Authorisation] = (),
        hsa_parents: dict[str, str] | None = None,
        hsa_climb: bool = True,
        source: str = "",
    ) -> None:
        self.routes = list(routes)
        self.authorisations = list(authorisations)
        self.hsa_parents = {k.lower(): v for k, v in (hsa_parents or {}).items()}
        self.hsa_climb = hsa_climb
        self.source = source
        self._routes: dict[tuple[str, ...], list[Route]] = defaultdict(list)
        for r in self.routes:
            self._routes[_key(r.contract, r.logical_address)].append(r)
        self._auths: dict[tuple[str, ...], list[Authorisation]] = defaultdict(list)
        for a in self.authorisations:
            self._auths[_key(a.consumer, a.contract, a.logical_address)].append(a)
        self._decisions: dict[tuple, RouteDecision | AuthorisationDecision] = {}
        self.contracts = sorted({r.contract for r in self.routes} | {a.contract for a in self.authorisations})

    # -- the HSA tree --------------------------------------------------------------------------

    def parents(self, address: str) -> list[str]:
        """Parents of an HSA-id up to the root ``SE``; an unknown id's parent is ``SE``."""
        chain: list[str] = []
        current = address.lower()
        seen = {current}
        while current != ROOT.lower():
            parent = self.hsa_parents.get(current, ROOT)
            if parent.lower() in seen:  # a cycle in the parent table: stop at the root
                parent = ROOT
            chain.append(parent)
            current = parent.lower()
            seen.add(current)
        return chain

    def _climb(self, address: str) -> Iterator[tuple[str, str]]:
        if self.hsa_climb and address.lower() != ROOT.lower():
            for parent in self.parents(address):
                yield (ROOT if parent == ROOT else f"(parent){parent}", parent)

    def _routing_steps(self, address: str) -> Iterator[tuple[str, str]]:
        """(label, address) in routing order: exact, HSA parents up to SE, default."""
        if "#" in address:  # legacy VG#VE: last part first, no further fallback
            yield from ((p, p) for p in reversed([p for p in address.split("#") if p]))
            return
        yield (address, address)
        yield from self._climb(address)
        yield (f"(default){DEFAULT}", DEFAULT)

    def _authorisation_steps(self, address: str) -> Iterator[tuple[str, str]]:
        """(label, address) in authorisation order: exact, default, HSA parents up to SE."""
        if "#" in address:
            yield from ((p, p) for p in reversed([p for p in address.split("#") if p]))
            return
        yield (address, address)
        yield (f"(default){DEFAULT}", DEFAULT)
        yield from self._climb(address)

    # -- lookups -------------------------------------------------------------------------------

    def route(self, contract: str, address: str, day: date) -> RouteDecision:
        """The routing decision; the catalogue never changes, so decisions are remembered (treat as read-only)."""
        key = ("route", contract, address, day)
        decision = self._decisions.get(key)
        if decision is None:
            decision = self._remember(key, self._route(contract, address, day))
        return decision

    def authorise(self, consumer: str, contract: str, address: str, day: date) -> AuthorisationDecision:
        """The authorisation decision, remembered like routing decisions (treat as read-only)."""
        key = ("auth", consumer, contract, address, day)
        decision = self._decisions.get(key)
        if decision is None:
            decision = self._remember(key, self._authorise(consumer, contract, address, day))
        return decision

    def _remember(self, key: tuple, decision):
        if len(self._decisions) >= _MAX_DECISIONS:  # bounded: random addresses must not grow memory
            self._decisions.clear()
        self._decisions[key] = decision
        return decision

    def _route(self, contract: str, address: str, day: date) -> RouteDecision:
        trace: list[str] = []
        for label, candidate in self._routing_steps(address):
            trace.append(label)
            valid = [r for r in self._routes.get(_key(contract, candidate), ()) if r.valid_on(day)]
            if not valid:
                continue
            if len(valid) > 1:
                return RouteDecision(RouteOutcome.AMBIGUOUS, None, trace, valid, candidate)
            route = valid[0]
            if not route.address.strip():
                return RouteDecision(RouteOutcome.NO_ADDRESS, route, trace, valid, candidate)
            return RouteDecision(RouteOutcome.FOUND, route, trace, valid, candidate)
        return RouteDecision(RouteOutcome.NOT_FOUND, None, trace)

    def _authorise(self, consumer: str, contract: str, address: str, day: date) -> AuthorisationDecision:
        trace: list[str] = []
        for label, candidate in self._authorisation_steps(address):
            trace.append(label)
            for a in self._auths.get(_key(consumer, contract, candidate), ()):
                if a.valid_on(day):
                    return AuthorisationDecision(True, a, trace)
        return AuthorisationDecision(False, None, trace)

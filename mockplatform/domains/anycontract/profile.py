"""The "rivta-generic" profile: what can be judged of a call to any contract loaded from a release package,
knowing nothing of its domain but its schemas.

It judges every contract loaded from a package the user gave (``--contracts``); the contracts a domain ships
(``Domain.contract_packages``: the inbox 1.x, web booking, the engagement index) are that domain's to judge and
their calls are left alone. A profile of another domain that also owns a loaded contract (the inbox domain's for
the inbox 2.0 contracts, a complaints domain's for its own) adds its domain's rules; this one still judges the call
by the rules every RIVTA BP 2.1 request must keep. Its rules are the core's (``rules.rivta``): the same checks,
texts and hints as the inbox's, without what only a domain knows (which logical address is right: the TAK says,
and a wrong one is answered VP004). Its test cases are made for what is loaded: one per operation, a valid
request answered.
"""

from __future__ import annotations

from collections.abc import Callable

from ... import domains
from ...contracts import ContractRegistry
from ...fixtures import Fixtures
from ...journal import Exchange
from ...rules import Profile, RequestView, RuleContext, RuleInfo, read_view, rivta
from ...rules.base import NO_CONTRACTS, RequestRule
from ...rules.cases import TestCase, answered_cases
from .names import PROFILE_ID

PROFILE_NAME = "RIVTA BP 2.1, any loaded contract"
CATALOGUE_NAME = "Inlästa tjänstekontrakt"  # the name of its test cases' catalogue in the protocol
CASE_PREFIX = "GEN"
SCHEMAS = "the contract's schemas, from its release package (--contracts)"

CATALOGUE: tuple[tuple[RuleInfo, RequestRule], ...] = rivta.catalogue(
    SCHEMAS, ("The request is in the namespace of a loaded contract",
              "Anropet ligger i namnrymden för ett inläst kontrakt"))


def judged_contracts(contracts: ContractRegistry) -> tuple[frozenset[str], frozenset[str]]:
    """(the responder namespaces the profile judges, those of the contracts domains ship), in lower case."""
    shipped = frozenset(i.responder_namespace.lower() for i in contracts.interactions if domains.shipped(i.package))
    loaded = frozenset(i.responder_namespace.lower() for i in contracts.interactions) - shipped
    return loaded, shipped


RULE_IDS = frozenset(info.id for info, _ in CATALOGUE)


class _Scope:
    """Which contracts a generic profile owns: once its context is made, those it judges; before (the journal's
    exchange page asks first), any that no other installed profile owns. It reads each request with the contracts
    its context was made with, to know which rules cannot be applied to it (``rivta.unapplicable``: SCHEMA
    without the contract's schema; on a request that is no envelope, all but the envelope's)."""

    def __init__(self) -> None:
        self.judged: frozenset[str] | None = None
        self.contracts: ContractRegistry | None = None
        self._others: list[Profile] | None = None

    def read(self, exchange: Exchange) -> RequestView:
        view = read_view(exchange)
        view.unapplied = rivta.unapplicable(view, self.contracts, RULE_IDS) or None
        return view

    def owns(self, namespace: str) -> bool:
        if self.judged is not None:
            return namespace.lower() in self.judged
        if self._others is None:
            self._others = [factory() for profile_id, factory in domains.profiles().items() if profile_id != PROFILE_ID]
        return not any(other.owns_contract(namespace) for other in self._others)

    def context(self, fixtures: Fixtures, contracts: ContractRegistry, consumer: str | None = None,
                system_ids: tuple[str, ...] = (), **options: object) -> RuleContext:
        """The context its rules judge in; options of other profiles are ignored."""
        judged, shipped = judged_contracts(contracts)
        self.judged, self.contracts = judged, contracts
        return RuleContext(fixtures=fixtures, contracts=contracts, consumer=consumer, system_ids=tuple(system_ids),
                           contract_namespaces=judged or NO_CONTRACTS, foreign_namespaces=shipped)


def cases_for(ctx: RuleContext) -> list[TestCase]:
    """One case per operation the context's contracts hold: a valid request to it, answered."""
    return answered_cases([i for i in ctx.contracts.interactions
                           if i.responder_namespace.lower() in ctx.contract_namespaces], CASE_PREFIX)


# What of an exchange its rules and cases never read (nor does the protocol): the answer's headers and the route.
UNREAD = ("response_headers", "route_trace")


def profile() -> Profile:
    """A fresh rivta-generic profile."""
    scope = _Scope()
    owns: Callable[[str], bool] = scope.owns
    return Profile(PROFILE_ID, PROFILE_NAME, CATALOGUE, read=scope.read, context=scope.context, cases_for=cases_for,
                   owns_contract=owns, catalogue=CATALOGUE_NAME, unread=UNREAD)


__all__ = ["CATALOGUE", "judged_contracts", "profile"]

"""Any contract: the generic producer for every loaded contract (``builtin:generic`` in the TAK), the
response templates it answers from (``serve --templates DIR``), and the rule profile "rivta-generic" that judges
calls to them (``profile``).

A contract the platform has no fake for (one whose package the user loads with ``--contracts``: the
1177 Inkorg 2.0 contracts, a complaints service) is routed to ``builtin:generic``. The producer validates
the request as the fake inbox does, then answers the smallest schema-valid response (``synthesis``, with
``patterns`` for pattern facets), or what the operation's template in the folder says (``templates``),
which may store what a request said and recall it in another operation's answer (``store``). The core
finds it through the ``mockplatform.domains`` entry point.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ...domains import AdminRoute, Domain
from .names import ADDRESS, DOMAIN_NAME, PRODUCER, PROFILE_ID
from .store import STATE_SCHEMA, ScenarioState, reset_state
from .templates import Templates, load_templates

if TYPE_CHECKING:
    import sqlite3

    from ...app import Application
    from ...messages import Request
    from ...producers import Producer
    from ...rules import Profile


def templates_of(app: Application) -> Templates:
    """The response templates the application was started with (none: an empty set)."""
    found = getattr(app, "prepared", {}).get(DOMAIN_NAME)
    return found if isinstance(found, Templates) else Templates()


class AnyContractDomain(Domain):
    def prepare(self, app: Application) -> Any:
        folder = getattr(app.config, "templates", None)
        return load_templates(Path(folder), app.contracts) if folder else Templates()

    def producers(self, app: Application) -> dict[str, Producer]:
        from .producer import GenericProducer

        return {PRODUCER: GenericProducer(app, templates_of(app))}

    def reset(self, conn: sqlite3.Connection) -> None:
        reset_state(conn)

    def profiles(self) -> dict[str, Callable[[], Profile]]:
        from .profile import profile

        return {PROFILE_ID: profile}

    def loaded_logical_error(self, app: Application, contract: str, text: str) -> bytes | None:
        from .producer import GenericProducer

        producer = app.producers.get(PRODUCER)
        return producer.logical_error(contract, text) if isinstance(producer, GenericProducer) else None

    def admin_routes(self) -> Sequence[AdminRoute]:
        return (AdminRoute("GET", "generic", f"the generic producer ({ADDRESS}): its response templates, what they "
                           "stored (/admin/generic, or /admin/generic/<bucket>) and their counters", _admin_state),)

    def banner(self, app: Application) -> Sequence[str]:
        templates = templates_of(app)
        if not templates.folder:
            return ()
        return (f"response templates: {len(templates)} from {templates.folder} "
                f"({', '.join(t['operation'] for t in templates.describe()) or 'none'})", *unrouted(app, templates))

    def test_api(self, app: Application) -> dict[str, Any]:
        return {"stored": ScenarioState(app.journal).stored}


def unrouted(app: Application, templates: Templates) -> list[str]:
    """A warning for each template whose contract the TAK routes to no ``builtin:generic``: the generic producer
    never gets its calls (a contract with a fake of its own, or a route missing), so the template is never used."""
    routed = {route.contract.lower() for route in app.tak.routes if route.address.strip().lower() == ADDRESS}
    return [f"warning: response template {template.path} is never used: its contract, {template.interaction.name} "
            f"{template.interaction.version} ({template.interaction.responder_namespace}), is not routed to {ADDRESS} "
            f"in the TAK ({app.tak.source}); route it there, or remove the template"
            for template in templates.by_contract.values()
            if template.interaction.responder_namespace.lower() not in routed]


def _admin_state(app: Application, request: Request, parts: list[str]) -> Any:
    """GET /admin/generic[/<bucket>]: the templates, what they stored, and the counters."""
    if len(parts) > 1:
        return None
    state = ScenarioState(app.journal)
    bucket = parts[0] if parts and parts[0] else None
    return {"address": ADDRESS, "templates": templates_of(app).describe(), "stored": state.stored(bucket),
            "counters": state.counters()}


domain = AnyContractDomain(
    name=DOMAIN_NAME,
    title="Any contract: the generic producer, response templates and the rivta-generic profile",
    store_schema=STATE_SCHEMA,
    judges_any_contract=True,
)


__all__ = ["AnyContractDomain", "domain", "templates_of"]

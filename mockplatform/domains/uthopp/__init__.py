"""SSO from 1177 to an external system ("uthopp"): a SAML 2.0 identity provider stand-in, the check of a
service provider's side of the flow, and a probe that plays the citizen's browser against it.

Everything about it is in this folder: SAML's names and the stand-in's conventions (``names``), its keys
(``keys``), metadata both ways (``metadata``), the messages on the wire (``saml``), the endpoints under /sso
(``idp``), its state (``store``), its fixtures section (``section``), the ``uthopp`` rule profile and its test
cases (``profile``, ``cases``) and the probe (``probe``). The core finds it through the entry point.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote

from ...domains import AdminRoute, Domain, Endpoint, FrontPageItem
from ...errors import ConfigError
from ...messages import json_response
from .metadata import MetadataError, ServiceProvider, fetch_metadata, read_sp_metadata
from .names import DOMAIN_NAME, ENVIRONMENTS, PREFIX, PROFILE_ID
from .section import SpSource, read_section, sso_fixtures
from .store import SSO_SCHEMA, SSO_UPGRADES, SsoStore, reset_sso

if TYPE_CHECKING:
    import sqlite3

    from ...app import Application
    from ...messages import Request
    from ...probing import ProbeOptions, ProbeRun
    from ...rules import Profile

def _load(source: SpSource) -> ServiceProvider:
    data = fetch_metadata(source.metadata, f"{source.where}: metadata")
    try:
        return read_sp_metadata(data, source.environment, source.metadata, source.system_id)
    except MetadataError as exc:
        raise ConfigError(f"{source.where}: {exc}") from exc


class SsoDomain(Domain):
    def fixtures(self, data: dict[str, Any], path: Path) -> Any:
        return read_section(data, path)

    def prepare(self, app: Application) -> Any:
        """The SPs of the fixtures, read before anything starts: a bad metadata file stops ``serve``."""
        return {"service_providers": [_load(s) for s in sso_fixtures(app.fixtures).service_providers]}

    def attach(self, app: Application) -> None:
        store = SsoStore(app.journal)
        for sp in app.prepared[DOMAIN_NAME]["service_providers"]:
            store.register(sp)
        for environment in ENVIRONMENTS:
            store.key(environment)  # made now, so the metadata is the same from the first request

    def reset(self, conn: sqlite3.Connection) -> None:
        reset_sso(conn)

    def endpoints(self) -> Sequence[Endpoint]:
        from .idp import handle

        return (Endpoint(PREFIX, handle, "SAML 2.0 IdP stand-in: /sso/<test|production>/metadata, redirect, slo, "
                                         "logout"),)

    def admin_routes(self) -> Sequence[AdminRoute]:
        return (AdminRoute("GET", "sso", "the SSO stand-in: /admin/sso (SPs, Response kinds, armed Responses), "
                           "/admin/sso/sessions (the citizens' sessions and their SPs)", _admin_get),
                AdminRoute("POST", "sso", "register SP metadata: POST /admin/sso/sps?environment=test&system_id=..., "
                           "body the metadata XML; arm a Response: POST /admin/sso/responses {\"kind\": ..., "
                           "\"sp\": ..., \"times\": 1}", _admin_post),
                AdminRoute("DELETE", "sso", "DELETE /admin/sso/sps/<entityID> or /admin/sso/responses", _admin_delete))

    def profiles(self) -> dict[str, Callable[[], Profile]]:
        from .profile import profile

        return {PROFILE_ID: profile}

    def probes(self) -> dict[str, Callable[[Application, ProbeOptions], ProbeRun]]:
        from .probe import probe

        return {PROFILE_ID: probe}

    def front_page(self, app: Application) -> Sequence[FrontPageItem]:
        sps = SsoStore(app.journal).providers()
        return (FrontPageItem("SSO (uthopp)", f"SAML-IdP (ställföreträdare): {len(sps)} registrerade "
                              "tjänsteleverantörer. Metadata: /sso/test/metadata.",
                              "SAML IdP stand-in: metadata at /sso/test/metadata", "/sso/"),)

    def banner(self, app: Application) -> Sequence[str]:
        return ("SSO IdP metadata: /sso/test/metadata (test), /sso/production/metadata (production-like)",)

    def test_api(self, app: Application) -> dict[str, Any]:
        from .idp import register_metadata, state

        return {"sso_register": lambda data, environment="test", system_id=None: register_metadata(
                    app, data, environment, "pytest", system_id),
                "sso_arm": lambda kind, sp=None, times=1: state(app).arm(kind, sp, times)}


def _admin_get(app: Application, request: Request, parts: list[str]) -> Any:
    from .idp import state

    store = SsoStore(app.journal)
    if parts == ["sessions"]:
        return {"sessions": store.sessions()}
    if parts and parts != [""]:
        return None  # 404: /admin/sso and /admin/sso/sessions are all there is to GET
    from .saml import KINDS

    return {"metadata": {env: f"{PREFIX}/{env}/metadata" for env in ENVIRONMENTS},
            "service_providers": [sp.summary() | {"system_id": sp.system_id} for sp in store.providers()],
            "armed": state(app).listed(),
            "kinds": {k.name: {"en": k.en, "sv": k.sv} for k in KINDS.values()}}


def _admin_post(app: Application, request: Request, parts: list[str]) -> Any:
    from .idp import register_metadata, state

    if parts == ["sps"]:
        environment = request.query.get("environment", "test")
        if environment not in ENVIRONMENTS:
            return json_response(400, {"error": f"environment must be one of {', '.join(ENVIRONMENTS)}"})
        try:
            sp = register_metadata(app, request.body, environment, "admin API", request.query.get("system_id"))
        except MetadataError as exc:
            return json_response(400, {"error": str(exc)})
        return json_response(201, {"registered": sp.summary()})
    if parts == ["responses"]:
        try:
            wanted = json.loads(request.body or b"{}")
            if not isinstance(wanted, dict):
                raise ValueError("the body must be a JSON object")
            sp = wanted.get("sp")
            if sp is not None and (not isinstance(sp, str) or not SsoStore(app.journal).environments_of(sp)):
                raise ValueError(f"'sp' {sp!r} is not the entityID of a registered service provider (registered: "
                                 f"{', '.join(p.entity_id for p in SsoStore(app.journal).providers()) or 'none'}); "
                                 "leave it out to arm for any")
            armed = state(app).arm(str(wanted.get("kind", "")), sp, wanted.get("times", 1))
        except ValueError as exc:
            return json_response(400, {"error": str(exc)})
        return json_response(201, {"armed": armed})
    return None


def _admin_delete(app: Application, request: Request, parts: list[str]) -> Any:
    from .idp import state

    if parts == ["responses"]:
        return {"disarmed": state(app).clear()}
    if len(parts) >= 2 and parts[0] == "sps":
        entity = unquote("/".join(parts[1:]))
        removed = SsoStore(app.journal).unregister(entity, request.query.get("environment"))
        return {"removed": removed} if removed else json_response(404, {"error": f"no SP {entity!r} registered"})
    return None


domain = SsoDomain(name=DOMAIN_NAME, title="Uthopp: SAML 2.0 single sign-on från 1177 (IdP-ställföreträdare)",
                   store_schema=SSO_SCHEMA, store_upgrades=SSO_UPGRADES)


__all__ = ["SsoDomain", "domain"]

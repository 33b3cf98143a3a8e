"""The SSO stand-in's section of the fixtures file: its public address (optional) and the service
providers registered at start, each from its metadata (a file beside the fixtures file, or a URL).

    [uthopp]
    base_url = "http://127.0.0.1:8080"   # optional: where SPs reach the stand-in (default: the request's Host)

    [[uthopp.service_providers]]
    metadata = "sp-metadata.xml"         # a file (relative to this fixtures file) or an http(s) URL
    environment = "test"                 # "test" (default) or "production": which IdP metadata it trusts
    system_id = "SE2321000016-7XQA"      # optional: the 1177 system-id whose ssoLink leads to it
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ...errors import ConfigError
from ...fixtures import Fixtures
from .names import DOMAIN_NAME, ENVIRONMENTS


@dataclass(frozen=True)
class SpSource:
    metadata: str  # a path (resolved) or a URL
    environment: str = "test"
    system_id: str | None = None
    where: str = ""  # the fixtures entry, for errors


@dataclass(frozen=True)
class SsoFixtures:
    base_url: str | None = None
    service_providers: tuple[SpSource, ...] = field(default_factory=tuple)

    def to_json(self) -> dict[str, Any]:
        return {DOMAIN_NAME: {"base_url": self.base_url, "service_providers": [
            {"metadata": s.metadata, "environment": s.environment, "system_id": s.system_id}
            for s in self.service_providers]}}


def read_section(data: dict[str, Any], path: Path) -> SsoFixtures:
    section = data.get(DOMAIN_NAME, {})
    if not isinstance(section, dict):
        raise ConfigError(f"{path}: [{DOMAIN_NAME}] must be a table")
    base = section.get("base_url")
    if base is not None:
        if not isinstance(base, str) or not base.startswith(("http://", "https://")):
            raise ConfigError(f"{path}: [{DOMAIN_NAME}] 'base_url' must be an http(s) URL, e.g. "
                              "\"http://127.0.0.1:8080\"")
        base = base.rstrip("/")
    rows = section.get("service_providers", [])
    if not isinstance(rows, list) or not all(isinstance(r, dict) for r in rows):
        raise ConfigError(f"{path}: [[{DOMAIN_NAME}.service_providers]] must be an array of tables")
    sps = []
    for i, row in enumerate(rows, 1):
        at = f"[[{DOMAIN_NAME}.service_providers]] #{i}"
        metadata = row.get("metadata")
        if not isinstance(metadata, str) or not metadata.strip():
            raise ConfigError(f"{path}: {at}: 'metadata' (a file or an http(s) URL of the SP's metadata) is required")
        environment = row.get("environment", "test")
        if environment not in ENVIRONMENTS:
            raise ConfigError(f"{path}: {at}: 'environment' must be one of {', '.join(ENVIRONMENTS)}, "
                              f"not {environment!r}")
        system_id = row.get("system_id")
        if system_id is not None and (not isinstance(system_id, str) or not system_id.strip()):
            raise ConfigError(f"{path}: {at}: 'system_id' must be a non-empty string")
        metadata = metadata.strip()
        if not metadata.startswith(("http://", "https://")):
            metadata = str((path.parent / metadata).resolve())
        sps.append(SpSource(metadata, environment, system_id.strip() if system_id else None, f"{path}: {at}"))
    return SsoFixtures(base, tuple(sps))


def sso_fixtures(fixtures: Fixtures) -> SsoFixtures:
    return fixtures.section(DOMAIN_NAME)


__all__ = ["SpSource", "SsoFixtures", "read_section", "sso_fixtures"]

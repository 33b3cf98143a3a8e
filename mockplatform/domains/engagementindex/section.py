"""The engagement index's section of the fixtures file: who owns the index, what is reserved, and who
subscribes to its notifications.

    [engagementindex]
    owner = "5565594230"                 # the logical address of Update and FindContent
    hsa_id = "SE5565594230-EI"           # the index as a consumer, when it notifies its subscribers
    reserved_logical_addresses = [...]   # EI005
    reserved_source_systems = [...]      # EI006

    [[engagementindex.subscribers]]
    logical_address = "SE5565594230-1177"
    name = "1177 Vårdguiden"
    service_domains = ["riv:crm:scheduling"]
    categorizations = ["Booking", "Invitation"]   # optional: every categorization when left out
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ...errors import ConfigError
from ...fixtures import Fixtures
from .names import DOMAIN_NAME, NATIONAL_OWNER


@dataclass(frozen=True)
class Subscriber:
    logical_address: str
    name: str = ""
    service_domains: tuple[str, ...] = ()
    categorizations: tuple[str, ...] = ()  # empty: every categorization

    def wants(self, service_domain: str, categorization: str) -> bool:
        """Whether a post of this service domain and categorization is notified to it."""
        return service_domain in self.service_domains and (
            not self.categorizations or categorization in self.categorizations)


@dataclass(frozen=True)
class IndexFixtures:
    owner: str = NATIONAL_OWNER
    hsa_id: str = f"SE{NATIONAL_OWNER}-EI"
    reserved_logical_addresses: tuple[str, ...] = ()
    reserved_source_systems: tuple[str, ...] = ()
    subscribers: tuple[Subscriber, ...] = field(default_factory=tuple)

    def to_json(self) -> dict[str, Any]:
        return {"engagementindex": {
            "owner": self.owner, "hsa_id": self.hsa_id,
            "reserved_logical_addresses": list(self.reserved_logical_addresses),
            "reserved_source_systems": list(self.reserved_source_systems),
            "subscribers": [{"logical_address": s.logical_address, "name": s.name,
                             "service_domains": list(s.service_domains), "categorizations": list(s.categorizations)}
                            for s in self.subscribers]}}


def _strings(value: Any, path: Path, where: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        raise ConfigError(f"{path}: {where} must be a list of non-empty strings")
    return tuple(v.strip() for v in value)


def read_section(data: dict[str, Any], path: Path) -> IndexFixtures:
    section = data.get(DOMAIN_NAME, {})
    if not isinstance(section, dict):
        raise ConfigError(f"{path}: [{DOMAIN_NAME}] must be a table")
    where = f"[{DOMAIN_NAME}]"
    for key in ("owner", "hsa_id"):
        if key in section and (not isinstance(section[key], str) or not section[key].strip()):
            raise ConfigError(f"{path}: {where} '{key}' must be a non-empty string")
    rows = section.get("subscribers", [])
    if not isinstance(rows, list) or not all(isinstance(r, dict) for r in rows):
        raise ConfigError(f"{path}: [[{DOMAIN_NAME}.subscribers]] must be an array of tables")
    subscribers = []
    for i, row in enumerate(rows, 1):
        at = f"[[{DOMAIN_NAME}.subscribers]] #{i}"
        address = row.get("logical_address")
        if not isinstance(address, str) or not address.strip():
            raise ConfigError(f"{path}: {at}: 'logical_address' is required")
        domains = _strings(row.get("service_domains"), path, f"{at} 'service_domains'")
        if not domains:
            raise ConfigError(f"{path}: {at}: 'service_domains' must name at least one service domain "
                              "(e.g. \"riv:crm:scheduling\")")
        subscribers.append(Subscriber(address.strip(), str(row.get("name", "")), domains,
                                      _strings(row.get("categorizations"), path, f"{at} 'categorizations'")))
    owner = section.get("owner", NATIONAL_OWNER).strip()
    return IndexFixtures(
        owner=owner,
        hsa_id=section.get("hsa_id", f"SE{owner}-EI").strip(),
        reserved_logical_addresses=_strings(section.get("reserved_logical_addresses"), path,
                                            f"{where} 'reserved_logical_addresses'"),
        reserved_source_systems=_strings(section.get("reserved_source_systems"), path,
                                         f"{where} 'reserved_source_systems'"),
        subscribers=tuple(subscribers),
    )


def index_fixtures(fixtures: Fixtures) -> IndexFixtures:
    return fixtures.section(DOMAIN_NAME)

"""The built-in (or given) test data: consumers, citizens, units and systems, and each domain's section.

The core reads what every domain shares (who calls, the citizens, the care units, the systems);
each installed domain reads its own keys of the same file (``Domain.fixtures``), kept by name in
``Fixtures.sections``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from .domains import Domain, installed
from .errors import ConfigError
from .personnummer import problems
from .tomlfile import load_toml

NOTIFICATION_METHODS = ("SMS", "Email", "Other")


def builtin_fixtures_dir() -> Path:
    """fixtures/ of a source checkout, or the copy packed into the wheel."""
    packed = Path(str(resources.files("mockplatform"))) / "_fixtures"
    if packed.is_dir():
        return packed
    return Path(__file__).resolve().parent.parent / "fixtures"


@dataclass(frozen=True)
class Consumer:
    hsa_id: str
    name: str = ""
    system_ids: tuple[str, ...] = ()


@dataclass(frozen=True)
class Citizen:
    subject_of_care_id: str
    name: str = ""
    active: bool = True
    notification_methods: tuple[str, ...] = ()


@dataclass(frozen=True)
class Unit:
    unit_id: str
    name: str = ""
    connected: bool = True


@dataclass(frozen=True)
class System:
    system_id: str
    name: str = ""
    sso_base_url: str = ""


@dataclass
class Fixtures:
    default_consumer: str | None
    consumers: list[Consumer] = field(default_factory=list)
    citizens: list[Citizen] = field(default_factory=list)
    units: list[Unit] = field(default_factory=list)
    systems: list[System] = field(default_factory=list)
    source: str = ""
    sections: dict[str, Any] = field(default_factory=dict)  # each domain's, by domain name

    def section(self, domain: str) -> Any:
        """A domain's section; a ConfigError when that domain read none (it is not installed)."""
        try:
            return self.sections[domain]
        except KeyError:
            raise ConfigError(f"{self.source}: no fixtures section of domain '{domain}' (is it installed?)") from None

    def to_json(self) -> dict:
        extra: dict[str, Any] = {}
        for section in self.sections.values():
            if section is not None and hasattr(section, "to_json"):
                extra.update(section.to_json())
        return {
            **extra,
            "default_consumer": self.default_consumer,
            "consumers": [_plain(c) for c in self.consumers],
            "citizens": [_plain(c) for c in self.citizens],
            "units": [_plain(u) for u in self.units],
            "system_ids": [s.system_id for s in self.systems],
            "systems": [_plain(s) for s in self.systems],
            "source": self.source,
        }


def _plain(obj) -> dict:
    return {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(obj).items()}


def load_fixtures(path: str | Path | None = None, domains: Iterable[Domain] | None = None) -> Fixtures:
    """Load a fixtures TOML file (default: the built-in fixtures/inbox.toml), with the sections of
    ``domains`` (default: the installed ones)."""
    path = Path(path) if path else builtin_fixtures_dir() / "inbox.toml"
    if path.is_dir():
        path = path / "inbox.toml"
    data = load_toml(path, "fixtures")

    def rows(key: str) -> list[dict]:
        value = data.get(key, [])
        if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
            raise ConfigError(f"{path}: [[{key}]] must be an array of tables")
        return value

    def req(row: dict, key: str, where: str) -> str:
        value = row.get(key)
        if not isinstance(value, str) or not value.strip():
            raise ConfigError(f"{path}: {where}: '{key}' is required")
        return value.strip()

    citizens = []
    for i, row in enumerate(rows("citizens"), 1):
        where = f"[[citizens]] #{i}"
        pnr = req(row, "subject_of_care_id", where)
        if problems(pnr):
            raise ConfigError(f"{path}: {where}: subject_of_care_id {pnr}: {'; '.join(problems(pnr))}")
        methods = tuple(row.get("notification_methods", []))
        bad = [m for m in methods if m not in NOTIFICATION_METHODS]
        if bad:
            raise ConfigError(f"{path}: {where}: notification_methods {bad} not among {NOTIFICATION_METHODS}")
        citizens.append(Citizen(pnr, row.get("name", ""), bool(row.get("active", True)), methods))
    return Fixtures(
        default_consumer=data.get("default_consumer"),
        consumers=[Consumer(req(r, "hsa_id", f"[[consumers]] #{i}"), r.get("name", ""),
                            tuple(r.get("system_ids", []))) for i, r in enumerate(rows("consumers"), 1)],
        citizens=citizens,
        units=[Unit(req(r, "unit_id", f"[[units]] #{i}"), r.get("name", ""), bool(r.get("connected", True)))
               for i, r in enumerate(rows("units"), 1)],
        systems=[System(req(r, "system_id", f"[[systems]] #{i}"), r.get("name", ""), r.get("sso_base_url", ""))
                 for i, r in enumerate(rows("systems"), 1)],
        source=str(path),
        sections={d.name: d.fixtures(data, path) for d in (installed() if domains is None else domains)},
    )

"""The built-in (or given) test data: consumers, citizens, units and systems of the fake inbox."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from importlib import resources
from pathlib import Path

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
    inbox_logical_address: str
    default_consumer: str | None
    consumers: list[Consumer] = field(default_factory=list)
    citizens: list[Citizen] = field(default_factory=list)
    units: list[Unit] = field(default_factory=list)
    systems: list[System] = field(default_factory=list)
    source: str = ""

    def to_json(self) -> dict:
        return {
            "inbox_logical_address": self.inbox_logical_address,
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


def load_fixtures(path: str | Path | None = None) -> Fixtures:
    """Load a fixtures TOML file (default: the built-in fixtures/inbox.toml)."""
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
    address = data.get("inbox_logical_address")
    if not isinstance(address, str) or not address.strip():
        raise ConfigError(f"{path}: 'inbox_logical_address' is required")
    return Fixtures(
        inbox_logical_address=address.strip(),
        default_consumer=data.get("default_consumer"),
        consumers=[Consumer(req(r, "hsa_id", f"[[consumers]] #{i}"), r.get("name", ""),
                            tuple(r.get("system_ids", []))) for i, r in enumerate(rows("consumers"), 1)],
        citizens=citizens,
        units=[Unit(req(r, "unit_id", f"[[units]] #{i}"), r.get("name", ""), bool(r.get("connected", True)))
               for i, r in enumerate(rows("units"), 1)],
        systems=[System(req(r, "system_id", f"[[systems]] #{i}"), r.get("name", ""), r.get("sso_base_url", ""))
                 for i, r in enumerate(rows("systems"), 1)],
        source=str(path),
    )

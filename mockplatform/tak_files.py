"""Reading TAK from files: the project's TOML format, the public TAK export JSON, a TAK order JSON.

Every error names the file and the entry, so a broken catalogue is fixed in one go.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import date, datetime
from pathlib import Path
from typing import Any

from .errors import ConfigError, UnreadableFile
from .tak import BEGINNING, FOREVER, PROFILES, Authorisation, Route, Tak
from .tomlfile import load_toml


def _date(value: Any, where: str) -> date:
    if value is None or value == "":
        raise ConfigError(f"{where}: missing date")
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    text = str(value).strip()
    if len(text) == 8 and text.isdigit():
        text = f"{text[:4]}-{text[4:6]}-{text[6:]}"
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00")).date()
    except ValueError:
        raise ConfigError(f"{where}: '{value}' is not a date (use YYYY-MM-DD)") from None


def _str(entry: dict, key: str, where: str) -> str:
    value = entry.get(key)
    if not isinstance(value, str) or not value.strip():
        raise ConfigError(f"{where}: '{key}' is required and must be a non-empty string")
    return value.strip()


def _contracts(entry: dict, where: str) -> list[str]:
    if "contracts" in entry:
        values = entry["contracts"]
        if not isinstance(values, list) or not values or not all(isinstance(v, str) for v in values):
            raise ConfigError(f"{where}: 'contracts' must be a non-empty list of namespaces")
        return [v.strip() for v in values]
    return [_str(entry, "contract", where)]


def load_tak_toml(path: str | Path, _importers: tuple[Path, ...] = ()) -> tuple[Tak, dict[str, int]]:
    """Load the project's TAK file (see fixtures/tak.toml). Returns the TAK and per-contract timeouts.

    ``_importers``: the files whose ``import`` led here, outermost first; a file that appears among them
    imports itself, which is a usage error naming the cycle, not an endless recursion."""
    path = Path(path)
    _check_not_importing_itself(path, _importers)
    data = load_toml(path, "TAK file")
    known = {"hsa_climb", "hsa_parents", "route", "authorisation", "producer_timeout_ms", "import"}
    unknown = set(data) - known
    if unknown:
        raise ConfigError(f"{path}: unknown key(s) {sorted(unknown)}; expected some of {sorted(known)}")
    routes: list[Route] = []
    for i, entry in enumerate(data.get("route", []), 1):
        where = f"{path}: [[route]] #{i}"
        profile = str(entry.get("profile", "RIVTABP21")).upper()
        address = entry.get("address", "")
        if not isinstance(address, str):
            raise ConfigError(f"{where}: 'address' must be a string")
        for contract in _contracts(entry, where):
            for la in _addresses(entry, where):
                routes.append(Route(
                    contract=contract,
                    logical_address=la,
                    address=address.strip(),
                    profile=profile,
                    valid_from=_date(entry.get("valid_from", BEGINNING), where),
                    valid_to=_date(entry.get("valid_to", FOREVER), where),
                    origin=where,
                ))
    auths: list[Authorisation] = []
    for i, entry in enumerate(data.get("authorisation", []), 1):
        where = f"{path}: [[authorisation]] #{i}"
        consumers = entry.get("consumers") or [_str(entry, "consumer", where)]
        for consumer in consumers:
            for contract in _contracts(entry, where):
                for la in _addresses(entry, where):
                    auths.append(Authorisation(
                        consumer=consumer.strip(),
                        contract=contract,
                        logical_address=la,
                        valid_from=_date(entry.get("valid_from", BEGINNING), where),
                        valid_to=_date(entry.get("valid_to", FOREVER), where),
                        origin=where,
                    ))
    parents = data.get("hsa_parents", {})
    if not isinstance(parents, dict):
        raise ConfigError(f"{path}: [hsa_parents] must be a table of child = parent")
    timeouts = data.get("producer_timeout_ms", {})
    if not isinstance(timeouts, dict) or not all(isinstance(v, int) and v > 0 for v in timeouts.values()):
        raise ConfigError(f"{path}: [producer_timeout_ms] must map contract namespaces to positive integers")
    tak = Tak(routes, auths, parents, bool(data.get("hsa_climb", True)), source=str(path))
    imports = data.get("import", [])
    if not isinstance(imports, list) or not all(isinstance(i, str) and i.strip() for i in imports):
        raise ConfigError(f"{path}: 'import' must be a list of file names (relative to this file)")
    for extra in imports:
        other = load_tak_any(path.parent / extra, (*_importers, path))
        tak = merge(tak, other)
    return tak, {k.lower(): v for k, v in timeouts.items()}


def load_tak(path: str | Path) -> tuple[Tak, dict[str, int]]:
    """Any supported TAK file; only the TOML format carries per-contract producer timeouts."""
    path = Path(path)
    if path.suffix.lower() == ".toml":
        return load_tak_toml(path)
    return load_tak_any(path), {}


def _check_not_importing_itself(path: Path, importers: tuple[Path, ...]) -> None:
    """A ConfigError naming the cycle (``a.toml -> b.toml -> a.toml``) when ``path`` is among the files
    that import it. Files are compared by where they are, however their names were written."""
    where = _identity(path)
    for i, importer in enumerate(importers):
        if _identity(importer) == where:
            cycle = " -> ".join(str(p) for p in (*importers[i:], path))
            raise ConfigError(f"{importers[-1]}: TAK imports form a cycle: {cycle}")


def _identity(path: Path) -> Path:
    try:
        return path.resolve()
    except OSError:  # unreadable: named as written (load_toml says what is wrong with it)
        return path.absolute()


def _addresses(entry: dict, where: str) -> list[str]:
    if "logical_addresses" in entry:
        values = entry["logical_addresses"]
        if not isinstance(values, list) or not values:
            raise ConfigError(f"{where}: 'logical_addresses' must be a non-empty list")
        return [str(v) for v in values]
    return [_str(entry, "logical_address", where)]


def merge(a: Tak, b: Tak) -> Tak:
    return Tak(
        a.routes + b.routes,
        a.authorisations + b.authorisations,
        {**a.hsa_parents, **b.hsa_parents},
        a.hsa_climb,
        source=f"{a.source} + {b.source}",
    )


def load_tak_any(path: str | Path, _importers: tuple[Path, ...] = ()) -> Tak:
    """A TAK export JSON, a TAK order JSON, or the project's TOML, told apart by content."""
    path = Path(path)
    if path.suffix.lower() == ".toml":
        return load_tak_toml(path, _importers)[0]
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise UnreadableFile(f"{path}: cannot read: {exc.strerror}") from None
    except json.JSONDecodeError as exc:
        raise ConfigError(f"{path}: not valid JSON: {exc}") from None
    if isinstance(data, dict) and "data" in data:
        return load_tak_export(data, str(path))
    if isinstance(data, dict) and ("inkludera" in data or "exkludera" in data):
        return load_tak_order(data, str(path))
    raise ConfigError(f"{path}: neither a TAK export (top-level 'data') nor a TAK order ('inkludera')")


def load_tak_export(data: dict, source: str = "TAK export") -> Tak:
    """The public TAK export JSON: tables tied together by ids in 'relationships'."""
    tables = data.get("data")
    if not isinstance(tables, dict):
        raise ConfigError(f"{source}: 'data' must be an object of tables")

    def table(name: str) -> dict[Any, dict]:
        rows = tables.get(name, [])
        if not isinstance(rows, list):
            raise ConfigError(f"{source}: data.{name} must be a list")
        return {row.get("id"): row for row in rows if isinstance(row, dict)}

    profiles, contracts = table("rivtaprofil"), table("tjanstekontrakt")
    addresses, components, urls = table("logiskadress"), table("tjanstekomponent"), table("anropsadress")

    def rel(row: dict, name: str, lookup: dict, where: str) -> dict:
        ref = (row.get("relationships") or {}).get(name)
        if ref not in lookup:
            raise ConfigError(f"{where}: relationships.{name} = {ref!r} does not name a row of data.{name}")
        return lookup[ref]

    routes = []
    for row in tables.get("vagval", []) or []:
        where = f"{source}: vagval id {row.get('id')}"
        url = rel(row, "anropsadress", urls, where)
        profile = rel(url, "rivtaprofil", profiles, f"{source}: anropsadress id {url.get('id')}")
        routes.append(Route(
            contract=rel(row, "tjanstekontrakt", contracts, where).get("namnrymd", ""),
            logical_address=rel(row, "logiskadress", addresses, where).get("hsaId", ""),
            address=(url.get("adress") or "").strip(),
            profile=str(profile.get("namn", "RIVTABP21")).upper(),
            valid_from=_date(row.get("fromTidpunkt") or BEGINNING, where),
            valid_to=_date(row.get("tomTidpunkt") or FOREVER, where),
            origin=where,
        ))
    auths = []
    for row in tables.get("anropsbehorighet", []) or []:
        where = f"{source}: anropsbehorighet id {row.get('id')}"
        auths.append(Authorisation(
            consumer=rel(row, "tjanstekonsument", components, where).get("hsaId", ""),
            contract=rel(row, "tjanstekontrakt", contracts, where).get("namnrymd", ""),
            logical_address=rel(row, "logiskadress", addresses, where).get("hsaId", ""),
            valid_from=_date(row.get("fromTidpunkt") or BEGINNING, where),
            valid_to=_date(row.get("tomTidpunkt") or FOREVER, where),
            origin=where,
        ))
    return Tak(routes, auths, source=source)


def load_tak_order(data: dict, source: str = "TAK order") -> Tak:
    """A TAK order ("beställning"): only what is under 'inkludera' is taken."""
    include = data.get("inkludera") or {}
    today = date.today()
    routes = []
    for i, row in enumerate(include.get("vagval", []) or [], 1):
        where = f"{source}: inkludera.vagval #{i}"
        routes.append(Route(
            contract=_str(row, "tjanstekontrakt", where),
            logical_address=_str(row, "logiskAdress", where),
            address=str(row.get("adress", "")).strip(),
            profile=str(row.get("rivtaprofil", "RIVTABP21")).upper(),
            valid_from=today, valid_to=FOREVER, origin=where,
        ))
    auths = []
    for i, row in enumerate(include.get("anropsbehorigheter", []) or [], 1):
        where = f"{source}: inkludera.anropsbehorigheter #{i}"
        auths.append(Authorisation(
            consumer=_str(row, "tjanstekonsument", where),
            contract=_str(row, "tjanstekontrakt", where),
            logical_address=_str(row, "logiskAdress", where),
            valid_from=today, valid_to=FOREVER, origin=where,
        ))
    return Tak(routes, auths, source=source)


__all__ = ["PROFILES", "load_tak", "load_tak_any", "load_tak_export", "load_tak_order", "load_tak_toml", "merge"]


def toml_entries(comment: str, contracts: Sequence[str], addresses: Sequence[str], address: str | None,
                 consumers: Sequence[str]) -> str:
    """A route of ``contracts`` at ``addresses`` to ``address`` (a URL or ``builtin:<name>``; None: no route,
    it is another's to give), and the authorisation of ``consumers`` for them, as the TOML this module reads
    (a domain's ``tak_section``)."""
    def listed(values: Sequence[str]) -> str:
        return "[\n" + "".join(f'  "{v}",\n' for v in values) + "]"

    where = f"contracts = {listed(contracts)}\nlogical_addresses = {listed(addresses)}\n"
    parts = [f"# {comment}\n"]
    if address is not None:
        parts.append(f'[[route]]\n{where}address = "{address}"\nprofile = "RIVTABP21"\n')
    if consumers:
        parts.append(f"[[authorisation]]\nconsumers = {listed(consumers)}\n{where}")
    return parts[0] + "\n".join(parts[1:])

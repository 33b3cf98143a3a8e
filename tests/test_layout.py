"""The package's layout, enforced: the core knows no domain, the composition root imports no adapter,
imports have no cycles, and each concept has one home (the copies that used to disagree)."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

import mockplatform

ROOT = Path(mockplatform.__file__).resolve().parent
ADAPTERS = ("mockplatform.admin", "mockplatform.web", "mockplatform.http_routes", "mockplatform.server",
            "mockplatform.cli", "mockplatform.pytest_plugin", "mockplatform.inprocess")


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _is_module(name: str) -> bool:
    relative = Path(*name.split("."))
    return (ROOT.parent / relative).with_suffix(".py").is_file() or (ROOT.parent / relative / "__init__.py").is_file()


def _type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def _imports(path: Path) -> list[tuple[str, bool]]:
    """(module imported, only for type checking) for every import in the file, those inside functions too."""
    name = _module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    tree = ast.parse(path.read_text(encoding="utf-8"))
    typing_only: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and _type_checking(node):
            typing_only.update(id(n) for child in node.body for n in ast.walk(child))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(alias.name, id(node) in typing_only) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[:len(base) - node.level + 1]
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module or ""
            for alias in node.names:
                candidate = f"{module}.{alias.name}"
                target = candidate if candidate.startswith("mockplatform") and _is_module(candidate) else module
                found.append((target, id(node) in typing_only))
    return [(m, t) for m, t in found if m == "mockplatform" or m.startswith("mockplatform.")]


GRAPH = {_module_name(p): _imports(p) for p in sorted(ROOT.rglob("*.py"))}


def _domain_of(module: str) -> str | None:
    """The domain package a module belongs to (mockplatform.domains.<name>), or None for the core."""
    parts = module.split(".")
    return ".".join(parts[:3]) if len(parts) >= 3 and parts[1] == "domains" else None


def test_the_graph_sees_the_package():
    assert "mockplatform.app" in GRAPH and "mockplatform.domains.inbox1177.producer" in GRAPH
    assert ("mockplatform.domains.inbox1177.store", False) in GRAPH["mockplatform.domains.inbox1177.producer"]


def test_nothing_outside_a_domain_imports_it():
    """The core, the judging engine, the renderers and the adapters reach a domain only through the
    entry-point registry (mockplatform.domains), never by importing it; a domain imports another only
    when it declares that it builds on it (``Domain.requires``)."""
    from mockplatform import domains

    allowed = {f"mockplatform.domains.{d.name}": {f"mockplatform.domains.{r}" for r in d.requires}
               for d in domains.installed()}
    wrong = [(module, target) for module, imports in GRAPH.items() for target, _ in imports
             if _domain_of(target) is not None and _domain_of(target) != _domain_of(module)
             and _domain_of(target) not in allowed.get(_domain_of(module) or "", set())]
    assert wrong == []


def test_the_composition_root_imports_no_adapter():
    wrong = [target for target, _ in GRAPH["mockplatform.app"] if target.startswith(ADAPTERS)]
    assert wrong == []
    assert all(target != "mockplatform" for target, _ in GRAPH["mockplatform.app"])  # not the package either


def test_imports_have_no_cycles():
    """Imports inside functions count; those under ``if TYPE_CHECKING`` (annotations only, never run) do not."""
    edges = {m: sorted({t for t, typing_only in imports if not typing_only and t != m and t in GRAPH})
             for m, imports in GRAPH.items()}
    cycles, state = [], {}

    def visit(module: str, path: list[str]) -> None:
        state[module] = "open"
        for target in edges[module]:
            if state.get(target) == "open":
                cycles.append(path[path.index(target):] + [target])
            elif target not in state:
                visit(target, path + [target])
        state[module] = "done"

    for module in edges:
        if module not in state:
            visit(module, [module])
    assert cycles == []


def test_the_inbox_names_appear_only_in_its_domain():
    """The profile id and the inbox's contract names are written in the inbox domain and nowhere else."""
    pattern = re.compile(r"1177-inbox|IsActiveUser|AddMessageToPatientPortalInbox|eservicesupply:patientportal")
    inbox = ROOT / "domains" / "inbox1177"
    wrong = [str(p.relative_to(ROOT)) for p in ROOT.rglob("*") if p.suffix in (".py", ".j2", ".js", ".css")
             and inbox not in p.parents and pattern.search(p.read_text(encoding="utf-8"))]
    assert wrong == []


@pytest.mark.parametrize(("literal", "home"), [
    ("text/xml; charset=UTF-8", "messages.py"),  # one SOAP content type
    ("Error connecting to service producer", "faults.py"),  # VP009's texts
    ("Timeout when waiting on response", "faults.py"),
    ("Connection failed after one retry", "faults.py"),
    ("XMLParser(", "xmlsafe.py"),  # one factory for hardened parsers
    ("fromstring(", "xmlsafe.py"),  # and no parse of bytes outside it
    ("FROM exchanges", ("domains/inbox1177/store.py", "journal.py")),  # the journal, and the store projecting it
    ("inbox_messages", "domains/inbox1177/store.py"),  # no SQL against the inbox's tables outside its store
    ("x-www-form-urlencoded", "web/forms.py"),  # one reader of the pages' forms
])
def test_each_concept_has_one_home(literal, home):
    places = sorted(str(p.relative_to(ROOT)) for p in ROOT.rglob("*.py") if literal in p.read_text(encoding="utf-8"))
    assert places == ([home] if isinstance(home, str) else list(home))

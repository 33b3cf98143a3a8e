"""The contracts the platform knows: built-in ones plus every package the user loads."""

from __future__ import annotations

from dataclasses import dataclass

from ..errors import ConfigError
from .package import ContractPackage, Interaction, PatternRepair
from .validation import SchemaValidator


@dataclass
class LoadedContract:
    interaction: Interaction
    validator: SchemaValidator


class ContractRegistry:
    def __init__(self) -> None:
        self.packages: list[ContractPackage] = []
        self._by_responder: dict[str, LoadedContract] = {}
        self._by_wsdl_path: dict[str, Interaction] = {}

    def add(self, package: ContractPackage) -> None:
        """Register every interaction of the package; a later package replaces an earlier one. Every schema is
        compiled first: one that does not compile is a ContractPackageError, and nothing of the package is
        registered."""
        loaded = [LoadedContract(interaction, SchemaValidator(interaction)) for interaction in package.interactions]
        self.packages.append(package)
        for contract in loaded:
            self._by_responder[contract.interaction.responder_namespace.lower()] = contract
            self._by_wsdl_path[contract.interaction.wsdl_path.lower()] = contract.interaction

    def get(self, responder_namespace: str) -> LoadedContract | None:
        return self._by_responder.get(responder_namespace.lower())

    def by_wsdl_path(self, path: str) -> Interaction | None:
        return self._by_wsdl_path.get(path.rstrip("/").lower())

    def resolve(self, name: str) -> str:
        """A contract by responder namespace, or by the short name of a loaded one (its interaction's
        name, e.g. ``DoSomething``); a ConfigError naming the known ones."""
        if ":" not in name:
            for interaction in self.interactions:
                if interaction.name.lower() == name.lower():
                    return interaction.responder_namespace
            known = ", ".join(sorted(i.name for i in self.interactions))
            raise ConfigError(f"unknown contract '{name}'; known: {known}")
        return name

    @property
    def interactions(self) -> list[Interaction]:
        return [c.interaction for c in self._by_responder.values()]

    @property
    def repairs(self) -> list[PatternRepair]:
        return [r for p in self.packages for r in p.repairs]

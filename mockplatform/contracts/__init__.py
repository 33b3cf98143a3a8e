"""Service contracts: release packages (built-in or official), schema validation, WSDL serving."""

from .package import ContractPackage, Interaction, PatternRepair, is_builtin, load_package
from .registry import ContractRegistry

__all__ = [
    "ContractPackage",
    "ContractRegistry",
    "Interaction",
    "PatternRepair",
    "is_builtin",
    "load_package",
]

"""Service contracts: release packages (built-in or official), schema validation, WSDL serving."""

from .package import ContractPackage, Interaction, PatternRepair, builtin_package_path, load_package
from .registry import ContractRegistry

__all__ = [
    "ContractPackage",
    "ContractRegistry",
    "Interaction",
    "PatternRepair",
    "builtin_package_path",
    "load_package",
]

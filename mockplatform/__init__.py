"""mockplatform: a local stand-in for the Swedish national service platform (NTjP) and the 1177 inbox.

Run ``mockplatform serve`` for the HTTP server; use ``Application`` to handle requests in-process.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

__all__ = ["Application", "Config", "Request", "Response", "Settings", "__version__"]

if TYPE_CHECKING:
    from .app import Application, Config
    from .messages import Request, Response
    from .settings import Settings

# Imported when first asked for: a tool that needs one module of the package (the journal, say) starts
# without loading the whole platform.
_LAZY = {"Application": "app", "Config": "app", "Request": "messages", "Response": "messages",
         "Settings": "settings"}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'mockplatform' has no attribute {name!r}")
    from importlib import import_module

    value = getattr(import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)

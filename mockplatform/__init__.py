"""mockplatform: a local stand-in for the Swedish national service platform (NTjP) and the 1177 inbox.

Run ``mockplatform serve`` for the HTTP server; use ``Application`` to handle requests in-process.
"""

__version__ = "0.1.0"

from .app import Application, Config  # noqa: E402
from .messages import Request, Response  # noqa: E402
from .settings import Settings  # noqa: E402

__all__ = ["Application", "Config", "Request", "Response", "Settings", "__version__"]

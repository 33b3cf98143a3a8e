"""mockplatform: a local stand-in for the Swedish national service platform (NTjP) and the 1177 inbox.

Run ``mockplatform serve`` for the HTTP server; use ``Application`` to handle requests in-process.
"""

from .app import Application, Config
from .messages import Request, Response
from .settings import Settings
from .version import __version__

__all__ = ["Application", "Config", "Request", "Response", "Settings", "__version__"]

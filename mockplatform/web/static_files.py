"""The pages' own CSS and JavaScript, served from the package (no CDN, no build step).

Only the files named here are served: a path from a request never reaches the file system.
"""

from __future__ import annotations

import functools
from importlib import resources

from ..messages import Response
from .responses import SECURITY_HEADERS

FILES = {
    "ui.css": "text/css; charset=utf-8",
    "journal.js": "text/javascript; charset=utf-8",
    "inbox.js": "text/javascript; charset=utf-8",
}


@functools.cache
def _read(name: str) -> bytes:
    return (resources.files("mockplatform.web") / "static" / name).read_bytes()


def static_file(name: str) -> Response | None:
    """The file's response, or None when no such file is served."""
    content_type = FILES.get(name)
    if content_type is None:
        return None
    return Response(200, [("Content-Type", content_type), ("Cache-Control", "no-cache"), *SECURITY_HEADERS],
                    _read(name))

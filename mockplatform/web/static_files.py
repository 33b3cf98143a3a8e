"""The pages' own CSS and JavaScript, served from the package (no CDN, no build step).

Only the core's files named here and the .css/.js files in a domain's static folder are served: a
name from a request is looked up among them, never joined to a path.
"""

from __future__ import annotations

import functools
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING

from ..messages import Response
from .responses import SECURITY_HEADERS

if TYPE_CHECKING:
    from ..app import Application

TYPES = {".css": "text/css; charset=utf-8", ".js": "text/javascript; charset=utf-8"}
FILES = {"ui.css", "journal.js"}  # the core's own; each domain serves the .css and .js files of its static_dir


@functools.cache
def _read(path: Path) -> bytes:
    return path.read_bytes()


def _files(app: Application) -> dict[str, Path]:
    """Every file served, by name: the core's, then each domain's (a name is never a path)."""
    files = {name: Path(str(resources.files("mockplatform.web") / "static" / name)) for name in FILES}
    for domain in app.domains:
        if domain.static_dir is not None and domain.static_dir.is_dir():
            for path in sorted(domain.static_dir.iterdir()):
                if path.suffix in TYPES and path.is_file():
                    files.setdefault(path.name, path)
    return files


@functools.cache
def favicon() -> Response:
    """GET /favicon.ico, which every browser asks for: a small icon from the package (a 16x16 envelope)."""
    body = (resources.files("mockplatform.web") / "static" / "favicon.ico").read_bytes()
    return Response(200, [("Content-Type", "image/x-icon"), ("Cache-Control", "max-age=86400"), *SECURITY_HEADERS],
                    body)


def static_file(app: Application, name: str) -> Response | None:
    """The file's response, or None when no such file is served."""
    path = _files(app).get(name)
    if path is None:
        return None
    return Response(200, [("Content-Type", TYPES[path.suffix]), ("Cache-Control", "no-cache"), *SECURITY_HEADERS],
                    _read(path))

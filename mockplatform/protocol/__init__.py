"""The test protocol: one model (``model``), one renderer per format, and ``write_all`` for the set.

Each renderer is ``render_<format>(protocol) -> bytes``. Renderers never judge: they show the
verdict and statuses the model holds, and point out loudly when those contradict each other.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

from .docx import render_docx
from .errors import ProtocolWriteError
from .html import render_html
from .json_format import load_schema, protocol_to_dict, render_json
from .junit import render_junit
from .markdown import render_markdown
from .model import Protocol

# format -> file name; write_all returns its paths under the same keys.
FILE_NAMES: dict[str, str] = {
    "html": "protocol.html",
    "docx": "protocol.docx",
    "md": "protocol.md",
    "json": "protocol.json",
    "junit": "junit.xml",
}
_RENDERERS = {"html": render_html, "docx": render_docx, "md": render_markdown, "json": render_json,
              "junit": render_junit}


def write_all(protocol: Protocol, out_dir: Path) -> dict[str, Path]:
    """Render every format, then write them into ``out_dir`` (created if missing).

    All formats are rendered before anything is written, and each file is written to a temporary
    name and then renamed, so a failure never leaves a half-written protocol file behind.
    """
    out_dir = Path(out_dir)
    rendered = {fmt: render(protocol) for fmt, render in _RENDERERS.items()}
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ProtocolWriteError(exc.errno, exc.strerror or str(exc), str(out_dir)) from exc
    written: dict[str, Path] = {}
    for fmt, data in rendered.items():
        path = out_dir / FILE_NAMES[fmt]
        tmp = path.with_name(f".{path.name}.tmp")
        try:
            tmp.write_bytes(data)
            os.replace(tmp, path)
        except OSError as exc:
            with contextlib.suppress(OSError):
                tmp.unlink(missing_ok=True)
            raise ProtocolWriteError(exc.errno, exc.strerror or str(exc), str(path)) from exc
        written[fmt] = path
    return written


__all__ = [
    "FILE_NAMES",
    "ProtocolWriteError",
    "load_schema",
    "protocol_to_dict",
    "render_docx",
    "render_html",
    "render_json",
    "render_junit",
    "render_markdown",
    "write_all",
]

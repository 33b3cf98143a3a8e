"""Reading the project's TOML files (TAK, fixtures, protocol description) with errors that name the file."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

from .errors import ConfigError, UnreadableFile


def load_toml(path: Path, what: str) -> dict[str, Any]:
    """The file's table; UnreadableFile when it cannot be read, ConfigError when it is not TOML."""
    try:
        with path.open("rb") as fh:
            return tomllib.load(fh)
    except OSError as exc:
        raise UnreadableFile(f"{path}: cannot read {what}: {exc.strerror}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None
    except UnicodeDecodeError as exc:  # TOML is UTF-8: a file saved as Latin-1 or Windows-1252 is not
        line = exc.object[:exc.start].count(b"\n") + 1
        raise ConfigError(f"{path}: not valid TOML: line {line} is not UTF-8 (byte 0x{exc.object[exc.start]:02x}): "
                          "save the file as UTF-8") from None

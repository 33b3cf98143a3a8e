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

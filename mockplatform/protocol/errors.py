"""The one error the protocol writer raises: a file that cannot be written (exit code 3)."""

from __future__ import annotations

from ..errors import MockplatformError


class ProtocolWriteError(MockplatformError, OSError):
    """A protocol file cannot be written. An OSError (errno, filename) whose message names the path."""

    def __str__(self) -> str:
        return f"cannot write the test protocol file {self.filename}: {self.strerror}"

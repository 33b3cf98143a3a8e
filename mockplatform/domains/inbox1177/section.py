"""The inbox's section of the fixtures file: the logical address consumers send to reach it."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ...errors import ConfigError
from ...fixtures import Fixtures
from .names import DOMAIN_NAME


@dataclass(frozen=True)
class InboxFixtures:
    logical_address: str  # the HSA-id of the inbox producer system

    def to_json(self) -> dict[str, Any]:
        return {"inbox_logical_address": self.logical_address}


def read_section(data: dict[str, Any], path: Path) -> InboxFixtures:
    address = data.get("inbox_logical_address")
    if not isinstance(address, str) or not address.strip():
        raise ConfigError(f"{path}: 'inbox_logical_address' is required")
    return InboxFixtures(address.strip())


def inbox_address(fixtures: Fixtures) -> str:
    """The inbox's logical address in these fixtures."""
    return fixtures.section(DOMAIN_NAME).logical_address

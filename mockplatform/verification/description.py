"""The descriptive part of the protocol head: who is testing what, from options or a small TOML file.

    # protocol.toml
    system_name = "Exempel Journalsystem 4.2"
    organisation = "Region Exempel"
    system_id = "SE2321000016-7XQA"        # the system-id 1177 issued
    consumer_hsa_id = "SE2321000016-7XQA"  # the HSA-id in the function certificate
    environment = "mockplatform on a developer laptop"
    messages_per_year = 75000              # declared volume, for the cost estimate
    contacts = ["Anna Test, anna.test@example.invalid, 010-123 45 67"]
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields, replace
from pathlib import Path

from ..errors import ConfigError
from ..tomlfile import load_toml

_TEXT_KEYS = ("system_name", "organisation", "system_id", "consumer_hsa_id", "environment")


@dataclass(frozen=True)
class Description:
    system_name: str = ""
    organisation: str = ""
    system_id: str = ""
    consumer_hsa_id: str = ""
    environment: str = ""
    messages_per_year: int | None = None
    contacts: tuple[str, ...] = field(default_factory=tuple)

    def merged(self, **overrides: object) -> Description:
        """This description with the given values (None leaves a value as it is)."""
        return replace(self, **{k: v for k, v in overrides.items() if v is not None})


def load_description(path: Path) -> Description:
    """Read protocol.toml; every error names the file and the key."""
    data = load_toml(path, "the protocol description")
    known = {f.name for f in fields(Description)}
    unknown = sorted(set(data) - known)
    if unknown:
        raise ConfigError(f"{path}: unknown key(s) {unknown}; expected some of {sorted(known)}")
    for key in _TEXT_KEYS:
        if key in data and not isinstance(data[key], str):
            raise ConfigError(f"{path}: '{key}' must be a string")
    volume = data.get("messages_per_year")
    if volume is not None and (not isinstance(volume, int) or isinstance(volume, bool) or volume < 0):
        raise ConfigError(f"{path}: 'messages_per_year' must be a whole number of messages, 0 or more")
    contacts = data.get("contacts", [])
    if isinstance(contacts, str):
        contacts = [contacts]
    if not isinstance(contacts, list) or not all(isinstance(c, str) for c in contacts):
        raise ConfigError(f"{path}: 'contacts' must be a list of strings")
    return Description(**{k: data[k] for k in _TEXT_KEYS if k in data}, messages_per_year=volume,
                       contacts=tuple(contacts))

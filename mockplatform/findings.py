"""One finding type for everything that can be wrong with a request.

Schema violations, 1177 rules and platform observations all become Findings, so the producer's
fault, the journal view and every report format read the same thing.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from enum import StrEnum


class Severity(StrEnum):
    ERROR = "error"
    WARNING = "warning"


@dataclass(frozen=True)
class Finding:
    rule_id: str
    severity: Severity
    message_en: str
    message_sv: str
    path: str | None = None
    line: int | None = None
    source: str | None = None
    hint: str | None = None  # how to fix it, in English
    hint_sv: str | None = None  # the same in Swedish (None: only the English one exists)

    def __str__(self) -> str:
        where = self.path or "?"
        if self.line:
            where += f" (line {self.line})"
        text = f"{self.rule_id} {where}: {self.message_en}"
        if self.hint:
            text += f" Fix: {self.hint}"
        return text

    def to_json(self) -> dict:
        data = asdict(self)
        data["severity"] = self.severity.value
        return data

"""Probes: the platform acting as 1177 against the system under test, then judging what it saw.

A domain offers a probe per rule profile (``Domain.probes``). ``mockplatform probe`` starts the platform
(listening, so the system under test can call it back, e.g. with its index updates), lets the probe
drive its calls through the platform, waits for the follow-ups, and judges the journal from the
probe's start with the same profile as ``verify``. What the probe did, and what it could not do, is
written beside the protocol (``probe.md``) and summed up on the console.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

PASSED, FAILED, NOT_OFFERED, NOT_RUN = "ok", "failed", "not offered", "not run"


@dataclass
class ProbeOptions:
    units: tuple[str, ...] = ()  # logical addresses to probe (default: the domain's, from the fixtures)
    citizens: tuple[str, ...] = ()  # test citizens (default: the domain's)
    wait_s: float = 10.0  # how long to wait for the system's own calls after the last change
    say: Callable[[str], None] = print  # progress lines
    platform_url: str = ""  # where the platform listens (http://host:port), for a probe that drives a browser
    sp_metadata: str | None = None  # the SSO probe: the service provider's metadata (file or URL)
    start_url: str | None = None  # the SSO probe: a protected page of the service provider
    logout_url: str | None = None  # the SSO probe: where the service provider's own logout starts (optional)


@dataclass
class ProbeStep:
    """One thing the probe did: which call, at which address, and what came of it."""

    what: str  # e.g. "GetBookingDetails BK-1001"
    address: str
    outcome: str  # PASSED, FAILED, NOT_OFFERED, NOT_RUN
    note: str = ""
    exchange_id: int | None = None


@dataclass
class ProbeRun:
    steps: list[ProbeStep] = field(default_factory=list)
    # The HSA-id of the system probed, when the probe knows it (the web booking probe: the booking system of the
    # units it probed): the protocol's head names it, and only its part of the journal is judged (verify's
    # --consumer), not the calls the probe itself made as 1177.
    system: str | None = None

    def add(self, what: str, address: str, outcome: str, note: str = "", exchange_id: int | None = None) -> ProbeStep:
        step = ProbeStep(what, address, outcome, note, exchange_id)
        self.steps.append(step)
        return step

    def markdown(self) -> str:
        """The probe's log as the protocol's companion: every step, with the journal's exchange id."""
        lines = ["# Vad proben gjorde / What the probe did", "",
                 "| # | Anrop / call | Adress | Utfall / outcome | Utväxling | Not |", "|---|---|---|---|---|---|"]
        for i, s in enumerate(self.steps, 1):
            exchange = f"#{s.exchange_id}" if s.exchange_id else ""
            note = s.note.replace("|", "\\|").replace("\n", " ")
            lines.append(f"| {i} | {s.what} | {s.address} | {s.outcome} | {exchange} | {note} |")
        return "\n".join(lines) + "\n"

    def write(self, folder: Path) -> Path:
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / "probe.md"
        path.write_text(self.markdown(), encoding="utf-8")
        return path


__all__ = ["FAILED", "NOT_OFFERED", "NOT_RUN", "PASSED", "ProbeOptions", "ProbeRun", "ProbeStep"]

"""How values are written on the pages: times in Swedish local time, personnummer, contract names."""

from __future__ import annotations

from ..display_text import contract_name
from ..localtime import swedish_time

__all__ = ["contract_name", "display_pnr", "local_time"]


def local_time(iso: str | None) -> str:
    """An ISO time of the journal (UTC) as the pages show it: Swedish local time to the second, with the zone
    (``2026-12-03 17:05:09 CET``), the same as in the protocol (``localtime.swedish_time``); unreadable times
    as they are."""
    return swedish_time(iso)


def display_pnr(pnr: str) -> str:
    """191212121212 -> 19121212-1212, as 1177 writes personnummer."""
    return f"{pnr[:8]}-{pnr[8:]}" if len(pnr) == 12 else pnr

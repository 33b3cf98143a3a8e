"""How values are written on the pages: times in local time, personnummer, contract names."""

from __future__ import annotations

from datetime import datetime


def local_time(iso: str | None, seconds: bool = False) -> str:
    """An ISO time of the journal (UTC) in the platform's local time; unreadable times as they are."""
    if not iso:
        return ""
    try:
        return datetime.fromisoformat(iso).astimezone().strftime("%Y-%m-%d %H:%M" + (":%S" if seconds else ""))
    except ValueError:
        return iso


def display_pnr(pnr: str) -> str:
    """191212121212 -> 19121212-1212, as 1177 writes personnummer."""
    return f"{pnr[:8]}-{pnr[8:]}" if len(pnr) == 12 else pnr


def contract_name(namespace: str | None) -> str:
    """urn:...:DoSomethingResponder:1 -> DoSomething 1."""
    if not namespace:
        return ""
    parts = namespace.split(":")
    if len(parts) >= 2 and parts[-2].endswith("Responder"):
        return f"{parts[-2].removesuffix('Responder')} {parts[-1]}"
    return namespace

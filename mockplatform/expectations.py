"""Verifying what the platform received, WireMock style: count the matching exchanges, and when the
count is wrong, explain the nearest misses field by field."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from .envelope import read_answer
from .journal import Exchange

_FIELDS = ("contract", "logical_address", "consumer", "http_status", "vp_code")
NEAREST = 3


@dataclass(frozen=True)
class Expectation:
    """What a call must look like; None means any. A contract may be given by its short name."""

    contract: str | None = None
    logical_address: str | None = None
    consumer: str | None = None
    http_status: int | None = None
    vp_code: str | None = None

    def checks(self, exchange: Exchange) -> list[tuple[str, object, object, bool]]:
        """(field, expected, actual, ok) for every field this expectation constrains."""
        out = []
        for name in _FIELDS:
            want = getattr(self, name)
            if want is None:
                continue
            have = getattr(exchange, name)
            out.append((name, want, have, _same(name, want, have)))
        return out

    def matches(self, exchange: Exchange) -> bool:
        return all(ok for *_, ok in self.checks(exchange))

    def __str__(self) -> str:
        parts = [f"{name}={getattr(self, name)!r}" for name in _FIELDS if getattr(self, name) is not None]
        return ", ".join(parts) or "any call"


def _same(name: str, want: object, have: object) -> bool:
    if have is None:
        return False
    if name == "contract":  # the responder namespace, or its short name: ...:DoSomethingResponder:1
        want_s, have_s = str(want).lower(), str(have).lower()
        return want_s == have_s or (":" not in want_s and f":{want_s}responder:" in have_s)
    if isinstance(want, str):
        return want.lower() == str(have).lower()
    return want == have


def verify_count(exchanges: Iterable[Exchange], expectation: Expectation, count: int | None = 1) -> str | None:
    """None when the count is right (count None: at least one); else the explanation to show."""
    exchanges = list(exchanges)
    matched = [e for e in exchanges if expectation.matches(e)]
    if (count is None and matched) or (count is not None and len(matched) == count):
        return None
    wanted = "at least 1" if count is None else f"exactly {count}"
    lines = [f"Expected {wanted} call(s) matching {expectation}; received {len(matched)} "
             f"(of {len(exchanges)} in total)."]
    if count is not None and len(matched) > count:
        lines.append("Matching calls:")
        lines += [f"  {_line(e)}" for e in matched]
        return "\n".join(lines)
    if matched:  # too few: the ones that did match, then what else came
        lines.append("Matching calls:")
        lines += [f"  {_line(e)}" for e in matched]
    misses = sorted((e for e in exchanges if e not in matched),
                    key=lambda e: -sum(ok for *_, ok in expectation.checks(e)))[:NEAREST]
    if not exchanges:
        lines.append("No calls were received at all: is the consumer pointed at this platform's /vp URL?")
        return "\n".join(lines)
    if not misses:
        lines.append(f"No other calls were received: {count - len(matched)} more expected (did the consumer "
                     "stop early, or retry fewer times than expected?)")
        return "\n".join(lines)
    lines.append("Nearest misses:")
    for e in misses:
        lines.append(f"  {_line(e)}")
        for name, want, have, ok in expectation.checks(e):
            lines.append(f"      {'ok  ' if ok else 'MISS'} {name}: expected {want!r}, got {have!r}")
        if e.vp_code and expectation.vp_code is None:
            lines.append(f"      note: answered {e.vp_code}: {e.fault_detail}")
        elif not e.vp_code and e.http_status >= 400 and (said := _fault_string(e.response_body)):
            lines.append(f"      note: answered a SOAP fault: {said}")
    return "\n".join(lines)


def _fault_string(body: bytes | None) -> str | None:
    """The faultstring of an answer that is a SOAP fault (the producer's, e.g. a schema violation), shortened."""
    answer = read_answer(body)
    said = answer.fault_string if answer is not None else None
    if said is None:
        return None
    return said if len(said) <= 300 else said[:300] + " ..."


def _line(e: Exchange) -> str:
    return (f"#{e.id} {e.time} {e.http_status} {e.vp_code or '-'} {e.contract or '-'} "
            f"address={e.logical_address!r} consumer={e.consumer!r} correlation={e.correlation_id}")

"""Fault injection: make a producer misbehave the ways a consumer must survive in production.

A fault is chosen per call by contract and/or logical address, for the next N calls or until
cleared, and wraps the real producer (STYLE lesson 11). What the consumer then sees is decided by
the platform's ordinary rules: a read timeout or a refused connection becomes VP009, a SOAP fault
is passed through, and so on, exactly as if a real producer had misbehaved.

Faults of the two sorts compose: a call meets at most one ``delay`` (the first armed that matches)
and at most one fault of another kind, an *answer* (the first armed that matches), each counted as
used; it waits the delay, then gets the answer (or the real producer's, when no answer fault
matched). "First" is the order they were armed in.

The armed faults are kept in the platform's database, and each use is counted there under its write lock:
every instance of a platform on a shared database sees the same faults, and a fault armed for the next N
calls is used exactly N times, whichever instances the calls reach.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import asdict, dataclass
from enum import StrEnum
from typing import TYPE_CHECKING

from ..database import Connection
from ..errors import ConfigError
from ..faults import VP009_TIMEOUT, render_fault, vp009_connection_failed
from ..messages import XML_CONTENT_TYPE
from .base import Producer, ProducerAnswer, ProducerCall

if TYPE_CHECKING:
    from ..journal import Journal


class FaultKind(StrEnum):
    DELAY = "delay"  # answer normally, after delay_ms
    TIMEOUT = "timeout"  # no answer within the read timeout: VP009
    CONNECTION_REFUSED = "connection_refused"  # refused, retried once after the retry delay: VP009
    SOAP_FAULT = "soap_fault"  # the producer answers a SOAP fault with HTTP 500: passed through
    HTTP_500 = "http_500"  # HTTP 500 without a SOAP envelope: VP009 with the status
    EMPTY = "empty"  # HTTP 200 with an empty body: VP009
    LOGICAL_ERROR = "logical_error"  # resultCode ERROR with a resultText (contracts whose answer has one)


FAULTS_SCHEMA = """
CREATE TABLE IF NOT EXISTS faults (
    id INTEGER PRIMARY KEY,
    kind TEXT NOT NULL,
    contract TEXT,
    logical_address TEXT,
    remaining INTEGER,
    delay_ms INTEGER NOT NULL,
    text TEXT NOT NULL,
    hits INTEGER NOT NULL DEFAULT 0
);
"""
_FAULT_COLUMNS = "id, kind, contract, logical_address, remaining, delay_ms, text, hits"

# A logical ERROR answer for a contract, from the domain that owns it (None: the contract has no resultCode).
LogicalError = Callable[[str, str], "bytes | None"]


@dataclass
class InjectedFault:
    kind: FaultKind
    contract: str | None = None  # responder namespace; None = any
    logical_address: str | None = None  # None = any
    count: int | None = 1  # calls left; None = until cleared
    delay_ms: int = 0  # for DELAY (and added before any other kind)
    text: str = ""  # faultstring or resultText
    id: int = 0
    hits: int = 0

    def matches(self, contract: str, logical_address: str) -> bool:
        return ((self.contract is None or self.contract.lower() == contract.lower())
                and (self.logical_address is None or self.logical_address.lower() == logical_address.lower()))

    def to_json(self) -> dict:
        data = asdict(self)
        data["kind"] = self.kind.value
        return data

    @classmethod
    def from_row(cls, row: tuple) -> InjectedFault:
        fault_id, kind, contract, logical_address, remaining, delay_ms, text, hits = row
        return cls(FaultKind(kind), contract, logical_address, remaining, delay_ms, text, fault_id, hits)


@dataclass(frozen=True)
class AppliedFaults:
    """What the armed faults do to one call: the first matching ``delay`` and the first matching fault of
    another kind (the answer), either of which may be absent."""

    delay: InjectedFault | None = None
    answer: InjectedFault | None = None

    @property
    def faults(self) -> tuple[InjectedFault, ...]:
        return tuple(f for f in (self.delay, self.answer) if f is not None)

    @property
    def kind(self) -> FaultKind:
        """What the call's answer is made of: the answer fault's kind, else DELAY."""
        return self.faults[-1].kind

    @property
    def id(self) -> int:
        return self.faults[-1].id

    def __str__(self) -> str:
        return " + ".join(f"{f.kind.value} (#{f.id})" for f in self.faults)


class FaultInjector:
    """The faults in force, consulted once per producer call. Thread-safe.

    Matching order: the faults are tried in the order they were armed; a call takes the first
    ``delay`` that matches its contract and logical address and the first fault of any other kind
    that matches (a ``logical_error`` only for a contract whose answer has a resultCode), and
    counts each of the two as used. It then waits the delay (and the answer fault's own
    ``delay_ms``) and answers as the answer fault says, or with the real producer's answer.
    """

    def __init__(self, journal: Journal, connect_retry_delay_s: float = 2.0, interrupt: threading.Event | None = None,
                 logical_error: LogicalError = lambda contract, text: None) -> None:
        self.journal = journal
        self.connect_retry_delay_s = connect_retry_delay_s
        self.logical_error = logical_error
        # Set when the platform stops for good: an injected wait ends at once, and the call is answered
        # as the fault says, so it is still answered and journaled.
        self.interrupt = interrupt or threading.Event()

    def add(self, fault: InjectedFault) -> InjectedFault:
        if fault.count is not None and fault.count < 1:
            raise ConfigError("fault 'count' must be at least 1 (or null: until cleared; absent means 1)")
        if fault.delay_ms < 0:
            raise ConfigError("fault 'delay_ms' must not be negative")
        if fault.kind is FaultKind.LOGICAL_ERROR and fault.contract is not None \
                and self.logical_error(fault.contract, "") is None:
            raise ConfigError(f"a logical ERROR answer needs a contract whose answer has a resultCode (a built-in "
                              "contract whose fake gives one, or a contract loaded with --contracts whose response "
                              "schema declares an element named resultCode or ResultCode); the contract "
                              f"{fault.contract} has none, or is not loaded (a contract that reports errors as SOAP "
                              "faults: use kind 'soap_fault')")
        def arm(conn: Connection) -> int:
            return conn.execute(
                "INSERT INTO faults (kind, contract, logical_address, remaining, delay_ms, text, hits) "
                "VALUES (?, ?, ?, ?, ?, ?, 0) RETURNING id",
                (fault.kind.value, fault.contract, fault.logical_address, fault.count, fault.delay_ms, fault.text),
            ).fetchone()[0]

        fault.id = self.journal.write(arm, exchanges_kept=True)
        return fault

    def clear(self, fault_id: int | None = None) -> int:
        """Remove one fault, or all; returns how many were removed."""
        if fault_id is None:
            return self.journal.write(self.clear_all, exchanges_kept=True)
        return self.journal.write(lambda conn: conn.execute("DELETE FROM faults WHERE id = ?", (fault_id,)).rowcount,
                                  exchanges_kept=True)

    @staticmethod
    def clear_all(conn: Connection) -> int:
        """Remove every fault (inside a write: ``reset``); returns how many."""
        return conn.execute("DELETE FROM faults").rowcount

    def armed(self) -> bool:
        """Whether any fault waits for a call (read without the write lock: a fault armed a moment ago may be
        missed by a call already on its way, as it would be anyway)."""
        return self.journal.reader().execute("SELECT 1 FROM faults LIMIT 1").fetchone() is not None

    def active(self) -> list[InjectedFault]:
        rows = self.journal.reader().execute(f"SELECT {_FAULT_COLUMNS} FROM faults ORDER BY id").fetchall()
        return [InjectedFault.from_row(tuple(r)) for r in rows]

    def take(self, call: ProducerCall, armed: bool | None = None) -> AppliedFaults | None:
        """The first matching delay and the first matching answer fault for this call, each counted as
        used; None when no fault applies. ``armed``: whether any fault was armed a moment ago, when the call
        came (None: look now)."""
        if not (self.armed() if armed is None else armed):  # the common case, without the write lock
            return None
        applied = self.journal.write(lambda conn: self._take(conn, call), exchanges_kept=True)
        return applied if applied.faults else None

    def _take(self, conn: Connection, call: ProducerCall) -> AppliedFaults:
        delay = answer = None
        for row in conn.execute(f"SELECT {_FAULT_COLUMNS} FROM faults ORDER BY id").fetchall():
            fault = InjectedFault.from_row(tuple(row))
            if (delay if fault.kind is FaultKind.DELAY else answer) is not None:
                continue
            if fault.kind is FaultKind.LOGICAL_ERROR and self.logical_error(call.contract, "") is None:
                continue
            if fault.matches(call.contract, call.logical_address):
                if fault.kind is FaultKind.DELAY:
                    delay = fault
                else:
                    answer = fault
        applied = AppliedFaults(delay, answer)
        for fault in applied.faults:
            fault.hits += 1
            if fault.count is not None:
                fault.count -= 1
                if fault.count == 0:
                    conn.execute("DELETE FROM faults WHERE id = ?", (fault.id,))
                    continue
            conn.execute("UPDATE faults SET remaining = ?, hits = ? WHERE id = ?", (fault.count, fault.hits, fault.id))
        return applied

    def call(self, producer: Producer, call: ProducerCall, applied: AppliedFaults) -> ProducerAnswer:
        """Answer the call the way the faults say, instead of (or around) the real producer: the delay
        first, then the answer fault's answer (or the producer's)."""
        delay_ms = sum(f.delay_ms for f in applied.faults)
        if delay_ms:
            self.interrupt.wait(delay_ms / 1000.0)
        fault = applied.answer
        if fault is None:
            return producer(call)
        kind = fault.kind
        if kind is FaultKind.TIMEOUT:
            self.interrupt.wait(call.timeout_s)
            return ProducerAnswer(None, failure=VP009_TIMEOUT)
        if kind is FaultKind.CONNECTION_REFUSED:
            self.interrupt.wait(self.connect_retry_delay_s)
            return ProducerAnswer(None, failure=vp009_connection_failed("Connection refused (injected)"))
        if kind is FaultKind.SOAP_FAULT:
            body = render_fault("SOAP-ENV:Server", fault.text or "Injected producer fault", None)
            return ProducerAnswer(500, body, [("Content-Type", XML_CONTENT_TYPE)])
        if kind is FaultKind.HTTP_500:
            return ProducerAnswer(500, b"Internal Server Error (injected)\n", [("Content-Type", "text/plain")])
        if kind is FaultKind.EMPTY:
            return ProducerAnswer(200, b"", [("Content-Type", XML_CONTENT_TYPE)])
        body = self.logical_error(call.contract, fault.text or "Injected logical error")
        return ProducerAnswer(200, body or b"", [("Content-Type", XML_CONTENT_TYPE)])

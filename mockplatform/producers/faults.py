"""Fault injection: make a producer misbehave the ways a consumer must survive in production.

A fault is chosen per call by contract and/or logical address, for the next N calls or until
cleared, and wraps the real producer (STYLE lesson 11). What the consumer then sees is decided by
the platform's ordinary rules: a read timeout or a refused connection becomes VP009, a SOAP fault
is passed through, and so on, exactly as if a real producer had misbehaved.
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import Callable
from dataclasses import asdict, dataclass
from enum import StrEnum

from ..errors import ConfigError
from ..faults import VP009_TIMEOUT, render_fault, vp009_connection_failed
from ..messages import XML_CONTENT_TYPE
from .base import Producer, ProducerAnswer, ProducerCall


class FaultKind(StrEnum):
    DELAY = "delay"  # answer normally, after delay_ms
    TIMEOUT = "timeout"  # no answer within the read timeout: VP009
    CONNECTION_REFUSED = "connection_refused"  # refused, retried once after the retry delay: VP009
    SOAP_FAULT = "soap_fault"  # the producer answers a SOAP fault with HTTP 500: passed through
    HTTP_500 = "http_500"  # HTTP 500 without a SOAP envelope: VP009 with the status
    EMPTY = "empty"  # HTTP 200 with an empty body: VP009
    LOGICAL_ERROR = "logical_error"  # resultCode ERROR with a resultText (contracts whose answer has one)


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


class FaultInjector:
    """The faults in force, consulted once per producer call. Thread-safe."""

    def __init__(self, connect_retry_delay_s: float = 2.0, interrupt: threading.Event | None = None,
                 logical_error: LogicalError = lambda contract, text: None) -> None:
        self.connect_retry_delay_s = connect_retry_delay_s
        self.logical_error = logical_error
        # Set when the platform stops for good: an injected wait ends at once, and the call is answered
        # as the fault says, so it is still answered and journaled.
        self.interrupt = interrupt or threading.Event()
        self._faults: list[InjectedFault] = []
        self._ids = itertools.count(1)
        self._lock = threading.Lock()

    def add(self, fault: InjectedFault) -> InjectedFault:
        if fault.count is not None and fault.count < 1:
            raise ConfigError("fault 'count' must be at least 1 (or null: until cleared; absent means 1)")
        if fault.delay_ms < 0:
            raise ConfigError("fault 'delay_ms' must not be negative")
        if fault.kind is FaultKind.LOGICAL_ERROR and fault.contract is not None \
                and self.logical_error(fault.contract, "") is None:
            raise ConfigError(f"a logical ERROR answer needs a contract with resultCode; {fault.contract} has none "
                              "(a contract that reports errors as SOAP faults: use kind 'soap_fault')")
        with self._lock:
            fault.id = next(self._ids)
            self._faults.append(fault)
        return fault

    def clear(self, fault_id: int | None = None) -> int:
        """Remove one fault, or all; returns how many were removed."""
        with self._lock:
            before = len(self._faults)
            self._faults = [f for f in self._faults if fault_id is not None and f.id != fault_id]
            return before - len(self._faults)

    def armed(self) -> bool:
        """Whether any fault waits for a call (read without the lock: a fault armed a moment ago may be missed
        by a call already on its way, as it would be anyway)."""
        return bool(self._faults)

    def active(self) -> list[InjectedFault]:
        with self._lock:
            return list(self._faults)

    def take(self, call: ProducerCall) -> InjectedFault | None:
        """The first fault that applies to this call, counted as used."""
        if not self._faults:  # the common case, without the lock
            return None
        with self._lock:
            for fault in self._faults:
                if fault.kind is FaultKind.LOGICAL_ERROR and self.logical_error(call.contract, "") is None:
                    continue
                if fault.matches(call.contract, call.logical_address):
                    fault.hits += 1
                    if fault.count is not None:
                        fault.count -= 1
                        if fault.count == 0:
                            self._faults.remove(fault)
                    return fault
        return None

    def call(self, producer: Producer, call: ProducerCall, fault: InjectedFault) -> ProducerAnswer:
        """Answer the call the way the fault says, instead of (or around) the real producer."""
        if fault.delay_ms:
            self.interrupt.wait(fault.delay_ms / 1000.0)
        kind = fault.kind
        if kind is FaultKind.DELAY:
            return producer(call)
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

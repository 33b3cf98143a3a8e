"""The producer interface shared by in-process producers and forwarding to URLs."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from ..envelope import Envelope
from ..journal import Effect
from ..tak import Route


@dataclass(slots=True)
class ProducerCall:
    route: Route
    contract: str
    logical_address: str
    consumer: str
    correlation_id: str
    envelope: Envelope
    headers: list[tuple[str, str]]  # the platform's headers to a producer URL (none for an in-process one)
    timeout_s: float
    request_size: int = 0  # bytes of the consumer's request

    def body(self) -> bytes:
        return self.envelope.to_bytes()


@dataclass(slots=True)
class ProducerAnswer:
    """What came back. ``status`` is None when nothing came back (``failure`` says why)."""

    status: int | None
    body: bytes = b""
    headers: list[tuple[str, str]] = field(default_factory=list)
    effects: list[Effect] = field(default_factory=list)
    failure: str | None = None
    # A state change recorded with the exchange, as data, and applied when the producer's state is next
    # read (``Exchange.effect``): nothing for the commit to do while the consumer waits.
    deferred: str | None = None


Producer = Callable[[ProducerCall], ProducerAnswer]

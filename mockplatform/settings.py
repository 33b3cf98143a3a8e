"""One settings object, validated once, passed in. Secure defaults; every error names the setting."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from .errors import ConfigError

DEFAULT_JOURNAL = Path(".mockplatform") / "journal.sqlite"
ACCESS = ("on", "loopback", "off")  # who may use the admin API and the pages


@dataclass
class Settings:
    # Identity of this platform instance: in fault texts, x-vp-instance-id and routing history.
    instance_name: str = "mockplatform"
    instance_id: str = "mockplatform"
    # Consumer identity over plain HTTP. Trusted by default (local use); strict mode behaves like
    # the real platform: x-vp-sender-id only with x-vp-instance-id = instance_id from an allowed IP.
    strict_sender: bool = False
    # Addresses x-vp-sender-id is trusted from in strict mode; empty: this machine, by the one loopback rule
    # (messages.is_loopback: 127.0.0.0/8, ::1, mapped), as the admin API and the pages have it.
    sender_allowed_ips: tuple[str, ...] = ()
    default_consumer: str | None = None
    # VP013: None = anyone may set x-rivta-original-serviceconsumer-hsaid (the platform's default).
    original_consumer_allowed: tuple[str, ...] | None = None
    # Producers.
    producer_timeout_ms: int = 29_000
    producer_timeout_by_contract: dict[str, int] = field(default_factory=dict)
    connect_retry_delay_s: float = 2.0
    # In-process producers (a domain's fake) answer schema violations with a fault, unless lenient.
    lenient: bool = False
    # Requests larger than this are refused (VP015) and stored truncated.
    max_body_bytes: int = 10 * 1024 * 1024
    journal_body_bytes: int = 1024 * 1024
    # The web pages under /ui: "on" for everyone, "loopback" only from this machine, "off" not served.
    ui: str = "on"
    # The admin API (/admin/): "on", "loopback" (only from 127.0.0.1/::1) or "off".
    admin: str = "loopback"
    # The HTTP server. A connection silent this long is closed (a request cut short by the silence gets
    # 400), and a TLS handshake must finish within it; what still comes after a refusal is read and
    # dropped for linger_s seconds before closing, so the refusal is not lost to a TCP reset; requests
    # that may wait (remote producers, injected delays, admin, pages) get this many worker threads.
    read_timeout_s: float = 60.0
    linger_s: float = 2.0
    workers: int = 64

    def __post_init__(self) -> None:
        for name in ("instance_name", "instance_id"):
            if not getattr(self, name) or not str(getattr(self, name)).strip():
                raise ConfigError(f"setting '{name}' must not be empty")
        for name in ("producer_timeout_ms", "max_body_bytes", "journal_body_bytes"):
            if int(getattr(self, name)) <= 0:
                raise ConfigError(f"setting '{name}' must be a positive number")
        if self.admin not in ACCESS:
            raise ConfigError(f"setting 'admin' must be one of {', '.join(ACCESS)}, not '{self.admin}'")
        if self.connect_retry_delay_s < 0:
            raise ConfigError("setting 'connect_retry_delay_s' must not be negative")
        if self.ui not in ACCESS:
            raise ConfigError(f"setting 'ui' must be one of {', '.join(ACCESS)}, not '{self.ui}'")
        for name in ("read_timeout_s", "linger_s"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value < float("inf"):
                raise ConfigError(f"setting '{name}' must be a number of seconds, not {value!r}")
        if self.read_timeout_s <= 0:
            raise ConfigError("setting 'read_timeout_s' must be more than 0 seconds")
        if isinstance(self.workers, bool) or not isinstance(self.workers, int) or self.workers < 1:
            raise ConfigError(f"setting 'workers' must be a whole number of at least 1, not {self.workers!r}")
        self.producer_timeout_by_contract = {k.lower(): int(v) for k, v in self.producer_timeout_by_contract.items()}

    def producer_timeout_s(self, contract: str) -> float:
        return self.producer_timeout_by_contract.get(contract.lower(), self.producer_timeout_ms) / 1000.0

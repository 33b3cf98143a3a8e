"""The composition root: ``Application`` builds the platform from its configuration and the installed
domains (fixtures, TAK, contracts, journal, producers, fault injection, the SOAP pipeline).

It answers nothing itself: the HTTP route table (``http_routes``), the admin API and the pages are
adapters around it, and the SOAP pipeline (``platform.SoapPipeline``) is the one path of a call.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from .contracts import ContractRegistry, load_package
from .domains import Domain, installed
from .fixtures import Fixtures, builtin_fixtures_dir, load_fixtures
from .journal import SCHEMA_VERSION, Journal
from .outbox import OUTBOX_SCHEMA, OUTBOX_UPGRADES, Outbox
from .platform import CORRELATION, SoapPipeline
from .producers import Producer
from .producers.faults import FAULTS_SCHEMA, FaultInjector
from .producers.http import HttpProducer
from .settings import DEFAULT_JOURNAL, Settings
from .tak import Tak
from .tak_files import load_tak
from .version import __version__


@dataclass
class Config:
    """Where the platform's data comes from. Defaults: built-in fixtures, TAK and contracts, and every
    installed domain (``domains`` names a subset, or other Domain objects, e.g. in a test)."""

    journal: Path = DEFAULT_JOURNAL
    # A PostgreSQL database (``postgresql://...``) that keeps everything instead of the SQLite file ``journal``:
    # one platform for a team, several instances on one database.
    database: str | None = None
    tak: Path | None = None
    fixtures: Path | None = None
    contracts: list[Path] = field(default_factory=list)
    # A folder of response templates for the generic producer (a domain's: ``builtin:generic``); None: none.
    templates: Path | None = None
    settings: Settings = field(default_factory=Settings)
    domains: Sequence[Domain] | None = None


class Application:
    def __init__(self, config: Config | None = None) -> None:
        config = config or Config()
        self.config = config
        self.started = time.monotonic()
        self.started_at = datetime.now(UTC)
        self.domains: tuple[Domain, ...] = tuple(installed() if config.domains is None else config.domains)
        self.fixtures: Fixtures = load_fixtures(config.fixtures, self.domains)
        tak, timeouts = load_tak(config.tak or builtin_fixtures_dir() / "tak.toml")
        given = config.settings  # not changed: the defaults that fixtures and TAK fill in go into a copy
        self.settings: Settings = replace(
            given,
            default_consumer=given.default_consumer if given.default_consumer is not None
            else self.fixtures.default_consumer,
            producer_timeout_by_contract={**timeouts, **given.producer_timeout_by_contract},
        )
        self.tak: Tak = tak
        self.contracts = ContractRegistry()
        for domain in self.domains:
            for package in domain.contract_packages:
                self.contracts.add(load_package(package))
        for package in config.contracts:
            self.contracts.add(load_package(package))
        # What each domain reads of the configuration, checked before the journal is opened: nothing half-loaded.
        self.prepared: dict[str, Any] = {domain.name: domain.prepare(self) for domain in self.domains}
        self.journal = Journal(config.database or config.journal,
                               extra_schema=[OUTBOX_SCHEMA, FAULTS_SCHEMA,
                                             *(d.store_schema for d in self.domains if d.store_schema)],
                               upgrades=[*OUTBOX_UPGRADES, *(u for d in self.domains for u in d.store_upgrades)])
        self.interrupt = threading.Event()  # see interrupt_waits
        self.http_producer = HttpProducer(retry_delay_s=self.settings.connect_retry_delay_s, interrupt=self.interrupt)
        self.faults = FaultInjector(self.journal, connect_retry_delay_s=self.settings.connect_retry_delay_s,
                                    interrupt=self.interrupt, logical_error=self._logical_error)
        self.producers: dict[str, Producer] = {}
        for domain in self.domains:
            self.producers.update(domain.producers(self))
        self.pipeline = SoapPipeline(self.settings, self.tak, self.journal, self.producers, self.http_producer,
                                     self.faults)
        handlers = {}
        for domain in self.domains:
            handlers.update(domain.follow_ups(self))
        self.outbox = Outbox(self.journal, handlers)  # calls made once a call is journaled (``outbox``)
        for domain in self.domains:
            domain.attach(self)
        self.outbox.start()

    def _logical_error(self, contract: str, text: str) -> bytes | None:
        """A logical ERROR answer for ``contract`` from the domain that owns it, else one made for a loaded contract
        (``Domain.loaded_logical_error``); None: it has none."""
        for domain in self.domains:
            body = domain.logical_error(contract, text)
            if body is not None:
                return body
        for domain in self.domains:
            body = domain.loaded_logical_error(self, contract, text)
            if body is not None:
                return body
        return None

    def domain(self, name: str) -> Domain:
        """An installed domain by name (KeyError naming the installed ones)."""
        for domain in self.domains:
            if domain.name == name:
                return domain
        raise KeyError(f"no domain '{name}'; installed: {', '.join(d.name for d in self.domains) or '(none)'}")

    def interrupt_waits(self) -> None:
        """The platform stops for good: injected delays and timeouts, and the wait before a retry, end
        now, so the calls in them are answered (as the fault says) and journaled before it stops."""
        self.interrupt.set()

    def reset(self) -> dict[str, Any]:
        """Empty the journal, every domain's state and the faults in one go, and note when (a new test
        run starts)."""
        when = datetime.now(UTC).isoformat(timespec="microseconds")

        def wipe(conn) -> int:
            for domain in self.domains:
                domain.reset(conn)
            Outbox.clear(conn)
            return self.journal.clear(conn), FaultInjector.clear_all(conn)

        removed, faults = self.journal.write(wipe)
        self.journal.mark_reset(when)
        return {"reset_at": when, "exchanges_removed": removed, "faults_cleared": faults}

    def close(self) -> None:
        self.outbox.stop()
        # The journal was listening until now: a rule waiting for a consequence may judge up to here. (A broken
        # journal is said where it broke; closing goes on.)
        with contextlib.suppress(Exception):
            self.journal.mark_observed(datetime.now(UTC).isoformat(timespec="microseconds"))
        self.http_producer.close()
        self.journal.close()

    def status(self) -> dict:
        """The platform's status (``GET /status``). ``ServiceStatus`` is "Started", or "DatabaseUnreachable" while
        the database does not answer (every call is then answered VP012, as nothing can be journaled)."""
        uptime = time.monotonic() - self.started
        database = self.journal.database
        unreachable = database.check()
        return {
            "Name": "mockplatform",
            "Version": __version__,
            "ServiceStatus": "DatabaseUnreachable" if unreachable else "Started",
            "InstanceName": self.settings.instance_name,
            "InstanceId": self.settings.instance_id,
            "Uptime": _duration(uptime),
            "UptimeSeconds": round(uptime, 3),
            "StartedAt": self.started_at.isoformat(timespec="seconds"),
            "TakCacheInitialized": True,
            "TakCacheResetInfo": f"Loaded from {self.tak.source}",
            "Routes": len(self.tak.routes),
            "Authorisations": len(self.tak.authorisations),
            "Domains": [d.name for d in self.domains],
            "Contracts": sorted(
                ({"name": i.name, "version": i.version, "namespace": i.responder_namespace,
                  "wsdl": i.wsdl_path + "?wsdl"} for i in self.contracts.interactions),
                key=lambda c: c["namespace"],
            ),
            "PatternRepairs": [str(r) for r in self.contracts.repairs],
            "JournalPath": self.journal.location,
            "JournalSchemaVersion": SCHEMA_VERSION,
            # "sqlite" (one instance, the file above) or "postgresql" (shared by every instance on it)
            "Database": database.kind,
            "DatabaseReachable": unreachable is None,
            **({"DatabaseError": unreachable} if unreachable else {}),
        }


def _duration(seconds: float) -> str:
    days, rest = divmod(int(seconds), 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{days}d {hours:02d}h {minutes:02d}m {secs:02d}s"


__all__ = ["CORRELATION", "Application", "Config"]

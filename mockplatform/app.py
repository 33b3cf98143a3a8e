"""The whole platform behind one function: ``Application.handle(Request) -> Response``.

Dispatches POST under /vp to the SOAP pipeline, GET ?wsdl/?xsd to the contract documents,
GET /status to the status document, and everything else to 404.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from . import __version__, admin, web
from .contracts import ContractRegistry, builtin_package_path, load_package
from .contracts import wsdl as wsdl_documents
from .fixtures import Fixtures, builtin_fixtures_dir, load_fixtures
from .journal import Journal
from .messages import Request, Response, json_response
from .platform import CORRELATION, SoapPipeline
from .producers.faults import FaultInjector
from .producers.http import HttpProducer
from .producers.inbox import InboxProducer
from .producers.inbox_store import INBOX_SCHEMA
from .settings import DEFAULT_JOURNAL, Settings
from .tak import Tak
from .tak_files import load_tak


@dataclass
class Config:
    """Where the platform's data comes from. Defaults: built-in fixtures, TAK and contracts."""

    journal: Path = DEFAULT_JOURNAL
    tak: Path | None = None
    fixtures: Path | None = None
    contracts: list[Path] = field(default_factory=list)
    settings: Settings = field(default_factory=Settings)


class Application:
    def __init__(self, config: Config | None = None) -> None:
        config = config or Config()
        self.config = config
        self.started = time.monotonic()
        self.started_at = datetime.now(UTC)
        self.fixtures: Fixtures = load_fixtures(config.fixtures)
        settings = config.settings
        if settings.default_consumer is None:
            settings.default_consumer = self.fixtures.default_consumer
        tak_path = config.tak or builtin_fixtures_dir() / "tak.toml"
        tak, timeouts = load_tak(tak_path)
        for contract, ms in timeouts.items():
            settings.producer_timeout_by_contract.setdefault(contract, ms)
        self.tak: Tak = tak
        self.settings = settings
        self.contracts = ContractRegistry()
        self.contracts.add(load_package(builtin_package_path()))
        for package in config.contracts:
            self.contracts.add(load_package(package))
        self.journal = Journal(config.journal, extra_schema=[INBOX_SCHEMA])
        self.inbox = InboxProducer(self.fixtures, self.contracts, lenient=settings.lenient,
                                   journal_body_bytes=settings.journal_body_bytes)
        self.interrupt = threading.Event()  # see interrupt_waits
        self.http_producer = HttpProducer(retry_delay_s=settings.connect_retry_delay_s, interrupt=self.interrupt)
        self.faults = FaultInjector(connect_retry_delay_s=settings.connect_retry_delay_s, interrupt=self.interrupt)
        self.pipeline = SoapPipeline(settings, self.tak, self.journal, {"inbox": self.inbox}, self.http_producer,
                                     self.faults)

    def interrupt_waits(self) -> None:
        """The platform stops for good: injected delays and timeouts, and the wait before a retry, end
        now, so the calls in them are answered (as the fault says) and journaled before it stops."""
        self.interrupt.set()

    def close(self) -> None:
        self.http_producer.close()
        self.journal.close()

    def needs_worker(self, request: Request) -> bool:
        """Whether handling ``request`` may wait on something outside this process, or is not a platform
        call at all: the HTTP server hands such requests to a worker thread and handles the rest (calls
        routed to in-process producers) on its event loop, where a wait would hold up every client."""
        if request.method != "POST" or not _under_vp(request.path):
            return True  # the admin API and the pages: not the hot path, and some read a lot
        return self.pipeline.may_wait(request)

    def handle(self, request: Request) -> Response:
        path = request.path
        in_vp = _under_vp(path)
        if request.method == "POST" and in_vp:
            return self.pipeline.handle(request)
        answer = admin.handle(self, request)
        if answer is not None:
            return answer
        if request.method in ("GET", "HEAD"):
            page = web.handle(self, request)  # /ui and below; None for every other path
            if page is not None:
                return page
            if path in ("/status", "/status/"):
                return json_response(200, self.status())
            if in_vp and ("wsdl" in request.query or "xsd" in request.query):
                doc = wsdl_documents.serve(self.contracts, path, request.query, self.base_url(request))
                return Response(doc.status, [("Content-Type", doc.content_type)], doc.body)
        if request.method == "POST":
            # Not under /vp: not the platform. Recorded so a consumer with a wrong URL can see it.
            response = Response(404, [("Content-Type", "text/plain; charset=UTF-8")],
                                b"Not found. The platform accepts SOAP calls on paths under /vp\n")
            self.pipeline.record_plain(request, response)
            return response
        if in_vp and request.method not in ("GET", "HEAD"):
            # A call with the wrong method (PUT, DELETE): recorded, so the consumer's developer sees it.
            response = Response(405, [("Content-Type", "text/plain; charset=UTF-8"), ("Allow", "POST")],
                                f"{request.method} is not allowed: SOAP calls are POSTed to /vp\n".encode())
            self.pipeline.record_plain(request, response)
            return response
        return Response(404, [("Content-Type", "text/plain; charset=UTF-8")], b"Not found\n")

    def base_url(self, request: Request) -> str:
        host = request.header("host") or "localhost"
        return f"{request.scheme}://{host}"

    def status(self) -> dict:
        uptime = time.monotonic() - self.started
        return {
            "Name": "mockplatform",
            "Version": __version__,
            "ServiceStatus": "Started",
            "InstanceName": self.settings.instance_name,
            "InstanceId": self.settings.instance_id,
            "Uptime": _duration(uptime),
            "UptimeSeconds": round(uptime, 3),
            "StartedAt": self.started_at.isoformat(timespec="seconds"),
            "TakCacheInitialized": True,
            "TakCacheResetInfo": f"Loaded from {self.tak.source}",
            "Routes": len(self.tak.routes),
            "Authorisations": len(self.tak.authorisations),
            "Contracts": sorted(
                ({"name": i.name, "version": i.version, "namespace": i.responder_namespace,
                  "wsdl": i.wsdl_path + "?wsdl"} for i in self.contracts.interactions),
                key=lambda c: c["namespace"],
            ),
            "PatternRepairs": [str(r) for r in self.contracts.repairs],
            "JournalPath": str(self.journal.path),
        }


def _under_vp(path: str) -> bool:
    """The platform's paths: /vp and everything under it."""
    return path == "/vp" or path.startswith("/vp/")


def _duration(seconds: float) -> str:
    days, rest = divmod(int(seconds), 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{days}d {hours:02d}h {minutes:02d}m {secs:02d}s"




__all__ = ["CORRELATION", "Application", "Config"]

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import requests

from mockplatform import Application, Config, Settings
from mockplatform.server import PlatformHTTPServer, start_in_thread

from .postgres import postgresql_cluster, postgresql_url  # noqa: F401  (fixtures: a real PostgreSQL)


@dataclass
class Running:
    app: Application
    server: PlatformHTTPServer
    url: str
    session: requests.Session = field(default_factory=requests.Session)

    def post(self, body: bytes, path: str = "/vp/anything", headers: dict | None = None, **kw) -> requests.Response:
        h = {"Content-Type": "text/xml; charset=UTF-8"}
        h.update(headers or {})
        return self.session.post(self.url + path, data=body, headers=h, timeout=60, **kw)


# ``MOCKPLATFORM_TEST_DATABASE=postgresql pytest ...``: the platforms the tests start keep everything in a fresh
# PostgreSQL database each (of the throwaway cluster in tests/postgres.py) instead of a SQLite file: the same
# tests, run against the other backend (tox -e postgresql).
ON_POSTGRESQL = os.environ.get("MOCKPLATFORM_TEST_DATABASE", "").lower() == "postgresql"


_current: dict[str, Any] = {}


@pytest.fixture(autouse=True)
def _this_test(request: pytest.FixtureRequest) -> Iterator[None]:
    """What ``stored`` needs of the running test: its request (for the cluster) and its databases."""
    _current.update(request=request, databases={})
    yield
    _current.clear()


def stored(journal: Path) -> dict[str, Any]:
    """Where a platform a test builds keeps its state, as ``Config`` arguments: the SQLite file ``journal``; or,
    with ``ON_POSTGRESQL``, a fresh PostgreSQL database for it (the same one each time this test names the same
    file, so a platform started again on it finds what it left)."""
    if not ON_POSTGRESQL:
        return {"journal": journal}
    databases = _current["databases"]
    if str(journal) not in databases:
        databases[str(journal)] = _current["request"].getfixturevalue("postgresql_cluster").create_database()
    return {"journal": journal, "database": databases[str(journal)]}


@pytest.fixture
def start_platform(tmp_path: Path) -> Iterator[Callable[..., Running]]:
    started: list[Running] = []

    def start(tak: Path | None = None, settings: Settings | None = None, **config) -> Running:
        journal = config.pop("journal", tmp_path / f"journal{len(started)}.sqlite")
        if "database" not in config and str(journal).startswith(str(tmp_path)):
            config.update({k: v for k, v in stored(journal).items() if k != "journal"})
        app = Application(Config(journal=journal, tak=tak, settings=settings or Settings(), **config))
        server = start_in_thread(app)
        running = Running(app, server, server.url)
        started.append(running)
        return running

    yield start
    for running in started:
        running.server.shutdown()
        running.server.server_close()
        running.app.close()


@pytest.fixture
def platform(start_platform) -> Running:
    return start_platform()


@dataclass
class ProducerBehaviour:
    status: int = 200
    body: bytes = b""
    delay_s: float = 0.0
    headers: dict = field(default_factory=dict)
    seen: list = field(default_factory=list)


class FakeProducer:
    """A real HTTP producer on a free port whose answer the test sets."""

    def __init__(self) -> None:
        behaviour = self.behaviour = ProducerBehaviour()

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *a):
                pass

            def do_POST(self):
                length = int(self.headers.get("Content-Length", 0))
                body = self.rfile.read(length)
                behaviour.seen.append((dict(self.headers.items()), body))
                if behaviour.delay_s:
                    import time

                    time.sleep(behaviour.delay_s)
                try:
                    self.send_response(behaviour.status)
                    for k, v in behaviour.headers.items():
                        self.send_header(k, v)
                    self.send_header("Content-Length", str(len(behaviour.body)))
                    self.end_headers()
                    self.wfile.write(behaviour.body)
                except (BrokenPipeError, ConnectionResetError):
                    pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/producer"
        threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def producer() -> Iterator[FakeProducer]:
    p = FakeProducer()
    yield p
    p.close()

"""Heavy traffic against the real server process (``python -m mockplatform serve``) on loopback.

Every answer a client received is matched to exactly one journal row by correlation id (nothing lost,
nothing duplicated), the only faults are the ones asked for, and memory stays flat over thousands of
requests. ``ServerProcess`` is shared with tests/test_crash.py.
"""

from __future__ import annotations

import http.client
import random
import re
import sqlite3
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from .soap import INACTIVE, UNAUTHORISED, add_message, is_active_user

FAULTSTRING = re.compile(rb"<faultstring>(VP\d{3}|Schema validation failed)")


class ServerProcess:
    """The platform as its users run it: a subprocess, its URL read from what it prints."""

    def __init__(self, journal: Path | str, log: Path, *args: str) -> None:
        """``journal``: a SQLite file (--journal), or a PostgreSQL URL (--database)."""
        self.journal = journal
        self.out = log.with_suffix(".out")
        self.err = log.with_suffix(".err")
        where = ("--database" if str(journal).startswith("postgresql://") else "--journal", str(journal))
        with self.out.open("ab") as out, self.err.open("ab") as err:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "mockplatform", "serve", "--port", "0", *where, *args],
                stdout=out, stderr=err, stdin=subprocess.DEVNULL)
        self.url = self._wait_for_url()
        self.host, port = self.url.removeprefix("http://").split(":")
        self.port = int(port)

    def _wait_for_url(self, timeout: float = 20.0) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = re.search(r"mockplatform listening on (http://\S+)/vp", self.out.read_text(errors="replace"))
            if found:
                return found.group(1)
            if self.proc.poll() is not None:
                raise AssertionError(f"the server exited with {self.proc.returncode}: {self.err.read_text()}")
            time.sleep(0.02)
        raise AssertionError(f"the server printed no URL within {timeout} s")

    def rss_bytes(self) -> int:
        """Resident memory of the server process (Linux /proc)."""
        for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
        raise AssertionError("no VmRSS")

    def kill(self) -> None:
        """kill -9: no handler runs, nothing is flushed but what was committed."""
        self.proc.kill()
        self.proc.wait(timeout=10)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.kill()

    def tracebacks(self) -> str:
        text = self.err.read_text(encoding="utf-8", errors="replace")
        return text if "Traceback" in text else ""


def serving(folder: Path) -> Iterator[Callable[..., ServerProcess]]:
    """A starter of server processes (journal and logs in ``folder``), and their stop afterwards."""
    started: list[ServerProcess] = []

    def start(journal: Path | None = None, *args: str) -> ServerProcess:
        server = ServerProcess(journal or folder / "journal.sqlite", folder / f"server{len(started)}", *args)
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()


@pytest.fixture
def serve(tmp_path) -> Iterator[Callable[..., ServerProcess]]:
    yield from serving(tmp_path)


# -- the traffic -----------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Kind:
    """One kind of request in the mix and what it must get."""

    name: str
    body: bytes
    status: int
    code: bytes | None  # VPnnn or the inbox's schema fault, read from faultstring
    headers: tuple[tuple[str, str], ...] = ()


MIX: list[tuple[Kind, int]] = [
    (Kind("IsActiveUser", is_active_user(), 200, None), 35),
    (Kind("AddMessage", add_message(text="Lasttest"), 200, None), 30),
    (Kind("AddMessage inactive", add_message(pnr=INACTIVE), 200, None), 5),
    (Kind("VP004", is_active_user(address="SE0000000000-NONE"), 500, b"VP004"), 8),
    (Kind("VP007", is_active_user(), 500, b"VP007", (("x-vp-sender-id", UNAUTHORISED),)), 8),
    (Kind("VP015", b"<soap:Envelope><oops", 500, b"VP015"), 7),
    (Kind("schema", add_message(message_ns="urn:wrong"), 500, b"Schema validation failed"), 7),
]
KINDS = [kind for kind, _ in MIX]
WEIGHTS = [weight for _, weight in MIX]


@dataclass
class Tally:
    """What the clients saw: each answered request by correlation id, and everything that went wrong."""

    answered: dict[str, tuple[Kind, int, bytes]] = field(default_factory=dict)
    sent: set[str] = field(default_factory=set)
    errors: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)


def client(host: str, port: int, until: float, tally: Tally, seed: int, limit: int | None = None,
           stop_on_error: bool = False) -> None:
    """One consumer on one keep-alive connection, sending the mix until the time (or count) is up."""
    rng = random.Random(seed)
    conn = http.client.HTTPConnection(host, port, timeout=30)
    n = 0
    try:
        while time.monotonic() < until and (limit is None or n < limit):
            kind = rng.choices(KINDS, WEIGHTS)[0]
            cid = str(uuid.uuid4())
            with tally.lock:
                tally.sent.add(cid)
            try:
                conn.request("POST", "/vp", body=kind.body, headers={
                    "Content-Type": "text/xml; charset=UTF-8", "x-skltp-correlation-id": cid, **dict(kind.headers)})
                response = conn.getresponse()
                data = response.read()
            except (OSError, http.client.HTTPException) as exc:
                with tally.lock:
                    tally.errors.append(f"{kind.name}: {type(exc).__name__}: {exc}")
                if stop_on_error:
                    return
                conn.close()
                conn = http.client.HTTPConnection(host, port, timeout=30)
                continue
            n += 1
            with tally.lock:
                tally.answered[cid] = (kind, response.status, data)
    finally:
        conn.close()


def run_clients(server: ServerProcess, clients: int, seconds: float, per_client: int | None = None,
                stop_on_error: bool = False, seed: int = 0) -> Tally:
    tally = Tally()
    until = time.monotonic() + seconds
    threads = [threading.Thread(target=client, args=(server.host, server.port, until, tally, seed * 1000 + i,
                                                     per_client, stop_on_error), daemon=True)
               for i in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=seconds + 60)
    return tally


def check_answers(tally: Tally) -> None:
    """Each answer is the one its kind must get."""
    wrong = []
    for cid, (kind, status, data) in tally.answered.items():
        found = FAULTSTRING.search(data)
        code = found.group(1) if found else None
        ok = status == kind.status and code == kind.code
        if ok and kind.name == "AddMessage":
            ok = b"<resultCode>OK</resultCode>" in data
        if not ok:
            wrong.append((cid, kind.name, status, data[:300]))
    assert not wrong, f"{len(wrong)} wrong answers, e.g. {wrong[:3]}"


def journal_rows(path: Path) -> dict[str, list[tuple[int, int, str | None]]]:
    """correlation id -> [(exchange id, HTTP status, VP code)] as the journal holds them."""
    conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
    try:
        rows: dict[str, list[tuple[int, int, str | None]]] = {}
        for cid, xid, status, code in conn.execute("SELECT correlation_id, id, http_status, vp_code FROM exchanges"):
            rows.setdefault(cid, []).append((xid, status, code))
        return rows
    finally:
        conn.close()


def check_journal_has_each_answer_once(tally: Tally, rows: dict[str, list]) -> None:
    missing = [cid for cid in tally.answered if cid not in rows]
    doubled = [cid for cid, found in rows.items() if len(found) > 1]
    assert not missing, f"{len(missing)} answered exchanges are not in the journal"
    assert not doubled, f"{len(doubled)} correlation ids journaled more than once"
    mismatched = [cid for cid, (_, status, _) in tally.answered.items() if rows[cid][0][1] != status]
    assert not mismatched, f"{len(mismatched)} journal rows disagree with the answer sent"


# -- the tests -------------------------------------------------------------------------------------------------

@pytest.mark.slow
def test_thirty_two_clients_for_five_seconds_lose_nothing_and_duplicate_nothing(serve, capsys):
    server = serve()
    t0 = time.monotonic()
    tally = run_clients(server, clients=32, seconds=5.0)
    elapsed = time.monotonic() - t0
    server.stop()

    assert not tally.errors, f"{len(tally.errors)} client errors, e.g. {tally.errors[:3]}"
    assert len(tally.answered) == len(tally.sent)
    check_answers(tally)
    rows = journal_rows(server.journal)
    check_journal_has_each_answer_once(tally, rows)
    assert set(rows) == set(tally.answered), "the journal holds exchanges no client sent"
    kinds = Counter(kind.name for kind, _, _ in tally.answered.values())
    assert all(kinds[k.name] for k in KINDS), kinds
    assert not server.tracebacks()
    rate = len(tally.answered) / elapsed
    with capsys.disabled():
        print(f"\nload: {len(tally.answered)} requests from 32 clients in {elapsed:.1f} s = {rate:.0f} requests/s")
    assert rate > 50


@pytest.mark.slow
def test_memory_stays_flat_over_five_thousand_requests(serve, capsys):
    if not Path("/proc/self/status").is_file():
        pytest.skip("reads the server's resident memory from /proc")
    server = serve()
    warm = run_clients(server, clients=8, seconds=60, per_client=250, seed=1)
    assert not warm.errors
    before = server.rss_bytes()
    t0 = time.monotonic()
    tally = run_clients(server, clients=8, seconds=60, per_client=625, seed=2)
    elapsed = time.monotonic() - t0
    after = server.rss_bytes()
    assert not tally.errors and len(tally.answered) == 5000
    check_answers(tally)
    growth = after - before
    with capsys.disabled():
        print(f"\nmemory: RSS {before / 2**20:.1f} MB after 2000 warm-up requests, {after / 2**20:.1f} MB after 5000 "
              f"more ({growth / 2**20:+.1f} MB; {5000 / elapsed:.0f} requests/s)")
    assert growth < 20 * 2**20, f"RSS grew by {growth / 2**20:.1f} MB over 5000 requests"

"""The HTTP server over real sockets: what any consumer's HTTP stack relies on (100-continue, HEAD,
pipelining, Connection: close), and that a waiting call or an idle client holds up nobody else."""

from __future__ import annotations

import socket
import threading
import time

import pytest

from mockplatform import Settings
from mockplatform.errors import ConfigError
from mockplatform.fixtures import builtin_fixtures_dir
from mockplatform.http_routes import handle as dispatch
from mockplatform.http_routes import needs_worker
from mockplatform.messages import Request, Response
from mockplatform.producers.faults import FaultKind, InjectedFault

from .soap import CONSUMER, is_active_user
from .test_platform_http import C, auth, route, write_tak


class _Wire:
    """A raw connection to the server, with one buffered reader for what comes back (so that what it
    read ahead, such as a second pipelined answer, is there for the next read)."""

    def __init__(self, url: str) -> None:
        host, port = url.removeprefix("http://").split(":")
        self.sock = socket.create_connection((host, int(port)), timeout=5)
        self.reader = self.sock.makefile("rb")

    def __enter__(self) -> _Wire:
        return self

    def __exit__(self, *exc) -> None:
        self.reader.close()
        self.sock.close()

    def send(self, data: bytes) -> None:
        self.sock.sendall(data)

    def answer(self, head_only: bool = False) -> tuple[bytes, bytes]:
        """One answer: its head and its body (by Content-Length; none after HEAD)."""
        lines = []
        while (line := self.reader.readline()) not in (b"\r\n", b""):
            lines.append(line)
        assert lines, "connection closed"
        length = 0 if head_only else int(next(line.split(b":")[1] for line in lines
                                               if line.lower().startswith(b"content-length:")))
        return b"".join(lines), self.reader.read(length)


def _post(body: bytes, extra: str = "") -> bytes:
    return (f"POST /vp HTTP/1.1\r\nHost: x\r\nContent-Type: text/xml\r\n{extra}"
            f"Content-Length: {len(body)}\r\n\r\n").encode() + body


def test_expect_100_continue_is_answered_before_the_body_is_sent(platform):
    """.NET's HttpClient and curl ask first for large bodies; without the 100 they wait before sending."""
    body = is_active_user()
    with _Wire(platform.url) as wire:
        request = _post(body, "Expect: 100-continue\r\n")
        wire.send(request[: -len(body)])
        assert wire.reader.read(25) == b"HTTP/1.1 100 Continue\r\n\r\n"
        wire.send(body)
        head, answer = wire.answer()
    assert head.startswith(b"HTTP/1.1 200 OK") and b"<status>true</status>" in answer


def test_head_gets_the_headers_of_get_without_a_body(platform):
    with _Wire(platform.url) as wire:
        wire.send(b"HEAD /status HTTP/1.1\r\nHost: x\r\n\r\nGET /status HTTP/1.1\r\nHost: x\r\n\r\n")
        head, _ = wire.answer(head_only=True)
        get_head, body = wire.answer()
    assert head.startswith(b"HTTP/1.1 200 OK") and b"Content-Length:" in head
    assert b'"ServiceStatus"' in body


def test_pipelined_requests_are_answered_in_order(platform):
    with _Wire(platform.url) as wire:
        wire.send(b"".join(_post(is_active_user(), f"x-skltp-correlation-id: pipe-{i}\r\n") for i in range(5)))
        heads = [wire.answer()[0] for _ in range(5)]
    assert [h.split(b"x-skltp-correlation-id: ")[1].split(b"\r\n")[0] for h in heads] == \
        [f"pipe-{i}".encode() for i in range(5)]


def test_connection_close_and_http_1_0_close_after_the_answer(platform):
    for request in (_post(is_active_user(), "Connection: close\r\n"),
                    _post(is_active_user()).replace(b"HTTP/1.1", b"HTTP/1.0", 1)):
        with _Wire(platform.url) as wire:
            wire.send(request)
            head, _ = wire.answer()
            assert b"Connection: close" in head
            assert wire.reader.read(1) == b"", "the server keeps the connection open"


def test_a_delayed_call_holds_up_no_other_client(platform):
    """An injected 1.5 s delay on one call: calls on other connections are answered meanwhile."""
    platform.app.faults.add(InjectedFault(FaultKind.DELAY, delay_ms=1500))
    slow: dict[str, float] = {}

    def delayed() -> None:
        t0 = time.monotonic()
        with _Wire(platform.url) as wire:
            wire.send(_post(is_active_user()))
            wire.answer()
        slow["s"] = time.monotonic() - t0

    thread = threading.Thread(target=delayed)
    thread.start()
    time.sleep(0.3)
    t0 = time.monotonic()
    assert platform.post(is_active_user()).status_code == 200
    quick = time.monotonic() - t0
    thread.join(5)
    assert slow["s"] >= 1.4 and quick < 0.5, (slow, quick)


def test_idle_connections_cost_no_threads(platform):
    """Two hundred clients connected and silent: no thread each, and the next client is answered at once."""
    before = threading.active_count()
    idle = [_Wire(platform.url) for _ in range(200)]
    try:
        time.sleep(0.2)
        t0 = time.monotonic()
        assert platform.post(is_active_user()).status_code == 200
        assert time.monotonic() - t0 < 0.5
        assert threading.active_count() <= before + 2
    finally:
        for wire in idle:
            wire.__exit__()


def test_only_calls_that_may_wait_go_to_a_worker(start_platform, producer, tmp_path):
    """A TAK with the built-in inbox and a remote producer: inbox calls stay on the event loop, calls
    routed to the URL (and, while a fault is armed, every call) go to a worker thread."""
    tak = write_tak(tmp_path, (builtin_fixtures_dir() / "tak.toml").read_text(encoding="utf-8")
                    + route(C, "PRODUCER-1", producer.url) + auth(CONSUMER, C, "PRODUCER-1"))
    app = start_platform(tak=tak).app

    def waits(body: bytes, path: str = "/vp") -> bool:
        return needs_worker(app, Request("POST", path, [("x-vp-sender-id", CONSUMER)], body))

    remote = is_active_user(address="PRODUCER-1").replace(
        b"urn:riv:infrastructure:eservicesupply:patientportal:IsActiveUserResponder:1", C.encode())
    assert not waits(is_active_user())
    assert not waits(b"not xml")  # answered at once with VP015
    assert waits(remote)
    assert waits(is_active_user(), path="/admin/journal")
    app.faults.add(InjectedFault(FaultKind.DELAY, delay_ms=1))
    assert waits(is_active_user())


def test_an_answer_whose_exchange_cannot_be_journaled_is_vp012(platform):
    """Over HTTP (committed with the turn's others) and in-process alike: never an answer that is not in
    the journal, and the next call goes through once the journal works again."""
    journal = platform.app.journal
    # A failure inside the database itself, for the loop's group commit and an in-process call alike.
    _break_journal_for(journal, None)
    over_http = platform.post(is_active_user(), headers={"x-skltp-correlation-id": "lost"})
    in_process = dispatch(platform.app, Request("POST", "/vp", [("x-skltp-correlation-id", "lost")], is_active_user()))
    for status, body in ((over_http.status_code, over_http.content), (in_process.status, in_process.body)):
        assert status == 500 and b"VP012" in body and b"the journal could not be written" in body
    journal.write(lambda conn: conn.execute("DROP TRIGGER broken ON exchanges" if journal.shared
                                            else "DROP TRIGGER broken"))
    assert platform.post(is_active_user()).status_code == 200
    assert journal.exchanges(correlation_id="lost") == []


def _break_journal_for(journal, correlation_id: str | None) -> None:
    """The journal refuses the exchanges of this correlation id (None: every exchange), a failure inside the
    database (SQLite or PostgreSQL), and only those."""
    when = f"NEW.correlation_id = '{correlation_id}'" if correlation_id else "true"
    if journal.shared:
        journal.write(lambda conn: conn.executescript(
            "CREATE FUNCTION broken() RETURNS trigger AS $$ BEGIN RAISE EXCEPTION 'disk full'; END $$ "
            f"LANGUAGE plpgsql; CREATE TRIGGER broken BEFORE INSERT ON exchanges FOR EACH ROW WHEN ({when}) "
            "EXECUTE FUNCTION broken();"))
    else:
        journal.write(lambda conn: conn.execute(
            f"CREATE TRIGGER broken BEFORE INSERT ON exchanges WHEN {when} "
            "BEGIN SELECT RAISE(ABORT, 'disk full'); END"))


def test_a_held_group_answers_vp012_only_for_the_call_whose_exchange_was_not_written(platform):
    """The rule is the pipeline's, without a server: calls answered together and committed in one
    transaction each get their own answer, except the one whose exchange could not be written."""
    app = platform.app
    _break_journal_for(app.journal, "lost")
    group = app.pipeline.hold()
    for correlation in ("kept-1", "lost", "kept-2"):
        group.handle(app.pipeline.handle, Request("POST", "/vp", [("x-skltp-correlation-id", correlation)],
                                                  is_active_user()))
    assert app.journal.exchanges(correlation_id="kept-1") == []  # held: nothing is written before the commit
    answers = group.commit()
    assert [a.status for a in answers] == [200, 500, 200]
    assert b"VP012" in answers[1].body and b"the journal could not be written" in answers[1].body
    assert dict(answers[1].headers)["x-skltp-correlation-id"] == "lost"
    assert [len(app.journal.exchanges(correlation_id=c)) for c in ("kept-1", "lost", "kept-2")] == [1, 0, 1]


def test_the_server_writes_what_the_pipeline_says_may_be_sent(platform, monkeypatch):
    """Whether an answer may leave is decided by the pipeline's commit, not by the server: what the
    commit returns is what the client gets."""
    pipeline = platform.app.pipeline
    commit_held = pipeline.commit_held

    def decided(group):
        return [Response(299, [("X-Decided", "pipeline")], b"from the pipeline") for _ in commit_held(group)]

    monkeypatch.setattr(pipeline, "commit_held", decided)
    r = platform.post(is_active_user())
    assert (r.status_code, r.headers["X-Decided"], r.content) == (299, "pipeline", b"from the pipeline")


def test_server_settings_are_checked_and_name_the_setting():
    defaults = Settings()
    assert (defaults.read_timeout_s, defaults.linger_s, defaults.workers) == (60.0, 2.0, 64)
    for bad, name in ((dict(read_timeout_s=0), "read_timeout_s"), (dict(read_timeout_s=float("nan")), "read_timeout_s"),
                      (dict(linger_s=-1), "linger_s"), (dict(linger_s="2"), "linger_s"),
                      (dict(workers=0), "workers"), (dict(workers=2.5), "workers")):
        with pytest.raises(ConfigError, match=f"setting '{name}'"):
            Settings(**bad)
    assert Settings(linger_s=0, read_timeout_s=0.1, workers=1).linger_s == 0


def test_a_silent_connection_is_closed_after_the_read_timeout(start_platform):
    """Silent clients are dropped after ``read_timeout_s``; one silent in the middle of a body gets 400,
    and the call is journaled with what came."""
    platform = start_platform(settings=Settings(read_timeout_s=0.3))
    with _Wire(platform.url) as idle, _Wire(platform.url) as halfway:
        halfway.send(b"POST /vp HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n"
                     b"x-skltp-correlation-id: silent\r\n\r\n<soap:")
        t0 = time.monotonic()
        assert idle.reader.read(1) == b""
        assert 0.2 < time.monotonic() - t0 < 3
        head, body = halfway.answer()
    assert head.startswith(b"HTTP/1.1 400 ") and b"6 of 100 bytes" in body
    assert platform.app.journal.exchanges(correlation_id="silent")[0].http_status == 400


def test_the_worker_count_is_a_setting(start_platform):
    """With one worker, a second call that may wait waits for the first (two 0.4 s delays take 0.8 s)."""
    platform = start_platform(settings=Settings(workers=1))
    platform.app.faults.add(InjectedFault(FaultKind.DELAY, delay_ms=400, count=2))
    done: list[float] = []
    t0 = time.monotonic()

    def call() -> None:
        with _Wire(platform.url) as wire:
            wire.send(_post(is_active_user()))
            assert wire.answer()[0].startswith(b"HTTP/1.1 200 ")
        done.append(time.monotonic() - t0)

    threads = [threading.Thread(target=call) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert len(done) == 2 and max(done) >= 0.75, done


def test_listening_on_every_address_takes_ipv4_calls_too(tmp_path):
    """``--host ::`` listens on IPv6 and, where the system can, IPv4: a consumer calling 127.0.0.1 reaches it."""
    import socket
    import urllib.request

    from mockplatform import Application, Config
    from mockplatform.server import start_in_thread

    if not socket.has_dualstack_ipv6():
        pytest.skip("this system has no dual-stack IPv6 sockets")
    app = Application(Config(journal=tmp_path / "j.sqlite"))
    server = start_in_thread(app, host="::", port=0)
    try:
        port = server.server_address[1]
        assert urllib.request.urlopen(f"http://127.0.0.1:{port}/status", timeout=10).status == 200
    finally:
        server.shutdown()
        server.server_close()
        app.close()

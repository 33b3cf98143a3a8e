"""Hostile and broken requests over real HTTP: each gets the real platform's answer in bounded time and
memory, lands in the journal, and leaves the server serving the next request.

The corpus is ``tests/hostile/``: one file per case and ``cases.toml`` with the expected status, VP code,
detail and time. Bodies too big to keep as files are generated here (``GENERATORS``).
"""

from __future__ import annotations

import http.client
import logging
import select
import socket
import struct
import threading
import time
import tomllib
import tracemalloc
import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests
from lxml import etree

from mockplatform import Application, Config, Settings
from mockplatform.domains.inbox1177.store import sync_inbox
from mockplatform.server import start_in_thread

from .conftest import Running
from .soap import CONSUMER, add_message, is_active_user

HERE = Path(__file__).parent / "hostile"
CASES: dict[str, dict] = tomllib.loads((HERE / "cases.toml").read_text(encoding="utf-8"))
SOAP = "http://schemas.xmlsoap.org/soap/envelope/"
LIMIT = Settings().max_body_bytes
KEEP = Settings().journal_body_bytes
BLOCK = 64 * 1024


@dataclass
class Body:
    """A request body that may be too big to hold: its size, its pieces on demand, and its head."""

    size: int
    pieces: Callable[[], Iterable[bytes]]
    headers: list[tuple[str, str]]
    framed: bool = False  # the pieces carry their own chunked framing (to send broken framing)

    def head(self, n: int) -> bytes:
        out = bytearray()
        for piece in self.pieces():
            out += piece[: n - len(out)]
            if len(out) >= n:
                break
        return bytes(out)


def _fixed(data: bytes, headers: list[tuple[str, str]] | None = None) -> Body:
    return Body(len(data), lambda: [data], headers if headers is not None else [("Content-Length", str(len(data)))])


def _padded(size: int) -> Callable[[], Iterator[bytes]]:
    """A valid request followed by a comment that fills it up to ``size`` bytes, in 64 kB pieces."""
    start, end = is_active_user() + b"<!--", b"-->"

    def pieces() -> Iterator[bytes]:
        yield start
        left = size - len(start) - len(end)
        while left > 0:
            n = min(BLOCK, left)
            yield b"x" * n
            left -= n
        yield end
    return pieces


def _chunked(pieces: Iterable[bytes]) -> Iterator[bytes]:
    for piece in pieces:
        yield b"%x\r\n" % len(piece) + piece + b"\r\n"
    yield b"0\r\n\r\n"


def _deep_nesting() -> Body:
    levels = 10_000
    return _fixed(is_active_user(pnr="<a>" * levels + "191212121212" + "</a>" * levels))


def _sized(size: int) -> Body:
    return Body(size, _padded(size), [("Content-Length", str(size))])


def _chunked_over_limit() -> Body:
    size = LIMIT + BLOCK
    pieces = _padded(size)
    return Body(size, pieces, [("Transfer-Encoding", "chunked")])


GENERATORS: dict[str, Callable[[], Body]] = {
    "deep_nesting": _deep_nesting,
    "over_limit": lambda: _sized(LIMIT + 1),
    "fifty_mb": lambda: _sized(50 * 1024 * 1024),
    "chunked_over_limit": _chunked_over_limit,
    # 1 MB: the refusal must reach the client although most of the body is still unread when it is sent
    "two_content_lengths": lambda: Body(2**20, _padded(2**20), [("Content-Length", str(2**20)),
                                                                ("Content-Length", "5")]),
    "bad_content_length": lambda: _fixed(is_active_user(), [("Content-Length", "12abc")]),
    "gzip_transfer_encoding": lambda: _fixed(is_active_user(), [("Transfer-Encoding", "gzip")]),
    "bad_chunk_size": lambda: Body(0, lambda: [b"zz\r\nabc\r\n0\r\n\r\n"], [("Transfer-Encoding", "chunked")],
                                   framed=True),
}


def body_of(case: dict, listener_port: int | None) -> Body:
    if "generate" in case:
        return GENERATORS[case["generate"]]()
    data = (HERE / case["file"]).read_bytes()
    if listener_port is not None:
        data = data.replace(b"127.0.0.1:9/", b"127.0.0.1:%d/" % listener_port)
    return _fixed(data)


@dataclass
class Answer:
    status: int
    headers: http.client.HTTPMessage
    body: bytes
    seconds: float


def send(url: str, body: Body, headers: Iterable[tuple[str, str]] = (), path: str = "/vp/hostile") -> Answer:
    """One request with exactly these headers (repeats kept) and the body streamed as it is generated."""
    host, port = url.removeprefix("http://").split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=30)
    t0 = time.monotonic()
    try:
        conn.putrequest("POST", path, skip_accept_encoding=True)
        conn.putheader("Content-Type", "text/xml; charset=UTF-8")
        for key, value in [*headers, *body.headers]:
            conn.putheader(key, value)
        conn.endheaders()
        chunked = ("Transfer-Encoding", "chunked") in body.headers and not body.framed
        for piece in _chunked(body.pieces()) if chunked else body.pieces():
            conn.send(piece)
        response = conn.getresponse()
        data = response.read()
        return Answer(response.status, response.headers, data, time.monotonic() - t0)
    finally:
        conn.close()


def fault_of(data: bytes) -> dict[str, str | None]:
    """faultstring and detail of a SOAP 1.1 fault (the platform's and the inbox's share the shape)."""
    root = etree.fromstring(data)
    assert root.tag == f"{{{SOAP}}}Envelope", data[:200]
    fault = root.find(f"{{{SOAP}}}Body/{{{SOAP}}}Fault")
    assert fault is not None, data[:200]
    return {"faultstring": fault.findtext("faultstring"), "detail": fault.findtext("detail/detailString")}


@pytest.fixture(scope="module")
def hostile(tmp_path_factory) -> Iterator[Running]:
    """One server for the whole corpus (default settings): each case must leave it serving the next."""
    folder = tmp_path_factory.mktemp("hostile")
    app = Application(Config(journal=folder / "journal.sqlite", settings=Settings()))
    server = start_in_thread(app)
    yield Running(app, server, server.url)
    server.shutdown()
    server.server_close()
    app.close()


@pytest.fixture(scope="module")
def refusing(tmp_path_factory) -> Iterator[Running]:
    """A server that lingers only 0.2 s after a refusal (``linger_s``), for the tests that read an
    answer until the server closes (the default 2 s would be waited out by each)."""
    folder = tmp_path_factory.mktemp("refusing")
    app = Application(Config(journal=folder / "journal.sqlite", settings=Settings(linger_s=0.2)))
    server = start_in_thread(app)
    yield Running(app, server, server.url)
    server.shutdown()
    server.server_close()
    app.close()


@pytest.fixture
def listener() -> Iterator[socket.socket]:
    """A local TCP port an entity's URL can point at; a connection to it would be a network fetch."""
    sock = socket.create_server(("127.0.0.1", 0))
    yield sock
    sock.close()


def assert_serving(platform: Running) -> None:
    r = platform.post(is_active_user(), headers={"x-skltp-correlation-id": f"after-{uuid.uuid4()}"})
    assert r.status_code == 200 and b"<status>true</status>" in r.content


def _passwd_line() -> bytes | None:
    path = Path("/etc/passwd")
    if not path.is_file():
        return None
    first = path.read_bytes().splitlines()
    return first[0] if first else None


@pytest.mark.parametrize("name", [n for n, c in CASES.items() if c.get("generate") != "fifty_mb"])
def test_hostile_request_gets_the_platforms_answer_in_bounded_time(name, hostile, listener, caplog, capfd):
    """The 50 MB body has a test of its own, with its memory measured."""
    case = CASES[name]
    caplog.set_level(logging.WARNING, logger="mockplatform")
    listener_port = listener.getsockname()[1] if case.get("listener") else None
    body = body_of(case, listener_port)
    headers = [tuple(h) for h in case.get("headers", [])]
    cid = next((v for k, v in headers if k.lower() == "x-skltp-correlation-id"), None)
    if cid is None:
        cid = f"hostile-{name}-{uuid.uuid4()}"
        headers.append(("x-skltp-correlation-id", cid))

    answer = send(hostile.url, body, headers)

    assert answer.status == case["status"], answer.body[:500]
    assert answer.seconds <= case["max_seconds"], f"{name} took {answer.seconds:.2f} s"
    if case.get("vp"):
        assert answer.headers["Content-Type"] == "text/xml; charset=UTF-8"
        assert answer.headers["x-skltp-correlation-id"] == cid
        fault = fault_of(answer.body)
        assert fault["faultstring"].startswith(f"{case['vp']} [mockplatform] ")
        assert case["detail"] in (fault["detail"] or ""), fault["detail"]
    else:
        assert case["detail"].encode() in answer.body, answer.body[:500]

    rows = hostile.app.journal.exchanges(correlation_id=cid)
    assert len(rows) == 1, f"{name}: {len(rows)} journal rows"
    row = rows[0]
    assert row.http_status == case["status"]
    assert row.vp_code == (case.get("vp") or None)
    assert row.response_body == answer.body
    if case["status"] not in (400, 501):  # a refused framing: the body was never read
        assert row.request_size == body.size
        assert row.request_body == body.head(KEEP)

    if listener_port is not None:
        readable, _, _ = select.select([listener], [], [], 0.2)
        assert not readable, "the parser connected to the URL of an external entity"
    secret = _passwd_line()
    if secret is not None:
        assert secret not in answer.body
        reader = hostile.app.journal.reader()
        leaks = reader.execute("SELECT count(*) FROM exchanges WHERE instr(response_body, ?) OR instr(fault_detail, ?)",
                               (secret, secret.decode("latin-1"))).fetchone()[0]
        assert leaks == 0, "file content reached the journal"
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR], caplog.text
    assert "Traceback" not in capfd.readouterr().err
    assert_serving(hostile)


@pytest.mark.slow
def test_fifty_megabyte_body_is_refused_streaming_in_bounded_memory(hostile):
    case = CASES["body_50_mb"]
    body = GENERATORS[case["generate"]]()
    cid = f"hostile-50mb-{uuid.uuid4()}"
    tracemalloc.start()
    try:
        baseline = tracemalloc.get_traced_memory()[0]
        answer = send(hostile.url, body, [("x-skltp-correlation-id", cid)])
        peak = tracemalloc.get_traced_memory()[1] - baseline
    finally:
        tracemalloc.stop()
    assert answer.status == 500 and answer.seconds <= case["max_seconds"]
    fault = fault_of(answer.body)
    assert fault["faultstring"].startswith("VP015") and case["detail"] in fault["detail"]
    # The journal keeps 1 MB of it; reading goes in 64 kB pieces. Holding the body would be 50 MB.
    assert peak < 8 * 1024 * 1024, f"{peak / 2**20:.1f} MB allocated while the 50 MB body went through"
    row = hostile.app.journal.exchanges(correlation_id=cid)[0]
    assert row.request_size == body.size == 50 * 1024 * 1024
    assert row.request_body == body.head(KEEP)
    assert_serving(hostile)


@pytest.mark.parametrize("reset", [False, True], ids=["closed", "reset"])
def test_request_cut_short_is_refused_journaled_and_never_acted_on(hostile, reset):
    """Content-Length promises more than comes, then the client closes (or resets the connection): a
    complete AddMessage inside must not be stored, and the journal notes what came and what was announced."""
    cid = f"truncated-{uuid.uuid4()}"
    data = add_message()
    announced = len(data) + 100
    host, port = hostile.url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=5) as sock:
        sock.sendall(f"POST /vp HTTP/1.1\r\nHost: {host}\r\nContent-Type: text/xml\r\nContent-Length: {announced}\r\n"
                     f"x-skltp-correlation-id: {cid}\r\n\r\n".encode() + data)
        if reset:
            time.sleep(0.2)  # what was sent has arrived: the reset comes after it
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    deadline = time.monotonic() + 5
    while not (rows := hostile.app.journal.exchanges(correlation_id=cid)) and time.monotonic() < deadline:
        time.sleep(0.02)
    assert len(rows) == 1
    assert rows[0].http_status == 400 and rows[0].vp_code is None
    assert rows[0].request_size == announced and rows[0].request_body == data
    sync_inbox(hostile.app.journal)
    stored = hostile.app.journal.reader().execute("SELECT count(*) FROM inbox_messages WHERE correlation_id = ?",
                                                  (cid,)).fetchone()[0]
    assert stored == 0
    assert_serving(hostile)


def raw_exchange(url: str, head: str, body: bytes = b"", half_close: bool = False, host_header: bool = True) -> bytes:
    """Send hand-written HTTP (``head`` without the request line's Host, which is added unless not
    ``host_header``) and read the whole answer until the server closes; ``half_close`` stops sending as a
    vanishing client would."""
    host, port = url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=5) as sock:
        request_line, _, rest = head.partition("\r\n")
        host_line = f"Host: {host}\r\n" if host_header else ""
        sock.sendall(f"{request_line}\r\n{host_line}{rest}".encode("latin-1") + body)
        if half_close:
            sock.shutdown(socket.SHUT_WR)
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    return answer


def test_client_that_stops_sending_but_waits_gets_400(hostile):
    """Half-closed after part of the body: the answer still reaches the client."""
    answer = raw_exchange(hostile.url, "POST /vp HTTP/1.1\r\nContent-Length: 5000\r\n\r\n", b"<soap:",
                          half_close=True)
    assert answer.startswith(b"HTTP/1.1 400 ")
    assert b"Request body incomplete: 6 of 5000 bytes received" in answer
    assert_serving(hostile)


def test_folded_header_is_unfolded_before_it_is_echoed(hostile):
    """A correlation id sent with obsolete line folding comes back on one line, never as a folded header."""
    data = is_active_user()
    answer = raw_exchange(hostile.url, f"POST /vp HTTP/1.1\r\nConnection: close\r\nContent-Length: {len(data)}\r\n"
                          "x-skltp-correlation-id: folded\r\n  twice\r\n\r\n", data)
    assert b"\r\nx-skltp-correlation-id: folded twice\r\n" in answer.partition(b"\r\n\r\n")[0]
    assert len(hostile.app.journal.exchanges(correlation_id="folded twice")) == 1


@pytest.mark.slow
def test_slow_client_does_not_hold_up_the_others(hostile):
    """A client sending its last five bytes one a second; meanwhile everyone else is answered at once."""
    data = is_active_user()
    host, port = hostile.url.removeprefix("http://").split(":")
    result: dict[str, bytes] = {}

    def slow() -> None:
        with socket.create_connection((host, int(port)), timeout=15) as sock:
            sock.sendall(f"POST /vp HTTP/1.1\r\nHost: {host}\r\nContent-Length: {len(data)}\r\n\r\n".encode()
                         + data[:-5])
            for byte in data[-5:]:
                time.sleep(1.0)
                sock.sendall(bytes([byte]))
            result["answer"] = sock.recv(65536)

    thread = threading.Thread(target=slow, daemon=True)
    t0 = time.monotonic()
    thread.start()
    slowest = 0.0
    while thread.is_alive() and time.monotonic() - t0 < 4.5:
        t = time.monotonic()
        assert hostile.post(is_active_user()).status_code == 200
        slowest = max(slowest, time.monotonic() - t)
        time.sleep(0.1)
    thread.join(timeout=10)
    assert slowest < 1.0, f"a request waited {slowest:.2f} s behind the slow client"
    assert result.get("answer", b"").startswith(b"HTTP/1.1 200 ")
    assert time.monotonic() - t0 < 8


def test_limit_below_the_journal_size_is_enforced_without_waiting(start_platform):
    """``--max-body-bytes 65536`` (below the journal's 1 MB): the head kept for the journal must not
    wait for bytes the client never sends."""
    platform = start_platform(settings=Settings(max_body_bytes=64 * 1024))
    body = _sized(100 * 1024)
    answer = send(platform.url, body, [("x-skltp-correlation-id", "small-limit")])
    assert answer.status == 500 and answer.seconds < 2
    assert "Request body of 102400 bytes exceeds the limit of 65536 bytes" in fault_of(answer.body)["detail"]
    row = platform.app.journal.exchanges(correlation_id="small-limit")[0]
    assert row.request_size == 102400 and row.request_body == body.head(KEEP)
    assert_serving(platform)


def test_huge_chunk_size_is_read_in_pieces_not_allocated(hostile):
    """A chunk announcing 140 TB must not make the server try to allocate it."""
    answer = raw_exchange(hostile.url, "POST /vp HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n",
                          b"7FFFFFFFFFFF\r\n" + b"x" * 1000, half_close=True)
    assert answer.startswith(b"HTTP/1.1 400 ")
    assert b"chunked body ended after 1000 bytes" in answer
    assert_serving(hostile)


def test_connection_stays_usable_after_a_platform_fault(hostile):
    """A fault is an ordinary answer: the keep-alive connection carries the next request."""
    host, port = hostile.url.removeprefix("http://").split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=5)
    try:
        for body, status in ((b"garbage", 500), (is_active_user(), 200), (b"", 500), (is_active_user(), 200)):
            conn.request("POST", "/vp", body=body, headers={"Content-Type": "text/xml"})
            response = conn.getresponse()
            response.read()
            assert response.status == status
    finally:
        conn.close()


def test_sender_header_with_control_characters_gives_a_readable_fault(hostile):
    """A header value quoted in a fault detail must not make the fault unreadable XML."""
    data = is_active_user()
    answer = raw_exchange(hostile.url, f"POST /vp HTTP/1.1\r\nConnection: close\r\nContent-Length: {len(data)}\r\n"
                          "x-vp-sender-id: SE\x01\x1bEVIL\r\n\r\n", data)
    body = answer.partition(b"\r\n\r\n")[2]
    fault = fault_of(body)
    assert fault["faultstring"].startswith("VP007")
    assert "SE\ufffd\ufffdEVIL" in fault["detail"]


@pytest.mark.parametrize("extra", ["attributes", "children"])
def test_schema_invalid_request_with_thousands_of_violations_is_answered_promptly(hostile, extra):
    if extra == "attributes":
        many = b" ".join(b"a%d='1'" % i for i in range(1000))
        body = is_active_user().replace(b"<IsActiveUser ", b"<IsActiveUser " + many + b" ")
    else:
        body = is_active_user().replace(b"</IsActiveUser>", b"<x/>" * 10_000 + b"</IsActiveUser>")
    answer = send(hostile.url, _fixed(body), [("x-vp-sender-id", CONSUMER)])
    assert answer.status == 500 and "Schema validation failed" in fault_of(answer.body)["faultstring"]
    assert answer.seconds < 0.5, f"{answer.seconds:.1f} s"


def test_client_that_sends_without_reading_is_held_back_not_buffered(hostile):
    """Requests from a client that never reads its answers wait in the kernel once its answers do: the
    server stops reading from it, so its memory does not grow with what the client sends."""
    one = (b"POST /vp HTTP/1.1\r\nHost: x\r\nContent-Type: text/xml\r\nContent-Length: "
           + str(len(is_active_user())).encode() + b"\r\n\r\n" + is_active_user())
    burst = one * 200
    port = int(hostile.url.rsplit(":", 1)[1])
    with socket.create_connection(("127.0.0.1", port)) as client:
        client.setblocking(False)
        sent, deadline = 0, time.monotonic() + 2.0
        while time.monotonic() < deadline:
            try:
                sent += client.send(burst)
            except BlockingIOError:
                time.sleep(0.01)
        # What the kernel buffers on both sides (a few MB) plus one burst; without the push-back the
        # server would read, parse and hold everything: hundreds of MB in two seconds.
        assert sent < 48 * 2**20, f"{sent / 2**20:.0f} MB accepted from a client that reads nothing"
        assert_serving(hostile)


def test_a_request_slow_to_validate_does_not_hold_up_the_others(hostile):
    """Hundreds of thousands of undeclared attributes take seconds to validate; a request that large is
    validated in a worker thread, so other consumers' calls are answered meanwhile."""
    attributes = " ".join(f'a{i}="1"' for i in range(300_000))
    bomb = is_active_user().replace(b"<IsActiveUser ", f"<IsActiveUser {attributes} ".encode())
    finished: dict[str, float] = {}

    def send_bomb() -> None:
        r = requests.post(hostile.url + "/vp", data=bomb, headers={"Content-Type": "text/xml"}, timeout=120)
        assert r.status_code == 500
        finished["bomb"] = time.monotonic()

    thread = threading.Thread(target=send_bomb)
    thread.start()
    time.sleep(0.3)  # the bomb is being read and validated
    for _ in range(5):
        assert_serving(hostile)
    finished["others"] = time.monotonic()
    thread.join(120)
    assert finished["others"] < finished["bomb"], "the other calls waited for the slow one"


@pytest.mark.parametrize("bad, status", [
    ("Content-Type : text/xml\r\n", 400),  # a space before the colon
    ("X-\xe5: 1\r\n", 400),  # a header name that is not a token
    ("".join(f"X-{i}: {i}\r\n" for i in range(150)), 431),  # too many headers
    ("X-Big: " + "a" * 70_000 + "\r\n", 431),  # a head over 64 KiB
])
def test_a_post_whose_headers_cannot_be_read_is_refused_and_still_journaled(refusing, bad, status):
    """The consumer's developer finds it in the journal, with the refusal it got."""
    path = f"/vp/unreadable-{uuid.uuid4()}"
    answer = raw_exchange(refusing.url, f"POST {path} HTTP/1.1\r\nX-Before: kept\r\n{bad}Content-Length: 5\r\n\r\n",
                          b"<a/>\n")
    assert answer.startswith(f"HTTP/1.1 {status} ".encode())
    rows = [e for e in refusing.app.journal.exchanges(limit=20, newest_first=True) if e.path == path]
    assert len(rows) == 1 and rows[0].http_status == status
    assert_serving(refusing)


def test_a_body_in_a_transfer_coding_other_than_plain_chunked_is_501(refusing):
    answer = raw_exchange(refusing.url, "POST /vp HTTP/1.1\r\nTransfer-Encoding: gzip, chunked\r\n\r\n",
                          b"5\r\nabcde\r\n0\r\n\r\n")
    assert answer.startswith(b"HTTP/1.1 501 ") and b"gzip, chunked is not supported" in answer
    assert_serving(refusing)


def test_an_http_1_1_post_without_host_is_refused_and_journaled(refusing):
    """RFC 9112 3.2: 400, and the call is in the journal with its headers, like the other refusals."""
    path = f"/vp/hostless-{uuid.uuid4()}"
    data = is_active_user()
    answer = raw_exchange(refusing.url, f"POST {path} HTTP/1.1\r\nx-skltp-correlation-id: hostless\r\n"
                          f"Content-Length: {len(data)}\r\n\r\n", data, host_header=False)
    assert answer.startswith(b"HTTP/1.1 400 ") and b"must have a Host header" in answer
    rows = [e for e in refusing.app.journal.exchanges(limit=20, newest_first=True) if e.path == path]
    assert len(rows) == 1 and rows[0].http_status == 400 and rows[0].correlation_id == "hostless"
    assert ("x-skltp-correlation-id", "hostless") in rows[0].request_headers
    assert_serving(refusing)


def test_an_http_1_0_call_without_host_is_answered(refusing):
    """HTTP/1.0 has no Host header: such a call is answered as ever (and the connection closed after it)."""
    data = is_active_user()
    answer = raw_exchange(refusing.url, f"POST /vp HTTP/1.0\r\nContent-Length: {len(data)}\r\n\r\n", data,
                          host_header=False)
    assert answer.startswith(b"HTTP/1.1 200 ") and b"<status>true</status>" in answer


def test_after_a_refusal_the_connection_closes_once_linger_s_is_over(refusing):
    """A refused client that neither sends nor closes is waited for ``linger_s`` (here 0.2 s), then closed."""
    t0 = time.monotonic()
    answer = raw_exchange(refusing.url, "POST /vp HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n")
    assert answer.startswith(b"HTTP/1.1 400 ")
    assert 0.15 < time.monotonic() - t0 < 1.5

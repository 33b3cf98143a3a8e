"""The HTTP adapter: an HTTP/1.1 server on an asyncio event loop in front of ``Application.handle``.

One thread reads and writes every connection, so a slow or silent client costs a buffer, not a
thread, and a call to an in-process producer (the common case) is handled right there, with no
hand-off between threads: with many concurrent clients, hand-offs were most of the cost. A request
that may wait on something outside the process (a remote producer, an injected delay) or that is
not a platform call (the admin API, the pages) goes to a pool of worker threads instead; its
connection waits for the answer while the others go on.

Framing is read by ``http1.RequestReader``; TLS with optional client certificates uses the stdlib
ssl module (the handshake runs on the loop, without blocking it).
"""

from __future__ import annotations

import asyncio
import asyncio.sslproto as sslproto
import contextlib
import logging
import socket
import ssl
import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor
from email.utils import formatdate
from http import HTTPStatus
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

from . import http_routes
from .app import Application
from .faults import vp012
from .http1 import Head, Message, Refusal, RequestReader
from .messages import Request, Response
from .platform import CORRELATION, correlation_id_for, fault_response, unrecorded

log = logging.getLogger("mockplatform.server")

TIMEOUT_S = 60.0  # seconds of silence before a connection is dropped (a request cut short gets 400)
LINGER_S = 2.0  # how long a refused request's remaining body is read and dropped
WORKERS = 64  # threads for requests that may wait (remote producers, injected delays, admin, pages)
STOP_GRACE_S = 2.0  # after a second stop request: how much longer remote producers get to answer
READ_BUFFER = 64 * 1024  # bytes read from a connection at a time
READ_AHEAD = 1024 * 1024  # requests a client may send ahead of its answers before reading it pauses
_CONTINUE = b"HTTP/1.1 100 Continue\r\n\r\n"
_REASONS = {s.value: s.phrase for s in HTTPStatus}


class _Date:
    """The Date header, formatted once a second rather than once a response."""

    second = -1
    value = b""

    @classmethod
    def header(cls) -> bytes:
        now = int(time.time())
        if now != cls.second:
            cls.value = f"Date: {formatdate(now, usegmt=True)}\r\n".encode()
            cls.second = now
        return cls.value


def render(response: Response, close: bool, head_only: bool = False) -> bytes:
    """The answer as bytes on the wire: status line, headers, Content-Length, then the body."""
    lines = [f"HTTP/1.1 {response.status} {_REASONS.get(response.status, 'Unknown')}\r\nServer: mockplatform\r\n"]
    for key, value in response.headers:
        lines.append(f"{key}: {value}\r\n")
    lines.append(f"Content-Length: {len(response.body)}\r\n")
    if close:
        lines.append("Connection: close\r\n")
    head = "".join(lines).encode("latin-1", "replace")
    return b"".join((head, _Date.header(), b"\r\n", b"" if head_only else response.body))


class _Connection(asyncio.BufferedProtocol):
    """One client connection: requests are answered in the order they came, one at a time.

    A buffered protocol: asyncio reads into the server's one read buffer (see ``get_buffer``), where a
    plain protocol would have each read allocate 256 KiB, which glibc maps and unmaps every time (some
    17 µs a request, as much as the rest of the HTTP handling)."""

    def __init__(self, server: PlatformHTTPServer) -> None:
        self.server = server
        self.app = server.app
        self.loop = server.loop
        settings = self.app.settings
        self.reader = RequestReader(settings.max_body_bytes, settings.journal_body_bytes)
        self.transport: asyncio.Transport | None = None
        self.client = ""
        self.tls = False
        self.tls_serial: str | None = None
        self.busy = False  # the current request is being answered (by a worker, or waits for its commit)
        self.in_worker = False  # a worker thread has the current request
        self.write_paused = False
        self.reading_paused = False
        self.eof = False
        self.closed = False
        self.linger_left = 0  # > 0: a refusal was sent; what still comes is dropped
        self.last_seen = 0.0
        self.timer: asyncio.TimerHandle | None = None

    # -- the transport's callbacks ----------------------------------------------------------------

    def connection_made(self, transport: asyncio.Transport) -> None:
        self.transport = transport
        peer = transport.get_extra_info("peername") or ("?", 0)
        self.client = f"{peer[0]}:{peer[1]}"
        if transport.get_extra_info("ssl_object") is not None:
            self.tls = True
            self.tls_serial = _serialnumber(transport.get_extra_info("peercert"))
        self.server.connections.add(self)
        self.last_seen = self.loop.time()
        self.timer = self.loop.call_later(TIMEOUT_S, self._check_silence)

    def connection_lost(self, exc: Exception | None) -> None:
        if exc is not None and not self.closed and not self.busy:
            cut_short = self.reader.eof()  # reset in the middle of a body: journaled, though nobody hears
            if cut_short is not None:
                self._journal_refusal(cut_short)
        self.closed = True
        self.server.connections.discard(self)
        if self.timer is not None:
            self.timer.cancel()

    def get_buffer(self, sizehint: int) -> memoryview:
        # One buffer serves every connection: the loop's single thread reads into it and
        # buffer_updated copies what came out before the next read.
        return self.server.read_buffer

    def buffer_updated(self, nbytes: int) -> None:
        self.data_received(bytes(self.server.read_buffer[:nbytes]))

    def data_received(self, data: bytes) -> None:
        self.last_seen = self.loop.time()
        if self.linger_left:
            self.linger_left = max(0, self.linger_left - len(data))
            if not self.linger_left:
                self._close()
            return
        self.reader.feed(data)
        self._advance()
        if self.reader.buffered > READ_AHEAD:  # requests sent ahead pile up: let the kernel hold the rest
            self._pause_reading()

    def eof_received(self) -> bool:
        """The client stopped sending. Over plain TCP the connection stays open for the answer in the
        works (a half-close); TLS has no half-close (asyncio closes the transport itself)."""
        self.eof = True
        if self.linger_left:  # the refused client has stopped sending: nothing left to drop
            self._close()
        elif not self.busy:
            refusal = self.reader.eof()
            if refusal is not None:
                self._refuse(refusal)
            else:
                self._close()
        return not self.tls

    def pause_writing(self) -> None:
        # The client is not reading its answers: stop reading its requests too, or a client that only
        # sends would have them pile up here without end; they wait in the kernel, which pushes back.
        self.write_paused = True
        self._pause_reading()

    def resume_writing(self) -> None:
        self.write_paused = False
        self._advance()
        self._resume_reading()

    def _pause_reading(self) -> None:
        if not self.reading_paused:
            self.reading_paused = True
            self.transport.pause_reading()

    def _resume_reading(self) -> None:
        """Read again once nothing holds reading back: a worker on the current request, unread answers,
        or too many requests sent ahead."""
        if self.reading_paused and not (self.closed or self.in_worker or self.write_paused) \
                and self.reader.buffered <= READ_AHEAD:
            self.reading_paused = False
            self.transport.resume_reading()

    # -- requests -----------------------------------------------------------------------------------

    def _advance(self) -> None:
        """Answer the complete requests that have arrived, in order: one at a time, each waiting for its
        worker or its journal commit before the next one is read."""
        while not (self.busy or self.write_paused or self.closed or self.linger_left):
            event = self.reader.next_event()
            if event is None:
                if self.eof:
                    self._close()
                return
            if isinstance(event, Head):
                if event.expects_continue:
                    self.transport.write(_CONTINUE)
                continue
            if isinstance(event, Refusal):
                self._refuse(event)
                return
            request = self._request(event.head, event.body, event.size)
            if self._needs_worker(request):
                self.busy = self.in_worker = True
                self._pause_reading()
                future = self.server.pool.submit(self._handle, request)
                self.server.in_flight.add(future)
                future.add_done_callback(lambda done, message=event: self._from_worker(message, done))
                return
            if self.server.journal is None:
                self._answer(event, self._handle(request))
                continue
            # The exchange is committed with the others answered in this turn of the loop, in one
            # transaction, and the answer written after that commit (see PlatformHTTPServer.flush).
            held = self.server.held
            first = len(held)
            with self.server.journal.holding(held):
                response = self._handle(request)
            self.busy = True
            self.server.answer_after_commit(self, event, response, held[first:])
            return

    def _needs_worker(self, request: Request) -> bool:
        try:
            return http_routes.needs_worker(self.app, request)
        except Exception:  # a bug of ours: logged, and the worker's handling answers (VP012 if it fails too)
            log.exception("could not tell whether %s %s may wait", request.method, request.path)
            return True

    def _from_worker(self, message: Message, done: Future) -> None:
        """Runs in the worker thread: hands the answer back to the loop (unless it has stopped)."""
        if done.cancelled():  # the server was shut down with the request still queued
            return
        with contextlib.suppress(RuntimeError):  # the loop is closed: the server was shut down
            self.loop.call_soon_threadsafe(self._answer_later, message, done)

    def _answer_later(self, message: Message, done: Future) -> None:
        self.server.in_flight.discard(done)
        self.busy = self.in_worker = False
        self._answer(message, done.result())
        if not self.closed:
            self._advance()
            self._resume_reading()

    def _handle(self, request: Request) -> Response:
        try:
            return http_routes.handle(self.app, request)
        except Exception as exc:  # never a traceback to the client: the platform's internal-error fault
            log.exception("unhandled error for %s %s", request.method, request.path)
            correlation = correlation_id_for(request.header(CORRELATION))
            return fault_response(vp012(type(exc).__name__), correlation, self.app.settings.instance_name)

    def _answer(self, message: Message, response: Response) -> None:
        if self.closed:
            return  # the client went away before its answer: no error of ours
        close = message.close or (self.eof and self.reader.idle) or self.server.stopping
        self.transport.write(render(response, close, head_only=message.head.method == "HEAD"))
        if log.isEnabledFor(logging.DEBUG):  # serve -v: one line per request
            correlation = next((v for k, v in response.headers if k.lower() == CORRELATION), "-")
            target = message.head.target
            log.debug("%s %s %s -> %d, %d bytes, correlation id %s", self.client, message.head.method,
                      target if target.isprintable() else ascii(target), response.status, len(response.body),
                      correlation)
        if close:
            self._close()

    def _refuse(self, refusal: Refusal) -> None:
        """Answer a request whose HTTP framing is broken (journaled, see ``_journal_refusal``), and close."""
        response = self._journal_refusal(refusal)
        if self.closed:
            return
        self.transport.write(render(response, close=True))
        log.debug("%s refused -> %d %s", self.client, refusal.status, refusal.text.strip())
        if refusal.body_unread and not self.eof:
            # Closing with unread bytes makes TCP reset the connection, and the client may lose the
            # answer with it: what still comes is read and dropped, for a moment, before closing.
            self.linger_left = max(1, self.app.settings.max_body_bytes)
            self.loop.call_later(LINGER_S, self._close)
        else:
            self._close()

    def _journal_refusal(self, refusal: Refusal) -> Response:
        """The answer to a refused request; a POST is journaled with it (what arrived of it, and the size
        announced), so the consumer's developer can see it."""
        response = Response(refusal.status, [("Content-Type", "text/plain; charset=UTF-8")], refusal.text.encode())
        if refusal.head is not None and refusal.head.method == "POST":
            try:
                request = self._request(refusal.head, refusal.received, refusal.size)
                self.app.pipeline.record_plain(request, response)
            except Exception:  # the journal is broken: the refusal still goes out
                log.exception("could not record a refused request from %s", self.client)
        return response

    def _request(self, head: Head, body: bytes, announced: int | None) -> Request:
        target = head.target
        if "?" in target or not target.startswith("/"):
            split = urlsplit(target)
            path = split.path or "/"
            query = {k.lower(): v for k, v in parse_qsl(split.query, keep_blank_values=True)}
        else:
            path, query = target, {}
        return Request(
            method=head.method,
            path=path,
            headers=head.headers,
            body=body,
            query=query,
            client=self.client,
            tls=self.tls,
            tls_serialnumber=self.tls_serial,
            scheme="https" if self.tls else "http",
            body_size=announced,
        )

    # -- closing ------------------------------------------------------------------------------------

    def _check_silence(self) -> None:
        """Drop a connection silent for TIMEOUT_S; a body cut short by the silence gets its 400."""
        if self.closed:
            return
        silent = self.loop.time() - self.last_seen
        if self.busy or silent < TIMEOUT_S:  # waiting on a worker is our silence, not the client's
            self.timer = self.loop.call_later(max(0.1, TIMEOUT_S - silent), self._check_silence)
            return
        refusal = self.reader.eof()
        if refusal is not None:
            self._refuse(refusal)
        else:
            self._close()

    def _close(self) -> None:
        if not self.closed and self.transport is not None:
            self.closed = True  # nothing more is read or answered here
            self.transport.close()  # what is written still goes out first


def _serialnumber(cert: dict | None) -> str:
    """SERIALNUMBER (OID 2.5.4.5) of the certificate subject; "" when absent."""
    if not cert:
        return ""
    for rdn in cert.get("subject", ()):
        for key, value in rdn:
            if key == "serialNumber":
                return value.strip()
    return ""


class _AlertingTLS(sslproto.SSLProtocol):
    """asyncio's TLS layer, except that a failed handshake still sends its alert: asyncio drops what
    OpenSSL wrote (CPython's sslproto does not flush on error), and the alert ("unknown ca") is what
    tells a consumer's developer why the platform hung up."""

    def _do_handshake(self) -> None:
        try:
            self._sslobj.do_handshake()
        except sslproto.SSLAgainErrors:
            self._process_outgoing()
        except ssl.SSLError as exc:
            self._process_outgoing()
            self._on_handshake_complete(exc)
        else:
            self._on_handshake_complete(None)


class PlatformHTTPServer:
    """The listening socket is bound at once (so ``url`` is known); ``serve_forever`` runs the loop
    in the calling thread until ``shutdown`` (from another thread) or KeyboardInterrupt."""

    def __init__(self, app: Application, host: str, port: int, ssl_context: ssl.SSLContext | None = None,
                 workers: int = WORKERS) -> None:
        self.app = app
        self.ssl_context = ssl_context
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        self.socket = socket.create_server((host, port), family=family, backlog=128)
        self.server_address = self.socket.getsockname()
        self.pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="mockplatform-worker")
        self.connections: set[_Connection] = set()
        self.journal = getattr(app, "journal", None)
        self.held: list = []  # exchanges recorded in this turn of the loop, not yet committed
        self.read_buffer = memoryview(bytearray(READ_BUFFER))
        self._after_commit: list[tuple[_Connection, Message, Response, list]] = []
        self.loop: asyncio.AbstractEventLoop | None = None
        self.thread: threading.Thread | None = None
        self._serving = threading.Event()
        self._stopped = threading.Event()
        self._stop: asyncio.Event | None = None
        self._stop_requests = 0
        self._force: asyncio.Event | None = None
        self._force_requested = False
        self.in_flight: set[Future] = set()  # requests a worker thread is answering
        self.stopping = False  # no new requests: what is in flight is answered, then the server stops
        self.unanswered = 0  # calls still in flight when the server gave up waiting (see request_stop)

    def answer_after_commit(self, connection: _Connection, message: Message, response: Response,
                            held: list) -> None:
        """Queue an answer until its exchange is committed; the commit runs once this turn of the loop
        has read what all connections sent (a group commit: one transaction for many exchanges)."""
        if not self._after_commit:
            self.loop.call_soon(self.flush)
        self._after_commit.append((connection, message, response, held))

    def flush(self) -> None:
        """Commit the held exchanges, then write their answers (a failed commit answers VP012)."""
        answers, held = self._after_commit, self.held
        self._after_commit, self.held = [], []
        if held:
            self.journal.commit(held)
        for connection, message, response, mine in answers:
            if any(pending.error is not None for pending in mine):
                log.error("could not record exchange: %s", next(p.error for p in mine if p.error is not None))
                response = unrecorded(response, self.app.settings.instance_name)
            connection.busy = False
            connection._answer(message, response)
            if not connection.closed:
                connection._advance()
                if connection.reading_paused:
                    connection._resume_reading()

    def serve_forever(self, poll_interval: float | None = None) -> None:
        """Serve until shutdown. (``poll_interval`` is accepted for the stdlib server's signature.)"""
        self.loop = loop = asyncio.new_event_loop()
        self._stopped.clear()
        try:
            loop.run_until_complete(self._serve())
        finally:
            try:
                self.flush()  # what was answered on the loop but not yet committed: committed and sent
                for connection in list(self.connections):
                    connection._close()
                loop.run_until_complete(asyncio.sleep(0))
                loop.run_until_complete(loop.shutdown_asyncgens())
            finally:
                loop.close()
                self._serving.clear()
                self._stopped.set()

    async def _serve(self) -> None:
        self._stop = asyncio.Event()
        self._force = asyncio.Event()
        if self.ssl_context is None:
            def factory() -> asyncio.BaseProtocol:
                return _Connection(self)
        else:
            def factory() -> asyncio.BaseProtocol:
                return _AlertingTLS(self.loop, _Connection(self), self.ssl_context, None, server_side=True,
                                    ssl_handshake_timeout=TIMEOUT_S)
        server = await self.loop.create_server(factory, sock=self.socket)
        self._serving.set()
        if self._stop_requests:
            self._stop.set()
        if self._force_requested:
            self._force.set()
        try:
            await self._stop.wait()
        finally:
            server.close()
        await self._finish_in_flight()

    async def _finish_in_flight(self) -> None:
        """Stopping: no new connections or requests, but the calls that workers are answering (a remote
        producer, an injected delay) are answered and journaled first, so a consumer never loses an
        answer it was owed. A forced stop cuts injected waits short at once and gives remote producers
        STOP_GRACE_S more; a call still unanswered then is left (``unanswered``)."""
        self.stopping = True
        for connection in list(self.connections):
            if not connection.busy:
                connection._close()  # idle, or a request not yet complete: nothing is owed
        if self.in_flight and not self._force.is_set():
            log.warning("stopping: waiting for %d call(s) still being answered (stop again to stop sooner)",
                        len(self.in_flight))
        deadline = None
        while self.in_flight:
            if deadline is None and self._force.is_set():
                self.app.interrupt_waits()
                deadline = self.loop.time() + STOP_GRACE_S
            if deadline is not None and self.loop.time() >= deadline:
                self.unanswered = len(self.in_flight)
                log.error("stopped with %d call(s) unanswered: the producer did not answer in time; "
                          "they are not in the journal", self.unanswered)
                return
            await asyncio.sleep(0.02)

    def wait_serving(self, timeout: float = 10.0) -> bool:
        return self._serving.wait(timeout)

    def request_stop(self, force: bool = False) -> None:
        """Ask ``serve_forever`` to return once the calls in flight are answered; safe from a signal
        handler and from any thread. A second request (a second Ctrl-C), or ``force``, stops sooner:
        injected delays and timeouts end at once, remote producers get STOP_GRACE_S more."""
        self._stop_requests += 1  # read by _serve when this comes before the loop runs
        force = force or self._stop_requests > 1
        self._force_requested = self._force_requested or force
        loop, stop, forced = self.loop, self._stop, self._force
        if loop is None or stop is None or forced is None or self._stopped.is_set():
            return
        with contextlib.suppress(RuntimeError):  # the loop is already closed
            loop.call_soon_threadsafe(stop.set)
            if force:
                loop.call_soon_threadsafe(forced.set)

    def shutdown(self) -> None:
        """Stop serving and wait until ``serve_forever`` has returned (call from another thread). Forced:
        a test's teardown does not wait out an injected timeout."""
        self.request_stop(force=True)
        if self.loop is not None:
            self._stopped.wait(10)

    def server_close(self) -> None:
        self.socket.close()
        self.pool.shutdown(wait=False, cancel_futures=True)

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        scheme = "https" if self.ssl_context else "http"
        shown = f"[{host}]" if ":" in host else host
        return f"{scheme}://{shown}:{port}"


def tls_context(cert: Path, key: Path, client_ca: Path | None) -> ssl.SSLContext:
    """Server TLS; with a client CA, client certificates are asked for and verified (optional, so a
    consumer without one reaches the platform and gets VP002, as on the real platform)."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(str(cert), str(key))
    if client_ca is not None:
        context.load_verify_locations(str(client_ca))
        context.verify_mode = ssl.CERT_OPTIONAL
    return context


def start_in_thread(app: Application, host: str = "127.0.0.1", port: int = 0,
                    ssl_context: ssl.SSLContext | None = None) -> PlatformHTTPServer:
    """Start the server in a daemon thread (for tests and the pytest plugin); returns once it serves."""
    server = PlatformHTTPServer(app, host, port, ssl_context)
    thread = threading.Thread(target=server.serve_forever, name="mockplatform-server", daemon=True)
    thread.start()
    server.thread = thread
    if not server.wait_serving():
        raise RuntimeError("the mockplatform server did not start")
    return server

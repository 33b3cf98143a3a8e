"""One client connection: an asyncio protocol that reads requests, has them answered, and writes the
answers in the order the requests came.

A ``BufferedProtocol``: asyncio reads into the server's one read buffer (see ``get_buffer``), where a
plain protocol would have each read allocate 256 KiB, which glibc maps and unmaps every time (some
17 µs a request, as much as the rest of the HTTP handling). Framing is ``http1.RequestReader``'s; this
module decides only when to read, answer, refuse and close.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from concurrent.futures import Future
from email.utils import formatdate
from http import HTTPStatus
from typing import TYPE_CHECKING
from urllib.parse import parse_qsl, urlsplit

from ..database import UNREACHABLE
from ..faults import vp012
from ..http1 import Head, Message, Refusal, RequestReader
from ..messages import Request, Response
from ..platform import CORRELATION, correlation_id_for, fault_response
from .tls import distinguished_name, serialnumber

if TYPE_CHECKING:
    from .listener import PlatformHTTPServer

log = logging.getLogger("mockplatform.server")

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


class Connection(asyncio.BufferedProtocol):
    """Requests are answered in the order they came, one at a time: a platform call on the event loop
    (its answer waits for the group commit, see ``commit.AfterCommit``), anything that may wait in a
    worker thread."""

    def __init__(self, server: PlatformHTTPServer) -> None:
        self.server = server
        self.app = server.app
        self.loop = server.loop
        settings = self.app.settings
        self.reader = RequestReader(settings.max_body_bytes, settings.journal_body_bytes)
        self.timeout = settings.read_timeout_s
        self.linger = settings.linger_s
        self.transport: asyncio.Transport | None = None
        self.client = ""
        self.tls = False
        self.tls_serial: str | None = None
        self.tls_subject: str | None = None
        self.tls_issuer: str | None = None
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
            cert = transport.get_extra_info("peercert")
            self.tls_serial = serialnumber(cert)
            self.tls_subject = distinguished_name(cert, "subject")
            self.tls_issuer = distinguished_name(cert, "issuer")
        self.server.connections.add(self)
        self.last_seen = self.loop.time()
        self.timer = self.loop.call_later(self.timeout, self._check_silence)

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
                self.close()
            return
        self.reader.feed(data)
        self._advance()
        if self.reader.buffered > READ_AHEAD:  # requests sent ahead pile up: let the kernel hold the rest
            self._pause_reading()

    def eof_received(self) -> bool:
        """The client stopped sending. Over plain TCP the connection stays open for the answer in the
        works (a half-close); over TLS it closes (see ``tls.TLSLayer.eof_received``)."""
        self.eof = True
        if self.linger_left:  # the refused client has stopped sending: nothing left to drop
            self.close()
        elif not self.busy:
            refusal = self.reader.eof()
            if refusal is not None:
                self._refuse(refusal)
            else:
                self.close()
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
                    self.close()
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
            after_commit = self.server.after_commit
            if after_commit is None:  # nothing is journaled (a bare app): answered at once
                self._answer(event, self._handle(request))
                continue
            # Answered now, sent once its exchange is committed with the others of this turn of the loop.
            self.busy = True
            after_commit.handle(self, event, self._handle, request)
            return

    def committed(self, message: Message, response: Response) -> None:
        """The answer to the current request, its exchange committed (``commit.AfterCommit``): written,
        and the next request read."""
        self.busy = False
        self._answer(message, response)
        if not self.closed:
            self._advance()
            if self.reading_paused:
                self._resume_reading()

    def _needs_worker(self, request: Request) -> bool:
        try:
            return self.server.needs_worker(request)
        except UNREACHABLE:  # the database is away: the handling answers VP012 (and logs it), on the loop
            return False
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
            return self.server.handle(request)
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
            self.close()

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
            self.loop.call_later(self.linger, self.close)
        else:
            self.close()

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
            raw_query = split.query
        else:
            path, query, raw_query = target, {}, ""
        return Request(
            method=head.method,
            path=path,
            headers=head.headers,
            body=body,
            query=query,
            raw_query=raw_query,
            client=self.client,
            tls=self.tls,
            tls_serialnumber=self.tls_serial,
            tls_subject=self.tls_subject,
            tls_issuer=self.tls_issuer,
            scheme="https" if self.tls else "http",
            body_size=announced,
        )

    # -- closing ------------------------------------------------------------------------------------

    def _check_silence(self) -> None:
        """Drop a connection silent for ``read_timeout_s``; a body cut short by the silence gets its 400."""
        if self.closed:
            return
        silent = self.loop.time() - self.last_seen
        if self.busy or silent < self.timeout:  # waiting on a worker is our silence, not the client's
            self.timer = self.loop.call_later(max(0.1, self.timeout - silent), self._check_silence)
            return
        refusal = self.reader.eof()
        if refusal is not None:
            self._refuse(refusal)
        else:
            self.close()

    def close(self) -> None:
        if not self.closed and self.transport is not None:
            self.closed = True  # nothing more is read or answered here
            self.transport.close()  # what is written still goes out first

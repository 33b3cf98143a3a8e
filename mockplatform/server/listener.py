"""The listening socket, the event loop that serves it, the worker threads, and stopping.

One thread reads and writes every connection, so a slow or silent client costs a buffer, not a
thread, and a call to an in-process producer (the common case) is handled right there, with no
hand-off between threads: with many concurrent clients, hand-offs were most of the cost. A request
that may wait on something outside the process (a remote producer, an injected delay) or that is
not a platform call (the admin API, the pages) goes to a pool of worker threads instead; its
connection waits for the answer while the others go on.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import socket
import ssl
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import NamedTuple

from .. import http_routes
from ..app import Application
from ..messages import Request, Response
from .commit import AfterCommit
from .connection import READ_BUFFER, Connection
from .tls import TLSLayer

log = logging.getLogger("mockplatform.server")

STOP_GRACE_S = 2.0  # after a second stop request: how much longer remote producers get to answer


class Routes(NamedTuple):
    """The server's two questions to what it serves: the answer to a request, and whether it may wait."""

    handle: Callable[[Request], Response]
    needs_worker: Callable[[Request], bool]


class PlatformHTTPServer:
    """The listening socket is bound at once (so ``url`` is known); ``serve_forever`` runs the loop
    in the calling thread until ``shutdown`` (from another thread) or KeyboardInterrupt."""

    def __init__(self, app: Application, host: str, port: int, ssl_context: ssl.SSLContext | None = None,
                 workers: int | None = None, routes: Routes | None = None) -> None:
        self.app = app
        # What answers a request, and whether it may wait: the route table (``http_routes``) by default; a
        # benchmark's bare server gives its own.
        routes = routes or Routes(functools.partial(http_routes.handle, app),
                                  functools.partial(http_routes.needs_worker, app))
        self.handle, self.needs_worker = routes.handle, routes.needs_worker
        self.ssl_context = ssl_context
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        # "::" (every address) takes IPv4 calls too where the system can: a consumer at 127.0.0.1 reaches it.
        dualstack = host == "::" and socket.has_dualstack_ipv6()
        self.socket = socket.create_server((host, port), family=family, backlog=128, dualstack_ipv6=dualstack)
        self.server_address = self.socket.getsockname()
        self.pool = ThreadPoolExecutor(max_workers=workers or app.settings.workers,
                                       thread_name_prefix="mockplatform-worker")
        self.connections: set[Connection] = set()
        self.handshakes: set[TLSLayer] = set()  # TLS connections not (yet, or ever) handed to a Connection
        self.read_buffer = memoryview(bytearray(READ_BUFFER))
        self.after_commit: AfterCommit | None = None  # made with the loop; None: nothing to commit
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

    def serve_forever(self, poll_interval: float | None = None) -> None:
        """Serve until shutdown. (``poll_interval`` is accepted for the stdlib server's signature.)"""
        self.loop = loop = asyncio.new_event_loop()
        pipeline = getattr(self.app, "pipeline", None)  # a bare app (the benchmark's) journals nothing
        if pipeline is not None and pipeline.journal is not None:
            self.after_commit = AfterCommit(loop, pipeline)
        self._stopped.clear()
        try:
            loop.run_until_complete(self._serve())
        finally:
            try:
                if self.after_commit is not None:  # answered on the loop, not yet committed: committed and sent
                    self.after_commit.flush()
                for connection in list(self.connections):
                    connection.close()
                for layer in list(self.handshakes):
                    layer.abort()
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
                return Connection(self)
        else:
            settings = self.app.settings

            def factory() -> asyncio.BaseProtocol:
                return TLSLayer(Connection(self), self.ssl_context, self.loop, self.handshakes,
                                handshake_timeout=settings.read_timeout_s, linger=settings.linger_s)
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
                connection.close()  # idle, or a request not yet complete: nothing is owed
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

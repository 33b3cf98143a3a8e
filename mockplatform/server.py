"""The HTTP adapter: a threaded HTTP/1.1 server (stdlib) in front of ``Application.handle``.

One thread per connection suits the work: producer calls block (forwarding, timeouts, the 2 s
retry), and a slow client only holds its own thread. TLS with optional client certificates uses
the stdlib ssl module; the handshake runs in the connection's thread, not the accept loop.
"""

from __future__ import annotations

import logging
import re
import socket
import ssl
import sys
import threading
import time
import uuid
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

from .app import Application
from .faults import CONTENT_TYPE, VPFault
from .messages import Request, Response
from .platform import CORRELATION

log = logging.getLogger("mockplatform.server")

READ_CHUNK = 64 * 1024
MAX_LINE = 1024  # a chunk-size line or a trailer line
MAX_TRAILERS = 100
LINGER_S = 2.0  # how long a refused request's remaining body is read and dropped
_DIGITS = re.compile(r"[0-9]{1,18}")
_HEX = re.compile(rb"[0-9A-Fa-f]{1,15}")
_FOLD = re.compile(r"\r?\n[ \t]+")  # obsolete line folding: one space, as RFC 9112 5.2 allows a server to do


@dataclass
class _Body:
    """What came of reading a request body: the bytes kept, the full size when it was more than
    what was kept (over the limit, or cut short), and the refusal text when the framing was bad."""

    data: bytes
    size: int | None = None
    refusal: str | None = None


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "mockplatform"
    sys_version = ""
    timeout = 60  # seconds of silence before a connection is dropped
    disable_nagle_algorithm = True  # headers and body go out as separate writes: no 40 ms delayed-ACK stall

    server: PlatformHTTPServer

    def log_message(self, format: str, *args) -> None:  # noqa: A002 - stdlib signature
        log.debug("%s - %s", self.address_string(), format % args)

    def do_GET(self) -> None:
        body = self._read_body()  # a body on GET is read and ignored, so it cannot pose as the next request
        if body.refusal is None:
            self._dispatch(b"")

    def do_HEAD(self) -> None:
        body = self._read_body()
        if body.refusal is None:
            self._dispatch(b"", head=True)

    def do_POST(self) -> None:
        body = self._read_body()
        if body.refusal is None:
            self._dispatch(body.data, body.size)

    def do_PUT(self) -> None:
        self.do_POST()

    def do_DELETE(self) -> None:
        self.do_POST()

    # -- reading the body: bounded memory, framing checked ------------------------------------------

    def _read_body(self) -> _Body:
        """The request body; over the limit only its head is kept and its size reported.

        Framing that cannot be trusted (two Content-Length headers, a bad chunk, a body that ends
        early) is refused with 400 (501 for a transfer coding we lack) and the connection closed:
        guessing where a request ends is how one request smuggles in another, and an incomplete
        request must not be acted on.
        """
        settings = self.server.app.settings
        limit, keep = settings.max_body_bytes, settings.journal_body_bytes
        lengths = self.headers.get_all("Content-Length") or []
        codings = [c.strip().lower() for c in ",".join(self.headers.get_all("Transfer-Encoding") or []).split(",")]
        if codings != [""]:
            if lengths:  # RFC 9112 6.3: Transfer-Encoding wins, and the connection is not reused
                self.close_connection = True
            if codings[-1] != "chunked":
                return self._refuse(501, f"Transfer-Encoding {', '.join(codings)} is not supported\n")
            return self._read_chunked(limit, keep)
        if not lengths:
            return _Body(b"")
        if len(lengths) > 1 or not _DIGITS.fullmatch(lengths[0].strip()):
            return self._refuse(400, f"Bad Content-Length: {', '.join(lengths)}\n")
        length = int(lengths[0])
        data, received = self._read_exactly(length, length if length <= limit else keep)
        if received < length:
            return self._refuse(400, f"Request body incomplete: {received} of {length} bytes received\n",
                                data, length)
        if length > limit:
            self.close_connection = True
            return _Body(data, length)
        return _Body(data)

    def _read_exactly(self, length: int, keep: int) -> tuple[bytes, int]:
        """Read ``length`` bytes in bounded pieces, keeping the first ``keep``: (kept, received).

        Fewer received means the client closed, reset or fell silent for ``timeout`` seconds.
        """
        parts: list[bytes] = []
        kept = received = 0
        while received < length:
            try:
                chunk = self.rfile.read1(min(READ_CHUNK, length - received))
            except OSError:  # reset, or silent past the timeout
                chunk = b""
            if not chunk:
                self.close_connection = True
                break
            received += len(chunk)
            if kept < keep:
                parts.append(chunk[: keep - kept])
                kept += len(parts[-1])
        return b"".join(parts), received

    def _read_line(self) -> bytes:
        try:
            return self.rfile.readline(MAX_LINE)
        except OSError:
            return b""

    def _read_chunked(self, limit: int, keep: int) -> _Body:
        parts: list[bytes] = []
        kept = total = 0
        while True:
            line = self._read_line()
            if not line:
                return self._refuse(400, f"Request body incomplete: chunked body ended after {total} bytes\n",
                                    b"".join(parts), total)
            size_text = line.split(b";")[0].strip()
            if not _HEX.fullmatch(size_text):
                return self._refuse(400, "Bad chunk size\n", b"".join(parts), total)
            size = int(size_text, 16)
            if size == 0:
                for _ in range(MAX_TRAILERS):
                    if self._read_line() in (b"\r\n", b"\n", b""):
                        break
                else:
                    return self._refuse(400, "Too many trailer lines\n", b"".join(parts), total)
                break
            data, received = self._read_exactly(size, max(0, limit - kept))
            total += received
            parts.append(data)
            kept += len(data)
            if received < size:
                return self._refuse(400, f"Request body incomplete: chunked body ended after {total} bytes\n",
                                    b"".join(parts), total)
            if self._read_line() not in (b"\r\n", b"\n"):
                return self._refuse(400, "Bad chunk: no line end after the chunk data\n", b"".join(parts), total)
        if total > limit:
            self.close_connection = True
            return _Body(b"".join(parts)[:keep], total)
        return _Body(b"".join(parts))

    def _refuse(self, status: int, text: str, received: bytes = b"", size: int | None = None) -> _Body:
        """Answer a request whose HTTP framing is broken, and close. A POST is still journaled
        (with what arrived and the size announced), so the consumer's developer can see it."""
        self.close_connection = True
        response = Response(status, [("Content-Type", "text/plain; charset=UTF-8")], text.encode())
        if self.command == "POST":
            try:
                self.server.app.pipeline.record_plain(self._request(received, size), response)
            except Exception:  # the journal is broken: the refusal still goes out
                log.exception("could not record a refused request from %s", self.client_address)
        self._send(response)
        self._linger()
        return _Body(received, size, refusal=text)

    def _linger(self) -> None:
        """Drop what the client is still sending, for a moment, before the connection closes: closing
        with unread bytes makes TCP reset the connection, and the client may lose the answer with it."""
        deadline = time.monotonic() + LINGER_S
        left = self.server.app.settings.max_body_bytes
        try:
            while left > 0 and (wait := deadline - time.monotonic()) > 0:
                self.connection.settimeout(wait)
                chunk = self.rfile.read1(READ_CHUNK)
                if not chunk:
                    break
                left -= len(chunk)
        except OSError:
            pass

    def _request(self, body: bytes, announced: int | None = None) -> Request:
        split = urlsplit(self.path)
        query = {k.lower(): v for k, v in parse_qsl(split.query, keep_blank_values=True)}
        tls_serial = None
        is_tls = isinstance(self.connection, ssl.SSLSocket)
        if is_tls:
            tls_serial = _serialnumber(self.connection.getpeercert())
        host, port = self.client_address[:2]
        return Request(
            method=self.command,
            path=split.path or "/",
            headers=[(key, _FOLD.sub(" ", value)) for key, value in self.headers.items()],
            body=body,
            query=query,
            client=f"{host}:{port}",
            tls=is_tls,
            tls_serialnumber=tls_serial,
            scheme="https" if is_tls else "http",
            body_size=announced,
        )

    def _dispatch(self, body: bytes, announced: int | None = None, head: bool = False) -> None:
        request = self._request(body, announced)
        try:
            response = self.server.app.handle(request)
        except Exception as exc:  # never a traceback to the client: the platform's internal-error fault
            log.exception("unhandled error for %s %s", self.command, self.path)
            correlation = request.header(CORRELATION) or str(uuid.uuid4())
            fault = VPFault("VP012", "Server problem, VP does not have all necessary resources to operate. "
                                     f"({type(exc).__name__})")
            response = Response(500, [("Content-Type", CONTENT_TYPE), (CORRELATION, correlation)],
                                fault.render(self.server.app.settings.instance_name))
        self._send(response, head)

    def _send(self, response: Response, head: bool = False) -> None:
        """Write the answer; a client that has gone away is no error of ours."""
        try:
            self.send_response(response.status)
            for key, value in response.headers:
                self.send_header(key, value)
            self.send_header("Content-Length", str(len(response.body)))
            if self.close_connection:
                self.send_header("Connection", "close")
            self.end_headers()
            if not head:
                self.wfile.write(response.body)
        except OSError as exc:
            self.close_connection = True
            log.debug("%s went away before its answer was written: %s", self.address_string(), exc)


def _serialnumber(cert: dict | None) -> str:
    """SERIALNUMBER (OID 2.5.4.5) of the certificate subject; "" when absent."""
    if not cert:
        return ""
    for rdn in cert.get("subject", ()):
        for key, value in rdn:
            if key == "serialNumber":
                return value.strip()
    return ""


class PlatformHTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128

    def __init__(self, app: Application, host: str, port: int, ssl_context: ssl.SSLContext | None = None):
        self.app = app
        self.ssl_context = ssl_context
        if ":" in host:
            self.address_family = socket.AF_INET6
        super().__init__((host, port), _Handler)

    def handle_error(self, request, client_address) -> None:
        """To the log, not to stderr: a client that vanishes mid-request is routine, anything else a bug."""
        exc = sys.exc_info()[1]
        if isinstance(exc, OSError):
            log.debug("connection from %s ended: %s", client_address, exc)
        else:
            log.exception("unhandled error on the connection from %s", client_address)

    def finish_request(self, request, client_address) -> None:
        if self.ssl_context is None:
            super().finish_request(request, client_address)
            return
        # The handshake runs here, in the connection's own thread, never in the accept loop.
        request.settimeout(_Handler.timeout)
        try:
            tls = self.ssl_context.wrap_socket(request, server_side=True)
        except (ssl.SSLError, OSError) as exc:
            log.info("TLS handshake with %s failed: %s", client_address, exc)
            return
        try:
            self.RequestHandlerClass(tls, client_address, self)
        finally:
            tls.close()

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
    """Start the server in a daemon thread (for tests and the pytest plugin)."""
    server = PlatformHTTPServer(app, host, port, ssl_context)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                              name="mockplatform-server", daemon=True)
    thread.start()
    server.thread = thread
    return server

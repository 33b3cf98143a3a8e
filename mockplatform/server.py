"""The HTTP adapter: a threaded HTTP/1.1 server (stdlib) in front of ``Application.handle``.

One thread per connection suits the work: producer calls block (forwarding, timeouts, the 2 s
retry), and a slow client only holds its own thread. TLS with optional client certificates uses
the stdlib ssl module; the handshake runs in the connection's thread, not the accept loop.
"""

from __future__ import annotations

import logging
import socket
import ssl
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

from .app import Application
from .messages import Request, Response

log = logging.getLogger("mockplatform.server")

READ_CHUNK = 64 * 1024


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
        self._dispatch(b"")

    def do_HEAD(self) -> None:
        self._dispatch(b"", head=True)

    def do_POST(self) -> None:
        body, announced = self._read_body()
        if body is None:
            return
        self._dispatch(body, announced)

    def do_PUT(self) -> None:
        self.do_POST()

    def do_DELETE(self) -> None:
        self.do_POST()

    def _read_body(self) -> tuple[bytes | None, int | None]:
        """The request body; over the limit, only its head is kept and its size reported."""
        limit = self.server.app.settings.max_body_bytes
        keep = self.server.app.settings.journal_body_bytes
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            return self._read_chunked(limit, keep)
        length_text = self.headers.get("Content-Length")
        if length_text is None:
            return b"", None
        try:
            length = int(length_text)
            if length < 0:
                raise ValueError
        except ValueError:
            self._plain(400, "Bad Content-Length\n")
            return None, None
        if length <= limit:
            data = self.rfile.read(length)
            if len(data) < length:  # the client went away mid-body: record what came
                self.close_connection = True
                return data, length
            return data, None
        head = self.rfile.read(keep)
        remaining = length - len(head)
        while remaining > 0:
            chunk = self.rfile.read(min(READ_CHUNK, remaining))
            if not chunk:
                break
            remaining -= len(chunk)
        self.close_connection = True
        return head, length

    def _read_chunked(self, limit: int, keep: int) -> tuple[bytes | None, int | None]:
        parts: list[bytes] = []
        kept = total = 0
        while True:
            line = self.rfile.readline(1024)
            if not line:
                self.close_connection = True
                return b"".join(parts), total or None
            try:
                size = int(line.split(b";")[0].strip(), 16)
            except ValueError:
                self._plain(400, "Bad chunk size\n")
                return None, None
            if size == 0:
                while self.rfile.readline(1024) not in (b"\r\n", b"\n", b""):
                    pass  # trailers
                break
            data = self.rfile.read(size)
            self.rfile.readline(8)
            total += len(data)
            if kept < keep and total <= limit:
                parts.append(data)
                kept += len(data)
        body = b"".join(parts)
        return body, (total if total > limit else None)

    def _dispatch(self, body: bytes, announced: int | None = None, head: bool = False) -> None:
        split = urlsplit(self.path)
        query = {k.lower(): v for k, v in parse_qsl(split.query, keep_blank_values=True)}
        tls_serial = None
        is_tls = isinstance(self.connection, ssl.SSLSocket)
        if is_tls:
            tls_serial = _serialnumber(self.connection.getpeercert())
        host, port = self.client_address[:2]
        request = Request(
            method=self.command,
            path=split.path or "/",
            headers=list(self.headers.items()),
            body=body,
            query=query,
            client=f"{host}:{port}",
            tls=is_tls,
            tls_serialnumber=tls_serial,
            scheme="https" if is_tls else "http",
            body_size=announced,
        )
        try:
            response = self.server.app.handle(request)
        except Exception:  # never a traceback to the client
            log.exception("unhandled error for %s %s", self.command, self.path)
            response = Response(500, [("Content-Type", "text/plain; charset=UTF-8")], b"Internal error\n")
        self._send(response, head)

    def _send(self, response: Response, head: bool = False) -> None:
        self.send_response(response.status)
        for key, value in response.headers:
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(response.body)))
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        if not head:
            self.wfile.write(response.body)

    def _plain(self, status: int, text: str) -> None:
        self.close_connection = True
        self._send(Response(status, [("Content-Type", "text/plain; charset=UTF-8")], text.encode()))


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

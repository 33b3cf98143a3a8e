"""HTTP/1.1 request framing, without I/O: bytes go in as they arrive, requests come out.

The server feeds what it reads and asks for the next event: a request head (so it can answer
``Expect: 100-continue``), a whole request, or a refusal when the framing cannot be trusted. Bodies
are read in the pieces they arrive in and only their head is kept beyond the limit, so a huge body
costs neither memory nor a hang. Framing that cannot be trusted (two Content-Length headers, a bad
chunk, a body that ends early) is refused rather than guessed at: guessing where a request ends is
how one request smuggles in another, and an incomplete request must not be acted on. So are headers
that another HTTP reader might read differently: an HTTP/1.1 request without exactly one Host (RFC
9112 3.2), a NUL, CR or LF inside a header value (RFC 9110 5.5).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

MAX_HEAD = 64 * 1024  # request line and headers together
MAX_HEADERS = 100
MAX_LINE = 1024  # a chunk-size line or a trailer line
MAX_TRAILERS = 100
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "DELETE"})

_DIGITS = re.compile(r"[0-9]{1,18}")
_HEX = re.compile(rb"[0-9A-Fa-f]{1,15}")
_VERSION = re.compile(r"HTTP/([0-9])\.([0-9])")
_BLANK_LINE = re.compile(rb"\n\r?\n")  # the end of the headers (a bare LF is accepted, as by most servers)
_FRAMING = frozenset({"content-length", "transfer-encoding", "connection", "expect", "host"})
_TOKEN = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")


@dataclass
class Head:
    """A request line and its headers (values unfolded, repeats kept in order)."""

    method: str
    target: str
    version: str
    headers: list[tuple[str, str]]
    keep_alive: bool
    expects_continue: bool = False
    framing: dict[str, list[str]] = field(default_factory=dict)  # the values of the _FRAMING headers (and Host)


@dataclass
class Message:
    """A whole request. ``size`` is the full body size when more arrived than was kept (over the limit)."""

    head: Head
    body: bytes
    size: int | None = None
    close: bool = False  # answer, then close the connection


@dataclass
class Refusal:
    """A request that is answered with ``status`` and ``text`` and the connection closed. ``head`` is None
    when even the request line or headers could not be read; ``received`` and ``size`` say how much of the
    body came and how much was announced."""

    status: int
    text: str
    head: Head | None = None
    received: bytes = b""
    size: int | None = None
    body_unread: bool = True  # the client may still be sending: read and drop for a moment before closing


@dataclass
class _Body:
    """The body being read: by Content-Length (``length``) or chunked (``length`` None)."""

    head: Head
    length: int | None
    keep: int  # bytes of the body kept
    close: bool
    parts: list[bytes] = field(default_factory=list)
    kept: int = 0
    total: int = 0
    chunk_left: int = 0  # chunked: bytes left of the current chunk
    state: str = "size"  # chunked: size, data, data-end, trailers
    trailers: int = 0

    def take(self, data: bytes) -> None:
        self.total += len(data)
        if self.kept < self.keep:
            piece = data[: self.keep - self.kept]
            self.parts.append(piece)
            self.kept += len(piece)

    def data(self) -> bytes:
        return b"".join(self.parts)


class RequestReader:
    """The requests on one connection, read from its bytes in order."""

    def __init__(self, max_body: int, journal_keep: int) -> None:
        self.max_body = max_body
        self.journal_keep = journal_keep
        self._buffer = bytearray()
        self._body: _Body | None = None
        self._refused = False
        self._scanned = 0  # how much of the buffer was searched for the end of a head

    def feed(self, data: bytes) -> None:
        self._buffer += data

    @property
    def buffered(self) -> int:
        """Bytes received and not yet taken as a request (the requests a client sent ahead)."""
        return len(self._buffer)

    @property
    def idle(self) -> bool:
        """Nothing of a next request has arrived (a connection may be closed quietly)."""
        return self._body is None and not self._buffer.strip()

    def next_event(self) -> Head | Message | Refusal | None:
        """The next head, whole request or refusal; None until more bytes arrive. After a refusal, None."""
        if self._refused:
            return None
        if self._body is None:
            return self._read_head()
        body = self._body
        done = self._read_chunked(body) if body.length is None else self._read_sized(body)
        if isinstance(done, Refusal):
            self._refused = True
            return done
        if not done:
            return None
        self._body = None
        data = body.data()
        if body.total > self.max_body:
            return Message(body.head, data[: self.journal_keep], body.total, close=True)
        return Message(body.head, data, close=body.close)

    def eof(self) -> Refusal | None:
        """The client closed (or fell silent): a refusal when it was in the middle of a request body."""
        body = self._body
        if body is None or self._refused:
            return None
        self._refused = True
        if body.length is not None:
            text = f"Request body incomplete: {body.total} of {body.length} bytes received\n"
            return Refusal(400, text, body.head, body.data(), body.length, body_unread=False)
        text = f"Request body incomplete: chunked body ended after {body.total} bytes\n"
        return Refusal(400, text, body.head, body.data(), body.total, body_unread=False)

    # -- the head ----------------------------------------------------------------------------------

    def _read_head(self) -> Head | Message | Refusal | None:
        buf = self._buffer
        if not buf:
            return None
        while buf[:2] == b"\r\n" or buf[:1] == b"\n":  # empty lines before a request line are ignored
            del buf[: 2 if buf[:1] == b"\r" else 1]
            self._scanned = 0
        # Scan only what is new (a client sending a byte at a time must not cost a rescan each time).
        found = _BLANK_LINE.search(buf, max(0, self._scanned - 2), MAX_HEAD + 4)
        if found is None:
            self._scanned = len(buf)
            if len(buf) > MAX_HEAD:
                if buf.find(b"\n", 0, MAX_HEAD) < 0:
                    return self._refuse_head(414, "Request line too long\n")
                return self._refuse_head(431, "Request header fields too large\n")
            return None
        text = bytes(buf[: found.start()]).decode("latin-1")
        del buf[: found.end()]
        self._scanned = 0
        head = _parse_head(text)
        if isinstance(head, Refusal):
            self._refused = True
            return head
        return self._start_body(head)

    def _refuse_head(self, status: int, text: str) -> Refusal:
        self._refused = True
        if status == 431:  # the request line came whole: a refused POST is journaled with it
            words = bytes(self._buffer[: self._buffer.find(b"\n")]).decode("latin-1").split()
            if len(words) == 3 and _VERSION.fullmatch(words[2]):
                return Refusal(status, text, _partial(words, []))
        return Refusal(status, text)

    def _start_body(self, head: Head) -> Head | Message | Refusal | None:
        lengths = head.framing.get("content-length", ())
        codings = head.framing.get("transfer-encoding")
        close = not head.keep_alive
        if codings is not None:
            codings = [c.strip().lower() for c in ",".join(codings).split(",")]
            if lengths:  # RFC 9112 6.3: Transfer-Encoding wins, and the connection is not reused
                close = True
            if codings != ["chunked"]:  # gzip, chunked too: we would read the body still compressed
                self._refused = True
                return Refusal(501, f"Transfer-Encoding {', '.join(codings)} is not supported\n", head)
            self._body = _Body(head, None, self.max_body, close)
        elif not lengths:
            return Message(head, b"", close=close)
        elif len(lengths) > 1 or not _DIGITS.fullmatch(lengths[0].strip()):
            self._refused = True
            return Refusal(400, f"Bad Content-Length: {', '.join(lengths)}\n", head)
        else:
            length = int(lengths[0])
            if length == 0:
                return Message(head, b"", close=close)
            over = length > self.max_body
            keep = self.journal_keep if over else length
            self._body = _Body(head, length, keep, close or over)
        head.expects_continue = ("expect" in head.framing and head.version == "HTTP/1.1" and not self._buffer
                                 and any(v.strip().lower() == "100-continue" for v in head.framing["expect"]))
        return head

    # -- bodies ------------------------------------------------------------------------------------

    def _read_sized(self, body: _Body) -> bool:
        buf = self._buffer
        n = min(body.length - body.total, len(buf))
        if n:
            body.take(bytes(buf[:n]))
            del buf[:n]
        return body.total == body.length

    def _read_chunked(self, body: _Body) -> bool | Refusal:
        buf = self._buffer
        while True:
            if body.state == "size":
                end = buf.find(b"\n", 0, MAX_LINE)
                if end < 0:
                    return self._bad_chunk(body, "Bad chunk size\n") if len(buf) >= MAX_LINE else False
                size_text = bytes(buf[:end + 1]).split(b";")[0].strip()
                if not _HEX.fullmatch(size_text):
                    return self._bad_chunk(body, "Bad chunk size\n")
                del buf[: end + 1]
                body.chunk_left = int(size_text, 16)
                body.state = "data" if body.chunk_left else "trailers"
            elif body.state == "data":
                n = min(body.chunk_left, len(buf))
                if not n:
                    return False
                body.take(bytes(buf[:n]))
                del buf[:n]
                body.chunk_left -= n
                if body.chunk_left:
                    return False
                body.state = "data-end"
            elif body.state == "data-end":
                if buf[:2] == b"\r\n" or buf[:1] == b"\n":
                    del buf[: 2 if buf[:1] == b"\r" else 1]
                    body.state = "size"
                elif buf in (b"", b"\r"):
                    return False
                else:
                    return self._bad_chunk(body, "Bad chunk: no line end after the chunk data\n")
            else:  # trailers: ignored, up to an empty line
                end = buf.find(b"\n", 0, MAX_LINE)
                if end < 0:
                    return self._bad_chunk(body, "Trailer line too long\n") if len(buf) >= MAX_LINE else False
                line = bytes(buf[: end + 1])
                del buf[: end + 1]
                if line in (b"\r\n", b"\n"):
                    return True
                body.trailers += 1
                if body.trailers > MAX_TRAILERS:
                    return self._bad_chunk(body, "Too many trailer lines\n")

    def _bad_chunk(self, body: _Body, text: str) -> Refusal:
        return Refusal(400, text, body.head, body.data(), body.total)


def _partial(request_line: list[str], headers: list[tuple[str, str]]) -> Head:
    """The head as far as it could be read, for a refusal: so a refused POST is still journaled with
    its method, path and the headers before the bad one."""
    method, target, version = request_line
    return Head(method, target, version, list(headers), keep_alive=False)


def _parse_head(text: str) -> Head | Refusal:
    lines = text.split("\n")
    request_line = lines[0].rstrip("\r")
    words = request_line.split()
    if len(words) != 3:
        return Refusal(400, f"Bad request syntax ({request_line[:200]!r})\n")
    method, target, version = words
    match = _VERSION.fullmatch(version)
    if match is None:
        return Refusal(400, f"Bad request version ({version[:50]!r})\n")
    if match.group(1) != "1":
        return Refusal(505, f"Invalid HTTP version ({version})\n")
    headers: list[tuple[str, str]] = []
    framing: dict[str, list[str]] = {}
    # Lines end with CRLF, or all with a bare LF (accepted, as by most servers). A bare LF among CRLF
    # lines is a line end to us but part of the value to a reader that splits on CRLF alone, and a bare
    # CR the other way round; either way two readers see different headers (a header injected past a
    # proxy), so they are refused, and so is a NUL, which ends the value for a C reader.
    crlf = lines[0].endswith("\r")
    for raw in lines[1:]:
        if raw.endswith("\r"):
            line = raw[:-1]
        elif crlf:
            return Refusal(400, f"Bad header: a line feed without a carriage return ends {raw[:100]!r}\n",
                           _partial(words, headers))
        else:
            line = raw
        if "\r" in line or "\x00" in line:
            what = "a carriage return without a line feed" if "\r" in line else "a NUL character"
            return Refusal(400, f"Bad header: {what} in {line[:100]!r}\n", _partial(words, headers))
        if line[:1] in (" ", "\t"):  # obsolete line folding: one space (RFC 9112 5.2)
            if not headers:
                return Refusal(400, "Bad header: a continuation line comes first\n", _partial(words, headers))
            name, value = headers[-1]
            headers[-1] = (name, (value + " " + line.strip(" \t")).strip())
            if (low := name.lower()) in framing:
                framing[low][-1] = headers[-1][1]
            continue
        name, sep, value = line.partition(":")
        if not sep or not _TOKEN.fullmatch(name):
            return Refusal(400, f"Bad header line ({line[:100]!r})\n", _partial(words, headers))
        value = value.strip(" \t")
        headers.append((name, value))
        if (low := name.lower()) in _FRAMING:
            framing.setdefault(low, []).append(value)
        if len(headers) > MAX_HEADERS:
            return Refusal(431, "Too many headers\n", _partial(words, headers))
    connection = {t.strip().lower() for v in framing.get("connection", ()) for t in v.split(",")}
    if version == "HTTP/1.1":
        keep_alive = "close" not in connection
    else:
        keep_alive = "keep-alive" in connection and "close" not in connection
    head = Head(method, target, version, headers, keep_alive, framing=framing)
    if method not in METHODS:
        return Refusal(501, f"Unsupported method ({method[:50]!r})\n", head)
    hosts = framing.get("host", ())
    if len(hosts) > 1:
        return Refusal(400, "Bad request: more than one Host header\n", head)
    if not hosts and version == "HTTP/1.1":
        return Refusal(400, "Bad request: an HTTP/1.1 request must have a Host header\n", head)
    return head

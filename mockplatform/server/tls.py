"""TLS for the server: the context, a record layer over ``ssl.MemoryBIO``, and the consumer's HSA-id
from the client certificate's SERIALNUMBER.

Why our own record layer rather than asyncio's: when a handshake fails (a client certificate from an
unknown CA, an expired one), OpenSSL writes an alert that says why, and asyncio's TLS transport closes
the connection without sending it (CPython's ``sslproto`` does not flush on a handshake error, up to
3.13 at least). That alert ("unknown ca", "certificate expired") is what tells a consumer's developer
why the platform hung up; without it the client sees a bare reset. ``SSLContext.wrap_bio`` with two
``MemoryBIO`` is the documented way to run TLS over any transport: here every byte OpenSSL writes is
sent, the alert too, before the connection closes. (The layer replaced a subclass of asyncio's private
``SSLProtocol``, which a new Python could break.)
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import ssl
from pathlib import Path

log = logging.getLogger("mockplatform.server")

_READ_SIZE = 256 * 1024  # plaintext taken from OpenSSL at a time


def tls_context(cert: Path, key: Path, client_ca: Path | None) -> ssl.SSLContext:
    """Server TLS; with a client CA, client certificates are asked for and verified (optional, so a
    consumer without one reaches the platform and gets VP002, as on the real platform)."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(str(cert), str(key))
    # No renegotiation (TLS 1.2): a write then never has to wait for the client.
    context.options |= ssl.OP_NO_RENEGOTIATION
    if client_ca is not None:
        context.load_verify_locations(str(client_ca))
        context.verify_mode = ssl.CERT_OPTIONAL
    return context


def distinguished_name(cert: dict | None, which: str) -> str | None:
    """The certificate's ``subject`` or ``issuer`` as RFC 4514-like text (CN=..., O=..., SERIALNUMBER=...),
    for the journal and the protocol: who the certificate says called, and who vouched for it."""
    if not cert or not cert.get(which):
        return None
    short = {"commonName": "CN", "organizationName": "O", "organizationalUnitName": "OU", "countryName": "C",
             "serialNumber": "SERIALNUMBER", "localityName": "L", "stateOrProvinceName": "ST"}
    return ", ".join(f"{short.get(key, key)}={value}" for rdn in cert[which] for key, value in rdn)


def serialnumber(cert: dict | None) -> str:
    """SERIALNUMBER (OID 2.5.4.5) of the certificate subject; "" when absent. It is the consumer's
    HSA-id on the real platform, so it is ours too."""
    if not cert:
        return ""
    for rdn in cert.get("subject", ()):
        for key, value in rdn:
            if key == "serialNumber":
                return value.strip()
    return ""


class TLSLayer(asyncio.Protocol):
    """Between the TCP connection and the HTTP protocol (``app``): runs the handshake, then decrypts
    what arrives and encrypts what the app writes. The app sees a transport (``_TLSTransport``) once
    the handshake has succeeded, never before; a failed handshake sends its alert and closes."""

    def __init__(self, app: asyncio.BaseProtocol, context: ssl.SSLContext, loop: asyncio.AbstractEventLoop,
                 handshakes: set[TLSLayer], handshake_timeout: float, linger: float) -> None:
        self.app = app
        self.loop = loop
        self.handshakes = handshakes  # the server's: layers whose app is not connected, closed when it stops
        self.incoming = ssl.MemoryBIO()
        self.outgoing = ssl.MemoryBIO()
        self.sslobj = context.wrap_bio(self.incoming, self.outgoing, server_side=True)
        self.handshake_timeout = handshake_timeout
        self.linger = linger
        self.transport: asyncio.Transport | None = None
        self.app_transport: _TLSTransport | None = None  # set once the handshake is done
        self.timer: asyncio.TimerHandle | None = None
        self.closing = False
        self.eof = False  # the app was told the client stopped sending

    # -- the TCP transport's callbacks ------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport
        self.handshakes.add(self)
        self.timer = self.loop.call_later(self.handshake_timeout, self._handshake_timed_out)

    def data_received(self, data: bytes) -> None:
        if self.closing:
            return
        self.incoming.write(data)
        if self.app_transport is None and not self._handshake():
            return
        self._read()

    def eof_received(self) -> bool:
        """The client closed its side without close_notify (or after it). There is no half-close in
        TLS here, as in asyncio's: once the app has been told, the connection closes."""
        if self.app_transport is None:
            self._cancel_timer()
            return False  # a handshake cut short, or the client read the alert and left: the transport closes
        self._tell_eof()
        return False

    def connection_lost(self, exc: Exception | None) -> None:
        self._cancel_timer()
        self.closing = True
        self.handshakes.discard(self)
        if self.app_transport is not None:
            self.app.connection_lost(exc)

    def pause_writing(self) -> None:
        if self.app_transport is not None:
            self.app.pause_writing()

    def resume_writing(self) -> None:
        if self.app_transport is not None:
            self.app.resume_writing()

    # -- TLS ----------------------------------------------------------------------------------------

    def _handshake(self) -> bool:
        """One step of the handshake with what has arrived; True once it is done (the app is connected)."""
        try:
            self.sslobj.do_handshake()
        except ssl.SSLWantReadError:
            self._flush()
            return False
        except ssl.SSLError as exc:  # an unknown CA, an expired certificate, not TLS at all
            log.debug("TLS handshake with %s failed: %s", self._peer(), exc)
            self._cancel_timer()
            self.closing = True
            self._flush()  # the alert: why the platform hangs up
            # A close with unread bytes (a TLS 1.3 client sends its request right after its part of the
            # handshake) resets the connection, and the client may lose the alert with it: the alert is
            # followed by a FIN, what still comes is dropped, and the connection closes a moment later.
            if self.transport.can_write_eof():
                self.transport.write_eof()
                self.loop.call_later(self.linger, self.transport.close)
            else:
                self.transport.close()
            return False
        self._cancel_timer()
        self._flush()
        self.handshakes.discard(self)
        self.app_transport = _TLSTransport(self)
        self.app.connection_made(self.app_transport)
        return True

    def _read(self) -> None:
        """Decrypt all that has arrived and give it to the app in one piece."""
        chunks = []
        closed = False
        try:
            while chunk := self.sslobj.read(_READ_SIZE):
                chunks.append(chunk)
            closed = True  # b"": the client's close_notify
        except ssl.SSLWantReadError:
            pass  # the rest of a record is still to come
        except ssl.SSLZeroReturnError:
            closed = True
        except ssl.SSLError as exc:  # a broken record: nothing after it can be read
            log.debug("TLS error from %s: %s", self._peer(), exc)
            self._flush()
            self.abort()
            return
        self._flush()  # what reading made OpenSSL write (a key update's answer, a session ticket)
        if chunks and not self.closing:
            self.app.data_received(b"".join(chunks))
        if closed:
            self._tell_eof()

    def _tell_eof(self) -> None:
        if self.eof or self.closing:
            return
        self.eof = True
        if not self.app.eof_received():
            self.close()

    def _flush(self) -> None:
        if self.outgoing.pending:
            self.transport.write(self.outgoing.read())

    def _handshake_timed_out(self) -> None:
        self.timer = None
        if self.app_transport is None and not self.closing:
            log.debug("TLS handshake with %s timed out after %.1f s", self._peer(), self.handshake_timeout)
            self.abort()

    def _cancel_timer(self) -> None:
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None

    def _peer(self) -> str:
        peer = self.transport.get_extra_info("peername") if self.transport is not None else None
        return f"{peer[0]}:{peer[1]}" if peer else "?"

    # -- what the app's transport does --------------------------------------------------------------

    def write(self, data: bytes) -> None:
        if self.closing:
            return
        view = memoryview(data)
        try:
            while view:
                view = view[self.sslobj.write(view):]
        except ssl.SSLError as exc:
            log.debug("TLS error writing to %s: %s", self._peer(), exc)
            self.abort()
            return
        self._flush()

    def close(self) -> None:
        """close_notify, then close once what is written has gone out (the client's close_notify is not
        waited for, as TLS allows)."""
        if self.closing:
            return
        self.closing = True
        with contextlib.suppress(ssl.SSLError):  # SSLWantReadError: the client's close_notify has not come
            self.sslobj.unwrap()
        self._flush()
        self.transport.close()

    def abort(self) -> None:
        self.closing = True
        self.transport.abort()


class _TLSTransport(asyncio.Transport):
    """What the HTTP protocol writes to and reads from over TLS: the plaintext side of ``TLSLayer``."""

    def __init__(self, layer: TLSLayer) -> None:
        super().__init__()
        self._layer = layer

    def get_extra_info(self, name: str, default=None):
        layer = self._layer
        if name == "ssl_object":
            return layer.sslobj
        if name == "peercert":
            return layer.sslobj.getpeercert()
        if name == "cipher":
            return layer.sslobj.cipher()
        return layer.transport.get_extra_info(name, default)

    def write(self, data: bytes) -> None:
        self._layer.write(data)

    def close(self) -> None:
        self._layer.close()

    def abort(self) -> None:
        self._layer.abort()

    def is_closing(self) -> bool:
        return self._layer.closing

    def pause_reading(self) -> None:
        self._layer.transport.pause_reading()

    def resume_reading(self) -> None:
        self._layer.transport.resume_reading()

    def is_reading(self) -> bool:
        return self._layer.transport.is_reading()

    def get_write_buffer_size(self) -> int:
        return self._layer.transport.get_write_buffer_size()

    def set_write_buffer_limits(self, high: int | None = None, low: int | None = None) -> None:
        self._layer.transport.set_write_buffer_limits(high, low)

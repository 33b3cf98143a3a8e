"""The HTTP adapter: an HTTP/1.1 server on an asyncio event loop in front of ``http_routes.handle``.

Split by responsibility:

- ``listener``: the listening socket, the event loop, the worker threads for calls that may wait,
  and stopping (answer what is in flight, then stop);
- ``connection``: one client connection, an asyncio protocol (framing is ``http1.RequestReader``'s);
- ``commit``: the group commit of the calls answered in one turn of the loop (whether an answer may
  be sent is the pipeline's rule: ``SoapPipeline.commit_held``);
- ``tls``: the TLS context, the record layer that sends a failed handshake's alert, and the
  consumer's HSA-id from the certificate's SERIALNUMBER.
"""

from .listener import STOP_GRACE_S, PlatformHTTPServer, start_in_thread
from .tls import tls_context

__all__ = ["STOP_GRACE_S", "PlatformHTTPServer", "start_in_thread", "tls_context"]

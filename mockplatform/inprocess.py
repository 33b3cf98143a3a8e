"""The in-process mode: ``requests`` calls to the platform's URL are answered by the same core
(``http_routes.handle``) through ``responses``, with no socket. zeep's synchronous transport uses
requests, so a zeep client works through it unchanged."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import parse_qsl, urlsplit

from . import http_routes
from .app import Application
from .messages import Request

DEFAULT_URL = "http://mockplatform.local"
_METHODS = ("GET", "HEAD", "POST", "PUT", "DELETE")


def _adapter(app: Application):
    def callback(prepared) -> tuple[int, dict[str, str], bytes]:
        split = urlsplit(prepared.url)
        body = prepared.body or b""
        if isinstance(body, str):
            body = body.encode("utf-8")
        request = Request(
            method=prepared.method,
            path=split.path or "/",
            # requests leaves Host to the socket layer; the platform needs it to point WSDL imports back here
            headers=[("Host", split.netloc), *((k, v) for k, v in prepared.headers.items() if k.lower() != "host")],
            body=body,
            query={k.lower(): v for k, v in parse_qsl(split.query, keep_blank_values=True)},
            client="127.0.0.1:0",
            scheme=split.scheme,
        )
        response = http_routes.handle(app, request)
        headers: dict[str, str] = {}
        for key, value in response.headers:
            headers[key] = value
        return response.status, headers, response.body

    return callback


@contextmanager
def intercept(app: Application, base_url: str = DEFAULT_URL, mock=None) -> Iterator[str]:
    """Route every ``requests`` call under ``base_url`` to ``app``; other URLs pass through untouched.

    Yields the base URL. Give an active ``responses.RequestsMock`` as ``mock`` to share one.
    """
    import responses

    pattern = re.compile("^" + re.escape(base_url.rstrip("/")) + r"(/.*)?(\?.*)?$")
    own = mock is None
    mock = responses.RequestsMock(assert_all_requests_are_fired=False) if own else mock
    if own:
        mock.add_passthru(re.compile(r"^(?!" + re.escape(base_url.rstrip("/")) + ")"))
        mock.start()
    try:
        callback = _adapter(app)
        for method in _METHODS:
            mock.add_callback(method, pattern, callback=callback)
        yield base_url.rstrip("/")
    finally:
        if own:
            mock.stop()
            mock.reset()
        else:  # a shared mock may assert that all it holds was called: ours go with this block
            for method in _METHODS:
                mock.remove(method, pattern)

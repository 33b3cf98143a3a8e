"""The in-process mode: ``requests`` calls to the platform's URL are answered by the same core
(``http_routes.handle``) through ``responses``, with no socket. zeep's synchronous transport uses
requests, so a zeep client works through it unchanged.

``responses`` answers through one patch of requests' transport, so two active mocks do not stack:
the one started last takes every URL. A test with mocks of its own shares one mock with the platform
(``intercept(app, mock=...)``); ``SHARE_ONE_MOCK`` says how, in the warning given when a mock is
already active and in the note added to a call another mock refused (``refused_hint``).
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import parse_qsl, urlsplit

from . import http_routes
from .app import Application
from .messages import Request

DEFAULT_URL = "http://mockplatform.local"
_METHODS = ("GET", "HEAD", "POST", "PUT", "DELETE")
SHARE_ONE_MOCK = (
    "Use one responses mock for both: take the mockplatform_app fixture (not mockplatform_inprocess) and "
    "write `with responses.RequestsMock() as rsps, intercept(mockplatform_app, mock=rsps) as platform_url:` "
    "(from mockplatform.inprocess import intercept); your rsps.add(...) mocks and the platform then answer "
    "side by side (README: 'The pytest plugin').")


class MockplatformWarning(UserWarning):
    """The in-process platform was set up in a way that will not do what the test means."""


def responses_active() -> bool:
    """Whether a ``responses`` mock (or anything else) has already patched requests' transport."""
    import requests.adapters
    import responses

    real = getattr(responses, "_real_send", None)
    return real is not None and requests.adapters.HTTPAdapter.send is not real


def refused_hint(exc: BaseException, base_url: str = DEFAULT_URL) -> str | None:
    """What to do, when ``exc`` (or an exception it came from) is another responses mock refusing a call to
    the in-process platform at ``base_url``; None for any other exception."""
    seen: set[int] = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        request = getattr(exc, "request", None)
        url = str(getattr(request, "url", "") or "")
        if str(exc).startswith("Connection refused by Responses") and url.startswith(base_url.rstrip("/")):
            return (f"mockplatform: this call to the in-process platform ({url}) was refused by another "
                    "responses mock, activated after mockplatform_inprocess (@responses.activate, "
                    "responses.start() or `with responses.RequestsMock()`): the mock started last takes every "
                    "URL. " + SHARE_ONE_MOCK)
        exc = exc.__cause__ or exc.__context__
    return None


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
            raw_query=split.query,
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
    if own and responses_active():
        warnings.warn("a responses mock is already active: the in-process platform's own mock now takes every "
                      "URL, and calls to other URLs go to the network past yours. " + SHARE_ONE_MOCK,
                      MockplatformWarning, stacklevel=3)
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

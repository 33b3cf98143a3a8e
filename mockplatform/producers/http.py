"""Forwarding to a producer at an http(s) URL, with the real platform's retry and timeout rules.

Connection refused or reset: one retry after 2 s, then a failure (VP009). Read timeout: a failure
at once, no retry. Everything else comes back as the producer's answer.
"""

from __future__ import annotations

import threading

import urllib3
from urllib3.exceptions import HTTPError, NewConnectionError, ProtocolError, ReadTimeoutError

from ..faults import VP009_TIMEOUT, vp009_connection_failed
from .base import ProducerAnswer, ProducerCall


class HttpProducer:
    def __init__(self, retry_delay_s: float = 2.0, connect_timeout_s: float = 5.0,
                 interrupt: threading.Event | None = None) -> None:
        self.retry_delay_s = retry_delay_s
        self.interrupt = interrupt or threading.Event()  # set: the platform stops, the retry comes at once
        self.connect_timeout_s = connect_timeout_s
        self._pool = urllib3.PoolManager(num_pools=32, maxsize=16, retries=False, cert_reqs="CERT_NONE")

    def __call__(self, call: ProducerCall) -> ProducerAnswer:
        body = call.body()
        timeout = urllib3.Timeout(connect=self.connect_timeout_s, read=call.timeout_s)
        for attempt in (1, 2):
            try:
                response = self._pool.request(
                    "POST", call.route.address, body=body, headers=dict(call.headers),
                    timeout=timeout, redirect=False, preload_content=True,
                )
            except ReadTimeoutError:
                return ProducerAnswer(None, failure=VP009_TIMEOUT)
            except (NewConnectionError, ProtocolError, ConnectionError) as exc:
                if attempt == 1:
                    self.interrupt.wait(self.retry_delay_s)
                    continue
                return ProducerAnswer(None, failure=vp009_connection_failed(_reason(exc)))
            except HTTPError as exc:
                if "timed out" in str(exc).lower():
                    return ProducerAnswer(None, failure=VP009_TIMEOUT)
                if attempt == 1:
                    self.interrupt.wait(self.retry_delay_s)
                    continue
                return ProducerAnswer(None, failure=vp009_connection_failed(_reason(exc)))
            return ProducerAnswer(response.status, response.data, list(response.headers.items()))
        raise AssertionError("unreachable")

    def close(self) -> None:
        self._pool.clear()


def _reason(exc: Exception) -> str:
    text = str(exc)
    return text.split(": ", 1)[-1] if ": " in text else text

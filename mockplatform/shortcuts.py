"""Speed shortcuts of the request path, each equal to a plain standard-library expression.

Every request formats a time, may ask today's date, makes a correlation id and serialises headers to
JSON. The plain expressions pay for general machinery on each call; these do the same work once a
second, or once per process. Each one gives exactly what its plain expression gives, and
``tests/test_shortcuts.py`` holds one equivalence test per shortcut (keep them together: a shortcut
without its test is a bug waiting to happen):

- ``json_text(value)`` is ``json.dumps(value)``;
- ``utc_now_iso()`` is ``datetime.now(UTC).isoformat(timespec="microseconds")``;
- ``local_today()`` is ``date.today()``;
- ``new_correlation_id()`` is ``str(uuid.uuid4())`` in form (random, version 4), never repeated across
  a ``fork()``.

(The HTTP server's ``Date`` header is cached the same way, in ``server.py``.)
"""

from __future__ import annotations

import json
import os
import random
from datetime import UTC, date, datetime
from time import time, time_ns
from typing import Any

__all__ = ["json_text", "local_today", "new_correlation_id", "utc_now_iso"]


# ---------------------------------------------------------------- json.dumps

try:  # the encoder json.dumps builds anew on every call (its set-up costs more than the encoding), made once
    _encoder = json.encoder.c_make_encoder(None, json.JSONEncoder().default, json.encoder.encode_basestring_ascii,
                                           None, ": ", ", ", False, False, True)
except (AttributeError, TypeError):  # no C accelerator, or another signature: json.dumps it is
    _encoder = None


def json_text(value: Any) -> str:
    """``json.dumps(value)``, the same text. The one encoder has no check for circular references (json.dumps
    makes a fresh one per call): anything it refuses, json.dumps does again and says why."""
    if _encoder is not None:
        try:
            return "".join(_encoder(value, 0))
        except (TypeError, ValueError, RecursionError):
            pass
    return json.dumps(value)


# ---------------------------------------------------------------- clocks

_utc_second: tuple[int, str] = (0, "")


def utc_now_iso() -> str:
    """``datetime.now(UTC).isoformat(timespec="microseconds")``, the journal's time format, with the date
    and time of day formatted once a second rather than on every call."""
    global _utc_second
    ns = time_ns()
    second = ns // 1_000_000_000
    cached = _utc_second  # one read: another thread may replace it meanwhile
    if cached[0] != second:
        cached = _utc_second = (second, datetime.fromtimestamp(second, UTC).isoformat()[:19])
    return f"{cached[1]}.{ns // 1000 % 1_000_000:06d}+00:00"


_local_second: tuple[int, date] = (-1, date.min)


def local_today() -> date:
    """``date.today()``, asked of the clock once a second (a local day always begins on a whole second)."""
    global _local_second
    second = int(time())
    cached = _local_second  # one read: another thread may replace it meanwhile
    if cached[0] != second:
        cached = _local_second = (second, date.fromtimestamp(second))
    return cached[1]


# ---------------------------------------------------------------- uuid.uuid4

# Correlation ids must be unique, not secret (a consumer may choose its own): they come from a generator
# seeded from os.urandom rather than from a system call each, as uuid.uuid4() makes them. A private one, so
# that a random.seed() elsewhere cannot make ids repeat, reseeded in a forked child for the same reason.
_ids = random.Random()
os.register_at_fork(after_in_child=_ids.seed)
_V4 = 0x4000 << 64 | 0x8000 << 48  # the version (4) and RFC 4122 variant bits of a random UUID
_V4_MASK = ~(0xF000 << 64 | 0xC000 << 48)


def new_correlation_id() -> str:
    """A random (version 4) UUID in ``str(uuid.uuid4())``'s form."""
    h = f"{_ids.getrandbits(128) & _V4_MASK | _V4:032x}"
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"

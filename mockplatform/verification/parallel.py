"""A large journal's exchanges prepared for judging in worker processes, handed back in the journal's order.

Judging has two halves (``rules.Profile.stream``): ``prepare`` reads each exchange, parses it and applies the
request rules, each exchange on its own; ``stream_prepared`` puts the prepared views in time order and feeds
the journal rules and the test cases, which keep state across exchanges. The first half is most of the work,
and it can be split: here worker processes each prepare a range of exchange ids (``CHUNK`` at a time, read by
their own read-only connection) with the same ``prepare`` of the same profile, built the same way (the caller's
``setup``: ``verify``'s ``engine.judging``), and this process takes the results back range by range, in id
order: what ``stream_prepared`` gets is what ``prepare`` gives in one process, in the same order, so the
verdicts are the same (``tests/test_verification.py`` judges journals both ways). Only slim views (no trees, no
bodies) and their findings cross between the processes. Rules keep no state between requests, so a request
rule judges alike in any process; the journal rules and the test cases all run here.

Memory stays flat: at most ``AHEAD`` ranges per worker are handed out beyond the one being taken back, so a
slower consumer holds the workers back instead of piling up their results. A journal of fewer than
``PARALLEL_FROM`` exchange ids, or a machine with one core, is judged in one process: starting the workers would
cost more than it saves.
"""

from __future__ import annotations

import contextlib
import copyreg
import gc
import io
import multiprocessing
import os
import pickle
import threading
from collections import Counter, deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

from ..findings import Finding
from ..journal import Exchange, Journal
from ..rules import Profile, RequestView, RuleContext

try:
    import resource
except ImportError:  # not on Windows: no peak memory to tell
    resource = None

PARALLEL_FROM = 50_000  # exchange ids in the journal from which workers prepare them
CHUNK = 2_000  # exchange ids per range a worker prepares
AHEAD = 2  # ranges handed out per worker beyond the one being taken back
GC_THRESHOLD = 50_000  # allocations between collections of the youngest generation, while judging (see below)

Prepared = Iterator[tuple[RequestView, list[Finding]]]


@dataclass
class Run:
    """How the last ``prepared`` went (for the benchmark): the workers used (0: this process alone), how they were
    started and the largest peak memory of any of them."""

    workers: int = 0
    method: str = ""
    worker_peak_mb: float = 0.0


last_run = Run()


def worker_count(ids: int) -> int:
    """How many workers prepare a journal of this many exchange ids: one per core, or none."""
    cores = os.cpu_count() or 1
    return cores if ids >= PARALLEL_FROM and cores > 1 else 0


def prepared(journal: Journal, since: str | None, until: str | None, profile: Profile, ctx: RuleContext,
             checked: Counter[str], setup: Callable[[], tuple[Profile, RuleContext]],
             workers: int | None = None) -> Prepared:
    """The judged exchanges of the journal (``since``/``until``), prepared (``Profile.prepare``) in the journal's
    order: by worker processes for a large journal, else here. ``checked`` counts the request rules applied
    (when workers prepare, as each range is taken back). ``setup``: how a worker makes the profile and context,
    as the caller made ``profile`` and ``ctx`` (a module-level function, or a partial of one: it is pickled for a
    worker started afresh). ``workers``: how many (None: ``worker_count``)."""
    global last_run
    last_run = Run()
    low, high = journal.id_range()
    if workers is None:
        workers = worker_count(high - low + 1)
    if not workers or high < low:
        return profile.prepare(journal.iter_exchanges(since=since, until=until, unread=profile.unread), ctx, checked,
                               owned=True)
    return _pooled((setup, journal.database.location, since, until), range(low - 1, high, CHUNK), high, workers,
                   checked)


def _pooled(setup: tuple, starts: range, high: int, workers: int, checked: Counter[str]) -> Prepared:
    run = last_run
    run.workers = workers
    # fork starts a worker at once and shares what is loaded; a process with other threads (a server, a test
    # beside one) must not fork: its workers start afresh.
    method = "fork" if threading.active_count() == 1 and "fork" in multiprocessing.get_all_start_methods() \
        else "spawn"
    run.method = method
    with multiprocessing.get_context(method).Pool(workers, initializer=_start, initargs=setup) as pool:
        ranges = iter(starts)
        pending: deque[Any] = deque()

        def hand_out() -> None:
            after = next(ranges, None)
            if after is not None:
                pending.append(pool.apply_async(_prepare_range, (after, min(after + CHUNK, high))))

        for _ in range(workers * (AHEAD + 1)):
            hand_out()
        while pending:
            data = pending.popleft().get()
            hand_out()
            items, counts, peak_mb = pickle.loads(data)
            checked.update(counts)
            run.worker_peak_mb = max(run.worker_peak_mb, peak_mb)
            yield from items


@contextlib.contextmanager
def fewer_collections() -> Iterator[None]:
    """Judging makes many short-lived objects and holds a window of views (the reorder window, the ranges taken
    back): at Python's default of a collection of the youngest generation every 700 allocations, the cyclic
    garbage collector went over each held view again and again, a tenth to a fifth of the judging's time. The
    views and the rules' state make no reference cycles to speak of (reference counting frees them), so it runs
    every GC_THRESHOLD allocations while judging; the threshold is set back after."""
    before = gc.get_threshold()
    gc.set_threshold(max(before[0], GC_THRESHOLD), *before[1:])
    try:
        yield
    finally:
        gc.set_threshold(*before)


# -- in a worker ------------------------------------------------------------------------------------------------

_worker: dict[str, Any] = {}
_EXCHANGE_FIELDS = tuple(f.name for f in fields(Exchange))


def _exchange_parts(exchange: Exchange) -> tuple[type[Exchange], tuple]:
    # Exchange has slots: pickle's own way (dataclass's __getstate__, one setattr per field back) costs several
    # times the constructor.
    return Exchange, tuple([getattr(exchange, name) for name in _EXCHANGE_FIELDS])


class _Pickler(pickle.Pickler):
    dispatch_table = copyreg.dispatch_table.copy()
    dispatch_table[Exchange] = _exchange_parts


def _dumps(value: object) -> bytes:
    out = io.BytesIO()
    _Pickler(out, protocol=pickle.HIGHEST_PROTOCOL).dump(value)
    return out.getvalue()


def _start(setup: Callable[[], tuple[Profile, RuleContext]], path: Path | str, since: str | None,
           until: str | None) -> None:
    gc.set_threshold(max(gc.get_threshold()[0], GC_THRESHOLD), *gc.get_threshold()[1:])
    profile, ctx = setup()
    _worker.update(profile=profile, ctx=ctx, since=since, until=until, journal=Journal(path, read_only=True))


def _prepare_range(after: int, through: int) -> bytes:
    """The exchanges with ids in (after, through], prepared: (items, request rules' counts, this worker's peak
    memory in MB), pickled."""
    profile: Profile = _worker["profile"]
    checked: Counter[str] = Counter()
    exchanges = _worker["journal"].iter_exchanges(since=_worker["since"], until=_worker["until"], after_id=after,
                                                   through_id=through, unread=profile.unread)
    items = list(profile.prepare(exchanges, _worker["ctx"], checked, owned=True))
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 if resource is not None else 0.0
    return _dumps((items, checked, peak_mb))


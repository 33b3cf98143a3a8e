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

Memory stays flat: each worker sends its ranges back on its own pipe, and holds at most ``AHEAD`` prepared ranges
that have not been read, so a slower consumer holds the workers back instead of piling up their results. The pipes
are read in turn, without a pool's threads, copies and task messages in this process, which also judges. A worker
that dies ends the run with an error instead of a wait. A journal of fewer than ``PARALLEL_FROM`` exchange ids, or
a machine with one core, is judged in one process: starting the workers would cost more than it saves.
"""

from __future__ import annotations

import contextlib
import copyreg
import gc
import io
import multiprocessing
import operator
import os
import pickle
import queue
import threading
import traceback
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

from ..errors import MockplatformError
from ..findings import Finding
from ..journal import Exchange, Journal, JournalError
from ..rules import Profile, RequestView, RuleContext

try:
    import resource
except ImportError:  # not on Windows: no peak memory to tell
    resource = None

AHEAD = 2  # prepared ranges a worker holds while the judging process has not read them
PARALLEL_FROM = 50_000  # exchange ids in the journal from which workers prepare them
CHUNK = 2_000  # exchange ids per range a worker prepares
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
    ranges = [(after, min(after + CHUNK, high)) for after in range(low - 1, high, CHUNK)]
    return _pooled((setup, journal.database.location, since, until), ranges, workers, checked)


def _pooled(setup: tuple, ranges: list[tuple[int, int]], workers: int, checked: Counter[str]) -> Prepared:
    run = last_run
    run.workers = workers
    # fork starts a worker at once and shares what is loaded; a process with other threads (a server, a test
    # beside one) must not fork: its workers start afresh.
    method = "fork" if threading.active_count() == 1 and "fork" in multiprocessing.get_all_start_methods() \
        else "spawn"
    run.method = method
    context = multiprocessing.get_context(method)
    channels, processes = [], []
    try:
        # Worker k prepares ranges k, k + workers, ... and sends each back on its own pipe as it is done, so they
        # are taken back in the journal's order by reading the pipes in turn. A worker with AHEAD ranges not yet
        # read waits: a slower consumer holds the workers back instead of piling up their results.
        for k in range(workers):
            receive, send = context.Pipe(duplex=False)
            # A forked worker inherits this process's ends of the pipes (its own and the earlier workers'): it
            # closes them (``_serve``), or its sends would never fail once this process is gone.
            _ours[:] = [*channels, receive] if method == "fork" else []
            process = context.Process(target=_serve, args=(send, setup, ranges[k::workers]), daemon=True,
                                      name=f"mockplatform-verify-{k + 1}")
            process.start()
            _ours.clear()
            send.close()  # the worker's end only: a worker that dies is read as the end of its pipe
            channels.append(receive)
            processes.append(process)
        for index in range(len(ranges)):
            k = index % workers
            try:
                data = channels[k].recv_bytes()
            except (EOFError, OSError):  # gone between messages, or in the middle of one
                processes[k].join(5)
                raise JournalError(f"the journal could not be judged: a worker process preparing it stopped (exit "
                                   f"code {processes[k].exitcode}) before it was done; judge it again, or in one "
                                   "process (it takes longer) if it stops again") from None
            kind, *rest = pickle.loads(data)
            if kind == "error":
                raise rest[0]
            items, counts, peak_mb = rest
            checked.update(counts)
            run.worker_peak_mb = max(run.worker_peak_mb, peak_mb)
            yield from items
    finally:
        for channel in channels:
            channel.close()
        for process in processes:
            if process.is_alive():
                process.terminate()
            process.join()


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


_exchange_values = operator.attrgetter(*_EXCHANGE_FIELDS)  # every field, in the constructor's order, in one call


def _exchange_parts(exchange: Exchange) -> tuple[type[Exchange], tuple]:
    # Exchange has slots: pickle's own way (dataclass's __getstate__, one setattr per field back) costs several
    # times the constructor.
    return Exchange, _exchange_values(exchange)


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


_ours: list[Any] = []  # the judging process's ends of the pipes, while a worker is forked (see ``_pooled``)


def _serve(channel: Any, setup: tuple, ranges: list[tuple[int, int]]) -> None:
    """A worker: prepare each of its ranges of exchange ids (``_prepare_range``) and send them back in order, at
    most ``AHEAD`` of them waiting to be read; what goes wrong is sent back too, for the judging process to raise."""
    for end in _ours:
        end.close()
    _ours.clear()
    done: queue.Queue[bytes | None] = queue.Queue(AHEAD)
    sender = threading.Thread(target=_send, args=(channel, done), daemon=True)
    sender.start()
    try:
        _start(*setup)
        for after, through in ranges:
            if not _hand(done, sender, _prepare_range(after, through)):
                return  # the judging process stopped reading (it is done, or gone)
    except BaseException as exc:  # noqa: BLE001 - told to the judging process, which raises it
        try:
            data = _dumps(("error", exc))
        except Exception:  # an exception that does not pickle: its text
            data = _dumps(("error", MockplatformError(
                f"a worker process preparing the journal failed: {traceback.format_exc()}")))
        _hand(done, sender, data)
    finally:
        _hand(done, sender, None)
        sender.join(1)


def _hand(done: queue.Queue[bytes | None], sender: threading.Thread, data: bytes | None) -> bool:
    """Give the sender something to send, once it has room; False when it has stopped (the judging process is
    gone, or stopped reading) and nothing more will be sent."""
    while sender.is_alive():
        with contextlib.suppress(queue.Full):
            done.put(data, timeout=0.5)
            return True
    return False


def _send(channel: Any, done: queue.Queue[bytes | None]) -> None:
    """A worker's sender: the prepared ranges onto the pipe as they are read, while the next are prepared."""
    try:
        while (data := done.get()) is not None:
            channel.send_bytes(data)
    except OSError:  # the judging process stopped reading
        pass
    finally:
        channel.close()


def _prepare_range(after: int, through: int) -> bytes:
    """The exchanges with ids in (after, through], prepared: ("items", items, request rules' counts, this worker's peak
    memory in MB), pickled."""
    profile: Profile = _worker["profile"]
    checked: Counter[str] = Counter()
    exchanges = _worker["journal"].iter_exchanges(since=_worker["since"], until=_worker["until"], after_id=after,
                                                   through_id=through, unread=profile.unread)
    items = list(profile.prepare(exchanges, _worker["ctx"], checked, owned=True))
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 if resource is not None else 0.0
    return _dumps(("items", items, checked, peak_mb))


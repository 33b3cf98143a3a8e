"""CPU cost of one SOAP call inside the process: ``Application.handle`` with no HTTP around it.

Times the two hot calls, IsActiveUser (IA) and AddMessageToPatientPortalInbox (AM, notify on and a
message thread id, so each call after the first joins a main case), through the whole pipeline:
TAK routing, schema validation, the fake inbox and the journal commit. The rounds of the two calls
are interleaved and the median is printed with the spread (this VM drifts in speed), in µs per call:
wall-clock time, and the CPU time of the process (which another process on the machine disturbs less;
it includes the journal's checkpoint thread).

    python benchmarks/pipeline_bench.py [--calls 3000] [--rounds 5] [--group 8] [--profile AM]

To compare two versions, run them alternately several times each: one run's figures move by some 10%
here. ``--profile`` prints a cProfile afterwards; it inflates Python code against C (lxml, SQLite).
"""

from __future__ import annotations

import argparse
import cProfile
import functools
import pstats
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from mockplatform import Application, Config  # noqa: E402
from mockplatform.http_routes import handle as route  # noqa: E402
from mockplatform.messages import Request  # noqa: E402
from tests.soap import add_message, is_active_user  # noqa: E402

CALLS = {
    "IA": is_active_user(),
    "AM": add_message(notify=True, thread_id="bench"),
}


def request(body: bytes) -> Request:
    return Request(method="POST", path="/vp", headers=[("Content-Type", "text/xml; charset=UTF-8"), ("Host", "x")],
                   body=body, client="127.0.0.1:5000")


def per_call_us(app: Application, req: Request, calls: int, group: int = 1) -> tuple[float, float]:
    """(wall-clock, process CPU) µs per call; ``group`` > 1: that many calls per commit, as the HTTP
    server's event loop commits them under load (``Journal.holding``)."""
    handle, journal = functools.partial(route, app), app.journal
    started, cpu = time.perf_counter(), time.process_time()
    if group <= 1:
        for _ in range(calls):
            handle(req)
    else:
        for _ in range(calls // group):
            held: list = []
            with journal.holding(held):
                for _ in range(group):
                    handle(req)
            journal.commit(held)
    return (time.perf_counter() - started) / calls * 1e6, (time.process_time() - cpu) / calls * 1e6


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=3000, help="calls per round (default 3000)")
    parser.add_argument("--rounds", type=int, default=5, help="interleaved rounds per call (default 5)")
    parser.add_argument("--warmup", type=int, default=500, help="untimed calls first (default 500)")
    parser.add_argument("--group", type=int, default=1,
                        help="calls per journal commit (default 1; the server commits some 8 at a time under load)")
    parser.add_argument("--journal", type=Path, help="journal file (default: a fresh one in a temporary directory)")
    parser.add_argument("--profile", choices=sorted(CALLS), help="afterwards, print a cProfile of this call")
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory() as tmp:
        app = Application(Config(journal=args.journal or Path(tmp) / "journal.sqlite"))
        try:
            requests = {name: request(body) for name, body in CALLS.items()}
            for req in requests.values():
                per_call_us(app, req, args.warmup, args.group)
            times: dict[str, list[tuple[float, float]]] = {name: [] for name in requests}
            for _ in range(args.rounds):
                for name, req in requests.items():
                    times[name].append(per_call_us(app, req, args.calls, args.group))
            print(f"µs per call, median of {args.rounds} rounds of {args.calls} calls, "
                  f"{args.group} per commit (min-max)")
            for name, pairs in times.items():
                wall, cpu = [p[0] for p in pairs], [p[1] for p in pairs]
                print(f"{name} wall {statistics.median(wall):4.0f} ({min(wall):.0f}-{max(wall):.0f})  "
                      f"cpu {statistics.median(cpu):4.0f} ({min(cpu):.0f}-{max(cpu):.0f})  "
                      f"body {len(CALLS[name])} bytes")
            if args.profile:
                profiler = cProfile.Profile()
                profiler.runcall(per_call_us, app, requests[args.profile], args.calls, args.group)
                pstats.Stats(profiler).sort_stats("tottime").print_stats(30)
        finally:
            app.close()


if __name__ == "__main__":
    main()

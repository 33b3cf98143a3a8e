"""The performance report: one command, one Markdown file (default docs/performance.md).

    python benchmarks/report.py [--out docs/performance.md] [--seconds 5] [--exchanges 100000]

Measures, each against a baseline run in the same go:
- routed + validated + journaled throughput and p50/p99 latency against a bare server on the same
  HTTP stack (ratio), saturated and at a paced load; time until each server answers; server memory;
- schema validation per request: lxml's compiled schema (the hot path) against xmlschema (ratio);
- judging a 100 000-exchange journal against reading and parsing it (ratio), and its peak memory;
- one instance on SQLite, one on PostgreSQL and two on one PostgreSQL database under the same load (ratio to
  SQLite; benchmarks/shared_database.py; the PostgreSQL rows skipped without PostgreSQL);
- where the time of one call goes in-process (cProfile, top functions by own time).
"""

from __future__ import annotations

import argparse
import cProfile
import io
import os
import platform as pyplatform
import pstats
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

import platform_bench  # noqa: E402
import shared_database  # noqa: E402
import verify_bench  # noqa: E402

from mockplatform import (  # noqa: E402
    Application,
    Config,
    Request,
    __version__,  # noqa: E402
)
from mockplatform.domains.inbox1177.names import ADD_MESSAGE_NS  # noqa: E402
from mockplatform.envelope import read_envelope  # noqa: E402
from mockplatform.http_routes import handle as route  # noqa: E402
from tests.soap import add_message  # noqa: E402


def validation(rounds: int = 2000) -> dict:
    """Per-request validation of a valid AddMessage: lxml's compiled schema against xmlschema."""
    with tempfile.TemporaryDirectory() as tmp:
        app = Application(Config(journal=Path(tmp) / "j.sqlite"))
        validator = app.contracts.get(ADD_MESSAGE_NS).validator
        payload = read_envelope(add_message(notify=True, thread_id="t")).payload
        schema = validator._rich_schema()
        t0 = time.perf_counter()
        for _ in range(rounds):
            assert validator.is_valid(payload)
        fast = (time.perf_counter() - t0) / rounds
        t0 = time.perf_counter()
        for _ in range(max(rounds // 10, 50)):
            assert schema.is_valid(payload)
        rich = (time.perf_counter() - t0) / max(rounds // 10, 50)
        app.close()
    return {"lxml_us": fast * 1e6, "xmlschema_us": rich * 1e6}


def profile(calls: int = 3000) -> str:
    """Where one routed, validated and journaled AddMessage spends its time, without HTTP."""
    with tempfile.TemporaryDirectory() as tmp:
        app = Application(Config(journal=Path(tmp) / "j.sqlite"))
        body = add_message(notify=True, thread_id="p")
        request = Request("POST", "/vp", [("Content-Type", "text/xml")], body, client="127.0.0.1:1")
        for _ in range(200):
            route(app, request)
        t0 = time.perf_counter()
        for _ in range(calls):
            route(app, request)
        per_call = (time.perf_counter() - t0) / calls
        profiler = cProfile.Profile()
        profiler.enable()
        for _ in range(calls):
            route(app, request)
        profiler.disable()
        app.close()
    out = io.StringIO()
    pstats.Stats(profiler, stream=out).sort_stats("tottime").print_stats(12)
    lines = [ln for ln in out.getvalue().splitlines() if ln.strip()]
    start = next(i for i, ln in enumerate(lines) if ln.strip().startswith("ncalls"))
    body = "\n".join(ln.replace(str(ROOT) + "/", "") for ln in lines[start:])
    return (f"One AddMessage in-process (no HTTP, each call committed alone; the server commits the calls "
            f"of one turn of its event loop together): {per_call * 1e6:.0f} µs.\n\n```\n{body}\n```")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "performance.md")
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--rate", type=float, default=500.0)
    parser.add_argument("--exchanges", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()

    machine = (f"{os.cpu_count()} cores ({pyplatform.processor() or pyplatform.machine()}), "
               f"{os.sysconf('SC_PAGE_SIZE') * os.sysconf('SC_PHYS_PAGES') / 2**30:.0f} GiB, "
               f"{pyplatform.system()} {pyplatform.release()}, Python {pyplatform.python_version()}")
    print("platform throughput ...", flush=True)
    http = platform_bench.run(args.seconds, args.clients, args.rate, args.rounds)
    print("platform throughput with 4 clients ...", flush=True)
    few = platform_bench.run(min(args.seconds, 3.0), 4, args.rate, args.rounds)
    print("several instances on one PostgreSQL database ...", flush=True)
    shared = shared_database.run(args.seconds, args.clients, args.rounds)
    print("validation ...", flush=True)
    val = validation()
    print("verification ...", flush=True)
    ver = verify_bench.measure(args.exchanges)
    print("profile ...", flush=True)
    prof = profile()

    bare = http["bare IsActiveUser"]
    lines = [
        "# Performance report",
        "",
        f"mockplatform {__version__}, measured {datetime.now(UTC):%Y-%m-%d %H:%M} UTC on {machine}.",
        "Made by `python benchmarks/report.py` (`tox -e bench`); every ratio is against a baseline "
        "measured in the same run.",
        "",
        "## The platform over HTTP",
        f"{args.clients} concurrent keep-alive clients (two client processes on the same machine), "
        f"{args.seconds:g} s per run, {args.rounds} rounds interleaved (the figures are medians; each round's "
        "ratio is against that round's bare run, because this kind of machine drifts in speed). "
        "*Bare* is the same HTTP server answering a canned response; "
        "*platform* routes through TAK, validates against the schema, runs the fake inbox and commits "
        "the exchange to the SQLite journal before it answers. The paced columns: the same clients "
        f"sending {args.rate:g} requests/s in all (latency counted from when each request was due).",
        "",
        *platform_bench.table(http),
        "",
        "The same with 4 clients instead of 16:",
        "",
        *platform_bench.table(few),
        "",
        "Server memory after the runs (RSS): "
        + ", ".join(f"{k} {v['rss_mb']:.0f} MB" for k, v in http.items() if v.get("rss_mb")) + ".",
        "",
        *shared_database.section(shared),
        "## Schema validation per request",
        f"A valid AddMessage: lxml's compiled schema {val['lxml_us']:.0f} µs, xmlschema "
        f"{val['xmlschema_us']:.0f} µs (ratio {val['xmlschema_us'] / val['lxml_us']:.0f}x). xmlschema is "
        "asked only when lxml says invalid, to name every violation.",
        "",
        "## Judging a journal",
        f"{ver['exchanges']} exchanges (IsActiveUser, plain, DocBook, SSO, threaded and rule-breaking "
        "AddMessage):",
        "",
        "| step | seconds | exchanges/s | ratio to baseline |",
        "|---|---:|---:|---:|",
        *[f"| {name} | {sec:.1f} | {ver['exchanges'] / sec:.0f} | {sec / ver['baseline_s']:.1f} |"
          for name, sec in (("baseline: read and parse every request", ver["baseline_s"]),
                            ("verify: rules, cases, protocol model", ver["verify_s"]),
                            ("write the five protocol files", ver["write_s"]))],
        "",
        f"verify: {ver['verify_s'] / ver['exchanges'] * 1e6:.0f} µs per exchange, "
        + (f"the exchanges prepared by {ver['workers']} worker processes (`verification.parallel`)"
           if ver["workers"] else "in one process")
        + f". Peak memory of the judging process: {ver['peak_mb']:.0f} MB"
        + (f"; of each worker at most {ver['worker_peak_mb']:.0f} MB." if ver["workers"] else "."),
        "",
        "## Where the time goes",
        prof,
        "",
        f"Time to answer after start: bare {bare['ready_s']:.2f} s, platform "
        f"{http['platform IsActiveUser']['ready_s']:.2f} s (process start, imports, schemas, TAK, journal).",
        "",
    ]
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text("\n".join(lines), encoding="utf-8")
    print("\n".join(lines))
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

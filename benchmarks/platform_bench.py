"""Throughput and latency of the platform against a bare server on the same HTTP stack.

Runs, in one go: a bare server (the same PlatformHTTPServer, answering a canned response) and the
real platform (routed through TAK, validated against the schema, journaled to SQLite), each in its
own process, loaded by 16 concurrent keep-alive clients from two client processes. Prints
throughput, p50 and p99 latency, the ratio platform/bare, and the time until the platform is ready.

    python benchmarks/platform_bench.py [--seconds 5] [--clients 16]
"""

from __future__ import annotations

import argparse
import http.client
import json
import multiprocessing as mp
import os
import platform as pyplatform
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.soap import add_message, is_active_user  # noqa: E402

CANNED = (b'<?xml version="1.0" encoding="UTF-8"?><soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/'
          b'envelope/"><soapenv:Body><IsActiveUserResponse xmlns="urn:riv:infrastructure:eservicesupply:patientportal:'
          b'IsActiveUserResponder:1"><status>true</status></IsActiveUserResponse></soapenv:Body></soapenv:Envelope>')


# -- the servers (run in a child process) -------------------------------------------------------------

def serve(mode: str, journal: str) -> None:
    from mockplatform import Application, Config, Response, Settings
    from mockplatform.server import PlatformHTTPServer

    if mode == "bare":
        class Bare:
            settings = Settings()

            def handle(self, request):
                return Response(200, [("Content-Type", "text/xml; charset=UTF-8")], CANNED)

        app = Bare()
    else:
        app = Application(Config(journal=Path(journal)))
        if os.environ.get("BENCH_NOJOURNAL"):
            app.journal.record = lambda *a, **k: 0
    server = PlatformHTTPServer(app, "127.0.0.1", 0)
    if os.environ.get("BENCH_SWITCH"):
        sys.setswitchinterval(float(os.environ["BENCH_SWITCH"]))
    print(server.server_address[1], flush=True)
    server.serve_forever()


# -- the load (run in client processes) -----------------------------------------------------------------

def _client(port: int, body: bytes, seconds: float, out: list) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    headers = {"Content-Type": "text/xml; charset=UTF-8"}
    latencies = []
    errors = 0
    deadline = time.perf_counter() + seconds
    while True:
        t0 = time.perf_counter()
        if t0 > deadline:
            break
        conn.request("POST", "/vp", body, headers)
        response = conn.getresponse()
        response.read()
        latencies.append(time.perf_counter() - t0)
        if response.status != 200:
            errors += 1
    conn.close()
    out.append((latencies, errors))


def _load_process(port: int, body: bytes, threads: int, seconds: float, queue) -> None:
    out: list = []
    workers = [threading.Thread(target=_client, args=(port, body, seconds, out)) for _ in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    latencies = [x for lat, _ in out for x in lat]
    queue.put((latencies, sum(e for _, e in out)))


def load(port: int, body: bytes, clients: int, seconds: float, processes: int = 2) -> dict:
    queue = mp.Queue()
    per = [clients // processes + (1 if i < clients % processes else 0) for i in range(processes)]
    procs = [mp.Process(target=_load_process, args=(port, body, n, seconds, queue)) for n in per if n]
    start = time.perf_counter()
    for p in procs:
        p.start()
    results = [queue.get() for _ in procs]
    for p in procs:
        p.join()
    elapsed = time.perf_counter() - start
    latencies = sorted(x for lat, _ in results for x in lat)
    errors = sum(e for _, e in results)
    return {
        "requests": len(latencies),
        "errors": errors,
        "throughput": len(latencies) / seconds,
        "p50_ms": statistics.median(latencies) * 1000,
        "p99_ms": latencies[int(len(latencies) * 0.99) - 1] * 1000,
        "elapsed_s": elapsed,
    }


def start_server(mode: str, journal: str) -> tuple[subprocess.Popen, int, float]:
    t0 = time.perf_counter()
    proc = subprocess.Popen([sys.executable, __file__, "--serve", mode, "--journal", journal],
                            stdout=subprocess.PIPE, text=True, cwd=str(ROOT))
    port = int(proc.stdout.readline())
    while True:  # ready = answers /status (platform) or any request (bare)
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            conn.request("GET", "/status")
            conn.getresponse().read()
            break
        except OSError:
            time.sleep(0.005)
    return proc, port, time.perf_counter() - t0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--json", action="store_true", help="print the figures as JSON too")
    parser.add_argument("--serve", help=argparse.SUPPRESS)
    parser.add_argument("--journal", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(args.serve, args.journal)
        return 0

    print(f"machine: {os.cpu_count()} cores, Python {pyplatform.python_version()}, {pyplatform.machine()}; "
          f"{args.clients} concurrent keep-alive clients, {args.seconds:.0f} s per run")
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        cases = [("bare", "IsActiveUser", is_active_user()),
                 ("platform", "IsActiveUser", is_active_user()),
                 ("platform", "AddMessage", add_message(notify=True, thread_id="bench"))]
        for mode, name, body in cases:
            journal = str(Path(tmp) / f"{mode}-{name}.sqlite")
            proc, port, ready_s = start_server(mode, journal)
            try:
                load(port, body, args.clients, 1.0)  # warm-up
                figures = load(port, body, args.clients, args.seconds)
            finally:
                proc.terminate()
                proc.wait()
            figures["ready_s"] = ready_s
            results[f"{mode} {name}"] = figures
    bare = results["bare IsActiveUser"]["throughput"]
    print(f"{'run':28} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8} {'ratio':>6} {'errors':>6} {'ready s':>8}")
    for key, r in results.items():
        print(f"{key:28} {r['throughput']:8.0f} {r['p50_ms']:8.2f} {r['p99_ms']:8.2f} "
              f"{r['throughput'] / bare:6.2f} {r['errors']:6d} {r['ready_s']:8.2f}")
    if args.json:
        print(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())

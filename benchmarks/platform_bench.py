"""Throughput and latency of the platform against a bare server on the same HTTP stack.

Runs, in one go: a bare server (the same PlatformHTTPServer, answering a canned response) and the
real platform (routed through TAK, validated against the schema, journaled to SQLite), each in its
own process, loaded by 16 concurrent keep-alive clients from two client processes: first as fast as
they can (saturation: throughput, p50/p99, the ratio platform/bare, the server's CPU time per call),
then paced at a fixed total rate (latency as a consumer under ordinary load sees it). Also the time
until each server answers. The clients share the machine with the server, so a bare server this
fast is held back by its clients, not by itself: its CPU per call shows how much it has to spare.

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
from collections.abc import Sequence
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
    from mockplatform.server.listener import Routes

    if mode == "bare":
        class Bare:
            settings = Settings()
            journal = None  # nothing to commit: answered at once

            def needs_worker(self, request):
                return False  # a canned answer never waits: answered on the event loop, like a platform call

            def handle(self, request):
                return Response(200, [("Content-Type", "text/xml; charset=UTF-8")], CANNED)

        app = Bare()
        routes = Routes(app.handle, app.needs_worker)  # the same server, without the platform's route table
    else:
        routes = None
        app = Application(Config(journal=Path(journal)))
        if os.environ.get("BENCH_NOJOURNAL"):
            app.journal.record = lambda *a, **k: 0
    server = PlatformHTTPServer(app, "127.0.0.1", 0, routes=routes)
    if os.environ.get("BENCH_SWITCH"):
        sys.setswitchinterval(float(os.environ["BENCH_SWITCH"]))
    print(server.server_address[1], flush=True)
    server.serve_forever()


# -- the load (run in client processes) -----------------------------------------------------------------

def _client(port: int, body: bytes, seconds: float, out: list, interval: float = 0.0) -> None:
    """One keep-alive client: as fast as it can (interval 0), or one request every ``interval`` seconds,
    its latency counted from when it was due (so a slow answer also delays the next: no coordinated omission)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    headers = {"Content-Type": "text/xml; charset=UTF-8"}
    latencies = []
    errors = 0
    start = time.perf_counter()
    deadline = start + seconds
    due = start + (interval * (hash(threading.current_thread().name) % 1000) / 1000 if interval else 0)
    while True:
        if interval:
            due += interval
            pause = due - time.perf_counter()
            if pause > 0:
                time.sleep(pause)
        t0 = due if interval else time.perf_counter()
        if time.perf_counter() > deadline:
            break
        try:
            conn.request("POST", "/vp", body, headers)
            response = conn.getresponse()
            response.read()
            status = response.status
        except (OSError, http.client.HTTPException):  # no answer (a server down): an error, not a lost client
            conn.close()  # the next request opens a new connection
            status = None
            time.sleep(0.01)
        latencies.append(time.perf_counter() - t0)
        if status != 200:
            errors += 1
    conn.close()
    out.append((latencies, errors))


def _load_process(ports: list[int], body: bytes, threads: int, seconds: float, queue, interval: float = 0.0,
                  first: int = 0) -> None:
    out: list = []
    workers = [threading.Thread(target=_client, args=(ports[(first + i) % len(ports)], body, seconds, out, interval))
               for i in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    latencies = [x for lat, _ in out for x in lat]
    queue.put((latencies, sum(e for _, e in out)))


def load(port: int | Sequence[int], body: bytes, clients: int, seconds: float, processes: int = 2,
         rate: float = 0.0) -> dict:
    """Closed-loop load (rate 0: every client as fast as it can) or paced load (``rate`` requests/s in all).
    Several ports: the clients spread over them round robin (client i to port i mod n), each keeping its own.
    ``errors``: calls answered other than 200, or not answered at all."""
    ports = [port] if isinstance(port, int) else list(port)
    queue = mp.Queue()
    per = [clients // processes + (1 if i < clients % processes else 0) for i in range(processes)]
    interval = clients / rate if rate else 0.0
    procs = [mp.Process(target=_load_process, args=(ports, body, n, seconds, queue, interval, sum(per[:i])))
             for i, n in enumerate(per) if n]
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
        "rate": rate,
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


def run(seconds: float = 5.0, clients: int = 16, paced_rate: float = 500.0, rounds: int = 3) -> dict:
    """Every case, ``rounds`` times interleaved (bare, platform, platform, bare, ...): saturation
    throughput and latency, then latency at a paced load. Figures are medians over the rounds; the
    ratio is taken within each round (against that round's bare run), so a machine whose speed drifts
    from minute to minute still gives a fair ratio, and its spread is reported."""
    cases = [("bare", "IsActiveUser", is_active_user()),
             ("platform", "IsActiveUser", is_active_user()),
             ("platform", "AddMessage", add_message(notify=True, thread_id="bench"))]
    runs: dict[str, list[dict]] = {f"{mode} {name}": [] for mode, name, _ in cases}
    with tempfile.TemporaryDirectory() as tmp:
        for round_no in range(rounds):
            for mode, name, body in cases:
                journal = str(Path(tmp) / f"{mode}-{name}-{round_no}.sqlite")
                proc, port, ready_s = start_server(mode, journal)
                try:
                    load(port, body, clients, 1.0)  # warm-up
                    cpu0 = _cpu_seconds(proc.pid)
                    figures = load(port, body, clients, seconds)
                    cpu1 = _cpu_seconds(proc.pid)
                    if cpu0 is not None and cpu1 is not None and figures["requests"]:
                        figures["server_cpu_us"] = (cpu1 - cpu0) / figures["requests"] * 1e6
                    figures["paced"] = load(port, body, clients, seconds, rate=paced_rate)
                    figures["rss_mb"] = _rss_mb(proc.pid)
                finally:
                    proc.terminate()
                    proc.wait()
                figures["ready_s"] = ready_s
                runs[f"{mode} {name}"].append(figures)
    bare = runs["bare IsActiveUser"]
    results = {}
    for key, figures in runs.items():
        ratios = [f["throughput"] / b["throughput"] for f, b in zip(figures, bare, strict=True)]
        def med(pick, figures=figures):
            return statistics.median(pick(f) for f in figures)

        results[key] = {
            "throughput": med(lambda f: f["throughput"]), "p50_ms": med(lambda f: f["p50_ms"]),
            "p99_ms": med(lambda f: f["p99_ms"]), "errors": sum(f["errors"] + f["paced"]["errors"] for f in figures),
            "ratio": statistics.median(ratios), "ratio_min": min(ratios), "ratio_max": max(ratios),
            "server_cpu_us": med(lambda f: f.get("server_cpu_us") or 0.0),
            "ready_s": max(f["ready_s"] for f in figures), "rss_mb": max(f["rss_mb"] or 0 for f in figures),
            "paced": {"rate": paced_rate, "p50_ms": med(lambda f: f["paced"]["p50_ms"]),
                      "p99_ms": med(lambda f: f["paced"]["p99_ms"])},
            "rounds": figures,
        }
    return results


def _cpu_seconds(pid: int) -> float | None:
    """CPU time (user + system) a process has used so far (Linux): the server's cost per call."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _rss_mb(pid: int) -> float | None:
    """Resident memory of a process (Linux), after the load."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return None


def table(results: dict) -> list[str]:
    paced = next(iter(results.values()))["paced"]["rate"]
    rounds = len(next(iter(results.values()))["rounds"])
    lines = [f"| run (median of {rounds} rounds) | req/s | p50 ms | p99 ms | ratio to bare (min-max) "
             f"| server CPU µs/call | p50 / p99 ms at {paced:.0f} req/s | errors | ready s (max) |",
             "|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for key, r in results.items():
        p = r["paced"]
        lines.append(f"| {key} | {r['throughput']:.0f} | {r['p50_ms']:.2f} | {r['p99_ms']:.2f} | "
                     f"{r['ratio']:.2f} ({r['ratio_min']:.2f}-{r['ratio_max']:.2f}) | {r['server_cpu_us']:.0f} | "
                     f"{p['p50_ms']:.2f} / {p['p99_ms']:.2f} | {r['errors']} | {r['ready_s']:.2f} |")
    return lines


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--rate", type=float, default=500.0, help="the paced load, requests/s in all")
    parser.add_argument("--rounds", type=int, default=3, help="interleaved repetitions (medians are shown)")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON too")
    parser.add_argument("--serve", help=argparse.SUPPRESS)
    parser.add_argument("--journal", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(args.serve, args.journal)
        return 0
    print(f"machine: {os.cpu_count()} cores, Python {pyplatform.python_version()}, {pyplatform.machine()}; "
          f"{args.clients} concurrent keep-alive clients, {args.seconds:g} s per run, {args.rounds} rounds")
    results = run(args.seconds, args.clients, args.rate, args.rounds)
    print("\n".join(table(results)))
    if args.json:
        print(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())

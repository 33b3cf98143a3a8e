"""One instance on SQLite, one on PostgreSQL, two on one PostgreSQL database: throughput and latency side by side.

The same load for every setup (``clients`` concurrent keep-alive clients sending the inbox's AddMessage as fast
as they can, from two client processes; platform_bench.load), after a warm-up, against real
``python -m mockplatform serve`` processes (tests/test_load.ServerProcess):

- 1 instance, SQLite: the default (``--journal``), the baseline every ratio is taken against;
- 1 instance, PostgreSQL: ``--database postgresql://...``;
- 2 instances, one PostgreSQL database: the clients spread over the two ports round robin;
- 2 instances behind haproxy: the same two with docs/deploy/haproxy.cfg in front (as tests/test_team_platform.py
  runs it), all clients to haproxy's port; left out without haproxy.

``rounds`` times interleaved (SQLite, PostgreSQL, two, haproxy, SQLite, ...), each on a fresh journal or database;
figures are medians, each round's ratio against that round's SQLite run. Errors are calls answered other than
200 or not answered at all; after each run the journal's rows are counted against the calls answered 200, so a
setup that answers fast without journaling shows.

PostgreSQL is a throwaway cluster started as the tests start theirs (tests/postgres.py: Debian's initdb and
pg_ctl, ``fsync=off``, as root run as the postgres user). Without PostgreSQL the PostgreSQL rows are skipped, with
the reason. Also measured: where one call's time goes in PostgreSQL (in-process, without HTTP: the statements it
sends and the time spent waiting for them, and one round trip to the server).

    python benchmarks/shared_database.py [--seconds 5] [--clients 16] [--rounds 3]
"""

from __future__ import annotations

import argparse
import contextlib
import os
import platform as pyplatform
import resource
import shutil
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

import platform_bench  # noqa: E402

# The tests' own helpers, imported rather than copied (like tests.soap in platform_bench): the throwaway
# PostgreSQL cluster, the server process as its users run it, and haproxy with the documented config.
from tests.postgres import (  # noqa: E402,I001
    PostgresCluster,
    PostgresStartError,
    cluster_folder,
    running_cluster,
    why_no_postgresql,
)
from tests.soap import add_message  # noqa: E402
from tests.test_load import ServerProcess  # noqa: E402
from tests.test_team_platform import ERRORFILE, Haproxy, find_haproxy, free_port, haproxy_config  # noqa: E402


@dataclass(frozen=True)
class Setup:
    name: str
    postgres: bool
    instances: int
    haproxy: bool = False


SQLITE = Setup("1 instance, SQLite (baseline)", postgres=False, instances=1)
SETUPS = [SQLITE,
          Setup("1 instance, PostgreSQL", postgres=True, instances=1),
          Setup("2 instances, one PostgreSQL database (clients round robin)", postgres=True, instances=2),
          Setup("2 instances behind haproxy (docs/deploy/haproxy.cfg)", postgres=True, instances=2, haproxy=True)]


def body() -> bytes:
    return add_message(notify=True, thread_id="bench")  # the AddMessage of platform_bench


# -- PostgreSQL ---------------------------------------------------------------------------------------------------

@contextlib.contextmanager
def postgresql() -> Iterator[PostgresCluster | str]:
    """A running throwaway cluster (tests/postgres.py), or why there is none; stopped and removed afterwards."""
    why = why_no_postgresql()
    if why:
        yield why
        return
    with contextlib.ExitStack() as stack:
        try:
            cluster = stack.enter_context(running_cluster(cluster_folder(prefix="mockplatform-bench-pg-")))
        except PostgresStartError as exc:
            yield f"the PostgreSQL cluster could not be started: {str(exc).splitlines()[0]}"
            return
        yield cluster


def _postgres_pids(cluster: PostgresCluster) -> list[int]:
    """The postmaster and its children (a backend per connection, and the background workers)."""
    try:
        postmaster = int((cluster.datadir / "postmaster.pid").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return []
    pids = [postmaster]
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError, ValueError, IndexError):
            if int(stat.read_text().rsplit(")", 1)[1].split()[1]) == postmaster:
                pids.append(int(stat.parent.name))
    return pids


def _cpu(pids: list[int]) -> dict[int, float]:
    return {pid: cpu for pid in pids if (cpu := platform_bench._cpu_seconds(pid)) is not None}


def _cpu_used(before: dict[int, float], after: dict[int, float]) -> float:
    """CPU seconds used between two readings (a process new since the first counts from 0)."""
    return sum(cpu - before.get(pid, 0.0) for pid, cpu in after.items())


def _children_cpu() -> float:
    """CPU seconds (user + system) of this process's children that have been waited for."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _machine_cpu() -> tuple[int, int]:
    """All cores' busy and total time so far (/proc/stat, in clock ticks)."""
    try:
        ticks = [int(x) for x in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    except (OSError, ValueError):
        return 0, 0
    idle = ticks[3] + (ticks[4] if len(ticks) > 4 else 0)  # idle and iowait
    total = sum(ticks[:8])  # guest time is counted in user already
    return total - idle, total


def _rows(setup: Setup, where: str | Path) -> tuple[int, int | None]:
    """The journal's exchanges, and (PostgreSQL) the transactions committed in its database so far: every
    statement sent outside BEGIN ... COMMIT is one, so is every write transaction. (Read once the instances have
    stopped: a backend reports its counts at the latest when it ends.)"""
    if setup.postgres:
        import psycopg

        with psycopg.connect(str(where), connect_timeout=10) as conn:
            rows = conn.execute("SELECT count(*) FROM exchanges").fetchone()[0]
            xacts = conn.execute("SELECT xact_commit FROM pg_stat_database WHERE datname = current_database()"
                                 ).fetchone()[0]
            return rows, xacts
    with contextlib.closing(sqlite3.connect(str(where))) as conn:
        return conn.execute("SELECT count(*) FROM exchanges").fetchone()[0], None


# -- one run ------------------------------------------------------------------------------------------------------

def measure(setup: Setup, folder: Path, cluster: PostgresCluster | None, seconds: float, clients: int,
            warmup: float = 1.0) -> dict:
    """Start the setup on a fresh journal/database, warm it up, load it ``seconds``; its figures."""
    folder.mkdir(parents=True)
    journal = folder / "journal.sqlite"
    where: str | Path = journal
    if setup.postgres:
        assert cluster is not None
        where = cluster.create_database(f"bench_{folder.parent.name}_{folder.name}".replace("-", "_"))
    servers: list[ServerProcess] = []
    proxy: Haproxy | None = None
    try:
        for n in range(1, setup.instances + 1):
            servers.append(ServerProcess(where, folder / f"server{n}", "--instance-name", f"bench-{n}"))
        ports = [s.port for s in servers]
        if setup.haproxy:
            port = free_port()
            config = folder / "haproxy.cfg"
            config.write_text(haproxy_config(port, ports), encoding="utf-8")
            shutil.copyfile(ERRORFILE, folder / ERRORFILE.name)  # beside the config, as the config expects
            proxy = Haproxy(find_haproxy(), config, folder / "haproxy.log", port)
            ports = [port]
        warm = platform_bench.load(ports, body(), clients, warmup)
        server_pids = [s.proc.pid for s in servers]
        pg_pids = _postgres_pids(cluster) if setup.postgres else []
        proxy_pids = [proxy.proc.pid] if proxy else []
        cpu0 = [_cpu(server_pids), _cpu(pg_pids), _cpu(proxy_pids)]
        clients0 = _children_cpu()  # the client processes, reaped by load() (the servers are not, yet)
        machine0, wall0 = _machine_cpu(), time.perf_counter()
        figures = platform_bench.load(ports, body(), clients, seconds)
        machine1, wall = _machine_cpu(), time.perf_counter() - wall0
        clients_cpu = _children_cpu() - clients0
        cpu1 = [_cpu(server_pids), _cpu(_postgres_pids(cluster) if setup.postgres else []), _cpu(proxy_pids)]
        calls = max(figures["requests"], 1)
        figures["server_cpu_us"], figures["postgres_cpu_us"], figures["haproxy_cpu_us"] = (
            _cpu_used(a, b) / calls * 1e6 for a, b in zip(cpu0, cpu1, strict=True))
        figures["clients_cpu_us"] = clients_cpu / calls * 1e6
        # Cores kept busy during the load: by this benchmark's processes, and by everything on the machine (it may
        # be running other work too: then the figures are lower than the machine can do).
        ours = clients_cpu + sum(_cpu_used(a, b) for a, b in zip(cpu0, cpu1, strict=True))
        figures["cores_ours"] = ours / wall
        figures["cores_machine"] = (machine1[0] - machine0[0]) / max(machine1[1] - machine0[1], 1) * os.cpu_count()
        answered = warm["requests"] - warm["errors"] + figures["requests"] - figures["errors"]
    finally:
        if proxy:
            proxy.stop()
        for server in servers:
            server.stop()
    figures["ok_per_s"] = (figures["requests"] - figures["errors"]) / seconds
    figures["journaled"], xacts = _rows(setup, where)
    figures["answered"] = answered
    figures["xacts_per_call"] = xacts / max(answered, 1) if xacts is not None else 0.0
    figures["tracebacks"] = sum(bool(s.tracebacks()) for s in servers)
    return figures


def run(seconds: float = 5.0, clients: int = 16, rounds: int = 3, log=print) -> dict:
    """Every setup ``rounds`` times interleaved; medians, and each round's ratio against its SQLite run."""
    runs: dict[str, list[dict]] = {}
    with postgresql() as cluster, tempfile.TemporaryDirectory(prefix="mockplatform-bench-") as tmp:
        skipped = cluster if isinstance(cluster, str) else None
        cluster = None if skipped else cluster
        setups = [s for s in SETUPS if not (s.postgres and skipped)]
        no_haproxy = None
        if find_haproxy() is None:
            no_haproxy = "haproxy is not installed (Debian's haproxy)"
            setups = [s for s in setups if not s.haproxy]
        for round_no in range(rounds):
            for n, setup in enumerate(setups):
                log(f"  round {round_no + 1}/{rounds}: {setup.name} ...", flush=True)
                figures = measure(setup, Path(tmp) / f"r{round_no}" / f"s{n}", cluster, seconds, clients)
                runs.setdefault(setup.name, []).append(figures)
        work = db_work(cluster) if cluster else None
    baseline = runs[SQLITE.name]
    results: dict = {"setups": {}, "seconds": seconds, "clients": clients, "rounds": rounds,
                     "skipped": skipped, "no_haproxy": no_haproxy, "work": work}
    for name, figures in runs.items():
        ratios = [f["ok_per_s"] / b["ok_per_s"] if b["ok_per_s"] else 0.0 for f, b in zip(figures, baseline,
                                                                                         strict=True)]

        def med(key: str, figures: list[dict] = figures) -> float:
            return statistics.median(f[key] for f in figures)

        results["setups"][name] = {
            "ok_per_s": med("ok_per_s"), "p50_ms": med("p50_ms"), "p99_ms": med("p99_ms"),
            "ratio": statistics.median(ratios), "ratio_min": min(ratios), "ratio_max": max(ratios),
            "server_cpu_us": med("server_cpu_us"), "postgres_cpu_us": med("postgres_cpu_us"),
            "haproxy_cpu_us": med("haproxy_cpu_us"), "clients_cpu_us": med("clients_cpu_us"),
            "cores_ours": med("cores_ours"), "cores_machine": med("cores_machine"),
            "xacts_per_call": med("xacts_per_call"),
            "errors": sum(f["errors"] for f in figures),
            "unjournaled": sum(f["answered"] - f["journaled"] for f in figures),
            "tracebacks": sum(f["tracebacks"] for f in figures),
            "rounds": figures,
        }
    return results


# -- where one call's time goes -----------------------------------------------------------------------------------

def db_work(cluster: PostgresCluster, calls: int = 2000) -> dict:
    """One AddMessage in-process, as the server's event loop handles it (``needs_worker``, then ``handle``) but
    without HTTP and committed alone (the server commits the calls of one turn of its loop together), on SQLite
    and on PostgreSQL. For PostgreSQL also the statements it sends and the time spent waiting for them (counted
    by wrapping the platform's PostgresCursor in this process only), and one bare round trip (SELECT 1)."""
    import psycopg

    from mockplatform import Application, Config, Request
    from mockplatform.database import PostgresCursor
    from mockplatform.http_routes import handle as route
    from mockplatform.http_routes import needs_worker

    request = Request("POST", "/vp", [("Content-Type", "text/xml")], body(), client="127.0.0.1:1")
    out: dict = {"calls": calls}
    counted = {"statements": 0, "seconds": 0.0, "fault_checks": 0, "fault_check_s": 0.0}

    def counting(method):
        def wrapper(self, sql, *args, **kwargs):
            t0 = time.perf_counter()
            try:
                return method(self, sql, *args, **kwargs)
            finally:
                spent = time.perf_counter() - t0
                counted["seconds"] += spent
                counted["statements"] += 1
                if "FROM faults" in sql:  # is a fault armed? (FaultInjector.armed)
                    counted["fault_checks"] += 1
                    counted["fault_check_s"] += spent
        return wrapper

    def one_call(app: Application) -> None:
        assert not needs_worker(app, request)  # answered on the event loop, as in the server
        response = route(app, request)
        assert response.status == 200, response.body[:300]

    with tempfile.TemporaryDirectory() as tmp:
        for kind, config in (("sqlite", Config(journal=Path(tmp) / "j.sqlite")),
                             ("postgresql", Config(journal=Path(tmp) / "unused.sqlite",
                                                   database=cluster.create_database("bench_in_process")))):
            app = Application(config)
            try:
                for _ in range(200):
                    one_call(app)
                saved = PostgresCursor.execute, PostgresCursor.executemany
                PostgresCursor.execute, PostgresCursor.executemany = counting(saved[0]), counting(saved[1])
                counted.update(statements=0, seconds=0.0, fault_checks=0, fault_check_s=0.0)
                try:
                    t0 = time.perf_counter()
                    for _ in range(calls):
                        one_call(app)
                    out[f"{kind}_us"] = (time.perf_counter() - t0) / calls * 1e6
                finally:
                    PostgresCursor.execute, PostgresCursor.executemany = saved
                if kind == "postgresql":
                    out["statements"] = counted["statements"] / calls
                    out["statement_us"] = counted["seconds"] / calls * 1e6
                    out["fault_checks"] = counted["fault_checks"] / calls
                    out["fault_check_us"] = counted["fault_check_s"] / calls * 1e6
            finally:
                app.close()
    with psycopg.connect(cluster.url(), autocommit=True) as conn:
        for _ in range(200):
            conn.execute("SELECT 1").fetchone()
        t0 = time.perf_counter()
        for _ in range(calls):
            conn.execute("SELECT 1").fetchone()
        out["round_trip_us"] = (time.perf_counter() - t0) / calls * 1e6
    return out


# -- the report ---------------------------------------------------------------------------------------------------

def table(results: dict) -> list[str]:
    lines = [f"| setup (median of {results['rounds']} rounds) | calls/s | p50 ms | p99 ms | ratio to SQLite (min-max) "
             "| errors | answered, not journaled | CPU µs/call: instances / PostgreSQL / haproxy / clients "
             "| cores busy: ours / machine |",
             "|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for name, r in results["setups"].items():
        postgres = f"{r['postgres_cpu_us']:.0f}" if "SQLite" not in name else "-"
        proxy = f"{r['haproxy_cpu_us']:.0f}" if "haproxy" in name else "-"
        lines.append(f"| {name} | {r['ok_per_s']:.0f} | {r['p50_ms']:.2f} | {r['p99_ms']:.2f} | {r['ratio']:.2f} "
                     f"({r['ratio_min']:.2f}-{r['ratio_max']:.2f}) | {r['errors']} | {r['unjournaled']} | "
                     f"{r['server_cpu_us']:.0f} / {postgres} / {proxy} / {r['clients_cpu_us']:.0f} | "
                     f"{r['cores_ours']:.1f} / {r['cores_machine']:.1f} |")
    return lines


def section(results: dict, machine: str | None = None) -> list[str]:
    """The report's section (Markdown lines); ``machine``: said when the section is printed alone."""
    lines = [
        "## Several instances on one PostgreSQL database",
        *([f"Measured alone (`python benchmarks/shared_database.py`; `tox -e bench` measures it with the rest of "
            f"the report) on {machine}.", ""] if machine else []),
        f"{results['clients']} concurrent keep-alive clients (two client processes on the same machine) sending "
        f"AddMessage as fast as they can, {results['seconds']:g} s per run after 1 s of warm-up, "
        f"{results['rounds']} rounds interleaved (medians; each round's ratio against that round's SQLite run). "
        "Every setup is real `mockplatform serve` processes on a fresh journal or database; PostgreSQL is a "
        "throwaway cluster on this machine (tests/postgres.py: `fsync=off`, as SQLite's journal does not fsync a "
        "commit either). *calls/s* counts calls answered 200; *errors* are the others and calls not answered at "
        "all; after each run the journal's rows are counted against the calls answered 200. CPU per call: of the "
        "instances together, of all PostgreSQL processes, of haproxy, of the client processes. The clients, the "
        "instances and PostgreSQL share the machine's cores.",
        "",
    ]
    if results["skipped"]:
        lines += [f"PostgreSQL rows skipped: {results['skipped']}.", ""]
    lines += table(results)
    if results["no_haproxy"]:
        lines += ["", f"The haproxy row is left out: {results['no_haproxy']}."]
    if results["work"]:
        lines += ["", where_the_time_goes(results)]
    return lines + [""]


def where_the_time_goes(results: dict) -> str:
    """The measured reasons, in a few sentences (the conclusions follow the figures of this run)."""
    work, setups = results["work"], results["setups"]
    sqlite, one = setups[SETUPS[0].name], setups[SETUPS[1].name]
    two = setups.get(SETUPS[2].name)
    proxied = setups.get(SETUPS[3].name)
    cores = os.cpu_count() or 1
    checks = work["fault_checks"]

    def per_write(r: dict) -> str:  # calls per write transaction (the transactions beyond the fault checks)
        writes = r["xacts_per_call"] - checks
        return f"{1 / writes:.1f}" if writes > 0 else "?"

    text = [
        f"Where the time goes for PostgreSQL: one AddMessage handled in-process as the server's event loop handles "
        f"it (no HTTP, committed alone) takes {work['postgresql_us']:.0f} µs against SQLite's "
        f"{work['sqlite_us']:.0f} µs: it sends {work['statements']:.0f} statements, each a round trip the instance "
        f"waits for: the check for an armed fault ({work['fault_check_us']:.0f} µs; {checks:.0f} per call, when "
        f"the server decides whether the call may be answered on its event loop), then BEGIN "
        f"with the advisory write lock (one round trip), the next id, the INSERT and COMMIT "
        f"({work['statement_us'] - work['fault_check_us']:.0f} µs), where a bare `SELECT 1` through psycopg takes "
        f"{work['round_trip_us']:.0f} µs.",
        f"The server sends them from its one event-loop thread and waits: under load the calls of one turn of the "
        f"loop share one write transaction ({per_write(one)} calls per transaction, from PostgreSQL's count of "
        f"transactions), but the fault checks are per call, and while the loop waits for a round trip it answers "
        f"nobody; the CPU a call costs rises from {sqlite['server_cpu_us']:.0f} µs (SQLite's instance) to "
        f"{one['server_cpu_us']:.0f} µs in the instance plus {one['postgres_cpu_us']:.0f} µs in PostgreSQL.",
    ]
    busy = (f"This benchmark's processes (instances, PostgreSQL, haproxy, clients) kept {sqlite['cores_ours']:.1f} "
            f"of the {cores} cores busy with SQLite and {one['cores_ours']:.1f} with PostgreSQL")
    other = statistics.median(r["cores_machine"] - r["cores_ours"] for r in setups.values())
    if other > 0.2:
        busy += (f"; other work on the machine took about {other:.1f} cores meanwhile, so the absolute figures are "
                 "lower than the machine can do, and the ratios (each against the SQLite run of the same round) "
                 "are what to read")
    text.append(busy + ".")
    if two:
        gain = two["ok_per_s"] / one["ok_per_s"] - 1 if one["ok_per_s"] else 0.0
        verdict = (f"adds no throughput here ({two['ok_per_s']:.0f} against {one['ok_per_s']:.0f} calls/s)"
                   if gain < 0.05 else
                   f"adds {gain:.0%} throughput here ({two['ok_per_s']:.0f} against {one['ok_per_s']:.0f} calls/s)")
        sentence = (f"A second instance on the same database {verdict}: each instance groups only its own clients' "
                    f"calls ({per_write(two)} calls per write transaction instead of {per_write(one)}), the write "
                    f"transactions of both take turns at the one advisory lock, and the instances need "
                    f"{two['server_cpu_us']:.0f} µs of CPU per call together on {cores} cores shared with "
                    f"PostgreSQL and the clients")
        if proxied:
            sentence += (f"; behind haproxy each call also costs haproxy {proxied['haproxy_cpu_us']:.0f} µs and the "
                         "instance a new connection (the documented config's `http-server-close`: the instances "
                         f"use {proxied['server_cpu_us']:.0f} µs per call)")
        text.append(sentence + ". A second instance is for availability and for a team sharing one platform, not "
                    "for speed on a machine this small.")
    return " ".join(text)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--rounds", type=int, default=3, help="interleaved repetitions (medians are shown)")
    args = parser.parse_args()
    print(f"machine: {os.cpu_count()} cores, Python {pyplatform.python_version()}, {pyplatform.machine()}; "
          f"{args.clients} concurrent keep-alive clients, {args.seconds:g} s per run, {args.rounds} rounds")
    started = time.perf_counter()
    results = run(args.seconds, args.clients, args.rounds)
    machine = (f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {os.cpu_count()} cores "
               f"({pyplatform.processor() or pyplatform.machine()}), {pyplatform.system()} {pyplatform.release()}, "
               f"Python {pyplatform.python_version()}")
    print("\n".join(section(results, machine)))
    print(f"({time.perf_counter() - started:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""How fast the contract suite judges a large journal.

Builds a journal of N exchanges (default 100 000) from real requests and answers of the platform
(IsActiveUser, plain, DocBook, SSO and threaded AddMessage, some with rule violations), then, in
the same process, times a baseline (reading every exchange and parsing its request: the floor any
judging pays) and the full ``verify`` with all rules, cases and the protocol in every format.

    python benchmarks/verify_bench.py [--exchanges 100000]
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import platform as pyplatform
import resource
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from mockplatform import Application, Config, Request  # noqa: E402
from mockplatform.domains.inbox1177.sample_consumer import docbook_article  # noqa: E402
from mockplatform.envelope import read_envelope  # noqa: E402
from mockplatform.http_routes import handle as route  # noqa: E402
from mockplatform.journal import Exchange, Journal  # noqa: E402
from mockplatform.protocol import write_all  # noqa: E402
from mockplatform.verification import VerifyOptions, verify  # noqa: E402
from tests.soap import add_message, is_active_user  # noqa: E402

SSO = ('<c:ssoLink><c:systemId>SE2321000016-7XQA</c:systemId><c:text>Öppna</c:text>'
       '<c:type>NewTarget</c:type></c:ssoLink>')
CITIZENS = ("191212121212", "198505133283", "200103292389", "197209644561")


def templates() -> list[bytes]:
    article = docbook_article("Kallelse", ["Välkommen på besök den 3 december.", "Ta med legitimation."])
    return [
        is_active_user(CITIZENS[0]),
        is_active_user("199002272392"),
        add_message(CITIZENS[1], text="Dina provsvar är klara. {i}"),
        add_message(CITIZENS[0], text=article.replace("december.", "december. {i}"), notify=True),
        add_message(CITIZENS[2], text=article.replace("december.", "december. {i}"), sso=SSO),
        add_message(CITIZENS[3], text="Remiss {i} mottagen.", thread_id="remiss-{i}"),
        add_message(CITIZENS[1], text="Utan rubrik {i}", description=None),  # breaks a 1177 rule
    ]


def build_journal(path: Path, count: int) -> None:
    app = Application(Config(journal=path))
    answers = []
    for body in templates():
        real = body.replace(b"{i}", b"0")
        response = route(app, Request("POST", "/vp", [("Content-Type", "text/xml")], real, client="127.0.0.1:1"))
        answers.append((body, response))
    app.close()
    journal = Journal(path)
    start = datetime.now(UTC) - timedelta(days=3)
    batch = []
    for i in range(count):
        body, response = answers[i % len(answers)]
        request = body.replace(b"{i}", str(i).encode())
        env = read_envelope(request)
        batch.append(Exchange(
            time=(start + timedelta(milliseconds=50 * i)).isoformat(timespec="microseconds"),
            duration_ms=1.0, client="127.0.0.1:1", method="POST", path="/vp",
            request_headers=[("Content-Type", "text/xml")], request_body=request, http_status=response.status,
            response_headers=response.headers, response_body=response.body, consumer="SE2321000016-7XQA",
            logical_address=env.logical_address, contract=env.contract, correlation_id=f"bench-{i}"))
        if len(batch) == 5000:
            _write(journal, batch)
            batch = []
    _write(journal, batch)
    journal.close()


def _write(journal: Journal, batch: list[Exchange]) -> None:
    """In one transaction, as the server commits a turn's exchanges."""
    held: list = []
    with journal.holding(held):
        for exchange in batch:
            journal.record(exchange)
    journal.commit(held)


def baseline(path: Path) -> int:
    journal = Journal(path, read_only=True)
    n = 0
    for exchange in journal.iter_exchanges():
        read_envelope(exchange.request_body)
        n += 1
    journal.close()
    return n


def measure(count: int) -> dict:
    """Build a journal of ``count`` exchanges and time the baseline, verify and the protocol files."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "journal.sqlite"
        t0 = time.perf_counter()
        # Built in a child process, so this one's peak memory is the judging's alone.
        builder = multiprocessing.get_context("fork").Process(target=build_journal, args=(path, count))
        builder.start()
        builder.join()
        if builder.exitcode:
            raise SystemExit(f"building the journal failed (exit {builder.exitcode})")
        built = time.perf_counter() - t0
        t0 = time.perf_counter()
        baseline(path)
        base = time.perf_counter() - t0
        t0 = time.perf_counter()
        protocol = verify(VerifyOptions(journal=path))
        judged = time.perf_counter() - t0
        t0 = time.perf_counter()
        write_all(protocol, Path(tmp) / "out")
        written = time.perf_counter() - t0
    return {"exchanges": protocol.exchanges_judged, "built_s": built, "baseline_s": base, "verify_s": judged,
            "write_s": written, "verdict": protocol.verdict.value,
            "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--exchanges", type=int, default=100_000)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    r = measure(args.exchanges)
    n = r["exchanges"]
    print(f"machine: {os.cpu_count()} cores, Python {pyplatform.python_version()}, {pyplatform.machine()}")
    print(f"journal of {n} exchanges built in {r['built_s']:.1f} s")
    print(f"{'step':34} {'seconds':>8} {'exchanges/s':>12} {'ratio':>6}")
    total = r["verify_s"] + r["write_s"]
    for name, seconds in (("baseline: read + parse requests", r["baseline_s"]),
                          ("verify (rules, cases, protocol)", r["verify_s"]),
                          ("write html/docx/md/json/junit", r["write_s"]), ("verify total", total)):
        print(f"{name:34} {seconds:8.2f} {n / seconds:12.0f} {seconds / r['baseline_s']:6.2f}")
    print(f"verdict: {r['verdict']}; peak memory {r['peak_mb']:.0f} MB")
    if args.json:
        print(json.dumps(r))
    return 0


if __name__ == "__main__":
    sys.exit(main())

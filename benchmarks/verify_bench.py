"""How fast the contract suite judges a large journal.

Builds a journal of N exchanges (default 100 000) from real requests and answers of the platform
(IsActiveUser, plain, DocBook, SSO and threaded AddMessage, some with rule violations; with
``--varied``, a hurried and faulty consumer's: every rule broken now and then, a tenth of the calls
failing and retried), then, in the same process, times a baseline (reading every exchange and
parsing its request, in one process: the floor a single process pays) and the full ``verify`` with
all rules, cases and the protocol in every format. ``verify`` prepares a large journal in worker
processes (``verification.parallel``); ``--workers 0`` judges in one process, for comparison. Peak
memory is told for the judging process and for the largest of its workers.

    python benchmarks/verify_bench.py [--exchanges 100000] [--varied] [--workers N]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import multiprocessing
import os
import platform as pyplatform
import random
import resource
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from mockplatform import Application, Config, Request, ns  # noqa: E402
from mockplatform.domains.inbox1177.sample_consumer import docbook_article  # noqa: E402
from mockplatform.envelope import MalformedRequest, read_envelope  # noqa: E402
from mockplatform.http_routes import handle as route  # noqa: E402
from mockplatform.journal import Exchange, Journal  # noqa: E402
from mockplatform.messages import DEMONSTRATION_HEADER  # noqa: E402
from mockplatform.personnummer import with_check_digit  # noqa: E402
from mockplatform.protocol import write_all  # noqa: E402
from mockplatform.verification import VerifyOptions, parallel, verify  # noqa: E402
from tests.soap import add_message, envelope, is_active_user  # noqa: E402

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


FAULT = (b'<?xml version="1.0" encoding="UTF-8"?><soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/'
         b'soap/envelope/"><soapenv:Body><soapenv:Fault><faultcode>soapenv:Server</faultcode><faultstring>VP009 '
         b"Error connecting to service producer at address builtin:inbox</faultstring></soapenv:Fault>"
         b"</soapenv:Body></soapenv:Envelope>")
POOL = [with_check_digit(f"19800101{n:03d}") for n in range(40)]  # citizens of the text sent to many


def varied_templates() -> list[bytes]:
    """Requests that break every request rule and demonstrate every case: ``{i}`` varies a text, ``{c}`` is a
    citizen of POOL."""
    article = docbook_article("Kallelse", ["Välkommen den 3 december {i}.", "Ta med legitimation."])
    mismatched = "<article><para>x {i}<emphasis>y</emphasis></para><section><para>z</para></section><foo/></article>"
    linked = "<article><para>Se <ulink url='https://1177.se/{i}'>länk</ulink></para></article>"
    unregistered = SSO.replace("SE2321000016-7XQA</c:systemId>", "SE0000000000-NONE</c:systemId>")
    return [
        is_active_user(CITIZENS[0]), is_active_user("199002272392"), is_active_user("19121212T212"),
        is_active_user("191212121213"),
        add_message(CITIZENS[1], text="Provsvar {i}"),
        add_message(CITIZENS[0], text=article, notify=True),
        add_message(CITIZENS[2], text=article, sso=SSO),
        add_message(CITIZENS[2], text=mismatched),
        add_message(CITIZENS[3], text=linked),
        add_message(CITIZENS[3], text="Klartext med SSO {i}", sso=SSO),
        add_message(CITIZENS[3], text=article, sso=unregistered),
        add_message("199002272392", text="Till en inaktiv {i}"),
        add_message(CITIZENS[3], text="Tråd {i}", thread_id="t-{i}"),
        add_message(CITIZENS[3], text="Tråd, svar {i}", thread_id="t-{i}"),
        add_message(CITIZENS[1], text="Utan rubrik {i}", description=None),
        add_message(CITIZENS[1], text="Utan källa {i}", source_system=None, notify=True),
        add_message("{c}", text="Samma text till alla"),
        add_message("191212121213", text="Okänd enhet {i}", unit_id="SE0000000000-XXXX"),
        add_message(CITIZENS[1], text="Blanksteg {i}", address=" SE5565594230-1177\n"),
        add_message(CITIZENS[1], text="BP 2.0 {i}", wsa=True),
        add_message(CITIZENS[1], text="SOAP 1.2 {i}", soap_ns=ns.SOAP12),
        add_message(CITIZENS[1], text="Fel namnrymd {i}", message_ns="urn:wrong"),
        b"<not xml {i}",
        envelope('<Foo xmlns="urn:riv:unknown:FooResponder:1"><a>{i}</a></Foo>'),
    ]


def build_varied_journal(path: Path, count: int, seed: int = 1) -> None:
    """A journal of ``count`` exchanges as a hurried, faulty consumer makes them: three consumers, every request
    rule broken now and then, about a tenth of the calls failing (VP009, a producer's fault, an injected fault)
    and retried after 0.5-5 s, ERROR answers resent, batches of over 1000 messages, times up to half a second out
    of commit order, now and then a demonstration mark, a GET or another path."""
    app = Application(Config(journal=path))
    answers = []
    for body in varied_templates():
        real = body.replace(b"{i}", b"0").replace(b"{c}", POOL[0].encode())
        answers.append((body, route(app, Request("POST", "/vp", [("Content-Type", "text/xml")], real,
                                                 client="127.0.0.1:1"))))
    app.close()
    journal = Journal(path)
    rnd = random.Random(seed)
    start = datetime(2026, 11, 2, 8, tzinfo=UTC)
    consumers = ("SE2321000016-7XQA", "SE2321000016-8KVR", "SE2321000016-9NOA")
    batch: list[Exchange] = []
    t, i = 0.0, 0
    while i < count:
        body, response = answers[rnd.randrange(len(answers))]
        consumer = rnd.choice(consumers)
        request = body.replace(b"{i}", str(rnd.randrange(count // 3 + 1)).encode()).replace(
            b"{c}", rnd.choice(POOL).encode())
        t += rnd.choice((0.05,) * 60 + (0.1, 1.0, 3.0)) if rnd.random() < 0.99993 else 4000.0
        kind = rnd.choice(("ok",) * 8 + ("vp009", "fault", "injected"))
        tries = 1 + (rnd.random() < 0.1) * rnd.randrange(1, 4)
        at = t
        for attempt in range(tries):
            status, vp_code, answer, injected = response.status, None, response.body, None
            if kind == "vp009" and attempt < tries - 1:
                status, vp_code, answer = 500, "VP009", FAULT
            elif kind == "fault" and attempt < tries - 1:
                status, answer = 500, FAULT
            elif kind == "injected" and attempt == 0:
                status, answer, injected = 500, FAULT, rnd.choice(("timeout", "refused", "producer_fault"))
            headers = [("Content-Type", "text/xml")]
            if rnd.random() < 0.01:
                headers.append((DEMONSTRATION_HEADER, "1"))
            try:
                env = read_envelope(request)
                address, contract = env.logical_address, env.contract
            except MalformedRequest:
                address = contract = None
            batch.append(Exchange(
                time=(start + timedelta(seconds=at + rnd.uniform(-0.5, 0.5))).isoformat(timespec="microseconds"),
                duration_ms=1.0, client="127.0.0.1:1", method="POST" if rnd.random() > 0.01 else "GET",
                path="/vp" if rnd.random() > 0.01 else "/vp/other", request_headers=headers, request_body=request,
                http_status=status, response_headers=response.headers, response_body=answer, consumer=consumer,
                logical_address=address, contract=contract, correlation_id=f"varied-{i}", vp_code=vp_code,
                injected=injected, identified_by=rnd.choice(("default", "certificate", "sender-header"))))
            at += rnd.choice((0.5, 2.0, 5.0))
            i += 1
        t = max(t, at)
        if len(batch) >= 5000:
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
        with contextlib.suppress(MalformedRequest):  # (the varied journal has requests that are not XML)
            read_envelope(exchange.request_body)
        n += 1
    journal.close()
    return n


def measure(count: int, varied: bool = False, workers: int | None = None) -> dict:
    """Build a journal of ``count`` exchanges and time the baseline, verify and the protocol files. ``workers``:
    how many worker processes prepare the exchanges (None: as verify chooses; 0: none, one process)."""
    if workers is not None:
        parallel.worker_count = lambda ids: workers
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "journal.sqlite"
        t0 = time.perf_counter()
        # Built in a child process, so this one's peak memory is the judging's alone.
        build = build_varied_journal if varied else build_journal
        builder = multiprocessing.get_context("fork").Process(target=build, args=(path, count))
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
            "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
            "workers": parallel.last_run.workers, "worker_peak_mb": parallel.last_run.worker_peak_mb}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--exchanges", type=int, default=100_000)
    parser.add_argument("--varied", action="store_true", help="a faulty consumer's journal (build_varied_journal)")
    parser.add_argument("--workers", type=int, default=None, help="worker processes (0: judge in one process)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    r = measure(args.exchanges, args.varied, args.workers)
    n = r["exchanges"]
    print(f"machine: {os.cpu_count()} cores, Python {pyplatform.python_version()}, {pyplatform.machine()}")
    print(f"journal of {n} exchanges built in {r['built_s']:.1f} s")
    print(f"{'step':34} {'seconds':>8} {'exchanges/s':>12} {'ratio':>6}")
    total = r["verify_s"] + r["write_s"]
    for name, seconds in (("baseline: read + parse requests", r["baseline_s"]),
                          ("verify (rules, cases, protocol)", r["verify_s"]),
                          ("write html/docx/md/json/junit", r["write_s"]), ("verify total", total)):
        print(f"{name:34} {seconds:8.2f} {n / seconds:12.0f} {seconds / r['baseline_s']:6.2f}")
    print(f"verify: {r['verify_s'] / n * 1e6:.0f} µs per exchange, "
          + (f"{r['workers']} worker processes" if r["workers"] else "one process"))
    workers = f", each worker at most {r['worker_peak_mb']:.0f} MB" if r["workers"] else ""
    print(f"verdict: {r['verdict']}; peak memory: the judging process {r['peak_mb']:.0f} MB{workers}")
    if args.json:
        print(json.dumps(r))
    return 0


if __name__ == "__main__":
    sys.exit(main())

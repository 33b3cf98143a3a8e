"""One platform for a whole team: two ``mockplatform serve --database`` processes on one PostgreSQL database,
behind haproxy with docs/deploy/haproxy.cfg (the documented file itself, its ports substituted).

What a team needs of it: an instance killed under load loses no answered call and makes none twice (every
AddMessage that got 200 is in the journal once and in the inbox once), the journal is one (ids unique and in
each consumer's order, ``verify`` reads all of it), and the state the admin API sets is the platform's, not
an instance's (a fault armed on one instance is used exactly as often as asked, wherever the calls land). With
no instance up, a consumer gets what the platform answers when it cannot work, VP012, not haproxy's HTML page
(docs/deploy/vp012-503.http, which docs/deploy/make_errorfile.py makes from the platform's code).

Needs PostgreSQL and haproxy (.ci/run installs both): skipped without them, failed without them in CI.
``pytest -k team`` runs these.
"""

from __future__ import annotations

import contextlib
import http.client
import importlib.util
import json
import re
import shutil
import subprocess
import sys
import threading
import time
import uuid
import xml.etree.ElementTree as ET
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import requests

from mockplatform.faults import vp012
from mockplatform.journal import Journal
from mockplatform.settings import DEFAULT_JOURNAL, Settings

from .postgres import PostgresCluster, cluster_folder, free_port, running_cluster, skip_or_fail, why_no_postgresql
from .soap import ACTIVE_NO_NOTIFICATION, ACTIVE_SMS_EMAIL, add_message, is_active_user
from .test_load import ServerProcess

ROOT = Path(__file__).resolve().parent.parent
HAPROXY_CFG = ROOT / "docs" / "deploy" / "haproxy.cfg"
ERRORFILE = ROOT / "docs" / "deploy" / "vp012-503.http"  # haproxy's answer when no instance is up
MAKE_ERRORFILE = ROOT / "docs" / "deploy" / "make_errorfile.py"
DOC_FRONTEND = "    bind :8080\n"
DOC_ERRORFILE = f"    errorfile 503 {ERRORFILE.name}\n"  # a relative name: beside the config (default-path config)
DOC_SERVERS = re.compile(r"^    server instance\d+ 127\.0\.0\.1:808\d\n", re.MULTILINE)
CLIENTS = 16
LOAD_S = 4.0
KILL_AFTER_S = 1.5
# A call may fail only if it was sent before the killed instance was gone (its process reaped: the kernel has
# closed its sockets by then), or this much later: a margin for nothing known. Seen on two cores, idle or with
# two or four busy loops: the process gone 8-72 ms after the kill, the last failed call sent up to 45 ms after
# it, always before the process was gone.
KILL_MARGIN_S = 0.1
XML = {"Content-Type": "text/xml; charset=UTF-8"}
DROPPED = ("RemoteDisconnected", "ConnectionResetError", "BadStatusLine")  # closed without an answer
NO_SERVER = "backend 'instances' has no server available!"  # haproxy's log, once the check took all out


def find_haproxy() -> str | None:
    """haproxy lives in /usr/sbin on Debian, which is not on every user's PATH."""
    return shutil.which("haproxy") or shutil.which("haproxy", path="/usr/sbin")


def haproxy_config(frontend_port: int, instance_ports: list[int]) -> str:
    """docs/deploy/haproxy.cfg with the test's ports: the frontend on 127.0.0.1, and one ``server`` line for each
    instance where the documented ones stand. Fails when the file no longer has the lines this replaces, so
    that the file tested stays the file documented."""
    text = HAPROXY_CFG.read_text(encoding="utf-8")
    documented = list(DOC_SERVERS.finditer(text))
    assert text.count(DOC_FRONTEND) == 1 and len(documented) == 2, (
        f"{HAPROXY_CFG} no longer has the lines this test replaces ({DOC_FRONTEND.strip()!r} and two "
        "'server instanceN 127.0.0.1:808N' lines): change the test with the file")
    assert text.count(DOC_ERRORFILE) == 1 and "\n    default-path config " in text, (
        f"{HAPROXY_CFG} no longer answers VP012 from {ERRORFILE.name} beside it ({DOC_ERRORFILE.strip()!r}, "
        "'default-path config'): change the test with the file")
    servers = "".join(f"    server instance{n} 127.0.0.1:{port}\n" for n, port in enumerate(instance_ports, 1))
    start = documented[0].start()
    text = text[:start] + servers + DOC_SERVERS.sub("", text[start:])
    return text.replace(DOC_FRONTEND, f"    bind 127.0.0.1:{frontend_port}\n")


class Haproxy:
    """haproxy in the foreground (-db) with the generated config; its request log in ``log``."""

    def __init__(self, binary: str, config: Path, log: Path, port: int) -> None:
        self.log = log
        self.port = port
        self.url = f"http://127.0.0.1:{port}"
        with log.open("ab") as out:
            self.proc = subprocess.Popen([binary, "-f", str(config), "-db"], stdout=out, stderr=subprocess.STDOUT,
                                         stdin=subprocess.DEVNULL)
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"haproxy exited with {self.proc.returncode}:\n{self.log_text()}")
            try:
                if requests.get(self.url + "/status", timeout=2).status_code == 200:
                    return
            except requests.RequestException:
                pass
            time.sleep(0.05)
        raise AssertionError(f"haproxy did not answer GET /status with 200 within 15 s:\n{self.log_text()}")

    def log_text(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")

    def served_by(self) -> Counter[str]:
        """Requests per instance, from the request log (httplog: ``instances/instanceN``)."""
        return Counter(re.findall(r" instances/(instance\d+) ", self.log_text()))

    def redispatched(self) -> int:
        """POSTs sent to the other instance after a refused connection (httplog's retries field: ``+N``)."""
        return len(re.findall(r"/\+\d+ \d+/\d+ \"POST ", self.log_text()))

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)


class Instance(ServerProcess):
    """``mockplatform serve --database URL`` as README.md runs it, in ``folder`` (its working directory and logs).
    ServerProcess itself always gives --journal, which names another place than --database."""

    def __init__(self, folder: Path, database: str, name: str) -> None:
        folder.mkdir()
        self.journal = folder / DEFAULT_JOURNAL  # the SQLite journal --database replaces: must never be made
        self.out, self.err = folder / "server.out", folder / "server.err"
        with self.out.open("ab") as out, self.err.open("ab") as err:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "mockplatform", "serve", "--port", "0", "--database", database,
                 "--instance-name", name], cwd=folder, stdout=out, stderr=err, stdin=subprocess.DEVNULL)
        try:
            self.url = self._wait_for_url()
        except BaseException:
            self.kill()
            raise
        self.host, port = self.url.removeprefix("http://").split(":")
        self.port = int(port)


@dataclass
class Team:
    """Two instances on one database, and haproxy in front of them."""

    database: str
    instances: list[ServerProcess]
    haproxy: Haproxy
    folder: Path


@contextlib.contextmanager
def running_team(database: str, tmp_path: Path) -> Iterator[Team]:
    """Two instances on ``database`` and haproxy in front; all stopped afterwards."""
    binary = find_haproxy()
    if binary is None:
        skip_or_fail("haproxy is not installed: .ci/run installs Debian's haproxy")
    folders = [tmp_path / f"instance{n}" for n in (1, 2)]
    with contextlib.ExitStack() as stack:
        # Both at once, as a team's service manager starts them: the two meet the empty database together.
        with ThreadPoolExecutor(2) as pool:
            futures = [pool.submit(Instance, folder, database, f"team-{n}")
                       for n, folder in enumerate(folders, 1)]
        for future in futures:  # stopped afterwards, each one that started, also when the other did not
            if future.exception() is None:
                stack.callback(future.result().stop)
        instances = [f.result() for f in futures]
        port = free_port()
        config = tmp_path / "haproxy.cfg"
        config.write_text(haproxy_config(port, [i.port for i in instances]), encoding="utf-8")
        shutil.copyfile(ERRORFILE, tmp_path / ERRORFILE.name)  # beside the config, as installed (README.md)
        proxy = Haproxy(binary, config, tmp_path / "haproxy.log", port)
        stack.callback(proxy.stop)
        yield Team(database, instances, proxy, tmp_path)
    made = [str(f / DEFAULT_JOURNAL) for f in folders if (f / DEFAULT_JOURNAL).exists()]
    assert not made, f"--database did not replace the SQLite journal: {made}"


@pytest.fixture
def team(postgresql_url: str, tmp_path: Path) -> Iterator[Team]:
    """Two instances on a fresh database of the session's cluster, and haproxy in front."""
    with running_team(postgresql_url, tmp_path) as team:
        yield team


# -- the traffic -----------------------------------------------------------------------------------------------

@dataclass
class Call:
    """One AddMessage as its consumer saw it; its text is unique, and so is its correlation id."""

    client: int
    seq: int
    correlation_id: str
    text: str
    status: int | None = None  # None: no HTTP answer at all (the connection failed)
    body: bytes = b""
    error: str | None = None
    sent: float = 0.0  # time.monotonic() when it was sent
    done: float = 0.0  # time.monotonic() when it was answered, or failed


@dataclass
class Calls:
    items: list[Call] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, call: Call) -> None:
        with self.lock:
            self.items.append(call)

    @property
    def ok(self) -> list[Call]:
        return [c for c in self.items if c.status == 200]

    @property
    def failed(self) -> list[Call]:
        return [c for c in self.items if c.status != 200]


def add_messages(port: int, client: int, until: float, calls: Calls) -> None:
    """One consumer on one keep-alive connection to haproxy, sending AddMessage until the time is up."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    seq = 0
    try:
        while time.monotonic() < until:
            seq += 1
            cid = str(uuid.uuid4())
            call = Call(client, seq, cid, f"Teamtest {client}-{seq} {cid}")
            call.sent = time.monotonic()
            try:
                conn.request("POST", "/vp", body=add_message(text=call.text, description="Teamtest"),
                             headers={**XML, "x-skltp-correlation-id": cid})
                response = conn.getresponse()
                call.status, call.body = response.status, response.read()
            except (OSError, http.client.HTTPException) as exc:
                call.error = f"{type(exc).__name__}: {exc}"
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            call.done = time.monotonic()
            calls.add(call)
    finally:
        conn.close()


def look_at_an_inbox(url: str, until: float, answers: list[int | str]) -> None:
    """GET another citizen's inbox now and then (through haproxy) until the time is up; each answer's status."""
    while time.monotonic() < until:
        try:
            answers.append(requests.get(f"{url}/admin/inbox/{ACTIVE_NO_NOTIFICATION}", timeout=30).status_code)
        except requests.RequestException as exc:
            answers.append(f"{type(exc).__name__}: {exc}")
        time.sleep(0.2)


# -- the tests -------------------------------------------------------------------------------------------------

@pytest.mark.slow
def test_team_platform_loses_and_doubles_nothing_when_an_instance_is_killed_under_load(team: Team, capsys) -> None:
    lb = team.haproxy
    names = {requests.get(lb.url + "/status", timeout=5).json()["InstanceName"] for _ in range(4)}
    assert names == {"team-1", "team-2"}, f"round robin should reach both instances, reached {names}"

    calls = Calls()
    until = time.monotonic() + LOAD_S
    clients = [threading.Thread(target=add_messages, args=(lb.port, n, until, calls), daemon=True)
               for n in range(CLIENTS)]
    for t in clients:
        t.start()
    # A team member keeps looking at an inbox meanwhile: each look takes in the messages journaled so far
    # (by either instance), so a message committed late, after later ones were taken, would be left out.
    looked: list[int | str] = []
    looks = threading.Thread(target=look_at_an_inbox, args=(lb.url, until, looked), daemon=True)
    looks.start()
    time.sleep(KILL_AFTER_S)
    with calls.lock:
        before_kill = len(calls.items)
    victim = team.instances[1]
    killed_at = time.monotonic()
    victim.kill()  # SIGKILL, and waits for the process to be gone
    gone_at = time.monotonic()
    for t in clients:
        t.join(timeout=LOAD_S + 60)
    looks.join(timeout=60)
    assert not any(t.is_alive() for t in [*clients, looks]), "a client hung"
    after_kill = len(calls.items) - before_kill
    # A GET is sent again when the instance died under it, so every look was answered.
    assert looked and all(status == 200 for status in looked), looked

    # Only the calls in flight at the kill may fail: sent before it, or while the killed process was going (until
    # the kernel closes its sockets, it still takes connections, and haproxy sends calls on them). How many of a
    # consumer's calls that is depends on how long the process takes to go, on a busy machine several: each
    # failed call's consumer opens a new connection at once, which may land on the dying instance again. Once it
    # is gone, a connection to it is refused and haproxy sends the call to the other instance (nothing was
    # sent); no call fails. haproxy does not send a failed POST again: it answers 502 to the first request on a
    # connection, and closes the connection without an answer after a later one (as the instance itself would
    # have, so that the consumer decides).
    failed = calls.failed
    assert before_kill > CLIENTS and after_kill > CLIENTS, (before_kill, after_kill)
    shown = [(c.client, c.seq, f"sent {c.sent - killed_at:+.3f} s", f"failed {c.done - killed_at:+.3f} s", c.status,
              c.error, c.body[:120]) for c in failed]
    early = [c for c in failed if c.done < killed_at]
    assert not early, f"calls failed before the kill (times from the kill): {shown}"
    late = [c for c in failed if c.sent > gone_at + KILL_MARGIN_S]
    assert not late, (f"calls sent after the killed instance was gone ({gone_at - killed_at:.3f} s after the kill) "
                      f"failed (times from the kill): {shown}")
    assert all(c.status == 502 or (c.status is None and c.error and c.error.startswith(DROPPED)) for c in failed), \
        f"a call failed otherwise than with 502 or a connection closed without an answer: {shown}"
    ok = calls.ok
    assert all(b"<resultCode>OK</resultCode>" in c.body for c in ok), "an AddMessage answered 200 without OK"
    served = lb.served_by()
    assert served["instance1"] and served["instance2"], f"both instances must have served calls: {served}"
    assert lb.redispatched(), "no call met the dead instance before the health check took it out"
    one = team.instances[0]
    assert not one.tracebacks(), one.tracebacks()

    # The journal: each answered call once, ids unique, each consumer's calls in the order it made them.
    journal = Journal(team.database, read_only=True)
    try:
        rows: dict[str, list[tuple[int, int]]] = {}  # correlation id -> [(exchange id, HTTP status)]
        ids = []
        for ex in journal.iter_exchanges(unread=frozenset({"request_body", "response_body"})):
            ids.append(ex.id)
            rows.setdefault(ex.correlation_id or "", []).append((ex.id, ex.http_status))
        assert ids == sorted(set(ids)), "exchange ids repeat, or the journal does not list them in order"
        sent = {c.correlation_id for c in calls.items}
        missing = [c.correlation_id for c in ok if c.correlation_id not in rows]
        doubled = {cid: found for cid, found in rows.items() if len(found) > 1}
        assert not missing, f"{len(missing)} calls answered 200 are not in the journal, e.g. {missing[:3]}"
        assert not doubled, f"{len(doubled)} calls are journaled more than once, e.g. {list(doubled.items())[:3]}"
        assert all(rows[c.correlation_id][0][1] == 200 for c in ok)
        strangers = [cid for cid in rows if cid not in sent]
        assert not strangers, f"the journal holds calls no client sent: {strangers[:3]}"
        by_client: dict[int, list[int]] = {}
        for c in sorted(ok, key=lambda c: (c.client, c.seq)):
            by_client.setdefault(c.client, []).append(rows[c.correlation_id][0][0])
        for client, client_ids in by_client.items():
            assert client_ids == sorted(client_ids) and len(set(client_ids)) == len(client_ids), (
                f"consumer {client}'s calls are not journaled in the order it made them: {client_ids[:20]}")
        journaled = journal.count()
    finally:
        journal.close()

    # The inbox, as the platform shows it: every acknowledged message once, none that no call made.
    inbox = requests.get(f"{lb.url}/admin/inbox/{ACTIVE_SMS_EMAIL}", timeout=60)
    assert inbox.status_code == 200, inbox.text[:300]
    messages = [m for case in inbox.json()["cases"] for m in case["messages"]]
    stored = Counter(m["correlation_id"] for m in messages)
    texts = Counter(m["text"] for m in messages)
    not_stored = [c.correlation_id for c in ok if stored[c.correlation_id] != 1]
    assert not not_stored, f"{len(not_stored)} acknowledged messages are not in the inbox exactly once"
    assert all(texts[c.text] == 1 for c in ok), "an acknowledged message's text is in the inbox more than once"
    assert set(stored) <= sent, "the inbox holds a message no call sent"

    # verify reads the whole run from the database.
    out = team.folder / "protocol"
    done = subprocess.run([sys.executable, "-m", "mockplatform", "verify", "--database", team.database,
                           "--out", str(out)], capture_output=True, text=True, timeout=120)
    assert "Traceback" not in done.stderr, done.stderr
    protocol = json.loads((out / "protocol.json").read_text(encoding="utf-8"))
    assert protocol["exchanges_judged"] == journaled, (protocol["exchanges_judged"], journaled)
    # Only AddMessage was called, so the IsActiveUser case was not run: incomplete at best, and exit 1.
    assert protocol["verdict"] in ("incomplete", "nonconformant"), protocol["verdict"]
    assert done.returncode == 1, f"verify exited {done.returncode}:\n{done.stdout}\n{done.stderr}"
    with capsys.disabled():
        print(f"\nteam: {len(calls.items)} AddMessage through haproxy from {CLIENTS} clients, {len(ok)} answered "
              f"200, {len(failed)} in flight at the kill (502 or closed without an answer; the instance was gone "
              f"{1000 * (gone_at - killed_at):.0f} ms after it, the last of them sent "
              f"{1000 * (max((c.sent for c in failed), default=killed_at) - killed_at):+.0f} ms from it); served "
              f"{dict(served)}, {lb.redispatched()} redispatched; {journaled} journaled; verify: {protocol['verdict']}")


def make_errorfile():
    """docs/deploy/make_errorfile.py as a module (it is a script beside the config, not a package)."""
    spec = importlib.util.spec_from_file_location("make_errorfile", MAKE_ERRORFILE)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_committed_errorfile_is_what_make_errorfile_makes_from_the_platforms_code_now() -> None:
    script = make_errorfile()
    made = script.errorfile()
    assert ERRORFILE.read_bytes() == made, (
        f"{ERRORFILE.relative_to(ROOT)} is not what {MAKE_ERRORFILE.relative_to(ROOT)} makes now (the VP012 "
        "text or the instances' answer changed): run `.venv/bin/python docs/deploy/make_errorfile.py` and "
        "commit the file")
    # What haproxy needs of it: a complete HTTP response, CRLF line ends, its length right, within its buffer.
    head, body = made.split(b"\r\n\r\n", 1)
    lines = head.split(b"\r\n")
    assert lines[0] == b"HTTP/1.1 500 Internal Server Error", lines[0]
    assert b"\n" not in head.replace(b"\r\n", b""), "a header line ends in LF alone"
    headers = {k.strip().lower(): v.strip() for k, v in (line.split(b":", 1) for line in lines[1:])}
    assert headers[b"content-type"] == b"text/xml; charset=UTF-8", headers
    assert int(headers[b"content-length"]) == len(body), (headers[b"content-length"], len(body))
    assert b"x-skltp-correlation-id" not in headers and b"date" not in headers, "a per-answer header in a file"
    assert len(made) < 16384 - 1024, "larger than haproxy's buffer less its rewrite reserve: haproxy refuses it"
    # The body is the platform's VP012 for this reason, as an instance renders it.
    assert body == vp012(script.REASON).render(Settings.instance_name)


def assert_vp012(answer: requests.Response, when: str) -> None:
    """haproxy's answer is the platform's VP012: HTTP 500, a SOAP 1.1 fault, the body of the errorfile."""
    said = f"{when}: HTTP {answer.status_code} {answer.headers.get('Content-Type')!r}\n{answer.text[:400]}"
    assert answer.status_code == 500, said
    assert answer.headers.get("Content-Type") == "text/xml; charset=UTF-8", said
    envelope = ET.fromstring(answer.content)
    soap = "{http://schemas.xmlsoap.org/soap/envelope/}"
    fault = envelope.find(f"{soap}Body/{soap}Fault")
    assert envelope.tag == f"{soap}Envelope" and fault is not None, f"not a SOAP 1.1 fault: {said}"
    assert fault.findtext("faultcode") == "SOAP-ENV:Server", said
    assert (fault.findtext("faultstring") or "").startswith("VP012 "), said
    assert "haproxy has no mockplatform instance" in (fault.findtext("detail/detailString") or ""), said
    assert answer.content == ERRORFILE.read_bytes().split(b"\r\n\r\n", 1)[1], said


def soap_call(url: str) -> requests.Response:
    """One IsActiveUser, as a consumer sends it."""
    headers = {**XML, "x-skltp-correlation-id": str(uuid.uuid4())}
    return requests.post(url + "/vp", data=is_active_user(), headers=headers, timeout=30)


def wait_for_log(lb: Haproxy, line: str, what: str, timeout: float = 10) -> None:
    """Until haproxy's log has ``line`` (its health check's findings), at most ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while line not in lb.log_text():
        assert time.monotonic() < deadline, f"{what} within {timeout} s: no {line!r} in haproxy's log:\n{lb.log_text()}"
        time.sleep(0.1)


@pytest.mark.slow
def test_team_platform_answers_vp012_not_haproxys_html_when_no_instance_is_up(team: Team) -> None:
    lb = team.haproxy
    assert soap_call(lb.url).status_code == 200
    for instance in team.instances:
        instance.kill()
    # At once, while haproxy still takes both for up: both refuse the connection, the retries are used up.
    assert_vp012(soap_call(lb.url), "both instances just killed")
    # Once the health check has taken both out.
    wait_for_log(lb, NO_SERVER, "the health check did not take both instances out")
    assert_vp012(soap_call(lb.url), "both instances taken out by the health check")
    assert_vp012(requests.get(lb.url + "/status", timeout=30), "GET /status with no instance up")


@pytest.fixture
def own_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PostgresCluster]:
    """A PostgreSQL cluster of this test's own, to stop and start again."""
    why = why_no_postgresql()
    if why:
        skip_or_fail(why)
    with running_cluster(cluster_folder(tmp_path_factory)) as cluster:
        yield cluster


@pytest.mark.slow
def test_team_platform_answers_vp012_while_its_database_is_down_and_recovers(own_cluster: PostgresCluster,
                                                                             tmp_path: Path) -> None:
    with running_team(own_cluster.create_database(), tmp_path) as team:
        lb = team.haproxy
        assert soap_call(lb.url).status_code == 200
        own_cluster.stop()
        # The instances answer VP012 themselves, and /status 503: the health check takes both out.
        wait_for_log(lb, NO_SERVER, "the health check did not take both instances out with the database down")
        assert_vp012(soap_call(lb.url), "the database down, both instances out")
        own_cluster.start()
        # Back in after two good checks each (rise 2): the platform answers again.
        deadline = time.monotonic() + 15
        while (answer := soap_call(lb.url)).status_code != 200:
            assert time.monotonic() < deadline, f"no 200 within 15 s of the database's start: {answer.text[:300]}"
            time.sleep(0.2)
        for instance in team.instances:
            assert not instance.tracebacks(), instance.tracebacks()


@pytest.mark.slow
def test_team_platform_uses_a_fault_armed_on_one_instance_exactly_as_often_as_asked(team: Team) -> None:
    one, two = team.instances
    uses = 5
    armed = requests.post(f"{one.url}/admin/faults", json={"kind": "soap_fault", "contract": "IsActiveUser",
                                                           "count": uses, "text": "Teamtest fault"}, timeout=10)
    assert armed.status_code == 201, armed.text
    seen = requests.get(f"{two.url}/admin/faults", timeout=10).json()["faults"]
    assert [f["id"] for f in seen] == [armed.json()["id"]], f"instance 2 does not see the fault armed on 1: {seen}"

    answers = []  # (instance, correlation id, faulted) in the order sent: one after the other, 1, 2, 1, 2, ...
    for n in range(2 * uses + 4):
        server = (one, two)[n % 2]
        cid = f"fault-{n}-{uuid.uuid4()}"
        r = requests.post(server.url + "/vp", data=is_active_user(), headers={**XML, "x-skltp-correlation-id": cid},
                          timeout=30)
        faulted = r.status_code == 500 and "Teamtest fault" in r.text
        assert faulted or r.status_code == 200, (r.status_code, r.text[:300])
        answers.append((n % 2 + 1, cid, faulted))
    faulted = [a for a in answers if a[2]]
    assert len(faulted) == uses, f"the fault was used {len(faulted)} times, not {uses}: {answers}"
    assert [a[2] for a in answers] == [True] * uses + [False] * (len(answers) - uses), answers
    assert {a[0] for a in faulted} == {1, 2}, "both instances should have used the fault"
    for server in (one, two):
        assert requests.get(f"{server.url}/admin/faults", timeout=10).json()["faults"] == [], "the fault is used up"

    journal = Journal(team.database, read_only=True)
    try:
        injected = {ex.correlation_id: ex.injected for ex in journal.iter_exchanges()}
    finally:
        journal.close()
    assert set(injected) == {a[1] for a in answers}, "the journal should hold exactly the calls made"
    assert sorted(cid for cid, kind in injected.items() if kind) == sorted(a[1] for a in faulted), \
        "the journal should name the fault in exactly the calls that got it"

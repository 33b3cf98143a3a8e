"""Judging a journal: the demo loop end to end, the cases' verdicts, the CLI's exit codes, and the
pytest suite in contract_tests/ giving the same answer as `mockplatform verify`."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from mockplatform import Settings
from mockplatform.cli import main
from mockplatform.domains.inbox1177.demo import run_demo
from mockplatform.domains.inbox1177.names import ADD_MESSAGE_NS
from mockplatform.domains.inbox1177.sample_consumer import InboxConsumer
from mockplatform.localtime import zone
from mockplatform.producers.faults import FaultKind, InjectedFault
from mockplatform.protocol.model import CaseStatus, Verdict
from mockplatform.verification import VerifyOptions, verify

from .soap import ACTIVE_SMS_EMAIL, CONSUMER, INACTIVE, INBOX, SYSTEM_ID, UNIT, add_message, is_active_user

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def demo(tmp_path_factory) -> tuple[Path, int]:
    out = tmp_path_factory.mktemp("demo")
    return out, run_demo(out, say=lambda _: None)


def test_demo_plays_every_case_and_writes_a_demonstration_protocol(demo):
    """The demo passes every case, and its protocol says it is a demonstration: the sample consumer's calls
    carry a mark the journal keeps, and prove nothing of a system."""
    out, code = demo
    assert code == 0
    data = json.loads((out / "protocol.json").read_text(encoding="utf-8"))
    assert data["verdict"] == "demonstration"
    assert data["head"]["demonstration"] == data["exchanges_judged"] > 0
    assert [c["status"] for c in data["cases"]] == ["passed"] * 9
    assert "demonstration" in (out / "protocol.md").read_text(encoding="utf-8").lower()
    for name in ("protocol.html", "protocol.docx", "protocol.md", "protocol.json", "junit.xml"):
        assert (out / name).stat().st_size > 0
    tc09 = next(c for c in data["cases"] if c["id"] == "TC-09")
    assert [e["vp_code"] for e in tc09["evidence"]][:2] == ["VP009", None]


def test_every_passed_case_carries_evidence_with_hashes(demo):
    out, _ = demo
    protocol = verify(VerifyOptions(journal=out / "journal.sqlite"))
    for case in protocol.cases:
        assert case.status is CaseStatus.PASSED
        assert case.evidence, case.id
        for ev in case.evidence:
            assert len(ev.request_sha256) == 64 and len(ev.response_sha256) == 64
            assert ev.correlation_id and ev.time and ev.excerpt


def test_contract_suite_and_verify_command_agree(demo, tmp_path):
    out, _ = demo
    journal = out / "journal.sqlite"
    suite = subprocess.run(
        [sys.executable, "-m", "pytest", "contract_tests", "-p", "no:cacheprovider", "-o", "testpaths=contract_tests",
         "-q", "--journal", str(journal), "--out", str(tmp_path / "suite")],
        cwd=ROOT, capture_output=True, text=True, timeout=120)
    # The demo's journal is a demonstration: neither the suite nor verify calls it a pass.
    assert suite.returncode == 1, suite.stdout + suite.stderr
    assert "FAILED contract_tests/test_protocol.py::test_journal_is_not_a_demonstration" in suite.stdout
    assert "1 failed" in suite.stdout
    assert main(["verify", "--journal", str(journal), "--out", str(tmp_path / "cli")]) == 1
    a = json.loads((tmp_path / "suite" / "protocol.json").read_text())
    b = json.loads((tmp_path / "cli" / "protocol.json").read_text())
    assert [(c["id"], c["status"]) for c in a["cases"]] == [(c["id"], c["status"]) for c in b["cases"]]


def test_empty_journal_is_not_a_pass(start_platform, tmp_path):
    running = start_platform()
    running.app.close()
    code = main(["verify", "--journal", str(running.app.journal.path), "--out", str(tmp_path / "out")])
    assert code == 1
    data = json.loads((tmp_path / "out" / "protocol.json").read_text())
    assert data["verdict"] == "incomplete"
    assert all(c["status"] == "not_run" for c in data["cases"])


def test_missing_journal_is_exit_3_and_bad_options_exit_2(tmp_path, capsys):
    assert main(["verify", "--journal", str(tmp_path / "nope.sqlite"), "--out", str(tmp_path)]) == 3
    assert "no journal here" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exc:
        main(["verify", "--no-such-option"])
    assert exc.value.code == 2
    (tmp_path / "bad.toml").write_text("system_nam = 'typo'\n")
    assert main(["verify", "--journal", str(tmp_path / "nope.sqlite"), "--describe", str(tmp_path / "bad.toml")]) == 2


def test_unwritable_output_is_exit_3(demo, tmp_path):
    out, _ = demo
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    assert main(["verify", "--journal", str(out / "journal.sqlite"), "--out", str(blocker / "sub")]) == 3


def test_not_run_case_says_what_to_do(platform, tmp_path):
    platform.post(is_active_user(ACTIVE_SMS_EMAIL))
    protocol = verify(VerifyOptions(journal=platform.app.journal.path))
    cases = {c.id: c for c in protocol.cases}
    assert cases["TC-01"].status is CaseStatus.PASSED
    assert cases["TC-03"].status is CaseStatus.NOT_RUN and "plain text" in cases["TC-03"].how_to_run
    assert not cases["TC-03"].evidence
    assert protocol.verdict is Verdict.INCOMPLETE
    assert main(["verify", "--journal", str(platform.app.journal.path), "--out", str(tmp_path),
                 "--allow-not-run"]) == 0


def test_a_case_fails_with_the_violations_of_its_exchanges(platform):
    platform.post(add_message(ACTIVE_SMS_EMAIL, description=None, source_system=None))  # plain text, accepted
    protocol = verify(VerifyOptions(journal=platform.app.journal.path))
    tc03 = next(c for c in protocol.cases if c.id == "TC-03")
    assert tc03.status is CaseStatus.FAILED
    ids = {f.rule_id for _, f in tc03.findings}
    assert {"INBOX-MESSAGE-DESCRIPTION", "INBOX-SOURCE-SYSTEM"} <= ids, ids
    assert protocol.verdict is Verdict.NONCONFORMANT


def test_resending_after_a_logical_error_fails_tc08(platform):
    platform.post(is_active_user(INACTIVE))
    for _ in range(2):
        platform.post(add_message(INACTIVE, text="Samma text"))
    tc08 = next(c for c in verify(VerifyOptions(journal=platform.app.journal.path)).cases if c.id == "TC-08")
    assert tc08.status is CaseStatus.FAILED
    assert [f.rule_id for _, f in tc08.findings] == ["CASE-LOGICAL-ERROR-RESENT"]


def test_retry_sooner_than_the_backoff_fails_tc09(start_platform):
    running = start_platform(settings=Settings(connect_retry_delay_s=0))
    hasty = InboxConsumer(running.url + "/vp", INBOX, SYSTEM_ID, CONSUMER, backoff_s=(0.2,))
    running.app.faults.add(InjectedFault(FaultKind.CONNECTION_REFUSED, count=1))
    assert hasty.is_active_user(ACTIVE_SMS_EMAIL)[0] is True
    tc09 = next(c for c in verify(VerifyOptions(journal=running.app.journal.path)).cases if c.id == "TC-09")
    assert tc09.status is CaseStatus.FAILED
    # the retry's timing is what TC-09 demonstrates: the profile's warning becomes the case's own error
    assert [(f.rule_id, f.severity.value) for _, f in tc09.findings] == [("CASE-RETRY-TOO-SOON", "error")]
    assert [e.vp_code for e in tc09.evidence] == ["VP009", None]


def test_time_window_and_consumer_select_the_judged_exchanges(platform):
    platform.post(is_active_user(ACTIVE_SMS_EMAIL))
    platform.post(is_active_user(ACTIVE_SMS_EMAIL), headers={"x-vp-sender-id": "SE2321000016-8KVR"})
    journal = platform.app.journal.path
    assert verify(VerifyOptions(journal=journal)).exchanges_judged == 2
    assert verify(VerifyOptions(journal=journal, consumer="se2321000016-8kvr")).exchanges_judged == 1
    assert verify(VerifyOptions(journal=journal, since="2999-01-01")).exchanges_judged == 0
    assert verify(VerifyOptions(journal=journal, until="2000-01-01")).exchanges_judged == 0
    platform.app.journal.mark_reset("2999-01-01T00:00:00.000000+00:00")
    assert verify(VerifyOptions(journal=journal, since_reset=True)).exchanges_judged == 0


def test_a_time_without_a_zone_is_swedish_local_time_as_the_protocol_shows_it(platform):
    """The protocol shows 10:30 CET for an exchange at 09:30 UTC: --since 10:00 takes it in, 10:45 leaves it out."""
    platform.post(is_active_user(ACTIVE_SMS_EMAIL))
    when = datetime.fromisoformat(platform.app.journal.exchanges()[0].time)
    local = when.astimezone(zone())
    journal = platform.app.journal.path
    before, after = (local - timedelta(minutes=1)), (local + timedelta(minutes=1))
    naive = "%Y-%m-%dT%H:%M:%S"
    assert verify(VerifyOptions(journal=journal, since=before.strftime(naive))).exchanges_judged == 1
    assert verify(VerifyOptions(journal=journal, since=after.strftime(naive))).exchanges_judged == 0
    assert verify(VerifyOptions(journal=journal, until=before.strftime(naive))).exchanges_judged == 0
    # with a zone it is that zone's time
    assert verify(VerifyOptions(journal=journal, since=after.astimezone(UTC).isoformat())).exchanges_judged == 0
    assert verify(VerifyOptions(journal=journal,
                                since=(when - timedelta(minutes=1)).strftime(naive) + "Z")).exchanges_judged == 1


def test_head_carries_contract_digests_period_and_cost(platform):
    platform.post(add_message(ACTIVE_SMS_EMAIL, unit_id=UNIT))
    from mockplatform.verification import Description

    protocol = verify(VerifyOptions(journal=platform.app.journal.path,
                                    description=Description(system_name="X", messages_per_year=75_000)))
    head = protocol.head
    assert {c.name for c in head.contracts} == {"IsActiveUser", "AddMessageToPatientPortalInbox"}
    assert all(len(c.sha256) == 64 for c in head.contracts)
    assert head.period_from and head.period_from == head.period_to
    assert round(head.cost.per_year_sek) == 214_999


def test_a_corrected_resend_after_a_client_fault_is_not_a_retry(platform):

    platform.post(is_active_user(ACTIVE_SMS_EMAIL))
    assert platform.post(add_message(ACTIVE_SMS_EMAIL, message_ns=ADD_MESSAGE_NS)).status_code == 500  # schema
    assert platform.post(add_message(ACTIVE_SMS_EMAIL)).status_code == 200  # fixed and sent again at once
    protocol = verify(VerifyOptions(journal=platform.app.journal.path))
    tc09 = next(c for c in protocol.cases if c.id == "TC-09")
    assert tc09.status is CaseStatus.NOT_RUN and "technical fault" not in tc09.how_to_run
    retry = next(r for r in protocol.rules if r.rule_id == "PP-RETRY-BACKOFF")
    assert retry.violations == 0


def test_same_text_threshold_is_an_option(platform, tmp_path):
    platform.post(is_active_user(ACTIVE_SMS_EMAIL))
    platform.post(is_active_user("198505133283"))
    for pnr in (ACTIVE_SMS_EMAIL, "198505133283"):
        platform.post(add_message(pnr, text="Samma information till alla"))
    journal = str(platform.app.journal.path)

    def general(threshold: str) -> int:
        main(["verify", "--journal", journal, "--out", str(tmp_path), "--same-text-threshold", threshold])
        rules = json.loads((tmp_path / "protocol.json").read_text())["rules"]
        return next(r for r in rules if r["rule_id"] == "INBOX-GENERAL-INFORMATION")["violations"]

    assert general("2") == 1 and general("3") == 0
    assert main(["verify", "--journal", journal, "--out", str(tmp_path), "--same-text-threshold", "1"]) == 2


def test_verify_counts_what_each_rule_checked_on_the_one_judging_path(demo, monkeypatch):
    """The rule table's "checked" comes from the judging itself (``Profile.judge``), not from a second loop:
    a rule the profile does not apply to a request is not counted for it, and every application is."""
    from mockplatform import domains
    from mockplatform.rules import Profile

    applied: dict[str, int] = {}
    original = Profile.iter_request_findings

    def counting(self, view, ctx, checked=None):
        if ctx.selects(view):
            for info in self.rules:
                if info.scope == "request" and self.applies(info, view):
                    applied[info.id] = applied.get(info.id, 0) + 1
        return original(self, view, ctx, checked)

    monkeypatch.setattr(Profile, "iter_request_findings", counting)
    protocol = verify(VerifyOptions(journal=demo[0] / "journal.sqlite"))
    profile = domains.profile(None)
    for rule in protocol.rules:
        if profile.rule(rule.rule_id).scope == "request":
            assert rule.checked == applied.get(rule.rule_id, 0), rule.rule_id
    source = (Path(verify.__code__.co_filename)).read_text()
    assert "checked[" not in source  # the engine keeps no count of its own


def _bench():
    sys.path.insert(0, str(ROOT / "benchmarks"))
    try:
        import verify_bench
    finally:
        sys.path.pop(0)
    return verify_bench


def _judged(journal: Path, **options) -> dict:
    from mockplatform.protocol.json_format import protocol_to_dict

    data = protocol_to_dict(verify(VerifyOptions(journal=journal, **options)))
    data["head"].pop("created")
    return data


@pytest.mark.parametrize("method", ["fork", "spawn"])
def test_worker_processes_judge_a_journal_as_one_process_does(demo, tmp_path, monkeypatch, method):
    """A large journal is prepared by worker processes (``verification.parallel``), range by range, and judged
    on the one path: the protocol is the one a single process makes, every figure, finding and piece of
    evidence of it; for a journal with faults, retries, resends, out-of-order times and every rule broken, for
    the demo's, with a selection, and with ranges of a few exchanges (many of them empty)."""
    from mockplatform.verification import parallel

    varied = tmp_path / "varied.sqlite"
    _bench().build_varied_journal(varied, 1500, seed=7)
    booking = tmp_path / "booking.sqlite"
    _web_booking_journal(booking)
    journals = [(varied, {}), (varied, {"consumer": "SE2321000016-8KVR", "same_text_threshold": 3}),
                (demo[0] / "journal.sqlite", {}), (booking, {"profile": "web-booking"})]
    alone = [_judged(journal, **options) for journal, options in journals]
    monkeypatch.setattr(parallel, "PARALLEL_FROM", 0)
    monkeypatch.setattr(parallel, "CHUNK", 97)
    # spawn: what a process with other threads (a server) does: its workers start afresh
    monkeypatch.setattr(parallel.threading, "active_count", lambda: 1 if method == "fork" else 2)
    monkeypatch.setattr(parallel.os, "cpu_count", lambda: 2)
    for (journal, options), expected in zip(journals, alone, strict=True):
        assert _judged(journal, **options) == expected
        run = parallel.last_run
        assert run.workers == 2 and run.method == method and run.worker_peak_mb > 0
    assert alone[0]["exchanges_judged"] > 1400 and {c["status"] for c in alone[0]["cases"]} == {"failed"}
    broken = {r["rule_id"] for data in alone[:2] for r in data["rules"] if r["violations"]}
    assert broken == {r["rule_id"] for r in alone[0]["rules"]} - {"PP-BATCH-SIZE"}  # (it takes 1000 messages)


@pytest.mark.parametrize("trouble", ["raises", "dies"])
def test_a_worker_that_fails_ends_the_run_with_its_error(demo, monkeypatch, trouble):
    """What goes wrong in a worker process is raised in the judging process (a worker that dies: an error that
    says so), never a wait for results that will not come."""
    import os

    from mockplatform.journal import JournalError
    from mockplatform.verification import parallel

    def broken(after: int, through: int) -> bytes:
        if trouble == "dies":
            os._exit(3)
        raise ValueError(f"no range {after}-{through} today")

    monkeypatch.setattr(parallel, "PARALLEL_FROM", 0)
    monkeypatch.setattr(parallel, "CHUNK", 5)
    monkeypatch.setattr(parallel.os, "cpu_count", lambda: 2)
    monkeypatch.setattr(parallel.threading, "active_count", lambda: 1)  # forked: the workers inherit ``broken``
    monkeypatch.setattr(parallel, "_prepare_range", broken)
    expected = ValueError if trouble == "raises" else JournalError  # (exit 3: the journal could not be judged)
    with pytest.raises(expected, match="no range 0-5 today" if trouble == "raises" else "stopped \\(exit code 3\\)"):
        verify(VerifyOptions(journal=demo[0] / "journal.sqlite"))
    assert parallel.last_run.method == "fork"


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads processes from /proc")
def test_workers_end_when_the_judging_process_is_killed(tmp_path):
    """A judging process killed (SIGKILL: nothing of it runs) leaves no worker behind, even one waiting to send
    ranges it was slow to read: a worker's sends fail once the process is gone (the worker holds no read end of
    any pipe itself), and it stops."""
    import os
    import time

    journal = tmp_path / "varied.sqlite"
    _bench().build_varied_journal(journal, 3000, seed=5)
    script = (
        "import pickle, sys, time\n"
        f"sys.path.insert(0, {str(Path(__file__).resolve().parent.parent)!r})\n"
        "from mockplatform.verification import VerifyOptions, parallel, verify\n"
        "parallel.PARALLEL_FROM, parallel.CHUNK = 0, 400\n"
        "parallel.os.cpu_count = lambda: 2\n"
        "class Slow:  # this process takes each range back slowly: the workers' pipes fill up\n"
        "    def __getattr__(self, name): return getattr(pickle, name)\n"
        "    def loads(self, data): time.sleep(2); return pickle.loads(data)\n"
        "parallel.pickle = Slow()\n"
        f"verify(VerifyOptions(journal={str(journal)!r}))\n"
    )
    proc = subprocess.Popen([sys.executable, "-c", script])

    def children() -> list[int]:
        out = subprocess.run(["pgrep", "-P", str(proc.pid)], capture_output=True, text=True).stdout
        return [int(pid) for pid in out.split()]

    deadline = time.monotonic() + 30
    while len(workers := children()) < 2 and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.05)
    assert len(workers) == 2, "the workers did not start"
    time.sleep(0.5)  # at work, with ranges sent and not read
    proc.kill()
    proc.wait()

    def running(pid: int) -> bool:
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0]
        except FileNotFoundError:
            return False
        return state != "Z"  # (an orphan that ended waits as a zombie where nothing reaps it)

    deadline = time.monotonic() + 10
    while any(running(pid) for pid in workers) and time.monotonic() < deadline:
        time.sleep(0.1)
    left = [pid for pid in workers if running(pid)]
    for pid in left:
        os.kill(pid, 9)
    assert not left, "workers outlived the judging process"


def _web_booking_journal(path: Path) -> None:
    """Sessions of 1177 with a booking system: its answers (one now and then a fault, or too slow) and its index
    posts (some late, some missing), recorded in an order a little off their times."""
    from mockplatform.journal import Journal

    from . import test_web_booking_rules as wb

    journal = Journal(path)
    for k in range(60):
        at, booking = k * 120.0, f"BK-{k}"
        for exchange in (wb.schedule(wb.slot(booking_id=booking), seconds=at),
                         wb.details(booking, seconds=at + 1, producer_ms=4000.0 if k % 7 == 0 else 40.0),
                         wb.make_booking(booking_id=booking, seconds=at + 2),
                         wb.update(wb.post(booking), seconds=at + 3 + (k % 3) * 10),
                         wb.rebook(booking, seconds=at + 20),
                         *([] if k % 4 == 0 else [wb.update(wb.post(booking, most_recent="20261211080000"),
                                                            seconds=at + 21)]),
                         wb.cancel(booking, seconds=at + 30),
                         wb.update(wb.post(booking, delete=True), seconds=at + 31),
                         wb.details(booking, status=500, answer=wb.fault("boom"), seconds=at + 40)):
            journal.record(exchange)
    journal.close()


def test_a_small_journal_is_judged_in_one_process(demo):
    from mockplatform.verification import parallel

    verify(VerifyOptions(journal=demo[0] / "journal.sqlite"))
    assert parallel.last_run.workers == 0

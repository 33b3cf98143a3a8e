"""The protocol as evidence: what it discloses (injected answers, how the consumer was identified, the demo's
calls), and ``protocol check``, which judges the journal again and says whether a protocol matches it."""

from __future__ import annotations

import json
import re
import sys
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from mockplatform.cli import main
from mockplatform.producers.faults import FaultKind, InjectedFault
from mockplatform.protocol import write_all
from mockplatform.protocol.model import CaseStatus, Verdict
from mockplatform.verification import VerifyOptions, verify

from .soap import ACTIVE_SMS_EMAIL, CONSUMER, add_message, is_active_user

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "python_consumer"
UNIT, UNIT_NAME = "SE2321000016-A1B2", "Vårdcentralen Exempelby"


@pytest.fixture
def held_out(platform):
    """A consumer that is not mockplatform's own: the example client (zeep), with one injected logical ERROR
    for a citizen the platform knows as active."""
    sys.path.insert(0, str(EXAMPLE))
    try:
        from inbox_client import InboxClient
    finally:
        sys.path.remove(str(EXAMPLE))
    client = InboxClient(platform.url, "SE5565594230-1177", CONSUMER, CONSUMER, sleep=lambda s: None, timeout_s=5)
    client.send(ACTIVE_SMS_EMAIL, UNIT, UNIT_NAME, "Kallelse", "Välkommen på besök.")
    platform.app.faults.add(InjectedFault(FaultKind.LOGICAL_ERROR, count=1, text="Target person is not active user"))
    client.send(ACTIVE_SMS_EMAIL, UNIT, UNIT_NAME, "Påminnelse", "Påminnelse om besöket.")
    client.is_active(ACTIVE_SMS_EMAIL)  # the test goes on: a later call, as if 10 s later
    _later(platform.app.journal, seconds=10)
    return platform


def _later(journal, seconds: float) -> None:
    """Move the newest exchange ``seconds`` later (the judged period then goes on that long)."""
    newest = journal.exchanges(newest_first=True, limit=1)[0]
    moved = (datetime.fromisoformat(newest.time) + timedelta(seconds=seconds)).isoformat(timespec="microseconds")
    journal.write(lambda conn: conn.execute("UPDATE exchanges SET time = ? WHERE id = ?", (moved, newest.id)))


def test_injected_answers_are_marked_in_every_format_and_counted(held_out, tmp_path):
    protocol = verify(VerifyOptions(journal=held_out.app.journal.path))
    assert protocol.head.injected == {"logical_error": 1}
    tc08 = next(c for c in protocol.cases if c.id == "TC-08")
    assert tc08.status is CaseStatus.PASSED
    assert "Proven only by injected answers (logical_error)" in tc08.note  # the citizen is active (TC-01)
    assert [e.injected for e in tc08.evidence] == ["logical_error"]
    written = write_all(protocol, tmp_path)
    for fmt in ("html", "md", "json", "junit"):
        text = written[fmt].read_text(encoding="utf-8")
        assert "logical_error" in text and "injected" in text.lower(), fmt
        assert "Proven only by injected answers" in text, fmt
    import docx

    document = docx.Document(str(written["docx"]))
    body = "\n".join(p.text for p in document.paragraphs) + "\n".join(
        c.text for t in document.tables for r in t.rows for c in r.cells)
    assert "logical_error" in body and "Proven only by injected answers" in body


def test_how_the_consumer_was_identified_is_told_per_exchange_and_summed(platform, tmp_path):
    platform.post(is_active_user(ACTIVE_SMS_EMAIL), headers={"x-vp-sender-id": CONSUMER, "User-Agent": "mine/1.0"})
    platform.post(add_message(ACTIVE_SMS_EMAIL))  # nothing sent: the default consumer
    exchanges = platform.app.journal.exchanges()
    assert [e.identified_by for e in exchanges] == ["sender-header", "default"]
    protocol = verify(VerifyOptions(journal=platform.app.journal.path))
    assert protocol.head.identified == {"default": 1, "sender-header": 1}
    evidence = next(c for c in protocol.cases if c.id == "TC-01").evidence[0]
    assert (evidence.identified_by, evidence.user_agent, evidence.client) == ("sender-header", "mine/1.0",
                                                                               exchanges[0].client)
    md = write_all(protocol, tmp_path)["md"].read_text(encoding="utf-8")
    assert "declared, not proven" in md and "mine/1.0" in md


def test_the_demo_is_never_conformant_for_a_described_system(tmp_path):
    from mockplatform.domains.inbox1177.demo import run_demo

    assert run_demo(tmp_path / "demo", say=lambda _: None) == 0
    describe = tmp_path / "system.toml"
    describe.write_text('system_name = "Journalsystem X 1.0"\norganisation = "Region X"\n', encoding="utf-8")
    code = main(["verify", "--journal", str(tmp_path / "demo" / "journal.sqlite"), "--describe", str(describe),
                 "--out", str(tmp_path / "out")])
    data = json.loads((tmp_path / "out" / "protocol.json").read_text(encoding="utf-8"))
    assert code == 1 and data["verdict"] == Verdict.DEMONSTRATION.value
    assert "demonstration" in (tmp_path / "out" / "protocol.html").read_text(encoding="utf-8").lower()


def test_protocol_check_passes_a_true_protocol_and_fails_an_edited_one(held_out, tmp_path, capsys):
    journal = held_out.app.journal.path
    protocol = verify(VerifyOptions(journal=journal, consumer=CONSUMER))
    path = write_all(protocol, tmp_path / "p")["json"]
    assert main(["protocol", "check", str(path), "--journal", str(journal)]) == 0
    assert "matches its journal" in capsys.readouterr().out
    data = json.loads(path.read_text(encoding="utf-8"))
    for edit in ("verdict", "case", "hash"):
        changed = json.loads(json.dumps(data))
        if edit == "verdict":
            changed["verdict"] = "conformant" if data["verdict"] != "conformant" else "nonconformant"
        elif edit == "case":
            changed["cases"][-1]["status"] = "passed" if changed["cases"][-1]["status"] != "passed" else "failed"
        else:
            changed["cases"][0]["evidence"][0]["request_sha256"] = "0" * 64
        forged = tmp_path / f"{edit}.json"
        forged.write_text(json.dumps(changed), encoding="utf-8")
        assert main(["protocol", "check", str(forged), "--journal", str(journal)]) == 1, edit
        assert "does NOT match" in capsys.readouterr().out


def test_protocol_check_reads_a_1_3_file_without_subject_and_checks_a_1_4_files_subject(platform, tmp_path, capsys):
    platform.post(is_active_user(ACTIVE_SMS_EMAIL))
    journal = platform.app.journal.path
    path = write_all(verify(VerifyOptions(journal=journal)), tmp_path / "p")["json"]
    data = json.loads(path.read_text(encoding="utf-8"))
    assert data["format_version"] == "1.4" and data["head"]["subject"] == "consumer"
    older = json.loads(json.dumps(data))
    older["format_version"] = "1.3"
    del older["head"]["subject"]
    (tmp_path / "1.3.json").write_text(json.dumps(older), encoding="utf-8")
    assert main(["protocol", "check", str(tmp_path / "1.3.json"), "--journal", str(journal)]) == 0
    assert "matches its journal" in capsys.readouterr().out
    data["head"]["subject"] = "service-provider"  # worded as another kind of system than its profile tests
    (tmp_path / "forged.json").write_text(json.dumps(data), encoding="utf-8")
    assert main(["protocol", "check", str(tmp_path / "forged.json"), "--journal", str(journal)]) == 1
    out = capsys.readouterr().out
    assert "does NOT match" in out and "head subject" in out


def test_protocol_check_names_what_it_cannot_read(tmp_path, capsys):
    bad = tmp_path / "x.json"
    bad.write_text("{}", encoding="utf-8")
    assert main(["protocol", "check", str(bad)]) == 2
    assert "not a mockplatform protocol.json" in capsys.readouterr().err
    assert main(["protocol", "check", str(tmp_path / "missing.json")]) == 3


def test_tc08_says_the_window_it_watched_or_that_it_could_not_be_judged(platform):
    platform.post(is_active_user(ACTIVE_SMS_EMAIL))
    platform.app.faults.add(InjectedFault(FaultKind.LOGICAL_ERROR, count=1, text="Target person is not active user"))
    platform.post(add_message(ACTIVE_SMS_EMAIL))  # answered ERROR, and the judged period ends at once
    tc08 = next(c for c in verify(VerifyOptions(journal=platform.app.journal.path)).cases if c.id == "TC-08")
    assert tc08.status is CaseStatus.NOT_RUN and "Could not be judged" in tc08.how_to_run
    assert "Kunde inte bedömas" in tc08.how_to_run  # the note is said in Swedish as well
    platform.post(is_active_user(ACTIVE_SMS_EMAIL))
    _later(platform.app.journal, seconds=30)
    tc08 = next(c for c in verify(VerifyOptions(journal=platform.app.journal.path)).cases if c.id == "TC-08")
    # 30 s moved on, plus however long the two calls took on a busy machine
    assert tc08.status is CaseStatus.PASSED
    assert re.search(r"No resend within 3\d\.\d s after the ERROR answer", tc08.note)


def test_a_schema_invalid_request_fails_the_case_it_was_attempting(platform):
    """A DocBook message that breaks the schema belongs to TC-04 (it attempted it), and fails it, even when a
    later, corrected one was accepted."""
    from mockplatform.domains.inbox1177.sample_consumer import docbook_article

    article = docbook_article("Kallelse", ["Välkommen."])
    platform.post(is_active_user(ACTIVE_SMS_EMAIL))
    broken = add_message(ACTIVE_SMS_EMAIL, text=article).replace(b"<sourceSystem>", b"<unknownElement/><sourceSystem>")
    assert platform.post(broken).status_code == 500
    assert platform.post(add_message(ACTIVE_SMS_EMAIL, text=article)).status_code == 200
    tc04 = next(c for c in verify(VerifyOptions(journal=platform.app.journal.path)).cases if c.id == "TC-04")
    assert tc04.status is CaseStatus.FAILED and any(f.rule_id == "SCHEMA" for _, f in tc04.findings)
    assert [e.http_status for e in tc04.evidence] == [500, 200]


def test_verify_tells_a_terminal_how_far_it_has_come(platform, monkeypatch):
    from mockplatform.verification import engine

    for _ in range(3):
        platform.post(is_active_user(ACTIVE_SMS_EMAIL))
    monkeypatch.setattr(engine, "PROGRESS_EVERY", 1)
    seen: list[int] = []
    verify(VerifyOptions(journal=platform.app.journal.path), progress=seen.append)
    assert seen == [1, 2, 3]


def test_verify_memory_does_not_grow_with_the_journal(tmp_path, monkeypatch):
    """Judging holds the reorder window and the rules' state per citizen, thread or text, never every request:
    each exchange more costs the peak a few hundred bytes here (this journal has a new text and a new thread in
    most messages, which is state the rules keep), where keeping every judged request took over 3 KB."""
    import tracemalloc

    from mockplatform.rules import base

    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))
    try:
        from verify_bench import build_journal
    finally:
        sys.path.pop(0)
    monkeypatch.setattr(base, "REORDER", 50)
    warm = tmp_path / "warm.sqlite"  # what is loaded once (schemas, fixtures) is not what is measured
    build_journal(warm, 100)
    verify(VerifyOptions(journal=warm))
    peaks = []
    for count in (500, 2500):
        journal = tmp_path / f"j{count}.sqlite"
        build_journal(journal, count)
        tracemalloc.start()
        verify(VerifyOptions(journal=journal))
        peaks.append(tracemalloc.get_traced_memory()[1])
        tracemalloc.stop()
    assert (peaks[1] - peaks[0]) / 2000 < 1536, peaks  # bytes of peak per exchange more


def test_the_exchange_page_gives_the_fix_in_swedish_first(platform):
    """A finding's hint on the journal page: Swedish first, then English, as the protocol has it."""
    import requests

    platform.post(add_message(ACTIVE_SMS_EMAIL, description=None))  # no heading: INBOX-MESSAGE-DESCRIPTION
    exchange = platform.app.journal.exchanges()[-1]
    page = requests.get(f"{platform.url}/ui/journal/{exchange.id}", timeout=10).text
    at = page.index("Åtgärd:")
    sv, en = page.index("lägg till", at), page.index("add a short heading", at)
    assert sv < en


def test_times_in_finding_texts_are_swedish_local_time():
    """A batch's start and end in PP-BATCH-SIZE are written as the protocol writes times (they were UTC)."""
    from datetime import UTC

    from mockplatform.domains.inbox1177.behaviour_rules import _clock

    assert _clock(datetime(2026, 7, 1, 10, 0, 0, tzinfo=UTC).timestamp()) == "2026-07-01 12:00:00 CEST"


def test_a_case_keeps_a_few_examples_of_its_evidence_however_much_there_is():
    """A judge counts all its evidence but holds only MAX_EVIDENCE examples of each kind (and when they came):
    what it keeps does not grow with the journal."""
    from mockplatform.journal import Exchange
    from mockplatform.rules import RequestView
    from mockplatform.rules.cases import MAX_EVIDENCE, Outcome

    outcome = Outcome()
    for i in range(1, 1001):
        exchange = Exchange("t", 1.0, "c", "POST", "/vp", [], b"", 200, [], b"", id=i)
        outcome.add(RequestView(exchange, None, None, None))
        outcome.add_id(10_000 + i, failing=True)
    assert outcome.seen == 2000 and len(outcome.right) == len(outcome.wrong) == MAX_EVIDENCE
    assert len(outcome._order) == 2 * MAX_EVIDENCE
    assert [v if isinstance(v, int) else v.exchange.id for v in outcome.shown()] == [10_001 + i for i in range(5)]

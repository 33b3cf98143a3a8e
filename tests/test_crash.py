"""kill -9 in the middle of heavy traffic, then a restart on the same journal.

The journal commits before the answer leaves, so every exchange whose answer reached its client must
survive; the database must be intact; and the inbox must agree with the journal (a message for every
AddMessage answered OK, none without its exchange), because both are written in one transaction.
"""

from __future__ import annotations

import sqlite3
import threading
import time

import pytest

from mockplatform.domains.inbox1177.store import sync_inbox
from mockplatform.journal import Journal

from .test_load import check_answers, check_journal_has_each_answer_once, journal_rows, run_clients, serving


@pytest.fixture
def serve(tmp_path):
    yield from serving(tmp_path)


@pytest.mark.slow
def test_answered_exchanges_survive_kill_minus_nine_and_the_inbox_matches_the_journal(serve, tmp_path, capsys):
    journal = tmp_path / "journal.sqlite"
    server = serve(journal)
    result = {}
    load = threading.Thread(target=lambda: result.setdefault(
        "tally", run_clients(server, clients=16, seconds=10.0, stop_on_error=True, seed=3)), daemon=True)
    load.start()
    time.sleep(2.0)
    server.kill()
    load.join(timeout=30)
    tally = result["tally"]
    assert tally.answered and tally.errors, "the kill must land in the middle of the traffic"
    check_answers(tally)

    again = serve(journal)  # the same journal: it must open, recover its WAL and go on
    after = run_clients(again, clients=2, seconds=5.0, per_client=20, seed=4)
    assert not after.errors and len(after.answered) == 40
    check_answers(after)
    again.stop()

    reader = Journal(journal)  # the inbox takes its messages from the journal when read
    sync_inbox(reader)
    reader.close()
    conn = sqlite3.connect(journal)
    try:
        assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        rows = journal_rows(journal)
        check_journal_has_each_answer_once(tally, rows)
        check_journal_has_each_answer_once(after, rows)
        in_flight = tally.sent - set(tally.answered)
        assert set(rows) <= tally.sent | after.sent, "the journal holds exchanges no client sent"

        ok_adds = {cid for cid, (kind, _, data) in tally.answered.items()
                   if kind.name == "AddMessage" and b"<resultCode>OK</resultCode>" in data}
        stored = dict(conn.execute(
            "SELECT m.correlation_id, count(*) FROM inbox_messages m GROUP BY m.correlation_id").fetchall())
        assert not [cid for cid in ok_adds if stored.get(cid) != 1], "an answered AddMessage has no message"
        orphans = conn.execute(
            "SELECT count(*) FROM inbox_messages m LEFT JOIN exchanges e ON e.id = m.exchange_id "
            "WHERE e.id IS NULL OR e.correlation_id IS NOT m.correlation_id OR e.http_status != 200").fetchone()[0]
        assert orphans == 0, "a message without its exchange"
        unstored = conn.execute(
            "SELECT count(*) FROM exchanges e WHERE instr(e.response_body, '<resultCode>OK</resultCode>') "
            "AND NOT EXISTS (SELECT 1 FROM inbox_messages m WHERE m.exchange_id = e.id)").fetchone()[0]
        assert unstored == 0, "a journaled OK without its message (also for answers the kill cut off)"
    finally:
        conn.close()
    with capsys.disabled():
        print(f"\ncrash: {len(tally.answered)} answered exchanges checked after kill -9 "
              f"({len(ok_adds)} AddMessage OK), {len(in_flight)} in flight, {len(after.answered)} after the restart")

"""Finding exchanges by correlation id: in the writing process from its own map, beside it by a scan."""

from __future__ import annotations

import sqlite3
import threading

from mockplatform.journal import Exchange, Journal


def _exchange(correlation_id: str) -> Exchange:
    return Exchange(time="2026-11-26T12:00:00.000000+00:00", duration_ms=1.0, client="127.0.0.1:1", method="POST",
                    path="/vp", request_headers=[], request_body=b"<x/>", http_status=200, response_headers=[],
                    response_body=b"<y/>", correlation_id=correlation_id)


def test_lookup_by_correlation_id_follows_writes_and_resets(tmp_path):
    journal = Journal(tmp_path / "j.sqlite")
    try:
        first = journal.record(_exchange("a"))
        assert [e.id for e in journal.exchanges(correlation_id="a")] == [first]  # the map is built here
        second = journal.record(_exchange("a"))
        journal.record(_exchange("b"))
        held: list = []
        with journal.holding(held):
            journal.record(_exchange("a"))
        assert len(journal.exchanges(correlation_id="a")) == 2, "held, not yet committed"
        journal.commit(held)
        assert [e.id for e in journal.exchanges(correlation_id="a")] == [first, second, held[0].exchange.id]
        assert journal.exchanges(correlation_id="missing") == []

        reader = Journal(tmp_path / "j.sqlite", read_only=True)  # e.g. `mockplatform journal` beside the server
        assert len(reader.exchanges(correlation_id="a")) == 3
        reader.close()

        journal.write(lambda conn: conn.execute("DELETE FROM exchanges WHERE correlation_id = 'a'"))
        assert journal.exchanges(correlation_id="a") == []
        assert [e.correlation_id for e in journal.exchanges(correlation_id="b")] == ["b"]
        journal.record(_exchange("a"))
        assert len(journal.exchanges(correlation_id="a")) == 1

        for _ in range(150):  # an id a consumer reuses for everything: more ids than one query may name
            journal.record(_exchange("reused"))
        assert len(journal.exchanges(correlation_id="reused")) == 150
    finally:
        journal.close()


def test_exchange_ids_never_go_back_not_even_after_a_reset_or_a_restart(tmp_path):
    """A reader that follows the journal by id (the web page's live view, ``/admin/journal?after=``) must
    not miss what comes after a reset: ids go on from the highest ever given, also in a new process."""
    journal = Journal(tmp_path / "j.sqlite")
    ids = [journal.record(_exchange("x")) for _ in range(3)]
    journal.write(lambda conn: conn.execute("DELETE FROM exchanges"))
    after_reset = journal.record(_exchange("y"))
    held: list = []
    with journal.holding(held):
        journal.record(_exchange("z"), effects=[lambda conn, exchange_id: None])
    journal.commit(held)
    journal.commit([])  # a turn of the server's loop that recorded nothing
    assert after_reset > max(ids) and held[0].exchange.id == after_reset + 1
    journal.write(lambda conn: conn.execute("DELETE FROM exchanges"))
    journal.close()
    journal = Journal(tmp_path / "j.sqlite")
    try:
        assert journal.record(_exchange("w")) == after_reset + 2
    finally:
        journal.close()


def test_a_journal_from_before_the_effect_column_is_read_and_then_upgraded(tmp_path):
    path = tmp_path / "old.sqlite"
    journal = Journal(path)
    journal.record(_exchange("old"))
    journal.close()
    import sqlite3

    conn = sqlite3.connect(path)  # make it look like a journal written before exchanges had an effect column
    conn.execute("ALTER TABLE exchanges DROP COLUMN effect")
    conn.commit()
    conn.close()

    reader = Journal(path, read_only=True)  # e.g. `mockplatform journal` on it, before any server opened it
    assert [(e.correlation_id, e.effect) for e in reader.exchanges()] == [("old", None)]
    reader.close()
    journal = Journal(path)
    try:
        journal.record(_exchange("new"))
        assert [e.correlation_id for e in journal.exchanges()] == ["old", "new"]
    finally:
        journal.close()


def test_closing_leaves_the_whole_journal_in_its_one_file(tmp_path):
    """Readers in other threads (the server's workers) are closed too, so SQLite moves the WAL into the
    file and removes it: copying journal.sqlite alone (to hand it in) loses nothing."""
    path = tmp_path / "j.sqlite"
    journal = Journal(path)
    journal.record(_exchange("a"))
    worker = threading.Thread(target=lambda: journal.reader().execute("SELECT count(*) FROM exchanges").fetchall())
    worker.start()
    worker.join()
    journal.close()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["j.sqlite"]
    with sqlite3.connect(path) as copy:
        assert copy.execute("SELECT correlation_id FROM exchanges").fetchall() == [("a",)]

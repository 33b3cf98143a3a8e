"""The journal: finding exchanges by correlation id (in the writing process from its own map, beside it by a
scan), ids that never go back, old journals that still open, and the columns declared once."""

from __future__ import annotations

import dataclasses
import json
import sqlite3
import threading

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mockplatform import journal as journal_module
from mockplatform.journal import COLUMNS, Exchange, Journal


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


# ---------------------------------------------------------------- the columns, declared once

# The exchanges table as journals have it (``PRAGMA table_info``: name, type, not null, primary key). A journal
# written by any earlier version must still open (a column added later is added when it is opened for writing,
# and read as None by a reader of an older one), and one written now must open in them: only add columns.
TABLE = [
    ("id", "INTEGER", 0, 1), ("time", "TEXT", 1, 0), ("duration_ms", "REAL", 1, 0), ("client", "TEXT", 0, 0),
    ("method", "TEXT", 0, 0), ("path", "TEXT", 0, 0), ("consumer", "TEXT", 0, 0), ("logical_address", "TEXT", 0, 0),
    ("contract", "TEXT", 0, 0), ("correlation_id", "TEXT", 0, 0), ("http_status", "INTEGER", 1, 0),
    ("vp_code", "TEXT", 0, 0), ("fault_detail", "TEXT", 0, 0), ("route_trace", "TEXT", 0, 0),
    ("producer_address", "TEXT", 0, 0), ("producer_status", "INTEGER", 0, 0), ("producer_ms", "REAL", 0, 0),
    ("request_headers", "TEXT", 1, 0), ("request_body", "BLOB", 0, 0), ("request_size", "INTEGER", 1, 0),
    ("response_headers", "TEXT", 1, 0), ("response_body", "BLOB", 0, 0), ("effect", "TEXT", 0, 0),
    ("injected", "TEXT", 0, 0), ("identified_by", "TEXT", 0, 0), ("client_certificate", "TEXT", 0, 0),
    ("observations", "TEXT", 0, 0),
]
# Exchange.to_json's keys in their order (the admin API and the journal page read them).
JSON_KEYS = ["id", "time", "duration_ms", "client", "method", "path", "consumer", "logical_address", "contract",
             "correlation_id", "http_status", "vp_code", "fault_detail", "route_trace", "producer_address",
             "producer_status", "producer_ms", "request_size", "injected", "identified_by", "client_certificate",
             "observations"]
JSON_BODY_KEYS = ["request_headers", "response_headers", "request_body", "response_body"]


def test_the_table_is_the_one_journals_have(tmp_path):
    journal = Journal(tmp_path / "j.sqlite")
    try:
        columns = journal.reader().execute("PRAGMA table_info(exchanges)").fetchall()
        assert [(c["name"], c["type"], c["notnull"], c["pk"]) for c in columns] == TABLE
    finally:
        journal.close()


def test_every_field_of_an_exchange_is_a_declared_column():
    assert [c.name for c in COLUMNS] == [name for name, *_ in TABLE]
    assert {c.name for c in COLUMNS} == {f.name for f in dataclasses.fields(Exchange)}


def test_to_json_has_the_keys_in_their_order():
    exchange = _exchange("a")
    assert list(exchange.to_json()) == JSON_KEYS
    assert list(exchange.to_json(bodies=True)) == JSON_KEYS + JSON_BODY_KEYS


def _hand_written_row(exchange: Exchange) -> tuple:
    """The row as it was written out by hand before the columns were declared once."""
    return (
        exchange.time, exchange.duration_ms, exchange.client, exchange.method, exchange.path,
        exchange.consumer, exchange.logical_address, exchange.contract, exchange.correlation_id,
        exchange.http_status, exchange.vp_code, exchange.fault_detail,
        json.dumps(exchange.route_trace) if exchange.route_trace else None,
        exchange.producer_address, exchange.producer_status, exchange.producer_ms,
        json.dumps(exchange.request_headers), exchange.request_body,
        exchange.request_size if exchange.request_size is not None else len(exchange.request_body),
        json.dumps(exchange.response_headers), exchange.response_body, exchange.effect,
        exchange.injected, exchange.identified_by, exchange.client_certificate, exchange.observations,
    )


TEXT = st.text(st.characters(codec="utf-8"), max_size=20)
OPTIONAL_TEXT = st.none() | TEXT
EXCHANGES = st.builds(
    Exchange, time=TEXT, duration_ms=st.floats(0, 1e6), client=TEXT, method=TEXT, path=TEXT,
    request_headers=st.lists(st.tuples(TEXT, TEXT), max_size=3), request_body=st.binary(max_size=50),
    http_status=st.integers(100, 599), response_headers=st.lists(st.tuples(TEXT, TEXT), max_size=3),
    response_body=st.binary(max_size=50), consumer=OPTIONAL_TEXT, logical_address=OPTIONAL_TEXT,
    contract=OPTIONAL_TEXT, correlation_id=OPTIONAL_TEXT, vp_code=OPTIONAL_TEXT, fault_detail=OPTIONAL_TEXT,
    route_trace=st.lists(TEXT, max_size=3), producer_address=OPTIONAL_TEXT,
    producer_status=st.none() | st.integers(100, 599), producer_ms=st.none() | st.floats(0, 1e6),
    request_size=st.none() | st.integers(0, 10**9), effect=OPTIONAL_TEXT, injected=OPTIONAL_TEXT,
    identified_by=OPTIONAL_TEXT, client_certificate=OPTIONAL_TEXT, observations=OPTIONAL_TEXT,
)


@settings(deadline=None, derandomize=True, database=None, max_examples=200)
@given(EXCHANGES)
def test_an_exchange_is_stored_as_before_and_read_back_as_it_was(exchange):
    assert journal_module._row(exchange) == _hand_written_row(exchange)
    conn = sqlite3.connect(":memory:")
    conn.row_factory = sqlite3.Row
    conn.executescript(journal_module._SCHEMA)
    conn.execute(journal_module._INSERT, (7, *journal_module._row(exchange)))
    back = journal_module._from_row(conn.execute("SELECT * FROM exchanges").fetchone())
    expected = dataclasses.replace(exchange, id=7, request_size=_hand_written_row(exchange)[18])
    assert back == expected
    assert back.to_json(bodies=True) == {
        **{key: getattr(expected, key) for key in JSON_KEYS + JSON_BODY_KEYS},
        "duration_ms": round(expected.duration_ms, 3),
        "request_body": expected.request_body.decode("utf-8", "replace"),
        "response_body": expected.response_body.decode("utf-8", "replace"),
    }


def test_a_journal_of_a_newer_schema_is_refused_for_writing_and_reading(tmp_path):
    from mockplatform.journal import SCHEMA_VERSION, JournalError

    path = tmp_path / "newer.sqlite"
    Journal(path).close()
    with sqlite3.connect(path) as conn:
        conn.execute("UPDATE meta SET value = ? WHERE key = 'schema_version'", (str(SCHEMA_VERSION + 1),))
    for read_only in (False, True):
        with pytest.raises(JournalError, match=f"newer mockplatform .*version {SCHEMA_VERSION + 1}"):
            Journal(path, read_only=read_only)
    with sqlite3.connect(path) as conn:  # left as it was
        assert conn.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()[0] == \
            str(SCHEMA_VERSION + 1)


def test_a_journal_of_schema_version_1_is_upgraded_in_place(tmp_path):
    from mockplatform.journal import SCHEMA_VERSION, schema_version

    path = tmp_path / "old.sqlite"
    columns = ", ".join(f"{name} {kind}{' NOT NULL' if notnull else ''}{' PRIMARY KEY' if pk else ''}"
                        for name, kind, notnull, pk in TABLE if name != "observations")
    with sqlite3.connect(path) as conn:  # as version 1 wrote it: no observations column
        conn.execute("CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT)")
        conn.execute("INSERT INTO meta VALUES ('schema_version', '1')")
        conn.execute(f"CREATE TABLE exchanges ({columns})")
        conn.execute("INSERT INTO exchanges (id, time, duration_ms, http_status, request_headers, request_size, "
                     "response_headers) VALUES (1, '2026-01-01T00:00:00+00:00', 1.0, 200, '[]', 0, '[]')")
    journal = Journal(path)
    try:
        assert journal.exchange(1).observations is None
        assert schema_version(journal.reader()) == SCHEMA_VERSION
        assert "observations" in {r[1] for r in journal.reader().execute("PRAGMA table_info(exchanges)")}
    finally:
        journal.close()

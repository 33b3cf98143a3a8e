"""The hot path's shortcuts give exactly what the plain library calls they replace give.

Each request formats a time, makes a correlation id, serialises headers to JSON and reads the inbox
fields; these are done without the general machinery (see ``benchmarks/pipeline_bench.py``), and
must not change a byte of what the journal and the inbox hold. Also: the journal's WAL starts over
under steady traffic instead of growing without end.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
import uuid
from datetime import UTC, date, datetime

from hypothesis import given, settings
from hypothesis import strategies as st
from lxml import etree

from mockplatform import journal
from mockplatform.journal import Exchange, Journal, json_text, utc_now_iso
from mockplatform.platform import _local_today, _new_correlation_id
from mockplatform.producers.inbox_store import children_by_name, text_of, texts_by_name

TEXT = st.text(st.characters(codec=None, exclude_categories=()))  # surrogates, controls, all of it


def outcome(dumps, value):
    try:
        return dumps(value)
    except Exception as exc:  # the same refusal, too
        return type(exc)


JSON = st.recursive(st.none() | st.booleans() | st.integers() | st.floats() | TEXT,
                    lambda inner: st.lists(inner) | st.tuples(inner, inner) | st.dictionaries(TEXT, inner))


@settings(deadline=None, derandomize=True, database=None)
@given(st.lists(st.tuples(TEXT, TEXT)))
def test_header_json_is_json_dumps(headers):
    assert json_text(headers) == json.dumps(headers)


@settings(deadline=None, derandomize=True, database=None)
@given(JSON)
def test_any_json_is_json_dumps(value):
    assert outcome(json_text, value) == outcome(json.dumps, value)


def test_what_json_refuses_it_refuses_alike():
    circular: list = []
    circular.append(circular)
    for odd in ([b"ab"], [{1j: 2}], [object()], circular, {(1, 2): 3}):
        assert outcome(json_text, odd) == outcome(json.dumps, odd)
    assert outcome(json_text, circular) is ValueError


def test_journal_time_is_isoformat_to_the_microsecond():
    for _ in range(1000):
        before = datetime.now(UTC)
        text = utc_now_iso()
        after = datetime.now(UTC)
        assert len(text) == len(before.isoformat(timespec="microseconds"))
        assert before <= datetime.fromisoformat(text) <= after


def test_today_is_date_today():
    before = date.today()
    assert before <= _local_today() <= date.today()


def test_correlation_ids_are_random_uuids_in_their_usual_form():
    ids = {_new_correlation_id() for _ in range(10_000)}
    assert len(ids) == 10_000
    for text in ids:
        parsed = uuid.UUID(text)
        assert str(parsed) == text and parsed.version == 4 and parsed.variant == uuid.RFC_4122


def test_inbox_texts_read_as_fields_then_text():
    parent = etree.fromstring(
        '<m xmlns:c="urn:c"><!--x--><c:a>1</c:a><a>2</a><b/><c:d>x<e>y</e>z</c:d><?pi?><f><![CDATA[<&]]></f></m>')
    fields, texts = children_by_name(parent), texts_by_name(parent)
    assert texts.keys() == fields.keys()
    assert all(texts[name] == text_of(fields, name) for name in fields)
    assert texts_by_name(None) == {}


def test_wal_starts_over_under_steady_writes(tmp_path, monkeypatch):
    """Without the restart, the WAL would hold every frame written since the first commit."""

    class Quick(journal._Checkpointer):
        RESTART_BYTES = 50 * 8192  # 50 frames

        def __init__(self, path, write_lock):
            super().__init__(path, write_lock, interval=0.05)

    monkeypatch.setattr(journal, "_Checkpointer", Quick)
    store = Journal(tmp_path / "journal.sqlite")
    stop = threading.Event()
    written = []

    def write():
        while not stop.is_set():
            written.append(store.record(Exchange(
                time=utc_now_iso(), duration_ms=1.0, client="127.0.0.1:1", method="POST", path="/vp",
                request_headers=[("Content-Type", "text/xml")], request_body=b"x" * 2000, http_status=200,
                response_headers=[], response_body=b"y" * 500, correlation_id=str(uuid.uuid4()))))

    writer = threading.Thread(target=write)
    writer.start()
    time.sleep(1.5)
    stop.set()
    writer.join()
    try:
        conn = sqlite3.connect(tmp_path / "journal.sqlite")
        _, frames_in_wal, _ = conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
        assert conn.execute("SELECT count(*) FROM exchanges").fetchone()[0] == len(written)
        conn.close()
        # Each commit writes at least one frame: without the restart, the WAL would hold one per exchange.
        assert frames_in_wal < len(written), (frames_in_wal, len(written))
    finally:
        store.close()

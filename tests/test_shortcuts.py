"""The speed shortcuts give exactly what the plain library calls they replace give.

Each request formats a time, may ask today's date, makes a correlation id and serialises headers to
JSON; ``mockplatform.shortcuts`` does these without the general machinery (see
``benchmarks/pipeline_bench.py``), and must not change a byte of what the journal and the inbox hold:
one equivalence test per shortcut here. Also: the inbox reads its fields in one pass, the journal's WAL
starts over under steady traffic instead of growing without end, and the shortcuts of judging a journal
(``verify``) give what the plain code gives.
"""

from __future__ import annotations

import dataclasses
import json
import os
import sqlite3
import threading
import time
import uuid
from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from lxml import etree

from mockplatform import journal, shortcuts
from mockplatform.domains.inbox1177 import docbook
from mockplatform.domains.inbox1177.request import read_request
from mockplatform.domains.inbox1177.view import read_inbox_view
from mockplatform.journal import Exchange, Journal
from mockplatform.messages import DEMONSTRATION_HEADER, is_demonstration
from mockplatform.personnummer import _find_problems, problems
from mockplatform.shortcuts import json_text, local_today, new_correlation_id, utc_now_iso
from mockplatform.xmlsafe import local_name, namespace

from .test_journal import EXCHANGES

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


EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
# Clock readings in nanoseconds, several in one second (the cache is used) and across seconds and days.
NANOSECONDS = st.lists(st.integers(0, 2**62 // 1000) | st.integers(1_700_000_000, 1_700_000_003).map(
    lambda s: s * 10**9) | st.integers(1_700_000_000 * 10**9, 1_700_000_002 * 10**9), min_size=1, max_size=20)


@settings(deadline=None, derandomize=True, database=None)
@given(NANOSECONDS)
def test_journal_time_at_any_clock_reading_is_what_datetime_writes(readings):
    """What ``datetime.now(UTC).isoformat(timespec="microseconds")`` gives at the same clock reading
    (datetime.now truncates to the microsecond), whether the second was cached or not."""
    with pytest.MonkeyPatch.context() as patch:
        for ns in readings:
            patch.setattr(shortcuts, "time_ns", lambda ns=ns: ns)
            expected = (EPOCH + timedelta(microseconds=ns // 1000)).isoformat(timespec="microseconds")
            assert utc_now_iso() == expected


def test_today_is_date_today():
    before = date.today()
    assert before <= local_today() <= date.today()


# Clock readings in seconds: around the turn of a day in Stockholm (UTC+1 in winter, +2 in summer), the
# turns of summer time, and anywhere.
SECONDS = st.lists(st.sampled_from([1_704_063_599.0, 1_704_063_599.999999, 1_704_063_600.0, 1_711_846_799.5,
                                    1_711_846_800.0, 1_729_983_599.25, 1_729_983_600.0]) | st.floats(0, 2**33),
                   min_size=1, max_size=20)


@settings(deadline=None, derandomize=True, database=None)
@given(SECONDS)
def test_today_at_any_clock_reading_is_what_date_today_gives(readings):
    """``date.today()`` is ``date.fromtimestamp(time.time())``: the same at the same clock reading, in a time
    zone with summer time too, whether the second was cached or not."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("TZ", "Europe/Stockholm")
        time.tzset()
        try:
            for seconds in readings:
                patch.setattr(shortcuts, "time", lambda seconds=seconds: seconds)
                assert local_today() == date.fromtimestamp(seconds)
        finally:
            patch.undo()
            time.tzset()
            shortcuts._local_second = (-1, date.min)  # cached under the other zone


def test_correlation_ids_are_random_uuids_in_their_usual_form():
    ids = {new_correlation_id() for _ in range(10_000)}
    assert len(ids) == 10_000
    for text in ids:
        parsed = uuid.UUID(text)
        assert str(parsed) == text and parsed.version == 4 and parsed.variant == uuid.RFC_4122


def test_correlation_ids_do_not_repeat_in_a_forked_child():
    """uuid4 asks the system for randomness each time, so a forked child makes ids of its own; the
    generator is reseeded in the child to do the same (a server forked into workers, a test runner)."""
    new_correlation_id()
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: its next ids, to the parent
        try:
            os.write(write, " ".join(new_correlation_id() for _ in range(3)).encode())
        finally:
            os._exit(0)
    os.close(write)
    try:
        with os.fdopen(read) as pipe:
            child = pipe.read().split()
    finally:
        os.waitpid(pid, 0)
    parent = [new_correlation_id() for _ in range(3)]
    assert len(child) == 3 and not set(child) & set(parent)


def test_inbox_request_reader_reads_as_find_by_local_name():
    """The one-pass reader of inbox requests finds what ``find("{*}name")`` finds (the first of a local
    name, in any namespace) and reads its whole text, comments and CDATA included."""
    payload = etree.fromstring(
        '<r xmlns:c="urn:c"><!--x--><c:subjectOfCareId>19<!--y-->1212121212</c:subjectOfCareId>'
        '<subjectOfCareId>2</subjectOfCareId><c:message><messageThreadId>T<?pi?>1</messageThreadId>'
        '<c:messageText><![CDATA[<&]]> and more</c:messageText><organisationUnit><unitId>U</unitId>'
        '<unitId>V</unitId></organisationUnit></c:message><sourceSystem/></r>')
    request = read_request(payload)
    for rel, field in (("subjectOfCareId", "subject_of_care_id"), ("sourceSystem", "source_system"),
                       ("message/messageThreadId", "thread_id"), ("message/messageText", "text"),
                       ("message/organisationUnit/unitId", "unit_id")):
        element = payload
        for name in rel.split("/"):
            element = element.find("{*}" + name)
        assert request.elements[rel] is element
        assert getattr(request, field) == "".join(element.itertext())
    assert request.notify is None and request.description is None


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


# ---------------------------------------------------------------- judging a journal (``verify``)
# Each shortcut of the judging path gives what the plain code it replaces gives; ``tests/test_verification.py``
# judges whole journals both ways.


@settings(deadline=None, derandomize=True, database=None, max_examples=200)
@given(EXCHANGES)
def test_an_exchange_without_its_bodies_is_what_replace_gives(exchange):
    slim = exchange.without_bodies()
    assert slim == dataclasses.replace(exchange, request_body=b"", response_body=b"", response_headers=[])
    assert slim is not exchange and exchange.without_bodies() == slim  # the exchange itself is left as it was


@settings(deadline=None, derandomize=True, database=None, max_examples=200)
@given(EXCHANGES, st.sets(st.sampled_from([c.name for c in journal.COLUMNS if c.name != "id"])))
def test_a_row_read_by_position_is_the_row_read_by_name(exchange, unread):
    """``_from_tuple`` (plain tuples, by position) reads what ``_from_row`` (sqlite3.Row, by name) reads; the
    columns left unread get their field's empty value; a journal without a later column reads None for it."""
    conn = sqlite3.connect(":memory:")
    conn.executescript(journal._SCHEMA)
    conn.execute(journal._INSERT, (7, *journal._row(exchange)))
    cursor = conn.execute("SELECT * FROM exchanges")
    by_position = journal._from_tuple(journal._names(cursor))(cursor.fetchone())
    conn.row_factory = sqlite3.Row
    by_name = journal._from_row(conn.execute("SELECT * FROM exchanges").fetchone())
    assert by_position == by_name
    conn.row_factory = None
    kept = [c.name for c in journal.COLUMNS if c.name not in unread]
    cursor = conn.execute(f"SELECT {', '.join(kept)} FROM exchanges")
    partly = journal._from_tuple(journal._names(cursor), frozenset(unread))(cursor.fetchone())
    for f in dataclasses.fields(Exchange):
        expected = getattr(by_name, f.name)
        if f.name in unread:
            expected = type(expected)() if isinstance(expected, (bytes, list)) else None
        assert getattr(partly, f.name) == expected, f.name
    later = [c.name for c in journal.COLUMNS if not c.added_later]
    cursor = conn.execute(f"SELECT {', '.join(later)} FROM exchanges")
    older = journal._from_tuple(journal._names(cursor))(cursor.fetchone())
    assert older == dataclasses.replace(by_name, **{c.name: None for c in journal.COLUMNS if c.added_later})


def test_the_journal_reads_an_older_journal_and_leaves_out_what_it_is_asked_to(tmp_path):
    store = Journal(tmp_path / "journal.sqlite")
    store.record(Exchange(time="2026-01-01T00:00:00.000000+00:00", duration_ms=1.0, client="c", method="POST",
                          path="/vp", request_headers=[("A", "b")], request_body=b"<x/>", http_status=200,
                          response_headers=[("C", "d")], response_body=b"<y/>", route_trace=["r"], injected="delay"))
    store.close()
    reader = Journal(tmp_path / "journal.sqlite", read_only=True)
    [whole] = reader.exchanges()
    assert reader.exchange(whole.id) == whole and whole.response_headers == [("C", "d")]
    [lean] = reader.iter_exchanges(unread=frozenset({"response_headers", "route_trace"}))
    assert lean == dataclasses.replace(whole, response_headers=[], route_trace=[])
    reader.close()


_NAMES = ["article", "para", "section", "info", "title", "ulink", "emphasis", "variablelist", "varlistentry",
          "term", "listitem", "bibliography"]
_ELEMENT = st.tuples(st.sampled_from(_NAMES), st.sampled_from(["", f' xmlns="{docbook.DOCBOOK5}"', ' xmlns="urn:x"']),
                     st.sampled_from(["", " url='https://1177.se/a'", " url=''", " url='ftp://x'"]),
                     st.sampled_from(["", "text", "  ", "<!--c-->", "<?pi x?>", "\n"]))


def _docbook_text(draw_tree, depth=0):
    (name, xmlns, url, text), children = draw_tree
    inner = "".join(_docbook_text(child, depth + 1) for child in children)
    return f"<{name}{xmlns}{url}>{text}{inner}</{name}>{text if depth else ''}"


_TREE = st.recursive(st.tuples(_ELEMENT, st.just([])), lambda kids: st.tuples(_ELEMENT, st.lists(kids, max_size=4)),
                     max_leaves=12)


def _old_ulink_urls(text):
    try:
        root, _ = docbook.read(text)
    except docbook.DocBookError:
        return []
    return [el.get("url") or "" for el in root.iter()
            if isinstance(el.tag, str) and local_name(el) == "ulink" and namespace(el) in ("", docbook.DOCBOOK5)]


@settings(deadline=None, derandomize=True, database=None, max_examples=300)
@given(_TREE, st.sampled_from(["", "\n\n  ", "<?xml version='1.0' encoding='latin-1'?>", "x", "<broken"]))
def test_one_reading_of_a_docbook_text_gives_what_check_and_ulink_urls_give(tree, before):
    """``InboxView.docbook()`` reads a messageText once for the DocBook rule and the SSO case (``examine``)."""
    text = before + _docbook_text(tree)
    assert docbook.examine(text) == (docbook.check(text), docbook.ulink_urls(text))
    assert docbook.ulink_urls(text) == _old_ulink_urls(text)


@settings(deadline=None, derandomize=True, database=None)
@given(st.from_regex(r"[0-9]{8}[0-9pPtTfFx ]?[0-9]{3,4}", fullmatch=True) | st.text(max_size=14))
def test_a_personnummer_judged_again_is_judged_alike(number):
    """``problems`` remembers the numbers it has judged (a journal names the same citizens again and again)."""
    assert problems(number) == _find_problems(number) == problems(number)
    problems(number).append("changed")  # a caller's list is its own
    assert problems(number) == _find_problems(number)


def _answered(body: bytes, status: int) -> Exchange:
    from .soap import add_message, is_active_user

    request = (add_message() if b"AddMessage" in body or b"resultCode" in body else is_active_user())
    return Exchange(time="2026-01-01T00:00:00.000000+00:00", duration_ms=1.0, client="c", method="POST", path="/vp",
                    request_headers=[], request_body=request, http_status=status, response_headers=[],
                    response_body=body, id=1)


def _envelope(inner: str) -> bytes:
    return (f'<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body>{inner}</s:Body>'
            "</s:Envelope>").encode()


ANSWERS = [
    _envelope('<AddMessageToPatientPortalInboxResponse xmlns="urn:a"><resultCode> OK </resultCode>'
              "<notificationSent>SMS</notificationSent><notificationSent>Email</notificationSent>"
              "</AddMessageToPatientPortalInboxResponse>"),
    _envelope('<r xmlns="urn:a"><resultCode>ERROR</resultCode><resultText>Target person is not active user'
              "</resultText></r>"),
    _envelope('<r xmlns="urn:a"><resultCode>OK<!--c--></resultCode></r>'),
    _envelope('<IsActiveUserResponse xmlns="urn:b"><status>true</status></IsActiveUserResponse>'),
    _envelope('<IsActiveUserResponse xmlns="urn:b"><status> 1 </status></IsActiveUserResponse>'),
    _envelope('<IsActiveUserResponse xmlns="urn:b"><status>false</status></IsActiveUserResponse>'),
    _envelope('<IsActiveUserResponse xmlns="urn:b"/>'),
    _envelope("<s:Fault><faultcode>s:Server</faultcode><faultstring>boom</faultstring></s:Fault>"),
    _envelope("<s:Fault><faultcode> s:Client </faultcode><faultstring>bad\n request</faultstring></s:Fault>"),
    _envelope(""),
    b"<html>error page</html>", b"not xml", b"",
    b"<s:Envelope xmlns:s='http://www.w3.org/2003/05/soap-envelope'><s:Body><x><status>true</status></x></s:Body>"
    b"</s:Envelope>",
]


@pytest.mark.parametrize("status", [200, 400, 500, 502])
@pytest.mark.parametrize("body", ANSWERS)
def test_the_inbox_reads_an_answer_as_its_tree_says(body, status):
    """The inbox reads what its rules need of an answer from a small cache of answers (``view._said``), not its
    tree: what it reads is what the tree, read as before, says."""
    from mockplatform.domains.inbox1177 import view as inbox_view
    from mockplatform.domains.inbox1177.names import ADD_MESSAGE, IS_ACTIVE_USER, OPERATIONS
    from mockplatform.domains.inbox1177.request import is_true
    from mockplatform.rules import read_view

    exchange = _answered(body, status)
    for _ in range(2):  # read, and read again from the cache
        read = inbox_view.read_inbox_view(exchange)
        tree = read_view(exchange, OPERATIONS, inbox_view.InboxView)  # the answer's tree, as before
        answer = tree.answer
        result_code = active = None
        notifications = 0
        if status == 200 and answer is not None and not answer.is_fault:
            if tree.operation == ADD_MESSAGE:
                code = answer.child_text("resultCode")
                result_code = None if code is None else code.strip()
                notifications = len(answer.children_named("notificationSent"))
            elif tree.operation == IS_ACTIVE_USER:
                said = answer.child_text("status")
                active = None if said is None else is_true(said)
        assert (read.fault_code, read.result_code, read.active, read.notifications_sent) == (
            tree.fault_code, result_code, active, notifications)
        assert read.technical_fault == tree.technical_fault and read.answer is None


@settings(deadline=None, derandomize=True, database=None, max_examples=300)
@given(_TREE)
def test_a_docbook_text_is_clean_exactly_when_its_tree_has_no_problem(tree):
    """``docbook._clean`` (the elements judged without building the tree) says what the whole walk finds: a text
    without a problem, so ``check`` gives nothing, and the tree is built only for a text with one."""
    root, offset = docbook.read(_docbook_text(tree))
    walked = [p for node in docbook.walk(docbook.tree(root, offset)) for p in node.problems]
    assert docbook._clean(root, docbook.SUBSET) == (not walked)
    assert docbook._problems(root, offset, docbook.SUBSET) == walked


@settings(deadline=None, derandomize=True, database=None, max_examples=100)
@given(EXCHANGES)
def test_a_view_of_its_own_exchange_slims_to_what_a_copy_gives(exchange):
    """``slim(owned=True)`` (a journal's stream: the exchange emptied in place) gives the view ``slim()`` gives."""
    copied = read_inbox_view(dataclasses.replace(exchange)).slim()
    owned = read_inbox_view(dataclasses.replace(exchange)).slim(owned=True)
    assert owned == copied and owned.exchange == exchange.without_bodies()


@settings(deadline=None, derandomize=True, database=None, max_examples=100)
@given(st.lists(st.tuples(st.text(max_size=8), st.text(max_size=8)), max_size=4))
def test_headers_read_from_the_cache_are_the_stored_headers(headers):
    stored = json_text(headers)
    assert journal._header_list(stored) == journal._header_list(stored) == [tuple(h) for h in json.loads(stored)]
    assert is_demonstration(headers) == any(k.lower() == DEMONSTRATION_HEADER for k, _ in headers)

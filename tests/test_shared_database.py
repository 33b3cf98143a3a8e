"""One platform for a team: several instances on one PostgreSQL database (a real server, tests/postgres.py).

What one instance writes, the next call on any other sees; ids stay total; an armed fault is used exactly as
many times as asked across instances; a reset resets all; a follow-up runs once; PostgreSQL down means VP012
(nothing unjournaled is answered) and ``/status`` says so, and the instance recovers by itself; schema versions
are upgraded in place and a newer database is refused. (The multi-process run behind haproxy, with an instance
killed mid-load, is tests/test_team_platform.py.)"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections import Counter
from pathlib import Path

import pytest
import requests

from mockplatform import Application, Config
from mockplatform.cli import main
from mockplatform.database import Database, shown
from mockplatform.domains.inbox1177.store import InboxStore
from mockplatform.domains.uthopp.store import SsoStore
from mockplatform.journal import SCHEMA_VERSION, Journal, JournalError, cannot_reach
from mockplatform.outbox import OUTBOX_SCHEMA, OUTBOX_UPGRADES, Outbox
from mockplatform.producers.faults import FaultKind, InjectedFault
from mockplatform.server import start_in_thread

from .conftest import Running
from .postgres import PostgresCluster, cluster_folder, free_port, running_cluster, skip_or_fail, why_no_postgresql
from .soap import ACTIVE_SMS_EMAIL, add_message, is_active_user
from .test_engagement_index import engagement, find, update


@pytest.fixture
def two(postgresql_url: str, start_platform) -> tuple[Running, Running]:
    """Two instances (each its own HTTP server) on one PostgreSQL database."""
    return start_platform(database=postgresql_url), start_platform(database=postgresql_url)


def test_what_one_instance_writes_the_next_call_on_the_other_sees(two):
    a, b = two
    # a thread key: the second message, sent to the other instance, joins the first one's main case
    for platform, text in ((a, "Första"), (b, "Andra")):
        assert platform.post(add_message(ACTIVE_SMS_EMAIL, description=text, thread_id="tråd-1")).status_code == 200
    (case,) = InboxStore(b.app.journal).cases(ACTIVE_SMS_EMAIL)
    assert [m["description"] for m in case["messages"]] == ["Första", "Andra"]
    assert {m["exchange_id"] for m in case["messages"]} == {1, 2}
    # a read mark
    first = case["messages"][0]["id"]
    InboxStore(a.app.journal).mark_read(first)
    assert InboxStore(b.app.journal).message_owner(first) == (ACTIVE_SMS_EMAIL, False)
    # an index post
    assert update(a, engagement("BK-7")).status_code == 200
    assert [p["businessObjectInstanceIdentifier"] for p in find(b)] == ["BK-7"]
    assert a.app.outbox.wait_idle() and b.app.outbox.wait_idle()  # (the update's notifications, if any)
    assert b.app.journal.last_id() == a.app.journal.last_id()


def test_exchange_ids_stay_total_and_in_commit_order_across_instances(two):
    """16 clients over both instances at once: every exchange one id, no gap, no id twice, and a call answered
    before another began has the smaller id."""
    answered: list[tuple[int, float, float]] = []  # (exchange id, sent, answered) per call
    lock = threading.Lock()

    def client(platform: Running, n: int) -> None:
        session = requests.Session()
        for _ in range(n):
            sent = _now()
            r = session.post(platform.url + "/vp", data=is_active_user(), headers={"Content-Type": "text/xml"},
                             timeout=30)
            assert r.status_code == 200
            exchange_id = platform.app.journal.exchanges(correlation_id=r.headers["x-skltp-correlation-id"])[0].id
            with lock:
                answered.append((exchange_id, sent, _now()))

    threads = [threading.Thread(target=client, args=(two[i % 2], 15)) for i in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    ids = sorted(i for i, _, _ in answered)
    assert ids == list(range(1, 16 * 15 + 1))
    for first_id, _, done in answered:
        later = [i for i, sent, _ in answered if sent > done]
        assert all(i > first_id for i in later), "a call begun after another was answered got a smaller id"
    assert [e.id for e in two[1].app.journal.exchanges()] == ids  # one journal, read alike from either


def _now() -> float:
    return time.monotonic()


def test_a_fault_for_the_next_n_calls_is_used_n_times_across_instances(two):
    a, b = two
    a.app.faults.add(InjectedFault(FaultKind.SOAP_FAULT, count=3, text="Databasen svarar inte"))
    assert [f.count for f in b.app.faults.active()] == [3]  # armed on one, seen on the other
    statuses = [(a if i % 2 else b).post(is_active_user()).status_code for i in range(8)]
    assert statuses.count(500) == 3 and statuses[:3] == [500, 500, 500]
    assert a.app.faults.active() == [] and b.app.faults.active() == []
    injected = [e.injected for e in a.app.journal.exchanges()]
    assert injected == ["soap_fault"] * 3 + [None] * 5


def test_a_reset_on_one_instance_resets_all(two):
    a, b = two
    b.post(add_message(ACTIVE_SMS_EMAIL))
    update(b, engagement("BK-1"))
    b.app.faults.add(InjectedFault(FaultKind.DELAY, delay_ms=1, count=None))
    b.app.outbox.wait_idle()
    before = b.app.journal.last_id()
    reset = a.session.post(a.url + "/admin/reset", timeout=30).json()
    assert reset["exchanges_removed"] == before >= 2 and reset["faults_cleared"] == 1
    assert b.app.journal.count() == 0 and b.app.faults.active() == []
    assert InboxStore(b.app.journal).cases(ACTIVE_SMS_EMAIL) == [] and find(b) == []
    # ids go on from where they were, on either instance (the find above was journaled as before + 1)
    assert b.post(is_active_user()).status_code == 200
    assert [e.id for e in a.app.journal.exchanges()] == [before + 1, before + 2]


def test_a_follow_up_runs_once_whichever_instance_takes_it(postgresql_url):
    journals = [Journal(postgresql_url, extra_schema=[OUTBOX_SCHEMA], upgrades=OUTBOX_UPGRADES) for _ in range(2)]
    ran: Counter[int] = Counter()
    lock = threading.Lock()

    def handler(payload: dict) -> None:
        with lock:
            ran[payload["n"]] += 1

    outboxes = [Outbox(j, {"count": handler}) for j in journals]
    try:
        for n in range(40):
            journals[n % 2].write(lambda conn, n=n: Outbox.effect("count", {"n": n})(conn, 0), exchanges_kept=True)
        for outbox in outboxes:
            outbox.start()
        assert all(outbox.wait_idle(20) for outbox in outboxes)
        assert ran == Counter(range(40))
    finally:
        for outbox in outboxes:
            outbox.stop()
        for journal in journals:
            journal.close()


def test_a_newer_database_is_refused_and_an_older_one_upgraded(postgresql_url, tmp_path):
    Application(Config(database=postgresql_url)).close()
    journal = Journal(postgresql_url)
    journal.write(lambda conn: conn.execute("UPDATE meta SET value = '99' WHERE key = 'schema_version'"),
                  exchanges_kept=True)
    journal.close()
    with pytest.raises(JournalError, match=r"newer mockplatform \(journal schema version 99; .* up to "
                                           rf"{SCHEMA_VERSION}\).*--database another database"):
        Application(Config(database=postgresql_url))


_V2_EXCHANGES = """
        CREATE TABLE exchanges (id INTEGER PRIMARY KEY, time TEXT NOT NULL, duration_ms REAL NOT NULL, client TEXT,
            method TEXT, path TEXT, consumer TEXT, logical_address TEXT, contract TEXT, correlation_id TEXT,
            http_status INTEGER NOT NULL, vp_code TEXT, fault_detail TEXT, route_trace TEXT, producer_address TEXT,
            producer_status INTEGER, producer_ms REAL, request_headers TEXT NOT NULL, request_body BLOB,
            request_size INTEGER NOT NULL, response_headers TEXT NOT NULL, response_body BLOB, effect TEXT,
            injected TEXT, identified_by TEXT, client_certificate TEXT, observations TEXT);
"""


def test_a_version_2_sqlite_journal_is_upgraded_in_place(tmp_path):
    """Version 3 changed two tables: the outbox got its claim, an SSO session's service providers their order.
    A journal version 2 wrote keeps its rows, in their order."""
    path = tmp_path / "v2.sqlite"
    conn = sqlite3.connect(path)
    conn.executescript("""
        CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT);
        INSERT INTO meta VALUES ('schema_version', '2');
    """ + _V2_EXCHANGES + """
        CREATE TABLE outbox (id INTEGER PRIMARY KEY, kind TEXT NOT NULL, payload TEXT NOT NULL, exchange_id INTEGER);
        INSERT INTO outbox (kind, payload) VALUES ('ei.notify', '{}');
        CREATE TABLE sso_session_sps (session_id TEXT NOT NULL, entity_id TEXT NOT NULL, name_id TEXT NOT NULL,
            name_id_format TEXT NOT NULL, logged_out TEXT, PRIMARY KEY (session_id, entity_id));
        INSERT INTO sso_session_sps VALUES ('s1', 'https://z.example/sp', 'n1', 'f', NULL);
        INSERT INTO sso_session_sps VALUES ('s1', 'https://a.example/sp', 'n2', 'f', NULL);
    """)
    conn.close()
    app = Application(Config(journal=path))
    try:
        app.journal.write(lambda c: c.execute("INSERT INTO sso_sessions VALUES ('s1', 'test', '191212121212', "
                                              "'2026-01-01T00:00:00+00:00', NULL)"), exchanges_kept=True)
        session = SsoStore(app.journal).session("s1")
        assert [sp.entity_id for sp in session.sps] == ["https://z.example/sp", "https://a.example/sp"]
        assert app.journal.database.columns(app.journal.reader(), "outbox")[-1] == "claimed"
        assert app.status()["JournalSchemaVersion"] == SCHEMA_VERSION
    finally:
        app.close()
    with sqlite3.connect(path) as check:
        assert check.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone() == (str(SCHEMA_VERSION),)


@pytest.fixture
def own_cluster(tmp_path_factory) -> PostgresCluster:
    """A cluster of this test's own, to stop and start again."""
    why = why_no_postgresql()
    if why:
        skip_or_fail(why)
    with running_cluster(cluster_folder(tmp_path_factory)) as cluster:
        yield cluster


def test_postgresql_down_means_vp012_and_status_says_so_and_the_instance_recovers(own_cluster, tmp_path):
    url = own_cluster.create_database()
    app = Application(Config(database=url))
    server = start_in_thread(app)
    try:
        assert requests.post(server.url + "/vp", data=is_active_user(), timeout=30).status_code == 200
        own_cluster.stop()
        r = requests.post(server.url + "/vp", data=is_active_user(), timeout=30)
        assert r.status_code == 500 and b"VP012" in r.content, r.text
        status = requests.get(server.url + "/status", timeout=30)
        assert status.status_code == 503
        assert status.json()["ServiceStatus"] == "DatabaseUnreachable" and status.json()["DatabaseReachable"] is False
        assert status.json()["DatabaseError"]
        for page in ("/ui/journal", "/admin/journal", "/admin/faults"):  # pages and admin: 503, in plain words
            r = requests.get(server.url + page, timeout=30)
            assert r.status_code == 503 and r.text.startswith("mockplatform: the database cannot be reached"), r.text
        own_cluster.start()
        # the first call after the restart goes through (the connections the restart dropped are opened again)
        answer = requests.post(server.url + "/vp", data=is_active_user(), timeout=30)
        assert answer.status_code == 200, answer.text
        assert requests.get(server.url + "/admin/journal", timeout=30).status_code == 200
        assert requests.get(server.url + "/status", timeout=30).json()["ServiceStatus"] == "Started"
        # what was answered 200 is journaled; the VP012 while it was down is not (it could not be)
        assert [e.http_status for e in app.journal.exchanges()] == [200, 200]
    finally:
        server.shutdown()
        server.server_close()
        app.close()


def test_a_database_that_cannot_be_reached_stops_serve_with_a_clear_error(tmp_path, capsys):
    url = f"postgresql://nobody@127.0.0.1:{free_port()}/nothing"
    assert main(["serve", "--port", "0", "--database", url]) == 3
    said = capsys.readouterr().err
    assert url in said and "cannot use this PostgreSQL database" in said and "leave out --database" in said


def test_the_database_option_takes_only_a_postgresql_url(capsys):
    with pytest.raises(SystemExit) as stop:
        main(["verify", "--database", str(Path("journal.sqlite"))])
    assert stop.value.code == 2
    assert "is not a PostgreSQL URL" in capsys.readouterr().err


def test_a_password_is_never_printed():
    assert shown("postgresql://team:s3cret@db.example:5432/mock") == "postgresql://team:***@db.example:5432/mock"


def test_a_journal_from_before_the_outbox_and_the_sso_stand_in_is_upgraded(tmp_path):
    """A version-1 journal has neither table: both are made in version 3's form, and the steps that would alter
    them leave them be."""
    path = tmp_path / "v1.sqlite"
    with sqlite3.connect(path) as conn:
        conn.executescript(_V2_EXCHANGES.replace("effect TEXT,\n            injected TEXT, identified_by TEXT, "
                                                 "client_certificate TEXT, observations TEXT", "effect TEXT"))
    app = Application(Config(journal=path))
    try:
        assert app.journal.database.columns(app.journal.reader(), "outbox")[-1] == "claimed"
        assert "seq" in app.journal.database.columns(app.journal.reader(), "sso_session_sps")
    finally:
        app.close()


def test_an_upgrade_that_fails_changes_nothing_and_says_so(tmp_path):
    path = tmp_path / "v2.sqlite"
    with sqlite3.connect(path) as conn:
        conn.executescript("CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT);"
                           "INSERT INTO meta VALUES ('schema_version', '2');" + _V2_EXCHANGES)
    with pytest.raises(JournalError, match=r"cannot upgrade this journal from schema version 2 to \d+ \(no such "
                                           r"table: nosuch\); nothing was changed"):
        Journal(path, extra_schema=[OUTBOX_SCHEMA], upgrades=[(3, "ALTER TABLE nosuch ADD COLUMN x TEXT;")])
    with sqlite3.connect(path) as conn:
        assert conn.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone() == ("2",)
        assert conn.execute("SELECT count(*) FROM sqlite_master WHERE name = 'outbox'").fetchone() == (0,)


def test_the_follow_up_worker_outlives_an_outage_of_the_database(own_cluster):
    url = own_cluster.create_database()
    journal = Journal(url, extra_schema=[OUTBOX_SCHEMA], upgrades=OUTBOX_UPGRADES)
    ran: list[int] = []
    outbox = Outbox(journal, {"count": lambda payload: ran.append(payload["n"])})
    outbox.start()
    try:
        journal.write(lambda conn: Outbox.effect("count", {"n": 1})(conn, 0), exchanges_kept=True)
        assert outbox.wait_idle(10) and ran == [1]
        own_cluster.stop()
        time.sleep(2.5)  # the worker looks every second, and fails
        own_cluster.start()
        journal.write(lambda conn: Outbox.effect("count", {"n": 2})(conn, 0), exchanges_kept=True)
        assert outbox.wait_idle(15) and ran == [1, 2]
        assert outbox.pending() == 0
    finally:
        outbox.stop()
        journal.close()


def test_journal_and_database_together_are_a_usage_error_and_the_variable_yields_to_journal(tmp_path, capsys,
                                                                                            monkeypatch):
    assert main(["journal", "--journal", str(tmp_path / "j.sqlite"), "--database", "postgresql://u@h/d"]) == 2
    assert "--journal and --database name two different places" in capsys.readouterr().err
    monkeypatch.setenv("MOCKPLATFORM_DATABASE", f"postgresql://nobody@127.0.0.1:{free_port()}/nothing")
    Application(Config(journal=tmp_path / "j.sqlite")).close()
    assert main(["journal", "--journal", str(tmp_path / "j.sqlite")]) == 0  # the file named, not the variable's
    assert main(["journal"]) == 3  # the variable's, which is not there
    assert "cannot use this PostgreSQL database" in capsys.readouterr().err
    monkeypatch.setenv("MOCKPLATFORM_DATABASE", "journal.sqlite")
    assert main(["journal"]) == 2
    assert "$MOCKPLATFORM_DATABASE is 'journal.sqlite', not a PostgreSQL URL" in capsys.readouterr().err


def test_no_password_is_printed_whatever_form_it_takes():
    for url in ("postgresql://team:s3cret@db.example:5432/mock", "postgresql://db.example/mock?user=t&password=s3cret",
                "postgresql://team:s3c/ret@db.example/mock", "postgresql://team:s3c@ret@db.example/mock"):
        assert "s3c" not in shown(url) and "***" in shown(url), shown(url)
    said = cannot_reach(Database("postgresql://team:s3%ZZret@db.example/mock"),
                        ValueError('invalid percent-encoded token: "s3%ZZret"'))
    assert "s3" not in said and "***" in said, said

"""The journal: every exchange the platform answered, in an embedded SQLite database or in a PostgreSQL
database that several instances share (``database.Database``).

Written from exactly one place (``Journal.record``), committed before the answer leaves, so a
consumer that got an answer finds its exchange here even if the server is killed right after.
State changes of in-process producers (the inbox) are applied in the same transaction, so the
inbox state always matches the journal.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import os
import sqlite3
import sys
import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field, fields
from enum import IntEnum
from pathlib import Path
from typing import Any

from .database import ERRORS, UNREACHABLE, Connection, Database, first_line, scrubbed, shown
from .errors import MockplatformError
from .shortcuts import json_text

# The journal's schema version, and what each version brought. A platform opens a journal of an older
# version and upgrades it in place (the columns added since are ``added_later``; the domains' tables are
# made if absent); it refuses one of a newer version, whose data it might misread.
SCHEMA_VERSION = 3
SCHEMA_HISTORY = {
    1: "exchanges with identification, injection and effects; the domains' state tables",
    2: "observations: what a domain's own endpoint saw of a request (the SSO stand-in's SAML messages)",
    3: "PostgreSQL as the shared database; the armed faults kept in the database (faults); a follow-up claimed "
       "by the instance that runs it (outbox.claimed); an SSO session's service providers kept in the order they "
       "joined (sso_session_sps.seq)",
}
# A step that upgrades an existing journal to a version: (version, SQL script or a function of the connection and
# the database), run once, in order, when a journal older than that version is opened for writing, after the tables
# of ``extra_schema`` are made (so a step finds a table new to the journal made already in this version's form,
# and must look before it alters one). A journal from before versions were kept counts as version 1.
Upgrade = tuple[int, "str | Callable[[Connection, Database], None]"]


# The read connections an instance opens to PostgreSQL, shared by its threads (with SQLite, one per thread).
SHARED_READERS = 4


class JournalError(MockplatformError):
    """The journal cannot be opened or read (missing file, not a journal)."""


# An effect is a state change of an in-process producer, applied with the exchange's row id, in the
# exchange's transaction. (A change that can wait is recorded as the exchange's ``effect`` instead.)
Effect = Callable[[Connection, int], None]


class JsonPart(IntEnum):
    """Where ``Exchange.to_json`` shows a column: always, or only with ``bodies=True`` (the headers first,
    then the bodies)."""

    SUMMARY = 1
    HEADERS = 2
    BODY = 3


@dataclass(frozen=True, slots=True)
class Column:
    """A column of the ``exchanges`` table: the ``Exchange`` field of the same name, how it is stored, read
    back and shown as JSON. ``COLUMNS`` declares them all; the table, ``_INSERT``, ``_row``, ``_from_row``
    and ``Exchange.to_json`` are made from it."""

    name: str
    sql: str  # its type and constraints in CREATE TABLE
    to_db: Callable[[Any], Any] | None = None  # the field's value -> the stored value; None: stored as it is
    from_db: Callable[[Any], Any] | None = None  # the stored value -> the field's value; None: as it is
    empty_as_null: bool = False  # an empty value (empty list, "") is stored as NULL, without calling to_db
    when_none: Callable[[Exchange], Any] | None = None  # if the field is None, store this (of the exchange)
    json: JsonPart | None = JsonPart.SUMMARY  # where to_json shows it; None: not at all
    to_json: Callable[[Any], Any] | None = None  # the field's value -> its JSON value; None: as it is
    added_later: bool = False  # absent from older journals: read as None there, added when opened for writing


def _json_list(stored: str | None) -> list:
    return json.loads(stored) if stored else []


def _header_list(stored: str) -> list[tuple[str, str]]:
    """Headers as stored. Most exchanges of a consumer send the same headers: those come from a small cache, one
    list shared by every exchange read with them (nothing changes a read exchange's headers)."""
    headers = _HEADERS.get(stored)
    if headers is None:
        headers = [tuple(h) for h in json.loads(stored)]
        if len(_HEADERS) >= _HEADERS_KEPT:
            _HEADERS.clear()
        _HEADERS[stored] = headers
    return headers


_HEADERS: dict[str, list[tuple[str, str]]] = {}
_HEADERS_KEPT = 256


def _shared(stored: Any) -> Any:
    """A value that repeats from exchange to exchange (a method, a contract, a consumer), as one string object:
    it costs a dictionary look-up here, and a judging process gets one copy back from its workers, not one per
    exchange (pickle writes an object it has already written as a reference)."""
    return sys.intern(stored) if type(stored) is str else stored


def _bytes(stored: bytes | None) -> bytes:
    return bytes(stored or b"")


def _body_text(body: bytes) -> str:
    return body.decode("utf-8", "replace")


def _milliseconds(value: float) -> float:
    return round(value, 3)


# In the table's order (that of an existing journal: ``effect`` came last, added by ALTER TABLE).
COLUMNS: tuple[Column, ...] = (
    Column("id", "INTEGER PRIMARY KEY"),  # given when the exchange is written, so not part of ``_row``
    Column("time", "TEXT NOT NULL"),
    Column("duration_ms", "REAL NOT NULL", to_json=_milliseconds),
    Column("client", "TEXT"),
    Column("method", "TEXT", from_db=_shared),
    Column("path", "TEXT", from_db=_shared),
    Column("consumer", "TEXT", from_db=_shared),
    Column("logical_address", "TEXT", from_db=_shared),
    Column("contract", "TEXT", from_db=_shared),
    Column("correlation_id", "TEXT"),
    Column("http_status", "INTEGER NOT NULL"),
    Column("vp_code", "TEXT", from_db=_shared),
    Column("fault_detail", "TEXT"),
    Column("route_trace", "TEXT", to_db=json_text, from_db=_json_list, empty_as_null=True),
    Column("producer_address", "TEXT", from_db=_shared),
    Column("producer_status", "INTEGER"),
    Column("producer_ms", "REAL"),
    Column("request_headers", "TEXT NOT NULL", to_db=json_text, from_db=_header_list, json=JsonPart.HEADERS),
    Column("request_body", "BLOB", from_db=_bytes, json=JsonPart.BODY, to_json=_body_text),
    # The size the consumer sent; the body kept may be only its beginning.
    Column("request_size", "INTEGER NOT NULL", when_none=lambda exchange: len(exchange.request_body)),
    Column("response_headers", "TEXT NOT NULL", to_db=json_text, from_db=_header_list, json=JsonPart.HEADERS),
    Column("response_body", "BLOB", from_db=_bytes, json=JsonPart.BODY, to_json=_body_text),
    Column("effect", "TEXT", json=None, added_later=True),
    # The kind of the fault injected into the answer (fault injection), if one was.
    Column("injected", "TEXT", from_db=_shared, added_later=True),
    # How the consumer was identified: "certificate", "sender-header" or "default" (platform.BY_*).
    Column("identified_by", "TEXT", from_db=_shared, added_later=True),
    Column("client_certificate", "TEXT", added_later=True),  # "subject: ...; issuer: ..." when by certificate
    # What a domain's own endpoint observed of a request that is not a SOAP call (an SSO message: the service
    # provider it came from, its checks), as JSON, for that domain's rules: see ``Domain.endpoints``.
    Column("observations", "TEXT", added_later=True),
)
_WRITTEN = COLUMNS[1:]  # what ``_row`` gives, in this order, after the id

_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT);\n"
    "CREATE TABLE IF NOT EXISTS exchanges (\n"
    + ",\n".join(f"    {c.name} {c.sql}" for c in COLUMNS)
    + "\n);\n"
)
_DROP_CORRELATION = "DROP INDEX IF EXISTS exchanges_correlation;\n"  # SQLite: see ``_ids_with``
_SCHEMA += _DROP_CORRELATION
_INSERT = (f"INSERT INTO exchanges ({', '.join(c.name for c in COLUMNS)}) "
           f"VALUES ({', '.join('?' * len(COLUMNS))})")


@dataclass(slots=True)
class Exchange:
    """One request and its answer, as recorded."""

    time: str
    duration_ms: float
    client: str
    method: str
    path: str
    request_headers: list[tuple[str, str]]
    request_body: bytes
    http_status: int
    response_headers: list[tuple[str, str]]
    response_body: bytes
    consumer: str | None = None
    logical_address: str | None = None
    contract: str | None = None
    correlation_id: str | None = None
    vp_code: str | None = None
    fault_detail: str | None = None
    route_trace: list[str] = field(default_factory=list)
    producer_address: str | None = None
    producer_status: int | None = None
    producer_ms: float | None = None
    request_size: int | None = None
    # A state change of an in-process producer as data (JSON), applied when that producer's state is next
    # read: the inbox takes its messages from these (its store's ``sync_inbox``).
    effect: str | None = None
    injected: str | None = None
    identified_by: str | None = None
    client_certificate: str | None = None
    observations: str | None = None
    id: int | None = None

    def to_json(self, bodies: bool = False) -> dict[str, Any]:
        """The columns ``JsonPart.SUMMARY``; with ``bodies``, the headers and the bodies (as text) too."""
        return _full_json(self) if bodies else _summary_json(self)

    def without_bodies(self) -> Exchange:
        """A copy without the bodies and the response headers: ``dataclasses.replace(self, request_body=b"",
        response_body=b"", response_headers=[])``, as one constructor call (``RequestView.slim`` makes one for
        every judged exchange; replace's generic machinery cost more than the rest of slim)."""
        return _without_bodies(self)


# ``_row``, ``_from_row`` and ``to_json`` are made from COLUMNS once, as the functions one would write out by
# hand (one tuple or dict display, no loop): ``_row`` runs for every request, so it must cost no more than that.
def _compiled(name: str, params: str, body: str, names: dict[str, Any]) -> Callable[..., Any]:
    source = f"def {name}({params}):\n    return {body}\n"
    namespace = dict(names)
    exec(compile(source, f"<COLUMNS: {name}>", "exec"), namespace)
    function = namespace[name]
    function.__doc__ = f"Made from ``COLUMNS``:\n\n{source}"
    return function


def _make_row() -> Callable[[Exchange], tuple]:
    names: dict[str, Any] = {}
    items = []
    for c in _WRITTEN:
        value = stored = f"x.{c.name}"
        if c.to_db is not None:
            names[f"to_db_{c.name}"] = c.to_db
            stored = f"to_db_{c.name}({value})"
        if c.empty_as_null:
            stored = f"({stored} if {value} else None)"
        if c.when_none is not None:
            names[f"when_none_{c.name}"] = c.when_none
            stored = f"({stored} if {value} is not None else when_none_{c.name}(x))"
        items.append(stored)
    return _compiled("_row", "x", f"({', '.join(items)},)", names)


def _make_from_row() -> Callable[[sqlite3.Row], Exchange]:
    names: dict[str, Any] = {"Exchange": Exchange, "optional": _optional}
    items = []
    for c in COLUMNS:
        value = f"optional(row, {c.name!r})" if c.added_later else f"row[{c.name!r}]"
        if c.from_db is not None:
            names[f"from_db_{c.name}"] = c.from_db
            value = f"from_db_{c.name}({value})"
        items.append(f"{c.name}={value}")
    return _compiled("_from_row", "row", f"Exchange({', '.join(items)})", names)


def _make_to_json(parts: set[JsonPart]) -> Callable[[Exchange], dict[str, Any]]:
    names: dict[str, Any] = {}
    items = []
    for c in sorted((c for c in COLUMNS if c.json in parts), key=lambda c: c.json):  # stable: table order within
        value = f"x.{c.name}"
        if c.to_json is not None:
            names[f"to_json_{c.name}"] = c.to_json
            value = f"to_json_{c.name}({value})"
        items.append(f"{c.name!r}: {value}")
    return _compiled("to_json", "x", f"{{{', '.join(items)}}}", names)


def _make_from_tuple(names: tuple[str, ...], unread: frozenset[str]) -> Callable[[tuple], Exchange]:
    """``_from_row`` for a plain tuple row whose columns are ``names`` (a cursor's description), read by position:
    a sqlite3.Row finds a column by name by comparing it with each name in turn, which costs more than the rest
    of the row. A column in ``unread`` (not selected) gets its field's empty value (b"", [], None); an
    ``added_later`` column the table lacks reads as None, as ``_optional`` has it."""
    position = {name: i for i, name in enumerate(names)}
    namespace: dict[str, Any] = {"Exchange": Exchange}
    empty = {f.name: ("[]" if str(f.type).startswith("list") else 'b""' if f.type == "bytes" else "None")
             for f in fields(Exchange)}
    items = {}
    for c in COLUMNS:
        if c.name in unread:
            items[c.name] = empty[c.name]
            continue
        if c.name in position:
            value = f"row[{position[c.name]}]"
        elif c.added_later:
            value = "None"
        else:
            raise IndexError(f"No item with that key: the journal has no column {c.name!r}")
        if c.from_db is not None:
            namespace[f"from_db_{c.name}"] = c.from_db
            value = f"from_db_{c.name}({value})"
        items[c.name] = value
    # By position, in the fields' order: a call with keywords costs more than the rest of the row.
    return _compiled("_from_tuple", "row", f"Exchange({', '.join(items[f.name] for f in fields(Exchange))})", namespace)


_FROM_TUPLE: dict[tuple[tuple[str, ...], frozenset[str]], Callable[[tuple], Exchange]] = {}


def _from_tuple(names: tuple[str, ...], unread: frozenset[str] = frozenset()) -> Callable[[tuple], Exchange]:
    """``_make_from_tuple``'s function for these columns, made once per set of columns."""
    key = (names, unread)
    function = _FROM_TUPLE.get(key)
    if function is None:
        function = _FROM_TUPLE[key] = _make_from_tuple(names, unread)
    return function


def _make_without_bodies() -> Callable[[Exchange], Exchange]:
    emptied = {"request_body": 'b""', "response_body": 'b""', "response_headers": "[]"}
    items = [emptied.get(f.name, f"x.{f.name}") for f in fields(Exchange)]
    return _compiled("_without_bodies", "x", f"Exchange({', '.join(items)})", {"Exchange": Exchange})


def _optional(row: sqlite3.Row, column: str) -> Any:
    try:
        return row[column]
    except IndexError:  # a journal from before the column, opened read-only
        return None


_row = _make_row()  # an Exchange -> its row for _INSERT, without the id (given when it is written)
_from_row = _make_from_row()
_without_bodies = _make_without_bodies()
_summary_json = _make_to_json({JsonPart.SUMMARY})
_full_json = _make_to_json(set(JsonPart))


def _names(cursor: sqlite3.Cursor) -> tuple[str, ...]:
    return tuple(d[0] for d in cursor.description)


def open_database(path: str | Path) -> sqlite3.Connection:
    path = Path(path)
    if str(path) != ":memory:":
        path.parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None, timeout=30)
    # For a new file only. An exchange's row (2-3 KB) takes a 4 KiB page to itself; 8 KiB pages hold three,
    # so a commit writes fewer WAL frames (each two system calls): some 5% of an AddMessage call's CPU.
    conn.execute("PRAGMA page_size=8192")
    conn.execute("PRAGMA journal_mode=WAL")
    # NORMAL: a commit survives the process being killed (not a power cut), at no fsync cost.
    conn.execute("PRAGMA synchronous=NORMAL")
    return conn


def schema_version(conn: Connection, database: Database | None = None) -> int | None:
    """The schema version a journal was written with (None: a journal from before versions were kept)."""
    if database is not None and "key" not in database.columns(conn, "meta"):
        return None  # no meta table yet
    try:
        row = conn.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
    except sqlite3.OperationalError:  # no meta table yet
        return None
    try:
        return int(row[0]) if row else None
    except (TypeError, ValueError):
        return None


def _refuse_newer(database: Database, conn: Connection) -> None:
    found = schema_version(conn, database)
    if found is not None and found > SCHEMA_VERSION:
        other = "--database another database" if database.postgres else "--journal another file"
        raise JournalError(f"{database.shown()}: this journal was written by a newer mockplatform (journal schema "
                           f"version {found}; this mockplatform {_version()} knows versions up to {SCHEMA_VERSION}), "
                           f"and its data could be misread: use that newer mockplatform, or give {other}")


def _version() -> str:
    from .version import __version__

    return __version__


def cannot_reach(database: Database, exc: BaseException) -> str:
    """Why a journal in PostgreSQL cannot be opened, naming the database and what to do."""
    said = scrubbed(" ".join(str(exc).split()) or type(exc).__name__, database.location)
    return (f"{database.shown()}: cannot use this PostgreSQL database ({said}): check that the server runs and "
            "that the URL's host, port, user, password and database name are right (the database must exist: "
            "createdb NAME), or leave out --database to keep the journal in a SQLite file")


def cannot_open(path: Path, exc: BaseException) -> str:
    """Why a journal cannot be opened for writing, naming the file and what to do."""
    said = str(exc)
    elsewhere = "or give --journal a path in a folder you can write to"
    if path.is_dir():
        return f"{path}: is a folder, not a journal file: give --journal a file name, e.g. {path / 'journal.sqlite'}"
    if isinstance(exc, (FileExistsError, NotADirectoryError)):
        return f"{path}: cannot make its folder {path.parent}: a file is in the way, {elsewhere}"
    if isinstance(exc, OSError):  # making the folder failed
        return f"{path}: cannot make its folder {path.parent} ({exc.strerror or exc}): make it yourself, {elsewhere}"
    if "not a database" in said:
        return (f"{path}: not a SQLite file, so not a mockplatform journal: move it away, or give --journal "
                "another file")
    if "readonly" in said or (path.is_file() and not os.access(path, os.W_OK)):
        return (f"{path}: the journal file is read-only: make it writable (chmod u+w), or give --journal another "
                "file (to read a journal, 'mockplatform journal' and 'verify' open it read-only)")
    if not os.access(path.parent, os.W_OK):
        return (f"{path}: cannot create the journal, the folder {path.parent} is not writable for this user: "
                f"make it writable, {elsewhere}")
    return f"{path}: cannot open the journal ({said}): check the file and its folder, {elsewhere}"


# The next exchange id, for when the journal does not know it (at its first write, after an admin change,
# after a failure). Ids never go back: ``Journal.write`` keeps a floor in meta before a state change that
# may remove the newest exchanges (a reset), so a reader that follows the journal by id (the web page's
# live view, ``/admin/journal?after=``) never misses one, even across a restart.
_NEXT_ID = ("SELECT max(n) + 1 FROM (SELECT coalesce(max(id), 0) AS n FROM exchanges "
            "UNION ALL SELECT CAST(value AS INTEGER) FROM meta WHERE key = 'id_floor') AS known")
_KEEP_ID_FLOOR = ("INSERT INTO meta(key, value) "
                  "SELECT 'id_floor', CAST(id AS TEXT) FROM exchanges WHERE true ORDER BY id DESC LIMIT 1 "
                  "ON CONFLICT(key) DO UPDATE SET value = CASE WHEN CAST(meta.value AS INTEGER) > "
                  "CAST(excluded.value AS INTEGER) THEN meta.value ELSE excluded.value END")


def write_exchanges(conn: Connection, items: Sequence[tuple[tuple, Sequence[Effect]]],
                    first_id: int | None, database: Database) -> list[int | Exception]:
    """Write exchanges (each its row, see ``_row``, and the producers' state changes) in one transaction,
    with as few calls into SQLite as possible, under ids from ``first_id`` on; if that fails, each alone,
    so only a bad one fails.

    Returns, for each, its id or why it could not be written. The caller holds the write connection.
    ``first_id`` None: ask the database, inside the transaction (a shared database: other instances write too).
    """
    try:
        return _write_together(conn, items, first_id, database)
    except UNREACHABLE:
        raise  # the database is gone: each alone would fail the same way, only slower
    except Exception:
        results: list[int | Exception] = []
        next_id = None
        for item in items:
            try:
                if next_id is None and not database.postgres:  # after a failure: whatever it was, ask the database
                    next_id = conn.execute(_NEXT_ID).fetchone()[0]
                results += _write_together(conn, [item], next_id, database)
                if next_id is not None:
                    next_id += 1
            except Exception as exc:
                results.append(exc)
                next_id = None
        return results


def _write_together(conn: Connection, items: Sequence[tuple[tuple, Sequence[Effect]]], first: int | None,
                    database: Database) -> list[int]:
    if first is not None and len(items) == 1 and not items[0][1]:  # autocommit: the INSERT is its own transaction
        conn.execute(_INSERT, (first, *items[0][0]))
        return [first]
    database.begin_write(conn)
    try:
        if first is None:  # under the write lock, so ids are handed out in the order of the commits
            first = conn.execute(_NEXT_ID).fetchone()[0]
        conn.executemany(_INSERT, [(first + i, *row) for i, (row, _) in enumerate(items)])
        for i, (_, effects) in enumerate(items):
            for effect in effects:
                effect(conn, first + i)
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    return list(range(first, first + len(items)))


class _Checkpointer:
    """Moves the WAL into the database from a thread of its own, every ``interval`` seconds.

    SQLite's automatic checkpoint runs inside the committing request and fsyncs the database there;
    here a request's commit only appends to the WAL, and the fsync happens beside the traffic.

    Under steady traffic a checkpoint beside the writer never catches up with it (commits land while
    it runs), and SQLite starts the WAL over only once all of it is in the database: the WAL would grow
    without end, and every commit would pay for extending the file. So once the WAL holds
    ``RESTART_BYTES``, a second pass moves what came during the first, and a third, short one (little
    more than its two fsyncs) runs with the journal's writers held; the next commit then writes the WAL
    from its beginning again.
    """

    RESTART_BYTES = 64 * 1024 * 1024

    def __init__(self, path: Path, write_lock: threading.Lock, interval: float = 1.0) -> None:
        self._path = path
        self._write_lock = write_lock
        self._interval = interval
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._run, name="mockplatform-checkpoint", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        conn = sqlite3.connect(str(self._path), check_same_thread=False, isolation_level=None, timeout=30)
        try:
            restart_frames = self.RESTART_BYTES // conn.execute("PRAGMA page_size").fetchone()[0]
            while not self._stopped.wait(self._interval):
                with contextlib.suppress(sqlite3.Error):  # busy or locked: try again next round
                    _, frames, _ = conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
                    if frames >= restart_frames:
                        conn.execute("PRAGMA wal_checkpoint(PASSIVE)")  # what came meanwhile: a shorter run
                        with self._write_lock:  # and the little that is left, with the writers held
                            conn.execute("PRAGMA wal_checkpoint(PASSIVE)")
        finally:
            conn.close()

    def stop(self) -> None:
        self._stopped.set()
        self._thread.join(timeout=5)


class _Pending:
    __slots__ = ("exchange", "row", "effects", "done", "error")

    def __init__(self, exchange: Exchange, effects: Sequence[Effect]) -> None:
        self.exchange = exchange
        self.row = _row(exchange)  # built by the request thread, outside the write lock
        self.effects = effects
        self.done = False
        self.error: BaseException | None = None


class _Holding:
    """``Journal.holding``'s block: a plain class, as it is entered once per request on the event loop."""

    __slots__ = ("local", "held")

    def __init__(self, local: threading.local, held: list[_Pending]) -> None:
        self.local, self.held = local, held

    def __enter__(self) -> None:
        self.local.held = self.held

    def __exit__(self, *exc_info: object) -> None:
        self.local.held = None


class Journal:
    """The SQLite journal. One write connection; readers get their own (WAL lets them run beside
    the writer).

    Writes are group-committed: a request thread queues its exchange and takes the write lock;
    whoever holds the lock writes everything queued so far in one transaction. Under load many
    exchanges share one commit; a lone request writes its own at once, with no hand-off.
    """

    def __init__(self, path: str | Path, extra_schema: Sequence[str] = (), read_only: bool = False,
                 upgrades: Sequence[Upgrade] = ()) -> None:
        self.database = Database(path)
        self.shared = self.database.postgres  # other instances may write the same journal
        # The SQLite file, or the PostgreSQL URL (password and all: to open it again, as ``verify`` does);
        # ``location`` is what to print.
        self.path: Path | str = str(path) if self.shared else Path(path)
        self.location = shown(path)
        self.read_only = read_only
        self._local = threading.local()
        self._readers: list[Connection] = []  # every thread's read connection, closed in close()
        self._readers_lock = threading.Lock()
        self._reader_turn = itertools.count()
        self._lock = threading.Lock()  # the write connection
        self._queue_lock = threading.Lock()
        self._queue: list[_Pending] = []
        self._checkpointer: _Checkpointer | None = None
        self._next_id: int | None = None  # of the next exchange; asked of the database when unknown
        # Exchange ids by correlation id, for this process's lookups; built at the first one. An index in
        # the database would cost every insert a write in a random place (correlation ids are random).
        self._by_correlation: dict[str, list[int]] | None = None
        self._after_commit: list[Callable[[], None]] = []  # told after each group of exchanges is written
        if self.shared:
            self._open_postgres(extra_schema, upgrades)
        elif read_only:
            self._open_read_only()
        else:
            self._open_sqlite(extra_schema, upgrades)

    def _open_read_only(self) -> None:
        """A reader beside a running server: no schema changes, no checkpoints."""
        self._conn = None
        if not self.path.is_file():
            raise JournalError(f"{self.path}: no journal here (start the platform first, or pass --journal)")
        try:
            self.reader().execute("SELECT id FROM exchanges LIMIT 1").fetchall()
            _refuse_newer(self.database, self.reader())
        except sqlite3.DatabaseError as exc:
            raise JournalError(f"{self.path}: not a mockplatform journal ({exc}): give --journal the file "
                               "'mockplatform serve' writes (it prints its path at start; default "
                               ".mockplatform/journal.sqlite)") from None
        except JournalError:
            self.close()
            raise

    def _open_sqlite(self, extra_schema: Sequence[str], upgrades: Sequence[Upgrade]) -> None:
        self._conn = None
        try:
            self._conn = open_database(self.path)
            # Checkpoints run in _Checkpointer, not in the committing request.
            self._conn.execute("PRAGMA wal_autocheckpoint=0")
            with self._lock:  # made or upgraded in one transaction: all of it, or (failing) nothing
                self._conn.execute("BEGIN IMMEDIATE")
                try:
                    found = self._found_version()
                    self.database.run_script(self._conn, _SCHEMA)
                    self._upgrade(extra_schema, upgrades, found)
                    self._conn.execute("COMMIT")
                except BaseException:
                    self._conn.execute("ROLLBACK")
                    raise
        except JournalError:
            self._conn.close()
            raise
        except (sqlite3.DatabaseError, OSError) as exc:
            if self._conn is not None:
                self._conn.close()
            raise JournalError(cannot_open(self.path, exc)) from None
        if str(self.path) != ":memory:":
            self._checkpointer = _Checkpointer(self.path, self._lock)

    def _open_postgres(self, extra_schema: Sequence[str], upgrades: Sequence[Upgrade]) -> None:
        """The journal in PostgreSQL. Several instances may open it at once: the schema is made (or upgraded)
        by one at a time, under the write lock."""
        self._conn = None
        try:
            conn = self.database.connect(read_only=self.read_only)
        except ERRORS as exc:
            raise JournalError(cannot_reach(self.database, exc)) from None
        try:
            if self.read_only:
                if "id" not in self.database.columns(conn, "exchanges"):
                    raise JournalError(f"{self.location}: no mockplatform journal in this database (start the "
                                       "platform on it first: mockplatform serve --database URL)")
                _refuse_newer(self.database, conn)
                self._local.conn = conn
                self._readers.append(conn)
                return
            self._conn = conn
            with self._lock:
                self.database.begin_write(conn)
                try:
                    found = self._found_version()
                    self.database.run_script(conn, _SCHEMA.replace(_DROP_CORRELATION, ""))
                    # A scan for one correlation id would read the whole table: the instances do not share
                    # the in-process index SQLite's single writer keeps (``_ids_with``).
                    conn.execute("CREATE INDEX IF NOT EXISTS exchanges_correlation ON exchanges(correlation_id)")
                    self._upgrade(extra_schema, upgrades, found)
                    conn.execute("COMMIT")
                except BaseException:
                    conn.execute("ROLLBACK")
                    raise
        except JournalError:
            conn.close()
            raise
        except ERRORS as exc:
            conn.close()
            raise JournalError(cannot_reach(self.database, exc)) from None

    def _found_version(self) -> int | None:
        """The version of the journal being opened, before anything is made: None for a new one."""
        if "id" not in self.database.columns(self._conn, "exchanges"):
            return None
        return schema_version(self._conn, self.database) or 1

    def _upgrade(self, extra_schema: Sequence[str], upgrades: Sequence[Upgrade], found: int | None) -> None:
        """Make the tables of this version (new ones; columns added since) and run the upgrades a journal of
        version ``found`` lacks, or refuse a newer journal."""
        conn, database = self._conn, self.database
        _refuse_newer(database, conn)
        present = set(database.columns(conn, "exchanges"))
        for column in COLUMNS:
            if column.name not in present:  # a journal from before the column (``added_later``)
                conn.execute(f"ALTER TABLE exchanges ADD COLUMN {column.name} {database.ddl(column.sql)}")
        for script in extra_schema:
            database.run_script(conn, script)
        if found is not None:
            for version, step in sorted(upgrades, key=lambda u: u[0]):
                if found < version <= SCHEMA_VERSION:
                    try:
                        step(conn, database) if callable(step) else database.run_script(conn, step)
                    except ERRORS as exc:
                        raise JournalError(
                            f"{database.shown()}: cannot upgrade this journal from schema version {found} to "
                            f"{SCHEMA_VERSION} ({scrubbed(first_line(exc), database.location)}); nothing was "
                            f"changed: keep using the mockplatform that wrote it, and report this") from None
        # Upgraded in place (or new): this version's from now on.
        conn.execute("INSERT INTO meta(key, value) VALUES ('schema_version', ?) ON CONFLICT(key) "
                     "DO UPDATE SET value = excluded.value", (str(SCHEMA_VERSION),))

    def close(self) -> None:
        """Close every connection, the readers of all threads too: with the last one SQLite moves the WAL
        into the database and removes it, so the file alone is the whole journal (to copy or hand in)."""
        with self._readers_lock:
            readers, self._readers = self._readers, []
        for reader in readers:
            with contextlib.suppress(*ERRORS):
                reader.close()
        self._local = threading.local()
        if self._conn is None:
            return
        if self._checkpointer is not None:
            self._checkpointer.stop()
        with self._lock:
            if not self.shared:
                with contextlib.suppress(sqlite3.Error):  # a reader holds the WAL: the next open checkpoints it
                    self._conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            with contextlib.suppress(*ERRORS):
                self._conn.close()

    def record(self, exchange: Exchange, effects: Sequence[Effect] = ()) -> int | None:
        """Store the exchange and apply the producers' state changes, in one transaction.

        Returns its id once the transaction is committed, so the caller may answer its client; inside
        ``holding`` it returns None at once, and the holder commits it before answering.
        """
        pending = _Pending(exchange, effects)
        held = getattr(self._local, "held", None)
        if held is not None:  # the caller commits it, before it answers (see ``holding``)
            held.append(pending)
            return None
        with self._queue_lock:
            self._queue.append(pending)
        with self._lock:
            if not pending.done:  # nobody has written it yet: write all that waits
                with self._queue_lock:
                    batch, self._queue = self._queue, []
                self._write_group(batch)
        if pending.error is not None:
            raise pending.error
        return exchange.id

    def holding(self, held: list[_Pending]) -> _Holding:
        """Within this block, exchanges this thread records are appended to ``held`` instead of being
        committed; ``commit(held)`` writes them later, in one transaction. For the HTTP server's event
        loop, which answers many requests in one turn: one commit for all of them, and each answer
        written only after it."""
        return _Holding(self._local, held)

    def commit(self, held: list[_Pending]) -> None:
        """Write held exchanges in one transaction; one that fails has its ``error`` set (the rest are kept)."""
        with self._lock:
            self._write_group(held)

    def _write_group(self, batch: list[_Pending]) -> None:
        if not batch:
            return
        if self._next_id is None and not self.shared:  # (shared: asked inside each transaction)
            self._next_id = self._conn.execute(_NEXT_ID).fetchone()[0]
        results = write_exchanges(self._conn, [(p.row, p.effects) for p in batch], self._next_id, self.database)
        ids = [r for r in results if isinstance(r, int)]
        # All written: the ids follow on. Something failed: the next write asks the database again.
        self._next_id = ids[-1] + 1 if len(ids) == len(results) and not self.shared else None
        self._written(batch, results)
        for listener in self._after_commit:
            listener()

    def after_commit(self, listener: Callable[[], None]) -> None:
        """Call ``listener`` (quick, not blocking) after every write of exchanges: the outbox wakes on it."""
        self._after_commit.append(listener)

    def _written(self, batch: list[_Pending], results: Sequence[int | BaseException]) -> None:
        """Note what became of held exchanges (``write_exchanges``' results): their ids, or why they
        could not be written."""
        index = self._by_correlation
        for pending, result in zip(batch, results, strict=True):
            if isinstance(result, BaseException):
                pending.error = result
            else:
                pending.exchange.id = result
                if index is not None:
                    index.setdefault(pending.exchange.correlation_id, []).append(result)
            pending.done = True

    def write(self, fn: Callable[[Connection], Any], exchanges_kept: bool = False) -> Any:
        """Run a state change outside an exchange (admin actions) in its own transaction.
        ``exchanges_kept``: the change leaves the exchanges as they are (a producer's state only)."""
        with self._lock:
            if not exchanges_kept:
                self._by_correlation = None  # the change may remove exchanges: built again when asked
                self._next_id = None
            self.database.begin_write(self._conn)
            try:
                if not exchanges_kept:  # were the newest exchanges removed, ids still go on
                    self._conn.execute(_KEEP_ID_FLOOR)
                result = fn(self._conn)
                self._conn.execute("COMMIT")
            except BaseException:
                with contextlib.suppress(*UNREACHABLE):  # (a connection that broke has no transaction left)
                    self._conn.execute("ROLLBACK")
                raise
        return result

    def mark_reset(self, when: str) -> None:
        """Note that a test run starts here (``verify --since-reset`` judges only what follows)."""
        self.write(lambda conn: conn.execute(
            "INSERT INTO meta(key, value) VALUES ('last_reset', ?) "
            "ON CONFLICT(key) DO UPDATE SET value = excluded.value", (when,)))

    def mark_observed(self, when: str) -> None:
        """Note that the platform listened, and would have journaled any call, up to ``when`` (it stops now):
        a rule that waits for what a call causes (an index update after a booking) can judge up to here."""
        self.write(lambda conn: conn.execute(
            "INSERT INTO meta(key, value) VALUES ('observed_until', ?) "
            "ON CONFLICT(key) DO UPDATE SET value = excluded.value", (when,)), exchanges_kept=True)

    def observed_until(self) -> str | None:
        """When the platform last stopped listening (``mark_observed``); None if it never said."""
        row = self.reader().execute("SELECT value FROM meta WHERE key = 'observed_until'").fetchone()
        return row[0] if row else None

    def last_reset(self) -> str | None:
        row = self.reader().execute("SELECT value FROM meta WHERE key = 'last_reset'").fetchone()
        return row[0] if row else None

    def reader(self) -> Connection:
        """A read connection for the calling thread (WAL lets readers run beside the writer; PostgreSQL's
        readers see every instance's commits)."""
        conn = getattr(self._local, "conn", None)
        if conn is None:
            with self._readers_lock:
                if self.shared and len(self._readers) >= SHARED_READERS:
                    # A PostgreSQL server allows some 100 connections in all, and an instance has dozens of
                    # threads: its threads share a few (psycopg's connections are thread-safe; each query is a
                    # cursor of its own, and readers run no transactions).
                    conn = self._readers[next(self._reader_turn) % SHARED_READERS]
                else:
                    conn = self.database.connect(read_only=self.read_only)
                    self._readers.append(conn)
            self._local.conn = conn
        return conn

    def _ids_with(self, correlation_id: str) -> list[int] | None:
        """The ids of the exchanges with this correlation id; None for a reader beside the server (it scans)."""
        if self.read_only or self.shared:
            return None
        with self._lock:
            if self._by_correlation is None:
                index: dict[str, list[int]] = {}
                for exchange_id, cid in self._conn.execute("SELECT id, correlation_id FROM exchanges ORDER BY id"):
                    index.setdefault(cid, []).append(exchange_id)
                self._by_correlation = index
            return list(self._by_correlation.get(correlation_id, ()))

    def count(self) -> int:
        return self.reader().execute("SELECT count(*) FROM exchanges").fetchone()[0]

    def exchange(self, exchange_id: int) -> Exchange | None:
        """One exchange by id (None: there is no such exchange)."""
        cursor = self._tuples("SELECT * FROM exchanges WHERE id = ?", (exchange_id,))
        row = cursor.fetchone()
        return None if row is None else _from_tuple(_names(cursor))(row)

    def _tuples(self, sql: str, args: Sequence[Any]) -> Any:
        """A query's rows as plain tuples (the reader's other queries get sqlite3.Row)."""
        cursor = self.reader().cursor()
        cursor.row_factory = None
        return cursor.execute(sql, args)

    def id_range(self) -> tuple[int, int]:
        """The oldest and the newest exchange's ids; (1, 0) when there is none."""
        # Two subqueries: SQLite finds a lone min() or max() of the key at once, but both in one SELECT scan the table.
        low, high = self.reader().execute(
            "SELECT (SELECT min(id) FROM exchanges), (SELECT max(id) FROM exchanges)").fetchone()
        return (1, 0) if low is None else (low, high)

    def last_id(self) -> int:
        """The newest exchange's id (0: none yet)."""
        return self.reader().execute("SELECT coalesce(max(id), 0) FROM exchanges").fetchone()[0]

    def distinct(self, column: str) -> list[str]:
        """The values a column holds, sorted (for the journal page's filters)."""
        if column not in ("contract", "consumer", "logical_address", "vp_code"):
            raise ValueError(f"no filter on column {column!r}")
        sql = f"SELECT DISTINCT {column} FROM exchanges WHERE {column} IS NOT NULL AND {column} != '' ORDER BY 1"
        return [r[0] for r in self.reader().execute(sql)]

    @staticmethod
    def clear(conn: Connection) -> int:
        """Remove every exchange (inside ``write``, beside the domains' own resets); returns how many."""
        return conn.execute("DELETE FROM exchanges").rowcount

    def exchanges(self, **filters: Any) -> list[Exchange]:
        return list(self.iter_exchanges(**filters))

    def iter_exchanges(
        self,
        contract: str | None = None,
        logical_address: str | None = None,
        consumer: str | None = None,
        correlation_id: str | None = None,
        since: str | None = None,
        until: str | None = None,
        after_id: int | None = None,
        limit: int | None = None,
        newest_first: bool = False,
        through_id: int | None = None,
        unread: frozenset[str] = frozenset(),
    ) -> Iterator[Exchange]:
        """The exchanges that match every filter given, by id (oldest first, or ``newest_first``). ``after_id``
        and ``through_id`` bound the ids (a reader that follows the journal, a range of it); ``unread``: columns
        not read at all (their fields left empty: b"", [] or None), for a reader that has no use for them."""
        where, args = [], []
        for column, value in (("contract", contract), ("logical_address", logical_address),
                              ("consumer", consumer)):
            if value is not None:
                where.append(f"lower({column}) = lower(?)")
                args.append(value)
        if correlation_id is not None:
            where.append("correlation_id = ?")
            args.append(correlation_id)
            ids = self._ids_with(correlation_id)
            if ids is not None:  # this process writes the journal and knows where to look
                if not ids:
                    return
                if len(ids) <= 100:
                    where.append(f"id IN ({', '.join('?' * len(ids))})")
                    args.extend(ids)
                else:  # an id reused very often: from its first exchange on (SQLite limits the ? per query)
                    where.append("id >= ?")
                    args.append(ids[0])
        if since is not None:
            where.append("time >= ?")
            args.append(since)
        if until is not None:
            where.append("time <= ?")
            args.append(until)
        if after_id is not None:
            where.append("id > ?")
            args.append(after_id)
        if through_id is not None:
            where.append("id <= ?")
            args.append(through_id)
        sql = "SELECT * FROM exchanges"
        if unread:
            present = self.database.columns(self.reader(), "exchanges")
            sql = f"SELECT {', '.join(c for c in present if c not in unread)} FROM exchanges"
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += " ORDER BY id DESC" if newest_first else " ORDER BY id"
        if limit is not None:
            sql += " LIMIT ?"
            args.append(limit)
        if limit is not None and limit <= 1000:
            cursor = self._tuples(sql, args)
            names, rows = _names(cursor), cursor
        else:  # read as it is used, whatever the journal's size
            names, rows = self.database.stream(sql, args, self.reader())
        from_row = _from_tuple(names, frozenset(unread))
        for row in rows:
            yield from_row(row)


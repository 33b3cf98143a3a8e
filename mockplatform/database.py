"""The two databases the platform keeps its state in, behind one interface: an embedded SQLite file (the
default, for one machine) and a PostgreSQL server (``--database postgresql://...``, one platform for a team:
several instances share it).

Everything above this module talks to a connection the way Python's ``sqlite3`` has it (``execute`` with ``?``
placeholders, rows readable by position and by name, ``rowcount``) in the SQL both databases understand:
``INSERT ... ON CONFLICT``, ``RETURNING``, ``IS NOT DISTINCT FROM``, ``CAST``; no ``rowid``, no ``INSERT OR``,
no SQLite date functions. So each query is written once. What differs is here and nowhere else:

- the connection (a ``PostgresConnection`` gives psycopg's connection ``sqlite3``'s few methods, and turns
  the ``?`` placeholders into psycopg's);
- the column types of a ``CREATE TABLE`` (``ddl``);
- how a writer takes the write lock (``begin_write``): SQLite has one writer per file (``BEGIN IMMEDIATE``);
  PostgreSQL's instances take one advisory lock per transaction, so that writes (an exchange's id, the next
  use of an armed fault, an inbox thread) are as serial across instances as they are in one SQLite file;
- how a long query is streamed (``stream``), and which errors mean "the database is unreachable".

psycopg 3 is used for PostgreSQL: it is the maintained PostgreSQL driver for Python, and its binary wheel
carries libpq, so nothing needs building.
"""

from __future__ import annotations

import re
import sqlite3
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import unquote

import psycopg

URL_SCHEMES = ("postgresql://", "postgres://")
DATABASE_ENV = "MOCKPLATFORM_DATABASE"  # the default of every ``--database`` option

# Errors of either database: what a caller catches where it would catch ``sqlite3.Error``.
ERRORS: tuple[type[BaseException], ...] = (sqlite3.Error, psycopg.Error)
# The database cannot be reached (PostgreSQL down, the network gone): the platform answers VP012 and tries
# again at the next call.
UNREACHABLE: tuple[type[BaseException], ...] = (psycopg.OperationalError, psycopg.InterfaceError)

# The one advisory lock a PostgreSQL writer holds for its transaction (see ``begin_write``).
_WRITE_LOCK_KEY = 0x6D6F636B  # "mock"


class Connection(Protocol):
    """What the platform's code uses of a connection (``sqlite3.Connection`` has it all)."""

    def execute(self, sql: str, parameters: Sequence[Any] = ...) -> Any: ...
    def executemany(self, sql: str, seq_of_parameters: Iterable[Sequence[Any]]) -> Any: ...
    def executescript(self, script: str) -> Any: ...
    def close(self) -> None: ...


def is_url(location: str | Path | None) -> bool:
    """Whether ``location`` names a PostgreSQL database rather than a SQLite file."""
    return location is not None and str(location).startswith(URL_SCHEMES)


# The password in a URL: after the user and up to the last "@" (a password may hold an unencoded "/", "#", "?" or
# "@"), or a "password" parameter of the query.
_PASSWORDS = (re.compile(r"^(postgres(?:ql)?://[^:@/?#]*:)(.*)(@)", re.I | re.S),
              re.compile(r"([?&]password=)([^&]*)()", re.I))
HIDDEN = "***"


def shown(location: str | Path) -> str:
    """The location as it may be printed: a URL without its password (in the user part or a parameter)."""
    text = str(location)
    if not is_url(text):
        return text
    for pattern in _PASSWORDS:
        text = pattern.sub(rf"\g<1>{HIDDEN}\g<3>", text)
    return text


def passwords(location: str | Path) -> list[str]:
    """The passwords a URL holds, as written and decoded: what an error message quoting the URL must not show."""
    found = []
    for pattern in _PASSWORDS:
        for match in pattern.finditer(str(location)):
            if match.group(2):
                found += [match.group(2), unquote(match.group(2))]
    return [p for p in found if p]


def scrubbed(text: str, location: str | Path) -> str:
    """``text`` (a driver's error message) with the URL's passwords hidden."""
    for secret in sorted(passwords(location), key=len, reverse=True):
        text = text.replace(secret, HIDDEN)
    return text


# -- PostgreSQL ---------------------------------------------------------------------------------------------

_PLACEHOLDER = re.compile(r"'(?:[^']|'')*'|\?|%")


@lru_cache(maxsize=1024)
def pg_sql(text: str) -> str:
    """A query written with ``?`` placeholders as psycopg takes it (``%s``; a literal ``%`` doubled), string
    literals left alone."""

    def one(match: re.Match[str]) -> str:
        token = match.group(0)
        if token == "?":
            return "%s"
        if token == "%":
            return "%%"
        return token.replace("%", "%%")

    return _PLACEHOLDER.sub(one, text)


_TYPES = (
    (re.compile(r"\bINTEGER PRIMARY KEY AUTOINCREMENT\b", re.I), "BIGSERIAL PRIMARY KEY"),
    (re.compile(r"\bid INTEGER PRIMARY KEY\b", re.I), "id BIGSERIAL PRIMARY KEY"),
    (re.compile(r"\bINTEGER\b", re.I), "BIGINT"),
    (re.compile(r"\bREAL\b", re.I), "DOUBLE PRECISION"),
    (re.compile(r"\bBLOB\b", re.I), "BYTEA"),
)


def ddl(script: str, postgres: bool) -> str:
    """A ``CREATE TABLE`` script written for SQLite, in the column types of the database it runs on. (An
    ``INTEGER PRIMARY KEY`` is SQLite's auto-numbered row id: a ``BIGSERIAL`` in PostgreSQL.)"""
    if not postgres:
        return script
    for pattern, replacement in _TYPES:
        script = pattern.sub(replacement, script)
    return script


class _RowClass:
    """Row classes per set of column names: a tuple that can also be read by column name, like sqlite3.Row."""

    _made: dict[tuple[str, ...], type] = {}
    _lock = threading.Lock()

    @classmethod
    def of(cls, names: tuple[str, ...]) -> type:
        made = cls._made.get(names)
        if made is None:
            with cls._lock:
                made = cls._made.get(names)
                if made is None:
                    made = cls._made[names] = _row_class(names)
        return made


def _row_class(names: tuple[str, ...]) -> type:
    index = {name: i for i, name in enumerate(names)}
    index.update({name.lower(): i for i, name in enumerate(names)})

    class Row(tuple):
        __slots__ = ()

        def __getitem__(self, key: Any) -> Any:
            if isinstance(key, str):
                try:
                    key = index[key] if key in index else index[key.lower()]
                except KeyError:
                    raise IndexError(f"No item with that key: {key}") from None
            return tuple.__getitem__(self, key)

        def keys(self) -> list[str]:
            return list(names)

    return Row


def _rows_by_name(cursor: psycopg.Cursor) -> Callable[[Sequence[Any]], Any]:
    if cursor.description is None:
        return tuple
    row = _RowClass.of(tuple(c.name for c in cursor.description))
    return lambda values: row(values)


def _plain_rows(cursor: psycopg.Cursor) -> Callable[[Sequence[Any]], Any]:
    return tuple


class PostgresCursor:
    """psycopg's cursor with ``sqlite3.Cursor``'s names: ``row_factory = None`` gives plain tuples."""

    def __init__(self, conn: PostgresConnection) -> None:
        self._conn = conn
        self._cursor: psycopg.Cursor | None = None
        self.row_factory: Any = sqlite3.Row  # anything but None: rows readable by name

    def _on(self, raw: psycopg.Connection) -> psycopg.Cursor:
        self._cursor = raw.cursor(row_factory=_rows_by_name if self.row_factory is not None else _plain_rows)
        return self._cursor

    def execute(self, sql: str, parameters: Sequence[Any] = ()) -> PostgresCursor:
        query, values = pg_sql(sql), tuple(parameters)
        self._conn.run(lambda raw: self._on(raw).execute(query, values))
        return self

    def executemany(self, sql: str, seq_of_parameters: Iterable[Sequence[Any]]) -> PostgresCursor:
        query, values = pg_sql(sql), [tuple(p) for p in seq_of_parameters]
        self._conn.run(lambda raw: self._on(raw).executemany(query, values))
        return self

    def fetchone(self) -> Any:
        return None if self._cursor is None or self._cursor.description is None else self._cursor.fetchone()

    def fetchall(self) -> list[Any]:
        return [] if self._cursor is None or self._cursor.description is None else self._cursor.fetchall()

    def __iter__(self) -> Iterator[Any]:
        return iter(self.fetchall())

    @property
    def rowcount(self) -> int:
        return -1 if self._cursor is None else self._cursor.rowcount

    @property
    def description(self) -> Any:
        return None if self._cursor is None else self._cursor.description

    @property
    def lastrowid(self) -> None:
        raise AttributeError("PostgreSQL gives no lastrowid: write the query with RETURNING id")

    def close(self) -> None:
        if self._cursor is not None:
            self._cursor.close()


class PostgresConnection:
    """A psycopg connection with the few ``sqlite3.Connection`` methods the platform uses. In autocommit, like
    the SQLite connections (``isolation_level=None``): a transaction is an explicit ``BEGIN`` ... ``COMMIT``.

    A connection the server dropped (PostgreSQL restarted, the network gone) is opened again at the next
    statement that does not belong to a transaction already begun: the platform recovers by itself."""

    def __init__(self, url: str, read_only: bool = False) -> None:
        self.url = url
        self.read_only = read_only
        self._conn: psycopg.Connection | None = None
        self._opening = threading.Lock()  # a reader's connection is shared by threads: one opens it again
        self.row_factory: Any = None  # as sqlite3's, set by callers; rows are readable by name either way

    def raw(self) -> psycopg.Connection:
        conn = self._conn
        if conn is None or conn.closed or conn.broken:
            with self._opening:
                conn = self._conn
                if conn is None or conn.closed or conn.broken:
                    if conn is not None:
                        conn.close()
                    conn = connect_postgres(self.url, serving=not self.read_only)
                    if self.read_only:
                        conn.execute("SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY")
                    self._conn = conn
        return conn

    def run(self, action: Callable[[psycopg.Connection], Any]) -> Any:
        """``action`` on the connection. One that fails because the server dropped the connection while it was
        idle (PostgreSQL restarted since its last use: nothing of a transaction is lost) runs once more, on a
        new connection: so the first call after the database is back goes through."""
        raw = self.raw()
        idle = raw.info.transaction_status == psycopg.pq.TransactionStatus.IDLE
        try:
            return action(raw)
        except UNREACHABLE:
            if not (raw.broken or raw.closed):
                raise
            raw.close()
            if not idle:
                raise
        return action(self.raw())

    def cursor(self) -> PostgresCursor:
        return PostgresCursor(self)

    def execute(self, sql: str, parameters: Sequence[Any] = ()) -> PostgresCursor:
        return self.cursor().execute(sql, parameters)

    def executemany(self, sql: str, seq_of_parameters: Iterable[Sequence[Any]]) -> PostgresCursor:
        return self.cursor().executemany(sql, seq_of_parameters)

    def executescript(self, script: str) -> None:
        """Run several statements (no parameters), as one."""
        text = script.encode("utf-8")
        self.run(lambda raw: raw.execute(text))

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None


# How long the platform waits for PostgreSQL before it answers VP012: a statement (a lock wait too) ends after
# STATEMENT_TIMEOUT_MS at the server, and a connection whose server went silent (the network gone) is given up
# after TCP_TIMEOUT_MS. (A reader of the whole journal, verify, has no statement limit.)
STATEMENT_TIMEOUT_MS = 30_000
TCP_TIMEOUT_MS = 20_000


def connect_postgres(url: str, serving: bool = False) -> psycopg.Connection:
    """A new autocommit connection; an unreachable server fails within seconds, not minutes. ``serving``: the
    platform's own connections, whose statements are bounded (STATEMENT_TIMEOUT_MS)."""
    limits = {"options": f"-c statement_timeout={STATEMENT_TIMEOUT_MS}"} if serving and "options=" not in url else {}
    return psycopg.connect(url, autocommit=True, connect_timeout=5, application_name="mockplatform",
                           keepalives=1, keepalives_idle=10, keepalives_interval=5, keepalives_count=2,
                           tcp_user_timeout=TCP_TIMEOUT_MS, **limits)


# -- both ---------------------------------------------------------------------------------------------------


class Database:
    """Where the state is kept, and what differs between the two databases (see the module's docstring).
    ``location``: a SQLite file's path, or a ``postgresql://`` URL."""

    def __init__(self, location: str | Path) -> None:
        self.postgres = is_url(location)
        self.location: str | Path = str(location) if self.postgres else Path(location)

    @property
    def kind(self) -> str:
        return "postgresql" if self.postgres else "sqlite"

    def shown(self) -> str:
        return shown(self.location)

    def ddl(self, script: str) -> str:
        return ddl(script, self.postgres)

    def connect(self, read_only: bool = False) -> Connection:
        """A new connection (a reader's, or the writer's: ``Journal`` keeps one of those)."""
        if self.postgres:
            conn = PostgresConnection(str(self.location), read_only=read_only)
            conn.raw()  # unreachable: say so now
            return conn
        path = Path(self.location)
        if read_only:
            conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, check_same_thread=False,
                                   isolation_level=None, timeout=30)
        else:
            conn = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None, timeout=30)
        conn.row_factory = sqlite3.Row
        return conn

    def run_script(self, conn: Connection, script: str) -> None:
        """Run a script of statements (a ``CREATE TABLE`` script written for SQLite, in this database's types)
        inside the caller's transaction: SQLite's ``executescript`` would commit first, so its statements are run
        one at a time."""
        if self.postgres:
            conn.executescript(ddl(script, True))
            return
        statement = ""
        for line in script.splitlines(keepends=True):
            statement += line
            if sqlite3.complete_statement(statement):
                conn.execute(statement)
                statement = ""
        if statement.strip():
            conn.execute(statement)

    def begin_write(self, conn: Connection) -> None:
        """Begin a transaction that writes, holding the one write lock (of the file; of every instance)."""
        if self.postgres:  # one round trip
            conn.executescript(f"BEGIN; SELECT pg_advisory_xact_lock({_WRITE_LOCK_KEY:d})")
        else:
            conn.execute("BEGIN IMMEDIATE")

    def columns(self, conn: Connection, table: str) -> list[str]:
        """A table's columns, in order (none: no such table)."""
        if self.postgres:
            rows = conn.execute("SELECT column_name FROM information_schema.columns WHERE table_schema = "
                                "current_schema() AND table_name = ? ORDER BY ordinal_position", (table,)).fetchall()
            return [r[0] for r in rows]
        return [r[1] for r in conn.execute(f"PRAGMA table_info({table})")]

    def stream(self, sql: str, parameters: Sequence[Any], reader: Connection,
               chunk: int = 2000) -> tuple[tuple[str, ...], Iterator[tuple]]:
        """A long query's column names and its rows as plain tuples, read as they are used: the memory of a
        reader of the whole journal does not grow with it. (PostgreSQL: a server-side cursor on a connection of
        its own, so the reader's connection stays free for other queries meanwhile.)"""
        if not self.postgres:
            cursor = reader.cursor()
            cursor.row_factory = None
            cursor.execute(sql, parameters)
            return tuple(d[0] for d in cursor.description), iter(cursor)
        conn = connect_postgres(str(self.location))
        try:
            conn.execute("BEGIN READ ONLY")
            cursor = conn.cursor(name="mockplatform_stream", row_factory=_plain_rows)
            cursor.itersize = chunk
            cursor.execute(pg_sql(sql), tuple(parameters))
            names = tuple(c.name for c in cursor.description or ())
        except BaseException:
            conn.close()
            raise

        def rows() -> Iterator[tuple]:
            try:
                yield from cursor
            finally:
                conn.close()

        return names, rows()

    def check(self) -> str | None:
        """None when the database answers; else why not (for ``/status``)."""
        try:
            conn = self.connect(read_only=True) if self.postgres else None
        except ERRORS as exc:
            return scrubbed(first_line(exc), self.location)
        if conn is not None:
            try:
                conn.execute("SELECT 1").fetchone()
            except ERRORS as exc:
                return scrubbed(first_line(exc), self.location)
            finally:
                conn.close()
        return None


def first_line(exc: BaseException) -> str:
    """An error's first line (psycopg's messages run over several)."""
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


__all__ = ["ERRORS", "UNREACHABLE", "Connection", "Database", "PostgresConnection", "ddl", "first_line", "is_url",
           "pg_sql", "shown"]

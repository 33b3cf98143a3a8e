"""The fake 1177 inbox's state in SQLite: main cases and messages, in the journal's database. The store
owns it: every read through ``InboxStore`` first takes in what the journal has recorded since, so no
reader has to remember to, and no module outside this one runs SQL against its tables.

The inbox is taken from the journal. An AddMessage call that stores a message records it with its
exchange, as data (the exchange's ``effect``: citizen, thread, notifications sent), and costs the
commit nothing more; whoever reads the inbox next takes the messages recorded since the last time
into its tables (``sync_inbox``), in the order they came, with their content (unit, heading, text,
SSO link) read from the exchange's request. A request longer than the journal keeps
(``journal_body_bytes``) has its message stored at once, whole, in the exchange's transaction.
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from ...database import Connection
from ...envelope import MalformedRequest, read_envelope
from ...journal import Journal
from ...shortcuts import json_text
from .request import CONTENT_FIELDS, read_request

INBOX_SCHEMA = """
CREATE TABLE IF NOT EXISTS inbox_cases (
    id INTEGER PRIMARY KEY,
    citizen TEXT NOT NULL,
    thread_key TEXT,
    created TEXT NOT NULL
);
CREATE UNIQUE INDEX IF NOT EXISTS inbox_cases_thread ON inbox_cases(citizen, thread_key);
CREATE TABLE IF NOT EXISTS inbox_messages (
    id INTEGER PRIMARY KEY,
    case_id INTEGER NOT NULL REFERENCES inbox_cases(id),
    exchange_id INTEGER NOT NULL,
    citizen TEXT NOT NULL,
    received TEXT NOT NULL,
    unread INTEGER NOT NULL DEFAULT 1,
    consumer TEXT,
    source_system TEXT,
    correlation_id TEXT,
    unit_id TEXT,
    unit_name TEXT,
    unit_address TEXT,
    unit_postal_code TEXT,
    unit_postal_city TEXT,
    unit_telephone TEXT,
    thread_id TEXT,
    description TEXT,
    text TEXT,
    sso_system_id TEXT,
    sso_text TEXT,
    sso_query TEXT,
    sso_type TEXT,
    notify INTEGER,
    notifications TEXT
);
CREATE INDEX IF NOT EXISTS inbox_messages_citizen ON inbox_messages(citizen);
"""


def thread_key(thread_id: str | None, source_system: str | None, consumer: str | None) -> str | None:
    """Messages with the same key (in one citizen's inbox) make one main case: the thread id, per sender.
    A ``|`` in the sender is doubled, so the first single one ends it and no two threads share a key."""
    if not thread_id:
        return None
    sender = (source_system or consumer or "").lower().replace("|", "||")
    return f"{sender}|{thread_id}"


_CONTENT_COLUMNS = CONTENT_FIELDS
_COLUMNS = ("exchange_id, citizen, received, correlation_id, notifications, consumer, "
            + ", ".join(_CONTENT_COLUMNS))
_VALUES = "?, ?, ?, ?, ?, ?, " + ", ".join("?" * len(_CONTENT_COLUMNS))
# The lookup of a thread's main case and the insert in one statement: no row when there is no such case yet.
_INSERT_INTO_THREAD = (f"INSERT INTO inbox_messages (case_id, {_COLUMNS}) SELECT id, {_VALUES} "
                       "FROM inbox_cases WHERE citizen = ? AND thread_key = ? RETURNING id")
_INSERT = f"INSERT INTO inbox_messages (case_id, {_COLUMNS}) VALUES (?, {_VALUES}) RETURNING id"
_NO_CONTENT = (None,) * len(_CONTENT_COLUMNS)


def store_message(conn: Connection, exchange_id: int, citizen: str, thread: str | None,
                  notifications: str, correlation_id: str, content: tuple | None = None,
                  consumer: str | None = None, received: str | None = None) -> int:
    """Insert an unread message; a message with a known ``thread`` key joins that main case.
    ``content``: what it says (``InboxRequest.content()``; None: the request could not be read).
    ``received``: default now."""
    said = _NO_CONTENT if content is None else content
    received = received or _now()
    row = (exchange_id, citizen, received, correlation_id, notifications, consumer, *said)
    if thread is not None:
        joined = conn.execute(_INSERT_INTO_THREAD, (*row, citizen, thread)).fetchone()
        if joined is not None:
            return joined[0]
    case_id = conn.execute("INSERT INTO inbox_cases (citizen, thread_key, created) VALUES (?, ?, ?) RETURNING id",
                           (citizen, thread, received)).fetchone()[0]
    return conn.execute(_INSERT, (case_id, *row)).fetchone()[0]


def _now() -> str:
    """UTC, to the millisecond."""
    return datetime.now(UTC).isoformat(timespec="milliseconds")


MESSAGE_EFFECT = "inbox.message"


def message_effect(citizen: str, thread: str | None, notifications: str) -> str:
    """What an AddMessage call records with its exchange for ``sync_inbox`` to store."""
    return json_text([MESSAGE_EFFECT, citizen, thread, notifications])


@dataclass(slots=True)
class StoreMessage:
    """The effect of an AddMessage call whose content must be stored now (``store_message``)."""

    citizen: str
    thread: str | None
    notifications: str
    correlation_id: str
    content: tuple | None = None
    consumer: str | None = None

    def __call__(self, conn: Connection, exchange_id: int) -> None:
        store_message(conn, exchange_id, self.citizen, self.thread, self.notifications, self.correlation_id,
                      self.content, self.consumer)


_SYNCED = "inbox_synced"  # meta: the exchanges up to this id have given the inbox their messages
_SYNC_CHUNK = 200  # messages per transaction: the server's commits wait while one is written


def sync_inbox(journal: Journal) -> None:
    """Take into the inbox the messages recorded with exchanges since the last time, content and all (so
    that reading an inbox is SQL only). Every reader of the inbox calls this first. The requests are read
    and parsed outside the journal's write lock, for which the server's commits wait. (A read-only
    journal, beside a running server, shows what was taken so far.)"""
    if journal.read_only:
        return
    while True:
        reader = journal.reader()
        row = reader.execute("SELECT CAST(value AS INTEGER) FROM meta WHERE key = ?", (_SYNCED,)).fetchone()
        after = row[0] if row else 0
        upto = reader.execute("SELECT coalesce(max(id), 0) FROM exchanges").fetchone()[0]
        rows = reader.execute(
            "SELECT id, time, correlation_id, consumer, effect, request_body FROM exchanges "
            "WHERE id > ? AND id <= ? AND effect IS NOT NULL ORDER BY id LIMIT ?", (after, upto, _SYNC_CHUNK)
        ).fetchall()
        if not rows and upto <= after:
            return
        more = len(rows) == _SYNC_CHUNK
        store = functools.partial(_store_taken, after=after, upto=rows[-1][0] if more else upto,
                                  taken=[_taken(*r) for r in rows])
        if journal.write(store, exchanges_kept=True) and not more:
            return  # (not stored: another reader took these first, so look again)


def _taken(exchange_id: int, time: str, correlation_id: str, consumer: str | None, effect: str,
           request: bytes | None) -> tuple:
    kind, citizen, thread, notifications = json.loads(effect)
    if kind != MESSAGE_EFFECT:
        return (exchange_id, None)
    # when the call came, to the millisecond
    return (exchange_id, (citizen, thread, notifications, correlation_id, _content_of_request(request), consumer,
                          f"{time[:23]}+00:00"))


def _store_taken(conn: Connection, after: int, upto: int, taken: list[tuple]) -> bool:
    """Store what was read after ``after``; False (nothing stored) if another reader got there first."""
    row = conn.execute("SELECT CAST(value AS INTEGER) FROM meta WHERE key = ?", (_SYNCED,)).fetchone()
    if (row[0] if row else 0) != after:
        return False
    for exchange_id, message in taken:
        if message is not None:
            citizen, thread, notifications, correlation_id, content, consumer, received = message
            store_message(conn, exchange_id, citizen, thread, notifications, correlation_id, content, consumer,
                          received)
    conn.execute("INSERT INTO meta(key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                 (_SYNCED, str(upto)))
    return True


def reset_inbox(conn: Connection) -> None:
    """Forget every message and main case (the citizens, units and systems stay: they are fixtures)."""
    conn.execute("DELETE FROM inbox_messages")
    conn.execute("DELETE FROM inbox_cases")


def _content_of_request(body: bytes | None) -> tuple | None:
    if not body:
        return None
    try:
        return read_request(read_envelope(bytes(body)).payload).content()
    except MalformedRequest:
        return None


class InboxStore:
    """The inbox as its readers see it: every method takes in what the journal recorded since the last read
    first, so what it answers is up to date with every exchange answered so far."""

    def __init__(self, journal: Journal) -> None:
        self.journal = journal

    def _reader(self) -> Connection:
        sync_inbox(self.journal)
        return self.journal.reader()

    def cases(self, citizen: str) -> list[dict]:
        """A citizen's main cases, newest first, each with its messages (oldest first)."""
        cases: dict[int, dict] = {}
        rows = self._reader().execute(
            "SELECT * FROM inbox_messages WHERE citizen = ? ORDER BY exchange_id, id", (citizen,)).fetchall()
        for row in rows:
            data = dict(row)
            data["unread"] = bool(data["unread"])
            data["notify"] = bool(data["notify"])
            data["notifications"] = [n for n in (data["notifications"] or "").split(",") if n]
            case = cases.setdefault(data["case_id"], {"case_id": data["case_id"], "messages": []})
            case["messages"].append(data)
        return sorted(cases.values(), key=lambda c: c["messages"][-1]["exchange_id"], reverse=True)

    def message_owner(self, message_id: int) -> tuple[str, bool] | None:
        """(citizen, unread) of a stored message; None when there is no such message."""
        row = self._reader().execute("SELECT citizen, unread FROM inbox_messages WHERE id = ?",
                                     (message_id,)).fetchone()
        return None if row is None else (row["citizen"], bool(row["unread"]))

    def mark_read(self, message_id: int) -> None:
        """The citizen opened the message: store it as read (only written when it was unread)."""
        self.journal.write(lambda conn: conn.execute(
            "UPDATE inbox_messages SET unread = 0 WHERE id = ? AND unread = 1", (message_id,)), exchanges_kept=True)

    def counts(self) -> tuple[int, int]:
        """(messages, unread messages) in every inbox."""
        messages, unread = self._reader().execute(
            "SELECT count(*), CAST(coalesce(sum(unread), 0) AS INTEGER) FROM inbox_messages").fetchone()
        return messages, unread

    def holds(self, citizen: str, thread: str | None, description: str | None, text: str | None) -> bool:
        """Whether the citizen's inbox already holds a message of this thread key with this heading and text
        (1177 makes no second message of a booking it was told about again, unchanged)."""
        row = self._reader().execute(
            "SELECT 1 FROM inbox_messages m JOIN inbox_cases c ON c.id = m.case_id WHERE m.citizen = ? "
            "AND c.thread_key IS NOT DISTINCT FROM ? AND m.description IS NOT DISTINCT FROM ? "
            "AND m.text IS NOT DISTINCT FROM ? LIMIT 1",
            (citizen, thread, description, text)).fetchone()
        return row is not None

    def message_of_exchange(self, exchange_id: int) -> int | None:
        """The id of the message an exchange stored, if it stored one."""
        row = self._reader().execute("SELECT id FROM inbox_messages WHERE exchange_id = ? ORDER BY id LIMIT 1",
                                     (exchange_id,)).fetchone()
        return row[0] if row else None


def read_inbox(journal: Journal, citizen: str) -> list[dict[str, Any]]:
    """A citizen's main cases, newest first (``InboxStore.cases``)."""
    return InboxStore(journal).cases(citizen)


def deliver(journal: Journal, citizen: str, exchange_id: int, correlation_id: str, consumer: str | None,
            once: bool = False, **content: Any) -> int | None:
    """1177 itself puts a message in a citizen's inbox (an invitation or a booking from web booking, an
    "avbokad" notice): stored at once, tied to the exchange it came from. ``content``: ``CONTENT_FIELDS``
    by name (unit_name, thread_id, description, text, ...); the rest stay empty. ``once``: not when the
    same message is already in its thread. Returns the message id (None: it was there already)."""
    unknown = set(content) - set(_CONTENT_COLUMNS)
    if unknown:
        raise ValueError(f"not inbox message fields: {', '.join(sorted(unknown))}")
    values = tuple(int(bool(content.get(n))) if n == "notify" else content.get(n) for n in _CONTENT_COLUMNS)
    thread = thread_key(content.get("thread_id"), content.get("source_system"), consumer)
    if once and InboxStore(journal).holds(citizen, thread, content.get("description"), content.get("text")):
        return None
    sync_inbox(journal)  # what the journal recorded before comes first
    return journal.write(lambda conn: store_message(conn, exchange_id, citizen, thread, "", correlation_id, values,
                                                    consumer), exchanges_kept=True)

"""The fake 1177 inbox's state in SQLite: main cases and messages, in the journal's database.

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
import sqlite3
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING

from lxml import etree

from ..envelope import MalformedRequest, read_envelope
from ..journal import json_text
from ..xmlsafe import text_value

if TYPE_CHECKING:
    from ..journal import Journal

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


@dataclass
class MessageContent:
    """What an AddMessage request says, read the lenient way (by local name, the first one wins)."""

    unit_id: str | None
    unit_name: str | None
    unit_address: str | None
    unit_postal_code: str | None
    unit_postal_city: str | None
    unit_telephone: str | None
    thread_id: str | None
    description: str | None
    text: str | None
    sso_system_id: str | None
    sso_text: str | None
    sso_query: str | None
    sso_type: str | None
    notify: bool
    source_system: str | None


def children_by_name(parent: etree._Element | None) -> dict[str, etree._Element]:
    """The children by local name, whatever their namespace (lenient reading; the first one wins).

    One pass per element: cheaper than a lookup per field."""
    out: dict[str, etree._Element] = {}
    if parent is not None:
        for child in parent:
            tag = child.tag
            if isinstance(tag, str):
                out.setdefault(tag.rpartition("}")[2], child)
    return out


def text_of(fields: dict[str, etree._Element], name: str) -> str | None:
    child = fields.get(name)
    return None if child is None else text_value(child)


def first_child_text(parent: etree._Element | None, name: str) -> str | None:
    """The text of the first child with this local name (as ``text_of`` reads it), without reading the rest."""
    if parent is not None:
        for child in parent:
            tag = child.tag
            if isinstance(tag, str) and tag.rpartition("}")[2] == name:
                return text_value(child)
    return None


def texts_by_name(parent: etree._Element | None) -> dict[str, str]:
    """The children's texts by local name, as ``text_of`` would read each ("" for an empty one): for an
    element whose children are all read as text, one pass instead of a lookup per field."""
    out: dict[str, str] = {}
    if parent is not None:
        for child in parent:
            tag = child.tag
            if isinstance(tag, str):
                name = tag.rpartition("}")[2]
                if name not in out:
                    out[name] = text_value(child)
    return out


def wants_notification(request: dict[str, etree._Element]) -> bool:
    return (text_of(request, "notify") or "").strip().lower() in ("true", "1")


def message_content(payload: etree._Element) -> MessageContent:
    """The content of an AddMessageToPatientPortalInbox payload."""
    request = children_by_name(payload)
    message = children_by_name(request.get("message"))
    unit = texts_by_name(message.get("organisationUnit"))
    sso = texts_by_name(message.get("ssoLink"))
    return MessageContent(
        unit_id=unit.get("unitId"),
        unit_name=unit.get("unitName"),
        unit_address=unit.get("unitAddress"),
        unit_postal_code=unit.get("unitPostalCode"),
        unit_postal_city=unit.get("unitPostalCity"),
        unit_telephone=unit.get("unitTelephone"),
        thread_id=text_of(message, "messageThreadId"),
        description=text_of(message, "messageDescription"),
        text=text_of(message, "messageText"),
        sso_system_id=sso.get("systemId"),
        sso_text=sso.get("text"),
        sso_query=sso.get("queryString"),
        sso_type=sso.get("type"),
        notify=wants_notification(request),
        source_system=text_of(request, "sourceSystem"),
    )


def thread_key(thread_id: str | None, source_system: str | None, consumer: str | None) -> str | None:
    """Messages with the same key (in one citizen's inbox) make one main case: the thread id, per sender.
    A ``|`` in the sender is doubled, so the first single one ends it and no two threads share a key."""
    if not thread_id:
        return None
    sender = (source_system or consumer or "").lower().replace("|", "||")
    return f"{sender}|{thread_id}"


_NOW = "strftime('%Y-%m-%dT%H:%M:%f+00:00', 'now')"  # UTC, to the millisecond
_CONTENT_COLUMNS = tuple(MessageContent.__dataclass_fields__)
_COLUMNS = ("exchange_id, citizen, received, correlation_id, notifications, consumer, "
            + ", ".join(_CONTENT_COLUMNS))
_VALUES = f"?, ?, coalesce(?, {_NOW}), ?, ?, ?, " + ", ".join("?" * len(_CONTENT_COLUMNS))
# The lookup of a thread's main case and the insert in one statement: no row when there is no such case yet.
_INSERT_INTO_THREAD = (f"INSERT INTO inbox_messages (case_id, {_COLUMNS}) SELECT id, {_VALUES} "
                       "FROM inbox_cases WHERE citizen = ? AND thread_key = ?")
_INSERT = f"INSERT INTO inbox_messages (case_id, {_COLUMNS}) VALUES (?, {_VALUES})"
_NO_CONTENT = (None,) * len(_CONTENT_COLUMNS)


def store_message(conn: sqlite3.Connection, exchange_id: int, citizen: str, thread: str | None,
                  notifications: str, correlation_id: str, content: MessageContent | None = None,
                  consumer: str | None = None, received: str | None = None) -> int:
    """Insert an unread message; a message with a known ``thread`` key joins that main case.
    ``content``: what it says (None: the request could not be read). ``received``: default now."""
    if content is None:
        said: tuple = _NO_CONTENT
    else:
        values = asdict(content)
        values["notify"] = int(values["notify"])
        said = tuple(values.values())
    row = (exchange_id, citizen, received, correlation_id, notifications, consumer, *said)
    if thread is not None:
        joined = conn.execute(_INSERT_INTO_THREAD, (*row, citizen, thread))
        if joined.rowcount:
            return joined.lastrowid
    case_id = conn.execute(
        f"INSERT INTO inbox_cases (citizen, thread_key, created) VALUES (?, ?, coalesce(?, {_NOW}))",
        (citizen, thread, received)).lastrowid
    return conn.execute(_INSERT, (case_id, *row)).lastrowid


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
    content: MessageContent | None = None
    consumer: str | None = None

    def __call__(self, conn: sqlite3.Connection, exchange_id: int) -> None:
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


def _store_taken(conn: sqlite3.Connection, after: int, upto: int, taken: list[tuple]) -> bool:
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


def reset_inbox(conn: sqlite3.Connection) -> None:
    """Forget every message and main case (the citizens, units and systems stay: they are fixtures)."""
    conn.execute("DELETE FROM inbox_messages")
    conn.execute("DELETE FROM inbox_cases")


def _content_of_request(body: bytes | None) -> MessageContent | None:
    if not body:
        return None
    try:
        return message_content(read_envelope(bytes(body)).payload)
    except MalformedRequest:
        return None


def read_inbox(journal: Journal, citizen: str) -> list[dict]:
    """A citizen's main cases, newest first, each with its messages (oldest first)."""
    sync_inbox(journal)
    cases: dict[int, dict] = {}
    rows = journal.reader().execute(
        "SELECT * FROM inbox_messages WHERE citizen = ? ORDER BY exchange_id, id", (citizen,)).fetchall()
    for row in rows:
        data = dict(row)
        data["unread"] = bool(data["unread"])
        data["notify"] = bool(data["notify"])
        data["notifications"] = [n for n in (data["notifications"] or "").split(",") if n]
        case = cases.setdefault(data["case_id"], {"case_id": data["case_id"], "messages": []})
        case["messages"].append(data)
    return sorted(cases.values(), key=lambda c: c["messages"][-1]["exchange_id"], reverse=True)

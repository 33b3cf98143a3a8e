"""The fake 1177 inbox's state in SQLite: main cases and messages, in the journal's database.

A message's row places it: whose inbox, which main case, read or not, which notifications were sent,
and the AddMessage exchange it came in. Its content (unit, heading, text, SSO link) is read from that
exchange's request, which the journal keeps in the same transaction: one small row per call rather than
the whole message a second time, as the commit is a large part of what an AddMessage call costs. A
request larger than the journal keeps (``journal_body_bytes``) has its content stored in the row too.
"""

from __future__ import annotations

import sqlite3
from dataclasses import asdict, dataclass

from lxml import etree

from ..envelope import MalformedRequest, read_envelope

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
    return None if child is None else (child.text or "")


def first_child_text(parent: etree._Element | None, name: str) -> str | None:
    """The text of the first child with this local name (as ``text_of`` reads it), without reading the rest."""
    if parent is not None:
        for child in parent:
            tag = child.tag
            if isinstance(tag, str) and tag.rpartition("}")[2] == name:
                return child.text or ""
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
                    out[name] = child.text or ""
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
    """Messages with the same key (in one citizen's inbox) make one main case: the thread id, per sender."""
    return f"{(source_system or consumer or '').lower()}|{thread_id}" if thread_id else None


_NOW = "strftime('%Y-%m-%dT%H:%M:%f+00:00', 'now')"  # UTC, to the millisecond
_PLACE = "case_id, exchange_id, citizen, received, correlation_id, notifications"
# The lookup of a thread's main case and the insert in one statement: no row when there is no such case yet.
_INSERT_INTO_THREAD = (f"INSERT INTO inbox_messages ({_PLACE}) SELECT id, ?, ?, {_NOW}, ?, ? "
                       "FROM inbox_cases WHERE citizen = ? AND thread_key = ?")
_INSERT = f"INSERT INTO inbox_messages ({_PLACE}) VALUES (?, ?, ?, {_NOW}, ?, ?)"
_MAKE_THREAD = f"INSERT OR IGNORE INTO inbox_cases (citizen, thread_key, created) VALUES (?, ?, {_NOW})"
_CONTENT_COLUMNS = tuple(MessageContent.__dataclass_fields__)
_STORE_CONTENT = (f"UPDATE inbox_messages SET consumer = ?, {', '.join(f'{c} = ?' for c in _CONTENT_COLUMNS)} "
                  "WHERE id = ?")


def store_message(conn: sqlite3.Connection, exchange_id: int, citizen: str, thread: str | None,
                  notifications: str, correlation_id: str, content: MessageContent | None = None,
                  consumer: str | None = None) -> int:
    """Insert an unread message (an effect of its exchange, in the same transaction); a message with a
    known ``thread`` key joins that main case. ``content``: for a request the journal keeps only in part."""
    message_id = None
    if thread is not None:
        joined = conn.execute(_INSERT_INTO_THREAD,
                              (exchange_id, citizen, correlation_id, notifications, citizen, thread))
        if joined.rowcount:
            message_id = joined.lastrowid
    if message_id is None:
        case_id = conn.execute(f"INSERT INTO inbox_cases (citizen, thread_key, created) VALUES (?, ?, {_NOW})",
                               (citizen, thread)).lastrowid
        message_id = conn.execute(_INSERT, (case_id, exchange_id, citizen, correlation_id, notifications)).lastrowid
    if content is not None:
        values = asdict(content)
        values["notify"] = int(values["notify"])
        conn.execute(_STORE_CONTENT, (consumer, *values.values(), message_id))
    return message_id


@dataclass(slots=True)
class StoreMessage:
    """The effect of an AddMessage call: ``store_message`` with the exchange's id. The messages of one
    commit that all join a thread are stored together (``apply_all``): their main cases made where
    missing, then the messages, two calls into SQLite for the lot instead of one or two each."""

    citizen: str
    thread: str | None
    notifications: str
    correlation_id: str
    content: MessageContent | None = None
    consumer: str | None = None

    def __call__(self, conn: sqlite3.Connection, exchange_id: int) -> None:
        store_message(conn, exchange_id, self.citizen, self.thread, self.notifications, self.correlation_id,
                      self.content, self.consumer)

    @staticmethod
    def apply_all(conn: sqlite3.Connection, group: list[tuple[int, StoreMessage]]) -> None:
        if len(group) == 1 or any(m.thread is None or m.content is not None for _, m in group):
            for exchange_id, m in group:  # one by one, in order: each without a thread makes a case of its own
                m(conn, exchange_id)
            return
        conn.executemany(_MAKE_THREAD, [(m.citizen, m.thread) for _, m in group])
        conn.executemany(_INSERT_INTO_THREAD, [(exchange_id, m.citizen, m.correlation_id, m.notifications,
                                                m.citizen, m.thread) for exchange_id, m in group])


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


def read_inbox(conn: sqlite3.Connection, citizen: str) -> list[dict]:
    """A citizen's main cases, newest first, each with its messages (oldest first)."""
    cases: dict[int, dict] = {}
    rows = conn.execute(
        "SELECT m.*, e.request_body AS exchange_request, e.consumer AS exchange_consumer FROM inbox_messages m "
        "LEFT JOIN exchanges e ON e.id = m.exchange_id WHERE m.citizen = ? ORDER BY m.id", (citizen,)
    ).fetchall()
    for row in rows:
        data = dict(row)
        request, consumer = data.pop("exchange_request"), data.pop("exchange_consumer")
        if data["notify"] is None:  # the content is in the exchange's request
            content = _content_of_request(request)
            data["consumer"] = consumer
            if content is not None:
                data.update(asdict(content))
        data["unread"] = bool(data["unread"])
        data["notify"] = bool(data["notify"])
        data["notifications"] = [n for n in (data["notifications"] or "").split(",") if n]
        case = cases.setdefault(data["case_id"], {"case_id": data["case_id"], "messages": []})
        case["messages"].append(data)
    return sorted(cases.values(), key=lambda c: c["messages"][-1]["id"], reverse=True)

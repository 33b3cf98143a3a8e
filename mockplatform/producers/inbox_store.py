"""The fake 1177 inbox's state in SQLite: main cases and messages, in the journal's database.

Apart from the SOAP producer (``inbox.py``) because the journal's writer process stores messages too:
an AddMessage call's message is an effect applied in the same transaction as its exchange, and this
module is all that process needs to import for it.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass

from ..journal import utc_now_iso

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
class InboxMessage:
    citizen: str
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
    notifications: list[str]


_MESSAGE_COLUMNS = """case_id, exchange_id, citizen, received, unread, consumer, source_system, correlation_id,
    unit_id, unit_name, unit_address, unit_postal_code, unit_postal_city, unit_telephone, thread_id, description,
    text, sso_system_id, sso_text, sso_query, sso_type, notify, notifications"""
_MESSAGE_VALUES = "?, ?, ?, 1, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?"  # all after case_id
_INSERT_MESSAGE = f"INSERT INTO inbox_messages ({_MESSAGE_COLUMNS}) VALUES (?, {_MESSAGE_VALUES})"
# The lookup of a thread's main case and the insert in one statement: no row when there is no such case yet.
_INSERT_MESSAGE_INTO_THREAD = (f"INSERT INTO inbox_messages ({_MESSAGE_COLUMNS}) SELECT id, {_MESSAGE_VALUES} "
                               "FROM inbox_cases WHERE citizen = ? AND thread_key = ?")


def store_message(
    conn: sqlite3.Connection, exchange_id: int, m: InboxMessage, consumer: str, correlation_id: str
) -> int:
    """Insert an unread message; a message with a known thread id joins that main case."""
    now = utc_now_iso()[:23] + "+00:00"  # to the millisecond
    values = (exchange_id, m.citizen, now, consumer, m.source_system, correlation_id, m.unit_id, m.unit_name,
              m.unit_address, m.unit_postal_code, m.unit_postal_city, m.unit_telephone, m.thread_id, m.description,
              m.text, m.sso_system_id, m.sso_text, m.sso_query, m.sso_type, int(m.notify), ",".join(m.notifications))
    thread_key = None
    if m.thread_id:
        thread_key = f"{(m.source_system or consumer or '').lower()}|{m.thread_id}"
        joined = conn.execute(_INSERT_MESSAGE_INTO_THREAD, (*values, m.citizen, thread_key))
        if joined.rowcount:
            return joined.lastrowid
    case_id = conn.execute(
        "INSERT INTO inbox_cases (citizen, thread_key, created) VALUES (?, ?, ?)", (m.citizen, thread_key, now)
    ).lastrowid
    return conn.execute(_INSERT_MESSAGE, (case_id, *values)).lastrowid


def reset_inbox(conn: sqlite3.Connection) -> None:
    """Forget every message and main case (the citizens, units and systems stay: they are fixtures)."""
    conn.execute("DELETE FROM inbox_messages")
    conn.execute("DELETE FROM inbox_cases")


def read_inbox(conn: sqlite3.Connection, citizen: str) -> list[dict]:
    """A citizen's main cases, newest first, each with its messages (oldest first)."""
    cases: dict[int, dict] = {}
    rows = conn.execute(
        "SELECT * FROM inbox_messages WHERE citizen = ? ORDER BY id", (citizen,)
    ).fetchall()
    for row in rows:
        data = dict(row)
        data["unread"] = bool(data["unread"])
        data["notify"] = bool(data["notify"])
        data["notifications"] = [n for n in (data["notifications"] or "").split(",") if n]
        case = cases.setdefault(data["case_id"], {"case_id": data["case_id"], "messages": []})
        case["messages"].append(data)
    return sorted(cases.values(), key=lambda c: c["messages"][-1]["id"], reverse=True)

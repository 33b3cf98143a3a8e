"""What response templates remember: values stored under a key (``store``/``recall``) and the counters
(``counter``), in the journal's database. A template's ``store`` and the counters it moved are written in
the transaction of the exchange that answered (an effect), so the next call on any thread sees them, and a
call the platform did not answer from the template (an injected fault) stores nothing. The store owns the
tables: no module outside this one runs SQL against them. ``POST /admin/reset`` empties them."""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from typing import Any

from ...database import Connection
from ...journal import Journal

STATE_SCHEMA = """
CREATE TABLE IF NOT EXISTS anycontract_values (
    bucket TEXT NOT NULL,
    key TEXT NOT NULL,
    value TEXT NOT NULL,
    exchange_id INTEGER NOT NULL,
    PRIMARY KEY (bucket, key)
);
CREATE TABLE IF NOT EXISTS anycontract_counters (
    template TEXT NOT NULL,
    name TEXT NOT NULL,
    value INTEGER NOT NULL,
    PRIMARY KEY (template, name)
);
"""


@dataclass(slots=True)
class StoreValues:
    """A call's ``store``s: each (bucket, key, value as JSON), the last for a key winning."""

    values: list[tuple[str, str, str]]

    def __call__(self, conn: Connection, exchange_id: int) -> None:
        for bucket, key, value in self.values:
            conn.execute("INSERT INTO anycontract_values (bucket, key, value, exchange_id) VALUES (?, ?, ?, ?) "
                         "ON CONFLICT(bucket, key) DO UPDATE SET value = excluded.value, "
                         "exchange_id = excluded.exchange_id", (bucket, key, value, exchange_id))


@dataclass(slots=True)
class StoreCounters:
    """A call's counters: each (template, name, the value it reached)."""

    counters: list[tuple[str, str, int]]

    def __call__(self, conn: Connection, exchange_id: int) -> None:
        for template, name, value in self.counters:
            conn.execute("INSERT INTO anycontract_counters (template, name, value) VALUES (?, ?, ?) "
                         "ON CONFLICT(template, name) DO UPDATE SET value = CASE WHEN anycontract_counters.value > "
                         "excluded.value THEN anycontract_counters.value ELSE excluded.value END",
                         (template, name, value))


def reset_state(conn: Connection) -> None:
    conn.execute("DELETE FROM anycontract_values")
    conn.execute("DELETE FROM anycontract_counters")


class ScenarioState:
    """The stored values and the counters as the templates see them.

    A counter is counted in memory (two calls at once never get the same number) and written with each
    exchange, so it goes on where it was after a restart (on a database several instances share, the database
    counts, each number taken in a transaction of its own); after a reset (the journal notes when) it starts
    again from what the database holds, nothing. A call whose template failed gives its number back
    (``release``).
    """

    def __init__(self, journal: Journal) -> None:
        self.journal = journal
        self._lock = threading.Lock()
        self._counters: dict[tuple[str, str], int] = {}
        self._seen_reset: str | None = None

    def recall(self, bucket: str, key: str) -> Any:
        row = self.journal.reader().execute("SELECT value FROM anycontract_values WHERE bucket = ? AND key = ?",
                                            (bucket, key)).fetchone()
        return json.loads(row[0]) if row else None

    def next_count(self, template: str, name: str) -> int:
        if self.journal.shared:  # other instances count too: the database counts, each number given once
            return self.journal.write(lambda conn: conn.execute(
                "INSERT INTO anycontract_counters (template, name, value) VALUES (?, ?, 1) ON CONFLICT(template, "
                "name) DO UPDATE SET value = anycontract_counters.value + 1 RETURNING value", (template, name),
            ).fetchone()[0], exchanges_kept=True)
        reset = self.journal.last_reset()
        with self._lock:
            if reset != self._seen_reset:
                self._counters.clear()
                self._seen_reset = reset
            key = (template, name)
            if key not in self._counters:
                row = self.journal.reader().execute(
                    "SELECT value FROM anycontract_counters WHERE template = ? AND name = ?", key).fetchone()
                self._counters[key] = row[0] if row else 0
            self._counters[key] += 1
            return self._counters[key]

    def release(self, template: str, counted: dict[str, int]) -> None:
        """Give back the values a rendering took whose answer was not sent (a template that failed on the
        request): the next call gets the same number. A value another call took after it stays taken (a gap,
        never a number given twice). On a shared database a number taken stays taken."""
        if self.journal.shared:
            return
        with self._lock:
            for name, value in counted.items():
                if self._counters.get((template, name)) == value:
                    self._counters[(template, name)] = value - 1

    def stored(self, bucket: str | None = None) -> list[dict[str, Any]]:
        """What the templates stored (in one bucket), newest first, with the exchange that stored it."""
        sql, args = "SELECT bucket, key, value, exchange_id FROM anycontract_values", ()
        if bucket is not None:
            sql, args = sql + " WHERE bucket = ?", (bucket,)
        rows = self.journal.reader().execute(sql + " ORDER BY exchange_id DESC, bucket, key", args).fetchall()
        return [{"bucket": r[0], "key": r[1], "value": json.loads(r[2]), "exchange_id": r[3]} for r in rows]

    def counters(self) -> list[dict[str, Any]]:
        rows = self.journal.reader().execute(
            "SELECT template, name, value FROM anycontract_counters ORDER BY template, name").fetchall()
        return [{"template": r[0], "name": r[1], "value": r[2]} for r in rows]

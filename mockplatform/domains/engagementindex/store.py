"""The fake national engagement index's state: its posts, in the journal's database. An Update's change
is written in the transaction of its exchange (an effect), so the next call on any thread sees it; the
store owns the table, and no module outside this one runs SQL against it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ...database import Connection
from ...journal import Journal
from .request import FIELDS, Engagement

INDEX_SCHEMA = """
CREATE TABLE IF NOT EXISTS ei_posts (
    key TEXT PRIMARY KEY,
    registeredResidentIdentification TEXT NOT NULL,
    serviceDomain TEXT NOT NULL,
    categorization TEXT NOT NULL,
    logicalAddress TEXT NOT NULL,
    businessObjectInstanceIdentifier TEXT NOT NULL,
    clinicalProcessInterestId TEXT NOT NULL,
    mostRecentContent TEXT,
    sourceSystem TEXT NOT NULL,
    creationTime TEXT NOT NULL,
    updateTime TEXT,
    dataController TEXT NOT NULL,
    owner TEXT NOT NULL,
    exchange_id INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS ei_posts_resident ON ei_posts(registeredResidentIdentification, serviceDomain);
"""
_COLUMNS = ", ".join(FIELDS)
_UPDATE = ", ".join(f"{f} = excluded.{f}" for f in (*FIELDS, "exchange_id"))


@dataclass(slots=True)
class ApplyUpdate:
    """An Update's effect: each (key, delete, post) in order, the owner and times already set by the index."""

    changes: list[tuple[str, bool, dict[str, Any]]]

    def __call__(self, conn: Connection, exchange_id: int) -> None:
        for key, delete, post in self.changes:
            if delete:
                conn.execute("DELETE FROM ei_posts WHERE key = ?", (key,))
                continue
            existing = conn.execute("SELECT creationTime FROM ei_posts WHERE key = ?", (key,)).fetchone()
            values = dict(post)
            if existing is not None:  # an update keeps when the post was created
                values["creationTime"] = existing[0]
            conn.execute(f"INSERT INTO ei_posts (key, {_COLUMNS}, exchange_id) "
                         f"VALUES (?, {', '.join('?' * len(FIELDS))}, ?) ON CONFLICT (key) DO UPDATE SET {_UPDATE}",
                         (key, *(values.get(f) for f in FIELDS), exchange_id))


def reset_index(conn: Connection) -> None:
    conn.execute("DELETE FROM ei_posts")


class IndexStore:
    """The index's posts as its readers see them."""

    def __init__(self, journal: Journal) -> None:
        self.journal = journal

    def find(self, resident: str, service_domain: str, filters: dict[str, str] | None = None) -> list[Engagement]:
        """The posts of a citizen in a service domain, narrowed by the other fields given (FindContent)."""
        sql = "SELECT * FROM ei_posts WHERE registeredResidentIdentification = ? AND serviceDomain = ?"
        args: list[Any] = [resident, service_domain]
        for name, value in (filters or {}).items():
            if name in FIELDS and name not in ("registeredResidentIdentification", "serviceDomain") and value:
                sql += f" AND {name} = ?"
                args.append(value)
        rows = self.journal.reader().execute(sql + " ORDER BY creationTime, key", args).fetchall()
        return [Engagement(**{f: row[f] for f in FIELDS}) for row in rows]

    def posts(self, resident: str | None = None) -> list[dict[str, Any]]:
        """Every post (of one citizen), newest change first, with its key and the exchange that wrote it."""
        sql = "SELECT * FROM ei_posts"
        args: tuple = ()
        if resident:
            sql += " WHERE registeredResidentIdentification = ?"
            args = (resident,)
        rows = self.journal.reader().execute(sql + " ORDER BY exchange_id DESC, key", args).fetchall()
        # by the names the fields have here (PostgreSQL gives column names in lower case)
        return [{name: row[name] for name in ('key', *FIELDS, 'exchange_id')} for row in rows]

    def residents(self) -> list[tuple[str, int]]:
        """The citizens with posts, and how many each has."""
        return [(r[0], r[1]) for r in self.journal.reader().execute(
            "SELECT registeredResidentIdentification, count(*) FROM ei_posts "
            "GROUP BY registeredResidentIdentification ORDER BY registeredResidentIdentification")]

    def count(self) -> int:
        return self.journal.reader().execute("SELECT count(*) FROM ei_posts").fetchone()[0]

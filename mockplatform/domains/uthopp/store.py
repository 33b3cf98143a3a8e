"""The SSO stand-in's state in the platform's database: its signing keys (kept over a reset), the service
providers registered (configuration: kept over a reset), and the citizens' sessions with the service
providers each is logged in to, the requests seen and the logouts sent (a test run's: a reset clears them).
The store owns its tables; no module outside this one runs SQL against them. Changes made while answering
an SSO message are effects of that message's exchange, written in its transaction."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from ...database import Connection, Database
from ...journal import Effect, Journal
from .keys import SigningKey, generate
from .metadata import ServiceProvider, read_sp_metadata

SSO_SCHEMA = """
CREATE TABLE IF NOT EXISTS sso_keys (
    environment TEXT PRIMARY KEY, key_pem TEXT NOT NULL, cert_pem TEXT NOT NULL, created TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS sso_providers (
    entity_id TEXT NOT NULL, environment TEXT NOT NULL, metadata TEXT NOT NULL, source TEXT NOT NULL,
    system_id TEXT, registered TEXT NOT NULL, PRIMARY KEY (entity_id, environment));
CREATE TABLE IF NOT EXISTS sso_sessions (
    id TEXT PRIMARY KEY, environment TEXT NOT NULL, citizen TEXT NOT NULL, created TEXT NOT NULL,
    ended TEXT);
CREATE TABLE IF NOT EXISTS sso_session_sps (
    seq INTEGER PRIMARY KEY AUTOINCREMENT, session_id TEXT NOT NULL, entity_id TEXT NOT NULL, name_id TEXT NOT NULL,
    name_id_format TEXT NOT NULL,
    logged_out TEXT, UNIQUE (session_id, entity_id));
CREATE TABLE IF NOT EXISTS sso_requests (
    issuer TEXT NOT NULL, id TEXT NOT NULL, exchange_id INTEGER, PRIMARY KEY (issuer, id));
CREATE TABLE IF NOT EXISTS sso_armed (
    seq INTEGER PRIMARY KEY AUTOINCREMENT, kind TEXT NOT NULL, sp TEXT, remaining INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS sso_last_sent (entity_id TEXT PRIMARY KEY, response BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS sso_waiting (
    session_id TEXT PRIMARY KEY, entity_id TEXT NOT NULL, request_id TEXT NOT NULL, destination TEXT NOT NULL,
    relay_state TEXT);
CREATE TABLE IF NOT EXISTS sso_logouts (
    id TEXT PRIMARY KEY, session_id TEXT NOT NULL, entity_id TEXT NOT NULL, sent TEXT NOT NULL, answered TEXT);
"""




def _keep_join_order(conn: Connection, database: Database) -> None:
    """Version 3 keeps the order in which the service providers joined a session in a column (SQLite's rowid did it
    before). Only SQLite journals are older than version 3, so this may read the rowid."""
    if "seq" in database.columns(conn, "sso_session_sps"):  # a journal from before the SSO stand-in: made new
        return
    database.run_script(conn, """
ALTER TABLE sso_session_sps RENAME TO sso_session_sps_v2;
""" + SSO_SCHEMA + """
INSERT INTO sso_session_sps (session_id, entity_id, name_id, name_id_format, logged_out)
    SELECT session_id, entity_id, name_id, name_id_format, logged_out FROM sso_session_sps_v2 ORDER BY rowid;
DROP TABLE sso_session_sps_v2;
""")


SSO_UPGRADES = ((3, _keep_join_order),)


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


def reset_sso(conn: Connection) -> None:
    """A new test run: sessions, requests seen and logouts go; keys and registrations stay."""
    for table in ("sso_sessions", "sso_session_sps", "sso_requests", "sso_logouts", "sso_armed", "sso_last_sent",
                  "sso_waiting"):
        conn.execute(f"DELETE FROM {table}")  # noqa: S608 (the names above)


@dataclass(frozen=True)
class SessionSp:
    entity_id: str
    name_id: str
    name_id_format: str
    logged_out: str | None


@dataclass(frozen=True)
class Session:
    id: str
    environment: str
    citizen: str
    created: str
    ended: str | None
    sps: tuple[SessionSp, ...]


class SsoStore:
    def __init__(self, journal: Journal) -> None:
        self.journal = journal

    # -- keys ---------------------------------------------------------------------------------------------

    def key(self, environment: str) -> SigningKey:
        """The environment's signing key, made and kept the first time it is asked for."""
        row = self.journal.reader().execute("SELECT key_pem, cert_pem FROM sso_keys WHERE environment = ?",
                                            (environment,)).fetchone()
        if row is not None:
            return SigningKey(environment, row[0], row[1])
        made = generate(environment)

        def keep(conn: Connection) -> SigningKey:
            conn.execute("INSERT INTO sso_keys VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING",
                         (environment, made.key_pem, made.cert_pem, _now()))
            found = conn.execute("SELECT key_pem, cert_pem FROM sso_keys WHERE environment = ?",
                                 (environment,)).fetchone()
            return SigningKey(environment, found[0], found[1])  # another instance's, if it came first

        return self.journal.write(keep, exchanges_kept=True)

    # -- service providers ----------------------------------------------------------------------------------

    def register(self, sp: ServiceProvider) -> None:
        self.journal.write(lambda conn: conn.execute(
            "INSERT INTO sso_providers VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (entity_id, environment) DO UPDATE SET "
            "metadata = excluded.metadata, source = excluded.source, system_id = excluded.system_id, "
            "registered = excluded.registered",
            (sp.entity_id, sp.environment, sp.metadata_xml, sp.source, sp.system_id, _now())), exchanges_kept=True)

    def unregister(self, entity_id: str, environment: str | None = None) -> int:
        def drop(conn: Connection) -> int:
            if environment is None:
                return conn.execute("DELETE FROM sso_providers WHERE entity_id = ?", (entity_id,)).rowcount
            return conn.execute("DELETE FROM sso_providers WHERE entity_id = ? AND environment = ?",
                                (entity_id, environment)).rowcount

        return self.journal.write(drop, exchanges_kept=True)

    def providers(self, environment: str | None = None) -> list[ServiceProvider]:
        rows = self.journal.reader().execute(
            "SELECT entity_id, environment, metadata, source, system_id FROM sso_providers ORDER BY entity_id, "
            "environment").fetchall()
        return [read_sp_metadata(r[2].encode(), r[1], r[3], r[4]) for r in rows
                if environment is None or r[1] == environment]

    def provider(self, entity_id: str, environment: str) -> ServiceProvider | None:
        row = self.journal.reader().execute(
            "SELECT metadata, source, system_id FROM sso_providers WHERE entity_id = ? AND environment = ?",
            (entity_id, environment)).fetchone()
        return read_sp_metadata(row[0].encode(), environment, row[1], row[2]) if row else None

    def environments_of(self, entity_id: str) -> list[str]:
        return [r[0] for r in self.journal.reader().execute(
            "SELECT environment FROM sso_providers WHERE entity_id = ? ORDER BY environment", (entity_id,))]

    # -- sessions, as effects of the exchange that makes them ----------------------------------------------------

    def session(self, session_id: str) -> Session | None:
        conn = self.journal.reader()
        row = conn.execute("SELECT id, environment, citizen, created, ended FROM sso_sessions WHERE id = ?",
                           (session_id,)).fetchone()
        if row is None:
            return None
        sps = tuple(SessionSp(*r) for r in conn.execute(
            "SELECT entity_id, name_id, name_id_format, logged_out FROM sso_session_sps WHERE session_id = ? "
            "ORDER BY seq", (session_id,)))
        return Session(*row, sps=sps)

    def session_of_name_id(self, entity_id: str, name_id: str) -> str | None:
        row = self.journal.reader().execute(
            "SELECT s.session_id FROM sso_session_sps s JOIN sso_sessions x ON x.id = s.session_id "
            "WHERE s.entity_id = ? AND s.name_id = ? AND x.ended IS NULL", (entity_id, name_id)).fetchone()
        return row[0] if row else None

    def seen_request(self, issuer: str, request_id: str) -> int | None:
        """The exchange in which this SP's request id was seen before (None: never)."""
        row = self.journal.reader().execute("SELECT exchange_id FROM sso_requests WHERE issuer = ? AND id = ?",
                                            (issuer, request_id)).fetchone()
        return row[0] if row else None

    def logout_sent(self, logout_id: str) -> tuple[str, str, str | None] | None:
        """(session id, entity id, answered) of a LogoutRequest the stand-in sent."""
        row = self.journal.reader().execute("SELECT session_id, entity_id, answered FROM sso_logouts WHERE id = ?",
                                            (logout_id,)).fetchone()
        return tuple(row) if row else None  # type: ignore[return-value]

    def sessions(self) -> list[dict[str, Any]]:
        conn = self.journal.reader()
        out = []
        for row in conn.execute("SELECT id FROM sso_sessions ORDER BY created DESC, id"):
            s = self.session(row[0])
            if s is not None:
                out.append({"id": s.id, "environment": s.environment, "citizen": s.citizen, "created": s.created,
                            "ended": s.ended, "service_providers": [sp.__dict__ for sp in s.sps]})
        return out

    @staticmethod
    def note_request(issuer: str, request_id: str) -> Effect:
        return lambda conn, exchange_id: conn.execute(
            "INSERT INTO sso_requests VALUES (?, ?, ?) ON CONFLICT DO NOTHING", (issuer, request_id, exchange_id))

    @staticmethod
    def open_session(session_id: str, environment: str, citizen: str) -> Effect:
        return lambda conn, exchange_id: conn.execute(
            "INSERT INTO sso_sessions VALUES (?, ?, ?, ?, NULL) ON CONFLICT DO NOTHING",
            (session_id, environment, citizen, _now()))

    @staticmethod
    def join_session(session_id: str, entity_id: str, name_id: str, name_id_format: str) -> Effect:
        return lambda conn, exchange_id: conn.execute(
            "INSERT INTO sso_session_sps (session_id, entity_id, name_id, name_id_format) VALUES (?, ?, ?, ?) "
            "ON CONFLICT (session_id, entity_id) DO UPDATE "
            "SET logged_out = NULL, name_id = excluded.name_id, name_id_format = excluded.name_id_format",
            (session_id, entity_id, name_id, name_id_format))  # the SP's latest login: its NameID is the one in use

    @staticmethod
    def leave_session(session_id: str, entity_id: str) -> Effect:
        return lambda conn, exchange_id: conn.execute(
            "UPDATE sso_session_sps SET logged_out = ? WHERE session_id = ? AND entity_id = ?",
            (_now(), session_id, entity_id))

    @staticmethod
    def end_session(session_id: str) -> Effect:
        return lambda conn, exchange_id: conn.execute(
            "UPDATE sso_sessions SET ended = ? WHERE id = ? AND ended IS NULL", (_now(), session_id))

    # -- Responses armed (see ``idp.Armed``) ------------------------------------------------------------------

    def arm(self, kind: str, sp: str | None, times: int) -> None:
        self.journal.write(lambda conn: conn.execute("INSERT INTO sso_armed (kind, sp, remaining) VALUES (?, ?, ?)",
                                                     (kind, sp, times)), exchanges_kept=True)

    def take_armed(self, sp: str) -> str | None:
        """The kind armed first for this SP (or any), used once; None: nothing armed."""
        def take(conn: Connection) -> str | None:
            row = conn.execute("SELECT seq, kind, remaining FROM sso_armed WHERE sp IS NULL OR sp = ? ORDER BY seq "
                               "LIMIT 1", (sp,)).fetchone()
            if row is None:
                return None
            if row[2] <= 1:
                conn.execute("DELETE FROM sso_armed WHERE seq = ?", (row[0],))
            else:
                conn.execute("UPDATE sso_armed SET remaining = remaining - 1 WHERE seq = ?", (row[0],))
            return row[1]

        return self.journal.write(take, exchanges_kept=True)

    def armed(self) -> list[dict[str, Any]]:
        return [{"kind": r[0], "sp": r[1], "remaining": r[2]} for r in self.journal.reader().execute(
            "SELECT kind, sp, remaining FROM sso_armed ORDER BY seq")]

    def disarm(self) -> int:
        return self.journal.write(lambda conn: conn.execute("DELETE FROM sso_armed").rowcount, exchanges_kept=True)

    def last_sent(self, entity_id: str) -> bytes | None:
        row = self.journal.reader().execute("SELECT response FROM sso_last_sent WHERE entity_id = ?",
                                            (entity_id,)).fetchone()
        return bytes(row[0]) if row else None

    @staticmethod
    def keep_sent(entity_id: str, response: bytes) -> Effect:
        return lambda conn, exchange_id: conn.execute(
            "INSERT INTO sso_last_sent VALUES (?, ?) ON CONFLICT (entity_id) DO UPDATE "
            "SET response = excluded.response",
            (entity_id, response))

    def note_logout_sent(self, logout_id: str, session_id: str, entity_id: str) -> None:
        """A LogoutRequest the stand-in sends (through the citizen's browser): kept to match its answer."""
        self.journal.write(lambda conn: conn.execute(
            "INSERT INTO sso_logouts VALUES (?, ?, ?, ?, NULL) ON CONFLICT DO NOTHING",
            (logout_id, session_id, entity_id, _now())), exchanges_kept=True)

    @staticmethod
    def await_others(session_id: str, entity_id: str, request_id: str, destination: str,
                     relay_state: str | None) -> Effect:
        """An SP's own logout, to be answered once the session's other SPs are logged out."""
        return lambda conn, exchange_id: conn.execute(
            "INSERT INTO sso_waiting VALUES (?, ?, ?, ?, ?) ON CONFLICT (session_id) DO UPDATE SET entity_id = "
            "excluded.entity_id, request_id = excluded.request_id, destination = excluded.destination, "
            "relay_state = excluded.relay_state",
            (session_id, entity_id, request_id, destination, relay_state))

    def take_waiting(self, session_id: str) -> tuple[str, str, str, str | None] | None:
        """The SP logout waiting for the others of this session (entity, request id, where to answer, relay
        state), taken: None when there is none."""
        def take(conn: Connection) -> tuple[str, str, str, str | None] | None:
            row = conn.execute("SELECT entity_id, request_id, destination, relay_state FROM sso_waiting "
                               "WHERE session_id = ?", (session_id,)).fetchone()
            if row is not None:
                conn.execute("DELETE FROM sso_waiting WHERE session_id = ?", (session_id,))
            return tuple(row) if row else None  # type: ignore[return-value]

        return self.journal.write(take, exchanges_kept=True)

    @staticmethod
    def logout_answered(logout_id: str) -> Effect:
        return lambda conn, exchange_id: conn.execute(
            "UPDATE sso_logouts SET answered = ? WHERE id = ?", (_now(), logout_id))

    def open_session_now(self, session_id: str, environment: str, citizen: str) -> None:
        """A session opened outside an SP's message (the citizen logging in on the stand-in's page)."""
        self.journal.write(lambda conn: self.open_session(session_id, environment, citizen)(conn, 0),
                           exchanges_kept=True)

    def end_session_now(self, session_id: str) -> None:
        self.journal.write(lambda conn: self.end_session(session_id)(conn, 0), exchanges_kept=True)


__all__ = ["SSO_SCHEMA", "Session", "SessionSp", "SsoStore", "reset_sso"]

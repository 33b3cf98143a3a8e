"""Calls the platform makes itself once a call is journaled: the engagement index notifying its
subscribers, the simulated 1177 fetching a booking's details. A transactional outbox.

A producer that wants a follow-up returns ``Outbox.effect(kind, payload)`` among its answer's effects:
the follow-up is written to the ``outbox`` table in the same transaction as the exchange that caused
it, so it exists exactly when that exchange is journaled, and it survives a restart. A worker thread,
woken after every commit, runs the follow-ups in order with the handler a domain registered for their
kind (``Domain.follow_ups``), and removes each once it has run. A handler calls the platform through
``outbound.call``, so what it does is journaled like every other call. A handler that fails is logged
and dropped: the exchange it made (a VP fault, a producer's fault) is the evidence.
"""

from __future__ import annotations

import contextlib
import json
import logging
import threading
import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from .database import ERRORS, Connection, Database, first_line
from .journal import Effect, Journal

log = logging.getLogger("mockplatform")

OUTBOX_SCHEMA = """
CREATE TABLE IF NOT EXISTS outbox (
    id INTEGER PRIMARY KEY,
    kind TEXT NOT NULL,
    payload TEXT NOT NULL,
    exchange_id INTEGER,
    claimed TEXT
);
"""
# ``claimed``: when an instance took the follow-up to run it (one platform on a shared database has several
# workers; each follow-up runs once). A claim older than ``STALE_CLAIM_S`` is of an instance that died: taken over.
def _add_claimed(conn: Connection, database: Database) -> None:
    if "claimed" not in database.columns(conn, "outbox"):  # (a journal from before the outbox has it new)
        conn.execute("ALTER TABLE outbox ADD COLUMN claimed TEXT")


OUTBOX_UPGRADES = ((3, _add_claimed),)
STALE_CLAIM_S = 60.0
_CLAIM = ("UPDATE outbox SET claimed = ? WHERE id = (SELECT id FROM outbox WHERE claimed IS NULL OR claimed < ? "
          "ORDER BY id LIMIT 1) RETURNING id, kind, payload")

Handler = Callable[[dict[str, Any]], None]
# Set when a follow-up is written: a commit wakes the workers only then, not after every exchange.
_WRITTEN = threading.Event()


class Outbox:
    """The follow-ups waiting to run, and the worker that runs them."""

    def __init__(self, journal: Journal, handlers: Mapping[str, Handler]) -> None:
        self.journal = journal
        self.handlers = dict(handlers)
        self._wake = threading.Event()
        self._idle = threading.Event()
        self._stop = False
        self._thread: threading.Thread | None = None
        self._done: list[int] = []  # ran, not yet removed

    @staticmethod
    def effect(kind: str, payload: dict[str, Any]) -> Effect:
        """The follow-up as an effect of the exchange that causes it (written in its transaction)."""
        text = json.dumps(payload, ensure_ascii=False, separators=(",", ":"))

        def write(conn: Connection, exchange_id: int) -> None:
            conn.execute("INSERT INTO outbox (kind, payload, exchange_id) VALUES (?, ?, ?)",
                         (kind, text, exchange_id))
            _WRITTEN.set()

        return write

    def start(self) -> None:
        """Run follow-ups from now on, those left from an earlier run first."""
        if self._thread is not None or not self.handlers:
            return
        self.journal.after_commit(self._committed)
        if not self.journal.shared:  # the one process that runs follow-ups: a claim left is of its earlier run
            self.journal.write(lambda conn: conn.execute("UPDATE outbox SET claimed = NULL WHERE claimed IS NOT NULL"),
                               exchanges_kept=True)
        self._thread = threading.Thread(target=self._run, name="mockplatform-outbox", daemon=True)
        self._wake.set()
        self._thread.start()

    def _committed(self) -> None:
        if _WRITTEN.is_set():
            _WRITTEN.clear()
            self._wake.set()

    def stop(self, timeout_s: float = 5.0) -> None:
        self._stop = True
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout_s)
            self._thread = None

    def pending(self) -> int:
        return self.journal.reader().execute("SELECT count(*) FROM outbox").fetchone()[0]

    def wait_idle(self, timeout_s: float = 10.0) -> bool:
        """Wait until every follow-up written so far has run (for tests and probes); False on timeout."""
        if self._thread is None:
            return self.pending() == 0
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            self._idle.clear()
            if self.pending() == 0 and not self._wake.is_set():
                return True
            self._wake.set()
            self._idle.wait(min(0.2, max(0.0, deadline - time.monotonic())))
        return self.pending() == 0

    @staticmethod
    def clear(conn: Connection) -> None:
        """Forget the follow-ups not yet run (``reset``)."""
        conn.execute("DELETE FROM outbox")

    def _run(self) -> None:
        failing = False  # the database failed at the last look: said once, not once a second
        while not self._stop:
            self._wake.wait(1.0)
            self._wake.clear()
            while not self._stop:
                try:
                    self._remove_done()
                    row = self._claim()
                except Exception as exc:  # the database is away (or broken): look again in a second
                    if not failing:
                        log.error("outbox: could not read the follow-ups (%s); trying again every second",
                                  first_line(exc))
                    failing = True
                    break
                if failing:
                    log.info("outbox: the follow-ups can be read again")
                    failing = False
                if row is None:
                    break
                self._run_one(row[0], row[1], row[2])
            self._idle.set()

    def _remove_done(self) -> None:
        """Remove the follow-ups that ran but could not be removed then (the database was away)."""
        while self._done:
            row_id = self._done[0]
            self.journal.write(lambda conn, row_id=row_id: conn.execute("DELETE FROM outbox WHERE id = ?", (row_id,)),
                               exchanges_kept=True)
            self._done.pop(0)

    def _claim(self) -> tuple | None:
        """The oldest follow-up no live worker has taken, taken (None: none waits)."""
        if not self.journal.reader().execute("SELECT 1 FROM outbox LIMIT 1").fetchone():
            return None  # the common case, without the write lock
        now = datetime.now(UTC)
        stale = (now - timedelta(seconds=STALE_CLAIM_S)).isoformat()
        return self.journal.write(lambda conn: conn.execute(_CLAIM, (now.isoformat(), stale)).fetchone(),
                                  exchanges_kept=True)

    def _run_one(self, row_id: int, kind: str, payload: str) -> None:
        handler = self.handlers.get(kind)
        try:
            if handler is None:
                log.error("outbox: no handler for follow-up %s of kind '%s' (its domain is not installed)",
                          row_id, kind)
            else:
                handler(json.loads(payload))
        except Exception:  # the exchanges it made are journaled; the follow-up is not tried again
            log.exception("outbox: follow-up %s (%s) failed", row_id, kind)
        # It ran: removed now, or (the database away) as soon as it is back, by this worker, which holds its claim.
        self._done.append(row_id)
        with contextlib.suppress(*ERRORS):
            self._remove_done()


__all__ = ["OUTBOX_SCHEMA", "OUTBOX_UPGRADES", "Handler", "Outbox"]

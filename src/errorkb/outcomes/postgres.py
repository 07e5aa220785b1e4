"""Outcome reports and tokens in PostgreSQL (psycopg 3), for teams running several servers.

Same behaviour as the SQLite store: reports appended, a repeated idempotency key counted once
(`ON CONFLICT DO NOTHING`), every write committed before it is acknowledged, tokens stored
hashed. The tables come from the versioned migrations in `errorkb.pg_migrations`.
"""

from __future__ import annotations

import threading

from errorkb.outcomes.store import SqlOutcomeStore
from errorkb.pg_migrations import connect


class PostgresOutcomeStore(SqlOutcomeStore):
    PLACEHOLDER = "%s"

    def __init__(self, url: str) -> None:
        import psycopg

        self._db = connect(url, what="outcome database")
        self._duplicate = psycopg.errors.UniqueViolation
        self.url = url
        self._lock = threading.Lock()

    def __del__(self) -> None:  # faces keep the store for the process's life; close it then
        db = getattr(self, "_db", None)
        if db is not None and not db.closed:
            db.close()

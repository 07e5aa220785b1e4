"""Outcome reports and tokens in PostgreSQL (psycopg 3), for teams running several servers.

Same behaviour as the SQLite store: reports appended, a repeated idempotency key counted once
(`ON CONFLICT DO NOTHING`), every write committed before it is acknowledged, tokens stored
hashed. Versioned migrations in `errorkb_migrations`.
"""

from __future__ import annotations

import threading

from errorkb.errors import IndexUnavailable
from errorkb.outcomes.store import SqlOutcomeStore, _now

MIGRATIONS = [
    [
        """CREATE TABLE reports (
            seq BIGSERIAL PRIMARY KEY,
            idempotency_key TEXT NOT NULL UNIQUE,
            canon_id TEXT NOT NULL,
            item_kind TEXT NOT NULL CHECK (item_kind IN ('workaround', 'dead_end')),
            item_index INTEGER NOT NULL CHECK (item_index >= 0),
            worked BOOLEAN NOT NULL,
            env TEXT NOT NULL DEFAULT '',
            note TEXT NOT NULL DEFAULT '',
            token_name TEXT NOT NULL DEFAULT '',
            created_at TEXT NOT NULL
        )""",
        "CREATE INDEX reports_canon ON reports(canon_id)",
        """CREATE TABLE tokens (
            name TEXT PRIMARY KEY,
            hash TEXT NOT NULL UNIQUE,
            created_at TEXT NOT NULL,
            revoked_at TEXT
        )""",
    ],
]


class PostgresOutcomeStore(SqlOutcomeStore):
    PLACEHOLDER = "%s"

    def __init__(self, url: str) -> None:
        import psycopg

        try:
            self._db = psycopg.connect(url, autocommit=True, connect_timeout=10)
        except psycopg.Error as exc:
            raise IndexUnavailable(f"cannot connect to the outcome database: {exc}".strip(),
                                   "check --db / ERRORKB_DB and that PostgreSQL is running") from None
        self._duplicate = psycopg.errors.UniqueViolation
        self.url = url
        self._lock = threading.Lock()
        self._migrate()

    def _migrate(self) -> None:
        with self._lock, self._db.transaction():
            self._db.execute("SELECT pg_advisory_xact_lock(7426351)")  # one migrator at a time
            self._db.execute("CREATE TABLE IF NOT EXISTS errorkb_migrations "
                             "(version INTEGER PRIMARY KEY, applied_at TEXT NOT NULL)")
            done = {v for (v,) in self._db.execute("SELECT version FROM errorkb_migrations")}
            for version, statements in enumerate(MIGRATIONS, start=1):
                if version in done:
                    continue
                for statement in statements:
                    self._db.execute(statement)
                self._db.execute("INSERT INTO errorkb_migrations VALUES (%s, %s)", (version, _now()))

    def __del__(self) -> None:  # faces keep the store for the process's life; close it then
        db = getattr(self, "_db", None)
        if db is not None and not db.closed:
            db.close()

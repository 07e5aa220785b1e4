"""Outcome reports and tokens in PostgreSQL (psycopg 3), for teams running several servers.

Same behaviour as the SQLite store: reports appended, a repeated idempotency key counted once
(`ON CONFLICT DO NOTHING`), every write committed before it is acknowledged, tokens stored
hashed. Versioned migrations in `errorkb_migrations`.
"""

from __future__ import annotations

import hmac
import secrets
import threading
from collections.abc import Iterator
from typing import Any

from errorkb.errors import IndexUnavailable
from errorkb.outcomes.rates import Tally
from errorkb.outcomes.store import Report, _hash, _now

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


class PostgresOutcomeStore:
    def __init__(self, url: str) -> None:
        import psycopg

        try:
            self._db: Any = psycopg.connect(url, autocommit=True, connect_timeout=10)
        except psycopg.Error as exc:
            raise IndexUnavailable(f"cannot connect to the outcome database: {exc}".strip(),
                                   "check --db / ERRORKB_DB and that PostgreSQL is running") from None
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

    def close(self) -> None:
        self._db.close()

    def __del__(self) -> None:  # faces keep the store for the process's life; close it then
        db = getattr(self, "_db", None)
        if db is not None and not db.closed:
            db.close()

    def append(self, report: Report) -> bool:
        with self._lock:
            cursor = self._db.execute(
                "INSERT INTO reports (idempotency_key, canon_id, item_kind, item_index, worked, env, "
                "note, token_name, created_at) VALUES (%s,%s,%s,%s,%s,%s,%s,%s,%s) "
                "ON CONFLICT (idempotency_key) DO NOTHING",
                (report.idempotency_key, report.canon_id, report.item_kind, report.item_index,
                 report.worked, report.env, report.note, report.token_name, _now()))
            return bool(cursor.rowcount == 1)

    def tallies(self, canon_id: str) -> dict[tuple[str, int], Tally]:
        with self._lock:
            rows = self._db.execute(
                "SELECT item_kind, item_index, COUNT(*) FILTER (WHERE worked), "
                "COUNT(*) FILTER (WHERE NOT worked) FROM reports WHERE canon_id = %s "
                "GROUP BY item_kind, item_index", (canon_id,)).fetchall()
        return {(kind, index): Tally(int(worked), int(failed)) for kind, index, worked, failed in rows}

    def count(self) -> int:
        with self._lock:
            return int(self._db.execute("SELECT COUNT(*) FROM reports").fetchone()[0])

    def export(self) -> Iterator[Report]:
        with self._lock:
            rows = self._db.execute(
                "SELECT canon_id, item_kind, item_index, worked, idempotency_key, env, note, "
                "token_name, created_at FROM reports ORDER BY seq").fetchall()
        for row in rows:
            yield Report(row[0], row[1], int(row[2]), bool(row[3]), row[4], row[5], row[6],
                         row[7], row[8])

    def create_token(self, name: str) -> str:
        import psycopg

        token = "ekb_" + secrets.token_urlsafe(32)
        with self._lock:
            try:
                self._db.execute("INSERT INTO tokens (name, hash, created_at) VALUES (%s,%s,%s)",
                                 (name, _hash(token), _now()))
            except psycopg.errors.UniqueViolation:
                raise ValueError(f"a token named {name!r} exists") from None
        return token

    def list_tokens(self) -> list[tuple[str, str, str | None]]:
        with self._lock:
            return [tuple(r) for r in self._db.execute(
                "SELECT name, created_at, revoked_at FROM tokens ORDER BY name").fetchall()]

    def revoke_token(self, name: str) -> bool:
        with self._lock:
            cursor = self._db.execute(
                "UPDATE tokens SET revoked_at = %s WHERE name = %s AND revoked_at IS NULL",
                (_now(), name))
            return bool(cursor.rowcount == 1)

    def token_name(self, token: str) -> str | None:
        wanted = _hash(token)
        with self._lock:
            rows = self._db.execute("SELECT name, hash FROM tokens WHERE revoked_at IS NULL").fetchall()
        found = None
        for name, stored in rows:
            if hmac.compare_digest(stored, wanted):
                found = name
        return found

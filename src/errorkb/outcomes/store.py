"""Outcome reports and API tokens in SQLite: appended, never updated; one idempotency key
counts once. WAL with `synchronous=FULL`, so an acknowledged report survives a crash.

Only this module runs SQL for outcomes. Tokens are stored as SHA-256 hashes and compared in
constant time; the token itself is shown once, when it is created.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import sqlite3
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from errorkb.errors import InputError
from errorkb.outcomes.rates import Tally

MIGRATIONS = [
    """
    CREATE TABLE reports (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        idempotency_key TEXT NOT NULL UNIQUE,
        canon_id TEXT NOT NULL,
        item_kind TEXT NOT NULL CHECK (item_kind IN ('workaround', 'dead_end')),
        item_index INTEGER NOT NULL CHECK (item_index >= 0),
        worked INTEGER NOT NULL CHECK (worked IN (0, 1)),
        env TEXT NOT NULL DEFAULT '',
        note TEXT NOT NULL DEFAULT '',
        token_name TEXT NOT NULL DEFAULT '',
        created_at TEXT NOT NULL
    );
    CREATE INDEX reports_canon ON reports(canon_id);
    CREATE TABLE tokens (
        name TEXT PRIMARY KEY,
        hash TEXT NOT NULL UNIQUE,
        created_at TEXT NOT NULL,
        revoked_at TEXT
    );
    """,
]


@dataclass(frozen=True)
class Report:
    canon_id: str
    item_kind: str  # workaround | dead_end
    item_index: int
    worked: bool
    idempotency_key: str
    env: str = ""
    note: str = ""
    token_name: str = ""
    created_at: str = ""

    @classmethod
    def for_item(cls, canon_id: str, *, workaround: int | None, dead_end: int | None,
                 worked: bool, idempotency_key: str, env: str = "", note: str = "",
                 token_name: str = "") -> Report:
        """A report on exactly one item, named the way every face takes it."""
        if (workaround is None) == (dead_end is None):
            raise InputError("give exactly one of a workaround or a dead end index")
        kind, index = ("workaround", workaround) if workaround is not None else ("dead_end", dead_end)
        return cls(canon_id, kind, int(index or 0), worked, idempotency_key, env, note, token_name)


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class SqlOutcomeStore:
    """Everything both backends share: the queries (written with `?` placeholders), the
    idempotent append, tallies, export and tokens. Subclasses connect and migrate."""

    PLACEHOLDER = "?"
    _db: Any
    _lock: threading.Lock
    _duplicate: type[Exception] = Exception  # the driver's unique-violation error

    def _execute(self, query: str, params: tuple[Any, ...] = ()) -> Any:
        with self._lock:
            return self._db.execute(query.replace("?", self.PLACEHOLDER), params)

    def close(self) -> None:
        self._db.close()

    def append(self, report: Report) -> bool:
        """Store a report; False when its idempotency key was seen before (counted once)."""
        cursor = self._execute(
            "INSERT INTO reports (idempotency_key, canon_id, item_kind, item_index, worked, env, "
            "note, token_name, created_at) VALUES (?,?,?,?,?,?,?,?,?) "
            "ON CONFLICT (idempotency_key) DO NOTHING",
            (report.idempotency_key, report.canon_id, report.item_kind, report.item_index,
             report.worked, report.env, report.note, report.token_name, _now()))
        return bool(cursor.rowcount == 1)

    def tallies(self, canon_id: str) -> dict[tuple[str, int], Tally]:
        rows = self._execute(
            "SELECT item_kind, item_index, SUM(CASE WHEN worked THEN 1 ELSE 0 END), "
            "SUM(CASE WHEN worked THEN 0 ELSE 1 END) FROM reports WHERE canon_id = ? "
            "GROUP BY item_kind, item_index", (canon_id,)).fetchall()
        return {(kind, index): Tally(int(worked), int(failed))
                for kind, index, worked, failed in rows}

    def count(self) -> int:
        return int(self._execute("SELECT COUNT(*) FROM reports").fetchone()[0])

    def export(self) -> Iterator[Report]:
        rows = self._execute(
            "SELECT canon_id, item_kind, item_index, worked, idempotency_key, env, note, "
            "token_name, created_at FROM reports ORDER BY seq").fetchall()
        for row in rows:
            yield Report(row[0], row[1], int(row[2]), bool(row[3]), row[4], row[5], row[6],
                         row[7], row[8])

    def create_token(self, name: str) -> str:
        token = "ekb_" + secrets.token_urlsafe(32)
        try:
            self._execute("INSERT INTO tokens (name, hash, created_at) VALUES (?,?,?)",
                          (name, _hash(token), _now()))
        except self._duplicate:
            raise ValueError(f"a token named {name!r} exists") from None
        return token

    def list_tokens(self) -> list[tuple[str, str, str | None]]:
        rows = self._execute("SELECT name, created_at, revoked_at FROM tokens ORDER BY name")
        return [(n, c, r) for n, c, r in rows.fetchall()]

    def revoke_token(self, name: str) -> bool:
        cursor = self._execute(
            "UPDATE tokens SET revoked_at = ? WHERE name = ? AND revoked_at IS NULL",
            (_now(), name))
        return bool(cursor.rowcount == 1)

    def token_name(self, token: str) -> str | None:
        """The name of a live token, or None; compared in constant time."""
        wanted = _hash(token)
        rows = self._execute("SELECT name, hash FROM tokens WHERE revoked_at IS NULL").fetchall()
        found = None
        for name, stored in rows:
            if hmac.compare_digest(stored, wanted):
                found = name
        return found


class SqliteOutcomeStore(SqlOutcomeStore):
    _duplicate = sqlite3.IntegrityError

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._db = sqlite3.connect(path, timeout=30, check_same_thread=False,
                                   isolation_level=None)
        self._lock = threading.Lock()
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.execute("PRAGMA busy_timeout=30000")
        self._migrate()

    def _migrate(self) -> None:
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                version = self._db.execute("PRAGMA user_version").fetchone()[0]
                for number, script in enumerate(MIGRATIONS[version:], start=version + 1):
                    for statement in script.split(";"):
                        if statement.strip():
                            self._db.execute(statement)
                    self._db.execute(f"PRAGMA user_version = {number}")
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise

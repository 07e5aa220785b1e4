"""PostgreSQL: connecting, and every table errorkb keeps there as one list of versioned
migrations (outcome reports and tokens, then the published corpus versions).

`connect(url)` applies the migrations a database lacks, under an advisory lock so servers
starting together migrate once; `errorkb_migrations` records which ones ran.
"""

from __future__ import annotations

import time
from typing import Any

from errorkb.errors import IndexUnavailable

MIGRATIONS: list[list[str]] = [
    [  # 1: outcome reports and API tokens
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
    [  # 2: the corpus, published as numbered versions by `errorkb build --db`
        """CREATE TABLE corpus_versions (
            version INTEGER PRIMARY KEY,
            fingerprint TEXT NOT NULL,     -- hash of the canons' ids and YAML, in order
            built_at TEXT NOT NULL,
            canons INTEGER NOT NULL,
            published_by TEXT NOT NULL,    -- user@host
            sources TEXT NOT NULL,         -- JSON list of the corpus paths published
            shard_digests TEXT NOT NULL    -- JSON list of the Hyperscan shards it uses
        )""",
        """CREATE TABLE corpus_canons (
            version INTEGER NOT NULL REFERENCES corpus_versions(version) ON DELETE CASCADE,
            position INTEGER NOT NULL,
            canon_id TEXT NOT NULL,
            source TEXT NOT NULL,          -- corpus path it came from
            record TEXT NOT NULL,          -- the canon file's YAML
            PRIMARY KEY (version, position),
            UNIQUE (version, canon_id)
        )""",
        """CREATE TABLE corpus_shards (
            digest TEXT PRIMARY KEY,       -- hash of the shard's patterns (index/build's cache key)
            accepted TEXT NOT NULL,
            rejected TEXT NOT NULL,
            db BYTEA NOT NULL              -- serialized Hyperscan database
        )""",
    ],
]

MIGRATION_LOCK = 7426351  # pg_advisory_xact_lock key: one migrator at a time


def connect(url: str, *, what: str = "database") -> Any:
    """An autocommit connection to `url`, migrated; IndexUnavailable when it cannot connect."""
    import psycopg

    try:
        db = psycopg.connect(url, autocommit=True, connect_timeout=10)
    except psycopg.Error as exc:
        raise IndexUnavailable(f"cannot connect to the {what}: {exc}".strip(),
                               "check --db / ERRORKB_DB and that PostgreSQL is running") from None
    try:
        migrate(db)
    except BaseException:
        db.close()
        raise
    return db


def migrate(db: Any, migrations: list[list[str]] = MIGRATIONS) -> None:
    """Apply the migrations `db` has not had yet, in order, in one transaction."""
    with db.transaction():
        db.execute(f"SELECT pg_advisory_xact_lock({MIGRATION_LOCK})")
        db.execute("CREATE TABLE IF NOT EXISTS errorkb_migrations "
                   "(version INTEGER PRIMARY KEY, applied_at TEXT NOT NULL)")
        done = {v for (v,) in db.execute("SELECT version FROM errorkb_migrations")}
        for version, statements in enumerate(migrations, start=1):
            if version in done:
                continue
            for statement in statements:
                db.execute(statement)
            db.execute("INSERT INTO errorkb_migrations VALUES (%s, %s)",
                       (version, time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())))

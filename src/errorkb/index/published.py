"""The corpus in PostgreSQL: numbered versions published by `errorkb build --db URL`, served by
every `errorkb serve --db URL`.

Publishing reads the corpus folders and, when their content differs from the latest version,
writes a new version in one transaction: every canon as its YAML file text, and the compiled
Hyperscan shards by digest. The transaction ends with `NOTIFY errorkb_corpus, '<version>'`,
delivered when it commits. The last `KEEP_VERSIONS` versions are kept.

A server turns a version into a local index with the same build code (`write_index`), one file
per fingerprint in its cache folder, taking the shards from the database so it compiles
nothing. `CorpusReloader` keeps a server on the latest version.
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from errorkb.errors import IndexUnavailable, InputError, RecordError
from errorkb.index.build import cached_shards, load_corpus, write_index
from errorkb.index.store import IndexStore
from errorkb.match import hyperscan_engine
from errorkb.match.hyperscan_engine import Shard
from errorkb.model import Canon, Finding
from errorkb.pg_migrations import connect
from errorkb.records import decode_canon, dump_canon, parse_yaml

CHANNEL = "errorkb_corpus"
KEEP_VERSIONS = 20
PUBLISH_LOCK = 7426352  # pg_advisory_xact_lock key: one publisher at a time
LOCAL_INDEXES_KEPT = 3

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class CorpusVersion:
    version: int
    fingerprint: str
    built_at: str
    canons: int
    published_by: str
    sources: tuple[str, ...]
    shard_digests: tuple[str, ...]


@dataclass
class PublishReport:
    version: CorpusVersion | None  # None: nothing was published (see findings)
    created: bool  # False: the latest version has this content already
    findings: list[Finding] = field(default_factory=list)
    seconds: float = 0.0


def content_fingerprint(records: Sequence[tuple[str, str]]) -> str:
    """Hash of the (canon id, YAML text) pairs in order: the same canons give the same
    fingerprint wherever and whenever they are published."""
    return hashlib.sha256(json.dumps(["errorkb corpus 1", *records],
                                     ensure_ascii=False).encode()).hexdigest()


def index_file(cache_dir: Path, fingerprint: str) -> Path:
    """Where a server keeps the local index of a published version."""
    return cache_dir / f"published-{fingerprint[:24]}.sqlite"


_VERSION_COLUMNS = ("version, fingerprint, built_at, canons, published_by, sources, "
                    "shard_digests")


def _version(row: Sequence[Any]) -> CorpusVersion:
    return CorpusVersion(int(row[0]), row[1], row[2], int(row[3]), row[4],
                         tuple(json.loads(row[5])), tuple(json.loads(row[6])))


def latest_version(db: Any) -> CorpusVersion | None:
    row = db.execute(f"SELECT {_VERSION_COLUMNS} FROM corpus_versions "
                     "ORDER BY version DESC LIMIT 1").fetchone()
    return _version(row) if row else None


def _shards(db: Any, digests: Sequence[str]) -> dict[str, Shard]:
    rows = db.execute("SELECT digest, accepted, rejected, db FROM corpus_shards "
                      "WHERE digest = ANY(%s)", (list(digests),)).fetchall()
    return {d: Shard(d, tuple(json.loads(a)), bytes(blob), tuple(json.loads(r)))
            for d, a, r, blob in rows}


def publish_corpus(url: str, paths: Sequence[Path], *, cache_dir: Path, published_by: str,
                   keep: int = KEEP_VERSIONS) -> PublishReport:
    """Publish the canons at `paths` as a new version, unless the latest version has the same
    fingerprint. Nothing is published when a record cannot be read."""
    started = time.perf_counter()
    canons, findings = load_corpus(paths)
    if any(f.severity == "error" for f in findings):
        return PublishReport(None, False, findings, time.perf_counter() - started)
    if not canons:
        raise InputError("no canons to publish", "give a canon folder with --corpus")
    records = [(canon.id, dump_canon(canon)) for canon, _ in canons]
    fingerprint = content_fingerprint(records)
    db = connect(url, what="corpus database")
    try:
        latest = latest_version(db)
        if latest is not None and latest.fingerprint == fingerprint:
            return PublishReport(latest, False, findings, time.perf_counter() - started)
        # Compile outside the transaction, reusing the shards the latest version has.
        local = index_file(cache_dir, fingerprint)
        sources = tuple(str(p.resolve()) for p in paths)
        write_index(canons, local, fingerprint=fingerprint, sources=sources,
                    shards=_shards(db, latest.shard_digests) if latest else {})
        shards = cached_shards(local)
        with db.transaction():
            db.execute("SELECT pg_advisory_xact_lock(%s)", (PUBLISH_LOCK,))
            latest = latest_version(db)  # another publisher may have been quicker
            if latest is not None and latest.fingerprint == fingerprint:
                return PublishReport(latest, False, findings, time.perf_counter() - started)
            version = CorpusVersion((latest.version if latest else 0) + 1, fingerprint,
                                    time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                                    len(records), published_by, sources, tuple(sorted(shards)))
            _insert(db, version, records, [source for _, source in canons], shards)
            _prune(db, version.version - keep)
            db.execute("SELECT pg_notify(%s, %s)", (CHANNEL, str(version.version)))
    finally:
        db.close()
    return PublishReport(version, True, findings, time.perf_counter() - started)


def _insert(db: Any, version: CorpusVersion, records: Sequence[tuple[str, str]],
            sources: Sequence[str], shards: dict[str, Shard]) -> None:
    db.execute(f"INSERT INTO corpus_versions ({_VERSION_COLUMNS}) VALUES (%s,%s,%s,%s,%s,%s,%s)",
               (version.version, version.fingerprint, version.built_at, version.canons,
                version.published_by, json.dumps(version.sources),
                json.dumps(version.shard_digests)))
    with db.cursor() as cursor:
        cursor.executemany(
            "INSERT INTO corpus_canons (version, position, canon_id, source, record) "
            "VALUES (%s,%s,%s,%s,%s)",
            [(version.version, position, canon_id, source, text)
             for position, ((canon_id, text), source) in enumerate(zip(records, sources,
                                                                        strict=True))])
    stored = set(_stored_digests(db, list(shards)))
    with db.cursor() as cursor:
        cursor.executemany(
            "INSERT INTO corpus_shards (digest, accepted, rejected, db) VALUES (%s,%s,%s,%s) "
            "ON CONFLICT (digest) DO NOTHING",
            [(s.digest, json.dumps(s.accepted), json.dumps(s.rejected), s.database)
             for digest, s in shards.items() if digest not in stored])


def _stored_digests(db: Any, digests: list[str]) -> list[str]:
    return [d for (d,) in db.execute("SELECT digest FROM corpus_shards WHERE digest = ANY(%s)",
                                     (digests,))]


def _prune(db: Any, up_to: int) -> None:
    """Drop versions up to `up_to` (their canons go with them) and shards no kept version uses."""
    if up_to < 1:
        return
    db.execute("DELETE FROM corpus_versions WHERE version <= %s", (up_to,))
    used: set[str] = set()
    for (digests,) in db.execute("SELECT shard_digests FROM corpus_versions"):
        used.update(json.loads(digests))
    db.execute("DELETE FROM corpus_shards WHERE NOT (digest = ANY(%s))", (sorted(used),))


def read_version(db: Any, version: CorpusVersion) -> tuple[list[tuple[Canon, str]],
                                                            dict[str, Shard]]:
    """The canons of a version, decoded strictly, and the shards of it this machine can load."""
    with db.transaction():  # one snapshot: a publisher pruning meanwhile is not seen half-done
        db.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
        rows = db.execute("SELECT canon_id, source, record FROM corpus_canons "
                          "WHERE version = %s ORDER BY position", (version.version,)).fetchall()
        shards = _shards(db, version.shard_digests) if hyperscan_engine.available() else {}
    if len(rows) != version.canons:
        raise RecordError(f"corpus version {version.version} has {len(rows)} canons stored, "
                          f"{version.canons} announced", hint="publish the corpus again")
    canons = []
    for canon_id, source, text in rows:
        where = f"corpus version {version.version}: {canon_id}"
        canon, problems = decode_canon(parse_yaml(text, where), file=where)
        if canon is None or canon.id != canon_id:
            reason = problems[0].message if problems else f"its id is {canon and canon.id}"
            raise RecordError(f"does not decode: {reason}", file=where,
                              hint="fix the canon and publish again")
        canons.append((canon, source))
    return canons, {d: s for d, s in shards.items() if hyperscan_engine.loads_here(s)}


def open_version(db: Any, version: CorpusVersion, *, cache_dir: Path, engine: str = "auto",
                 workers: int = 2) -> IndexStore:
    """The local index of a version: reused when the cache holds it, else built from the
    database (shards included) with the one build code."""
    path = index_file(cache_dir, version.fingerprint)
    try:
        store = IndexStore(path, engine)
    except IndexUnavailable:  # missing, unreadable or of another schema
        store = None
    if store is not None and store.fingerprint != version.fingerprint:
        store.close()
        store = None
    if store is None:
        canons, shards = read_version(db, version)
        write_index(canons, path, fingerprint=version.fingerprint, sources=version.sources,
                    shards=shards, workers=workers)
        store = IndexStore(path, engine)
    store.meta = {**store.meta, "corpus_version": str(version.version),
                  "published_at": version.built_at, "published_by": version.published_by}
    return store


def open_latest(url: str, *, cache_dir: Path, engine: str = "auto") -> IndexStore:
    """The latest published version as a local index; IndexUnavailable when there is none."""
    db = connect(url, what="corpus database")
    try:
        version = latest_version(db)
        if version is None:
            raise IndexUnavailable("no corpus has been published to this database",
                                   "publish one with `errorkb build --db URL` "
                                   "(add --corpus DIR for your own canons)")
        return open_version(db, version, cache_dir=cache_dir, engine=engine)
    finally:
        db.close()


def prune_local_indexes(cache_dir: Path, serving: Path, keep: int = LOCAL_INDEXES_KEPT) -> None:
    """Delete all but the newest `keep` local indexes of published versions (never `serving`)."""
    try:  # another server sharing the cache folder may be pruning too
        files = sorted(cache_dir.glob("published-*.sqlite"), key=lambda p: p.stat().st_mtime,
                       reverse=True)
        for old in files[keep:]:
            if old != serving:
                old.unlink(missing_ok=True)
    except OSError as exc:
        log.warning("corpus reload: cannot prune old local indexes: %s", exc)


class CorpusReloader:
    """Keeps a server on the latest published version.

    A daemon thread LISTENs on `errorkb_corpus` and also checks every `poll_seconds` (a NOTIFY
    sent while it was reconnecting is never delivered). A newer version is turned into a local
    index off the request path and handed, fully loaded, to `swap`. When that fails the old
    version keeps serving: a lost database is retried at the next check; a version whose data
    does not load is logged and skipped until another version is published.
    """

    def __init__(self, url: str, *, cache_dir: Path, serving: int | None,
                 swap: Callable[[IndexStore], object], engine: str = "auto",
                 poll_seconds: float = 5.0) -> None:
        self.url = url
        self.cache_dir = cache_dir
        self.serving = serving
        self.swap = swap
        self.engine = engine
        self.poll_seconds = poll_seconds
        self.refused: int | None = None
        self.checks = 0  # checks done, whatever their outcome
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="errorkb-corpus-reload",
                                        daemon=True)

    def start(self) -> CorpusReloader:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=15)

    def check(self) -> bool:
        """Serve the latest version if it is not the one served; False when that failed."""
        try:
            return self._check()
        finally:
            self.checks += 1

    def _check(self) -> bool:
        import psycopg

        latest = None
        try:
            db = connect(self.url, what="corpus database")
            try:
                latest = latest_version(db)
                if latest is None or latest.version in (self.serving, self.refused):
                    return True
                started = time.perf_counter()
                store = open_version(db, latest, cache_dir=self.cache_dir, engine=self.engine,
                                     workers=1)  # no process pool forked from a server thread
            finally:
                db.close()
        except (IndexUnavailable, psycopg.Error) as exc:
            log.warning("corpus reload: %s; still serving version %s", exc, self.serving)
            return False
        except Exception:  # bad data: anything may break while reading or compiling it
            if latest is None:
                log.exception("corpus reload: cannot read the corpus versions")
                return False
            log.exception("corpus reload: version %s does not load; still serving version %s "
                          "(skipped until a newer version is published)", latest.version,
                          self.serving)
            self.refused = latest.version
            return False
        self.swap(store)
        log.info("corpus reload: now serving version %s (%s canons, loaded in %.2fs)",
                 latest.version, len(store), time.perf_counter() - started)
        self.serving = latest.version
        prune_local_indexes(self.cache_dir, store.path)
        return True

    def _run(self) -> None:
        import psycopg

        while not self._stop.is_set():
            try:
                with psycopg.connect(self.url, autocommit=True, connect_timeout=10) as listener:
                    listener.execute(f"LISTEN {CHANNEL}")
                    self.check()  # whatever was published while not listening
                    next_poll = time.monotonic() + self.poll_seconds
                    while not self._stop.is_set():
                        wait = min(1.0, max(0.0, next_poll - time.monotonic()))  # stop: ≤ 1 s
                        notified = any(True for _ in listener.notifies(timeout=wait,
                                                                       stop_after=1))
                        if notified or time.monotonic() >= next_poll:
                            self.check()
                            next_poll = time.monotonic() + self.poll_seconds
            except psycopg.Error as exc:
                log.warning("corpus reload: lost the database (%s); retrying in %ss",
                            str(exc).strip(), self.poll_seconds)
                self._stop.wait(self.poll_seconds)
            except Exception:  # the thread must outlive any surprise; the server keeps serving
                log.exception("corpus reload: unexpected failure; retrying in %ss",
                              self.poll_seconds)
                self._stop.wait(self.poll_seconds)

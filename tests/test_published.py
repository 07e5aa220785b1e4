"""The corpus in PostgreSQL: publishing versions, serving the latest, reloading without a gap.

Every test runs against a real PostgreSQL server (`pg_url`); a tiny corpus from the factories.
"""

from __future__ import annotations

import json
import logging
import os
import time
import uuid
from pathlib import Path

import httpx
import psycopg
import pytest
from click.testing import CliRunner

from errorkb.errors import IndexUnavailable
from errorkb.faces.cli import main
from errorkb.index.build import load_corpus
from errorkb.index.published import (
    CorpusReloader,
    latest_version,
    prune_local_indexes,
    publish_corpus,
    read_version,
)
from errorkb.pg_migrations import MIGRATIONS, connect
from errorkb.service import KnowledgeBase
from tests.faces.conftest import running_server
from tests.factories import make_canon, write_canon

OLD_TEXT = "widget: request to port 9 timed out after 2s"
NEW_TEXT = "ERROR spindle 7 jammed"  # no word in common: only the widened regex finds it
WIDER = r"(?:widget: request to port|spindle) (\d+) (?:timed out|jammed)"


def write_corpus(root: Path, regex: str = r"widget: request to port (\d+) timed out") -> Path:
    write_canon(root, make_canon(regex=regex))
    write_canon(root, make_canon(id="demo/gadget-refused", regex=r"gadget: connection refused",
                                 signature="gadget: connection refused",
                                 examples=["gadget: connection refused"]))
    return root


def publish(url: str, corpus: Path, cache: Path, keep: int = 20) -> tuple[int, bool]:
    report = publish_corpus(url, [corpus], cache_dir=cache, published_by="test@here", keep=keep)
    assert report.version is not None, report.findings
    return report.version.version, report.created


def test_versions_follow_content_and_canons_round_trip(pg_url: str, tmp_path: Path) -> None:
    corpus = write_corpus(tmp_path / "canon")
    cache = tmp_path / "cache"
    assert publish(pg_url, corpus, cache) == (1, True)
    assert publish(pg_url, corpus, cache) == (1, False)
    for path in corpus.rglob("*.yaml"):  # new mtimes, same content: still the same corpus
        os.utime(path, (time.time() + 60, time.time() + 60))
    assert publish(pg_url, corpus, cache) == (1, False)
    write_canon(corpus, make_canon(regex=WIDER))
    assert publish(pg_url, corpus, cache) == (2, True)

    db = connect(pg_url)
    version = latest_version(db)
    assert version is not None and version.version == 2 and version.canons == 2
    assert version.published_by == "test@here" and version.sources == (str(corpus),)
    stored, _ = read_version(db, version)
    db.close()
    assert stored == load_corpus([corpus])[0]
    assert {c.id: c.regex for c, _ in stored}["demo/widget-timeout"] == WIDER


def test_a_corpus_with_an_unreadable_record_is_not_published(pg_url: str, tmp_path: Path) -> None:
    corpus = write_corpus(tmp_path / "canon")
    write_canon(corpus, make_canon(id="demo/broken"), text="id: demo/broken\nregex: [\n")
    report = publish_corpus(pg_url, [corpus], cache_dir=tmp_path / "cache", published_by="t")
    assert report.version is None and not report.created
    assert any(f.severity == "error" for f in report.findings)
    db = connect(pg_url)
    assert latest_version(db) is None
    db.close()


def test_old_versions_beyond_the_kept_number_go_with_their_shards(pg_url: str,
                                                                  tmp_path: Path) -> None:
    corpus = tmp_path / "canon"
    for n in range(3):
        write_corpus(corpus, regex=rf"widget: request {n} to port (\d+) timed out")
        publish(pg_url, corpus, tmp_path / "cache", keep=2)
    with psycopg.connect(pg_url) as conn:
        versions = [v for (v,) in conn.execute("SELECT version FROM corpus_versions ORDER BY 1")]
        kept = {d for (digests,) in conn.execute("SELECT shard_digests FROM corpus_versions")
                for d in json.loads(digests)}
        shards = {d for (d,) in conn.execute("SELECT digest FROM corpus_shards")}
        orphans = conn.execute("SELECT count(*) FROM corpus_canons WHERE version < 2").fetchone()
    assert versions == [2, 3]
    assert shards == kept
    assert orphans == (0,)


def test_migration_2_applies_on_a_database_that_has_migration_1(pg_url: str) -> None:
    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute("CREATE TABLE errorkb_migrations (version INTEGER PRIMARY KEY, "
                     "applied_at TEXT NOT NULL)")
        for statement in MIGRATIONS[0]:
            conn.execute(statement)
        conn.execute("INSERT INTO errorkb_migrations VALUES (1, '2025-01-01T00:00:00Z')")
        conn.execute("INSERT INTO reports (idempotency_key, canon_id, item_kind, item_index, "
                     "worked, created_at) VALUES ('old', 'demo/x', 'workaround', 0, true, 'then')")
    connect(pg_url).close()
    connect(pg_url).close()  # a second start finds nothing to do
    with psycopg.connect(pg_url) as conn:
        applied = [v for (v,) in conn.execute("SELECT version FROM errorkb_migrations ORDER BY 1")]
        reports = conn.execute("SELECT idempotency_key FROM reports").fetchall()
        versions = conn.execute("SELECT count(*) FROM corpus_versions").fetchone()
    assert applied == [1, 2]
    assert reports == [("old",)]
    assert versions == (0,)


def test_serving_before_anything_is_published_says_how_to_publish(pg_url: str,
                                                                  tmp_path: Path) -> None:
    with pytest.raises(IndexUnavailable) as caught:
        KnowledgeBase.open_published(pg_url, cache_dir=tmp_path / "cache")
    assert "errorkb build --db" in caught.value.hint
    result = CliRunner().invoke(main, ["lookup", "--db", pg_url, OLD_TEXT],
                                env={"ERRORKB_CACHE_DIR": str(tmp_path / "cache")})
    assert result.exit_code == 2 and "errorkb build --db" in result.output


def test_cli_publishes_and_reads_the_published_corpus(pg_url: str, tmp_path: Path) -> None:
    corpus = write_corpus(tmp_path / "canon")
    env = {"ERRORKB_CACHE_DIR": str(tmp_path / "cache")}
    runner = CliRunner()
    built = runner.invoke(main, ["build", "--db", pg_url, "--no-bundled", "--corpus", str(corpus)],
                          env=env)
    assert built.exit_code == 0 and "published corpus version 1" in built.output
    again = runner.invoke(main, ["--db", pg_url, "build", "--no-bundled", "--corpus", str(corpus)],
                          env=env)
    assert again.exit_code == 0 and "unchanged: corpus version 1" in again.output
    found = runner.invoke(main, ["lookup", "--db", pg_url, "--json", OLD_TEXT],
                          env={"ERRORKB_CACHE_DIR": str(tmp_path / "other-cache")})
    assert found.exit_code == 0, found.output
    assert '"id": "demo/widget-timeout"' in found.output
    mixed = runner.invoke(main, ["lookup", "--db", pg_url, "--corpus", str(corpus), OLD_TEXT])
    assert mixed.exit_code == 2 and "published corpus is served" in mixed.output


def reloader_for(kb: KnowledgeBase, url: str, cache: Path) -> CorpusReloader:
    return CorpusReloader(url, cache_dir=cache, serving=kb.corpus_version, swap=kb.swap_store)


def test_a_reload_swaps_in_the_new_version_while_calls_in_flight_keep_the_old(
        pg_url: str, tmp_path: Path) -> None:
    corpus = write_corpus(tmp_path / "canon")
    publish(pg_url, corpus, tmp_path / "publisher")
    kb = KnowledgeBase.open_published(pg_url, cache_dir=tmp_path / "server")
    in_flight = kb.store
    assert kb.corpus_version == 1 and not kb.lookup(NEW_TEXT).found
    write_canon(corpus, make_canon(regex=WIDER))
    publish(pg_url, corpus, tmp_path / "publisher")
    reloader = reloader_for(kb, pg_url, tmp_path / "server")
    assert reloader.check() is True
    assert kb.corpus_version == 2 and kb.stats()["corpus_version"] == 2
    assert kb.lookup(NEW_TEXT).matches[0].captures == ["7"]
    assert not in_flight.engine.search(NEW_TEXT)  # the old store still answers, unchanged
    assert in_flight.canon_by_id("demo/widget-timeout").regex != WIDER
    assert reloader.check() is True and kb.corpus_version == 2  # nothing newer: no swap


def test_a_reload_that_fails_keeps_the_old_version_serving(
        pg_url: str, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    corpus = write_corpus(tmp_path / "canon")
    publish(pg_url, corpus, tmp_path / "publisher")
    kb = KnowledgeBase.open_published(pg_url, cache_dir=tmp_path / "server")
    write_canon(corpus, make_canon(regex=WIDER))
    publish(pg_url, corpus, tmp_path / "publisher")
    with psycopg.connect(pg_url, autocommit=True) as conn:  # version 2 arrives damaged
        conn.execute("UPDATE corpus_canons SET record = 'id: [' WHERE version = 2 AND position = 0")
    reloader = reloader_for(kb, pg_url, tmp_path / "server")
    with caplog.at_level(logging.WARNING, logger="errorkb"):
        assert reloader.check() is False
    assert "version 2 does not load; still serving version 1" in caplog.text
    assert kb.corpus_version == 1 and kb.lookup(OLD_TEXT).found and not kb.lookup(NEW_TEXT).found
    assert reloader.check() is True and kb.corpus_version == 1  # skipped, not retried

    down = CorpusReloader("postgresql://nobody@127.0.0.1:1/none", cache_dir=tmp_path / "server",
                          serving=1, swap=kb.swap_store)
    with caplog.at_level(logging.WARNING, logger="errorkb"):
        assert down.check() is False
    assert "cannot connect" in caplog.text and kb.corpus_version == 1

    write_canon(corpus, make_canon(regex=WIDER, signature="widget: call timed out"))
    publish(pg_url, corpus, tmp_path / "publisher")
    assert reloader.check() is True
    assert kb.corpus_version == 3 and kb.lookup(NEW_TEXT).found


def wait_for_version(kb: KnowledgeBase, version: int, seconds: float = 20) -> bool:
    """A bounded wait for the background thread, not a speed check."""
    deadline = time.monotonic() + seconds
    while kb.corpus_version != version and time.monotonic() < deadline:
        time.sleep(0.05)
    return kb.corpus_version == version


def wait_for_first_check(reloader: CorpusReloader, seconds: float = 20) -> bool:
    deadline = time.monotonic() + seconds
    while reloader.checks == 0 and time.monotonic() < deadline:
        time.sleep(0.05)
    return reloader.checks > 0


def test_the_background_thread_reloads_on_notify(pg_url: str, tmp_path: Path) -> None:
    corpus = write_corpus(tmp_path / "canon")
    publish(pg_url, corpus, tmp_path / "publisher")
    kb = KnowledgeBase.open_published(pg_url, cache_dir=tmp_path / "server")
    reloader = kb.follow_published(pg_url, cache_dir=tmp_path / "server", poll_seconds=3600)
    try:
        assert wait_for_first_check(reloader)  # listening; an hour to the next poll
        write_canon(corpus, make_canon(regex=WIDER))
        publish(pg_url, corpus, tmp_path / "publisher")
        assert wait_for_version(kb, 2)
        assert kb.lookup(NEW_TEXT).found
    finally:
        reloader.stop()


def test_the_background_thread_polls_for_a_version_it_was_not_told_of(
        pg_url: str, tmp_path: Path) -> None:
    corpus = write_corpus(tmp_path / "canon")
    publish(pg_url, corpus, tmp_path / "publisher")
    kb = KnowledgeBase.open_published(pg_url, cache_dir=tmp_path / "server")
    reloader = kb.follow_published(pg_url, cache_dir=tmp_path / "server", poll_seconds=0.3)
    try:
        assert wait_for_first_check(reloader)
        with psycopg.connect(pg_url, autocommit=True) as conn:  # a version with no NOTIFY
            conn.execute("INSERT INTO corpus_versions SELECT 2, fingerprint, built_at, canons, "
                         "'by hand', sources, shard_digests FROM corpus_versions")
            conn.execute("INSERT INTO corpus_canons SELECT 2, position, canon_id, source, record "
                         "FROM corpus_canons")
        assert wait_for_version(kb, 2)
        assert kb.lookup(OLD_TEXT).found
    finally:
        reloader.stop()


def serve_env(url: str, cache: Path) -> dict[str, str]:
    return {**os.environ, "ERRORKB_CACHE_DIR": str(cache), "ERRORKB_DB": url}


def answers(base: str, text: str) -> bool:
    response = httpx.get(f"{base}/api/v1/lookup", params={"q": text}, timeout=5)
    return response.status_code == 200 and bool(response.json()["matches"])


@pytest.mark.slow
def test_two_servers_pick_up_a_new_version_and_share_outcomes(pg_url: str,
                                                              tmp_path: Path) -> None:
    corpus = write_corpus(tmp_path / "canon")
    publish(pg_url, corpus, tmp_path / "publisher")
    runner = CliRunner()
    token = runner.invoke(main, ["--db", pg_url, "token", "create", "agent"]).output.strip()
    with running_server([], serve_env(pg_url, tmp_path / "a")) as one, \
            running_server([], serve_env(pg_url, tmp_path / "b")) as two:
        for base in (one, two):
            assert httpx.get(f"{base}/healthz").json()["corpus_version"] == 1
            assert answers(base, OLD_TEXT) and not answers(base, NEW_TEXT)
        write_canon(corpus, make_canon(regex=WIDER))
        publish(pg_url, corpus, tmp_path / "publisher")
        waiting = {one, two}
        deadline = time.monotonic() + 20  # a bounded wait, not a speed check
        while waiting and time.monotonic() < deadline:
            waiting = {base for base in waiting if not answers(base, NEW_TEXT)}
            time.sleep(0.1)
        assert not waiting, "a server still serves the old corpus version"
        for base in (one, two):
            assert httpx.get(f"{base}/healthz").json()["corpus_version"] == 2

        body = {"canon_id": "demo/widget-timeout", "workaround": 0, "worked": True,
                "idempotency_key": uuid.uuid4().hex}
        stored = httpx.post(f"{one}/api/v1/outcomes", json=body,
                            headers={"Authorization": f"Bearer {token}"})
        assert stored.status_code == 200 and stored.json()["stored"] is True
        seen = httpx.get(f"{two}/api/v1/lookup", params={"q": NEW_TEXT}).json()
        assert seen["matches"][0]["workarounds"][0]["reports"] == 1


def test_old_local_indexes_are_pruned_but_never_the_one_served(tmp_path: Path) -> None:
    files = [tmp_path / f"published-{n}.sqlite" for n in range(5)]
    for age, path in enumerate(reversed(files)):
        path.write_bytes(b"x")
        os.utime(path, (1_000_000 - age, 1_000_000 - age))  # published-0 is the oldest
    prune_local_indexes(tmp_path, serving=files[0], keep=3)
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "published-0.sqlite", "published-2.sqlite", "published-3.sqlite", "published-4.sqlite"]

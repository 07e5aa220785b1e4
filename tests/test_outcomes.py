"""Outcome reports: append-only, idempotent, token-guarded over HTTP, rates from a Beta prior."""

from __future__ import annotations

import json
import multiprocessing
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from fastapi.testclient import TestClient

from errorkb.errors import NotFound
from errorkb.faces.cli import main
from errorkb.faces.web.api import create_app
from errorkb.outcomes import (
    Report,
    Tally,
    dead_end_fail_rate,
    open_outcome_store,
    workaround_rate,
)
from errorkb.records import load_yaml_tree
from errorkb.service import KnowledgeBase
from tests.factories import make_canon, write_canon


def test_a_workaround_stated_at_0_9_that_fails_ten_times_drops() -> None:
    assert workaround_rate(0.9, Tally()) == pytest.approx(0.9)
    assert workaround_rate(0.9, Tally(failed=10)) == pytest.approx(0.45)
    assert workaround_rate(None, Tally(worked=10)) == pytest.approx(0.75)
    assert dead_end_fail_rate(0.8, Tally(worked=10)) == pytest.approx(0.4)


BACKENDS = ["sqlite", "postgres"]


@pytest.fixture(params=BACKENDS)
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Every store test runs on SQLite, and on a real PostgreSQL server (CI starts one with
    .ci/start-postgres; ERRORKB_REQUIRE_PG=1 makes a missing server a failure, not a skip)."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path}/outcomes.sqlite"
    return str(request.getfixturevalue("pg_url"))


def store_at(url: str) -> Any:
    store = open_outcome_store(url, create=True)
    assert store is not None
    return store


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    write_canon(tmp_path / "canon", make_canon())
    return tmp_path / "canon"


@pytest.fixture
def kb(corpus: Path, tmp_path: Path, db_url: str) -> KnowledgeBase:
    return KnowledgeBase.open([corpus], cache_dir=tmp_path / "cache", outcomes=store_at(db_url))


def report(key: str, worked: bool = False, index: int = 0) -> Report:
    return Report("demo/widget-timeout", "workaround", index, worked, key)


def test_reports_count_once_per_key_and_show_in_lookups(kb: KnowledgeBase) -> None:
    assert kb.report(report("k-1"))["stored"] is True
    assert kb.report(report("k-1"))["duplicate"] is True
    for i in range(9):
        kb.report(report(f"k-{i + 2}"))
    item = kb.lookup("widget: request to port 1 timed out").matches[0]
    assert kb.tallies(item.canon_id) == {("workaround", 0): Tally(0, 10)}
    from errorkb.render import lookup_payload

    shown = lookup_payload(kb.lookup("widget: request to port 1 timed out"))["matches"][0]
    workaround = shown["workarounds"][0]
    assert workaround["success_rate"] == 0.7 and workaround["reports"] == 10
    assert workaround["effective_rate"] == pytest.approx(0.35, abs=1e-3)


def test_reports_for_unknown_canons_or_items_are_refused(kb: KnowledgeBase) -> None:
    with pytest.raises(NotFound):
        kb.report(Report("demo/nope", "workaround", 0, True, "key-1"))
    with pytest.raises(NotFound, match="has no workaround 5"):
        kb.report(report("key-2", index=5))


def test_tokens_are_stored_hashed_and_can_be_revoked(db_url: str) -> None:
    store = store_at(db_url)
    token = store.create_token("ci")
    assert store.token_name(token) == "ci" and store.token_name(token + "x") is None
    assert store.revoke_token("ci") and store.token_name(token) is None
    with pytest.raises(ValueError):
        store.create_token("ci")


def test_the_sqlite_file_holds_no_token_in_clear(tmp_path: Path) -> None:
    store = store_at(f"sqlite:///{tmp_path}/o.sqlite")
    token = store.create_token("ci")
    store.close()
    assert token.encode() not in (tmp_path / "o.sqlite").read_bytes()


def test_http_writes_need_a_token(kb: KnowledgeBase) -> None:
    assert kb.outcomes is not None
    token = kb.outcomes.create_token("agent")
    http = TestClient(create_app(kb))
    body = {"canon_id": "demo/widget-timeout", "workaround": 0, "worked": True,
            "idempotency_key": "http-key-1"}
    missing = http.post("/api/v1/outcomes", json=body)
    wrong = http.post("/api/v1/outcomes", json=body, headers={"Authorization": "Bearer nope"})
    assert missing.status_code == wrong.status_code == 401
    assert missing.json()["error"]["code"] == "unauthorized"
    ok = http.post("/api/v1/outcomes", json=body, headers={"Authorization": f"Bearer {token}"})
    again = http.post("/api/v1/outcomes", json=body, headers={"Authorization": f"Bearer {token}"})
    assert ok.json()["stored"] is True and again.json()["duplicate"] is True
    assert http.get("/api/v1/lookup", params={"q": "widget: request to port 1 timed out"}).status_code == 200
    call = {"jsonrpc": "2.0", "id": 1, "method": "tools/call",
            "params": {"name": "report_outcome", "arguments": {}}}
    assert http.post("/mcp/", json=call).status_code == 401


def _writer(db: str, corpus: str, cache: str, worker: int) -> None:
    kb = KnowledgeBase.open([Path(corpus)], cache_dir=Path(cache), outcomes=store_at(db))
    for i in range(500):
        kb.report(Report("demo/widget-timeout", "workaround", 0, i % 2 == 0, f"w{worker}-{i}"))


def test_eight_processes_writing_at_once_lose_nothing(corpus: Path, tmp_path: Path,
                                                     db_url: str) -> None:
    store_at(db_url).close()
    KnowledgeBase.open([corpus], cache_dir=tmp_path / "cache")  # build the index once
    context = multiprocessing.get_context("spawn")
    workers = [context.Process(target=_writer, args=(db_url, str(corpus), str(tmp_path / "cache"), w))
               for w in range(8)]
    for w in workers:
        w.start()
    for w in workers:
        w.join(timeout=300)
        assert w.exitcode == 0
    store = store_at(db_url)
    assert store.count() == 4000
    assert store.tallies("demo/widget-timeout") == {("workaround", 0): Tally(2000, 2000)}


WRITER = """
import sys
from errorkb.outcomes import Report, open_outcome_store
store = open_outcome_store(sys.argv[1], create=True)
i = 0
while True:
    key = f"kill-{i}"
    store.append(Report("demo/widget-timeout", "workaround", 0, True, key))
    print(key, flush=True)  # acknowledged: the commit returned
    i += 1
"""


def test_a_writer_killed_mid_stream_loses_no_acknowledged_report(db_url: str) -> None:
    process = subprocess.Popen([sys.executable, "-c", WRITER, db_url], stdout=subprocess.PIPE,
                               text=True)
    assert process.stdout is not None
    acknowledged = [process.stdout.readline().strip() for _ in range(300)]
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    process.stdout.close()
    stored = {r.idempotency_key for r in store_at(db_url).export()}
    assert set(acknowledged) <= stored


def test_cli_report_export_and_apply(corpus: Path, tmp_path: Path, db_url: str) -> None:
    env = {"ERRORKB_CACHE_DIR": str(tmp_path / "cache"), "ERRORKB_DB": db_url}
    runner = CliRunner()
    corpus_args = ["--no-bundled", "--corpus", str(corpus)]
    if db_url.startswith("postgresql://"):  # PostgreSQL serves the corpus published to it
        assert runner.invoke(main, ["build", *corpus_args], env=env).exit_code == 0
        corpus_args = []
    for i in range(10):
        result = runner.invoke(main, ["report", "demo/widget-timeout", "--workaround", "0",
                                      "--worked", "no", "--key", f"cli-{i}", "--json",
                                      *corpus_args], env=env)
        assert result.exit_code == 0, result.output
    lines = runner.invoke(main, ["outcomes", "export", "--json"], env=env).stdout.splitlines()
    assert len(lines) == 10 and json.loads(lines[0])["worked"] is False
    for _ in range(2):  # applying twice counts each report once
        assert runner.invoke(main, ["outcomes", "apply", str(corpus)], env=env).exit_code == 0
    canon = load_yaml_tree(corpus).loaded[0].canon
    assert canon.workarounds[0].success_rate == 0.35
    assert canon.evidence_count == 1 + 10
    assert canon.extra["stated_rates"]["workarounds"] == [0.7]

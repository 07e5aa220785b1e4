from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
SEED = REPO / "tests" / "fixtures" / "seed-record.json"  # copy of ../shared/seeds/000_*.txt
PEER = SHARED / "data" / "deadends-canons.jsonl"


@pytest.fixture(autouse=True, scope="session")
def own_cache_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Indexes the tests build go to a folder of this run, not to the user's ~/.cache."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("XDG_CACHE_HOME", str(tmp_path_factory.mktemp("cache")))
        yield


@pytest.fixture
def seed_path() -> Path:
    return SEED


@pytest.fixture
def peer_path() -> Path:
    if not PEER.exists():
        pytest.skip("the peer dataset is not beside this checkout")
    return PEER


ERRORKB_TABLES = "corpus_canons, corpus_versions, corpus_shards, reports, tokens, errorkb_migrations"


@pytest.fixture
def pg_url() -> str:
    """An empty database on a real PostgreSQL server (CI starts one with .ci/start-postgres);
    ERRORKB_REQUIRE_PG=1 makes a missing server a failure, not a skip."""
    url = os.environ.get("ERRORKB_TEST_PG")
    if not url:
        if os.environ.get("ERRORKB_REQUIRE_PG") == "1":
            pytest.fail("ERRORKB_TEST_PG is not set (.ci/run starts PostgreSQL)")
        pytest.skip("no PostgreSQL server here (set ERRORKB_TEST_PG)")
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f"DROP TABLE IF EXISTS {ERRORKB_TABLES}")
    return url

from __future__ import annotations

from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
SEED = REPO / "tests" / "fixtures" / "seed-record.json"  # copy of ../shared/seeds/000_*.txt
PEER = SHARED / "data" / "deadends-canons.jsonl"


@pytest.fixture
def seed_path() -> Path:
    return SEED


@pytest.fixture
def peer_path() -> Path:
    if not PEER.exists():
        pytest.skip("the peer dataset is not beside this checkout")
    return PEER

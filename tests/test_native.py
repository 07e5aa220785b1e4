"""The native kernel (native/kernel.cpp) gives the answers of the Python engines, its reference:
the same hits, the same lexical shares, so the same ranked lookups."""

from __future__ import annotations

import json
import os
import random
from pathlib import Path

import pytest

from errorkb.faces.config import bundled_corpus_dir
from errorkb.match import PatternSpec, PrefilterEngine, native
from errorkb.match.engine import MAX_MATCHES_PER_PATTERN
from errorkb.match.literals import required_literals
from errorkb.service import KNOWN_LEXICAL_SHARE, KnowledgeBase, _ranked

EVAL = Path(__file__).resolve().parents[1] / "eval"


@pytest.fixture(autouse=True)
def kernel_built() -> None:
    """CI builds the kernel (ERRORKB_REQUIRE_NATIVE=1: a missing one fails); elsewhere the
    Python engines serve and these tests have nothing to compare."""
    if not native.available():
        if os.environ.get("ERRORKB_REQUIRE_NATIVE") == "1":
            pytest.fail("the native kernel is not built: run `make native` with libre2-dev installed")
        pytest.skip("the native kernel is not built here (needs libre2-dev)")


@pytest.fixture(scope="module")
def stores(tmp_path_factory: pytest.TempPathFactory) -> dict[str, KnowledgeBase]:
    cache = tmp_path_factory.mktemp("native")
    return {engine: KnowledgeBase.open([bundled_corpus_dir()], cache_dir=cache, engine=engine)
            for engine in ("native", "prefilter")}


def spec(key: int, pattern: str, case_sensitive: bool = False) -> PatternSpec:
    literals = tuple(tuple(tuple(sorted(strings)) for strings in alternative)
                     for alternative in required_literals(pattern))
    return PatternSpec(key, pattern, case_sensitive, literals)


def test_lookups_on_the_kernel_equal_those_of_the_python_engine(stores: dict[str, KnowledgeBase]
                                                                 ) -> None:
    """Every input of the evaluation sets (cases, benign logs, peer queries) is ranked alike:
    the same canons, scores, score parts, hits and captures."""
    texts = [json.loads(line)["text"] for path in sorted(EVAL.glob("**/*.jsonl"))
             for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    assert len(texts) > 3000
    fast, reference = stores["native"].store, stores["prefilter"].store
    assert fast.engine.name == "native" and reference.engine.name != "native"
    known = 0
    for text in texts:
        answers = [[(m.canon_id, m.score, m.part_values, m.hit, m.known) for m in ranked]
                   for _, ranked in (_ranked(store, text) for store in (fast, reference))]
        assert answers[0] == answers[1], text
        known += any(known for *_, known in answers[0])
    assert known > len(texts) // 2


def test_the_kernels_lexical_pass_equals_the_python_one(stores: dict[str, KnowledgeBase]) -> None:
    """Random queries of corpus words, repeated and unknown words among them, with and without
    regex hits and a least share."""
    fast, reference = stores["native"].store, stores["prefilter"].store
    vocabulary = sorted(reference._postings)
    keys = sorted(reference.facts)
    rng = random.Random(5)
    for _ in range(400):
        words = rng.sample(vocabulary, rng.randint(1, 60)) + ["zzunknownword", "ошибка"][:rng.randint(0, 2)]
        words += rng.sample(words, min(3, len(words)))  # repeated words count once
        rng.shuffle(words)
        hits = [*rng.sample(keys, rng.randint(0, 3)), -1]  # -1: no canon
        least = rng.choice([None, KNOWN_LEXICAL_SHARE, 0.9])
        limit = rng.choice([1, 8])
        answer = fast.lexical(words, limit, hits=hits, least_share=least)
        assert answer == reference.lexical(words, limit, hits=hits, least_share=least), words
    assert fast.lexical([], hits=keys[:2]) == []


def test_hits_offsets_and_captures_equal_the_python_engines_on_any_text() -> None:
    """Offsets in characters over non-ASCII text, lone surrogates, empty matches, one match
    per line up to the cap, named groups, case-sensitive patterns."""
    specs = [spec(1, r"端口 (\d+) 被拒绝"), spec(2, r"remote port (?P<port>\d+)"), spec(3, r"x*"),
             spec(4, r"line (\d+)"), spec(5, r"Fatal (\w+)", case_sensitive=True),
             spec(6, r"(?:a|(b))c")]
    fast, reference = native.NativeEngine(specs), PrefilterEngine(specs)
    texts = ["错误：端口 8080 被拒绝", "bad \udcff remote port 80", "ÀÉ remote PORT 443 端口 1 被拒绝",
             "\n".join(f"line {n} line {n}" for n in range(12)), "fatal abc\nFatal Abc", "ac bc",
             "", "xx"]
    for text in texts:
        assert fast.search(text) == reference.search(text), text
        assert fast.candidates(text) == reference.candidates(text), text
    chinese = fast.search("错误：端口 8080 被拒绝")
    assert [(h.key, h.start, h.groups) for h in chinese] == [(1, 3, ("8080",))]
    assert fast.search("remote port 80")[0].named == (("port", "80"),)
    assert [h.groups for h in fast.search(texts[3])] == [(str(n),) for n in range(MAX_MATCHES_PER_PATTERN)]
    assert fast.search("xx")[0][:3] == (3, 0, 2) and not fast.search("yy")  # `x*`: no empty hit
    assert [(h.key, h.start) for h in fast.search("fatal abc\nFatal Abc") if h.key == 5] == [(5, 10)]
    assert [(h.key, h.groups) for h in fast.search("ac bc")] == [(6, ())]  # an unmatched group


def test_a_pattern_the_kernels_re2_refuses_is_run_by_the_python_one() -> None:
    """The system's RE2 may be older than google-re2 (Debian's knows no `(?<name>...)`): the
    patterns it refuses still run, in key order with the others."""
    specs = [spec(1, r"port (?<port>\d+)"), spec(2, r"remote (\w+)"), spec(3, r"bad(")]
    fast, reference = native.NativeEngine(specs), PrefilterEngine(specs)
    hits = fast.search("remote port 8080")
    assert hits == reference.search("remote port 8080")
    assert [(h.key, h.groups) for h in hits] == [(1, ("8080",)), (2, ("port",))]

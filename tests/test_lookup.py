"""Lookups through `KnowledgeBase` on a tiny corpus: matches, captures, honesty, stacking."""

from __future__ import annotations

import dataclasses
import os
import re
from pathlib import Path

import pytest

from errorkb.errors import IndexUnavailable
from errorkb.match import PatternSpec, PrefilterEngine, hyperscan_engine, native
from errorkb.match.engine import LiteralTable
from errorkb.match.literals import gate_first, input_frequencies, literal_weight, required_literals
from errorkb.model import Canon, Confusion, TransitionGraph
from errorkb.service import KnowledgeBase
from tests.factories import make_canon, write_canon

RESET = make_canon(
    id="net/reset", domain="net", signature="read: connection reset by peer (errno 104)",
    regex=r"connection reset by peer|\bECONNRESET\b", error_code="ECONNRESET",
    aliases=["errno 104"], examples=["Error: read ECONNRESET", "recv(): connection reset by peer"],
    transition_graph=TransitionGraph(frequently_confused_with=[
        Confusion(error_id="demo/widget-timeout", distinction="a", distinction_zh="甲")]))


ENGINES = ["prefilter", *(["hyperscan"] if hyperscan_engine.available() else []),
           *(["native"] if native.available() else [])]


@pytest.fixture(params=ENGINES)
def engine(request: pytest.FixtureRequest) -> str:
    """Every lookup test runs on each engine this machine has."""
    return str(request.param)


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    root = tmp_path / "canon"
    write_canon(root)
    write_canon(root, RESET)
    return root


def open_kb(tmp_path: Path, *dirs: Path, engine: str = "auto") -> KnowledgeBase:
    return KnowledgeBase.open(list(dirs), cache_dir=tmp_path / "cache", engine=engine)


def test_lookup_finds_ranks_and_captures(tmp_path: Path, corpus: Path, engine: str) -> None:
    kb = open_kb(tmp_path, corpus, engine=engine)
    result = kb.lookup("2025-01-01 10:00:00 ERROR widget: request to port 8443 timed out after 9s")
    assert [m.canon_id for m in result.matches] == ["demo/widget-timeout"]
    best = result.matches[0]
    assert best.captures == ["8443"]
    assert best.parts["regex"] > 0 and best.parts["decisive"] > 0
    assert best.score == pytest.approx(sum(best.parts.values()), abs=1e-3)


def test_hit_on_the_decisive_line_outranks_a_hit_elsewhere(tmp_path: Path, corpus: Path, engine: str) -> None:
    kb = open_kb(tmp_path, corpus, engine=engine)
    text = ("widget: request to port 1 timed out (earlier, recovered)\n"
            "Traceback (most recent call last):\n  File \"x.py\", line 1, in <module>\n"
            "ConnectionResetError: [Errno 104] Connection reset by peer")
    ids = [m.canon_id for m in kb.lookup(text).matches]
    assert ids[0] == "net/reset"


def test_benign_text_gets_no_match_and_nearest_are_marked(tmp_path: Path, corpus: Path, engine: str) -> None:
    kb = open_kb(tmp_path, corpus, engine=engine)
    result = kb.lookup("2025-01-01 10:00:00 INFO widget started, listening on port 8080")
    assert result.matches == []
    assert all(not m.known for m in result.nearest)


def test_domain_filter_and_search(tmp_path: Path, corpus: Path, engine: str) -> None:
    kb = open_kb(tmp_path, corpus, engine=engine)
    assert kb.lookup("read ECONNRESET", domain="demo").matches == []
    assert kb.search("connection reset")[0].canon_id == "net/reset"
    assert kb.domains() == {"demo": 1, "net": 1}


def test_later_corpus_wins_on_the_same_id(tmp_path: Path, corpus: Path, engine: str) -> None:
    team = tmp_path / "team"
    write_canon(team, make_canon(root_cause="Our own explanation.", root_cause_zh="我们自己的解释。"))
    kb = open_kb(tmp_path, corpus, team, engine=engine)
    assert kb.canon("demo/widget-timeout").root_cause == "Our own explanation."
    assert len(kb) == 2


def test_stale_index_is_rebuilt_or_reported(tmp_path: Path, corpus: Path, engine: str) -> None:
    open_kb(tmp_path, corpus, engine=engine)
    path = write_canon(corpus, make_canon(id="demo/new-one", signature="gadget exploded",
                                          regex="gadget exploded", examples=["gadget exploded!"]))
    stale = KnowledgeBase.open([corpus], cache_dir=tmp_path / "cache", rebuild_stale=False,
                               engine=engine)
    assert stale.stale and len(stale) == 2
    fresh = open_kb(tmp_path, corpus, engine=engine)
    assert not fresh.stale and len(fresh) == 3
    assert fresh.lookup("gadget exploded").matches[0].canon_id == "demo/new-one"
    path.unlink()


def test_chain_follows_links(tmp_path: Path, corpus: Path, engine: str) -> None:
    from errorkb.model import Transition

    write_canon(corpus, make_canon(transition_graph=TransitionGraph(leads_to=[Transition(
        error_id="net/reset", probability=0.3, condition="under load", condition_zh="负载高时")])))
    kb = open_kb(tmp_path, corpus, engine=engine)
    steps = kb.chain("demo/widget-timeout")
    assert [(s.canon_id, s.relation) for s in steps] == [("net/reset", "leads_to")]


@pytest.mark.parametrize("pattern", [
    r"connection reset by peer|\bECONNRESET\b", r"remote port (\d+)", r"a.*b.*c",
    r"(?:foo|bar)baz", r"x{2,}y", r"[Ee]rror: (\w+) not found", r"(Android|AAPT2).*failed",
])
def test_prefilter_engine_agrees_with_python_re(pattern: str) -> None:
    texts = ["ERROR: read ECONNRESET", "remote port 8080", "xxxy abc", "barbaz", "Error: mod not found",
             "aapt2 link failed", "nothing here", "a b c", "FOOBAZ"]
    literals = tuple(tuple(tuple(sorted(strings)) for strings in alternative)
                     for alternative in required_literals(pattern))
    engine = PrefilterEngine([PatternSpec(1, pattern, False, literals)])
    oracle = re.compile(pattern, re.IGNORECASE)
    for text in texts:
        assert bool(engine.search(text)) == bool(oracle.search(text)), (pattern, text)


def test_a_literal_table_kept_as_json_finds_the_same_candidates() -> None:
    import json

    specs = [PatternSpec(key, pattern, False, tuple(tuple(tuple(sorted(strings)) for strings in alt)
                                                    for alt in required_literals(pattern)))
             for key, pattern in enumerate([r"connection reset by peer|\bECONNRESET\b",
                                            r"remote port (\d+) refused", r"(?:foo|bar)baz", r".*"])]
    table = LiteralTable(specs)
    kept = LiteralTable.from_data(json.loads(json.dumps(table.to_data())))
    texts = ["read ECONNRESET", "remote port 8080 refused", "remote port", "barbaz", "nothing"]
    assert kept.always == table.always == [3]
    for text in texts:
        engine, from_kept = PrefilterEngine(specs), PrefilterEngine(specs, kept)
        assert engine.candidates(text) == from_kept.candidates(text), text
    assert PrefilterEngine(specs, kept).candidates("remote port 1 refused") == {1, 3}
    with pytest.raises(ValueError, match="not a literal table"):
        LiteralTable.from_data({"literals": ["a"], "direct": [], "gated": [], "always": []})


def test_hits_give_character_offsets_and_captures_in_non_ascii_text() -> None:
    engine = PrefilterEngine([PatternSpec(1, r"连接被重置.*端口 (?P<port>\d+)", False),
                              PatternSpec(2, r"(^|\s)exec (/\S+): exec format error", False)])
    text = "日志：连接被重置，端口 8080\nwarn: ünïcode first\nexec /bin/tool: exec format error"
    hits = {hit.key: hit for hit in engine.search(text)}
    assert text[hits[1].start:hits[1].end] == "连接被重置，端口 8080"
    assert hits[1].groups == ("8080",) and hits[1].named == (("port", "8080"),)
    # A match may begin with the newline that ends the line before it.
    assert text[hits[2].start:hits[2].end] == "\nexec /bin/tool: exec format error"
    assert hits[2].groups == ("\n", "/bin/tool")


def test_one_hit_per_line_and_at_most_eight() -> None:
    engine = PrefilterEngine([PatternSpec(1, r"err(\d)", False)])
    hits = engine.search("err1 err2\nerr3\n" + "err4\n" * 20)
    assert [h.groups for h in hits] == [("1",), ("3",)] + [("4",)] * 6


def test_specificity_counts_required_literals_not_wildcards() -> None:
    assert literal_weight(r"remote port \d+") == len("remote port ")
    assert literal_weight(r".*x.*") == 1
    assert literal_weight(r"(abc|de)f") == 3


@pytest.mark.parametrize(("pattern", "required"), [
    (r"Bind for ([0-9.]+|\[::\]|::):(\d+) failed",  # an escaped [ before a colon
     [[{"bind for "}, {" failed"}], [{"bind for [::]:"}, {" failed"}], [{"bind for :::"}, {" failed"}]]),
    (r"release[:,]\s*(\d+) not supported",  # a class of ':' and ','
     [[{" not supported"}, {"release:", "release,"}]]),
    (r"bad[[:space:]]+token", []),  # RE2's POSIX class: Python's parser would misread it
    (r"bad[^[:alpha:]]token", []),
])
def test_literals_are_found_beside_brackets_and_colons(pattern: str, required: list[object]) -> None:
    assert required_literals(pattern) == required


def test_engines_find_every_hit_of_running_every_pattern(tmp_path: Path) -> None:
    """Every prefilter (Hyperscan's literal database, Aho-Corasick, the native kernel's) finds
    exactly the hits of running every canon regex under RE2, over every example of the bundled
    corpus."""
    if not hyperscan_engine.available():
        pytest.skip("Hyperscan has no wheel for this platform")
    from errorkb.exchange import load_paths
    from errorkb.faces.config import bundled_corpus_dir

    loaded = load_paths([bundled_corpus_dir()]).loaded
    texts = [e for item in loaded for e in item.canon.examples] + [
        item.canon.signature for item in loaded]
    fast = open_kb(tmp_path, bundled_corpus_dir(), engine="hyperscan")
    slow = open_kb(tmp_path, bundled_corpus_dir(), engine="prefilter")
    assert type(fast.store.engine).__name__ == "HyperscanEngine"
    every_key = sorted(fast.store.facts)

    def hits(kb: KnowledgeBase, text: str, keys: list[int] | None = None
             ) -> list[tuple[str, int, int, tuple[str, ...]]]:
        return sorted((kb.store.facts[h.key].id, h.start, h.end, h.groups)
                      for h in kb.store.engine.search(text, keys))

    kernel = open_kb(tmp_path, bundled_corpus_dir(), engine="native") if native.available() else None
    for text in texts:
        expected = hits(fast, text, every_key)
        assert expected, text
        assert hits(fast, text) == expected, text
        assert hits(slow, text) == expected, text
        if kernel is not None:
            assert hits(kernel, text) == expected, text
            assert hits(kernel, text, every_key) == expected, text


def test_literal_prefilter_needs_every_set_of_one_alternative() -> None:
    pattern = r"(lifecycle.*policy.*error|ILM.*failed)"
    required = required_literals(pattern)
    samples = ["step failed", "job failed with error", "ILM rollover failed", "policy error"]
    frequency = input_frequencies({s for alt in required for strings in alt for s in strings}, samples)
    literals = tuple(tuple(tuple(strings) for strings in gate_first(alternative, frequency))
                     for alternative in required)
    # Each alternative's sets, the one the samples hold least first.
    assert literals == ((("lifecycle",), ("policy",), ("error",)), (("ilm",), ("failed",)))
    engine = PrefilterEngine([PatternSpec(1, pattern, False, literals)])
    assert engine.candidates("ILM rollover FAILED") == {1}
    assert engine.candidates("lifecycle policy ok") == set()
    assert engine.candidates("step failed") == set()
    assert engine.candidates("film failed") == {1}  # a candidate only: RE2 verifies it
    assert engine.trigger_literals() == ["ilm", "lifecycle"]  # "failed" is only checked


def test_a_literal_of_few_letters_is_looked_for_only_when_nothing_else_is_there() -> None:
    frequency = {"104": 0.01, "0x": 0.02, "errno": 0.5, "ssl": 0.1}
    assert gate_first([{"104"}, {"errno"}], frequency) == [["errno"], ["104"]]
    assert gate_first([{"0x", "ssl"}, {"104"}], frequency) == [["104"], ["0x", "ssl"]]  # both weak
    assert gate_first([{"errno"}, {"ssl"}], frequency) == [["ssl"], ["errno"]]


def test_a_higher_least_share_still_finds_every_canon_reaching_it(tmp_path: Path) -> None:
    """With regex hits the lexical pass stops bringing candidates sooner; every canon whose
    share reaches the higher floor is still found, with the same share, and no other."""
    from errorkb.faces.config import bundled_corpus_dir
    from errorkb.match import normalize
    from errorkb.match.rank import KNOWN_LEXICAL_SHARE

    kb = open_kb(tmp_path, bundled_corpus_dir())
    store = kb.store
    texts = [store.canon(key).examples[0] for key in sorted(store.facts)[:200]
             if store.canon(key).examples]
    reached = 0
    for text in texts:
        words = normalize(text).terms
        nearest = dict(store.lexical(words, limit=10_000))
        known = dict(store.lexical(words, limit=10_000, least_share=KNOWN_LEXICAL_SHARE))
        expected = {key: share for key, share in nearest.items() if share >= KNOWN_LEXICAL_SHARE}
        reached += len(expected)
        assert known == pytest.approx(expected), text
    assert reached > 50  # the comparison saw many canons


def test_an_unreadable_or_old_index_is_rebuilt(tmp_path: Path, corpus: Path) -> None:
    from errorkb.service import default_index_path

    path = default_index_path([corpus], tmp_path / "cache")
    path.parent.mkdir(parents=True)
    path.write_bytes(b"not a database at all" * 100)
    kb = open_kb(tmp_path, corpus)
    assert len(kb) == 2


def test_every_canon_comes_back_from_the_index_as_it_went_in(tmp_path: Path) -> None:
    from errorkb.exchange import load_paths
    from errorkb.faces.config import bundled_corpus_dir

    root = tmp_path / "canon"
    write_canon(root, RESET)
    loaded = [item.canon for item in load_paths([bundled_corpus_dir(), root]).loaded]
    kb = open_kb(tmp_path, bundled_corpus_dir(), root)
    assert len(loaded) == len(kb) > 100
    for canon in loaded:
        assert kb.canon(canon.id) == canon


def test_a_damaged_index_record_says_to_rebuild(tmp_path: Path, corpus: Path) -> None:
    import sqlite3

    from errorkb.errors import IndexUnavailable

    kb = open_kb(tmp_path, corpus)
    key = kb.store.key_of["net/reset"]
    with sqlite3.connect(kb.store.path) as db:
        db.execute("UPDATE canons SET record = ? WHERE key = ?",
                   ('{"id": "net/reset", "signature": "x", "regex": "x", "domain": "net", '
                    '"colour": "red"}', key))
    with pytest.raises(IndexUnavailable, match="colour") as raised:
        open_kb(tmp_path, corpus).canon("net/reset")
    assert "errorkb build" in raised.value.hint


def test_a_damaged_index_is_rebuilt_for_its_corpus(tmp_path: Path, corpus: Path) -> None:
    import sqlite3
    from contextlib import closing

    from errorkb.errors import IndexUnavailable
    from errorkb.index.store import IndexStore

    kb = open_kb(tmp_path, corpus)
    kb.store.close()
    with closing(sqlite3.connect(kb.store.path)) as db, db:
        db.execute("UPDATE canon_facts SET facts = '[[1, \"net/reset\"' WHERE first_key = 1")
    with pytest.raises(IndexUnavailable, match="not a readable errorkb index") as raised:
        IndexStore(kb.store.path)
    assert "errorkb build" in raised.value.hint
    assert [m.canon_id for m in open_kb(tmp_path, corpus).lookup("read ECONNRESET").matches] == [
        "net/reset"]


def test_only_numbered_codes_of_one_kind_conflict() -> None:
    from errorkb.match.rank import CODE_AGREES, CODE_CONFLICTS, _code_part

    assert _code_part(frozenset({"errno:104"}), frozenset({"errno:104"})) == CODE_AGREES
    assert _code_part(frozenset({"errno:104"}), frozenset({"errno:111"})) == CODE_CONFLICTS
    assert _code_part(frozenset({"name:EXPIREDTOKEN"}), frozenset({"name:EXPIREDTOKENEXCEPTION"})) == 0
    assert _code_part(frozenset(), frozenset({"errno:104"})) == 0


@pytest.mark.parametrize(("shares", "regex_hit", "known"), [
    ([1.0, 1.0], None, ["a/0", "a/1"]),  # two canons may cover the words alike and both count
    ([1.0, 0.99, 1.0], None, []),  # three that cover them alike: the words do not say which one
    ([1.0, 0.9, 0.9, 0.9], None, ["a/0"]),  # one clearly ahead of the others
    ([1.0, 1.0, 1.0, 1.0], 2, ["a/2"]),  # a regex hit says which
])
def test_words_several_canons_cover_alike_name_none_of_them(shares: list[float], regex_hit: int | None,
                                                           known: list[str]) -> None:
    from errorkb.match import CandidateFacts, Normalized, RegexHit, rank

    text = "Error: Process completed with exit code 1."
    norm = Normalized(text, ((0, len(text), 1.0),), frozenset(),
                      ("error", "process", "completed", "exit", "code"))
    facts = {key: CandidateFacts(f"a/{key}", "a", 20, frozenset(), frozenset())
             for key in range(len(shares))}
    hits = [] if regex_hit is None else [RegexHit(regex_hit, 0, len(text), (), ())]
    ranked = rank(norm, hits, list(enumerate(shares)), facts, lambda key: make_canon())
    assert [m.canon_id for m in ranked if m.known] == known


@pytest.mark.parametrize(("said", "known"), [(0.0, False), (0.15, False), (0.3, True), (1.0, True)])
def test_words_alone_must_also_name_the_canon(said: float, known: bool) -> None:
    from errorkb.match import CandidateFacts, Normalized, rank
    from errorkb.match.rank import LEXICAL_ONLY, NAMED_SHARE

    text = "OCI runtime create failed: unable to start container process"
    norm = Normalized(text, ((0, len(text), 1.0),), frozenset(),
                      ("oci", "runtime", "create", "failed", "unable", "start", "container"))
    facts = {0: CandidateFacts("a/0", "a", 20, frozenset(), frozenset())}
    asked: list[int] = []

    def named(key: int) -> float:
        asked.append(key)
        return said

    [match] = rank(norm, [], [(0, 1.0)], facts, lambda key: make_canon(), named=named)
    assert asked == [0] and match.known is known
    assert match.score == pytest.approx(LEXICAL_ONLY * min(1.0, said / NAMED_SHARE) ** 2)


def test_a_generic_line_inside_a_canons_examples_does_not_name_it(tmp_path: Path) -> None:
    root = tmp_path / "canon"
    write_canon(root, make_canon(
        id="gpu/nvml-mismatch", domain="gpu",
        signature="Failed to initialize NVML: Driver/library version mismatch",
        regex=r"Failed to initialize NVML: Driver/library version mismatch",
        examples=["docker: Error response from daemon: OCI runtime create failed: unable to start "
                  "container process: nvidia-container-cli: initialization error: nvml error: "
                  "driver/library version mismatch",
                  "Failed to initialize NVML: Driver/library version mismatch",
                  "NVML library version: 535.129"]))
    kb = open_kb(tmp_path, root)
    generic = kb.lookup("OCI runtime create failed: unable to start container process")
    assert not generic.found and [m.canon_id for m in generic.nearest] == ["gpu/nvml-mismatch"]
    named = kb.lookup("nvidia-container-cli: initialization error: nvml error: "
                      "driver/library version mismatch, OCI runtime create failed")
    assert [m.canon_id for m in named.matches] == ["gpu/nvml-mismatch"]
    assert named.matches[0].hit is None  # found by its words, which now name it


def test_one_word_of_a_longer_name_does_not_name_the_canon(tmp_path: Path) -> None:
    root = tmp_path / "canon"
    write_canon(root, make_canon(id="sh/crlf", domain="sh", signature="/bin/bash^M: bad interpreter",
                                 aliases=["env: bash: No such file or directory"],
                                 regex=r"bash\^M: bad interpreter",
                                 examples=["bash: syntax error near unexpected token `$'do\\r''",
                                           "/bin/bash^M: bad interpreter: No such file or directory",
                                           "x.sh: /bin/bash^M: bad interpreter"]))
    store = open_kb(tmp_path, root).store
    key = store.key_of["sh/crlf"]
    assert store.named_share(key, ("bash", "syntax", "error", "near", "unexpected", "token")) == 0.0
    assert store.named_share(key, ("bash", "bad", "interpreter")) > 0.9
    assert 0.0 < store.named_share(key, ("bash", "such")) < 1.0


@pytest.mark.parametrize("linked_by", ["preceded_by", "leads_to"])
def test_a_cause_ranks_above_its_consequence_when_both_hit(linked_by: str) -> None:
    from errorkb.match import CandidateFacts, Normalized, RegexHit, rank
    from errorkb.model import Transition

    text = "kernel: Out of memory: Killed process 401\napp.service: code=killed, status=9/KILL"
    norm = Normalized(text, ((0, len(text), 1.0),), frozenset(), ("memory", "killed"))
    # The consequence's regex is the more specific one: without the link it would rank first.
    facts = {0: CandidateFacts("a/cause", "a", 10, frozenset(), frozenset()),
             1: CandidateFacts("a/consequence", "a", 30, frozenset(), frozenset())}
    graphs = {0: TransitionGraph(leads_to=[Transition(error_id="a/consequence")]),
              1: TransitionGraph(preceded_by=[Transition(error_id="a/cause")])}
    canons = {key: make_canon(id=facts[key].id, transition_graph=graphs[key]
                              if (key == 0) == (linked_by == "leads_to") else TransitionGraph())
              for key in facts}
    hits = [RegexHit(0, 0, 20, (), ()), RegexHit(1, 45, len(text), (), ())]
    ranked = rank(norm, hits, [], facts, canons.__getitem__)
    assert [m.canon_id for m in ranked] == ["a/cause", "a/consequence"]
    assert ranked[1].parts["consequence"] < 0 and "consequence" not in ranked[0].parts
    assert ranked[0].score > ranked[1].score == pytest.approx(sum(ranked[1].parts.values()))
    [alone] = rank(norm, hits[1:], [], facts, canons.__getitem__)
    assert "consequence" not in alone.parts  # only its cause's hit makes it the consequence
    mutual = {key: make_canon(id=facts[key].id, transition_graph=TransitionGraph(
        leads_to=[Transition(error_id=facts[1 - key].id)])) for key in facts}  # neither is the cause
    ranked = rank(norm, hits, [], facts, mutual.__getitem__)
    assert [m.canon_id for m in ranked] == ["a/consequence", "a/cause"]
    assert not any("consequence" in m.parts for m in ranked)
    # The index's facts say which canons each one's graph names: the link is seen through
    # them, and hits whose facts name no other hit are ranked without reading any record.
    from errorkb.index.build import ranking_links

    known = {key: dataclasses.replace(facts[key], related=frozenset(ranking_links(canons[key])[0]))
             for key in facts}
    assert [m.canon_id for m in rank(norm, hits, [], known, canons.__getitem__)] == [
        "a/cause", "a/consequence"]
    unlinked = {key: dataclasses.replace(facts[key], related=frozenset({"a/elsewhere"})) for key in facts}

    def no_record(key: int) -> Canon:
        raise AssertionError("a record was read")
    assert [m.canon_id for m in rank(norm, hits, [], unlinked, no_record)] == [
        "a/consequence", "a/cause"]


def test_a_long_running_face_warms_up_before_lookups_need_it(
        tmp_path: Path, corpus: Path, engine: str) -> None:
    from errorkb.index import IndexStore

    kb = open_kb(tmp_path, corpus, engine=engine)
    kb.warm_up().join(timeout=60)
    assert kb.store.warm() == (0, 0)  # nothing left for a lookup to compile or decode
    fresh = IndexStore(kb.store.path, engine)
    kb.swap_store(fresh)  # a newly published corpus: warmed before it answers
    assert kb.store is fresh and fresh.warm() == (0, 0)
    assert IndexStore(kb.store.path, engine).warm() == (2, 2)  # both canons' regexes and records
    assert kb.lookup("read ECONNRESET").matches[0].canon_id == "net/reset"


@pytest.mark.parametrize("collecting", [True, False])
def test_opening_an_index_leaves_the_garbage_collector_as_it_was(tmp_path: Path, corpus: Path,
                                                                collecting: bool) -> None:
    import gc

    from errorkb.index import IndexStore

    path = open_kb(tmp_path, corpus).store.path
    was = gc.isenabled()
    try:
        (gc.enable if collecting else gc.disable)()
        IndexStore(path)
        assert gc.isenabled() is collecting
        with pytest.raises(IndexUnavailable):
            IndexStore(tmp_path / "canon" / "net" / "reset.yaml")  # not an index: fails inside
        assert gc.isenabled() is collecting
    finally:
        (gc.enable if was else gc.disable)()


def test_a_big_index_is_collected_once_after_loading(tmp_path: Path, corpus: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    import gc

    from errorkb.index import IndexStore, store

    path = open_kb(tmp_path, corpus).store.path
    calls: list[tuple[object, ...]] = []
    monkeypatch.setattr(gc, "collect", lambda *args: calls.append(args) or 0)
    IndexStore(path)
    assert calls == []  # two canons: the collections after loading are short
    monkeypatch.setattr(store, "COLLECT_AFTER_LOADING", 1)
    IndexStore(path)
    assert calls == [()]


def test_a_summary_canon_ranks_below_any_other_error_found_with_it() -> None:
    from errorkb.match import CandidateFacts, Normalized, RegexHit, rank
    from errorkb.model import Transition

    text = "Module not found: Error: Can't resolve './Header'\nnpm ERR! code ELIFECYCLE"
    norm = Normalized(text, ((0, len(text), 1.0),), frozenset(), ("resolve", "elifecycle"))
    facts = {0: CandidateFacts("a/cant-resolve", "a", 10, frozenset(), frozenset()),
             1: CandidateFacts("a/elifecycle", "a", 30, frozenset(), frozenset())}
    canons = {0: make_canon(id="a/cant-resolve"), 1: make_canon(id="a/elifecycle", tags=["summary"])}
    hits = [RegexHit(0, 0, 45, (), ()), RegexHit(1, 50, len(text), (), ())]
    assert [m.canon_id for m in rank(norm, hits, [], facts, canons.__getitem__)] == [
        "a/cant-resolve", "a/elifecycle"]
    [alone] = rank(norm, hits[1:], [], facts, canons.__getitem__)
    assert alone.known and "consequence" not in alone.parts  # alone, the summary is the answer
    # A chain: the summary goes below the generic canon, which goes below the specific one,
    # although the generic one scored highest before either moved.
    facts[2] = CandidateFacts("a/generic", "a", 40, frozenset(), frozenset())
    canons[2] = make_canon(id="a/generic", transition_graph=TransitionGraph(
        preceded_by=[Transition(error_id="a/cant-resolve")]))
    ranked = rank(norm, [*hits, RegexHit(2, 0, 45, (), ())], [], facts, canons.__getitem__)
    assert [m.canon_id for m in ranked] == ["a/cant-resolve", "a/generic", "a/elifecycle"]
    assert all(m.known for m in ranked) and ranked[0].score > ranked[1].score > ranked[2].score


def test_a_warning_canon_ranks_below_an_error_and_above_a_summary() -> None:
    from errorkb.match import CandidateFacts, Normalized, RegexHit, rank
    from errorkb.model import Transition

    text = ("AH00558: apache2: Could not reliably determine the server's fully qualified domain name\n"
            "(13)Permission denied: AH00072: make_sock: could not bind to address 0.0.0.0:80\n"
            "Action 'start' failed.")
    norm = Normalized(text, ((0, len(text), 1.0),), frozenset(), ("ah00558", "ah00072"))
    facts = {0: CandidateFacts("a/servername", "a", 60, frozenset(), frozenset()),
             1: CandidateFacts("a/bind-denied", "a", 20, frozenset(), frozenset()),
             2: CandidateFacts("a/start-failed", "a", 15, frozenset(), frozenset())}
    canons = {0: make_canon(id="a/servername", tags=["warning"]), 1: make_canon(id="a/bind-denied"),
              2: make_canon(id="a/start-failed", tags=["summary"])}
    hits = [RegexHit(0, 0, 60, (), ()), RegexHit(1, 90, 160, (), ()), RegexHit(2, 170, len(text), (), ())]
    ranked = rank(norm, hits, [], facts, canons.__getitem__)
    assert [m.canon_id for m in ranked] == ["a/bind-denied", "a/servername", "a/start-failed"]
    assert all(m.known for m in ranked)
    [alone] = rank(norm, hits[:1], [], facts, canons.__getitem__)
    assert alone.known  # a warning on its own is still the answer
    # The tag comes over a graph link that says the warning leads to the error.
    canons[0] = make_canon(id="a/servername", tags=["warning"], transition_graph=TransitionGraph(
        leads_to=[Transition(error_id="a/bind-denied")]))
    canons[1] = make_canon(id="a/bind-denied", transition_graph=TransitionGraph(
        leads_to=[Transition(error_id="a/servername")]))
    assert [m.canon_id for m in rank(norm, hits[:2], [], facts, canons.__getitem__)] == [
        "a/bind-denied", "a/servername"]


def test_a_context_canon_ranks_above_the_canons_found_inside_its_own_hit() -> None:
    from errorkb.match import CandidateFacts, Normalized, RegexHit, rank

    text = ("Readiness probe failed: dial tcp 10.244.0.12:5432: connect: connection refused\n"
            "dial tcp 10.0.0.9:6379: connect: connection refused")
    norm = Normalized(text, ((0, len(text), 1.0),), frozenset(), ("probe", "dial", "refused"))
    facts = {0: CandidateFacts("a/probe", "a", 20, frozenset(), frozenset()),
             1: CandidateFacts("a/dial-refused", "a", 30, frozenset(), frozenset())}
    canons = {0: make_canon(id="a/probe", tags=["context"]), 1: make_canon(id="a/dial-refused")}
    inside = [RegexHit(0, 0, 78, (), ()), RegexHit(1, 24, 78, (), ())]
    ranked = rank(norm, inside, [], facts, canons.__getitem__)
    assert [m.canon_id for m in ranked] == ["a/probe", "a/dial-refused"] and all(m.known for m in ranked)
    # Without the tag, or with the other error on a line of its own, the scores decide.
    canons[0] = make_canon(id="a/probe")
    assert rank(norm, inside, [], facts, canons.__getitem__)[0].canon_id == "a/dial-refused"
    canons[0] = make_canon(id="a/probe", tags=["context"])
    apart = [RegexHit(0, 0, 78, (), ()), RegexHit(1, 79, len(text), (), ())]
    assert rank(norm, apart, [], facts, canons.__getitem__)[0].canon_id == "a/dial-refused"


@pytest.mark.parametrize(("code", "known"), [("exit:1", False), ("exit:137", True), (None, True)])
def test_words_alone_do_not_name_a_canon_whose_exit_code_the_input_contradicts(code: str | None,
                                                                              known: bool) -> None:
    from errorkb.match import CandidateFacts, Normalized, rank

    text = "ERROR: script returned exit code 1"
    norm = Normalized(text, ((0, len(text), 1.0),), frozenset([code] if code else []),
                      ("error", "script", "returned", "exit", "code"))
    facts = {0: CandidateFacts("ci/killed", "ci", 20, frozenset({"exit:137"}), frozenset())}
    [match] = rank(norm, [], [(0, 1.0)], facts, lambda key: make_canon(), named=lambda key: 1.0)
    assert match.known is known


def test_a_code_only_one_canon_names_is_a_known_match_on_its_own(tmp_path: Path) -> None:
    root = tmp_path / "canon"
    for slug, code in (("pg-password", "28P01"), ("pg-hba", "28000"), ("pg-role", "28000"),
                       ("mongo-dup", "11000")):
        write_canon(root, make_canon(id=f"db/{slug}", domain="db", signature=f"{slug} failed",
                                     regex=f"{slug} failed", error_code=code,
                                     examples=[f"{slug} failed", f"x: {slug} failed", f"{slug} failed!"]))
    kb = open_kb(tmp_path, root)
    cut_short = "  name: 'error',\n  severity: 'FATAL',\n  code: '28P01',\n  routine: 'auth_failed' }"
    [match] = kb.lookup(cut_short).matches  # the message line is missing; the SQLSTATE is not
    assert match.canon_id == "db/pg-password" and match.parts == {"codes": 0.5}
    assert not kb.lookup("  severity: 'FATAL',\n  code: '28000',").found  # two canons name it
    assert not kb.lookup("E11000 duplicate, code: '11000',").found  # 11000 is no SQLSTATE class
    write_canon(root, make_canon(id="db/teapot", domain="db", signature="HTTP 418 teapot reply",
                                 regex="teapot reply", examples=["teapot reply", "a teapot reply",
                                                                 "teapot reply!"]))
    assert not open_kb(tmp_path, root).lookup("upstream answered status code 418").found  # vague


def test_a_name_two_canons_give_two_ways_names_neither_alone(tmp_path: Path) -> None:
    """An AWS error code and an exception class of the same name are one code: two canons
    naming it (one as the AWS CLI prints it, one as the class) do not own it."""
    root = tmp_path / "canon"
    texts = {"runtime": "An error occurred (InvalidThingException) when calling the Create "
                        "operation: runtime gone",
             "size": "InvalidThingException: package too big"}
    for slug, text in texts.items():
        write_canon(root, make_canon(id=f"aws/{slug}", domain="aws", signature=text,
                                     regex=text.split(": ", 1)[1], error_code="InvalidThingException",
                                     examples=[text, f"x {text}", f"{text}!"]))
    kb = open_kb(tmp_path, root)
    other = "An error occurred (InvalidThingException) when calling the Create operation: bad role"
    assert not kb.lookup(other).found
    (root / "aws" / "size.yaml").unlink()
    [match] = open_kb(tmp_path, root).lookup(other).matches  # now only one canon names it
    assert match.canon_id == "aws/runtime" and match.parts["codes"] == 0.5


def test_lookups_from_many_threads_agree_with_one(tmp_path: Path, corpus: Path, engine: str) -> None:
    """The HTTP server answers from worker threads: engines and the store must be thread-safe."""
    from concurrent.futures import ThreadPoolExecutor

    kb = open_kb(tmp_path, corpus, engine=engine)
    texts = ["widget: request to port 8080 timed out", "read ECONNRESET", "all quiet"] * 200
    expected = [[m.canon_id for m in kb.lookup(t).matches] for t in texts]
    with ThreadPoolExecutor(max_workers=8) as pool:
        got = list(pool.map(lambda t: [m.canon_id for m in kb.lookup(t).matches], texts))
    assert got == expected


def test_editing_one_canon_recompiles_only_its_shard(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(hyperscan_engine, "SHARD_SIZE", 2)
    specs = [(f"d/canon-{i}", PatternSpec(i, f"error number {i}")) for i in range(1, 9)]
    assert hyperscan_engine.shard_count(len(specs)) == 4
    compiled: list[str] = []

    def fake_compile(item: hyperscan_engine.Planned) -> hyperscan_engine.Shard:
        compiled.append(item.digest)
        return hyperscan_engine.Shard(item.digest, tuple(range(len(item.patterns))), b"db")

    monkeypatch.setattr(hyperscan_engine, "compile_shard", fake_compile)
    def compile_shards(specs: list[tuple[str, PatternSpec]], cache: dict[str, hyperscan_engine.Shard]
                       ) -> list[tuple[hyperscan_engine.Shard, hyperscan_engine.LoadedShard]]:
        table = LiteralTable(spec for _, spec in specs)
        return hyperscan_engine.compile_shards(specs, table, cache, workers=1)

    first = compile_shards(specs, {})
    cache = {shard.digest: shard for shard, _ in first}
    edited = [specs[0], (specs[1][0], PatternSpec(2, "error number two")), *specs[2:]]
    compiled.clear()
    second = compile_shards(edited, cache)
    assert len(compiled) == 1
    assert sum(shard.digest not in cache for shard, _ in second) == 1
    assert sorted(k for _, loaded in second for k in loaded.keys) == list(range(1, 9))


def test_patterns_whose_literals_the_database_lacks_are_always_verified() -> None:
    """An index whose literal database lacks a pattern's literals (refused, or from another
    build) still finds that pattern: it is verified for every input rather than for none."""
    if not hyperscan_engine.available():
        pytest.skip("Hyperscan has no wheel for this platform")
    pattern = r"(lifecycle.*policy.*error|ILM.*failed)"
    literals = tuple(tuple(tuple(sorted(strings)) for strings in alternative)
                     for alternative in required_literals(pattern))
    engine = hyperscan_engine.HyperscanEngine([PatternSpec(1, pattern, False, literals)], [])
    assert engine.candidates("nothing here") == {1}
    assert [hit.key for hit in engine.search("ILM step failed")] == [1]
    assert engine.search("nothing here") == []


@pytest.mark.slow
def test_a_lookup_starts_without_the_readers_and_writers_it_does_not_need(tmp_path: Path,
                                                                          corpus: Path) -> None:
    """Cold start is most of an `errorkb lookup`: YAML, the record readers, the validator and
    the import/curation code are left to the commands that use them."""
    import json
    import subprocess
    import sys

    script = ("import json, sys\nfrom errorkb.faces.cli import main\n"
              "try:\n    main(sys.argv[1:])\nexcept SystemExit:\n    pass\n"
              "print(json.dumps(sorted(sys.modules)), file=sys.stderr)\n")
    command = [sys.executable, "-c", script, "lookup", "--json", "--no-bundled", "--corpus",
               str(corpus), "Error: read ECONNRESET"]
    env = {**os.environ, "XDG_CACHE_HOME": str(tmp_path / "cache")}
    subprocess.run(command, env=env, capture_output=True, check=True)  # builds the index
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=True)
    assert json.loads(done.stdout)["matches"][0]["id"] == "net/reset"
    loaded = set(json.loads(done.stderr.splitlines()[-1]))
    assert "errorkb.index.store" in loaded
    assert not loaded & {"yaml", "errorkb.records.nodes", "errorkb.records.files", "errorkb.validate",
                         "errorkb.exchange", "errorkb.curate", "errorkb.scan", "errorkb.ingest"}

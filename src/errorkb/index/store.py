"""Read the index: opened read-only, canons decoded on demand, the regex pass built once."""

from __future__ import annotations

import gc
import json
import math
import sqlite3
import threading
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from functools import lru_cache
from operator import itemgetter
from pathlib import Path

from errorkb.errors import IndexUnavailable, InputError, NotFound
from errorkb.index.build import SCHEMA_VERSION
from errorkb.match import hyperscan_engine, native
from errorkb.match.engine import LiteralTable, PatternSpec, PrefilterEngine
from errorkb.match.hyperscan_engine import HyperscanEngine, LoadedShard
from errorkb.match.native import NativeEngine, NativeLexicon
from errorkb.match.normalize import terms as words_of
from errorkb.match.rank import VAGUE_CODE_KINDS, CandidateFacts
from errorkb.model import Canon
from errorkb.records import canon_from_data

ENGINES = ("auto", "native", "hyperscan", "prefilter")
CANON_CACHE = 4096  # decoded canons kept per store
COLLECT_AFTER_LOADING = 10_000  # canons; below this the collections after loading are short
_EMPTY: frozenset[str] = frozenset()  # shared: most canons name no error code, link or role
# Words bring candidates while a canon not yet found could still reach this share of the query:
# below half, words alone never make a known match (they may still be the nearest candidates).
NEAREST_SHARE = 0.5
# A word in more canons than this never brings candidates, only adds to those found: the
# lexical pass costs no more with a big corpus than with 2,500 canons.
MAX_POSTINGS = 250


def common_postings(canons: int) -> int:
    """How many canons a word may be in and still bring candidates."""
    return min(max(3, canons // 10), MAX_POSTINGS)


def _added(weights: list[float]) -> float:
    """The weights added left to right, as the native kernel adds them (from Python 3.12 on,
    `sum` compensates rounding, and its last bits could tell the two passes apart)."""
    total = 0.0
    for weight in weights:
        total += weight
    return total


@contextmanager
def _no_gc() -> Iterator[None]:
    """Loading an index makes a few objects per canon and frees none, so the cyclic garbage
    collector only repeats itself over a growing heap. Paused, those objects are then all
    young, and the first collections after it walk every one of them (0.4 s at 25k canons), so
    a big index is collected once right after loading (`COLLECT_AFTER_LOADING`) and no lookup
    pays for it. Opening 126k canons, both included: 11.0–11.7 s against 13.2–15.0 s with the
    collector running throughout."""
    paused = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if paused:
            gc.enable()


class IndexStore:
    """An index opened read-only. `engine`: `auto` takes the native kernel when it is built
    here (it also runs the lexical pass), else Hyperscan when the index has its shards and the
    module is available, else the Aho-Corasick prefilter; all verify with RE2 and answer alike."""

    def __init__(self, path: Path, engine: str = "auto") -> None:
        if not path.exists():
            raise IndexUnavailable(f"no index at {path}", "run `errorkb build`")
        self.path = path
        self._db = sqlite3.connect(f"file:{path}?mode=ro", uri=True, check_same_thread=False)
        self._lock = threading.Lock()
        # Per store, not per class, so a server that swaps in a new store frees the old one.
        self._cached_canon = lru_cache(maxsize=CANON_CACHE)(self._decode_canon)
        self._name_words = lru_cache(maxsize=CANON_CACHE)(self._names_of)
        try:
            with _no_gc():
                self._load(path, engine)
            if self._count > COLLECT_AFTER_LOADING:
                gc.collect()  # once, here, rather than in a lookup soon after (see _no_gc)
        except (sqlite3.DatabaseError, ValueError, TypeError) as exc:  # not SQLite, or bad data
            self._db.close()
            raise IndexUnavailable(f"{path} is not a readable errorkb index ({exc})",
                                   "run `errorkb build`") from None

    def _load(self, path: Path, engine: str) -> None:
        self.meta = dict(self._db.execute("SELECT key, value FROM meta"))
        if self.meta.get("schema_version") != str(SCHEMA_VERSION):
            self._db.close()
            raise IndexUnavailable(f"{path} has schema {self.meta.get('schema_version')}, "
                                   f"this errorkb reads {SCHEMA_VERSION}", "run `errorkb build`")
        self.facts: dict[int, CandidateFacts] = {}
        self.key_of: dict[str, int] = {}
        specs = []
        for (batch,) in self._db.execute("SELECT facts FROM canon_facts ORDER BY first_key"):
            for (key, canon_id, domain, regex, case_sensitive, weight, codes, terms, related,
                 roles) in json.loads(batch):
                self.facts[key] = CandidateFacts(canon_id, domain, weight,
                                                 frozenset(codes) if codes else _EMPTY,
                                                 frozenset(terms),
                                                 frozenset(related) if related else _EMPTY,
                                                 frozenset(roles) if roles else _EMPTY)
                self.key_of[canon_id] = key
                specs.append(PatternSpec(key, regex, bool(case_sensitive)))
        # The regexes; which literals make each a candidate is the engine's literal table.
        self.specs = {spec.key: spec for spec in specs}
        self.engine: NativeEngine | PrefilterEngine | HyperscanEngine = self._engine(specs, engine)
        self._count = len(self.facts)
        holders: dict[str, set[int]] = {}
        for key, facts in self.facts.items():
            for code in facts.codes:
                if code.split(":", 1)[0] not in VAGUE_CODE_KINDS:
                    holders.setdefault(code, set()).add(key)
        # A code only one canon names (of a kind precise enough to name an error alone).
        self._code_owner = {code: min(keys) for code, keys in holders.items() if len(keys) == 1}
        # Lexical postings in memory (term -> keys): measured 4x faster than an SQLite FTS5
        # query (160 µs against 630 µs per lookup at 2.5k canons).
        self._postings: dict[str, list[int]] = {}
        for (batch,) in self._db.execute("SELECT postings FROM postings ORDER BY position"):
            self._postings.update(json.loads(batch))
        self._common = common_postings(self._count)
        # Inverse document frequency of each word (and of a word no canon holds).
        scale = self._count + 1
        self._word_weight = {term: math.log(1 + scale / (len(keys) + 0.5))
                             for term, keys in self._postings.items()}
        self._unknown_weight = math.log(1 + scale / 0.5)
        self._lexicon = None  # the native lexical pass goes with the native engine
        if isinstance(self.engine, NativeEngine):
            self._lexicon = NativeLexicon(self._postings, self._word_weight, self._unknown_weight,
                                          self._common, self.facts)

    def _engine(self, specs: list[PatternSpec], choice: str
                ) -> NativeEngine | PrefilterEngine | HyperscanEngine:
        if choice not in ENGINES:
            raise InputError(f"unknown engine {choice!r}", f"one of: {', '.join(ENGINES)}")
        (data,) = self._db.execute("SELECT data FROM literal_table").fetchone()
        table = LiteralTable.from_data(json.loads(data))
        if choice == "native" and not native.available():
            raise IndexUnavailable("the native kernel is not built here",
                                   "run `make` with libre2-dev installed, or use another engine")
        if choice in ("auto", "native") and native.available():
            return NativeEngine(specs, table)
        shards = [LoadedShard(blob, tuple(json.loads(keys)), tuple(json.loads(rejected)),
                              None if literals is None else tuple(json.loads(literals)))
                  for keys, rejected, blob, literals in self._db.execute(
                      "SELECT keys, rejected_keys, db, literals FROM hs_shards ORDER BY position")]
        usable = hyperscan_engine.available() and bool(shards)
        if choice == "hyperscan" and not usable:
            raise IndexUnavailable("this index or machine has no Hyperscan database",
                                   "run `errorkb build` on an x86-64 machine, or use the "
                                   "prefilter engine")
        if choice != "prefilter" and usable:
            return HyperscanEngine(specs, shards, table)
        return PrefilterEngine(specs, table)

    def close(self) -> None:
        self._db.close()

    @property
    def fingerprint(self) -> str:
        return str(self.meta.get("fingerprint", ""))

    def __len__(self) -> int:
        return self._count

    def canon(self, key: int) -> Canon:
        return self._cached_canon(key)

    def warm(self) -> tuple[int, int]:
        """Compile every regex, and decode every canon when they all fit the cache, so that
        no lookup pays for either (a long-running face calls this once). Returns how many
        regexes were compiled and canons decoded."""
        compiled = self.engine.compile_all()
        before = self._cached_canon.cache_info().currsize
        if self._count <= CANON_CACHE:
            for key in self.facts:
                self._cached_canon(key)
        return compiled, self._cached_canon.cache_info().currsize - before

    def _decode_canon(self, key: int) -> Canon:
        with self._lock:  # one connection, used from the server's worker threads
            row = self._db.execute("SELECT record FROM canons WHERE key = ?", (key,)).fetchone()
        if row is None:
            raise NotFound(f"no canon with key {key}")
        try:  # checked when the index was built
            return canon_from_data(json.loads(row[0]))
        except (TypeError, ValueError) as exc:
            raise IndexUnavailable(f"index record {key} does not decode: {exc}",
                                   "run `errorkb build`") from None

    def owners(self, codes: Iterable[str]) -> set[int]:
        """The canons that are the only one to name one of these error codes (of a kind
        precise enough to name an error alone: not HTTP statuses or exit codes)."""
        owner = self._code_owner.get
        return {key for code in codes if (key := owner(code)) is not None}

    def named_share(self, key: int, query_terms: Iterable[str]) -> float:
        """How much of the canon's own name the query says: the largest idf-weighted share
        of the words of its signature (English or Chinese) or of an alias that are among the
        query's words, counting only names of which the query says two words or more (one
        word of a longer name, "bash", names nothing)."""
        query = frozenset(query_terms)
        weight, unknown = self._word_weight.get, self._unknown_weight
        best = 0.0
        for words in self._name_words(key):
            said_words = [word for word in words if word in query]
            if len(said_words) < min(2, len(words)):
                continue
            total = sum([weight(word, unknown) for word in words])
            said = sum([weight(word, unknown) for word in said_words])
            if total and said / total > best:
                best = said / total
        return best

    def _names_of(self, key: int) -> tuple[tuple[str, ...], ...]:
        canon = self.canon(key)
        names = [canon.signature, canon.signature_zh, *canon.aliases]
        return tuple(words for words in (words_of(name) for name in names if name) if words)

    def canon_by_id(self, canon_id: str) -> Canon:
        key = self.key_of.get(canon_id)
        if key is None:
            raise NotFound(f"no canon `{canon_id}`", "try `errorkb search` to find its id")
        return self.canon(key)

    def ids(self, domain: str | None = None) -> Iterator[str]:
        for facts in self.facts.values():
            if domain is None or facts.domain == domain:
                yield facts.id

    def lexical(self, query_terms: Sequence[str], limit: int = 8, hits: Iterable[int] = (),
                least_share: float | None = None) -> list[tuple[int, float]]:
        """Canons sharing words with the query: (key, idf-weighted share of the query's
        words), the best `limit` of them, and every canon in `hits` (the regex hits: their
        share counts in their score however small). With `least_share`, only canons reaching
        that share (and the hits).

        Candidates come from the query's rarer words, rarest first. A word in more than a
        tenth of the canons (or in more than `MAX_POSTINGS`) names no error on its own; and
        once the words left could not bring a canon not yet found to `least_share` of the
        query (by default `NEAREST_SHARE`), words only add to the canons already found. Below
        half a share words alone never make a known match (see rank.py), nor below
        `KNOWN_LEXICAL_SHARE` a match that counts beside regex hits. The native kernel, when
        the store runs on it, does all this in one call (same answers).
        """
        if self._lexicon is not None:
            return self._lexicon.query(query_terms, limit, hits, least_share, NEAREST_SHARE)
        words = list(dict.fromkeys(query_terms))[:40]
        if not words:
            return []
        postings, word_weight, unknown = self._postings, self._word_weight, self._unknown_weight
        facts = self.facts
        weighted = sorted([(word_weight.get(w, unknown), w) for w in words], reverse=True)
        total = reach = _added([weight for weight, _ in weighted])
        floor = (NEAREST_SHARE if least_share is None else least_share) * total
        common = self._common
        covered: dict[int, float] = {}
        brought = 0  # the rarer words, which bring canons (a common word comes after them all)
        for weight, word in weighted:
            keys = postings.get(word, ())
            if reach < floor or len(keys) > common:
                break
            get = covered.get
            for key in keys:
                covered[key] = get(key, 0.0) + weight
            reach -= weight
            brought += 1
        if least_share is not None:  # canons that can no longer reach the floor are dropped
            covered = {key: value for key, value in covered.items() if value + reach >= floor}
        rest = weighted[brought:]  # they only add to the canons found
        if rest and covered:
            rest_words = frozenset([word for _, word in rest])
            for key in covered:
                shared = facts[key].terms & rest_words
                if shared:
                    covered[key] += _added([weight for weight, word in rest if word in shared])
        best = sorted(covered.items(), key=itemgetter(1), reverse=True)[:limit]
        if least_share is not None:
            best = [(key, value) for key, value in best if value >= floor]
        shown = {key for key, _ in best}
        for key in hits:
            if key not in shown and key in facts:
                canon_terms = facts[key].terms
                shown.add(key)
                best.append((key, _added([w for w, word in weighted if word in canon_terms])))
        return [(key, value / total) for key, value in best]

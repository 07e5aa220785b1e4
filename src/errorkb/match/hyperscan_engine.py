"""The Hyperscan engine: all canon regexes in a few compiled databases, one scan per shard.

Every pattern is compiled in Hyperscan's prefilter mode (so every RE2 pattern is accepted; a
prefilter match may be a superset), then each pattern Hyperscan reports is verified, and its
capture groups taken, under RE2 by `PrefilterEngine.search(keys=...)`. Compiling is the cost
(tens of seconds per few thousand patterns), so patterns are split into shards by a stable hash
of their key's canon id; each shard is named by the hash of its content, so the index build
recompiles only the shards whose canons changed. Hyperscan has wheels for x86-64 only:
`available()` says whether it can be used here.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Iterable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from typing import Any

from errorkb.match.engine import PatternSpec, PrefilterEngine, RegexHit

# Compile time per shard grows faster than its size (about 4 s of CPU for 175 patterns, 6 s for
# 350, 15 s for 700, measured on the peer data): shards of ~350 keep a one-canon edit near 6 s
# and use both build workers on the bundled corpus; every shard costs one scan per lookup
# (~3 µs), so past MAX_SHARDS shards grow instead of multiplying.
SHARD_SIZE = 350
MAX_SHARDS = 256

hyperscan: Any
try:  # pragma: no cover - depends on the platform
    import hyperscan

    _FLAGS = (hyperscan.HS_FLAG_PREFILTER | hyperscan.HS_FLAG_SINGLEMATCH
              | hyperscan.HS_FLAG_UTF8 | hyperscan.HS_FLAG_ALLOWEMPTY)
except ImportError:  # pragma: no cover
    hyperscan = None
    _FLAGS = 0


def available() -> bool:
    return hyperscan is not None


@dataclass(frozen=True)
class Shard:
    """A compiled shard. Positions index the shard's patterns in `plan` order, so a shard
    compiled by an earlier build is reused as it is for the same patterns."""

    digest: str  # hash of the shard's patterns and flags
    accepted: tuple[int, ...]  # pattern id i in the database is the pattern at accepted[i]
    database: bytes  # serialized Hyperscan database; empty when nothing in it compiled
    rejected: tuple[int, ...] = ()  # positions Hyperscan refused: always verified under RE2


@dataclass(frozen=True)
class LoadedShard:
    """A shard as the engine uses it: database and the pattern keys of this index."""

    database: bytes
    keys: tuple[int, ...]
    rejected: tuple[int, ...]


def loads_here(shard: Shard) -> bool:
    """Whether this machine's Hyperscan can load a shard compiled elsewhere (a database is
    tied to the Hyperscan version and CPU features it was compiled for)."""
    if not shard.database:
        return True
    try:
        hyperscan.loadb(shard.database, hyperscan.HS_MODE_BLOCK)
    except hyperscan.error:
        return False
    return True


def shard_of(name: str, shards: int) -> int:
    return int(hashlib.sha1(name.encode()).hexdigest()[:8], 16) % shards


def shard_count(patterns: int) -> int:
    count = 1
    while count * SHARD_SIZE < patterns and count < MAX_SHARDS:
        count *= 2
    return count


def plan(specs: Sequence[tuple[str, PatternSpec]]) -> list[tuple[str, list[PatternSpec]]]:
    """Group (canon id, spec) pairs into shards; each with the digest of its content."""
    count = shard_count(len(specs))
    groups: list[list[tuple[str, PatternSpec]]] = [[] for _ in range(count)]
    for name, spec in specs:
        groups[shard_of(name, count)].append((name, spec))
    planned = []
    for group in groups:
        group.sort(key=lambda item: item[0])
        content = json.dumps([[n, s.regex, s.case_sensitive] for n, s in group])
        planned.append((hashlib.sha256(content.encode()).hexdigest(), [s for _, s in group]))
    return planned


def _flags(spec: PatternSpec) -> int:
    return int(_FLAGS | (0 if spec.case_sensitive else hyperscan.HS_FLAG_CASELESS))


def compile_shard(digest: str, specs: Sequence[PatternSpec]) -> Shard:
    """Compile one shard; when Hyperscan refuses it, find the refused patterns one by one and
    set them aside."""
    try:
        return _compiled(digest, specs, list(range(len(specs))), [])
    except hyperscan.error:
        pass
    accepted: list[int] = []
    rejected: list[int] = []
    for position, spec in enumerate(specs):  # a single-pattern compile finds refusals cheaply
        try:
            probe = hyperscan.Database()
            probe.compile(expressions=[spec.regex.encode()], ids=[0], elements=1,
                          flags=[_flags(spec)])
            accepted.append(position)
        except hyperscan.error:
            rejected.append(position)
    return _compiled(digest, specs, accepted, rejected)


def _compiled(digest: str, specs: Sequence[PatternSpec], accepted: list[int],
              rejected: list[int]) -> Shard:
    if not accepted:
        return Shard(digest, (), b"", tuple(rejected))
    database = hyperscan.Database()
    database.compile(expressions=[specs[p].regex.encode() for p in accepted],
                     ids=list(range(len(accepted))), elements=len(accepted),
                     flags=[_flags(specs[p]) for p in accepted])
    return Shard(digest, tuple(accepted), hyperscan.dumpb(database), tuple(rejected))


def compile_shards(specs: Sequence[tuple[str, PatternSpec]], cached: dict[str, Shard],
                   workers: int = 2) -> list[tuple[Shard, LoadedShard]]:
    """Shards for these patterns, reusing `cached` ones (by digest), compiling the rest in
    parallel; each with its patterns' keys in this build."""
    planned = plan(specs)
    todo = [(digest, group) for digest, group in planned if digest not in cached]
    compiled: dict[str, Shard] = {}
    if len(todo) > 1 and workers > 1:
        with ProcessPoolExecutor(max_workers=min(workers, len(todo))) as pool:
            for shard in pool.map(compile_shard, *zip(*todo, strict=True)):
                compiled[shard.digest] = shard
    else:
        for digest, group in todo:
            compiled[digest] = compile_shard(digest, group)
    result = []
    for digest, group in planned:
        shard = cached.get(digest) or compiled[digest]
        result.append((shard, LoadedShard(shard.database,
                                          tuple(group[p].key for p in shard.accepted),
                                          tuple(group[p].key for p in shard.rejected))))
    return result


class HyperscanEngine:
    """Hyperscan scan per shard, then RE2 verification of the patterns it reports."""

    name = "hyperscan+re2"

    def __init__(self, specs: Iterable[PatternSpec], shards: Sequence[LoadedShard]) -> None:
        self._verifier = PrefilterEngine(specs)
        self._databases = []
        always: list[int] = []
        for shard in shards:
            always.extend(shard.rejected)
            if shard.database:
                database = hyperscan.loadb(shard.database, hyperscan.HS_MODE_BLOCK)
                self._databases.append((database, shard.keys))
        self._always = tuple(always)
        self._local = threading.local()  # Hyperscan scratch space is per thread

    def _scratches(self) -> list[Any]:
        scratches: list[Any] | None = getattr(self._local, "scratches", None)
        if scratches is None:
            scratches = [hyperscan.Scratch(database) for database, _ in self._databases]
            self._local.scratches = scratches
        return scratches

    def __len__(self) -> int:
        return len(self._verifier)

    def candidates(self, text: str) -> set[int]:
        return self._candidates(text.encode("utf-8", "surrogatepass"))

    def _candidates(self, data: bytes) -> set[int]:
        found: set[int] = set(self._always)

        def on_match(pattern: int, start: int, end: int, flags: int, keys: object) -> None:
            found.add(keys[pattern])  # type: ignore[index]

        for (database, keys), scratch in zip(self._databases, self._scratches(), strict=True):
            database.scan(data, match_event_handler=on_match, context=keys, scratch=scratch)
        return found

    def trigger_literals(self) -> list[str]:
        return self._verifier.trigger_literals()

    def search(self, text: str, keys: Sequence[int] | None = None) -> list[RegexHit]:
        data = text.encode("utf-8", "surrogatepass")
        return self._verifier.verify(text, self._candidates(data) if keys is None else keys, data)

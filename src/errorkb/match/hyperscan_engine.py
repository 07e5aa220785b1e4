"""The Hyperscan engine: one scan of a literal database finds every pattern's candidates.

The required literals of all patterns (see `literals.py`) go into one Hyperscan database in
its pure-literal mode, scanned once over the lower-cased input; `LiteralTable` turns the
literals found into candidates, which RE2 verifies (and takes capture groups from). Literal
databases compile in seconds even at a hundred thousand patterns. The few patterns with no
known literal are compiled as regexes in Hyperscan's prefilter mode (every RE2 pattern is
accepted; a prefilter match may be a superset), in shards by a stable hash of their canon id.
Every database is named by the hash of its content, so a build recompiles only what changed.
Hyperscan has wheels for x86-64 only: `available()` says whether it can be used here.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from errorkb.match.engine import LiteralTable, PatternSpec, RegexHit, Verifier

# Regex compile time per shard grows faster than its size (about 4 s of CPU for 175 patterns,
# 6 s for 350, 15 s for 700, measured on the peer data); every shard costs one scan per lookup
# (~2 µs), so past MAX_SHARDS shards grow instead of multiplying. Only patterns with no known
# literal are compiled as regexes: a few in a thousand.
SHARD_SIZE = 350
MAX_SHARDS = 16

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
    """A compiled database. Positions index its patterns in `plan` order, so a database
    compiled by an earlier build is reused as it is for the same patterns."""

    digest: str  # hash of the database's patterns, flags and mode
    accepted: tuple[int, ...]  # pattern id i in the database is the pattern at accepted[i]
    database: bytes  # serialized Hyperscan database; empty when nothing in it compiled
    rejected: tuple[int, ...] = ()  # positions Hyperscan refused


@dataclass(frozen=True)
class LoadedShard:
    """A database as the engine uses it. A regex shard names the pattern keys of this index
    (`keys`, by pattern id; `rejected` are verified under RE2 for every input); the literal
    database names its literals instead (`literals`, by pattern id)."""

    database: bytes
    keys: tuple[int, ...]
    rejected: tuple[int, ...]
    literals: tuple[str, ...] | None = None


@dataclass(frozen=True)
class Planned:
    digest: str
    patterns: list[PatternSpec]  # for the literal database: one spec per literal
    literal: bool = False


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


def plan(specs: Sequence[tuple[str, PatternSpec]], table: LiteralTable) -> list[Planned]:
    """The literal database of all literals (`table`: the specs' literal table), then the regex
    shards of the patterns without literals, grouped by canon id; each named by the digest of
    its content."""
    literals = table.literals
    planned = []
    if literals:
        content = json.dumps(["literal", literals], ensure_ascii=False)
        planned.append(Planned(hashlib.sha256(content.encode()).hexdigest(),
                               [PatternSpec(i, literal) for i, literal in enumerate(literals)],
                               literal=True))
    bare = [(name, spec) for name, spec in specs if not spec.literals]
    groups: list[list[tuple[str, PatternSpec]]] = [[] for _ in range(shard_count(len(bare)))]
    for name, spec in bare:
        groups[shard_of(name, len(groups))].append((name, spec))
    for group in groups:
        if not group:
            continue
        group.sort(key=lambda item: item[0])
        content = json.dumps([[n, s.regex, s.case_sensitive] for n, s in group])
        planned.append(Planned(hashlib.sha256(content.encode()).hexdigest(),
                               [s for _, s in group]))
    return planned


def _flags(spec: PatternSpec) -> int:
    return int(_FLAGS | (0 if spec.case_sensitive else hyperscan.HS_FLAG_CASELESS))


def compile_shard(item: Planned) -> Shard:
    """Compile one database; when Hyperscan refuses it, find the refused patterns one by one
    and set them aside."""
    try:
        return _compiled(item, list(range(len(item.patterns))), [])
    except hyperscan.error:
        pass
    accepted: list[int] = []
    rejected: list[int] = []
    for position in range(len(item.patterns)):  # a single-pattern compile finds refusals cheaply
        try:
            _database(item, [position])
            accepted.append(position)
        except hyperscan.error:
            rejected.append(position)
    return _compiled(item, accepted, rejected)


def _database(item: Planned, positions: list[int]) -> Any:
    database = hyperscan.Database()
    specs = [item.patterns[p] for p in positions]
    if item.literal:  # scanned over lower-cased text: no case folding needed
        database.compile(expressions=[s.regex.encode() for s in specs],
                         ids=list(range(len(specs))), elements=len(specs),
                         flags=hyperscan.HS_FLAG_SINGLEMATCH, literal=True)
    else:
        database.compile(expressions=[s.regex.encode() for s in specs],
                         ids=list(range(len(specs))), elements=len(specs),
                         flags=[_flags(s) for s in specs])
    return database


def _compiled(item: Planned, accepted: list[int], rejected: list[int]) -> Shard:
    if not accepted:
        return Shard(item.digest, (), b"", tuple(rejected))
    database = _database(item, accepted)
    return Shard(item.digest, tuple(accepted), hyperscan.dumpb(database), tuple(rejected))


def compile_shards(specs: Sequence[tuple[str, PatternSpec]], table: LiteralTable,
                   cached: dict[str, Shard], workers: int = 2) -> list[tuple[Shard, LoadedShard]]:
    """Databases for these patterns (`table`: their literal table), reusing `cached` ones (by
    digest), compiling the rest in parallel; each with what its pattern ids stand for in this
    build."""
    planned = plan(specs, table)
    todo = [item for item in planned if item.digest not in cached]
    compiled: dict[str, Shard] = {}
    if len(todo) > 1 and workers > 1:
        from concurrent.futures import ProcessPoolExecutor  # builds only: lookups start faster

        with ProcessPoolExecutor(max_workers=min(workers, len(todo))) as pool:
            for shard in pool.map(compile_shard, todo):
                compiled[shard.digest] = shard
    else:
        for item in todo:
            compiled[item.digest] = compile_shard(item)
    result = []
    for item in planned:
        shard = cached.get(item.digest) or compiled[item.digest]
        if item.literal:
            loaded = LoadedShard(shard.database, (), (),
                                 tuple(item.patterns[p].regex for p in shard.accepted))
        else:
            loaded = LoadedShard(shard.database, tuple(item.patterns[p].key for p in shard.accepted),
                                 tuple(item.patterns[p].key for p in shard.rejected))
        result.append((shard, loaded))
    return result


class HyperscanEngine:
    """One Hyperscan literal scan (plus one scan per regex shard), then RE2 verification of
    the candidates."""

    name = "hyperscan+re2"

    def __init__(self, specs: Iterable[PatternSpec], shards: Sequence[LoadedShard],
                 table: LiteralTable | None = None) -> None:
        """`table`: the specs' literal table when the caller has it (else it is made here)."""
        specs = list(specs)
        self._verifier = Verifier(specs)
        self._table = LiteralTable(specs) if table is None else table
        literals = self._table.literals
        self._literal_db: Any = None
        self._literal_numbers: Sequence[int] = ()
        found_literals: Sequence[str] = ()
        self._regex_dbs = []
        always: set[int] = set()
        for shard in shards:
            if shard.literals is not None:
                if shard.database:
                    self._literal_db = hyperscan.loadb(shard.database, hyperscan.HS_MODE_BLOCK)
                found_literals = shard.literals
                continue
            always.update(shard.rejected)
            if shard.database:
                self._regex_dbs.append((hyperscan.loadb(shard.database, hyperscan.HS_MODE_BLOCK),
                                        shard.keys))
        if list(found_literals) == literals:  # the database of this very table: numbered alike
            self._literal_numbers = range(len(literals))
        else:
            number_of = {literal: i for i, literal in enumerate(literals)}
            self._literal_numbers = tuple(number_of.get(lit, -1) for lit in found_literals)
            # A literal the database lacks (refused, or an index of another build) makes its
            # patterns candidates for every input rather than for none.
            found = set(found_literals)
            always.update(self._table.waiting_on(
                n for n, literal in enumerate(literals) if literal not in found))
        self._always = tuple(sorted(always))
        self._local = threading.local()  # Hyperscan scratch space is per thread

    def _scratches(self) -> tuple[Any, list[Any]]:
        scratches: tuple[Any, list[Any]] | None = getattr(self._local, "scratches", None)
        if scratches is None:
            literal = hyperscan.Scratch(self._literal_db) if self._literal_db is not None else None
            scratches = (literal, [hyperscan.Scratch(db) for db, _ in self._regex_dbs])
            self._local.scratches = scratches
        return scratches

    def __len__(self) -> int:
        return len(self._verifier)

    def candidates(self, text: str) -> set[int]:
        return self._candidates(text, text.encode("utf-8", "surrogatepass"))

    def _candidates(self, text: str, data: bytes) -> set[int]:
        literal_scratch, regex_scratches = self._scratches()
        found: list[int] = []
        numbers = self._literal_numbers

        def on_literal(pattern: int, start: int, end: int, flags: int, context: object) -> None:
            found.append(numbers[pattern])

        lowered = text.lower()
        if self._literal_db is not None:
            self._literal_db.scan(data if lowered == text else lowered.encode("utf-8", "surrogatepass"),
                                  match_event_handler=on_literal, scratch=literal_scratch)
        keys = self._table.candidates((n for n in found if n >= 0), lowered)
        keys.update(self._always)

        def on_match(pattern: int, start: int, end: int, flags: int, context: object) -> None:
            keys.add(context[pattern])  # type: ignore[index]

        for (database, shard_keys), scratch in zip(self._regex_dbs, regex_scratches, strict=True):
            database.scan(data, match_event_handler=on_match, context=shard_keys, scratch=scratch)
        return keys

    def trigger_literals(self) -> list[str]:
        return list(self._table.literals)

    def compile_all(self) -> int:
        return self._verifier.compile_all()

    def search(self, text: str, keys: Sequence[int] | None = None) -> list[RegexHit]:
        data = text.encode("utf-8", "surrogatepass")
        return self._verifier.verify(text, self._candidates(text, data) if keys is None else keys,
                                     data)

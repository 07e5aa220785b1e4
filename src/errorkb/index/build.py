"""Build the index: canon folders in, one SQLite file out (written aside, then swapped in).

Only this module writes the index. It holds every canon as JSON; what the matcher needs of each
canon (its regex with its required literals and specificity, computed by the matcher's
compiler, the error codes it names, its lexical terms) and the lexical postings, in batches a
store reads in one go; the Hyperscan shards, the corpus fingerprint and the schema version.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import sqlite3
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from errorkb.match import hyperscan_engine
from errorkb.match.engine import LiteralTable, PatternSpec
from errorkb.match.hyperscan_engine import Shard
from errorkb.match.literals import gate_first, input_frequencies, literal_weight, required_literals
from errorkb.match.normalize import extract_codes, terms
from errorkb.match.rank import RANKING_TAGS
from errorkb.model import Canon, Finding
from errorkb.records import canon_file_names, to_data

SCHEMA_VERSION = 12
# Canons per row of `canon_facts`: few rows to decode when a store opens (one JSON text per row
# rather than three per canon), none of them large at any corpus size.
FACTS_BATCH = 1000
POSTINGS_BATCH = 20_000  # terms per row of `postings`, for the same reason

SCHEMA = """
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE canons (
    key INTEGER PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    domain TEXT NOT NULL,
    signature TEXT NOT NULL,
    source TEXT NOT NULL,      -- corpus path it came from
    record TEXT NOT NULL       -- the canon as JSON
);
CREATE TABLE canon_facts (
    first_key INTEGER PRIMARY KEY,
    -- JSON list, one item per canon from first_key on (at most FACTS_BATCH):
    -- [key, id, domain, regex, case_sensitive, weight (literal characters every match
    -- contains), codes (error codes the canon names), terms (lexical terms), related (ids
    -- its transition graph names as causes or consequences), roles (its ranking tags)]
    facts TEXT NOT NULL
);
CREATE TABLE literal_table (
    data TEXT NOT NULL         -- JSON: which literals make which canons candidates (engine.LiteralTable)
);
CREATE TABLE postings (
    position INTEGER PRIMARY KEY,
    postings TEXT NOT NULL     -- JSON object: term -> keys of the canons whose terms hold it
);
CREATE TABLE hs_shards (
    position INTEGER PRIMARY KEY,
    digest TEXT NOT NULL,      -- hash of the shard's patterns: reused by the next build
    accepted TEXT NOT NULL,    -- JSON positions (in the shard) of compiled patterns
    rejected TEXT NOT NULL,    -- JSON positions Hyperscan refused
    keys TEXT NOT NULL,        -- JSON canon keys of the compiled patterns, by pattern id
    rejected_keys TEXT NOT NULL,
    db BLOB NOT NULL,          -- serialized Hyperscan database
    literals TEXT              -- the literal database: JSON literals by pattern id; else NULL
);
"""


def corpus_fingerprint(paths: Sequence[Path]) -> str:
    """Cheap content fingerprint: every file's path, size and mtime, plus the schema version."""
    lines = [f"schema {SCHEMA_VERSION}"]
    for path in paths:
        lines.append(f"root {path.resolve()}")
        is_dir = path.is_dir()
        skip = len(os.path.join(path, ""))  # a file's name relative to the root
        for file in canon_file_names(path) if is_dir else [str(path)]:
            try:
                stat = os.stat(file)
            except OSError:
                continue
            lines.append(f"{file[skip:] if is_dir else path.name} {stat.st_size} {stat.st_mtime_ns}")
    return hashlib.sha256("".join(line + "\n" for line in lines).encode()).hexdigest()


# A SQLSTATE by its shape: one of the standard's or PostgreSQL's classes, then three characters.
_SQLSTATE = re.compile(r"(?:0[0-9A-Z]|2[0-9A-F]|3[4-9BDF]|4[024]|5[3-8]|72|F0|HV|P0|XX)[0-9A-Z]{3}")


def canon_codes(canon: Canon) -> list[str]:
    texts = [canon.signature, *canon.aliases, canon.error_code or ""]
    found = set(extract_codes("\n".join(texts)))
    if canon.error_code:
        found |= extract_codes(canon.error_code) or {f"name:{canon.error_code.upper()}"}
        if _SQLSTATE.fullmatch(canon.error_code):
            found.add(f"sqlstate:{canon.error_code}")  # 28P01 as the input's SQLSTATE 28P01
    return sorted(found)


def literal_tuples(literals: list[list[list[str]]]) -> tuple[tuple[tuple[str, ...], ...], ...]:
    return tuple([tuple([tuple(strings) for strings in alternative]) for alternative in literals])


def ranking_links(canon: Canon) -> tuple[list[str], list[str]]:
    """What ranking reads of a canon's graph and tags when several canons are hit together
    (see `CandidateFacts.related`): the ids its graph names as causes or consequences, and its
    ranking tags."""
    graph = canon.transition_graph
    related = {edge.error_id for edge in (*graph.preceded_by, *graph.leads_to)}
    return sorted(related), sorted(RANKING_TAGS & set(canon.tags))


def canon_terms(canon: Canon) -> list[str]:
    text = "\n".join([canon.signature, *canon.aliases, *canon.examples, canon.error_code or "",
                      *canon.tags])
    return list(terms(text))


@dataclass
class BuildReport:
    path: Path
    canons: int = 0
    seconds: float = 0.0
    fingerprint: str = ""
    findings: list[Finding] = field(default_factory=list)


def cached_shards(dest: Path) -> dict[str, Shard]:
    """Compiled shards of the index at `dest`, by digest (none when missing or unreadable)."""
    if not dest.exists():
        return {}
    try:
        db = sqlite3.connect(f"file:{dest}?mode=ro", uri=True)
        try:
            rows = db.execute("SELECT digest, accepted, rejected, db FROM hs_shards").fetchall()
        finally:
            db.close()
    except sqlite3.Error:
        return {}
    return {d: Shard(d, tuple(json.loads(a)), blob, tuple(json.loads(r))) for d, a, r, blob in rows}


def load_corpus(paths: Sequence[Path]) -> tuple[list[tuple[Canon, str]], list[Finding]]:
    """The canons at `paths` with the path each came from (later paths win on the same id),
    and the findings of the records that could not be read."""
    from errorkb.exchange import load_paths  # only a build reads corpus files: lookups start faster

    canons: dict[str, tuple[Canon, str]] = {}
    findings: list[Finding] = []
    for path in paths:
        loaded = load_paths([path])
        findings.extend(loaded.findings)
        for item in loaded.loaded:
            canons.pop(item.canon.id, None)
            canons[item.canon.id] = (item.canon, str(path))
    return list(canons.values()), findings


def build_index(paths: Sequence[Path], dest: Path, *, use_hyperscan: bool | None = None,
                workers: int = 2) -> BuildReport:
    """Index the canons at `paths` (later paths win on the same id) into `dest`, atomically.

    With Hyperscan (default: when available) the regex database is compiled in shards,
    reusing the shards of the index being replaced whose patterns did not change.
    """
    started = time.perf_counter()
    fingerprint = corpus_fingerprint(paths)
    canons, findings = load_corpus(paths)
    report = write_index(canons, dest, fingerprint=fingerprint, sources=[str(p) for p in paths],
                         use_hyperscan=use_hyperscan, workers=workers)
    report.findings = findings
    report.seconds = time.perf_counter() - started
    return report


def write_index(canons: Sequence[tuple[Canon, str]], dest: Path, *, fingerprint: str,
                sources: Sequence[str], shards: dict[str, Shard] | None = None,
                use_hyperscan: bool | None = None, workers: int = 2) -> BuildReport:
    """Write the index of these (canon, source) pairs to `dest`, atomically. Compiled shards
    are taken, by digest, from `shards` and from the index being replaced."""
    started = time.perf_counter()
    dest.parent.mkdir(parents=True, exist_ok=True)
    handle, temp_name = tempfile.mkstemp(prefix=dest.name, suffix=".tmp", dir=dest.parent)
    os.close(handle)
    temp = Path(temp_name)
    try:
        use = hyperscan_engine.available() if use_hyperscan is None else use_hyperscan
        cache = {**cached_shards(dest), **(shards or {})} if use else None
        _write(temp, list(canons), fingerprint, sources, cache, workers)
        os.replace(temp, dest)
    finally:
        temp.unlink(missing_ok=True)
    return BuildReport(dest, len(canons), time.perf_counter() - started, fingerprint)


def _write(target: Path, canons: list[tuple[Canon, str]], fingerprint: str,
           sources: Sequence[str], shard_cache: dict[str, Shard] | None, workers: int) -> None:
    db = sqlite3.connect(target)
    try:
        db.executescript(SCHEMA)
        rows = []
        facts = []
        postings: dict[str, list[int]] = {}  # term -> keys of the canons holding it
        specs = []
        required = [required_literals(canon.regex) for canon, _ in canons]
        frequency = input_frequencies(
            {s for alternatives in required for alternative in alternatives
             for strings in alternative for s in strings},
            (text for canon, _ in canons for text in (canon.signature, *canon.examples)))
        for key, (canon, source) in enumerate(canons, start=1):
            literals = [gate_first(alternative, frequency) for alternative in required[key - 1]]
            specs.append((canon.id, PatternSpec(key, canon.regex, canon.case_sensitive,
                                                literal_tuples(literals))))
            rows.append((key, canon.id, canon.domain, canon.signature, source,
                         json.dumps(to_data(canon), ensure_ascii=False)))
            term_list = canon_terms(canon)
            facts.append([key, canon.id, canon.domain, canon.regex, int(canon.case_sensitive),
                          literal_weight(canon.regex), canon_codes(canon), term_list,
                          *ranking_links(canon)])
            for term in term_list:
                postings.setdefault(term, []).append(key)
        db.executemany("INSERT INTO canons VALUES (?,?,?,?,?,?)", rows)
        db.executemany("INSERT INTO canon_facts VALUES (?,?)", [
            (batch[0][0], json.dumps(batch, ensure_ascii=False))
            for batch in (facts[i:i + FACTS_BATCH] for i in range(0, len(facts), FACTS_BATCH))])
        table = LiteralTable(spec for _, spec in specs)
        db.execute("INSERT INTO literal_table VALUES (?)",
                   (json.dumps(table.to_data(), ensure_ascii=False),))
        terms_in_order = sorted(postings)
        db.executemany("INSERT INTO postings VALUES (?,?)", [
            (position, json.dumps({term: postings[term] for term in
                                   terms_in_order[start:start + POSTINGS_BATCH]},
                                  ensure_ascii=False))
            for position, start in enumerate(range(0, len(terms_in_order), POSTINGS_BATCH))])
        if shard_cache is not None:
            shards = hyperscan_engine.compile_shards(specs, table, shard_cache, workers)
            db.executemany("INSERT INTO hs_shards VALUES (?,?,?,?,?,?,?,?)", [
                (i, shard.digest, json.dumps(shard.accepted), json.dumps(shard.rejected),
                 json.dumps(loaded.keys), json.dumps(loaded.rejected), shard.database,
                 None if loaded.literals is None
                 else json.dumps(loaded.literals, ensure_ascii=False))
                for i, (shard, loaded) in enumerate(shards)])
        meta = {"schema_version": str(SCHEMA_VERSION), "fingerprint": fingerprint,
                "built_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                "canons": str(len(rows)), "corpus": json.dumps(list(sources))}
        db.executemany("INSERT INTO meta VALUES (?,?)", sorted(meta.items()))
        db.commit()
        db.execute("PRAGMA journal_mode=WAL")
    finally:
        db.close()

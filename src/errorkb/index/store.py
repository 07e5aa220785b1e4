"""Read the index: opened read-only, canons decoded on demand, the regex pass built once."""

from __future__ import annotations

import json
import math
import sqlite3
from collections.abc import Iterator, Sequence
from functools import lru_cache
from pathlib import Path

from errorkb.errors import IndexUnavailable, NotFound
from errorkb.index.build import SCHEMA_VERSION
from errorkb.match.engine import PatternSpec, PrefilterEngine
from errorkb.match.rank import CandidateFacts
from errorkb.model import Canon
from errorkb.records import decode_canon
from errorkb.records.nodes import from_python


class IndexStore:
    def __init__(self, path: Path) -> None:
        if not path.exists():
            raise IndexUnavailable(f"no index at {path}", "run `errorkb build`")
        self.path = path
        self._db = sqlite3.connect(f"file:{path}?mode=ro", uri=True, check_same_thread=False)
        try:
            self.meta = dict(self._db.execute("SELECT key, value FROM meta"))
        except sqlite3.DatabaseError as exc:
            raise IndexUnavailable(f"{path} is not an errorkb index ({exc})",
                                   "run `errorkb build`") from None
        if self.meta.get("schema_version") != str(SCHEMA_VERSION):
            raise IndexUnavailable(f"{path} has schema {self.meta.get('schema_version')}, "
                                   f"this errorkb reads {SCHEMA_VERSION}", "run `errorkb build`")
        self.facts: dict[int, CandidateFacts] = {}
        self.key_of: dict[str, int] = {}
        specs = []
        rows = self._db.execute(
            "SELECT key, id, domain, regex, case_sensitive, literals, weight, codes, terms "
            "FROM canons")
        for key, canon_id, domain, regex, case_sensitive, literals, weight, codes, terms in rows:
            self.facts[key] = CandidateFacts(canon_id, domain, weight,
                                             frozenset(json.loads(codes)),
                                             frozenset(json.loads(terms)))
            self.key_of[canon_id] = key
            specs.append(PatternSpec(key, regex, bool(case_sensitive),
                                     tuple(json.loads(literals)) if literals else None))
        self.engine = PrefilterEngine(specs)
        self._count = len(self.facts)

    def close(self) -> None:
        self._db.close()

    @property
    def fingerprint(self) -> str:
        return str(self.meta.get("fingerprint", ""))

    def __len__(self) -> int:
        return self._count

    @lru_cache(maxsize=4096)  # noqa: B019 - one store per process, lives as long as it
    def canon(self, key: int) -> Canon:
        row = self._db.execute("SELECT record FROM canons WHERE key = ?", (key,)).fetchone()
        if row is None:
            raise NotFound(f"no canon with key {key}")
        canon, findings = decode_canon(from_python(json.loads(row[0])))
        if canon is None:
            raise IndexUnavailable(f"index record {key} does not decode: {findings[0].message}",
                                   "run `errorkb build`")
        return canon

    def canon_by_id(self, canon_id: str) -> Canon:
        key = self.key_of.get(canon_id)
        if key is None:
            raise NotFound(f"no canon `{canon_id}`", "try `errorkb search` to find its id")
        return self.canon(key)

    def ids(self, domain: str | None = None) -> Iterator[str]:
        for facts in self.facts.values():
            if domain is None or facts.domain == domain:
                yield facts.id

    def lexical(self, query_terms: Sequence[str], limit: int = 20) -> list[tuple[int, float]]:
        """Canons sharing words with the query: (key, idf-weighted share of the query's words)."""
        words = [t for t in query_terms if t.isidentifier() or not t.isascii()][:40]
        if not words:
            return []
        match = " OR ".join('"' + w.replace('"', "") + '"' for w in words)
        try:
            keys = [k for (k,) in self._db.execute(
                "SELECT rowid FROM canon_fts WHERE canon_fts MATCH ? ORDER BY bm25(canon_fts) "
                "LIMIT ?", (match, limit))]
        except sqlite3.OperationalError:
            return []
        if not keys:
            return []
        placeholders = ",".join("?" * len(words))
        df = dict(self._db.execute(f"SELECT term, df FROM term_df WHERE term IN ({placeholders})",
                                   words))
        idf = {w: math.log(1 + (self._count + 1) / (df.get(w, 0) + 0.5)) for w in words}
        total = sum(idf.values())
        scored = []
        for key in keys:
            doc_terms = self.facts[key].terms
            covered = sum(v for w, v in idf.items() if w in doc_terms)
            scored.append((key, covered / total if total else 0.0))
        scored.sort(key=lambda item: -item[1])
        return scored

"""The native engine: the regex pass and the lexical pass in C++ (`native/kernel.cpp`), one call
each, giving the same answers as the Python engines (`engine.py`, `IndexStore.lexical`), which
stay the reference and the fallback.

The kernel is built by `make` when the machine has a C++ compiler and RE2's headers
(`native/build.py`); `available()` says whether this one was. It finds candidates with its own
Aho-Corasick automaton over the same literal table and verifies them under RE2. A pattern its
RE2 (the system's, maybe older than google-re2's) refuses is verified by the Python verifier.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterable, Mapping, Sequence
from operator import attrgetter
from typing import Any

from errorkb.match.engine import MAX_MATCHES_PER_PATTERN, LiteralTable, PatternSpec, RegexHit, Verifier

VERSION = 2  # the kernel this code calls (kVersion in native/kernel.cpp)

_kernel: Any
try:  # pragma: no cover - depends on the build
    _kernel = importlib.import_module("errorkb.match._kernel")
except ImportError:  # pragma: no cover
    _kernel = None


def available() -> bool:
    """Whether the kernel is built here, and built from this version of the code."""
    return _kernel is not None and getattr(_kernel, "VERSION", None) == VERSION


class NativeEngine:
    """The regex pass of `PrefilterEngine` (Aho-Corasick prefilter, RE2 verification) in one
    native call."""

    name = "native"

    def __init__(self, specs: Iterable[PatternSpec], table: LiteralTable | None = None) -> None:
        specs = list(specs)
        self._table = LiteralTable(specs) if table is None else table
        data = self._table.to_data()
        self._pass = _kernel.RegexPass(
            data["literals"], data["direct"], data["gated"], data["always"],
            [(s.key, s.regex, s.case_sensitive) for s in specs], MAX_MATCHES_PER_PATTERN, RegexHit)
        self._verifier = Verifier(specs)  # for the patterns the kernel's RE2 refuses

    def __len__(self) -> int:
        return len(self._pass)

    def candidates(self, text: str) -> set[int]:
        return set(self._pass.candidates(text.lower().encode("utf-8", "surrogatepass")))

    def trigger_literals(self) -> list[str]:
        return list(self._table.literals)

    def compile_all(self) -> int:
        return int(self._pass.compile_all())

    def search(self, text: str, keys: Sequence[int] | None = None) -> list[RegexHit]:
        """Hits of the candidate patterns (or of `keys`), each verified under RE2."""
        data = text.encode("utf-8", "surrogatepass")
        lowered = text.lower()
        hits, refused = self._pass.search(
            data, data if lowered == text else lowered.encode("utf-8", "surrogatepass"),
            None if keys is None else list(keys))
        if refused:  # rare: run by google-re2, in key order with the rest
            hits = sorted([*hits, *self._verifier.verify(text, refused, data)], key=attrgetter("key"))
        found: list[RegexHit] = hits
        return found


class NativeLexicon:
    """`IndexStore.lexical` in one native call, over the same postings and weights."""

    def __init__(self, postings: Mapping[str, Sequence[int]], weights: Mapping[str, float],
                 unknown: float, common: int, keys: Iterable[int]) -> None:
        """`postings`: word -> the canons whose terms hold it (the inverse of their terms);
        `keys`: every canon, those without terms too."""
        self._lexicon = _kernel.Lexicon(postings, weights, unknown, common, list(keys))

    def query(self, terms: Sequence[str], limit: int, hits: Iterable[int],
              least_share: float | None, nearest_share: float) -> list[tuple[int, float]]:
        found: list[tuple[int, float]] = self._lexicon.query(terms, limit, list(hits), least_share,
                                                             nearest_share)
        return found

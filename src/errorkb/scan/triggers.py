"""Trigger lines: the lines of a chunk a scan looks at, found in one pass over its bytes.

A line triggers when it holds one of the canons' required literals, case-insensitively (the
literal makes the canon a candidate), or when it says something failed (`ERROR_LINE`). One
multi-literal search runs over the chunk's bytes: the canons' literals, caseless, and
`ERROR_LINE_LITERALS` as written, one of which every `ERROR_LINE` match contains, so a benign
line such as `errors=0` never reaches Python; only a line holding one of those is decoded and
checked against `ERROR_LINE` itself. Hyperscan runs the search where it is installed (x86-64);
elsewhere Aho-Corasick automata over the same bytes do. Hyperscan, in the same pass, also
finds the lines that may join a neighbour in one event (`events.MAY_JOIN_PATTERNS`), so
event assembly skips its own check of each line around a trigger.

A caseless byte search folds ASCII letters only: a literal with a cased letter outside ASCII
(`ошибка`) is searched as a pattern of its letters' case variants instead.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import ahocorasick

from errorkb.scan.events import MAY_JOIN_PATTERNS
from errorkb.scan.reader import Chunk

hyperscan: Any
try:  # pragma: no cover - depends on the platform
    import hyperscan
except ImportError:  # pragma: no cover
    hyperscan = None

# Lines that say something failed, for errors no canon knows.
ERROR_LINE = re.compile(
    r"\b(?:ERROR|FATAL|CRITICAL|PANIC|SEVERE|Traceback \(most recent|Exception in thread|panic: |"
    r"(?:[A-Z]\w{0,60})?(?:Error|Exception)(?::|\b)|error(?:\[E\d+\])?: |fatal: |failed|Failed|FAILED)")
# Every match of ERROR_LINE contains one of these, case as written.
ERROR_LINE_LITERALS = ("ERROR", "FATAL", "CRITICAL", "PANIC", "SEVERE", "Traceback (most recent",
                       "Exception", "Error", "panic: ", "error: ", "error[E", "fatal: ", "failed",
                       "Failed", "FAILED")


def _folds_outside_ascii(literal: str) -> bool:
    return any(not ch.isascii() and ch.upper() != ch.lower() for ch in literal)


def _case_variants(literal: str) -> bytes:
    """A bytes regex matching the literal in any case: each letter as the alternation of the
    UTF-8 encodings of the characters that lower-case to it."""
    parts = []
    for ch in literal:
        variants = sorted({v for v in (ch, ch.upper(), ch.title()) if len(v) == 1 and v.lower() == ch})
        parts.append(b"(?:" + b"|".join(re.escape(v.encode()) for v in variants) + b")")
    return b"".join(parts)


@dataclass(frozen=True)
class Hits:
    """What the search found in one chunk, as offsets of line starts in its bytes."""

    triggers: list[int]  # ascending
    joining: frozenset[int] | None = None  # lines that may join a neighbour; None: not known


class Triggers:
    """Finds the trigger lines of chunks. Build once per set of literals; reads only."""

    name = "base"

    def __init__(self, literals: Iterable[str]) -> None:
        chosen = sorted({lit.lower() for lit in literals if lit})
        self.plain_literals = [lit for lit in chosen if not _folds_outside_ascii(lit)]
        self.folding_literals = [lit for lit in chosen if _folds_outside_ascii(lit)]

    def _match_ends(self, data: bytes) -> tuple[list[int], list[int], list[int] | None]:
        """Byte offsets just past each match: of canon literals, of error-line literals, of
        joining-line patterns (None when not searched)."""
        raise NotImplementedError

    def find(self, chunk: Chunk) -> Hits:
        """The chunk's trigger lines (and its joining lines, when the search finds them)."""
        data = chunk.data
        canon_ends, error_ends, joining_ends = self._match_ends(data)
        found = set(_line_starts(data, canon_ends))
        for start in _line_starts(data, error_ends):
            if start not in found:
                end = data.find(b"\n", start)
                line = data[start:len(data) if end < 0 else end].decode("utf-8", "replace")
                if ERROR_LINE.search(line):
                    found.add(start)
        joining = None if joining_ends is None else frozenset(_line_starts(data, joining_ends))
        return Hits(sorted(found), joining)


def _line_starts(data: bytes, ends: list[int]) -> list[int]:
    """The starts of the lines holding the last byte before each end offset, distinct,
    ascending."""
    starts: list[int] = []
    keep, rfind, find = starts.append, data.rfind, data.find
    line_end = -1
    for end in sorted(ends):
        last = end - 1
        if last < line_end:
            continue
        keep(rfind(b"\n", 0, last) + 1)
        line_end = find(b"\n", last)
        if line_end < 0:
            line_end = len(data)
    return starts


class HyperscanTriggers(Triggers):
    """One Hyperscan database (block mode) over the chunk's bytes."""

    name = "hyperscan"

    def __init__(self, literals: Iterable[str]) -> None:
        super().__init__(literals)
        patterns = [re.escape(lit).encode() for lit in self.plain_literals]
        patterns += [_case_variants(lit) for lit in self.folding_literals]
        flags = [hyperscan.HS_FLAG_CASELESS] * len(patterns)
        self._first_error = len(patterns)
        patterns += [re.escape(lit).encode() for lit in ERROR_LINE_LITERALS]
        flags += [0] * len(ERROR_LINE_LITERALS)
        self._first_joining = len(patterns)
        patterns += [b"^(?:" + pattern + b")" for pattern in MAY_JOIN_PATTERNS]
        flags += [hyperscan.HS_FLAG_MULTILINE] * len(MAY_JOIN_PATTERNS)
        self._database = hyperscan.Database(mode=hyperscan.HS_MODE_BLOCK)
        self._database.compile(expressions=patterns, ids=list(range(len(patterns))),
                               elements=len(patterns), flags=flags)
        self._scratch = hyperscan.Scratch(self._database)

    def _match_ends(self, data: bytes) -> tuple[list[int], list[int], list[int] | None]:
        canon_ends: list[int] = []
        error_ends: list[int] = []
        joining_ends: list[int] = []
        first_error, first_joining = self._first_error, self._first_joining
        keep_canon, keep_error, keep_joining = (canon_ends.append, error_ends.append,
                                                joining_ends.append)

        def on_match(pattern: int, start: int, end: int, flags: int, context: object) -> None:
            if pattern < first_error:
                keep_canon(end)
            elif pattern < first_joining:
                keep_error(end)
            else:
                keep_joining(end)

        if data:
            self._database.scan(data, match_event_handler=on_match, scratch=self._scratch)
        return canon_ends, error_ends, joining_ends


class AhoCorasickTriggers(Triggers):
    """Aho-Corasick automata (pyahocorasick) over the chunk's bytes read as Latin-1, one
    character a byte: canon literals over the ASCII-lower-cased bytes, error-line literals
    over the bytes as they are; literals folding outside ASCII through one bytes regex."""

    name = "aho-corasick"

    def __init__(self, literals: Iterable[str]) -> None:
        super().__init__(literals)
        self._canon = _automaton(lit.encode().decode("latin-1") for lit in self.plain_literals)
        self._error = _automaton(ERROR_LINE_LITERALS)
        self._folding = (re.compile(b"|".join(map(_case_variants, self.folding_literals)))
                         if self.folding_literals else None)

    def _match_ends(self, data: bytes) -> tuple[list[int], list[int], list[int] | None]:
        lowered = data.lower().decode("latin-1")
        canon_ends = [end + 1 for end, _ in self._canon.iter(lowered)] if self._canon else []
        if self._folding is not None and not data.isascii():
            canon_ends += [m.end() for m in self._folding.finditer(data)]
        error_ends = [end + 1 for end, _ in self._error.iter(data.decode("latin-1"))]
        return canon_ends, error_ends, None


def _automaton(words: Iterable[str]) -> Any:
    automaton = ahocorasick.Automaton()
    for word in words:
        automaton.add_word(word, None)
    if len(automaton) == 0:
        return None
    automaton.make_automaton()
    return automaton


@lru_cache(maxsize=4)
def triggers_for(literals: tuple[str, ...]) -> Triggers:
    """The trigger finder for these literals, built once per set (Hyperscan compiles them in
    tens of milliseconds): Hyperscan where it is installed, else Aho-Corasick."""
    return HyperscanTriggers(literals) if hyperscan is not None else AhoCorasickTriggers(literals)

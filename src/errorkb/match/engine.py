"""The regex pass: every canon regex, run over one input at a cost that barely grows with the
number of canons, and no pattern able to backtrack catastrophically.

Each pattern has required literals (see `literals.py`); it is a candidate when the input,
lower-cased, holds a literal of every set of one of its alternatives. `LiteralTable` turns the
literals found into candidates; `PrefilterEngine` finds them with an Aho-Corasick automaton (the
portable engine; `hyperscan_engine` finds them with one Hyperscan literal database). Only the
candidates run, under RE2 (linear time), which also takes the capture groups. Patterns with no
known literal are candidates for every input. RE2 patterns are compiled on first use.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

import ahocorasick

from errorkb.dialect import ByteMatcher, RegexError

MAX_MATCHES_PER_PATTERN = 8


Alternative = tuple[tuple[str, ...], ...]  # literal sets: a match holds one string of each


@dataclass(frozen=True)
class PatternSpec:
    key: int
    regex: str
    case_sensitive: bool = False
    # What every match holds (lower-cased): the sets of one of these alternatives; () unknown.
    literals: tuple[Alternative, ...] = ()


class RegexHit(NamedTuple):
    key: int
    start: int
    end: int
    groups: tuple[str, ...]
    named: tuple[tuple[str, str], ...]


class LiteralTable:
    """Which patterns the literals found in an input make candidates.

    A pattern is a candidate when the input holds a literal of every set of one of its
    alternatives. Engines look only for the literals of the first set of each alternative
    (the index puts first the set least likely in an input, see `literals.gate_first`):
    `literals`, numbered in sorted order so every engine numbers them alike. The other sets
    of an alternative so found are then checked in the lower-cased input directly.
    """

    def __init__(self, specs: Iterable[PatternSpec]) -> None:
        direct: dict[str, set[int]] = {}  # literal -> keys it alone makes candidates
        gated: dict[str, list[tuple[int, Alternative]]] = {}  # literal -> (key, other sets)
        self.always: list[int] = []  # keys with no known literal
        for spec in specs:
            if not spec.literals:
                self.always.append(spec.key)
            for first, *rest in spec.literals:
                for literal in first:
                    if rest:
                        gated.setdefault(literal, []).append((spec.key, tuple(rest)))
                    else:
                        direct.setdefault(literal, set()).add(spec.key)
        self.always.sort()
        self.literals = sorted(direct.keys() | gated.keys())
        self._direct: list[Sequence[int]] = [tuple(sorted(direct.get(lit, ()))) for lit in self.literals]
        self._gated: list[Sequence[tuple[int, Alternative]]] = [tuple(gated.get(lit, ()))
                                                              for lit in self.literals]

    def to_data(self) -> dict[str, list[Any]]:
        """The table as JSON data (the index keeps it: a store opens without rebuilding it)."""
        return {"literals": self.literals, "direct": self._direct, "gated": self._gated,
                "always": self.always}

    @classmethod
    def from_data(cls, data: object) -> LiteralTable:
        """The table `to_data` gave (its tuples come back as lists: they are only iterated)."""
        parts: list[Any] = [data.get(name) if isinstance(data, dict) else None
                            for name in ("literals", "direct", "gated", "always")]
        if not all(isinstance(part, list) for part in parts) or len({len(p) for p in parts[:3]}) > 1:
            raise ValueError("not a literal table: it needs lists literals, direct and gated of "
                             "one length, and always")
        table = cls(())
        table.literals, table._direct, table._gated, table.always = parts
        return table

    def waiting_on(self, numbers: Iterable[int]) -> set[int]:
        """The patterns that look for any of these literals (by number)."""
        return {key for n in numbers for key in
                (*self._direct[n], *(key for key, _ in self._gated[n]))}

    def candidates(self, found: Iterable[int], lowered: str) -> set[int]:
        """The patterns that literals number `found` (they may repeat) make candidates in
        `lowered`, the lower-cased input. Patterns with no literal (`always`) are left to the
        caller."""
        keys: set[int] = set()
        for number in set(found):
            keys.update(self._direct[number])
            for key, rest in self._gated[number]:
                if key in keys:
                    continue
                for strings in rest:  # plain loops: this runs for every gated pattern
                    for string in strings:
                        if string in lowered:
                            break
                    else:
                        break  # no string of this set: not a candidate
                else:
                    keys.add(key)
        return keys


class Verifier:
    """Runs chosen patterns under RE2 over an input and takes their capture groups."""

    def __init__(self, specs: Iterable[PatternSpec]) -> None:
        self._specs = {s.key: s for s in specs}
        self._matchers: dict[int, ByteMatcher | None] = {}

    def __len__(self) -> int:
        return len(self._specs)

    def verify(self, text: str, keys: Iterable[int], data: bytes | None = None) -> list[RegexHit]:
        """Hits of these patterns, run under RE2 over the text's UTF-8 bytes (`data` when the
        caller has them already); offsets are given back in characters."""
        if data is None:
            data = text.encode("utf-8", "surrogatepass")
        to_chars = _identity if len(data) == len(text) else _char_offsets(data)
        hits: list[RegexHit] = []
        matchers = self._matchers
        for key in sorted(keys):
            matcher = matchers.get(key) if key in matchers else self._compile(key)
            if matcher is None:
                continue
            for span in matcher.spans(data, MAX_MATCHES_PER_PATTERN):
                hits.append(RegexHit(key, to_chars(span.start), to_chars(span.end),
                                     span.groups, span.named))
        return hits

    def compile_all(self) -> int:
        """Compile every pattern not compiled yet, so that no lookup pays for it; returns how
        many were compiled."""
        todo = [key for key in self._specs if key not in self._matchers]
        for key in todo:
            self._compile(key)
        return len(todo)

    def _compile(self, key: int) -> ByteMatcher | None:
        matcher = None
        spec = self._specs.get(key)
        if spec is not None:
            try:
                matcher = ByteMatcher(spec.regex, spec.case_sensitive)
            except RegexError:
                matcher = None
        self._matchers[key] = matcher  # compiled once, on first use; None: unusable
        return matcher


class PrefilterEngine:
    """Aho-Corasick literal prefilter + RE2 verification. Build once, search many times;
    thread-safe reads."""

    name = "aho-corasick+re2"

    def __init__(self, specs: Iterable[PatternSpec], table: LiteralTable | None = None) -> None:
        """`table`: the specs' literal table when the caller has it (else it is made here)."""
        specs = list(specs)
        self._verifier = Verifier(specs)
        self._table = LiteralTable(specs) if table is None else table
        self._automaton = ahocorasick.Automaton()
        for number, literal in enumerate(self._table.literals):
            self._automaton.add_word(literal, number)
        if self._table.literals:
            self._automaton.make_automaton()

    def __len__(self) -> int:
        return len(self._verifier)

    def candidates(self, text: str) -> set[int]:
        lowered = text.lower()
        found = self._table.candidates((n for _, n in self._automaton.iter(lowered)), lowered
                                       ) if self._table.literals else set()
        found.update(self._table.always)
        return found

    def trigger_literals(self) -> list[str]:
        """The lower-cased literals whose presence may make some pattern a candidate: where a
        scan looks (patterns without literals never trigger)."""
        return list(self._table.literals)

    def compile_all(self) -> int:
        return self._verifier.compile_all()

    def search(self, text: str, keys: Sequence[int] | None = None) -> list[RegexHit]:
        """Hits of the candidate patterns (or of `keys`), each verified under RE2."""
        return self._verifier.verify(text, self.candidates(text) if keys is None else keys)


def _identity(offset: int) -> int:
    return offset


def _char_offsets(data: bytes) -> Callable[[int], int]:
    """Byte offset → character offset in text that is not all ASCII."""
    def to_chars(offset: int) -> int:
        return len(data[:offset].decode("utf-8", "surrogatepass"))
    return to_chars

"""The regex pass: every canon regex, run over one input at a cost that barely grows with the
number of canons, and no pattern able to backtrack catastrophically.

`PrefilterEngine`: an Aho-Corasick automaton over each pattern's required literals (see
`literals.py`) picks the few patterns that could match; only those run, under RE2 (linear
time), which also takes the capture groups. Patterns are compiled lazily, on first use.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

import ahocorasick

from errorkb.dialect import ByteMatcher, RegexError

MAX_MATCHES_PER_PATTERN = 8


@dataclass(frozen=True)
class PatternSpec:
    key: int
    regex: str
    case_sensitive: bool = False
    literals: tuple[str, ...] | None = None  # required literals; None: always a candidate


@dataclass(frozen=True)
class RegexHit:
    key: int
    start: int
    end: int
    groups: tuple[str, ...]
    named: tuple[tuple[str, str], ...]


class PrefilterEngine:
    """Literal prefilter + RE2 verification. Build once, search many times; thread-safe reads."""

    name = "aho-corasick+re2"

    def __init__(self, specs: Iterable[PatternSpec]) -> None:
        self._specs = {s.key: s for s in specs}
        self._matchers: dict[int, ByteMatcher | None] = {}
        self._always = sorted(k for k, s in self._specs.items() if not s.literals)
        self._automaton = ahocorasick.Automaton()
        by_literal: dict[str, list[int]] = {}
        for spec in self._specs.values():
            for literal in spec.literals or ():
                by_literal.setdefault(literal, []).append(spec.key)
        for literal, keys in by_literal.items():
            self._automaton.add_word(literal, tuple(keys))
        if by_literal:
            self._automaton.make_automaton()
        self._has_literals = bool(by_literal)

    def __len__(self) -> int:
        return len(self._specs)

    def candidates(self, text: str) -> set[int]:
        found = set(self._always)
        if self._has_literals:
            for _, keys in self._automaton.iter(text.lower()):
                found.update(keys)
        return found

    def trigger_literals(self) -> list[str]:
        """The lower-cased literals whose presence makes some pattern a candidate: where a scan
        looks (patterns without literals never trigger)."""
        return sorted(self._automaton.keys()) if self._has_literals else []

    def search(self, text: str, keys: Sequence[int] | None = None) -> list[RegexHit]:
        """Hits of the candidate patterns (or of `keys`), each verified under RE2."""
        return self.verify(text, self.candidates(text) if keys is None else keys)

    def verify(self, text: str, keys: Iterable[int], data: bytes | None = None) -> list[RegexHit]:
        """Hits of these patterns, run under RE2 over the text's UTF-8 bytes (`data` when the
        caller has them already); offsets are given back in characters."""
        if data is None:
            data = text.encode("utf-8", "surrogatepass")
        to_chars = _identity if len(data) == len(text) else _char_offsets(data)
        hits: list[RegexHit] = []
        for key in sorted(keys):
            matcher = self._matcher(key)
            if matcher is None:
                continue
            for span in matcher.spans(data, MAX_MATCHES_PER_PATTERN):
                hits.append(RegexHit(key, to_chars(span.start), to_chars(span.end),
                                     span.groups, span.named))
        return hits

    def _matcher(self, key: int) -> ByteMatcher | None:
        matcher = self._matchers.get(key)
        if matcher is None and key not in self._matchers:
            spec = self._specs.get(key)
            if spec is not None:
                try:
                    matcher = ByteMatcher(spec.regex, spec.case_sensitive)
                except RegexError:
                    matcher = None
            self._matchers[key] = matcher  # compiled once, on first use; None: unusable
        return matcher


def _identity(offset: int) -> int:
    return offset


def _char_offsets(data: bytes) -> Callable[[int], int]:
    """Byte offset → character offset in text that is not all ASCII."""
    def to_chars(offset: int) -> int:
        return len(data[:offset].decode("utf-8", "surrogatepass"))
    return to_chars

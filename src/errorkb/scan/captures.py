"""What a known error's regex captures in each of its events (ports, hosts, module names).

The values are the non-empty groups of the regex's first non-empty match among its first
`MAX_MATCHES_PER_PATTERN`, as the engine's `search` takes them. The scan classifies events
through a cache keyed by their text with digits zeroed, so the events sharing a key differ
only in which digits they hold. A regex that treats every digit alike (no digit literal, no
class holding some digits but not all: "digit-blind") matches all of them at the same offsets,
so their values are slices of each text at the spans found in the first one; any other regex
runs on every event. RE2 searches ASCII text faster as bytes, so ASCII text goes as bytes.
"""

from __future__ import annotations

import re
import re._constants as C  # type: ignore[import-not-found]
import re._parser as P  # type: ignore[import-not-found]
from collections.abc import Callable
from typing import Any

from errorkb.dialect import Pattern
from errorkb.match.engine import MAX_MATCHES_PER_PATTERN

CACHE_LIMIT = 50_000
_DIGITS = frozenset("0123456789")
Span = tuple[int, int]


def capture_spans(pattern: Pattern, text: str) -> list[Span]:
    """Spans (in `text`) of the non-empty groups of the pattern's first non-empty match."""
    subject: str | bytes = text.encode() if text.isascii() else text  # same offsets
    first = pattern.search(subject)
    if first is None:
        return []
    matches = [first] if first.end() > first.start() else pattern.finditer(subject)
    for n, match in enumerate(matches):
        if n >= MAX_MATCHES_PER_PATTERN:
            break
        if match.end() > match.start():
            return [(a, b) for a, b in (match.span(g) for g in range(1, pattern.groups + 1))
                    if b > a >= 0]
    return []


def first_captures(pattern: Pattern, text: str) -> list[str]:
    """The values of the non-empty groups of the pattern's first non-empty match."""
    return [text[a:b] for a, b in capture_spans(pattern, text)]


def _class_digits(items: Any) -> set[str] | None:
    """The ASCII digits a parsed character class holds (None: cannot tell)."""
    held: set[str] = set()
    for op, av in items:
        if op is C.NEGATE:
            continue  # negation keeps "all or none"
        if op is C.LITERAL:
            held |= {chr(av)} & _DIGITS
        elif op is C.RANGE:
            held |= {d for d in _DIGITS if av[0] <= ord(d) <= av[1]}
        elif op is C.CATEGORY:
            if av in (C.CATEGORY_DIGIT, C.CATEGORY_WORD, C.CATEGORY_NOT_SPACE):
                held |= _DIGITS
            elif av not in (C.CATEGORY_NOT_DIGIT, C.CATEGORY_NOT_WORD, C.CATEGORY_SPACE):
                return None
        else:
            return None
    return held


def _blind(items: Any) -> bool:
    for op, av in items:
        if op in (C.LITERAL, C.NOT_LITERAL):
            if chr(av) in _DIGITS:
                return False
        elif op is C.IN:
            digits = _class_digits(av)
            if digits is None or digits not in (set(), _DIGITS):
                return False
        elif op is C.SUBPATTERN:
            if not _blind(av[-1]):
                return False
        elif op is C.BRANCH:
            if not all(_blind(branch) for branch in av[1]):
                return False
        elif op in (C.MAX_REPEAT, C.MIN_REPEAT, C.POSSESSIVE_REPEAT):
            if not _blind(av[2]):
                return False
        elif op is C.ATOMIC_GROUP:
            if not _blind(av):
                return False
        elif op not in (C.ANY, C.AT):
            return False  # back references, lookarounds, anything unforeseen
    return True


def digit_blind(regex: str) -> bool:
    """Whether the regex treats every ASCII digit alike (False when it cannot be told, e.g.
    RE2 syntax Python's parser does not read)."""
    if "{," in regex:  # Python reads `x{,3}` as a repeat, RE2 as the literal text "{,3}"
        return False
    try:
        return _blind(P.parse(regex, 0))
    except (re.error, RecursionError, OverflowError, ValueError, TypeError):
        return False


class Captures:
    """Captured values per event, reusing spans across the events of one cache key when
    the regex is digit-blind. `pattern_of` gives a canon's compiled regex (None: none)."""

    def __init__(self, pattern_of: Callable[[str], Pattern | None]) -> None:
        self._pattern_of = pattern_of
        self._patterns: dict[str, tuple[Pattern | None, bool]] = {}
        self._spans: dict[tuple[str, bytes], list[Span]] = {}

    def of(self, canon_id: str, key: bytes, text: str) -> list[str]:
        """The values `canon_id`'s regex captures in `text`, whose digit-zeroed key is `key`."""
        known = self._patterns.get(canon_id)
        if known is None:
            pattern = self._pattern_of(canon_id)
            known = self._patterns[canon_id] = (
                pattern, pattern is not None and digit_blind(pattern.pattern))
        pattern, blind = known
        if pattern is None:
            return []
        if not blind:
            return first_captures(pattern, text)
        spans = self._spans.get((canon_id, key))
        if spans is None:
            spans = capture_spans(pattern, text)
            if len(self._spans) < CACHE_LIMIT:
                self._spans[(canon_id, key)] = spans
        return [text[a:b] for a, b in spans]

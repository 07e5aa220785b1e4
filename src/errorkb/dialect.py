"""The one regex rule every part shares: RE2 syntax, case-insensitive unless a canon opts out.

RE2 runs in time linear in the input for every pattern, so no canon regex can backtrack
catastrophically, whatever its author wrote. The validator, the importer and the matcher all
compile through `compile_regex`.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any, NamedTuple, TypeAlias

import re2

RegexError = re2.error
Pattern: TypeAlias = Any  # google-re2's compiled pattern (re2._Regexp), untyped


def _options(case_sensitive: bool) -> re2.Options:
    options = re2.Options()
    options.case_sensitive = case_sensitive
    options.log_errors = False
    options.max_mem = 8 << 20
    return options


_INSENSITIVE = _options(False)
_SENSITIVE = _options(True)


@lru_cache(maxsize=8192)
def compile_regex(pattern: str, case_sensitive: bool = False) -> Pattern:
    """Compile under RE2; raises `RegexError` with RE2's reason when the syntax is not RE2's."""
    return re2.compile(pattern, _SENSITIVE if case_sensitive else _INSENSITIVE)


def regex_problem(pattern: str, case_sensitive: bool = False) -> str | None:
    """Why a pattern cannot be used, or None when it compiles."""
    try:
        compile_regex(pattern, case_sensitive)
    except RegexError as exc:
        reason = exc.args[0] if exc.args else exc
        return reason.decode() if isinstance(reason, bytes) else str(reason)
    return None


class Span(NamedTuple):
    """One match in UTF-8 bytes: where it is and its non-empty capture groups."""

    start: int
    end: int
    groups: tuple[str, ...]
    named: tuple[tuple[str, str], ...]


class ByteMatcher:
    """A compiled pattern run straight over UTF-8 bytes (the input is encoded once for every
    pattern, not once per pattern as google-re2's `str` API does); offsets are byte offsets."""

    __slots__ = ("_match", "_names")

    def __init__(self, pattern: str, case_sensitive: bool = False) -> None:
        regexp = compile_regex(pattern, case_sensitive)._regexp
        self._match = regexp.Match
        self._names = {index: name.decode() for name, index in regexp.NamedCapturingGroups()}

    def spans(self, data: bytes, limit: int) -> list[Span]:
        """Up to `limit` non-empty matches, left to right, the first of each line (later ones
        on the same line tell the ranker nothing new)."""
        found: list[Span] = []
        position, end = 0, len(data)
        match, names = self._match, self._names
        while position <= end:
            spans = match(_UNANCHORED, data, position, end)
            start, stop = spans[0]
            if start < 0:
                break
            if stop > start:
                groups = [(i, data[s:e].decode("utf-8", "replace"))
                          for i, (s, e) in enumerate(spans, start=0) if i and e > s >= 0]
                found.append(Span(start, stop, tuple([v for _, v in groups]),
                                  tuple([(names[i], v) for i, v in groups if i in names])
                                  if names else ()))
                if len(found) >= limit:
                    break
            next_line = data.find(b"\n", stop)  # a match may start at the newline itself
            if next_line < 0:
                break
            position = max(next_line, position + 1)
        return found


_UNANCHORED = re2._re2.RE2.Anchor.UNANCHORED

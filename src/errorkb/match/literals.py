"""What a regex cannot match without: its required literals, and how specific it is.

`required_literals` returns a set of lowercase strings such that every match of the pattern
contains at least one of them (or None when no such set is known). The prefilter only runs a
pattern when one of its literals occurs in the input. `literal_weight` counts the literal
characters every match must contain: the regex's specificity, however much `.*` swallows.
"""

from __future__ import annotations

import re
import re._constants as C  # type: ignore[import-not-found]
import re._parser as P  # type: ignore[import-not-found]
from typing import Any

MIN_LITERAL = 3
_MAX_BRANCH_LITERALS = 64


def _parse(pattern: str) -> Any | None:
    try:
        return P.parse(pattern, 0)
    except (re.error, RecursionError, OverflowError, ValueError, TypeError):  # not Python syntax
        return None


def _char(op: Any, av: Any) -> str | None:
    if op is C.LITERAL:
        return chr(av)
    if op is C.IN and len(av) == 1 and av[0][0] is C.LITERAL:
        return chr(av[0][1])
    return None


def _sequence_parts(items: Any) -> list[set[str] | None]:
    """Required-literal sets of the parts of a sequence; each is a candidate for the whole."""
    parts: list[set[str] | None] = []
    run: list[str] = []

    def flush() -> None:
        if run:
            parts.append({"".join(run).lower()})
            run.clear()

    for op, av in items:
        ch = _char(op, av)
        if ch is not None:
            run.append(ch)
            continue
        if op is C.AT:
            continue
        flush()
        if op is C.SUBPATTERN:
            parts.append(_required(av[-1]))
        elif op is C.BRANCH:
            parts.append(_branch(av[1]))
        elif op in (C.MAX_REPEAT, C.MIN_REPEAT, C.POSSESSIVE_REPEAT) and av[0] >= 1:
            parts.append(_required(av[2]))
        elif op is C.ATOMIC_GROUP:
            parts.append(_required(av))
    flush()
    return parts


def _branch(branches: Any) -> set[str] | None:
    union: set[str] = set()
    for branch in branches:
        options = _required(branch)
        if options is None:
            return None
        union |= options
    return union if len(union) <= _MAX_BRANCH_LITERALS else None


def _score(options: set[str]) -> int:
    return min(len(s) for s in options) if options else 0


def _required(items: Any) -> set[str] | None:
    best: set[str] | None = None
    for part in _sequence_parts(items):
        if part is not None and (best is None or _score(part) > _score(best)):
            best = part
    return best


def required_literals(pattern: str) -> set[str] | None:
    parsed = _parse(pattern)
    if parsed is None:
        return None
    options = _required(parsed)
    if options is None or _score(options) < MIN_LITERAL:
        return None
    return options


def _char_weight(ch: str) -> int:
    """A CJK character carries about as much as a short word: it counts three."""
    return 3 if "\u3400" <= ch <= "\u9fff" else 1


def _weight(items: Any) -> int:
    total = 0
    for op, av in items:
        ch = _char(op, av)
        if ch is not None:
            total += _char_weight(ch)
        elif op is C.SUBPATTERN:
            total += _weight(av[-1])
        elif op is C.BRANCH:
            total += min(_weight(b) for b in av[1])
        elif op in (C.MAX_REPEAT, C.MIN_REPEAT, C.POSSESSIVE_REPEAT) and av[0] >= 1:
            total += _weight(av[2])
        elif op is C.ATOMIC_GROUP:
            total += _weight(av)
    return total


def literal_weight(pattern: str) -> int:
    """Literal characters every match must contain (0 when the pattern cannot be analysed)."""
    parsed = _parse(pattern)
    return _weight(parsed) if parsed is not None else 0

"""What a regex cannot match without: its required literals, and how specific it is.

`required_literals` returns alternatives, each up to three sets of lowercase strings, such that
every match of the pattern contains a string of each set of one alternative (a pattern that
is one alternation, `(ILM.*failed|rollover.*failed)`, has one alternative per branch; others
have one). It is empty when nothing is known to be required. The prefilter runs a pattern
only when the input holds a string of every set of one of its alternatives.
Neighbouring pieces that match a few exact strings are joined (`ECONN(RESET|REFUSED)` gives
{"econnreset", "econnrefused"}, `[Ee]rror` gives {"error"}), so the literals are long.
`literal_weight` counts the literal characters every match must contain: the regex's
specificity, however much `.*` swallows.
"""

from __future__ import annotations

import re
import re._constants as C  # type: ignore[import-not-found]
import re._parser as P  # type: ignore[import-not-found]
import warnings
from collections import Counter
from collections.abc import Iterable, Mapping
from collections.abc import Set as AbstractSet
from typing import Any

import ahocorasick

MIN_LITERAL = 3  # weighted characters (see `_score`) the shortest alternative must have
MAX_PARTS = 3
_MAX_ALTERNATIVES = 64


# RE2's POSIX classes (`[[:alpha:]]`, `[^[:space:]]`): Python's parser reads them differently.
_POSIX_CLASS = re.compile(r"\[:\^?[a-z]+:\]")


def _has_posix_class(pattern: str) -> bool:
    """Whether the pattern holds a POSIX class (`\\[:x:]`, an escaped bracket, is none)."""
    for match in _POSIX_CLASS.finditer(pattern):
        before = pattern[:match.start()]
        if (len(before) - len(before.rstrip("\\"))) % 2 == 0:
            return True
    return False


def _parse(pattern: str) -> Any | None:
    if _has_posix_class(pattern):  # not analysed
        return None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return P.parse(pattern, 0)
    except (re.error, RecursionError, OverflowError, ValueError, TypeError):  # not Python syntax
        return None


def _char(op: Any, av: Any) -> str | None:
    if op is C.LITERAL:
        return chr(av)
    if op is C.IN and len(av) == 1 and av[0][0] is C.LITERAL:
        return chr(av[0][1])
    return None


def _exact(op: Any, av: Any) -> set[str] | None:
    """The few strings one parsed item matches, lower-cased, or None when it matches more."""
    ch = _char(op, av)
    if ch is not None:
        return {ch.lower()}
    if op is C.AT:
        return {""}
    if op is C.IN and all(kind is C.LITERAL for kind, _ in av):  # [Ee]
        options = {chr(code).lower() for _, code in av}
        return options if len(options) <= 2 else None
    if op is C.SUBPATTERN:
        return _exact_sequence(av[-1])
    if op is C.BRANCH:
        union: set[str] = set()
        for branch in av[1]:
            strings = _exact_sequence(branch)
            if strings is None:
                return None
            union |= strings
        return union if len(union) <= _MAX_ALTERNATIVES else None
    return None


def _exact_sequence(items: Any) -> set[str] | None:
    strings = {""}
    for op, av in items:
        options = _exact(op, av)
        if options is None:
            return None
        strings = {a + b for a in strings for b in options}
        if len(strings) > _MAX_ALTERNATIVES:
            return None
    return strings


def _score(options: AbstractSet[str]) -> int:
    """Weighted length of the shortest alternative: a non-ASCII character counts two."""
    return min(sum(1 if ord(c) < 128 else 2 for c in s) for s in options) if options else 0


def _parts(items: Any) -> list[set[str]]:
    """Every required-literal set of a parsed sequence (each a set of alternatives)."""
    parts: list[set[str]] = []
    run = {""}  # exact strings of the pieces read since the last inexact one

    def flush() -> None:
        nonlocal run
        if run != {""}:
            parts.append(run)
        run = {""}

    for op, av in items:
        options = _exact(op, av)
        if options is not None:
            joined = {a + b for a in run for b in options}
            if len(joined) <= _MAX_ALTERNATIVES:
                run = joined
            else:
                flush()
                run = options
            continue
        flush()
        if op is C.SUBPATTERN:
            parts.extend(_parts(av[-1]))
        elif op is C.BRANCH:
            best = _branch(av[1])
            if best is not None:
                parts.append(best)
        elif op in (C.MAX_REPEAT, C.MIN_REPEAT, C.POSSESSIVE_REPEAT) and av[0] >= 1:
            parts.extend(_parts(av[2]))
        elif op is C.ATOMIC_GROUP:
            parts.extend(_parts(av))
    flush()
    return parts


def _branch(branches: Any) -> set[str] | None:
    """One set every branch contributes to: the union of each branch's best set."""
    union: set[str] = set()
    for branch in branches:
        parts = _parts(branch)
        if not parts:
            return None
        union |= max(parts, key=_score)
    return union if len(union) <= _MAX_ALTERNATIVES else None


def _best(parts: list[set[str]]) -> list[set[str]]:
    """The `MAX_PARTS` longest distinct sets that are long enough, longest first."""
    unique: dict[frozenset[str], None] = {}
    for part in parts:
        if _score(part) >= MIN_LITERAL:
            unique.setdefault(frozenset(part), None)
    ranked = sorted(unique, key=lambda part: (-_score(part), sorted(part)))
    return [set(part) for part in ranked[:MAX_PARTS]]


def _branches(op: Any, av: Any) -> Any | None:
    """The branches of an alternation item (bare, or alone in a group), else None."""
    if op is C.BRANCH:
        return av[1]
    if op is C.SUBPATTERN and len(av[-1]) == 1 and av[-1][0][0] is C.BRANCH:
        return av[-1][0][1][1]
    return None


def _alternatives(items: Any) -> list[list[set[str]]]:
    """Alternation spreads over a sequence: `F(SDP.*x|ully.*y)` is `FSDP.*x` or `Fully.*y`,
    and a candidate needs all the sets of one of them. Anything else gives one list."""
    core = [(op, av) for op, av in items if op is not C.AT]
    if len(core) == 1 and core[0][0] is C.SUBPATTERN:
        return _alternatives(core[0][1][-1])
    for position, (op, av) in enumerate(items):
        branches = _branches(op, av)
        if branches is None:
            continue
        alternatives: list[list[set[str]]] = []
        for branch in branches:
            found = _alternatives([*items[:position], *branch, *items[position + 1:]])
            if not found:
                return []  # a branch with no literal: nothing is required
            alternatives.extend(found)
            if len(alternatives) > _MAX_ALTERNATIVES:
                break
        if len(alternatives) <= _MAX_ALTERNATIVES:
            return alternatives
        break
    parts = _best(_parts(items))
    return [parts] if parts else []


def required_literals(pattern: str) -> list[list[set[str]]]:
    """What every match holds, as alternatives: a match holds a string of each set of at
    least one alternative. Empty when nothing is known to be required."""
    parsed = _parse(pattern)
    return _alternatives(parsed) if parsed is not None else []


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


def input_frequencies(literals: AbstractSet[str], samples: Iterable[str]) -> dict[str, float]:
    """How often an input may hold each literal: the share of these sample error texts (the
    corpus's own signatures and examples) that hold it, lower-cased; smoothed, never 0."""
    automaton = ahocorasick.Automaton()
    for literal in literals:
        automaton.add_word(literal, literal)
    counts: Counter[str] = Counter()
    total = 0
    if literals:
        automaton.make_automaton()
        for sample in samples:
            total += 1
            counts.update({literal for _, literal in automaton.iter(sample.lower())})
    return {literal: (counts[literal] + 1) / (total + 2) for literal in literals}


def gate_first(alternative: Iterable[AbstractSet[str]], frequency: Mapping[str, float]
               ) -> list[list[str]]:
    """The alternative's sets (sorted), the one least likely in an input first: the engines
    look for the first set, and check the others only when it is found (engine.LiteralTable).
    A set with a literal of fewer than three letters (`104`, `0x`) comes after the others
    whatever the samples say: logs are full of numbers."""
    sets = [sorted(strings) for strings in alternative]
    return sorted(sets, key=lambda strings: (any(_letters(s) < 3 for s in strings),
                                             sum(frequency[s] for s in strings), strings))


def _letters(literal: str) -> int:
    return sum(1 for c in literal if c.isalpha())

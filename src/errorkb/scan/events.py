"""Events: the lines around a hit that belong to one error, assembled before matching.

A Python traceback (chained ones too), a Java trace with its `at` frames and `Caused by:`,
a Go panic with its goroutine dump, a rustc error with its code frame and a Node stack are
each one event, so each is matched once, as a whole.
"""

from __future__ import annotations

import re
from collections.abc import Container, Iterator
from dataclasses import dataclass

from errorkb.match.normalize import RAISED_LINE

MAX_EVENT_LINES = 400
CACHE_LIMIT = 10_000

_CONTINUATION = re.compile(
    r"[ \t]|Caused by: |Suppressed: |\.\.\. \d+ more|During handling of the above|"
    r"The above exception was|Traceback \(most recent call last\)|goroutine \d+ \[|"
    r"\[signal |created by |exit status \d|\s*$|"
    r"[\w.*/\[\]()-]{1,300}\([^\n]{0,400}\)(?: \+0x[0-9a-f]{1,16})?$")  # a Go dump's function line
_BLANK_CONTINUES = re.compile(r"goroutine \d+ \[|During handling of the above|"
                              r"The above exception was|Traceback \(most recent call last\)")
# Python's words between two tracebacks of one chain; without them, a traceback after another
# is an error of its own.
_CHAINING = re.compile(r"During handling of the above|The above exception was")
_TRACEBACK = "Traceback (most recent call last)"
_OPENERS = re.compile(r"Traceback \(most recent call last\)|panic: |fatal error: |error\[E\d{4}\]|"
                      r"error: |Exception in thread ")


@dataclass(frozen=True)
class Event:
    start: int  # offset of the first character in the chunk
    end: int  # offset just past the last character
    line: int  # line number of the first line in its source

    def text(self, chunk: str) -> str:
        return chunk[self.start:self.end]


def _line_bounds(text: str, offset: int) -> tuple[int, int]:
    start = text.rfind("\n", 0, offset) + 1
    end = text.find("\n", offset)
    return start, (len(text) if end < 0 else end)


def _continues(line: str) -> bool:
    return bool(line) and _CONTINUATION.match(line) is not None


def event_around(text: str, offset: int) -> tuple[int, int]:
    """Offsets of the event holding the character at `offset`."""
    start, end = _line_bounds(text, offset)
    line = text[start:end]
    # Backwards: while this line continues the one before (a frame, a Caused by), or the
    # previous lines are frames of a traceback that this exception line closes.
    steps = 0
    while start > 0 and steps < MAX_EVENT_LINES:
        prev_start, prev_end = _line_bounds(text, start - 1)
        previous = text[prev_start:prev_end]
        if not previous.strip():
            # Across a blank line only inside a chained traceback or into a goroutine dump.
            if prev_start == 0 or not _BLANK_CONTINUES.match(line):
                break
            before_start, before_end = _line_bounds(text, prev_start - 1)
            if line.startswith(_TRACEBACK) and not _CHAINING.match(text[before_start:before_end]):
                break
            start, line = before_start, text[before_start:before_end]
            steps += 1
            continue
        closes_frames = RAISED_LINE.match(line) and previous[:1] in " \t"
        if (_continues(line) and not _OPENERS.match(line)) or closes_frames or \
                _OPENERS.match(previous):
            start, line = prev_start, previous
            steps += 1
            continue
        break
    # Forwards: frames, causes and dumps that follow.
    steps = 0
    opened = text.startswith("Traceback", start) or line.startswith(" ")
    while end < len(text) and steps < MAX_EVENT_LINES:
        next_start, next_end = _line_bounds(text, end + 1)
        following = text[next_start:next_end]
        last_line = text[_line_bounds(text, end - 1)[0]:end] if end else ""
        if not following.strip():
            # A blank line inside a chained traceback or before a goroutine dump.
            after_start, after_end = _line_bounds(text, min(next_end + 1, len(text)))
            after = text[after_start:after_end]
            if next_end < len(text) and _BLANK_CONTINUES.match(after) and not (
                    after.startswith(_TRACEBACK) and _unchained(text, start, end, last_line)):
                end = after_end
                steps += 1
                continue
            break
        if _continues(following) and not (following.startswith(_TRACEBACK)
                                          and _unchained(text, start, end, last_line)):
            end = next_end
            steps += 1
            continue
        # The exception line closing a Python traceback's indented frames belongs to it.
        if opened and last_line[:1] in " \t" and RAISED_LINE.match(following):
            end = next_end
            steps += 1
            opened = False
            continue
        break
    return start, end


def _unchained(text: str, start: int, end: int, last_line: str) -> bool:
    """Whether a traceback opening after the event `text[start:end]` (ending in `last_line`)
    is another error: the event holds a traceback already, and no chaining words come between."""
    return _TRACEBACK in text[start:end] and not _CHAINING.match(last_line)


def assemble(text: str, offsets: list[int], first_line: int) -> list[Event]:
    """The distinct events holding these hit offsets, in order."""
    events: list[Event] = []
    covered_until = -1
    counted_to, line_at = 0, first_line  # line numbers counted incrementally
    for offset in sorted(offsets):
        if offset < covered_until:
            continue
        start, end = event_around(text, offset)
        if events and start < events[-1].end:  # overlaps the previous event: merge
            previous = events.pop()
            start = previous.start
            line = previous.line
        else:
            line_at += text.count("\n", counted_to, start)
            counted_to = start
            line = line_at
        events.append(Event(start, max(end, start), line))
        covered_until = end
    return events



# Byte patterns, each tried at a line start, one of which matches every line that may join a
# neighbouring line in one event: the lines `_CONTINUATION` or `_OPENERS` match (their `\d`
# and `\w` parts dropped or widened, so that none is missed), blank lines, lines opening with
# a non-ASCII byte. Between two lines neither of which matches, no event can pass: each event
# lies within a block of lines bounded by such pairs, and only the blocks holding a trigger
# line need decoding and assembling. The trigger search runs them too (see `triggers`).
MAY_JOIN_PATTERNS = (
    rb"[\t\n\x0b\x0c\r \x1c-\x1f\x80-\xff]", rb"Caused by: ", rb"Suppressed: ", rb"\.\.\. ",
    rb"During handling ", rb"The above exception was", rb"Traceback \(most recent call last\)",
    rb"goroutine ", rb"\[signal ", rb"created by ", rb"exit status ", rb"[^\s(]*\(", rb"panic: ",
    rb"fatal error: ", rb"error\[E", rb"error: ", rb"Exception in thread ")
_MAY_JOIN = re.compile(b"|".join(MAY_JOIN_PATTERNS) + rb"|\Z")  # \Z: an empty last line


class _JoiningLines:
    """The starts of the lines that may join a neighbour, told by trying the patterns at an
    offset when asked (for when no search has listed them)."""

    def __init__(self, data: bytes) -> None:
        self._match = _MAY_JOIN.match
        self._data = data

    def __contains__(self, line_start: object) -> bool:
        return isinstance(line_start, int) and self._match(self._data, line_start) is not None


def _line_end(data: bytes, position: int) -> int:
    end = data.find(b"\n", position)
    return len(data) if end < 0 else end


def _block(data: bytes, line_start: int, joining: Container[int]) -> tuple[int, int]:
    """Offsets of the block of lines holding the line at `line_start`: it grows while one of
    the two lines at its edge may join the other."""
    size = len(data)

    def standalone(line: int) -> bool:
        return line != size and line not in joining

    start, first_alone = line_start, standalone(line_start)
    while start > 0:
        previous = data.rfind(b"\n", 0, start - 1) + 1
        previous_alone = standalone(previous)
        if first_alone and previous_alone:
            break
        start, first_alone = previous, previous_alone
    end = _line_end(data, line_start)
    last_alone = first_alone if start == line_start else standalone(line_start)
    while end < len(data):
        following_alone = standalone(end + 1)
        if last_alone and following_alone:
            break
        end, last_alone = _line_end(data, end + 1), following_alone
    return start, end


def _char_offset(block: bytes, byte_offset: int) -> int:
    return byte_offset if block.isascii() else len(block[:byte_offset].decode("utf-8", "replace"))


# Assembly tells digits apart only as digits, and `0x` from other digits followed by x: blocks
# equal once their digits 1-9 are all 1 hold their events at the same places.
_NONZERO_DIGITS = bytes.maketrans(b"23456789", b"11111111")
MAX_CACHED_BLOCK = 16 * 1024
Assembled = dict[tuple[bytes, tuple[int, ...]], list[Event]]


def events_in(data: bytes, triggers: list[int], joining: Container[int] | None = None,
              assembled: Assembled | None = None) -> Iterator[tuple[bytes, int, int]]:
    """The distinct events holding these trigger lines (offsets of line starts in `data`,
    ascending), in order: the events `assemble` finds in the decoded chunk, decoding only the
    blocks of lines around the triggers. `joining`: the starts of the lines that may join a
    neighbour (see MAY_JOIN_PATTERNS), when a search has found them. `assembled`: a cache of
    the events of blocks (of up to MAX_CACHED_BLOCK bytes) by their shape, kept across calls.
    Each event as (its bytes, which decode to its text; offset of its block in `data`; lines
    from the block's first line to the event's)."""
    if joining is None:
        joining = _JoiningLines(data)
    size, count = len(data), len(triggers)
    find, rfind = data.find, data.rfind
    index = 0
    while index < count:
        line_start = triggers[index]
        line_end = find(b"\n", line_start)
        if line_end < 0:
            line_end = size
        if line_start not in joining and (line_end == size or (
                line_end + 1 != size and line_end + 1 not in joining)) and (
                line_start == 0 or rfind(b"\n", 0, line_start - 1) + 1 not in joining):
            index += 1  # a block of one line: the event is the line itself
            yield data[line_start:line_end], line_start, 0
            continue
        start, end = _block(data, line_start, joining)
        inside = []
        while index < count and triggers[index] <= end:
            inside.append(triggers[index] - start)
            index += 1
        block = data[start:end]
        text = block.decode("utf-8", "replace")
        key = (block.translate(_NONZERO_DIGITS), tuple(inside))
        events = assembled.get(key) if assembled is not None else None
        if events is None:
            events = assemble(text, [_char_offset(block, o) for o in inside], 0)
            if assembled is not None and len(block) <= MAX_CACHED_BLOCK and \
                    len(assembled) < CACHE_LIMIT:
                assembled[key] = events
        for event in events:
            yield event.text(text).encode(), start, event.line

"""Events: the lines around a hit that belong to one error, assembled before matching.

A Python traceback (chained ones too), a Java trace with its `at` frames and `Caused by:`,
a Go panic with its goroutine dump, a rustc error with its code frame and a Node stack are
each one event, so each is matched once, as a whole.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

MAX_EVENT_LINES = 400

_CONTINUATION = re.compile(
    r"[ \t]|Caused by: |Suppressed: |\.\.\. \d+ more|During handling of the above|"
    r"The above exception was|Traceback \(most recent call last\)|goroutine \d+ \[|"
    r"\[signal |created by |exit status \d|\s*$|"
    r"[\w.*/\[\]()-]{1,300}\([^\n]{0,400}\)(?: \+0x[0-9a-f]{1,16})?$")  # a Go dump's function line
_BLANK_CONTINUES = re.compile(r"goroutine \d+ \[|During handling of the above|"
                              r"The above exception was|Traceback \(most recent call last\)")
# The line that closes a Python traceback's indented frames: `pkg.SomeError: message`.
_EXCEPTION_LINE = re.compile(r"(?:[A-Za-z_][\w.]{0,200}\.)?[A-Za-z_]\w{0,120}"
                             r"(?:Error|Exception|Exit|Interrupt|Warning)\b")
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
            start, line = before_start, text[before_start:before_end]
            steps += 1
            continue
        closes_frames = _EXCEPTION_LINE.match(line) and previous[:1] in " \t"
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
        if not following.strip():
            # A blank line inside a chained traceback or before a goroutine dump.
            after_start, after_end = _line_bounds(text, min(next_end + 1, len(text)))
            if next_end < len(text) and _BLANK_CONTINUES.match(text[after_start:after_end]):
                end = after_end
                steps += 1
                continue
            break
        if _continues(following):
            end = next_end
            steps += 1
            continue
        # The exception line closing a Python traceback's indented frames belongs to it.
        last_line = text[_line_bounds(text, end - 1)[0]:end] if end else ""
        if opened and last_line[:1] in " \t" and _EXCEPTION_LINE.match(following):
            end = next_end
            steps += 1
            opened = False
            continue
        break
    return start, end


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

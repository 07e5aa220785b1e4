"""Scan: every known error in a log, grouped, counted, with the unknown ones as templates.

One pass over each chunk's bytes finds the lines worth a look (where a canon's required
literal occurs, or a line that says error: see `triggers`); the lines around each are
assembled into events (a traceback is one event); each event is classified with the same
ranking as `lookup`, through a cache keyed by the event's text with its digits zeroed, so a
repeated error costs one dictionary lookup.
"""

from __future__ import annotations

import re
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from errorkb.dialect import Pattern
from errorkb.match.normalize import mask, normalize, strip_prefix
from errorkb.scan.captures import Captures
from errorkb.scan.events import Assembled, events_in
from errorkb.scan.reader import Chunk, ReadStats
from errorkb.scan.triggers import ERROR_LINE, Hits

__all__ = ["ERROR_LINE", "Group", "ScanReport", "Scanner", "Unknown", "says_an_error", "template_of"]

SCHEMA_VERSION = 1
MAX_CAPTURES = 10
MAX_TEMPLATES = 200
CACHE_LIMIT = 50_000

_DIGITS = bytes.maketrans(b"123456789", b"000000000")
# A line that only marks a level ("[ERROR]"), or a build tool's standing advice after its
# errors (Maven's "Re-run Maven using the -X switch", "-> [Help 1]"), or a fragment that only
# locates the error above it (javac's "symbol:" and "location:", pytest's "tests/t.py:22:
# TypeError" under the `E` lines it echoes), says no error of its own.
_LEVEL_MARK = re.compile(r"\[?(?:ERROR|FATAL|SEVERE|CRITICAL|Error|error)\]?:?\s*")
_ADVICE = re.compile(r"(?:-> )?\[Help \d+\]|Re-run Maven using|To see the full stack trace of the errors"
                     r"|For more information about the errors and possible solutions"
                     r"|COMPILATION ERROR\s*:?\s*$|(?:symbol|location)\s*:"
                     r"|[\w./\\-]{1,300}:\d{1,9}: [A-Za-z_][\w.]{0,200}\s*$")
# Words that count nothing that failed: a recap's `failed=0`, a result's `'failed': False`,
# Ansible's "FAILED - RETRYING:" (it tries again; the failure that counts is reported later).
_ZERO_COUNTS = re.compile(r"\b(?:failed|errors?|failures?)(?:=0\b|'?: ?(?:0\b|False\b|\[\]))"
                          r"|FAILED - RETRYING:", re.IGNORECASE)
TIMESTAMP = re.compile(r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}|[A-Z][a-z]{2} {1,2}\d{1,2} \d{2}:\d{2}:\d{2}")
_SPACES = re.compile(r"\s+")
_NONZERO_DIGITS = str.maketrans("23456789", "11111111")
_HAS_DIGIT = re.compile(r"[0-9]")


@dataclass
class Group:
    """Every occurrence of one known error."""

    canon_id: str
    count: int = 0
    first: tuple[str, int] = ("", 0)  # (source, line)
    last: tuple[str, int] = ("", 0)
    first_time: str | None = None
    last_time: str | None = None
    example: str = ""
    captures: Counter[str] = field(default_factory=Counter)


@dataclass
class Unknown:
    """Error-looking events no canon matches, grouped by masked template."""

    template: str
    count: int = 0
    first: tuple[str, int] = ("", 0)
    example: str = ""


@dataclass
class ScanReport:
    sources: list[str] = field(default_factory=list)
    stats: ReadStats = field(default_factory=ReadStats)
    events: int = 0
    seconds: float = 0.0
    groups: dict[str, Group] = field(default_factory=dict)
    unknown: dict[str, Unknown] = field(default_factory=dict)
    timeline: Counter[str] = field(default_factory=Counter)  # minute → known errors
    interrupted: bool = False
    # Where a canon goes among the known errors: 0 in the order they appear, 1 after them (its
    # cause, by the transition graph, was found too), 2 last (it only sums up or warns).
    tiers: dict[str, int] = field(default_factory=dict)

    def found(self, canon_id: str | None = None) -> bool:
        return bool(self.groups) if canon_id in (None, "any") else canon_id in self.groups

    def to_dict(self) -> dict[str, Any]:
        """The stable JSON shape of a scan (docs/scan-report.md)."""
        # In the order they first appear: the first error in a failed run is most often the
        # one the others follow from, and a build tool repeats its summary of it many times.
        source_index = {name: i for i, name in enumerate(self.sources)}
        groups = sorted(self.groups.values(), key=lambda g: (
            self.tiers.get(g.canon_id, 0), source_index.get(g.first[0], 0), g.first[1], g.canon_id))
        unknown = sorted(self.unknown.values(), key=lambda u: (-u.count, u.template))
        return {
            "schema_version": SCHEMA_VERSION,
            "sources": self.sources,
            "stats": {"bytes": self.stats.bytes_read, "lines": self.stats.lines,
                      "events": self.events, "long_lines_cut": self.stats.long_lines,
                      "invalid_utf8": self.stats.replaced_bytes,
                      "seconds": round(self.seconds, 3), "interrupted": self.interrupted},
            "known": [{"id": g.canon_id, "count": g.count,
                       "first": {"source": g.first[0], "line": g.first[1], "time": g.first_time},
                       "last": {"source": g.last[0], "line": g.last[1], "time": g.last_time},
                       "example": g.example,
                       "captures": [{"value": v, "count": n}
                                    for v, n in g.captures.most_common(MAX_CAPTURES)]}
                      for g in groups],
            "unknown": [{"n": i + 1, "template": u.template, "count": u.count,
                         "first": {"source": u.first[0], "line": u.first[1]},
                         "example": u.example} for i, u in enumerate(unknown)],
            "timeline": dict(sorted(self.timeline.items())),
        }


Classify = Callable[[str], tuple[str | None, list[str]]]
PatternOf = Callable[[str], Pattern | None]  # a canon's compiled regex, for its captures


def says_an_error(text: str) -> bool:
    """Whether an event no canon knows is worth listing as an unknown error."""
    if ERROR_LINE.search(_ZERO_COUNTS.sub("", text)) is None:
        return False
    if "\n" in text.strip():
        return True
    body = _LEVEL_MARK.sub("", strip_prefix(text).strip(), count=1)
    return len(body.split()) >= 2 and _ADVICE.match(body) is None


def template_of(text: str) -> str:
    """The masked shape of an event's decisive line: numbers, ids, paths and hosts hidden."""
    if _one_plain_line(text):  # its own decisive line: no need to normalise
        return masked_line(strip_prefix(text))
    norm = normalize(text)
    if norm.decisive:
        start, end, _ = max(norm.decisive, key=lambda d: d[2])
        line = norm.text[start:end]
    else:
        line = text.split("\n", 1)[0]
    return masked_line(strip_prefix(line))


def _one_plain_line(text: str) -> bool:
    return "\n" not in text and "\x1b" not in text


def masked_line(line: str) -> str:
    """A line (its timestamp prefix stripped) with volatile tokens and quoted names masked.
    The masks tell digits apart only as digits (and `0x`), so when the result keeps no digit,
    every line that differs only in its digits 1-9 has the same result (`Scanner` caches it)."""
    masked = re.sub(r"'[^'\n]{1,200}'|\"[^\"\n]{1,200}\"", "<str>", mask(line))
    return _SPACES.sub(" ", masked).strip()[:300]


class Scanner:
    """Scan chunks with one classifier; accumulates into one report."""

    def __init__(self, triggers: Callable[[Chunk], Hits], classify: Classify,
                 pattern_of: PatternOf) -> None:
        self._triggers = triggers
        self._classify = classify
        self._captures = Captures(pattern_of)
        # Event text with digits zeroed → (canon id, captures, whether it says an error).
        self._cache: dict[bytes, tuple[str | None, list[str], bool]] = {}
        self._templates: dict[str, str] = {}
        self._assembled: Assembled = {}
        self.report = ScanReport()

    def _template(self, text: str) -> str:
        """`template_of(text)`, through a cache for one-line events keyed by the line without
        its timestamp prefix and with digits 1-9 as 1, holding the templates without digits
        (see `masked_line`)."""
        if not _one_plain_line(text):
            return template_of(text)
        line = strip_prefix(text)
        key = line.translate(_NONZERO_DIGITS)
        template = self._templates.get(key)
        if template is None:
            template = masked_line(line)
            if len(self._templates) < CACHE_LIMIT and not _HAS_DIGIT.search(template):
                self._templates[key] = template
        return template

    def _classified(self, event_text: str, key: bytes) -> tuple[str | None, list[str], bool]:
        """(canon id or None, captured values, whether the text says error) of an event whose
        text with digits zeroed is `key`."""
        cached = self._cache.get(key)
        if cached is not None:
            canon_id = cached[0]
            # Captured values differ between occurrences: take them from this event.
            return (canon_id, self._captures.of(canon_id, key, event_text), True) \
                if canon_id else cached
        canon_id, captures = self._classify(event_text)
        result = (canon_id, captures, canon_id is not None or says_an_error(event_text))
        if len(self._cache) < CACHE_LIMIT:
            self._cache[key] = result
        return result

    def feed(self, chunk: Chunk) -> None:
        report = self.report
        hits = self._triggers(chunk)
        cache = self._cache
        for raw, block, lines_into_block in events_in(chunk.data, hits.triggers, hits.joining,
                                                      self._assembled):
            # The key: cheap, timestamps and counters do not split it. `says_an_error` sees digits
            # only as digits, so its answer holds for every text of one key.
            if raw.isascii():
                key = raw.translate(_DIGITS)
                text = None
            else:
                text = raw.decode("utf-8", "replace")
                key = text.encode().translate(_DIGITS)
            cached = cache.get(key)
            if cached is not None and cached[0] is None and not cached[2]:
                report.events += 1  # known to say nothing (and not blank: it was classified)
                continue
            if text is None:
                text = raw.decode("ascii")
            if not text.strip():
                continue
            report.events += 1
            canon_id, captures, says_error = self._classified(text, key)
            if canon_id is None:
                if not says_error:
                    continue
                template = self._template(text)
                unknown = report.unknown.get(template)
                where = (chunk.source, chunk.line_at(block) + lines_into_block)
                if unknown is None:
                    if len(report.unknown) >= MAX_TEMPLATES:
                        continue
                    unknown = report.unknown[template] = Unknown(template, first=where,
                                                                 example=text[:2000])
                unknown.count += 1
                continue
            where = (chunk.source, chunk.line_at(block) + lines_into_block)
            stamp = TIMESTAMP.search(text[:200])
            when = stamp.group(0) if stamp else None
            group = report.groups.get(canon_id)
            if group is None:
                group = report.groups[canon_id] = Group(canon_id, first=where, first_time=when,
                                                        example=text[:2000])
            group.count += 1
            group.last = where
            group.last_time = when or group.last_time
            group.captures.update(captures[:3])
            if when and when[:4].isdigit():
                report.timeline[when[:16].replace("T", " ")] += 1

    def run(self, chunks: Iterable[Chunk], on_progress: Callable[[int], None] | None = None) -> ScanReport:
        started = time.perf_counter()
        try:
            for chunk in chunks:
                self.feed(chunk)
                if on_progress is not None:
                    on_progress(self.report.stats.bytes_read)
        except KeyboardInterrupt:
            self.report.interrupted = True
        self.report.seconds += time.perf_counter() - started
        return self.report

"""Scan: every known error in a log, grouped, counted, with the unknown ones as templates.

One pass per chunk finds the places worth a look (where a canon's required literal occurs,
or a line that says error); the lines around each are assembled into events (a traceback is
one event); each event is classified with the same ranking as `lookup`, through a cache keyed
by the event's masked text, so a repeated error costs one dictionary lookup.
"""

from __future__ import annotations

import re
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from errorkb.match.normalize import mask, normalize, strip_prefix
from errorkb.scan.events import Event, assemble
from errorkb.scan.reader import Chunk, ReadStats

SCHEMA_VERSION = 1
MAX_CAPTURES = 10
MAX_TEMPLATES = 200
CACHE_LIMIT = 50_000

# Lines that say something failed, for errors no canon knows.
ERROR_LINE = re.compile(
    r"\b(?:ERROR|FATAL|CRITICAL|PANIC|SEVERE|Traceback \(most recent|Exception in thread|panic: |"
    r"(?:[A-Z]\w{0,60})?(?:Error|Exception)(?::|\b)|error(?:\[E\d+\])?: |fatal: |failed|Failed|FAILED)")
# Cheap first look for ERROR_LINE's words in lower-cased text; ERROR_LINE then decides.
ERROR_WORDS = re.compile(r"error|fatal|critical|panic|severe|exception|traceback|failed")
_DIGITS = str.maketrans("0123456789", "0000000000")
TIMESTAMP = re.compile(r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}|[A-Z][a-z]{2} {1,2}\d{1,2} \d{2}:\d{2}:\d{2}")
_SPACES = re.compile(r"\s+")


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

    def found(self, canon_id: str | None = None) -> bool:
        return bool(self.groups) if canon_id in (None, "any") else canon_id in self.groups

    def to_dict(self) -> dict[str, Any]:
        """The stable JSON shape of a scan (docs/scan-report.md)."""
        groups = sorted(self.groups.values(), key=lambda g: (-g.count, g.canon_id))
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
Capture = Callable[[str, str], list[str]]


def template_of(text: str) -> str:
    """The masked shape of an event's decisive line: numbers, ids, paths and hosts hidden."""
    norm = normalize(text)
    if norm.decisive:
        start, end, _ = max(norm.decisive, key=lambda d: d[2])
        line = norm.text[start:end]
    else:
        line = text.split("\n", 1)[0]
    masked = mask(strip_prefix(line))
    masked = re.sub(r"'[^'\n]{1,200}'|\"[^\"\n]{1,200}\"", "<str>", masked)
    return _SPACES.sub(" ", masked).strip()[:300]


class Scanner:
    """Scan chunks with one classifier; accumulates into one report."""

    def __init__(self, triggers: Callable[[str], list[int]], classify: Classify,
                 capture: Capture) -> None:
        self._triggers = triggers
        self._classify = classify
        self._capture = capture
        self._cache: dict[str, tuple[str | None, list[str]]] = {}
        self.report = ScanReport()

    def _event_offsets(self, text: str) -> list[int]:
        lowered = text.lower()
        offsets = self._triggers(lowered)
        checked_line = -1
        for word in ERROR_WORDS.finditer(lowered):
            start = text.rfind("\n", 0, word.start()) + 1
            if start == checked_line:
                continue
            checked_line = start
            end = text.find("\n", start)
            if ERROR_LINE.search(text, start, len(text) if end < 0 else end):
                offsets.append(word.start())
        return offsets

    def _classified(self, event_text: str) -> tuple[str | None, list[str]]:
        key = event_text.translate(_DIGITS)  # cheap: timestamps and counters do not split it
        cached = self._cache.get(key)
        if cached is not None:
            canon_id, _ = cached
            # Captured values differ between occurrences: take them from this event.
            return (canon_id, self._capture(canon_id, event_text)) if canon_id else cached
        result = self._classify(event_text)
        if len(self._cache) < CACHE_LIMIT:
            self._cache[key] = result
        return result

    def feed(self, chunk: Chunk) -> None:
        report = self.report
        events: Iterator[Event] = iter(assemble(chunk.text, self._event_offsets(chunk.text),
                                                chunk.first_line))
        for event in events:
            text = event.text(chunk.text)
            if not text.strip():
                continue
            report.events += 1
            canon_id, captures = self._classified(text)
            where = (chunk.source, event.line)
            stamp = TIMESTAMP.search(text[:200])
            when = stamp.group(0) if stamp else None
            if canon_id is None:
                if ERROR_LINE.search(text) is None:
                    continue
                template = template_of(text)
                unknown = report.unknown.get(template)
                if unknown is None:
                    if len(report.unknown) >= MAX_TEMPLATES:
                        continue
                    unknown = report.unknown[template] = Unknown(template, first=where,
                                                                 example=text[:2000])
                unknown.count += 1
                continue
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

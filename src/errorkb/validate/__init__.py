"""The validator: canons in, findings out. Never raises on a bad canon.

Per-canon rules live in `rules.py`; rules across canons (duplicate ids and signatures,
over-broad regexes, unresolved transition ids) live here.
"""

from __future__ import annotations

import bisect
from collections import defaultdict
from collections.abc import Iterable, Iterator

from errorkb.dialect import RegexError, compile_regex
from errorkb.match.rank import SUMMARY_TAG
from errorkb.model import Canon, Finding
from errorkb.records import Loaded
from errorkb.validate.rules import RULES, Subject

SEPARATOR = "\n\x00\n"


def check(loaded: Iterable[Loaded], known_ids: Iterable[str] = ()) -> list[Finding]:
    """Findings for these canons; `known_ids` are other canons transition links may point to."""
    subjects = [Subject(item.canon, item.file, item.line, not item.from_exchange)
                for item in loaded]
    findings = [f for s in subjects for rule in RULES for f in rule(s)]
    findings += duplicates(subjects)
    findings += unresolved_links(subjects, set(known_ids))
    findings += over_broad(subjects)
    return findings


def duplicates(subjects: list[Subject]) -> Iterator[Finding]:
    by_id: dict[str, list[Subject]] = defaultdict(list)
    by_signature: dict[str, list[Subject]] = defaultdict(list)
    for s in subjects:
        by_id[s.canon.id].append(s)
        by_signature[s.canon.signature.strip().lower()].append(s)
    for canon_id, group in by_id.items():
        for s in group[1:]:
            yield s.finding("error", "duplicate-id", "id",
                            f"id `{canon_id}` is also defined in {group[0].file}",
                            "give each canon its own id")
    for group in by_signature.values():
        ids = sorted({s.canon.id for s in group})
        if len(ids) > 1:
            others = ", ".join(i for i in ids if i != group[1].canon.id)
            yield group[1].finding("warning", "duplicate-signature", "signature",
                                   f"same signature as {others}: {group[0].canon.signature!r}",
                                   "merge the canons, or make each signature specific")


def unresolved_links(subjects: list[Subject], known: set[str]) -> Iterator[Finding]:
    known = known | {s.canon.id for s in subjects}
    for s in subjects:
        graph = s.canon.transition_graph
        links = [("leads_to", t.error_id) for t in graph.leads_to]
        links += [("preceded_by", t.error_id) for t in graph.preceded_by]
        links += [("frequently_confused_with", c.error_id) for c in graph.frequently_confused_with]
        missing = [(kind, target) for kind, target in links if target not in known]
        if missing:
            shown = ", ".join(f"{k} → {t}" for k, t in missing[:5])
            yield s.finding("warning", "unresolved-link", f"transition_graph.{missing[0][0]}",
                            f"links to unknown canons: {shown}"
                            + (f" and {len(missing) - 5} more" if len(missing) > 5 else ""),
                            "fix the id or write that canon")


def over_broad(subjects: list[Subject]) -> Iterator[Finding]:
    """A regex that matches another canon's examples or signature, unless the two canons say
    they are confused with each other (the overlap is then known and explained)."""
    texts: list[str] = []
    owners: list[str] = []
    for s in subjects:
        for text in [s.canon.signature, *s.canon.examples]:
            texts.append(text)
            owners.append(s.canon.id)
    corpus = SEPARATOR.join(texts)
    starts = []
    offset = 0
    for text in texts:
        starts.append(offset)
        offset += len(text) + len(SEPARATOR)
    related = _related_pairs(subjects)
    for s in subjects:
        try:
            pattern = compile_regex(s.canon.regex, s.canon.case_sensitive)
        except RegexError:
            continue
        if pattern.search("") is not None or SUMMARY_TAG in s.canon.tags:
            continue  # a summary's line closes other canons' logs by design; it ranks below them
        hit_ids = []
        for match in pattern.finditer(corpus):
            first = bisect.bisect_right(starts, match.start()) - 1
            last = bisect.bisect_right(starts, max(match.end() - 1, match.start())) - 1
            for k in range(first, last + 1):
                owner = owners[k]
                if owner == s.canon.id or (s.canon.id, owner) in related or owner in hit_ids:
                    continue
                if first == last or pattern.search(texts[k]) is not None:
                    hit_ids.append(owner)
        if hit_ids:
            shown = ", ".join(hit_ids[:5]) + (f" and {len(hit_ids) - 5} more" if len(hit_ids) > 5 else "")
            yield s.finding("warning", "over-broad-regex", "regex",
                            f"regex {s.canon.regex!r} also matches examples of {shown}",
                            "make the regex specific, or link the canons with "
                            "frequently_confused_with and say how to tell them apart")


def _related_pairs(subjects: list[Subject]) -> set[tuple[str, str]]:
    pairs: set[tuple[str, str]] = set()
    for s in subjects:
        for c in s.canon.transition_graph.frequently_confused_with:
            pairs.add((s.canon.id, c.error_id))
            pairs.add((c.error_id, s.canon.id))
    return pairs


def summarize(findings: Iterable[Finding]) -> dict[str, int]:
    counts = {"error": 0, "warning": 0, "info": 0}
    for f in findings:
        counts[f.severity] = counts.get(f.severity, 0) + 1
    return counts


__all__ = ["Canon", "check", "summarize"]

"""Rules on one canon. Each rule yields findings; codes are stable and documented in
docs/canon-format.md. Completeness rules (examples, translations) apply to canon files in a
corpus, not to exchange records, whose format has no such fields.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from errorkb.dialect import compile_regex, regex_problem
from errorkb.model import (
    DATE_PATTERN,
    ESTIMATE_TIERS,
    ID_PATTERN,
    RESOLVABLE_VALUES,
    VERIFICATION_TIERS,
    VERSION_STATUSES,
    Canon,
    Finding,
)

CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
URL = re.compile(r"https?://[^\s/$.?#][^\s]*")
CONFIDENT = 0.5


@dataclass(frozen=True)
class Subject:
    """The canon under check and where it came from."""

    canon: Canon
    file: str = ""
    line: int | None = None
    completeness: bool = True

    def finding(self, severity: str, code: str, field: str, message: str, hint: str) -> Finding:
        return Finding(severity=severity, code=code, canon_id=self.canon.id, field=field,
                       message=message, hint=hint, file=self.file, line=self.line)


Rule = Callable[[Subject], Iterator[Finding]]
RULES: list[Rule] = []


def rule(fn: Rule) -> Rule:
    RULES.append(fn)
    return fn


def _quote(value: Any, limit: int = 80) -> str:
    text = str(value)
    return repr(text if len(text) <= limit else text[: limit - 3] + "...")


@rule
def identity(s: Subject) -> Iterator[Finding]:
    c = s.canon
    if not ID_PATTERN.fullmatch(c.id):
        yield s.finding("error", "bad-id", "id", f"id {_quote(c.id)} is not `domain/slug`",
                        "use lowercase letters, digits, `-`, `_` and `.`: e.g. `network/econnreset`")
    elif c.id.split("/", 1)[0] != c.domain:
        yield s.finding("error", "domain-mismatch", "domain",
                        f"domain {_quote(c.domain)} differs from the id's domain part "
                        f"{_quote(c.id.split('/', 1)[0])}", "make them the same")
    for name in ("signature", "regex", "domain"):
        if not getattr(c, name).strip():
            yield s.finding("error", "empty-field", name, f"`{name}` is empty", f"write a {name}")


@rule
def regex_compiles_and_matches(s: Subject) -> Iterator[Finding]:
    c = s.canon
    if not c.regex.strip():
        return
    problem = regex_problem(c.regex, c.case_sensitive)
    if problem is not None:
        yield s.finding("error", "regex-invalid", "regex",
                        f"regex {_quote(c.regex)} does not compile under RE2: {problem}",
                        "RE2 syntax only: no backreferences, no lookahead or lookbehind")
        return
    pattern = compile_regex(c.regex, c.case_sensitive)
    if pattern.search("") is not None:
        yield s.finding("error", "regex-matches-empty", "regex",
                        f"regex {_quote(c.regex)} matches empty text, so it matches anything",
                        "require at least one literal word of the message")
    if c.signature and pattern.search(c.signature) is None:
        yield s.finding("error", "regex-misses-signature", "regex",
                        f"regex {_quote(c.regex)} does not match the signature "
                        f"{_quote(c.signature)}", "widen the regex or fix the signature")
    for i, example in enumerate(c.examples):
        if pattern.search(example) is None:
            yield s.finding("error", "regex-misses-example", f"examples[{i}]",
                            f"regex does not match example {_quote(example)}",
                            "widen the regex or drop the example")


@rule
def rates_in_range(s: Subject) -> Iterator[Finding]:
    c = s.canon
    values: list[tuple[str, float | None]] = [("confidence", c.confidence),
                                              ("fix_success_rate", c.fix_success_rate)]
    values += [(f"dead_ends[{i}].fail_rate", d.fail_rate) for i, d in enumerate(c.dead_ends)]
    values += [(f"workarounds[{i}].success_rate", w.success_rate)
               for i, w in enumerate(c.workarounds)]
    values += [(f"transition_graph.{kind}[{i}].probability", t.probability)
               for kind in ("leads_to", "preceded_by")
               for i, t in enumerate(getattr(c.transition_graph, kind))]
    for name, value in values:
        if value is not None and not 0.0 <= value <= 1.0:
            yield s.finding("error", "rate-out-of-range", name,
                            f"{name} is {value}, outside [0, 1]", "write a probability from 0 to 1")
    if c.evidence_count < 0:
        yield s.finding("error", "rate-out-of-range", "evidence_count",
                        f"evidence_count is {c.evidence_count}", "count from 0")


@rule
def enums_and_dates(s: Subject) -> Iterator[Finding]:
    c = s.canon
    if c.resolvable not in RESOLVABLE_VALUES:
        yield s.finding("error", "bad-value", "resolvable",
                        f"resolvable is {_quote(c.resolvable)}",
                        f"one of: {', '.join(RESOLVABLE_VALUES)}")
    for i, v in enumerate(c.versions):
        if v.status not in VERSION_STATUSES:
            yield s.finding("error", "bad-value", f"versions[{i}].status",
                            f"status is {_quote(v.status)}", f"one of: {', '.join(VERSION_STATUSES)}")
    if c.verification_tier not in VERIFICATION_TIERS:
        yield s.finding("warning", "unknown-tier", "verification_tier",
                        f"verification_tier {_quote(c.verification_tier)} is not one we know",
                        f"one of: {', '.join(VERIFICATION_TIERS)}")
    dates = {"first_seen": c.first_seen, "last_confirmed": c.last_confirmed,
             "last_updated": c.last_updated}
    for name, value in dates.items():
        if value is not None and not DATE_PATTERN.fullmatch(value):
            yield s.finding("error", "bad-date", name, f"{name} is {_quote(value)}",
                            "write a date as 'YYYY-MM-DD' (quoted)")
    ordered = [(n, v) for n, v in dates.items() if v is not None and DATE_PATTERN.fullmatch(v)]
    for (a, va), (b, vb) in itertools.pairwise(ordered):
        if va > vb:
            yield s.finding("warning", "date-order", a, f"{a} {va} is after {b} {vb}",
                            "first_seen ≤ last_confirmed ≤ last_updated")


def _zh_pairs(c: Canon) -> Iterator[tuple[str, str, str]]:
    """(field, English, Chinese) for every translated text of a canon."""
    yield "signature_zh", c.signature, c.signature_zh
    yield "root_cause_zh", c.root_cause, c.root_cause_zh
    for i, d in enumerate(c.dead_ends):
        yield f"dead_ends[{i}].action_zh", d.action, d.action_zh
        yield f"dead_ends[{i}].why_fails_zh", d.why_fails, d.why_fails_zh
        yield f"dead_ends[{i}].condition_zh", d.condition, d.condition_zh
    for i, w in enumerate(c.workarounds):
        yield f"workarounds[{i}].action_zh", w.action, w.action_zh
        yield f"workarounds[{i}].how_zh", w.how, w.how_zh
        yield f"workarounds[{i}].condition_zh", w.condition, w.condition_zh
    for kind in ("leads_to", "preceded_by"):
        for i, t in enumerate(getattr(c.transition_graph, kind)):
            yield f"transition_graph.{kind}[{i}].condition_zh", t.condition, t.condition_zh
    for i, f in enumerate(c.transition_graph.frequently_confused_with):
        yield (f"transition_graph.frequently_confused_with[{i}].distinction_zh", f.distinction,
               f.distinction_zh)


@rule
def chinese_is_chinese(s: Subject) -> Iterator[Finding]:
    c = s.canon
    not_chinese = [name for name, _, zh in _zh_pairs(c) if zh.strip() and not CJK.search(zh)]
    if not_chinese:
        yield s.finding("warning", "not-chinese", not_chinese[0],
                        f"{', '.join(not_chinese)}: no Chinese text", "translate into Chinese")
    bad_list = [i for i, text in enumerate(c.workarounds_zh) if not CJK.search(text)]
    if bad_list:
        yield s.finding("warning", "not-chinese", "workarounds_zh",
                        f"workarounds_zh {bad_list} contain no Chinese, e.g. "
                        f"{_quote(c.workarounds_zh[bad_list[0]])}",
                        "translate each workaround into Chinese (or use workarounds[].action_zh)")
    if len(c.workarounds_zh) not in (0, len(c.workarounds)):
        yield s.finding("warning", "zh-count", "workarounds_zh",
                        f"{len(c.workarounds_zh)} entries for {len(c.workarounds)} workarounds",
                        "one Chinese text per workaround")


@rule
def translations_present(s: Subject) -> Iterator[Finding]:
    if not s.completeness:
        return
    missing = [name for name, en, zh in _zh_pairs(s.canon) if en.strip() and not zh.strip()]
    if missing:
        shown = ", ".join(missing[:6]) + (f" and {len(missing) - 6} more" if len(missing) > 6 else "")
        yield s.finding("warning", "missing-translation", missing[0],
                        f"no Chinese for {shown}", "add the `_zh` text")


@rule
def examples_present(s: Subject) -> Iterator[Finding]:
    if s.completeness and not s.canon.examples:
        yield s.finding("warning", "missing-examples", "examples", "no examples",
                        "add at least three messages as programs print them")


@rule
def sources(s: Subject) -> Iterator[Finding]:
    c = s.canon
    items = [("dead_ends", i, d.sources) for i, d in enumerate(c.dead_ends)]
    items += [("workarounds", i, w.sources) for i, w in enumerate(c.workarounds)]
    for kind, i, urls in items:
        for url in urls:
            if not URL.fullmatch(url):
                yield s.finding("warning", "source-not-url", f"{kind}[{i}].sources",
                                f"source {_quote(url)} is not an http(s) URL", "cite a URL")
    if c.official_doc_url is not None and not URL.fullmatch(c.official_doc_url):
        yield s.finding("warning", "source-not-url", "official_doc_url",
                        f"official_doc_url {_quote(c.official_doc_url)} is not an http(s) URL",
                        "cite a URL")
    if (c.dead_ends or c.workarounds) and not c.all_sources():
        yield s.finding("warning", "no-sources", "sources",
                        "no dead end or workaround cites a source",
                        "add the URLs the advice comes from")


@rule
def how_adds_something(s: Subject) -> Iterator[Finding]:
    repeats = [i for i, w in enumerate(s.canon.workarounds)
               if w.how.strip() and _squash(w.how) in _squash(w.action)]
    if repeats:
        yield s.finding("warning", "how-repeats-action", f"workarounds[{repeats[0]}].how",
                        f"workarounds {repeats}: `how` only repeats `action`",
                        "give the concrete steps, commands or config in `how`")


def _squash(text: str) -> str:
    return " ".join(text.lower().split())


@rule
def confidence_backed(s: Subject) -> Iterator[Finding]:
    c = s.canon
    if c.verification_tier in ESTIMATE_TIERS or c.evidence_count > 1 or c.all_sources():
        return
    confident = [(n, v) for n, v in (("confidence", c.confidence),
                                     ("fix_success_rate", c.fix_success_rate))
                 if v is not None and v >= CONFIDENT]
    if confident:
        stated = ", ".join(f"{n} {v:g}" for n, v in confident)
        yield s.finding("warning", "unsupported-confidence", confident[0][0],
                        f"{stated} on evidence_count {c.evidence_count} with no sources",
                        "cite sources, or set verification_tier: estimated")

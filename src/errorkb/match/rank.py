"""Rank candidates with a score split into named parts, so every answer explains itself.

Parts (they add up to the score, clipped to [0, 1]):
- `regex`: a canon regex matched; more for more literal characters the regex requires
  (specificity), not for how much text a `.*` swallowed.
- `decisive`: the hit is on a decisive line (the exception line, the root `Caused by:`, the
  panic line, the log line that says error), not elsewhere in the input.
- `codes`: the input names an error code the canon names (or a different code of the same kind);
  a code that only this canon names (`owned`: SQLSTATE 28P01, TS2307, ERROR 1045, ...) counts
  `CODE_ALONE` without a regex hit, enough for a known match: a message cut short or printed in
  another language still names its error by its code.
- `environment`: `--env` names a product/version or OS the canon is about (or another OS).
- `lexical`: the share of the input's decisive words found in the canon (idf-weighted);
  without a regex hit it is squared, scaled down under five query words, and code agreement
  halved, so words alone need a near-complete cover of enough words to count as a match; and
  when more than two canons found by words alone cover them at least about as well, the words
  do not say which error it is: the part is shared out among them (2/k each of k such canons).
  Words alone must also name the canon: a candidate they would make a known match keeps its
  part in full only when the input holds at least `NAMED_SHARE` of one of the canon's names
  (its signature or an alias, idf-weighted), and the square of its share of that below it
  (a generic "CMake Error at CMakeLists.txt" names no CMake canon). A generic line
  quoted inside a specific canon's examples ("OCI runtime create failed") names none of them.
- `consequence`: the canon's cause is a known match in the same input (the consequence's
  `preceded_by`, or the cause's `leads_to`; for a canon tagged `summary`, any other hit; for
  one tagged `warning`, any other hit but summaries; for a canon whose hit lies inside the hit
  of one tagged `context`, that one): the cause is the one to fix, so the consequence goes just
  below it (and stays a known match if it was one).
Below `THRESHOLD` the answer is "no known match"; the best candidates are then returned
as `nearest`, marked as such.
"""

from __future__ import annotations

import re
from bisect import bisect_left
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

from errorkb.match.engine import RegexHit
from errorkb.match.normalize import Normalized
from errorkb.model import Canon

THRESHOLD = 0.5
REGEX_BASE = 0.4
REGEX_SPECIFICITY = 0.25
SPECIFIC_CHARS = 30
DECISIVE = 0.15
CODE_AGREES = 0.15
CODE_CONFLICTS = -0.2
CODE_ALONE = 0.5
CONSEQUENCE_GAP = 0.01  # how far below its cause a consequence goes
SUMMARY_TAG = "summary"  # a canon that only reports that something before it failed
WARNING_TAG = "warning"  # a canon of a warning: an error found beside it ranks above it
CONTEXT_TAG = "context"  # a canon whose regex frames another error's message: it ranks above it
RANKING_TAGS = frozenset({SUMMARY_TAG, WARNING_TAG, CONTEXT_TAG})
ENV_FITS = 0.05
ENV_OTHER_OS = -0.05
LEXICAL_ONLY = 0.6
LEXICAL_WITH_REGEX = 0.1
MIN_LEXICAL_TERMS = 5
WORD_TIES = 2  # canons found by words alone that may cover the words equally and all count
TIE_MARGIN = 0.03  # shares of the query's words this close count as equal
NAMED_SHARE = 0.3  # the share of a canon's name the input must hold for words alone to count
# The least share of the query's words a canon needs to be a known match on words alone:
# 0.6 x share² with codes agreeing (0.075) and the environment fitting twice reaches 0.5.
KNOWN_LEXICAL_SHARE = ((THRESHOLD - CODE_AGREES / 2 - 2 * ENV_FITS) / LEXICAL_ONLY) ** 0.5

PART_NAMES = ("regex", "decisive", "lexical", "codes", "consequence", "environment")
_CONSEQUENCE = PART_NAMES.index("consequence")
NUMBERED_CODE_KINDS = frozenset({"winerror", "errno", "rust", "ts", "dotnet", "mysql", "sqlstate", "pg",
                                 "systemd"})
# Codes that say how something ended rather than which error it was. They name no canon on
# their own, and as they are often incidental in a canon's own text ("Status code: 200.") they
# contradict only words: "script returned exit code 1" is not the exit-137 canon.
VAGUE_CODE_KINDS = frozenset({"exit", "http"})
WORDS_CONFLICTING_KINDS = NUMBERED_CODE_KINDS | VAGUE_CODE_KINDS
OS_NAMES = {"linux": "linux", "windows": "windows", "win": "windows", "macos": "macos",
            "mac": "macos", "darwin": "macos", "osx": "macos", "android": "android",
            "ios": "ios", "freebsd": "freebsd"}


@dataclass(frozen=True)
class Environment:
    """What `--env "lwIP 2.1.3; linux"` says: products (with versions) and an OS."""

    products: tuple[str, ...] = ()
    os: str | None = None

    @classmethod
    def parse(cls, text: str | None) -> Environment:
        if not text:
            return NO_ENVIRONMENT  # one shared empty environment: lookups without --env
        products: list[str] = []
        os_name = None
        for part in re.split(r"[;,]", text):
            part = part.strip()
            if not part:
                continue
            if part.lower() in OS_NAMES:
                os_name = OS_NAMES[part.lower()]
            else:
                products.append(part.lower())
        return cls(tuple(products), os_name)


NO_ENVIRONMENT = Environment()


@dataclass(frozen=True)
class CandidateFacts:
    """What ranking needs about a canon besides its record (kept in the index)."""

    id: str
    domain: str
    weight: int  # literal characters its regex requires
    codes: frozenset[str]
    terms: frozenset[str]
    # The ids its transition graph names as causes or consequences, and its RANKING_TAGS: when
    # known (not None) for every canon hit, ranking sees without reading their records that
    # none of them causes another (the common case, even with several hits).
    related: frozenset[str] | None = None
    roles: frozenset[str] = frozenset()


@dataclass(slots=True)
class Match:
    """One ranked candidate; `parts` name what its score is made of (they add up to it)."""

    key: int
    canon_id: str
    score: float
    part_values: tuple[float, ...]  # in PART_NAMES order (environment only when given)
    hit: RegexHit | None  # the regex hit it was ranked on (on the best decisive line)
    text: str  # the normalised input the hit's offsets point into
    known: bool = True

    @property
    def parts(self) -> dict[str, float]:
        return {name: value for name, value in zip(PART_NAMES, self.part_values, strict=False) if value}

    @property
    def captures(self) -> list[str]:
        return list(self.hit.groups) if self.hit else []

    @property
    def named(self) -> dict[str, str]:
        return dict(self.hit.named) if self.hit else {}

    @property
    def matched_text(self) -> str:
        return self.text[self.hit.start:self.hit.end][:300] if self.hit else ""


def _code_part(input_codes: frozenset[str], canon_codes: frozenset[str],
               conflicting: frozenset[str] = NUMBERED_CODE_KINDS) -> float:
    if not input_codes or not canon_codes:
        return 0.0
    if input_codes & canon_codes:
        return CODE_AGREES
    input_kinds = {c.split(":", 1)[0] for c in input_codes}
    canon_kinds = {c.split(":", 1)[0] for c in canon_codes}
    # Only numbered codes of one kind contradict each other (errno 104 vs errno 111); names
    # may be spelled several ways (ExpiredToken / ExpiredTokenException).
    shared_kinds = (input_kinds & canon_kinds) & conflicting
    return CODE_CONFLICTS if shared_kinds else 0.0


def _env_part(env: Environment, canon: Canon) -> float:
    if not env.products and env.os is None:
        return 0.0
    score = 0.0
    versions = " ".join(v.version.lower() for v in canon.versions)
    if any(p.split()[0] in versions for p in env.products if p.split()):
        score += ENV_FITS
    if env.os is not None and canon.os_specific:
        score += ENV_FITS if env.os in canon.os_specific else ENV_OTHER_OS
    return score


def graph_causes(canons: Iterable[Canon]) -> dict[str, set[str]]:
    """Canon id → the other canons given that cause it, by their transition graphs (its
    `preceded_by`, their `leads_to`); canons that name each other cause neither."""
    canons = list(canons)
    ids = {canon.id for canon in canons}
    linked: dict[str, set[str]] = {}
    for canon in canons:
        graph = canon.transition_graph
        for edge in graph.preceded_by:
            if edge.error_id in ids and edge.error_id != canon.id:
                linked.setdefault(canon.id, set()).add(edge.error_id)
        for edge in graph.leads_to:
            if edge.error_id in ids and edge.error_id != canon.id:
                linked.setdefault(edge.error_id, set()).add(canon.id)
    return {canon_id: {cause for cause in found if canon_id not in linked.get(cause, ())}
            for canon_id, found in linked.items()}


def _causes_hit(spans: Mapping[int, tuple[int, int]], facts: Mapping[int, CandidateFacts],
                canon_of: Callable[[int], Canon]) -> dict[int, set[int]]:
    """Hit canon → the other hit canons that cause it, by the hit canons' transition graphs
    (`graph_causes`). Tags come over the graphs: a canon tagged `summary` only says that
    something above it failed ("npm ERR! code ELIFECYCLE", "ERROR: Job failed"), so every
    other hit canon is its cause; a canon tagged `warning` goes below every other hit canon
    but summaries (Apache's ServerName warning printed just before the bind error that stopped
    it), whatever their graphs say of one another; a canon tagged `context` frames other
    errors' messages in its hit (`spans`: each hit canon's hit) and goes above the canons hit
    inside it ("Readiness probe failed: dial tcp ...: connection refused" is the probe's
    failure)."""
    hit_facts = [facts[key] for key in spans if key in facts]
    ids = {fact.id for fact in hit_facts}
    if not any(fact.roles or fact.related is None or fact.related & ids for fact in hit_facts):
        return {}  # no ranking tag, no graph link among the canons hit (known from their facts)
    key_of = {facts[key].id: key for key in spans if key in facts}
    causes = {key_of[canon_id]: {key_of[cause] for cause in found}
              for canon_id, found in graph_causes([canon_of(key) for key in key_of.values()]).items()}
    for outer, (start, end) in spans.items():
        if CONTEXT_TAG in canon_of(outer).tags:
            for inner, (inner_start, inner_end) in spans.items():
                if inner != outer and start <= inner_start and inner_end <= end:
                    causes.setdefault(inner, set()).add(outer)
                    causes.get(outer, set()).discard(inner)
    hit = set(key_of.values())
    summaries = {key for key in hit if SUMMARY_TAG in canon_of(key).tags}
    warnings = {key for key in hit if WARNING_TAG in canon_of(key).tags} - summaries
    for tagged, above in [(summaries, hit - summaries), (warnings, hit - summaries - warnings)]:
        for key in tagged:
            causes[key] = causes.get(key, set()) | above
            for cause in above:
                causes.get(cause, set()).discard(key)
    return causes


def _below_causes(scored: list[tuple[float, str, int, tuple[float, ...]]],
                  causes: dict[int, set[int]]) -> list[tuple[float, str, int, tuple[float, ...]]]:
    """A canon whose causes are known matches in the same input goes just below all of them
    (the `consequence` part); a known match stays one. A chain of causes (a summary below a
    generic canon below a specific one) settles in as many passes as it is long."""
    score_of = {key: -negated for negated, _, key, _ in scored}
    parts_of = {key: parts for _, _, key, parts in scored}
    for _ in range(len(causes) + 1):
        moved = False
        for key, found in causes.items():
            known = [score_of[c] for c in found if score_of.get(c, 0.0) >= THRESHOLD]
            if key not in score_of or not known or score_of[key] < min(known):
                continue
            place = max(min(known) - CONSEQUENCE_GAP, min(score_of[key], THRESHOLD))
            if place < score_of[key]:
                parts = parts_of[key]
                others = sum(parts) - parts[_CONSEQUENCE]
                parts_of[key] = (*parts[:_CONSEQUENCE], place - others, *parts[_CONSEQUENCE + 1:])
                score_of[key] = place
                moved = True
        if not moved:
            break
    return sorted((-score_of[key], canon_id, key, parts_of[key]) for _, canon_id, key, _ in scored)


def rank(norm: Normalized, hits: Iterable[RegexHit], lexical: Iterable[tuple[int, float]],
         facts: Mapping[int, CandidateFacts], canon_of: Callable[[int], Canon],
         env: Environment = NO_ENVIRONMENT, accept: Callable[[int], bool] | None = None,
         limit: int | None = None, named: Callable[[int], float] | None = None,
         owned: Iterable[int] = ()) -> list[Match]:
    """The candidates (the best `limit` of them, or all) with their scores and parts, best
    first. `accept` leaves out the candidates it refuses (a domain filter). `named` says how
    much of a canon's name the input holds (0–1); asked only of a canon that words alone would
    make a known match. `owned`: the canons that alone name one of the input's codes."""
    owned = set(owned)
    best_hit: dict[int, tuple[float, RegexHit]] = {}
    for hit in hits:
        weight = norm.line_weight(hit.start, hit.end)
        if hit.key not in best_hit or weight > best_hit[hit.key][0]:
            best_hit[hit.key] = (weight, hit)
    lexical_scores = dict(lexical)
    # Words alone are weaker evidence than a regex: only a near-complete cover of enough
    # words counts (three common words covered say little).
    enough = min(1.0, len(norm.terms) / MIN_LEXICAL_TERMS)
    word_shares = sorted(share for key, share in lexical_scores.items()
                         if key not in best_hit and key in facts and (accept is None or accept(key)))
    with_env = bool(env.products or env.os)
    codes = norm.codes
    # (-score, canon id, key, parts as PART_NAMES values): sorted as they are, best first
    scored: list[tuple[float, str, int, tuple[float, ...]]] = []
    for key in best_hit.keys() | lexical_scores.keys() | owned:
        fact = facts.get(key)
        if fact is None or (accept is not None and not accept(key)):
            continue
        coverage = lexical_scores.get(key, 0.0)
        parts: tuple[float, ...]
        if key in best_hit:
            code = _code_part(codes, fact.codes) if codes and fact.codes else 0.0
            parts = (REGEX_BASE + REGEX_SPECIFICITY * min(1.0, fact.weight / SPECIFIC_CHARS),
                     DECISIVE * best_hit[key][0], LEXICAL_WITH_REGEX * coverage, code, 0.0)
        else:
            # Beside words a code that agrees counts half; one against the canon's own counts in full.
            code = _code_part(codes, fact.codes, WORDS_CONFLICTING_KINDS) if codes and fact.codes else 0.0
            code = code / 2 if code > 0 else code
            tied = len(word_shares) - bisect_left(word_shares, coverage - TIE_MARGIN)
            words = LEXICAL_ONLY * coverage ** 2 * enough * min(1.0, WORD_TIES / max(1, tied))
            if named is not None and words + code + ENV_FITS * 2 * with_env >= THRESHOLD:
                words *= min(1.0, named(key) / NAMED_SHARE) ** 2
            parts = (0.0, 0.0, words, CODE_ALONE if key in owned else code, 0.0)
        if with_env:
            parts = (*parts, _env_part(env, canon_of(key)))
        scored.append((-max(0.0, min(1.0, sum(parts))), fact.id, key, parts))
    scored.sort()
    if len(best_hit) > 1:
        causes = _causes_hit({key: (hit.start, hit.end) for key, (_, hit) in best_hit.items()},
                             facts, canon_of)
        if any(causes.values()):  # else nothing moves
            scored = _below_causes(scored, causes)
    return [Match(key, canon_id, -negated, parts, best_hit[key][1] if key in best_hit else None,
                  norm.text, -negated >= THRESHOLD)
            for negated, canon_id, key, parts in scored[:limit]]

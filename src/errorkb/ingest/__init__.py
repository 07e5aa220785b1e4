"""Ingest: an article → a draft canon, or a reviewable merge proposal into the canon it is about.

    article ─► blocks ─► messages + claims (cause / fix / dead end, each a sentence)
            ─► messages matched against the corpus ─► target canon (or none)
            ─► target: only the new claims, claims contradicting the canon marked disputed,
               as a proposed canon and a unified diff (applied later with `--apply`)
            ─► none: a draft canon (verification_tier draft, the article as its source)

Nothing here writes files; faces decide what to write.
"""

from __future__ import annotations

import dataclasses
import difflib
import hashlib
import re
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from errorkb.curate import regex_from_template
from errorkb.dialect import RegexError, compile_regex
from errorkb.ingest.article import Article, read_article
from errorkb.ingest.extract import Claim, Extracted, extract, sentences
from errorkb.match.normalize import mask, strip_prefix, terms
from errorkb.match.rank import SUMMARY_TAG
from errorkb.model import Canon, DeadEnd, Workaround
from errorkb.records import dump_canon

NOVELTY = 0.5  # a claim sharing less than half its words with the canon is new
_NEGATION = re.compile(r"\b(?:not|never|no|isn't|aren't|doesn't|rather than|instead of|"
                       r"is wrong|myth)\b", re.IGNORECASE)
_ACRONYM = re.compile(r"\b[A-Z]{2,6}\b")
_GENERIC_ACTION_WORDS = frozenset({"run", "command", "use", "using", "try", "enter", "type",
                                   "following", "again", "execute"})
_ADVISES_AGAINST = re.compile(r"\b(?:not|never|don't|won't|avoid|without|instead of|rather than)\b",
                              re.IGNORECASE)
_QUOTED_NAME = re.compile(r"'[^'\n]{1,200}'|\"[^\"\n]{1,200}\"")


@dataclass(frozen=True)
class Disputed:
    claim: Claim
    reason: str


@dataclass
class IngestResult:
    source: str
    title: str
    extracted: Extracted
    matched: dict[str, str] = field(default_factory=dict)  # message → canon id
    target: str | None = None
    new_claims: list[Claim] = field(default_factory=list)
    disputed: list[Disputed] = field(default_factory=list)
    regex: str | None = None
    regex_also_matches: list[str] = field(default_factory=list)  # other canons' ids
    draft: Canon | None = None
    proposed: Canon | None = None
    base_text: str = ""
    diff: str = ""

    def to_dict(self) -> dict[str, Any]:
        claims = self.extracted.claims
        return {
            "source": self.source, "title": self.title,
            "messages": [{"text": m, "canon": self.matched.get(m)} for m in self.extracted.messages],
            "claims": {kind: [c.sentence for c in claims if c.kind == kind]
                       for kind in ("cause", "fix", "dead_end")},
            "target": self.target,
            "new": [{"kind": c.kind, "sentence": c.sentence} for c in self.new_claims],
            "disputed": [{"kind": d.claim.kind, "sentence": d.claim.sentence, "reason": d.reason}
                         for d in self.disputed],
            "regex": self.regex, "regex_also_matches": self.regex_also_matches,
            "kind": "merge_proposal" if self.proposed else "draft" if self.draft else "nothing",
            "draft_yaml": dump_canon(self.draft) if self.draft else None,
            "proposal": {"canon_id": self.target, "base_sha256": sha256(self.base_text),
                         "proposed_yaml": dump_canon(self.proposed), "diff": self.diff}
            if self.proposed else None,
        }


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class Corpus:
    """What ingest needs from the knowledge base, passed in by the service."""

    classify: Callable[[str], str | None]  # message → canon id of its known match, or None
    canon: Callable[[str], Canon]
    examples: Callable[[], Iterable[tuple[str, str]]]  # (canon id, example) of every canon


def _words(text: str) -> set[str]:
    return set(terms(text))


def _canon_texts(canon: Canon) -> list[str]:
    texts = [canon.root_cause, *(d.action + " " + d.why_fails for d in canon.dead_ends),
             *(w.action + " " + w.how for w in canon.workarounds)]
    texts += [c["sentence"] for c in canon.extra.get("ingested_causes", [])]
    return texts


def _is_new(claim: Claim, canon: Canon) -> bool:
    words = _words(claim.sentence)
    if not words:
        return False
    return all(len(words & _words(text)) / len(words) < NOVELTY for text in _canon_texts(canon))


def _negated_terms(canon: Canon) -> dict[str, str]:
    """Technical terms (acronyms such as FIN, SYN, DNS) that the canon names in a sentence
    that negates something — a claim blaming one of them contradicts the canon. Each comes
    with the canon's sentence, quoted as the reason."""
    signature_words = _words(canon.signature) | _words(" ".join(canon.aliases))
    found: dict[str, str] = {}
    affirmed: set[str] = set()  # named where nothing is negated: part of the canon's own story
    texts = [canon.root_cause, *(d.why_fails for d in canon.dead_ends),
             *(w.action + ". " + w.how for w in canon.workarounds)]
    for text in texts:
        for sentence in sentences(text):
            named = {a.lower() for a in _ACRONYM.findall(sentence)} - signature_words
            if _NEGATION.search(sentence):
                for term in named:
                    found.setdefault(term, sentence)
            else:
                affirmed |= named
    return {term: sentence for term, sentence in found.items() if term not in affirmed}


def _dispute(claim: Claim, canon: Canon, negated: dict[str, str]) -> str | None:
    words = _words(claim.sentence) | {a.lower() for a in _ACRONYM.findall(claim.sentence)}
    # A fix recommending what the canon calls a dead end: it says more than half of the dead
    # end's own words (not counting "run the command"), and not as a warning ("you should not
    # use sudo").
    if claim.kind == "fix" and not _ADVISES_AGAINST.search(claim.sentence):
        for dead_end in canon.dead_ends:
            action_words = _words(dead_end.action) - _GENERIC_ACTION_WORDS
            if action_words and len(words & action_words) / len(action_words) > NOVELTY:
                return f"the canon lists this as a dead end: {dead_end.action}"
    if claim.kind == "cause":
        for term in sorted(words & set(negated)):
            return f"the canon says otherwise about {term.upper()}: {negated[term]}"
    return None


def propose_regex(messages: list[str]) -> str | None:
    """A regex generalising the messages (numbers, paths, hosts, quoted names), verified
    against each; an alternation when one pattern does not cover them all."""
    patterns: list[str] = []
    for message in messages[:5]:
        core = strip_prefix(message).strip()
        candidate = regex_from_template(_QUOTED_NAME.sub("<str>", mask(core, pad=False)))
        try:
            if compile_regex(candidate).search(message) is None:
                continue
        except RegexError:
            continue
        if not any(compile_regex(p).search(message) for p in patterns):
            patterns.append(candidate)
    if not patterns:
        return None
    return patterns[0] if len(patterns) == 1 else "(?:" + "|".join(patterns) + ")"


def _slug(message: str) -> str:
    words = re.findall(r"[a-z0-9]+", re.sub(r"<\w+>", " ", mask(message).lower()))
    return "-".join(words[:8])[:60].strip("-") or "article"


def _items(claims: list[Claim], source: str) -> tuple[list[DeadEnd], list[Workaround]]:
    sources = [source] if source.startswith(("http://", "https://")) else []
    dead_ends = [DeadEnd(action=c.sentence, sources=sources) for c in claims if c.kind == "dead_end"]
    workarounds = [Workaround(action=c.sentence, sources=sources)
                   for c in claims if c.kind == "fix"]
    return dead_ends, workarounds


def ingest(data: bytes, corpus: Corpus, *, source: str, domain: str = "draft",
           today: str = "") -> IngestResult:
    """Read an article and decide: a merge proposal into a known canon, or a draft canon."""
    article: Article = read_article(data, source)
    extracted = extract(article)
    result = IngestResult(source=source, title=article.title, extracted=extracted)
    for message in extracted.messages:
        canon_id = corpus.classify(message)
        if canon_id:
            result.matched[message] = canon_id
    # A summary canon ("npm ERR! code ELIFECYCLE") only says something failed before it: any
    # other canon the article's messages name is what it is about.
    votes = Counter(canon_id for canon_id in result.matched.values()
                    if SUMMARY_TAG not in corpus.canon(canon_id).tags) \
        or Counter(result.matched.values())
    result.target = votes.most_common(1)[0][0] if votes else None
    unmatched = [m for m in extracted.messages if m not in result.matched]
    result.regex = propose_regex(unmatched or extracted.messages)
    if result.regex:
        pattern = compile_regex(result.regex)
        result.regex_also_matches = sorted({cid for cid, example in corpus.examples()
                                            if cid != result.target and pattern.search(example)})
    if result.target:
        _merge(result, corpus, source, today)
    elif extracted.messages and result.regex:
        _draft(result, source, domain, today)
    return result


def _merge(result: IngestResult, corpus: Corpus, source: str, today: str) -> None:
    assert result.target is not None
    canon = corpus.canon(result.target)
    negated = _negated_terms(canon)
    for claim in result.extracted.claims:
        reason = _dispute(claim, canon, negated)
        if reason:
            result.disputed.append(Disputed(claim, reason))
        elif _is_new(claim, canon):
            result.new_claims.append(claim)
    dead_ends, workarounds = _items(result.new_claims, source)
    causes = [{"sentence": c.sentence, "source": source}
              for c in result.new_claims if c.kind == "cause"]
    extra = dict(canon.extra)
    extra["ingested_sources"] = [*extra.get("ingested_sources", []), source]
    if causes:
        extra["ingested_causes"] = [*extra.get("ingested_causes", []), *causes]
    result.proposed = dataclasses.replace(
        canon, dead_ends=[*canon.dead_ends, *dead_ends],
        workarounds=[*canon.workarounds, *workarounds], extra=extra,
        evidence_count=canon.evidence_count + 1, last_updated=today or canon.last_updated)
    result.base_text = dump_canon(canon)
    result.diff = "".join(difflib.unified_diff(
        result.base_text.splitlines(keepends=True),
        dump_canon(result.proposed).splitlines(keepends=True),
        fromfile=f"{canon.id} (current)", tofile=f"{canon.id} (proposed from {source})"))


def _draft(result: IngestResult, source: str, domain: str, today: str) -> None:
    assert result.regex is not None
    pattern = compile_regex(result.regex)
    messages = [m for m in result.extracted.messages if pattern.search(m)]
    causes = result.extracted.of("cause")
    result.new_claims = list(result.extracted.claims)
    dead_ends, workarounds = _items(result.new_claims, source)
    signature = strip_prefix(messages[0]).strip()
    result.draft = Canon(
        id=f"{domain}/{_slug(signature)}", signature=signature, regex=result.regex,
        domain=domain, category="runtime_error",
        root_cause=causes[0].sentence if causes else "",
        dead_ends=dead_ends, workarounds=workarounds, verification_tier="draft",
        first_seen=today or None, last_confirmed=today or None, last_updated=today or None,
        evidence_count=1, examples=messages,
        extra={"ingested_from": source,
               "ingested_causes": [{"sentence": c.sentence, "source": source} for c in causes[1:]]}
        if len(causes) > 1 else {"ingested_from": source})

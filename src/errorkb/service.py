"""`KnowledgeBase`: the one core every face calls.

    kb = KnowledgeBase.open([Path("canon")], cache_dir=Path("~/.cache/errorkb"))
    result = kb.lookup("ConnectionResetError: [Errno 104] Connection reset by peer")

It opens (building when needed) the index for a stack of corpora, hands the loaded pattern
database to the matcher, and answers lookups, searches, details and chains.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO

from errorkb.dialect import Pattern, RegexError, compile_regex
from errorkb.errors import IndexUnavailable, InputError, InputTooLarge, NotFound
from errorkb.index import IndexStore, build_index, corpus_fingerprint
from errorkb.match import Environment, Match, Normalized, RegexHit, normalize, rank
from errorkb.match.rank import KNOWN_LEXICAL_SHARE, NO_ENVIRONMENT, SUMMARY_TAG, WARNING_TAG, graph_causes
from errorkb.model import Canon
from errorkb.outcomes import OutcomeStore, Report, Tally

if TYPE_CHECKING:  # the faces import these when a command needs them: lookups start faster
    from errorkb.curate import CheckReport
    from errorkb.index.published import CorpusReloader
    from errorkb.ingest import IngestResult
    from errorkb.scan import ScanReport
    from errorkb.scan.reader import Chunk, ReadStats

MAX_LOOKUP_CHARS = 200_000
MAX_LIMIT = 50


@dataclass
class LookupResult:
    query: Normalized
    matches: list[Match]  # known matches, best first
    nearest: list[Match]  # when there is no known match: the best candidates, marked as such
    canons: dict[str, Canon] = field(default_factory=dict)
    tallies: dict[str, dict[tuple[str, int], Tally]] = field(default_factory=dict)

    @property
    def found(self) -> bool:
        return bool(self.matches)


@dataclass(frozen=True)
class ChainStep:
    canon_id: str
    relation: str  # leads_to | preceded_by
    depth: int
    probability: float | None
    condition: str
    condition_zh: str


class KnowledgeBase:
    """Canons from stacked corpora, indexed once, answered many times. Read-only.

    A server may swap in a newer index while answering (`swap_store`): every method reads
    `self.store` once, so each call is answered wholly from one index.
    """

    def __init__(self, store: IndexStore, stale: bool = False,
                 outcomes: OutcomeStore | None = None) -> None:
        self.store = store
        self.stale = stale
        self.outcomes = outcomes
        self._warm = False

    @classmethod
    def open(cls, corpus: Sequence[Path], *, cache_dir: Path, index_path: Path | None = None,
             rebuild_stale: bool = True, engine: str = "auto",
             on_build: Callable[[Path], None] | None = None,
             outcomes: OutcomeStore | None = None) -> KnowledgeBase:
        """Open the index of `corpus` (later folders win on the same id).

        Built when missing; rebuilt when stale if `rebuild_stale`, else used as it is and
        marked `stale` so the face can tell the user which command refreshes it. `on_build` is
        told before a build starts (compiling the regex database takes seconds).
        """

        def build() -> None:
            if on_build is not None:
                on_build(path)
            build_index(corpus, path)

        if not corpus:
            raise InputError("no corpus to open", "give a canon folder, or keep the bundled one")
        path = index_path or default_index_path(corpus, cache_dir)
        fingerprint = corpus_fingerprint(corpus)
        try:
            store = IndexStore(path, engine)
        except IndexUnavailable:  # missing, unreadable or of another schema: build it anew
            build()
            store = IndexStore(path, engine)
        if store.fingerprint != fingerprint:
            if not rebuild_stale:
                return cls(store, stale=True, outcomes=outcomes)
            store.close()
            build()
            store = IndexStore(path, engine)
        return cls(store, outcomes=outcomes)

    @classmethod
    def open_published(cls, url: str, *, cache_dir: Path, engine: str = "auto",
                       outcomes: OutcomeStore | None = None) -> KnowledgeBase:
        """The latest corpus version published to PostgreSQL (`errorkb build --db URL`), as a
        local index in `cache_dir`."""
        from errorkb.index.published import open_latest

        return cls(open_latest(url, cache_dir=cache_dir, engine=engine), outcomes=outcomes)

    def follow_published(self, url: str, *, cache_dir: Path, engine: str = "auto",
                         poll_seconds: float = 5.0) -> CorpusReloader:
        """Pick up newer published versions in the background (LISTEN/NOTIFY, and a check
        every `poll_seconds`); see `CorpusReloader`."""
        from errorkb.index.published import CorpusReloader

        return CorpusReloader(url, cache_dir=cache_dir, serving=self.corpus_version,
                              swap=self.swap_store, engine=engine,
                              poll_seconds=poll_seconds).start()

    def warm_up(self) -> threading.Thread:
        """Compile every canon regex and decode the canons (`IndexStore.warm`) in a background
        thread, and those of each newly swapped-in store before it answers: for long-running
        faces, so that an input's first lookup does not pay RE2's compile of its candidates
        (60–120 µs each) or the decoding of the canons it shows. Lookups go on meanwhile."""
        self._warm = True
        thread = threading.Thread(target=self.store.warm, name="errorkb-warm-up", daemon=True)
        thread.start()
        return thread

    def swap_store(self, store: IndexStore) -> None:
        """Answer from `store` from now on. Calls in flight finish on the store they started
        with; the old store (and its file handle) goes to the garbage collector once no call
        holds it."""
        if self._warm:
            store.warm()
        self.store = store
        self.stale = False

    @property
    def corpus_version(self) -> int | None:
        """The published corpus version served, or None for a corpus read from folders."""
        return _corpus_version(self.store)

    def __len__(self) -> int:
        return len(self.store)

    def lookup(self, text: str, *, env: str | None = None, limit: int = 5,
               domain: str | None = None) -> LookupResult:
        """The known errors in `text` (a message, a traceback or a log chunk), best first."""
        if not text.strip():
            raise InputError("nothing to look up", "pass an error message, traceback or log")
        if len(text) > MAX_LOOKUP_CHARS:
            raise InputTooLarge(f"input is {len(text):,} characters; lookup takes up to "
                                f"{MAX_LOOKUP_CHARS:,}", "use `errorkb scan` for whole logs")
        return self._lookup(self.store, text, env=env, limit=limit, domain=domain)

    def _lookup(self, store: IndexStore, text: str, *, env: str | None = None, limit: int = 5,
                domain: str | None = None) -> LookupResult:
        norm, ranked = _ranked(store, text, env=env, limit=limit, domain=domain)
        limit = max(1, min(limit, MAX_LIMIT))
        known = [m for m in ranked if m.known][:limit]
        nearest = [] if known else ranked[:3]
        shown = known or nearest
        return LookupResult(norm, known, nearest,
                            {m.canon_id: store.canon(m.key) for m in shown},
                            {m.canon_id: self.tallies(m.canon_id) for m in known})

    def tallies(self, canon_id: str) -> dict[tuple[str, int], Tally]:
        """Outcome reports per item of a canon: {("workaround", 0): Tally(worked, failed)}."""
        return self.outcomes.tallies(canon_id) if self.outcomes is not None else {}

    def report(self, report: Report) -> dict[str, object]:
        """Append an outcome report; refuses unknown canons and items. A repeated
        idempotency key is accepted and counted once."""
        if self.outcomes is None:
            raise InputError("no outcome store is configured", "pass --db sqlite:///path")
        canon = self.canon(report.canon_id)  # the one read of the index here
        items = canon.workarounds if report.item_kind == "workaround" else canon.dead_ends
        if report.item_kind not in ("workaround", "dead_end"):
            raise InputError(f"unknown item kind {report.item_kind!r}", "workaround or dead_end")
        if not 0 <= report.item_index < len(items):
            raise NotFound(f"{report.canon_id} has no {report.item_kind} {report.item_index}",
                           f"it has {len(items)} ({report.item_kind} 0–{len(items) - 1})")
        if not report.idempotency_key.strip():
            raise InputError("an idempotency key is required", "send the same key on retries")
        stored = self.outcomes.append(report)
        tally = self.tallies(canon.id).get((report.item_kind, report.item_index), Tally())
        return {"stored": stored, "duplicate": not stored, "canon_id": canon.id,
                "item": {"kind": report.item_kind, "index": report.item_index},
                "reports": tally.reports, "worked": tally.worked, "failed": tally.failed}

    def scan(self, sources: Iterable[tuple[str, BinaryIO]], *,
             on_progress: Callable[[int], None] | None = None,
             follow: Callable[[BinaryIO, str, ReadStats], Iterator[Chunk]] | None = None,
             ) -> ScanReport:
        """Every known error in these logs (name, binary handle), grouped and counted.

        `follow` replaces the reader for `--follow` (tail a growing file)."""
        from errorkb.scan import Scanner
        from errorkb.scan.reader import iter_chunks
        from errorkb.scan.triggers import triggers_for

        store = self.store

        def classify(text: str) -> tuple[str | None, list[str]]:
            # Ranked as `lookup` ranks, without decoding canons for display. In a log, words
            # alone name nothing: a known match needs a regex hit or a code only it names.
            norm, ranked = _ranked(store, text[:MAX_LOOKUP_CHARS], limit=1)
            owned = store.owners(norm.codes) if norm.codes else set()
            best = next((m for m in ranked if m.known and (m.hit is not None or m.key in owned)),
                        None)
            return (best.canon_id, best.captures) if best else (None, [])

        def capture_pattern(canon_id: str) -> Pattern | None:
            """A canon's compiled regex, for what it captures (None when RE2 refuses it: the
            engine skips it too)."""
            spec = store.specs[store.key_of[canon_id]]
            try:
                return compile_regex(spec.regex, spec.case_sensitive)
            except RegexError:
                return None

        triggers = triggers_for(tuple(store.engine.trigger_literals()))
        scanner = Scanner(triggers.find, classify, capture_pattern)
        read = follow or iter_chunks
        for name, handle in sources:
            scanner.report.sources.append(name)
            scanner.run(read(handle, name, scanner.report.stats), on_progress)
            if scanner.report.interrupted:
                break
        scanner.report.tiers = scan_tiers([store.canon_by_id(c) for c in scanner.report.groups])
        return scanner.report

    def ingest(self, data: bytes, *, source: str, domain: str = "draft",
               today: str = "") -> IngestResult:
        """An article → a merge proposal into the canon it is about, or a draft canon."""
        from errorkb.ingest import Corpus, ingest

        store = self.store

        def classify(message: str) -> str | None:
            result = self._lookup(store, message, limit=1)
            return result.matches[0].canon_id if result.matches else None

        def examples() -> Iterator[tuple[str, str]]:
            for canon_id in store.ids():
                for example in store.canon_by_id(canon_id).examples:
                    yield canon_id, example

        corpus = Corpus(classify=classify, canon=store.canon_by_id, examples=examples)
        return ingest(data, corpus, source=source, domain=domain, today=today)

    def check_canon_text(self, text: str) -> CheckReport:
        """Validate one canon (YAML or JSON text); links may point at any canon loaded here."""
        from errorkb.curate import check_text

        return check_text(text, self.store.key_of)

    def stats(self) -> dict[str, object]:
        store = self.store
        return {"canons": len(store), "domains": _domains(store),
                "engine": store.engine.name, "index": str(store.path),
                "built_at": store.meta.get("built_at"), "stale": self.stale,
                "corpus_version": _corpus_version(store)}

    def serving(self) -> dict[str, object]:
        """What is being served, for health checks: canon count and corpus version."""
        store = self.store
        return {"canons": len(store), "corpus_version": _corpus_version(store)}

    def canon(self, canon_id: str) -> Canon:
        return self.store.canon_by_id(canon_id)

    def search(self, query: str, *, limit: int = 10, domain: str | None = None) -> list[Match]:
        """Every candidate for a query, best first, with no threshold applied."""
        norm = normalize(query)
        store = self.store
        hits = store.engine.search(norm.text)
        return _rank(store, norm, hits, store.lexical(norm.terms, 50, [h.key for h in hits]),
                     accept=_in_domain(store, domain), limit=max(1, min(limit, MAX_LIMIT)))

    def domains(self) -> dict[str, int]:
        return _domains(self.store)

    def list_domain(self, domain: str) -> list[str]:
        store = self.store
        ids = sorted(store.ids(domain))
        if not ids:
            raise NotFound(f"no domain `{domain}`", f"known: {', '.join(_domains(store))}")
        return ids

    def chain(self, canon_id: str, depth: int = 2) -> list[ChainStep]:
        """What tends to come before and after, breadth first, to `depth` links."""
        store = self.store
        start = store.canon_by_id(canon_id)
        steps: list[ChainStep] = []
        seen = {start.id}
        frontier = [start]
        for level in range(1, max(1, depth) + 1):
            following = []
            for canon in frontier:
                for relation in ("leads_to", "preceded_by"):
                    for t in getattr(canon.transition_graph, relation):
                        if t.error_id in seen or t.error_id not in store.key_of:
                            continue
                        seen.add(t.error_id)
                        steps.append(ChainStep(t.error_id, relation, level, t.probability,
                                               t.condition, t.condition_zh))
                        following.append(store.canon_by_id(t.error_id))
            frontier = following
        return steps


def _ranked(store: IndexStore, text: str, *, env: str | None = None, limit: int = 5,
            domain: str | None = None) -> tuple[Normalized, list[Match]]:
    """The input normalised, and its best candidates (enough for `limit` answers or the
    nearest three), ranked: the one matching path of lookups and scans."""
    norm = normalize(text)
    hits = store.engine.search(norm.text)
    accept = _in_domain(store, domain)
    # With regex hits, a canon found by words alone matters only as a known match beside them.
    hit_keys = [h.key for h in hits]
    answered = bool(hit_keys) if accept is None else any(accept(key) for key in hit_keys)
    lexical = store.lexical(norm.terms, hits=hit_keys,
                            least_share=KNOWN_LEXICAL_SHARE if answered else None)
    ranked = _rank(store, norm, hits, lexical, Environment.parse(env), accept=accept,
                   limit=max(max(1, min(limit, MAX_LIMIT)), 3))
    return norm, ranked


def _rank(store: IndexStore, norm: Normalized, hits: list[RegexHit],
          lexical: list[tuple[int, float]], env: Environment = NO_ENVIRONMENT, *,
          accept: Callable[[int], bool] | None, limit: int) -> list[Match]:
    """`rank` with what the index knows: canon facts and records, how much of a canon's name
    the input holds, and the canons that alone name one of its codes."""
    return rank(norm, hits, lexical, store.facts, store.canon, env, accept=accept, limit=limit,
                named=lambda key: store.named_share(key, norm.terms),
                owned=store.owners(norm.codes))


def scan_tiers(found: Sequence[Canon]) -> dict[str, int]:
    """Where each canon found in a log goes among the others (see `ScanReport.tiers`): last when
    it only sums up or warns, after the rest when the transition graphs say another canon found
    causes it (`graph_causes`)."""
    caused = graph_causes(found)
    tiers = {}
    for canon in found:
        if {SUMMARY_TAG, WARNING_TAG} & set(canon.tags):
            tiers[canon.id] = 2
        elif caused.get(canon.id):
            tiers[canon.id] = 1
    return tiers


def _in_domain(store: IndexStore, domain: str | None) -> Callable[[int], bool] | None:
    """The candidate filter for a domain (None: every candidate)."""
    if domain is None:
        return None
    facts = store.facts
    return lambda key: facts[key].domain == domain


def _domains(store: IndexStore) -> dict[str, int]:
    counts: dict[str, int] = {}
    for facts in store.facts.values():
        counts[facts.domain] = counts.get(facts.domain, 0) + 1
    return dict(sorted(counts.items()))


def _corpus_version(store: IndexStore) -> int | None:
    version = store.meta.get("corpus_version")
    return int(version) if version is not None else None


def default_index_path(corpus: Sequence[Path], cache_dir: Path) -> Path:
    """One index file per stack of corpus paths, in the cache folder."""
    key = hashlib.sha256("\n".join(str(p.resolve()) for p in corpus).encode()).hexdigest()[:16]
    return cache_dir / f"index-{key}.sqlite"

"""`make eval`: how well lookups find the right canon, and how honestly they say "no match".

Cases, each with an expected canon id or none:
- every example of every bundled canon (expected: that canon);
- `eval/cases/*.jsonl`: extra realistic variants that live only here;
- `eval/benign.jsonl`: benign log excerpts (expected: no match).
Prints P@1, P@3, MRR (cases with an expected canon), no-match accuracy (cases expecting none),
and the benign false-positive rate, overall and per domain. When `../shared/dev-errors.jsonl`
is beside the checkout it adds its own section: real posted errors, judged by whether a known
match is found, and benign ones by whether none is. When the peer dataset is there, a last
section imports it and runs `eval/peer_cases.jsonl` (queries we wrote, each expecting one of
the peer's `domain/slug`, whatever its environment part).
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

from errorkb.exchange import load_paths
from errorkb.exchange.peer import ENV_JOINER
from errorkb.faces.config import bundled_corpus_dir
from errorkb.index import build_index
from errorkb.service import KnowledgeBase

HERE = Path(__file__).resolve().parent
DEV_ERRORS = HERE.parent.parent / "shared" / "dev-errors.jsonl"
PEER = HERE.parent.parent / "shared" / "data" / "deadends-canons.jsonl"


@dataclass(frozen=True)
class Case:
    text: str
    expected: str | None
    origin: str  # example | case | benign


def load_cases(corpus: Path) -> list[Case]:
    cases = [Case(example, item.canon.id, "example")
             for item in load_paths([corpus]).loaded for example in item.canon.examples]
    for path in sorted((HERE / "cases").glob("*.jsonl")):
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip():
                row = json.loads(line)
                cases.append(Case(row["text"], row.get("expected"), "case"))
    for line in (HERE / "benign.jsonl").read_text(encoding="utf-8").splitlines():
        if line.strip():
            cases.append(Case(json.loads(line)["text"], None, "benign"))
    return cases


@dataclass
class Tally:
    n: int = 0
    p1: int = 0
    p3: int = 0
    rr: float = 0.0
    none_n: int = 0
    none_ok: int = 0
    benign_n: int = 0
    benign_fp: int = 0

    def add(self, case: Case, ranked: list[str]) -> None:
        if case.expected is None:
            self.none_n += 1
            self.none_ok += not ranked
            if case.origin == "benign":
                self.benign_n += 1
                self.benign_fp += bool(ranked)
            return
        self.n += 1
        self.p1 += ranked[:1] == [case.expected]
        self.p3 += case.expected in ranked[:3]
        if case.expected in ranked:
            self.rr += 1 / (ranked.index(case.expected) + 1)

    def row(self, name: str) -> str:
        def pct(a: float, b: int) -> str:
            return f"{a / b:6.3f}" if b else "     -"
        return (f"{name:<14} {self.n:>5} {pct(self.p1, self.n)} {pct(self.p3, self.n)} "
                f"{pct(self.rr, self.n)} {self.none_n:>5} {pct(self.none_ok, self.none_n)} "
                f"{pct(self.benign_fp, self.benign_n)}")


HEADER = f"{'domain':<14} {'cases':>5} {'P@1':>6} {'P@3':>6} {'MRR':>6} {'none':>5} {'no-m':>6} {'FP':>6}"


def evaluate(kb: KnowledgeBase, cases: list[Case], misses: list[str]) -> dict[str, Tally]:
    tallies: dict[str, Tally] = defaultdict(Tally)
    for case in cases:
        ranked = [m.canon_id for m in kb.lookup(case.text, limit=5).matches]
        domain = case.expected.split("/")[0] if case.expected else "(none)"
        tallies["ALL"].add(case, ranked)
        tallies[domain].add(case, ranked)
        if (case.expected and ranked[:1] != [case.expected]) or (not case.expected and ranked):
            misses.append(f"expected {case.expected or 'no match'}, got {ranked[:3]}: "
                          f"{case.text[:150]!r}")
    return tallies


def dev_errors_section(kb: KnowledgeBase) -> None:
    rows = [json.loads(line) for line in DEV_ERRORS.read_text(encoding="utf-8").splitlines()
            if line.strip()]
    errors = [r for r in rows if r["concept"] != "none"]
    benign = [r for r in rows if r["concept"] == "none"]
    found = 0
    print(f"\n## dev-errors ({len(rows)} real posted texts, {len(benign)} benign)")
    for row in errors:
        result = kb.lookup(row["query"][:200_000], limit=1)
        found += result.found
        top = result.matches[0].canon_id if result.found else "-"
        print(f"  {row['domain']:<24} {top:<55} {row['concept'][:60]}")
    fp = sum(kb.lookup(r["query"], limit=1).found for r in benign)
    print(f"errors with a known match: {found}/{len(errors)} ({found / len(errors):.2f}); "
          f"benign with a match: {fp}/{len(benign)}")


def peer_section(cache: Path) -> None:
    """Queries we wrote against the imported peer dataset: P@1 and P@3 by peer domain/slug."""
    index = cache / "peer.sqlite"
    build_index([PEER], index, use_hyperscan=False)
    kb = KnowledgeBase.open([PEER], cache_dir=cache, index_path=index, engine="prefilter")
    rows = [json.loads(line) for line in (HERE / "peer_cases.jsonl").read_text(
        encoding="utf-8").splitlines() if line.strip()]
    p1 = p3 = 0
    for row in rows:
        ranked = [m.canon_id.split(ENV_JOINER, 1)[0] for m in kb.lookup(row["text"]).matches]
        p1 += bool(ranked[:1]) and ranked[0] in row["expected"]
        p3 += any(r in row["expected"] for r in ranked[:3])
    print(f"\n## peer dataset ({len(kb)} canons imported), {len(rows)} queries of ours: "
          f"P@1 {p1 / len(rows):.3f}, P@3 {p3 / len(rows):.3f}")


SEEDS = HERE.parent.parent / "shared" / "seeds"
KINDS = ("messages", "causes", "fixes", "dead_ends")


DEBIAN_PACKAGES = {"man:git-push": ("man-db", "git-man"),
                   "debian-doc:/usr/share/doc/ca-certificates": ("ca-certificates",)}


def _install_on_the_fly(name: str) -> None:
    """Install the Debian package that ships a labelled document, when we may (root, apt)."""
    packages = next((p for prefix, p in DEBIAN_PACKAGES.items() if name.startswith(prefix)), ())
    if packages and os.geteuid() == 0 and shutil.which("apt-get"):
        subprocess.run(["apt-get", "install", "-y", "-qq", *packages], capture_output=True,
                       timeout=600, check=False, env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"})


def _man_section(page: str, heading: str) -> bytes | None:
    """One section of a manual page as plain text (`man` and the page must be installed)."""
    try:
        rendered = subprocess.run(["man", "-P", "cat", page], capture_output=True, text=True,
                                  env={**os.environ, "MANWIDTH": "100"}, timeout=60, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return None
    text = re.sub(r".\x08", "", rendered.stdout)  # overstrike bold/underline
    start = text.find(heading)
    if rendered.returncode != 0 or start < 0:
        return None
    end = re.search(r"^[A-Z][A-Z -]{3,}$", text[start + len(heading):], re.MULTILINE)
    section = text[start:start + len(heading) + (end.start() if end else len(text))]
    return section.encode()


def _article_bytes(name: str) -> bytes | None:
    """An article of the labelled set: ours, the seed's, or documentation a Debian package
    ships (`debian-doc:/usr/share/doc/...`, gzipped or not)."""
    kind, _, rest = name.partition(":")
    if kind == "man":
        return _man_section(*rest.split(":", 1))
    if kind == "seed":
        path = SEEDS / rest
    elif kind == "debian-doc":
        path = next((p for p in (Path(rest), Path(rest + ".gz")) if p.exists()), Path(rest))
    else:
        path = HERE / "articles" / name
    if not path.exists():
        return None
    data = path.read_bytes()
    return gzip.decompress(data) if path.suffix == ".gz" else data


def ingest_section(kb: KnowledgeBase) -> None:
    """Recall and precision of what ingest extracts from labelled articles (ours, and the seed
    article when it is beside the checkout)."""
    labels = json.loads((HERE / "articles" / "labels.json").read_text(encoding="utf-8"))
    totals = {k: [0, 0, 0, 0] for k in KINDS}  # expected, found expected, extracted, extracted right
    checked = 0
    for name, label in labels.items():
        data = _article_bytes(name)
        if data is None and not name.startswith("seed:"):
            _install_on_the_fly(name)
            data = _article_bytes(name)
        if data is None:
            print(f"  {name}: not on this machine, skipped")
            continue
        checked += 1
        payload = kb.ingest(data, source=name).to_dict()
        got = {"messages": [m["text"] for m in payload["messages"]],
               "causes": payload["claims"]["cause"], "fixes": payload["claims"]["fix"],
               "dead_ends": payload["claims"]["dead_end"]}
        for kind in KINDS:
            expected, extracted = label[kind], got[kind]
            t = totals[kind]
            t[0] += len(expected)
            t[1] += sum(any(e.lower() in x.lower() for x in extracted) for e in expected)
            t[2] += len(extracted)
            t[3] += sum(any(e.lower() in x.lower() for e in expected) for x in extracted)
        if "target" in label:
            disputed = [d["sentence"] for d in payload["disputed"]]
            ok = payload["target"] == label["target"] and all(
                any(d in s for s in disputed) for d in label["disputed"])
            print(f"  {name}: {payload['kind']} for {payload['target']}, disputed "
                  f"{len(disputed)} ({'as labelled' if ok else 'NOT as labelled'})")
    print(f"\n## ingest: {checked} labelled articles")
    for kind, (expected, found, extracted, right) in totals.items():
        recall = found / expected if expected else 1.0
        precision = right / extracted if extracted else 1.0
        print(f"{kind:<10} recall {recall:.2f} ({found}/{expected})  precision {precision:.2f} "
              f"({right}/{extracted})")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path, default=bundled_corpus_dir())
    parser.add_argument("--show-misses", type=int, default=15)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as cache:
        started = time.perf_counter()
        kb = KnowledgeBase.open([args.corpus], cache_dir=Path(cache))
        cases = load_cases(args.corpus)
        misses: list[str] = []
        tallies = evaluate(kb, cases, misses)
        elapsed = time.perf_counter() - started
        print(f"# errorkb eval: {len(kb)} canons, {len(cases)} cases, {elapsed:.1f}s")
        print(HEADER)
        for name in ["ALL", *sorted(k for k in tallies if k != "ALL")]:
            print(tallies[name].row(name))
        if misses:
            print(f"\n{len(misses)} misses; first {args.show_misses}:")
            for line in misses[:args.show_misses]:
                print("  " + line)
        if DEV_ERRORS.exists():
            dev_errors_section(kb)
        ingest_section(kb)
        if PEER.exists():
            peer_section(Path(cache))
    return 0


if __name__ == "__main__":
    sys.exit(main())

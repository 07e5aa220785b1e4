"""`make bench`: lookup speed at 1x, 10x and 50x corpus size beside a naive `re` loop, an
adversarial input, cold start of `errorkb lookup`, index build time, `errorkb scan` MB/s on a
generated log beside a per-line `lookup` loop, and memory. `--only scan` (etc.) runs one part.

Corpus: the peer dataset (../shared/data/deadends-canons.jsonl, 2,522 canons) when present,
else the bundled corpus. Scaled sets are generated variants: `distinct` rewrites every literal
word of a canon (signature and regex alike) so each variant is a different error with rare
literals of its own (a variant whose regex still matches its source's signature, through a
branch of punctuation such as `../`, gets a literal of its own in front); `stress` keeps the
original words and adds only a variant number, so the variants share their common words.
A benchmark, not a test: it prints a table.
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import random
import re
import resource
import statistics
import string
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from errorkb.dialect import RegexError, compile_regex
from errorkb.exchange import load_paths
from errorkb.faces.config import bundled_corpus_dir
from errorkb.index import build_index
from errorkb.match.literals import required_literals
from errorkb.service import KnowledgeBase

PEER = Path(__file__).resolve().parents[2] / "shared" / "data" / "deadends-canons.jsonl"
NAIVE_BUDGET_SECONDS = 30.0
# A regex escape (`\b`, `\d`, `\p{Han}`) or character class (both left alone), or a run of three
# or more letters or digits (two for letters beyond ASCII: `회식`). Each variant respells the
# runs with letters and digits of its own (a fixed permutation per variant), in the regex and
# the signature alike, so its words, codes (`AAPT2`, `NU1101`) and numbers (`911`) are its own:
# a suffix would leave the original word inside every variant's word.
WORD = re.compile(r"\\(?:p\{\w*\}|.)|\[\^?\]?(?:\\.|[^\]\\])*\]"
                  r"|(?<![^\W\d_])([^\W\d_]{3,}|[^\W\d_A-Za-z]{2})(?![^\W\d_])"
                  r"|(?<![0-9{,])([0-9]{3,})(?![0-9}])")


def source_records() -> list[dict[str, object]]:
    if PEER.exists():
        return [json.loads(line) for line in PEER.read_text(encoding="utf-8").splitlines()]
    from errorkb.exchange import seed_record
    return [seed_record(item.canon) for item in load_paths([bundled_corpus_dir()]).loaded]


def _error(record: dict[str, object]) -> dict[str, str]:
    return record.get("error", record)  # type: ignore[return-value]


def respelling(k: int) -> Callable[[str], str]:
    """Variant k's spelling: ASCII letters and digits permuted, other letters shifted by k."""
    rng = random.Random(k)
    lower = "".join(rng.sample(string.ascii_lowercase, 26))
    digits = "".join(rng.sample(string.digits, 10))
    table = str.maketrans(string.ascii_lowercase + string.ascii_uppercase + string.digits,
                          lower + lower.upper() + digits)

    def respell(text: str) -> str:
        def run(match: re.Match[str]) -> str:
            found = match.group(1) or match.group(2)
            if not found:
                return match.group(0)
            return "".join(c.translate(table) if c.isascii() else chr(ord(c) + k) for c in found)
        return WORD.sub(run, text)
    return respell


def variants(records: list[dict[str, object]], factor: int, kind: str) -> list[dict[str, object]]:
    """`factor` copies of every record (the first unchanged), `distinct` or `stress`."""
    out = []
    for k in range(factor):
        respell = respelling(k)
        for number, record in enumerate(records):
            copy = json.loads(json.dumps(record))
            err = _error(copy)
            if k:
                if kind == "distinct":
                    regex, signature = respell(err["regex"]), respell(err["signature"])
                    if _matches(regex, err["signature"]) or _shares_literals(err["regex"], regex):
                        # A branch respelling leaves alike (`\.\./`, `6.4`, `16MB`): the variant
                        # gets a literal of its own in front, or it is no distinct error.
                        tag = f"vx{k}q{number}"
                        regex, signature = f"{tag}.*(?:{regex})", f"{tag} {signature}"
                    err["regex"], err["signature"] = regex, signature
                else:
                    err["regex"] = f"{err['regex']}|variant {k} of {copy['id']}"
                copy["id"] = f"{copy['id']}-v{k}"
            out.append(copy)
    return out


def _shares_literals(source: str, respelled: str) -> bool:
    """The respelled regex has no required literal, or a branch whose literals are its
    source's (the branch had no word to respell)."""
    mine = required_literals(respelled)
    return not mine or any(alternative in _source_literals(source) for alternative in mine)


@functools.lru_cache(maxsize=4096)
def _source_literals(regex: str) -> list[list[set[str]]]:
    return required_literals(regex)


def _matches(regex: str, text: str) -> bool:
    try:
        return compile_regex(regex).search(text) is not None
    except RegexError:
        return False


def timed(fn: Callable[[], object], repeat: int) -> list[float]:
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - started)
    return samples


def summary(samples: list[float]) -> str:
    ordered = sorted(samples)
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
    return f"{statistics.median(ordered) * 1e6:9.0f} µs {p99 * 1e6:9.0f} µs"


def naive(patterns: list[re.Pattern[str]]) -> Callable[[str], int]:
    def run(text: str) -> int:
        return sum(1 for p in patterns if p.search(text))
    return run


def inputs(signatures: list[str], rng: random.Random) -> dict[str, list[str]]:
    lines = rng.sample(signatures, min(200, len(signatures)))
    frames = "".join(f'  File "/srv/app/mod{i}.py", line {i * 7}, in handler_{i}\n    result = step_{i}()\n'
                     for i in range(24))
    tracebacks = [f"Traceback (most recent call last):\n{frames}{s}" for s in lines[:50]]
    filler = " ".join(rng.choice(["alpha", "GET", "/api/v1/items", "200", "ok", "user=42"])
                      for _ in range(1700))
    logs = [f"2026-03-02T11:04:55Z INFO {filler[:10_000 - len(s) - 40]} {s}" for s in lines[:30]]
    return {"single line": lines, "50-line traceback": tracebacks, "10 KB log line": logs,
            "10 KB adversarial": ["error " + "x" * 10_000 + " connection"]}


def bench_corpus(name: str, records: list[dict[str, object]], rng: random.Random,
                 workdir: Path, baseline_repeat: int) -> None:
    source = workdir / f"{name}.jsonl"
    source.write_text("\n".join(json.dumps(r) for r in records) + "\n", encoding="utf-8")
    started = time.perf_counter()
    report = build_index([source], workdir / f"{name}.sqlite")
    build_seconds = time.perf_counter() - started
    started = time.perf_counter()
    kb = KnowledgeBase.open([source], cache_dir=workdir, index_path=workdir / f"{name}.sqlite")
    open_seconds = time.perf_counter() - started
    signatures = [_error(r)["signature"] for r in records]
    patterns = []
    for r in records:
        try:
            patterns.append(re.compile(_error(r)["regex"], re.IGNORECASE))
        except re.error:
            continue
    loop = naive(patterns)
    edited = json.loads(json.dumps(records[0]))
    _error(edited)["regex"] = _error(edited)["regex"] + "|an edited canon"
    source.write_text("\n".join(json.dumps(r) for r in [edited, *records[1:]]) + "\n",
                      encoding="utf-8")
    started = time.perf_counter()
    build_index([source], workdir / f"{name}.sqlite")
    rebuild_seconds = time.perf_counter() - started
    print(f"\n## {name}: {report.canons} canons; build {build_seconds:.1f}s, after editing one "
          f"canon {rebuild_seconds:.1f}s; open {open_seconds:.2f}s")
    print("(first: an input's first lookup, which compiles its candidate regexes and decodes the "
          "canons it shows; errorkb: then three lookups of each input in a row; rotating: three "
          "rounds over all inputs, so each lookup follows other inputs' lookups, as in a server)")
    print(f"{'input':<20} {'first median':>13} {'p99':>12} {'errorkb median':>15} {'p99':>12} "
          f"{'rotating median':>16} {'p99':>12} {'naive re median':>16} {'p99':>12}")
    for label, texts in inputs(signatures, rng).items():
        first = [timed(lambda text=text: kb.lookup(text), 1)[0] for text in texts]
        ours = [t for text in texts for t in timed(lambda text=text: kb.lookup(text), 3)]
        rotating = [timed(lambda text=text: kb.lookup(text), 1)[0] for _ in range(3) for text in texts]
        base: list[float] = []
        for text in texts[:baseline_repeat]:  # the naive loop gets a time budget at large sizes
            base.extend(timed(lambda text=text: loop(text), 1))
            if sum(base) > NAIVE_BUDGET_SECONDS:
                break
        print(f"{label:<20} {summary(first)} {summary(ours)} {summary(rotating)} {summary(base)}")


def cold_start(workdir: Path) -> None:
    """A whole `errorkb lookup` process, as an installed package runs: its bytecode cached (a
    shell with PYTHONDONTWRITEBYTECODE set would compile every module on every run)."""
    exe = Path(sys.executable).with_name("errorkb")
    env_cmd = [str(exe), "lookup", "read ECONNRESET", "--json"]
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}

    def run() -> None:
        subprocess.run(env_cmd, capture_output=True, check=False, env=env)
    run()  # builds the index and writes the bytecode
    samples = timed(run, 7)
    print(f"\ncold start of `errorkb lookup` (whole process, bundled corpus, bytecode cached): "
          f"median {statistics.median(samples):.3f}s, max {max(samples):.3f}s")


def make_log(path: Path, megabytes: int, rng: random.Random) -> int:
    """A log of mostly benign lines; one line in 50 an error from the corpus's examples, some
    multi-line tracebacks, some errors no canon knows. Returns the number of error events."""
    examples = [e for item in load_paths([bundled_corpus_dir()]).loaded for e in item.canon.examples]
    benign = ["INFO http: GET /api/items/{n} 200 in {d} ms", "DEBUG cache hit for key user:{n}",
              "INFO worker {n} finished job in {d} ms", "INFO stats: requests={n} errors=0"]
    unknown = "ERROR frobnicator {n} exploded while flushing shard {d}"
    traceback = ('ERROR request failed\nTraceback (most recent call last):\n  File "/srv/app.py", '
                 'line {d}, in run\n    conn.recv()\nConnectionResetError: [Errno 104] Connection '
                 'reset by peer')
    target = megabytes * 1_000_000
    written = errors = 0
    with path.open("w", encoding="utf-8") as out:
        while written < target:
            lines = []
            for i in range(5000):
                stamp = f"2026-03-02 11:{i // 100 % 60:02d}:{i % 60:02d},{i % 1000:03d} "
                roll = rng.random()
                if roll < 0.02:
                    errors += 1
                    pick = rng.random()
                    if pick < 0.1:
                        line = traceback.format(d=rng.randrange(999))
                    elif pick < 0.2:
                        line = unknown.format(n=rng.randrange(99), d=rng.randrange(999))
                    else:
                        line = "ERROR " + rng.choice(examples)
                else:
                    line = rng.choice(benign).format(n=rng.randrange(10**6), d=rng.randrange(900))
                lines.append(stamp + line)
            block = "\n".join(lines) + "\n"
            out.write(block)
            written += len(block.encode())
    return errors


def _rss_mb() -> float:
    """Resident memory of this process now (Linux), in MB; 0 where it cannot be read."""
    try:
        pages = int(Path("/proc/self/statm").read_text().split()[1])
    except (OSError, IndexError, ValueError):
        return 0.0
    return pages * resource.getpagesize() / 2**20  # MB as ru_maxrss / 1024 counts them


def bench_scan(workdir: Path, megabytes: int, rng: random.Random) -> None:
    """`errorkb scan` end to end on one core (reading, finding, classifying, grouping) over a
    generated log, beside a per-line `lookup` loop over its first 20,000 lines; memory as
    resident size before and after the scan and the process's peak."""
    log = workdir / "big.log"
    events = make_log(log, megabytes, rng)
    size = log.stat().st_size / 1e6
    kb = KnowledgeBase.open([bundled_corpus_dir()], cache_dir=workdir)
    from errorkb.scan.triggers import triggers_for
    backend = triggers_for(tuple(kb.store.engine.trigger_literals())).name
    rss_before = _rss_mb()
    started = time.perf_counter()
    with log.open("rb") as handle:
        report = kb.scan([("big.log", handle)])
    seconds = time.perf_counter() - started
    rss_after = _rss_mb()
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    found = sum(g.count for g in report.groups.values())
    with log.open(encoding="utf-8") as handle:
        sample = [line for _, line in zip(range(20_000), handle, strict=False) if line.strip()]
    started = time.perf_counter()
    for line in sample:
        kb.lookup(line)
    naive_seconds = time.perf_counter() - started
    sample_mb = sum(len(line.encode()) for line in sample) / 1e6
    print(f"\n## scan: {size:.0f} MB log, {report.stats.lines:,} lines, {events:,} error events "
          f"written; {report.events:,} events looked at, {found:,} known hits in "
          f"{len(report.groups)} groups, {len(report.unknown)} unknown templates")
    print(f"errorkb scan ({backend} triggers): {size / seconds:.1f} MB/s ({seconds:.1f}s); "
          f"per-line lookup loop: {sample_mb / naive_seconds:.2f} MB/s "
          f"({len(sample) / naive_seconds:,.0f} lines/s, over the first 20,000 lines)")
    print(f"memory: resident {rss_before:.0f} MB before the scan, {rss_after:.0f} MB after; "
          f"peak of the process so far {peak:.0f} MB")


def bench_http(workdir: Path, seconds: float = 10.0, clients: int = 8) -> None:
    """Requests per second of GET /api/v1/lookup on one `errorkb serve` process, loaded from
    this process over loopback by `clients` keep-alive connections for `seconds`."""
    import socket
    import threading

    import httpx

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    exe = str(Path(sys.executable).with_name("errorkb"))
    server = subprocess.Popen([exe, "serve", "--port", str(port)], stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(600):
            try:
                if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.1)
        queries = ["Error: read ECONNRESET", "ModuleNotFoundError: No module named 'yaml'",
                   "x509: certificate signed by unknown authority", "all good here"]
        counts = [0] * clients
        stop = time.perf_counter() + seconds

        def load(slot: int) -> None:
            with httpx.Client(base_url=base, timeout=10) as client:
                n = 0
                while time.perf_counter() < stop:
                    client.get("/api/v1/lookup", params={"q": queries[n % len(queries)]})
                    n += 1
                counts[slot] = n

        threads = [threading.Thread(target=load, args=(i,)) for i in range(clients)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        print(f"\nHTTP GET /api/v1/lookup, one worker, {clients} connections: "
              f"{sum(counts) / seconds:.0f} requests/s")
    finally:
        server.terminate()
        server.wait(timeout=10)


def bench_outcomes(workdir: Path, count: int = 2000) -> None:
    """Durable outcome writes per second, one writer: SQLite (WAL, synchronous=FULL), and
    PostgreSQL when ERRORKB_TEST_PG names a server (e.g. from .ci/start-postgres)."""
    import uuid

    from errorkb.outcomes import Report, open_outcome_store

    urls = {"SQLite": f"sqlite:///{workdir}/outcomes-bench.sqlite"}
    if os.environ.get("ERRORKB_TEST_PG"):
        urls["PostgreSQL"] = os.environ["ERRORKB_TEST_PG"]
    run = uuid.uuid4().hex[:8]
    for name, url in urls.items():
        store = open_outcome_store(url, create=True)
        assert store is not None
        started = time.perf_counter()
        for i in range(count):
            store.append(Report("network/connection-reset-by-peer", "workaround", 0, i % 2 == 0,
                                f"bench-{run}-{i}"))
        seconds = time.perf_counter() - started
        store.close()
        print(f"outcome writes ({name}, durable commits, one writer): {count / seconds:.0f}/s")


def bench_reload(workdir: Path, url: str) -> None:
    """Two `errorkb serve --db` processes on the bundled corpus published to PostgreSQL: the
    seconds from a new version's commit until each answers a message only it matches."""
    import dataclasses
    import shutil
    import socket

    import httpx

    from errorkb.index.published import publish_corpus
    from errorkb.records import dump_canon, load_yaml_tree

    corpus = workdir / "reload-corpus"
    shutil.copytree(bundled_corpus_dir(), corpus)
    started = time.perf_counter()
    first = publish_corpus(url, [corpus], cache_dir=workdir / "publisher", published_by="bench")
    print(f"\npublish {first.version and first.version.canons} canons to PostgreSQL: "
          f"{time.perf_counter() - started:.1f}s ({'new version' if first.created else 'unchanged'})")
    exe = str(Path(sys.executable).with_name("errorkb"))
    servers = []
    for name in ("a", "b"):
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]
        env = {**os.environ, "ERRORKB_DB": url, "ERRORKB_CACHE_DIR": str(workdir / f"server-{name}")}
        launched = time.perf_counter()
        process = subprocess.Popen([exe, "serve", "--port", str(port)], env=env,
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        base = f"http://127.0.0.1:{port}"
        servers.append((process, base))
        for _ in range(1200):
            try:
                if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.05)
        print(f"server {name}: answering {time.perf_counter() - launched:.1f}s after launch "
              "(local index from the database, no compile)")
    probe = "errorkb reload probe 4242"
    try:
        item = load_yaml_tree(corpus).loaded[0]
        edited = dataclasses.replace(item.canon, regex=f"(?:{item.canon.regex})|errorkb reload probe \\d+")
        Path(item.file).write_text(dump_canon(edited), encoding="utf-8")
        started = time.perf_counter()
        publish_corpus(url, [corpus], cache_dir=workdir / "publisher", published_by="bench")
        committed = time.perf_counter()
        print(f"publish one edited canon: {committed - started:.1f}s (its shard recompiled)")
        waiting = {base for _, base in servers}
        seen: list[float] = []
        while waiting and time.perf_counter() - committed < 60:
            for base in sorted(waiting):
                answer = httpx.get(f"{base}/api/v1/lookup", params={"q": probe}, timeout=10).json()
                if answer["matches"]:
                    waiting.discard(base)
                    seen.append(time.perf_counter() - committed)
            time.sleep(0.02)
        print("commit → serving the new version: " + ", ".join(f"{s:.2f}s" for s in seen)
              + (f"; {len(waiting)} server(s) not within 60s" if waiting else " (both servers)"))
    finally:
        for process, _ in servers:
            process.terminate()
            process.wait(timeout=10)


PARTS = ("lookup", "cold", "scan", "http", "outcomes", "reload")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--factors", default="1,10,50")
    parser.add_argument("--baseline-repeat", type=int, default=20)
    parser.add_argument("--scan-mb", type=int, default=200, help="size of the scanned log (0: skip)")
    parser.add_argument("--only", default=",".join(PARTS),
                        help=f"comma-separated parts to run, of: {', '.join(PARTS)} "
                             "(reload needs ERRORKB_TEST_PG)")
    args = parser.parse_args(argv)
    parts = set(args.only.split(","))
    if parts - set(PARTS):
        parser.error(f"unknown part(s): {', '.join(sorted(parts - set(PARTS)))}")
    pg = os.environ.get("ERRORKB_TEST_PG")
    rng = random.Random(7)
    records = source_records()
    print(f"# errorkb bench: {len(records)} source canons "
          f"({'peer dataset' if PEER.exists() else 'bundled corpus'})")
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        for factor in [int(f) for f in args.factors.split(",")] if "lookup" in parts else []:
            kinds = ["distinct"] if factor == 1 else ["distinct", "stress"]
            for kind in kinds:
                bench_corpus(f"{factor}x-{kind}", variants(records, factor, kind), rng, workdir,
                             args.baseline_repeat)
        if "cold" in parts:
            cold_start(workdir)
        if "scan" in parts and args.scan_mb:
            bench_scan(workdir, args.scan_mb, rng)
        if "http" in parts:
            bench_http(workdir)
        if "outcomes" in parts:
            bench_outcomes(workdir)
        if "reload" in parts and pg:
            bench_reload(workdir, pg)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak memory of this run: {peak:.0f} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())

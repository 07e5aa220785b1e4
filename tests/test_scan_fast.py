"""The byte-level scan gives exactly what a straightforward per-event scan gives.

The reference below is the scanner as it was before the byte-level pass: it decodes every
chunk, lower-cases it, runs the engine's literal automaton over it, checks every line that
holds an error word against ERROR_LINE, assembles events around every hit with `assemble`
over the whole chunk, and takes captures through the engine's `search`. Both run on
realistic mixed logs (corpus examples among benign lines, tracebacks, unknown errors, CRLF,
NULs, invalid UTF-8, non-ASCII, blank and indented lines, over-long lines) with both trigger
backends and with small chunks, so that chunk edges fall everywhere.
"""

from __future__ import annotations

import functools
import io
import random
import re
from collections.abc import Iterator
from typing import Any, BinaryIO

import ahocorasick
import pytest

from errorkb.dialect import compile_regex
from errorkb.faces.config import bundled_corpus_dir
from errorkb.match.normalize import mask, normalize, strip_prefix
from errorkb.scan import (
    ERROR_LINE,
    TIMESTAMP,
    Group,
    Scanner,
    ScanReport,
    Unknown,
    says_an_error,
    template_of,
)
from errorkb.scan import triggers as trigger_module
from errorkb.scan.captures import Captures, capture_spans, digit_blind, first_captures
from errorkb.scan.events import _CONTINUATION, _MAY_JOIN, _OPENERS, assemble
from errorkb.scan.reader import MAX_LINE, Chunk, ReadStats, iter_chunks
from errorkb.scan.triggers import ERROR_LINE_LITERALS, AhoCorasickTriggers, Hits, HyperscanTriggers
from errorkb.service import KnowledgeBase, scan_tiers
from tests.test_scan import BENIGN, GO, JAVA, PY_CHAINED

ERROR_WORDS = re.compile(r"error|fatal|critical|panic|severe|exception|traceback|failed")
DIGITS = str.maketrans("0123456789", "0000000000")


@pytest.fixture(scope="module")
def kb(tmp_path_factory: pytest.TempPathFactory) -> KnowledgeBase:
    return KnowledgeBase.open([bundled_corpus_dir()], cache_dir=tmp_path_factory.mktemp("cache"))


def reference_scan(kb: KnowledgeBase, data: bytes, name: str, chunk_bytes: int) -> ScanReport:
    """The scan as a plain loop over decoded chunks (see the module docstring)."""
    report = ScanReport(sources=[name])
    cache: dict[str, tuple[str | None, list[str]]] = {}
    literals = ahocorasick.Automaton()
    for literal in kb.store.engine.trigger_literals():
        literals.add_word(literal, literal)
    literals.make_automaton()
    for chunk in iter_chunks(io.BufferedReader(io.BytesIO(data)), name, report.stats,  # type: ignore[arg-type]
                             chunk_bytes=chunk_bytes):
        text = chunk.text
        lowered = text.lower()
        offsets = [end for end, _ in literals.iter(lowered)]
        for word in ERROR_WORDS.finditer(lowered):
            start = text.rfind("\n", 0, word.start()) + 1
            end = text.find("\n", start)
            if ERROR_LINE.search(text, start, len(text) if end < 0 else end):
                offsets.append(word.start())
        for event in assemble(text, offsets, chunk.first_line):
            event_text = event.text(text)
            if not event_text.strip():
                continue
            report.events += 1
            key = event_text.translate(DIGITS)
            if key in cache:
                canon_id, captures = cache[key]
                if canon_id is not None:
                    hits = kb.store.engine.search(event_text, [kb.store.key_of[canon_id]])
                    captures = list(hits[0].groups) if hits else []
            else:
                # Words alone name nothing in a log: a regex hit, or a code only that canon names.
                result = kb.lookup(event_text, limit=3)
                owned = kb.store.owners(result.query.codes)
                named = [m for m in result.matches if m.hit is not None or m.key in owned]
                canon_id, captures = (named[0].canon_id, named[0].captures) if named else (None, [])
                cache[key] = (canon_id, captures)
            where = (name, event.line)
            stamp = TIMESTAMP.search(event_text[:200])
            when = stamp.group(0) if stamp else None
            if canon_id is None:
                if not says_an_error(event_text):
                    continue
                template = template_of(event_text)
                unknown = report.unknown.setdefault(
                    template, Unknown(template, first=where, example=event_text[:2000]))
                unknown.count += 1
                continue
            group = report.groups.setdefault(canon_id, Group(
                canon_id, first=where, first_time=when, example=event_text[:2000]))
            group.count += 1
            group.last = where
            group.last_time = when or group.last_time
            group.captures.update(captures[:3])
            if when and when[:4].isdigit():
                report.timeline[when[:16].replace("T", " ")] += 1
    report.tiers = scan_tiers([kb.canon(canon_id) for canon_id in report.groups])
    return report


def fast_scan(kb: KnowledgeBase, data: bytes, name: str, chunk_bytes: int) -> ScanReport:
    def read(handle: BinaryIO, source: str, stats: ReadStats) -> Iterator[Chunk]:
        return iter_chunks(handle, source, stats, chunk_bytes=chunk_bytes)
    return kb.scan([(name, io.BufferedReader(io.BytesIO(data)))], follow=read)  # type: ignore[arg-type]


def comparable(report: ScanReport) -> dict[str, Any]:
    result = report.to_dict()
    del result["stats"]["seconds"]
    return result


def mixed_log(seed: int, lines: int) -> bytes:
    """Benign lines (a quarter with `errors=0`, random numbers that hit numeric literals),
    one in 25 an error: corpus examples, tracebacks, unknown errors; and the awkward rest."""
    rng = random.Random(seed)
    from errorkb.exchange import load_paths
    examples = [e for item in load_paths([bundled_corpus_dir()]).loaded for e in item.canon.examples]
    odd = [b"\tat com.acme.Foo.bar(Foo.java:12)", b"", b"   ", b"main.main()",
           b"(nothing) in parentheses", b"Caused by: java.io.IOException: broken pipe",
           b"2026-03-02 11:00:00 INFO caf\xc3\xa9 ok", b"2026-03-02 11:00:00 WARN bad \xe9\xff byte",
           b"2026-03-02 11:00:00 INFO nul\x00 inside", b"x" * (MAX_LINE + 50),
           "2026-03-02 11:00:00 ОШИБКА: соединение сброшено".encode(), b"... 3 more",
           b"2026-03-02 11:00:00 ERROR: disk full\r", b"error: linker `cc` not found",
           b"  File \"/srv/app.py\", line 3, in <module>", b"FAILED tests/test_x.py::test_y"]
    node = "Error: read ECONNRESET\n    at TCP.onStreamRead (node:internal/stream_base_commons:217:20)\n"
    blocks = [PY_CHAINED, JAVA, GO, node]
    out: list[bytes] = []
    for i in range(lines):
        stamp = f"2026-03-02 11:{i // 60 % 60:02d}:{i % 60:02d},{i % 1000:03d} "
        roll = rng.random()
        if roll < 0.02:
            out.append((stamp + "ERROR " + rng.choice(examples)).encode())
        elif roll < 0.025:
            out.append(rng.choice(blocks).rstrip("\n").encode())
        elif roll < 0.027:  # blocks of one shape with other digits, `+0x` and `+5x` alike
            out.append((f"{stamp}ERROR request failed\nTraceback (most recent call last):\n"
                        f'  File "/srv/app.py", line {rng.randrange(999)}, in run\n    conn.recv()\n'
                        "ConnectionResetError: [Errno 104] Connection reset by peer").encode())
            out.append(f"panic: boom\n\ngoroutine 1 [running]:\nmain.main() +{rng.choice('05')}x2c"
                       "\n\t/x/main.go:5 +0x2c\nexit status 2".encode())
        elif roll < 0.03:
            out.append(f"{stamp}ERROR frobnicator {rng.randrange(99)} exploded at /var/{i}.db".encode())
        elif roll < 0.045:
            out.append(rng.choice(odd))
        else:
            out.append(rng.choice(BENIGN).format(m=i // 60 % 60, s=i % 60, ms=i % 1000,
                                                 n=rng.randrange(10**6), d=rng.randrange(900)).encode())
    return b"\r\n".join(out[: lines // 2]) + b"\r\n" + b"\n".join(out[lines // 2:]) + b"\n"


@pytest.fixture(params=["hyperscan", "aho-corasick"])
def backend(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    if request.param == "hyperscan" and trigger_module.hyperscan is None:
        pytest.skip("Hyperscan is not installed here")
    if request.param == "aho-corasick":
        monkeypatch.setattr(trigger_module, "hyperscan", None)
    trigger_module.triggers_for.cache_clear()
    yield request.param
    trigger_module.triggers_for.cache_clear()


@pytest.mark.parametrize("chunk_bytes", [16 * 1024, 4 * 1024 * 1024])
def test_the_fast_scan_equals_the_reference_on_a_mixed_log(
        kb: KnowledgeBase, backend: str, chunk_bytes: int) -> None:
    data = mixed_log(seed=11, lines=12_000)
    fast = comparable(fast_scan(kb, data, "mixed.log", chunk_bytes))
    reference = comparable(reference_scan(kb, data, "mixed.log", chunk_bytes))
    assert fast["known"] and fast["unknown"]  # the log is worth comparing
    assert fast["stats"]["invalid_utf8"] and fast["stats"]["long_lines_cut"]
    assert fast == reference


def test_the_fast_scan_equals_the_reference_on_the_test_logs(kb: KnowledgeBase, backend: str) -> None:
    log = ("2026-03-02 11:04:55,120 INFO starting\n" + PY_CHAINED + JAVA + GO
           + "2026-03-02 11:07:00,000 ERROR pool: read ECONNRESET\n\n\n" + GO + "\n").encode()
    for data in (log, log.replace(b"\n", b"\r\n"), b"\n" + log, log.rstrip(b"\n")):
        assert comparable(fast_scan(kb, data, "a.log", 256)) == \
            comparable(reference_scan(kb, data, "a.log", 256))


def test_both_backends_find_the_same_trigger_lines(kb: KnowledgeBase) -> None:
    if trigger_module.hyperscan is None:
        pytest.skip("Hyperscan is not installed here")
    literals = [*kb.store.engine.trigger_literals(), "ошибка"]
    hyper, aho = HyperscanTriggers(literals), AhoCorasickTriggers(literals)
    for chunk in iter_chunks(io.BufferedReader(io.BytesIO(mixed_log(3, 4000))), "m", ReadStats()):  # type: ignore[arg-type]
        assert hyper.find(chunk).triggers == aho.find(chunk).triggers
        assert aho.find(chunk).joining is None
        joining = hyper.find(chunk).joining
        assert joining is not None
        starts = [0] + [i + 1 for i, b in enumerate(chunk.data) if b == 10]
        assert {s for s in starts if _MAY_JOIN.match(chunk.data, s)} - {len(chunk.data)} == joining


def test_a_literal_with_letters_outside_ascii_matches_in_any_case() -> None:
    chunk = Chunk("2026 ОШИБКА: нет\n2026 fine\n2026 Ошибка again".encode(), 1, "x")
    for triggers in (AhoCorasickTriggers(["ошибка"]),
                     *([HyperscanTriggers(["ошибка"])] if trigger_module.hyperscan else [])):
        assert triggers.find(chunk).triggers == [0, chunk.data.index(b"2026 \xd0\x9e\xd1")]


def test_every_error_line_holds_one_of_the_error_line_literals(kb: KnowledgeBase) -> None:
    from errorkb.exchange import load_paths
    lines = [e for item in load_paths([bundled_corpus_dir()]).loaded for e in item.canon.examples]
    lines += ["x Failed y", "an Error", "MyException", "error[E0382]: moved", "Exception in thread",
              "FATAL", "SEVERE", "panic: x", "fatal: not a git repository", "ÉError:", "errors=0"]
    for line in lines:
        for part in line.split("\n"):
            if ERROR_LINE.search(part):
                assert any(literal in part for literal in ERROR_LINE_LITERALS), part


def test_every_line_that_may_join_a_neighbour_is_flagged() -> None:
    lines = [
        *(PY_CHAINED + JAVA + GO).split("\n"), "", " ", "\u00a0x", "\u3000x", "\x1cx",
        "main.main()", "runtime.gopark(0x0?)",
        "é.f(x)", "... 12 more", "... ١٢ more", "goroutine 7 [chan receive]:", "exit status 2",
        "[signal SIGSEGV: segmentation violation]", "created by main.main", "error[E0502]: x",
        "Exception in thread \"main\" x", "fatal error: all goroutines are asleep"]
    for line in lines:
        if not line.strip() or _CONTINUATION.match(line) or _OPENERS.match(line):
            assert _MAY_JOIN.match(line.encode()), line


@pytest.mark.parametrize(("regex", "blind"), [
    (r"Connection reset by peer", True), (r"port (\d+)", True), (r"\[Errno (104|54)\]", False),
    (r"[0-9a-f]{8}", True), (r"[1-9]\d*", False), (r"x{,3}", False), (r"(\w+):(\d+)", True),
    (r"[^\d\s]+", True), (r"[^5]", False), (r"\p{Greek}", False), (r"(a)\1", False),
    (r"HTTP/1\.1", False), (r"[a-z.]+\(\)", True)])
def test_digit_blind_regexes(regex: str, blind: bool) -> None:
    assert digit_blind(regex) is blind


def test_captures_reused_across_one_key_equal_captures_taken_anew() -> None:
    patterns = {"port": compile_regex(r"connect to (\S+) port (\d+)"),
                "errno": compile_regex(r"\[Errno (104|54)\] (\w+)"),
                "empty": compile_regex(r"(x?)|(\d+)"), "uni": compile_regex(r"(é+)(\d)")}
    captures = Captures(patterns.get)
    texts = ["11:00 connect to db1 port 5432", "12:01 connect to db7 port 6432",
             "[Errno 104] reset", "[Errno 154] reset", "[Errno 54] reset", "a 12", "b 345",
             "éé 1", "éé 9"]
    for canon_id, pattern in patterns.items():
        for text in texts:
            key = text.encode().translate(bytes.maketrans(b"123456789", b"000000000"))
            assert captures.of(canon_id, key, text) == first_captures(pattern, text)
            hits = pattern.search(text)
            if hits is not None and hits.end() > hits.start():
                assert [text[a:b] for a, b in capture_spans(pattern, text)] == \
                    [g for g in hits.groups() if g]


@pytest.mark.parametrize("line", [
    "2026-03-02 11:00:00,000 ERROR frobnicator exploded with code 42 at /x/y.db",
    "2026-03-02T11:00:00Z", "Mar  2 11:00:00 host app[12]: failed to open '/etc/x' for 0xdeadbeef",
    "ERROR \"quoted\" and 'single' values 10.0.0.1:80", "   ", "[E] something failed http://x/y"])
def test_a_one_line_template_is_the_normalised_one(line: str) -> None:
    norm = normalize(line)
    decisive = (norm.text[slice(*max(norm.decisive, key=lambda d: d[2])[:2])]
                if norm.decisive else line)
    masked = re.sub(r"'[^'\n]{1,200}'|\"[^\"\n]{1,200}\"", "<str>", mask(strip_prefix(decisive)))
    assert template_of(line) == re.sub(r"\s+", " ", masked).strip()[:300]


@pytest.mark.parametrize("data", [
    b"plain\nlines\n", b"caf\xc3\xa9\r\nbad \xe9 byte\rnul\x00\n", b"\xe4\xb8\n\xad end",
    b"a" * (MAX_LINE + 1) + b"\nb\n" + b"c" * (3 * MAX_LINE) + b"\nd"])
def test_chunks_decode_as_the_whole_input_does(data: bytes) -> None:
    stats = ReadStats()
    chunks = list(iter_chunks(io.BufferedReader(io.BytesIO(data)), "x", stats, chunk_bytes=1024))  # type: ignore[arg-type]
    whole = data.replace(b"\x00", b"").replace(b"\r\n", b"\n").replace(b"\r", b"\n")
    text = "\n".join(c.text for c in chunks)
    assert stats.replaced_bytes is (whole.decode("utf-8", "replace") != whole.decode("utf-8", "ignore"))
    assert stats.lines == text.count("\n") + 1 == sum(c.lines for c in chunks)
    if stats.long_lines == 0:
        assert text == whole.decode("utf-8", "replace").rstrip("\n")
    assert [c.first_line for c in chunks] == list(
        functools.reduce(lambda acc, c: [*acc, acc[-1] + c.lines], chunks[:-1], [1]))


def test_the_template_cache_gives_what_template_of_gives() -> None:
    scanner = Scanner(lambda chunk: Hits([]), lambda text: (None, []), lambda canon_id: None)
    rng = random.Random(2)
    bases = ["2026-03-02 11:00:00,123 ERROR frobnicator 42 exploded at /var/lib/7.db",
             "ERROR matrix 1x5 vs 0x5f at 10.0.0.7:5432 id 0123456789abcdef0",
             "Mar  2 11:00:09 host app[123]: failed: '42' \"7\" 3.14", "E7 ERROR 9 99 999 \x1b[31m7",
             "ERROR shard 12 of 345 failed after 6.7s"]
    for base in bases:
        for _ in range(40):
            text = re.sub(r"\d", lambda _: str(rng.randrange(10)), base)
            assert scanner._template(text) == template_of(text), text
    assert template_of("x 1x5") != template_of("x 0x5")  # the case the cache key keeps apart


def test_line_numbers_are_counted_once_in_any_order() -> None:
    chunk = Chunk(b"a\nb\n\nc\nd", 10, "x")
    assert [chunk.line_at(o) for o in (0, 2, 5, 8, 4, 0)] == [10, 11, 13, 14, 12, 10]
    assert chunk.lines == 5

"""Scanning logs: events assembled, hits grouped and counted, bad input refused clearly."""

from __future__ import annotations

import gzip
import io
import json
import random
from pathlib import Path

import pytest
from click.testing import CliRunner

from errorkb.faces.cli import main
from errorkb.faces.config import bundled_corpus_dir
from errorkb.scan.reader import MAX_LINE, ReadStats, follow_chunks
from errorkb.service import KnowledgeBase

PY_CHAINED = """2026-03-02 11:05:01,003 ERROR request failed
Traceback (most recent call last):
  File "/srv/app/client.py", line 12, in fetch
    data = sock.recv(4096)
ConnectionResetError: [Errno 104] Connection reset by peer

During handling of the above exception, another exception occurred:

Traceback (most recent call last):
  File "/srv/app/main.py", line 3, in <module>
    fetch()
RuntimeError: upstream went away
"""

JAVA = """2026-03-02 11:06:00,000 ERROR [main] boot failed
Exception in thread "main" java.lang.UnsupportedClassVersionError: com/acme/App has been \
compiled by a more recent version of the Java Runtime (class file version 65.0), this version of \
the Java Runtime only recognizes class file versions up to 61.0
\tat java.base/java.lang.ClassLoader.defineClass1(Native Method)
\tat java.base/java.lang.ClassLoader.defineClass(ClassLoader.java:1017)
"""

GO = """panic: assignment to entry in nil map

goroutine 1 [running]:
main.main()
\t/home/u/x/main.go:5 +0x2c
exit status 2
"""

BENIGN = [
    "2026-03-02 11:{m:02d}:{s:02d},{ms:03d} INFO http: GET /api/items/{n} 200 in {d} ms",
    "2026-03-02 11:{m:02d}:{s:02d},{ms:03d} DEBUG cache hit for key user:{n}",
    "2026-03-02 11:{m:02d}:{s:02d},{ms:03d} INFO worker {n} finished job in {d} ms",
    "2026-03-02 11:{m:02d}:{s:02d},{ms:03d} INFO stats: requests={n} errors=0 retries=0",
]


@pytest.fixture(scope="module")
def kb(tmp_path_factory: pytest.TempPathFactory) -> KnowledgeBase:
    return KnowledgeBase.open([bundled_corpus_dir()], cache_dir=tmp_path_factory.mktemp("cache"))


def scan_text(kb: KnowledgeBase, text: str | bytes, name: str = "app.log") -> dict[str, object]:
    data = text.encode() if isinstance(text, str) else text
    return kb.scan([(name, io.BufferedReader(io.BytesIO(data)))]).to_dict()  # type: ignore[arg-type]


def known(report: dict[str, object]) -> dict[str, int]:
    return {g["id"]: g["count"] for g in report["known"]}  # type: ignore[index, union-attr]


def test_a_mixed_log_gives_exactly_the_expected_hits(kb: KnowledgeBase) -> None:
    log = ("2026-03-02 11:04:55,120 INFO starting\n" + PY_CHAINED + JAVA + GO
           + "2026-03-02 11:07:00,000 ERROR pool: read ECONNRESET\n"
           + "2026-03-02 11:08:00,000 ERROR pool: read ECONNRESET\n")
    report = scan_text(kb, log)
    assert known(report) == {
        "network/python-connection-reset-error": 1,
        "java/unsupported-class-version-error": 1,
        "go/assignment-to-entry-in-nil-map": 1,
        "network/node-read-econnreset": 2,
    }
    groups = {g["id"]: g for g in report["known"]}  # type: ignore[union-attr]
    reset = groups["network/node-read-econnreset"]
    assert reset["first"]["line"] < reset["last"]["line"]
    assert reset["first"]["time"] == "2026-03-02 11:07:00"
    assert groups["network/python-connection-reset-error"]["captures"] == [{"value": "104", "count": 1}]


def test_a_traceback_after_another_without_chaining_words_is_an_error_of_its_own(
        kb: KnowledgeBase) -> None:
    first = ('Traceback (most recent call last):\n  File "/app/a.py", line 1, in <module>\n'
             "    import numpy\nModuleNotFoundError: No module named 'numpy'\n")
    second = PY_CHAINED.split("\n", 1)[1]  # the chained traceback, without its log line
    for between in ("", "\n"):
        report = scan_text(kb, first + between + second)
        assert known(report) == {"python/module-not-found": 1,
                                 "network/python-connection-reset-error": 1}
        assert [g["first"]["line"] for g in report["known"]] == [1, 5 + len(between)]  # type: ignore[index, union-attr]


def test_a_traceback_ending_in_an_exception_not_named_error_is_one_event(kb: KnowledgeBase) -> None:
    log = ('Traceback (most recent call last):\n  File "/srv/shop/urls.py", line 88, in reverse\n'
           "    return resolver._reverse_with_prefix(view, prefix, *args, **kwargs)\n"
           "django.urls.exceptions.NoReverseMatch: Reverse for 'order-detail' with arguments "
           "'('',)' not found. 1 pattern(s) tried: ['orders/(?P<pk>[0-9]+)/\\\\Z']\n")
    report = scan_text(kb, log)
    assert known(report) == {"python/django-noreversematch": 1}
    assert report["unknown"] == []


def test_known_errors_come_in_the_order_they_first_appear_summaries_last(kb: KnowledgeBase) -> None:
    log = ("npm ERR! code ELIFECYCLE\n" + GO + "2026-03-02 11:07:00,000 ERROR pool: read ECONNRESET\n" * 3
           + "2026-03-02 11:08:00,000 ERROR [main] boot failed\n" + JAVA)
    report = scan_text(kb, log)
    assert [g["id"] for g in report["known"]] == [  # type: ignore[union-attr]
        "go/assignment-to-entry-in-nil-map", "network/node-read-econnreset",
        "java/unsupported-class-version-error", "node/npm-elifecycle"]


def test_an_error_the_graph_says_another_found_one_causes_comes_after_it(kb: KnowledgeBase) -> None:
    log = ("$ kubectl get pods\nNAME                   READY   STATUS             RESTARTS   AGE\n"
           "web-7f8897b78c-gvfh7   0/1     ImagePullBackOff   0          59s\n\n$ kubectl describe pod\n"
           "Events:\n  Normal   Scheduled  60s  default-scheduler  Successfully assigned default/web\n"
           "  Warning  Failed  30s  kubelet  Failed to pull image \"registry.example.com/app:1.4\": "
           "failed to authorize: unauthorized: authentication required\n")
    report = scan_text(kb, log)
    assert [g["id"] for g in report["known"]] == [  # type: ignore[union-attr]
        "docker/unauthorized-authentication-required", "kubernetes/imagepullbackoff"]


def test_level_marks_advice_locating_fragments_and_zero_counts_are_no_unknown_errors(
        kb: KnowledgeBase) -> None:
    log = ("[ERROR] /srv/app/src/main/java/App.java:[12,8] frobnicated types: Widget cannot be wound\n"
           "[ERROR]   symbol:   class Widget\n[ERROR]   location: class App\n[ERROR] \n"
           "[ERROR] -> [Help 1]\n[ERROR] Re-run Maven using the -X switch to enable full debug logging.\n"
           "E       TypeError: frobnicated types\n\ntests/test_app.py:22: TypeError\n"
           "FAILED - RETRYING: Wait for the widget (299 retries left).\n"
           "changed: [host1] => {'rc': 0, 'failed': False}\n"
           "host1 : ok=8    changed=7    unreachable=0    failed=0    skipped=3\n")
    unknown = scan_text(kb, log)["unknown"]
    assert sorted(u["example"] for u in unknown) == [  # type: ignore[union-attr, index]
        "E       TypeError: frobnicated types",
        "[ERROR] /srv/app/src/main/java/App.java:[12,8] frobnicated types: Widget cannot be wound"]


def test_words_alone_name_no_error_in_a_log(kb: KnowledgeBase) -> None:
    line = "2026-03-02 11:07:00,000 ERROR docker daemon socket permission denied"
    assert kb.lookup(line).matches  # a lookup may answer on words alone
    assert known(scan_text(kb, line + "\n")) == {}


def test_a_benign_log_of_50000_lines_has_no_hits(kb: KnowledgeBase) -> None:
    rng = random.Random(5)
    lines = [rng.choice(BENIGN).format(m=i // 1000 % 60, s=i % 60, ms=i % 1000, n=rng.randrange(10**6),
                                       d=rng.randrange(900)) for i in range(50_000)]
    report = scan_text(kb, "\n".join(lines) + "\n")
    assert report["known"] == [] and report["unknown"] == []
    assert report["stats"]["lines"] == 50_000  # type: ignore[index]


def test_unknown_errors_are_grouped_into_templates(kb: KnowledgeBase) -> None:
    log = "".join(f"2026-03-02 11:0{i}:00,000 ERROR frobnicator exploded with code {40 + i} "
                  f"at /var/lib/frob/{i}.db\n" for i in range(5))
    report = scan_text(kb, log)
    assert known(report) == {}
    assert [(u["template"], u["count"]) for u in report["unknown"]] == [  # type: ignore[union-attr]
        ("ERROR frobnicator exploded with code <num> at <path>", 5)]


def test_crlf_invalid_utf8_nul_and_long_lines_are_handled(kb: KnowledgeBase) -> None:
    data = (b"2026-03-02 11:00:00 INFO caf\xe9 \x00ok\r\n" + b"x" * (MAX_LINE + 10) + b"\r\n"
            + b"2026-03-02 11:00:01 ERROR pool: read ECONNRESET\r\n")
    report = scan_text(kb, data)
    assert known(report) == {"network/node-read-econnreset": 1}
    stats = report["stats"]
    assert stats["long_lines_cut"] == 1 and stats["invalid_utf8"] is True  # type: ignore[index]


def test_gzip_input_is_read(kb: KnowledgeBase) -> None:
    report = scan_text(kb, gzip.compress((GO * 3).encode()))
    assert known(report) == {"go/assignment-to-entry-in-nil-map": 3}


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, list(args))
    return result.exit_code, result.stdout  # stdout only: an index build reports on stderr


def test_cli_exit_codes_and_fail_on(tmp_path: Path) -> None:
    log = tmp_path / "app.log"
    log.write_text("2026-03-02 11:00:00 ERROR pool: read ECONNRESET\n" + GO, encoding="utf-8")
    benign = tmp_path / "ok.log"
    benign.write_text("2026-03-02 11:00:00 INFO fine\n", encoding="utf-8")
    assert run("scan", str(log))[0] == 0
    assert run("scan", str(benign))[0] == 1
    assert run("scan", str(log), "--fail-on", "any")[0] == 1
    assert run("scan", str(log), "--fail-on", "network/node-read-econnreset")[0] == 1
    assert run("scan", str(log), "--fail-on", "database/redis-oom-maxmemory")[0] == 0
    code, out = run("scan", str(log), str(benign), "--json", "--html", str(tmp_path / "r.html"))
    assert code == 0 and json.loads(out)["sources"] == [str(log), str(benign)]
    page = (tmp_path / "r.html").read_text(encoding="utf-8")
    assert "assignment to entry in nil map" in page and "<svg" in page


@pytest.mark.parametrize("content", [gzip.compress(b"some log\n" * 1000)[:60], bytes(range(256)) * 64])
def test_corrupt_gzip_and_binary_files_are_refused_without_a_traceback(
        tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "broken.log"
    path.write_bytes(content)
    result = CliRunner().invoke(main, ["scan", str(path)])
    assert result.exit_code == 2
    assert "error:" in result.stderr and "Traceback" not in result.output


def test_a_draft_canon_from_an_unknown_template_checks_with_warnings_only(tmp_path: Path) -> None:
    log = tmp_path / "app.log"
    log.write_text("2026-03-02 11:00:00 ERROR frobnicator exploded with code 42 at /x/y.db\n",
                   encoding="utf-8")
    code, out = run("scan", str(log), "--json")
    (tmp_path / "report.json").write_text(out, encoding="utf-8")
    code, _ = run("new", "--from-scan", str(tmp_path / "report.json"), "--template", "1",
                  "--out", str(tmp_path / "canon"))
    assert code == 0
    code, out = run("check", str(tmp_path / "canon"), "--json")
    payload = json.loads(out)
    assert code == 0 and payload["counts"]["error"] == 0 and payload["checked"] == 1


def test_follow_reads_what_is_appended(tmp_path: Path) -> None:
    path = tmp_path / "live.log"
    path.write_bytes(b"first line\n")
    with path.open("rb") as handle:
        chunks = follow_chunks(handle, "live.log", ReadStats(), poll_seconds=0.01)
        assert next(chunks).text == "first line"
        with path.open("ab") as writer:
            writer.write(b"second line\nthird line\n")
        chunk = next(chunks)
        assert chunk.text == "second line\nthird line" and chunk.first_line == 2

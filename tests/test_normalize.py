"""Normalisation: raw text → decisive lines, error codes, masked terms (table tests)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from errorkb.match.normalize import (
    MAX_WORD,
    extract_codes,
    mask,
    normalize,
    strip_ansi,
    strip_prefix,
    terms,
    unwrap,
)

REPO = Path(__file__).resolve().parents[1]

PY_CHAINED = """Traceback (most recent call last):
  File "/srv/app/client.py", line 12, in fetch
    data = sock.recv(4096)
ConnectionResetError: [Errno 104] Connection reset by peer

During handling of the above exception, another exception occurred:

Traceback (most recent call last):
  File "/srv/app/main.py", line 3, in <module>
    fetch()
RuntimeError: upstream went away"""

JAVA = """Exception in thread "main" java.lang.RuntimeException: boom
\tat com.acme.App.main(App.java:10)
Caused by: java.io.IOException: wrapper
\tat com.acme.Io.read(Io.java:5)
Caused by: java.net.SocketException: Connection reset
\tat java.base/sun.nio.ch.NioSocketImpl.implRead(NioSocketImpl.java:323)
\t... 3 more"""

GO = """goroutine 1 [running]:
panic: assignment to entry in nil map

goroutine 1 [running]:
main.main()
\t/home/u/x/main.go:5 +0x2c
exit status 2"""


def decisive(text: str) -> list[str]:
    n = normalize(text)
    return [n.text[s:e] for s, e, _ in n.decisive]


def weights(text: str) -> list[float]:
    return [w for _, _, w in normalize(text).decisive]


def test_python_chained_traceback_keeps_every_exception_last_first() -> None:
    assert decisive(PY_CHAINED) == ["ConnectionResetError: [Errno 104] Connection reset by peer",
                                    "RuntimeError: upstream went away"]
    assert weights(PY_CHAINED) == [0.8, 1.0]


def test_java_root_cause_is_the_last_caused_by() -> None:
    lines = decisive(JAVA)
    n = normalize(JAVA)
    best = max(n.decisive, key=lambda d: d[2])
    assert n.text[best[0]:best[1]] == "Caused by: java.net.SocketException: Connection reset"
    assert "Caused by: java.io.IOException: wrapper" in lines


def test_go_panic_line() -> None:
    assert decisive(GO) == ["panic: assignment to entry in nil map"]


def test_go_compiler_line_beside_a_ci_wrapper_line() -> None:
    text = ("Run go build ./...\ninternal/auth/jwt.go:8:2: missing go.sum entry for module providing "
            "package github.com/golang-jwt/jwt/v5\nError: Process completed with exit code 1.")
    n = normalize(text)
    assert [(n.text[s:e][:22], w) for s, e, w in n.decisive] == [
        ("internal/auth/jwt.go:8", 1.0), ("Error: Process complet", 0.85)]
    assert decisive(GO) == ["panic: assignment to entry in nil map"]  # a frame's file.go:5 is none


def test_a_systemd_status_line_saying_it_could_not_start_the_program_is_decisive() -> None:
    text = ("● bot.service - Bot\n"
            "     Active: activating (auto-restart) (Result: exit-code) since Mon 2026-12-07\n"
            "    Process: 812 ExecStart=/opt/bot/run (code=exited, status=203/EXEC)\n"
            "   Main PID: 812 (code=exited, status=203/EXEC)\n"
            "Dec 07 09:12:01 host systemd[1]: bot.service: Control process exited, code=exited, "
            "status=1/FAILURE\n"
            "Dec 07 09:12:01 host systemd[1]: Failed to start Bot.")
    lines = text.split("\n")
    assert decisive(text) == [lines[2], lines[3], lines[5]]  # 1/FAILURE: the program's own output says more


def test_rust_error_line() -> None:
    text = "   Compiling x v0.1.0\nerror[E0382]: borrow of moved value: `v`\n --> src/main.rs:5:20"
    assert decisive(text) == ["error[E0382]: borrow of moved value: `v`"]


def test_log_line_with_error_in_the_middle() -> None:
    text = ("2026-03-02 11:04:55,120 INFO started\n"
            "2026-03-02 11:04:56,001 ERROR pool: read ECONNRESET\n"
            "2026-03-02 11:04:57,003 INFO retrying")
    assert decisive(text) == ["2026-03-02 11:04:56,001 ERROR pool: read ECONNRESET"]


@pytest.mark.parametrize(("raw", "stripped"), [
    ("2026-03-02T11:04:55.120Z ERROR x", "ERROR x"),
    ("[2026-03-02 11:04:55] boom", "boom"),
    ("Mar  2 11:04:55 web1 nginx[812]: upstream timed out", "upstream timed out"),
    ("I0302 11:04:55.120000 kubelet failed", "kubelet failed"),
    ("#14 1.849 error Your lockfile needs to be updated", "error Your lockfile needs to be updated"),
    ("#14 ERROR: executor failed running", "ERROR: executor failed running"),
    ("#1234 was fixed", "#1234 was fixed"),
    ("no timestamp here", "no timestamp here"),
])
def test_timestamp_prefixes(raw: str, stripped: str) -> None:
    assert strip_prefix(raw) == stripped


def test_ansi_codes_are_removed() -> None:
    assert strip_ansi("\x1b[31merror\x1b[0m: \x1b[1mbad\x1b[0m") == "error: bad"


@pytest.mark.parametrize(("text", "code"), [
    ("ConnectionResetError: [WinError 10054] 远程主机强迫关闭了一个现有的连接。", "winerror:10054"),
    ("socket.error: [Errno 104] Connection reset by peer", "errno:104"),
    ("Error: read ECONNRESET", "name:ECONNRESET"),
    ("error[E0382]: borrow of moved value", "rust:E0382"),
    ("src/a.ts(3,21): error TS2307: Cannot find module", "ts:2307"),
    ("Program.cs(3,7): error CS0246: 未能找到类型或命名空间名“Foo”", "dotnet:CS0246"),
    ("/src/App.csproj : error NU1102: 找不到版本为 (>= 9.0.0) 的包 Foo", "dotnet:NU1102"),
    ("ERROR 1045 (28000): Access denied for user", "mysql:1045"),
    ("ERROR:  deadlock detected SQLSTATE 40P01", "sqlstate:40P01"),
    ("##[error]Process completed with exit code 137.", "exit:137"),
    ("HTTP/1.1 502 Bad Gateway", "http:502"),
    ("npm ERR! code ERESOLVE", "name:ERESOLVE"),
    ("Main PID: 2176 (code=exited, status=203/EXEC)", "systemd:203/EXEC"),
    ("  severity: 'FATAL',\n  code: '28P01',", "sqlstate:28P01"),  # node-postgres error object
    ("  errno: 1045,\n  sqlState: '28000',", "sqlstate:28000"),  # mysql / mysql2
    ("For more information about this error, try `rustc --explain E0277`.", "rust:E0277"),
    ("connect() failed (113: Host is unreachable) while connecting to upstream", "errno:113"),  # nginx
])
def test_error_codes(text: str, code: str) -> None:
    assert code in extract_codes(text)


def test_a_systemd_exit_status_is_not_an_http_status() -> None:
    assert extract_codes("(code=exited, status=200/CHDIR)") == {"systemd:200/CHDIR"}
    assert extract_codes("upstream answered status: 503") == {"http:503"}


def test_log_levels_and_english_words_are_not_code_names() -> None:
    codes = extract_codes("ERROR: Job failed: exit code 137 (EXCEPTION in EVENT loop) read ECONNRESET")
    assert codes == {"exit:137", "name:ECONNRESET"}


def test_npm_errno_line_is_an_exit_status_not_an_errno() -> None:
    codes = extract_codes("npm ERR! code ELIFECYCLE\nnpm ERR! errno 1")
    assert not any(code.startswith("errno:") for code in codes)
    assert extract_codes("Error: EPERM: operation not permitted, errno: 1") >= {"errno:1"}


def test_masking_hides_volatile_tokens_only() -> None:
    masked = mask("connect to 10.0.0.7:5432 at /var/run/x.sock id 3f2a9c1e-aaaa-4bbb-8ccc-1234567890ab"
                  " after 30 tries https://example.org/a?b=c")
    assert "10.0.0.7" not in masked and "/var/run" not in masked and "30" not in masked
    assert "example.org" not in masked and "3f2a9c1e" not in masked
    assert "connect" in masked and "tries" in masked


def test_words_are_lower_cased_without_leading_digits_one_letter_words_or_stopwords() -> None:
    text = "Timed out after 5s: 512MB used by __init__ (x_1) in the 2nd pass, 端口被占用abc " + "Ab" * 40
    assert terms(text) == ("timed", "out", "after", "mb", "used", "__init__", "x_1", "nd", "pass",
                           "端口被占用", "abc", "ab" * (MAX_WORD // 2))
    # Beyond ASCII the same words come from the slower path; other letters separate words.
    assert terms("Ünïcode café ERROR ERROR") == ("code", "caf", "error")


def test_paths_and_addresses_need_their_separators() -> None:
    assert mask("either/or") == "either/or"  # one separator: no path
    assert mask("in /srv/app") == "in  <path> "
    assert mask("v1.2 to 10.0.0.1") == "v1. <num>  to  <ip> "  # three dots make an address
    assert mask("at 12:30:45") == "at  <num> : <num> : <num> "  # an IPv6 address has three colons
    assert mask("at fe80:0:0:1:2") == "at  <ip> "


def test_an_error_line_beside_an_exception_is_decisive_too() -> None:
    text = ("Error: Could not find or load main class com.acme.Main\n"
            "Caused by: java.lang.ClassNotFoundException: com.acme.Main")
    assert decisive(text) == ["Error: Could not find or load main class com.acme.Main",
                              "Caused by: java.lang.ClassNotFoundException: com.acme.Main"]
    assert weights(text) == [0.85, 1.0]


@pytest.mark.parametrize(("text", "expected"), [
    # webpack's ts-loader wraps the diagnostic in `ERROR in file` lines
    ("ERROR in /app/src/index.ts\n[tsl] ERROR in /app/src/index.ts(2,19)\n"
     "      TS2307: Cannot find module './toast.vue'.", "      TS2307: Cannot find module './toast.vue'."),
    # a compiler's first diagnostic, not its last: later ones may follow from it
    ("ERROR in /app/src/index.ts\n[tsl] ERROR in /app/src/index.ts(2,19)\n"
     "      TS2307: Cannot find module './toast.vue' or its corresponding type declarations.\n"
     "ERROR in /app/src/toast.vue.ts\n[tsl] ERROR in /app/src/toast.vue.ts(5,22)\n"
     "      TS7006: Parameter 'n' implicitly has an 'any' type.",
     "      TS2307: Cannot find module './toast.vue' or its corresponding type declarations."),
    # Python's warnings name where they were raised first
    ("/srv/lib/pandas/core/indexing.py:362: SettingWithCopyWarning: \n"
     "A value is trying to be set on a copy of a slice from a DataFrame.\n  self.obj[key] = value",
     "/srv/lib/pandas/core/indexing.py:362: SettingWithCopyWarning: "),
    # a browser console names the script and line first
    ("app.js:296 Uncaught TypeError: Cannot read properties of undefined (reading 'map')\n"
     "    at render (app.js:12)\n    at Object.notify (Subscription.js:19)",
     "app.js:296 Uncaught TypeError: Cannot read properties of undefined (reading 'map')"),
    # the line closing a Python traceback's frames, whatever its exception class is named
    ('Traceback (most recent call last):\n  File "/srv/app/settings.py", line 9, in <module>\n'
     '    raise ImproperlyConfigured("no widget")\n'
     "django.core.exceptions.ImproperlyConfigured: no widget\n"
     '[07/Dec/2026 10:12:01] "GET /orders/ HTTP/1.1" 500 145',
     "django.core.exceptions.ImproperlyConfigured: no widget"),
    # a tool saying it could not do something, between lines of ordinary output
    ("$ curl -I https://example.org\ncurl: (6) Could not resolve host: example.org\n$ ping -c1 10.0.0.1\n"
     "PING 10.0.0.1 (10.0.0.1) 56(84) bytes of data.\n64 bytes from 10.0.0.1: icmp_seq=1 ttl=64 time=0.3 ms",
     "curl: (6) Could not resolve host: example.org"),
    # git's refused ref, above its summary line
    ("To github.com:me/x.git\n ! [rejected]        main -> main (non-fast-forward)\n"
     "hint: Updates were rejected", " ! [rejected]        main -> main (non-fast-forward)"),
    # kubectl describe: why the container waits, not the last lines of the block
    ("    State:          Waiting\n      Reason:       CrashLoopBackOff\n    Last State:     Terminated\n"
     "      Reason:       Completed\n      Exit Code:    0\n    Ready:          False\n    Restart Count:  6",
     "      Reason:       CrashLoopBackOff"),
    # PowerShell: the error record's message, above where it was raised and its category lines
    ("Import-Module : The specified module 'Az.Foo' was not loaded because no valid module file "
     "was found in any module directory.\nAt C:\\deploy\\run.ps1:12 char:5\n+     Import-Module Az.Foo\n"
     "+     ~~~~~~~~~~~~~~~~~~~~\n    + CategoryInfo          : ResourceUnavailable: (Az.Foo:String) "
     "[Import-Module], FileNotFoundException\n    + FullyQualifiedErrorId : Modules_ModuleNotFound",
     "Import-Module : The specified module 'Az.Foo' was not loaded because no valid module file "
     "was found in any module directory."),
])
def test_the_line_that_names_the_error_is_decisive_not_the_lines_around_it(text: str, expected: str) -> None:
    n = normalize(text)
    best = max(n.decisive, key=lambda d: d[2])
    assert n.text[best[0]:best[1]] == expected
    assert "Completed" not in decisive(text)[-1]


@pytest.mark.parametrize("line", ["A" * 65536, "a." * 32768, "x(" * 32768, "/a" * 32768,
                                  " " * 65536, "Error" * 13000, "[Errno " * 9000,
                                  ("word " * 20 + "\n") * 3000 + "a " * 30000 + "="])
def test_adversarial_lines_do_not_hang_any_of_our_regexes(line: str) -> None:
    """Every regex we run on input is bounded; a catastrophic one would hang here."""
    from errorkb.scan import ERROR_LINE, template_of
    from errorkb.scan.events import event_around

    normalized = normalize(line)
    assert len(normalized.text) == len(line)
    assert mask(line)
    list(ERROR_LINE.finditer(line))
    assert event_around(line, 10)[0] == 0
    assert isinstance(template_of(line), str)


# The plain forms of the patterns normalize.py writes so that `re` skips ahead (see its comment).
PLAIN_CODES = {
    "name": re.compile(r"\b(E[A-Z]{3,15}|WSAE[A-Z]{3,15}|ERR_[A-Z0-9_]{3,60})\b"),
    "ts": re.compile(r"\bTS(\d{4,5})\b"),
    "dotnet": re.compile(r"\b((?:CS|NU|MSB|NETSDK)\d{4})\b"),
    "mysql": re.compile(r"\bERROR (\d{4}) \(\w{5}\)"),
    "http": re.compile(r"\b(?:HTTP(?:/\d(?:\.\d)?)?|status(?: code)?|statuscode)[\s:=]{1,3}"
                       r"([1-5]\d\d)\b(?!/)", re.I),
    "exit": re.compile(r"\bexit(?:ed with)?(?: code| status)?[\s:=]{1,3}(1[0-9]{2}|[1-9]\d?)\b", re.I),
    "pg": re.compile(r"\bP(\d{4})\b(?=:| )"),
}
PLAIN_MASKS = [
    re.compile(r"https?://\S{1,2000}"),
    re.compile(r"\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b", re.I),
    re.compile(r"\b(?:\d{1,3}\.){3}\d{1,3}(?::\d{1,5})?\b"),
    re.compile(r"\b(?:[0-9a-f]{1,4}:){3,7}[0-9a-f]{1,4}\b", re.I),
    re.compile(r"(?:[A-Za-z]:)?(?:[\\/][\w.@+~-]{1,255}){2,64}[\\/]?"),
    re.compile(r"\b0x[0-9a-f]{1,64}\b|\b[0-9a-f]{12,64}\b", re.I),
    re.compile(r"\b\d+(?:\.\d+)*\b"),
]
PLAIN_LEVEL = re.compile(r"\b(?:ERROR|ERR|FATAL|CRITICAL|CRIT|PANIC|SEVERE|EMERG|ALERT|error|fatal|"
                         r"Error|failed|Failed|FAILED|denied|refused|exception|Exception|panic)\b")
TOKENS = ["ERROR", "Error", "ERR_X_Y", "EACCES", "WSAECONN", "TS2307", "CS0246", "NU1101", "MSB3027",
          "NETSDK1045", "XCS1234", "NU12345", "P1001:", "ERROR 1045 (28000)",
          "HTTP/1.1 404", "status code 500", "statuscode=503", "status=203/EXEC", "exit code 137",
          "exited with 1",
          "0x7fff", "0XAB", "deadbeef0123", "1.2.3.4:80", "fe80::1:2:3", "b:/c/", "/x/y:/z/w",
          "12345678-1234-1234-1234-123456789abc", "3.14", "C:\\x\\y", "Z:/", "é1", "٣4", "failed"]


def tricky_texts() -> list[str]:
    """Bundled examples and signatures, the eval's inputs, and seeded random text built from
    the characters and tokens where a word boundary decides a match."""
    import json
    import random

    from errorkb.exchange import load_paths
    from errorkb.faces.config import bundled_corpus_dir

    texts = [text for item in load_paths([bundled_corpus_dir()]).loaded
             for text in (item.canon.signature, *item.canon.examples)]
    for path in sorted((REPO / "eval" / "cases").glob("*.jsonl")):
        texts += [json.loads(line)["text"] for line in path.read_text().splitlines() if line.strip()]
    rnd = random.Random(5)
    alphabet = "aAeEfF0129xX_-:./\\[] \n\tPTSWhHsS\u00e9\u0663\u4e2dRrnoitucdI"
    texts += ["".join(rnd.choice(alphabet) for _ in range(rnd.randint(1, 40))) for _ in range(6000)]
    separators = [" ", "", "_", "a", "1", ".", ":", "-", "\n", "é", "/"]
    texts += ["".join(rnd.choice(TOKENS) + rnd.choice(separators) for _ in range(rnd.randint(1, 8)))
              for _ in range(3000)]
    return texts


def test_patterns_written_for_speed_find_what_their_plain_forms_find() -> None:
    from errorkb.match.normalize import _CODE_PATTERNS, _LEVEL, _MASKS

    codes: dict[str, re.Pattern[str]] = {}
    for kind, pattern, _, _ in _CODE_PATTERNS:  # the first pattern of each kind is the fast one
        codes.setdefault(kind, pattern)
    texts = tricky_texts()
    assert len(texts) > 9000
    for text in texts:
        for kind, plain in PLAIN_CODES.items():
            assert ([m.span() + m.groups() for m in codes[kind].finditer(text)]
                    == [m.span() + m.groups() for m in plain.finditer(text)]), (kind, text)
        for (substitute, placeholder, *_), plain in zip(_MASKS, PLAIN_MASKS, strict=True):
            for replacement in (placeholder, placeholder.strip()):
                assert substitute(replacement, text) == plain.sub(replacement, text), (plain.pattern, text)
        assert ([m.span() for m in _LEVEL.finditer(text)]
                == [m.span() for m in PLAIN_LEVEL.finditer(text)]), text


# PowerShell on an 80-column console, as posted (it breaks between words).
POWERSHELL_WRAPPED = """New-TemporaryDirectory : The term 'New-Guid' is not recognized as the name of
a cmdlet, function, script file, or operable program. Check the spelling of
the name, or if a path was included, verify that the path is correct and try
again.
At C:\\Users\\a\\Documents\\setup.ps1:158 char:16"""


def test_lines_a_console_wrapped_are_made_whole_and_offsets_hold() -> None:
    whole = unwrap(POWERSHELL_WRAPPED)
    assert len(whole) == len(POWERSHELL_WRAPPED)
    assert "the name of a cmdlet, function" in whole and "try again.\nAt C:" in whole
    assert re.search(r"is not recognized as the name of a cmdlet", normalize(POWERSHELL_WRAPPED).text)


@pytest.mark.parametrize("text", [
    # a Python traceback that lost its indentation in a post
    'File "/usr/lib/python3/dist-packages/django/core/management/base.py", line 232, in execute\n'
    "output = self.handle(*args, **options)",
    # a table, a compose service's prefix, a command and its error, a record after a long line
    "NAME          STATUS    VOLUME   CAPACITY   ACCESS MODES   STORAGECLASS   AGE\nredis-data    Pending",
    "PS C:\\crawler> java -jar .\\build\\libs\\crawler-1.2.0-plain.jar\nno main manifest attribute, in x",
    "make: *** [Release/obj.target/openssl/openssl/crypto/rand/randfile.o] Error 1 and more words\n"
    "gyp ERR! build error",
    "    at Object.<anonymous> (/srv/app/node_modules/some-package/lib/index.js:12:5) and words\n"
    "at Module._compile (node:internal/modules/cjs/loader:1105:14)",
    "fatal error: md5.h: No such file or directory found in any of the include folders\n"
    "compilation terminated.",
])
def test_separate_lines_are_not_taken_for_wrapped_ones(text: str) -> None:
    assert unwrap(text) == text

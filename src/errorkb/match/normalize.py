"""Normalise an input before matching: find its decisive lines, its error codes, and a masked
form for the lexical pass. Pure functions; regexes still run on the original text.
"""

from __future__ import annotations

import itertools
import re
import string
from collections.abc import Callable
from typing import NamedTuple

MAX_INPUT_CHARS = 1_000_000

ANSI = re.compile(r"\x1b\[[0-9;?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]{0,200}(?:\x07|\x1b\\)")
# Leading timestamps, levels and syslog headers: 2026-03-02T11:04:55.120Z, [2026-03-02 11:04:55],
# Mar  2 11:04:55 host prog[123]:, 11:04:55.120, I0302 11:04:55.120 (glog), and BuildKit's
# step and seconds in its plain progress output (`#14 1.849 error ...`, `#14 ERROR: ...`).
TIMESTAMP_PREFIX = re.compile(
    r"^(?:\s{0,4}\[?(?:\d{4}[-/]\d{2}[-/]\d{2}[T ]\d{2}:\d{2}:\d{2}(?:[.,]\d{1,9})?(?:Z|[+-]\d{2}:?\d{2})?"
    r"|[A-Z][a-z]{2} {1,2}\d{1,2} \d{2}:\d{2}:\d{2}(?: [\w.-]{1,64} [\w./-]{1,64}(?:\[\d{1,10}\])?:)?"
    r"|\d{2}:\d{2}:\d{2}(?:[.,]\d{1,9})?|[IWEF]\d{4} \d{2}:\d{2}:\d{2}\.\d{1,9}"
    r"|#\d{1,5}(?: \d{1,6}\.\d{3}(?= )| (?=ERROR|DONE|CACHED|\[)))\]?[ \t]{0,8})")

# How a line opens, in one match: a Java `Caused by:`; a Go panic, a Go compiler's or vet's
# `file.go:line:col: message` (it prints no "error") or a Rust error; or an exception.
_OPENING = re.compile(
    r"(?P<caused>Caused by: )|(?P<panic>panic: |fatal error: |error(?:\[E\d{4}\])?: "
    r"|[\w./-]{1,200}\.go:\d{1,7}:\d{1,5}: )"
    r"|(?P<exception>(?:[A-Za-z_][\w.]{0,200}\.)?[A-Za-z_]\w{0,120}"
    r"(?:Error|Exception|Exit|Interrupt|Warning|Fault)(?:\s?\[[\w-]{1,40}\])?(?::|$))")
# Lines that say what failed as an exception does, tried only on lines holding one of the guard
# strings: an exception after where it was raised (Python's warnings print `file.py:12:
# XWarning:`, a browser console `app.js:296 Uncaught TypeError:`), a TypeScript diagnostic
# (`TS2307:`, indented under webpack's `ERROR in file`), and git's refused ref (` ! [rejected]`).
_PLACED_EXCEPTION = re.compile(
    r"(?:(?:[A-Za-z]:)?[^\s:]{1,300}+:\d{1,7}+:? )?(?:Uncaught (?:\(in promise\) )?)?"
    r"(?:[A-Za-z_][\w.]{0,200}\.)?[A-Za-z_]\w{0,120}(?:Error|Exception|Warning)(?::|$)"
    r"|(?P<diagnostic>\s{0,16}(?:error )?TS\d{4,5}: )| ?! \[(?:remote )?rejected\] ")
# The line closing a Python traceback's frames: the exception's class and its message,
# `pkg.SomeError: message`, or a class not named so (`ImproperlyConfigured: ...`,
# `NoReverseMatch: ...`, `StopIteration`). Scan assembles events with it too.
RAISED_LINE = re.compile(r"(?:[A-Za-z_][\w.]{0,200}\.)?(?:[A-Za-z_]\w{0,120}"
                         r"(?:Error|Exception|Exit|Interrupt|Warning)\b|[A-Z]\w{0,120}(?::\s|:?$))")

# Patterns that run over whole inputs are written so that `re` can skip to where a match may
# start instead of trying every position: `X(?<!\w.)` is `\bX` with the word-boundary check
# after the first character, and `(?-i:[Xx])` keeps that character out of case folding.
# tests/test_normalize.py holds their plain forms and checks that both find the same.


def _words_at_boundary(words: list[str]) -> str:
    r"""`\b(?:word|...)` written so that `re` skips straight to the letters that start a word:
    the word-boundary check comes after each word's first letter."""
    return "(?:" + "|".join(re.escape(w[0]) + r"(?<!\w.)" + re.escape(w[1:]) for w in words) + ")"


_FRAME = re.compile(r"^\s+(?:at |File \"|\.\.\. \d+ more|goroutine |\S+\.go:\d+|-->)")
# PowerShell prints an error record's message first, then where it was raised
# (`At line:1 char:1`, `At C:\deploy\run.ps1:12 char:5`), the offending code and its
# `+ CategoryInfo` / `+ FullyQualifiedErrorId` lines: the message is the line before `At`.
_POWERSHELL_AT = re.compile(r"At (?:line|\S.{0,300}?):\d{1,7} char:\d{1,7}\s*$")
_LEVEL = re.compile(_words_at_boundary([
    "ERROR", "ERR", "FATAL", "CRITICAL", "CRIT", "PANIC", "SEVERE", "EMERG", "ALERT", "error", "fatal",
    "Error", "failed", "Failed", "FAILED", "denied", "refused", "exception", "Exception", "panic"]) + r"\b")
# A line saying a program could not do something counts like one with a level ("curl: (6) Could
# not resolve host"). The pattern is tried only where its words are: searched for, words this
# common would have `re` stop at every c and u of a long line.
_COULD_NOT = re.compile(r"\b(?:[Cc]ould not|[Cc]annot|[Uu]nable to)\b")


def _says_failure(line: str) -> bool:
    if _LEVEL.search(line) is not None:
        return True
    for rest in ("ould not", "annot", "nable to"):  # each word but its first letter
        at = line.find(rest)
        while at > 0:
            if _COULD_NOT.match(line, at - 1):
                return True
            at = line.find(rest, at + 1)
    return False

# systemd's own exit statuses (200–243: EXEC, CHDIR, USER, ...) say that it could not start a
# unit's program at all, so the program printed nothing: the status line is the only account
# (`code=exited, status=203/EXEC`, in the journal and in parentheses in `systemctl status`).
# 1/FAILURE or a signal says less than what the program or the kernel printed before it.
_FAILED_STATUS = re.compile(r"code=exited, status=2[0-4]\d/[A-Z]")
_ERROR_OPENING = re.compile(r"^\[?(?:ERROR|FATAL|CRITICAL|PANIC|Error|error|fatal|错误)\]?[:\s]")
# `kubectl describe` names why a container is waiting or was last stopped (`Reason:  CrashLoopBackOff`).
_CONTAINER_REASON = re.compile(r"\s{2,40}Reason:\s{1,40}(?!Completed\b)[A-Z][A-Za-z]{2,40}\s*$")
# Error codes: strong keys that name an error whatever the wording around them.
# Each pattern runs only when the lower-cased input holds one of its guard strings (and a digit
# when it needs one): the same codes are found, most inputs skip most patterns. A guard with
# capitals is looked for in the input as it is (for a case-sensitive pattern).
_ANY = ("",)
_CODE_PATTERNS: list[tuple[str, re.Pattern[str], tuple[str, ...], bool]] = [
    ("winerror", re.compile(r"\bWinError\s{0,3}(\d{1,6})\b", re.I), ("winerror",), True),
    ("winerror", re.compile(r"\bWSA\w{0,20}\s{0,3}\(?(100\d\d|110\d\d)\)?"), ("wsa",), True),
    # npm's `npm ERR! errno 1` is the exit status of what it ran, not an errno.
    ("errno", re.compile(r"\[Errno\s{0,3}(-?\d{1,5})\]"
                         r"|(?<!ERR! )(?<!npm error )\berrno[\s:=]{1,3}(-?\d{1,5})\b", re.I),
     ("errno",), True),
    ("name", re.compile(r"(E(?<!\w.)[A-Z]{3,15}|W(?<!\w.)SAE[A-Z]{3,15}|E(?<!\w.)RR_[A-Z0-9_]{3,60})\b"),
     ("e",), False),
    ("rust", re.compile(r"\berror\[(E\d{4})\]|--explain (E\d{4})\b"), ("error[", "--explain"), True),
    # nginx prints errno and strerror in parentheses: `connect() failed (113: Host is unreachable)`.
    ("errno", re.compile(r"\bfailed \((\d{1,3}): [A-Z][a-z]"), ("failed (",), True),
    ("ts", re.compile(r"T(?<!\w.)S(\d{4,5})\b"), ("ts",), True),
    # .NET's compiler, NuGet, MSBuild and SDK codes (`error CS0246:`, `NU1101`, `MSB3027`,
    # `NETSDK1045`): printed in English whatever the language of the message after them.
    ("dotnet", re.compile(r"(C(?<!\w.)S\d{4}|N(?<!\w.)(?:U|ETSDK)\d{4}|M(?<!\w.)SB\d{4})\b"),
     ("CS", "NU", "MSB", "NETSDK"), True),
    ("mysql", re.compile(r"E(?<!\w.)RROR (\d{4}) \(\w{5}\)"), ("error ",), True),
    ("sqlstate", re.compile(r"\bSQLSTATE[\s\[=:]{1,3}([0-9A-Z]{5})\b"), ("sqlstate",), False),
    # A driver's error object as Node prints it: node-postgres `code: '28P01'`, mysql `sqlState: '28000'`.
    ("sqlstate", re.compile(r"\b(?:code|sqlState): '(\d[0-9A-Z]{4})'"), ("code: '", "sqlstate: '"), True),
    # systemd's own exit statuses (status=203/EXEC) are not HTTP statuses.
    ("systemd", re.compile(r"status=(\d{1,3}/[A-Z]{2,12})\b"), ("status=",), True),
    ("http", re.compile(r"(?-i:[HhSs])(?<!\w.)(?:(?<=[Hh])TTP(?:/\d(?:\.\d)?)?|(?<=[Ss])tatus(?: code)?"
                        r"|(?<=[Ss])tatuscode)[\s:=]{1,3}([1-5]\d\d)\b(?!/)", re.I),
     ("http", "status"), True),
    ("exit", re.compile(r"(?-i:[Ee])(?<!\w.)xit(?:ed with)?(?: code| status)?[\s:=]{1,3}"
                        r"(1[0-9]{2}|[1-9]\d?)\b", re.I), ("exit",), True),
    # Error names, however printed, are one kind: the AWS CLI's "(InvalidParameterValueException)
    # when calling ..." is the exception class "InvalidParameterValueException: ...".
    ("name", re.compile(r"An error occurred \((\w{3,60})\)"), ("an error occurred (",), False),
    ("name", re.compile(r"npm (?:ERR!|error) code (E[A-Z0-9_]{2,30})"), ("npm ",), False),
    ("pg", re.compile(r"P(?<!\w.)(\d{4})\b(?=:| )"), _ANY, True),
]

# A path, with its drive letter when it has one (C:\Users\me\x.txt).
_PATH = re.compile(r"(?:[\\/][\w.@+~-]{1,255}){2,64}[\\/]?")
_ASCII_LETTERS = frozenset(string.ascii_letters)


def _mask_paths(placeholder: str, text: str) -> str:
    r"""`(?:[A-Za-z]:)?(?:[\\/][\w.@+~-]{1,255}){2,64}[\\/]?` replaced by the placeholder, the
    same matches `re.sub` makes, found faster: `re` skips straight to the separators, and a
    drive letter in front of a path (not already inside the path before it) is taken along."""
    pieces: list[str] = []
    last = 0
    for match in _PATH.finditer(text):
        start = match.start()
        if start >= last + 2 and text[start - 1] == ":" and text[start - 2] in _ASCII_LETTERS:
            start -= 2
        pieces += (text[last:start], placeholder)
        last = match.end()
    if not pieces:
        return text
    pieces.append(text[last:])
    return "".join(pieces)


# How each volatile token is replaced (a pattern's `sub`, or a function like it), its placeholder,
# the guard strings, how many of them a match holds at least, and whether it needs a digit.
_MASKS: list[tuple[Callable[[str, str], str], str, tuple[str, ...], int, bool]] = [
    (re.compile(r"https?://\S{1,2000}").sub, " <url> ", ("://",), 1, False),
    (re.compile(r"(?-i:[0-9a-fA-F])(?<!\w.)[0-9a-f]{7}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b",
                re.I).sub, " <uuid> ", ("-",), 4, True),
    (re.compile(r"\d(?<!\w.)\d{0,2}\.(?:\d{1,3}\.){2}\d{1,3}(?::\d{1,5})?\b").sub, " <ip> ", (".",), 3, True),
    (re.compile(r"(?-i:[0-9a-fA-F])(?<!\w.)[0-9a-f]{0,3}:(?:[0-9a-f]{1,4}:){2,6}[0-9a-f]{1,4}\b", re.I).sub,
     " <ip> ", (":",), 3, False),
    (_mask_paths, " <path> ", ("/", "\\"), 2, False),
    # Hex ids hold a digit (twelve letters a-f alone are no id anyone prints).
    (re.compile(r"(?-i:[0-9a-fA-F])(?<!\w.)(?:(?<=0)x[0-9a-f]{1,64}\b|[0-9a-f]{11,63}\b)", re.I).sub,
     " <hex> ", _ANY, 1, True),
    (re.compile(r"\d(?<!\w.)\d*(?:\.\d+)*\b").sub, " <num> ", _ANY, 1, True),
]
_DIGIT = re.compile(r"\d")

WRAP_WIDTH = 65  # a console of 80 columns leaves at least this much of a line it wraps
# A wrapped line's rest is prose: no code (`=`, brackets), no `key: value`, no table columns.
_CONTINUED = re.compile(r"[a-z][a-z'-]{0,40}(?:[ ,]|\.(?: |$)|$)[^=(){}\[\]:|]*$")
_RECORD_WORDS = frozenset({"at", "npm", "yarn", "pnpm", "gyp", "in", "from", "goroutine", "created",
                           "compilation", "script", "exited", "error", "warning", "warn", "note", "help",
                           "hint", "info", "debug", "trace", "fatal", "panic"})


# Words: runs of ASCII letters, digits and `_` (lower-cased, leading digits dropped, of 2 to
# MAX_WORD characters), and runs of CJK characters. ASCII text is cut by one byte translation.
MAX_WORD = 60
_WORD = re.compile(r"[a-z0-9_]{2,}|[\u3400-\u9fff]{1,40}")  # over lower-cased text
_ASCII_WORD_BYTES = bytes(c if chr(c).isascii() and (chr(c).isalnum() or c == ord("_")) else ord(" ")
                          for c in range(256)).lower()
STOPWORDS = frozenset({
    "the", "a", "an", "of", "to", "in", "on", "at", "for", "by", "is", "was", "be", "are",
    "and", "or", "not", "no", "with", "from", "this", "that", "it", "as", "into", "your", "you",
    "we", "our", "can", "cannot", "could", "would", "should", "will", "may", "might", "has",
    "have", "had", "do", "does", "did", "than", "then", "there", "their", "when", "which",
    "while", "what", "where", "who", "how", "all", "any", "some", "num", "path", "url", "hex",
    "ip", "uuid", "line", "file", "most", "recent", "call", "last", "traceback",
})
_NOT_TERMS = STOPWORDS | set("abcdefghijklmnopqrstuvwxyz_") | {""}  # and one-letter words


class Normalized(NamedTuple):
    """What the matcher needs from one input."""

    text: str
    decisive: tuple[tuple[int, int, float], ...]  # (start offset, end offset, weight) of lines
    codes: frozenset[str]
    terms: tuple[str, ...] = ()

    def line_weight(self, start: int, end: int) -> float:
        """Weight of the decisive line a hit falls on, or 0 if it falls on none."""
        best = 0.0
        for line_start, line_end, weight in self.decisive:
            if start < line_end and end > line_start:
                best = max(best, weight)
        return best


def strip_ansi(text: str) -> str:
    return ANSI.sub("", text) if "\x1b" in text else text


def strip_prefix(line: str) -> str:
    return TIMESTAMP_PREFIX.sub("", line, count=1)


# Upper-case words that look like errno-style names but are log levels or plain English.
_NOT_CODE_NAMES = frozenset({
    "ERROR", "ERRORS", "EXCEPTION", "EXIT", "EXITED", "EMERG", "EMERGENCY", "EVENT", "EVENTS",
    "ENV", "ELSE", "EMPTY", "ENTRY", "ENABLE", "ENABLED", "EXEC", "EXPORT", "EXPECTED",
    "EXTERNAL", "EXPIRED", "EXAMPLE", "EXTRA", "EDIT", "EACH", "EVERY", "EITHER", "EXISTS",
})


def extract_codes(text: str, lowered: str | None = None) -> frozenset[str]:
    """Error codes named in the text (`lowered`: the text lower-cased, when the caller has it)."""
    found: set[str] = set()
    lowered = text.lower() if lowered is None else lowered
    has_digit = _DIGIT.search(text) is not None
    for kind, pattern, guards, needs_digit in _CODE_PATTERNS:
        if needs_digit and not has_digit:
            continue
        for guard in guards:  # plain loops: they run a score of times per input
            if guard in (text if guard.isupper() else lowered):
                break
        else:
            continue
        for match in pattern.finditer(text):
            value = next((g for g in match.groups() if g), None)
            if value and not (kind == "name" and value in _NOT_CODE_NAMES):
                found.add(f"{kind}:{value.upper() if kind in ('name', 'rust') else value}")
    return frozenset(found)


def mask(text: str, pad: bool = True, lowered: str | None = None) -> str:
    """Volatile tokens replaced by placeholders (`<num>`, `<path>`, ...); `pad` puts spaces
    around them (for word splitting), without it the text keeps its shape (for regexes).
    `lowered`: the text lower-cased, or a text holding it lower-cased (only its guard strings
    are looked for)."""
    # Guards are counted once, on the input: placeholders add no guard string and no digit,
    # so a pattern skipped here would have found nothing later either.
    lowered = text.lower() if lowered is None else lowered
    has_digit = _DIGIT.search(text) is not None
    for substitute, placeholder, guards, at_least, needs_digit in _MASKS:
        if needs_digit and not has_digit:
            continue
        found = 0
        for guard in guards:
            found += lowered.count(guard)
        if found >= at_least:
            text = substitute(placeholder if pad else placeholder.strip(), text)
    return text


def terms(text: str, lowered: str | None = None) -> tuple[str, ...]:
    """Distinct lowercase words of the masked text, in order, stopwords dropped (`lowered` as
    for `mask`)."""
    masked = mask(text, lowered=lowered).lower()
    words = (masked.encode().translate(_ASCII_WORD_BYTES).decode().split() if masked.isascii()
             else _WORD.findall(masked))
    # Leading digits are a number's (5s, 512mb, 2nd): the word is what follows them.
    words = [word if word[0] > "9" else word.lstrip("0123456789") for word in words]
    return tuple(dict.fromkeys([word[:MAX_WORD] for word in words if word not in _NOT_TERMS]))


def _decisive_lines(lines: list[str], stripped: list[str]) -> list[tuple[int, float]]:
    """(line number, weight) of the lines that say what went wrong (`stripped`: the lines
    without their timestamp prefixes)."""
    picked: dict[int, float] = {}

    def pick(i: int, weight: float) -> None:
        picked[i] = max(picked.get(i, 0.0), weight)

    caused_by: list[int] = []
    exception_lines: list[int] = []
    diagnostics: list[int] = []  # a compiler's: the first is the one to fix, later ones may follow from it
    traceback = False  # a Python traceback has opened
    for i, s in enumerate(stripped):
        opening = _OPENING.match(s)
        if opening is None:
            placed = (_PLACED_EXCEPTION.match(s)
                      if "TS" in s or "Warning:" in s or "Uncaught " in s or "! [" in s else None)
            if placed is not None:
                (diagnostics if placed.lastgroup == "diagnostic" else exception_lines).append(i)
            elif traceback and i and lines[i - 1][:1] in " \t" and RAISED_LINE.match(s):
                exception_lines.append(i)  # closes the frames, whatever its class is named
            elif i and s.startswith("At ") and stripped[i - 1].strip() and _POWERSHELL_AT.match(s):
                exception_lines.append(i - 1)
            else:
                traceback = traceback or s.startswith("Traceback (most recent call last)")
            continue
        if opening.lastgroup == "caused":
            caused_by.append(i)
        elif opening.lastgroup == "panic":
            pick(i, 1.0)
        elif not _FRAME.match(lines[i]):
            exception_lines.append(i)
    if caused_by:
        pick(caused_by[-1], 1.0)
        for i in caused_by[:-1]:
            pick(i, 0.7)
    if diagnostics:
        pick(diagnostics[0], 1.0)
        for i in diagnostics[1:]:
            pick(i, 0.8)
    if exception_lines:
        pick(exception_lines[-1], 1.0)
        for i in exception_lines[:-1]:
            pick(i, 0.8 if not caused_by else 0.7)
    # Beside an exception, a line that opens with an error level still says what failed; so
    # does a systemd status line with a failed process's exit status (it prints no "error").
    says, weight = (_says_failure, 0.9) if not picked else (_ERROR_OPENING.search, 0.85)
    for i, s in enumerate(stripped):
        if ((says(s) or ("status=" in s and _FAILED_STATUS.search(s))
             or ("Reason:" in s and _CONTAINER_REASON.match(s)))
                and not _FRAME.match(lines[i])):
            pick(i, weight)
    if not picked:
        content = [i for i, s in enumerate(stripped) if s.strip()]
        for i in content[-3:]:
            pick(i, 0.8 if len(content) > 1 else 1.0)
    return sorted(picked.items())


def unwrap(text: str) -> str:
    """The text with the line breaks a console put into long lines made spaces again (same
    length, so offsets hold). PowerShell and cmd wrap at the console's width between words:
    "... is not recognized as the name of" / "a cmdlet, function, ...". A break counts as a
    wrap only after a line as long as the narrowest console leaves it (`WRAP_WIDTH`), ending
    in a plain word (not a path or a command's option) or a comma, before a line of prose that
    opens with a lower-case word: not a frame (`at x`), a record (`error: x`, `npm ERR!`), code
    (`x = f(y)`) nor a table's row."""
    if "\n" not in text:
        return text
    lines = text.split("\n")
    pieces = [lines[0]]
    for line, after in itertools.pairwise(lines):
        wrap = (len(line) >= WRAP_WIDTH and line.rsplit(" ", 1)[-1].rstrip(",").isalpha()
                and after[:1].islower() and "   " not in line.strip() and "   " not in after
                and _CONTINUED.match(after) is not None
                and after.split(" ", 1)[0].rstrip(",.") not in _RECORD_WORDS)
        pieces += (" " if wrap else "\n", after)
    return "".join(pieces)


def normalize(text: str) -> Normalized:
    """Decisive lines, error codes and lexical terms of an input (ANSI codes removed, lines a
    console wrapped made whole)."""
    text = unwrap(strip_ansi(text[:MAX_INPUT_CHARS]).replace("\r\n", "\n").replace("\r", "\n"))
    lowered = text.lower()
    lines = text.split("\n")
    stripped = [strip_prefix(line) for line in lines]
    offsets = []
    position = 0
    for line in lines:
        offsets.append((position, position + len(line)))
        position += len(line) + 1
    chosen = _decisive_lines(lines, stripped)
    decisive = tuple([(offsets[i][0], offsets[i][1], w) for i, w in chosen])
    decisive_text = "\n".join([stripped[i] for i, _ in chosen])
    # The whole input lower-cased holds every guard string of the decisive text.
    return Normalized(text, decisive, extract_codes(text, lowered),
                      terms(decisive_text, lowered) or terms(text, lowered))

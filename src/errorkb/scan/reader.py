"""Logs in, text chunks out: plain files, gzip, standard input, in constant memory.

Chunks end on a line boundary (a line longer than `MAX_LINE` is cut and counted), carry the
number of their first line, and are text: invalid UTF-8 is replaced, NUL bytes dropped,
CRLF turned into LF. A file that is mostly binary, or a corrupt gzip, raises InputError.
"""

from __future__ import annotations

import gzip
import io
import time
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import BinaryIO

from errorkb.errors import InputError

CHUNK_BYTES = 4 * 1024 * 1024
MAX_LINE = 64 * 1024
GZIP_MAGIC = b"\x1f\x8b"


@dataclass
class Chunk:
    text: str
    first_line: int  # number of the chunk's first line in its source, from 1
    source: str


@dataclass
class ReadStats:
    bytes_read: int = 0
    lines: int = 0
    long_lines: int = 0
    replaced_bytes: bool = False


def open_log(handle: BinaryIO, name: str) -> BinaryIO:
    """The handle itself, or a gzip reader over it when it starts with the gzip magic."""
    buffered = handle if isinstance(handle, io.BufferedReader) else io.BufferedReader(handle)  # type: ignore[type-var]
    if buffered.peek(2)[:2] == GZIP_MAGIC:
        return gzip.GzipFile(fileobj=buffered, mode="rb")  # type: ignore[return-value]
    return buffered


_CONTROL = bytes(b for b in range(32) if b not in (9, 10, 12, 13, 27))


def looks_binary(sample: bytes) -> bool:
    """More than 5% control bytes (other than tab, newlines, form feed and ESC)."""
    if not sample:
        return False
    control = len(sample) - len(sample.translate(None, _CONTROL))
    return control * 20 > len(sample)


def _cap_long_lines(block: bytes, stats: ReadStats) -> bytes:
    if len(block) <= MAX_LINE or max(map(len, block.split(b"\n"))) <= MAX_LINE:
        return block
    kept = []
    for line in block.split(b"\n"):
        if len(line) > MAX_LINE:
            stats.long_lines += 1
            line = line[:MAX_LINE] + b" [...cut]"
        kept.append(line)
    return b"\n".join(kept)


def iter_chunks(handle: BinaryIO, name: str, stats: ReadStats,
                chunk_bytes: int = CHUNK_BYTES) -> Iterator[Chunk]:
    """Chunks of whole lines from one log."""
    stream = open_log(handle, name)
    carry = b""
    line_number = 1
    first = True
    try:
        while True:
            block = stream.read(chunk_bytes)
            if first:
                first = False
                if looks_binary(block[:8192]):
                    raise InputError(f"{name}: looks binary (control bytes), not a log",
                                     "pass a text log, or a gzip of one")
            if not block:
                break
            stats.bytes_read += len(block)
            data = carry + block
            cut = data.rfind(b"\n")
            if cut < 0:
                if len(data) > MAX_LINE:  # one enormous line: cut it, keep going
                    stats.long_lines += 1
                    data, carry = data[:MAX_LINE] + b" [...cut]\n", b""
                    cut = len(data) - 1
                else:
                    carry = data
                    continue
            cut = _event_safe_cut(data, cut)
            carry = data[cut + 1:]
            if len(carry) > MAX_LINE:
                stats.long_lines += 1
                carry = b""
            text = _decode(_cap_long_lines(data[:cut], stats), stats)
            lines = text.count("\n") + 1
            stats.lines += lines
            yield Chunk(text, line_number, name)
            line_number += lines
    except (OSError, EOFError, zlib.error) as exc:
        raise InputError(f"{name}: cannot read: {exc}",
                         "check the file; a truncated or corrupt gzip cannot be read") from None
    if carry:
        text = _decode(_cap_long_lines(carry, stats), stats)
        stats.lines += text.count("\n") + 1
        yield Chunk(text, line_number, name)


_CONTINUES = (b" ", b"\t", b"Caused by:", b"Traceback (most recent", b"During handling",
              b"The above exception", b"goroutine ", b"\n")


def _event_safe_cut(data: bytes, cut: int, limit: int = MAX_LINE) -> int:
    """Move a chunk's cut back to a line that starts a new event (not a stack frame or a
    `Caused by:`), so a multi-line event is never split between chunks."""
    floor = max(0, cut - limit)
    position = cut
    while position > floor:
        if not data[position + 1:position + 24].startswith(_CONTINUES):
            return position
        previous = data.rfind(b"\n", floor, position)
        if previous < 0:
            break
        position = previous
    return cut


def _decode(data: bytes, stats: ReadStats) -> str:
    if b"\x00" in data:
        data = data.replace(b"\x00", b"")
    if b"\r" in data:
        data = data.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        stats.replaced_bytes = True
        return data.decode("utf-8", errors="replace")


def follow_chunks(handle: BinaryIO, name: str, stats: ReadStats, poll_seconds: float = 0.5,
                  ) -> Iterator[Chunk]:
    """Like `tail -f`: read what is there, then keep reading what is appended, until Ctrl-C
    (the KeyboardInterrupt reaches the caller, which reports what it has)."""
    line_number = 1
    carry = b""
    while True:
        block = handle.read(CHUNK_BYTES)
        if not block:
            time.sleep(poll_seconds)
            continue
        stats.bytes_read += len(block)
        data = carry + block
        cut = data.rfind(b"\n")
        if cut < 0:
            carry = data[-MAX_LINE:]
            continue
        carry = data[cut + 1:]
        text = _decode(_cap_long_lines(data[:cut], stats), stats)
        lines = text.count("\n") + 1
        stats.lines += lines
        yield Chunk(text, line_number, name)
        line_number += lines

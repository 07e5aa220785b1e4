"""Logs in, chunks of lines out: plain files, gzip, standard input, in constant memory.

Chunks end on a line boundary (a line longer than `MAX_LINE` is cut and counted), carry the
number of their first line, and are cleaned bytes: NUL bytes dropped, CRLF (and a lone CR)
turned into LF, invalid UTF-8 noted in the stats and replaced when the bytes are decoded
(`Chunk.text`, or any slice of whole lines: an invalid sequence never spans a newline, so
decoding a slice gives the same text as slicing the decoded chunk). The scanner decodes only
the lines around a hit. A file that is mostly binary, or a corrupt gzip, raises InputError.
"""

from __future__ import annotations

import gzip
import io
import time
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import cached_property
from typing import BinaryIO

from errorkb.errors import InputError

CHUNK_BYTES = 4 * 1024 * 1024
MAX_LINE = 64 * 1024
GZIP_MAGIC = b"\x1f\x8b"


@dataclass
class Chunk:
    data: bytes  # whole lines, cleaned, without the last newline
    first_line: int  # number of the chunk's first line in its source, from 1
    source: str
    _counted_to: int = field(default=0, init=False, repr=False)  # newlines counted up to here
    _line_there: int = field(default=0, init=False, repr=False)

    @cached_property
    def text(self) -> str:
        return self.data.decode("utf-8", errors="replace")

    def line_at(self, offset: int) -> int:
        """Number of the line holding the byte at `offset`. Counts newlines on from the offset
        asked before, so asking in ascending order counts the chunk once."""
        if offset < self._counted_to or self._line_there == 0:
            self._counted_to, self._line_there = 0, self.first_line
        self._line_there += self.data.count(b"\n", self._counted_to, offset)
        self._counted_to = offset
        return self._line_there

    @cached_property
    def lines(self) -> int:
        return self.line_at(len(self.data)) - self.first_line + 1

    @classmethod
    def of(cls, raw: bytes, first_line: int, source: str, stats: ReadStats) -> Chunk:
        """The chunk of these bytes (whole lines): long lines cut, cleaned."""
        return cls(_clean(_cap_long_lines(raw, stats), stats), first_line, source)


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


def _no_long_line(block: bytes) -> bool:
    """Quick proof that no line is longer than MAX_LINE: a newline in every half-MAX_LINE
    window (False says only that the proof failed)."""
    step = MAX_LINE // 2
    return all(block.find(b"\n", at, at + step) >= 0 for at in range(0, len(block) - step, step))


def _cap_long_lines(block: bytes, stats: ReadStats) -> bytes:
    if len(block) <= MAX_LINE or _no_long_line(block) or \
            max(map(len, block.split(b"\n"))) <= MAX_LINE:
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
            chunk = Chunk.of(data[:cut], line_number, name, stats)
            yield from _counted(chunk, stats)
            line_number += chunk.lines
    except (OSError, EOFError, zlib.error) as exc:
        raise InputError(f"{name}: cannot read: {exc}",
                         "check the file; a truncated or corrupt gzip cannot be read") from None
    if carry:
        yield from _counted(Chunk.of(carry, line_number, name, stats), stats)


def _counted(chunk: Chunk, stats: ReadStats) -> Iterator[Chunk]:
    """Yield the chunk, then add its lines to the stats (also when the reader is closed while
    its consumer holds the chunk). Counted once the consumer, which counts lines as it goes
    (`Chunk.line_at`), is done with it, the chunk's newlines are counted once."""
    try:
        yield chunk
    finally:
        stats.lines += chunk.lines


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


_HIGH_BIT = bytes(range(128)) + b"\x80" * 128  # every non-ASCII byte → 0x80


def _clean(data: bytes, stats: ReadStats) -> bytes:
    """NULs dropped, CRLF and CR → LF; notes in `stats` whether some bytes are not UTF-8."""
    if b"\x00" in data:
        data = data.replace(b"\x00", b"")
    if b"\r" in data:
        data = data.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
    if not stats.replaced_bytes and not data.isascii() and not _valid_utf8(data):
        stats.replaced_bytes = True
    return data


def _valid_utf8(data: bytes) -> bool:
    """Whether every line holding a non-ASCII byte decodes (decoding just those lines is
    much cheaper than decoding the whole chunk when they are few)."""
    marked = data.translate(_HIGH_BIT)
    position = marked.find(b"\x80")
    while position >= 0:
        start = marked.rfind(b"\n", 0, position) + 1
        end = marked.find(b"\n", position)
        end = len(data) if end < 0 else end
        try:
            data[start:end].decode("utf-8")
        except UnicodeDecodeError:
            return False
        position = marked.find(b"\x80", end)
    return True


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
        chunk = Chunk.of(data[:cut], line_number, name, stats)
        yield from _counted(chunk, stats)
        line_number += chunk.lines

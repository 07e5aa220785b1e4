"""Reading canon files and exchange files from disk, with size caps and clear refusals.

Only this package reads canon files. A YAML canon lives at `<root>/<domain>/<slug>.yaml` and its
`id` must be `<domain>/<slug>`. Exchange files (seed-shaped JSON: one object, an array or JSON
Lines) are read by `iter_json_records`; `errorkb.exchange` maps each record to a canon.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from errorkb.errors import InputError, InputTooLarge, RecordError
from errorkb.model import Canon, Finding
from errorkb.records.decode import decode_canon
from errorkb.records.listing import canon_files
from errorkb.records.nodes import Node, SeqNode, parse_json, parse_yaml

MAX_CANON_BYTES = 256 * 1024
MAX_JSON_DOCUMENT_BYTES = 64 * 1024 * 1024
MAX_JSON_LINE_BYTES = 1024 * 1024


@dataclass(frozen=True)
class Loaded:
    """A canon and where it came from. `from_exchange` marks records read from JSON files."""

    canon: Canon
    file: str
    line: int | None = None
    from_exchange: bool = False


@dataclass
class LoadResult:
    loaded: list[Loaded] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)

    def extend(self, other: LoadResult) -> None:
        self.loaded.extend(other.loaded)
        self.findings.extend(other.findings)


def _refusal(exc: InputError, file: str) -> Finding:
    code = "too-large" if isinstance(exc, InputTooLarge) else "unreadable"
    return Finding(severity="error", code=code, message=exc.message, hint=exc.hint,
                   file=file, line=getattr(exc, "line", None))


def decode_text(data: bytes, file: str) -> str:
    """Bytes → text, refusing binary data and invalid UTF-8 with where it is."""
    if b"\x00" in data[:8192]:
        raise RecordError("binary file (NUL bytes); expected UTF-8 text", file=file,
                          hint="pass a YAML or JSON text file")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise RecordError(f"not valid UTF-8 at byte {exc.start}", file=file, line=line,
                          hint="save the file as UTF-8") from None


def read_capped(path: Path, cap: int) -> bytes:
    """The file's bytes, refused before reading when it is over `cap`."""
    try:
        size = path.stat().st_size
        if size > cap:
            raise InputTooLarge(f"{path}: {size:,} bytes is over the {cap:,}-byte limit",
                                "split it, or check that this is the file you meant")
        with path.open("rb") as handle:
            data = handle.read(cap + 1)
    except OSError as exc:
        raise RecordError(f"cannot read: {exc.strerror}", file=str(path)) from None
    if len(data) > cap:
        raise InputTooLarge(f"{path}: over the {cap:,}-byte limit")
    return data


def expected_id(path: Path, root: Path) -> str | None:
    """`domain/slug` implied by a file's place under a corpus root, if it sits two levels down."""
    try:
        parts = path.relative_to(root).with_suffix("").parts
    except ValueError:
        return None
    return "/".join(parts) if len(parts) == 2 else None


def load_yaml_canon(path: Path, root: Path | None = None) -> LoadResult:
    """One canon file; findings instead of exceptions."""
    file = str(path)
    result = LoadResult()
    try:
        node = parse_yaml(decode_text(read_capped(path, MAX_CANON_BYTES), file), file)
    except InputError as exc:
        result.findings.append(_refusal(exc, file))
        return result
    canon, problems = decode_canon(node, file=file)
    result.findings.extend(problems)
    if canon is None:
        return result
    want = expected_id(path, root) if root is not None else None
    if want is not None and canon.id != want:
        result.findings.append(Finding(
            severity="error", code="id-path-mismatch", canon_id=canon.id, field="id",
            message=f"id `{canon.id}` does not match its path, which implies `{want}`",
            hint=f"set `id: {want}` or move the file to <root>/{canon.id}.yaml",
            file=file, line=node.line))
        return result
    result.loaded.append(Loaded(canon, file, node.line))
    return result


def iter_json_records(path: Path) -> Iterator[tuple[int | None, Node | InputError]]:
    """Records of a JSON file: one object, an array of objects, or JSON Lines.

    Yields (line, node) per record, or (line, RecordError) for one that cannot be read, so a
    bad record never stops the rest. JSON Lines are streamed; other shapes are read whole.
    """
    file = str(path)
    first_line = _first_line(path)
    if first_line is None:
        yield None, RecordError("empty file", file=file)
        return
    if _is_complete_json_object(first_line):
        yield from _iter_json_lines(path)
        return
    try:
        text = decode_text(read_capped(path, MAX_JSON_DOCUMENT_BYTES), file)
        root = parse_json(text, file, 1)
    except RecordError as exc:
        yield exc.line, exc
        return
    if isinstance(root, SeqNode):
        for node in root.items:
            yield node.line, node
    else:
        yield 1, root


def _first_line(path: Path) -> str | None:
    with path.open("rb") as handle:
        for raw in handle:
            if len(raw) > MAX_JSON_LINE_BYTES:
                return raw[:16].decode("utf-8", "replace")
            text = raw.decode("utf-8-sig", "replace").strip()
            if text:
                return text
    return None


def _is_complete_json_object(line: str) -> bool:
    if not line.startswith("{"):
        return False
    try:
        parse_json(line)
    except RecordError:
        return False
    return True


def _iter_json_lines(path: Path) -> Iterator[tuple[int | None, Node | InputError]]:
    file = str(path)
    with path.open("rb") as handle:
        for number, raw in enumerate(handle, start=1):
            if len(raw) > MAX_JSON_LINE_BYTES:
                yield number, InputTooLarge(f"{file}:{number}: line over "
                                            f"{MAX_JSON_LINE_BYTES:,} bytes")
                continue
            if not raw.strip():
                continue
            try:
                yield number, parse_json(decode_text(raw, file), file, number)
            except RecordError as exc:
                yield number, exc


def looks_like_json(path: Path) -> bool:
    line = _first_line(path)
    return line is not None and line[:1] in "{["


def load_yaml_tree(root: Path) -> LoadResult:
    """Every canon under a corpus root (`canon/<domain>/<slug>.yaml`)."""
    result = LoadResult()
    for path in canon_files(root):
        result.extend(load_yaml_canon(path, root))
    return result

"""Import and export: seed-shaped JSON and the peer dataset's JSON Lines ↔ canons.

`load_paths` is the one entry point for reading canons from anywhere: corpus folders of YAML,
single YAML files, and exchange files (records in either shape, told apart per record).
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from errorkb.errors import InputError
from errorkb.exchange.peer import canon_from_peer, canon_to_peer, is_peer_record
from errorkb.model import Canon, Confusion, DeadEnd, Finding, Transition, TransitionGraph, Version, Workaround
from errorkb.records import (
    Loaded,
    LoadResult,
    decode_canon,
    iter_json_records,
    load_yaml_canon,
    load_yaml_tree,
    looks_like_json,
    to_data,
)
from errorkb.records.nodes import Node, from_python, to_python

EXPORT_FORMATS = ("seed-json", "seed-jsonl", "peer-jsonl")


def _record_finding(exc: Exception, file: str, line: int | None) -> Finding:
    message = exc.message if isinstance(exc, InputError) else f"malformed record: {exc!r}"
    return Finding(severity="error", code="bad-record", message=message, file=file, line=line,
                   hint=getattr(exc, "hint", "") or "fix or drop this record; the others are read")


def canon_from_seed_node(node: Node, file: str) -> tuple[Canon | None, list[Finding]]:
    """A seed-shaped record; `workarounds_zh` is dropped when each workaround already says it."""
    canon, findings = decode_canon(node, file=file)
    if canon is not None and canon.workarounds_zh and canon.workarounds_zh == [
            w.action_zh for w in canon.workarounds]:
        canon = dataclasses.replace(canon, workarounds_zh=[])
    return canon, findings


def load_exchange_file(path: Path) -> LoadResult:
    """Every record of a JSON exchange file, seed-shaped or peer-shaped, told apart per record."""
    file = str(path)
    result = LoadResult()
    canon: Canon | None
    for line, item in iter_json_records(path):
        if isinstance(item, InputError):
            result.findings.append(_record_finding(item, file, line))
            continue
        data = to_python(item)
        if is_peer_record(data):
            try:
                mapped = canon_from_peer(data)
            except (KeyError, TypeError, ValueError, AttributeError) as exc:
                result.findings.append(_record_finding(exc, file, line))
                continue
            # Re-read the mapped record through the strict decoder: the peer's types are checked too.
            canon, findings = decode_canon(from_python(to_data(mapped, keep_defaults=True)),
                                           file=file)
        else:
            canon, findings = canon_from_seed_node(item, file)
        result.findings.extend(dataclasses.replace(f, line=f.line or line) for f in findings)
        if canon is not None:
            result.loaded.append(Loaded(canon, file, line, from_exchange=True))
    return result


def load_paths(paths: Iterable[Path]) -> LoadResult:
    """Canons from folders (corpus roots), YAML files and exchange files, in the order given."""
    result = LoadResult()
    for path in paths:
        if path.is_dir():
            result.extend(load_yaml_tree(path))
        elif not path.exists():
            result.findings.append(Finding(severity="error", code="unreadable",
                                           message=f"{path}: no such file or folder", file=str(path)))
        elif looks_like_json(path):
            result.extend(load_exchange_file(path))
        else:
            result.extend(load_yaml_canon(path, path.parent.parent))
    return result


# The fields of the seed record, per model class; exports always write these. Our additions
# are written only when they hold something, so a seed record comes back exactly as it was.
SEED_FIELDS: dict[type, frozenset[str]] = {
    Canon: frozenset(f.name for f in dataclasses.fields(Canon))
    - {"examples", "case_sensitive", "extra"},
    Version: frozenset(f.name for f in dataclasses.fields(Version)),
    DeadEnd: frozenset({"action", "why_fails", "fail_rate", "condition", "sources"}),
    Workaround: frozenset({"action", "success_rate", "how", "condition", "sources"}),
    Transition: frozenset({"error_id", "probability", "condition"}),
    Confusion: frozenset({"error_id", "distinction"}),
    TransitionGraph: frozenset({"leads_to", "preceded_by", "frequently_confused_with"}),
}


def _is_seed_field(cls: type, name: str) -> bool:
    return name in SEED_FIELDS.get(cls, frozenset())


def seed_record(canon: Canon) -> dict[str, Any]:
    """The seed's exchange shape (every seed field, in its order), plus our additions."""
    data: dict[str, Any] = to_data(canon, keep_defaults=_is_seed_field)
    data["workarounds_zh"] = canon.effective_workarounds_zh()
    return data


def export_records(canons: Iterable[Canon], fmt: str) -> Iterator[str]:
    """Lines (JSONL) or one document (seed-json) of exported records."""
    if fmt == "seed-json":
        records = [seed_record(c) for c in canons]
        yield json.dumps(records[0] if len(records) == 1 else records, ensure_ascii=False,
                         indent=2) + "\n"
        return
    convert = seed_record if fmt == "seed-jsonl" else canon_to_peer
    for canon in canons:
        yield json.dumps(convert(canon), ensure_ascii=False) + "\n"


__all__ = ["EXPORT_FORMATS", "canon_from_peer", "canon_to_peer", "export_records",
           "load_exchange_file", "load_paths", "seed_record"]

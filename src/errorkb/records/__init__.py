"""Canon files and exchange files: read strictly, written deterministically.

Each name is imported from its module when first used: a lookup needs only `plain` and
`listing`, and starts without the YAML reader and writer.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

_MODULE_OF = {
    "MAX_CANON_BYTES": "files", "LoadResult": "files", "Loaded": "files", "decode_text": "files",
    "expected_id": "files", "iter_json_records": "files", "load_yaml_canon": "files",
    "load_yaml_tree": "files", "looks_like_json": "files", "read_capped": "files",
    "canon_files": "listing", "canon_from_data": "plain", "to_data": "plain",
    "decode_canon": "decode", "parse_json": "nodes", "parse_yaml": "nodes",
    "dump_canon": "writer", "dump_yaml": "writer",
}
__all__ = [
    "MAX_CANON_BYTES", "LoadResult", "Loaded", "canon_files", "canon_from_data", "decode_canon",
    "decode_text", "dump_canon", "dump_yaml", "expected_id", "iter_json_records", "load_yaml_canon",
    "load_yaml_tree", "looks_like_json", "parse_json", "parse_yaml", "read_capped", "to_data",
]


def __getattr__(name: str) -> Any:
    module = _MODULE_OF.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{module}"), name)


if TYPE_CHECKING:
    from errorkb.records.decode import decode_canon
    from errorkb.records.files import (
        MAX_CANON_BYTES,
        Loaded,
        LoadResult,
        decode_text,
        expected_id,
        iter_json_records,
        load_yaml_canon,
        load_yaml_tree,
        looks_like_json,
        read_capped,
    )
    from errorkb.records.listing import canon_files
    from errorkb.records.nodes import parse_json, parse_yaml
    from errorkb.records.plain import canon_from_data, to_data
    from errorkb.records.writer import dump_canon, dump_yaml

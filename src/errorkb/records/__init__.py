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
    "canon_files": "listing", "canon_file_names": "listing", "canon_from_data": "plain", "to_data": "plain",
    "decode_canon": "decode", "parse_json": "nodes", "parse_yaml": "nodes",
    "dump_canon": "writer", "dump_yaml": "writer",
}


def __getattr__(name: str) -> Any:
    module = _MODULE_OF.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{module}"), name)


if TYPE_CHECKING:  # the same names, for type checkers
    from errorkb.records.decode import decode_canon as decode_canon
    from errorkb.records.files import MAX_CANON_BYTES as MAX_CANON_BYTES
    from errorkb.records.files import Loaded as Loaded
    from errorkb.records.files import LoadResult as LoadResult
    from errorkb.records.files import decode_text as decode_text
    from errorkb.records.files import expected_id as expected_id
    from errorkb.records.files import iter_json_records as iter_json_records
    from errorkb.records.files import load_yaml_canon as load_yaml_canon
    from errorkb.records.files import load_yaml_tree as load_yaml_tree
    from errorkb.records.files import looks_like_json as looks_like_json
    from errorkb.records.files import read_capped as read_capped
    from errorkb.records.listing import canon_file_names as canon_file_names
    from errorkb.records.listing import canon_files as canon_files
    from errorkb.records.nodes import parse_json as parse_json
    from errorkb.records.nodes import parse_yaml as parse_yaml
    from errorkb.records.plain import canon_from_data as canon_from_data
    from errorkb.records.plain import to_data as to_data
    from errorkb.records.writer import dump_canon as dump_canon
    from errorkb.records.writer import dump_yaml as dump_yaml

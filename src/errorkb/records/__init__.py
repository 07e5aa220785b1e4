"""Canon files and exchange files: read strictly, written deterministically."""

from errorkb.records.decode import canon_from_data, decode_canon
from errorkb.records.files import (
    MAX_CANON_BYTES,
    Loaded,
    LoadResult,
    canon_files,
    decode_text,
    expected_id,
    iter_json_records,
    load_yaml_canon,
    load_yaml_tree,
    looks_like_json,
    read_capped,
)
from errorkb.records.nodes import parse_json, parse_yaml
from errorkb.records.writer import dump_canon, dump_yaml, to_data

__all__ = [
    "MAX_CANON_BYTES", "LoadResult", "Loaded", "canon_files", "canon_from_data", "decode_canon",
    "decode_text", "dump_canon", "dump_yaml", "expected_id", "iter_json_records", "load_yaml_canon",
    "load_yaml_tree", "looks_like_json", "parse_json", "parse_yaml", "read_capped", "to_data",
]

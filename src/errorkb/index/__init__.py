"""The index: one SQLite file per stacked corpus. `build` writes it; `store` reads it."""

from errorkb.index.build import BuildReport, build_index, corpus_fingerprint
from errorkb.index.store import IndexStore

__all__ = ["BuildReport", "IndexStore", "build_index", "corpus_fingerprint"]

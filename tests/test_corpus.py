"""The bundled corpus: zero errors, zero warnings; every example matches its canon's regex."""

from __future__ import annotations

from errorkb.curate import check_paths
from errorkb.faces.config import bundled_corpus_dir


def test_bundled_corpus_is_clean() -> None:
    report = check_paths([bundled_corpus_dir()])
    assert report.checked >= 1
    problems = [f"{f.where} {f.code} {f.canon_id}: {f.message}" for f in report.findings]
    assert problems == []

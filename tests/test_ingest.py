"""Ingest: articles become draft canons or merge proposals; contradicting claims are disputed."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from errorkb.curate import apply_proposal, check_paths
from errorkb.errors import InputError
from errorkb.faces.cli import main
from errorkb.faces.config import bundled_corpus_dir
from errorkb.ingest.article import read_article
from errorkb.ingest.extract import extract
from errorkb.records import load_yaml_tree
from errorkb.service import KnowledgeBase

ARTICLES = Path(__file__).parent / "fixtures" / "articles"


@pytest.fixture(scope="module")
def kb(tmp_path_factory: pytest.TempPathFactory) -> KnowledgeBase:
    return KnowledgeBase.open([bundled_corpus_dir()], cache_dir=tmp_path_factory.mktemp("cache"))


def test_markdown_and_html_become_blocks() -> None:
    md = read_article((ARTICLES / "reset-blog.md").read_bytes())
    assert md.blocks[0].kind == "heading" and any(b.kind == "code" for b in md.blocks)
    html = read_article((ARTICLES / "frobnicator.html").read_bytes())
    kinds = [b.kind for b in html.blocks]
    assert "code" in kinds and "heading" in kinds
    text = " ".join(b.text for b in html.blocks)
    assert "footer noise" not in text and "not real" not in text and "Home" not in text
    assert html.title == "Fixing frobnicator checksum mismatches"


def test_claims_are_classified_sentence_by_sentence() -> None:
    found = extract(read_article((ARTICLES / "frobnicator.html").read_bytes()))
    assert found.messages[:2] == [
        "2026-05-01 10:00:00 ERROR frobnicator: shard 12 checksum mismatch at /var/lib/frob/12.db",
        "2026-05-01 10:00:01 ERROR frobnicator: shard 7 checksum mismatch at /var/lib/frob/7.db"]
    assert [c.sentence[:20] for c in found.of("cause")] == ["The mismatch happens"]
    assert [c.sentence[:20] for c in found.of("dead_end")] == ["Restarting the servi"]
    assert [c.sentence[:10] for c in found.of("fix")] == ["Run frobct", "If the jou"]


def test_an_article_about_a_known_error_becomes_a_merge_proposal(kb: KnowledgeBase) -> None:
    result = kb.ingest((ARTICLES / "reset-blog.md").read_bytes(), source="https://example.org/b")
    payload = result.to_dict()
    assert payload["kind"] == "merge_proposal"
    assert payload["target"] == "network/connection-reset-by-peer"
    disputed = {d["sentence"][:40]: d["reason"] for d in payload["disputed"]}
    fin = next(reason for sentence, reason in disputed.items() if sentence.startswith("The error occurs"))
    assert "FIN" in fin
    timeout = next(reason for sentence, reason in disputed.items() if "increase the read" in sentence)
    assert "dead end" in timeout
    new = [n["sentence"] for n in payload["new"]]
    assert not any("FIN" in s for s in new)
    assert "+  ingested_sources:\n+    - https://example.org/b" in payload["proposal"]["diff"]


def test_an_article_about_an_unknown_error_becomes_a_draft_that_checks(kb: KnowledgeBase,
                                                                         tmp_path: Path) -> None:
    code = CliRunner().invoke(main, ["ingest", str(ARTICLES / "frobnicator.html"), "--domain",
                                     "local", "--out", str(tmp_path), "--source",
                                     "https://example.org/frob", "--json"])
    payload = json.loads(code.stdout)
    assert code.exit_code == 0 and payload["kind"] == "draft"
    assert payload["regex"] and "\\d+" in payload["regex"]
    report = check_paths([tmp_path])
    assert report.checked == 1 and report.counts["error"] == 0
    (loaded,) = load_yaml_tree(tmp_path).loaded
    assert loaded.canon.verification_tier == "draft" and loaded.canon.evidence_count == 1
    assert loaded.canon.extra["ingested_from"] == "https://example.org/frob"
    assert len(loaded.canon.examples) == 2


def test_a_proposal_applies_once_and_then_is_stale(kb: KnowledgeBase, tmp_path: Path) -> None:
    corpus = tmp_path / "canon"
    shutil.copytree(bundled_corpus_dir() / "network", corpus / "network")
    proposal = kb.ingest((ARTICLES / "reset-blog.md").read_bytes(),
                         source="https://example.org/b").to_dict()["proposal"]
    path = apply_proposal(proposal, corpus)
    assert "https://example.org/b" in path.read_text(encoding="utf-8")
    assert check_paths([corpus]).counts["error"] == 0
    with pytest.raises(InputError, match="changed since"):
        apply_proposal(proposal, corpus)


@pytest.mark.parametrize("data", [b"\x00\x01binary" * 10, b"x" * (2 * 1024 * 1024 + 1)])
def test_unusable_articles_are_refused(kb: KnowledgeBase, data: bytes) -> None:
    with pytest.raises(InputError):
        kb.ingest(data, source="bad")


def test_indented_prose_of_a_manual_page_is_prose_and_short_indented_lines_are_code() -> None:
    page = ("NOTE\n       If you do not want to lose your work you would need to first fetch the "
            "history from the repository.\n\n    FATAL:  sorry, too many clients already\n")
    article = read_article(page.encode())
    assert [(b.kind, b.text[:12]) for b in article.blocks] == [
        ("text", "NOTE If you "), ("code", "FATAL:  sorr")]

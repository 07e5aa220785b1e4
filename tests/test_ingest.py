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
from errorkb.ingest.article import Block, read_article
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


DOCS_PAGE = """---
title: 'Error: widget socket closed'
intro: This error usually means the widget daemon is not running.
versions:
  fpt: '*'
---
When you run the client, it fails with the following error:

```
$ widget ping
> widget: connect to /run/widget.sock: socket closed
```

## Why it happens

- The daemon was stopped by an upgrade.
- Another user owns the socket.

## How to fix it

The two easiest ways to get around this:

1. Start the daemon again with the service manager.
2. Give your user access to the socket.

Load the new group membership:

```console
$ newgrp widget
```

### Use the TCP port instead
"""


def test_a_docs_page_gives_its_messages_causes_and_steps() -> None:
    found = extract(read_article(DOCS_PAGE.encode()))
    # the line the page announced, without its prompt marker; not the command
    assert found.messages == ["widget: connect to /run/widget.sock: socket closed"]
    causes = [c.sentence for c in found.of("cause")]
    assert causes == ["This error usually means the widget daemon is not running.",
                      "The daemon was stopped by an upgrade.", "Another user owns the socket."]
    fixes = [c.sentence for c in found.of("fix")]
    assert fixes == ["Start the daemon again with the service manager.",
                     "Give your user access to the socket.",
                     "Load the new group membership: newgrp widget",  # with its command
                     "Use the TCP port instead"]  # a step as a heading
    assert not any("fpt" in c.sentence or "easiest ways" in c.sentence for c in found.claims)


def test_a_plain_text_page_has_headings_list_items_and_announced_lines() -> None:
    page = ("Widget errors\n\nPKIX-like widget failure\n\nThe run failed with this error message:\n"
            "Resource not reachable by widget\nAlthough the message is vague, the cause was a token.\n\n"
            "How to Fix It\n\n  1. Rotate the token.\n  2. Retry the job.\n")
    article = read_article(page.encode())
    assert [b.kind for b in article.blocks][:2] == ["heading", "heading"]
    found = extract(article)
    assert "Resource not reachable by widget" in found.messages
    assert [c.sentence for c in found.of("fix")] == ["Rotate the token.", "Retry the job."]


def test_restructuredtext_headings_literal_blocks_and_directives() -> None:
    page = ("Widget socket errors\n====================\n\nIf you see a message such as::\n\n"
            "    widget: connect to /run/widget.sock: socket closed\n\n"
            ".. note::\n\n   The daemon may have been stopped by an upgrade.\n\n"
            "Restart it with:\n\n.. code-block:: console\n\n   $ systemctl restart widget\n")
    article = read_article(page.encode())
    assert [(b.kind, b.text.strip()) for b in article.blocks] == [
        ("heading", "Widget socket errors"),
        ("text", "If you see a message such as:"),
        ("code", "widget: connect to /run/widget.sock: socket closed"),
        ("text", "The daemon may have been stopped by an upgrade."),
        ("text", "Restart it with:"),
        ("code", "$ systemctl restart widget")]
    found = extract(article)
    assert found.messages == ["widget: connect to /run/widget.sock: socket closed"]
    assert [c.sentence for c in found.of("fix")] == ["Restart it with: systemctl restart widget"]


def test_quotations_after_an_announcing_sentence_are_messages() -> None:
    markdown = ("# Widgets\n\nLoading a widget twice, the following error happens.\n\n"
                "> Widget \"w1\" is registered already. A widget loads once.\n\n"
                "> \"w1\" came from two bundles. It cannot be loaded twice.\n\n"
                "> Note: this page is old.\n\nThe registry keeps one of each.\n")
    assert extract(read_article(markdown.encode())).messages == [
        "Widget \"w1\" is registered already. A widget loads once.",
        "\"w1\" came from two bundles. It cannot be loaded twice."]
    mdx = ("You got this error message:\n\n<ConsoleBlock level=\"error\">\n\n"
           "Widgets can only be wound inside a winder.\n\n</ConsoleBlock>\n\nThe rule is strict.\n")
    article = read_article(mdx.encode())
    assert [(b.text, b.quote) for b in article.blocks] == [
        ("You got this error message:", False),
        ("Widgets can only be wound inside a winder.", True), ("The rule is strict.", False)]
    assert extract(article).messages == ["Widgets can only be wound inside a winder."]
    html = ("<p>It fails with the following error.</p><blockquote><p>Widget w2 is stale.</p>"
            "</blockquote><p>Plain words.</p>")
    assert extract(read_article(html.encode(), "page.html")).messages == ["Widget w2 is stale."]


def test_a_named_quotation_is_a_message_and_what_it_means_are_causes() -> None:
    markdown = ("# Widget 9 on an old host\n\nThe error `Unsupported widget format 9` means:\n\n"
                "- Format 9 came with widget 4\n- The host reads formats up to 7\n")
    found = extract(read_article(markdown.encode()))
    assert found.messages == ["Unsupported widget format 9"]
    assert [c.sentence for c in found.of("cause")] == ["Format 9 came with widget 4",
                                                       "The host reads formats up to 7"]


def test_commands_and_settings_a_sentence_introduces_are_not_messages() -> None:
    markdown = ("# Widget pods\n\nRun the following command to get more information about the pod:\n\n"
                "widgetctl describe pod <pod-name>\n\nIf the image is missing, you will see an event "
                "like the following:\n\nFailedPull 1m ago  kubelet  Failed to pull widget \"w:1\": "
                "pull access denied for w, repository does not exist or you do not have access to it "
                "from this node\n\nThe output should contain the following section:\n\n"
                "    bindAddress: 0.0.0.0\n    mode: iptables\n")
    assert extract(read_article(markdown.encode())).messages == [
        "FailedPull 1m ago kubelet Failed to pull widget \"w:1\": pull access denied for w, "
        "repository does not exist or you do not have access to it from this node"]


def test_alerts_are_prose_and_labelled_or_framing_sentences_say_what_they_are() -> None:
    markdown = ("# Widget daemon\n\n> [!NOTE]\n>\n> If the socket is gone, restart the widget daemon.\n\n"
                "There are several ways to solve this issue.\n\n**Solution**: a newer widget kernel.\n\n"
                "Cause: the socket directory is cleaned at boot.\n")
    article = read_article(markdown.encode())
    alert = "If the socket is gone, restart the widget daemon."
    assert [b.text for b in article.blocks if b.quote] == [alert]
    found = extract(article)
    assert [c.sentence for c in found.of("fix")] == [alert, "Solution: a newer widget kernel."]
    assert [c.sentence for c in found.of("cause")] == ["Cause: the socket directory is cleaned at boot."]


def test_rst_tilde_underlines_numbered_items_and_gradle_what_went_wrong() -> None:
    page = ("Widget Throws a Timeout\n~~~~~~~~~~~~~~~~~~~~~~~\n\nThe widget fails, e.g.:\n\n"
            ".. code-block:: none\n\n"
            "   The widget range (>=3.7,<4.0) is not compatible with Winder{ Mode = Fast }:\n"
            "     - winder requires >=3.9\n\nCommon reasons:\n\n#. The winder is older than the widget.\n"
            "#. The spindle has been removed from the winder.\n\n"
            "```\n$ gradle wind\n\nFAILURE: Build failed with an exception.\n\n* What went wrong:\n"
            "A new winder was started but could not be wound.\n```\n")
    article = read_article(page.encode(), "page.rst")
    assert article.blocks[0] == Block("heading", "Widget Throws a Timeout")
    found = extract(article)
    assert found.messages[:2] == [
        "The widget range (>=3.7,<4.0) is not compatible with Winder{ Mode = Fast }:",
        "A new winder was started but could not be wound."]
    assert [c.sentence for c in found.of("cause")] == [
        "The winder is older than the widget.", "The spindle has been removed from the winder."]


def test_a_warning_against_a_dead_end_is_no_dispute(kb: KnowledgeBase) -> None:
    page = ("# Connection reset by peer\n\n```\nread: connection reset by peer\n```\n\n"
            "You should not raise the client's read timeout to hide it.\n\n"
            "Raise the client's read timeout to 120 seconds.\n")
    disputed = [d["sentence"] for d in kb.ingest(page.encode(), source="page.md").to_dict()["disputed"]]
    assert disputed == ["Raise the client's read timeout to 120 seconds."]


def test_headings_that_name_a_cause_or_fix_and_lists_of_links() -> None:
    page = ("## Cause 1: The lock was left by a crashed run\n\nIt happens on laptops.\n\n"
            "## Solution: Remove the stale lock\n\nThe lock table keeps one row per state file.\n\n"
            "## How to fix it\n\n- [Locking guide](https://example.org/locks) by the vendor\n"
            "- 1.2 build 4\n- Ask the lock's owner before you delete anything at all\n")
    found = extract(read_article(page.encode()))
    assert [(c.kind, c.sentence) for c in found.claims] == [
        ("cause", "The lock was left by a crashed run"),
        ("fix", "Remove the stale lock"),
        ("fix", "Ask the lock's owner before you delete anything at all")]


def test_an_article_is_about_the_error_its_summary_line_follows(kb: KnowledgeBase) -> None:
    page = ("# npm start fails\n\nThe output ends with:\n\n```\nError: connect ECONNREFUSED 127.0.0.1:5432\n"
            "npm ERR! code ELIFECYCLE\n```\n\nStart the database first.\n")
    payload = kb.ingest(page.encode(), source="https://example.org/npm").to_dict()
    assert {m["canon"] for m in payload["messages"]} >= {"node/npm-elifecycle"}
    assert payload["target"] not in (None, "node/npm-elifecycle")


@pytest.mark.parametrize("text", [
    "error " * 20000 + ":\n", "a " + "b " * 40000 + "\n", "'" + "x'" * 40000 + "\n",
    ("- [" + "a" * 150 + "](" + "b" * 400 + ")" + " c" * 30 + "\n") * 200,
    "If " + "a " * 20000 + ", run it.\n", "Title\n" + "=" * 100000 + "\n",
    "---\n" + "a: b\n" * 3000, "intro::\n" + "    code line\n" * 20000,
    "See FATAL: " + "x" * 150 + " " * 200000 + ".\n", ("ERROR: y " * 30 + "\n") * 3000,
    ("word " * 30 + "\n") * 5000 + "a" * 150 + "\n", "1\n" * 30000 + "x" * 120 + "\n",
])
def test_adversarial_articles_do_not_hang_the_reader_or_the_cues(text: str) -> None:
    """Every pattern ingest runs is bounded; a catastrophic one would hang here."""
    found = extract(read_article(text.encode()))
    assert found.sentences >= 0


WEB_PAGE_TEXT = "\n".join([
    'Fixing "cannot open shared object file" in a container',
    "What This Error Means",
    "The loader could not find a library the program was linked against, so the program stopped "
    "before main() ran at all.",
    "Symptoms",
    "error while loading shared libraries: libfrob.so.3: cannot open shared object file: No such "
    "file or directory",
    "You will usually see ImportError: libfrob.so.3: cannot open shared object file. It appears "
    "right after the container starts.",
    "Common Causes",
    "1",
    "The runtime image lacks the package",
    "The multi-stage build copied the binary but not the library it links against, which only "
    "the build stage installed.",
    "How to Fix It",
    "To install the runtime package in the final stage:",
    "apt-get install -y --no-install-recommends libfrob3",
    "Setting LD_LIBRARY_PATH by hand does not persist across container restarts, so it only hides "
    "the real problem.", ""])


def test_a_web_pages_text_has_one_block_per_line_and_its_printed_lines_are_messages() -> None:
    article = read_article(WEB_PAGE_TEXT.encode())
    kinds = [(b.kind, b.text[:20]) for b in article.blocks]
    assert ("heading", "What This Error Mean") in kinds and ("heading", "How to Fix It") in kinds
    assert ("text", "The runtime image la") in kinds  # a numbered step's title is no heading
    assert ("code", "apt-get install -y -") in kinds
    result = extract(article)
    assert {"error while loading shared libraries: libfrob.so.3: cannot open shared object file: "
            "No such file or directory", "ImportError: libfrob.so.3: cannot open shared object file"
            } <= set(result.messages)
    assert any("lacks the package" in c.sentence for c in result.of("cause"))
    assert any(c.sentence.startswith("To install the runtime package") and "libfrob3" in c.sentence
               for c in result.of("fix"))
    assert [c.sentence[:22] for c in result.of("dead_end")] == ["Setting LD_LIBRARY_PAT"]


def test_hand_wrapped_plain_text_stays_one_paragraph() -> None:
    text = ("The loader could not find a library that the program was linked against when\n"
            "it started, so it stopped before main() ran; check the runtime image for the\n"
            "package that ships the library, which a multi-stage build may have left in the\n"
            "build stage only.\n")
    assert [b.kind for b in read_article(text.encode()).blocks] == ["text"]


HUGO_QA_PAGE = """+++
type = "question"
title = "Why does the frob importer stop with a decode error"
description = '''I&#x27;m trying to import a frob dump...'''
+++

<div class="question-body">
<p>When I run the importer it stops with this error:</p>
<pre><code>alice@build-01:~/frob$ frob-import dump.frob.gz
[2026-03-02 10:04:55] INFO loading dump.frob.gz
UnicodeDecodeError: 'utf-8' codec can't decode byte 0x8b in position 1: invalid start byte
</code></pre>
<h2>What I've tried</h2>
<ul><li>Reinstalled the frob package from the distribution</li>
<li>Set the locale to en_US.UTF-8 before running it</li></ul>
<p>bob · answer · 2026-03-03</p>
<p>This happens because the dump is gzip-compressed and is read as text.</p>
<p>To fix it, open the file in binary mode:</p>
</div>
"""


def test_a_hugo_page_gives_its_front_matter_and_reads_its_html_body() -> None:
    article = read_article(HUGO_QA_PAGE.encode(), "page.md")
    assert article.title == "Why does the frob importer stop with a decode error"
    assert all("type =" not in b.text and "<p>" not in b.text for b in article.blocks)
    result = extract(article)
    # The error line of the announced output, not the prompt and its command, nor the INFO line.
    assert result.messages[0].startswith("UnicodeDecodeError: 'utf-8' codec can't decode byte 0x8b")
    assert not any("frob-import dump" in m or "INFO loading" in m for m in result.messages)
    # What the asker tried is the list under that heading; the answer after it is not.
    assert [c.sentence[:18] for c in result.of("dead_end")] == ["Reinstalled the fr",
                                                                 "Set the locale to "]
    assert any("gzip-compressed" in c.sentence for c in result.of("cause"))


def test_a_fence_on_one_line_is_a_code_block_that_goes_with_its_fix() -> None:
    text = ("## Resolution\n\nRun the following command once for each user.\n"
            "```git config --global --add safe.directory /srv/repo```\n\n"
            "On macOS, launch the frob daemon from Applications.\n\n"
            "A more reliable step is to rerun the frob installer with its PATH option. "
            "This step is the same on every machine.\n")
    article = read_article(text.encode(), "page.md")
    assert ("code", "git config --global --add safe.directory /srv/repo") in [
        (b.kind, b.text) for b in article.blocks]
    fixes = [c.sentence for c in extract(article).of("fix")]
    assert any("safe.directory /srv/repo" in f for f in fixes)
    assert "On macOS, launch the frob daemon from Applications." in fixes
    assert "A more reliable step is to rerun the frob installer with its PATH option." in fixes
    assert "This step is the same on every machine." not in fixes


def test_a_web_page_paragraph_with_a_line_left_empty_by_its_markup_is_read() -> None:
    text = ("A first line of a long web page paragraph that goes on and on for well over one "
            "hundred characters in all.\n<span></span>\nthe second line also goes on for quite "
            "a while, so that it reads like a line of a web page of its own.\n")
    assert [b.kind for b in read_article(text.encode(), "page.md").blocks] == ["text", "text"]

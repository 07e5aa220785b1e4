"""Articles in: plain text, Markdown or HTML → blocks of text (headings, paragraphs, code).

HTML is reduced with the standard library's parser: scripts, styles, navigation, headers,
footers and asides are dropped; `pre`/`code` become code blocks. No network, no dependency.
"""

from __future__ import annotations

import html
import itertools
import re
from dataclasses import dataclass, field
from html.parser import HTMLParser

from errorkb.errors import InputError, InputTooLarge

MAX_ARTICLE_BYTES = 2 * 1024 * 1024
_SKIP = {"script", "style", "nav", "header", "footer", "aside", "form", "noscript", "svg",
         "button", "template"}
_BLOCKS = {"p", "div", "section", "article", "li", "td", "blockquote", "dd", "dt", "br", "tr"}
_HEADINGS = {"h1", "h2", "h3", "h4", "h5", "h6"}


@dataclass(frozen=True)
class Block:
    kind: str  # heading | text | code
    text: str
    item: bool = False  # a list item
    quote: bool = False  # a quotation: a Markdown `>` block, an HTML blockquote, an MDX component


@dataclass
class Article:
    blocks: list[Block] = field(default_factory=list)
    title: str = ""

    def prose(self) -> list[Block]:
        return [b for b in self.blocks if b.kind != "code"]


class _HtmlText(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.blocks: list[Block] = []
        self.title = ""
        self._buffer: list[str] = []
        self._skip = 0
        self._code = 0
        self._heading = False
        self._in_title = False
        self._quote = 0

    def _flush(self, kind: str = "text", item: bool = False) -> None:
        text = "".join(self._buffer)
        self._buffer.clear()
        text = text.strip("\n") if kind == "code" else " ".join(text.split())
        if text.strip():
            self.blocks.append(Block(kind, text, item, kind == "text" and self._quote > 0))

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _SKIP:
            self._skip += 1
        elif tag == "title":
            self._in_title = True
        elif self._skip:
            return
        elif tag == "pre":
            self._flush()
            self._code += 1
        elif tag in _HEADINGS:
            self._flush()
            self._heading = True
        elif tag in _BLOCKS and not self._code:
            self._flush()
            self._quote += tag == "blockquote"

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIP:
            self._skip = max(0, self._skip - 1)
        elif tag == "title":
            self._in_title = False
        elif self._skip:
            return
        elif tag == "pre" and self._code:
            self._code -= 1
            self._flush("code")
        elif tag in _HEADINGS and self._heading:
            self._heading = False
            self._flush("heading")
        elif tag in _BLOCKS and not self._code:
            self._flush(item=tag == "li")
            self._quote = max(0, self._quote - (tag == "blockquote"))

    def handle_data(self, data: str) -> None:
        if self._in_title:
            self.title += data
        elif not self._skip:
            self._buffer.append(data)


_FENCE = re.compile(r"^(```|~~~)")
_ONE_LINE_FENCE = re.compile(r"^(```|~~~)([^`~]+?)\1$")
_MD_HEADING = re.compile(r"^#{1,6}\s+(.*)$")
# A list item: its marker (`-`, `*`, `+`, `•`, `1.`, `2)`) goes, and each item is a block of its own.
_LIST_ITEM = re.compile(r"^\s{0,8}(?:[-*+•]|\d{1,2}[.)]|#\.)\s+(?=\S)")  # `#.`: reStructuredText
# YAML front matter of a docs page: its title and summary are kept, the rest is metadata.
# A page's front matter: YAML between `---` lines, or TOML between `+++` lines (Hugo).
_FRONT_MATTER = re.compile(r"\A(---|\+\+\+)\r?\n(.{0,5000}?)\r?\n\1\r?\n", re.DOTALL)
_FRONT_FIELD = re.compile(r"^(title|intro|description|summary)\s*[:=]\s*(.+)$", re.MULTILINE)
# A heading's underline (reStructuredText, Markdown's setext): a run of one punctuation mark.
_UNDERLINE = re.compile(r"^([=\-~^\"#*+'.:])\1{2,}\s*$")
# reStructuredText: a directive that opens a code block, and the others (notes, images...).
_CODE_DIRECTIVE = re.compile(r"^\.\. (?:code-block|code|sourcecode|highlight)::")
_DIRECTIVE = re.compile(r"^\.\. [\w-]+::|^\.\. _[^:\n]+:|^\.\. \|")
# A line that is only an MDX component's tag (`<ConsoleBlock level="error">`, `</Note>`): the
# component goes, what it wraps is quoted.
_COMPONENT_TAG = re.compile(r"^\s*<(/?)[A-Z][\w.]{0,60}(?:\s[^<>\n]{0,300})?(/?)>\s*$")
_INLINE_TAG = re.compile(r"</?(?:summary|details|kbd|b|i|em|strong|code|span|br|sup|sub)\b[^<>\n]{0,200}>")
# Bold text (`**Solution**:`): the words stay, the markers go.
_BOLD = re.compile(r"\*\*([^*\s][^*\n]{0,300}?)\*\*")
# The marker opening a GitHub alert (`> [!NOTE]`): its text is the alert's prose.
_ALERT = re.compile(r"\[!(?:NOTE|TIP|IMPORTANT|WARNING|CAUTION)\]\s*", re.IGNORECASE)


def _looks_like_prose(line: str) -> bool:
    """Indented text that reads as sentences (manual pages indent their paragraphs), not code."""
    words = line.split()
    alphabetic = sum(w.strip(".,;:()\"'").isalpha() for w in words)
    return len(words) >= 8 and alphabetic >= 0.7 * len(words)


def _underlines(line: str, paragraph: list[str]) -> bool:
    """Whether a line underlines the one line of text before it (`~~~~` too, which would
    otherwise open a code fence): reStructuredText's and Markdown's setext headings."""
    return (_UNDERLINE.match(line) is not None and len(paragraph) == 1
            and len(line.strip()) >= len(paragraph[0]) - 2)


def _front_matter(text: str) -> tuple[list[Block], str]:
    """The title and summary of a page's front matter as blocks, and the text after it."""
    match = _FRONT_MATTER.match(text)
    if match is None:
        return [], text
    blocks = []
    for field_name, value in _FRONT_FIELD.findall(match.group(2)):
        value = value.strip()
        if len(value) >= 6 and value[:3] == value[-3:] and value[:3] in ("'''", '"""'):
            value = value[3:-3]  # TOML's multi-line string, here on one line
        elif len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1].replace("''", "'") if value[0] == "'" else value[1:-1]
        blocks.append(Block("heading" if field_name == "title" else "text",
                            html.unescape(value)))
    return blocks, text[match.end():]


def _front_title(front: list[Block]) -> str:
    return next((b.text for b in front if b.kind == "heading"), "")


def _standalone_heading(lines: list[str], i: int) -> bool:
    """A short line on its own between blank lines, without a sentence's end: a heading of a
    plain-text page ("How to Fix It", "Why It Happens")."""
    return (_title_line(lines[i].rstrip()) and (i == 0 or not lines[i - 1].strip())
            and (i + 1 == len(lines) or not lines[i + 1].strip()))


_STEP_NUMBER = re.compile(r"\d{1,2}[.)]?$")
# A command with an option (`go env -w GO111MODULE=auto`, `sudo apt-get install -y x`).
COMMAND = re.compile(r"^(?:sudo )?[a-z][\w.-]{0,40}(?: [^\s-][^\s]*){0,4} --?[a-zA-Z]")


def _title_line(line: str) -> bool:
    """A short line without a sentence's end: a heading, when lines are blocks."""
    return (0 < len(line.split()) <= 8 and line[:1].isupper()
            and line[-1] not in ".:;,!?)]}`'\"")


def _lines_are_blocks(lines: list[str]) -> bool:
    """Whether the lines of a paragraph are blocks of their own, as in the text of a web page
    (each paragraph, list item and heading on one line, no blank lines between them), rather
    than the lines of one paragraph wrapped by hand: some line is longer than any hand-wrapped
    one, and hardly a line break falls inside a sentence (between two lines of prose, before
    a lower-case word, after a word that does not end one: output and code lines aside)."""
    if len(lines) < 2 or max(len(line) for line in lines) <= 100:
        return False
    inside = sum(before[-1:] not in ".!?:)\"'" and after[:1].islower()
                 and _looks_like_prose(before) and _looks_like_prose(after)
                 for before, after in itertools.pairwise(lines))
    return inside * 5 <= len(lines) - 1


def _from_markdown(text: str, front: list[Block]) -> Article:
    """Blocks of Markdown, reStructuredText or plain text (`front`: its front matter's)."""
    article = Article(blocks=front)
    article.title = _front_title(front)
    paragraph: list[str] = []
    code: list[str] | None = None

    item = False
    quote = False  # the paragraph is a `>` quotation
    component = 0  # inside an MDX component: its paragraphs are quotations

    def flush() -> None:
        nonlocal item, quote
        if paragraph and not item and not quote and not component and _lines_are_blocks(paragraph):
            numbered = False  # the line before was a step's number alone ("1", "2.")
            for line in paragraph:  # a web page's text: a heading, or a paragraph or list item
                if not line:  # a line of markup only
                    continue
                if _STEP_NUMBER.match(line):
                    numbered = True
                    continue
                if _title_line(line) and not numbered:
                    article.blocks.append(Block("heading", line))
                    article.title = article.title or line
                elif COMMAND.match(line):
                    article.blocks.append(Block("code", line))
                else:
                    article.blocks.append(Block("text", " ".join(line.split()), True))
                numbered = False
            paragraph.clear()
        elif paragraph:
            article.blocks.append(Block("text", " ".join(" ".join(paragraph).split()), item,
                                        quote or component > 0))
            paragraph.clear()
        item = quote = False

    lines = text.splitlines()
    announced = False  # the line before ends with a colon: a short line after it is a quote
    literal: list[str] | None = None  # a reStructuredText literal block (after `::`)
    literal_next = False
    for i, line in enumerate(lines):
        if literal is not None:
            if not line.strip() or line[:1].isspace():
                literal.append(line)
                continue
            article.blocks.append(Block("code", "\n".join(literal).strip("\n")))
            literal = None
        one_line = _ONE_LINE_FENCE.match(line.strip()) if code is None else None
        if one_line:  # ```git config --global x``` on a line of its own: a code block
            flush()
            article.blocks.append(Block("code", one_line.group(2)))
            continue
        if _FENCE.match(line.strip()) and not (code is None and _underlines(line, paragraph)):
            if code is None:
                flush()
                code = []
            else:
                article.blocks.append(Block("code", "\n".join(code)))
                code = None
            continue
        if code is not None:
            code.append(line)
            continue
        if literal_next and line.strip():
            literal_next = False
            if line[:1].isspace():
                flush()
                literal = [line]
                continue
        if _underlines(line, paragraph):
            title = paragraph.pop()  # the line above was a heading
            flush()
            article.blocks.append(Block("heading", title))
            article.title = article.title or title
            continue
        if _UNDERLINE.match(line) and not paragraph:
            continue  # a heading's overline, or a rule
        if _CODE_DIRECTIVE.match(line.strip()):
            flush()
            literal_next = True
            continue
        if _DIRECTIVE.match(line.strip()):
            flush()
            continue
        if line.rstrip().endswith("::"):
            line = line.rstrip()[:-1]  # "such as::" reads "such as:"
            literal_next = True
            if not line.strip(":").strip():
                continue
        tag = _COMPONENT_TAG.match(line)
        if tag:
            flush()
            if not tag.group(2):  # not self-closing
                component = max(0, component + (-1 if tag.group(1) else 1))
            continue
        if line.startswith(">") != quote and paragraph:
            flush()  # a quotation begins or ends
        heading = _MD_HEADING.match(line)
        marker = _LIST_ITEM.match(line)
        if heading or (not paragraph and _standalone_heading(lines, i)):
            flush()
            title = (heading.group(1) if heading else line).strip()
            article.blocks.append(Block("heading", title))
            article.title = article.title or title
        elif marker:
            flush()
            item = True
            paragraph.append(_INLINE_TAG.sub("", _BOLD.sub(r"\1", line[marker.end():])).strip())
        elif line.startswith(("    ", "\t")) and not paragraph and not _looks_like_prose(line):
            article.blocks.append(Block("code", line.strip()))
        elif not line.strip():
            flush()
        elif announced and not paragraph and COMMAND.match(line.strip()):
            article.blocks.append(Block("code", line.strip()))  # "To fix it, run:" then a command
        else:
            quoted = announced and not paragraph and len(line.split()) <= 20 \
                and line.rstrip()[-1] not in ".!?"
            quote = line.startswith(">")
            text = _INLINE_TAG.sub("", _BOLD.sub(r"\1", line.strip()).lstrip("-*> ")).strip()
            paragraph.append(_ALERT.sub("", text, count=1) if quote else text)
            if line.rstrip().endswith(":") or quoted:  # it announces what follows, or is it
                flush()
        announced = line.rstrip().endswith(":")
    flush()
    if code:
        article.blocks.append(Block("code", "\n".join(code)))
    if literal:
        article.blocks.append(Block("code", "\n".join(literal).strip("\n")))
    return article


def read_article(data: bytes, name: str = "article") -> Article:
    """Blocks of an article; refuses binary data, other encodings and oversized input."""
    if len(data) > MAX_ARTICLE_BYTES:
        raise InputTooLarge(f"{name}: {len(data):,} bytes is over the {MAX_ARTICLE_BYTES:,}-byte "
                            "limit for an article", "save the part about the error")
    if b"\x00" in data[:4096]:
        raise InputError(f"{name}: binary data, not an article",
                         "give plain text, Markdown or HTML")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InputError(f"{name}: not UTF-8 text (byte {exc.start})", "save it as UTF-8") from None
    front, body = _front_matter(text)
    head = body.lstrip()[:500].lower()
    if head.startswith(("<!doctype html", "<html")) or re.search(r"<(body|p|div|h1|article)\b", head):
        parser = _HtmlText()
        parser.feed(body)
        parser.close()
        parser._flush()
        title = " ".join(parser.title.split()) or _front_title(front)
        return Article(front + parser.blocks, title)
    return _from_markdown(body, front)

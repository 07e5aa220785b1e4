"""What an article says, sentence by sentence: the error messages it is about, and its claimed
causes, fixes and things that do not work — each kept with its sentence as evidence.

Deterministic cue phrases, not a language model; a model-backed extractor can replace
`extract` behind the same result type later.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from errorkb.ingest.article import Article
from errorkb.scan import ERROR_LINE

_SENTENCE = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9\"'`(])")
_QUOTED = re.compile(r"'([^'\n]{8,200})'|\"([^\"\n]{8,200})\"|`([^`\n]{8,200})`|“([^”\n]{8,200})”")
_MESSAGE_SHAPE = re.compile(
    r"(?:[A-Za-z_][\w.]{0,80}(?:Error|Exception)\b|\b(?:E[A-Z]{3,15}|WSAE[A-Z]{3,15})\b|"
    r"\b(?:error|failed|refused|denied|reset|timed out|not found|cannot|can't|unable|invalid|"
    r"fatal|panic)\b)", re.IGNORECASE)

# Cue phrases. A sentence may carry several roles; dead ends win over fixes.
_DEAD_END = re.compile(
    r"\b(?:does(?:n't| not) (?:help|work|fix|solve)|did(?:n't| not) (?:help|work|fix)|"
    r"won't (?:help|fix|work)|"
    r"will not (?:help|fix|work)|has no effect|no effect|is not the (?:fix|solution|cause)|"
    r"not a (?:fix|solution)|(?:only )?hides? the (?:error|problem|symptom)|masks? the (?:error|problem)|"
    r"(?:don't|do not|never|avoid) (?:bother|simply|just )?(?:increase|disable|raise|restart|reinstall|"
    r"set|add|use|turn off|retry)|makes? (?:it|things) worse)\b", re.IGNORECASE)
_FIX = re.compile(
    r"(?:^(?:Run|Set|Add|Install|Use|Increase|Raise|Restart|Check|Update|Upgrade|Configure|Enable|"
    r"Disable|Make sure|Ensure|Verify|Remove|Delete|Change|Replace|Open|Close|Call|Pass|Export|"
    r"Point|Switch|Create|Reinstall|Downgrade|Pin|Drain|Retry|Reconnect|Handle)\b|"
    r"\b(?:to (?:fix|solve|resolve|avoid|prevent) (?:this|it|the)|you (?:can|should|need to|must|may "
    r"want to)|the (?:fix|solution|workaround) is|one (?:fix|solution|workaround)|a workaround|"
    r"try (?:to |running |setting |adding |using )|make sure|ensure that|it is essential to|"
    r"(?:the )?best way to)|"
    r"^If [^,]{3,160}, (?:run|set|restore|rebuild|use|install|add|remove|delete|restart|reinstall|"
    r"upgrade|downgrade|update|enable|disable|check|switch|point|pin)\b)", re.IGNORECASE)
_CAUSE = re.compile(
    r"\b(?:because|caused by|is caused|occurs? when|happens? when|can happen|due to|the reason|"
    r"results? (?:in|from)|resulting in|(?:common|main|root|typical|another|usual) (?:cause|reason)|"
    r"this means|is (?:triggered|raised|thrown|sent|returned) when|comes from|stems from)",
    re.IGNORECASE)


@dataclass(frozen=True)
class Claim:
    kind: str  # cause | fix | dead_end
    sentence: str
    position: int  # sentence number in the article, from 1


@dataclass
class Extracted:
    messages: list[str] = field(default_factory=list)
    claims: list[Claim] = field(default_factory=list)
    sentences: int = 0

    def of(self, kind: str) -> list[Claim]:
        return [c for c in self.claims if c.kind == kind]


def sentences(text: str) -> list[str]:
    return [s.strip() for s in _SENTENCE.split(text) if len(s.strip()) > 3]


def _looks_like_message(text: str) -> bool:
    text = text.strip()
    return 8 <= len(text) <= 300 and _MESSAGE_SHAPE.search(text) is not None and \
        len(text.split()) <= 40


def find_messages(article: Article) -> list[str]:
    """Error messages the article quotes: code-block lines that look like errors, quoted
    strings and headings with message shapes. In order of first mention, without repeats."""
    found: dict[str, None] = {}
    for block in article.blocks:
        if block.kind == "code":
            for line in block.text.splitlines():
                if ERROR_LINE.search(line) and _looks_like_message(line):
                    found.setdefault(line.strip(), None)
            continue
        for match in _QUOTED.finditer(block.text):
            quoted = next(g for g in match.groups() if g)
            if _looks_like_message(quoted):
                found.setdefault(quoted.strip(), None)
    return list(found)


def extract(article: Article) -> Extracted:
    result = Extracted(messages=find_messages(article))
    position = 0
    for block in article.prose():
        if block.kind == "heading":
            continue
        for sentence in sentences(block.text):
            position += 1
            if _DEAD_END.search(sentence):
                result.claims.append(Claim("dead_end", sentence, position))
            elif _FIX.search(sentence):
                result.claims.append(Claim("fix", sentence, position))
            elif _CAUSE.search(sentence):
                result.claims.append(Claim("cause", sentence, position))
    result.sentences = position
    return result

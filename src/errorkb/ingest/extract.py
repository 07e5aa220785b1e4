"""What an article says, sentence by sentence: the error messages it is about, and its claimed
causes, fixes and things that do not work — each kept with its sentence as evidence.

Deterministic cue phrases, not a language model; a model-backed extractor can replace
`extract` behind the same result type later.
"""

from __future__ import annotations

import dataclasses
import itertools
import re
from dataclasses import dataclass, field

from errorkb.ingest.article import COMMAND, Article, Block
from errorkb.scan import ERROR_LINE

_SENTENCE = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9\"'`(])")
# A single quote opens only where no word goes on before it (not the one in "I'm").
_QUOTED = re.compile(r"(?<![\w'])'([^'\n]{4,200})'(?!\w)|\"([^\"\n]{4,200})\"|`([^`\n]{4,200})`"
                     r"|“([^”\n]{4,200})”")
# An error code or an exception's name said alone (`EACCES`, `SSLCertVerificationError`).
_CODE_TOKEN = re.compile(r"E[A-Z]{3,15}|WSAE[A-Z]{3,15}|[A-Z][A-Za-z0-9]{1,60}(?:Error|Exception)")
_MESSAGE_SHAPE = re.compile(
    r"(?:[A-Za-z_][\w.]{0,80}(?:Error|Exception)\b|(?-i:\b(?:E[A-Z]{3,15}|WSAE[A-Z]{3,15})\b)|"
    r"\b(?:error|failed|refused|denied|reset|timed out|not found|cannot|can't|could not|couldn't|"
    r"unable|invalid|fatal|panic|does not exist|doesn't exist|no such|not allowed|not permitted|"
    r"not accessible|unexpected|exceeded|mismatch|expired|unauthorized|forbidden|unreachable|"
    r"not recognized|bad file|unsupported|not supported|incompatible|no space left|too open|"
    r"too many|out of memory|exception)\b)", re.IGNORECASE)
# A line of code or configuration: it opens with a brace, an assignment, a keyword or a
# section header, or ends with `{` or `;` (a message may hold braces: "Selectors = { ... }").
_CODE_LINE = re.compile(r"^(?:[{}]|[\w.\[\]\"']+\s*[:+-]?=(?!=)|(?:if|for|while|def|class|function|"
                        r"import|from|return|const|let|var|export)\b|\[[\w. \"-]+\]$)|[{;]$")
_WENT_WRONG = re.compile(r"\*?\s*What went wrong:\s*$")
# A line of a program's own: `prog: context: what went wrong`.
_PROGRAM_SAYS = re.compile(r"^[\w.@/-]{2,60}: [^\n]{3,300}$")
# A sentence that says the error text follows (`fails with the following error:`).
_ANNOUNCES = re.compile(r"\b(?:errors?|warnings?|messages?|output|fail(?:s|ed)?|says?|shows?|prints?|"
                        r"see|get|occurs?|returns?|looks? (?:like|similar)|tells?|complains?|reports?|warns?|"
                        r"displays?|throws?|raises?)\b[^.!?]{0,80}(?:e\.g\.|i\.e\.)?:\s*$"
                        r"|\bthe following (?:error|warning|message|output)", re.IGNORECASE)
# ... but "X means:" introduces what it means, and "run the following command to ...:" a command.
_NOT_ANNOUNCING = re.compile(r"\bmeans?(?: that)?:\s*$|\bcommands?\b[^.!?:]{0,60}:\s*$"
                             r"|^(?:Run|Execute|Type|Enter)\b", re.IGNORECASE)
# A string quoted just after the word for what it is: "The error `Unsupported class file ...`".
_NAMED_BEFORE = re.compile(r"\b(?:error|exception|message|warning)s?(?: message)?"
                           r"(?: (?:is|was|says|reads|of))?:?\s*$", re.IGNORECASE)
# ... or just before it: 'the "no space left on device" error'.
_NAMED_AFTER = re.compile(r"[,.]?\s{0,2}(?:error|exception|message|warning)s?\b", re.IGNORECASE)
# How a line a program printed opens: an exception's name, a level, npm's or apt's prefix. A
# line of a page's text so opening (and no sentence of its own) is the message quoted.
_PRINTED_OPENING = re.compile(
    r"(?:[A-Za-z_][\w.$]{0,80}(?:Error|Exception)|npm (?:ERR!|error)|(?-i:FATAL|ERROR|WARNING|Error|"
    r"error|fatal|warning|panic|E|W)(?:\[[\w-]{1,20}\])?:)\s")
_NEXT_SENTENCE = re.compile(r"[.?]\s+[A-Z][a-z]")  # (not "!": npm prints "npm ERR! X")
# The same inside a sentence, up to the sentence's end: "You'll see FATAL: Peer authentication
# failed for user "postgres"." (a level in capitals or an exception's name, not "error:").
_INLINE_PRINTED = re.compile(
    r"(?<![\w.-])(?:[A-Z][\w.]{0,80}(?:Error|Exception)|FATAL|ERROR|PANIC|npm ERR!):\s"
    r"[^\n]{3,200}?(?=\.?\s{0,3}$|\.\s{1,3}[A-Z])")
# A configuration line, `key: value` with a one-word value ("bindAddress: 0.0.0.0").
_SETTING = re.compile(r"[\w.-]{1,60}:\s+\S{1,80}")
# A list item that is only a link, maybe with a few words after it ("[Guide](url) by nginx").
_LINK_ONLY = re.compile(r"^\[[^\]\n]{1,200}\]\([^)\s]{1,500}\)[^.!?]{0,60}$")
# A shell prompt before a command: `$ `, `# `, `>>> `, PowerShell's and cmd's, and
# `user@host:~/dir$ ` (the prompt a terminal shows, pasted with its command).
_PROMPT = re.compile(r"^(?:\$|#|>>>|PS [^>\n]{0,200}>|C:\\[^>\n]{0,200}>"
                     r"|[\w.-]{1,64}@[\w.-]{1,64}:[^\s$#]{0,200}[$#])\s")

# Cue phrases. A sentence may carry several roles; dead ends win over fixes.
_DEAD_END = re.compile(
    r"\b(?:does(?:n't| not) (?:help|work|fix|solve)|did(?:n't| not) (?:help|work|fix)|"
    r"won't (?:help|fix|work)|"
    r"will not (?:help|fix|work)|has no effect|no effect|is not the (?:fix|solution|cause)|"
    r"not a (?:fix|solution)|(?:only )?hides? the (?:error|problem|symptom|real)|"
    r"masks? the (?:error|problem|real)|does(?:n't| not) (?:persist|survive|stick)|"
    r"(?:only )?as a last resort|(?:is|are) not recommended|(?:should|must) be used with caution|"
    r"(?:don't|do not|never|avoid) (?:bother|simply|just )?(?:increase|disable|raise|restart|reinstall|"
    r"set|add|use|turn off|retry)|makes? (?:it|things) worse|don't follow (?:the|this) advice|"
    r"(?:should not|shouldn't|must not|mustn't) (?:be )?(?:use|using|run|running))\b", re.IGNORECASE)
# Verbs a step of a fix opens with ("Run ...", "Turn off dnsmasq"): a sentence, a list item or a
# heading; or after a clause that says when ("If you see this warning, first check ...").
_FIX_VERBS = (
    r"Run|Re-?run|Set|Unset|Add|Install|Uninstall|Use|Increase|Raise|Lower|Reduce|Restart|Reboot|"
    r"Check|Update|Upgrade|Configure|Enable|Disable|Make sure|Make|Ensure|Verify|Remove|Delete|"
    r"Change|Replace|Open|Close|Call|Pass|Export|Import|Point|Switch|Create|Reinstall|Downgrade|Pin|"
    r"Drain|Retry|Reconnect|Handle|Specify|Turn (?:off|on)|Tell|View|Load|Build|Try|Grant|Assign|"
    r"Allow|Edit|Modify|Reset|Regenerate|Rebuild|Clear|Clean|Prune|Kill|Stop|Start|Mount|Move|"
    r"Rename|Copy|Generate|Trust|Append|Adjust|Free|Give|Log in|Apply|Register|Activate|Select|"
    r"Purge|Obtain|Determine|Contact|Avoid|Exclude|Overwrite|Bind|Initiali[sz]e|Define|Declare|"
    r"Wrap|Catch|Await|Fetch|Pull|Push|Commit|Recreate|Re-?install|Download|Upload|Sign|Refresh|"
    r"Renew|Rotate|Extend|Split|Limit|Delay|Wait|Skip|Ignore|Keep|Mark|Tag|Label|Map|Expose|Publish|"
    r"Restore|Revert|Roll back|Recover|Repair|Connect|Disconnect|Decrease|Bump|Go to|Navigate|"
    r"Click|Choose|Press|Type|Enter|Tick|Untick|Launch|Relaunch|Reopen|Quit|Log out|Sign out")
_FIX = re.compile(
    rf"(?:^(?:(?:First|Then|Next|Finally|Instead|Alternatively|Also|Please),? )?(?:{_FIX_VERBS})\b|"
    r"\b(?:to (?:fix|solve|resolve|avoid|prevent|work around|get around) (?:this|it|the)|you (?:can|"
    r"should|need to|must|may want to|will need to|'ll need to|have to)|the (?:fix|solution|workaround|"
    r"remedy|answer)(?: to (?:this|the|that) (?:problem|issue|error))? (?:is|was)|"
    r"the (?:recommended|suggested|usual|proper|correct|right) (?:fix|solution|workaround|way) (?:is|was)|"
    r"(?:fix|solve|resolve)(?:d)? (?:it |this |that )?by (?:using|running|adding|setting|removing|"
    r"installing|upgrading|changing)|(?:may|can|could) be (?:fixed|solved|resolved|avoided|worked "
    r"around) (?:with|by)|should help|(?:usually|generally|typically) you(?:'ll| will)? want to|"
    r"(?:one|another|a|the (?:simplest|easiest|quickest|best)) (?:fix|"
    r"solution|workaround|option|way) (?:is|was|would be)|a workaround|"
    r"try (?:to |running |setting |adding |using |removing |updating )|(?:may|might|could) try|"
    r"make sure|ensure that|"
    r"it is essential to|(?:the )?best way to|I (?:had to|was able to|fixed|solved|resolved|"
    r"changed|added|removed|switched|ended up)|(?:fixed|solved|resolved) (?:it|this|the (?:problem|"
    r"issue|error)) by|what (?:worked|helped)|(?:resolved|fixed|solved) (?:my|the|this|persistent) |"
    r"we recommend|(?:is|are) recommended|(?:one|another|a) possible (?:fix|workaround|solution)|"
    r"(?:action|step|approach|remedy) (?:(?:is|was|would be) (?:simply )?to \w+|involves \w+ing))|"
    rf"^Consider \w+ing\b|"
    rf"^To (?:{_FIX_VERBS})\b[^.!?]{{0,160}}:\s*$|"
    rf"^(?:If|When|Before|After|Once|Since|To|On|In)\b[^,]{{3,160}}, (?:(?:first|then|simply|just|"
    rf"you can|you should|you need to|please) )?(?:{_FIX_VERBS})\b)", re.IGNORECASE)
# A sentence that only points elsewhere, or says what the reader will see.
_POINTER = re.compile(r"(?:Read more|Learn more|For more (?:details|information|info)|"
                      r"See (?:also|below|above|the (?:list|docs|documentation|section))|"
                      r"You should (?:now )?see|You shouldn't need to)\b", re.IGNORECASE)
_FIX_STEP = re.compile(rf"(?:{_FIX_VERBS})\b")  # a heading that is a step ("Use HTTPS")
# A sentence that only says fixes follow ("There are several ways to solve this.").
_FRAMING = re.compile(r"^(?:There (?:are|is) (?:several|multiple|many|a few|a couple of|two|three|some|"
                      r"various) (?:ways|options|solutions|methods|approaches|fixes)|Here(?:'s| is| are) "
                      r"(?:how|what|a few|some)|(?:By )?[Ff]ollow(?:ing)? (?:these|the) steps)\b")
# A sentence labelled with what it is ("**Solution**: Use ...", "Cause: ...").
_LABELLED = re.compile(r"^(?:(?P<fix>solutions?|fix(?:es)?|workarounds?|resolution)|"
                       r"(?P<cause>causes?|reasons?|root cause))\s?:\s+(?=\S)", re.IGNORECASE)
_CAUSE = re.compile(
    r"\b(?:because|caused by|is caused|occurs? when|happens? when|can happen|due to|the reason|"
    r"results? (?:in|from)|resulting in|(?:common|main|root|typical|another|usual|likely) (?:cause|reason)|"
    r"this means|(?:usually|likely|probably|typically|often|generally) (?:means|indicates)|"
    r"indicates? (?:that|a|an|the)|means (?:that|your|the)|the (?:problem|issue|culprit) (?:is|was)|"
    r"is (?:triggered|raised|thrown|sent|returned|printed|shown) when|comes? from|stems? from|"
    r"runs? out of|fails? (?:with|when|because)|is intercepting|does not trust|doesn't trust|"
    r"(?:can|may|might|will|would|often|sometimes|also) (?:\w+ )?cause|"
    r"(?:may|might|can|could|will|would) (?:also )?(?:happen|occur|come up|arise|emerge|appear)"
    r"(?:,[^,.]{1,30},)? (?:when|if|because)|(?:appears?|shows? up|arises?) (?:if|when)|"
    r"chances are|(?:is|are) (?:also )?common when|(?:might|may|can|will) be thrown|"
    r"throws? [^.]{1,60} when|you(?:'ll| will) (?:see|get) (?:this|the|an?) |"
    r"you (?:might|may) (?:be using|have (?:installed|multiple|two|more than one|an? older|an? old))|"
    r"(?:possible|probable|other) (?:cause|reason)|(?:is|was) (?:actually )?an? (?:known|upstream) "
    r"(?:issue|bug|problem)|there (?:is|was) (?:a|an) (?:problem|issue|bug) (?:with|in)|"
    r"(?:is|are) not supported|(?:cannot|can't|could not|couldn't) be (?:loaded|found|resolved)|"
    r"is unable to|(?:will|would) fail|\bmeans:\s*$|"
    r"(?:likely|probably) (?:don't|do not|doesn't|does not|isn't|is not|aren't|are not|haven't|"
    r"have not|didn't|did not) )",
    re.IGNORECASE)
# A heading that names one cause or fix: "Cause 1: Crashed process", "Fix #2 - Pin the version".
_NAMED_HEADING = re.compile(r"^(causes?|reasons?|fix(?:es)?|solutions?|workarounds?|options?)"
                            r"(?: ?#?\d{1,2})?\s?[:.\-–]\s+(?=\S)", re.IGNORECASE)
# What a section's heading says its sentences and list items are.
_CAUSE_SECTION = re.compile(r"\b(?:causes?|why|reasons?|what (?:this|the) \w+ means|explanation|"
                            r"root cause|background|understanding)\b", re.IGNORECASE)
# A heading or a list's opening that says what was tried in vain ("What We've Tried", "I have
# already tried the following:"): an issue's author lists what did not fix it.
_TRIED = re.compile(r"\b(?:what (?:i|we)(?:'ve| have)? (?:already )?tried|(?:i|we)(?:'ve| have)? "
                    r"(?:already )?tried(?: the following| these| so far)?\s*:?\s*$|tried so far|"
                    r"(?:things|steps) (?:i|we)(?:'ve| have)? (?:already )?tried)", re.IGNORECASE)
_FIX_SECTION = re.compile(r"\b(?:fix\w*|solution\w*|solv\w*|resolv\w*|workarounds?|how to|remed\w*|"
                          r"what to do|steps)\b", re.IGNORECASE)


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
    if _CODE_TOKEN.fullmatch(text):
        return True
    return 8 <= len(text) <= 300 and _MESSAGE_SHAPE.search(text) is not None and \
        len(text.split()) <= 40


def _output_lines(code: str) -> list[str]:
    """The lines of a code block a program printed: commands at a prompt left out, the `> `
    some pages put before output taken off."""
    lines = []
    for line in code.splitlines():
        line = line.strip()
        if not line or _PROMPT.match(line):
            continue
        lines.append(line[2:] if line.startswith("> ") else line)
    return lines


def _printed(line: str) -> bool:
    """A line a program may have printed: not a command with options, code or a `key:` line."""
    return (8 <= len(line) <= 300 and not COMMAND.match(line)
            and not (line.endswith(":") and len(line.split()) <= 3) and not _CODE_LINE.search(line))


def _announces(block: Block | None) -> bool:
    if block is None or block.kind != "text" or _ANNOUNCES.search(block.text) is None:
        return False
    said = sentences(block.text)
    return not said or _NOT_ANNOUNCING.search(said[-1]) is None


def find_messages(article: Article) -> list[str]:
    """Error messages the article quotes: the lines of a code block that look like errors (or
    any line of one that a sentence announced: "fails with the following error:"), a short
    line so announced, and quoted strings with message shapes. In order of first mention,
    without repeats. With none of these, the headings that read as a message."""
    found: dict[str, None] = {}
    before: Block | None = None
    for block in article.blocks:
        if block.kind == "code":
            lines = _output_lines(block.text)
            # What an announced block printed: its first error line (a log's earlier lines
            # say what the program was doing), else its first line, whatever its words.
            if lines and _announces(before):
                first = next((line for line in lines if ERROR_LINE.search(line) and _printed(line)),
                             lines[0])
                if _printed(first) and (not _SETTING.fullmatch(first) or _looks_like_message(first)):
                    found.setdefault(first, None)
            for header, line in itertools.pairwise(lines):  # Gradle's "* What went wrong:"
                if _WENT_WRONG.match(header) and _printed(line):
                    found.setdefault(line, None)
            alone = len(lines) <= 2 and all(_looks_like_message(line) for line in lines)
            for line in lines:
                if _looks_like_message(line) and (alone or ERROR_LINE.search(line)
                                                  or _PROGRAM_SAYS.match(line)):
                    found.setdefault(line, None)
        elif block.kind == "text":
            text = block.text.strip()
            if _PRINTED_OPENING.match(text) and _looks_like_message(text[:300]) \
                    and not _NEXT_SENTENCE.search(text):
                found.setdefault(text, None)  # a printed line among the page's paragraphs
            elif text[:1].islower() and text[-1] not in ".!?" and not _NEXT_SENTENCE.search(text) \
                    and _looks_like_message(text) and not COMMAND.match(text):
                found.setdefault(text, None)  # a line no sentence opens or ends: output
            else:
                for match in _INLINE_PRINTED.finditer(text):
                    found.setdefault(match.group(0), None)
            if (len(text.split()) <= 20 or _looks_like_message(text)) and (
                    not _CODE_LINE.search(text) or _looks_like_message(text)) and (
                    (_announces(before) and (text[-1] not in ".!?" or block.quote))
                    or (block.quote and before is not None and before.quote
                        and before.text.strip() in found and _looks_like_message(text))):
                # a line quoted after "this error message:", and the quotation after it
                found.setdefault(text, None)
            for match in _QUOTED.finditer(block.text):
                quoted = next(g for g in match.groups() if g).strip().rstrip(",")
                named = (_NAMED_BEFORE.search(block.text, max(0, match.start() - 40), match.start())
                         or _NAMED_AFTER.match(block.text, match.end()))
                if _looks_like_message(quoted) or (named and len(quoted.split()) >= 2):
                    found.setdefault(quoted, None)
        before = block
    if not found:
        for block in article.blocks:
            if block.kind == "heading" and _looks_like_message(block.text) and not (
                    _FIX_SECTION.search(block.text) or _CAUSE_SECTION.search(block.text)):
                found.setdefault(block.text.strip(), None)
    return list(found)


def _claim_kind(sentence: str, section: str | None, item: bool) -> str | None:
    """What a sentence claims: a dead end, a fix, a cause or nothing. The cue phrases decide;
    the list items of a section whose heading says what it holds ("How to Fix It", "Why It
    Happens"), or of a list a sentence so introduces ("There can be various reasons:"), are of
    that kind; so is a sentence labelled "Solution:" or "Cause:". Pointers elsewhere ("Read more
    ...", "For more details, see ...") and sentences that only say fixes follow ("There are
    several ways to solve this.") claim nothing."""
    if _POINTER.match(sentence) or _FRAMING.match(sentence):
        return None
    if _DEAD_END.search(sentence):
        return "dead_end"
    labelled = _LABELLED.match(sentence)
    if labelled:
        return "fix" if labelled.group("fix") else "cause"
    listed = item and len(sentence.split()) >= 5 and not _LINK_ONLY.match(sentence)
    if listed and section == "dead_end":
        return "dead_end"
    if _FIX.search(sentence) or (listed and section == "fix"):
        return "fix"
    if _CAUSE.search(sentence) or (listed and section == "cause"):
        return "cause"
    return None


def _introduces_list(sentence: str, following: Block | None) -> bool:
    """"You have two choices:" before a list is not a claim; its items are."""
    return sentence.rstrip().endswith(":") and following is not None and following.kind == "text"


def extract(article: Article) -> Extracted:
    result = Extracted(messages=find_messages(article))
    position = 0
    section: str | None = None  # what the last heading says its section holds
    listed: str | None = None  # what the sentence before a list says its items are
    claimed: set[tuple[str, str]] = set()
    blocks = article.blocks
    for index, block in enumerate(blocks):
        following = blocks[index + 1] if index + 1 < len(blocks) else None
        if block.kind == "heading":
            section = ("dead_end" if _TRIED.search(block.text) else
                       "fix" if _FIX_SECTION.search(block.text) else
                       "cause" if _CAUSE_SECTION.search(block.text) else None)
            named = _NAMED_HEADING.match(block.text)
            if named:  # "Cause 1: Crashed Terraform process", "Solution: ..."
                position += 1
                said = "cause" if named.group(1).lower().startswith(("cause", "reason")) else "fix"
                result.claims.append(Claim(said, block.text[named.end():].strip(), position))
            elif _FIX_STEP.match(block.text) and index > 0:
                position += 1  # a step as a heading ("Use HTTPS")
                result.claims.append(Claim("fix", block.text, position))
            continue
        if block.kind == "code":
            _attach_commands(result.claims, block, blocks[index - 1] if index else None)
            continue
        text_sentences = sentences(block.text)
        if not block.item:
            listed = None
            if section == "dead_end":  # what was tried is the list under that heading
                section = None
        for number, sentence in enumerate(text_sentences):
            position += 1
            last = number == len(text_sentences) - 1
            if last and _introduces_list(sentence, following):
                listed = ("dead_end" if _TRIED.search(sentence) else
                          "fix" if _FIX_SECTION.search(sentence) or _FIX.search(sentence) else
                          "cause" if _CAUSE_SECTION.search(sentence) or _CAUSE.search(sentence)
                          else None)
                continue
            kind = _claim_kind(sentence, listed or section, item=block.item)
            if kind == "cause" and _ANNOUNCES.search(sentence) and sentence.rstrip().endswith(":"):
                kind = None  # "it fails with the following error:" introduces the message
            if kind is not None and (kind, sentence) not in claimed:  # tabs repeat their steps
                claimed.add((kind, sentence))
                result.claims.append(Claim(kind, sentence, position))
    result.sentences = position
    return result


def _attach_commands(claims: list[Claim], code: Block, before: Block | None) -> None:
    """The commands of a code block that follows a fix go with that fix ("Load the new value:"
    then `sudo sysctl --system`): the last fix claimed in the text just before it."""
    if before is None or before.kind != "text" or not claims or claims[-1].kind != "fix":
        return
    if claims[-1].sentence not in before.text:
        return
    commands = [line.strip() for line in code.text.splitlines() if line.strip()][:3]
    commands = [line[prompt.end():] if (prompt := _PROMPT.match(line)) else line for line in commands]
    if commands and sum(len(c) for c in commands) <= 300:
        claims[-1] = dataclasses.replace(claims[-1], sentence=claims[-1].sentence.rstrip() + " "
                                         + " ; ".join(commands))

"""Located trees: YAML or JSON text in, nodes that remember their line out.

YAML is read from libyaml's event stream, not through PyYAML's constructor, so that we can
refuse what a canon never needs and what makes YAML dangerous or surprising:
anchors and aliases (YAML bombs), explicit tags, several documents, duplicate keys, deep
nesting. Plain scalars are resolved here with YAML 1.1's rules but remember their text, so the
decoder can say "unquoted `no` is read as a boolean" instead of silently storing False.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

import yaml

from errorkb.errors import RecordError

MAX_DEPTH = 24


@dataclass
class Node:
    line: int | None


@dataclass
class ScalarNode(Node):
    value: Any
    # For a plain YAML scalar that YAML turned into something other than a string:
    # its text and what it became ("boolean", "integer", "float", "null", "date").
    implicit_text: str | None = None
    implicit_kind: str | None = None


@dataclass
class SeqNode(Node):
    items: list[Node] = field(default_factory=list)


@dataclass
class MapNode(Node):
    items: list[tuple[str, Node]] = field(default_factory=list)
    duplicate_keys: list[tuple[str, int | None]] = field(default_factory=list)

    def keys(self) -> list[str]:
        return [k for k, _ in self.items]

    def __contains__(self, key: object) -> bool:
        return any(k == key for k, _ in self.items)


_RESOLVER = yaml.resolver.Resolver()
_CONSTRUCTOR = yaml.constructor.SafeConstructor()
_KINDS = {
    "tag:yaml.org,2002:bool": "boolean",
    "tag:yaml.org,2002:int": "integer",
    "tag:yaml.org,2002:float": "float",
    "tag:yaml.org,2002:null": "null",
    "tag:yaml.org,2002:timestamp": "date",
}


# Numbers as YAML 1.2 reads them that PyYAML's YAML 1.1 rules leave as text (`1e3`, `0o17`):
# other tools would read them as numbers, so they count as numbers here too.
_YAML12_INT = re.compile(r"[-+]?(?:[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+)")
_YAML12_FLOAT = re.compile(r"[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?"
                           r"|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN)")


def _yaml12_number(text: str) -> ScalarNode | None:
    if _YAML12_INT.fullmatch(text):
        return ScalarNode(None, int(text, 0) if text[:2] in ("0o", "0x") else int(text),
                          implicit_text=text, implicit_kind="integer")
    if _YAML12_FLOAT.fullmatch(text):
        return ScalarNode(None, float(text.replace(".inf", "inf").replace(".nan", "nan")
                                      .lower()), implicit_text=text, implicit_kind="float")
    return None


def _plain_scalar(text: str, line: int) -> ScalarNode:
    tag = _RESOLVER.resolve(yaml.ScalarNode, text, (True, False))  # type: ignore[no-untyped-call]
    kind = _KINDS.get(tag)
    if kind is None:
        number = _yaml12_number(text)
        if number is not None:
            number.line = line
            return number
        return ScalarNode(line, text)
    if kind == "date":
        # Never build a date object: keep the text, let the decoder refuse it where a string goes.
        return ScalarNode(line, text, implicit_text=text, implicit_kind=kind)
    value = _CONSTRUCTOR.construct_object(yaml.ScalarNode(tag, text))
    return ScalarNode(line, value, implicit_text=text, implicit_kind=kind)


def reads_as_non_text(text: str) -> bool:
    """Whether this text, written plain (unquoted), would be read as something else."""
    return _plain_scalar(text, 0).implicit_kind is not None


def parse_yaml(text: str, file: str = "") -> Node:
    """Parse one YAML document into located nodes; raise RecordError on anything refused."""
    try:
        loader = yaml.CSafeLoader if hasattr(yaml, "CSafeLoader") else yaml.SafeLoader
        events = list(yaml.parse(text, Loader=loader))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        problem = getattr(exc, "problem", None) or str(exc)
        raise RecordError(f"YAML syntax error: {problem}", file=file, line=line,
                          hint="fix the YAML syntax on that line") from None
    stack: list[tuple[Node, str | None]] = []  # container, pending mapping key
    root: Node | None = None
    documents = 0
    for event in events:
        line = event.start_mark.line + 1 if event.start_mark is not None else None
        if isinstance(event, yaml.DocumentStartEvent):
            documents += 1
            if documents > 1:
                raise RecordError("more than one YAML document; a canon file holds one canon",
                                  file=file, line=line, hint="split it into one file per canon")
            continue
        if isinstance(event, yaml.AliasEvent) or getattr(event, "anchor", None):
            raise RecordError("YAML anchors and aliases are not allowed in canon files",
                              file=file, line=line, hint="write the value out in full")
        if isinstance(event, (yaml.ScalarEvent, yaml.MappingStartEvent, yaml.SequenceStartEvent)):
            tag = getattr(event, "tag", None)
            implicit = getattr(event, "implicit", True)
            explicit_tag = tag is not None and tag != "!" and not (
                implicit is True or (isinstance(implicit, tuple) and any(implicit)))
            if explicit_tag:
                raise RecordError(f"explicit YAML tag {tag!r} is not allowed", file=file,
                                  line=line, hint="remove the tag; quote the value if it is text")
        node: Node
        if isinstance(event, yaml.ScalarEvent):
            node = _plain_scalar(event.value, line or 0) if not event.style \
                else ScalarNode(line, event.value)
        elif isinstance(event, yaml.MappingStartEvent):
            node = MapNode(line)
        elif isinstance(event, yaml.SequenceStartEvent):
            node = SeqNode(line)
        elif isinstance(event, (yaml.MappingEndEvent, yaml.SequenceEndEvent)):
            finished, _ = stack.pop()
            if stack:
                _attach(stack, finished, file)
            else:
                root = finished
            continue
        else:
            continue
        if isinstance(node, (MapNode, SeqNode)):
            if len(stack) >= MAX_DEPTH:
                raise RecordError(f"nesting deeper than {MAX_DEPTH} levels", file=file,
                                  line=line, hint="a canon is at most a few levels deep")
            stack.append((node, None))
        elif stack:
            _attach(stack, node, file)
        else:
            root = node
    if root is None:
        raise RecordError("empty file", file=file, hint="a canon file holds one YAML mapping")
    return root


def _attach(stack: list[tuple[Node, str | None]], node: Node, file: str) -> None:
    parent, pending_key = stack[-1]
    if isinstance(parent, SeqNode):
        parent.items.append(node)
        return
    assert isinstance(parent, MapNode)
    if pending_key is None:
        if not isinstance(node, ScalarNode) or node.value is None or isinstance(node.value, (list, dict)):
            raise RecordError("mapping keys must be plain names", file=file, line=node.line,
                              hint="use `name: value`")
        key = node.implicit_text if node.implicit_text is not None else str(node.value)
        stack[-1] = (parent, key)
        return
    if pending_key in parent:
        parent.duplicate_keys.append((pending_key, node.line))
    else:
        parent.items.append((pending_key, node))
    stack[-1] = (parent, None)


def from_python(value: Any, line: int | None = None) -> Node:
    """Wrap already-parsed JSON data as nodes (every node gets the record's line)."""
    if isinstance(value, _Pairs):
        mapping = MapNode(line)
        for key, item in value:
            if key in mapping:
                mapping.duplicate_keys.append((key, line))
            else:
                mapping.items.append((key, from_python(item, line)))
        return mapping
    if isinstance(value, dict):
        return MapNode(line, [(str(k), from_python(v, line)) for k, v in value.items()])
    if isinstance(value, list):
        return SeqNode(line, [from_python(v, line) for v in value])
    return ScalarNode(line, value)


class _Pairs(list):  # type: ignore[type-arg]
    """A JSON object kept as its key/value pairs, so duplicate keys can be reported."""


def parse_json(text: str, file: str = "", line: int | None = None) -> Node:
    """Parse JSON text (one value) into nodes; duplicate keys are kept for the decoder to report."""
    try:
        data = json.loads(text, object_pairs_hook=_Pairs)
    except json.JSONDecodeError as exc:
        at = (line or 1) + exc.lineno - 1
        raise RecordError(f"invalid JSON: {exc.msg} (column {exc.colno})", file=file, line=at,
                          hint="fix the JSON syntax there") from None
    except RecursionError:
        raise RecordError("JSON nested too deeply", file=file, line=line) from None
    return from_python(data, line)


def to_python(node: Node) -> Any:
    """Plain Python data from nodes (for `extra` mappings that keep unmapped fields)."""
    if isinstance(node, MapNode):
        return {k: to_python(v) for k, v in node.items}
    if isinstance(node, SeqNode):
        return [to_python(v) for v in node.items]
    assert isinstance(node, ScalarNode)
    return node.value

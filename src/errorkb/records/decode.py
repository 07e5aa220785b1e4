"""Nodes → typed canon, strictly: every problem becomes an error finding with its field and line."""

from __future__ import annotations

import dataclasses
import types
import typing
from typing import Any

from errorkb.model import Canon, Finding
from errorkb.records.nodes import MapNode, Node, ScalarNode, SeqNode, to_python
from errorkb.records.plain import field_types

_INVALID = object()


class _Decoder:
    def __init__(self, file: str, canon_id: str) -> None:
        self.file = file
        self.canon_id = canon_id
        self.findings: list[Finding] = []

    def problem(self, code: str, path: str, line: int | None, message: str, hint: str) -> None:
        self.findings.append(Finding(severity="error", code=code, message=message,
                                     canon_id=self.canon_id, field=path, hint=hint,
                                     file=self.file, line=line))

    def value(self, node: Node, tp: Any, path: str) -> Any:
        origin = typing.get_origin(tp)
        if origin in (typing.Union, types.UnionType):
            options = [a for a in typing.get_args(tp) if a is not type(None)]
            if isinstance(node, ScalarNode) and node.value is None:
                return None
            return self.value(node, options[0], path)
        if tp is Any:
            return to_python(node)
        if dataclasses.is_dataclass(tp):
            return self.record(node, typing.cast(type, tp), path)
        if origin is list:
            if not isinstance(node, SeqNode):
                return self.wrong(node, "a list", path)
            (item_type,) = typing.get_args(tp)
            items = [self.value(n, item_type, f"{path}[{i}]") for i, n in enumerate(node.items)]
            return _INVALID if any(i is _INVALID for i in items) else items
        if origin is dict:
            if not isinstance(node, MapNode):
                return self.wrong(node, "a mapping", path)
            _, item_type = typing.get_args(tp)
            self.duplicates(node, path)
            out = {k: self.value(v, item_type, f"{path}.{k}") for k, v in node.items}
            return _INVALID if any(v is _INVALID for v in out.values()) else out
        return self.scalar(node, tp, path)

    def scalar(self, node: Node, tp: type, path: str) -> Any:
        if not isinstance(node, ScalarNode):
            return self.wrong(node, _type_name(tp), path)
        value = node.value
        if node.implicit_kind is not None and tp is str:
            self.problem("implicit-conversion", path, node.line,
                         f"unquoted `{node.implicit_text}` is read by YAML as a {node.implicit_kind},"
                         " not as text", f"quote it: '{node.implicit_text}'")
            return _INVALID
        if node.implicit_kind == "date":
            return self.wrong(node, _type_name(tp), path)
        ok = (
            (tp is str and isinstance(value, str))
            or (tp is bool and isinstance(value, bool))
            or (tp is int and isinstance(value, int) and not isinstance(value, bool))
            or (tp is float and isinstance(value, (int, float)) and not isinstance(value, bool))
        )
        if not ok:
            return self.wrong(node, _type_name(tp), path)
        return float(value) if tp is float else value

    def wrong(self, node: Node, expected: str, path: str) -> Any:
        self.problem("wrong-type", path, node.line,
                     f"expected {expected}, found {_describe(node)}",
                     f"write {expected} here (see docs/canon-format.md)")
        return _INVALID

    def duplicates(self, node: MapNode, path: str) -> None:
        for key, line in node.duplicate_keys:
            where = f"{path}.{key}" if path else key
            self.problem("duplicate-key", where, line, f"key `{key}` appears more than once",
                         "keep one of them")

    def record(self, node: Node, cls: type, path: str) -> Any:
        if not isinstance(node, MapNode):
            return self.wrong(node, "a mapping", path)
        self.duplicates(node, path)
        hints = field_types(cls)
        fields = {f.name: f for f in dataclasses.fields(cls)}
        values: dict[str, Any] = {}
        valid = True
        for key, child in node.items:
            where = f"{path}.{key}" if path else key
            if key not in fields:
                known = ", ".join(fields)
                self.problem("unknown-key", where, child.line, f"unknown key `{key}`",
                             f"known keys here: {known}")
                valid = False
                continue
            decoded = self.value(child, hints[key], where)
            if decoded is _INVALID:
                valid = False
            else:
                values[key] = decoded
        for name, f in fields.items():
            required = f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
            if required and name not in values and name not in node:
                where = f"{path}.{name}" if path else name
                self.problem("missing-field", where, node.line, f"required field `{name}` is missing",
                             f"add `{name}:`")
                valid = False
        return cls(**values) if valid else _INVALID


def _type_name(tp: type) -> str:
    return {str: "text", int: "an integer", float: "a number", bool: "true or false"}.get(
        tp, getattr(tp, "__name__", str(tp)))


def _describe(node: Node) -> str:
    if isinstance(node, MapNode):
        return "a mapping"
    if isinstance(node, SeqNode):
        return "a list"
    assert isinstance(node, ScalarNode)
    if node.implicit_kind == "date":
        return f"an unquoted date `{node.implicit_text}`"
    shown = repr(node.value)
    shown = shown if len(shown) <= 60 else shown[:57] + "..."
    kind = "null" if node.value is None else type(node.value).__name__
    return f"{kind} {shown}"


def decode_canon(node: Node, *, file: str = "", canon_id: str = "") -> tuple[Canon | None, list[Finding]]:
    """Decode a canon; on any problem return None and the error findings."""
    if not canon_id and isinstance(node, MapNode):
        for key, child in node.items:
            if key == "id" and isinstance(child, ScalarNode) and isinstance(child.value, str):
                canon_id = child.value
    decoder = _Decoder(file, canon_id)
    canon = decoder.record(node, Canon, "")
    if canon is _INVALID or decoder.findings:
        return None, decoder.findings
    return canon, []


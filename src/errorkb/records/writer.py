"""Canon → plain data → YAML text, deterministically: `errorkb fmt` output is a fixed point."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

import yaml

from errorkb.model import Canon
from errorkb.records.nodes import reads_as_non_text

# Text fields written in single quotes when they fit on one line: regexes stay unescaped.
_QUOTED_FIELDS = frozenset({"regex", "examples", "aliases"})


KeepDefault = bool | Callable[[type, str], bool]


def to_data(record: Any, *, keep_defaults: KeepDefault = False) -> Any:
    """Plain dicts and lists from a model object, in field order.

    A field holding its default is left out unless `keep_defaults` is True, or a predicate
    `(model class, field name) -> bool` that says True for it.
    """
    if dataclasses.is_dataclass(record) and not isinstance(record, type):
        out: dict[str, Any] = {}
        for f in dataclasses.fields(record):
            value = getattr(record, f.name)
            keep = keep_defaults(type(record), f.name) if callable(keep_defaults) else keep_defaults
            if not keep and _is_default(f, value):
                continue
            out[f.name] = to_data(value, keep_defaults=keep_defaults)
        return out
    if isinstance(record, list):
        return [to_data(v, keep_defaults=keep_defaults) for v in record]
    if isinstance(record, dict):
        return {k: to_data(v, keep_defaults=keep_defaults) for k, v in record.items()}
    return record


def _is_default(f: dataclasses.Field[Any], value: Any) -> bool:
    if f.default is not dataclasses.MISSING:
        return bool(value == f.default)
    if f.default_factory is not dataclasses.MISSING:
        return bool(value == f.default_factory())
    return False


class _Quoted(str):
    """A string to be written single-quoted (or as a block when it spans lines)."""


class _CanonDumper(yaml.SafeDumper):
    def increase_indent(self, flow: bool = False, indentless: bool = False) -> None:
        super().increase_indent(flow, False)

    def write_single_quoted(self, text: str, split: bool = True) -> None:
        # Never fold a quoted scalar (a regex or an example) across lines.
        super().write_single_quoted(text, split=False)


def _represent_str(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    if "\n" in value:
        return dumper.represent_scalar("tag:yaml.org,2002:str", value, style="|")
    if reads_as_non_text(value):  # e.g. '08001', '1e3': our reader would not take it as text
        return dumper.represent_scalar("tag:yaml.org,2002:str", value, style="'")
    return dumper.represent_scalar("tag:yaml.org,2002:str", value)


def _represent_quoted(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    style = "|" if "\n" in value else "'"
    return dumper.represent_scalar("tag:yaml.org,2002:str", str(value), style=style)


_CanonDumper.add_representer(str, _represent_str)
_CanonDumper.add_representer(_Quoted, _represent_quoted)


def _mark_quoted(data: Any, key: str = "") -> Any:
    if isinstance(data, dict):
        return {k: _mark_quoted(v, k) for k, v in data.items()}
    if isinstance(data, list):
        return [_mark_quoted(v, key) for v in data]
    if isinstance(data, str) and key in _QUOTED_FIELDS:
        return _Quoted(data)
    return data


def dump_yaml(data: Any) -> str:
    return yaml.dump(_mark_quoted(data), Dumper=_CanonDumper, sort_keys=False,
                     allow_unicode=True, width=100, indent=2, default_flow_style=False)


def dump_canon(canon: Canon) -> str:
    """The YAML text of a canon file."""
    return dump_yaml(to_data(canon))

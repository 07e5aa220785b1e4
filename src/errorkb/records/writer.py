"""Canon → plain data → YAML text, deterministically: `errorkb fmt` output is a fixed point."""

from __future__ import annotations

from typing import Any

import yaml

from errorkb.model import Canon
from errorkb.records.nodes import reads_as_non_text
from errorkb.records.plain import to_data

# Text fields written in single quotes when they fit on one line: regexes stay unescaped.
_QUOTED_FIELDS = frozenset({"regex", "examples", "aliases"})


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

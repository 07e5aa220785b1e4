"""Model objects ↔ plain data (dicts, lists, scalars), with no parsing and no checking: the
exchange shape `to_data` writes and, for records checked already (an index's), its inverse."""

from __future__ import annotations

import dataclasses
import types
import typing
from collections.abc import Callable
from functools import cache
from typing import Any

from errorkb.model import Canon


@cache
def field_types(cls: type) -> dict[str, Any]:
    """The declared type of each field of a model class."""
    return typing.get_type_hints(cls)


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


def canon_from_data(data: dict[str, Any]) -> Canon:
    """A canon from the plain data `to_data` wrote for it (an index record, validated when the
    index was built): built straight into the model, about 3.5 times faster than
    `decode_canon`, which re-checks every field. Raises TypeError when the data does not fit
    the model (a field it lacks, a required field missing)."""
    canon: Canon = _built(Canon, data)
    return canon


def _built(cls: type, data: dict[str, Any]) -> Any:
    if not isinstance(data, dict):
        raise TypeError(f"{cls.__name__} from {type(data).__name__}, not a mapping")
    convert = _converters(cls)
    return cls(**{name: convert[name](value) if name in convert else value
                  for name, value in data.items()})


@cache
def _converters(cls: type) -> dict[str, Callable[[Any], Any]]:
    """How to build the fields of `cls` that hold records (or lists of them); the other
    fields are plain data as they are."""
    converters: dict[str, Callable[[Any], Any]] = {}
    for name, tp in field_types(cls).items():
        if typing.get_origin(tp) in (typing.Union, types.UnionType):
            tp = next(a for a in typing.get_args(tp) if a is not type(None))
        if dataclasses.is_dataclass(tp):
            converters[name] = _record_converter(typing.cast(type, tp))
        elif typing.get_origin(tp) is list and dataclasses.is_dataclass(typing.get_args(tp)[0]):
            converters[name] = _list_converter(typing.get_args(tp)[0])
    return converters


def _record_converter(cls: type) -> Callable[[Any], Any]:
    return lambda value: _built(cls, value)


def _list_converter(cls: type) -> Callable[[Any], Any]:
    return lambda values: [_built(cls, value) for value in values]

"""The case model, walked: every field of ``case.yaml`` with its kind, for tests that must
cover each field without listing them by hand (a new field is covered the day it is added)."""

from __future__ import annotations

import datetime as dt
import types
import typing
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Literal

from pydantic import BaseModel

from handover.model import Case

#: "documents[].title" style paths: one name for every element of a list.
FieldName = str


@dataclass(frozen=True)
class Leaf:
    """A field that holds one value (or a list of them)."""

    name: FieldName
    kind: str  # text, pattern, choice, date, amount, number, whole, bool
    max_length: int | None = None
    choices: tuple[str, ...] = ()
    is_list: bool = False


def leaves(model: type[BaseModel] = Case, prefix: str = "") -> Iterator[Leaf]:
    """Every leaf field of ``model``, nested mappings and lists of mappings included."""
    for name, field in model.model_fields.items():
        path = f"{prefix}{name}"
        annotation, metadata = field.annotation, list(field.metadata)
        kinds = _alternatives(annotation, metadata)
        nested = [k for k, _ in kinds if isinstance(k, type) and issubclass(k, BaseModel)]
        lists = [k for k, _ in kinds if typing.get_origin(k) is list]
        if nested:
            yield from leaves(nested[0], f"{path}.")
        elif lists:
            (item,) = typing.get_args(lists[0])
            item_kinds = _alternatives(item, [])
            inner = item_kinds[0][0]
            if isinstance(inner, type) and issubclass(inner, BaseModel):
                yield from leaves(inner, f"{path}[].")
            else:
                yield _leaf(path, item_kinds, is_list=True)
        else:
            yield _leaf(path, kinds)


def _alternatives(annotation: Any, metadata: list[Any]) -> list[tuple[Any, list[Any]]]:
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        base, *more = typing.get_args(annotation)
        return _alternatives(base, [*metadata, *more])
    if origin is typing.Union or origin is types.UnionType:
        return [
            kind
            for arg in typing.get_args(annotation)
            if arg is not type(None)
            for kind in _alternatives(arg, metadata)
        ]
    return [(annotation, metadata)]


def _leaf(path: str, kinds: list[tuple[Any, list[Any]]], *, is_list: bool = False) -> Leaf:
    kind, metadata = kinds[0]
    limit = next((m.max_length for m in metadata if getattr(m, "max_length", None)), None)
    pattern = any(getattr(m, "pattern", None) for m in metadata)
    if typing.get_origin(kind) is Literal:
        return Leaf(path, "choice", choices=typing.get_args(kind), is_list=is_list)
    named = {dt.date: "date", Decimal: "amount", float: "number", int: "whole", bool: "bool"}
    if kind is str:
        return Leaf(path, "pattern" if pattern else "text", limit, is_list=is_list)
    return Leaf(path, named[kind], limit, is_list=is_list)


def set_at(data: dict[str, Any], name: FieldName, value: Any) -> None:
    """Set ``name`` (``services[].name``) in ``data``: in every element of a list."""
    head, _, rest = name.partition(".")
    if head.endswith("[]"):
        for item in data[head[:-2]]:
            if rest:
                set_at(item, rest, value)
        if not rest:
            data[head[:-2]] = value
        return
    if rest:
        set_at(data[head], rest, value)
    else:
        data[head] = value


def has(data: dict[str, Any], name: FieldName) -> bool:
    head, _, rest = name.partition(".")
    key = head.removesuffix("[]")
    if key not in data:
        return False
    if not rest:
        return True
    inner = data[key]
    return has(inner[0], rest) if isinstance(inner, list) else has(inner, rest)


def to_yaml(data: Any, indent: int = 0) -> str:
    """Block YAML with every scalar written plain (unquoted), exactly as given: the way
    staff type values, which is what the loader must read as written."""
    pad = " " * indent
    lines: list[str] = []
    if isinstance(data, dict):
        for key, value in data.items():
            if isinstance(value, dict | list) and value:
                lines.append(f"{pad}{key}:")
                lines.append(to_yaml(value, indent + 2))
            else:
                lines.append(f"{pad}{key}: {_plain(value)}")
    else:
        for item in data:
            if isinstance(item, dict):
                body = to_yaml(item, indent + 2)
                lines.append(f"{pad}- {body.lstrip()}")
            else:
                lines.append(f"{pad}- {_plain(item)}")
    return "\n".join(lines)


def _plain(value: Any) -> str:
    if value == [] or value == {}:
        return "[]" if value == [] else "{}"
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)

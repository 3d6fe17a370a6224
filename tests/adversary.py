"""Cases written by an adversary, generated from the model: a marker in every string field.

``generated_case`` walks ``handover.model.Case`` (so a field added to the model is covered
without touching this file) and puts a distinct marker into every string it finds, written
plainly, as HTML, as a Markdown heading and wrapped in the sealing delimiters of old.
``derived_forms`` lists every form in which a marker could leak: as written, HTML-escaped,
URL-encoded, lowercased, slugged as heading anchors are, with accents stripped.
"""

from __future__ import annotations

import datetime as dt
import html
import json
import types
import typing
import unicodedata
from collections.abc import Iterator
from decimal import Decimal
from typing import Any, Literal, Union, get_args, get_origin
from urllib.parse import quote

import yaml
from markdown.extensions.toc import slugify, slugify_unicode
from pydantic import BaseModel
from pydantic.fields import FieldInfo

from handover.model import Case

#: Values the model constrains beyond "some text": what a valid case must hold there.
FIXED: dict[str, Any] = {
    "language": "en",
    "currency": "EUR",
    "service_end": dt.date(2026, 12, 31),
    "deletion_date": dt.date(2027, 1, 31),
    "retain_until": dt.date(2036, 12, 31),
    "retention_days": 30,
    "key_version": 1,
    "legal_hold": False,
    "done": False,
    # A pin must be the document's real hash (it cannot carry a marker, nor name anyone).
    "sha256": None,
    # Bank details have a fixed shape (they go into the payment QR code as they are).
    "iban": "CZ65 0800 0000 1920 0014 5399",
    "bic": "GIBACZPX",
    "reference": "1234567890",
}
#: Pairs of fields of which a case gives exactly one: variant 0 keeps the first.
EXCLUSIVE = {"Document": ("file", "url"), "Feedback": ("url", "email")}
DAY = dt.date(2027, 1, 15)
SEALING_DELIMITERS = ("<!--handover:sealed-->", "<!--/handover:sealed-->")


class Markers:
    """Hands out distinct markers: ``Zqmörk<client><n>x``, with an accent and mixed case so
    that every derived form differs from the written one."""

    def __init__(self, client: str) -> None:
        self.client = client
        self.issued: list[str] = []

    def word(self) -> str:
        word = f"Zqmörk{self.client}{len(self.issued):03d}x"
        self.issued.append(word)
        return word

    def text(self) -> str:
        """A field's value: the marker as text, as HTML, as a heading, inside the delimiters."""
        word = self.word()
        end, start = SEALING_DELIMITERS[1], SEALING_DELIMITERS[0]
        return f"{end}<b>{word}</b> <img src=x onerror=alert(1)> # {word} {start}"

    def markdown(self) -> str:
        word = self.word()
        end, start = SEALING_DELIMITERS[1], SEALING_DELIMITERS[0]
        return f"# {word}\n\n{end}<b>{word}</b>\n\n[{word}](javascript:alert(1)) {start}"


def generated_case(client: str, variant: int, access: str) -> tuple[dict[str, Any], list[str]]:
    """A valid case with a marker in every string field, and the markers it holds."""
    markers = Markers(client)
    case = _sample_model(Case, markers, variant)
    case["access"] = access
    return case, markers.issued


def documents_of(case: dict[str, Any]) -> Iterator[str]:
    for document in case.get("documents", []):
        if "file" in document:
            yield document["file"]


class _PlainDumper(yaml.SafeDumper):
    """No anchors or aliases: staff write none, and the loader refuses them."""

    def ignore_aliases(self, data: Any) -> bool:
        return True


def case_yaml(case: dict[str, Any]) -> str:
    return yaml.dump(case, Dumper=_PlainDumper, allow_unicode=True, sort_keys=False)


def derived_forms(word: str) -> set[str]:
    """Every form of a marker worth looking for, lowercased (the search lowercases too)."""
    stripped = "".join(
        c for c in unicodedata.normalize("NFKD", word) if not unicodedata.combining(c)
    )
    forms = {
        word,
        html.escape(word),
        word.encode("ascii", "xmlcharrefreplace").decode(),
        "".join(f"&#x{ord(c):x};" if ord(c) > 127 else c for c in word),
        html.escape(word).replace("ö", "&ouml;"),
        quote(word),
        quote(word.encode("utf-16-be")),
        json.dumps(word)[1:-1],
        slugify(word, "-"),
        slugify_unicode(word, "-"),
        stripped,
        word.encode("unicode_escape").decode(),
        word.encode("idna").decode()
        if word.isascii()
        else "xn--" + word.encode("punycode").decode(),
    }
    return {form.lower() for form in forms if len(form) >= 8}


def _sample_model(model: type[BaseModel], markers: Markers, variant: int) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for name, field in model.model_fields.items():
        values[name] = _sample_field(name, field, markers, variant)
    pair = EXCLUSIVE.get(model.__name__)
    if pair:
        values.pop(pair[1 - variant], None)
    if model.__name__ == "Document" and "file" in values:
        values["file"] = f"documents/{markers.word()}.txt"
    return {k: v for k, v in values.items() if v is not None}


def _sample_field(name: str, field: FieldInfo, markers: Markers, variant: int) -> Any:
    if name in FIXED:
        return FIXED[name]
    return _sample(field.annotation, list(field.metadata), markers, variant, name)


def _sample(annotation: Any, metadata: list[Any], markers: Markers, variant: int, name: str) -> Any:
    origin = get_origin(annotation)
    if origin is typing.Annotated:
        base, *extra = get_args(annotation)
        return _sample(base, metadata + list(extra), markers, variant, name)
    if origin in (Union, types.UnionType):
        members = [a for a in get_args(annotation) if a is not type(None)]
        inner = members[variant % len(members)]  # each form of a union, across the variants
        return _sample(inner, metadata, markers, variant, name)
    if origin is list:
        (item,) = get_args(annotation)
        if isinstance(item, type) and issubclass(item, BaseModel):
            return [_sample_model(item, markers, v) for v in (0, 1)]
        return [_sample(item, metadata, markers, v, name) for v in (0, 1)]
    if origin is Literal:
        return get_args(annotation)[0]
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return _sample_model(annotation, markers, variant)
    if annotation is dt.date:
        return DAY
    if annotation is bool:
        return False
    if annotation in (int, float, Decimal):
        return 12
    if annotation is str:
        return _string(metadata, markers, name)
    raise TypeError(f"the adversary does not know how to fill {name}: {annotation!r}")


def _string(metadata: list[Any], markers: Markers, name: str) -> str:
    patterns = [getattr(m, "pattern", None) for m in metadata]
    if any(p and "@" in p for p in patterns):
        return f"{markers.word()}@example.com"
    if any(p and "https?" in p for p in patterns):
        return f"https://example.com/{markers.word()}"
    strip = any(getattr(m, "strip_whitespace", False) for m in metadata)
    return markers.text() if strip else markers.markdown()

"""Stage 1: read one ``case.yaml`` into plain data, remembering the line of every node.

PyYAML's safe loader is used for scalars, but the tree is walked here so that
each value keeps its source line, duplicate keys are caught (YAML silently keeps
the last one), and anchors/aliases are refused outright: a case file never needs
them, and refusing them is the only sure defence against alias bombs.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from handover.problems import FieldPath, Problem, format_field_path

#: A case file is hand-written text; anything larger is a mistake (or an attack).
MAX_CASE_FILE_BYTES = 1_000_000


@dataclass
class SourceDocument:
    """A parsed YAML file: its data and where each part of it was written."""

    path: Path
    data: Any
    lines: dict[FieldPath, int] = field(default_factory=dict)

    def line_of(self, path: FieldPath) -> int | None:
        """The line of ``path``, or of its nearest written ancestor (a missing key's parent)."""
        for end in range(len(path), -1, -1):
            line = self.lines.get(tuple(path[:end]))
            if line is not None:
                return line
        return None


#: libyaml's parser when PyYAML was built with it (about ten times faster), else PyYAML's own.
_Loader: type[Any] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _anchor_or_alias(text: str) -> tuple[int, str] | None:
    """The line and wording of the first anchor or alias, found before anything is
    composed so an alias bomb never expands: a case file never needs them, and
    refusing them is the only sure defence."""
    for event in yaml.parse(text, Loader=_Loader):
        line = event.start_mark.line + 1 if event.start_mark else 1
        if isinstance(event, yaml.AliasEvent):
            return (
                line,
                "anchors and aliases (*name) are not allowed in case files; write the value out",
            )
        anchor = getattr(event, "anchor", None)
        if anchor is not None:
            return line, f"anchors (&{anchor}) are not allowed in case files; write the value out"
    return None


def read_yaml(path: Path) -> tuple[SourceDocument | None, list[Problem]]:
    """Parse ``path``; return the document, or the problems that stopped it."""
    try:
        raw = path.read_bytes()
    except OSError as error:
        return None, [Problem(path, None, "", f"cannot read file: {error.strerror}")]
    if len(raw) > MAX_CASE_FILE_BYTES:
        return None, [Problem(path, None, "", f"file is larger than {MAX_CASE_FILE_BYTES} bytes")]
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = raw[: error.start].count(b"\n") + 1
        return None, [Problem(path, line, "", "file is not valid UTF-8; save it as UTF-8")]
    return parse_yaml_text(text, path)


def parse_yaml_text(text: str, path: Path) -> tuple[SourceDocument | None, list[Problem]]:
    loader = _Loader(text)
    try:
        refused = _anchor_or_alias(text)
        if refused:
            return None, [Problem(path, refused[0], "", f"YAML syntax: {refused[1]}")]
        root = loader.get_single_node()
        if root is None:
            return SourceDocument(path, {}), []
        document = SourceDocument(path, None)
        problems: list[Problem] = []
        document.data = _build(root, (), loader, document, problems)
        return document, problems
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        line = mark.line + 1 if mark else None
        message = error.problem or "invalid YAML"
        return None, [Problem(path, line, "", f"YAML syntax: {message}")]
    except yaml.YAMLError as error:
        return None, [Problem(path, None, "", f"YAML syntax: {error}")]
    finally:
        loader.dispose()


def _build(
    node: yaml.Node,
    at: FieldPath,
    loader: Any,
    document: SourceDocument,
    problems: list[Problem],
) -> Any:
    document.lines[at] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        mapping: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            key = _scalar(key_node, loader, document.path, problems)
            if not isinstance(key, str | int) or isinstance(key, bool):
                problems.append(_problem(document, key_node, at, "keys must be plain words"))
                continue
            child = (*at, key)
            if key in mapping:
                problems.append(_problem(document, key_node, child, "is written twice; keep one"))
            mapping[key] = _build(value_node, child, loader, document, problems)
            document.lines[child] = key_node.start_mark.line + 1
        return mapping
    if isinstance(node, yaml.SequenceNode):
        return [
            _build(item, (*at, index), loader, document, problems)
            for index, item in enumerate(node.value)
        ]
    return _scalar(node, loader, document.path, problems)


def _scalar(node: yaml.Node, loader: Any, path: Path, problems: list[Problem]) -> Any:
    if not isinstance(node, yaml.ScalarNode):
        problems.append(Problem(path, node.start_mark.line + 1, "", "keys must be plain words"))
        return None
    try:
        return loader.construct_object(node, deep=True)
    except (ValueError, yaml.constructor.ConstructorError):
        # e.g. 2026-02-30 looks like a date but is no real day: keep the text and let the
        # model say what the field needs (a date field reports it, a text field accepts it).
        return node.value


def _problem(document: SourceDocument, node: yaml.Node, at: FieldPath, message: str) -> Problem:
    return Problem(document.path, node.start_mark.line + 1, format_field_path(at), message)

"""Stage 1: read one ``case.yaml`` into plain data, remembering the line of every node.

Values are read the YAML 1.2 way (the *core schema*), never the YAML 1.1 way PyYAML's
loaders use: ``0123``, ``1_000``, ``12:30``, ``0x1F``, ``on`` and ``NO`` are not octal,
thousands, base 60, booleans or anything else a member of staff did not mean. A plain
scalar that resolves to a number or a boolean also keeps its source text
(``SourceDocument.texts``), so a text field shows exactly what was typed
(``validation.as_written``). There are no timestamps in the core schema: a date is text
until the model reads it as an ISO date.

libyaml (PyYAML's C parser) does the parsing and composing, for speed; the resolver is
empty, so no YAML 1.1 rule ever applies, and scalars are resolved here. The tree is
walked here so that each value keeps its source line, duplicate keys are caught (YAML
silently keeps the last one), and anchors, aliases and tags are refused outright: a case
file never needs them, and refusing them is the only sure defence against alias bombs.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from yaml.constructor import BaseConstructor
from yaml.resolver import BaseResolver

from handover.problems import FieldPath, Problem, format_field_path

#: A case file is hand-written text; anything larger is a mistake (or an attack).
MAX_CASE_FILE_BYTES = 1_000_000


@dataclass
class SourceDocument:
    """A parsed YAML file: its data and where each part of it was written."""

    path: Path
    data: Any
    lines: dict[FieldPath, int] = field(default_factory=dict)
    #: The source text of every plain scalar read as a number or boolean (``0123``, ``on``),
    #: for fields that want text.
    texts: dict[FieldPath, str] = field(default_factory=dict)

    def line_of(self, path: FieldPath) -> int | None:
        """The line of ``path``, or of its nearest written ancestor (a missing key's parent)."""
        for end in range(len(path), -1, -1):
            line = self.lines.get(tuple(path[:end]))
            if line is not None:
                return line
        return None


class _CoreResolver(BaseResolver):
    """No implicit resolvers at all: every scalar stays text until ``core_value`` reads it."""

    yaml_implicit_resolvers: dict[Any, Any] = {}  # noqa: RUF012 (PyYAML's class attribute)


class _PureParser(
    yaml.reader.Reader, yaml.scanner.Scanner, yaml.parser.Parser, yaml.composer.Composer
):
    """PyYAML's own parser and composer, where it was built without libyaml."""

    def __init__(self, stream: str) -> None:
        yaml.reader.Reader.__init__(self, stream)
        yaml.scanner.Scanner.__init__(self)
        yaml.parser.Parser.__init__(self)
        yaml.composer.Composer.__init__(self)


def _fastest_parser() -> type[Any]:
    """libyaml's parser and composer when PyYAML was built with it, else PyYAML's own."""
    try:
        from yaml._yaml import CParser  # PyYAML exports it from yaml.cyaml, but not by name
    except ImportError:
        return _PureParser
    parser: type[Any] = CParser
    return parser


_Parser: Any = _fastest_parser()


class _Loader(_Parser, BaseConstructor, _CoreResolver):  # type: ignore[misc]
    """libyaml's parser and composer (about ten times faster than PyYAML's own), when
    PyYAML was built with it; nothing of YAML 1.1's typing."""

    def __init__(self, stream: str) -> None:
        _Parser.__init__(self, stream)
        BaseConstructor.__init__(self)
        _CoreResolver.__init__(self)


# The YAML 1.2.2 core schema (section 10.3.2), exactly.
_NULL = frozenset({"", "~", "null", "Null", "NULL"})
_BOOLEANS = {"true": True, "True": True, "TRUE": True, "false": False, "False": False}
_BOOLEANS["FALSE"] = False
_DECIMAL = re.compile(r"[-+]?[0-9]+")
_OCTAL = re.compile(r"0o[0-7]+")
_HEXADECIMAL = re.compile(r"0x[0-9a-fA-F]+")
_FLOAT = re.compile(r"[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?")
_INFINITY = re.compile(r"[-+]?\.(?:inf|Inf|INF)")
_NAN = frozenset({".nan", ".NaN", ".NAN"})


def core_value(text: str) -> Any:
    """What a plain (unquoted) scalar means under the YAML 1.2 core schema.

    Only these forms are anything but text: ``null``/``~``/empty, ``true``/``false`` in
    three spellings, decimal, ``0o`` and ``0x`` integers, decimal floats, ``.inf`` and
    ``.nan``. ``yes``, ``on``, ``1_000``, ``0123:45`` and ``2026-12-31`` are text."""
    if text in _NULL:
        return None
    if text in _BOOLEANS:
        return _BOOLEANS[text]
    try:
        if _DECIMAL.fullmatch(text):
            return int(text)
        if _OCTAL.fullmatch(text):
            return int(text[2:], 8)
        if _HEXADECIMAL.fullmatch(text):
            return int(text[2:], 16)
    except ValueError:  # more digits than Python converts; no field takes such a number
        return text
    if _FLOAT.fullmatch(text):
        return float(text)
    if _INFINITY.fullmatch(text):
        return -math.inf if text.startswith("-") else math.inf
    if text in _NAN:
        return math.nan
    return text


def _refused_construct(event: Any) -> str | None:
    """Wording for an anchor, alias or tag: a case file never needs them, and refusing
    anchors and aliases before anything is composed means an alias bomb never expands."""
    if isinstance(event, yaml.AliasEvent):
        return "anchors and aliases (*name) are not allowed in case files; write the value out"
    anchor = getattr(event, "anchor", None)
    if anchor is not None:
        return f"anchors (&{anchor}) are not allowed in case files; write the value out"
    tag = getattr(event, "tag", None)
    if tag is not None and not isinstance(event, yaml.DocumentStartEvent):
        shown = tag.replace("tag:yaml.org,2002:", "!!")
        return f"tags ({shown}) are not allowed in case files; put text in quotes instead"
    return None


def _refused(text: str) -> tuple[int, str] | None:
    """The line and wording of the first anchor, alias or tag."""
    for event in yaml.parse(text, Loader=_Loader):
        refused = _refused_construct(event)
        if refused:
            return (event.start_mark.line + 1 if event.start_mark else 1), refused
    return None


def read_yaml(path: Path) -> tuple[SourceDocument | None, list[Problem]]:
    """Parse ``path``; return the document, or the problems that stopped it."""
    try:
        raw = path.read_bytes()
    except OSError as error:
        return None, [Problem(path, None, "", f"cannot read file: {error.strerror}")]
    if len(raw) > MAX_CASE_FILE_BYTES:
        message = (
            f"file is {len(raw):,} bytes, larger than the {MAX_CASE_FILE_BYTES:,} bytes "
            "a case file may have; keep documents beside it, not in it"
        )
        return None, [Problem(path, 1, "", message)]
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = raw[: error.start].count(b"\n") + 1
        return None, [Problem(path, line, "", "file is not valid UTF-8; save it as UTF-8")]
    return parse_yaml_text(text, path)


def parse_yaml_text(text: str, path: Path) -> tuple[SourceDocument | None, list[Problem]]:
    loader = _Loader(text)
    try:
        refused = _refused(text)
        if refused:
            return None, [Problem(path, refused[0], "", f"YAML syntax: {refused[1]}")]
        root = loader.get_single_node()
        if root is None:  # an empty file (or only comments): its problems belong on line 1
            return SourceDocument(path, {}, {(): 1}), []
        document = SourceDocument(path, None)
        problems: list[Problem] = []
        document.data = _build(root, (), document, problems)
        return document, problems
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        line = mark.line + 1 if mark else None
        return None, [Problem(path, line, "", f"YAML syntax: {_syntax_message(error, text)}")]
    except yaml.reader.ReaderError as error:
        # A character YAML does not allow anywhere (a control character pasted with text).
        line = text[: error.position].count("\n") + 1
        return None, [Problem(path, line, "", f"YAML syntax: {_reader_message(error)}")]
    except yaml.YAMLError as error:
        return None, [Problem(path, 1, "", f"YAML syntax: {error}")]
    finally:
        loader.dispose()


def _reader_message(error: yaml.reader.ReaderError) -> str:
    character = error.character
    code = character if isinstance(character, int) else ord(character or "\0")
    return (
        f"the invisible control character U+{code:04X} is not allowed in YAML; delete it "
        "(it often comes with text pasted from another program)"
    )


def _syntax_message(error: yaml.MarkedYAMLError, text: str) -> str:
    """libyaml's wording, except that a tab is called a tab: it is invisible in most
    editors, and "cannot start any token" does not say what to change."""
    message = error.problem or "invalid YAML"
    mark = error.problem_mark or error.context_mark
    if mark is None:
        return message
    lines = text.splitlines()
    line = lines[mark.line] if mark.line < len(lines) else ""
    at_mark = line[mark.column : mark.column + 1]
    if at_mark == "\t" or ("tab" in message and "\t" in line):
        column = mark.column + 1 if at_mark == "\t" else line.index("\t") + 1
        return (
            f"a tab character at column {column}; YAML indents with spaces only, "
            "so replace the tab with spaces"
        )
    return message


def _build(
    node: yaml.Node,
    at: FieldPath,
    document: SourceDocument,
    problems: list[Problem],
) -> Any:
    document.lines[at] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        mapping: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            if not isinstance(key_node, yaml.ScalarNode) or not key_node.value:
                problems.append(_problem(document, key_node, at, "keys must be plain words"))
                continue
            key = key_node.value  # a key is always its text: `1:` and `on:` are words here
            child = (*at, key)
            if key in mapping:
                problems.append(_problem(document, key_node, child, "is written twice; keep one"))
            mapping[key] = _build(value_node, child, document, problems)
            document.lines[child] = key_node.start_mark.line + 1
        return mapping
    if isinstance(node, yaml.SequenceNode):
        return [
            _build(item, (*at, index), document, problems) for index, item in enumerate(node.value)
        ]
    if getattr(node, "style", None):  # quoted or a block scalar: always text, exactly as written
        return node.value
    value = core_value(node.value)
    if value is not None and not isinstance(value, str):
        document.texts[at] = node.value
    return value


def _problem(document: SourceDocument, node: yaml.Node, at: FieldPath, message: str) -> Problem:
    return Problem(document.path, node.start_mark.line + 1, format_field_path(at), message)

"""Stage 2b: turn one parsed YAML document into a ``ClientCase``, or into problems.

Pydantic checks shape and types; the rules here span fields or touch the disk.
Every problem carries the line of the node it is about.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import difflib
import math
import types
import typing
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal

from babel import Locale, UnknownLocaleError
from pydantic import BaseModel, ValidationError

from handover.deletions import RECORD_FILE, Deletion, PurgeRun, deleted_files, read_deletion_record
from handover.loading import SourceDocument, core_value, read_yaml
from handover.model import AccessMode, Case, Document
from handover.problems import FieldPath, Problem, format_field_path


@dataclass(frozen=True)
class FirmDefaults:
    """What a case leaves out is taken from the firm's settings in ``mkdocs.yml``."""

    language: str
    retention_days: int
    languages: Collection[str]
    access: AccessMode = "passphrase"


@dataclass(frozen=True)
class ClientCase:
    """A valid case with its defaults resolved: everything later stages need."""

    id: str
    folder: Path
    case: Case
    language: str
    deletion_date: dt.date
    access: AccessMode
    #: What ``handover purge`` already deleted from the folder (``deletion-record.yaml``).
    deletions: tuple[Deletion, ...] = ()
    #: Each run of ``handover purge`` on this case: where it removed copies, and when.
    purges: tuple[PurgeRun, ...] = ()
    #: The line of ``client.name`` in ``case.yaml``, for problems found across cases.
    name_line: int | None = None
    #: What a build warns about, with file and line (``cases.completed``).
    warnings: tuple[str, ...] = ()
    #: Every date of the case, sorted (``rendering.case_days``; ``cases.completed``).
    days: tuple[dt.date, ...] = ()

    @property
    def source(self) -> Path:
        return self.folder / "case.yaml"

    def available_until(self, document: Document) -> dt.date:
        return document.available_until or self.deletion_date

    def offers(self, document: Document, today: dt.date) -> bool:
        """The page offers a document up to and including its last day, which is never
        after the deletion date (validated), so nothing is offered once data is deleted.
        Under a legal hold nothing is deleted: a document whose last day is the deletion
        date stays on offer while the hold lasts."""
        if self.case.legal_hold and document.available_until is None:
            return True
        return today <= self.available_until(document)

    #: Pinned documents fetched from the document store: file -> verified cached copy.
    fetched: tuple[tuple[str, Path], ...] = ()

    def document_path(self, document: Document) -> Path | None:
        if not document.file:
            return None
        return dict(self.fetched).get(document.file) or self.folder / document.file

    def deletion_of(self, document: Document) -> Deletion | None:
        """The record of this document's file being purged, if it was."""
        if not document.file:
            return None
        return deleted_files(list(self.deletions)).get(Path(document.file).as_posix())


def validate_case(
    case_id: str, source: SourceDocument, defaults: FirmDefaults
) -> tuple[ClientCase | None, list[Problem]]:
    if not isinstance(source.data, dict):
        return None, [Problem(source.path, 1, "", "a case file must be a mapping of fields")]
    record, record_problems = read_deletion_record(source.path.parent)
    deletions = list(record.deleted)
    purged = set(deleted_files(deletions))
    file_problems = record_problems + [
        _located(source, *found) for found in _check_files(source, purged)
    ]
    try:
        case = Case.model_validate(as_written(source.data, source.texts))
    except ValidationError as error:
        model_problems = [_problem_from_pydantic(source, item) for item in error.errors()]
        return None, model_problems + file_problems

    language = case.language or defaults.language
    deletion_date = case.deletion_date or case.service_end + dt.timedelta(
        days=case.retention_days if case.retention_days is not None else defaults.retention_days
    )
    access = case.access or defaults.access
    client_case = ClientCase(
        case_id,
        source.path.parent,
        case,
        language,
        deletion_date,
        access,
        tuple(deletions),
        record.purges,
        source.line_of(("client", "name")),
    )
    problems = [
        *file_problems,
        *(_located(source, *found) for found in _check_language(client_case, defaults)),
        *(_located(source, *found) for found in _check_dates(client_case)),
    ]
    return (None if problems else client_case), problems


def as_written(data: Any, texts: Mapping[FieldPath, str]) -> Any:
    """``data`` with every number or boolean that sits in a text, date, choice or amount
    field replaced by its source text (``loading.SourceDocument.texts``): an account
    number written ``0123`` is ``0123`` on the page, never ``123``; an amount written
    ``1250.10`` is the decimal 1250.10, never a binary float. Which fields want text is
    read from the model, so a new text field needs nothing here. ``data`` itself is left
    as it was (the secret scanner reads it too)."""
    for path, text in texts.items():
        if _wants_text(_annotation_at(path)):
            data = _replaced(data, path, text)
    return data


def _annotation_at(path: FieldPath) -> Any:
    """The model's annotation of the field at ``path``; None where the model has none."""
    annotation: Any = Case
    for part in path:
        if isinstance(part, int):
            annotation = _list_item(annotation)
        else:
            model = _model_in(annotation)
            field = model.model_fields.get(part) if model else None
            annotation = field.annotation if field else None
        if annotation is None:
            return None
    return annotation


def _replaced(data: Any, path: FieldPath, value: str) -> Any:
    """A copy of ``data`` with ``value`` at ``path`` (only the containers on the path)."""
    if not path:
        return value
    head, rest = path[0], path[1:]
    if isinstance(data, dict) and head in data:
        return {**data, head: _replaced(data[head], rest, value)}
    if isinstance(data, list) and isinstance(head, int) and 0 <= head < len(data):
        return [*data[:head], _replaced(data[head], rest, value), *data[head + 1 :]]
    return data


def _alternatives(annotation: Any) -> list[Any]:
    """The types an annotation allows, without ``None`` and ``Annotated`` wrappers."""
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        return _alternatives(typing.get_args(annotation)[0])
    if origin is typing.Union or origin is types.UnionType:
        return [
            kind
            for arg in typing.get_args(annotation)
            if arg is not type(None)
            for kind in _alternatives(arg)
        ]
    return [annotation]


def _list_item(annotation: Any) -> Any:
    for kind in _alternatives(annotation):
        if typing.get_origin(kind) is list:
            return typing.get_args(kind)[0]
    return None


def _wants_text(annotation: Any) -> bool:
    if annotation is None:
        return False
    return any(
        kind in (str, Decimal, dt.date) or typing.get_origin(kind) is Literal
        for kind in _alternatives(annotation)
    )


#: A problem found after parsing: the field path it is about and what is wrong.
_Finding = tuple[FieldPath, str]


def problems_in_case(case: ClientCase, found: Sequence[tuple[FieldPath, str]]) -> list[Problem]:
    """Problems found after validation (a rule over the validated case), each given the line
    of its field by reading the case file again: only when there is something to report."""
    if not found:
        return []
    source, _ = read_yaml(case.source)
    return [
        Problem(
            case.source,
            source.line_of(path) if source else None,
            format_field_path(path),
            message,
        )
        for path, message in found
    ]


def _located(source: SourceDocument, path: FieldPath, message: str) -> Problem:
    return Problem(source.path, source.line_of(path), format_field_path(path), message)


def _check_language(case: ClientCase, defaults: FirmDefaults) -> list[_Finding]:
    """A regional locale (en-GB, de-AT, pt-BR) takes its base language's wording and
    formats dates and money by region: it needs the base language and a known region."""
    if case.language in defaults.languages:
        return []
    base, _, region = case.language.replace("_", "-").partition("-")
    if region and base.lower() in defaults.languages:
        try:
            Locale.parse(case.language.replace("-", "_"))
        except (ValueError, UnknownLocaleError):
            return [(("language",), f"'{case.language}' is not a locale Babel knows")]
        return []
    available = ", ".join(sorted(defaults.languages))
    return [(("language",), f"no page templates in '{case.language}'; available: {available}")]


def _check_dates(case: ClientCase) -> list[_Finding]:
    found: list[_Finding] = []
    if case.deletion_date < case.case.service_end:
        found.append(
            (
                ("deletion_date",),
                f"{case.deletion_date} is before service_end {case.case.service_end}",
            )
        )
    for index, document in enumerate(case.case.documents):
        if document.retain_until and document.retain_until < case.deletion_date:
            found.append(
                (
                    ("documents", index, "retain_until"),
                    f"{document.retain_until} is before the deletion date {case.deletion_date}; "
                    "a document kept longer cannot be deleted sooner",
                )
            )
        if document.available_until and document.available_until > case.deletion_date:
            found.append(
                (
                    ("documents", index, "available_until"),
                    f"{document.available_until} is after the deletion date {case.deletion_date}",
                )
            )
    return found


def _check_files(source: SourceDocument, purged: Collection[str]) -> list[_Finding]:
    """Checked on the raw data, so file problems show even when other fields are wrong.
    A file that ``handover purge`` deleted (in ``purged``) may be missing. Two documents
    may not name one file (however spelt, or through a hard link): purge and the
    inventory count each file once."""
    documents = source.data.get("documents")
    if not isinstance(documents, list):
        return []
    folder = source.path.parent
    staff = _staff_files(folder)
    found: list[_Finding] = []
    named: dict[object, int] = {}
    for index, document in enumerate(documents):
        file = document.get("file") if isinstance(document, dict) else None
        if not isinstance(file, str) or not file.strip():
            continue
        at: FieldPath = ("documents", index, "file")
        try:
            if Path(file.strip()).as_posix() in purged and not (folder / file.strip()).exists():
                continue
            if isinstance(document.get("sha256"), str) and not (folder / file.strip()).exists():
                continue  # pinned: fetched from the document store by its hash at build time
            problem = _file_problem(folder, file.strip())
            identity = None if problem else _identity(folder / file.strip())
        except (OSError, ValueError) as error:  # a name too long, a NUL byte in it
            reason = error.strerror if isinstance(error, OSError) else str(error)
            problem = f"'{file.strip()}' cannot be used as a file name: {reason}"
        if problem:
            found.append((at, problem))
            continue
        if identity in staff:
            found.append(
                (at, f"'{file.strip()}' is the case's own {staff[identity]}, for staff only")
            )
            continue
        first = named.setdefault(identity, index)
        if first != index:
            line = source.line_of(("documents", first, "file"))
            found.append(
                (
                    at,
                    f"names the same file as documents[{first}].file (line {line}); "
                    "list each file once",
                )
            )
    return found


#: Files of the case folder that belong to staff, never to the client.
STAFF_FILES = ("case.yaml", RECORD_FILE)


def _staff_files(folder: Path) -> dict[object, str]:
    """The identity of each staff file the folder has, so that no spelling, symlink or
    hard link of it can be offered as a document."""
    found = {}
    for name in STAFF_FILES:
        with contextlib.suppress(OSError):
            found[_identity(folder / name)] = name
    return found


def _file_problem(folder: Path, file: str) -> str | None:
    relative = Path(file)
    if relative.is_absolute() or file.startswith(("/", "\\")) or ":" in relative.parts[0]:
        return "must be a path inside the case folder, not an absolute path"
    resolved = (folder / relative).resolve()
    root = folder.resolve()
    if not resolved.is_relative_to(root):
        return f"'{file}' leads outside the case folder"
    parts = (*relative.parts, *resolved.relative_to(root).parts)
    if any(part.startswith(".") and part not in {".", ".."} for part in parts):
        return (
            f"'{file}' is a hidden file or lies in a hidden folder (a name starting with '.'); "
            "those are never offered to a client"
        )
    if not resolved.exists():
        return f"file '{file}' does not exist in {folder.name}/"
    if not resolved.is_file():
        return f"'{file}' is not a file"
    if resolved.parent == root and resolved.name.casefold() in STAFF_FILES:
        return f"'{file}' is the case's own {resolved.name.casefold()}, for staff only"
    return None


def _identity(path: Path) -> object:
    """The same value for two names of one file: its device and inode."""
    status = path.stat()
    return (status.st_dev, status.st_ino)


def _problem_from_pydantic(source: SourceDocument, error: Any) -> Problem:
    path: FieldPath = tuple(error["loc"])
    return _located(source, path, _message(error, path))


def _message(error: Any, path: FieldPath) -> str:
    """Pydantic's wording, rephrased for someone editing YAML by hand."""
    kind, context = error["type"], error.get("ctx") or {}
    if kind == "missing":
        return "is required but missing"
    if kind == "extra_forbidden":
        return _unknown_key_message(path)
    if kind == "literal_error":
        expected = str(context.get("expected", "")).replace("'", "").replace(" or ", ", ")
        return f"must be one of {expected} (got {error['input']!r})"
    if kind in {"string_type", "int_type", "int_parsing", "float_type", "float_parsing"}:
        wanted = {"string_type": "text", "float_type": "a number", "float_parsing": "a number"}
        return f"must be {wanted.get(kind, 'a whole number')} (got {_describe(error['input'])})"
    if kind in {"list_type", "model_type", "dict_type", "model_attributes_type"}:
        shape = "list" if kind == "list_type" else "mapping"
        return f"must be a {shape} (got {_describe(error['input'])})"
    if kind in {"bool_type", "bool_parsing"}:  # strict: yes, on, "true" are not booleans
        return f"must be true or false (got {_describe(error['input'])})"
    if kind == "iso_date":
        return f"{error['msg']} (got {_describe(error['input'])})"
    if kind == "string_too_short":
        return "must not be empty"
    if kind == "string_too_long":
        limit = context.get("max_length")
        return f"is too long ({len(str(error['input'])):,} characters); at most {limit:,}"
    if kind == "finite_number":
        return f"must be a finite number (got {_describe(error['input'])})"
    if kind in {"decimal_parsing", "decimal_type"}:
        written = core_value(error["input"]) if isinstance(error["input"], str) else None
        if isinstance(written, float) and not math.isfinite(written):  # .inf, .nan
            return f"must be a finite number (got {_describe(error['input'])})"
        return f"must be a number such as 1250.50 (got {_describe(error['input'])})"
    if kind == "decimal_max_places":
        return f"must have at most {context.get('decimal_places')} decimal places"
    if kind in {"decimal_max_digits", "decimal_whole_digits"}:
        return f"has too many digits (got {_describe(error['input'])})"
    if kind == "string_pattern_mismatch":
        return _pattern_message(path)
    if kind in {"greater_than_equal", "less_than_equal"}:
        bounds = (
            "at least {ge}".format(**context)
            if "ge" in context
            else "at most {le}".format(**context)
        )
        if path == ("retention_days",):
            bounds = "between 0 and 3650"
        return f"must be {bounds} (got {error['input']!r})"
    return str(error["msg"])


def _pattern_message(path: FieldPath) -> str:
    if "email" in path:
        return "is not a valid e-mail address"
    if "currency" in path:
        return "must be a three-letter ISO 4217 code such as EUR, USD, CZK"
    if "sha256" in path:
        return "must be the file's SHA-256: 64 hexadecimal digits (handover add-document writes it)"
    return "is not a valid web address (https://…)"


def _unknown_key_message(path: FieldPath) -> str:
    model = _model_at(path[:-1])
    key = str(path[-1])
    if model is None:
        return "unknown field"
    allowed = list(model.model_fields)
    close = difflib.get_close_matches(key, allowed, n=1)
    hint = f"did you mean '{close[0]}'? " if close else ""
    return f"unknown field; {hint}allowed here: {', '.join(allowed)}"


def _model_at(path: FieldPath) -> type[BaseModel] | None:
    """The model class that describes the mapping at ``path``."""
    model: type[BaseModel] = Case
    for part in path:
        if isinstance(part, int):
            continue
        field = model.model_fields.get(part)
        if field is None:
            return None
        inner = _model_in(field.annotation)
        if inner is None:
            return None
        model = inner
    return model


def _model_in(annotation: Any) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in getattr(annotation, "__args__", ()):
        found = _model_in(arg)
        if found is not None:
            return found
    return None


def _describe(value: Any) -> str:
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    if value is None:
        return "nothing"
    return repr(value)

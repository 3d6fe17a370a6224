"""The deletion record a case keeps: what ``handover purge`` deleted, when, and by whom.

It lives beside the case as ``deletion-record.yaml``, is appended to and never rewritten,
and is committed with the case, so the firm can show what it deleted long after the
files are gone. The page's deletion certificate is made from it.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Annotated

import yaml
from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError

from handover.files import FileFacts
from handover.loading import read_yaml
from handover.model import IsoDate
from handover.problems import Problem, format_field_path

RECORD_FILE = "deletion-record.yaml"
RECORD_HEADER = (
    "# Written by `handover purge`: what was deleted from this case, when and by whom.\n"
    "# Append-only; the client's deletion certificate is made from it. Do not edit.\n"
)


class Deletion(BaseModel):
    """One file deleted from a case folder."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    file: str = Field(description="Path of the file, relative to the case folder.")
    title: str = Field(description="The document's title on the page.")
    size: Annotated[int, Field(ge=0)] = Field(description="Size in bytes.")
    sha256: Annotated[str, Field(pattern=r"^[0-9a-f]{64}$")] = Field(
        description="SHA-256 of the deleted file."
    )
    deleted_on: IsoDate = Field(description="Day of deletion.")
    deleted_by: str = Field(description="Who ran the purge (git author).")

    @property
    def facts(self) -> FileFacts:
        return FileFacts(self.size, self.sha256)


_RECORD = TypeAdapter(list[Deletion])


def read_record(folder: Path) -> tuple[list[Deletion], list[Problem]]:
    """The case's deletions (none when it has no record), or the problems in the record."""
    path = folder / RECORD_FILE
    if not path.exists():
        return [], []
    source, problems = read_yaml(path)
    if source is None or problems:
        return [], problems
    try:
        return _RECORD.validate_python(source.data or []), []
    except ValidationError as error:
        return [], [
            Problem(
                path,
                source.line_of(tuple(item["loc"])),
                format_field_path(tuple(item["loc"])),
                str(item["msg"]),
            )
            for item in error.errors()
        ]


def append_record(folder: Path, deletions: list[Deletion]) -> None:
    """Add ``deletions`` at the end of the record; earlier entries are left byte for byte."""
    path = folder / RECORD_FILE
    rows = [deletion.model_dump(mode="json") for deletion in deletions]
    text = yaml.safe_dump(rows, allow_unicode=True, sort_keys=False, default_flow_style=False)
    with path.open("a", encoding="utf-8") as record:
        if record.tell() == 0:
            record.write(RECORD_HEADER)
        record.write(text)


def deleted_files(deletions: list[Deletion]) -> dict[str, Deletion]:
    """The latest deletion of each file path."""
    return {deletion.file: deletion for deletion in deletions}


def last_deletion_day(deletions: list[Deletion]) -> dt.date | None:
    return max((deletion.deleted_on for deletion in deletions), default=None)

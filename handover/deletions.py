"""The deletion record a case keeps: what ``handover purge`` deleted, from where, when, by whom.

It lives beside the case as ``deletion-record.yaml`` and is committed with the case, so
the firm can show what it deleted long after the files are gone. The page's deletion
wording and the signed certificate are made from it, never from the calendar.

Two lists: ``deleted`` (one entry per file, with its hash) and ``purges`` (one entry per
purge run: each place the tool removed copies from, with the day, and what it could not
remove). The record is never edited as text: it is read, validated, extended and written
back whole to a temporary file that then replaces it (one rename), so an interrupted purge
leaves either the old record or the new one, and a record without a final newline can
never have an entry glued onto its last line. Records written before purge runs were
kept (a bare list of files) are still read.
"""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError

from handover.files import FileFacts
from handover.loading import read_yaml
from handover.model import IsoDate
from handover.problems import Problem, format_field_path

RECORD_FILE = "deletion-record.yaml"
RECORD_HEADER = (
    "# Written by `handover purge`: what was deleted from this case, from where, when and by\n"
    "# whom. Entries are only ever added; the client's page and deletion certificate are made\n"
    "# from it. Do not edit.\n"
)

#: Every place a copy of a client's data can be that the tool knows of, in the order the
#: certificate lists them. ``published-site`` is filled in by publishing's verify step
#: (not written yet: until then the certificate says it was not checked by the tool).
Place = Literal[
    "case-folder", "document-store", "build-caches", "repository-history", "published-site"
]
PLACES: tuple[Place, ...] = (
    "case-folder",
    "document-store",
    "build-caches",
    "repository-history",
    "published-site",
)


class Deletion(BaseModel):
    """One file deleted from a case."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    file: str = Field(description="Path of the file, relative to the case folder.")
    title: str = Field(description="The document's title on the page (or the file's name).")
    size: Annotated[int, Field(ge=0)] = Field(description="Size in bytes.")
    sha256: Annotated[str, Field(pattern=r"^[0-9a-f]{64}$")] = Field(
        description="SHA-256 of the deleted file."
    )
    deleted_on: IsoDate = Field(description="Day of deletion.")
    deleted_by: str = Field(description="Who ran the purge (git author).")
    git_blob: Annotated[str, Field(pattern=r"^[0-9a-f]{40}$")] | None = Field(
        None, description="The file's git object id, so later checks can find it in history."
    )

    @property
    def facts(self) -> FileFacts:
        return FileFacts(self.size, self.sha256)


class PurgeRun(BaseModel):
    """One run of ``handover purge`` on a case whose deletion day had come."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    on: IsoDate = Field(description="Day of the run.")
    by: str = Field(description="Who ran it.")
    places: dict[Place, IsoDate] = Field(
        default_factory=dict,
        description="Each place the run removed the case's copies from (or found none), "
        "with the day; a place missing here was not done or could not be confirmed.",
    )
    not_removed: list[str] = Field(
        default_factory=list, description="What the run could not remove, and why."
    )


class DeletionRecord(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    deleted: tuple[Deletion, ...] = ()
    purges: tuple[PurgeRun, ...] = ()

    def with_deletion(self, deletion: Deletion) -> DeletionRecord:
        """Add ``deletion``; a file deleted again with the same bytes (a purge resumed after
        an interrupt) replaces its earlier entry instead of being listed twice."""
        kept = [d for d in self.deleted if (d.file, d.sha256) != (deletion.file, deletion.sha256)]
        return self.model_copy(update={"deleted": (*kept, deletion)})

    def with_run(self, run: PurgeRun) -> DeletionRecord:
        return self.model_copy(update={"purges": (*self.purges, run)})

    def place_days(self) -> dict[Place, dt.date]:
        """The latest day each place was cleared; repository history only as the last run
        found it (a later commit can put a file back)."""
        days: dict[Place, dt.date] = {}
        for run in self.purges:
            for place, day in run.places.items():
                if place != "repository-history":
                    days[place] = max(day, days.get(place, day))
        if self.purges and "repository-history" in self.purges[-1].places:
            days["repository-history"] = self.purges[-1].places["repository-history"]
        return {place: days[place] for place in PLACES if place in days}

    def unconfirmed(self) -> list[Place]:
        """Places the last run could not clear (its ``not_removed`` names them)."""
        last = self.purges[-1] if self.purges else None
        return [
            place
            for place in PLACES
            if last and any(note.startswith(f"{place}:") for note in last.not_removed)
        ]

    @property
    def purged_on(self) -> dt.date | None:
        """The day of the last purge run, or of the last deletion in an old record."""
        days = [run.on for run in self.purges] + [d.deleted_on for d in self.deleted]
        return max(days, default=None)


_RECORD = TypeAdapter(DeletionRecord)


def read_deletion_record(folder: Path) -> tuple[DeletionRecord, list[Problem]]:
    """The case's record (empty when it has none), or the problems in it, with lines."""
    path = folder / RECORD_FILE
    if not path.exists():
        return DeletionRecord(), []
    source, problems = read_yaml(path)
    if source is None or problems:
        return DeletionRecord(), problems
    data: Any = source.data
    legacy = isinstance(data, list)
    if legacy:
        data = {"deleted": data}
    try:
        record = _RECORD.validate_python(data or {})
    except ValidationError as error:
        return DeletionRecord(), [
            Problem(
                path,
                source.line_of(loc := tuple(item["loc"])[1:] if legacy else tuple(item["loc"])),
                format_field_path(loc),
                str(item["msg"]),
            )
            for item in error.errors()
        ]
    if legacy and record.deleted:
        record = _as_runs(record)
    return record, []


def _as_runs(record: DeletionRecord) -> DeletionRecord:
    """An old record (files only): each day files were deleted becomes a run that removed
    them from the case folder, which is all such a purge did."""
    runs = {}
    for deletion in record.deleted:
        runs[deletion.deleted_on] = PurgeRun(
            on=deletion.deleted_on,
            by=deletion.deleted_by,
            places={"case-folder": deletion.deleted_on},
        )
    return record.model_copy(update={"purges": tuple(runs[day] for day in sorted(runs))})


def read_record(folder: Path) -> tuple[list[Deletion], list[Problem]]:
    """The case's deletions (none when it has no record), or the problems in the record."""
    record, problems = read_deletion_record(folder)
    return list(record.deleted), problems


def write_record(folder: Path, record: DeletionRecord) -> None:
    """Write the whole record to a temporary file, flush it to disk, then rename it over the
    old one: the record on disk is always complete, old or new."""
    path = folder / RECORD_FILE
    data = record.model_dump(mode="json")
    text = RECORD_HEADER + yaml.safe_dump(
        data, allow_unicode=True, sort_keys=False, default_flow_style=False
    )
    temporary = path.with_name(f".{RECORD_FILE}.tmp")
    with temporary.open("w", encoding="utf-8") as stream:
        stream.write(text)
        stream.flush()
        os.fsync(stream.fileno())
    temporary.replace(path)


def deleted_files(deletions: list[Deletion]) -> dict[str, Deletion]:
    """The latest deletion of each file path."""
    return {deletion.file: deletion for deletion in deletions}


def last_deletion_day(deletions: list[Deletion]) -> dt.date | None:
    return max((deletion.deleted_on for deletion in deletions), default=None)


def mark_cleared(folder: Path, place: Place, day: dt.date) -> DeletionRecord:
    """Add ``place`` to the case's last purge run as cleared on ``day``: the seam for steps
    outside ``handover purge`` (publishing's verify will record ``published-site`` here once
    it has checked the host). Returns the record as written."""
    record, problems = read_deletion_record(folder)
    if problems or not record.purges:
        raise ValueError(f"{folder / RECORD_FILE}: no purge run to add {place} to")
    last = record.purges[-1]
    notes = [note for note in last.not_removed if not note.startswith(f"{place}:")]
    updated = last.model_copy(update={"places": {**last.places, place: day}, "not_removed": notes})
    record = record.model_copy(update={"purges": (*record.purges[:-1], updated)})
    write_record(folder, record)
    return record

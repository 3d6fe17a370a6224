"""``handover purge``: delete client files from ``cases/`` once their deletion day has come.

A file is due on the case's deletion date (the day the page promises every copy is
deleted), or for a document kept for a legal reason, the day after its ``retain_until``
(the last day it must be kept); never while the case is under legal hold. Every deletion
is hashed first and appended to the case's deletion record, so the firm can prove later
what it deleted.
"""

from __future__ import annotations

import datetime as dt
import getpass
import os
import subprocess
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from handover.deletions import Deletion, append_record
from handover.files import file_facts
from handover.model import Document
from handover.validation import ClientCase


@dataclass(frozen=True)
class DueFile:
    """A file that the purge deletes (or, in a dry run, would delete)."""

    case: ClientCase
    document: Document
    path: Path

    @property
    def relative(self) -> str:
        return Path(self.document.file or "").as_posix()


def deletion_day(case: ClientCase, document: Document) -> dt.date | None:
    """The day this file is deleted; None while a legal hold stops deletion."""
    if case.case.legal_hold:
        return None
    if document.retain_until:
        return document.retain_until + dt.timedelta(days=1)
    return case.deletion_date


def due_files(cases: Iterable[ClientCase], today: dt.date) -> list[DueFile]:
    """Every file still in a case folder whose deletion day has come."""
    found = []
    for case in cases:
        for document in case.case.documents:
            path = case.document_path(document)
            day = deletion_day(case, document)
            if path and path.is_file() and day is not None and day <= today:
                found.append(DueFile(case, document, path))
    return found


def purge(
    due: list[DueFile],
    today: dt.date,
    deleted_by: str,
    advance: Callable[[], None] = lambda: None,
) -> list[Deletion]:
    """Hash, record and delete each due file; the record is written before the file goes."""
    deletions = []
    for item in due:
        facts = file_facts(item.path)
        deletion = Deletion(
            file=item.relative,
            title=item.document.title,
            size=facts.size,
            sha256=facts.sha256,
            deleted_on=today,
            deleted_by=deleted_by,
        )
        append_record(item.case.folder, [deletion])
        item.path.unlink()
        deletions.append(deletion)
        advance()
    return deletions


def current_author(folder: Path) -> str:
    """Who is deleting: the git author where git knows one (as on commits), else the OS user."""
    name = os.environ.get("GIT_AUTHOR_NAME") or _git_config(folder, "user.name")
    email = os.environ.get("GIT_AUTHOR_EMAIL") or _git_config(folder, "user.email")
    if name:
        return f"{name} <{email}>" if email else name
    return getpass.getuser()


def _git_config(folder: Path, key: str) -> str | None:
    try:
        result = subprocess.run(
            ["git", "config", key], cwd=folder, capture_output=True, text=True, check=False
        )
    except OSError:
        return None
    return result.stdout.strip() or None

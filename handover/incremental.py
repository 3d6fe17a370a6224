"""What changed since the last build, so that a rebuild only builds the pages that changed.

A client's page depends on their case folder, on what every page shares (templates,
``mkdocs.yml``, the tool itself, the master secret), and on the build day only where the
day passes one of the case's own dates (``rendering.next_change``): each page's record
says until when it holds, so a build on a new day rebuilds only the pages whose day came.

A case folder is recognised by its content (``content_fingerprint``), read again only
when its stamps (names, sizes, modification and change times, inodes) differ from those
recorded: a directory walk in the usual rebuild, the bytes in a fresh checkout, which
renews every stamp. Templates and the tool are read by content. The shared part also
names the version of every library that shapes a page, so an upgrade rebuilds every
page. When the shared part is unchanged, a case whose folder is unchanged and whose day
has not come keeps its page from the previous site.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import hashlib
import os
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

import handover
from handover.caching import (
    STATE_FILE,
    VALIDATED_CACHE,
    read_json,
    read_signed_json,
    sha256_of,
    write_json,
    write_signed_json,
)
from handover.deletions import Deletion, PurgeRun
from handover.files import FactsCache
from handover.model import Case
from handover.validation import ClientCase

if TYPE_CHECKING:
    from handover.preparing import Earlier

__all__ = ["STATE_FILE", "VALIDATED_CACHE"]

#: Every distribution whose version can change the bytes of a page.
OUTPUT_LIBRARIES = (
    "mkdocs",
    "mkdocs-material",
    "pymdown-extensions",
    "markdown",
    "jinja2",
    "babel",
    "cryptography",
    "nh3",
    "icalendar",
    "pydantic",
)


def _files(
    folder: Path, skip: frozenset[str] = frozenset()
) -> Iterator[tuple[str, os.DirEntry[str]]]:
    """Every file below ``folder`` (links not followed) by relative path, in a fixed order,
    but for the folders named in ``skip``. Plain strings and ``os.scandir``: a rebuild runs
    this over every case folder."""
    pending = [("", str(folder))]
    while pending:
        relative, directory = pending.pop()
        with os.scandir(directory) as entries:
            for entry in sorted(entries, key=lambda e: e.name):
                name = f"{relative}{entry.name}"
                if entry.is_dir(follow_symlinks=False):
                    if entry.name not in skip:
                        pending.append((f"{name}/", entry.path))
                    continue
                yield name, entry


def folder_fingerprint(folder: Path, skip: frozenset[str] = frozenset()) -> str:
    """Every file below ``folder`` by relative path, size, mtime, ctime and inode: a stat per
    file, no reading. Any copy or checkout changes it; ``content_fingerprint`` does not."""
    digest = hashlib.sha256()
    for name, entry in _files(folder, skip):
        stat = entry.stat(follow_symlinks=False)
        digest.update(
            f"{name}\0{stat.st_size}\0{stat.st_mtime_ns}\0{stat.st_ctime_ns}\0"
            f"{stat.st_ino}\n".encode()
        )
    return digest.hexdigest()


def content_fingerprint(
    folder: Path, facts: FactsCache | None = None, skip: frozenset[str] = frozenset()
) -> str:
    """Every file below ``folder`` by relative path and the SHA-256 of its bytes (a link by
    its target): the same in a fresh checkout, where every stamp is new. This is what
    makes a CI build, which restores the caches and the site into a new clone each day,
    incremental. ``facts`` spares reading files whose stamp it knows."""
    digest = hashlib.sha256()
    for name, entry in _files(folder, skip):
        path = Path(entry.path)
        if entry.is_symlink():
            what = "link:" + os.readlink(path)
        elif facts is not None:
            what = facts.facts(path).sha256
        else:
            what = hashlib.sha256(path.read_bytes()).hexdigest()
        digest.update(f"{name}\0{what}\n".encode())
    return digest.hexdigest()


def code_fingerprint() -> str:
    """The tool's own source: a new version may validate or render differently. Compiled
    bytecode is not source: Python writes it when it likes, and it must not rebuild pages.
    By content: CI installs the same version afresh every day."""
    return _code_fingerprint(Path(handover.__file__).parent)


@functools.cache
def _code_fingerprint(package: Path) -> str:
    return content_fingerprint(package, skip=frozenset({"__pycache__"}))


def library_versions() -> dict[str, str]:
    """The installed version of each library that shapes the output, and Python's."""
    versions = {"python": f"{sys.version_info.major}.{sys.version_info.minor}"}
    for name in OUTPUT_LIBRARIES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "absent"
    return versions


def shared_fingerprint(
    config_file: Path, resolved: bytes, templates_dir: Path, secret_check: bytes
) -> str:
    """What every page depends on besides ``library_versions()`` (recorded beside it, so that
    ``last-build.json`` says which upgrade rebuilt everything); when it changes, every page
    is built again. ``resolved``: the settings as MkDocs resolved them, which the file's
    own bytes miss (a parent it ``INHERIT``s, ``!ENV`` values)."""
    digest = hashlib.sha256()
    digest.update(config_file.read_bytes())
    digest.update(resolved)
    digest.update(secret_check)
    if templates_dir.is_dir():
        digest.update(content_fingerprint(templates_dir).encode())
    digest.update(code_fingerprint().encode())
    return digest.hexdigest()


#: What the build state records of each page (``BuildState.cases``).
PAGE_RECORD = ("fingerprint", "content", "slug", "since", "until", "page", "index", "made", "html")


@dataclass
class BuildState:
    """The last successful build: its shared fingerprint and each case's folder and page."""

    shared: str = ""
    #: The site folder it was built into.
    site: str = ""
    #: Case folder (absolute) -> ``PAGE_RECORD`` fields: the folder's ``folder_fingerprint``
    #: (stamps) and ``content_fingerprint`` (bytes); the day the page was built for and the
    #: first day it may read differently (ISO dates; "until" is "" if no later day changes
    #: it; a build for a day outside those two, ``--today`` in the past too, builds the page
    #: again); the ``page_digest`` of the page folder as published, with its ``index.html``'s
    #: ``index_stamp`` and SHA-256; and the day its content was made, with its
    #: ``preparing.content_digest``.
    cases: dict[str, dict[str, str]] = field(default_factory=dict)
    #: ``library_versions()`` of the build.
    versions: dict[str, str] = field(default_factory=dict)
    #: A name for this build, unique: the spare beside the site says which build it mirrors.
    generation: str = ""

    @classmethod
    def load(cls, path: Path, key: bytes) -> BuildState:
        """The recorded state; an empty one (rebuild everything) if missing, damaged or not
        signed with ``key``. Signed, because it decides which pages of the site on disk are
        published again: the site and the cache may come from a shared CI cache."""
        data = read_signed_json(path, key)
        if not isinstance(data, dict):
            return cls()
        try:
            return cls(
                str(data["shared"]),
                str(data["site"]),
                {
                    str(k): {name: str(v[name]) for name in PAGE_RECORD}
                    for k, v in data["cases"].items()
                },
                {str(k): str(v) for k, v in data["versions"].items()},
                str(data.get("generation", "")),
            )
        except (KeyError, TypeError, AttributeError):
            return cls()

    def save(self, path: Path, key: bytes) -> None:
        state = {
            "shared": self.shared,
            "site": self.site,
            "cases": self.cases,
            "versions": self.versions,
            "generation": self.generation,
        }
        write_signed_json(path, state, key)

    def contents(self, stamps: dict[Path, str], facts: FactsCache) -> dict[Path, str]:
        """Each case folder's ``content_fingerprint``: as recorded while its stamps are
        unchanged (no file read), computed again otherwise (a fresh checkout, an edit)."""
        found = {}
        for folder, stamp in stamps.items():
            entry = self.cases.get(str(folder), {})
            if entry.get("fingerprint") == stamp and entry.get("content"):
                found[folder] = entry["content"]
            else:
                found[folder] = content_fingerprint(folder, facts)
        return found

    def earlier_pages(self, contents: dict[Path, str]) -> dict[Path, Earlier]:
        """The page each case folder had when its content was the same as now: a page built
        again (its day came, a template changed) that reads the same keeps its day."""
        from handover.preparing import Earlier

        found = {}
        for folder, content in contents.items():
            entry = self.cases.get(str(folder))
            if entry is not None and entry["content"] == content:
                with contextlib.suppress(ValueError):
                    made = dt.date.fromisoformat(entry["made"])
                    found[folder] = Earlier(made, entry["html"])
        return found

    def unchanged_page(self, folder: Path, content: str, site: Path, today: dt.date) -> str | None:
        """The page folder (slug) that can be kept for ``folder``, if nothing it shows
        changed: the same bytes in the case folder, and no date of the case reached by
        ``today``."""
        entry = self.cases.get(str(folder))
        if entry is None or entry.get("content") != content:
            return None
        if not _holds_on(entry, today):
            return None
        slug = entry.get("slug", "")
        index = site / slug / "index.html"
        if not slug or not index.is_file():
            return None
        stamp, _, sha256 = entry.get("index", "").rpartition(" ")
        if stamp != index_stamp(index):  # a new file (a restored site): read it
            sha256 = sha256_of(index)
        return slug if page_digest(site / slug, sha256) == entry.get("page") else None


def index_stamp(index: Path) -> str:
    """A page file's inode, size and modification time: while they are those recorded when
    this tool wrote it, it is that file (a site restored from a cache has new inodes)."""
    stat = index.stat()
    return f"{stat.st_ino}:{stat.st_size}:{stat.st_mtime_ns}"


def tree_digest(path: Path) -> str:
    """A published file or folder by its bytes (a folder: ``content_fingerprint``)."""
    return content_fingerprint(path) if path.is_dir() else sha256_of(path)


def page_digest(page: Path, index_sha256: str | None = None) -> str:
    """A published page folder: every file in it by relative path and size, and the SHA-256
    of its ``index.html``. A page is kept only while it is exactly what this tool wrote, so
    nothing planted in a site restored from a shared cache is published again (its
    encrypted files are AEAD-sealed under the client's key: one swapped for other bytes of
    the same size cannot decrypt, and the browser says so)."""
    digest = hashlib.sha256()
    for name, entry in _files(page):
        digest.update(f"{name}\0{entry.stat(follow_symlinks=False).st_size}\n".encode())
    digest.update((index_sha256 or sha256_of(page / "index.html")).encode())
    return digest.hexdigest()


def _holds_on(entry: dict[str, str], today: dt.date) -> bool:
    """Whether a page recorded as built for ``entry["since"]`` reads the same on ``today``."""
    try:
        since = dt.date.fromisoformat(entry["since"])
        until = dt.date.fromisoformat(entry["until"]) if entry["until"] else None
    except (KeyError, ValueError):
        return False
    return since <= today and (until is None or today < until)


def validated_entry(cache: Path, case_folder: Path) -> Path:
    """The file in ``cache`` that holds ``case_folder``'s validated case (purge removes it)."""
    name = hashlib.sha256(str(case_folder).encode()).hexdigest()[:32]
    return cache / f"{name}.json"


class ValidatedCases:
    """Cases that validated before, kept while their folder and the rules are unchanged.

    Validation reads and checks every field and file of a case (a few milliseconds
    each); a build that renders every page again, because the day or a template changed,
    need not validate a thousand unchanged cases again. One file per case, so a rebuild
    reads and writes only the cases it touches. A local cache, written by us only.
    """

    def __init__(self, folder: Path, fingerprints: dict[Path, str], rules: str) -> None:
        self.folder = folder
        self.fingerprints = fingerprints
        self.rules = rules

    def _file(self, case_folder: Path) -> Path:
        return validated_entry(self.folder, case_folder)

    def get(self, case_folder: Path) -> ClientCase | None:
        """The case as validated before, if the entry is intact and still applies."""
        entry = read_json(self._file(case_folder))
        if not isinstance(entry, dict):
            return None
        if (entry.get("rules"), entry.get("fingerprint")) != (
            self.rules,
            self.fingerprints.get(case_folder),
        ):
            return None
        try:
            return _case_from_json(entry["case"], case_folder)
        except (KeyError, TypeError, ValueError, ValidationError):
            return None

    def put(self, case_folder: Path, case: ClientCase) -> None:
        entry = {
            "rules": self.rules,
            "fingerprint": self.fingerprints.get(case_folder),
            "case": _case_as_json(case),
        }
        write_json(self._file(case_folder), entry)

    def forget_others(self) -> None:
        """Drop the entries of case folders that are gone."""
        current = {self._file(folder).name for folder in self.fingerprints}
        for path in self.folder.iterdir() if self.folder.is_dir() else []:
            if path.name not in current:
                path.unlink(missing_ok=True)


def _case_as_json(case: ClientCase) -> dict[str, Any]:
    return {
        "id": case.id,
        "case": case.case.model_dump(mode="json"),
        "language": case.language,
        "deletion_date": case.deletion_date.isoformat(),
        "access": case.access,
        "deletions": [d.model_dump(mode="json") for d in case.deletions],
        "purges": [p.model_dump(mode="json") for p in case.purges],
        "name_line": case.name_line,
        "warnings": list(case.warnings),
        "days": [day.isoformat() for day in case.days],
    }


def _case_from_json(data: dict[str, Any], folder: Path) -> ClientCase:
    """Validated data, read back through the model (never an executable format)."""
    return ClientCase(
        id=str(data["id"]),
        folder=folder,
        case=Case.model_validate(data["case"]),
        language=str(data["language"]),
        deletion_date=dt.date.fromisoformat(data["deletion_date"]),
        access=data["access"],
        deletions=tuple(Deletion.model_validate(d) for d in data["deletions"]),
        purges=tuple(PurgeRun.model_validate(p) for p in data["purges"]),
        name_line=data["name_line"] if isinstance(data["name_line"], int) else None,
        warnings=tuple(str(warning) for warning in data["warnings"]),
        days=tuple(dt.date.fromisoformat(day) for day in data["days"]),
    )

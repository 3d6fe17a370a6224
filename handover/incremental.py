"""What changed since the last build, so that a rebuild only builds the pages that changed.

A client's page depends on their case folder, on what every page shares (templates,
``mkdocs.yml``, the tool itself, the master secret, the build day) and on nothing
else. Both are summed up as fingerprints of file names, sizes and modification times,
which costs a directory walk instead of reading every file. When the shared part is
unchanged, a case whose folder is unchanged keeps its page from the previous site.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import pickle
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import handover
from handover.validation import ClientCase

STATE_FILE = Path(".handover") / "cache" / "last-build.json"
VALIDATED_CACHE = Path(".handover") / "cache" / "validated"


def folder_fingerprint(folder: Path) -> str:
    """Every file below ``folder`` by relative path, size and mtime (links not followed).

    Plain strings and ``os.scandir``: a rebuild runs this over every case folder."""
    digest = hashlib.sha256()
    pending = [("", str(folder))]
    while pending:
        relative, directory = pending.pop()
        with os.scandir(directory) as entries:
            for entry in sorted(entries, key=lambda e: e.name):
                name = f"{relative}{entry.name}"
                if entry.is_dir(follow_symlinks=False):
                    pending.append((f"{name}/", entry.path))
                    continue
                stat = entry.stat(follow_symlinks=False)
                digest.update(f"{name}\0{stat.st_size}\0{stat.st_mtime_ns}\n".encode())
    return digest.hexdigest()


def code_fingerprint() -> str:
    """The tool's own source: a new version may validate or render differently."""
    return folder_fingerprint(Path(handover.__file__).parent)


def shared_fingerprint(
    config_file: Path, templates_dir: Path, secret_check: bytes, today: dt.date
) -> str:
    """What every page depends on; when it changes, every page is built again."""
    digest = hashlib.sha256()
    digest.update(config_file.read_bytes())
    digest.update(secret_check)
    digest.update(today.isoformat().encode())
    digest.update(folder_fingerprint(templates_dir).encode())
    digest.update(code_fingerprint().encode())
    return digest.hexdigest()


@dataclass
class BuildState:
    """The last successful build: its shared fingerprint and each case's folder and page."""

    shared: str = ""
    #: The site folder it was built into.
    site: str = ""
    #: Case folder (absolute) -> {"fingerprint": …, "slug": …}
    cases: dict[str, dict[str, str]] = field(default_factory=dict)

    @classmethod
    def load(cls, path: Path) -> BuildState:
        try:
            data = json.loads(path.read_text())
            return cls(str(data["shared"]), str(data["site"]), dict(data["cases"]))
        except (OSError, ValueError, KeyError, TypeError):
            return cls()

    def save(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_suffix(".tmp")
        state = {"shared": self.shared, "site": self.site, "cases": self.cases}
        temporary.write_text(json.dumps(state))
        temporary.replace(path)

    def unchanged_page(self, folder: Path, fingerprint: str, site: Path) -> str | None:
        """The page folder (slug) that can be kept for ``folder``, if nothing it shows changed."""
        entry = self.cases.get(str(folder))
        if entry is None or entry.get("fingerprint") != fingerprint:
            return None
        slug = entry.get("slug", "")
        return slug if slug and (site / slug / "index.html").is_file() else None


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
        name = hashlib.sha256(str(case_folder).encode()).hexdigest()[:32]
        return self.folder / f"{name}.pickle"

    def get(self, case_folder: Path) -> ClientCase | None:
        try:
            with self._file(case_folder).open("rb") as stream:
                rules, fingerprint, case = pickle.load(stream)
        except (OSError, ValueError, EOFError, pickle.UnpicklingError, AttributeError, TypeError):
            return None
        if (rules, fingerprint) != (self.rules, self.fingerprints.get(case_folder)):
            return None
        return case if isinstance(case, ClientCase) else None

    def put(self, case_folder: Path, case: ClientCase) -> None:
        entry = (self.rules, self.fingerprints.get(case_folder), case)
        self.folder.mkdir(parents=True, exist_ok=True)
        temporary = self._file(case_folder).with_suffix(".tmp")
        with temporary.open("wb") as stream:
            pickle.dump(entry, stream, protocol=pickle.HIGHEST_PROTOCOL)
        temporary.replace(self._file(case_folder))

    def forget_others(self) -> None:
        """Drop the entries of case folders that are gone."""
        current = {self._file(folder).name for folder in self.fingerprints}
        for path in self.folder.glob("*.pickle") if self.folder.is_dir() else []:
            if path.name not in current:
                path.unlink(missing_ok=True)


def move_pages(slugs: Iterable[str], old_site: Path, new_site: Path) -> None:
    """Move kept page folders from the old site into the new one: one rename each, no
    file copied. If any move fails, the ones done are moved back, so the old site is
    whole again before the error goes on."""
    moved: list[str] = []
    try:
        for slug in slugs:
            os.rename(old_site / slug, new_site / slug)
            moved.append(slug)
    except OSError:
        for slug in reversed(moved):
            os.rename(new_site / slug, old_site / slug)
        raise

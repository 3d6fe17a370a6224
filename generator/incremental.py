"""What changed since the last build, so that a rebuild only builds the pages that changed.

A client's page depends on their case folder, on what every page shares (templates,
``mkdocs.yml``, the generator itself, the master secret, the build day) and on nothing
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
import shutil
from dataclasses import dataclass, field
from pathlib import Path

import generator
from generator.validation import ClientCase

STATE_FILE = Path(".handover") / "cache" / "last-build.json"
VALIDATED_FILE = Path(".handover") / "cache" / "validated-cases.pickle"


def folder_fingerprint(folder: Path) -> str:
    """Every file below ``folder`` by relative path, size and mtime (links not followed)."""
    digest = hashlib.sha256()
    for directory, subfolders, names in os.walk(folder):
        subfolders.sort()
        for name in sorted(names):
            path = Path(directory, name)
            stat = path.lstat()
            relative = path.relative_to(folder).as_posix()
            digest.update(f"{relative}\0{stat.st_size}\0{stat.st_mtime_ns}\n".encode())
    return digest.hexdigest()


def code_fingerprint() -> str:
    """The generator's own source: a new version may validate or render differently."""
    return folder_fingerprint(Path(generator.__file__).parent)


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
    need not validate a thousand unchanged cases again. Local cache, written by us only.
    """

    def __init__(self, path: Path, fingerprints: dict[Path, str], rules: str) -> None:
        self.path = path
        self.fingerprints = fingerprints
        self.rules = rules
        self.changed = False
        self.entries: dict[str, tuple[str, ClientCase]] = {}
        try:
            with path.open("rb") as stream:
                stored_rules, entries = pickle.load(stream)
            if stored_rules == rules:
                self.entries = entries
        except (OSError, ValueError, EOFError, pickle.UnpicklingError, AttributeError, TypeError):
            self.entries = {}

    def get(self, folder: Path) -> ClientCase | None:
        entry = self.entries.get(str(folder))
        if entry is None or entry[0] != self.fingerprints.get(folder):
            return None
        return entry[1]

    def put(self, folder: Path, case: ClientCase) -> None:
        fingerprint = self.fingerprints.get(folder)
        if fingerprint is not None:
            self.entries[str(folder)] = (fingerprint, case)
            self.changed = True

    def save(self) -> None:
        """Keep the cases of this build only, so removed folders drop out."""
        kept = {k: v for k, v in self.entries.items() if Path(k) in self.fingerprints}
        if not self.changed and kept == self.entries:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        temporary = self.path.with_suffix(".tmp")
        with temporary.open("wb") as stream:
            pickle.dump((self.rules, kept), stream, protocol=pickle.HIGHEST_PROTOCOL)
        temporary.replace(self.path)


def link_tree(source: Path, target: Path) -> None:
    """Recreate ``source`` at ``target`` with hard links: no bytes copied, old site untouched."""
    for directory, _, names in os.walk(source):
        destination = target / Path(directory).relative_to(source)
        destination.mkdir(parents=True, exist_ok=True)
        for name in names:
            try:
                os.link(Path(directory, name), destination / name)
            except OSError:  # links not allowed here: copy instead
                shutil.copy2(Path(directory, name), destination / name)

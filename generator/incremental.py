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
import shutil
from dataclasses import dataclass, field
from pathlib import Path

import generator

STATE_FILE = Path(".handover") / "cache" / "last-build.json"


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


def shared_fingerprint(
    config_file: Path, templates_dir: Path, secret_check: bytes, today: dt.date
) -> str:
    """What every page depends on; when it changes, every page is built again."""
    digest = hashlib.sha256()
    digest.update(config_file.read_bytes())
    digest.update(secret_check)
    digest.update(today.isoformat().encode())
    for folder in (templates_dir, Path(generator.__file__).parent):
        digest.update(folder_fingerprint(folder).encode())
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

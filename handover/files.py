"""Facts about the files a client downloads: size and SHA-256, read in chunks.

Hashing is the one thing a build would otherwise do to every byte of every file on
every run (a single case may hold a file of hundreds of megabytes), so facts are kept
between builds in a cache outside git, keyed by path, size and modification time.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

CHUNK = 1 << 20


@dataclass(frozen=True)
class FileFacts:
    size: int
    sha256: str


#: Anything that tells the facts of a file: ``file_facts`` itself or a cache's ``facts``.
FactsOf = Callable[[Path], FileFacts]


def file_facts(path: Path) -> FileFacts:
    """Hash in 1 MiB chunks so memory stays flat whatever the file's size."""
    digest = hashlib.sha256()
    size = 0
    with path.open("rb") as stream:
        while chunk := stream.read(CHUNK):
            digest.update(chunk)
            size += len(chunk)
    return FileFacts(size, digest.hexdigest())


def write_if_changed(path: Path, data: bytes) -> Path:
    """Leave unchanged files alone, so their mtime (and the caches keyed by it) stay valid."""
    if not path.is_file() or path.read_bytes() != data:
        path.write_bytes(data)
    return path


class FactsCache:
    """File facts from earlier builds, trusted while a file's size and mtime are unchanged."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._entries: dict[str, list[int | str]] = {}
        self._used: dict[str, list[int | str]] = {}
        self._recorded: dict[str, list[int | str]] | None = None
        try:
            self._entries = json.loads(path.read_text())
        except (OSError, ValueError):
            self._entries = {}

    def facts(self, file: Path) -> FileFacts:
        key, entry, mtime_ns = self._lookup(file)
        if entry is None:
            found = file_facts(file)
            entry = [found.size, mtime_ns, found.sha256]
            self._entries[key] = entry
        self._used[key] = entry
        if self._recorded is not None:
            self._recorded[key] = entry
        return FileFacts(int(entry[0]), str(entry[2]))

    def prime(self, files: Iterable[Path]) -> None:
        """Hash the files not cached yet, on every core (hashlib releases the GIL)."""
        unknown = [file for file in files if self._lookup(file)[1] is None]
        if unknown:
            with ThreadPoolExecutor(max_workers=os.cpu_count() or 2) as pool:
                list(pool.map(self.facts, unknown))

    def _lookup(self, file: Path) -> tuple[str, list[int | str] | None, int]:
        """The cache key, the entry if it still matches the file's size and mtime, the mtime."""
        stat = file.stat()
        key = str(file.absolute())
        entry = self._entries.get(key)
        if entry is not None and entry[:2] != [stat.st_size, stat.st_mtime_ns]:
            entry = None
        return key, entry, stat.st_mtime_ns

    def start_recording(self) -> None:
        """From now on, remember which entries are looked up (see ``recorded``)."""
        self._recorded = {}

    def recorded(self) -> dict[str, list[int | str]]:
        """The entries looked up since ``start_recording``: what a worker hands back."""
        return dict(self._recorded or {})

    def merge(self, entries: dict[str, list[int | str]]) -> None:
        """Keep entries a worker looked up, as if this cache had."""
        self._entries.update(entries)
        self._used.update(entries)

    def save(self) -> None:
        """Keep only what this build used, so deleted and renamed files drop out."""
        if self._used == self._entries and self.path.exists():
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        temporary = self.path.with_suffix(".tmp")
        temporary.write_text(json.dumps(self._used, sort_keys=True))
        temporary.replace(self.path)
        self._entries = dict(self._used)

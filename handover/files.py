"""Facts about the files a client downloads: size and SHA-256, read in chunks.

Hashing is the one thing a build would otherwise do to every byte of every file on
every run (a single case may hold a file of hundreds of megabytes), so facts are kept
between builds in a cache outside git, keyed by path, size, modification and change time.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from handover.caching import atomic_write, read_json, write_json

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
        atomic_write(path, data)
    return path


#: A cache entry: size, mtime, ctime, inode, SHA-256.
Entry = list[int | str]


def _stamp(stat: os.stat_result) -> list[int | str]:
    """What changes whenever the content can have changed. ``touch -r`` can put an old mtime
    back, but nothing can put back the ctime: writing a file always moves it."""
    return [stat.st_size, stat.st_mtime_ns, stat.st_ctime_ns, stat.st_ino]


class FactsCache:
    """File facts from earlier builds, trusted while a file's size, mtime, ctime and inode are
    unchanged (a same-size rewrite with the old mtime restored still moves the ctime).

    An incremental build looks up only the files of the pages it builds; the entries of
    every other file are kept while the file still exists, so no build empties the cache.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        data = read_json(path)
        self._entries: dict[str, Entry] = (
            data if isinstance(data, dict) and _well_formed(data) else {}
        )
        self._changed = data is None and path.exists()
        self._recorded: dict[str, Entry] | None = None

    def facts(self, file: Path) -> FileFacts:
        key, entry, stamp = self._lookup(file)
        if entry is None:
            found = file_facts(file)
            entry = [*stamp, found.sha256]
            self._entries[key] = entry
            self._changed = True
        if self._recorded is not None:
            self._recorded[key] = entry
        return FileFacts(int(entry[0]), str(entry[4]))

    def prime(self, files: Iterable[Path]) -> None:
        """Hash the files not cached yet, on every core (hashlib releases the GIL)."""
        unknown = [file for file in files if self._lookup(file)[1] is None]
        if unknown:
            with ThreadPoolExecutor(max_workers=os.cpu_count() or 2) as pool:
                list(pool.map(self.facts, unknown))

    def _lookup(self, file: Path) -> tuple[str, Entry | None, list[int | str]]:
        """The cache key, the entry if it still matches the file, the file's stamp."""
        stamp = _stamp(file.stat())
        key = str(file.absolute())
        entry = self._entries.get(key)
        if entry is not None and entry[:4] != stamp:
            entry = None
        return key, entry, stamp

    def start_recording(self) -> None:
        """From now on, remember which entries are looked up (see ``recorded``)."""
        self._recorded = {}

    def recorded(self) -> dict[str, Entry]:
        """The entries looked up since ``start_recording``: what a worker hands back."""
        return dict(self._recorded or {})

    def merge(self, entries: dict[str, Entry]) -> None:
        """Keep entries a worker looked up, as if this cache had."""
        for key, entry in entries.items():
            if self._entries.get(key) != entry:
                self._entries[key] = entry
                self._changed = True

    def save(self) -> None:
        """Write new and changed entries; drop those of files that are gone or changed."""
        for key, entry in list(self._entries.items()):
            try:
                current = _stamp(os.stat(key))
            except OSError:
                current = None
            if current != entry[:4]:
                del self._entries[key]
                self._changed = True
        if self._changed:
            write_json(self.path, self._entries)
            self._changed = False


def _well_formed(data: object) -> bool:
    return isinstance(data, dict) and all(
        isinstance(entry, list)
        and len(entry) == 5
        and all(isinstance(part, int) for part in entry[:4])
        and isinstance(entry[4], str)
        and len(entry[4]) == 64
        for entry in data.values()
    )

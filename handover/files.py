"""Facts about the files a client downloads: size and SHA-256, read in chunks.

Hashing is the one thing a build would otherwise do to every byte of every file on
every run (a single case may hold a file of hundreds of megabytes), so facts are kept
between builds in a cache outside git, keyed by path, size, modification and change time.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TypeGuard

from handover.caching import atomic_write, read_json, write_json
from handover.processes import threaded_map

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

    Kept in one small file per folder of files (a *shard*: a case's documents, a case's
    artefacts, a page's files), read when a file in that folder is first looked up: a
    rebuild of one page of 1,000 reads and writes a few shards, not 20,000 entries. Saving
    drops the entries of files that are gone or changed in every shard read, and the shards
    of folders that are gone altogether; no build empties the cache.
    """

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self._shards: dict[str, dict[str, Entry]] = {}
        self._changed: set[str] = set()
        self._recorded: dict[str, Entry] | None = None

    def facts(self, file: Path) -> FileFacts:
        key, entry, stamp = self._lookup(file)
        if entry is None:
            found = file_facts(file)
            entry = [*stamp, found.sha256]
            self._set(key, entry)
        if self._recorded is not None:
            self._recorded[key] = entry
        return FileFacts(int(entry[0]), str(entry[4]))

    def prime(self, files: Iterable[Path]) -> None:
        """Hash the files not cached yet, on every core (hashlib releases the GIL)."""
        unknown = [file for file in files if self._lookup(file)[1] is None]
        if unknown:
            for _ in threaded_map(self.facts, unknown, os.cpu_count()):
                pass

    def _lookup(self, file: Path) -> tuple[str, Entry | None, list[int | str]]:
        """The cache key, the entry if it still matches the file, the file's stamp."""
        stamp = _stamp(file.stat())
        key = str(file.absolute())
        entry = self._shard(key).get(key)
        if entry is not None and entry[:4] != stamp:
            entry = None
        return key, entry, stamp

    def _shard(self, key: str) -> dict[str, Entry]:
        """The entries of the folder ``key`` is in, read from disk the first time."""
        name = _shard_name(key)
        shard = self._shards.get(name)
        if shard is None:
            data = read_json(self.folder / name)
            shard = {k: v for k, v in data.items() if _well_formed(v)} if _is_dict(data) else {}
            self._shards[name] = shard
        return shard

    def _set(self, key: str, entry: Entry) -> None:
        self._shard(key)[key] = entry
        self._changed.add(_shard_name(key))

    def learn(self, known: dict[Path, FileFacts]) -> None:
        """Facts taken as the files were written (by the at-rest cache's decryption), for
        the files as they are now: no need to read them again."""
        for file, facts in known.items():
            entry: Entry = [*_stamp(file.stat()), facts.sha256]
            if int(entry[0]) == facts.size:
                self._set(str(file.absolute()), entry)

    def start_recording(self) -> None:
        """From now on, remember which entries are looked up (see ``recorded``)."""
        self._recorded = {}

    def recorded(self) -> dict[str, Entry]:
        """The entries looked up since ``start_recording``: what a worker hands back."""
        return dict(self._recorded or {})

    def merge(self, entries: dict[str, Entry]) -> None:
        """Keep entries a worker looked up, as if this cache had."""
        for key, entry in entries.items():
            if self._shard(key).get(key) != entry:
                self._set(key, entry)

    @property
    def dirty(self) -> bool:
        """Whether any fact was learnt since the last save."""
        return bool(self._changed)

    def save(self) -> None:
        """Write the shards that changed, without the entries of files gone or changed; and
        remove the shards of folders that are gone."""
        for name, shard in self._shards.items():
            for key, entry in list(shard.items()):
                try:
                    current = _stamp(os.stat(key))
                except OSError:
                    current = None
                if current != entry[:4]:
                    del shard[key]
                    self._changed.add(name)
        for name in sorted(self._changed):
            if self._shards[name]:
                write_json(self.folder / name, self._shards[name])
            else:
                (self.folder / name).unlink(missing_ok=True)
        self._changed.clear()
        self._remove_orphans()

    def _remove_orphans(self) -> None:
        """Shards whose folder is gone: the folder is named in every shard's file name."""
        with contextlib.suppress(FileNotFoundError), os.scandir(self.folder) as entries:
            for entry in entries:
                folder = _shard_folder(entry.name)
                if folder is not None and not os.path.isdir(folder):
                    os.unlink(entry.path)


def _shard_name(key: str) -> str:
    """The shard file of the folder a file is in: that folder's path, reversibly encoded so
    that a shard whose folder is gone can be found without reading it."""
    folder = os.path.dirname(key)
    encoded = base64.urlsafe_b64encode(os.fsencode(folder)).decode().rstrip("=")
    if len(encoded) <= MAX_SHARD_NAME:
        return f"{encoded}.json"
    return f"~{hashlib.sha256(os.fsencode(folder)).hexdigest()}.json"


def _shard_folder(name: str) -> str | None:
    """The folder a shard file is named after; None for one named by hash (too long a path)."""
    if not name.endswith(".json") or name.startswith(("~", ".")):
        return None
    encoded = name.removesuffix(".json")
    try:
        return os.fsdecode(base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4)))
    except ValueError:
        return None


#: File names stay under the usual 255-byte limit with room for ``.json`` and temp names.
MAX_SHARD_NAME = 200


def _is_dict(data: object) -> TypeGuard[dict[str, object]]:
    return isinstance(data, dict)


def _well_formed(entry: object) -> TypeGuard[Entry]:
    return (
        isinstance(entry, list)
        and len(entry) == 5
        and all(isinstance(part, int) for part in entry[:4])
        and isinstance(entry[4], str)
        and len(entry[4]) == 64
    )

"""Facts about the files a client downloads: size and SHA-256, read in chunks."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

CHUNK = 1 << 20


@dataclass(frozen=True)
class FileFacts:
    size: int
    sha256: str


def file_facts(path: Path) -> FileFacts:
    """Hash in 1 MiB chunks so memory stays flat whatever the file's size."""
    digest = hashlib.sha256()
    size = 0
    with path.open("rb") as stream:
        while chunk := stream.read(CHUNK):
            digest.update(chunk)
            size += len(chunk)
    return FileFacts(size, digest.hexdigest())

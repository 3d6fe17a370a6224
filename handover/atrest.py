"""Derived plaintext is encrypted at rest between builds.

The build makes plaintext copies of client data in ``.handover/cache/``: each page's ZIP,
manifests and calendar (``artifacts/``) and the documents fetched from the document store
(``documents/``). CI keeps that folder between runs, and a laptop keeps it for years, so
between builds every such file is kept only encrypted (AES-256-GCM, key derived from the
master secret): ``lock`` runs when a build ends, however it ends; ``unlock`` gives back the
artefacts of the cases a build is about to render, and ``unlock_file`` one fetched document
when the build must make something from its bytes (``store.FetchedDocuments``). The
original size and modification time come back too, so the facts cache and the "reuse the
ZIP" checks work as before.

Measured on whole warm builds of 1,000 cases (``bench/cache_encryption.py --project``, see
``bench/README.md``): keeping the artefacts encrypted costs more than keeping them plain
(not allowed), and less than not caching them at all.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import os
import struct
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from handover.errors import CacheError
from handover.files import FileFacts
from handover.processes import threaded_map

SUFFIX = ".at-rest"
#: Version 2 ends with the plaintext's SHA-256 and a MAC over the name, header and hash, so
#: a build learns a locked file's facts from 100 bytes, without decrypting it (``facts``).
MAGIC = b"HOAR2"
CHUNK = 1 << 20
_HEADER = struct.Struct(">QQI")  # size, mtime_ns, chunk size
_TRAILER = 32 + 32  # SHA-256 of the plaintext, HMAC-SHA-256 over name, header and hash


def lock(folder: Path, key: bytes) -> None:
    """Encrypt every plaintext file below ``folder``, then delete the plaintext. A file whose
    encrypted copy already matches (same size and mtime) is only deleted."""
    if not folder.is_dir():
        return

    def lock_one(path: Path) -> None:
        locked = path.with_name(path.name + SUFFIX)
        stat = path.stat()
        if _header(locked) != (stat.st_size, stat.st_mtime_ns):
            _encrypt(path, locked, key, folder)
        path.unlink()

    for _ in threaded_map(lock_one, _plain_files(folder)):
        pass


def unlock(folders: Iterable[Path], key: bytes, root: Path) -> dict[Path, FileFacts]:
    """Give back the plaintext of every locked file below ``folders`` (each inside ``root``,
    the folder ``lock`` was given), with the size and SHA-256 of each file given back:
    hashed as it was decrypted, so the build need not read it again. A copy that does not
    decrypt (damaged, or locked under another secret) is dropped: the build makes it again."""
    pending: list[tuple[Path, Path]] = []
    for folder in folders:
        if folder.is_file() or not folder.exists():
            candidates = [folder.with_name(folder.name + SUFFIX)]
        else:
            candidates = list(folder.rglob(f"*{SUFFIX}"))
        for locked in candidates:
            plain = locked.with_name(locked.name.removesuffix(SUFFIX))
            if locked.is_file() and not plain.exists():
                pending.append((locked, plain))

    def restore(job: tuple[Path, Path]) -> tuple[Path, FileFacts | None]:
        locked, plain = job
        try:
            return plain, _decrypt(locked, plain, key, root)
        except (InvalidTag, ValueError, struct.error):
            locked.unlink(missing_ok=True)
            return plain, None

    # Thousands of small files: opening and writing them is most of the time, and both
    # (with AES-GCM and SHA-256) let other threads run.
    done = threaded_map(restore, pending)
    return {plain: facts for plain, facts in done if facts is not None}


@dataclass(frozen=True)
class LockedFolder:
    """A cache folder kept locked between builds (``root``, as given to ``lock``), opened
    file by file as a build needs it: the facts of a file from its locked copy, its bytes
    only when something must be made from them."""

    root: Path
    key: bytes

    def facts(self, plain: Path) -> FileFacts | None:
        return facts(plain, self.key, self.root)

    def readable(self, plain: Path) -> None:
        """Decrypt ``plain``'s locked copy when its bytes are about to be read and it is not
        there in plain; a file outside this folder is left alone. A copy whose facts held
        but whose bytes do not decrypt is dropped, and this build stops (``CacheError``):
        the next one makes the file again."""
        outside = not plain.is_relative_to(self.root) or plain.exists()
        if not outside and not unlock_file(plain, self.key, self.root):
            raise CacheError(
                f"{plain}: the cached copy was damaged and has been dropped; "
                "build again to make it anew"
            )


def unlock_file(plain: Path, key: bytes, root: Path, into: Path | None = None) -> bool:
    """Decrypt ``plain``'s locked copy into ``into`` (default: ``plain``), replacing whatever
    is there; False when there is no copy or it does not decrypt (a damaged one is
    dropped). Safe to run in several processes at once: each decrypts into its own
    temporary file."""
    locked = plain.with_name(plain.name + SUFFIX)
    if not locked.is_file():
        return False
    try:
        _decrypt(locked, plain, key, root, into)
    except (InvalidTag, ValueError, struct.error):
        locked.unlink(missing_ok=True)
        return False
    return True


def remove_plaintext(folder: Path) -> None:
    """Delete the plaintext files directly in ``folder`` (one listing, no decryption): for a
    cache whose files are decrypted one by one when needed, where plaintext found before
    a build can only be a killed build's leftover."""
    if not folder.is_dir():
        return
    with os.scandir(folder) as entries:
        for entry in entries:
            if not entry.is_dir(follow_symlinks=False) and not entry.name.endswith(SUFFIX):
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(entry.path)


def _plain_files(folder: Path) -> list[Path]:
    found = []
    for parent, _dirs, names in os.walk(folder):
        for name in names:
            if not name.endswith((SUFFIX, ".partial", ".tmp")):
                found.append(Path(parent) / name)
    return found


def _header(locked: Path) -> tuple[int, int] | None:
    try:
        with locked.open("rb") as stream:
            data = stream.read(len(MAGIC) + _HEADER.size)
    except OSError:
        return None
    if len(data) != len(MAGIC) + _HEADER.size or not data.startswith(MAGIC):
        return None
    size, mtime_ns, _chunk = _HEADER.unpack(data[len(MAGIC) :])
    return size, mtime_ns


def facts(plain: Path, key: bytes, root: Path) -> FileFacts | None:
    """The size and SHA-256 of ``plain`` as its locked copy holds it, read from the copy's
    header and trailer and checked against their MAC (never decrypted); None when there is
    no such copy, or it is damaged or locked under another key (the build makes it again).
    The bytes are checked once more when the copy is decrypted."""
    locked = plain.with_name(plain.name + SUFFIX)
    try:
        with locked.open("rb") as stream:
            head = stream.read(len(MAGIC) + _HEADER.size)
            stream.seek(-_TRAILER, os.SEEK_END)
            trailer = stream.read(_TRAILER)
    except OSError:
        return None
    if len(head) != len(MAGIC) + _HEADER.size or not head.startswith(MAGIC):
        return None
    header, sha256, mac = head[len(MAGIC) :], trailer[:32], trailer[32:]
    if not hmac.compare_digest(mac, _facts_mac(key, root, plain, header, sha256)):
        return None
    return FileFacts(_HEADER.unpack(header)[0], sha256.hex())


def _facts_mac(key: bytes, root: Path, plain: Path, header: bytes, sha256: bytes) -> bytes:
    name = plain.relative_to(root).as_posix().encode()
    mac = hmac.new(key, b"handover/at-rest/facts\0" + MAGIC + name + b"\0", hashlib.sha256)
    mac.update(header + sha256)
    return mac.digest()


def _aad(root: Path, plain: Path, header: bytes, index: int, last: bool) -> bytes:
    """Binds each chunk to its file, place and order, so chunks cannot be swapped."""
    name = plain.relative_to(root).as_posix().encode()
    return MAGIC + name + b"\0" + header + struct.pack(">I?", index, last)


def _encrypt(plain: Path, locked: Path, key: bytes, root: Path) -> None:
    stat = plain.stat()
    header = _HEADER.pack(stat.st_size, stat.st_mtime_ns, CHUNK)
    count = max(1, -(-stat.st_size // CHUNK))
    cipher = AESGCM(key)
    partial = locked.with_name(locked.name + ".partial")
    digest = hashlib.sha256()
    with plain.open("rb") as reader, partial.open("wb") as writer:
        writer.write(MAGIC + header)
        for index in range(count):
            nonce = os.urandom(12)
            aad = _aad(root, plain, header, index, index == count - 1)
            chunk = reader.read(CHUNK)
            digest.update(chunk)
            writer.write(nonce + cipher.encrypt(nonce, chunk, aad))
        sha256 = digest.digest()
        writer.write(sha256 + _facts_mac(key, root, plain, header, sha256))
    partial.replace(locked)


def _decrypt(
    locked: Path, plain: Path, key: bytes, root: Path, into: Path | None = None
) -> FileFacts:
    """``plain``'s bytes (its name is bound into every chunk) written to ``into`` or it;
    their size and SHA-256."""
    target = into or plain
    digest = hashlib.sha256()
    cipher = AESGCM(key)
    handle, name = tempfile.mkstemp(prefix=f".{plain.name}.", suffix=".partial", dir=target.parent)
    os.close(handle)
    partial = Path(name)
    try:
        with locked.open("rb") as reader, partial.open("wb") as writer:
            if reader.read(len(MAGIC)) != MAGIC:
                raise ValueError("not a locked cache file")
            header = reader.read(_HEADER.size)
            size, mtime_ns, chunk = _HEADER.unpack(header)
            count = max(1, -(-size // chunk))
            for index in range(count):
                block = reader.read(12 + min(chunk, size - index * chunk) + 16)
                aad = _aad(root, plain, header, index, index == count - 1)
                data = cipher.decrypt(block[:12], block[12:], aad)
                digest.update(data)
                writer.write(data)
            trailer = reader.read(_TRAILER)
            if len(trailer) != _TRAILER or reader.read(1):
                raise ValueError("no trailer, or trailing bytes")
            sha256, mac = trailer[:32], trailer[32:]
            if not hmac.compare_digest(sha256, digest.digest()) or not hmac.compare_digest(
                mac, _facts_mac(key, root, plain, header, sha256)
            ):
                raise ValueError("the trailer names other bytes, or is not ours")
        os.utime(partial, ns=(mtime_ns, mtime_ns))
        partial.replace(target)
        return FileFacts(size, digest.hexdigest())
    finally:
        with contextlib.suppress(OSError):
            partial.unlink()

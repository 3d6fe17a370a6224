"""Everything the tool keeps under ``.handover/``: where it lives and how it is written.

One module owns these paths and the one atomic write, so that every cache gets the same
guarantees:

* written whole (temporary file, then one rename) or not at all;
* private: files 0600 in folders 0700 (the caches map client ids to page paths);
* JSON with its own checksum, never an executable format (no pickle);
* checked before use: a missing, damaged or foreign entry reads as "absent" and is
  rebuilt, never trusted and never published.

The encrypted-file cache (``SealedFiles``) and the wrapped-key cache (``KeyCache``) live
here too: what they store is public ciphertext, but a damaged entry must still never reach
the site, so each entry carries the SHA-256 of its own bytes, checked as it is copied out.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import io
import json
import os
import shutil
import tempfile
import typing
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jinja2
import jinja2.bccache

from handover.errors import CacheError

if typing.TYPE_CHECKING:
    from handover.keys import ClientKeys
    from handover.model import AccessMode
    from handover.rendering import Download
    from handover.sealing import Seal, WrappedKey

HANDOVER_DIR = Path(".handover")
CACHE_DIR = HANDOVER_DIR / "cache"
#: Paths relative to the project folder (the folder of ``mkdocs.yml``).
LOCAL_SECRET_FILE = HANDOVER_DIR / "secret"
SECRET_ID_FILE = HANDOVER_DIR / "secret-id"
LOCK_FILE = HANDOVER_DIR / "build.lock"
PREVIEW_SITE = HANDOVER_DIR / "preview"
STATE_FILE = CACHE_DIR / "last-build.json"
#: Which build the spare folder beside the site mirrors (see ``swapping``).
SPARE_RECORD = CACHE_DIR / "spare-site.json"
#: The pages the theme rendered per language and access mode (no client in them).
SHELLS_CACHE = CACHE_DIR / "shells.json"
VALIDATED_CACHE = CACHE_DIR / "validated"
KEY_CACHE = CACHE_DIR / "wrapped-keys.json"
ARTIFACTS_CACHE = CACHE_DIR / "artifacts"
CERTIFICATES_CACHE = CACHE_DIR / "certificates"
FACTS_CACHE = CACHE_DIR / "file-facts"
SEALED_CACHE = CACHE_DIR / "sealed"
#: The theme's compiled templates, each signed (``SignedBytecodeCache``).
JINJA_CACHE = CACHE_DIR / "jinja"
#: Verified copies of documents fetched from the document store, by SHA-256.
FETCH_CACHE = CACHE_DIR / "documents"
#: The size of each document whose fetched copy was checked against its pin, by SHA-256:
#: what a build shows of a stored document without decrypting its copy.
FETCH_INDEX = CACHE_DIR / "documents.json"
#: What the last publish left on each target (never uploaded: it names every page).
MANIFESTS = CACHE_DIR / "publish"
#: One line per publish: day, target, what was uploaded and deleted, and whether verified.
RECORD = HANDOVER_DIR / "publish-record.jsonl"
#: What git sees of ``.handover/``: only the secret's public identifier is committed.
GITIGNORE = "*\n!.gitignore\n!secret-id\n"

CHUNK = 1 << 20
FICLONE = 0x40049409  # Linux ioctl: share the blocks copy-on-write (btrfs, XFS, …)


def _umask() -> int:
    current = os.umask(0)
    os.umask(current)
    return current


def private_dir(path: Path) -> Path:
    """``path`` and any missing parents, each created 0700."""
    missing = []
    while not path.is_dir():
        missing.append(path)
        path = path.parent
    for folder in reversed(missing):
        folder.mkdir(mode=0o700, exist_ok=True)
    return missing[0] if missing else path


def prepare(project: Path) -> Path:
    """The project's ``.handover/`` folder, private, with its ``.gitignore``."""
    root, cache = project / HANDOVER_DIR, project / CACHE_DIR
    for folder in (root, cache):
        private_dir(folder).chmod(0o700)
    ignore = root / ".gitignore"
    if not ignore.is_file() or ignore.read_text() != GITIGNORE:
        atomic_write(ignore, GITIGNORE.encode())
    return root


def atomic_write(path: Path, data: bytes, *, durable: bool = False, private: bool = True) -> Path:
    """Write ``data`` to ``path`` whole or not at all, 0600: a temporary file in the same
    folder, then one rename. ``durable`` also syncs to disk (the master secret);
    ``private=False`` is for files staff keep (a case), readable as the folder allows."""
    if private:
        private_dir(path.parent)
    else:
        path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    if not private:
        os.chmod(temporary, 0o666 & ~_umask())
    try:
        with os.fdopen(handle, "wb") as stream:
            stream.write(data)
            if durable:
                stream.flush()
                os.fsync(stream.fileno())
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise
    return path


def write_json(path: Path, data: Any) -> Path:
    """A cache file: the data and the SHA-256 of its canonical JSON, checked by ``read_json``."""
    body = _canonical(data)
    # What json.dumps({"data": …, "sha256": …}, sort_keys=True) gives, serialised once.
    digest = hashlib.sha256(body).hexdigest().encode()
    return atomic_write(path, _DATA_PREFIX + body + _SUM_PREFIX + digest + _SUM_SUFFIX)


def read_json(path: Path) -> Any | None:
    """What ``write_json`` wrote, or None when the file is missing, damaged or not ours."""
    try:
        raw = path.read_bytes()
    except OSError:
        return None
    body = _written_body(raw)
    if body is not None:  # the layout write_json writes: hash the bytes, parse them once
        try:
            return json.loads(body, parse_constant=_refuse_constant)
        except (ValueError, RecursionError):
            return None
    try:
        wrapper = json.loads(raw)
    except (ValueError, RecursionError):
        return None
    if not isinstance(wrapper, dict) or set(wrapper) != {"sha256", "data"}:
        return None
    try:
        body = _canonical(wrapper["data"])
    except (ValueError, TypeError, RecursionError):
        return None
    expected = hashlib.sha256(body).hexdigest()
    return wrapper["data"] if hmac.compare_digest(str(wrapper["sha256"]), expected) else None


_DATA_PREFIX = b'{"data":'
_SUM_PREFIX = b',"sha256":"'
_SUM_SUFFIX = b'"}'
_SUM_TAIL = len(_SUM_PREFIX) + 64 + len(_SUM_SUFFIX)


def _written_body(raw: bytes) -> bytes | None:
    """The data part of a file in ``write_json``'s layout whose checksum holds, else None."""
    if not (raw.startswith(_DATA_PREFIX) and raw.endswith(_SUM_SUFFIX)):
        return None
    if len(raw) < len(_DATA_PREFIX) + _SUM_TAIL or not raw[-_SUM_TAIL:].startswith(_SUM_PREFIX):
        return None
    body = raw[len(_DATA_PREFIX) : -_SUM_TAIL]
    recorded = raw[-_SUM_TAIL + len(_SUM_PREFIX) : -len(_SUM_SUFFIX)]
    return (
        body if hmac.compare_digest(hashlib.sha256(body).hexdigest().encode(), recorded) else None
    )


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def write_signed_json(path: Path, data: Any, key: bytes) -> Path:
    """A cache file whose content decides what gets published (a page's shell): signed
    with a key only the master secret gives, so a file planted in a shared CI cache is
    ignored (``read_signed_json``) instead of published."""
    mac = hmac.new(key, _canonical(data), hashlib.sha256).hexdigest()
    return write_json(path, {"mac": mac, "data": data})


def read_signed_json(path: Path, key: bytes) -> Any | None:
    """What ``write_signed_json`` wrote with ``key``; None if missing, damaged or unsigned."""
    stored = read_json(path)
    if not isinstance(stored, dict) or set(stored) != {"mac", "data"}:
        return None
    expected = hmac.new(key, _canonical(stored["data"]), hashlib.sha256).hexdigest()
    return stored["data"] if hmac.compare_digest(str(stored["mac"]), expected) else None


def _canonical(data: Any) -> bytes:
    return json.dumps(data, sort_keys=True, separators=(",", ":"), allow_nan=False).encode()


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        while chunk := stream.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def checksum_file(path: Path) -> Path:
    """Where the SHA-256 of a cached artefact is recorded when it is written."""
    return path.with_name(path.name + ".sha256")


def record_checksum(path: Path, sha256: str) -> None:
    atomic_write(checksum_file(path), sha256.encode())


def checksum_holds(path: Path, sha256: str) -> bool:
    """The artefact's bytes (hashed as ``sha256``) are those recorded when it was written."""
    try:
        return hmac.compare_digest(checksum_file(path).read_bytes(), sha256.encode())
    except OSError:
        return False


def copy_out(source: Path, target: Path, sha256: str | None = None) -> bool:
    """A copy of ``source`` at ``target`` that shares nothing writable with it: a reflink
    where the filesystem can (instant, copy-on-write), else a real copy. Never a hard link:
    a later change to one must never change the other.

    With ``sha256``, the bytes are hashed on the way (one read for both) and a copy that does
    not match is removed: False then, and nothing was published."""
    digest = hashlib.sha256()
    with source.open("rb") as reader, target.open("wb") as writer:
        cloned = _reflink(reader.fileno(), writer.fileno())
        if cloned and sha256 is None:
            return True
        while chunk := reader.read(CHUNK):
            digest.update(chunk)
            if not cloned:
                writer.write(chunk)
    if sha256 is not None and not hmac.compare_digest(digest.hexdigest(), sha256):
        target.unlink()
        return False
    return True


def copy_parts(source: Path, targets: Sequence[Path], part_size: int, sha256: str) -> bool:
    """``source`` cut into consecutive pieces of ``part_size`` bytes, one per target (the
    last one the rest), hashed on the way as ``copy_out`` does. False, with no target left,
    when the bytes do not match ``sha256`` or do not fill exactly these parts.

    Read and written in 1 MiB blocks rather than ``os.copy_file_range``: the bytes must be
    read to be hashed anyway, and a damaged cache entry must never reach the site."""
    digest = hashlib.sha256()
    whole = True
    with source.open("rb") as reader:
        for number, target in enumerate(targets, start=1):
            written = _copy_piece(reader, target, part_size, digest)
            whole = whole and written > 0 and (written == part_size or number == len(targets))
        whole = whole and not reader.read(1)
    if whole and hmac.compare_digest(digest.hexdigest(), sha256):
        return True
    for target in targets:
        target.unlink(missing_ok=True)
    return False


def _copy_piece(reader: typing.BinaryIO, target: Path, size: int, digest: Any) -> int:
    """Up to ``size`` bytes from ``reader`` into a new ``target``, each hashed."""
    written = 0
    with target.open("wb") as writer:
        while written < size and (block := reader.read(min(CHUNK, size - written))):
            digest.update(block)
            written += writer.write(block)
    return written


def _reflink(source: int, target: int) -> bool:
    try:
        import fcntl

        fcntl.ioctl(target, FICLONE, source)
    except (OSError, ImportError):
        return False
    return True


class SealedFiles:
    """One client's encrypted files, kept between builds and copied into the site.

    Each entry is named by the file's id, the SHA-256 of the plaintext it encrypts (the
    document's identity) and the SHA-256 of its own ciphertext: before an entry is copied
    into the site its bytes are hashed against its name, and a damaged entry is encrypted
    again instead of published. Encryption is deterministic, so a file is encrypted once
    per content.

    The cache keeps each sealed file whole; the site gets it cut into parts of at most
    ``part_size`` bytes (one part, the same bytes, when it fits), so that the part size can
    change without encrypting anything again.

    ``readable`` is called with a download's source before its bytes are read: a document
    kept only encrypted in the fetch cache gets its plaintext then, and only then.
    """

    def __init__(
        self,
        folder: Path,
        seal: Seal,
        readable: Callable[[Path], None] = lambda path: None,
        *,
        part_size: int,
    ) -> None:
        self.folder = folder
        self.seal = seal
        self.readable = readable
        self.part_size = part_size
        self._entries: dict[str, Path] | None = None

    def _stem(self, download: Download) -> tuple[str, str]:
        """The file's id, and the cache entry's name without its checksum."""
        file_id = self.seal.file_id(download.site_path, download.facts.sha256)
        variant = self.seal.variant  # the format and the access mode: each changes the bytes
        return file_id, f"{file_id}.{variant}.{download.facts.sha256}"

    def _index(self) -> dict[str, Path]:
        """Entry stem -> file, for the entries on disk (one directory listing per client)."""
        if self._entries is None:
            self._entries = {}
            if self.folder.is_dir():
                for path in self.folder.iterdir():
                    stem, _, checksum = path.name.rpartition(".")
                    if len(checksum) == 64 and stem:
                        self._entries[stem] = path
        return self._entries

    def missing(self, downloads: Iterable[Download]) -> list[Download]:
        """The downloads not encrypted yet (new or changed files)."""
        index = self._index()
        return [d for d in downloads if self._stem(d)[1] not in index]

    def encrypt(self, download: Download) -> Path:
        """Encrypt one download into the cache: written whole, its checksum in its name."""
        file_id, stem = self._stem(download)
        self.readable(download.source)
        private_dir(self.folder)
        handle, partial = tempfile.mkstemp(prefix=".", suffix=".partial", dir=self.folder)
        os.close(handle)
        try:
            sealed = self.seal.seal_file(file_id, download.source, Path(partial))
            if sealed != download.facts.sha256:  # the page would promise other bytes
                raise CacheError(
                    f"{download.source}: changed while the site was being built; build again"
                )
            entry = self.folder / f"{stem}.{sha256_of(Path(partial))}"
            os.replace(partial, entry)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(partial)
            raise
        old = self._index().get(stem)
        if old is not None and old != entry:
            old.unlink(missing_ok=True)
        self._index()[stem] = entry
        return entry

    def publish(self, downloads: list[Download], target: Path, live: Path | None = None) -> None:
        """Every download, encrypted, into ``target`` (the page's ``f/`` folder), each entry
        verified first; then drop cached entries of files the client no longer has.

        ``live``: the same page's ``f/`` folder in the live site. A file it already holds
        under the same name is linked from there instead of copied from the cache: names
        are derived from the plaintext's SHA-256, the access mode and the format
        (``ClientKeys.file_name``) and encryption is deterministic, so the same name is the
        same bytes, which the site only ever gets whole and verified. A warm build of every
        page then writes no encrypted file at all."""
        used = set()
        if downloads:
            target.mkdir(parents=True, exist_ok=True)
        for download in downloads:
            file_id, stem = self._stem(download)
            names = self.seal.part_names(file_id, download.facts.size, self.part_size)
            parts = [target / name for name in names]
            entry = self._index().get(stem)
            if entry is not None:
                used.add(entry.name)
            if live is not None and _link_from(live, parts, self._sizes(download, len(parts))):
                continue
            intact = entry is not None and entry.is_file()
            if entry is None or not intact or not self._copy(entry, parts):
                entry = self.encrypt(download)  # missing or damaged: encrypt again
                if not self._copy(entry, parts):
                    raise CacheError(f"{entry}: encrypted file does not match its checksum")
            used.add(entry.name)
        if self.folder.is_dir():
            for path in self.folder.iterdir():
                if path.name not in used:
                    path.unlink(missing_ok=True)
            self._entries = None

    def in_live_site(self, download: Download, live: Path | None) -> bool:
        """Whether ``publish`` can link ``download`` from the live site (``live``: the same
        page's ``f/`` folder there), so it need not be encrypted even if the cache lost it."""
        if live is None:
            return False
        file_id, _ = self._stem(download)
        names = self.seal.part_names(file_id, download.facts.size, self.part_size)
        sizes = self._sizes(download, len(names))
        try:
            return all(os.stat(live / n).st_size == s for n, s in zip(names, sizes, strict=True))
        except OSError:
            return False

    def _sizes(self, download: Download, count: int) -> list[int]:
        """The size of each published part of ``download``."""
        from handover.sealing import sealed_size

        total = sealed_size(download.facts.size)
        return [min(self.part_size, total - n * self.part_size) for n in range(count)]

    def _copy(self, entry: Path, parts: list[Path]) -> bool:
        """The cache entry into the site: as it is, or cut into its parts."""
        if len(parts) == 1:
            return copy_out(entry, parts[0], _checksum(entry))
        return copy_parts(entry, parts, self.part_size, _checksum(entry))


def _link_from(live: Path, parts: list[Path], sizes: list[int]) -> bool:
    """Hard links to the live site's files of the same names and sizes, or False with none
    made. Site to site only: the cache never shares an inode with a site."""
    try:
        if any(
            os.stat(live / part.name).st_size != size
            for part, size in zip(parts, sizes, strict=True)
        ):
            return False
        for part in parts:
            os.link(live / part.name, part)
    except OSError:
        for part in parts:
            part.unlink(missing_ok=True)
        return False
    return True


def _checksum(entry: Path) -> str:
    """A sealed-file cache entry's name ends with the SHA-256 of its bytes."""
    return entry.name.rpartition(".")[2]


class KeyCache:
    """Wrapped content keys between builds: public (the site publishes them anyway), stored
    under an id derived from the client's keys, so a new master secret or key version
    misses. The file is checksummed; a damaged one reads as empty."""

    def __init__(self, path: Path) -> None:
        self.path = path
        data = read_json(path)
        self.entries: dict[str, dict[str, str]] = data if isinstance(data, dict) else {}
        self.changed = False

    def _id(self, keys: ClientKeys, mode: AccessMode) -> str:
        from handover.sealing import PBKDF2_ITERATIONS

        label = f"wrapped/{mode}/{PBKDF2_ITERATIONS}".encode()
        return hmac.new(keys.nonce_key, label, hashlib.sha256).hexdigest()

    def get(self, keys: ClientKeys, mode: AccessMode) -> WrappedKey | None:
        from handover.sealing import WrappedKey

        entry = self.entries.get(self._id(keys, mode))
        try:
            return WrappedKey.from_json(entry) if isinstance(entry, dict) else None
        except (KeyError, ValueError, TypeError):
            return None

    def put(self, keys: ClientKeys, mode: AccessMode, wrapped: WrappedKey) -> None:
        self.entries[self._id(keys, mode)] = wrapped.as_json()
        self.changed = True

    def save(self) -> None:
        if self.changed:
            write_json(self.path, self.entries)
            self.changed = False


@dataclass(frozen=True)
class StaleFolders:
    """Staging and retired folders a killed build left beside a site."""

    site: Path

    def patterns(self) -> tuple[str, str]:
        return (f".{self.site.name}.building-*", f".{self.site.name}.old-*")

    def __iter__(self) -> Iterator[Path]:
        parent = self.site.parent
        if not parent.is_dir():
            return iter(())
        return iter(sorted(p for pattern in self.patterns() for p in parent.glob(pattern)))

    def remove(self) -> None:
        """Delete them; if a build was killed between the two renames of a swap (systems
        without an atomic exchange), the retired site goes back in place first."""
        stale = list(self)
        retired = [p for p in stale if p.name.startswith(f".{self.site.name}.old-")]
        if not self.site.exists() and retired:
            retired[-1].rename(self.site)
            stale.remove(retired[-1])
        for folder in stale:
            shutil.rmtree(folder, ignore_errors=True)


@dataclass(frozen=True)
class CachedShells:
    """What a build without the theme needs: the shells as ``[language, mode, folder,
    html]`` rows, and the files and folders the theme put in the site besides pages, each
    with the digest of its bytes (carried over from the live site only while they match)."""

    rows: list[list[str]]
    theme_files: dict[str, str]


@dataclass(frozen=True)
class Shells:
    """The pages the theme rendered per language and access mode, kept for rebuilds while
    nothing they depend on changes (``key``: the shared fingerprint and library versions).
    Signed (``signing_key``, from the master secret), because what is in them is published:
    a file planted in a shared CI cache is ignored, never published."""

    path: Path
    key: str
    signing_key: bytes

    def load(self) -> CachedShells | None:
        data = read_signed_json(self.path, self.signing_key)
        if not isinstance(data, dict) or data.get("key") != self.key:
            return None
        rows, names = data.get("shells"), data.get("theme_files")
        if not (isinstance(rows, list) and isinstance(names, dict)):
            return None
        return CachedShells(
            [row for row in rows if isinstance(row, list) and all(map(_is_str, row))],
            {name: digest for name, digest in names.items() if _is_str(digest)},
        )

    def save(self, rows: list[list[str]], theme_files: dict[str, str], *, merge: bool) -> None:
        """This build's shells; with ``merge``, also those of earlier builds of the same key
        that this build did not need."""
        earlier = self.load() if merge else None
        known = {
            (row[0], row[1]): row for row in (earlier.rows if earlier else []) if len(row) == 4
        }
        known.update({(row[0], row[1]): row for row in rows})
        data = {
            "key": self.key,
            "shells": [known[key] for key in sorted(known)],
            "theme_files": theme_files,
        }
        write_signed_json(self.path, data, self.signing_key)


def _is_str(value: object) -> bool:
    return isinstance(value, str)


class SignedBytecodeCache(jinja2.BytecodeCache):
    """The theme's compiled templates between builds (compiling them is most of MkDocs'
    start-up), each file signed with a key derived from the master secret.

    Jinja's own file cache unpickles and unmarshals whatever it finds, so anyone who could
    write to ``.handover/cache`` (a shared CI cache) could run code in the build that holds
    the master secret. Here a file whose HMAC does not hold is ignored and rewritten."""

    def __init__(self, folder: Path, key: bytes) -> None:
        self.folder = folder
        self.key = key

    def _path(self, bucket: jinja2.bccache.Bucket) -> Path:
        return self.folder / f"{bucket.key}.cache"

    def load_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        try:
            data = self._path(bucket).read_bytes()
        except OSError:
            return
        mac, body = data[:32], data[32:]
        expected = hmac.new(self.key, body, hashlib.sha256).digest()
        if hmac.compare_digest(mac, expected):
            bucket.load_bytecode(io.BytesIO(body))

    def dump_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        body = io.BytesIO()
        bucket.write_bytecode(body)
        data = body.getvalue()
        atomic_write(self._path(bucket), hmac.new(self.key, data, hashlib.sha256).digest() + data)

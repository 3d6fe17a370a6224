"""Stage 6: seal a client's page and files so the web host never sees them.

Format (documented for auditors in SECURITY.md):

* A content key (AES-256-GCM) encrypts the page and every file of one client.
* It is wrapped under a key-encryption key (KEK) that depends on the access mode:
  the link key from the URL fragment, PBKDF2-HMAC-SHA256 of the passphrase
  (600,000 iterations, per-client salt), or HKDF of both.
* Files are cut into 1 MiB chunks; each chunk has its own nonce and authenticates
  the client, file id, chunk index and a last-chunk flag, so chunks can be neither
  reordered, swapped between files, nor cut off.
* Nonces are synthetic (SIV-style): HMAC-SHA-256 under a per-client nonce key over the
  associated data and the very bytes being encrypted, computed while encrypting them.
  The same input gives byte-identical output (builds stay deterministic) and different
  plaintexts never share a nonce, whatever a cache believes about a file.
* The page's plaintext and every file are padded to a Padmé size class, so the host
  learns a rough size, not the exact one.
* A sealed file's name is a keyed hash of its place, its content and the seal variant, so
  new bytes always come under a new name (hosts may cache files as immutable); a sealed
  file larger than the portal's ``part_size`` is published cut into consecutive parts, each
  under its own keyed name, which the browser reads in order as one stream.
* A sealed page is a client-independent shell with the envelope filled into its one
  ``<script type="application/json">`` slot (``fill_shell``); nothing is cut out of a
  themed page.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac
import json
import os
import struct
import typing
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from handover.keys import ClientKeys
from handover.model import AccessMode

if typing.TYPE_CHECKING:
    from handover.caching import KeyCache

ACCESS_MODES: tuple[AccessMode, ...] = typing.get_args(AccessMode)

FORMAT_VERSION = 1
PBKDF2_ITERATIONS = 600_000
CHUNK_SIZE = 1 << 20
#: Version 2: the sealed file is padded with zero bytes after its last chunk.
FILE_MAGIC = b"HOF2"
NONCE_BYTES = 12
TAG_BYTES = 16
#: Header of a sealed file: the magic and the chunk size (uint32, big-endian).
FILE_HEADER_BYTES = len(FILE_MAGIC) + 4
#: Encrypted files larger than this are published as several parts (``part_size``): it
#: fits Cloudflare Pages' 25 MiB per file and GitHub Pages' 100 MiB.
DEFAULT_PART_SIZE = 20 << 20
#: Smaller parts would only multiply requests: one part holds at least one whole chunk.
MIN_PART_SIZE = 1 << 20
#: Smallest size class of a page's plaintext: short pages all look alike.
PAGE_FLOOR = 16 * 1024
#: The one place in a page shell where a client's envelope goes.
ENVELOPE_SLOT = '<script type="application/json" id="handover-envelope">null</script>'


@dataclass(frozen=True)
class WrappedKey:
    """The content key, encrypted under the KEK: public, safe to publish and to cache."""

    nonce: bytes
    ciphertext: bytes

    def as_json(self) -> dict[str, str]:
        return {"nonce": _b64(self.nonce), "ct": _b64(self.ciphertext)}

    @classmethod
    def from_json(cls, data: dict[str, str]) -> WrappedKey:
        return cls(_unb64(data["nonce"]), _unb64(data["ct"]))


@dataclass(frozen=True)
class Seal:
    """Everything needed to seal one client's page and files in one build."""

    keys: ClientKeys
    mode: AccessMode
    wrapped: WrappedKey
    #: File ids worked out in this build: a build asks for each file's several times.
    _file_ids: dict[tuple[str, str], str] = field(
        default_factory=dict, init=False, repr=False, compare=False
    )

    @functools.cached_property
    def content_key(self) -> bytes:
        """The key of this client's page and files in this access mode."""
        return mode_content_key(self.keys, self.mode)

    @property
    def variant(self) -> str:
        """What besides the plaintext decides a sealed file's bytes: format and mode."""
        return f"{FILE_MAGIC.decode()}-{self.mode}"

    def file_id(self, site_path: str, sha256: str) -> str:
        """A file's name on the host without ``.bin``; bound into each of its chunks too, so a
        chunk of one file (or of an older version of it) cannot stand in for another's."""
        found = self._file_ids.get((site_path, sha256))
        if found is None:
            found = self.keys.file_name(site_path, sha256, self.variant).removesuffix(".bin")
            self._file_ids[(site_path, sha256)] = found
        return found

    def part_names(self, file_id: str, size: int, part_size: int) -> list[str]:
        """The names the sealed file of ``size`` plaintext bytes is published under, in
        order: its own name while it fits in one part."""
        count = part_count(sealed_size(size), part_size)
        return self.keys.part_names(file_id, part_size, count)

    def envelope(self, payload: dict[str, Any]) -> dict[str, Any]:
        """The page's encrypted content and what a browser needs to open it."""
        plaintext = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()
        # JSON allows trailing white space: the browser's JSON.parse reads through it.
        plaintext += b" " * (padded_size(max(len(plaintext), PAGE_FLOOR)) - len(plaintext))
        aad = _aad("page", self.keys.slug)
        nonce = _nonce(self.keys.nonce_key, aad, plaintext)
        ciphertext = AESGCM(self.content_key).encrypt(nonce, plaintext, aad)
        return {
            "v": FORMAT_VERSION,
            "mode": self.mode,
            "slug": self.keys.slug,
            "kdf": {
                "name": "PBKDF2",
                "hash": "SHA-256",
                "iterations": PBKDF2_ITERATIONS,
                "salt": _b64(self.keys.salt),
            },
            "wrapped": self.wrapped.as_json(),
            "page": {"nonce": _b64(nonce), "ct": _b64(ciphertext)},
        }

    def seal_file(self, file_id: str, source: Path, target: Path) -> str:
        """Encrypt ``source`` chunk by chunk into ``target``, padded to its size class;
        memory stays at one chunk. Each chunk's nonce comes from the chunk itself, as read.

        Returns the SHA-256 of the bytes actually encrypted."""
        size = source.stat().st_size
        count = max(1, -(-size // CHUNK_SIZE))
        cipher = AESGCM(self.content_key)
        digest = hashlib.sha256()
        target.parent.mkdir(parents=True, exist_ok=True)
        with source.open("rb") as reader, target.open("wb") as writer:
            written = writer.write(FILE_MAGIC + struct.pack(">I", CHUNK_SIZE))
            for index in range(count):
                chunk = reader.read(CHUNK_SIZE)
                digest.update(chunk)
                last = index == count - 1
                if last and reader.read(1):
                    raise OSError(f"{source} grew while it was being encrypted")
                aad = _aad("file", self.keys.slug, file_id, index, int(last))
                nonce = _nonce(self.keys.nonce_key, aad, chunk)
                written += writer.write(nonce + cipher.encrypt(nonce, chunk, aad))
            writer.write(bytes(padded_size(written) - written))
        return digest.hexdigest()


def sealed_size(size: int) -> int:
    """How many bytes ``seal_file`` writes for ``size`` bytes of plaintext: the header, a
    nonce and a tag per chunk, then padding to the size class. Known before encrypting, so a
    page can list a file's parts before the file is sealed."""
    count = max(1, -(-size // CHUNK_SIZE))
    return padded_size(FILE_HEADER_BYTES + size + count * (NONCE_BYTES + TAG_BYTES))


def part_count(sealed: int, part_size: int) -> int:
    """Parts of at most ``part_size`` bytes that ``sealed`` bytes are cut into."""
    return max(1, -(-sealed // part_size))


def key_encryption_key(keys: ClientKeys, mode: AccessMode) -> bytes:
    """The KEK of a mode. PBKDF2 dominates the cost (~0.25 s); it releases the GIL."""
    if mode == "link":
        return keys.link_key
    stretched = hashlib.pbkdf2_hmac(
        "sha256", keys.passphrase.encode(), keys.salt, PBKDF2_ITERATIONS, dklen=32
    )
    if mode == "passphrase":
        return stretched
    return HKDF(
        algorithm=hashes.SHA256(), length=32, salt=keys.salt, info=b"handover/v1/link+passphrase"
    ).derive(keys.link_key + stretched)


def mode_content_key(keys: ClientKeys, mode: AccessMode) -> bytes:
    """The content key bound to an access mode. A case moved to a stricter mode gets a new
    key, so whoever held the old link or passphrase cannot open the new page with it."""
    return hmac.new(keys.content_key, _aad("content", mode), hashlib.sha256).digest()


def wrap_content_key(keys: ClientKeys, mode: AccessMode, kek: bytes) -> WrappedKey:
    aad = _aad("wrap", keys.slug, mode)
    nonce = _nonce(keys.nonce_key, aad, kek)
    return WrappedKey(nonce, AESGCM(kek).encrypt(nonce, mode_content_key(keys, mode), aad))


def make_seals(
    requests: Iterable[tuple[ClientKeys, AccessMode]], cache: KeyCache | None = None
) -> list[Seal]:
    """A seal per client; PBKDF2 runs once per client, spread over all cores, or not at all
    when the wrapped key is already cached."""
    requests = list(requests)

    def seal(request: tuple[ClientKeys, AccessMode]) -> Seal:
        keys, mode = request
        wrapped = cache.get(keys, mode) if cache else None
        if wrapped is None:
            wrapped = wrap_content_key(keys, mode, key_encryption_key(keys, mode))
            if cache:
                cache.put(keys, mode, wrapped)
        return Seal(keys, mode, wrapped)

    slow = sum(1 for _, mode in requests if mode != "link")
    if slow < 2:
        return [seal(request) for request in requests]
    with ThreadPoolExecutor(max_workers=os.cpu_count() or 2) as pool:
        return list(pool.map(seal, requests))


def _aad(kind: str, *parts: str | int) -> bytes:
    return "/".join(["handover", f"v{FORMAT_VERSION}", kind, *map(str, parts)]).encode()


def _nonce(nonce_key: bytes, aad: bytes, plaintext: bytes) -> bytes:
    """A synthetic IV: a function of the key, the associated data and the plaintext itself
    (the bytes being encrypted, never a digest from elsewhere)."""
    mac = hmac.new(nonce_key, struct.pack(">I", len(aad)) + aad, hashlib.sha256)
    mac.update(plaintext)
    return mac.digest()[:NONCE_BYTES]


def padded_size(size: int) -> int:
    """Padmé (Nikitin et al., PETS 2019): round up to a size class that keeps only
    O(log log size) bits of the exact size, at most 12 % more bytes."""
    if size < 2:
        return size
    exponent = size.bit_length() - 1
    significant = exponent.bit_length()
    mask = (1 << (exponent - significant)) - 1
    return (size + mask) & ~mask


def fill_shell(shell: str, envelope: dict[str, Any]) -> str:
    """A sealed page: the client-independent shell with the envelope in its one slot.

    The shell never saw the client, so its one slot is the only place anything of theirs
    goes; the JSON is written so that no ``<`` or ``&`` can end the script element."""
    if shell.count(ENVELOPE_SLOT) != 1:
        raise ValueError("the page shell must hold exactly one envelope slot")
    data = json.dumps(envelope, separators=(",", ":"), sort_keys=True)
    data = data.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
    return shell.replace(ENVELOPE_SLOT, ENVELOPE_SLOT.replace(">null<", f">{data}<"))


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def _unb64(text: str) -> bytes:
    return base64.b64decode(text)

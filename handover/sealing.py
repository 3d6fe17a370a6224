"""Stage 6: seal a client's page and files so the web host never sees them.

Format (documented for auditors in SECURITY.md):

* A content key (AES-256-GCM) encrypts the page and every file of one client.
* It is wrapped under a key-encryption key (KEK) that depends on the access mode:
  the link key from the URL fragment, PBKDF2-HMAC-SHA256 of the passphrase
  (600,000 iterations, per-client salt), or HKDF of both.
* Files are cut into 1 MiB chunks; each chunk has its own nonce and authenticates
  the client, file id, chunk index and a last-chunk flag, so chunks can be neither
  reordered, swapped between files, nor cut off.
* Nonces are derived from the plaintext's hash with a per-client key (SIV-style):
  the same input gives byte-identical output, and different inputs never share a
  nonce. This keeps builds deterministic without ever reusing a nonce unsafely.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import struct
import typing
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
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
FILE_MAGIC = b"HOF1"
NONCE_BYTES = 12
TAG_BYTES = 16


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

    def envelope(self, payload: dict[str, Any]) -> dict[str, Any]:
        """The page's encrypted content and what a browser needs to open it."""
        plaintext = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()
        aad = _aad("page", self.keys.slug)
        nonce = _nonce(self.keys.nonce_key, aad, hashlib.sha256(plaintext).digest())
        ciphertext = AESGCM(self.keys.content_key).encrypt(nonce, plaintext, aad)
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

    def seal_file(self, file_id: str, source: Path, target: Path, sha256: str) -> None:
        """Encrypt ``source`` chunk by chunk into ``target``; memory stays at one chunk."""
        size = source.stat().st_size
        count = max(1, -(-size // CHUNK_SIZE))
        cipher = AESGCM(self.keys.content_key)
        target.parent.mkdir(parents=True, exist_ok=True)
        with source.open("rb") as reader, target.open("wb") as writer:
            writer.write(FILE_MAGIC + struct.pack(">I", CHUNK_SIZE))
            for index in range(count):
                chunk = reader.read(CHUNK_SIZE)
                aad = _aad("file", self.keys.slug, file_id, index, int(index == count - 1))
                nonce = _nonce(self.keys.nonce_key, aad, bytes.fromhex(sha256))
                writer.write(nonce + cipher.encrypt(nonce, chunk, aad))


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


def wrap_content_key(keys: ClientKeys, mode: AccessMode, kek: bytes) -> WrappedKey:
    aad = _aad("wrap", keys.slug, mode)
    nonce = _nonce(keys.nonce_key, aad, kek)
    return WrappedKey(nonce, AESGCM(kek).encrypt(nonce, keys.content_key, aad))


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


def _nonce(nonce_key: bytes, aad: bytes, content_digest: bytes) -> bytes:
    return hmac.new(nonce_key, aad + b"\x00" + content_digest, hashlib.sha256).digest()[
        :NONCE_BYTES
    ]


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def _unb64(text: str) -> bytes:
    return base64.b64decode(text)

"""The master secret, and everything derived from it per client.

One secret (``HANDOVER_SECRET``; locally a git-ignored file) derives each client's
page path and, with ``key_version``, their keys. Nothing derived here is stored
in git, and the same secret gives the same paths on every build and machine.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac
import logging
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

SECRET_ENV = "HANDOVER_SECRET"
LOCAL_SECRET_FILE = Path(".handover") / "secret"
MIN_SECRET_CHARS = 32

log = logging.getLogger("mkdocs.plugins.handover")


class SecretError(Exception):
    """The master secret is missing or unusable; the message says what to do."""


@dataclass(frozen=True)
class MasterSecret:
    value: bytes
    origin: str

    def derive(self, purpose: str, *parts: str | int, length: int = 32) -> bytes:
        """HMAC-SHA256 based derivation, separated by purpose so no two uses share bytes."""
        message = "\x1f".join(["handover/v1", purpose, *map(str, parts)]).encode()
        output = b""
        counter = 0
        while len(output) < length:
            counter += 1
            output += hmac.new(self.value, message + bytes([counter]), hashlib.sha256).digest()
        return output[:length]

    def page_slug(self, client_id: str, key_version: int = 1) -> str:
        """The unguessable folder of a client's page: 130 bits, lowercase base32."""
        return _base32(self.derive("page-path", client_id, key_version, length=17))[:26]

    def client_keys(self, client_id: str, key_version: int = 1) -> ClientKeys:
        """Every secret of one client; a new ``key_version`` replaces all of them at once."""
        parts = (client_id, key_version)
        return ClientKeys(
            client_id=client_id,
            slug=self.page_slug(client_id, key_version),
            content_key=self.derive("content-key", *parts),
            link_key=self.derive("link-key", *parts),
            passphrase=_passphrase(self.derive("passphrase", *parts, length=16)),
            salt=self.derive("pbkdf2-salt", *parts, length=16),
            nonce_key=self.derive("nonce-key", *parts),
            file_name_key=self.derive("file-name-key", *parts),
        )


@dataclass(frozen=True)
class ClientKeys:
    """What one client's page is sealed with; derived, never stored."""

    client_id: str
    #: The page's folder name.
    slug: str
    #: AES-256-GCM key of the page and of every file.
    content_key: bytes
    #: Travels in the URL fragment (``#k=``) in the link modes.
    link_key: bytes
    #: Six words the client types in the passphrase modes.
    passphrase: str
    #: PBKDF2 salt: unique per client and key version.
    salt: bytes
    #: Derives nonces from content, so equal input gives equal output (deterministic builds).
    nonce_key: bytes
    #: Derives the random-looking names of encrypted files.
    file_name_key: bytes

    def file_name(self, file_id: str) -> str:
        digest = hmac.new(self.file_name_key, file_id.encode(), hashlib.sha256).digest()
        return _base32(digest[:15]) + ".bin"

    @property
    def link_fragment(self) -> str:
        return "k=" + base64.urlsafe_b64encode(self.link_key).decode().rstrip("=")


PASSPHRASE_WORDS = 6


def _passphrase(entropy: bytes) -> str:
    """Six BIP-39 words (2048 = 2^11 each, so 66 bits): easy to read aloud and to type."""
    words = _bip39_words()
    number = int.from_bytes(entropy, "big")
    return " ".join(words[(number >> (11 * i)) & 0x7FF] for i in range(PASSPHRASE_WORDS))


@functools.cache
def _bip39_words() -> list[str]:
    from mnemonic import Mnemonic

    return list(Mnemonic("english").wordlist)


def _base32(data: bytes) -> str:
    return base64.b32encode(data).decode().rstrip("=").lower()


def load_master_secret(project_dir: Path, *, in_ci: bool | None = None) -> MasterSecret:
    """The secret from the environment, else from the local file, created on first use.

    In CI a missing secret is an error: inventing one there would publish pages
    under paths nobody was sent, and change them on every run.
    """
    if in_ci is None:
        in_ci = os.environ.get("CI", "").lower() in {"1", "true", "yes"}
    from_env = os.environ.get(SECRET_ENV)
    if from_env is not None:
        return MasterSecret(_checked(from_env, f"${SECRET_ENV}"), f"${SECRET_ENV}")
    path = project_dir / LOCAL_SECRET_FILE
    if path.is_file():
        return MasterSecret(_checked(path.read_text().strip(), str(path)), str(path))
    if in_ci:
        raise SecretError(
            f"{SECRET_ENV} is not set. In CI the master secret must come from the "
            f"repository's secrets (see docs/ci.md); refusing to invent one."
        )
    path.parent.mkdir(parents=True, exist_ok=True)
    (path.parent / ".gitignore").write_text("*\n")
    path.write_text(secrets.token_urlsafe(32) + "\n")
    path.chmod(0o600)
    log.warning(
        "Created a new master secret in %s (git-ignored). Keep a copy in your password "
        "manager and set it as %s in CI: every client link depends on it.",
        path,
        SECRET_ENV,
    )
    return MasterSecret(_checked(path.read_text().strip(), str(path)), str(path))


def _checked(value: str, origin: str) -> bytes:
    if len(value) < MIN_SECRET_CHARS:
        raise SecretError(
            f"the master secret in {origin} is too short ({len(value)} characters; "
            f"at least {MIN_SECRET_CHARS}). Generate one with: "
            "python -c 'import secrets; print(secrets.token_urlsafe(32))'"
        )
    return value.encode()

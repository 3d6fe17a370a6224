"""The master secret, and everything derived from it per client.

One secret (``HANDOVER_SECRET``; locally a git-ignored file) derives each client's
page path and, with ``key_version``, their keys. Nothing derived here is stored
in git, and the same secret gives the same paths on every build and machine.
"""

from __future__ import annotations

import base64
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
        digest = self.derive("page-path", client_id, key_version, length=17)
        return base64.b32encode(digest).decode().rstrip("=").lower()[:26]


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
            f"repository's secrets (see README, 'Publishing'); refusing to invent one."
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

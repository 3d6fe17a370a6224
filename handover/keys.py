"""The master secret, and everything derived from it per client.

One secret (``HANDOVER_SECRET``; locally a git-ignored file) derives each client's
page path and, with ``key_version``, their keys. Nothing derived here is stored
in git, and the same secret gives the same paths on every build and machine.

Continuity matters more than convenience: a different secret moves every client's page
away from the link they were sent. So the portal records a public identifier of its
secret (``.handover/secret-id``, committed) when the secret is created, every command
that uses a secret compares it, and a secret is created only by ``handover new-secret``
or by the first build of a portal that has never been built.
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

from handover.caching import LOCAL_SECRET_FILE, SECRET_ID_FILE, STATE_FILE, atomic_write, prepare
from handover.errors import SecretError

__all__ = ["LOCAL_SECRET_FILE", "SECRET_ID_FILE", "SecretError"]

SECRET_ENV = "HANDOVER_SECRET"
MIN_SECRET_CHARS = 32
GENERATE_HINT = "handover new-secret"

log = logging.getLogger("mkdocs.plugins.handover")


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

    @property
    def identifier(self) -> str:
        """Public and stable: names this secret in messages and in ``.handover/secret-id``
        without revealing anything of it (an HMAC of a fixed label)."""
        return "hs1-" + _base32(self.derive("secret-identifier", length=10))

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

    def file_name(self, site_path: str, sha256: str, variant: str) -> str:
        """The published name of an encrypted file, content-addressed but keyed.

        It changes whenever the file's bytes could: with the document's place on the page,
        its content (``sha256`` of the plaintext) and the seal variant (format and access
        mode, which decide the key). So the host may cache it for good (``immutable``), and
        a replaced document is a new object, the old one deleted. The HMAC under the
        client's file-name key keeps it a random-looking 120 bits: nobody without the key
        can confirm a known file by its hash, or link the same file across clients."""
        return self._name("file", sha256, variant, site_path) + ".bin"

    def part_names(self, file_id: str, part_size: int, count: int) -> list[str]:
        """The names of a sealed file's parts when it is cut into ``count`` parts of
        ``part_size`` bytes; one part keeps the file's own name.

        Each part's name is derived on its own (not ``<name>-2.bin``), so the listing of a
        page's folder does not say which parts make one file; and it depends on the part
        size, because a part's bytes do: a new part size gives new names, never new bytes
        under a name a cache holds as immutable."""
        if count == 1:
            return [f"{file_id}.bin"]
        return [self._name("part", file_id, part_size, n) + ".bin" for n in range(1, count + 1)]

    def _name(self, *fields: str | int) -> str:
        """120 bits of HMAC, base32, over the fields joined by NUL. Only the last field may
        be free text (a document's place); the others (a kind, hex digests, the variant,
        numbers) hold no NUL, so no two lists of fields give one message. (A JSON list
        would do too, at twice the cost: this runs a few times per file per build.)"""
        message = "\0".join(["handover/v1/file-name", *map(str, fields)]).encode()
        digest = hmac.new(self.file_name_key, message, hashlib.sha256).digest()
        return _base32(digest[:15])

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


def load_master_secret(
    project_dir: Path, *, may_create: bool = False, in_ci: bool | None = None
) -> MasterSecret:
    """The secret from the environment, else from the local file; checked against the
    portal's recorded identifier.

    ``may_create`` (``build``, ``serve``): a portal that was never built and has no secret
    gets one. Never in CI, where it would publish pages under paths nobody was sent, and
    never once pages exist (``last-build.json`` or ``secret-id``): the links sent to clients
    depend on the lost secret, and only an explicit ``handover new-secret`` may replace it.
    """
    if in_ci is None:
        in_ci = os.environ.get("CI", "").lower() in {"1", "true", "yes"}
    secret = _found_secret(project_dir)
    if secret is None:
        _refuse_to_create(project_dir, may_create=may_create, in_ci=in_ci)
        secret = _create(project_dir)
        log.warning(
            "Created a new master secret in %s (git-ignored); its identifier %s is in %s, to "
            "commit. Keep a copy of the secret in your password manager and set it as %s in "
            "CI: every client link depends on it.",
            project_dir / LOCAL_SECRET_FILE,
            secret.identifier,
            SECRET_ID_FILE,
            SECRET_ENV,
        )
    elif may_create and not _ever_built(project_dir):
        # The first build with a secret given (CI, a password manager) records which one it
        # was, as creating one does: from now on a different secret is stopped.
        _record_identifier(secret, project_dir)
    check_identifier(secret, project_dir)
    return secret


def _ever_built(project_dir: Path) -> bool:
    return (project_dir / SECRET_ID_FILE).exists() or (project_dir / STATE_FILE).exists()


def new_secret(project_dir: Path) -> MasterSecret:
    """``handover new-secret``: a new master secret in ``.handover/secret`` and its identifier
    in ``.handover/secret-id``. Refuses when a secret exists (env or file): replacing it is
    done by hand, on purpose, because it moves every client's page."""
    if os.environ.get(SECRET_ENV) is not None:
        raise SecretError(
            f"${SECRET_ENV} is set: this portal has a master secret already. Unset it to "
            "create a local one."
        )
    path = project_dir / LOCAL_SECRET_FILE
    if path.exists():
        raise SecretError(
            f"{path} exists: this portal has a master secret already. Replacing it moves every "
            "client's page to a new address; if that is what you want, move the file away "
            "first (keep it: it is the only way back to the old links)."
        )
    return _create(project_dir)


def check_identifier(secret: MasterSecret, project_dir: Path) -> None:
    """Stop when the secret in use is not the one the portal recorded."""
    recorded_file = project_dir / SECRET_ID_FILE
    try:
        recorded = recorded_file.read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        return
    except (OSError, UnicodeDecodeError) as error:
        raise SecretError(f"{recorded_file}: cannot be read ({error})") from None
    if recorded != secret.identifier:
        raise SecretError(
            f"the master secret from {secret.origin} (identifier {secret.identifier}) is not "
            f"this portal's secret (identifier {recorded}, recorded in {SECRET_ID_FILE}). "
            "Every client link would change; use the secret that made the links."
        )


def _found_secret(project_dir: Path) -> MasterSecret | None:
    from_env = os.environ.get(SECRET_ENV)
    if from_env is not None:
        return MasterSecret(_checked(from_env.strip(), f"${SECRET_ENV}"), f"${SECRET_ENV}")
    path = project_dir / LOCAL_SECRET_FILE
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError) as error:
        raise SecretError(f"{path}: the master secret cannot be read ({error})") from None
    return MasterSecret(_checked(text.strip(), str(path)), str(path))


def _refuse_to_create(project_dir: Path, *, may_create: bool, in_ci: bool) -> None:
    where = (
        f"Set {SECRET_ENV} (in CI: from the repository's secrets, see README 'Publishing') "
        f"or put the secret in {project_dir / LOCAL_SECRET_FILE}"
    )
    if in_ci:
        raise SecretError(
            f"{SECRET_ENV} is not set. In CI the master secret must come from the "
            f"repository's secrets (see docs/ci.md); refusing to invent one."
        )
    recorded = project_dir / SECRET_ID_FILE
    if recorded.is_file() or (project_dir / STATE_FILE).is_file():
        known = (
            f" (identifier {recorded.read_text(encoding='utf-8').strip()}, {SECRET_ID_FILE})"
            if recorded.is_file()
            else ""
        )
        raise SecretError(
            f"no master secret found, but this portal has been built with one{known}: every "
            f"link sent to a client depends on it. {where}. Only if it is lost for good, "
            f"create a new one with '{GENERATE_HINT}' (every client then needs a new link)."
        )
    if not may_create:
        raise SecretError(
            f"no master secret found. {where}; a new portal gets one from '{GENERATE_HINT}' "
            "or its first 'handover build'."
        )


def _create(project_dir: Path) -> MasterSecret:
    prepare(project_dir)
    path = project_dir / LOCAL_SECRET_FILE
    value = secrets.token_urlsafe(32)
    atomic_write(path, (value + "\n").encode(), durable=True)
    secret = MasterSecret(_checked(value, str(path)), str(path))
    _record_identifier(secret, project_dir)
    return secret


def _record_identifier(secret: MasterSecret, project_dir: Path) -> None:
    prepare(project_dir)
    atomic_write(project_dir / SECRET_ID_FILE, (secret.identifier + "\n").encode(), durable=True)
    (project_dir / SECRET_ID_FILE).chmod(0o644)


def _checked(value: str, origin: str) -> bytes:
    if len(value) < MIN_SECRET_CHARS:
        raise SecretError(
            f"the master secret in {origin} is too short ({len(value)} characters; "
            f"at least {MIN_SECRET_CHARS}). Generate one with: {GENERATE_HINT}"
        )
    return value.encode()

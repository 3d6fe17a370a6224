"""Deletion certificates: a signed statement of what was deleted for a client, and when.

The signing key is Ed25519, derived from the master secret, so it never lives in git
and every build signs with the same key. The certificate carries its public key; staff
check origin with ``handover verify-certificate`` (which derives the key again) and
anyone can check integrity against the public key the firm gives out.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Sequence
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from handover.deletions import Deletion, last_deletion_day
from handover.errors import CertificateError
from handover.keys import MasterSecret

CERTIFICATE_FORMAT = "handover-deletion-certificate/1"


def signing_key(secret: MasterSecret) -> Ed25519PrivateKey:
    return Ed25519PrivateKey.from_private_bytes(secret.derive("deletion-certificate-key"))


def firm_public_key(secret: MasterSecret) -> str:
    """The public half, base64: what the firm gives out so anyone can check a certificate."""
    return public_key_text(signing_key(secret).public_key())


def public_key_text(key: Ed25519PublicKey) -> str:
    return base64.b64encode(key.public_bytes(Encoding.Raw, PublicFormat.Raw)).decode()


def make_certificate(
    secret: MasterSecret,
    *,
    firm: str,
    client_id: str,
    client_name: str,
    deletions: Sequence[Deletion],
) -> bytes:
    """The signed certificate as JSON bytes; the same record always gives the same bytes."""
    key = signing_key(secret)
    statement = {
        "format": CERTIFICATE_FORMAT,
        "firm": firm,
        "client": {"id": client_id, "name": client_name},
        "issued_on": str(last_deletion_day(list(deletions))),
        "deleted": [
            {
                "title": d.title,
                "file": d.file,
                "size": d.size,
                "sha256": d.sha256,
                "deleted_on": d.deleted_on.isoformat(),
                "deleted_by": d.deleted_by,
            }
            for d in deletions
        ],
        "public_key": public_key_text(key.public_key()),
    }
    signature = key.sign(_canonical(statement))
    signed = {**statement, "signature": base64.b64encode(signature).decode()}
    return (json.dumps(signed, ensure_ascii=False, indent=2) + "\n").encode()


def verify_certificate(data: bytes, trusted_key: str | None = None) -> dict[str, Any]:
    """The certificate's statement if its signature holds under ``trusted_key`` (base64),
    or under its own embedded key when none is given; else ``CertificateError``."""
    try:
        signed = json.loads(data)
        statement = {k: v for k, v in signed.items() if k != "signature"}
        signature = base64.b64decode(signed["signature"], validate=True)
        embedded = statement["public_key"]
    except (ValueError, KeyError, TypeError, AttributeError):
        raise CertificateError(
            "not a deletion certificate (unreadable JSON or fields missing)"
        ) from None
    if statement.get("format") != CERTIFICATE_FORMAT:
        raise CertificateError(f"unknown format {statement.get('format')!r}")
    if trusted_key is not None and trusted_key != embedded:
        raise CertificateError("signed with another key than the firm's")
    try:
        key = Ed25519PublicKey.from_public_bytes(base64.b64decode(embedded, validate=True))
        key.verify(signature, _canonical(statement))
    except (InvalidSignature, ValueError):
        raise CertificateError(
            "the signature does not match: the certificate was altered"
        ) from None
    return statement


def _canonical(statement: dict[str, Any]) -> bytes:
    """What is signed: sorted keys, no spaces, UTF-8, so any reformatting still verifies."""
    return json.dumps(statement, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode()

"""Deletion certificates: a signed statement of what was deleted for a client, from where,
and when, and what lies outside the tool's reach.

The scope lists every place the tool knows of (``deletions.PLACES``) with the day the
copies there were removed, or says that the place was not checked or not confirmed: it
never claims more than the deletion record shows. Labels are in the client's language.

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

from handover.deletions import PLACES, Deletion, Place, last_deletion_day
from handover.errors import CertificateError
from handover.keys import MasterSecret

CERTIFICATE_FORMAT = "handover-deletion-certificate/1"
#: The template that words the certificate's scope in the client's language.
CERTIFICATE_TEMPLATE = "certificate.json.j2"


#: The certificate's words, from ``templates/certificate.json.j2`` in the client's language.
Labels = dict[str, Any]


def certificate_scope(
    place_days: dict[Place, Any], unconfirmed: Sequence[Place], labels: Labels
) -> tuple[list[dict[str, Any]], list[str]]:
    """Each place, in order, with the day its copies were removed (None when they were not
    removed or not checked, with a note saying which), and what is outside the tool's reach."""
    scope = []
    for place in PLACES:
        day = place_days.get(place)
        entry: dict[str, Any] = {
            "place": place,
            "label": str(labels["places"][place]),
            "removed_on": day.isoformat() if day else None,
        }
        if day is None:
            entry["note"] = str(
                labels["not_confirmed"] if place in unconfirmed else labels["not_checked"]
            )
        scope.append(entry)
    return scope, [str(item) for item in labels["outside_reach"]]


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
    scope: Sequence[dict[str, Any]] = (),
    outside_reach: Sequence[str] = (),
    language: str = "en",
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
        "language": language,
        "scope": list(scope),
        "outside_reach": list(outside_reach),
        "public_key": public_key_text(key.public_key()),
    }
    signature = key.sign(_canonical(statement))
    signed = {**statement, "signature": base64.b64encode(signature).decode()}
    return (json.dumps(signed, ensure_ascii=False, indent=2) + "\n").encode()


def verify_certificate(data: bytes, trusted_key: str | None = None) -> dict[str, Any]:
    """The certificate's statement if its signature holds under ``trusted_key`` (base64),
    or under its own embedded key when none is given; else ``CertificateError``."""
    try:
        signed = json.loads(data, object_pairs_hook=_no_duplicate_keys)
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


def _no_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """JSON parsers disagree on which of two equal keys wins; a certificate has none."""
    found: dict[str, Any] = {}
    for key, value in pairs:
        if key in found:  # raised through json.loads, which lets it pass as it is
            raise CertificateError(
                f"the key {key!r} appears twice: a reader could see another statement than "
                "the one signed"
            )
        found[key] = value
    return found


def _canonical(statement: dict[str, Any]) -> bytes:
    """What is signed: sorted keys, no spaces, UTF-8, so any reformatting still verifies."""
    return json.dumps(statement, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode()

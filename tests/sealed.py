"""A second, independent reader of sealed pages and files, for tests.

It follows SECURITY.md rather than handover/sealing.py, so a change to the format
that the documentation does not describe fails here.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import struct
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from handover.keys import ClientKeys, MasterSecret
from tests.conftest import TEST_SECRET

SECRET = MasterSecret(TEST_SECRET.encode(), "test")


def keys(client_id: str, key_version: int = 1) -> ClientKeys:
    return SECRET.client_keys(client_id, key_version)


def page_dir(site: Path, client_id: str, key_version: int = 1) -> Path:
    return site / keys(client_id, key_version).slug


def envelope(site: Path, client_id: str) -> dict[str, Any]:
    html = (page_dir(site, client_id) / "index.html").read_text(encoding="utf-8")
    found = re.search(
        r'<script type="application/json" id="handover-envelope">(.*?)</script>', html
    )
    assert found, "no sealed envelope on the page"
    return dict(json.loads(found.group(1)))


def content_key(site: Path, client_id: str) -> bytes:
    """The key of the page and its files: the content key bound to the page's access mode."""
    mode = envelope(site, client_id)["mode"]
    label = f"handover/v1/content/{mode}".encode()
    return hmac.new(keys(client_id).content_key, label, hashlib.sha256).digest()


def open_page(site: Path, client_id: str) -> tuple[str, dict[str, Any]]:
    """The page's decrypted HTML and its file index."""
    sealed = envelope(site, client_id)
    client = keys(client_id)
    aad = f"handover/v1/page/{client.slug}".encode()
    plain = AESGCM(content_key(site, client_id)).decrypt(
        base64.b64decode(sealed["page"]["nonce"]), base64.b64decode(sealed["page"]["ct"]), aad
    )
    payload = json.loads(plain)
    return payload["html"], payload["files"]


def open_file(site: Path, client_id: str, href: str) -> bytes:
    """The decrypted bytes behind a download link on the page."""
    _, files = open_page(site, client_id)
    entry = files[href]
    client = keys(client_id)
    key = content_key(site, client_id)
    data = sealed_bytes(site, client_id, entry)
    assert data[:4] == b"HOF2"
    (chunk,) = struct.unpack(">I", data[4:8])
    count = max(1, -(-entry["size"] // chunk))
    offset, out = 8, b""
    for index in range(count):
        length = 12 + (chunk if index < count - 1 else entry["size"] - chunk * (count - 1)) + 16
        record = data[offset : offset + length]
        last = int(index == count - 1)
        aad = f"handover/v1/file/{client.slug}/{entry['id']}/{index}/{last}".encode()
        out += AESGCM(key).decrypt(record[:12], record[12:], aad)
        offset += length
    assert set(data[offset:]) <= {0}, "only zero padding after the last chunk"
    assert len(data) == padme(offset), "padded to exactly its size class"
    return out


def sealed_bytes(site: Path, client_id: str, entry: dict[str, Any]) -> bytes:
    """The sealed file as one stream: its parts, read in the order the page lists them."""
    folder = page_dir(site, client_id)
    return b"".join((folder / url).read_bytes() for url in entry["parts"])


def padme(size: int) -> int:
    """Padmé as SECURITY.md states it: keep the top log2(log2(size)) + 1 bits of the size."""
    exponent = size.bit_length() - 1
    mask = (1 << (exponent - exponent.bit_length())) - 1
    return (size + mask) & ~mask


def prepared_on(day: str, text: str) -> str:
    """How a page says the day it was made (``prepared_on`` in ``page.html.j2``)."""
    return f'<time class="handover-prepared" datetime="{day}">{text}</time>'

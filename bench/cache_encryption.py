"""What keeping the artefact cache encrypted at rest costs, against not keeping it at all.

Builds, for N cases of 20 small documents each (as ``bench/run.py`` makes them: 1.5-8 KB,
text that compresses and binary that does not), each case's ZIP the way
``handover.artifacts`` does, then times:

* zip:      making every ZIP again (the cost of dropping the cache: a build that renders
            every page again must rebuild each ZIP to learn its hash);
* encrypt:  AES-256-GCM of every ZIP (the cost of writing the cache encrypted at rest);
* decrypt:  reading every ZIP back (only needed when a sealed copy must be made again).

    .venv/bin/python bench/cache_encryption.py --n 1000
"""

from __future__ import annotations

import argparse
import io
import os
import random
import tempfile
import time
import zipfile
from pathlib import Path

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from handover import atrest

ZIP_TIME = (2000, 1, 1, 0, 0, 0)
KEY = bytes(32)


def documents(rng: random.Random) -> list[tuple[str, bytes]]:
    found = []
    for index in range(20):
        size = rng.randint(1_500, 8_000)
        if rng.random() < 0.4:
            line = b"2025-01-01,monthly bookkeeping,1234.56\n"
            data = (line * (size // len(line) + 1))[:size]
            found.append((f"documents/file-{index}.csv", data))
        else:
            found.append((f"documents/file-{index}.pdf", b"%PDF-1.7\n" + rng.randbytes(size - 9)))
    return found


def make_zip(files: list[tuple[str, bytes]]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in files:
            info = zipfile.ZipInfo(name, ZIP_TIME)
            stored = name.endswith(".pdf")
            info.compress_type = zipfile.ZIP_STORED if stored else zipfile.ZIP_DEFLATED
            archive.writestr(info, data)
    return buffer.getvalue()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=1000)
    args = parser.parse_args()
    rng = random.Random(1)
    cases = [documents(rng) for _ in range(args.n)]

    start = time.perf_counter()
    zips = [make_zip(files) for files in cases]
    zip_seconds = time.perf_counter() - start

    cipher = AESGCM(os.urandom(32))
    start = time.perf_counter()
    sealed = [(nonce := os.urandom(12), cipher.encrypt(nonce, data, None)) for data in zips]
    encrypt_seconds = time.perf_counter() - start

    start = time.perf_counter()
    for nonce, data in sealed:
        cipher.decrypt(nonce, data, None)
    decrypt_seconds = time.perf_counter() - start

    with tempfile.TemporaryDirectory() as scratch:
        root = Path(scratch) / "artifacts"
        for index, data in enumerate(zips):
            (root / f"case-{index}").mkdir(parents=True)
            (root / f"case-{index}" / "documents.zip").write_bytes(data)
        start = time.perf_counter()
        atrest.lock(root, KEY)
        lock_seconds = time.perf_counter() - start
        start = time.perf_counter()
        atrest.unlock([root / f"case-{index}" for index in range(len(zips))], KEY, root)
        unlock_seconds = time.perf_counter() - start
        start = time.perf_counter()
        atrest.lock(root, KEY)
        relock_seconds = time.perf_counter() - start

    total = sum(len(z) for z in zips)
    print(f"{args.n} ZIPs, {total / 1e6:.1f} MB in all")
    print(f"zip again (drop the cache):   {zip_seconds:.3f} s")
    print(f"encrypt at rest (AES-GCM):    {encrypt_seconds:.3f} s")
    print(f"decrypt when resealing:       {decrypt_seconds:.3f} s")
    print(
        f"handover.atrest, files on disk: lock {lock_seconds:.3f} s, unlock every case "
        f"{unlock_seconds:.3f} s, lock again unchanged {relock_seconds:.3f} s"
    )


if __name__ == "__main__":
    main()

"""What keeping the artefact cache encrypted at rest costs, against not keeping it at all.

Builds, for N cases of 20 small documents each (as ``bench/run.py`` makes them: 1.5-8 KB,
text that compresses and binary that does not), each case's ZIP the way
``handover.artifacts`` does, then times:

* zip:      making every ZIP again (the cost of dropping the cache: a build that renders
            every page again must rebuild each ZIP to learn its hash);
* encrypt:  AES-256-GCM of every ZIP (the cost of writing the cache encrypted at rest);
* decrypt:  reading every ZIP back (only needed when a sealed copy must be made again).

    .venv/bin/python bench/cache_encryption.py --n 1000

With ``--project DIR`` (a project ``bench/run.py --keep`` left, caches warm) it measures
whole warm full builds instead (each a fresh ``handover build`` process after an edit to
``mkdocs.yml``, as ``bench/run.py`` forces them), three ways:

* at-rest:   what the code does: artefacts unlocked before and locked after each build,
             stored documents' copies left encrypted unless needed;
* no-cache:  derived artefacts not cached at all: manifests, calendars and ZIPs made again
             by every build (reading every document; a stored one from its encrypted
             copy) and deleted when it ends;
* plaintext: artefacts kept unencrypted (not allowed: shown only to price the encryption).

    .venv/bin/python bench/cache_encryption.py --project bench/out/1000-link-1-store
"""

from __future__ import annotations

import argparse
import io
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path
from typing import Any

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
    parser.add_argument("--project", type=Path, help="measure whole builds of this project")
    parser.add_argument("--repeat", type=int, default=2, help="measured builds per way")
    parser.add_argument("--child", choices=WAYS, help=argparse.SUPPRESS)
    parser.add_argument("--today", default="2026-12-01")
    args = parser.parse_args()
    if args.child:
        child(args.child, args.project, args.today)
    elif args.project:
        whole_builds(args.project.resolve(), args.repeat, args.today)
    else:
        in_memory(args.n)


def in_memory(n: int) -> None:
    rng = random.Random(1)
    cases = [documents(rng) for _ in range(n)]

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
    print(f"{n} ZIPs, {total / 1e6:.1f} MB in all")
    print(f"zip again (drop the cache):   {zip_seconds:.3f} s")
    print(f"encrypt at rest (AES-GCM):    {encrypt_seconds:.3f} s")
    print(f"decrypt when resealing:       {decrypt_seconds:.3f} s")
    print(
        f"handover.atrest, files on disk: lock {lock_seconds:.3f} s, unlock every case "
        f"{unlock_seconds:.3f} s, lock again unchanged {relock_seconds:.3f} s"
    )


WAYS = ("at-rest", "no-cache", "plaintext")


def whole_builds(project: Path, repeat: int, today: str) -> None:
    """Each way: one build to settle the cache into that way, then ``repeat`` measured."""
    sys.path.insert(0, str(Path(__file__).parent))
    from run import SECRET  # the secret bench/run.py builds its projects with

    env = {key: value for key, value in os.environ.items() if key != "CI"}
    env |= {"HANDOVER_SECRET": SECRET, "NO_MKDOCS_2_WARNING": "1"}
    config = project / "mkdocs.yml"
    original = config.read_bytes()
    results: list[tuple[str, list[float]]] = []
    load = os.getloadavg()
    try:
        # at-rest again last: it shows the load's drift and puts the cache back as it was
        for way in ("at-rest", "plaintext", "no-cache", "at-rest"):
            times = []
            for run in range(repeat + 1):
                config.write_bytes(original + f"# cache way {way} {run}\n".encode())
                command = [sys.executable, __file__, "--child", way, "--project", str(project)]
                started = time.perf_counter()
                done = subprocess.run([*command, "--today", today], env=env, capture_output=True)
                if done.returncode:
                    raise SystemExit(f"{way}: build failed\n{done.stderr.decode()[-3000:]}")
                if run:
                    times.append(time.perf_counter() - started)
            results.append((way, times))
    finally:
        config.write_bytes(original)
    print(f"warm full builds of {project.name} (load {load[0]:.1f} -> {os.getloadavg()[0]:.1f}):")
    for way, times in results:
        runs = ", ".join(f"{t:.2f}" for t in times)
        print(f"  {way:9}  median {statistics.median(times):6.2f} s  ({runs})")


def child(way: str, project: Path, today: str) -> None:
    """One ``handover build``, with the at-rest steps replaced for the way measured."""
    from handover import building, purging
    from handover.caching import ARTIFACTS_CACHE, FETCH_CACHE
    from handover.cli import cli

    artifacts = project / ARTIFACTS_CACHE

    def unlock_none(*args: Any) -> None:
        atrest.remove_plaintext(project / FETCH_CACHE)

    def at_rest_key() -> bytes:
        from handover.keys import load_master_secret

        return load_master_secret(project, may_create=False).derive("cache-at-rest")

    def drop_artifacts(project_dir: Path, key: bytes) -> None:
        shutil.rmtree(artifacts, ignore_errors=True)
        atrest.lock(project_dir / FETCH_CACHE, key)

    def unlock_once(project_dir: Path) -> None:
        purging.before_build(project_dir)
        atrest.unlock([artifacts], at_rest_key(), artifacts)
        for locked in artifacts.rglob(f"*{atrest.SUFFIX}"):
            locked.unlink()  # from now on the artefacts are kept as plaintext only

    def lock_documents(project_dir: Path, key: bytes) -> None:
        atrest.lock(project_dir / FETCH_CACHE, key)

    ways: dict[str, dict[str, Any]] = {
        "at-rest": {},
        "no-cache": {"before_build": unlock_none, "lock_caches": drop_artifacts},
        "plaintext": {"before_build": unlock_once, "lock_caches": lock_documents},
    }
    if way == "no-cache":
        shutil.rmtree(artifacts, ignore_errors=True)
    for name, replacement in ways[way].items():
        setattr(building, name, replacement)  # what building.build calls around MkDocs
    command = ["build", "-f", str(project / "mkdocs.yml"), "--site-dir", str(project / "site")]
    cli([*command, "--today", today], prog_name="handover", standalone_mode=False)


if __name__ == "__main__":
    main()

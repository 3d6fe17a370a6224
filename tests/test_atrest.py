"""Derived plaintext in the cache is encrypted between builds, and comes back unchanged."""

from __future__ import annotations

import os
from pathlib import Path

from handover import atrest
from handover.files import file_facts
from tests.conftest import Project

KEY = bytes(range(32))


def test_lock_leaves_no_plaintext_and_unlock_gives_back_bytes_and_mtime(tmp_path: Path) -> None:
    root = tmp_path / "artifacts"
    (root / "acme").mkdir(parents=True)
    big = os.urandom(atrest.CHUNK * 2 + 5)  # three chunks
    files = {root / "acme" / "acme-1234.zip": big, root / "acme" / "empty.ics": b""}
    for path, data in files.items():
        path.write_bytes(data)
        os.utime(path, ns=(1_600_000_000_123_456_789, 1_600_000_000_123_456_789))
    atrest.lock(root, KEY)
    assert sorted(p.name for p in (root / "acme").iterdir()) == [
        "acme-1234.zip.at-rest",
        "empty.ics.at-rest",
    ]
    assert big[:1000] not in (root / "acme" / "acme-1234.zip.at-rest").read_bytes()
    restored = atrest.unlock([root / "acme"], KEY, root)
    for path, data in files.items():
        assert path.read_bytes() == data
        assert path.stat().st_mtime_ns == 1_600_000_000_123_456_789, "the facts cache stays valid"
    # Hashed as they were decrypted: the build learns their facts without reading them again.
    assert restored == {path: file_facts(path) for path in files}


def test_an_unchanged_file_is_not_encrypted_again(tmp_path: Path) -> None:
    root = tmp_path / "artifacts"
    root.mkdir()
    (root / "a.zip").write_bytes(b"zip bytes")
    atrest.lock(root, KEY)
    locked = root / "a.zip.at-rest"
    before = locked.read_bytes()
    atrest.unlock([root], KEY, root)
    atrest.lock(root, KEY)
    assert locked.read_bytes() == before, "same size and mtime: kept, only the plaintext goes"


def test_a_damaged_or_foreign_copy_is_dropped_not_used(tmp_path: Path) -> None:
    root = tmp_path / "artifacts"
    root.mkdir()
    for name in ("damaged.zip", "foreign.zip", "moved.zip"):
        (root / name).write_bytes(b"client bytes " + name.encode())
    atrest.lock(root, KEY)
    damaged = root / "damaged.zip.at-rest"
    data = bytearray(damaged.read_bytes())
    data[-1] ^= 1
    damaged.write_bytes(bytes(data))
    (root / "other").mkdir()
    (root / "moved.zip.at-rest").rename(root / "other" / "moved.zip.at-rest")
    atrest.unlock([root / "damaged.zip", root / "other"], KEY, root)
    atrest.unlock([root / "foreign.zip"], bytes(32), root)
    assert sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file()) == [], (
        "a copy that does not decrypt under its own name and key is dropped; the build "
        "makes it again"
    )


def test_plaintext_left_by_a_killed_build_is_locked_by_the_next_even_if_it_fails(
    project: Project, minimal_case: Path
) -> None:
    from handover.keys import MasterSecret
    from tests.conftest import TEST_SECRET

    assert project.run("build", "--today", "2026-12-01").exit_code == 0
    artifacts = project.root / ".handover" / "cache" / "artifacts"
    # Manifests, ZIP and calendar, and the checksums recorded beside the last two.
    assert [p.suffix for p in (artifacts / "minimal").iterdir()] == [".at-rest"] * 6
    key = MasterSecret(TEST_SECRET.encode(), "test").derive("cache-at-rest")
    atrest.unlock([artifacts / "minimal"], key, artifacts)  # as if killed mid-build
    assert any(p.suffix == ".zip" for p in (artifacts / "minimal").iterdir())
    project.write_case("broken", "client: {name: B}\nservice_end: someday\n")
    assert project.run("build", "--today", "2026-12-01").exit_code == 1
    assert sorted({p.suffix for p in (artifacts / "minimal").iterdir()}) == [".at-rest"]

"""Derived plaintext in the cache is encrypted between builds, and comes back unchanged."""

from __future__ import annotations

import io
import os
import shutil
import zipfile
from pathlib import Path
from typing import Any

import pytest

from handover import atrest
from handover.files import file_facts
from tests import sealed
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


def test_a_locked_copy_tells_its_facts_without_being_decrypted(tmp_path: Path) -> None:
    root = tmp_path / "artifacts"
    (root / "acme").mkdir(parents=True)
    plain = root / "acme" / "acme-1234.zip"
    plain.write_bytes(os.urandom(atrest.CHUNK + 7))
    expected = file_facts(plain)
    atrest.lock(root, KEY)
    assert not plain.exists()
    assert atrest.facts(plain, KEY, root) == expected
    assert atrest.facts(plain, bytes(32), root) is None, "another secret's copy is not ours"
    locked = root / "acme" / "acme-1234.zip.at-rest"
    moved = root / "acme" / "other.zip"
    locked.rename(moved.with_name("other.zip.at-rest"))
    assert atrest.facts(moved, KEY, root) is None, "the name is bound in: no copy stands in"
    data = bytearray(moved.with_name("other.zip.at-rest").read_bytes())
    data[-40] ^= 1  # the recorded hash
    locked.write_bytes(bytes(data))
    assert atrest.facts(plain, KEY, root) is None


def test_a_build_of_every_page_decrypts_no_cached_artefact_until_one_is_needed(
    project: Project, minimal_case: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A warm build takes each artefact's facts from its locked copy; only when its
    encrypted site file must be made again is it decrypted, and then it is right."""
    assert project.run("build", "--today", "2026-12-01").exit_code == 0
    decrypted: list[Path] = []
    decrypt = atrest._decrypt

    def spy(locked: Path, plain: Path, *args: Any, **kwargs: Any) -> Any:
        decrypted.append(plain)
        return decrypt(locked, plain, *args, **kwargs)

    monkeypatch.setattr(atrest, "_decrypt", spy)
    artifacts = project.root / ".handover" / "cache" / "artifacts"

    def copies() -> dict[Path, tuple[int, int]]:
        return {p: (p.stat().st_ino, p.stat().st_mtime_ns) for p in artifacts.rglob("*")}

    before = copies()
    with project.config.open("a", encoding="utf-8") as config:
        config.write("# every page again\n")
    assert "Built 1 client page" in project.run("build", "--today", "2026-12-01").output
    assert decrypted == []
    assert copies() == before, "nothing made again, nothing locked again"

    shutil.rmtree(project.root / ".handover" / "cache" / "sealed")
    shutil.rmtree(project.site)
    assert "Built 1 client page" in project.run("build", "--today", "2026-12-01").output
    assert sorted(p.suffix for p in decrypted) == [".csv", ".ics", ".json", ".zip"]
    _, files = sealed.open_page(project.site, "minimal")
    (archive,) = [href for href in files if href.endswith(".zip")]
    with zipfile.ZipFile(io.BytesIO(sealed.open_file(project.site, "minimal", archive))) as zipped:
        assert zipped.read("documents/payroll.csv") == b"month,total\n2026-11,1000\n"


def test_a_copy_whose_bytes_are_damaged_stops_the_build_cleanly_and_the_next_remakes_it(
    project: Project, minimal_case: Path
) -> None:
    """Its facts hold (the trailer is intact), so the build offers it; when its bytes are
    needed they do not decrypt: a clear message, the site kept, and the next build works."""
    assert project.run("build", "--today", "2026-12-01").exit_code == 0
    artifacts = project.root / ".handover" / "cache" / "artifacts" / "minimal"
    (locked,) = artifacts.glob("*.zip.at-rest")
    data = bytearray(locked.read_bytes())
    data[40] ^= 1  # inside the first chunk's ciphertext, far from the trailer
    locked.write_bytes(bytes(data))
    shutil.rmtree(project.root / ".handover" / "cache" / "sealed")
    before = {p: p.read_bytes() for p in project.site_files()}
    for published in project.site_files():
        if published.parent.name == "f":
            published.unlink()  # nothing to link from: the encrypted file must be made
    result = project.run("build", "--today", "2026-12-01")
    assert result.exit_code == 1
    assert "the cached copy was damaged and has been dropped; build again" in result.output
    after = {p: p.read_bytes() for p in project.site_files()}
    assert after == {p: b for p, b in before.items() if p.parent.name != "f"}
    assert project.run("build", "--today", "2026-12-01").exit_code == 0
    _, files = sealed.open_page(project.site, "minimal")
    (archive,) = [href for href in files if href.endswith(".zip")]
    with zipfile.ZipFile(io.BytesIO(sealed.open_file(project.site, "minimal", archive))) as zipped:
        assert zipped.read("documents/payroll.csv") == b"month,total\n2026-11,1000\n"

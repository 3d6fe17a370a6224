"""Encrypted files on the host: content-addressed names, and large files cut into parts.

A name's bytes never change (hosts may cache them as immutable), so everything that
decides the bytes decides the name; a file over the portal's ``part_size`` is published as
consecutive parts of at most that size, whose concatenation is the sealed file."""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import re
from pathlib import Path

import pytest

from handover.caching import SealedFiles
from handover.files import file_facts
from handover.rendering import Download
from handover.sealing import CHUNK_SIZE, MIN_PART_SIZE, Seal, WrappedKey, sealed_size
from handover.settings import part_size
from tests import sealed
from tests.conftest import Project

MiB = 1 << 20
NAME = re.compile(r"[a-z2-7]{24}\.bin")


def seal(mode: str = "link") -> Seal:
    return Seal(sealed.keys("parts"), mode, WrappedKey(b"", b""))  # type: ignore[arg-type]


def download(path: Path, site_path: str = "files/archive.pdf") -> Download:
    return Download(site_path, path.name, path, file_facts(path))


def published(tmp_path: Path, content: bytes, size: int) -> tuple[list[Path], bytes]:
    """``content`` sealed through the cache and published with parts of ``size`` bytes: the
    files in the page's ``f/`` folder in the order the page lists them, and the whole sealed
    file as the cache keeps it."""
    source = tmp_path / "archive.pdf"
    source.write_bytes(content)
    files = SealedFiles(tmp_path / "cache", seal(), part_size=size)
    offered = download(source)
    entry = files.encrypt(offered)
    files.publish([offered], tmp_path / "f")
    file_id = seal().file_id(offered.site_path, offered.facts.sha256)
    names = seal().part_names(file_id, offered.facts.size, size)
    assert sorted(p.name for p in (tmp_path / "f").iterdir()) == sorted(names)
    return [tmp_path / "f" / name for name in names], entry.read_bytes()


def test_a_file_over_the_part_size_is_published_as_consecutive_parts(tmp_path: Path) -> None:
    parts, whole = published(tmp_path, os.urandom(5 * MiB // 2), MiB)
    assert len(parts) == 3
    assert b"".join(p.read_bytes() for p in parts) == whole
    assert [p.stat().st_size for p in parts] == [MiB, MiB, len(whole) - 2 * MiB]
    assert all(NAME.fullmatch(p.name) for p in parts)
    assert len({p.name for p in parts}) == 3


def test_a_file_within_the_part_size_is_one_file_as_before(tmp_path: Path) -> None:
    content = os.urandom(MiB // 2)
    (part,), whole = published(tmp_path, content, MiB)
    source = tmp_path / "archive.pdf"
    direct = seal().seal_file(
        seal().file_id("files/archive.pdf", hashlib.sha256(content).hexdigest()),
        source,
        tmp_path / "direct.bin",
    )
    assert direct == hashlib.sha256(content).hexdigest()
    assert part.read_bytes() == whole == (tmp_path / "direct.bin").read_bytes()
    file_id = seal().file_id("files/archive.pdf", direct)
    assert part.name == f"{file_id}.bin"


@pytest.mark.parametrize(
    "size", [0, 1, CHUNK_SIZE - 1, CHUNK_SIZE, CHUNK_SIZE + 1, 3 * CHUNK_SIZE + 7]
)
def test_the_sealed_size_is_known_before_sealing(tmp_path: Path, size: int) -> None:
    """The page lists a file's parts before the file is encrypted."""
    source = tmp_path / "doc"
    source.write_bytes(b"x" * size)
    seal().seal_file("id", source, tmp_path / "sealed")
    assert (tmp_path / "sealed").stat().st_size == sealed_size(size)


def test_a_damaged_cache_entry_is_sealed_again_not_cut_into_parts(tmp_path: Path) -> None:
    parts, whole = published(tmp_path, os.urandom(5 * MiB // 2), MiB)
    (entry,) = (tmp_path / "cache").iterdir()
    data = bytearray(entry.read_bytes())
    data[MiB + 5] ^= 1
    entry.write_bytes(bytes(data))
    for part in parts:
        part.unlink()
    files = SealedFiles(tmp_path / "cache", seal(), part_size=MiB)
    files.publish([download(tmp_path / "archive.pdf")], tmp_path / "f")
    assert b"".join(p.read_bytes() for p in parts) == whole


def test_names_change_exactly_when_the_bytes_could(tmp_path: Path) -> None:
    keys = sealed.keys("parts")
    same = hashlib.sha256(b"one").hexdigest()
    name = keys.file_name("files/a.pdf", same, "HOF2-link")
    assert name == sealed.keys("parts").file_name("files/a.pdf", same, "HOF2-link")
    assert NAME.fullmatch(name)
    others = {
        keys.file_name("files/a.pdf", hashlib.sha256(b"two").hexdigest(), "HOF2-link"),
        keys.file_name("files/a.pdf", same, "HOF2-passphrase"),
        keys.file_name("files/b.pdf", same, "HOF2-link"),
        sealed.keys("parts", 2).file_name("files/a.pdf", same, "HOF2-link"),
        sealed.keys("other").file_name("files/a.pdf", same, "HOF2-link"),
    }
    assert len(others) == 5 and name not in others
    assert same[:10] not in name
    assert seal("link").variant != seal("passphrase").variant


def test_part_names_depend_on_the_part_size(tmp_path: Path) -> None:
    """A new part size cuts the stream elsewhere: every part gets a new name, so no cache
    that holds a name as immutable is served other bytes under it."""
    keys = sealed.keys("parts")
    file_id = keys.file_name("files/a.pdf", "0" * 64, "HOF2-link").removesuffix(".bin")
    assert keys.part_names(file_id, MiB, 1) == [f"{file_id}.bin"]
    small, large = keys.part_names(file_id, MiB, 3), keys.part_names(file_id, 2 * MiB, 2)
    assert len(set(small) | set(large) | {f"{file_id}.bin"}) == 6
    assert small == keys.part_names(file_id, MiB, 3)
    assert all(NAME.fullmatch(n) for n in small + large)


@pytest.mark.parametrize(
    ("value", "size"),
    [(MiB, MiB), ("20 MiB", 20 * MiB), ("1.5MiB", 3 * MiB // 2), ("2048 KiB", 2 * MiB),
     ("1 GiB", 1 << 30), (str(3 * MiB), 3 * MiB)],
)  # fmt: skip
def test_the_part_size_is_bytes_or_a_binary_size(value: object, size: int) -> None:
    assert part_size(value, Path("mkdocs.yml")) == size


def set_part_size(project: Project, value: str) -> int:
    """``part_size`` in the project's mkdocs.yml; returns its line."""
    text = project.config.read_text(encoding="utf-8")
    anchor = "      example_documents: true\n"
    assert anchor in text
    project.config.write_text(text.replace(anchor, anchor + f"      part_size: {value}\n"))
    lines = project.config.read_text(encoding="utf-8").splitlines()
    return lines.index(f"      part_size: {value}") + 1


@pytest.mark.parametrize("value", ["512 KiB", "20 MB", "1000", "true"])
def test_a_part_size_below_the_minimum_or_not_a_size_stops_with_file_and_line(
    project: Project, minimal_case: Path, value: str
) -> None:
    line = set_part_size(project, value)
    result = project.run("build")
    assert result.exit_code == 1, result.output
    assert f"mkdocs.yml:{line}: part_size: " in result.output, result.output
    assert f"at least {MIN_PART_SIZE >> 20} MiB" in result.output
    assert not project.site.exists()


BIG = os.urandom(5 * MiB // 2)
CASE = """
    client: {name: Parts Client Ltd}
    access: link
    service_end: 2026-12-31
    documents:
      - {title: Scanned archive, file: documents/archive.pdf}
      - {title: Small note, file: documents/note.txt}
"""


def test_a_built_page_lists_the_parts_and_they_decrypt_to_the_document(
    project: Project,
) -> None:
    set_part_size(project, "1 MiB")
    project.write_case(
        "parts", CASE, {"documents/archive.pdf": BIG, "documents/note.txt": b"a note\n"}
    )
    assert project.run("build", "--today", "2026-12-01").exit_code == 0
    _, files = sealed.open_page(project.site, "parts")
    archive, note = files["files/documents/archive.pdf"], files["files/documents/note.txt"]
    assert len(archive["parts"]) == 3 and len(note["parts"]) == 1
    assert note["parts"] == [f"f/{note['id']}.bin"]
    assert sealed.open_file(project.site, "parts", "files/documents/archive.pdf") == BIG
    folder = sealed.page_dir(project.site, "parts") / "f"
    assert sorted(p.name for p in folder.iterdir()) == sorted(
        url.removeprefix("f/") for entry in files.values() for url in entry["parts"]
    ), "the site holds exactly the parts the page names (the ZIP of everything has parts too)"
    for path in folder.iterdir():  # nothing in a name but 120 random-looking bits
        assert NAME.fullmatch(path.name) and path.stat().st_size <= MiB
        assert hashlib.sha256(BIG).hexdigest()[:8] not in path.name


def test_a_changed_document_or_mode_gets_new_names_and_the_old_ones_go(project: Project) -> None:
    project.write_case("parts", CASE, {"documents/archive.pdf": BIG, "documents/note.txt": b"1"})
    folder = sealed.page_dir(project.site, "parts") / "f"

    def names() -> dict[str, str]:
        assert project.run("build", "--today", "2026-12-01").exit_code == 0
        _, files = sealed.open_page(project.site, "parts")
        assert {p.name for p in folder.iterdir()} == {
            url.removeprefix("f/") for entry in files.values() for url in entry["parts"]
        }, "the site holds exactly the files the page names"
        return {href: entry["id"] for href, entry in files.items()}

    first = names()
    assert names() == first, "the same input gives the same names"
    project.write_case("parts", CASE, {"documents/note.txt": b"2"})
    second = names()
    assert second["files/documents/archive.pdf"] == first["files/documents/archive.pdf"]
    assert second["files/documents/note.txt"] != first["files/documents/note.txt"]
    project.write_case("parts", CASE.replace("access: link", "access: passphrase"))
    third = names()
    assert not set(third.values()) & set(second.values())


def test_names_are_the_hmacs_security_md_states() -> None:
    """An independent computation from SECURITY.md's "Files" section."""
    keys = sealed.keys("parts")

    def documented(*fields: object) -> str:
        message = "\0".join(["handover/v1/file-name", *map(str, fields)]).encode()
        digest = hmac.new(keys.file_name_key, message, hashlib.sha256).digest()[:15]
        return base64.b32encode(digest).decode().lower()

    sha = hashlib.sha256(b"x").hexdigest()
    file_id = documented("file", sha, "HOF2-passphrase", "files/a.pdf")
    assert seal("passphrase").file_id("files/a.pdf", sha) == file_id
    assert keys.part_names(file_id, MiB, 2) == [
        f"{documented('part', file_id, MiB, n)}.bin" for n in (1, 2)
    ]

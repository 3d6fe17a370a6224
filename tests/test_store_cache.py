"""#15: copies of stored documents are fetched and checked once, then kept encrypted; a build
decrypts one only when it must make something from its bytes, and never publishes a
damaged one."""

from __future__ import annotations

import hashlib
import io
import json
import shutil
import zipfile
from pathlib import Path
from typing import Any

from tests import sealed
from tests.conftest import Project
from tests.test_deletion_everywhere import stored  # noqa: F401  (the fixture)


def offered(project: Project) -> dict[str, bytes]:
    """Each file the client's page offers, by its name, as the client decrypts it."""
    _, files = sealed.open_page(project.site, "stored")
    return {
        href.rsplit("/", 1)[-1]: sealed.open_file(project.site, "stored", href) for href in files
    }


def copies(project: Project) -> list[Path]:
    return sorted((project.root / ".handover" / "cache" / "documents").iterdir())


def every_page_again(project: Project) -> None:
    """An edit to mkdocs.yml, which every page depends on: the next build builds them all."""
    with project.config.open("a", encoding="utf-8") as config:
        config.write("# every page again\n")


def damage(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[-1] ^= 1
    path.write_bytes(bytes(data))


def test_a_warm_build_needs_no_byte_of_a_stored_document(stored: dict[str, Any]) -> None:  # noqa: F811
    project: Project = stored["project"]
    contents = stored["contents"]
    assert project.run("build", "--today", "2027-01-10").exit_code == 0
    first = offered(project)
    assert [p.suffix for p in copies(project)] == [".at-rest", ".at-rest"], "only encrypted"
    for copy in copies(project):
        damage(copy)
    store: Path = stored["store"]
    store.rename(store.with_name("unmounted"))

    # Every page is built again (mkdocs.yml edited), from the cached ZIP and encrypted files.
    every_page_again(project)
    result = project.run("build", "--today", "2027-01-11")
    assert result.exit_code == 0, result.output
    assert offered(project) == first
    assert offered(project)["ledger.csv"] == contents["ledger"]

    # Now the encrypted site files must be made again (neither the cache nor the live site
    # has them whole): the damaged copies are not used, and with the store gone that is an
    # error naming the case and field, site kept.
    shutil.rmtree(project.root / ".handover" / "cache" / "sealed")
    for published in project.site_files():
        if published.parent.name == "f":
            published.write_bytes(b"cut short")
    before = {p: p.read_bytes() for p in project.site_files()}
    every_page_again(project)
    result = project.run("build", "--today", "2027-01-12")
    assert result.exit_code == 1
    assert "cases/stored/case.yaml: documents[2].sha256: " in result.output
    assert "is not in the document store" in result.output
    assert {p: p.read_bytes() for p in project.site_files()} == before

    # With the store back, the copies are fetched again, checked, and locked whole.
    store.with_name("unmounted").rename(store)
    result = project.run("build", "--today", "2027-01-13")
    assert result.exit_code == 0, result.output
    assert offered(project) == first
    assert [p.suffix for p in copies(project)] == [".at-rest", ".at-rest"]


def test_a_copy_that_decrypts_to_other_bytes_is_fetched_again(stored: dict[str, Any]) -> None:  # noqa: F811
    """A plaintext left beside the copies is never trusted, and never locked as the copy."""
    project: Project = stored["project"]
    contents = stored["contents"]
    assert project.run("build", "--today", "2027-01-10").exit_code == 0
    ledger = hashlib.sha256(contents["ledger"]).hexdigest()
    planted = project.root / ".handover" / "cache" / "documents" / ledger
    planted.write_bytes(b"planted")
    shutil.rmtree(project.root / ".handover" / "cache" / "sealed")
    result = project.run("build", "--today", "2027-01-11")
    assert result.exit_code == 0, result.output
    assert offered(project)["ledger.csv"] == contents["ledger"]
    assert not planted.exists()


def test_purge_forgets_the_copies_and_their_index_entries(stored: dict[str, Any]) -> None:  # noqa: F811
    project: Project = stored["project"]
    assert project.run("build", "--today", "2027-01-10").exit_code == 0
    index = project.root / ".handover" / "cache" / "documents.json"
    hashes = {hashlib.sha256(stored["contents"][n]).hexdigest() for n in ("ledger", "vat")}
    assert set(json.loads(index.read_text())["data"]) == hashes
    assert project.run("purge", "--today", "2027-01-31").exit_code == 0
    assert json.loads(index.read_text())["data"] == {}
    assert copies(project) == []


def test_a_new_zip_is_made_from_the_checked_copies(stored: dict[str, Any]) -> None:  # noqa: F811
    project: Project = stored["project"]
    contents = stored["contents"]
    assert project.run("build", "--today", "2027-01-10").exit_code == 0
    case = project.cases / "stored" / "case.yaml"
    case.write_text(case.read_text().replace("title: LEDGER", "title: General ledger"))
    assert project.run("build", "--today", "2027-01-10").exit_code == 0
    (archive,) = [data for name, data in offered(project).items() if name.endswith(".zip")]
    with zipfile.ZipFile(io.BytesIO(archive)) as opened:
        assert opened.read("documents/ledger.csv") == contents["ledger"]
        assert b"General ledger" in opened.read("manifest.json")
    assert [p.suffix for p in copies(project)] == [".at-rest", ".at-rest"]

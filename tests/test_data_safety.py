"""Nothing lost, nothing stale (#10): sources are sacred, caches never alias or poison the
site, a changed document is always noticed, builds take turns, upgrades rebuild."""

from __future__ import annotations

import hashlib
import json
import os
import stat
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from filelock import FileLock

from handover import building
from handover.caching import (
    LOCK_FILE,
    STATE_FILE,
    read_json,
    read_signed_json,
    write_signed_json,
)
from handover.errors import BuildLocked
from handover.keys import MasterSecret
from tests import sealed
from tests.conftest import MINIMAL_CASE, TEST_SECRET, Project
from tests.test_build_incremental import tree

FILES = {"documents/payroll.csv": b"month,total\n2026-11,1000\n"}
TODAY = "2026-12-01"


def snapshot(root: Path, *, skip: tuple[str, ...] = ()) -> dict[str, tuple[int, str]]:
    """Every file under ``root`` (links not followed) with its mode and content hash."""
    found = {}
    for path in sorted(root.rglob("*")):
        relative = path.relative_to(root).as_posix()
        if any(relative == s or relative.startswith(s + "/") for s in skip):
            continue
        if path.is_file() and not path.is_symlink():
            found[relative] = (path.stat().st_mode, hashlib.sha256(path.read_bytes()).hexdigest())
        elif path.is_dir() and not path.is_symlink():
            found[relative + "/"] = (path.stat().st_mode, "")
    return found


@pytest.fixture
def built(project: Project) -> Project:
    project.write_case("minimal", MINIMAL_CASE, FILES)
    result = project.run("build", "--today", TODAY)
    assert result.exit_code == 0, result.output
    return project


# -- 1. Sources are sacred ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("site_dir", "what"),
    [
        ("cases", "the cases folder"),
        ("cases/minimal", "the cases folder"),
        (".git", "the repository"),
        (".git/objects", "the repository"),
        ("site_templates", "the templates folder"),
        (".handover", "the secret and cache folder"),
        (".handover/cache", "the secret and cache folder"),
    ],
)
def test_a_site_folder_over_sources_is_refused_and_nothing_is_written(
    project: Project, site_dir: str, what: str
) -> None:
    project.write_case("minimal", MINIMAL_CASE, FILES)
    (project.root / ".git" / "objects").mkdir(parents=True)
    (project.root / ".git" / "HEAD").write_text("ref: refs/heads/main\n")
    (project.root / ".handover" / "cache").mkdir(parents=True)
    before = snapshot(project.root)
    result = project.run("build", "--site-dir", site_dir)
    assert result.exit_code == 1
    resolved = (project.root / site_dir).resolve()
    guarded = {
        "the cases folder": project.cases,
        "the repository": project.root / ".git",
        "the templates folder": project.root / "site_templates",
        "the secret and cache folder": project.root / ".handover",
    }[what]
    assert result.output == (
        f"Error: site folder {resolved} would overwrite {what} {guarded.resolve()}: a build "
        "replaces the site folder whole. Choose a folder of its own, e.g. 'site'.\n"
    )
    assert snapshot(project.root) == before


@pytest.mark.parametrize("site_dir", [".", "..", "../.."])
def test_a_site_folder_that_is_or_holds_the_project_is_refused(
    project: Project, site_dir: str
) -> None:
    project.write_case("minimal", MINIMAL_CASE, FILES)
    before = snapshot(project.root)
    result = project.run("build", "--site-dir", site_dir)
    assert result.exit_code == 1
    assert result.output == (
        f"Error: site folder {(project.root / site_dir).resolve()} is the project folder or "
        "contains it; a build replaces the site folder whole. Choose a folder of its own, "
        "e.g. 'site'.\n"
    )
    assert snapshot(project.root) == before


def test_build_writes_nothing_outside_the_site_and_handover_folders(project: Project) -> None:
    project.write_case("minimal", MINIMAL_CASE, FILES)
    before = snapshot(project.root)
    assert project.run("build", "--today", TODAY).exit_code == 0
    project.write_case("minimal", MINIMAL_CASE.replace("Mina", "Nina"))
    before = snapshot(project.root, skip=("site", ".handover"))
    assert project.run("build", "--today", "2026-12-02").exit_code == 0
    assert snapshot(project.root, skip=("site", ".handover")) == before


# -- 4. Published bytes never alias the cache ------------------------------------------


def _damage_every_file(folder: Path) -> int:
    count = 0
    for path in folder.rglob("*"):
        if path.is_file():
            data = bytearray(path.read_bytes())
            data[len(data) // 2] ^= 0xFF
            path.write_bytes(bytes(data[: max(1, len(data) - 7)]))
            count += 1
    return count


def test_damaging_the_cache_changes_no_published_byte(built: Project) -> None:
    published = tree(built.site)
    links = [p for p in built.site.rglob("*") if p.is_file() and p.stat().st_nlink > 1]
    assert links == []
    assert _damage_every_file(built.root / ".handover" / "cache" / "sealed") >= 4
    assert tree(built.site) == published


def test_a_damaged_cache_is_rebuilt_never_published(built: Project) -> None:
    published = tree(built.site)
    cache = built.root / ".handover" / "cache"
    assert _damage_every_file(cache / "sealed") >= 4
    assert _damage_every_file(cache / "artifacts") >= 4  # the ZIP and manifests too
    # A comment changes the case folder, not the page: the page is built again, identical.
    case = built.cases / "minimal" / "case.yaml"
    case.write_text(case.read_text() + "# reviewed\n")
    result = built.run("build", "--today", TODAY)
    assert result.exit_code == 0, result.output
    assert tree(built.site) == published
    _, files = sealed.open_page(built.site, "minimal")
    archive = next(href for href in files if href.endswith(".zip"))
    assert (
        hashlib.sha256(sealed.open_file(built.site, "minimal", archive)).hexdigest()
        == (files[archive]["sha256"])
    )


def test_random_bytes_in_every_cache_file_rebuild_cleanly(built: Project) -> None:
    published = tree(built.site)
    cache = built.root / ".handover" / "cache"
    for path in cache.rglob("*"):
        if path.is_file():
            path.write_bytes(os.urandom(64) + b"\x80\x04\x95" + os.urandom(64))
    case = built.cases / "minimal" / "case.yaml"
    case.write_text(case.read_text() + "# reviewed\n")
    result = built.run("build", "--today", TODAY)
    assert result.exit_code == 0, result.output
    assert result.output == f"Built 1 client page into {built.site}\n"
    assert tree(built.site) == published


def test_caches_are_private_json_never_pickle(built: Project) -> None:
    cache = built.root / ".handover" / "cache"
    assert stat.S_IMODE((built.root / ".handover").stat().st_mode) == 0o700
    assert stat.S_IMODE(cache.stat().st_mode) == 0o700
    assert not list(built.root.rglob("*.pickle"))
    shards = sorted((cache / "file-facts").iterdir())
    assert shards
    for path in [cache / "last-build.json", cache / "wrapped-keys.json", *shards]:
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
        assert read_json(path) is not None, path
    for path in (cache / "validated").iterdir():
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        assert stored_json(path)["case"]["id"] == "minimal"


def test_a_same_size_change_with_the_old_mtime_is_noticed(built: Project) -> None:
    document = built.cases / "minimal" / "documents" / "payroll.csv"
    old = document.stat()
    new_bytes = b"month,total\n2026-11,9999\n"
    assert len(new_bytes) == len(FILES["documents/payroll.csv"])
    document.write_bytes(new_bytes)
    os.utime(document, ns=(old.st_atime_ns, old.st_mtime_ns))  # as `touch -r` does
    result = built.run("build", "--today", TODAY)
    assert result.exit_code == 0, result.output
    assert result.output == f"Built 1 client page into {built.site}\n"
    html, files = sealed.open_page(built.site, "minimal")
    assert hashlib.sha256(new_bytes).hexdigest() in html
    assert hashlib.sha256(FILES["documents/payroll.csv"]).hexdigest() not in html
    csv = next(href for href in files if href.endswith("payroll.csv"))
    assert sealed.open_file(built.site, "minimal", csv) == new_bytes


def test_an_incremental_build_keeps_the_file_facts(project: Project) -> None:
    for client in ("alpha", "beta"):
        project.write_case(client, MINIMAL_CASE, FILES)
    assert project.run("build", "--today", TODAY).exit_code == 0
    shards = project.root / ".handover" / "cache" / "file-facts"
    documents = {str(project.cases / c / "documents" / "payroll.csv") for c in ("alpha", "beta")}

    def cached() -> set[str]:
        return {key for shard in shards.iterdir() for key in stored_json(shard)}

    assert documents <= cached()
    assert project.run("build", "--today", TODAY).exit_code == 0  # keeps every page
    assert documents <= cached()
    project.write_case("alpha", MINIMAL_CASE.replace("Mina", "Nina"))  # builds one page
    assert project.run("build", "--today", TODAY).exit_code == 0
    assert documents <= cached()


def stored_json(path: Path) -> Any:
    """A cache file's data, which must be intact."""
    data = read_json(path)
    assert data is not None, path
    return data


# -- #16.2 Upgrades rebuild ----------------------------------------------------------------


def test_a_library_upgrade_rebuilds_every_page(project: Project) -> None:
    for client in ("alpha", "beta"):
        project.write_case(client, MINIMAL_CASE.replace("Minimal", client.title()), FILES)
    assert project.run("build", "--today", TODAY).exit_code == 0
    again = project.run("build", "--today", TODAY)
    assert again.output == f"Built 0 client pages (2 unchanged, kept) into {project.site}\n"
    state_file = project.root / STATE_FILE
    key = MasterSecret(TEST_SECRET.encode(), "test").derive("build-state-signature")
    state = read_signed_json(state_file, key)
    assert state is not None and state["versions"]["mkdocs-material"]
    state["versions"]["mkdocs-material"] = "9.0.0"  # as if built before `pip install -U`
    write_signed_json(state_file, state, key)
    upgraded = project.run("build", "--today", TODAY)
    assert upgraded.output == f"Built 2 client pages into {project.site}\n"


def test_full_build_forgets_the_caches_and_builds_every_page(built: Project) -> None:
    sealed_cache = built.root / ".handover" / "cache" / "sealed"
    marker = sealed_cache / "stray"
    marker.write_bytes(b"x")
    published = tree(built.site)
    identifier = (built.root / ".handover" / "secret-id").read_bytes()
    result = built.run("build", "--today", TODAY, "--full")
    assert result.output == f"Built 1 client page into {built.site}\n"
    assert not marker.exists()
    assert tree(built.site) == published
    assert (built.root / ".handover" / "secret-id").read_bytes() == identifier, "not a cache"


# -- 2. One build at a time ------------------------------------------------------------


def test_a_second_build_says_in_one_line_that_another_is_running(built: Project) -> None:
    lock = FileLock(str(built.root / LOCK_FILE))
    portal = building.open_portal(built.config)
    with lock, pytest.raises(BuildLocked) as refused:
        building.build(portal, wait=False)
    assert refused.value.format_message() == (
        f"another build of this portal is running (lock: {built.root / LOCK_FILE}); "
        "try again when it has finished"
    )


def handover_process(project: Project, *args: str) -> subprocess.Popen[str]:
    """The CLI in a process of its own: it can wait on a lock this test process holds, and
    nothing compiled or cached in this process's memory helps it."""
    return subprocess.Popen(
        [sys.executable, "-m", "handover", *args],
        cwd=project.root,
        env={**os.environ, "HANDOVER_SECRET": TEST_SECRET},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_a_second_build_waits_for_the_first(built: Project) -> None:
    published = tree(built.site)
    with FileLock(str(built.root / LOCK_FILE)):
        process = handover_process(built, "build", "--today", "2026-12-02")
        assert process.stderr is not None
        line = process.stderr.readline()
        assert line == (
            f"another build of this portal is running (lock: {built.root / LOCK_FILE}); "
            "waiting for it to finish…\n"
        )
        time.sleep(0.5)
        assert process.poll() is None
        assert tree(built.site) == published
    stdout, stderr = process.communicate(timeout=120)
    assert process.returncode == 0, stderr
    assert stdout == f"Built 0 client pages (1 unchanged, kept) into {built.site}\n"


def test_purge_takes_the_build_lock(built: Project) -> None:
    with FileLock(str(built.root / LOCK_FILE)):
        process = handover_process(built, "purge", "--today", "2027-06-01")
        assert process.stderr is not None
        assert "another build of this portal is running" in process.stderr.readline()
        assert (built.cases / "minimal" / "documents" / "payroll.csv").exists()
    process.communicate(timeout=120)
    assert process.returncode == 0
    assert not (built.cases / "minimal" / "documents" / "payroll.csv").exists()


def test_state_file_is_json_with_versions(built: Project) -> None:
    raw = json.loads((built.root / STATE_FILE).read_text())
    assert set(raw) == {"sha256", "data"} and set(raw["data"]) == {"mac", "data"}
    state = raw["data"]["data"]
    assert state["versions"]["python"] == f"{sys.version_info[0]}.{sys.version_info[1]}"


class _Planted:
    """What someone who can write to a shared CI cache would plant: code run on unpickling."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[Any, ...]:
        return (Path.write_text, (self.marker, "ran"))


def test_code_planted_in_the_template_cache_never_runs(built: Project) -> None:
    """The theme's compiled templates are cached, but only files signed with a key from the
    master secret are loaded: Jinja's own cache would unpickle anything it finds."""
    import pickle

    from jinja2.bccache import bc_magic

    cache = built.root / ".handover" / "cache" / "jinja"
    planted = sorted(cache.iterdir())
    assert planted, "the theme's templates are cached"
    marker = built.root / "planted-code-ran"
    for path in planted:
        path.write_bytes(bc_magic + pickle.dumps(_Planted(marker), 2))
    config = built.config
    config.write_text(config.read_text() + "\n# every page again\n")
    # A process of its own, as every real build is: nothing compiled is left in memory.
    out, err = handover_process(built, "build", "--today", TODAY).communicate(timeout=120)
    assert (out, err) == (f"Built 1 client page into {built.site}\n", "")
    assert not marker.exists()
    assert all(path.read_bytes()[32:].startswith(bc_magic) for path in cache.iterdir())

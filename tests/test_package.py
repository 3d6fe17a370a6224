"""The released package works on its own: a firm installs the wheel, runs ``handover init``
and builds a portal with no file from this repository."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
import venv
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import REPO

#: What a source distribution of the tool holds; the wheel is built from a copy of these.
SOURCES = ("pyproject.toml", "README.md", "handover")


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The wheel, built the way a release is, from a copy of the sources (so nothing is
    written into the repository)."""
    source = tmp_path_factory.mktemp("source")
    for name in SOURCES:
        if (REPO / name).is_dir():
            ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
            shutil.copytree(REPO / name, source / name, ignore=ignore)
        else:
            shutil.copy(REPO / name, source / name)
    dist = tmp_path_factory.mktemp("dist")
    pip = [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(dist), str(source)]
    subprocess.run(pip, check=True, capture_output=True)
    (built,) = dist.glob("handover_portal-*.whl")
    return built


@pytest.fixture(scope="module")
def installed(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh virtual environment with the wheel installed: its ``bin`` folder.

    Dependencies come from this test run's environment (a path entry, no network), but
    ``handover`` itself only from the wheel."""
    env = tmp_path_factory.mktemp("venv")
    venv.create(env, with_pip=False)
    python = env / "bin" / "python"
    install = [sys.executable, "-m", "pip", "--python", str(python), "install", "-q"]
    subprocess.run([*install, "--no-deps", str(wheel)], check=True, capture_output=True)
    purelib = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    Path(purelib, "dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    return env / "bin"


def run(bin_dir: Path, cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in {"PYTHONPATH", "VIRTUAL_ENV"}}
    env["PATH"] = f"{bin_dir}{os.pathsep}{env.get('PATH', '')}"
    result = subprocess.run(
        [str(bin_dir / "handover"), *args], cwd=cwd, env=env, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return result


def test_the_wheel_carries_templates_catalogs_and_scaffold(installed: Path) -> None:
    found = subprocess.run(
        [
            str(installed / "python"),
            "-c",
            "import handover, pathlib; print(pathlib.Path(handover.__file__).parent)",
        ],
        check=True,
        capture_output=True,
        text=True,
        cwd=installed,
    ).stdout.strip()
    package = Path(found)
    assert not package.is_relative_to(REPO), "handover was imported from the repository"
    for name in (
        "templates/unlock.html.j2",
        "templates/overrides/main.html",
        "templates/overrides/assets/handover.js",
        "templates/locales/de/LC_MESSAGES/messages.po",
        "scaffold/portal/mkdocs.yml",
        "scaffold/ci/github.yml",
    ):
        assert (package / name).is_file(), name


def test_init_new_build_from_the_wheel_opens_in_chromium(
    installed: Path,
    tmp_path: Path,
    browser: Any,
    http_site: Callable[[Path], str],
) -> None:
    created = run(
        installed, tmp_path, "init", "demo", "--firm", "Demo & Partners", "--ci", "gitlab"
    )
    portal = tmp_path / "demo"
    assert "Created a portal for Demo & Partners in demo:" in created.stdout
    assert (portal / ".git").is_dir() and (portal / ".gitlab-ci.yml").is_file()
    assert "pip install -r requirements.txt" in (portal / ".gitlab-ci.yml").read_text()
    run(installed, portal, "new", "acme", "--name", "Acme Components s.r.o.")
    built = run(installed, portal, "build")
    assert "Built 2 client pages into" in built.stdout
    tracked = subprocess.run(
        ["git", "status", "--porcelain", "--untracked-files=all"],
        cwd=portal,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert "?? .handover/secret-id\n" in tracked, "the secret's identifier is to be committed"
    assert ".handover/secret\n" not in tracked and "site/" not in tracked
    links = {
        link["id"]: link for link in json.loads(run(installed, portal, "links", "--json").stdout)
    }
    assert set(links) == {"acme", "example-client"}

    path = links["acme"]["url"].removeprefix("https://handover.example.com/")
    page = browser.new_context().new_page()
    page.goto(f"{http_site(portal / 'site')}/{path}")
    page.get_by_label("Passphrase", exact=True).fill(links["acme"]["passphrase"])
    page.get_by_role("button", name="Unlock page").click()
    page.get_by_role("heading", name="Acme Components s.r.o.").wait_for()
    page.context.close()


def test_init_refuses_a_folder_that_is_not_empty(installed: Path, tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("mine")
    env = {**os.environ, "PATH": f"{installed}{os.pathsep}{os.environ['PATH']}"}
    result = subprocess.run(
        [str(installed / "handover"), "init", str(tmp_path)],
        env=env,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 1
    assert (
        result.stderr
        == f"Error: {tmp_path} is not empty; handover init makes a new portal folder\n"
    )
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.txt"]

"""No traceback reaches a user (#10.8, #11.4): user errors are one clear line, a bug is
called a bug, ``serve`` reports and keeps the last good site, and reads mkdocs.yml again."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from handover import building, errors
from handover.serving import PREVIEW_SITE, LivePreview
from tests.conftest import REPO, Project

HANDOVER = REPO / "handover"
#: A class rooted directly at a built-in exception, i.e. outside ``errors.HandoverError``.
BUILTIN_BASE = r"^class \w+\(((Base)?Exception|ValueError|RuntimeError|LookupError|OSError)\)"


@pytest.mark.parametrize(
    ("address", "message"),
    [
        ("localhost", "'localhost' is not IP:PORT, e.g. 127.0.0.1:8000"),
        ("127.0.0.1:notaport", "'notaport' in '127.0.0.1:notaport' is not a port number (0–65535)"),
        ("127.0.0.1:99999", "'99999' in '127.0.0.1:99999' is not a port number (0–65535)"),
        ("example.com:8000", "'example.com' in 'example.com:8000' is not an IP address"),
    ],
)
def test_a_bad_serve_address_is_a_usage_error(
    project: Project, minimal_case: Path, address: str, message: str
) -> None:
    result = project.run("serve", "-a", address)
    assert result.exit_code == 2
    assert result.output.splitlines()[-1].startswith(
        f"Error: Invalid value for '-a' / '--dev-addr': {message}"
    )
    assert not (project.root / PREVIEW_SITE).exists()


def test_serve_refuses_a_public_address_without_expose(
    project: Project, minimal_case: Path
) -> None:
    result = project.run("serve", "-a", "0.0.0.0:8000")
    assert result.exit_code == 2
    assert result.output.splitlines()[-1] == (
        "Error: Invalid value for '-a' / '--dev-addr': 0.0.0.0 is not a loopback address; the "
        "preview holds every client's page. Add --expose to serve it on the network anyway."
    )


def test_a_bug_is_reported_as_a_bug_not_as_a_user_error(
    project: Project, minimal_case: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(_portal: object) -> None:
        raise KeyError("services")

    monkeypatch.setattr(building, "validate", broken)
    monkeypatch.delenv("HANDOVER_DEBUG", raising=False)
    result = project.run("validate")
    assert result.exit_code == 70
    assert result.output == (
        "handover: internal error, a bug in handover (KeyError: 'services'). Please report it "
        "with the command you ran; HANDOVER_DEBUG=1 shows the traceback.\n"
    )


def test_every_error_class_lives_in_errors_py() -> None:
    defined = {
        path.name
        for path in HANDOVER.rglob("*.py")
        if path.name != "errors.py" and re.search(BUILTIN_BASE, path.read_text(), re.M)
    }
    assert defined == set()
    for name in ("SecretError", "SiteDirError", "BuildLocked", "ScaffoldError", "ConfigError"):
        assert issubclass(getattr(errors, name), errors.HandoverError)
    import click

    assert issubclass(errors.HandoverError, click.ClickException)


def test_no_module_sets_the_plugins_settings_from_outside() -> None:
    pattern = re.compile(r"plugin\.(today|cases_dirs|preloaded) *=")
    offenders = [
        f"{path.name}:{number}"
        for path in HANDOVER.rglob("*.py")
        if path.name != "plugin.py"
        for number, line in enumerate(path.read_text().splitlines(), 1)
        if pattern.search(line)
    ]
    assert offenders == []


def test_one_module_owns_the_handover_folder_and_the_atomic_write() -> None:
    owners = {
        path.name
        for path in HANDOVER.rglob("*.py")
        if 'Path(".handover")' in path.read_text() or '.with_suffix(".tmp")' in path.read_text()
    }
    assert owners == {"caching.py"}


@pytest.fixture
def preview(project: Project, minimal_case: Path) -> tuple[Project, LivePreview, list[str]]:
    (project.root / "site_templates").unlink()
    shutil.copytree(REPO / "site_templates", project.root / "site_templates")
    reports: list[str] = []

    def open_portal() -> building.Portal:
        return building.open_portal(
            project.config, site_dir=project.root / PREVIEW_SITE, may_create_secret=True
        )

    live = LivePreview(open_portal, report=reports.append)
    assert live.rebuild_if_changed()
    return project, live, reports


def test_serve_reports_a_template_error_and_keeps_the_last_good_site(
    preview: tuple[Project, LivePreview, list[str]],
) -> None:
    project, live, reports = preview
    site = project.root / PREVIEW_SITE
    before = {p: p.read_bytes() for p in site.rglob("*") if p.is_file()}
    broken = project.root / "site_templates" / "page.html.j2"
    broken.write_text("# {{ case.client.name }\n")
    assert live.rebuild_if_changed() is False
    assert reports[-1] == (f"{broken}:1: template error: unexpected '}}'")
    assert {p: p.read_bytes() for p in site.rglob("*") if p.is_file()} == before
    broken.unlink()
    assert live.rebuild_if_changed() is True


def test_serve_reads_mkdocs_yml_again_when_it_changes(
    preview: tuple[Project, LivePreview, list[str]],
) -> None:
    project, live, reports = preview
    config = project.config
    text = config.read_text()
    name = re.search(r"^site_name: (.*)$", text, re.M)
    assert name
    config.write_text(text.replace(name.group(0), "site_name: Renamed Partners LLP"))
    assert live.rebuild_if_changed() is True
    assert "mkdocs.yml changed: read it again." in reports
    assert live.portal.config.site_name == "Renamed Partners LLP"
    page = (project.root / PREVIEW_SITE / "404.html").read_text()
    assert "Renamed Partners LLP" in page

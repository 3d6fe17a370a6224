"""The `handover` commands staff use: new, links, serve, and the CLI's edges."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from handover.keys import MasterSecret
from tests.conftest import TEST_SECRET, Project

SLUG = MasterSecret(TEST_SECRET.encode(), "test").page_slug


def test_new_writes_a_case_that_validates(project: Project) -> None:
    result = project.run("new", "acme-ltd", "--name", "ACME Ltd")
    assert result.exit_code == 0, result.output
    path = project.cases / "acme-ltd" / "case.yaml"
    text = path.read_text()
    assert text.startswith("# yaml-language-server: $schema=../../case.schema.json\n")
    assert 'name: "ACME Ltd"' in text
    assert project.run("validate").exit_code == 0


def test_new_writes_into_the_cases_folder_that_mkdocs_yml_names(project: Project) -> None:
    project.config.write_text(
        project.config.read_text().replace("cases_dir: cases", "cases_dir: clients")
    )
    result = project.run("new", "acme")
    written = project.root / "clients" / "acme" / "case.yaml"
    assert result.output == f"Created {written}. Fill it in, then run: handover validate\n"
    assert not (project.cases / "acme").exists()


def test_new_refuses_bad_ids_and_existing_cases(project: Project) -> None:
    bad = project.run("new", "ACME Ltd")
    assert bad.exit_code == 1
    assert "'ACME Ltd' is not a client id" in bad.output
    project.run("new", "acme")
    again = project.run("new", "acme")
    assert again.exit_code == 1
    assert "already exists" in again.output


def test_links_lists_each_client_with_its_page_url(project: Project, minimal_case: Path) -> None:
    project.write_case(
        "second", "client: {name: Second Client}\naccess: link\nservice_end: 2026-12-31\n"
    )
    result = project.run("links", "--json")
    assert result.exit_code == 0, result.output
    minimal, second = json.loads(result.stdout)
    keys = MasterSecret(TEST_SECRET.encode(), "test").client_keys
    assert minimal == {
        "id": "minimal",
        "name": "Minimal Client Ltd",
        "access": "passphrase",
        "url": f"https://handover.example.com/{SLUG('minimal')}/",
        "passphrase": keys("minimal").passphrase,
    }
    assert second == {
        "id": "second",
        "name": "Second Client",
        "access": "link",
        "url": f"https://handover.example.com/{SLUG('second')}/#{keys('second').link_fragment}",
        "passphrase": None,
    }
    text = project.run("links").output
    assert f"  link:       https://handover.example.com/{SLUG('minimal')}/\n" in text
    assert f"  passphrase: {keys('minimal').passphrase}" in text


def test_page_paths_are_unguessable_and_stable() -> None:
    slug = SLUG("acme")
    assert len(slug) == 26 and slug.isalnum()  # 26 base32 characters = 130 bits
    assert SLUG("acme") == slug
    assert MasterSecret(b"another-secret-0123456789abcdefghij", "x").page_slug("acme") != slug


def test_missing_secret_in_ci_fails_clearly(
    project: Project, minimal_case: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("HANDOVER_SECRET")
    monkeypatch.setenv("CI", "true")
    result = project.run("build")
    assert result.exit_code == 1
    assert "HANDOVER_SECRET is not set" in result.output
    assert not project.site.exists()


def test_short_secret_is_refused(
    project: Project, minimal_case: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HANDOVER_SECRET", "hunter2")
    result = project.run("build")
    assert result.exit_code == 1
    assert "too short" in result.output


def test_missing_config_file_is_a_clear_error(project: Project) -> None:
    result = project.run("validate", "-f", "nope.yml")
    assert result.exit_code == 1
    assert "Traceback" not in result.output
    assert "nope.yml" in result.output


def test_python_dash_m_runs_the_cli() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "handover", "--help"], capture_output=True, text=True, check=True
    )
    for command in ["new", "validate", "build", "serve", "links"]:
        assert command in result.stdout

"""What the web host sees of a sealed portal: nothing that names a client or their data."""

from __future__ import annotations

import hashlib
import re
import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests import sealed
from tests.conftest import REPO, Project
from tests.test_privacy import identifying_strings, internal_values


def examples_in_mode(project: Project, mode: str) -> dict[str, dict[str, Any]]:
    """The repo's example cases, all switched to one access mode."""
    cases = {}
    for folder in sorted((REPO / "cases").iterdir()):
        if not (folder / "case.yaml").is_file():
            continue
        shutil.copytree(folder, project.cases / folder.name)
        path = project.cases / folder.name / "case.yaml"
        text = re.sub(r"(?m)^access: .*\n", "", path.read_text(encoding="utf-8"))
        path.write_text(f"access: {mode}\n{text}", encoding="utf-8")
        cases[folder.name] = yaml.safe_load(text)
    return cases


@pytest.mark.parametrize("mode", ["link", "passphrase", "link+passphrase"])
def test_nothing_readable_without_the_key(project: Project, mode: str) -> None:
    cases = examples_in_mode(project, mode)
    result = project.run("build", "--today", "2026-11-22")
    assert result.exit_code == 0, result.output
    needles: set[bytes] = set()
    for client_id, case in cases.items():
        needles |= {text.encode() for text in identifying_strings(case)}
        needles |= {text.encode() for text in internal_values(case.get("internal", {}))}
        for document in case.get("documents", []):
            if "file" in document:
                needles.add(Path(document["file"]).name.encode())
                source = project.cases / client_id / document["file"]
                if source.is_file():  # not yet purged
                    needles.add(source.read_bytes()[:64])
    assert len(needles) > 40
    for path in project.site_files():
        data = path.read_bytes()
        found = [needle for needle in needles if needle in data]
        assert found == [], (path, found)


def test_published_shell_names_only_the_firm(project: Project, minimal_case: Path) -> None:
    project.run("build")
    html = (sealed.page_dir(project.site, "minimal") / "index.html").read_text()
    assert re.search(r"<title>Private handover page - Example Partners</title>", html)
    assert "Minimal" not in html and "Mina" not in html and "payroll" not in html.lower()
    assert "<noscript>" in html


def test_encrypted_files_have_names_unrelated_to_their_content(
    project: Project, minimal_case: Path
) -> None:
    project.run("build")
    _, files = sealed.open_page(project.site, "minimal")
    (encrypted,) = files["files/documents/payroll.csv"]["parts"]
    source = (project.cases / "minimal" / "documents" / "payroll.csv").read_bytes()
    assert hashlib.sha256(source).hexdigest()[:10] not in encrypted
    assert re.fullmatch(r"f/[a-z2-7]{24}\.bin", encrypted)
    for path in (sealed.page_dir(project.site, "minimal") / "f").iterdir():
        assert re.fullmatch(r"[a-z2-7]{24}\.bin", path.name)


def test_two_builds_of_the_same_input_are_byte_identical(
    project: Project, minimal_case: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    first = tmp_path_factory.mktemp("first")
    second = tmp_path_factory.mktemp("second")
    project.run("build", "--today", "2026-12-01", "--site-dir", str(first / "site"))
    shutil.rmtree(project.root / ".handover", ignore_errors=True)  # cold key cache too
    project.run("build", "--today", "2026-12-01", "--site-dir", str(second / "site"))
    files = {
        p.relative_to(first / "site"): p.read_bytes()
        for p in (first / "site").rglob("*")
        if p.is_file()
    }
    again = {
        p.relative_to(second / "site"): p.read_bytes()
        for p in (second / "site").rglob("*")
        if p.is_file()
    }
    assert files == again


def test_key_version_rotates_path_passphrase_and_key(project: Project, minimal_case: Path) -> None:
    project.run("build")
    before = sealed.keys("minimal", 1)
    assert sealed.page_dir(project.site, "minimal").is_dir()
    minimal_case.write_text("key_version: 2\n" + minimal_case.read_text())
    assert project.run("build").exit_code == 0
    after = sealed.keys("minimal", 2)
    assert (after.slug, after.passphrase, after.content_key) != (
        before.slug,
        before.passphrase,
        before.content_key,
    )
    assert not (project.site / before.slug).exists()
    assert (project.site / after.slug / "index.html").is_file()


def test_key_cache_holds_no_secret(project: Project, minimal_case: Path) -> None:
    project.run("build")
    cache = (project.root / ".handover" / "cache" / "wrapped-keys.json").read_bytes()
    keys = sealed.keys("minimal")
    for secret in [keys.content_key, keys.link_key, keys.nonce_key, keys.passphrase.encode()]:
        assert secret not in cache
        assert secret.hex().encode() not in cache
    envelope = sealed.envelope(project.site, "minimal")
    assert envelope["wrapped"]["ct"].encode() in cache  # exactly what the site publishes


def test_passphrases_are_six_words_and_differ_per_client() -> None:
    phrases = {sealed.keys(f"client-{n}").passphrase for n in range(50)}
    assert len(phrases) == 50
    assert all(len(phrase.split()) == 6 for phrase in phrases)


def test_pbkdf2_iterations_meet_owasp(project: Project, minimal_case: Path) -> None:
    project.run("build")
    assert sealed.envelope(project.site, "minimal")["kdf"]["iterations"] >= 600_000

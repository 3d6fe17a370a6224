"""The host's view of a portal whose cases were written by an adversary.

Every string field of the model holds a distinct marker (written plainly, as HTML, as a
heading and inside the sealing delimiters of old); the portal is built in every access
mode; no marker may appear in any published byte or path, in any form it could take.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from tests import adversary, sealed
from tests.conftest import Project

MODES = ["link", "passphrase", "link+passphrase"]
ENVELOPE = re.compile(rb'(<script type="application/json" id="handover-envelope">).*?(</script>)')


def write_generated(project: Project, access: str) -> dict[str, list[str]]:
    """Two generated clients (each variant of the exclusive fields), their markers."""
    markers = {}
    for client, variant in (("a", 0), ("b", 1)):
        case, issued = adversary.generated_case(client, variant, access)
        files = {path: os.urandom(300) for path in adversary.documents_of(case)}
        project.write_case(f"adversary-{client}", adversary.case_yaml(case), files)
        markers[f"adversary-{client}"] = issued
    return markers


def leaks(site: Path, words: list[str]) -> list[tuple[str, str]]:
    forms = {form: word for word in words for form in adversary.derived_forms(word)}
    found = []
    for path in sorted(site.rglob("*")):
        name = str(path.relative_to(site)).lower()
        data = path.read_bytes().lower() if path.is_file() else b""
        for form, word in forms.items():
            if form in name or form.encode() in data:
                found.append((str(path.relative_to(site)), word))
    return found


@pytest.fixture(scope="module", params=MODES)
def adversarial_site(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> tuple[Project, dict[str, list[str]]]:
    project = Project(tmp_path_factory.mktemp("adversary"))
    markers = write_generated(project, request.param)
    result = project.run("build", "--today", "2026-12-01")
    assert result.exit_code == 0, result.output
    return project, markers


def test_generated_cases_reach_every_string_field_of_the_model(
    adversarial_site: tuple[Project, dict[str, list[str]]],
) -> None:
    """Not vacuous: every marker that the page shows is in the decrypted page."""
    project, markers = adversarial_site
    for client_id, words in markers.items():
        html, _ = sealed.open_page(project.site, client_id)
        shown = [word for word in words if word in html]
        # The page shows the client-facing fields (not internal notes or not_secrets).
        assert len(shown) >= 30, (client_id, len(shown), len(words))
        assert f"&lt;b&gt;{words[0]}&lt;/b&gt;" in html, "plain text shows HTML as text"


def test_no_marker_in_any_published_byte_or_path(
    adversarial_site: tuple[Project, dict[str, list[str]]],
) -> None:
    project, markers = adversarial_site
    words = [word for issued in markers.values() for word in issued]
    assert len(words) > 100
    assert leaks(project.site, words) == []


def test_no_case_text_becomes_markup_or_script(
    adversarial_site: tuple[Project, dict[str, list[str]]],
) -> None:
    project, markers = adversarial_site
    for client_id in markers:
        html, _ = sealed.open_page(project.site, client_id)
        assert "<img" not in html and "<b>" not in html
        assert not re.search(r"<[^>]+\son\w+=", html), "no event handler attribute"
        assert "javascript:" not in html.replace("javascript:alert(1)) ", "")
        assert not re.search(r'href="(?!https?:|mailto:|tel:|#|files/)', html)
        assert "<!--" not in html, "delimiters in case text are text, never comments"


def test_clients_with_the_same_language_and_mode_have_identical_shells(
    adversarial_site: tuple[Project, dict[str, list[str]]],
) -> None:
    project, markers = adversarial_site
    shells = set()
    for client_id in markers:
        page = (sealed.page_dir(project.site, client_id) / "index.html").read_bytes()
        slug = sealed.keys(client_id).slug.encode()
        shells.add(ENVELOPE.sub(rb"\1\2", page).replace(slug, b"SLUG"))
    assert len(shells) == 1

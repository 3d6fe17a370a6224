"""One client never sees another's data; staff notes never reach the site; nothing calls out.

These tests read every byte of a built site, the way an attacker with the host's
files would, rather than trusting the templates.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path
from typing import Any, ClassVar

import pytest
import yaml

from handover.keys import MasterSecret
from tests.conftest import REPO, TEST_SECRET, Project

SECRET = MasterSecret(TEST_SECRET.encode(), "test")


def example_cases() -> dict[str, dict[str, Any]]:
    return {
        folder.name: yaml.safe_load((folder / "case.yaml").read_text(encoding="utf-8"))
        for folder in sorted((REPO / "cases").iterdir())
        if (folder / "case.yaml").is_file()
    }


def identifying_strings(case: dict[str, Any]) -> set[str]:
    """What would tell a reader whose page this is."""
    client = case["client"]
    found = {client["name"], client.get("contact"), client.get("email")}
    found |= {service["name"] for service in case.get("services", [])}
    found |= {document["title"] for document in case.get("documents", [])}
    return {text for text in found if text and len(text) > 3}


def internal_values(value: object) -> set[str]:
    if isinstance(value, dict):
        return set().union(*(internal_values(v) for v in value.values())) if value else set()
    if isinstance(value, list):
        return set().union(*(internal_values(v) for v in value)) if value else set()
    text = str(value)
    return {text} if len(text) >= 4 else set()


def files_with(site: Path, needle: str, *, outside: Path | None = None) -> list[str]:
    raw = needle.encode()
    hits = []
    for path in site.rglob("*"):
        if path.is_file() and (outside is None or not path.is_relative_to(outside)):
            data = path.read_bytes()
            if raw in data or needle.encode("unicode_escape") in data:
                hits.append(str(path.relative_to(site)))
    return hits


def test_examples_cover_several_clients() -> None:
    assert len(example_cases()) >= 3


def test_no_client_data_outside_its_own_page(example_site: Path) -> None:
    for client_id, case in example_cases().items():
        own = example_site / SECRET.page_slug(client_id)
        assert own.is_dir(), client_id
        for text in identifying_strings(case):
            assert files_with(example_site, text, outside=own) == [], (client_id, text)


def test_no_page_path_is_linked_from_anywhere_else(example_site: Path) -> None:
    for client_id in example_cases():
        slug = SECRET.page_slug(client_id)
        assert files_with(example_site, slug, outside=example_site / slug) == [], client_id


def test_internal_notes_never_reach_the_site(example_site: Path) -> None:
    values = set().union(
        *(internal_values(c.get("internal", {})) for c in example_cases().values())
    )
    assert values, "the examples should carry internal notes to test against"
    for value in values:
        assert files_with(example_site, value) == [], value


def test_internal_section_of_a_test_case_is_not_published(project: Project) -> None:
    project.write_case(
        "secretive",
        """
        client: {name: Secretive}
        service_end: 2026-12-31
        internal:
          reason: price-war-zq81
          segment: segment-zq82
          revenue: 987654.32
          notes: Never tell them about zq83
          custom_field: zq84-extra
        """,
    )
    assert project.run("build").exit_code == 0
    for value in ["price-war-zq81", "segment-zq82", "987654.32", "zq83", "zq84-extra"]:
        assert files_with(project.site, value) == [], value


def test_nothing_lists_the_pages(example_site: Path) -> None:
    assert not (example_site / "sitemap.xml").exists()
    assert not (example_site / "sitemap.xml.gz").exists()
    assert not (example_site / "search").exists()
    assert (example_site / "robots.txt").read_text() == "User-agent: *\nDisallow: /\n"


def test_every_page_asks_not_to_be_indexed_or_referred(example_site: Path) -> None:
    pages = list(example_site.rglob("*.html"))
    assert len(pages) >= 5
    for page in pages:
        html = page.read_text()
        assert '<meta name="robots" content="noindex, nofollow, noarchive">' in html, page
        assert '<meta name="referrer" content="no-referrer">' in html, page


def test_client_page_title_does_not_name_the_client(example_site: Path) -> None:
    for client_id, case in example_cases().items():
        html = (example_site / SECRET.page_slug(client_id) / "index.html").read_text()
        title = re.search(r"<title>(.*?)</title>", html, re.S)
        assert title is not None
        assert case["client"]["name"] not in title.group(1)


class _Resources(HTMLParser):
    """Collects every URL the browser would fetch by itself (not links a user clicks)."""

    FETCHING: ClassVar[set[tuple[str, str]]] = {
        ("script", "src"),
        ("img", "src"),
        ("iframe", "src"),
        ("source", "src"),
        ("video", "src"),
        ("audio", "src"),
        ("embed", "src"),
        ("object", "data"),
        ("link", "href"),
        ("form", "action"),
    }

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        for name, value in attrs:
            if value and (tag, name) in self.FETCHING:
                if tag == "link" and values.get("rel") in {"canonical", "alternate"}:
                    continue
                self.urls.append(value)
        style = values.get("style") or ""
        self.urls += re.findall(r"url\(([^)]+)\)", style)


def test_no_request_to_another_origin(example_site: Path) -> None:
    for page in example_site.rglob("*.html"):
        parser = _Resources()
        parser.feed(page.read_text())
        for url in parser.urls:
            assert not re.match(r"^(https?:)?//", url), (page, url)
    for css in example_site.rglob("*.css"):
        for url in re.findall(r"url\(\s*['\"]?([^'\")]+)", css.read_text()):
            assert not re.match(r"^(https?:)?//", url), (css, url)
        assert "@import url(http" not in css.read_text()


@pytest.mark.parametrize("plugin", ["search", "tags", "blog"])
def test_plugins_that_index_pages_are_refused(project: Project, plugin: str) -> None:
    config = project.config.read_text().replace("plugins:\n", f"plugins:\n  - {plugin}\n", 1)
    project.config.write_text(config)
    project.write_case("acme", "client: {name: A}\nservice_end: 2026-12-31\n")
    result = project.run("build")
    assert result.exit_code == 1
    assert f"plugin '{plugin}' would publish an index of all clients' pages" in result.output


def test_google_fonts_are_refused(project: Project) -> None:
    project.config.write_text(
        project.config.read_text().replace("font: false", "font: {text: Roboto}")
    )
    project.write_case("acme", "client: {name: A}\nservice_end: 2026-12-31\n")
    result = project.run("build")
    assert result.exit_code == 1
    assert "theme.font must be false" in result.output


def published_shell(site: Path, client_id: str) -> str:
    """A client page as the host reads it, without the (encrypted) envelope."""
    html = (site / SECRET.page_slug(client_id) / "index.html").read_text(encoding="utf-8")
    return re.sub(r'(id="handover-envelope">).*?(</script>)', r"\1\2", html, flags=re.S)


def test_nothing_outside_the_envelope_is_derived_from_the_case(example_site: Path) -> None:
    """Why #1 of issue 9: the theme's skip link pointed at the client's name heading."""
    from markdown.extensions.toc import slugify

    for client_id, case in example_cases().items():
        shell = published_shell(example_site, client_id)
        assert 'class="md-skip"' not in shell
        for text in identifying_strings(case):
            for form in {text, slugify(text, "-"), text.lower()}:
                assert form not in shell, (client_id, form)


def test_sealing_delimiters_in_case_text_publish_nothing(project: Project) -> None:
    """Why #2 of issue 9: a message holding the end marker published the rest in clear."""
    project.write_case(
        "spliced",
        """
        client: {name: Spliced Client zq91}
        service_end: 2026-12-31
        message: "Before <!--/handover:sealed--> after <!--handover:sealed--> end"
        achievements: ["<!--/handover:sealed-->Invoice zq92"]
        contacts: [{name: Contact zq93}]
        """,
    )
    result = project.run("build")
    assert result.exit_code == 0, result.output
    for marker in ["zq91", "zq92", "zq93", "Spliced"]:
        assert files_with(project.site, marker) == [], marker

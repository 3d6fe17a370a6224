"""Every generated word in the client's language: catalogs, page, unlock form, theme, dates."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

from handover.rendering import DEFAULT_TEMPLATES
from tests import sealed
from tests.conftest import REPO, Project
from tests.test_client_page import FILES, FULL_CASE

LOCALES = DEFAULT_TEMPLATES / "locales"
LANGUAGES = sorted(p.name for p in LOCALES.iterdir() if (p / "LC_MESSAGES").is_dir())
#: Words that are the same in every language the page is written in.
UNIVERSAL = {"SHA-256", "ZIP", "JSON", "CSV", "PDF"}
#: A sample of each language's long date for 31 December 2026, as Babel writes it.
DECEMBER = {
    "cs": "prosince",
    "pl": "grudnia",
    "de": "Dezember",
    "ru": "декабря",
    "vi": "tháng 12",
}


def english_messages() -> list[str]:
    with (LOCALES / "messages.pot").open("rb") as stream:
        catalog = read_po(stream)
    found = []
    for message in catalog:
        ids = message.id if isinstance(message.id, tuple) else (message.id,)
        found += [i for i in ids if isinstance(i, str) and i]
    return found


class _Text(HTMLParser):
    """The visible text nodes of a page, each stripped; scripts and styles left out."""

    def __init__(self) -> None:
        super().__init__()
        self.nodes: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._skip += tag in {"script", "style", "code"}

    def handle_endtag(self, tag: str) -> None:
        self._skip -= tag in {"script", "style", "code"}

    def handle_data(self, data: str) -> None:
        if not self._skip and data.strip():
            self.nodes.append(" ".join(data.split()))


def text_nodes(html: str) -> list[str]:
    parser = _Text()
    parser.feed(html)
    return parser.nodes


def english_leftovers(html: str) -> list[str]:
    """Template wording still in English: a whole text node, or any phrase of three words."""
    messages = english_messages()
    whole = {m for m in messages if "%(" not in m} - UNIVERSAL
    phrases = {
        fragment.strip(" .,:;")
        for message in messages
        for fragment in re.split(r"%\(\w+\)[sd]|<[^>]+>", message)
        if len(fragment.split()) >= 3
    }
    nodes = text_nodes(html)
    found = [node for node in nodes if node.rstrip(":") in whole]
    text = " ".join(nodes)
    found += [phrase for phrase in phrases if phrase in text]
    return found


def test_the_examples_speak_several_languages() -> None:
    assert {"cs", "pl", "de", "ru", "vi"} <= set(LANGUAGES)


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_message_is_translated(language: str) -> None:
    with (LOCALES / language / "LC_MESSAGES" / "messages.po").open("rb") as stream:
        catalog = read_po(stream, locale=language)
    untranslated = [
        message.id
        for message in catalog
        if message.id
        and (
            not message.string
            or (isinstance(message.string, tuple) and not all(message.string))
            or message.fuzzy
        )
    ]
    assert untranslated == []
    assert set(english_messages()) <= {
        i for m in catalog for i in (m.id if isinstance(m.id, tuple) else (m.id,))
    }, "run pybabel update (see handover/templates/babel.cfg)"


@pytest.fixture(scope="module")
def portal(tmp_path_factory: pytest.TempPathFactory) -> Project:
    """One client per language, each with every section of the page."""
    project = Project(tmp_path_factory.mktemp("languages"))
    for language in [*LANGUAGES, "en"]:
        project.write_case(
            language, FULL_CASE.replace("language: en", f"language: {language}"), FILES
        )
    result = project.run("build", "--today", "2026-12-01")
    assert result.exit_code == 0, result.output
    return project


@pytest.mark.parametrize("language", LANGUAGES)
def test_page_has_no_english_left_from_the_templates(portal: Project, language: str) -> None:
    html, _ = sealed.open_page(portal.site, language)
    assert english_leftovers(html) == []
    assert DECEMBER[language] in html.replace("\xa0", " "), "dates are written by Babel"
    assert "г.." not in html, "a sentence ending in a Russian date gets no second dot"


@pytest.mark.parametrize("language", LANGUAGES)
def test_unlock_form_and_theme_speak_the_language(portal: Project, language: str) -> None:
    shell = (sealed.page_dir(portal.site, language) / "index.html").read_text(encoding="utf-8")
    assert f'<html lang="{language}"' in shell
    assert english_leftovers(shell) == []
    assert "Skip to content" not in shell, "the theme's own strings follow the page's language"


def test_the_leftover_check_does_find_english(portal: Project) -> None:
    """The English page must be flagged everywhere: proof the check above can fail."""
    html, _ = sealed.open_page(portal.site, "en")
    found = english_leftovers(html)
    assert "Your documents" in found and "Download" in found


def test_sizes_and_amounts_follow_the_locale(portal: Project) -> None:
    czech, _ = sealed.open_page(portal.site, "cs")
    german, _ = sealed.open_page(portal.site, "de")
    assert "1 250,50 €" in czech.replace("\xa0", " ").replace("\u202f", " ")
    assert "1.250,50 €" in german.replace("\xa0", " ")
    assert "0,1\xa0kB" in czech, "small files in kilobytes, never split from their unit"
    assert "byte" not in czech


def test_every_language_has_a_theme_translation() -> None:
    from mkdocs.config import load_config

    config = load_config(str(REPO / "mkdocs.yml"))
    for language in LANGUAGES:
        assert any(
            Path(d, "partials", "languages", f"{language}.html").is_file()
            for d in config.theme.dirs
        ), language

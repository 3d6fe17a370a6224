"""Stage 3: a ``ClientCase`` becomes the Markdown of its page, through ``site_templates/``.

All wording is in the templates and their gettext catalogs
(``site_templates/locales/<lang>/LC_MESSAGES/messages.po``); this module only
decides *what* is shown on a given day and hands it to the template.
"""

from __future__ import annotations

import datetime as dt
import io
import mimetypes
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any, Literal
from urllib.parse import quote

import jinja2
from babel import Locale, dates, numbers, units
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import NullTranslations, Translations
from markupsafe import Markup

from generator.files import FileFacts, file_facts
from generator.model import Document
from generator.validation import ClientCase

SOURCE_LANGUAGE = "en"
PAGE_TEMPLATE = "page.md.j2"

Phase = Literal["active", "ended", "deleted"]


@dataclass(frozen=True)
class DocumentView:
    """A document as the page shows it on the build day."""

    document: Document
    available_until: dt.date
    available: bool
    href: str | None
    site_path: str | None
    source: Path | None
    facts: FileFacts | None

    @property
    def media_type(self) -> str:
        guessed, _ = mimetypes.guess_type(self.source.name if self.source else "")
        return guessed or "application/octet-stream"


@dataclass(frozen=True)
class PageView:
    """Everything the page template needs for one client on one day."""

    case: ClientCase
    today: dt.date
    firm: dict[str, Any]
    documents: list[DocumentView]
    phase: Phase
    categories: dict[str, list[DocumentView]] = field(default_factory=dict)

    @property
    def downloads(self) -> list[DocumentView]:
        """Files copied into the site next to the page."""
        return [view for view in self.documents if view.available and view.source]


def page_view(case: ClientCase, today: dt.date, firm: dict[str, Any]) -> PageView:
    phase: Phase = (
        "deleted"
        if today > case.deletion_date
        else "ended"
        if today > case.case.service_end
        else "active"
    )
    documents = [_document_view(case, document, today, phase) for document in case.case.documents]
    categories: dict[str, list[DocumentView]] = {}
    for view in documents:
        categories.setdefault(view.document.category or "", []).append(view)
    return PageView(case, today, firm, documents, phase, categories)


def _document_view(
    case: ClientCase, document: Document, today: dt.date, phase: Phase
) -> DocumentView:
    until = case.available_until(document)
    available = phase != "deleted" and today <= until
    source = case.document_path(document)
    if source is None:
        return DocumentView(
            document, until, available, document.url if available else None, None, None, None
        )
    site_path = "files/" + Path(document.file or "").as_posix()
    href = quote(site_path) if available else None
    return DocumentView(document, until, available, href, site_path, source, file_facts(source))


class Renderer:
    """Jinja environment over ``site_templates/`` with Babel formatting per language."""

    def __init__(self, templates_dir: Path) -> None:
        self.templates_dir = templates_dir
        self.env = jinja2.Environment(
            loader=jinja2.FileSystemLoader(templates_dir),
            autoescape=True,
            undefined=jinja2.StrictUndefined,
            extensions=["jinja2.ext.i18n"],
            trim_blocks=True,
            lstrip_blocks=True,
            keep_trailing_newline=True,
        )
        self.env.filters["markdown"] = lambda text: Markup(text or "")

    def languages(self) -> set[str]:
        """English (the templates' own words) plus every language with a catalog."""
        return {SOURCE_LANGUAGE, *_catalog_languages(self.templates_dir)}

    def render_page(self, view: PageView) -> str:
        return self.render(PAGE_TEMPLATE, view.case.language, view=view, case=view.case.case)

    def render(self, template: str, language: str, **context: Any) -> str:
        translations = _translations(self.templates_dir, language)
        self.env.install_gettext_translations(translations, newstyle=True)  # type: ignore[attr-defined]
        self.env.filters.update(_formatters(language))
        return self.env.get_template(template).render(language=language, **context)


def _formatters(language: str) -> dict[str, Callable[..., str]]:
    locale = Locale.parse(language.replace("-", "_"))
    return {
        "date": lambda day: dates.format_date(day, format="long", locale=locale),
        "short_date": lambda day: dates.format_date(day, format="short", locale=locale),
        "filesize": lambda size: _filesize(size, locale),
        "number": lambda value: numbers.format_decimal(value, locale=locale),
        "currency": lambda amount, code: numbers.format_currency(amount, code, locale=locale),
    }


def _filesize(size: int, locale: Locale) -> str:
    for unit, factor in (("gigabyte", 1e9), ("megabyte", 1e6), ("kilobyte", 1e3)):
        if size >= factor:
            return units.format_unit(
                round(size / factor, 1), f"digital-{unit}", "short", locale=locale
            )
    return units.format_unit(size, "digital-byte", "long", locale=locale)


def _catalog_languages(templates_dir: Path) -> list[str]:
    locales = templates_dir / "locales"
    if not locales.is_dir():
        return []
    return [
        entry.name
        for entry in locales.iterdir()
        if (entry / "LC_MESSAGES" / "messages.po").is_file()
    ]


@cache
def _translations(templates_dir: Path, language: str) -> NullTranslations:
    """Compile the catalog in memory: no binary .mo files in git, no extra build step."""
    po = templates_dir / "locales" / language / "LC_MESSAGES" / "messages.po"
    if not po.is_file():
        return NullTranslations()
    with po.open("rb") as stream:
        catalog = read_po(stream, locale=language)
    buffer = io.BytesIO()
    write_mo(buffer, catalog)
    buffer.seek(0)
    return Translations(buffer)

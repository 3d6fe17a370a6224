"""Stage 3: a ``ClientCase`` becomes the HTML of its page, through the templates.

The page is HTML from the start (Jinja, every value escaped); only the fields the model
types as Markdown are converted, by ``handover.sanitising``. MkDocs never sees a client's
content: it renders one client-independent shell per language and access mode.

All wording is in the templates and their gettext catalogs
(``templates/locales/<lang>/LC_MESSAGES/messages.po`` in the package, or the portal's
own); this module only decides *what* is shown on a given day and hands it to the template.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import html
import io
import json
import mimetypes
import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache, lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import quote

import jinja2
import nh3
from babel import Locale, dates, lists, numbers, units
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import NullTranslations, Translations
from markupsafe import Markup
from pydantic import BaseModel

from handover.deletions import Deletion, DeletionRecord, Place
from handover.files import FactsOf, FileFacts, file_facts
from handover.model import Account, Document, Invoice, Step
from handover.sanitising import markdown_html, markdown_inline
from handover.validation import ClientCase

if TYPE_CHECKING:
    import segno

SOURCE_LANGUAGE = "en"
PAGE_TEMPLATE = "page.html.j2"
CALENDAR_TEMPLATE = "calendar.json.j2"
#: The templates, theme overrides, assets and catalogs shipped with the package.
DEFAULT_TEMPLATES = Path(__file__).parent / "templates"

#: ``deletion-due``: the deletion date has passed but no purge is recorded yet, so the page
#: says deletion is due instead of claiming it; ``deleted`` only once a purge is recorded.
Phase = Literal["active", "ended", "deletion-due", "deleted"]


@dataclass(frozen=True)
class Download:
    """A file offered on the page: where the link points, and what the client saves."""

    #: Path next to the page, e.g. ``files/documents/ledger 2025.pdf``.
    site_path: str
    name: str
    source: Path
    facts: FileFacts

    @property
    def href(self) -> str:
        return quote(self.site_path)

    @property
    def media_type(self) -> str:
        guessed, _ = mimetypes.guess_type(self.name)
        return guessed or "application/octet-stream"


@dataclass(frozen=True)
class DocumentView:
    """A document as the page shows it on the build day."""

    document: Document
    available_until: dt.date
    available: bool
    #: The file offered for download (file documents that are still available).
    download: Download | None
    #: Facts of the source file, shown even after it is no longer offered.
    facts: FileFacts | None
    #: Set once ``handover purge`` deleted the file from the firm's records.
    deletion: Deletion | None = None

    @property
    def link(self) -> str | None:
        """Where the title links: the download, or the external address."""
        if not self.available:
            return None
        return self.download.href if self.download else self.document.url


@dataclass(frozen=True)
class Artifacts:
    """What the build makes for the client besides their own files."""

    archive: Download | None
    manifest_json: Download
    manifest_csv: Download
    calendar: Download
    #: SHA-256 of manifest.json: one value that pins down everything handed over.
    fingerprint: str

    @property
    def downloads(self) -> list[Download]:
        found = [self.archive] if self.archive else []
        return [*found, self.manifest_json, self.manifest_csv, self.calendar]


@dataclass(frozen=True)
class NextAction:
    """One dated thing for the client to do, for the "Next steps" panel."""

    day: dt.date
    kind: Literal["account", "download", "invoice", "receipt"]
    what: str
    anchor: str


def step_id(account: Account, step: Step) -> str:
    """What a tick is stored under: the step's own ``id``, or its account and wording, so
    a tick never moves to another step, and a reworded step starts unticked."""
    key = f"id\n{step.id}" if step.id else f"{account.system}\n{step.text}"
    # Hex only: case text never lands in an id or attribute as it was written.
    return hashlib.sha256(key.encode()).hexdigest()[:16]


def plain_text(markdown: str) -> str:
    """Markdown as plain text (for calendar descriptions): formatting marks dropped."""
    return html.unescape(nh3.clean(markdown_inline(markdown), tags=set())).strip()


def payment_code(invoice: Invoice, recipient: str) -> segno.QRCode | None:
    """A payment QR code, where a standard exists for the currency: SPAYD (Czech banks'
    "QR Platba") for CZK, the EPC's SEPA credit transfer (EPC069-12) for EUR. segno is
    imported here: only pages with payment details need it, every rebuild would pay it."""
    import segno
    import segno.helpers

    payment = invoice.payment
    if invoice.status != "open" or payment is None or payment.iban is None:
        return None
    iban = payment.iban.replace(" ", "")
    name = payment.recipient or recipient
    if invoice.currency == "EUR":
        return segno.helpers.make_epc_qr(
            name=name[:70],
            iban=iban,
            amount=invoice.amount,
            text=(payment.message or invoice.number)[:140],
            bic=payment.bic,
        )
    if invoice.currency == "CZK":
        return segno.make(spayd(invoice, iban, name), error="m")
    return None


def spayd(invoice: Invoice, iban: str, name: str) -> str:
    """Short Payment Descriptor (SPAYD 1.0, the Czech Banking Association's format)."""
    payment = invoice.payment
    assert payment is not None
    fields = [
        "SPD",
        "1.0",
        f"ACC:{iban}" + (f"+{payment.bic}" if payment.bic else ""),
        f"AM:{invoice.amount:.2f}",
        "CC:CZK",
        f"DT:{invoice.due.strftime('%Y%m%d')}",
    ]
    if payment.reference:
        fields.append(f"X-VS:{payment.reference}")
    fields.append(f"RN:{_spayd_text(name)[:35]}")
    fields.append(f"MSG:{_spayd_text(payment.message or invoice.number)[:60]}")
    return "*".join(fields)


def _spayd_text(text: str) -> str:
    """SPAYD values may not contain "*" (the separator); the spec escapes it as %2A."""
    return text.replace("%", "%25").replace("*", "%2A")


def payment_qr(invoice: Invoice, recipient: str) -> Markup | None:
    """The QR code as inline SVG (paths only: no script, no style attribute, no request)."""
    qr = payment_code(invoice, recipient)
    if qr is None:
        return None
    svg = qr.svg_inline(scale=3, border=4, svgclass=None, lineclass=None, omitsize=False)
    return Markup(svg.replace("<svg ", '<svg aria-hidden="true" focusable="false" ', 1))


@dataclass(frozen=True)
class PageView:
    """Everything the page template needs for one client on one day."""

    case: ClientCase
    #: The day the page is true for: what is shown depends on it only through comparisons
    #: with the case's own dates (``next_change``), never through counting days.
    today: dt.date
    firm: dict[str, Any]
    documents: list[DocumentView]
    phase: Phase
    #: The day the page was made ("Page prepared on"): the build day. A page kept from an
    #: earlier build keeps its day, which stays true of it.
    prepared: dt.date
    artifacts: Artifacts | None = None
    #: The signed deletion certificate, once anything was purged.
    certificate: Download | None = None
    #: What the deletion records say happened: the day of the last purge and each place it
    #: cleared, in the certificate's order (empty until a purge is recorded).
    deleted_on: dt.date | None = None
    deleted_from: tuple[Place, ...] = ()

    @property
    def categories(self) -> dict[str, list[DocumentView]]:
        grouped: dict[str, list[DocumentView]] = {}
        for view in self.documents:
            grouped.setdefault(view.document.category or "", []).append(view)
        return grouped

    @property
    def files(self) -> list[Download]:
        """The client's own files still on offer."""
        return [view.download for view in self.documents if view.download]

    @property
    def downloads(self) -> list[Download]:
        """Everything published next to the page."""
        found = self.files + (self.artifacts.downloads if self.artifacts else [])
        return found + ([self.certificate] if self.certificate else [])

    @property
    def retained(self) -> list[DocumentView]:
        return [view for view in self.documents if view.document.retain_until]

    @property
    def kept_by_law(self) -> list[DocumentView]:
        """Documents the law keeps that have not been purged yet: the exception the
        deletion statement names."""
        return [view for view in self.retained if view.deletion is None]

    def next_actions(self) -> list[NextAction]:
        """Every dated thing the client has to do, soonest first: the page shows the first
        three still open, and the browser recomputes which those are on the reader's day."""
        case = self.case.case
        found: list[NextAction] = []
        if self.phase == "deleted":
            return found
        for account in case.accounts:
            if (
                account.by
                and not account.done
                and any(step.who == "you" for step in account.step_items)
            ):
                found.append(NextAction(account.by, "account", account.system, "accounts"))
        for view in self.documents:
            if view.available and view.document.available_until and not case.legal_hold:
                found.append(
                    NextAction(view.available_until, "download", view.document.title, "documents")
                )
        for invoice in case.invoices:
            if invoice.status == "open":
                found.append(NextAction(invoice.due, "invoice", invoice.number, "invoices"))
        if not case.acknowledged and self.artifacts is not None:
            found.append(NextAction(case.service_end, "receipt", "", "receipt"))
        return sorted(found, key=lambda action: (action.day, action.kind, action.what))

    def with_artifacts(self, artifacts: Artifacts) -> PageView:
        return dataclasses.replace(self, artifacts=artifacts)

    def with_certificate(self, certificate: Download) -> PageView:
        return dataclasses.replace(self, certificate=certificate)


def page_view(
    case: ClientCase,
    today: dt.date,
    firm: dict[str, Any],
    facts_of: FactsOf = file_facts,
    prepared: dt.date | None = None,
) -> PageView:
    """The page for ``today``, made on ``prepared`` (default: the same day)."""
    record = DeletionRecord(deleted=case.deletions, purges=case.purges)
    purged_on = record.purged_on if case.purges else None
    documents = [
        _document_view(case, document, today, facts_of) for document in case.case.documents
    ]
    phase = _phase(case, today, purged_on)
    places = tuple(record.place_days()) if phase == "deleted" else ()
    return PageView(
        case,
        today,
        firm,
        documents,
        phase,
        prepared or today,
        deleted_on=purged_on,
        deleted_from=places,
    )


def next_change(case: ClientCase, today: dt.date) -> dt.date | None:
    """The first day after ``today`` on which the case's page could read differently, or
    None if no later day can change it.

    The page depends on the day only by comparing it with dates of the case (the phase,
    which documents are offered, which service has ended, which calendar events are still
    ahead); relative wording ("in 3 days") is written by the reader's browser. Every
    comparison of a day with a date ``d`` flips on ``d`` or on the day after it, so the page
    cannot change between two such days: a build on a later day keeps it. The dates are
    found by walking every value of the case, so a new date field is covered unasked."""
    turns = {
        later
        for day in (case.days or case_days(case))
        for later in (day, _day_after(day))
        if later is not None and later > today
    }
    return min(turns, default=None)


def case_days(case: ClientCase) -> set[dt.date]:
    """Every date in the case, its deletion records and the dates derived from them (kept
    with a validated case as ``ClientCase.days``)."""
    found: set[dt.date] = {case.deletion_date}
    pending: list[Any] = [case.case, list(case.deletions), list(case.purges)]
    while pending:
        value = pending.pop()
        if isinstance(value, dt.datetime):
            found.add(value.date())
        elif isinstance(value, dt.date):
            found.add(value)
        elif isinstance(value, BaseModel):
            pending.extend(getattr(value, name) for name in type(value).model_fields)
        elif isinstance(value, dict):
            pending.extend(value.keys())
            pending.extend(value.values())
        elif isinstance(value, list | tuple | set | frozenset):
            pending.extend(value)
    found.update(case.available_until(document) for document in case.case.documents)
    return found


def _day_after(day: dt.date) -> dt.date | None:
    return None if day == dt.date.max else day + dt.timedelta(days=1)


def _phase(case: ClientCase, today: dt.date, purged_on: dt.date | None) -> Phase:
    """From the deletion records, never from the calendar alone."""
    if case.case.legal_hold:
        return "ended" if today > case.case.service_end else "active"
    if purged_on is not None and purged_on <= today:
        return "deleted"
    if today > case.deletion_date:
        return "deletion-due"
    return "ended" if today > case.case.service_end else "active"


def _document_view(
    case: ClientCase, document: Document, today: dt.date, facts_of: FactsOf
) -> DocumentView:
    until = case.available_until(document)
    available = case.offers(document, today)
    source = case.document_path(document)
    if source is None:
        return DocumentView(document, until, available, None, None)
    deletion = case.deletion_of(document)
    if deletion is not None and not source.is_file():
        return DocumentView(document, until, False, None, deletion.facts, deletion)
    facts = facts_of(source)
    site_path = "files/" + Path(document.file or "").as_posix()
    download = Download(site_path, source.name, source, facts) if available else None
    return DocumentView(document, until, available, download, facts)


class Renderer:
    """Jinja environment over the portal's templates folder, then the package's defaults,
    with Babel formatting per language.

    A portal overrides the defaults file by file (as a theme's ``custom_dir`` does): a
    template or a language's catalog in its own folder wins over the one shipped here."""

    def __init__(
        self, templates_dir: Path, bytecode_cache: jinja2.BytecodeCache | None = None
    ) -> None:
        """``bytecode_cache``: where compiled templates are kept between builds (compiling
        the page template is a quarter of a rebuild); None compiles them in every process."""
        self.templates_dir = templates_dir
        #: Where templates and catalogs are looked up, first match wins.
        self.search_path = [templates_dir, DEFAULT_TEMPLATES]
        self.env = jinja2.Environment(
            loader=jinja2.FileSystemLoader(self.search_path),
            # HTML templates escape; JSON ones (read by Python) do not.
            autoescape=lambda name: not (name or "").endswith(".json.j2"),
            undefined=jinja2.StrictUndefined,
            extensions=["jinja2.ext.i18n", "jinja2.ext.do"],
            trim_blocks=True,
            lstrip_blocks=True,
            keep_trailing_newline=True,
            bytecode_cache=bytecode_cache,
        )
        self.env.filters["markdown"] = lambda text: Markup(markdown_html(text or ""))
        self.env.filters["markdown_inline"] = lambda text: Markup(markdown_inline(text or ""))
        # Text for a URL (a mail subject): quoted from what it says, not from its HTML.
        self.env.filters["urlquote"] = lambda text: quote(Markup(text).unescape(), safe="")
        self.env.filters["plain"] = plain_text
        self.env.globals["step_id"] = step_id
        self.env.globals["payment_qr"] = payment_qr

    def languages(self) -> set[str]:
        """English (the templates' own words) plus every language with a catalog."""
        return {
            SOURCE_LANGUAGE,
            *(language for folder in self.search_path for language in _catalog_languages(folder)),
        }

    def render_page(self, view: PageView) -> str:
        """The client's content as HTML, table of contents included: what gets encrypted."""
        page = self.render(PAGE_TEMPLATE, view.case.language, view=view, case=view.case.case)
        # A Russian date ends in "г." ; a sentence ending in a date must not add a second dot.
        return page.replace("г..", "г.").replace("г.</time>.", "г.</time>")

    def calendar_events(self, view: PageView) -> list[dict[str, Any]]:
        """The dates worth a reminder, worded in the page's language."""
        text = self.render(CALENDAR_TEMPLATE, view.case.language, view=view, case=view.case.case)
        return list(json.loads(text))

    def render(self, template: str, language: str, **context: Any) -> str:
        translations = _translations(self.search_path, language)
        self.env.install_gettext_translations(translations, newstyle=True)  # type: ignore[attr-defined]
        self.env.filters.update(_formatters(language))
        return self.env.get_template(template).render(language=language, **context)


#: Where a page says the day it was made (``page.html.j2``, ``prepared_on``).
PREPARED_DAY = re.compile(r'<time class="handover-prepared" datetime="[0-9-]+">[^<]*</time>')


def with_prepared_day(page: str, day: dt.date, language: str) -> str:
    """``page`` (as ``render_page`` made it) saying it was made on ``day``: what a page that
    reads as the one made before gets, so that its bytes are the earlier ones."""
    text = html.escape(_formatters(language)["date"](day), quote=False)
    element = f'<time class="handover-prepared" datetime="{day.isoformat()}">{text}</time>'
    return PREPARED_DAY.sub(lambda _match: element, page)


@cache
def _formatters(language: str) -> dict[str, Callable[..., str]]:
    """Babel's formatting per locale; dates and sizes repeat across pages, so results are
    remembered (formatting a date costs about as much as rendering a short paragraph)."""
    locale = Locale.parse(language.replace("-", "_"))
    pattern = LONG_DATES.get(locale.language, "long")
    return {
        #: Czech typography: a no-break space after the day's dot ("31.\u00a0prosince 2026").
        "date": lru_cache(4096)(
            lambda day: _day_dot(dates.format_date(day, format=pattern, locale=locale), locale)
        ),
        "short_date": lru_cache(4096)(
            lambda day: dates.format_date(day, format="short", locale=locale)
        ),
        "filesize": lambda size: _filesize(size, locale),
        "number": lambda value: numbers.format_decimal(value, locale=locale),
        "currency": lambda amount, code: numbers.format_currency(amount, code, locale=locale),
        #: "A, B and C" as the language writes a list (the places a deletion cleared).
        "join_list": lambda items: lists.format_list(list(items), locale=locale),
    }


def _day_dot(text: str, locale: Locale) -> str:
    """ "31. prosince" keeps the day with its month: a no-break space after the day's dot."""
    if locale.language not in {"cs", "sk"}:
        return text
    return re.sub(r"^(\d{1,2})\. ", "\\1.\u00a0", text)


#: Where CLDR's long date is not what a native reader expects in a letter.
LONG_DATES = {"vi": "d 'tháng' M 'năm' y"}


def _filesize(size: int, locale: Locale) -> str:
    """Kilobytes at least ("0.7 kB", never "707 byte"), number and unit never split."""
    for unit, factor in (("gigabyte", 1e9), ("megabyte", 1e6)):
        if size >= factor:
            return _unit(round(size / factor, 1), f"digital-{unit}", locale)
    return _unit(max(round(size / 1e3, 1), 0.1), "digital-kilobyte", locale)


@lru_cache(4096)
def _unit(value: float, unit: str, locale: Locale) -> str:
    """Rounded sizes repeat across files and pages; Babel's unit formatting is slow."""
    return units.format_unit(value, unit, "short", locale=locale).replace(" ", "\u00a0")


def _catalog_languages(templates_dir: Path) -> list[str]:
    locales = templates_dir / "locales"
    if not locales.is_dir():
        return []
    return [
        entry.name
        for entry in locales.iterdir()
        if (entry / "LC_MESSAGES" / "messages.po").is_file()
    ]


def _translations(search_path: list[Path], language: str) -> NullTranslations:
    """The language's catalog; a regional locale (de-AT, en-GB) takes its base
    language's wording, while dates and money follow the region."""
    for name in dict.fromkeys([language, base_language(language)]):
        for folder in search_path:
            po = folder / "locales" / name / "LC_MESSAGES" / "messages.po"
            if po.is_file():
                return _compiled_catalog(po, name, po.stat().st_mtime_ns)
    return NullTranslations()


def base_language(language: str) -> str:
    """``de`` for ``de-AT``: where the wording of a regional locale comes from."""
    return language.replace("_", "-").split("-")[0].lower()


@cache
def _compiled_catalog(po: Path, language: str, _mtime_ns: int) -> NullTranslations:
    """Compile the catalog in memory: no binary .mo files in git, no extra build step.
    Keyed by mtime too, so a long ``handover serve`` picks up an edited catalog."""
    with po.open("rb") as stream:
        catalog = read_po(stream, locale=language)
    buffer = io.BytesIO()
    write_mo(buffer, catalog)
    buffer.seek(0)
    return Translations(buffer)

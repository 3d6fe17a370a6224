"""Stage 3c: prepare every client's page (what it shows, its artifacts, its HTML).

Preparing one case is independent of every other and pure CPU work (templates, Babel,
calendars, manifests, the few Markdown fields), so a large build forks workers that
share what the build has loaded and splits the cases between the cores. Small builds
stay in one process, where forking would cost more than it saves. MkDocs converts none
of it: a client's content never goes through MkDocs or the theme.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import multiprocessing
import os
import threading
import zlib
from collections.abc import Callable, Iterable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from handover.artifacts import KeptFacts, Readable, build_artifacts
from handover.files import FactsCache
from handover.processes import die_with_parent, worker_pool
from handover.rendering import (
    PREPARED_DAY,
    Download,
    PageView,
    Renderer,
    page_view,
    with_prepared_day,
)
from handover.validation import ClientCase

#: From this many cases on, pages are prepared on every core.
PARALLEL_FROM = 64


@dataclass(frozen=True)
class PageRequest:
    """One client's page to prepare, with everything that is not shared by all pages."""

    case: ClientCase
    today: dt.date
    firm: dict[str, Any]
    #: This client's folder in the artifacts cache.
    artifacts: Path
    #: The signed deletion certificate, made beforehand (it needs the master secret).
    certificate: Download | None = None
    #: The page the last build made of this same case folder, if any.
    earlier: Earlier | None = None


@dataclass(frozen=True)
class Earlier:
    """A page made before: the day it was made and its ``content_digest``."""

    made: dt.date
    digest: str


@dataclass(frozen=True)
class PreparedPage:
    """What the build keeps of a prepared page until it is sealed: not the view, which holds
    the whole case (a worker sends this back, and 10,000 views would fill memory)."""

    language: str
    #: The day the page was made ("Page prepared on").
    prepared: dt.date
    #: Everything published next to the page: the client's files and artefacts.
    downloads: tuple[Download, ...]
    #: The client's content (encrypted into the page's envelope, never shown to MkDocs),
    #: deflated: a build holds every page until the theme has rendered the shells, and
    #: 10,000 pages of ~70 KB each would be most of its memory (they shrink ~6x).
    packed: bytes
    #: ``content_digest`` of the page: what decides whether a later build changes it.
    digest: str

    @classmethod
    def of(cls, view: PageView, html: str) -> PreparedPage:
        packed = zlib.compress(html.encode(), PACK_LEVEL)
        digest = content_digest(html, view.downloads)
        return cls(view.case.language, view.prepared, tuple(view.downloads), packed, digest)

    @property
    def html(self) -> str:
        return zlib.decompress(self.packed).decode()


#: zlib's fastest level: a page deflates in a fraction of a millisecond, to about a sixth.
PACK_LEVEL = 1


def content_digest(html: str, downloads: Iterable[Download]) -> str:
    """What a client reads and can download on a page: its HTML but for the day it was made,
    and each file's link, name and bytes (the page's file index follows from them)."""
    digest = hashlib.sha256(PREPARED_DAY.sub("", html).encode())
    for download in downloads:
        digest.update(f"\0{download.site_path}\0{download.name}\0{download.facts}".encode())
    return digest.hexdigest()


@dataclass(frozen=True)
class _Prepared:
    """What a worker sends back: the page, and the file facts it looked up on the way, for
    the build's cache to keep."""

    page: PreparedPage
    facts: dict[str, list[int | str]]


def prepare_page(
    request: PageRequest,
    renderer: Renderer,
    facts: FactsCache,
    readable: Readable = lambda path: None,
    kept_facts: KeptFacts = lambda path: None,
) -> PreparedPage:
    """What the page shows on the build day, its downloads besides the client's files, and
    its HTML. ``readable`` gets a document's path before its bytes are read (the ZIP)."""
    view = _view(request, facts)
    if view.phase != "deleted":
        events = renderer.calendar_events(view)
        folder = request.artifacts
        view = view.with_artifacts(
            build_artifacts(view, events, folder, facts.facts, readable, kept_facts)
        )
    page = PreparedPage.of(view, renderer.render_page(view))
    earlier = request.earlier
    if earlier is not None and page.digest == earlier.digest and earlier.made != view.prepared:
        # A page that reads as the one made before keeps the day it was made: its bytes
        # stay the same (sealing is deterministic), and the host sees no change.
        made = with_prepared_day(page.html, earlier.made, view.case.language)
        return PreparedPage.of(dataclasses.replace(view, prepared=earlier.made), made)
    return page


def _view(request: PageRequest, facts: FactsCache) -> PageView:
    view = page_view(request.case, request.today, request.firm, facts.facts)
    return view.with_certificate(request.certificate) if request.certificate else view


def prepare_pages(
    requests: list[PageRequest],
    renderer: Renderer,
    facts: FactsCache,
    advance: Callable[[], None] = lambda: None,
    readable: Readable = lambda path: None,
    kept_facts: KeptFacts = lambda path: None,
) -> list[PreparedPage]:
    """Every page, in the order asked; on all cores when there are many and fork exists."""
    workers = os.cpu_count() or 1
    # Forking a process that runs other threads (``handover serve``'s server and watcher)
    # can deadlock the child on a lock one of them held, so only a single thread forks.
    can_fork = "fork" in multiprocessing.get_all_start_methods() and threading.active_count() == 1
    if len(requests) < PARALLEL_FROM or workers < 2 or not can_fork:
        return [
            _advancing(prepare_page(r, renderer, facts, readable, kept_facts), advance)
            for r in requests
        ]
    context = multiprocessing.get_context("fork")
    start = (renderer, facts, readable, kept_facts)
    with worker_pool(ProcessPoolExecutor(workers, context, _start_worker, start)) as pool:
        # Chunks of up to 16 pages, but at least eight per worker: the daily build's hundred
        # pages in chunks of 16 left one core idle for a whole chunk at the end.
        chunk = max(1, min(16, len(requests) // (8 * workers)))
        sent_back = pool.map(_prepare_in_worker, requests, chunksize=chunk)
        return [_advancing(_received(sent, facts), advance) for sent in sent_back]


def _received(sent: _Prepared, facts: FactsCache) -> PreparedPage:
    facts.merge(sent.facts)
    return sent.page


def _advancing(page: PreparedPage, advance: Callable[[], None]) -> PreparedPage:
    advance()
    return page


#: A worker's renderer, facts, ``readable`` and ``kept_facts``: inherited through fork, not
#: pickled.
_worker: tuple[Renderer, FactsCache, Readable, KeptFacts] | None = None


def _start_worker(
    renderer: Renderer, facts: FactsCache, readable: Readable, kept_facts: KeptFacts
) -> None:
    global _worker
    die_with_parent()
    _worker = (renderer, facts, readable, kept_facts)


def _prepare_in_worker(request: PageRequest) -> _Prepared:
    if _worker is None:
        raise RuntimeError("worker started without its renderer")
    renderer, facts, readable, kept_facts = _worker
    facts.start_recording()
    page = prepare_page(request, renderer, facts, readable, kept_facts)
    return _Prepared(page, facts.recorded())

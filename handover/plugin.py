"""Stage 4: the MkDocs plugin. Cases become generated pages and files in the build.

Because generation is a plugin, plain ``mkdocs build`` and ``mkdocs serve`` work
too; ``handover build`` adds validation up front and the safe swap of the output.
The plugin also enforces the privacy rules of a site shared by many clients:
no search index, no sitemap, no Google Fonts, no page of a client in any nav, and
every client page and file sealed (``mkdocs serve`` alone shows plain previews), and a
strict Content-Security-Policy first in every page's ``<head>``.

A client page is two things that meet only at the end: the *shell*, which MkDocs and the
theme render from the firm, the language and the access mode alone (no client field is
ever handed to MkDocs), and the *envelope*, the client's content rendered by our own
templates, sanitised, padded and encrypted, filled into the shell's one data slot.
"""

from __future__ import annotations

import contextlib
import functools
import json
import logging
import shutil
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from mkdocs.config import base
from mkdocs.config import config_options as option
from mkdocs.config.defaults import MkDocsConfig
from mkdocs.exceptions import PluginError
from mkdocs.plugins import BasePlugin
from mkdocs.structure.files import File, Files, InclusionLevel
from mkdocs.structure.pages import Page
from mkdocs.structure.toc import get_toc

from handover.atrest import LockedFolder
from handover.caching import (
    ARTIFACTS_CACHE,
    CERTIFICATES_CACHE,
    FACTS_CACHE,
    JINJA_CACHE,
    KEY_CACHE,
    SEALED_CACHE,
    KeyCache,
    SealedFiles,
    SignedBytecodeCache,
    private_dir,
)
from handover.cases import load_cases
from handover.certificates import CERTIFICATE_TEMPLATE, certificate_scope, make_certificate
from handover.deletions import DeletionRecord
from handover.files import file_facts, write_if_changed
from handover.keys import MasterSecret, load_master_secret
from handover.preparing import PageRequest, PreparedPage, prepare_pages
from handover.problems import ProblemsFound
from handover.processes import threaded_map
from handover.progress import progress
from handover.rendering import DEFAULT_TEMPLATES, Download, Renderer
from handover.sealing import ACCESS_MODES, Seal, fill_shell, make_seals
from handover.settings import Run, Settings
from handover.shell import harden, refused_settings
from handover.store import FetchedDocuments, StoredFacts, fetch_documents, open_store
from handover.validation import ClientCase, FirmDefaults

log = logging.getLogger("mkdocs.plugins.handover")

#: Plugins that would publish an index of every page, i.e. of every client.
FORBIDDEN_PLUGINS = ("search", "tags", "blog", "meta", "offline", "social", "privacy")
SHELL_TEMPLATE = "shell.md.j2"
UNLOCK_TEMPLATE = "unlock.html.j2"
#: Files the package adds to every site when the portal's ``docs_dir`` lacks them.
DEFAULT_DOCS = ("robots.txt",)


class HandoverConfig(base.Config):
    """Firm-wide settings, under ``plugins: - handover:`` in ``mkdocs.yml``."""

    cases_dir = option.Type(str, default="cases")
    templates_dir = option.Type(str, default="site_templates")
    firm_email = option.Optional(option.Type(str))
    firm_phone = option.Optional(option.Type(str))
    default_language = option.Type(str, default="en")
    retention_days = option.Type(int, default=30)
    default_access = option.Choice(ACCESS_MODES, default="passphrase")
    #: A folder (relative to mkdocs.yml) holding client documents by SHA-256, outside git.
    document_store = option.Optional(option.Type(str))
    #: The cases are fictitious examples whose documents may be committed to git.
    example_documents = option.Type(bool, default=False)
    #: Encrypted files larger than this are published as parts of at most this size
    #: (bytes, or e.g. ``20 MiB``; checked in ``settings.part_size``).
    part_size = option.Type((int, str), default="20 MiB")


class HandoverPlugin(BasePlugin[HandoverConfig]):
    def __init__(self) -> None:
        #: The ``handover build`` in progress (see ``running``); None under plain MkDocs.
        self._run: Run | None = None
        #: Plain ``mkdocs serve``: unsealed pages for staff on loopback, never published.
        self.preview = False
        self.pages: dict[str, PreparedPage] = {}
        self.seals: dict[str, Seal] = {}
        #: Copies of stored documents this build uses (made readable only when needed).
        self.fetched = FetchedDocuments(Path(), None)
        #: What MkDocs shows as each client page's body: the unlock form, or a preview.
        self.bodies: dict[str, str] = {}
        #: Each client's content, sealed into the envelope of their page.
        self.contents: dict[str, bytes] = {}  # deflated (PreparedPage.packed)
        #: The unlock form and the page MkDocs renders, per (template, language, mode).
        self.shell_parts: dict[tuple[str, str, str], str] = {}
        #: The one page MkDocs renders per (language, mode): its folder, and its output.
        self.shell_pages: dict[tuple[str, str], str] = {}
        self.shells: dict[tuple[str, str], str] = {}

    # -- settings -----------------------------------------------------------------

    @contextlib.contextmanager
    def running(self, run: Run) -> Iterator[None]:
        """``handover build`` hands its settings and validated cases to the plugin for one
        MkDocs build, and takes them back after it, whatever happens."""
        self._run = run
        try:
            yield
        finally:
            self._run = None

    def settings(self, config: MkDocsConfig) -> Settings:
        """The build's settings; under plain ``mkdocs build`` those of ``mkdocs.yml``."""
        if self._run is not None:
            return self._run.settings
        return Settings.from_config(config, self.config, may_create_secret=True)

    def project_dir(self, config: MkDocsConfig) -> Path:
        return self.settings(config).project

    def renderer(self, config: MkDocsConfig) -> Renderer:
        """The page renderer, its compiled templates kept signed between builds."""
        settings = self.settings(config)
        return renderer_for(settings, self.secret(config).derive("jinja-bytecode-cache"))

    def defaults(self, config: MkDocsConfig) -> FirmDefaults:
        return firm_defaults(self.settings(config))

    def firm(self, config: MkDocsConfig) -> dict[str, Any]:
        return dict(self.settings(config).firm)

    def case_dirs(self, config: MkDocsConfig) -> list[Path]:
        return list(self.settings(config).cases_dirs)

    def load_cases(self, config: MkDocsConfig) -> list[ClientCase]:
        """Every case, validated; raises ``ProblemsFound`` listing all problems."""
        return load_cases(self.case_dirs(config), self.defaults(config))

    def secret(self, config: MkDocsConfig) -> MasterSecret:
        settings = self.settings(config)
        return load_master_secret(settings.project, may_create=settings.may_create_secret)

    def seal_cases(self, config: MkDocsConfig, cases: list[ClientCase]) -> list[Seal]:
        """Each client's keys and wrapped content key (PBKDF2 cached between builds)."""
        secret = self.secret(config)
        cache = KeyCache(self.project_dir(config) / KEY_CACHE)
        seals = make_seals(
            ((secret.client_keys(case.id, case.case.key_version), case.access) for case in cases),
            cache,
        )
        cache.save()
        return seals

    def certificate(self, config: MkDocsConfig, case: ClientCase) -> Download:
        """The case's signed deletion certificate, offered on its page as a download."""
        record = DeletionRecord(deleted=case.deletions, purges=case.purges)
        scope, outside = certificate_scope(
            record.place_days(),
            record.unconfirmed(),
            json.loads(self.renderer(config).render(CERTIFICATE_TEMPLATE, case.language)),
        )
        data = make_certificate(
            self.secret(config),
            firm=config.site_name,
            client_id=case.id,
            client_name=case.case.client.name,
            deletions=case.deletions,
            scope=scope,
            outside_reach=outside,
            language=case.language,
        )
        name = f"{case.id}-deletion-certificate.json"
        path = self.project_dir(config) / CERTIFICATES_CACHE / name
        path.parent.mkdir(parents=True, exist_ok=True)
        write_if_changed(path, data)
        return Download(f"files/{name}", name, path, file_facts(path))

    # -- MkDocs events ------------------------------------------------------------

    def on_startup(self, *, command: str, dirty: bool) -> None:
        self.preview = command == "serve"

    def on_config(self, config: MkDocsConfig) -> MkDocsConfig:
        _enforce_privacy(config)
        _add_default_overrides(config, self.project_dir(config) / self.config.templates_dir)
        _check_theme_languages(config, self.renderer(config).languages())
        return config

    def on_files(self, files: Files, /, *, config: MkDocsConfig) -> Files:
        _add_default_docs(files, config)
        for page, seal in self.prepare_client_pages(config):
            self.add_page(files, config, page, seal)
        return files

    def prepare_client_pages(self, config: MkDocsConfig) -> list[tuple[PreparedPage, Seal]]:
        """The run's cases (under plain ``mkdocs build``: every case), their documents
        fetched and checked, each with its keys and its rendered page; the plugin's per-build
        state starts afresh."""
        run = self._run
        if run is not None and run.cases is not None:
            cases = run.cases
        else:
            try:
                cases = self.load_cases(config)
            except ProblemsFound as problems:  # plain ``mkdocs build``: MkDocs' own error
                raise PluginError(problems.report()) from None
        project = self.project_dir(config)
        store = open_store(project, self.config.document_store)
        # The key ``building`` locks the caches with: copies of stored documents stay
        # encrypted unless something must be made from their bytes.
        at_rest = self.secret(config).derive("cache-at-rest")
        self.fetched = FetchedDocuments(project, store, at_rest)
        self.artefacts = LockedFolder(project / ARTIFACTS_CACHE, at_rest)
        facts = StoredFacts(project / FACTS_CACHE, self.fetched)
        try:
            cases = fetch_documents(cases, self.fetched, facts.facts)
        except ProblemsFound as problems:
            raise PluginError(problems.report()) from None
        for case in cases:
            for warning in case.warnings:
                log.warning(warning)
        seals = self.seal_cases(config, cases)
        today = self.settings(config).build_day()
        facts.prime(
            path
            for case in cases
            for document in case.case.documents
            if (path := case.document_path(document))
            and self.fetched.facts(path) is None  # a stored document's facts are known
            and path.is_file()
        )
        artifacts = self.project_dir(config) / ARTIFACTS_CACHE
        requests = [
            PageRequest(
                case,
                today,
                self.firm(config),
                artifacts / case.id,
                self.certificate(config, case) if case.deletions else None,
                run.earlier.get(case.folder) if run is not None else None,
            )
            for case in cases
        ]
        with progress("Preparing client pages", len(cases)) as advance:
            pages = prepare_pages(
                requests, self.renderer(config), facts, advance, self.readable, self.artefacts.facts
            )
        facts.save()
        self.pages, self.seals, self.bodies = {}, {}, {}
        self.shell_parts, self.shell_pages, self.shells = {}, {}, {}
        return list(zip(pages, seals, strict=True))

    def add_page(self, files: Files, config: MkDocsConfig, page: PreparedPage, seal: Seal) -> None:
        """One client's page into the build (and in previews, their files unsealed).

        MkDocs gets one page per language and access mode, which knows nothing of any
        client (its body is filled in by ``on_page_content``); each client's page is made
        from it after the build (``write_client_pages``)."""
        slug = seal.keys.slug
        language = page.language
        self.pages[slug] = page
        shell = self.shell_part(config, SHELL_TEMPLATE, language, seal.mode)
        if self.preview:
            self.bodies[slug] = page.html
            _add_generated(files, config, f"{slug}/index.md", content=shell)
            for download in page.downloads:
                self.readable(download.source)  # MkDocs copies it as it is
                source = str(download.source)
                _add_generated(files, config, f"{slug}/{download.site_path}", abs_src_path=source)
            return
        self.remember_sealed(page, seal)
        key = (language, seal.mode)
        if key not in self.shell_pages:  # the theme renders one page per language and mode
            folder = f"{SHELL_PAGE_PREFIX}{len(self.shell_pages)}"
            self.shell_pages[key] = folder
            self.bodies[folder] = self.shell_part(config, UNLOCK_TEMPLATE, language, seal.mode)
            _add_generated(files, config, f"{folder}/index.md", content=shell)

    def remember_sealed(self, page: PreparedPage, seal: Seal) -> None:
        """A client page to write from its shell after the build (``write_client_pages``)."""
        slug = seal.keys.slug
        self.pages[slug] = page
        self.seals[slug] = seal

    def readable(self, path: Path) -> None:
        """Called before a file's bytes are read: a stored document's copy and a cached
        artefact are kept encrypted until then."""
        self.fetched.readable(path)
        self.artefacts.readable(path)

    def shell_part(self, config: MkDocsConfig, template: str, language: str, mode: str) -> str:
        """A part of the shell, rendered once per language and access mode: it cannot
        depend on anything else, so rendering it for every client would be waste."""
        key = (template, language, mode)
        if key not in self.shell_parts:
            self.shell_parts[key] = self.renderer(config).render(
                template, language, mode=mode, firm=self.firm(config)
            )
        return self.shell_parts[key]

    def on_env(self, env: Any, /, *, config: MkDocsConfig, files: Files) -> Any:
        """Keep the theme's compiled templates between builds, signed: compiling them is
        most of MkDocs' start-up, which every rebuild pays."""
        key = self.secret(config).derive("jinja-bytecode-cache")
        env.bytecode_cache = SignedBytecodeCache(
            private_dir(self.project_dir(config) / JINJA_CACHE), key
        )
        return env

    def on_page_markdown(
        self, markdown: str, /, *, page: Page, config: MkDocsConfig, files: Files
    ) -> str:
        """A client page's body is ours (``on_page_content``): MkDocs converts nothing."""
        return "" if _slug(page) in self.bodies else markdown

    def on_page_content(
        self, html: str, /, *, page: Page, config: MkDocsConfig, files: Files
    ) -> str:
        """The shell's body: the unlock form for the page's language and mode, with an empty
        envelope slot. No table of contents, no heading MkDocs could anchor or link to."""
        body = self.bodies.get(_slug(page))
        if body is None:
            return html
        page.toc = get_toc([])
        return body

    def on_post_page(self, output: str, /, *, page: Page, config: MkDocsConfig) -> str:
        """Every page gets its security policy first in ``<head>``; a client page then gets
        its envelope in the shell's one slot (``fill_shell``), never spliced by markers."""
        output = harden(output)
        folder = _slug(page)
        for key, shell_folder in self.shell_pages.items():
            if folder == shell_folder:
                self.shells[key] = output
        return output

    def on_post_template(
        self, output_content: str, /, *, template_name: str, config: MkDocsConfig
    ) -> str:
        """The 404 page is a shell too, under the same policy."""
        return harden(output_content) if template_name.endswith(".html") else output_content

    def on_post_build(self, *, config: MkDocsConfig) -> None:
        """Encrypt each client's files next to their page, both cores at work.

        Encrypted files are kept between builds (encryption is deterministic), so a
        file is encrypted once per content; a file the live site already holds under its
        (content-derived) name is linked from there, any other copied from the cache."""
        site = Path(config.site_dir)
        live = self.settings(config).site_dir
        self.write_client_pages(site, self.settings(config).part_size)
        cache = self.project_dir(config) / SEALED_CACHE
        readable = self.readable
        part_size = self.settings(config).part_size
        clients = {
            slug: SealedFiles(cache / slug, seal, readable, part_size=part_size)
            for slug, seal in self.seals.items()
        }

        beside = live.resolve() != site.resolve()  # else this build writes the live site

        def earlier(slug: str) -> Path | None:
            """The page's ``f/`` folder in the live site, if this build is beside it."""
            return live / slug / "f" if beside else None

        jobs = [
            (files, download)
            for slug, files in clients.items()
            for download in files.missing(self.pages[slug].downloads)
            if not files.in_live_site(download, earlier(slug))
        ]

        def encrypt(job: tuple[SealedFiles, Download]) -> None:
            job[0].encrypt(job[1])

        with progress("Encrypting files", len(jobs)) as advance:
            for _ in threaded_map(encrypt, jobs):
                advance()
        for slug, files in clients.items():
            files.publish(list(self.pages[slug].downloads), site / slug / "f", earlier(slug))

    def cached_shells(self) -> list[list[str]]:
        """The shells of this build as ``[language, mode, folder, html]`` rows, for the
        next build that changes no shared file (``build_without_theme``)."""
        return [[*key, self.shell_pages[key], html] for key, html in sorted(self.shells.items())]

    def build_without_theme(
        self, config: MkDocsConfig, cases: list[ClientCase], shells: list[list[str]]
    ) -> bool:
        """A rebuild's client pages and files into ``config.site_dir``, from the shells an
        earlier build rendered, without MkDocs or the theme (whose output is unchanged).
        False, with nothing written, when a page needs a shell not among ``shells``."""
        cached = {(row[0], row[1]): (row[2], row[3]) for row in shells if len(row) == 4}
        if self.preview or any((case.language, case.access) not in cached for case in cases):
            return False
        for page, seal in self.prepare_client_pages(config):
            self.remember_sealed(page, seal)
        self.shell_pages = {key: folder for key, (folder, _html) in cached.items()}
        self.shells = {key: html for key, (_folder, html) in cached.items()}
        Path(config.site_dir).mkdir(parents=True, exist_ok=True)
        self.on_post_build(config=config)
        return True

    def write_client_pages(self, site: Path, part_size: int) -> None:
        """Each client's page: the shell the theme rendered for their language and access
        mode, their page's folder in its address, their envelope in its one slot. The
        shell pages themselves are not part of the site."""
        for folder in self.shell_pages.values():
            shutil.rmtree(site / folder, ignore_errors=True)
        for slug, seal in self.seals.items():
            prepared = self.pages[slug]
            key = (prepared.language, seal.mode)
            shell = self.shells[key].replace(self.shell_pages[key], slug)
            payload = {
                "html": prepared.html,
                "files": _file_index(seal, prepared.downloads, part_size),
                "built": prepared.prepared.isoformat(),
            }
            try:
                page = fill_shell(shell, seal.envelope(payload))
            except ValueError:
                raise PluginError(
                    "the client page template lost (or repeated) its envelope slot; refusing "
                    "to publish a client page unencrypted"
                ) from None
            (site / slug).mkdir(exist_ok=True)
            # As MkDocs writes a page (``mkdocs.utils.write_file``).
            (site / slug / "index.html").write_bytes(page.encode("utf-8", "xmlcharrefreplace"))

    def on_serve(self, server: Any, /, *, config: MkDocsConfig, builder: Any) -> Any:
        for cases_dir in self.case_dirs(config):
            server.watch(str(cases_dir))
        server.watch(str(self.project_dir(config) / self.config.templates_dir))
        return server


def renderer_for(settings: Settings, cache_key: bytes | None = None) -> Renderer:
    """One Jinja environment per templates folder, so each template compiles once; with
    ``cache_key`` (derived from the master secret), compiled templates are also kept in
    ``.handover/cache``, signed, for the next build."""
    cache_dir = settings.project / JINJA_CACHE if cache_key else None
    return _renderer(
        settings.templates_dir, _overrides(settings.templates_dir), cache_dir, cache_key
    )


def firm_defaults(settings: Settings) -> FirmDefaults:
    """What a case without its own language or access mode gets, and the languages known."""
    return FirmDefaults(
        language=settings.default_language,
        retention_days=settings.retention_days,
        languages=renderer_for(settings).languages(),
        access=settings.default_access,
    )


def _slug(page: Page) -> str:
    """The client folder a page is in (the first part of its path)."""
    return page.file.src_uri.split("/", 1)[0]


@functools.cache
def _renderer(
    templates_dir: Path,
    overrides: frozenset[str],
    cache_dir: Path | None,
    cache_key: bytes | None,
) -> Renderer:
    """``overrides`` is part of the key: Jinja notices a template file that changed, not a
    new one in the portal's folder that now hides the package's."""
    if cache_dir is None or cache_key is None:
        return Renderer(templates_dir)
    return Renderer(templates_dir, SignedBytecodeCache(private_dir(cache_dir), cache_key))


def _overrides(templates_dir: Path) -> frozenset[str]:
    """The portal's own template files, relative to its templates folder."""
    if not templates_dir.is_dir():
        return frozenset()
    return frozenset(str(p.relative_to(templates_dir)) for p in templates_dir.rglob("*"))


def _file_index(
    seal: Seal, downloads: Iterable[Download], part_size: int
) -> dict[str, dict[str, Any]]:
    """What the browser needs to fetch, decrypt and save each file: travels encrypted.
    ``parts`` are the URLs of the sealed file's parts, to be read in order as one stream."""
    from handover.sealing import CHUNK_SIZE

    index = {}
    for download in downloads:
        file_id = seal.file_id(download.site_path, download.facts.sha256)
        names = seal.part_names(file_id, download.facts.size, part_size)
        index[download.href] = {
            "parts": [f"f/{name}" for name in names],
            "id": file_id,
            "name": download.name,
            "type": download.media_type,
            "size": download.facts.size,
            "sha256": download.facts.sha256,
            "chunk": CHUNK_SIZE,
        }
    return index


#: The folder of the page the theme renders per language and access mode; its name is
#: replaced by each client's page folder (not a possible page folder: those are base32).
SHELL_PAGE_PREFIX = "handover-shell-page-"


def _add_generated(files: Files, config: MkDocsConfig, src_uri: str, **source: Any) -> None:
    file = File.generated(config, src_uri, inclusion=InclusionLevel.NOT_IN_NAV, **source)
    files.append(file)


def _add_default_overrides(config: MkDocsConfig, templates_dir: Path) -> None:
    """The package's theme overrides, after the portal's own (``templates_dir/overrides``
    or ``theme.custom_dir``) and before the theme: a portal overrides file by file."""
    dirs = config.theme.dirs
    portal = templates_dir / "overrides"
    if portal.is_dir() and str(portal) not in dirs:
        dirs.insert(0, str(portal))
    custom = [d for d in dirs if Path(d) == portal or d == config.theme.custom_dir]
    dirs.insert(len(custom), str(DEFAULT_TEMPLATES / "overrides"))


def _add_default_docs(files: Files, config: MkDocsConfig) -> None:
    """Pages every portal has (robots.txt) unless its ``docs_dir`` brings its own."""
    for name in DEFAULT_DOCS:
        if files.get_file_from_path(name) is None:
            _add_generated(files, config, name, abs_src_path=str(DEFAULT_TEMPLATES / name))


def _check_theme_languages(config: MkDocsConfig, languages: set[str]) -> None:
    """Each page's language must exist in the theme too (its buttons, its lang attribute)."""
    missing = [
        language
        for language in sorted(languages)
        if not any(
            Path(d, "partials", "languages", f"{language}.html").is_file()
            for d in config.theme.dirs
        )
    ]
    if missing:
        raise PluginError(
            f"the theme has no words for language(s) {', '.join(missing)}: add "
            "partials/languages/<language>.html to the templates folder's overrides/"
        )


def _enforce_privacy(config: MkDocsConfig) -> None:
    """Refuse settings that would let one client find another, or call another origin."""
    problems = []
    for name in FORBIDDEN_PLUGINS:
        if name in config.plugins or f"material/{name}" in config.plugins:
            problems.append(
                f"plugin '{name}' would publish an index of all clients' pages; remove it "
                "(note: MkDocs adds 'search' when 'plugins:' is missing)"
            )
    if config.theme.get("font") is not False:
        problems.append("theme.font must be false: Google Fonts would tell Google who opens a page")
    problems += refused_settings(config)
    if problems:
        raise PluginError("mkdocs.yml: " + "\nmkdocs.yml: ".join(problems))

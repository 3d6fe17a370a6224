"""Stage 5: one safe build of the portal.

Cases are validated before MkDocs starts; the changed pages are written into a fresh
folder next to the site (by MkDocs, or from cached shells when the theme's output cannot
have changed); the new site is assembled beside the live one, kept pages linked from it
(never moved out of it), and one atomic exchange puts it in place of the old
(``swapping``). Whatever stops a build — an error, Ctrl-C, SIGKILL — the site is the
whole old one or the whole new one, and the next build clears what a killed one left
behind.

Sources are sacred: before anything is written, the site folder is checked against the
cases, templates, docs, repository and project folders, which a site build replaces.
Builds of one portal take turns (a lock in ``.handover/``).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import secrets
import shutil
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

os.environ.setdefault("NO_MKDOCS_2_WARNING", "1")  # the theme's banner is not for our users

import jinja2
from filelock import FileLock, Timeout
from mkdocs.config import load_config
from mkdocs.config.defaults import MkDocsConfig

from handover.caching import (
    CACHE_DIR,
    FACTS_CACHE,
    HANDOVER_DIR,
    LOCK_FILE,
    SHELLS_CACHE,
    SPARE_RECORD,
    STATE_FILE,
    VALIDATED_CACHE,
    Shells,
    StaleFolders,
    prepare,
    sha256_of,
)
from handover.cases import case_folders, load_cases
from handover.errors import BuildLocked, ConfigError, SiteDirError
from handover.files import FactsCache
from handover.incremental import (
    BuildState,
    ValidatedCases,
    code_fingerprint,
    folder_fingerprint,
    index_stamp,
    library_versions,
    page_digest,
    shared_fingerprint,
    tree_digest,
)
from handover.keys import MasterSecret, load_master_secret
from handover.plugin import HandoverPlugin, firm_defaults
from handover.processes import checkpoint
from handover.purging import before_build, lock_caches, prune_orphans
from handover.rendering import next_change
from handover.settings import Run, Settings
from handover.swapping import SiteFolders, entries
from handover.validation import ClientCase, FirmDefaults

PLUGIN_NAME = "handover"


@dataclass(frozen=True)
class Portal:
    """A portal opened once: the loaded ``mkdocs.yml``, our plugin in it, and the settings
    every stage is given."""

    config: MkDocsConfig
    plugin: HandoverPlugin
    settings: Settings

    @property
    def site_dir(self) -> Path:
        return self.settings.site_dir

    def secret(self) -> MasterSecret:
        """The master secret, checked against the portal's recorded identifier."""
        return load_master_secret(self.settings.project, may_create=self.settings.may_create_secret)


def open_portal(
    config_file: Path,
    *,
    cases_dirs: list[Path] | None = None,
    site_dir: Path | None = None,
    today: dt.date | None = None,
    may_create_secret: bool = False,
) -> Portal:
    """Read ``mkdocs.yml`` once. ``may_create_secret``: only ``build`` and ``serve`` pass
    True, and even then a secret is created only for a portal never built."""
    if not config_file.is_file():
        raise ConfigError(f"{config_file}: no such file (give the portal's mkdocs.yml with -f)")
    if site_dir is not None:  # before MkDocs reads it: its own checks come with a traceback
        _check_not_project(site_dir.resolve(), config_file.resolve().parent)
    overrides = {"site_dir": str(site_dir.resolve())} if site_dir else {}
    config = load_config(str(config_file), **overrides)
    plugin = config.plugins.get(PLUGIN_NAME)
    if not isinstance(plugin, HandoverPlugin):
        raise ConfigError(f"{config_file}: the 'handover' plugin is not in 'plugins:'")
    settings = Settings.from_config(
        config,
        plugin.config,
        cases_dirs=list(cases_dirs) if cases_dirs else None,
        today=today,
        may_create_secret=may_create_secret,
    )
    return Portal(config, plugin, settings)


def validate(portal: Portal) -> list[ClientCase]:
    """All cases, valid; raises ``ProblemsFound`` with every problem of every case."""
    return load_cases(portal.settings.cases_dirs, firm_defaults(portal.settings))


@dataclass(frozen=True)
class BuildResult:
    """What a build did: the pages it built, and how many it kept from the previous site."""

    built: list[ClientCase]
    kept: int

    @property
    def pages(self) -> int:
        return len(self.built) + self.kept


def check_site_dir(settings: Settings) -> None:
    """Refuse a site folder whose replacement would delete or overwrite sources.

    A build replaces the whole site folder, so it must not be, contain or lie inside the
    cases, templates or docs folders, the repository's ``.git``, or ``.handover/``'s
    secret and caches; nor be or contain the project folder."""
    site = settings.site_dir.resolve()
    project = settings.project.resolve()
    if site.exists() and not site.is_dir():
        raise SiteDirError(f"site folder {site} is a file; a build would replace it")
    _check_not_project(site, project)
    guarded = [
        *(("cases folder", d) for d in settings.cases_dirs),
        ("templates folder", settings.templates_dir),
        ("docs folder", settings.docs_dir),
        ("repository", _git_dir(project)),
        ("secret and cache folder", project / HANDOVER_DIR),
    ]
    for what, folder in guarded:
        if folder is None:
            continue
        folder = folder.resolve()
        cache = (project / CACHE_DIR).resolve()
        allowed_inside = what == "secret and cache folder" and not (
            site == cache or _inside(site, cache)
        )
        if (
            site == folder
            or _inside(folder, site)
            or (_inside(site, folder) and not allowed_inside)
        ):
            raise SiteDirError(
                f"site folder {site} would overwrite the {what} {folder}: a build replaces "
                "the site folder whole. Choose a folder of its own, e.g. 'site'."
            )


def _check_not_project(site: Path, project: Path) -> None:
    if site == project or _inside(project, site):
        raise SiteDirError(
            f"site folder {site} is the project folder or contains it; a build replaces the "
            "site folder whole. Choose a folder of its own, e.g. 'site'."
        )


def _inside(path: Path, folder: Path) -> bool:
    """``path`` is strictly below ``folder``."""
    return path != folder and path.is_relative_to(folder)


def _git_dir(project: Path) -> Path | None:
    for folder in (project, *project.parents):
        if (folder / ".git").exists():
            return folder / ".git"
    return None


@contextlib.contextmanager
def build_lock(
    project: Path, *, wait: bool = True, on_wait: Callable[[str], None] | None = None
) -> Iterator[None]:
    """One build, serve rebuild or purge of a portal at a time. A second one waits (saying
    so once, through ``on_wait``) or, with ``wait=False``, stops with one line."""
    prepare(project)
    lock = FileLock(str(project / LOCK_FILE), mode=0o600)
    try:
        lock.acquire(timeout=0)
    except Timeout:
        message = f"another build of this portal is running (lock: {project / LOCK_FILE})"
        if not wait:
            raise BuildLocked(message + "; try again when it has finished") from None
        if on_wait:
            on_wait(message + "; waiting for it to finish…")
        lock.acquire()
    try:
        yield
    finally:
        lock.release()


def build(
    portal: Portal,
    *,
    full: bool = False,
    wait: bool = True,
    on_wait: Callable[[str], None] | None = None,
) -> BuildResult:
    """Validate, build into a folder beside the site, then exchange it for the site.

    Only cases that changed since the last build (see ``incremental``) are validated and
    built; the pages of the others are linked over from the previous site. ``full``
    forgets every cache first and builds every page, as a fresh clone would."""
    check_site_dir(portal.settings)
    with build_lock(portal.settings.project, wait=wait, on_wait=on_wait):
        checkpoint("locked")
        return _build_locked(portal, full=full)


def _build_locked(portal: Portal, *, full: bool) -> BuildResult:
    settings, target = portal.settings, portal.site_dir
    project = settings.project
    StaleFolders(target).remove()
    if full:
        _forget_caches(project)
    secret = portal.secret()  # fail on a missing or foreign secret before any work
    shared = shared_fingerprint(
        settings.config_file,
        _resolved(portal.config),
        settings.templates_dir,
        secret.derive("build-state"),
    )
    today = settings.build_day()
    versions = library_versions()
    folders = [f for d in settings.cases_dirs for f in case_folders(d)]
    stamps = {folder: folder_fingerprint(folder) for folder in folders}
    state_key = secret.derive("build-state-signature")
    previous = BuildState.load(project / STATE_FILE, state_key)
    facts = FactsCache(project / FACTS_CACHE)
    contents = previous.contents(stamps, facts)
    if facts.dirty:
        facts.save()
    kept = _unchanged_pages(previous, shared, versions, contents, target, today)
    defaults = firm_defaults(settings)
    known = ValidatedCases(project / VALIDATED_CACHE, contents, _rules(defaults))
    at_rest = secret.derive("cache-at-rest")
    try:
        cases = load_cases(settings.cases_dirs, defaults, skip=kept.keys(), known=known)
        checkpoint("validated")
        before_build(project)
        generation = secrets.token_hex(16)
        shells = Shells(
            project / SHELLS_CACHE,
            f"{shared}/{sorted(versions.items())}",
            secret.derive("shells-cache"),
        )
        run = Run(settings, cases, previous.earlier_pages(contents))
        _build_beside(portal, run, list(kept.values()), previous, generation, shells)
    finally:
        lock_caches(project, at_rest)  # no derived plaintext stays between builds

    pages = {
        str(folder): {**previous.cases[str(folder)], "fingerprint": stamps[folder]}
        for folder in kept
    }
    for case in cases:
        changes = next_change(case, today)
        slug = secret.page_slug(case.id, case.case.key_version)
        made = portal.plugin.pages[slug]
        index = target / slug / "index.html"
        sha256 = sha256_of(index)
        pages[str(case.folder)] = {
            "fingerprint": stamps[case.folder],
            "content": contents[case.folder],
            "slug": slug,
            "since": today.isoformat(),
            "until": changes.isoformat() if changes else "",
            "page": page_digest(target / slug, sha256),
            "index": f"{index_stamp(index)} {sha256}",
            "made": made.prepared.isoformat(),
            "html": made.digest,
        }
    BuildState(shared, str(target), pages, versions, generation).save(
        project / STATE_FILE, state_key
    )
    known.forget_others()
    prune_orphans(project, {f.name for f in folders}, {entry["slug"] for entry in pages.values()})
    return BuildResult(cases, len(kept))


def _resolved(config: MkDocsConfig) -> bytes:
    """What of ``mkdocs.yml`` shapes every page, as MkDocs resolved it: the file's own bytes
    miss a parent it ``INHERIT``s and the ``!ENV`` values it reads."""
    plugin = config.plugins.get(PLUGIN_NAME)
    data = {
        "site": [config.site_name, config.site_url, config.copyright],
        "extra": config.extra,
        "theme": dict(config.theme),
        "handover": dict(plugin.config) if plugin is not None else None,
    }
    return json.dumps(data, sort_keys=True, default=str).encode()


def _forget_caches(project: Path) -> None:
    """``--full``: every cache goes (never the secret, its identifier or the lock)."""
    shutil.rmtree(project / CACHE_DIR, ignore_errors=True)
    prepare(project)


def _unchanged_pages(
    previous: BuildState,
    shared: str,
    versions: dict[str, str],
    contents: dict[Path, str],
    site: Path,
    today: dt.date,
) -> dict[Path, str]:
    """Case folder -> page folder, for every page the previous build of ``site`` can keep
    on ``today``."""
    if (previous.shared, previous.versions, previous.site) != (shared, versions, str(site)):
        return {}
    kept = {}
    for folder, content in contents.items():
        slug = previous.unchanged_page(folder, content, site, today)
        if slug:
            kept[folder] = slug
    return kept


def _rules(defaults: FirmDefaults) -> str:
    """Everything besides a case's folder that decides whether it is valid."""
    return (
        f"{defaults.language}/{defaults.retention_days}/{defaults.access}/"
        f"{sorted(defaults.languages)}/{code_fingerprint()}/{sorted(library_versions().items())}"
    )


def _build_beside(
    portal: Portal,
    run: Run,
    kept: list[str],
    previous: BuildState,
    generation: str,
    shells: Shells,
) -> None:
    """The changed pages into a fresh folder next to the site; with the kept pages, they
    replace the site in one exchange. When nothing the theme renders changed (a rebuild)
    and its shells are cached, MkDocs is not run: the client pages are made from the
    shells and the theme's files are carried over from the live site. On any failure or
    interrupt the site is left as it was and the fresh folder removed (after SIGKILL: by
    the next build)."""
    config, target, plugin = portal.config, portal.site_dir, portal.plugin
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.building-", dir=target.parent))
    carried: list[str] = []
    try:
        config.site_dir = str(staging)
        with plugin.running(run):
            cached = shells.load() if kept else None
            if (
                cached is not None
                and all(
                    (target / name).exists() and tree_digest(target / name) == digest
                    for name, digest in cached.theme_files.items()
                )
                and plugin.build_without_theme(config, run.cases or [], cached.rows)
            ):
                carried = list(cached.theme_files)
            else:
                from mkdocs.commands.build import build as mkdocs_build  # rebuilds skip it

                try:
                    mkdocs_build(config)
                except jinja2.TemplateError as error:
                    raise ConfigError(_template_error(error)) from None
                theme_files = {  # not client pages
                    name: tree_digest(staging / name)
                    for name in sorted(entries(staging) - set(plugin.seals))
                }
                shells.save(plugin.cached_shells(), theme_files, merge=bool(kept))
        checkpoint("built")
        folders = SiteFolders(target, portal.settings.project / SPARE_RECORD)
        folders.replace_site(
            staging, kept, carried=carried, previous=previous.generation, generation=generation
        )
    finally:
        config.site_dir = str(target)
        shutil.rmtree(staging, ignore_errors=True)


def _template_error(error: jinja2.TemplateError) -> str:
    where = getattr(error, "filename", None) or getattr(error, "name", None) or "a template"
    line = getattr(error, "lineno", None)
    return f"{where}{f':{line}' if line else ''}: template error: {error.message or error}"

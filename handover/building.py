"""Stage 5: one safe build of the portal.

Cases are validated before MkDocs starts; MkDocs writes into a fresh folder next
to the site; only a complete build replaces the previous site, so a failed build
leaves what was published exactly as it was.
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

os.environ.setdefault("NO_MKDOCS_2_WARNING", "1")  # the theme's banner is not for our users

from mkdocs.commands.build import build as mkdocs_build
from mkdocs.config import load_config
from mkdocs.config.defaults import MkDocsConfig

from handover.cases import case_folders, load_cases
from handover.incremental import (
    STATE_FILE,
    VALIDATED_CACHE,
    BuildState,
    ValidatedCases,
    code_fingerprint,
    folder_fingerprint,
    move_pages,
    shared_fingerprint,
)
from handover.plugin import HandoverPlugin
from handover.purging import lock_caches, prune_orphans, unlock_for
from handover.validation import ClientCase, FirmDefaults

PLUGIN_NAME = "handover"


@dataclass(frozen=True)
class Portal:
    """The loaded ``mkdocs.yml`` and our plugin inside it."""

    config: MkDocsConfig
    plugin: HandoverPlugin

    @property
    def site_dir(self) -> Path:
        return Path(self.config.site_dir)


def open_portal(
    config_file: Path,
    *,
    cases_dirs: list[Path] | None = None,
    site_dir: Path | None = None,
    today: dt.date | None = None,
) -> Portal:
    overrides = {"site_dir": str(site_dir.resolve())} if site_dir else {}
    config = load_config(str(config_file), **overrides)
    plugin = config.plugins.get(PLUGIN_NAME)
    if not isinstance(plugin, HandoverPlugin):
        raise LookupError(f"{config_file}: the 'handover' plugin is not in 'plugins:'")
    plugin.cases_dirs = [d.resolve() for d in cases_dirs] if cases_dirs else None
    plugin.today = today
    return Portal(config, plugin)


def validate(portal: Portal) -> list[ClientCase]:
    """All cases, valid; raises ``ProblemsFound`` with every problem of every case."""
    return portal.plugin.load_cases(portal.config)


@dataclass(frozen=True)
class BuildResult:
    """What a build did: the pages it built, and how many it kept from the previous site."""

    built: list[ClientCase]
    kept: int

    @property
    def pages(self) -> int:
        return len(self.built) + self.kept


def build(portal: Portal) -> BuildResult:
    """Validate, build into a temporary folder, then swap it in place of the site.

    Only cases that changed since the last build (see ``incremental``) are validated and
    built; the pages of the others are moved over from the previous site, once the new
    one has built: until then the previous site stays whole."""
    plugin, config, target = portal.plugin, portal.config, portal.site_dir
    secret = plugin.secret(config)  # fail on a missing secret before any work
    project = plugin.project_dir(config)
    shared = shared_fingerprint(
        Path(config.config_file_path),
        project / plugin.config.templates_dir,
        secret.derive("build-state"),
        plugin.today or dt.date.today(),
    )
    folders = [f for d in plugin.case_dirs(config) for f in case_folders(d)]
    fingerprints = {folder: folder_fingerprint(folder) for folder in folders}
    kept = _unchanged_pages(BuildState.load(project / STATE_FILE), shared, fingerprints, target)
    defaults = plugin.defaults(config)
    known = ValidatedCases(project / VALIDATED_CACHE, fingerprints, _rules(defaults))
    at_rest = secret.derive("cache-at-rest")
    try:
        cases = load_cases(plugin.case_dirs(config), defaults, skip=kept.keys(), known=known)
        unlock_for(project, cases, at_rest)
        _build_beside(portal, cases, kept.values())
    finally:
        lock_caches(project, at_rest)  # no derived plaintext stays between builds

    built = {case.folder: secret.page_slug(case.id, case.case.key_version) for case in cases}
    pages = {
        str(f): {"fingerprint": fingerprints[f], "slug": s} for f, s in {**kept, **built}.items()
    }
    BuildState(shared, str(target), pages).save(project / STATE_FILE)
    known.forget_others()
    prune_orphans(project, {f.name for f in folders}, {entry["slug"] for entry in pages.values()})
    return BuildResult(cases, len(kept))


def _unchanged_pages(
    previous: BuildState, shared: str, fingerprints: dict[Path, str], site: Path
) -> dict[Path, str]:
    """Case folder -> page folder, for every page the previous build of ``site`` can keep."""
    if previous.shared != shared or previous.site != str(site):
        return {}
    kept = {}
    for folder, fingerprint in fingerprints.items():
        slug = previous.unchanged_page(folder, fingerprint, site)
        if slug:
            kept[folder] = slug
    return kept


def _rules(defaults: FirmDefaults) -> str:
    """Everything besides a case's folder that decides whether it is valid."""
    return (
        f"{defaults.language}/{defaults.retention_days}/{defaults.access}/"
        f"{sorted(defaults.languages)}/{code_fingerprint()}"
    )


def _build_beside(portal: Portal, cases: list[ClientCase], kept: Iterable[str]) -> None:
    """MkDocs builds ``cases`` into a fresh folder next to the site; the kept pages move in;
    the new folder takes the site's place. On any failure the site is left as it was."""
    config, target = portal.config, portal.site_dir
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.building-", dir=target.parent))
    try:
        config.site_dir = str(staging)
        portal.plugin.preloaded = cases
        mkdocs_build(config)
        move_pages(kept, target, staging)
        _swap_into_place(staging, target)
    finally:
        config.site_dir = str(target)
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)


def _swap_into_place(staging: Path, target: Path) -> None:
    """Two renames on the same filesystem: the site is either the old one or the new one."""
    staging.chmod(0o755)
    if not target.exists():
        staging.rename(target)
        return
    retired = Path(tempfile.mkdtemp(prefix=f".{target.name}.old-", dir=target.parent))
    retired.rmdir()
    target.rename(retired)
    staging.rename(target)
    shutil.rmtree(retired, ignore_errors=True)

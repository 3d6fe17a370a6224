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
from dataclasses import dataclass
from pathlib import Path

os.environ.setdefault("NO_MKDOCS_2_WARNING", "1")  # the theme's banner is not for our users

from mkdocs.commands.build import build as mkdocs_build
from mkdocs.config import load_config
from mkdocs.config.defaults import MkDocsConfig

from generator.plugin import HandoverPlugin
from generator.validation import ClientCase

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


def build(portal: Portal) -> list[ClientCase]:
    """Validate, build into a temporary folder, then swap it in place of the site."""
    cases = validate(portal)
    portal.plugin.secret(portal.config)  # fail on a missing secret before any work
    target = portal.site_dir
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.building-", dir=target.parent))
    try:
        portal.config.site_dir = str(staging)
        portal.plugin.preloaded = cases
        mkdocs_build(portal.config)
        _swap_into_place(staging, target)
    finally:
        portal.config.site_dir = str(target)
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)
    return cases


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

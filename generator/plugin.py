"""Stage 4: the MkDocs plugin. Cases become generated pages and files in the build.

Because generation is a plugin, plain ``mkdocs build`` and ``mkdocs serve`` work
too; ``handover build`` adds validation up front and the safe swap of the output.
The plugin also enforces the privacy rules of a site shared by many clients:
no search index, no sitemap, no Google Fonts, no page of a client in any nav.
"""

from __future__ import annotations

import datetime as dt
import logging
from pathlib import Path
from typing import Any

from mkdocs.config import base
from mkdocs.config import config_options as option
from mkdocs.config.defaults import MkDocsConfig
from mkdocs.exceptions import PluginError
from mkdocs.plugins import BasePlugin
from mkdocs.structure.files import File, Files, InclusionLevel

from generator.cases import load_cases
from generator.keys import MasterSecret, SecretError, load_master_secret
from generator.problems import ProblemsFound
from generator.rendering import PageView, Renderer, page_view
from generator.validation import ClientCase, FirmDefaults

log = logging.getLogger("mkdocs.plugins.handover")

#: Plugins that would publish an index of every page, i.e. of every client.
FORBIDDEN_PLUGINS = ("search", "tags", "blog", "meta", "offline", "social", "privacy")


class HandoverConfig(base.Config):
    """Firm-wide settings, under ``plugins: - handover:`` in ``mkdocs.yml``."""

    cases_dir = option.Type(str, default="cases")
    templates_dir = option.Type(str, default="site_templates")
    firm_email = option.Optional(option.Type(str))
    firm_phone = option.Optional(option.Type(str))
    default_language = option.Type(str, default="en")
    retention_days = option.Type(int, default=30)


class HandoverPlugin(BasePlugin[HandoverConfig]):
    def __init__(self) -> None:
        #: Set by ``handover build``; plain ``mkdocs build`` uses the real date and mkdocs.yml.
        self.today: dt.date | None = None
        self.cases_dirs: list[Path] | None = None
        #: Cases already validated by ``handover build``, used once instead of loading again.
        self.preloaded: list[ClientCase] | None = None
        self.cases: list[ClientCase] = []
        self.views: dict[str, PageView] = {}

    # -- settings -----------------------------------------------------------------

    def project_dir(self, config: MkDocsConfig) -> Path:
        return Path(config.config_file_path or ".").resolve().parent

    def renderer(self, config: MkDocsConfig) -> Renderer:
        return Renderer(self.project_dir(config) / self.config.templates_dir)

    def defaults(self, config: MkDocsConfig) -> FirmDefaults:
        return FirmDefaults(
            language=self.config.default_language,
            retention_days=self.config.retention_days,
            languages=self.renderer(config).languages(),
        )

    def firm(self, config: MkDocsConfig) -> dict[str, Any]:
        return {
            "name": config.site_name,
            "email": self.config.firm_email,
            "phone": self.config.firm_phone,
        }

    def case_dirs(self, config: MkDocsConfig) -> list[Path]:
        return self.cases_dirs or [self.project_dir(config) / self.config.cases_dir]

    def load_cases(self, config: MkDocsConfig) -> list[ClientCase]:
        """Every case, validated; raises ``ProblemsFound`` listing all problems."""
        return load_cases(self.case_dirs(config), self.defaults(config))

    def secret(self, config: MkDocsConfig) -> MasterSecret:
        try:
            return load_master_secret(self.project_dir(config))
        except SecretError as error:
            raise PluginError(str(error)) from None

    # -- MkDocs events ------------------------------------------------------------

    def on_config(self, config: MkDocsConfig) -> MkDocsConfig:
        _enforce_privacy(config)
        return config

    def on_files(self, files: Files, /, *, config: MkDocsConfig) -> Files:
        try:
            self.cases = self.preloaded or self.load_cases(config)
        except ProblemsFound as problems:
            raise PluginError(problems.report()) from None
        self.preloaded = None
        secret = self.secret(config)
        renderer = self.renderer(config)
        today = self.today or dt.date.today()
        self.views = {}
        for case in self.cases:
            slug = secret.page_slug(case.id)
            view = page_view(case, today, self.firm(config))
            self.views[slug] = view
            _add_generated(files, config, f"{slug}/index.md", content=renderer.render_page(view))
            for download in view.downloads:
                _add_generated(
                    files, config, f"{slug}/{download.site_path}", abs_src_path=str(download.source)
                )
        return files

    def on_serve(self, server: Any, /, *, config: MkDocsConfig, builder: Any) -> Any:
        for cases_dir in self.case_dirs(config):
            server.watch(str(cases_dir))
        server.watch(str(self.project_dir(config) / self.config.templates_dir))
        return server


def _add_generated(files: Files, config: MkDocsConfig, src_uri: str, **source: Any) -> None:
    file = File.generated(config, src_uri, inclusion=InclusionLevel.NOT_IN_NAV, **source)
    files.append(file)


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
    if problems:
        raise PluginError("mkdocs.yml: " + "\nmkdocs.yml: ".join(problems))

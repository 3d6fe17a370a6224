"""A portal's settings: decided once, from ``mkdocs.yml`` and the command line, then passed.

``Settings`` is what every stage reads (folders, firm, defaults, the build day), so nothing
sets another object's attributes from outside: ``handover build`` builds one ``Settings``
and hands it to the plugin for the length of one MkDocs build (``HandoverPlugin.running``);
plain ``mkdocs build`` gets the defaults from ``mkdocs.yml`` alone.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mkdocs.config.defaults import MkDocsConfig

    from handover.files import FileFacts
    from handover.model import AccessMode
    from handover.validation import ClientCase


@dataclass(frozen=True)
class Settings:
    """Everything a build, a preview or a report needs to know besides the cases."""

    config_file: Path
    #: The folder of ``mkdocs.yml``; ``.handover/`` lives here.
    project: Path
    cases_dirs: tuple[Path, ...]
    templates_dir: Path
    docs_dir: Path
    site_dir: Path
    firm: dict[str, Any]
    default_language: str = "en"
    retention_days: int = 30
    default_access: AccessMode = "passphrase"
    #: The build day; None: the real date at each build (a preview may run past midnight).
    today: dt.date | None = None
    #: ``build`` and ``serve`` may create the first secret of a never-built portal.
    may_create_secret: bool = False

    @classmethod
    def from_config(
        cls,
        config: MkDocsConfig,
        options: Any,
        *,
        cases_dirs: list[Path] | None = None,
        today: dt.date | None = None,
        may_create_secret: bool = False,
    ) -> Settings:
        """``options``: the plugin's section of ``mkdocs.yml`` (``HandoverConfig``)."""
        project = Path(config.config_file_path or ".").resolve().parent
        return cls(
            config_file=Path(config.config_file_path or "mkdocs.yml").resolve(),
            project=project,
            cases_dirs=tuple(d.resolve() for d in (cases_dirs or [project / options.cases_dir])),
            templates_dir=project / options.templates_dir,
            docs_dir=Path(config.docs_dir).resolve(),
            site_dir=Path(config.site_dir).resolve(),
            firm={
                "name": config.site_name,
                "email": options.firm_email,
                "phone": options.firm_phone,
            },
            default_language=options.default_language,
            retention_days=options.retention_days,
            default_access=options.default_access,
            today=today,
            may_create_secret=may_create_secret,
        )

    def build_day(self) -> dt.date:
        return self.today or dt.date.today()


@dataclass(frozen=True)
class Run:
    """One MkDocs build started by ``handover build``: its settings, and the cases it
    validated already (so the plugin does not load them a second time)."""

    settings: Settings
    cases: list[ClientCase] | None = field(default=None)
    #: Files the build decrypted from the at-rest cache, with the facts taken as it did:
    #: the facts cache learns them instead of reading each file again.
    restored: dict[Path, FileFacts] = field(default_factory=dict)

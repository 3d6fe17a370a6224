"""A portal's settings: decided once, from ``mkdocs.yml`` and the command line, then passed.

``Settings`` is what every stage reads (folders, firm, defaults, the build day), so nothing
sets another object's attributes from outside: ``handover build`` builds one ``Settings``
and hands it to the plugin for the length of one MkDocs build (``HandoverPlugin.running``);
plain ``mkdocs build`` gets the defaults from ``mkdocs.yml`` alone.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from handover.errors import ConfigError
from handover.problems import Problem
from handover.sealing import DEFAULT_PART_SIZE, MIN_PART_SIZE

if TYPE_CHECKING:
    from mkdocs.config.defaults import MkDocsConfig

    from handover.model import AccessMode
    from handover.preparing import Earlier
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
    #: Encrypted files larger than this many bytes are published in parts of this size.
    part_size: int = DEFAULT_PART_SIZE
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
            part_size=part_size(options.part_size, Path(config.config_file_path or "mkdocs.yml")),
            today=today,
            may_create_secret=may_create_secret,
        )

    def build_day(self) -> dt.date:
        return self.today or dt.date.today()


UNITS = {"": 1, "b": 1, "kib": 1 << 10, "mib": 1 << 20, "gib": 1 << 30}
SIZE = re.compile(r"\s*(\d+(?:\.\d+)?)\s*([a-z]*)\s*", re.I)


def part_size(value: object, config_file: Path) -> int:
    """``part_size`` from ``mkdocs.yml`` in bytes: a whole number, or a size such as
    ``20 MiB``. Binary units only: hosts state their limits in MiB, and ``MB`` would leave
    a reader guessing which was meant. Anything else, or less than ``MIN_PART_SIZE``, stops
    with the file and line, before anything is built."""
    size = _bytes(value)
    if size is not None and size >= MIN_PART_SIZE:
        return size
    wrong = "is not a size" if size is None else "is too small"
    problem = Problem(
        config_file,
        setting_line(config_file, "part_size"),
        "part_size",
        f"{value!r} {wrong}: give bytes or a size such as 20 MiB, at least "
        f"{MIN_PART_SIZE >> 20} MiB",
    )
    raise ConfigError(str(problem))


def _bytes(value: object) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    found = SIZE.fullmatch(value) if isinstance(value, str) else None
    unit = UNITS.get(found[2].lower()) if found else None
    return int(float(found[1]) * unit) if found and unit else None


def setting_line(config_file: Path, name: str) -> int | None:
    """The line of ``name`` in the handover plugin's section of ``mkdocs.yml``, for a
    message that says where to look; None if it cannot be found (the file is read as
    nodes, so MkDocs' own tags such as ``!ENV`` do not stop it)."""
    try:
        root = yaml.compose(config_file.read_text(encoding="utf-8"), Loader=yaml.SafeLoader)
    except (OSError, UnicodeDecodeError, yaml.YAMLError):
        return None
    plugins = _child(root, "plugins")
    entries = plugins.value if isinstance(plugins, yaml.SequenceNode) else []
    for entry in entries:
        setting = _child(_child(entry, "handover"), name)
        if setting is not None:
            return int(setting.start_mark.line) + 1
    return None


def _child(node: yaml.Node | None, key: str) -> yaml.Node | None:
    if not isinstance(node, yaml.MappingNode):
        return None
    return next((v for k, v in node.value if getattr(k, "value", None) == key), None)


@dataclass(frozen=True)
class Run:
    """One MkDocs build started by ``handover build``: its settings, and the cases it
    validated already (so the plugin does not load them a second time)."""

    settings: Settings
    cases: list[ClientCase] | None = field(default=None)
    #: Case folder -> the page the last build made of that same folder content.
    earlier: dict[Path, Earlier] = field(default_factory=dict)

"""``handover init`` and ``handover new``: a portal and a case to fill in, never a blank file.

A portal holds only the firm's data and settings (``mkdocs.yml``, ``cases/``, its own
template overrides); the tool, its templates and its catalogs come from the installed
package, so an upgrade is a version bump in ``requirements.txt``, not a merge.
"""

from __future__ import annotations

import datetime as dt
import re
import shutil
import subprocess
from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path
from typing import Literal

from handover import __version__
from handover.errors import ScaffoldError
from handover.model import CLIENT_ID_PATTERN
from handover.reference import case_json_schema

CiHost = Literal["github", "gitlab"]
#: Where each host's CI template goes in a portal.
CI_FILES: dict[CiHost, str] = {
    "github": ".github/workflows/handover.yml",
    "gitlab": ".gitlab-ci.yml",
}
EXAMPLE_CLIENT = "example-client"

SCHEMA_PATH = "case.schema.json"


def new_case(cases_dir: Path, client_id: str, *, name: str | None, today: dt.date) -> Path:
    """Write a commented ``case.yaml`` for a new client, to be filled in."""
    if not re.fullmatch(CLIENT_ID_PATTERN, client_id):
        raise ScaffoldError(
            f"'{client_id}' is not a client id: use lowercase letters, digits and single hyphens"
        )
    folder = cases_dir / client_id
    if folder.exists():
        raise ScaffoldError(f"{folder} already exists; edit its case.yaml instead")
    template = _scaffold_text("case.yaml")
    schema = Path("..", "..", SCHEMA_PATH).as_posix()
    text = (
        template.replace("{schema_url}", schema)
        .replace("{name}", _yaml_string(name or client_id.replace("-", " ").title()))
        .replace("{service_end}", (today + dt.timedelta(days=30)).isoformat())
    )
    (folder / "documents").mkdir(parents=True)
    (folder / "case.yaml").write_text(text, encoding="utf-8")
    return folder / "case.yaml"


@dataclass(frozen=True)
class PortalSettings:
    """What ``handover init`` asks for; everything else has a commented default."""

    firm: str
    site_url: str = "https://handover.example.com/"
    email: str = "hello@example.com"
    phone: str | None = None
    ci: CiHost | None = None


def init_portal(root: Path, settings: PortalSettings, *, today: dt.date) -> list[Path]:
    """Create a new portal in ``root`` (new or empty, apart from a ``.git`` folder): a
    commented ``mkdocs.yml``, ``cases/`` with one example case, the home page,
    ``.gitignore``, ``requirements.txt``, a pre-commit config and, when asked, the CI
    workflow of the host. Runs ``git init`` unless ``root`` is in a repository already.
    Returns the files written, relative to ``root``."""
    if root.exists() and any(p.name != ".git" for p in root.iterdir()):
        raise ScaffoldError(f"{root} is not empty; handover init makes a new portal folder")
    root.mkdir(parents=True, exist_ok=True)
    values = {
        "firm": settings.firm,
        "site_url": settings.site_url,
        "email": settings.email,
        "phone": _yaml_string(settings.phone) if settings.phone else "null",
        "version": __version__,
    }
    written = {
        "mkdocs.yml": _portal_file("mkdocs.yml", values),
        ".gitignore": _portal_file("gitignore", values),
        "requirements.txt": _portal_file("requirements.txt", values),
        ".pre-commit-config.yaml": _portal_file("pre-commit-config.yaml", values),
        "site_templates/docs/index.md": _portal_file("index.md", values),
        SCHEMA_PATH: case_json_schema(),
    }
    if settings.ci:
        written[CI_FILES[settings.ci]] = _scaffold_text(f"ci/{settings.ci}.yml")
    for name, text in written.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text, encoding="utf-8")
    case = new_case(root / "cases", EXAMPLE_CLIENT, name="Example Client Ltd", today=today)
    _git_init(root)
    return sorted([Path(name) for name in written] + [case.relative_to(root)])


def _portal_file(name: str, values: dict[str, str]) -> str:
    text = _scaffold_text(f"portal/{name}")
    for key, value in values.items():
        text = text.replace("{" + key + "}", value)
    return text


def _scaffold_text(name: str) -> str:
    return files("handover").joinpath("scaffold", name).read_text(encoding="utf-8")


def _git_init(root: Path) -> None:
    """A portal is a git repository (cases are reviewed and history is checked there)."""
    git = shutil.which("git")
    if git is None:
        return
    inside = subprocess.run(
        [git, "rev-parse", "--is-inside-work-tree"], cwd=root, capture_output=True, check=False
    )
    if inside.returncode != 0:
        subprocess.run([git, "init", "-q"], cwd=root, check=True)


def _yaml_string(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'

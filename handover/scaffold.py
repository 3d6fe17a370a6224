"""``handover new``: a commented case to fill in, so nobody starts from a blank file."""

from __future__ import annotations

import datetime as dt
import re
from importlib.resources import files
from pathlib import Path

from handover.errors import ScaffoldError
from handover.model import CLIENT_ID_PATTERN

SCHEMA_PATH = "case.schema.json"


def new_case(cases_dir: Path, client_id: str, *, name: str | None, today: dt.date) -> Path:
    if not re.fullmatch(CLIENT_ID_PATTERN, client_id):
        raise ScaffoldError(
            f"'{client_id}' is not a client id: use lowercase letters, digits and single hyphens"
        )
    folder = cases_dir / client_id
    if folder.exists():
        raise ScaffoldError(f"{folder} already exists; edit its case.yaml instead")
    template = files("handover").joinpath("scaffold/case.yaml").read_text(encoding="utf-8")
    schema = Path("..", "..", SCHEMA_PATH).as_posix()
    text = (
        template.replace("{schema_url}", schema)
        .replace("{name}", _yaml_string(name or client_id.replace("-", " ").title()))
        .replace("{service_end}", (today + dt.timedelta(days=30)).isoformat())
    )
    (folder / "documents").mkdir(parents=True)
    (folder / "case.yaml").write_text(text, encoding="utf-8")
    return folder / "case.yaml"


def _yaml_string(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'

"""The README and the schema file stay true to the code."""

from __future__ import annotations

import json
import re

from handover.cli import cli
from handover.plugin import HandoverConfig
from handover.reference import END, START, case_format_markdown, case_json_schema
from tests.conftest import REPO

README = (REPO / "README.md").read_text(encoding="utf-8")


def readme_commands() -> list[str]:
    return re.findall(r"```sh\n(.+?)\n```", README)


def test_ci_runs_exactly_the_readme_test_command() -> None:
    test_command = next(c for c in readme_commands() if "pytest" in c)
    ci_lines = (REPO / ".ci" / "run").read_text().strip().splitlines()
    assert ci_lines[-1] == test_command


def test_readme_has_a_build_command() -> None:
    assert any("handover build" in command for command in readme_commands())


def test_every_cli_command_is_documented() -> None:
    for name in cli.commands:
        assert f"`handover {name}" in README, name


def test_every_firm_setting_is_documented() -> None:
    for name in dict(HandoverConfig._schema):
        assert f"| `{name}` |" in README, name


def test_case_format_reference_is_current() -> None:
    section = README[README.index(START) : README.index(END) + len(END)]
    assert section == case_format_markdown(), "run: handover schema --markdown, paste into README"


def test_schema_file_is_current() -> None:
    committed = json.loads((REPO / "case.schema.json").read_text(encoding="utf-8"))
    assert committed == json.loads(case_json_schema()), "run: handover schema > case.schema.json"

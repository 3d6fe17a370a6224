"""The README and the schema file stay true to the code."""

from __future__ import annotations

import json
import re

import click

from handover.cli import cli
from handover.plugin import HandoverConfig
from handover.reference import (
    COMMANDS_END,
    COMMANDS_START,
    END,
    START,
    case_format_markdown,
    case_json_schema,
    commands_markdown,
)
from tests.conftest import REPO

README = (REPO / "README.md").read_text(encoding="utf-8")
DOCS = REPO / "docs"
COMMANDS = (DOCS / "commands.md").read_text(encoding="utf-8")
CASES = (DOCS / "cases.md").read_text(encoding="utf-8")


def readme_commands() -> list[str]:
    return re.findall(r"```sh\n(.+?)\n```", README)


def test_ci_runs_exactly_the_readme_test_command() -> None:
    test_command = next(c for c in readme_commands() if "pytest" in c)
    ci_lines = (REPO / ".ci" / "run").read_text().strip().splitlines()
    assert ci_lines[-1] == test_command


def test_readme_has_a_build_command() -> None:
    assert any("handover build" in command for command in readme_commands())


def test_every_cli_command_and_option_is_documented() -> None:
    section = COMMANDS[
        COMMANDS.index(COMMANDS_START) : COMMANDS.index(COMMANDS_END) + len(COMMANDS_END)
    ]
    assert section == commands_markdown(cli), "run: python -m handover.reference"


def test_every_command_and_option_says_what_it_is_for() -> None:
    for name, command in cli.commands.items():
        assert command.help, f"handover {name} has no help text"
        for option in command.params:
            if isinstance(option, click.Option):
                assert option.help, f"handover {name} {option.opts[-1]} has no help text"


def test_every_firm_setting_is_documented() -> None:
    for name in dict(HandoverConfig._schema):
        assert f"| `{name}` |" in CASES, name


def test_case_format_reference_is_current() -> None:
    section = CASES[CASES.index(START) : CASES.index(END) + len(END)]
    assert section == case_format_markdown(), (
        "run: handover schema --markdown, paste into docs/cases.md"
    )


def test_every_documentation_page_is_linked_from_the_readme() -> None:
    for page in sorted(DOCS.glob("*.md")):
        assert f"(docs/{page.name})" in README, page.name


def test_schema_file_is_current() -> None:
    committed = json.loads((REPO / "case.schema.json").read_text(encoding="utf-8"))
    assert committed == json.loads(case_json_schema()), "run: handover schema > case.schema.json"

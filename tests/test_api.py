"""handover is a library too: what the CLI does, a script can do with the same calls."""

from __future__ import annotations

import subprocess
import sys

import handover
from tests import sealed
from tests.conftest import Project


def test_every_name_of_the_api_resolves_and_is_documented() -> None:
    for name in handover.__all__:
        value = getattr(handover, name)
        assert value is not None, name
        if callable(value) and name != "__version__":
            assert value.__doc__, f"handover.{name} has no docstring"


def test_help_shows_the_api() -> None:
    shown = subprocess.run(
        [sys.executable, "-c", "import handover; help(handover)"],
        capture_output=True,
        text=True,
        check=True,
        env={"PAGER": "cat", "PATH": ""},
    ).stdout
    for name in ("open_portal", "build", "client_links", "publish", "plan_purge"):
        assert f"\n    {name}(" in shown, name


def test_a_script_builds_a_portal_and_lists_its_links(
    project: Project, minimal_case: object
) -> None:
    import datetime as dt

    portal = handover.open_portal(project.config, today=dt.date(2026, 12, 1))
    result = handover.build(portal)
    assert [case.id for case in result.built] == ["minimal"]
    (link,) = handover.client_links(portal)
    assert (link.id, link.name, link.access) == ("minimal", "Minimal Client Ltd", "passphrase")
    assert link.url == f"https://handover.example.com/{sealed.keys('minimal').slug}/"
    assert "Monthly payroll" in sealed.open_page(project.site, "minimal")[0]

"""A new day rebuilds only the pages whose day came (issue 13, point 5).

A page depends on the build day only by comparing it with the case's own dates
(``rendering.next_change``); how many days are left is worded by the reader's browser. So
the daily CI build keeps every page whose dates the day did not pass, and the page of a
case whose date it did pass reads exactly as a full build of that day would make it.
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from handover.building import open_portal, validate
from handover.rendering import DEFAULT_TEMPLATES, Renderer, next_change, page_view
from handover.validation import ClientCase
from tests import sealed
from tests.conftest import MINIMAL_CASE, Project
from tests.test_build_incremental import CLIENTS, FILES, edit, full_build, tree

PREPARED = dt.date(2026, 11, 1)


def example_cases(example_portal: Path) -> list[ClientCase]:
    return validate(open_portal(example_portal / "mkdocs.yml"))


def reading(renderer: Renderer, case: ClientCase, firm: dict[str, Any], day: dt.date) -> str:
    """What the client reads on ``day`` (page and calendar), prepared on a fixed day."""
    view = page_view(case, day, firm, prepared=PREPARED)
    return renderer.render_page(view) + repr(renderer.calendar_events(view))


def days_to_check(case: ClientCase) -> Iterator[dt.date]:
    """Each day the page may change on, the day before it, and the middle of every stretch
    between two of them; and, not to rely on ``next_change`` alone for which days to look
    at, every day from just before the case's first date to two months after it."""
    first = min(case.days)
    yield from (first + dt.timedelta(days=n) for n in range(-2, 62))
    day = dt.date(2020, 1, 1)
    while (turn := next_change(case, day)) is not None:
        yield day
        yield day + (turn - day) // 2
        yield turn - dt.timedelta(days=1)
        day = turn
    yield day
    yield day + dt.timedelta(days=400)


def test_a_page_reads_the_same_on_every_day_until_its_next_change(example_portal: Path) -> None:
    renderer = Renderer(DEFAULT_TEMPLATES)
    firm = {"name": "Firm", "email": "office@example.org", "phone": None}
    for case in example_cases(example_portal):
        checked = sorted(set(days_to_check(case)))
        assert len(checked) > 10, case.id  # the example cases have dates to pass
        for earlier, later in itertools.pairwise(checked):
            turn = next_change(case, earlier)
            if turn is None or later < turn:
                assert reading(renderer, case, firm, later) == reading(
                    renderer, case, firm, earlier
                ), f"{case.id}: the page changed between {earlier} and {later}"


def test_the_next_change_is_the_first_date_the_page_compares_the_day_with(
    example_portal: Path,
) -> None:
    novak = next(c for c in example_cases(example_portal) if c.id == "novak-ucetnictvi")
    end = novak.case.service_end
    assert next_change(novak, end - dt.timedelta(days=1)) == end
    assert next_change(novak, end) == end + dt.timedelta(days=1)
    assert next_change(novak, dt.date.max) is None


def test_a_new_day_keeps_every_page_whose_dates_it_did_not_pass(project: Project) -> None:
    for client in CLIENTS:
        project.write_case(client, MINIMAL_CASE.replace("Minimal Client", client.title()), FILES)
    assert "Built 3 client pages" in project.run("build", "--today", "2026-12-01").output
    before = tree(project.site)
    result = project.run("build", "--today", "2026-12-02")
    assert "Built 0 client pages (3 unchanged, kept)" in result.output
    assert tree(project.site) == before


@pytest.fixture
def ending(project: Project) -> Project:
    """Three clients; gamma's service ends on 3 December, the others' on 31 December."""
    for client in CLIENTS:
        project.write_case(client, MINIMAL_CASE.replace("Minimal Client", client.title()), FILES)
    edit(project, "gamma", "service_end: 2026-12-31", "service_end: 2026-12-03")
    assert "Built 3 client pages" in project.run("build", "--today", "2026-12-01").output
    return project


def test_the_day_a_date_passes_rebuilds_that_page_only(ending: Project, tmp_path: Path) -> None:
    before = tree(ending.site)
    assert (
        "Built 0 client pages (3 unchanged, kept)"
        in ending.run("build", "--today", "2026-12-02").output
    )
    assert "Ends on December 3, 2026" in sealed.open_page(ending.site, "gamma")[0]
    result = ending.run("build", "--today", "2026-12-04")
    assert "Built 1 client page (2 unchanged, kept)" in result.output
    gamma, _ = sealed.open_page(ending.site, "gamma")
    assert "Ended on December 3, 2026" in gamma
    assert f"Page prepared on {sealed.prepared_on('2026-12-04', 'December 4, 2026')}." in gamma
    after = tree(ending.site)
    for client in ("alpha", "beta"):
        page = f"{sealed.page_dir(ending.site, client).name}/index.html"
        assert after[page] == before[page]
        assert (
            f"Page prepared on {sealed.prepared_on('2026-12-01', 'December 1, 2026')}."
            in sealed.open_page(ending.site, client)[0]
        )
    full_build(ending, tmp_path / "full", "2026-12-04")
    assert sealed.open_page(tmp_path / "full", "gamma")[0] == gamma


def test_a_build_for_an_earlier_day_builds_the_pages_again(ending: Project) -> None:
    """``--today`` may go back (a preview of another day, a mistake): a page made for a
    later day is not kept for an earlier one; pages that read the same on both days are."""
    ending.run("build", "--today", "2026-12-04")
    result = ending.run("build", "--today", "2026-12-02")
    assert "Built 1 client page (2 unchanged, kept)" in result.output
    assert "Ends on December 3, 2026" in sealed.open_page(ending.site, "gamma")[0]


def test_a_fresh_checkout_of_the_same_cases_keeps_every_page(project: Project) -> None:
    """CI restores the caches and the site into a new clone every day: every file there has
    new stamps (mtime, ctime, inode), and the same bytes. Pages are kept by content."""
    for client in CLIENTS:
        project.write_case(client, MINIMAL_CASE.replace("Minimal Client", client.title()), FILES)
    assert "Built 3 client pages" in project.run("build", "--today", "2026-12-01").output
    before = tree(project.site)
    for file in [p for p in project.cases.rglob("*") if p.is_file()]:
        data = file.read_bytes()
        file.unlink()
        file.write_bytes(data)
    result = project.run("build", "--today", "2026-12-02")
    assert "Built 0 client pages (3 unchanged, kept)" in result.output
    assert tree(project.site) == before
    edit(project, "beta", "Monthly payroll", "Quarterly payroll")
    assert (
        "Built 1 client page (2 unchanged, kept)"
        in project.run("build", "--today", "2026-12-02").output
    )


def test_the_tool_installed_afresh_is_the_same_tool(tmp_path: Path) -> None:
    """CI installs the same version into a new environment every day: the code that shapes
    every page is recognised by its bytes, so the reinstall rebuilds nothing."""
    import shutil

    import handover
    from handover.incremental import _code_fingerprint

    package = Path(handover.__file__).parent
    copy = shutil.copytree(package, tmp_path / "handover")
    assert _code_fingerprint(copy) == _code_fingerprint(package)
    (copy / "rendering.py").write_text("# another version\\n", encoding="utf-8")
    assert _code_fingerprint.__wrapped__(copy) != _code_fingerprint(package)


def test_a_validated_case_keeps_every_date_it_holds(example_portal: Path) -> None:
    """Builds of unchanged cases take the dates from the validated case, not from a walk."""
    from handover.rendering import case_days

    for case in example_cases(example_portal):
        assert case.days and set(case.days) == case_days(case)


def test_a_page_built_again_that_reads_the_same_keeps_its_bytes(ending: Project) -> None:
    """On gamma's last day of service its page is built again (a comparison may flip), but
    it reads as before: it keeps the day it was made, so its bytes, so the host sees no
    change. So does every page after an edit to mkdocs.yml that changes nothing they show."""
    before = tree(ending.site)
    result = ending.run("build", "--today", "2026-12-03")
    assert "Built 1 client page (2 unchanged, kept)" in result.output
    assert tree(ending.site) == before
    with ending.config.open("a", encoding="utf-8") as config:
        config.write("# every page is built again\n")
    assert "Built 3 client pages" in ending.run("build", "--today", "2026-12-03").output
    assert tree(ending.site) == before
    assert (
        f"Page prepared on {sealed.prepared_on('2026-12-01', 'December 1, 2026')}."
        in sealed.open_page(ending.site, "gamma")[0]
    )

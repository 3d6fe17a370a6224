"""The client's page in real Chromium: ticks that persist, deadlines, access for all, print."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import Project
from tests.test_client_page import FILES, FULL_CASE

pytestmark = pytest.mark.browser
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 900}


@pytest.fixture
def client_page(
    project: Project, browser: Any, http_site: Callable[[Path], str]
) -> Iterator[Callable[..., Any]]:
    project.write_case("complete", FULL_CASE, FILES)
    assert project.run("build", "--today", "2026-12-01").exit_code == 0
    link = json.loads(project.run("links", "--json").stdout)[0]
    url = link["url"].replace("https://handover.example.com", http_site(project.site))
    contexts: list[Any] = []

    def open_page(
        viewport: dict[str, int] = DESKTOP,
        context: Any = None,
        *,
        unlock: bool = True,
        clock: str | None = None,
    ) -> Any:
        """The client's page in a browser; ``clock`` fixes the reader's today."""
        if context is None:
            context = browser.new_context(viewport=viewport, accept_downloads=True)
            contexts.append(context)
        page = context.new_page()
        if clock:
            page.clock.set_fixed_time(clock)
        page.goto(url)
        if unlock:
            page.locator("#handover-passphrase").fill(link["passphrase"])
            page.locator("form[data-handover-form] button[type=submit]").click()
            page.locator("article[data-handover-page]").wait_for()
        return page

    yield open_page
    for context in contexts:
        context.close()


def test_account_steps_are_ticked_and_remembered(client_page: Callable[..., Any]) -> None:
    page = client_page()
    step = page.get_by_role("checkbox", name='Remove user "firm"')
    assert step.is_enabled() and not step.is_checked()
    step.click()
    assert step.is_checked()
    again = client_page(context=page.context)
    assert again.get_by_role("checkbox", name='Remove user "firm"').is_checked()


def test_overdue_deadline_turns_red_after_its_day(client_page: Callable[..., Any]) -> None:
    page = client_page(clock="2026-12-20T10:00:00")
    deadline = page.locator('.handover-meta [data-due="2026-12-15"]')
    assert "handover-overdue" in (deadline.get_attribute("class") or "")
    assert deadline.inner_text().endswith("· overdue")
    not_yet = page.locator('[data-due="2026-12-20"]')  # invoice due today: not overdue
    assert "handover-overdue" not in (not_yet.get_attribute("class") or "")


def test_no_serious_accessibility_violations(client_page: Callable[..., Any]) -> None:
    from axe_playwright_python.sync_playwright import Axe

    for viewport in (PHONE, DESKTOP):
        page = client_page(viewport)
        results = Axe().run(page)
        serious = [
            (v["id"], v["help"], [n["target"] for n in v["nodes"]][:3])
            for v in results.response["violations"]
            if v["impact"] in {"serious", "critical"}
        ]
        assert serious == []


def test_locked_page_is_accessible_too(client_page: Callable[..., Any]) -> None:
    from axe_playwright_python.sync_playwright import Axe

    page = client_page(PHONE, unlock=False)
    violations = Axe().run(page).response["violations"]
    assert [v["id"] for v in violations if v["impact"] in {"serious", "critical"}] == []


@pytest.mark.parametrize("viewport", [PHONE, DESKTOP], ids=["phone", "desktop"])
def test_nothing_overflows_horizontally(
    client_page: Callable[..., Any], viewport: dict[str, int], tmp_path: Path
) -> None:
    page = client_page(viewport)
    page.screenshot(path=str(tmp_path / "page.png"), full_page=True)
    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0
    wide = page.evaluate(
        """() => [...document.querySelectorAll('article *')]
             .filter(el => el.getBoundingClientRect().right > window.innerWidth + 1)
             .map(el => el.tagName + '.' + el.className).slice(0, 5)"""
    )
    assert wide == []


def test_print_is_a_clean_dated_letter(client_page: Callable[..., Any], tmp_path: Path) -> None:
    page = client_page()
    page.emulate_media(media="print")
    assert page.locator(".handover-letterhead").is_visible()
    assert not page.locator(".md-header").is_visible()
    assert not page.locator(".handover-toc").is_visible()
    assert not page.get_by_role("link", name="Confirm receipt").is_visible()
    pdf = tmp_path / "handover.pdf"
    page.pdf(path=str(pdf))
    assert pdf.read_bytes().startswith(b"%PDF")

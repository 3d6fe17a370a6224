"""Issue #12, as a departing client meets it: every example page and every state of the
lock, on a phone and a desktop, with axe-core, the keyboard, a clock 40 days on, and a
case edited under an open browser.

Screenshots and print PDFs go to tests/out/ (git-ignored), to look at after a run.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import textwrap
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import icalendar
import pytest

from tests import sealed
from tests.conftest import REPO, Project
from tests.test_browser import example_links  # noqa: F401 (a fixture)
from tests.test_privacy import example_cases

pytestmark = pytest.mark.browser
OUT = REPO / "tests" / "out"
PHONE = {"width": 390, "height": 844}
NARROW = {"width": 360, "height": 740}
DESKTOP = {"width": 1366, "height": 900}
BUILD_DAY = dt.date(2026, 11, 22)  # the example_site fixture's --today
STATES = ["unlock", "wrong-passphrase", "incomplete-link", "damaged", "unlocked", "deleted"]


@pytest.fixture
def contexts(browser: Any) -> Iterator[Callable[..., Any]]:
    opened: list[Any] = []

    def new(viewport: dict[str, int] = DESKTOP, **options: Any) -> Any:
        context = browser.new_context(viewport=viewport, accept_downloads=True, **options)
        opened.append(context)
        return context

    yield new
    for context in opened:
        context.close()


@pytest.fixture(scope="module")
def base(example_site: Path) -> Iterator[str]:
    from tests.conftest import serve_directory

    server, url = serve_directory(example_site)
    yield url
    server.shutdown()
    server.server_close()


def url_of(link: dict[str, Any], base: str) -> str:
    return str(link["url"]).replace("https://handover.example.com", base)


def unlock(page: Any, link: dict[str, Any]) -> None:
    if link["passphrase"]:
        page.locator("#handover-passphrase").fill(link["passphrase"])
        page.locator("form[data-handover-form] button[type=submit]").click()
    page.locator("article[data-handover-page]").wait_for()


def damage_envelope(route: Any) -> None:
    """The host serves the page with one character of the sealed content changed."""
    response = route.fetch()
    html = response.text()
    found = re.search(r'("page": ?\{"ct": ?"[A-Za-z0-9+/]{40})([A-Za-z0-9+/])', html)
    assert found, "no sealed page content to damage"
    flipped = "B" if found.group(2) != "B" else "C"
    html = html[: found.start(2)] + flipped + html[found.end(2) :]
    route.fulfill(response=response, body=html)


def open_state(context: Any, state: str, links: dict[str, dict[str, Any]], base: str) -> Any:
    """A page in one of the states a client can meet."""
    page = context.new_page()
    novak, brightside = links["novak-ucetnictvi"], links["brightside-agency-client"]
    if state == "unlock":
        page.goto(url_of(novak, base))
        page.locator("#handover-passphrase").wait_for()
    elif state == "wrong-passphrase":
        page.goto(url_of(novak, base))
        page.locator("#handover-passphrase").fill("wrong words entirely here")
        page.locator("form[data-handover-form] button[type=submit]").click()
        page.locator('[data-handover-message="wrong"]').wait_for()
    elif state == "incomplete-link":
        page.goto(url_of(brightside, base).split("#")[0])
        page.locator('[data-handover-message="bad-link"]').wait_for()
    elif state == "damaged":
        page.route(url_of(brightside, base).split("#")[0], damage_envelope)
        page.goto(url_of(brightside, base))
        page.locator('[data-handover-message="damaged"]').wait_for()
    elif state == "unlocked":
        page.goto(url_of(novak, base))
        unlock(page, novak)
    else:
        harbour = links["harbour-consulting"]
        page.goto(url_of(harbour, base))
        unlock(page, harbour)
        assert page.get_by_text("Deletion confirmed").is_visible()
    return page


def axe_violations(page: Any) -> list[tuple[str, str, list[Any]]]:
    from axe_playwright_python.sync_playwright import Axe

    results = Axe().run(page)
    return [
        (v["id"], v["impact"], [n["target"] for n in v["nodes"]][:3])
        for v in results.response["violations"]
    ]


def overflow(page: Any) -> tuple[int, list[str]]:
    width = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    wide = page.evaluate(
        """() => [...document.querySelectorAll('.md-content *')]
             .filter(el => el.getClientRects().length
                        && el.getBoundingClientRect().right > window.innerWidth + 1)
             .map(el => el.tagName + '.' + el.className).slice(0, 5)"""
    )
    return width, wide


@pytest.mark.parametrize("state", STATES)
def test_every_state_has_no_axe_violation_and_no_sideways_scroll(
    state: str,
    example_links: dict[str, dict[str, Any]],  # noqa: F811
    base: str,
    contexts: Callable[..., Any],
) -> None:
    for viewport in (NARROW, DESKTOP):
        page = open_state(contexts(viewport), state, example_links, base)
        assert axe_violations(page) == [], (state, viewport)
        width, wide = overflow(page)
        assert width <= 0 and wide == [], (state, viewport, wide)
        OUT.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(OUT / f"state-{state}-{viewport['width']}.png"), full_page=True)


@pytest.mark.parametrize("client_id", sorted(example_cases()))
def test_every_example_page_on_phone_and_desktop_and_in_print(
    client_id: str,
    example_links: dict[str, dict[str, Any]],  # noqa: F811
    base: str,
    contexts: Callable[..., Any],
) -> None:
    link = example_links[client_id]
    folder = OUT / "pages"
    folder.mkdir(parents=True, exist_ok=True)
    for viewport in (PHONE, NARROW, DESKTOP):  # print from the desktop page, last
        page = contexts(viewport).new_page()
        page.goto(url_of(link, base))
        unlock(page, link)
        panel = page.locator(".handover-next")
        heading = page.locator("article h1")
        # The panel comes first: right after the client's name, before any other section.
        first_h2 = page.locator("article h2").first.get_attribute("id")
        assert first_h2 == "next-steps"
        box = panel.bounding_box()
        assert box is not None and box["y"] > heading.bounding_box()["y"]
        if viewport is PHONE:
            assert box["y"] < viewport["height"] / 2, "the panel starts in the first screen"
            first_item = page.locator(".handover-next__item:visible, .handover-next__none").first
            item_box = first_item.bounding_box()
            assert item_box and item_box["y"] + item_box["height"] <= viewport["height"]
            assert not page.locator(".handover-toc nav").is_visible(), "contents collapsed"
            assert not page.locator('label.md-header__button[for="__drawer"]').is_visible()
        assert overflow(page)[0] <= 0 and overflow(page)[1] == [], (viewport, overflow(page))
        assert axe_violations(page) == [], viewport
        if viewport is not NARROW:
            page.screenshot(
                path=str(folder / f"{client_id}-{viewport['width']}.png"), full_page=True
            )
    page.emulate_media(media="print")
    assert not page.locator(".md-button").first.is_visible()
    # The printed letter is dated by the build ("correct as at"): no countdown from another day.
    assert not page.locator(".handover-days").first.is_visible()
    assert not page.locator("[data-handover-print]").is_visible()
    if page.locator("[data-handover-receipt]").count() or page.locator(".handover-receipt").count():
        assert page.locator(".handover-receipt").is_visible()
    page.screenshot(path=str(folder / f"{client_id}-print.png"), full_page=True)
    pdf = folder / f"{client_id}.pdf"
    page.pdf(path=str(pdf), format="A4")
    assert pdf.read_bytes().startswith(b"%PDF")


def test_print_writes_every_external_address_out(
    example_links: dict[str, dict[str, Any]],  # noqa: F811
    base: str,
    contexts: Callable[..., Any],
) -> None:
    link = example_links["novak-ucetnictvi"]
    page = contexts().new_page()
    page.goto(url_of(link, base))
    unlock(page, link)
    page.emulate_media(media="print")
    row = page.get_by_role("row").filter(has_text="Účetní archiv 2019–2022")
    after = row.locator("a").evaluate("a => getComputedStyle(a, '::after').content")
    assert "https://archive.example.com/novak-stavby/ucetni-archiv-2019-2022.zip" in after
    assert page.locator(".handover-receipt").is_visible()
    assert "Podpis" in page.locator(".handover-receipt").inner_text()


def test_focus_ring_is_visible_on_every_kind_of_control(
    example_links: dict[str, dict[str, Any]],  # noqa: F811
    base: str,
    contexts: Callable[..., Any],
) -> None:
    link = example_links["novak-ucetnictvi"]
    page = contexts(PHONE).new_page()
    page.goto(url_of(link, base))
    page.locator("#handover-passphrase").wait_for()

    def ring(selector: str) -> tuple[str, float]:
        style = page.locator(selector).evaluate(
            "el => [getComputedStyle(el).outlineStyle,"
            " parseFloat(getComputedStyle(el).outlineWidth)]"
        )
        return style[0], style[1]

    page.keyboard.press("Tab")  # from the body, keyboard focus goes to the first control
    page.locator("#handover-passphrase").focus()
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.id") == "handover-reveal"
    assert ring("#handover-reveal")[0] != "none" and ring("#handover-reveal")[1] >= 2
    page.keyboard.press("Shift+Tab")
    assert ring("#handover-passphrase")[0] != "none" and ring("#handover-passphrase")[1] >= 2
    page.keyboard.press("Tab")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.id") == "handover-remember"
    assert ring("#handover-remember")[1] >= 2
    unlock(page, link)
    box = page.locator("input[data-step]").first
    box.focus()
    page.keyboard.press("Shift+Tab")
    page.keyboard.press("Tab")
    assert ring("input[data-step] >> nth=0")[0] != "none"
    size = box.bounding_box()
    assert size and size["width"] >= 24 and size["height"] >= 24, "WCAG 2.5.8 target size"


def test_keyboard_only_unlock_tick_and_download(
    example_links: dict[str, dict[str, Any]],  # noqa: F811
    base: str,
    contexts: Callable[..., Any],
    tmp_path: Path,
) -> None:
    link = example_links["novak-ucetnictvi"]
    page = contexts(PHONE).new_page()
    page.goto(url_of(link, base))
    page.locator("#handover-passphrase").wait_for()
    assert page.evaluate("document.activeElement.id") == "handover-passphrase"
    page.keyboard.type(link["passphrase"])
    page.keyboard.press("Enter")
    page.locator("article[data-handover-page]").wait_for()
    assert page.evaluate("document.activeElement.tagName") == "H1", "focus on the heading"
    page.wait_for_function("document.querySelector('[data-handover-announce]').textContent")
    assert (
        page.locator("[data-handover-announce]").inner_text()
        == "Vaše stránka s předáním je otevřená."
    )
    # Tab until the first step's checkbox, then tick it with the space bar.
    for _ in range(80):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.hasAttribute('data-step')"):
            break
    step = page.evaluate("document.activeElement.getAttribute('data-step')")
    assert step
    page.keyboard.press("Space")
    assert page.locator(f'input[data-step="{step}"]').is_checked()
    # On to the first file download, taken with Enter.
    for _ in range(80):
        page.keyboard.press("Tab")
        if page.evaluate(
            "document.activeElement.matches('a[download][href^=\"files/documents/\"]')"
        ):
            break
    name = page.evaluate("document.activeElement.getAttribute('download')")
    with page.expect_download() as info:
        page.keyboard.press("Enter")
    saved = tmp_path / info.value.suggested_filename
    info.value.save_as(saved)
    assert saved.name == name
    assert (
        saved.read_bytes()
        == (REPO / "cases" / "novak-ucetnictvi" / "documents" / name).read_bytes()
    )


def test_forty_days_on_no_stale_countdown_and_no_link_past_its_day(
    example_links: dict[str, dict[str, Any]],  # noqa: F811
    example_site: Path,
    base: str,
    contexts: Callable[..., Any],
) -> None:
    reader_day = BUILD_DAY + dt.timedelta(days=40)
    for client_id in sorted(example_cases()):
        link = example_links[client_id]
        page = contexts().new_page()
        page.clock.set_fixed_time(f"{reader_day.isoformat()}T10:00:00")
        page.goto(url_of(link, base))
        unlock(page, link)
        language = page.locator("article[data-handover-page]").get_attribute("lang")
        # Each countdown is worded for the reader's day, not the build's.
        days = page.locator(".handover-days").evaluate_all(
            "els => els.map(el => [el.dataset.day, el.textContent])"
        )
        for day, text in days:
            n = (dt.date.fromisoformat(day) - reader_day).days
            expected = page.evaluate(
                "([l, n]) => new Intl.RelativeTimeFormat(l, {numeric: 'auto'}).format(n, 'day')",
                [language, n],
            )
            assert text == expected, (client_id, day, text)
        # No download or external link in a row whose last day has passed.
        html, _ = sealed.open_page(example_site, client_id)
        past = re.findall(r'<tr data-until="(\d{4}-\d\d-\d\d)"', html)
        for until in past:
            if dt.date.fromisoformat(until) < reader_day:
                assert page.locator(f'tr[data-until="{until}"]').count() == 0
        expired = page.locator("tr:has(.handover-removed)")
        assert expired.locator("a").count() == 0
        for item in page.locator(".handover-next__item:visible").all():
            if item.get_attribute("data-next-kind") == "download":
                assert dt.date.fromisoformat(item.get_attribute("data-day") or "") >= reader_day
        if client_id == "novak-ucetnictvi":
            row = page.get_by_role("row").filter(has_text="Mzdový archiv 2020–2026")
            assert row.locator("a").count() == 0
            assert "Ke stažení bylo do 15.\xa0prosince 2026" in row.inner_text()
            badges = page.locator(".handover-badge--ended").all_inner_texts()
            assert badges and all(b == "Ukončeno 31.\xa0prosince 2026" for b in badges), badges
            overdue = page.locator(".handover-overdue")
            assert overdue.count() >= 1 and "po termínu" in overdue.first.inner_text()


STABLE_CASE = """
    client: {name: Stable Steps s.r.o.}
    access: link
    service_end: 2026-12-31
    documents:
      - title: Early export
        file: documents/early.csv
        available_until: 2026-12-05
      - title: Ledger
        file: documents/ledger.csv
    accounts:
      - system: Bank
        action: revoke-our-access
        by: 2026-12-20
        steps:
          - Log in as administrator.
          - Remove the firm's bank user.
          - text: We send you the closing statement.
            who: we
    invoices:
      - number: "2026-7"
        amount: 100
        currency: EUR
        due: 2026-12-10
        status: open
"""


def calendar_uids(project: Project) -> dict[str, str]:
    _, files = sealed.open_page(project.site, "stable")
    (href,) = [h for h in files if h.endswith(".ics")]
    calendar = icalendar.Calendar.from_ical(sealed.open_file(project.site, "stable", href))
    return {str(e["summary"]): str(e["uid"]) for e in calendar.walk("VEVENT")}


def test_edit_and_rebuild_moves_no_tick_and_keeps_calendar_uids(
    project: Project, contexts: Callable[..., Any], http_site: Callable[[Path], str]
) -> None:
    files = {"documents/early.csv": b"a\n1\n", "documents/ledger.csv": b"b\n2\n"}
    project.write_case("stable", STABLE_CASE, files)
    assert project.run("build", "--today", "2026-12-01").exit_code == 0
    before = calendar_uids(project)
    assert "Last day to download: Early export" in before
    link = json.loads(project.run("links", "--json").stdout)[0]
    url = link["url"].replace("https://handover.example.com", http_site(project.site))
    context = contexts()
    page = context.new_page()
    page.goto(url)
    page.locator("article[data-handover-page]").wait_for()
    assert page.locator("input[data-step]").count() == 2, "a checkbox only for the client's steps"
    page.get_by_role("checkbox", name="Remove the firm's bank user.").check()

    # Staff add a step above it and drop the past date (the early export), then rebuild.
    edited = textwrap.dedent(STABLE_CASE)
    edited = edited.replace(
        "  - title: Early export\n    file: documents/early.csv\n    available_until: 2026-12-05\n",
        "",
    ).replace("    steps:\n", "    steps:\n      - Download the last statement.\n")
    assert edited.count("Early export") == 0 and "Download the last statement" in edited
    project.write_case("stable", edited, files)
    assert project.run("build", "--today", "2026-12-01").exit_code == 0
    after = calendar_uids(project)
    assert "Last day to download: Early export" not in after
    assert {s: after[s] for s in before if s in after} == {
        s: before[s] for s in before if s in after
    }, "no remaining event changed its UID"
    assert len(after) == len(before) - 1

    page.reload()
    page.locator("article[data-handover-page]").wait_for()
    boxes = page.locator("input[data-step]")
    assert boxes.count() == 3
    assert page.get_by_role("checkbox", name="Remove the firm's bank user.").is_checked()
    assert not page.get_by_role("checkbox", name="Download the last statement.").is_checked()
    assert not page.get_by_role("checkbox", name="Log in as administrator.").is_checked()


def test_receipt_email_lists_the_downloaded_files_and_the_page_remembers_it(
    example_links: dict[str, dict[str, Any]],  # noqa: F811
    base: str,
    contexts: Callable[..., Any],
) -> None:
    link = example_links["novak-ucetnictvi"]
    context = contexts()
    page = context.new_page()
    page.goto(url_of(link, base))
    page.locator("#handover-reveal").check()
    assert page.locator("#handover-passphrase").get_attribute("type") == "text", "show toggle"
    unlock(page, link)
    with page.expect_download():
        page.locator('a[download][href="files/documents/dph-priznani-2025.pdf"]').click()
    receipt = page.locator("[data-handover-receipt]")
    assert receipt.get_attribute("href", timeout=1000).startswith(
        "mailto:petr.svoboda@example-partners.example?"
    )
    receipt.evaluate("a => a.addEventListener('click', e => e.preventDefault())")
    receipt.click()
    body = unquote(receipt.get_attribute("href").split("&body=")[1])
    assert body.startswith("Vážená paní, vážený pane,\n\npotvrzujeme, že jsme převzali")
    assert body.endswith("Soubory stažené v tomto prohlížeči:\n- dph-priznani-2025.pdf")
    note = page.locator("[data-handover-receipt-sent]")
    assert note.is_visible() and note.inner_text().startswith("Potvrzení jste odeslali dne ")
    again = context.new_page()
    again.goto(url_of(link, base))
    unlock(again, link)
    assert again.locator("[data-handover-receipt-sent]").is_visible(), "remembered locally"
    kinds = again.locator(".handover-next__item:visible").evaluate_all(
        "items => items.map(i => i.dataset.nextKind)"
    )
    assert "receipt" not in kinds

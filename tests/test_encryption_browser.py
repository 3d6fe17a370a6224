"""Sealed pages open in real Chromium with the right key, and only with it."""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from handover.keys import MasterSecret
from tests.conftest import TEST_SECRET, Project
from tests.sealed import open_page as open_sealed_page

pytestmark = pytest.mark.browser
SECRET = MasterSecret(TEST_SECRET.encode(), "test")
LEDGER = b"date,account,amount\n" + b"2026-11-30,311,1200.00\n" * 80_000  # ~1.9 MB: two chunks
CASE = """
    client: {{name: Sealed Client AG, contact: Sam Sealed}}
    access: {access}
    service_end: 2026-12-31
    services:
      - name: Treasury reporting
        status: ended
    documents:
      - title: Ledger export
        file: documents/ledger.csv
        category: Ledgers
"""


def build(project: Project, access: str) -> tuple[str, Any]:
    project.write_case("sealed", CASE.format(access=access), {"documents/ledger.csv": LEDGER})
    result = project.run("build", "--today", "2026-12-01")
    assert result.exit_code == 0, result.output
    links = json.loads(project.run("links", "--json").stdout)
    return links[0]["url"].replace("https://handover.example.com/", ""), links[0]


def ledger_url(project: Project) -> str:
    _, files = open_sealed_page(project.site, "sealed")
    (url,) = files["files/documents/ledger.csv"]["parts"]
    return str(url)


def open_page(browser: Any, base: str, path: str) -> Any:
    page = browser.new_context(accept_downloads=True).new_page()
    page.goto(f"{base}/{path}")
    return page


def unlock(page: Any, passphrase: str, remember: bool = False) -> None:
    page.get_by_label("Passphrase", exact=True).fill(passphrase)
    if remember:
        page.get_by_label("Keep this page unlocked until I close this tab", exact=False).check()
    page.get_by_role("button", name="Unlock page").click()


def the_ledger_is_refused(page: Any) -> None:
    """Clicking the ledger's link says the file could not be decrypted, and saves nothing."""
    downloads: list[Any] = []
    page.on("download", lambda download: downloads.append(download))
    page.get_by_role("row", name="Ledger export").get_by_role("link", name="Download").click()
    page.get_by_role("alert").filter(has_text="This file could not be decrypted").wait_for()
    assert downloads == []


def test_link_mode_opens_with_the_key_in_the_fragment(
    project: Project, browser: Any, http_site: Callable[[Path], str]
) -> None:
    path, link = build(project, "link")
    assert "#k=" in link["url"] and link["passphrase"] is None
    page = open_page(browser, http_site(project.site), path)
    page.get_by_role("heading", name="Sealed Client AG").wait_for()
    assert page.get_by_role("heading", name="Treasury reporting").is_visible()


def test_link_mode_without_the_key_says_the_link_is_incomplete(
    project: Project, browser: Any, http_site: Callable[[Path], str]
) -> None:
    path, _ = build(project, "link")
    page = open_page(browser, http_site(project.site), path.split("#")[0])
    assert page.get_by_text("This link is incomplete").is_visible()
    assert "Sealed Client AG" not in page.content()


def test_passphrase_mode_opens_with_the_passphrase_and_downloads_the_file(
    project: Project, browser: Any, http_site: Callable[[Path], str], tmp_path: Path
) -> None:
    path, link = build(project, "passphrase")
    assert "#" not in link["url"] and len(link["passphrase"].split()) == 6
    page = open_page(browser, http_site(project.site), path)
    assert "Sealed Client AG" not in page.content()
    unlock(page, "  " + link["passphrase"].upper().replace(" ", "-") + " ")
    page.get_by_role("heading", name="Sealed Client AG").wait_for()
    with page.expect_download() as info:
        page.get_by_role("row", name="Ledger export").get_by_role("link", name="Download").click()
    assert info.value.suggested_filename == "ledger.csv"
    saved = tmp_path / "saved.csv"
    info.value.save_as(saved)
    assert saved.read_bytes() == LEDGER


def test_wrong_passphrase_shows_the_error_and_no_content(
    project: Project, browser: Any, http_site: Callable[[Path], str]
) -> None:
    path, _ = build(project, "passphrase")
    page = open_page(browser, http_site(project.site), path)
    unlock(page, "wrong words entirely here now")
    page.get_by_text("That passphrase does not open this page").wait_for()
    assert "Sealed Client AG" not in page.content()
    assert "Treasury reporting" not in page.content()


def test_link_and_passphrase_mode_needs_both(
    project: Project, browser: Any, http_site: Callable[[Path], str]
) -> None:
    path, link = build(project, "link+passphrase")
    base = http_site(project.site)
    without_key = open_page(browser, base, path.split("#")[0])
    assert without_key.get_by_text("This link is incomplete").is_visible()
    page = open_page(browser, base, path)
    unlock(page, "abandon ability able about above absent")
    page.get_by_text("That passphrase does not open this page").wait_for()
    unlock(page, link["passphrase"])
    page.get_by_role("heading", name="Sealed Client AG").wait_for()


def test_remembered_key_reopens_in_the_same_session_only(
    project: Project, browser: Any, http_site: Callable[[Path], str]
) -> None:
    path, link = build(project, "passphrase")
    page = open_page(browser, http_site(project.site), path)
    unlock(page, link["passphrase"], remember=True)
    page.get_by_role("heading", name="Sealed Client AG").wait_for()
    stored = page.evaluate("Object.keys(sessionStorage)")
    assert stored == [f"handover:{path.strip('/')}"]
    page.reload()
    page.get_by_role("heading", name="Sealed Client AG").wait_for()


def test_tampered_page_is_refused_not_half_shown(
    project: Project, browser: Any, http_site: Callable[[Path], str]
) -> None:
    path, link = build(project, "passphrase")
    html_file = project.site / path / "index.html"
    html = html_file.read_text()
    found = re.search(r'id="handover-envelope">(.*?)</script>', html)
    assert found is not None
    envelope = json.loads(found.group(1))
    ciphertext = bytearray(base64.b64decode(envelope["page"]["ct"]))
    ciphertext[100] ^= 1
    tampered = base64.b64encode(bytes(ciphertext)).decode()
    html_file.write_text(html.replace(envelope["page"]["ct"], tampered))
    page = open_page(browser, http_site(project.site), path)
    unlock(page, link["passphrase"])
    page.get_by_text("This page has been altered or damaged").wait_for()
    assert "Treasury reporting" not in page.content()


def test_tampered_file_is_refused_with_a_message(
    project: Project, browser: Any, http_site: Callable[[Path], str]
) -> None:
    path, link = build(project, "passphrase")
    sealed = project.site / path / ledger_url(project)
    data = bytearray(sealed.read_bytes())
    end = 8 + 2 * (12 + 16) + len(LEDGER)  # two chunks; zero padding follows
    data[end - 100] ^= 1
    sealed.write_bytes(bytes(data))
    page = open_page(browser, http_site(project.site), path)
    unlock(page, link["passphrase"])
    page.get_by_role("heading", name="Sealed Client AG").wait_for()
    the_ledger_is_refused(page)


def test_truncated_file_is_refused(
    project: Project, browser: Any, http_site: Callable[[Path], str]
) -> None:
    path, link = build(project, "passphrase")
    sealed = project.site / path / ledger_url(project)
    data = sealed.read_bytes()
    sealed.write_bytes(data[: 8 + 12 + (1 << 20) + 16])  # only the first whole chunk
    page = open_page(browser, http_site(project.site), path)
    unlock(page, link["passphrase"])
    page.get_by_role("heading", name="Sealed Client AG").wait_for()
    the_ledger_is_refused(page)


# -- files in parts -------------------------------------------------------------------

#: About 2.6 MiB: with ``part_size: 1 MiB`` its sealed file is published as three parts.
LARGE_LEDGER = b"2026-11-30,311,1200.00\n" * 120_000


def build_in_parts(project: Project) -> tuple[str, list[Path]]:
    """The ledger case, link mode, in a portal whose part size is 1 MiB: the page path and
    the ledger's parts in the order the page lists them."""
    text = project.config.read_text(encoding="utf-8")
    anchor = "      example_documents: true\n"
    project.config.write_text(text.replace(anchor, anchor + "      part_size: 1 MiB\n"))
    case = CASE.format(access="link")
    project.write_case("sealed", case, {"documents/ledger.csv": LARGE_LEDGER})
    result = project.run("build", "--today", "2026-12-01")
    assert result.exit_code == 0, result.output
    links = json.loads(project.run("links", "--json").stdout)
    _, files = open_sealed_page(project.site, "sealed")
    path = links[0]["url"].replace("https://handover.example.com/", "")
    folder = project.site / path.split("#")[0]
    return path, [folder / url for url in files["files/documents/ledger.csv"]["parts"]]


def test_a_file_in_parts_is_fetched_in_order_and_saved_whole(
    project: Project, browser: Any, http_site: Callable[[Path], str], tmp_path: Path
) -> None:
    path, parts = build_in_parts(project)
    assert len(parts) >= 3 and all(p.stat().st_size <= 1 << 20 for p in parts)
    page = open_page(browser, http_site(project.site), path)
    page.get_by_role("heading", name="Sealed Client AG").wait_for()
    fetched: list[str] = []
    page.on("request", lambda request: fetched.append(request.url.rsplit("/", 1)[-1]))
    with page.expect_download() as info:
        page.get_by_role("row", name="Ledger export").get_by_role("link", name="Download").click()
    saved = tmp_path / "saved.csv"
    info.value.save_as(saved)
    assert saved.read_bytes() == LARGE_LEDGER
    assert [name for name in fetched if name.endswith(".bin")] == [p.name for p in parts]


@pytest.mark.parametrize("damage", ["missing", "short"])
def test_a_missing_or_short_part_is_refused_with_a_message(
    project: Project, browser: Any, http_site: Callable[[Path], str], damage: str
) -> None:
    path, parts = build_in_parts(project)
    if damage == "missing":
        parts[1].unlink()
    else:
        parts[1].write_bytes(parts[1].read_bytes()[:-1000])
    page = open_page(browser, http_site(project.site), path)
    page.get_by_role("heading", name="Sealed Client AG").wait_for()
    the_ledger_is_refused(page)

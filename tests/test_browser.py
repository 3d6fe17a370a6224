"""Each example client opens their page in real headless Chromium, as sent by staff."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from handover.cli import cli
from tests.conftest import REPO
from tests.test_privacy import example_cases

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def example_links(example_portal: Path) -> dict[str, dict[str, Any]]:
    cwd = os.getcwd()
    os.chdir(example_portal)
    try:
        result = CliRunner().invoke(cli, ["links", "--json"], catch_exceptions=False)
    finally:
        os.chdir(cwd)
    assert result.exit_code == 0, result.output
    return {link["id"]: link for link in json.loads(result.stdout)}


def open_as_client(browser: Any, base: str, link: dict[str, Any]) -> tuple[Any, list[str]]:
    page = browser.new_context(accept_downloads=True).new_page()
    requests: list[str] = []
    page.on("request", lambda request: requests.append(request.url))
    page.goto(link["url"].replace("https://handover.example.com", base))
    if link["passphrase"]:
        page.locator("#handover-passphrase").fill(link["passphrase"])
        page.locator("form[data-handover-form] button[type=submit]").click()
    page.locator("article[data-handover-page]").wait_for()
    return page, requests


def test_every_example_client_sees_their_page_and_nothing_else_loads(
    example_site: Path,
    example_links: dict[str, dict[str, Any]],
    browser: Any,
    http_site: Callable[[Path], str],
) -> None:
    base = http_site(example_site)
    for client_id, case in example_cases().items():
        page, requests = open_as_client(browser, base, example_links[client_id])
        assert page.locator("h1").first.inner_text().startswith(case["client"]["name"])
        for service in case.get("services", []):
            assert page.get_by_role("heading", name=service["name"]).is_visible()
        assert all(url.startswith(base) for url in requests), requests
        page.context.close()


def test_download_from_an_example_page_matches_the_source(
    example_site: Path,
    example_links: dict[str, dict[str, Any]],
    browser: Any,
    http_site: Callable[[Path], str],
    tmp_path: Path,
) -> None:
    case = example_cases()["novak-ucetnictvi"]
    document = next(d for d in case["documents"] if "file" in d)
    page, _ = open_as_client(browser, http_site(example_site), example_links["novak-ucetnictvi"])
    row = page.get_by_role("row").filter(has_text=document["title"])
    with page.expect_download() as info:
        row.locator("a[download]").click()
    saved = tmp_path / info.value.suggested_filename
    info.value.save_as(saved)
    assert saved.name == Path(document["file"]).name
    assert (
        saved.read_bytes() == (REPO / "cases" / "novak-ucetnictvi" / document["file"]).read_bytes()
    )
    page.context.close()

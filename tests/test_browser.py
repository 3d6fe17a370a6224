"""A client opens their page in real headless Chromium and downloads a document."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from generator.keys import MasterSecret
from tests.conftest import TEST_SECRET, Project
from tests.test_build import DATED_CASE, FILES

pytestmark = pytest.mark.browser
SLUG = MasterSecret(TEST_SECRET.encode(), "test").page_slug


def test_client_opens_page_and_downloads_a_document(
    project: Project, browser: Any, http_site: Callable[[Path], str], tmp_path: Path
) -> None:
    project.write_case("dated", DATED_CASE, FILES)
    assert project.run("build", "--today", "2026-12-01").exit_code == 0
    base = http_site(project.site)
    context = browser.new_context(accept_downloads=True)
    page = context.new_page()
    requests: list[str] = []
    page.on("request", lambda request: requests.append(request.url))

    page.goto(f"{base}/{SLUG('dated')}/")
    assert page.locator("h1").inner_text().startswith("Dated Client GmbH")
    assert page.get_by_role("heading", name="Quarterly audit").is_visible()
    with page.expect_download() as info:
        page.get_by_role("row", name="Late ledger").get_by_role("link", name="Download").click()
    saved = tmp_path / info.value.suggested_filename
    info.value.save_as(saved)
    assert saved.read_bytes() == FILES["documents/ledger.csv"]
    assert all(url.startswith(base) for url in requests), requests
    context.close()

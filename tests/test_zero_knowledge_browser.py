"""In real Chromium: case text runs nothing, the policy blocks what is not ours, the link key
survives in-page navigation, and a file that is not the one the page names is refused."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests import sealed
from tests.conftest import Project
from tests.test_cli_serve import serving  # noqa: F401  (a fixture)

pytestmark = pytest.mark.browser

#: What staff might paste from a client's or a third party's e-mail.
HOSTILE_CASE = """
    client: {name: "Hostile <img src=x onerror=window.pwned=1> Ltd"}
    access: link
    service_end: 2026-12-31
    message: |
      Hello <img src=x onerror="window.pwned=2"> <svg onload="window.pwned=3"></svg>
      <script>window.pwned=4</script>

      Then [click me](javascript:window.pwned=5) and
      <iframe srcdoc="<script>parent.pwned=6</script>"></iframe>
    achievements:
      - "![ ](x){: onerror=window.pwned=7 }"
      - "[plain](javascript:window.pwned=8)"
    services:
      - name: Payroll
        status: ended
        summary: <svg onload=window.pwned=9>
    accounts:
      - system: Bank
        action: closed
        steps: ["<a href=javascript:window.pwned=10>step</a> and [go](javascript:window.pwned=11)"]
    support: {what: "<img src=x onerror=window.pwned=12> **Help**", price: 90 EUR}
    successor: {name: Newco, received: ["<b onmouseover=window.pwned=13>ledgers</b>"]}
"""


def build(project: Project, case: str, files: dict[str, bytes] | None = None) -> str:
    project.write_case("hostile", case, files)
    result = project.run("build", "--today", "2026-12-01")
    assert result.exit_code == 0, result.output
    links = json.loads(project.run("links", "--json").stdout)
    return str(links[0]["url"]).replace("https://handover.example.com/", "")


def test_script_in_case_fields_runs_nothing_and_shows_as_text(
    project: Project, browser: Any, http_site: Callable[[Path], str]
) -> None:
    path = build(project, HOSTILE_CASE)
    page = browser.new_page()
    page.goto(f"{http_site(project.site)}/{path}")
    page.get_by_role("heading", name="Hostile <img src=x onerror=window.pwned=1> Ltd").wait_for()
    assert page.get_by_text("![ ](x){: onerror=window.pwned=7 }").is_visible()
    assert page.get_by_text("<svg onload=window.pwned=9>").is_visible()
    assert page.get_by_text("<b onmouseover=window.pwned=13>ledgers</b>").is_visible()
    assert page.get_by_text("[plain](javascript:window.pwned=8)").is_visible()
    page.get_by_text("click me").click()
    page.get_by_text("ledgers").hover()
    page.wait_for_timeout(300)
    assert page.evaluate("window.pwned") is None
    content = "[data-handover-page]"
    assert page.locator(content).count() == 1
    hostile = ", ".join(f"{content} {tag}" for tag in ("img", "svg", "iframe", "script"))
    assert page.locator(hostile).count() == 0
    hrefs = page.eval_on_selector_all(f"{content} a[href]", "links => links.map(a => a.href)")
    assert [h for h in hrefs if h.startswith("javascript:")] == []


def test_the_policy_blocks_an_inline_script_the_build_did_not_hash(
    project: Project, browser: Any, http_site: Callable[[Path], str], policy_violations: list[str]
) -> None:
    """The guard that fails browser tests on policy reports works, and the policy holds."""
    path = build(project, "client: {name: Plain Ltd}\naccess: link\nservice_end: 2026-12-31\n")
    shell = project.site / path.split("#")[0] / "index.html"
    html = shell.read_text(encoding="utf-8")
    shell.write_text(html.replace("</body>", "<script>window.pwned=1</script></body>"))
    page = browser.new_page()
    page.goto(f"{http_site(project.site)}/{path}")
    page.get_by_role("heading", name="Plain Ltd").wait_for()
    assert page.evaluate("window.pwned") is None
    assert any("inline script" in violation for violation in policy_violations)
    policy_violations.clear()


def test_link_mode_reload_after_a_contents_link_opens_the_page(
    project: Project, browser: Any, http_site: Callable[[Path], str]
) -> None:
    case = "client: {name: Reload Ltd}\naccess: link\nservice_end: 2026-12-31\n"
    path = build(project, case + "achievements: [One]\n")
    page = browser.new_page()
    page.goto(f"{http_site(project.site)}/{path}")
    page.get_by_role("heading", name="Reload Ltd").wait_for()
    page.get_by_role("navigation", name="Contents").get_by_role("link", name="Who to ask").count()
    page.locator(".handover-toc summary").click()  # the contents list is a disclosure
    page.get_by_role("link", name="When your data is deleted").click()
    assert "#k=" in page.url
    page.reload()
    page.get_by_role("heading", name="Reload Ltd").wait_for()
    assert not page.get_by_text("This link is incomplete").is_visible()


def ledger(project: Project) -> Path:
    """The one encrypted file of the hostile case's ledger, under the name its page gives."""
    _, files = sealed.open_page(project.site, "hostile")
    (url,) = files["files/ledger.csv"]["parts"]
    return sealed.page_dir(project.site, "hostile") / str(url)


def test_an_older_file_of_the_same_size_served_by_the_host_is_refused(
    project: Project, browser: Any, http_site: Callable[[Path], str], tmp_path: Path
) -> None:
    case = """
        client: {name: Rollback Ltd}
        access: link
        service_end: 2026-12-31
        documents: [{title: Ledger, file: ledger.csv}]
    """
    build(project, case, {"ledger.csv": b"old,1\n" * 100})
    older = tmp_path / "older.bin"
    shutil.copy(ledger(project), older)
    path = build(project, case, {"ledger.csv": b"new,2\n" * 100})
    shutil.copy(older, ledger(project))  # the new name, the old bytes
    page = browser.new_context(accept_downloads=True).new_page()
    downloads: list[Any] = []
    page.on("download", lambda download: downloads.append(download))
    page.goto(f"{http_site(project.site)}/{path}")
    page.get_by_role("row", name="Ledger").get_by_role("link", name="Download").click()
    page.get_by_role("alert").filter(has_text="This file could not be decrypted").wait_for()
    assert downloads == []


def test_handover_serve_reloads_open_pages_under_the_policy(
    serving: tuple[Project, Any, str, Any],  # noqa: F811  (the fixture imported above)
    browser: Any,
) -> None:
    """The preview's reload poller is a file the policy allows, not an inline script."""
    project, _, url, _ = serving
    page = browser.new_page()
    page.goto(url)
    page.get_by_label("Passphrase", exact=True).wait_for()
    page.evaluate("window.beforeEdit = true")
    page.wait_for_timeout(1500)  # the poller has seen the first build
    case = project.cases / "minimal" / "case.yaml"
    with page.expect_event("load", timeout=30_000):  # the poller reloads the page
        case.write_text(case.read_text().replace("Monthly payroll", "Quarterly payroll"))
    assert page.evaluate("window.beforeEdit") is None, "the page did not reload"
    page.get_by_label("Passphrase", exact=True).wait_for()

"""Shared fixtures: a small portal project in a temp folder, cases written by the test."""

from __future__ import annotations

import functools
import http.server
import os
import shutil
import textwrap
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from handover.cli import cli

REPO = Path(__file__).resolve().parent.parent
TEST_SECRET = "test-secret-0123456789-abcdefghijklmnopqrstuvwxyz"
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--regenerate-golden",
        action="store_true",
        help="Rewrite tests/golden/ from the current output (then read the diff).",
    )


def pytest_configure(config: pytest.Config) -> None:
    """Module- and session-scoped fixtures build too: they need the secret before any test."""
    os.environ["HANDOVER_SECRET"] = TEST_SECRET
    os.environ["NO_MKDOCS_2_WARNING"] = "1"


@pytest.fixture(autouse=True)
def master_secret(monkeypatch: pytest.MonkeyPatch) -> str:
    """Every test runs with a known master secret, as CI does with its repository secret."""
    monkeypatch.setenv("HANDOVER_SECRET", TEST_SECRET)
    return TEST_SECRET


class Project:
    """A portal project like the repo's, with its own cases/ folder."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.cases = root / "cases"
        self.site = root / "site"
        self.cases.mkdir()
        (root / "site_templates").symlink_to(REPO / "site_templates")
        shutil.copy(REPO / "mkdocs.yml", root / "mkdocs.yml")

    @property
    def config(self) -> Path:
        return self.root / "mkdocs.yml"

    def write_case(self, client_id: str, text: str, files: dict[str, bytes] | None = None) -> Path:
        folder = self.cases / client_id
        folder.mkdir(parents=True, exist_ok=True)
        for name, content in (files or {}).items():
            (folder / name).parent.mkdir(parents=True, exist_ok=True)
            (folder / name).write_bytes(content)
        path = folder / "case.yaml"
        path.write_text(textwrap.dedent(text).lstrip(), encoding="utf-8")
        return path

    def run(self, *args: str) -> Result:
        """Run the CLI from inside the project, as staff would."""
        runner = CliRunner()
        cwd = os.getcwd()
        os.chdir(self.root)
        try:
            return runner.invoke(cli, list(args), catch_exceptions=False)
        finally:
            os.chdir(cwd)

    def site_files(self) -> list[Path]:
        return sorted(p for p in self.site.rglob("*") if p.is_file())


@pytest.fixture
def project(tmp_path: Path) -> Project:
    return Project(tmp_path)


MINIMAL_CASE = """
    client:
      name: Minimal Client Ltd
      contact: Mina Minimal
    service_end: 2026-12-31
    services:
      - name: Monthly payroll
        status: ended
    documents:
      - title: Payroll summary
        file: documents/payroll.csv
"""


@pytest.fixture
def minimal_case(project: Project) -> Path:
    return project.write_case(
        "minimal", MINIMAL_CASE, {"documents/payroll.csv": b"month,total\n2026-11,1000\n"}
    )


@pytest.fixture(scope="session")
def example_portal(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the repo's own example portal: tests never write into the repository's
    ``.handover/`` (a developer's own secret and caches live there)."""
    root = tmp_path_factory.mktemp("example")
    shutil.copy(REPO / "mkdocs.yml", root / "mkdocs.yml")
    shutil.copytree(REPO / "cases", root / "cases")
    (root / "site_templates").symlink_to(REPO / "site_templates")
    return root


@pytest.fixture(scope="session")
def example_site(example_portal: Path) -> Path:
    """The example portal, built once for the whole session."""
    site = example_portal / "site"
    config = str(example_portal / "mkdocs.yml")
    result = CliRunner().invoke(
        cli, ["build", "-f", config, "--today", "2026-11-22"], catch_exceptions=False
    )
    assert result.exit_code == 0, result.output
    return site


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass

    def end_headers(self) -> None:
        # Never cached: this server's Last-Modified has one-second resolution, so a page
        # rebuilt within the second would be revalidated as unchanged (304) on reload.
        self.send_header("Cache-Control", "no-store")
        super().end_headers()


def serve_directory(directory: Path) -> tuple[http.server.ThreadingHTTPServer, str]:
    handler = functools.partial(_QuietHandler, directory=str(directory))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}"


@pytest.fixture
def http_site() -> Iterator[Callable[[Path], str]]:
    servers: list[http.server.ThreadingHTTPServer] = []

    def start(directory: Path) -> str:
        server, url = serve_directory(directory)
        servers.append(server)
        return url

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


#: What Chromium reported as blocked by a page's Content-Security-Policy, in this test.
CSP_VIOLATIONS: list[str] = []


def _watch_policy(page: Any) -> None:
    def seen(message: Any) -> None:
        if "Content Security Policy" in message.text:
            CSP_VIOLATIONS.append(f"{page.url}: {message.text}")

    page.on("console", seen)


class _PolicyWatchingBrowser:
    """The browser, with every page's console watched for Content-Security-Policy reports."""

    def __init__(self, browser: Any) -> None:
        self._browser = browser

    def new_context(self, **options: Any) -> Any:
        context = self._browser.new_context(**options)
        context.on("page", _watch_policy)
        return context

    def new_page(self, **options: Any) -> Any:
        page = self._browser.new_page(**options)
        _watch_policy(page)
        return page

    def __getattr__(self, name: str) -> Any:
        return getattr(self._browser, name)


@pytest.fixture
def policy_violations() -> list[str]:
    """The reports so far in this test; a test that provokes one on purpose clears them."""
    return CSP_VIOLATIONS


@pytest.fixture(autouse=True)
def no_policy_violations(request: pytest.FixtureRequest) -> Iterator[None]:
    """A browser test fails when the page's own policy blocked anything: the policy must
    allow everything the portal does, so a report means something that should not run."""
    CSP_VIOLATIONS.clear()
    yield
    if "browser" in request.fixturenames:
        violations, CSP_VIOLATIONS[:] = list(CSP_VIOLATIONS), []
        assert violations == [], violations


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    """Real headless Chromium. Skips locally when missing; in CI a missing browser fails.
    Every page it opens is watched for Content-Security-Policy violations."""
    in_ci = os.environ.get("CI", "").lower() in {"1", "true", "yes"}
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        if in_ci:
            pytest.fail("playwright is not installed, and browser tests must run in CI")
        pytest.skip("playwright is not installed")
    if not CHROMIUM.exists():
        if in_ci:
            pytest.fail(f"{CHROMIUM} is missing, and browser tests must run in CI")
        pytest.skip(f"{CHROMIUM} is missing (apt-get install chromium)")
    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield _PolicyWatchingBrowser(instance)
        instance.close()

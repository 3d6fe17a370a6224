"""A client opens their page served from the object store, in real headless Chromium, with
the security headers the objects carry applied — and the CSP blocks nothing the page needs."""

from __future__ import annotations

import http.server
import json
import shutil
import threading
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import REPO, Project
from tests.seaweed import SeaweedS3
from tests.test_browser import open_as_client
from tests.test_privacy import example_cases
from tests.test_publish import DAY1, build, seaweed, target  # noqa: F401  (fixtures)

pytestmark = pytest.mark.browser

#: S3 user metadata the store returns as ``x-amz-meta-<name>``.
META = "x-amz-meta-"


def cdn_for(endpoint: str, bucket_path: str) -> type[http.server.BaseHTTPRequestHandler]:
    """What a CDN in front of a bucket does: folder URLs serve their index.html, and the
    objects' metadata become response headers (a CloudFront / Cloudflare header rule)."""

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            path = urllib.parse.urlsplit(self.path).path
            if path.endswith("/"):
                path += "index.html"
            try:
                with urllib.request.urlopen(f"{endpoint}/{bucket_path}{path}") as got:
                    body, status, headers = got.read(), got.status, got.headers
            except urllib.error.HTTPError as error:
                body, status, headers = error.read(), error.code, error.headers
                error.close()
            self.send_response(status)
            for name, value in headers.items():
                lower = name.lower()
                if lower in {"content-type", "cache-control", "etag"}:
                    self.send_header(name, value)
                elif lower.startswith(META):
                    self.send_header(name[len(META) :], value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            pass

    return Handler


@pytest.fixture
def cdn(seaweed: SeaweedS3, target: str) -> Iterator[str]:  # noqa: F811
    handler = cdn_for(seaweed.endpoint, target.removeprefix("s3://"))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()
    thread.join()


def test_a_client_opens_their_page_from_the_store_under_the_published_headers(
    project: Project,
    target: str,  # noqa: F811
    cdn: str,
    browser: Any,
    tmp_path: Path,
) -> None:
    shutil.copytree(REPO / "cases", project.cases, dirs_exist_ok=True)
    build(project, DAY1)
    assert project.run("publish", target, "--today", DAY1).exit_code == 0
    links = {x["id"]: x for x in json.loads(project.run("links", "--json").stdout)}
    case = example_cases()["novak-ucetnictvi"]
    document = next(d for d in case["documents"] if "file" in d)

    context = browser.new_context(accept_downloads=True)
    context.add_init_script(
        "window.__violations = [];"
        "document.addEventListener('securitypolicyviolation',"
        " e => window.__violations.push(e.violatedDirective + ' ' + e.blockedURI));"
    )
    responses: dict[str, dict[str, str]] = {}
    context.on("response", lambda r: responses.setdefault(r.url, r.headers))
    browser_proxy = _ContextBrowser(context)
    page, requests = open_as_client(browser_proxy, cdn, links["novak-ucetnictvi"])

    assert page.locator("h1").first.inner_text().startswith(case["client"]["name"])
    assert all(url.startswith(cdn) for url in requests), requests
    first = responses[requests[0]]
    assert "frame-ancestors 'none'" in first["content-security-policy"]
    assert first["x-content-type-options"] == "nosniff"
    assert first["referrer-policy"] == "no-referrer"
    assert first["cache-control"] == "no-cache"

    row = page.get_by_role("row").filter(has_text=document["title"])
    with page.expect_download() as info:
        row.locator("a[download]").click()
    saved = tmp_path / info.value.suggested_filename
    info.value.save_as(saved)
    source = REPO / "cases" / "novak-ucetnictvi" / document["file"]
    assert saved.read_bytes() == source.read_bytes()
    assert page.evaluate("window.__violations") == [], "the CSP blocked something the page needs"
    context.close()


class _ContextBrowser:
    """``open_as_client`` opens a new context from a browser; hand it ours instead."""

    def __init__(self, context: Any) -> None:
        self.context = context

    def new_context(self, **_options: Any) -> Any:
        return self.context

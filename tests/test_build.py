"""`handover build`: the page a client gets, how dates move it, and a safe swap."""

from __future__ import annotations

import hashlib
from pathlib import Path

from tests import sealed
from tests.conftest import Project

DATED_CASE = """
    client:
      name: Dated Client GmbH
      contact: Dora Dated
    service_end: 2026-12-31
    deletion_date: 2027-01-31
    services:
      - name: Quarterly audit
        period: 2020 – 2026
        summary: Audit of the yearly accounts
        outcome: Four clean audits
        status: transferred
        until: 2027-01-15
    documents:
      - title: Early report
        file: documents/early.pdf
        category: Reports
        available_until: 2027-01-10
      - title: Late ledger
        file: documents/ledger.csv
        category: Ledgers
      - title: Big archive
        url: https://files.example.com/archive.zip
    accounts:
      - system: Bank portal
        action: revoke-our-access
        by: 2026-12-31
        steps: ["Log in as **administrator**", "Remove user `firm-accountant`"]
    contacts:
      - name: Petra Contact
        role: Account manager
        email: petra@firm.example
"""
FILES = {"documents/early.pdf": b"%PDF-1.4 early\n", "documents/ledger.csv": b"a,b\n1,2\n"}


def page_dir(project: Project, client_id: str) -> Path:
    return sealed.page_dir(project.site, client_id)


def build(project: Project, today: str) -> str:
    result = project.run("build", "--today", today)
    assert result.exit_code == 0, result.output
    return sealed.open_page(project.site, "dated")[0]


def test_page_shows_everything_the_client_needs(project: Project) -> None:
    project.write_case("dated", DATED_CASE, FILES)
    html = build(project, "2026-12-01")
    for text in [
        "Dated Client GmbH",
        "Dear Sir or Madam,",
        "December 31, 2026",  # service end
        "January 31, 2027",  # deletion date
        '<span class="handover-days" data-day="2026-12-31"></span>',  # worded by the browser
        "Quarterly audit",
        "Audit of the yearly accounts",
        "Four clean audits",
        "Moves to your new provider on January 15, 2027",
        "Early report",
        hashlib.sha256(FILES["documents/ledger.csv"]).hexdigest(),
        "Our access ends",
        "<strong>administrator</strong>",
        "Petra Contact",
        "mailto:petra@firm.example",
        "When your data is deleted",
    ]:
        assert text in html, text
    assert '<details class="handover-toc">' in html


def test_documents_are_published_next_to_the_page(project: Project) -> None:
    project.write_case("dated", DATED_CASE, FILES)
    html = build(project, "2026-12-01")
    assert '<a href="files/documents/ledger.csv" download="ledger.csv">' in html
    for name, content in FILES.items():
        assert sealed.open_file(project.site, "dated", f"files/{name}") == content
    _, files = sealed.open_page(project.site, "dated")
    assert len(list((page_dir(project, "dated") / "f").iterdir())) == len(files) == 6


def test_document_past_its_date_is_removed_from_the_site(project: Project) -> None:
    project.write_case("dated", DATED_CASE, FILES)
    html = build(project, "2027-01-11")
    _, files = sealed.open_page(project.site, "dated")
    assert "files/documents/ledger.csv" in files
    assert "files/documents/early.pdf" not in files
    assert "Could be downloaded until January 10, 2027" in html
    assert 'href="files/documents/early.pdf"' not in html


def test_after_deletion_date_page_confirms_deletion_and_offers_nothing(project: Project) -> None:
    project.write_case("dated", DATED_CASE, FILES)
    assert project.run("purge", "--today", "2027-01-31").exit_code == 0
    html = build(project, "2027-02-01")
    assert "Deletion confirmed" in html
    assert "On January 31, 2027 we deleted your documents and our copies of them from" in html
    _, files = sealed.open_page(project.site, "dated")
    assert list(files) == ["files/dated-deletion-certificate.json"], "only the certificate"
    assert "https://files.example.com/archive.zip" not in html


def test_deletion_date_defaults_to_service_end_plus_retention(project: Project) -> None:
    project.write_case(
        "retained", "client: {name: R}\nservice_end: 2026-12-31\nretention_days: 10\n"
    )
    project.run("build", "--today", "2026-12-01")
    html, _ = sealed.open_page(project.site, "retained")
    assert "January 10, 2027" in html


def test_failed_build_leaves_previous_site_untouched(project: Project) -> None:
    project.write_case("dated", DATED_CASE, FILES)
    build(project, "2026-12-01")
    before = {p: p.read_bytes() for p in project.site_files()}
    project.write_case("broken", "client: {name: B}\nservice_end: someday\n")
    result = project.run("build", "--today", "2026-12-02")
    assert result.exit_code == 1
    assert "cases/broken/case.yaml:2: service_end: must be a real date" in result.output
    assert "Traceback" not in result.output
    assert {p: p.read_bytes() for p in project.site_files()} == before
    assert [p.name for p in project.root.iterdir() if p.name.startswith(".site")] == []


def test_rebuild_replaces_the_site(project: Project) -> None:
    project.write_case("dated", DATED_CASE, FILES)
    build(project, "2026-12-01")
    (project.cases / "dated" / "case.yaml").rename(project.root / "parked.yaml")
    project.write_case("other", "client: {name: Other}\nservice_end: 2026-12-31\n")
    (project.cases / "dated").rename(project.root / "parked")
    assert project.run("build", "--today", "2026-12-01").exit_code == 0
    assert not page_dir(project, "dated").exists()
    assert (page_dir(project, "other") / "index.html").exists()


def test_site_dir_option(project: Project, minimal_case: Path) -> None:
    result = project.run("build", "--site-dir", "public")
    assert result.exit_code == 0, result.output
    assert (project.root / "public" / "index.html").exists()
    assert not project.site.exists()


def test_bad_today_is_a_usage_error(project: Project, minimal_case: Path) -> None:
    result = project.run("build", "--today", "31.12.2026")
    assert result.exit_code == 2
    assert "'31.12.2026' is not a date written YYYY-MM-DD" in result.output

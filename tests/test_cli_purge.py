"""``handover purge`` and deletion certificates: deletion the firm can prove."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

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


def full_record(project: Project, client: str = "purged") -> dict[str, Any]:
    text = (project.cases / client / "deletion-record.yaml").read_text(encoding="utf-8")
    return dict(yaml.safe_load(text))


def record(project: Project, client: str = "purged") -> list[dict[str, object]]:
    return list(full_record(project, client)["deleted"])


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
        "git_blob": git_blob(LEDGER),
    }
    (run,) = full_record(purged)["purges"]
    assert run == {
        "on": "2027-02-01",
        "by": "Jana Staff <jana@firm.example>",
        "places": {"case-folder": "2027-02-01", "build-caches": "2027-02-01"},
        "not_removed": [],
    }, "no document store configured and no git repository: neither is claimed"


def git_blob(data: bytes) -> str:
    return hashlib.sha1(b"blob %d\x00" % len(data) + data).hexdigest()


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
    assert "Proof of deletion" in html
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
    # Another firm's portal: its own secret, recorded as its own.
    (purged.root / ".handover" / "secret-id").unlink()
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


# -- #10.6: purge you can trust -------------------------------------------------------


def test_a_record_without_a_final_newline_is_extended_not_glued(project: Project) -> None:
    """#10 Why 2: the old purge appended text and glued the new entry onto the last line."""
    project.write_case("purged", CASE, FILES)
    old = (
        "- file: documents/old.csv\n  title: Old\n  size: 3\n"
        f"  sha256: {'a' * 64}\n  deleted_on: '2027-01-02'\n  deleted_by: Someone"
    )  # no final newline, written by hand or by another tool
    (project.cases / "purged" / "deletion-record.yaml").write_text(old, encoding="utf-8")
    assert project.run("purge", "--today", "2027-02-01").exit_code == 0
    assert [entry["file"] for entry in record(project)] == [
        "documents/old.csv",
        "documents/ledger.csv",
    ]
    for command in (["validate"], ["status"], ["due", "--today", "2027-02-01"], ["purge"]):
        result = project.run(*command)
        assert "deletion-record.yaml" not in result.output, (command, result.output)


def test_purge_removes_every_client_file_in_the_folder_not_only_listed_ones(
    project: Project,
) -> None:
    """#10 Why 8: unlisted files and hard-linked copies stayed in the case folder."""
    folder = project.cases / "purged"
    project.write_case("purged", CASE, {**FILES, "notes/call-2026-11.txt": b"client said X"})
    os.link(folder / "documents" / "ledger.csv", folder / "documents" / "ledger-copy.csv")
    result = project.run("purge", "--today", "2027-02-01")
    assert result.exit_code == 0, result.output
    left = sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file())
    assert left == ["case.yaml", "deletion-record.yaml", "documents/payroll.csv"]
    assert {entry["file"]: entry["title"] for entry in record(project)} == {
        "documents/ledger-copy.csv": "ledger-copy.csv",
        "documents/ledger.csv": "Ledger 2025",
        "notes/call-2026-11.txt": "call-2026-11.txt",
    }


def test_a_hard_link_outside_the_case_is_reported_as_not_removed(
    project: Project, tmp_path: Path
) -> None:
    project.write_case("purged", CASE, FILES)
    outside = tmp_path / "elsewhere.csv"
    os.link(project.cases / "purged" / "documents" / "ledger.csv", outside)
    result = project.run("purge", "--today", "2027-02-01")
    assert result.exit_code == 1
    assert (
        "NOT REMOVED: case-folder: documents/ledger.csv: 1 hard link(s) outside the case "
        "folder still hold these bytes"
    ) in result.output
    (run,) = full_record(project)["purges"]
    assert "case-folder" not in run["places"], "a place with a copy left is not claimed"


def test_two_documents_naming_one_file_stop_purge_before_it_deletes_anything(
    project: Project,
) -> None:
    """#10 Why 8: purge stopped half-way with a raw Errno 2; now the case is refused with
    its line before anything is deleted."""
    twice = CASE.replace(
        "      - title: Payroll archive",
        "      - title: Ledger again\n        file: documents/ledger.csv\n"
        "      - title: Payroll archive",
    )
    project.write_case("purged", twice, FILES)
    result = project.run("purge", "--today", "2027-02-01")
    assert result.exit_code == 1
    assert "names the same file as documents[0].file (line 6); list each file once" in (
        result.output
    )
    assert all(
        (project.cases / "purged" / name).read_bytes() == data for name, data in FILES.items()
    )


def test_an_interrupted_purge_is_resumed_by_the_next_run(
    project: Project, monkeypatch: pytest.MonkeyPatch
) -> None:
    project.write_case("purged", CASE, {**FILES, "documents/a.csv": b"a", "documents/b.csv": b"b"})
    real_unlink = Path.unlink
    calls = []

    def interrupted(path: Path, missing_ok: bool = False) -> None:
        if path.parent.name == "documents":
            calls.append(path.name)
            if len(calls) == 2:
                raise KeyboardInterrupt  # Ctrl-C after the record, before the file goes
        real_unlink(path, missing_ok=missing_ok)

    monkeypatch.setattr(Path, "unlink", interrupted)
    result = project.run("purge", "--today", "2027-02-01")
    assert result.exit_code != 0
    monkeypatch.setattr(Path, "unlink", real_unlink)
    assert [entry["file"] for entry in record(project)] == ["documents/a.csv", "documents/b.csv"]
    assert "purges" not in full_record(project) or not full_record(project)["purges"]

    result = project.run("purge", "--today", "2027-02-01")
    assert result.exit_code == 0, result.output
    assert [entry["file"] for entry in record(project)] == [
        "documents/a.csv",
        "documents/b.csv",
        "documents/ledger.csv",
    ], "each file once, the interrupted one included"
    assert sorted(p.name for p in (project.cases / "purged" / "documents").iterdir()) == [
        "payroll.csv"
    ]
    assert len(full_record(project)["purges"]) == 1
    assert project.run("purge", "--today", "2027-02-02").output.strip() == (
        "Nothing is due for deletion."
    ), "a complete purge is not repeated"


# -- #15.4: the page states what happened --------------------------------------------


def page_text(project: Project, today: str) -> str:
    result = project.run("build", "--today", today)
    assert result.exit_code == 0, result.output
    html, _ = sealed.open_page(project.site, "purged")
    return " ".join(html.split())


def test_past_the_date_with_nothing_purged_the_page_says_deletion_is_due(
    project: Project,
) -> None:
    project.write_case("purged", CASE, FILES)
    text = page_text(project, "2027-02-10")
    assert "Deletion due" in text
    assert (
        "Your data was due to be deleted on January 31, 2027. We have not yet recorded the "
        "deletion; this page will confirm it once it is done."
    ) in text
    assert "we deleted" not in text.lower() and "Deletion confirmed" not in text
    due = project.run("due", "--today", "2027-02-10")
    assert due.exit_code == 1, "staff are told"
    assert "2027-01-31  purged  deletion of all data  (overdue by 10 days)" in due.output


def test_after_purge_the_page_says_what_was_deleted_where_and_names_the_exception(
    purged: Project,
) -> None:
    text = page_text(purged, "2027-02-10")
    assert "Deletion confirmed" in text
    assert (
        "On February 1, 2027 we deleted your documents and our copies of them from our case "
        "files and the working copies kept by our publishing tool, except the 1 record the law "
        "requires us to keep, named below."
    ) in text
    assert "Payroll archive" in text and "every copy" not in text.lower()
    assert "Deletion due" not in text
    assert purged.run("due", "--today", "2027-02-10").exit_code == 0


def test_before_the_date_the_page_names_the_kept_records_in_the_same_sentence(
    project: Project,
) -> None:
    project.write_case("purged", CASE, FILES)
    text = page_text(project, "2027-01-10")
    assert (
        "On January 31, 2027, Example Partners deletes the data it holds about you (the "
        "documents on this page, our working files and our access records), except the 1 "
        "record the law requires us to keep, named below."
    ) in text
    assert "every copy" not in text.lower()


# -- #15.5: a certificate with an honest scope ----------------------------------------


def test_certificate_lists_each_place_and_what_is_out_of_reach(purged: Project) -> None:
    signed = json.loads(certificate(purged)[1])
    assert [(p["place"], p["removed_on"], p.get("note")) for p in signed["scope"]] == [
        ("case-folder", "2027-02-01", None),
        ("document-store", None, "not checked by our tool"),
        ("build-caches", "2027-02-01", None),
        ("repository-history", None, "not checked by our tool"),
        ("published-site", None, "not checked by our tool"),
    ], "no git repository here, so history is not claimed"
    assert signed["outside_reach"] == [
        "backups of our systems, which are overwritten on their own schedule",
        "e-mails we exchanged with you",
        "copies you downloaded yourself",
    ]


def test_certificate_scope_is_in_the_clients_language(
    project: Project, monkeypatch: pytest.MonkeyPatch
) -> None:
    project.write_case("purged", CASE + "    language: de\n", FILES)
    assert project.run("purge", "--today", "2027-02-01").exit_code == 0
    signed = json.loads(certificate(project)[1])
    assert signed["scope"][0]["label"] == "Unsere Mandantenakten"
    assert signed["outside_reach"][1] == "E-Mails, die wir mit Ihnen ausgetauscht haben"


def test_verify_certificate_shows_the_same_list(purged: Project, certificate_file: Path) -> None:
    result = purged.run("verify-certificate", str(certificate_file))
    assert result.exit_code == 0, result.output
    assert result.output.splitlines()[1:] == [
        "  Our case files: 2027-02-01",
        "  Our document store: not checked by our tool",
        "  The working copies kept by our publishing tool: 2027-02-01",
        "  The history of our case repository: not checked by our tool",
        "  The website that published your page: not checked by our tool",
        "  Outside the tool's reach: backups of our systems, which are overwritten on their "
        "own schedule; e-mails we exchanged with you; copies you downloaded yourself",
    ]


def test_a_certificate_with_a_duplicate_key_is_refused(
    purged: Project, certificate_file: Path, tmp_path: Path
) -> None:
    """#9 point 5: two equal keys let one reader see another statement than the one signed."""
    text = certificate_file.read_text(encoding="utf-8")
    doubled = tmp_path / "doubled.json"
    doubled.write_text(text.replace('"firm":', '"firm": "Someone Else",\n  "firm":', 1))
    result = purged.run("verify-certificate", str(doubled))
    assert result.exit_code == 1
    assert "NOT VALID: the key 'firm' appears twice" in result.output


def test_status_flags_a_deletion_that_is_due_and_not_done(project: Project) -> None:
    project.write_case("purged", CASE, FILES)
    result = project.run("status", "--today", "2027-02-03", "--json")
    (row,) = json.loads(result.output)
    assert {"date": "2027-01-31", "what": "deletion of all data"} in row["overdue"]
    assert project.run("purge", "--today", "2027-02-03").exit_code == 0
    (row,) = json.loads(project.run("status", "--today", "2027-02-03", "--json").output)
    assert row["overdue"] == []


def test_publishing_records_the_site_through_the_seam(purged: Project) -> None:
    import datetime as dt

    from handover.deletions import mark_cleared

    mark_cleared(purged.cases / "purged", "published-site", dt.date(2027, 2, 2))
    signed = json.loads(certificate(purged)[1])
    assert signed["scope"][-1] == {
        "place": "published-site",
        "label": "The website that published your page",
        "removed_on": "2027-02-02",
    }


def test_once_the_kept_record_is_purged_too_the_page_names_no_exception(
    purged: Project,
) -> None:
    assert purged.run("purge", "--today", "2037-01-01").exit_code == 0
    text = page_text(purged, "2037-01-02")
    assert (
        "On January 1, 2037 we deleted your documents and our copies of them from our case "
        "files and the working copies kept by our publishing tool. Nothing is available"
    ) in text
    assert "except" not in text.split("Deletion confirmed")[1].split("</div>")[0]


def test_the_deletion_statement_is_written_in_the_clients_language(
    project: Project,
) -> None:
    project.write_case("purged", CASE + "    language: cs\n", FILES)
    assert project.run("purge", "--today", "2027-02-01").exit_code == 0
    text = page_text(project, "2027-02-02")
    assert (
        "Dne 1. února 2027 jsme vymazali Vaše dokumenty a naše kopie z našich klientských "
        "spisů a pracovních kopií, které uchovává náš publikační nástroj, s výjimkou 1 "
        "záznamu, který musíme uchovat ze zákona (je uveden níže)."
    ) in text


def test_a_verified_publish_after_the_purge_puts_the_published_site_on_the_certificate(
    purged: Project, tmp_path: Path
) -> None:
    """#13.2 / #15.5: the certificate says "removed from the published site" only once a
    publish of a site built after the purge was verified on the host."""
    assert purged.run("build", "--today", "2027-02-02").exit_code == 0
    host = f"file://{tmp_path / 'host'}"
    published = purged.run("publish", host, "--today", "2027-02-03")
    assert published.exit_code == 0, published.output
    assert (
        "purged: removal from the published site recorded (2027-02-03); commit it."
        in published.output
    )
    signed = json.loads(certificate(purged)[1])
    assert ("published-site", "2027-02-03", None) in [
        (p["place"], p["removed_on"], p.get("note")) for p in signed["scope"]
    ]
    again = purged.run("publish", host, "--today", "2027-02-04")
    assert "removal from the published site recorded" not in again.output, "recorded once"


def test_purge_removes_the_case_s_validated_copy_from_the_build_cache(project: Project) -> None:
    """The validated case is derived from the case folder purge changes: it goes with the
    other cache entries (it used to be looked for under a name the cache no longer uses)."""
    project.write_case("purged", CASE, FILES)
    assert project.run("build", "--today", "2026-12-01").exit_code == 0
    validated = project.root / ".handover" / "cache" / "validated"
    assert len(list(validated.iterdir())) == 1
    result = project.run("purge", "--today", "2027-02-01")
    assert result.exit_code == 0, result.output
    assert list(validated.iterdir()) == []

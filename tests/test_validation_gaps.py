"""Validation closes the gaps a careless or hostile member of staff found (issue #10, 7):
staff files offered as documents, a file listed twice, infinite and huge amounts, dates
that overflow, tabs, problems without a line, clients entered twice, huge documents."""

from __future__ import annotations

import io
import json
import os
import zipfile
from pathlib import Path

import pytest

from tests import sealed
from tests.conftest import MINIMAL_CASE, Project

HEAD = "client: {name: Acme}\nservice_end: 2026-12-31\n"


def problems(project: Project, *args: str) -> list[str]:
    result = project.run("validate", *args)
    assert result.exit_code == 1, result.output
    return result.output.splitlines()


def documents(*files: str) -> str:
    return (
        HEAD
        + "documents:\n"
        + "".join(f"  - {{title: T{i}, file: {f}}}\n" for i, f in enumerate(files))
    )


# -- documents that are not the client's --------------------------------------------------


@pytest.mark.parametrize(
    ("file", "message"),
    [
        ("case.yaml", "'case.yaml' is the case's own case.yaml, for staff only"),
        ("./case.yaml", "'./case.yaml' is the case's own case.yaml, for staff only"),
        (
            "documents/../case.yaml",
            "'documents/../case.yaml' is the case's own case.yaml, for staff only",
        ),
        (
            "deletion-record.yaml",
            "'deletion-record.yaml' is the case's own deletion-record.yaml, for staff only",
        ),
        (
            ".git/config",
            "'.git/config' is a hidden file or lies in a hidden folder (a name starting with "
            "'.'); those are never offered to a client",
        ),
        (
            "documents/.drafts/offer.pdf",
            "'documents/.drafts/offer.pdf' is a hidden file or lies in a hidden folder (a name "
            "starting with '.'); those are never offered to a client",
        ),
    ],
)
def test_staff_and_hidden_files_are_never_documents(
    project: Project, file: str, message: str
) -> None:
    files = {
        "deletion-record.yaml": b"[]\n",
        ".git/config": b"[core]\n",
        "documents/.drafts/offer.pdf": b"%PDF",
    }
    project.write_case("acme", documents(file), files)
    assert problems(project) == [
        f"cases/acme/case.yaml:4: documents[0].file: {message}",
        "1 problem found.",
    ]


def test_links_to_the_case_file_are_refused(project: Project) -> None:
    """A symlink resolves to case.yaml; a hard link is the same file under another name."""
    path = project.write_case("acme", documents("documents/notes.txt", "documents/copy.txt"))
    (path.parent / "documents").mkdir()
    (path.parent / "documents" / "notes.txt").symlink_to(path)
    os.link(path, path.parent / "documents" / "copy.txt")
    assert problems(project) == [
        "cases/acme/case.yaml:4: documents[0].file: 'documents/notes.txt' is the case's own "
        "case.yaml, for staff only",
        "cases/acme/case.yaml:5: documents[1].file: 'documents/copy.txt' is the case's own "
        "case.yaml, for staff only",
        "2 problems found.",
    ]


def test_two_documents_naming_one_file_are_an_error(project: Project) -> None:
    path = project.write_case(
        "acme",
        documents("documents/a.pdf", "documents/b.pdf", "./documents//a.pdf", "documents/hard.pdf"),
        {"documents/a.pdf": b"%PDF-a", "documents/b.pdf": b"%PDF-b"},
    )
    os.link(path.parent / "documents" / "b.pdf", path.parent / "documents" / "hard.pdf")
    assert problems(project) == [
        "cases/acme/case.yaml:6: documents[2].file: names the same file as documents[0].file "
        "(line 4); list each file once",
        "cases/acme/case.yaml:7: documents[3].file: names the same file as documents[1].file "
        "(line 5); list each file once",
        "2 problems found.",
    ]


# -- amounts ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("amount", "message"),
    [
        (".inf", "must be a finite number (got '.inf')"),
        ("-.inf", "must be a finite number (got '-.inf')"),
        (".nan", "must be a finite number (got '.nan')"),
        ("1e300", "must be at most 999999999999.99 (got '1e300')"),
        ("1000000000000", "must be at most 999999999999.99 (got '1000000000000')"),
        ("-5", "must be at least 0 (got '-5')"),
        ("0.00001", "must have at most 4 decimal places"),
        ("12.50 EUR", "must be a number such as 1250.50 (got '12.50 EUR')"),
    ],
)
def test_amounts_are_finite_bounded_decimals(project: Project, amount: str, message: str) -> None:
    project.write_case(
        "acme",
        HEAD + f"invoices:\n  - {{number: A-1, amount: {amount}, currency: EUR, "
        "due: 2026-12-20, status: open}\n",
    )
    assert problems(project) == [
        f"cases/acme/case.yaml:4: invoices[0].amount: {message}",
        "1 problem found.",
    ]


def test_revenue_is_finite(project: Project) -> None:
    project.write_case("acme", HEAD + "internal: {revenue: .inf}\n")
    assert problems(project) == [
        "cases/acme/case.yaml:3: internal.revenue: must be a finite number (got inf)",
        "1 problem found.",
    ]


def test_amounts_are_exact_decimals_in_status_json(project: Project) -> None:
    project.write_case(
        "acme",
        HEAD + "invoices:\n  - {number: A-1, amount: 0.10, currency: EUR, due: 2026-12-20, "
        "status: open}\n  - {number: A-2, amount: 0.20, currency: EUR, due: 2026-12-21, "
        "status: open}\n",
    )
    result = project.run("status", "--today", "2026-12-01")
    assert result.exit_code == 0, result.output
    assert "2: 0.30 EUR" in result.output
    result = project.run("status", "--today", "2026-12-01", "--json")
    (row,) = json.loads(result.output, parse_constant=_no_constants)
    assert [invoice["amount"] for invoice in row["open_invoices"]] == [0.1, 0.2]


def _no_constants(name: str) -> None:
    raise AssertionError(f"{name} is not JSON")


# -- dates ------------------------------------------------------------------------------


@pytest.mark.parametrize("day", ["9999-12-31", "1969-12-31", "2200-01-01"])
def test_dates_out_of_range_are_refused_everywhere(project: Project, day: str) -> None:
    project.write_case("acme", f"client: {{name: Acme}}\nservice_end: {day}\n")
    expected = [
        f"cases/acme/case.yaml:2: service_end: {day} is out of range: dates must lie between "
        "1970-01-01 and 2199-12-31",
        "1 problem found.",
    ]
    for command in (["validate"], ["build"], ["status"], ["due"], ["report"]):
        result = project.run(*command)
        assert (result.exit_code, result.output.splitlines()) == (1, expected), command


def test_a_date_field_shows_the_expected_form(project: Project) -> None:
    project.write_case("acme", "client: {name: Acme}\nservice_end: 31. 12. 2026\n")
    assert problems(project) == [
        "cases/acme/case.yaml:2: service_end: must be a real date written YYYY-MM-DD, "
        "e.g. 2026-12-31 (got '31. 12. 2026')",
        "1 problem found.",
    ]


def test_due_at_the_end_of_the_calendar_does_not_overflow(project: Project) -> None:
    project.write_case("acme", HEAD)
    result = project.run("due", "--today", "9999-12-31", "--within", "2w")
    # Nothing was purged, so the deletion is overdue (the page says it is due, too).
    assert (result.exit_code, result.output) == (
        1,
        "2027-01-30  acme  deletion of all data  (overdue by 2912048 days)\n"
        "0 due within 14 days, 1 overdue\n",
    )


def test_a_period_beyond_a_century_is_refused(project: Project) -> None:
    project.write_case("acme", HEAD)
    result = project.run("due", "--within", "99999999w")
    assert result.exit_code == 2
    assert "'99999999w' is longer than 36,500 days (100 years)" in result.output


# -- how problems are told ----------------------------------------------------------------


def test_a_tab_is_named_as_a_tab(project: Project) -> None:
    project.write_case("acme", "client:\n\tname: Acme\nservice_end: 2026-12-31\n")
    assert problems(project) == [
        "cases/acme/case.yaml:2: YAML syntax: a tab character at column 1; YAML indents with "
        "spaces only, so replace the tab with spaces",
        "1 problem found.",
    ]


def test_an_empty_case_file_has_a_line(project: Project) -> None:
    project.write_case("acme", "")
    assert problems(project) == [
        "cases/acme/case.yaml:1: client: is required but missing",
        "cases/acme/case.yaml:1: service_end: is required but missing",
        "2 problems found.",
    ]


def test_a_huge_case_file_has_a_line(project: Project) -> None:
    path = project.write_case("acme", HEAD + "message: |\n" + "  words words words\n" * 60_000)
    assert problems(project) == [
        f"cases/acme/case.yaml:1: file is {path.stat().st_size:,} bytes, larger than the "
        "1,000,000 bytes a case file may have; keep documents beside it, not in it",
        "1 problem found.",
    ]


def test_a_bad_folder_name_has_a_line(project: Project) -> None:
    project.write_case("Acme_Ltd", HEAD)
    assert problems(project) == [
        "cases/Acme_Ltd/case.yaml:1: folder name 'Acme_Ltd' is not a client id: use lowercase "
        "letters, digits and single hyphens",
        "1 problem found.",
    ]


def test_tags_are_refused(project: Project) -> None:
    project.write_case("acme", HEAD + "message: !!binary aGVsbG8=\n")
    assert problems(project) == [
        "cases/acme/case.yaml:3: YAML syntax: tags (!!binary) are not allowed in case files; "
        "put text in quotes instead",
        "1 problem found.",
    ]


@pytest.mark.parametrize("word", ["yes", "on", "'true'"])
def test_only_true_and_false_are_booleans(project: Project, word: str) -> None:
    project.write_case("acme", HEAD + f"legal_hold: {word}\n")
    shown = word.strip("'")
    assert problems(project) == [
        f"cases/acme/case.yaml:3: legal_hold: must be true or false (got '{shown}')",
        "1 problem found.",
    ]


@pytest.mark.parametrize(
    ("text", "located"),
    [
        (
            f"client:\n  name: {'x' * 201}\n",
            "3: client.name: is too long (201 characters); at most 200",
        ),
        (
            f"client: {{name: Acme}}\nmessage: {'x' * 10_001}\n",
            "3: message: is too long (10,001 characters); at most 10,000",
        ),
        (
            f"client: {{name: Acme}}\nachievements:\n  - {'x' * 2_001}\n",
            "4: achievements[0]: is too long (2,001 characters); at most 2,000",
        ),
    ],
)
def test_text_longer_than_its_limit_is_refused_with_its_line(
    project: Project, text: str, located: str
) -> None:
    project.write_case("acme", "service_end: 2026-12-31\n" + text)
    assert problems(project) == [f"cases/acme/case.yaml:{located}", "1 problem found."]


def test_two_clients_with_one_name_are_a_warning(project: Project) -> None:
    project.write_case(
        "acme", MINIMAL_CASE.replace("file: documents/payroll.csv", "url: https://x.example/p")
    )
    project.write_case(
        "acme-again",
        "service_end: 2026-12-31\nclient:\n  name: '  minimal client LTD '\n",
    )
    result = project.run("validate")
    assert result.exit_code == 0
    assert result.stdout == "2 cases valid.\n"
    assert result.stderr == (
        "WARNING: cases/acme-again/case.yaml:3: client.name: 'minimal client LTD' is also the "
        "client name of case 'acme' (cases/acme/case.yaml); check that it is not the same "
        "client twice\n"
    )


# -- documents too large for a plain ZIP ------------------------------------------------------


def test_a_document_past_the_zip_limit_goes_into_a_zip64_archive(
    project: Project, monkeypatch: pytest.MonkeyPatch
) -> None:
    """zipfile refuses an entry over ``ZIP64_LIMIT`` (4 GiB) unless told its size up front.
    The limit is lowered to 1 MiB so the test needs no 4 GiB file (see the test below)."""
    monkeypatch.setattr(zipfile, "ZIP64_LIMIT", 1 << 20)
    content = os.urandom(3 << 20)
    project.write_case("acme", documents("documents/scans.zip"), {"documents/scans.zip": content})
    result = project.run("build", "--today", "2026-12-01")
    assert result.exit_code == 0, result.output
    monkeypatch.undo()
    _, files = sealed.open_page(project.site, "acme")
    (href,) = [h for h in files if h.endswith("-documents.zip")]
    with zipfile.ZipFile(io.BytesIO(sealed.open_file(project.site, "acme", href))) as archive:
        assert archive.read("documents/scans.zip") == content


@pytest.mark.skipif(
    os.environ.get("HANDOVER_HUGE_FILE_TESTS") != "1",
    reason="writes a 4 GiB ZIP (30-45 s on 2 cores); set HANDOVER_HUGE_FILE_TESTS=1 to run",
)
def test_a_sparse_document_over_4_gib_is_archived(tmp_path: Path) -> None:
    from types import SimpleNamespace

    from handover.artifacts import _archive
    from handover.files import file_facts

    source = tmp_path / "scans.zip"
    size = (4 << 30) + 4096
    with source.open("wb") as stream:
        stream.truncate(size)
        stream.seek(size - 5)
        stream.write(b"tail!")
    item = SimpleNamespace(
        download=SimpleNamespace(source=source), document=SimpleNamespace(file="scans.zip")
    )
    archive_path = tmp_path / "out.zip"
    _archive(
        SimpleNamespace(documents=[item]),  # type: ignore[arg-type]
        archive_path,
        {"manifest.json": b"{}", "manifest.csv": b""},
        file_facts,
    )
    with zipfile.ZipFile(archive_path) as archive, archive.open("scans.zip") as entry:
        assert archive.getinfo("scans.zip").file_size == size
        entry.seek(size - 5)
        assert entry.read() == b"tail!"


def test_text_that_would_read_differently_from_what_it_is_is_refused(project: Project) -> None:
    """Pasted direction controls reorder what a client reads; a line break in a name splits
    what staff are shown (``handover links`` prints names)."""
    project.write_case(
        "acme",
        "service_end: 2026-12-31\n"
        'client:\n  name: "Acme\\n  link: https://evil.example/#k=FAKE"\n'
        'contacts:\n  - name: "Jana Nov\\u00e1kov\\u00e1 \\u202e"\n'
        'message: "Thank you \\u2066for everything"\n',
    )
    assert problems(project) == [
        "cases/acme/case.yaml:3: client.name: must be one line (it holds a line break)",
        "cases/acme/case.yaml:5: contacts[0].name: holds an invisible direction control "
        "(U+202E) that would show the text around it in another order; delete it",
        "cases/acme/case.yaml:6: message: holds an invisible direction control (U+2066) that "
        "would show the text around it in another order; delete it",
        "3 problems found.",
    ]

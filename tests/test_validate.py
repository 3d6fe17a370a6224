"""`handover validate`: every problem at once, each with file:line, exit 1, no traceback."""

from __future__ import annotations

import pytest

from tests.conftest import MINIMAL_CASE, Project


def problems(project: Project) -> list[str]:
    result = project.run("validate")
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output
    return result.output.splitlines()


def test_valid_cases_pass(project: Project, minimal_case: object) -> None:
    result = project.run("validate")
    assert result.exit_code == 0, result.output
    assert "1 case valid." in result.output


def test_wrong_status_names_file_line_and_choices(project: Project) -> None:
    project.write_case(
        "acme",
        """
        client:
          name: ACME
        service_end: 2026-12-31
        services:
          - name: Bookkeeping
            status: ended
          - name: Payroll
            status: ended
          - name: VAT
            status: finished
        """,
    )
    assert (
        "cases/acme/case.yaml:10: services[2].status: must be one of ended, transferred, "
        "continues (got 'finished')" in problems(project)
    )


def test_every_problem_of_every_case_is_reported_at_once(project: Project) -> None:
    project.write_case(
        "first",
        """
        client:
          name: First
          nmae: typo
        service_end: 2026-02-30
        services:
          - name: A
            status: done
        documents:
          - title: Escape
            file: ../other/secret.pdf
          - title: Neither
          - title: Both
            file: /etc/passwd
            url: https://files.example.com/x
          - title: Missing
            file: documents/missing.pdf
        """,
    )
    project.write_case("second", "client: {}\n")
    lines = problems(project)
    assert lines[-1] == "10 problems found."
    assert lines[:-1] == [
        "cases/first/case.yaml:3: client.nmae: unknown field; did you mean 'name'? "
        "allowed here: name, contact, email, salutation",
        "cases/first/case.yaml:4: service_end: must be a real date written YYYY-MM-DD, "
        "e.g. 2026-12-31 (got '2026-02-30')",
        "cases/first/case.yaml:7: services[0].status: must be one of ended, transferred, "
        "continues (got 'done')",
        "cases/first/case.yaml:10: documents[0].file: '../other/secret.pdf' leads outside "
        "the case folder",
        "cases/first/case.yaml:11: documents[1]: give exactly one of `file` or `url`",
        "cases/first/case.yaml:12: documents[2]: give exactly one of `file` or `url`",
        "cases/first/case.yaml:13: documents[2].file: must be a path inside the case folder, "
        "not an absolute path",
        "cases/first/case.yaml:16: documents[3].file: file 'documents/missing.pdf' does not "
        "exist in first/",
        "cases/second/case.yaml:1: client.name: is required but missing",
        "cases/second/case.yaml:1: service_end: is required but missing",
    ]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("client: {name: X}\nservice_end: [2026]\n", ":2: service_end: must be a real date"),
        (
            "client: {name: X}\nservice_end: 2026-12-31 10:00:00\n",
            ":2: service_end: must be a real date written YYYY-MM-DD, e.g. 2026-12-31 "
            "(got '2026-12-31 10:00:00')",
        ),
        (
            "client: {name: X}\nservice_end: 2026-12-31\nretention_days: lots\n",
            ":3: retention_days: must be a whole number (got 'lots')",
        ),
        (
            "client: {name: X}\nservice_end: 2026-12-31\nretention_days: -1\n",
            ":3: retention_days: must be between 0 and 3650",
        ),
        (
            "client: {name: X}\nservice_end: 2026-12-31\nservices: Bookkeeping\n",
            ":3: services: must be a list (got 'Bookkeeping')",
        ),
        ("client: X\nservice_end: 2026-12-31\n", ":1: client: must be a mapping (got 'X')"),
        (
            "client: {name: X, email: not-an-address}\nservice_end: 2026-12-31\n",
            ":1: client.email: is not a valid e-mail address",
        ),
        (
            "client: {name: X}\nservice_end: 2026-12-31\ndeletion_date: 2026-12-01\n",
            ":3: deletion_date: 2026-12-01 is before service_end 2026-12-31",
        ),
        (
            "client: {name: X}\nservice_end: 2026-12-31\nlanguage: tlh\n",
            ":3: language: no page templates in 'tlh'; available: ",
        ),
        (
            "client: {name: X}\nservice_end: 2026-12-31\nclient: {name: Y}\n",
            ":3: client: is written twice; keep one",
        ),
        (
            "client: {name: X}\nservice_end: 2026-12-31\n"
            "services:\n  - name: A\n    status: [ended\n",
            ":6: YAML syntax: ",
        ),
        ("- just\n- a list\n", ":1: a case file must be a mapping of fields"),
        (
            "client: {name: X}\nservice_end: 2026-12-31\ndocuments:\n  - title: X\n"
            "    url: https://x.example/a\n    available_until: 2027-03-01\n",
            ":6: documents[0].available_until: 2027-03-01 is after the deletion date 2027-01-30",
        ),
    ],
)
def test_bad_values_are_located(project: Project, text: str, expected: str) -> None:
    project.write_case("acme", text)
    output = "\n".join(problems(project))
    assert f"cases/acme/case.yaml{expected}" in output


def test_alias_bomb_is_refused_quickly(project: Project) -> None:
    bomb = "a: &a [x, x, x, x, x, x, x, x, x]\n" + "".join(
        f"{chr(98 + i)}: &{chr(98 + i)} [*{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, "
        f"*{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}]\n"
        for i in range(9)
    )
    project.write_case("bomb", bomb)
    assert any(
        line.startswith("cases/bomb/case.yaml:1: YAML syntax: anchors (&a) are not allowed")
        for line in problems(project)
    )


def test_non_utf8_file_names_the_line(project: Project) -> None:
    path = project.write_case("latin", MINIMAL_CASE)
    path.write_bytes(b"client:\n  name: Caf\xe9\nservice_end: 2026-12-31\n")
    assert "cases/latin/case.yaml:2: file is not valid UTF-8; save it as UTF-8" in problems(project)


def test_symlink_leaving_the_case_folder_is_refused(
    project: Project, tmp_path_factory: pytest.TempPathFactory
) -> None:
    outside = tmp_path_factory.mktemp("outside") / "salaries.csv"
    outside.write_text("secret")
    path = project.write_case(
        "linky",
        """
        client: {name: Linky}
        service_end: 2026-12-31
        documents:
          - title: Salaries
            file: documents/salaries.csv
        """,
    )
    (path.parent / "documents").mkdir()
    (path.parent / "documents" / "salaries.csv").symlink_to(outside)
    assert (
        "cases/linky/case.yaml:5: documents[0].file: 'documents/salaries.csv' leads outside "
        "the case folder" in problems(project)
    )


def test_folder_names_must_be_client_ids(project: Project) -> None:
    project.write_case("Acme_Ltd", MINIMAL_CASE)
    assert any("folder name 'Acme_Ltd' is not a client id" in line for line in problems(project))


def test_folder_without_case_file_is_reported(project: Project) -> None:
    (project.cases / "forgotten").mkdir()
    assert "cases/forgotten/case.yaml: missing: every case folder needs a case.yaml" in problems(
        project
    )


def test_duplicate_client_ids_across_case_folders(project: Project) -> None:
    project.write_case(
        "acme", MINIMAL_CASE.replace("file: documents/payroll.csv", "url: https://x.example/p")
    )
    other = project.root / "more-cases" / "acme"
    other.mkdir(parents=True)
    (other / "case.yaml").write_text((project.cases / "acme" / "case.yaml").read_text())
    result = project.run("validate", "--cases", "cases", "--cases", "more-cases")
    assert result.exit_code == 1
    assert result.output.splitlines() == [
        "more-cases/acme/case.yaml:1: client id 'acme' is also used by cases/acme/",
        "1 problem found.",
    ]

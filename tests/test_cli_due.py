"""`handover due`: what falls due soon, and an exit code a scheduled CI job can alert on."""

from __future__ import annotations

import json

import pytest

from tests.conftest import Project

TODAY = "2026-11-10"


@pytest.fixture
def clients(project: Project) -> Project:
    project.write_case(
        "acme",
        """
        client: {name: ACME Ltd}
        service_end: 2026-11-13
        retention_days: 30
        accounts:
          - {system: Bank portal, action: revoke-our-access, by: 2026-11-24}
        invoices:
          - {number: A-7, amount: 80, currency: EUR, due: 2026-11-05, status: open}
          - {number: A-6, amount: 90, currency: EUR, due: 2026-11-01, status: paid}
        documents:
          - {title: Ledger, url: "https://files.example.com/l", available_until: 2026-11-17}
          - {title: Payroll, url: "https://files.example.com/p", available_until: 2026-11-09}
        """,
    )
    project.write_case(
        "held",  # service ended long ago; deletion 2026-11-12 would be due, but legal hold
        """
        client: {name: Held a.s.}
        service_end: 2026-10-01
        deletion_date: 2026-11-12
        legal_hold: true
        """,
    )
    return project


def test_overdue_items_make_it_exit_1_and_are_listed_first(clients: Project) -> None:
    result = clients.run("due", "--within", "7d", "--today", TODAY)
    assert result.exit_code == 1
    lines = result.output.splitlines()
    assert lines == [
        "2026-11-05  acme  invoice A-7 (80.00 EUR)  (overdue by 5 days)",
        "2026-11-13  acme  service end  (in 3 days)",
        "2026-11-17  acme  last download: Ledger  (in 7 days)",
        "2 due within 7 days, 1 overdue",
    ]


def test_nothing_overdue_exits_0(clients: Project) -> None:
    result = clients.run("due", "--within", "7d", "--today", "2026-11-03")
    assert result.exit_code == 0, result.output
    assert result.output.splitlines()[-1] == "2 due within 7 days, 0 overdue"
    assert "2026-11-05  acme  invoice A-7 (80.00 EUR)  (in 2 days)" in result.output


def test_past_account_deadline_is_overdue_but_past_documents_are_not(clients: Project) -> None:
    result = clients.run("due", "--within", "1d", "--today", "2026-11-25")
    assert result.exit_code == 1
    assert "2026-11-24  acme  account: Bank portal  (overdue by 1 day)" in result.output
    assert "Ledger" not in result.output and "service end" not in result.output
    assert result.output.splitlines()[-1] == "0 due within 1 day, 2 overdue"


@pytest.mark.parametrize(
    ("within", "last_listed"),
    [("7d", "2026-11-17"), ("7", "2026-11-17"), ("2w", "2026-11-24"), ("33", "2026-12-13")],
)
def test_within_accepts_days_and_weeks(clients: Project, within: str, last_listed: str) -> None:
    result = clients.run("due", "--within", within, "--today", TODAY)
    item_lines = result.output.splitlines()[:-1]
    assert item_lines[-1].startswith(last_listed)


def test_window_ends_inclusive_and_excludes_the_day_after(clients: Project) -> None:
    six = clients.run("due", "--within", "6d", "--today", TODAY).output
    seven = clients.run("due", "--within", "7d", "--today", TODAY).output
    assert "Ledger" not in six
    assert "Ledger" in seven


@pytest.mark.parametrize("bad", ["soon", "7x", "-3d", "1.5w", ""])
def test_a_bad_period_is_a_usage_error(clients: Project, bad: str) -> None:
    result = clients.run("due", "--within", bad, "--today", TODAY)
    assert result.exit_code == 2
    assert "Invalid value for '--within'" in result.output
    assert "7d" in result.output and "2w" in result.output


def test_legal_hold_deletion_is_never_due(clients: Project) -> None:
    result = clients.run("due", "--within", "30d", "--today", TODAY)
    assert "held" not in result.output
    assert "2026-12-13  acme  deletion of all data  (in 33 days)" not in result.output
    assert (
        "2026-12-13  acme  deletion of all data"
        in clients.run("due", "--within", "33d", "--today", TODAY).output
    )


def test_json_lists_overdue_then_due_with_the_summary_on_stderr(clients: Project) -> None:
    result = clients.run("due", "--within", "4d", "--today", TODAY, "--json")
    assert result.exit_code == 1
    assert json.loads(result.stdout) == [
        {
            "date": "2026-11-05",
            "id": "acme",
            "what": "invoice A-7 (80.00 EUR)",
            "kind": "invoice",
            "days_left": -5,
            "overdue": True,
        },
        {
            "date": "2026-11-13",
            "id": "acme",
            "what": "service end",
            "kind": "service-end",
            "days_left": 3,
            "overdue": False,
        },
    ]
    assert result.stderr.strip() == "1 due within 4 days, 1 overdue"


def test_an_account_marked_done_is_no_longer_overdue(clients: Project) -> None:
    case = clients.cases / "acme" / "case.yaml"
    text = case.read_text(encoding="utf-8")
    overdue = clients.run("due", "--within", "7d", "--today", "2026-11-30")
    assert "account: Bank portal  (overdue by 6 days)" in overdue.output
    case.write_text(text.replace("by: 2026-11-24}", "by: 2026-11-24, done: true}"))
    result = clients.run("due", "--within", "7d", "--today", "2026-11-30")
    assert "Bank portal" not in result.output

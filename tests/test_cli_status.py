"""`handover status`: every client's next deadline at a glance, most urgent first."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest
from rich.console import Console

from handover import building
from handover.deadlines import client_statuses, status_table
from tests.conftest import Project

TODAY = "2026-11-10"


@pytest.fixture
def clients(project: Project) -> Project:
    """Four clients whose ids sort the opposite way to their urgency."""
    project.write_case(
        "zeta-late",  # an open invoice due 2026-11-01: overdue on TODAY
        """
        client: {name: Zeta Late Ltd}
        service_end: 2026-11-30
        accounts:
          - {system: Bank portal, action: revoke-our-access, by: 2026-11-20}
        invoices:
          - {number: Z-1, amount: 1250.5, currency: EUR, due: 2026-11-01, status: open}
          - {number: Z-2, amount: 300, currency: CZK, due: 2026-12-15, status: open}
          - {number: Z-0, amount: 999, currency: EUR, due: 2026-10-01, status: paid}
        """,
    )
    project.write_case(
        "mid-soon",  # a document's last download day two days after TODAY
        """
        client: {name: Mid Soon GmbH}
        service_end: 2026-11-30
        documents:
          - {title: Ledger 2025, url: "https://files.example.com/l", available_until: 2026-11-12}
          - {title: Old payroll, url: "https://files.example.com/p", available_until: 2026-11-01}
          - {title: Contracts, url: "https://files.example.com/c"}
        """,
    )
    project.write_case(
        "alpha-hold",  # deletion would be 2026-11-20, but legal hold stops it
        """
        client: {name: Alpha Hold a.s.}
        service_end: 2026-10-31
        retention_days: 20
        legal_hold: true
        accounts:
          - {system: Payroll software, action: transfer-to-you, by: 2026-12-01}
        """,
    )
    project.write_case(
        "beta-later",
        "client: {name: Beta Later Ltd}\nservice_end: 2027-03-31\n",
    )
    return project


def status_json(project: Project, today: str = TODAY) -> list[dict[str, Any]]:
    result = project.run("status", "--today", today, "--json")
    assert result.exit_code == 0, result.output
    found: list[dict[str, Any]] = json.loads(result.stdout)
    return found


def test_clients_are_listed_by_urgency(clients: Project) -> None:
    ids = [row["id"] for row in status_json(clients)]
    assert ids == ["zeta-late", "mid-soon", "alpha-hold", "beta-later"]


def test_json_shape_of_an_overdue_client(clients: Project) -> None:
    zeta = status_json(clients)[0]
    assert zeta == {
        "id": "zeta-late",
        "name": "Zeta Late Ltd",
        "service_end": "2026-11-30",
        "deletion_date": "2026-12-30",
        "legal_hold": False,
        "next_deadline": {"date": "2026-11-20", "what": "account: Bank portal", "days_left": 10},
        "documents_available": 0,
        "open_invoices": [
            {"number": "Z-1", "amount": 1250.5, "currency": "EUR", "due": "2026-11-01"},
            {"number": "Z-2", "amount": 300.0, "currency": "CZK", "due": "2026-12-15"},
        ],
        "overdue": [{"date": "2026-11-01", "what": "invoice Z-1 (1,250.50 EUR)"}],
    }


def test_documents_past_their_last_day_are_neither_counted_nor_next(clients: Project) -> None:
    mid = next(row for row in status_json(clients) if row["id"] == "mid-soon")
    assert mid["documents_available"] == 2
    assert mid["next_deadline"] == {
        "date": "2026-11-12",
        "what": "last download: Ledger 2025",
        "days_left": 2,
    }
    assert mid["overdue"] == []  # a document past its day is gone, not late


def test_legal_hold_has_no_deletion_date_or_deletion_deadline(clients: Project) -> None:
    hold = next(row for row in status_json(clients) if row["id"] == "alpha-hold")
    assert hold["legal_hold"] is True
    assert hold["deletion_date"] is None
    assert hold["next_deadline"]["what"] == "account: Payroll software"  # not the deletion
    plain = clients.run("status", "--today", TODAY).output
    hold_line = next(line for line in plain.splitlines() if "alpha-hold" in line)
    assert "legal hold" in hold_line


def test_overdue_is_relative_to_today(clients: Project) -> None:
    before = next(row for row in status_json(clients, "2026-10-31") if row["id"] == "zeta-late")
    assert before["overdue"] == []
    assert before["next_deadline"]["date"] == "2026-11-01"
    later = next(row for row in status_json(clients, "2026-11-21") if row["id"] == "zeta-late")
    assert [item["what"] for item in later["overdue"]] == [
        "invoice Z-1 (1,250.50 EUR)",
        "account: Bank portal",
    ]


def test_equal_deadlines_are_ordered_by_id_across_case_folders(project: Project) -> None:
    for folder, client_id in [("first", "b-client"), ("second", "a-client")]:
        case = project.root / folder / client_id / "case.yaml"
        case.parent.mkdir(parents=True)
        case.write_text("client: {name: Same Day}\nservice_end: 2026-12-31\n")
    result = project.run(
        "status", "--cases", "first", "--cases", "second", "--today", TODAY, "--json"
    )
    assert result.exit_code == 0, result.output
    assert [row["id"] for row in json.loads(result.stdout)] == ["a-client", "b-client"]


def test_table_lists_clients_in_plain_text_when_piped(
    clients: Project, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FORCE_COLOR", "1")  # CI often sets it; a pipe still gets plain text
    result = clients.run("status", "--today", TODAY)
    assert result.exit_code == 0, result.output
    assert "\x1b[" not in result.output
    lines = result.output.splitlines()
    rows = [
        next(i for i, line in enumerate(lines) if cid in line)
        for cid in ["zeta-late", "mid-soon", "alpha-hold", "beta-later"]
    ]
    assert rows == sorted(rows)
    zeta = lines[rows[0]]
    assert "2026-11-20" in zeta and "account: Bank portal" in zeta
    assert "2: 300.00 CZK + 1,250.50 EUR" in zeta
    assert "2026-11-01 invoice Z-1" in zeta


def test_terminal_colours_overdue_red_and_soon_yellow(clients: Project) -> None:
    cases = building.validate(building.open_portal(clients.config))
    statuses = client_statuses(cases, dt.date.fromisoformat(TODAY))
    console = Console(force_terminal=True, color_system="standard", width=250)
    with console.capture() as captured:
        console.print(status_table(statuses))
    lines = captured.get().splitlines()
    zeta = next(line for line in lines if "zeta-late" in line)
    mid = next(line for line in lines if "mid-soon" in line)
    later = next(line for line in lines if "beta-later" in line)
    assert "\x1b[31m" in zeta  # red
    assert "\x1b[33m" in mid  # yellow: two days left
    assert "\x1b[31m" not in later and "\x1b[33m" not in later

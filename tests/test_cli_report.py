"""`handover report`: departures per month by reason and segment, for staff only."""

from __future__ import annotations

import csv
import io
import json

import pytest

from tests.conftest import Project


@pytest.fixture
def departures(project: Project) -> Project:
    cases = {
        "one": "service_end: 2026-11-03\ninternal: {reason: price, segment: smb, revenue: 1000}",
        "two": "service_end: 2026-11-30\ninternal: {reason: price, segment: smb, revenue: 500.5}",
        "three": "service_end: 2026-11-15\n",  # no internal: counted as unknown
        "four": "service_end: 2026-12-01\ninternal: {reason: moved, segment: enterprise}",
        "five": "service_end: 2026-12-20\ninternal: {reason: price, revenue: 250}",
    }
    for client_id, text in cases.items():
        project.write_case(client_id, f"client: {{name: Client {client_id}}}\n{text}\n")
    return project


def test_csv_counts_departures_and_revenue_per_month_reason_and_segment(
    departures: Project,
) -> None:
    result = departures.run("report", "--format", "csv")
    assert result.exit_code == 0, result.output
    header, *rows = list(csv.reader(io.StringIO(result.stdout)))
    assert header == ["month", "reason", "segment", "departures", "revenue"]
    assert rows == [
        ["2026-11", "price", "smb", "2", "1500.50"],
        ["2026-11", "unknown", "unknown", "1", "0.00"],
        ["2026-12", "moved", "enterprise", "1", "0.00"],
        ["2026-12", "price", "unknown", "1", "250.00"],
    ]


def test_json_has_months_reasons_segments_and_total(departures: Project) -> None:
    result = departures.run("report", "--format", "json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["since"] is None
    assert report["months"] == [
        {
            "month": "2026-11",
            "departures": 3,
            "revenue": 1500.5,
            "breakdown": [
                {"reason": "price", "segment": "smb", "departures": 2, "revenue": 1500.5},
                {"reason": "unknown", "segment": "unknown", "departures": 1, "revenue": 0.0},
            ],
        },
        {
            "month": "2026-12",
            "departures": 2,
            "revenue": 250.0,
            "breakdown": [
                {"reason": "moved", "segment": "enterprise", "departures": 1, "revenue": 0.0},
                {"reason": "price", "segment": "unknown", "departures": 1, "revenue": 250.0},
            ],
        },
    ]
    assert report["by_reason"] == {
        "moved": {"departures": 1, "revenue": 0.0},
        "price": {"departures": 3, "revenue": 1750.5},
        "unknown": {"departures": 1, "revenue": 0.0},
    }
    assert report["by_segment"] == {
        "enterprise": {"departures": 1, "revenue": 0.0},
        "smb": {"departures": 2, "revenue": 1500.5},
        "unknown": {"departures": 2, "revenue": 250.0},
    }
    assert report["total"] == {"departures": 5, "revenue": 1750.5}


def test_since_keeps_departures_from_that_day_on(departures: Project) -> None:
    report = json.loads(
        departures.run("report", "--since", "2026-11-15", "--format", "json").stdout
    )
    assert report["since"] == "2026-11-15"
    assert [m["month"] for m in report["months"]] == ["2026-11", "2026-12"]
    assert report["months"][0]["departures"] == 2  # 2026-11-03 left out; the 15th counts
    assert report["total"] == {"departures": 4, "revenue": 750.5}
    december = departures.run("report", "--since", "2026-12-01", "--format", "csv").stdout
    assert {row["month"] for row in csv.DictReader(io.StringIO(december))} == {"2026-12"}


def test_table_is_plain_when_piped_and_shows_totals(departures: Project) -> None:
    result = departures.run("report")
    assert result.exit_code == 0, result.output
    assert "\x1b[" not in result.output
    lines = result.output.splitlines()
    price_smb = next(line for line in lines if "2026-11" in line and "smb" in line)
    assert "price" in price_smb and "1,500.50" in price_smb
    total = next(line for line in lines if "Total" in line)
    assert "5" in total and "1,750.50" in total
    assert "By reason" in result.output and "By segment" in result.output


def test_report_writes_nothing(departures: Project) -> None:
    before = sorted(p for p in departures.root.rglob("*"))
    departures.run("report", "--format", "json")
    assert sorted(p for p in departures.root.rglob("*")) == before
    assert not departures.site.exists()


def test_a_bad_format_is_a_usage_error(departures: Project) -> None:
    result = departures.run("report", "--format", "xlsx")
    assert result.exit_code == 2
    assert "'xlsx' is not one of 'table', 'csv', 'json'" in result.output

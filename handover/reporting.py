"""Win-back insight for staff: who left when, why, from which segment, and what it cost.

This reads ``internal:``, the staff-only part of a case, so nothing here is ever
written into the site: ``handover report`` only prints. Departures are counted in
the month of their ``service_end``; a missing reason or segment counts as "unknown"
so the totals always add up; revenue is the sum of ``internal.revenue`` where given.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, TypeVar

from rich.console import Group
from rich.table import Table
from rich.text import Text

from handover.validation import ClientCase

UNKNOWN = "unknown"
CSV_HEADER = ["month", "reason", "segment", "departures", "revenue"]

#: What departures are grouped by: one field, or (month, reason, segment).
K = TypeVar("K", str, tuple[str, str, str])


@dataclass(frozen=True)
class Departure:
    """One client's leaving, as the report counts it."""

    client_id: str
    month: str  # YYYY-MM of service_end
    reason: str
    segment: str
    revenue: float | None


def departure(case: ClientCase) -> Departure:
    internal = case.case.internal
    return Departure(
        client_id=case.id,
        month=case.case.service_end.strftime("%Y-%m"),
        reason=(internal.reason if internal else None) or UNKNOWN,
        segment=(internal.segment if internal else None) or UNKNOWN,
        revenue=internal.revenue if internal else None,
    )


def departures(cases: Iterable[ClientCase], since: dt.date | None = None) -> list[Departure]:
    """Departures whose service ends on or after ``since`` (all when None)."""
    return [departure(case) for case in cases if since is None or case.case.service_end >= since]


@dataclass(frozen=True)
class Tally:
    """How many left and how much yearly revenue left with them."""

    departures: int = 0
    revenue: float = 0.0

    def add(self, departure: Departure) -> Tally:
        return Tally(self.departures + 1, self.revenue + (departure.revenue or 0.0))

    def as_json(self) -> dict[str, Any]:
        return {"departures": self.departures, "revenue": round(self.revenue, 2)}


def tally(found: Iterable[Departure], key: Callable[[Departure], K]) -> dict[K, Tally]:
    """Departures grouped by ``key``, in sorted key order."""
    groups: dict[K, Tally] = {}
    for item in found:
        groups[key(item)] = groups.get(key(item), Tally()).add(item)
    return dict(sorted(groups.items(), key=lambda group: group[0]))


@dataclass(frozen=True)
class Report:
    """Departures since a day, ready to print as a table, CSV or JSON."""

    since: dt.date | None
    departures: list[Departure]

    @property
    def rows(self) -> dict[tuple[str, str, str], Tally]:
        """The finest breakdown: (month, reason, segment)."""
        return tally(self.departures, lambda d: (d.month, d.reason, d.segment))

    @property
    def by_month(self) -> dict[str, Tally]:
        return tally(self.departures, lambda d: d.month)

    @property
    def by_reason(self) -> dict[str, Tally]:
        return tally(self.departures, lambda d: d.reason)

    @property
    def by_segment(self) -> dict[str, Tally]:
        return tally(self.departures, lambda d: d.segment)

    @property
    def total(self) -> Tally:
        result = Tally()
        for item in self.departures:
            result = result.add(item)
        return result

    def as_json(self) -> dict[str, Any]:
        rows = self.rows
        return {
            "since": self.since.isoformat() if self.since else None,
            "months": [
                {
                    "month": month,
                    **month_tally.as_json(),
                    "breakdown": [
                        {"reason": reason, "segment": segment, **row.as_json()}
                        for (row_month, reason, segment), row in rows.items()
                        if row_month == month
                    ],
                }
                for month, month_tally in self.by_month.items()
            ],
            "by_reason": {reason: t.as_json() for reason, t in self.by_reason.items()},
            "by_segment": {segment: t.as_json() for segment, t in self.by_segment.items()},
            "total": self.total.as_json(),
        }

    def as_csv(self) -> str:
        """One row per (month, reason, segment), for a spreadsheet."""
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(CSV_HEADER)
        for (month, reason, segment), row in self.rows.items():
            writer.writerow([month, reason, segment, row.departures, f"{row.revenue:.2f}"])
        return out.getvalue()


def departure_report(cases: Iterable[ClientCase], since: dt.date | None = None) -> Report:
    """Departures by month, reason and segment (from ``internal:``), for staff only."""
    return Report(since, departures(cases, since))


# -- presentation -------------------------------------------------------------------


def _money(amount: float) -> str:
    return f"{amount:,.2f}"


def report_tables(report: Report) -> Group:
    """The breakdown by month, then the totals by reason and by segment.

    Cells are ``Text``, never markup: reasons and segments are free text staff typed.
    """
    since = f" since {report.since.isoformat()}" if report.since else ""
    months = Table(title=f"Departures by month{since}", title_justify="left", show_footer=True)
    months.add_column("Month", footer="Total")
    months.add_column("Reason")
    months.add_column("Segment")
    months.add_column("Departures", justify="right", footer=str(report.total.departures))
    months.add_column("Revenue", justify="right", footer=_money(report.total.revenue))
    for (month, reason, segment), row in report.rows.items():
        cells = [month, reason, segment, str(row.departures), _money(row.revenue)]
        months.add_row(*(Text(cell) for cell in cells))
    return Group(
        months,
        _totals_table("By reason", "Reason", report.by_reason),
        _totals_table("By segment", "Segment", report.by_segment),
    )


def _totals_table(title: str, label: str, totals: dict[str, Tally]) -> Table:
    table = Table(title=title, title_justify="left")
    table.add_column(label)
    table.add_column("Departures", justify="right")
    table.add_column("Revenue", justify="right")
    for name, row in totals.items():
        table.add_row(Text(name), Text(str(row.departures)), Text(_money(row.revenue)))
    return table

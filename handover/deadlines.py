"""Deadlines at a glance, for staff: ``handover status`` and ``handover due``.

A case dates several things: the service end, each account's ``by``, each document's
last download day, each open invoice's due date and, unless the case is under legal
hold, the deletion. Account steps and open invoices need someone to act, so once their
day has passed they are *overdue* and stay so until staff change the case (mark the
invoice paid, set the account's ``done: true``). The other dates simply happen on their day.

Wording is English on purpose: this is the staff tool, not the client page.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Literal

from rich.table import Table
from rich.text import Text

from handover.model import Invoice
from handover.validation import ClientCase

DeadlineKind = Literal["service-end", "account", "invoice", "document", "deletion"]

#: Kinds that need someone to act: when their day passes they are overdue, not done.
#: A deletion is one: past its day with no purge recorded, the page says deletion is due.
ACTIONABLE_KINDS: frozenset[DeadlineKind] = frozenset({"account", "invoice", "deletion"})

#: On a shared day, the item staff should read first (the service end before the
#: documents that merely default to the deletion date, the deletion itself last).
_KIND_ORDER: dict[DeadlineKind, int] = {
    "service-end": 0,
    "account": 1,
    "invoice": 2,
    "document": 3,
    "deletion": 4,
}

#: A deadline this close is shown in yellow: close enough to plan the work this week.
SOON_DAYS = 7


@dataclass(frozen=True)
class Deadline:
    """One dated item of one case, worded for staff."""

    date: dt.date
    client_id: str
    what: str
    kind: DeadlineKind

    def days_left(self, today: dt.date) -> int:
        """Negative once the day has passed."""
        return (self.date - today).days

    def is_overdue(self, today: dt.date) -> bool:
        """Only items someone must act on can be late; a past service end is just history."""
        return self.kind in ACTIONABLE_KINDS and self.date < today

    def sort_key(self) -> tuple[dt.date, str, int, str]:
        return (self.date, self.client_id, _KIND_ORDER[self.kind], self.what)


def format_amount(amount: Decimal, currency: str) -> str:
    """``1,250.50 EUR``: the way staff read amounts in a list."""
    return f"{amount:,.2f} {currency}"


def open_invoices(case: ClientCase) -> list[Invoice]:
    return [invoice for invoice in case.case.invoices if invoice.status == "open"]


def case_deadlines(case: ClientCase) -> list[Deadline]:
    """Every dated item of one case, past ones included (they are what becomes overdue)."""
    found = [Deadline(case.case.service_end, case.id, "service end", "service-end")]
    found += [
        Deadline(account.by, case.id, f"account: {account.system}", "account")
        for account in case.case.accounts
        if account.by and not account.done
    ]
    found += [
        Deadline(
            invoice.due,
            case.id,
            f"invoice {invoice.number} ({format_amount(invoice.amount, invoice.currency)})",
            "invoice",
        )
        for invoice in open_invoices(case)
    ]
    found += [
        Deadline(
            case.available_until(document), case.id, f"last download: {document.title}", "document"
        )
        for document in case.case.documents
    ]
    if not case.case.legal_hold and not case.purges:  # done once a purge is recorded
        found.append(Deadline(case.deletion_date, case.id, "deletion of all data", "deletion"))
    return sorted(found, key=Deadline.sort_key)


def upcoming(
    deadlines: Iterable[Deadline], today: dt.date, last_day: dt.date | None = None
) -> list[Deadline]:
    """Items from today on (to ``last_day`` inclusive, when given), soonest first."""
    return sorted(
        (d for d in deadlines if today <= d.date and (last_day is None or d.date <= last_day)),
        key=Deadline.sort_key,
    )


def overdue(deadlines: Iterable[Deadline], today: dt.date) -> list[Deadline]:
    """Account steps and open invoices whose day has passed, oldest first."""
    return sorted((d for d in deadlines if d.is_overdue(today)), key=Deadline.sort_key)


@dataclass(frozen=True)
class ClientStatus:
    """One client's row in ``handover status``: where the case stands on ``today``."""

    case: ClientCase
    today: dt.date
    #: Every item on the earliest day from today on (several can share it); empty when none.
    next_deadlines: list[Deadline]
    documents_available: int
    open_invoices: list[Invoice]
    overdue: list[Deadline]

    @property
    def next_deadline(self) -> Deadline | None:
        return self.next_deadlines[0] if self.next_deadlines else None

    @property
    def days_left(self) -> int | None:
        return self.next_deadline.days_left(self.today) if self.next_deadline else None

    def urgency_key(self) -> tuple[bool, dt.date, str]:
        """Overdue clients first, then the nearest next deadline, then the id."""
        next_date = self.next_deadline.date if self.next_deadline else dt.date.max
        return (not self.overdue, next_date, self.case.id)

    def open_totals(self) -> dict[str, Decimal]:
        """Open amounts per currency: amounts in different currencies never add up."""
        totals: dict[str, Decimal] = {}
        for invoice in self.open_invoices:
            totals[invoice.currency] = totals.get(invoice.currency, Decimal(0)) + invoice.amount
        return dict(sorted(totals.items()))

    def as_json(self) -> dict[str, Any]:
        case = self.case.case
        deadline = self.next_deadline
        return {
            "id": self.case.id,
            "name": case.client.name,
            "service_end": case.service_end.isoformat(),
            "deletion_date": None if case.legal_hold else self.case.deletion_date.isoformat(),
            "legal_hold": case.legal_hold,
            "next_deadline": None
            if deadline is None
            else {
                "date": deadline.date.isoformat(),
                "what": deadline.what,
                "days_left": deadline.days_left(self.today),
            },
            "documents_available": self.documents_available,
            "open_invoices": [
                {
                    "number": invoice.number,
                    "amount": float(invoice.amount),  # bounded: exact to the cent
                    "currency": invoice.currency,
                    "due": invoice.due.isoformat(),
                }
                for invoice in self.open_invoices
            ],
            "overdue": [{"date": d.date.isoformat(), "what": d.what} for d in self.overdue],
        }


def client_status(case: ClientCase, today: dt.date) -> ClientStatus:
    deadlines = case_deadlines(case)
    ahead = upcoming(deadlines, today)
    return ClientStatus(
        case=case,
        today=today,
        next_deadlines=[d for d in ahead if d.date == ahead[0].date] if ahead else [],
        documents_available=sum(case.offers(d, today) for d in case.case.documents),
        open_invoices=open_invoices(case),
        overdue=overdue(deadlines, today),
    )


def client_statuses(cases: Iterable[ClientCase], today: dt.date) -> list[ClientStatus]:
    """Every client, most urgent first."""
    return sorted((client_status(case, today) for case in cases), key=ClientStatus.urgency_key)


@dataclass(frozen=True)
class DueList:
    """What ``handover due`` reports: items in the window, and everything overdue."""

    today: dt.date
    days: int
    due: list[Deadline]
    overdue: list[Deadline]

    def summary(self) -> str:
        """One line a scheduled job's log (or its alert mail) can show on its own."""
        window = f"{self.days} day{'' if self.days == 1 else 's'}"
        return f"{len(self.due)} due within {window}, {len(self.overdue)} overdue"

    @property
    def items(self) -> list[Deadline]:
        """Overdue first (oldest first), then what falls due, soonest first."""
        return [*self.overdue, *self.due]

    def lines(self) -> list[tuple[Deadline, str]]:
        """Each item as one aligned line: date, client id, what, and how far off it is."""
        width = max((len(d.client_id) for d in self.items), default=0)
        return [
            (d, f"{d.date}  {d.client_id:<{width}}  {d.what}  ({self._when(d)})")
            for d in self.items
        ]

    def _when(self, deadline: Deadline) -> str:
        days = deadline.days_left(self.today)
        if deadline.is_overdue(self.today):
            return f"overdue by {-days} day{'' if days == -1 else 's'}"
        if days == 0:
            return "today"
        return f"in {days} day{'' if days == 1 else 's'}"

    def as_json(self) -> list[dict[str, Any]]:
        return [
            {
                "date": d.date.isoformat(),
                "id": d.client_id,
                "what": d.what,
                "kind": d.kind,
                "days_left": d.days_left(self.today),
                "overdue": d.is_overdue(self.today),
            }
            for d in self.items
        ]


def due_within(cases: Iterable[ClientCase], today: dt.date, days: int) -> DueList:
    """Items from today to today + ``days`` (inclusive), plus everything already overdue."""
    deadlines = [d for case in cases for d in case_deadlines(case)]
    last_day = _days_after(today, days)
    return DueList(today, days, upcoming(deadlines, today, last_day), overdue(deadlines, today))


def _days_after(today: dt.date, days: int) -> dt.date:
    """``today`` + ``days``, or the last day Python knows when that lies beyond it
    (``--today 9999-12-31``): no case date lies anywhere near, so nothing is missed."""
    try:
        return today + dt.timedelta(days=days)
    except OverflowError:
        return dt.date.max


_PERIOD = re.compile(r"([0-9]{1,9})\s*([dw]?)")
#: The longest period ``--within`` takes: 100 years, longer than any case can date ahead.
MAX_PERIOD_DAYS = 36_500


def parse_period(text: str) -> int:
    """``7d``, ``2w`` or ``30`` (days) -> days; raises ``ValueError`` on anything else."""
    match = _PERIOD.fullmatch(text.strip().lower())
    if not match:
        raise ValueError(f"'{text}' is not a period; write days as 7d or 7, weeks as 2w")
    number, unit = int(match.group(1)), match.group(2)
    days = number * 7 if unit == "w" else number
    if days > MAX_PERIOD_DAYS:
        raise ValueError(f"'{text}' is longer than {MAX_PERIOD_DAYS:,} days (100 years)")
    return days


# -- presentation -------------------------------------------------------------------


def status_table(statuses: Iterable[ClientStatus]) -> Table:
    """The ``handover status`` table: red rows are overdue, yellow rows due within a week.

    Cells are ``Text``, never markup, so a title like ``[draft]`` prints as written.
    """
    table = Table(title="Departing clients by urgency", title_justify="left")
    for header in ["Client", "Name", "Service end", "Next deadline", "What", "Days"]:
        table.add_column(header, justify="right" if header == "Days" else "left")
    for header in ["Deletion", "Documents", "Open invoices", "Overdue"]:
        table.add_column(header, justify="right" if header == "Documents" else "left")
    for status in statuses:
        table.add_row(*(Text(cell) for cell in _status_cells(status)), style=_row_style(status))
    return table


def _status_cells(status: ClientStatus) -> list[str]:
    case = status.case.case
    deadline = status.next_deadline
    what = ""
    if deadline:
        more = len(status.next_deadlines) - 1
        what = deadline.what + (f" (+{more} more)" if more else "")
    invoices = ""
    if status.open_invoices:
        totals = " + ".join(format_amount(a, c) for c, a in status.open_totals().items())
        invoices = f"{len(status.open_invoices)}: {totals}"
    return [
        status.case.id,
        case.client.name,
        case.service_end.isoformat(),
        deadline.date.isoformat() if deadline else "—",
        what,
        str(status.days_left) if status.days_left is not None else "",
        "legal hold" if case.legal_hold else status.case.deletion_date.isoformat(),
        str(status.documents_available),
        invoices,
        "\n".join(f"{d.date} {d.what}" for d in status.overdue),
    ]


def _row_style(status: ClientStatus) -> str:
    if status.overdue:
        return "red"
    if status.days_left is not None and status.days_left <= SOON_DAYS:
        return "yellow"
    return ""

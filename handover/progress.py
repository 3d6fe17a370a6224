"""A progress bar for long runs, shown only to a person watching a terminal.

CI logs and pipes get nothing (a bar redrawn a thousand times is noise there), and
short runs get nothing either: the bar appears from ``MIN_ITEMS`` items on.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager

MIN_ITEMS = 50


def wanted(total: int) -> bool:
    in_ci = os.environ.get("CI", "").lower() in {"1", "true", "yes"}
    return total >= MIN_ITEMS and not in_ci and sys.stderr.isatty()


@contextmanager
def progress(label: str, total: int) -> Iterator[Callable[[], None]]:
    """Yields ``advance()``, to call once per item done."""
    if not wanted(total):
        yield lambda: None
        return
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn

    columns = (
        "[progress.description]{task.description}",
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
    )
    with Progress(*columns, console=Console(stderr=True), transient=True) as bar:
        task = bar.add_task(label, total=total)
        yield lambda: bar.advance(task)

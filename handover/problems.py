"""Problems are values: every stage collects them with a location, the CLI prints them."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from handover.errors import ProblemsError

#: A path into a case document, as pydantic reports it: ("services", 2, "status").
FieldPath = tuple[str | int, ...]


def format_field_path(path: FieldPath) -> str:
    """``("services", 2, "status")`` -> ``services[2].status``."""
    text = ""
    for part in path:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += f".{part}" if text else str(part)
    return text


Severity = Literal["error", "warning"]


@dataclass(frozen=True, order=True)
class Problem:
    """One thing wrong with the input, pointing at the file and line to fix.

    A ``warning`` does not stop a build (two clients with the same name may be right);
    an ``error`` does. Either way it is a value: the edge decides how to show it (today
    ``cases.load_cases`` logs warnings as MkDocs does, ``WARNING: file:line: …``)."""

    file: Path
    line: int | None
    field: str
    message: str
    severity: Severity = "error"

    def __str__(self) -> str:
        where = f"{display_path(self.file)}:{self.line}" if self.line else display_path(self.file)
        field, message = visible(self.field), visible(self.message)
        return f"{where}: {field}: {message}" if field else f"{where}: {message}"


#: Characters that would break a problem's one line or reorder it on a terminal: control
#: characters (new lines, carriage returns, escapes) and bidirectional overrides.
_INVISIBLE = re.compile(r"[\x00-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def visible(text: str) -> str:
    """``text`` with every such character written as an escape (``\\r``, ``\\u202e``), so
    a value quoted in a message can neither split the line nor disguise it."""
    return _INVISIBLE.sub(lambda match: repr(match.group())[1:-1], text)


def display_path(path: Path) -> str:
    """Paths relative to the working directory read best in an editor's terminal."""
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


class ProblemsFound(ProblemsError):
    """Raised at a stage boundary when the input cannot be used; carries every problem."""

    def __init__(self, problems: Iterable[Problem]) -> None:
        self.problems: Sequence[Problem] = sorted(problems, key=_sort_key)
        super().__init__(self.report())

    def report(self) -> str:
        count = len(self.problems)
        lines = [str(p) for p in self.problems]
        lines.append(f"{count} problem{'s' if count != 1 else ''} found.")
        return "\n".join(lines)


def _sort_key(problem: Problem) -> tuple[str, int, str]:
    return (str(problem.file), problem.line or 0, problem.field)

"""Load every case of a ``cases/`` folder: discovery, ids, and all problems at once."""

from __future__ import annotations

import dataclasses
import logging
import re
import unicodedata
from collections.abc import Collection, Iterable
from pathlib import Path
from typing import Protocol

from handover.loading import read_yaml
from handover.model import CLIENT_ID_PATTERN
from handover.problems import Problem, ProblemsFound, display_path
from handover.scanning import find_secrets
from handover.validation import ClientCase, FirmDefaults, validate_case

CASE_FILE = "case.yaml"

log = logging.getLogger("mkdocs.plugins.handover")


def case_folders(cases_dir: Path) -> list[Path]:
    """Every folder below ``cases_dir`` that is meant to be a case (hidden ones are skipped)."""
    if not cases_dir.is_dir():
        return []
    return sorted(
        entry
        for entry in cases_dir.iterdir()
        if entry.is_dir() and not entry.name.startswith((".", "_"))
    )


class KnownCases(Protocol):
    """Cases validated before (see ``incremental.ValidatedCases``)."""

    def get(self, folder: Path) -> ClientCase | None: ...

    def put(self, folder: Path, case: ClientCase) -> None: ...


def load_cases(
    cases_dirs: Iterable[Path],
    defaults: FirmDefaults,
    *,
    skip: Collection[Path] = (),
    known: KnownCases | None = None,
) -> list[ClientCase]:
    """Every case under ``cases_dirs``, validated; raises ``ProblemsFound`` with all problems.

    Folders in ``skip`` (known unchanged since they last validated) count for duplicate
    ids but are neither read nor returned; ``known`` answers for unchanged folders."""
    cases: list[ClientCase] = []
    problems: list[Problem] = []
    seen: dict[str, Path] = {}
    for cases_dir in cases_dirs:
        if not cases_dir.is_dir():
            problems.append(Problem(cases_dir, None, "", "cases folder does not exist"))
            continue
        for folder in case_folders(cases_dir):
            earlier = seen.setdefault(folder.name, folder)
            if earlier is not folder:
                problems.append(
                    Problem(
                        folder / CASE_FILE,
                        _first_line(folder / CASE_FILE),
                        "",
                        f"client id '{folder.name}' is also used by {display_path(earlier)}/",
                    )
                )
            if folder in skip:
                continue
            case = known.get(folder) if known else None
            if case is None:
                case, found = load_case(folder, defaults)
                problems.extend(found)
                if case is not None and known:
                    known.put(folder, case)
            if case is not None:
                cases.append(case)
    if problems:
        raise ProblemsFound(problems)
    for warning in same_names(cases):
        log.warning("%s", warning)
    return cases


def same_names(cases: Iterable[ClientCase]) -> list[Problem]:
    """A warning for each case whose client name another case already has (ignoring case,
    accents' composition and surrounding spaces): often a client entered twice, whose two
    pages would both be sent; sometimes two clients who share a name, hence no error."""
    first: dict[str, ClientCase] = {}
    found: list[Problem] = []
    for case in sorted(cases, key=lambda c: c.id):
        name = unicodedata.normalize("NFC", " ".join(case.case.client.name.split())).casefold()
        earlier = first.setdefault(name, case)
        if earlier is not case:
            found.append(
                Problem(
                    case.source,
                    case.name_line,
                    "client.name",
                    f"'{case.case.client.name}' is also the client name of case "
                    f"'{earlier.id}' ({display_path(earlier.source)}); "
                    "check that it is not the same client twice",
                    severity="warning",
                )
            )
    return found


def load_case(folder: Path, defaults: FirmDefaults) -> tuple[ClientCase | None, list[Problem]]:
    path = folder / CASE_FILE
    if not re.fullmatch(CLIENT_ID_PATTERN, folder.name):
        return None, [
            Problem(
                path,
                _first_line(path),
                "",
                f"folder name '{folder.name}' is not a client id: "
                "use lowercase letters, digits and single hyphens",
            )
        ]
    if not path.is_file():
        return None, [Problem(path, None, "", f"missing: every case folder needs a {CASE_FILE}")]
    source, problems = read_yaml(path)
    if source is None:
        return None, problems
    problems += find_secrets(source)
    case, found = validate_case(folder.name, source, defaults)
    if case is None or problems:
        return None, problems + found
    return completed(case), found


def completed(case: ClientCase) -> ClientCase:
    """The case with what builds need beyond its model, found once when it is validated and
    kept with it in the validated cache: what to warn about (markup dropped from a Markdown
    field, a step whose wording says someone else acts), each with file and line, so no
    build of unchanged cases reads their YAML again for the lines (a second per 500
    cases); and every date of the case, so no build walks the model for them again."""
    # The rendering and Markdown stacks, imported only when a case is validated.
    from handover.rendering import case_days
    from handover.sanitising import markup_warnings
    from handover.steps import step_warnings

    found = [*markup_warnings(case), *step_warnings(case)]
    return dataclasses.replace(
        case,
        warnings=tuple(str(warning) for warning in found),
        days=tuple(sorted(case_days(case))),
    )


def _first_line(path: Path) -> int | None:
    """Line 1 for a problem with the file as a whole, when there is a file to open."""
    return 1 if path.is_file() else None

"""Is a client document in git? Checked, never assumed: in the index, in any commit that any
ref (branches, tags, remotes, stash) reaches, or anywhere in the object store.

A purged document must not live on in the repository: every clone, every CI checkout and
the git host would keep it. ``handover validate``, ``status`` and ``purge`` look with
dulwich (a pure-Python git library, so no git binary is needed) and print the exact steps
to rewrite history; the certificate says "not in the repository's history" only when this
check ran and found nothing.

Two searches: by *path* (anything below a case folder except ``case.yaml`` and the
deletion record, in every reachable commit) and by *bytes* (the git object id of each
deleted file, which finds a copy committed under another name or left unreachable in
the object store until garbage collection).
"""

from __future__ import annotations

import shlex
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # dulwich is imported where it is used: a build that checks no history
    from dulwich.objects import ObjectID  # should not pay for loading it
    from dulwich.repo import Repo

from handover.loading import read_yaml
from handover.problems import display_path
from handover.validation import ClientCase

#: Files of a case folder that are the firm's record, not client documents.
CASE_RECORDS = frozenset({"case.yaml", "deletion-record.yaml"})


@dataclass
class HistoryReport:
    """What the search found. ``checked`` is False when there is no repository to check."""

    checked: bool
    root: Path | None = None
    #: Repository path -> the commits (short ids, newest first) that hold it.
    in_commits: dict[str, list[str]] = field(default_factory=dict)
    #: Repository paths in the index (tracked now).
    tracked: list[str] = field(default_factory=list)
    #: Object ids of deleted files still in the object store (reachable or not).
    blobs_present: list[str] = field(default_factory=list)

    @property
    def clean(self) -> bool:
        return self.checked and not (self.in_commits or self.tracked or self.blobs_present)

    def paths(self) -> list[str]:
        return sorted({*self.in_commits, *self.tracked})


def git_blob_id(data_path: Path) -> str:
    """The id git gives a file with these bytes (SHA-1 of a header and the content)."""
    from dulwich.objects import Blob

    return Blob.from_string(data_path.read_bytes()).id.decode()


def check_history(
    case_folders: Iterable[Path], blobs: Iterable[str] = (), start: Path | None = None
) -> HistoryReport:
    """Search the repository holding ``start`` (default: the first case folder) for client
    files of ``case_folders`` and for the objects ``blobs``."""
    from dulwich.errors import NotGitRepository
    from dulwich.objects import ObjectID
    from dulwich.repo import Repo

    folders = [folder.resolve() for folder in case_folders]
    try:
        repo = Repo.discover(str(start or (folders[0] if folders else Path.cwd())))
    except NotGitRepository:
        return HistoryReport(checked=False)
    with repo:
        root = Path(repo.path).resolve()
        prefixes = [_relative(folder, root) for folder in folders]
        report = HistoryReport(checked=True, root=root)
        wanted = [p for p in prefixes if p is not None]
        report.in_commits = _paths_in_commits(repo, wanted)
        report.tracked = _tracked(repo, wanted)
        report.blobs_present = sorted(
            b for b in set(blobs) if ObjectID(b.encode()) in repo.object_store
        )
        return report


def _relative(folder: Path, root: Path) -> str | None:
    try:
        return folder.relative_to(root).as_posix()
    except ValueError:
        return None


def _is_client_file(prefix: str, path: str) -> bool:
    return path.startswith(prefix + "/") and path[len(prefix) + 1 :] not in CASE_RECORDS


def _tracked(repo: Repo, prefixes: Sequence[str]) -> list[str]:
    if not repo.has_index():
        return []
    index = repo.open_index()
    paths = [path.decode("utf-8", "replace") for path in index]
    return sorted(p for p in paths if any(_is_client_file(prefix, p) for prefix in prefixes))


def _paths_in_commits(repo: Repo, prefixes: Sequence[str]) -> dict[str, list[str]]:
    """Every client file below ``prefixes`` in every commit any ref reaches. The folder that
    holds the case folders (``cases``) is listed once per distinct tree id, so a long history
    of a thousand cases costs one lookup per commit, plus one listing per change."""
    from dulwich.object_store import iter_tree_contents

    heads = _commits_of_refs(repo)
    if not heads or not prefixes:
        return {}
    by_parent: dict[str, set[str]] = {}
    for prefix in prefixes:
        parent, _, name = prefix.rpartition("/")
        by_parent.setdefault(parent, set()).add(name)
    found: dict[str, list[str]] = {}
    listed: dict[ObjectID, list[str]] = {}
    for entry in repo.get_walker(include=heads):
        commit = entry.commit
        for parent, names in by_parent.items():
            tree_id = _subtree(repo, commit.tree, parent)
            if tree_id is None:
                continue
            if tree_id not in listed:
                listed[tree_id] = [
                    item.path.decode("utf-8", "replace")
                    for item in iter_tree_contents(repo.object_store, tree_id)
                    if item.path is not None
                ]
            for path in listed[tree_id]:
                name, _, rest = path.partition("/")
                if name in names and rest and rest not in CASE_RECORDS:
                    full = f"{parent}/{path}" if parent else path
                    found.setdefault(full, []).append(commit.id.decode()[:12])
    return found


def _subtree(repo: Repo, tree: ObjectID, path: str) -> ObjectID | None:
    from dulwich.object_store import tree_lookup_path
    from dulwich.objects import ObjectID

    if not path:
        return tree
    try:
        _mode, tree_id = tree_lookup_path(repo.object_store.__getitem__, tree, path.encode())
    except KeyError:
        return None
    return ObjectID(tree_id)


def _commits_of_refs(repo: Repo) -> list[ObjectID]:
    from dulwich.objects import Commit, Tag

    heads = set()
    for name, sha in repo.get_refs().items():
        if name == b"HEAD" and sha is None:
            continue
        obj = repo.object_store[sha]
        while isinstance(obj, Tag):
            obj = repo.object_store[obj.object[1]]
        if isinstance(obj, Commit):
            heads.add(obj.id)
    return sorted(heads)


def remedy(report: HistoryReport) -> str:
    """The exact steps to take the files out of history, and what the git host needs."""
    paths = report.paths()
    path_args = " ".join(f"--path {shlex.quote(p)}" for p in paths)
    blob_step = (
        "   then, for copies of the deleted bytes under any other name:\n"
        f"   printf '%s\\n' {' '.join(report.blobs_present)} > purged-objects.txt\n"
        "   git filter-repo --force --strip-blobs-with-ids purged-objects.txt\n"
        if report.blobs_present
        else ""
    )
    return (
        "To remove them from the repository's history:\n"
        "1. pip install git-filter-repo, then work in a fresh clone:\n"
        "   git clone --no-local REPOSITORY portal-clean && cd portal-clean\n"
        + (f"2. git filter-repo --invert-paths {path_args}\n" if paths else "2. (no paths)\n")
        + blob_step
        + "3. git remote add origin URL && git push --force --all && git push --force --tags\n"
        "4. On the git host: delete forks and open pull/merge requests that hold the files,\n"
        "   and ask the host to run garbage collection and drop cached views (GitHub: support\n"
        "   request; GitLab: Settings > Repository > Repository cleanup with the commit-map).\n"
        "5. Everyone deletes their old clone and clones again; clear the CI caches.\n"
        "Then run `handover purge` again: it checks again and records the result."
    )


def history_warnings(
    cases: Sequence[ClientCase], project_dir: Path, *, examples: bool
) -> list[str]:
    """For ``validate`` and ``status``: each client file that is or was in git, as
    ``case.yaml:line: documents[i].file: …`` where the case lists it, with the commits that
    hold it and the steps to remove it; in a portal of example cases, one note instead."""
    if not cases:
        return []
    report = check_history([case.folder for case in cases], start=project_dir)
    if not report.checked or report.clean:
        return []
    paths = report.paths()
    if examples:
        return [
            f"note: {len(paths)} example document(s) are in git; mkdocs.yml marks these cases "
            "as fictitious examples (example_documents: true), so they may stay there."
        ]
    root = report.root or project_dir
    lines = [_located_warning(report, path, root, cases) for path in paths]
    return [*lines, remedy(report)]


def _located_warning(
    report: HistoryReport, path: str, root: Path, cases: Sequence[ClientCase]
) -> str:
    commits = report.in_commits.get(path, [])
    state = "tracked by git" if path in report.tracked else "no longer tracked"
    what = f"client document is in the git history ({state}; in {len(commits)} commit(s)"
    what += f": {', '.join(commits[:5])}{', …' if len(commits) > 5 else ''})"
    absolute = root / path
    for case in cases:
        folder = case.folder.resolve()
        if not absolute.is_relative_to(folder):
            continue
        relative = absolute.relative_to(folder).as_posix()
        for index, document in enumerate(case.case.documents):
            if document.file and Path(document.file).as_posix() == relative:
                source, _problems = read_yaml(case.source)
                line = source.line_of(("documents", index, "file")) if source else None
                where = f"{display_path(case.source)}:{line}" if line else display_path(case.source)
                return f"warning: {where}: documents[{index}].file: {relative}: {what}"
    return f"warning: {display_path(absolute)}: {what}"

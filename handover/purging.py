"""``handover purge``: on a case's deletion day, remove every copy of its client data the tool
controls, record each removal, and say what it could not remove.

On the deletion day every file in the case folder goes (not only the listed documents),
except ``case.yaml`` and the deletion record, and except documents whose ``retain_until``
has not passed (they go the day after it); nothing goes while the case is under legal
hold. Pinned documents go from the document store too (unless another case still needs
the same bytes), and every cache entry derived from the case goes from ``.handover/``:
ZIPs, manifests, calendars, sealed (encrypted) files, fetched documents, validated cases,
file facts and the preview site.

Each file is hashed and written to the deletion record *before* it is removed, and the
record is written whole each time (see ``deletions``), so a purge stopped half-way is
resumed by the next run: what is left is still due, what is gone is recorded once. Every
run on a due case is recorded with the places it cleared; the page and the certificate
are made from those runs, not from the calendar.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import getpass
import hashlib
import os
import shutil
import subprocess
from collections import Counter
from collections.abc import Callable, Collection, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from handover import atrest
from handover.caching import (
    ARTIFACTS_CACHE,
    CACHE_DIR,
    FACTS_CACHE,
    FETCH_CACHE,
    FETCH_INDEX,
    PREVIEW_SITE,
    SEALED_CACHE,
    read_json,
    write_json,
)
from handover.deletions import (
    Deletion,
    Place,
    PurgeRun,
    read_deletion_record,
    write_record,
)
from handover.errors import StoreError
from handover.files import file_facts
from handover.history import CASE_RECORDS, HistoryReport, check_history, git_blob_id, remedy
from handover.incremental import VALIDATED_CACHE, validated_entry
from handover.model import Document
from handover.store import DocumentStore
from handover.validation import ClientCase

if TYPE_CHECKING:
    from handover.building import Portal


@dataclass(frozen=True)
class DueFile:
    """A file that the purge deletes (or, in a dry run, would delete)."""

    case: ClientCase
    #: Path relative to the case folder, with forward slashes.
    relative: str
    title: str
    #: The file in the case folder, or None for a document kept only in the store.
    path: Path | None
    #: The pinned hash, for a document in the document store.
    pinned: str | None = None


@dataclass(frozen=True)
class CasePlan:
    """What a purge does to one case whose deletion day has come."""

    case: ClientCase
    files: list[DueFile]
    #: Files kept because of ``retain_until``: relative path -> the last day kept.
    kept: dict[str, dt.date]


@dataclass
class CaseResult:
    case: ClientCase
    deleted: list[Deletion] = field(default_factory=list)
    run: PurgeRun | None = None
    history: HistoryReport | None = None
    #: What the document store holds after the purge (to show the purged hashes are gone).
    store_after: list[str] | None = None


def deletion_day(case: ClientCase, document: Document) -> dt.date | None:
    """The day this document's file is deleted; None while a legal hold stops deletion."""
    if case.case.legal_hold:
        return None
    if document.retain_until:
        return document.retain_until + dt.timedelta(days=1)
    return case.deletion_date


def plan_purge(cases: Iterable[ClientCase], today: dt.date) -> list[CasePlan]:
    """Every case whose deletion day has come, with the files to remove; a case already
    purged is planned again only while files remain or its last run left something."""
    plans = []
    for case in cases:
        if case.case.legal_hold or today < case.deletion_date:
            continue
        files, kept = _due_in_case(case, today)
        last = case.purges[-1] if case.purges else None
        if files or last is None or last.not_removed:
            plans.append(CasePlan(case, files, kept))
    return plans


def _due_in_case(case: ClientCase, today: dt.date) -> tuple[list[DueFile], dict[str, dt.date]]:
    titles: dict[str, str] = {}
    kept: dict[str, dt.date] = {}
    pinned: dict[str, str] = {}
    for document in case.case.documents:
        if not document.file:
            continue
        relative = Path(document.file).as_posix()
        titles.setdefault(relative, document.title)
        day = deletion_day(case, document)
        if document.retain_until and day is not None and day > today:
            # Two entries naming one file: the longest retention wins, nothing crashes.
            kept[relative] = max(document.retain_until, kept.get(relative, document.retain_until))
        if document.sha256:
            pinned[relative] = document.sha256
    found = []
    for path in _client_files(case.folder):
        relative = path.relative_to(case.folder).as_posix()
        if relative not in kept:
            title = titles.get(relative, path.name)
            found.append(DueFile(case, relative, title, path, pinned.get(relative)))
    on_disk = {item.relative for item in found} | set(kept)
    purged = {d.file for d in case.deletions}
    for relative, sha256 in pinned.items():
        if relative not in on_disk and relative not in kept and relative not in purged:
            found.append(DueFile(case, relative, titles[relative], None, sha256))
    return found, kept


def _client_files(folder: Path) -> list[Path]:
    """Every file (and link) below the case folder but the firm's own records."""
    found = []
    for root, directories, names in os.walk(folder):
        directories.sort()
        for name in sorted(names):
            path = Path(root) / name
            if path.parent == folder and name in CASE_RECORDS:
                continue
            if name.startswith(".deletion-record.yaml"):
                continue  # the record's own temporary file
            found.append(path)
    return found


@dataclass(frozen=True)
class PurgeSettings:
    """Where the tool keeps copies: passed explicitly by the caller."""

    project_dir: Path
    store: DocumentStore | None = None
    #: Page folder names of a case (one per key version), whose sealed copies go too.
    slugs_of: Callable[[ClientCase], Sequence[str]] = lambda case: ()
    deleted_by: str = ""


def purge(
    plans: list[CasePlan],
    today: dt.date,
    settings: PurgeSettings,
    all_cases: Sequence[ClientCase] = (),
    advance: Callable[[], None] = lambda: None,
) -> list[CaseResult]:
    """Carry out ``plans``: files, store, caches, then the history check; one run recorded
    per case with every place it cleared and everything it could not."""
    needed_elsewhere = _hashes_still_needed(all_cases, plans, today)
    results = []
    for plan in plans:
        results.append(_purge_case(plan, today, settings, needed_elsewhere))
        advance()
    return results


def _hashes_still_needed(
    cases: Sequence[ClientCase], plans: list[CasePlan], today: dt.date
) -> dict[str, str]:
    """Pinned hashes that a case not being purged (or a kept document) still uses."""
    purging = {plan.case.id: plan for plan in plans}
    needed: dict[str, str] = {}
    for case in cases:
        plan = purging.get(case.id)
        for document in case.case.documents:
            if not document.sha256 or not document.file:
                continue
            relative = Path(document.file).as_posix()
            if plan is None or relative in plan.kept:
                needed.setdefault(document.sha256, case.id)
    return needed


def _purge_case(
    plan: CasePlan, today: dt.date, settings: PurgeSettings, needed: dict[str, str]
) -> CaseResult:
    case = plan.case
    record, _problems = read_deletion_record(case.folder)
    result = CaseResult(case)
    not_removed: list[str] = []
    places: dict[Place, dt.date] = {}
    links = Counter(_inode(item.path) for item in plan.files if item.path)

    for item in plan.files:
        deletion = _deletion_of(item, today, settings, record.deleted)
        if deletion is None:
            continue  # pinned, but the store never held it: nothing to remove or record
        record = record.with_deletion(deletion)
        write_record(case.folder, record)  # recorded first: an interrupt is resumed
        if item.path is not None:
            try:
                extra = item.path.lstat().st_nlink - links[_inode(item.path)]
                item.path.unlink()
                if extra > 0 and not item.path.is_symlink():
                    not_removed.append(
                        f"case-folder: {item.relative}: {extra} hard link(s) outside the case "
                        "folder still hold these bytes"
                    )
            except OSError as error:
                not_removed.append(f"case-folder: {item.relative}: {error.strerror or error}")
        result.deleted.append(deletion)
    _remove_empty_folders(case.folder)
    if not any(m.startswith("case-folder:") for m in not_removed):
        places["case-folder"] = today

    hashes = {d.sha256 for d in record.deleted}
    if settings.store is not None:
        try:
            settings.store.hashes()  # an unmounted share must not look like an empty store
            problems = _clear_store(settings.store, hashes, case.id, needed)
            result.store_after = settings.store.hashes()
        except StoreError as error:
            problems = [f"document-store: {error}"]
        not_removed += problems
        if not problems and not hashes & set(result.store_after or []):
            places["document-store"] = today
    problems = clear_caches(case, hashes, settings)
    not_removed += problems
    if not problems:
        places["build-caches"] = today

    blobs = [d.git_blob for d in record.deleted if d.git_blob]
    history = check_history([case.folder], blobs, start=settings.project_dir)
    result.history = history
    if history.clean:
        places["repository-history"] = today
    elif history.checked:
        for path in history.paths():
            commits = history.in_commits.get(path, [])
            where = f"in {len(commits)} commit(s), e.g. {', '.join(commits[:3])}"
            not_removed.append(
                f"repository-history: {path} " + (where if commits else "is tracked by git")
            )
        for blob in history.blobs_present:
            not_removed.append(f"repository-history: object {blob} holds a deleted file's bytes")

    run = PurgeRun(on=today, by=settings.deleted_by, places=places, not_removed=not_removed)
    result.run = run
    last = record.purges[-1] if record.purges else None
    repeated = last is not None and (last.places.keys(), last.not_removed) == (
        run.places.keys(),
        run.not_removed,
    )
    if result.deleted or not repeated:  # a re-check that found the same is not a new run
        write_record(case.folder, record.with_run(run))
    return result


def _inode(path: Path | None) -> tuple[int, int]:
    if path is None:
        return (0, 0)
    stat = path.lstat()
    return (stat.st_dev, stat.st_ino)


def _deletion_of(
    item: DueFile, today: dt.date, settings: PurgeSettings, earlier: Sequence[Deletion]
) -> Deletion | None:
    """The record entry for a file about to go: its hash read from the bytes themselves."""
    if item.path is not None:
        if item.path.is_symlink():
            target = os.readlink(item.path).encode()
            size, sha256, blob = len(target), hashlib.sha256(target).hexdigest(), None
        else:
            facts = file_facts(item.path)
            size, sha256, blob = facts.size, facts.sha256, git_blob_id(item.path)
    else:
        store = settings.store
        if store is None or item.pinned is None or not store.contains(item.pinned):
            previous = [d for d in earlier if d.file == item.relative]
            return previous[-1] if previous else None
        size, sha256, blob = _stored_facts(store, item.pinned, settings.project_dir)
    return Deletion(
        file=item.relative,
        title=item.title,
        size=size,
        sha256=sha256,
        deleted_on=today,
        deleted_by=settings.deleted_by,
        git_blob=blob,
    )


def _stored_facts(store: DocumentStore, sha256: str, project: Path) -> tuple[int, str, str]:
    """Size and git object id of a stored document, read through a private temporary copy."""
    scratch = project / CACHE_DIR / "purge-scratch"
    scratch.mkdir(parents=True, exist_ok=True)
    target = scratch / sha256
    try:
        store.fetch(sha256, target)
        return target.stat().st_size, sha256, git_blob_id(target)
    finally:
        target.unlink(missing_ok=True)


def _clear_store(
    store: DocumentStore, hashes: set[str], case_id: str, needed: dict[str, str]
) -> list[str]:
    problems = []
    for sha256 in sorted(hashes):
        user = needed.get(sha256)
        if user is not None and user != case_id:
            continue  # the same bytes belong to another case that is not being purged
        if user == case_id:
            continue  # kept by retain_until in this very case
        try:
            store.remove(sha256)
        except OSError as error:
            problems.append(f"document-store: {sha256}: {error.strerror or error}")
    return problems


def clear_caches(case: ClientCase, hashes: set[str], settings: PurgeSettings) -> list[str]:
    """Remove every cache entry derived from ``case``; what cannot be removed, as messages."""
    project = settings.project_dir
    targets = [project / ARTIFACTS_CACHE / case.id]
    for slug in settings.slugs_of(case):
        targets += [project / SEALED_CACHE / slug, project / PREVIEW_SITE / slug]
    targets += [project / FETCH_CACHE / sha256 for sha256 in hashes]
    targets += [project / FETCH_CACHE / f"{sha256}{atrest.SUFFIX}" for sha256 in hashes]
    targets.append(validated_entry(project / VALIDATED_CACHE, case.folder))
    problems = []
    for target in targets:
        try:
            if target.is_dir() and not target.is_symlink():
                shutil.rmtree(target)
            else:
                target.unlink(missing_ok=True)
        except OSError as error:
            problems.append(f"build-caches: {target}: {error.strerror or error}")
    try:
        _forget_facts(project / FACTS_CACHE, case.folder, project / FETCH_CACHE, hashes)
    except OSError as error:
        problems.append(f"build-caches: {project / FACTS_CACHE}: {error.strerror or error}")
    try:
        _forget_sizes(project / FETCH_INDEX, hashes)
    except OSError as error:
        problems.append(f"build-caches: {project / FETCH_INDEX}: {error.strerror or error}")
    return problems


def _forget_sizes(path: Path, hashes: set[str]) -> None:
    """The fetch index names each checked copy's hash and size: purged ones go too."""
    entries = read_json(path)
    if isinstance(entries, dict) and hashes & entries.keys():
        write_json(path, {k: v for k, v in entries.items() if k not in hashes})


def _forget_facts(shards: Path, folder: Path, fetched: Path, hashes: set[str]) -> None:
    """Every file fact of the case's folder, of its fetched documents, or of a purged hash."""
    inside = (str(folder.absolute()) + os.sep, str(fetched.absolute()) + os.sep)
    for shard in sorted(shards.iterdir()) if shards.is_dir() else []:
        entries = read_json(shard)
        if not isinstance(entries, dict):
            shard.unlink()
            continue
        kept = {
            key: value
            for key, value in entries.items()
            if not key.startswith(inside)
            and not (isinstance(value, list) and value and value[-1] in hashes)
        }
        if not kept:
            shard.unlink()
        elif kept != entries:
            write_json(shard, kept)


def _remove_empty_folders(folder: Path) -> None:
    for root, _directories, _files in os.walk(folder, topdown=False):
        if Path(root) != folder:
            with contextlib.suppress(OSError):
                Path(root).rmdir()  # only succeeds on an empty folder


def current_author(folder: Path) -> str:
    """Who is deleting: the git author where git knows one (as on commits), else the OS user."""
    name = os.environ.get("GIT_AUTHOR_NAME") or _git_config(folder, "user.name")
    email = os.environ.get("GIT_AUTHOR_EMAIL") or _git_config(folder, "user.email")
    if name:
        return f"{name} <{email}>" if email else name
    return getpass.getuser()


def _git_config(folder: Path, key: str) -> str | None:
    try:
        result = subprocess.run(
            ["git", "config", key], cwd=folder, capture_output=True, text=True, check=False
        )
    except OSError:
        return None
    return result.stdout.strip() or None


def purge_portal(
    portal: Portal,
    cases: Sequence[ClientCase],
    plans: list[CasePlan],
    today: dt.date,
    advance: Callable[[], None] = lambda: None,
) -> list[CaseResult]:
    """``handover purge`` on a loaded portal: its store, caches and page folders."""
    from handover.store import open_store

    plugin, config = portal.plugin, portal.config
    project = plugin.project_dir(config)
    secret = plugin.secret(config)

    def slugs_of(case: ClientCase) -> list[str]:
        return [secret.page_slug(case.id, v) for v in range(1, case.case.key_version + 1)]

    settings = PurgeSettings(
        project_dir=project,
        store=open_store(project, plugin.config.document_store),
        slugs_of=slugs_of,
        deleted_by=current_author(project),
    )
    return purge(plans, today, settings, cases, advance)


def purge_report(results: Sequence[CaseResult]) -> str:
    """What the purge did, per case and place, what it could not do, and what to do next."""
    if not results:
        return "Nothing is due for deletion."
    lines = []
    unclean: list[HistoryReport] = []
    for result in results:
        run = result.run
        assert run is not None
        lines.append(f"{result.case.id}: deleted {len(result.deleted)} file(s)")
        for place, day in run.places.items():
            lines.append(f"  cleared {place} on {day}")
        if result.store_after is not None:
            lines.append(
                f"  document store now holds {len(result.store_after)} file(s), "
                "none of this case's purged ones"
                if "document-store" in run.places
                else f"  document store still holds {len(result.store_after)} file(s)"
            )
        for note in run.not_removed:
            lines.append(f"  NOT REMOVED: {note}")
        if result.history is not None and not result.history.checked:
            lines.append("  repository-history: not checked (the portal is not a git repository)")
        if result.history is not None and result.history.checked and not result.history.clean:
            unclean.append(result.history)
    if unclean:
        merged = HistoryReport(checked=True, root=unclean[0].root)
        for report in unclean:
            merged.in_commits.update(report.in_commits)
            merged.tracked += report.tracked
            merged.blobs_present += report.blobs_present
        lines.append("Client documents are still in the git repository.")
        lines.append(remedy(merged))
    lines.append(
        "Each deletion is listed in its case's deletion-record.yaml. Commit cases/ and rebuild, "
        "so the pages state the deletion and offer the certificate."
    )
    return "\n".join(lines)


def prune_orphans(project_dir: Path, case_ids: Collection[str], slugs: Collection[str]) -> None:
    """Remove cache entries whose source is gone: the artefacts of a case that no longer
    exists, and the sealed files of a page no longer built. Called by the build."""
    artifacts = project_dir / ARTIFACTS_CACHE
    for folder in artifacts.iterdir() if artifacts.is_dir() else []:
        if folder.name not in case_ids:
            shutil.rmtree(folder, ignore_errors=True)
    sealed = project_dir / SEALED_CACHE
    for folder in sealed.iterdir() if sealed.is_dir() else []:
        if folder.is_dir() and folder.name not in slugs:
            shutil.rmtree(folder, ignore_errors=True)


def before_build(project_dir: Path) -> None:
    """Before a build: cached artefacts and fetched documents stay encrypted, and the build
    decrypts one only when it must read its bytes (``atrest.LockedFolder``,
    ``store.FetchedDocuments``); plaintext of a fetched document that a killed build left is
    removed, never trusted."""
    atrest.remove_plaintext(project_dir / FETCH_CACHE)


def lock_caches(project_dir: Path, key: bytes) -> None:
    """After a build, however it ended: derived plaintext kept only encrypted."""
    atrest.lock(project_dir / ARTIFACTS_CACHE, key)
    atrest.lock(project_dir / FETCH_CACHE, key)

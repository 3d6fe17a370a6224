"""Client documents outside git: a document store the firm controls, addressed by SHA-256.

``case.yaml`` names each document and may pin its SHA-256 (``sha256:``). A pinned document
need not be in the case folder: its bytes live in the store, and the build fetches them by
hash into a private cache (``.handover/cache/documents/``) and checks the hash before
using them. A file in the case's own ``documents/`` folder keeps working with no pin: that
folder is the default local store (git-ignored in a portal; see the README).

``DocumentStore`` is the seam. ``LocalFolderStore`` (a local or network folder) is the
only implementation today; an object-store one (S3 and the like) is to be written on top
of ``handover.transfer``, the transfer module publishing uses, so both share one
well-kept client. It needs only the five methods below.
"""

from __future__ import annotations

import io
import os
import shutil
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from ruamel.yaml import YAML

from handover.caching import FETCH_CACHE, atomic_write, sha256_of
from handover.errors import StoreError
from handover.files import FactsOf, FileFacts, file_facts
from handover.problems import Problem, ProblemsFound
from handover.validation import ClientCase

if TYPE_CHECKING:
    from handover.building import Portal

#: Where the build keeps verified copies of pinned documents, per hash.


class DocumentStore(Protocol):
    """Where the bytes of client documents live, addressed by their SHA-256."""

    #: Where the store is, for messages and the certificate (a folder, a bucket URL).
    location: str

    def put(self, source: Path) -> FileFacts:
        """Store ``source``'s bytes; the facts name them from now on."""
        ...

    def fetch(self, sha256: str, target: Path) -> None:
        """Write the bytes with this hash to ``target`` (the caller verifies them)."""
        ...

    def remove(self, sha256: str) -> bool:
        """Delete the bytes with this hash; False when the store did not hold them."""
        ...

    def contains(self, sha256: str) -> bool: ...

    def hashes(self) -> list[str]:
        """Every hash the store holds: what purge lists afterwards to prove a removal.
        Raises ``StoreError`` when the store cannot be reached (never an empty list)."""
        ...


class LocalFolderStore:
    """A folder (local disk or a mounted network share): ``<root>/<ab>/<sha256>``."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.location = str(root)

    def _path(self, sha256: str) -> Path:
        return self.root / sha256[:2] / sha256

    def put(self, source: Path) -> FileFacts:
        facts = file_facts(source)
        target = self._path(facts.sha256)
        if not target.is_file():
            target.parent.mkdir(parents=True, exist_ok=True)
            _copy_atomically(source, target)
        return facts

    def fetch(self, sha256: str, target: Path) -> None:
        source = self._path(sha256)
        if not source.is_file():
            raise StoreError(f"{sha256} is not in the document store {self.location}")
        _copy_atomically(source, target)

    def remove(self, sha256: str) -> bool:
        path = self._path(sha256)
        if not path.is_file():
            return False
        path.unlink()
        return True

    def contains(self, sha256: str) -> bool:
        return self._path(sha256).is_file()

    def hashes(self) -> list[str]:
        if not self.root.is_dir():
            raise StoreError(f"the document store {self.location} is not reachable")
        return sorted(p.name for p in self.root.glob("??/*") if p.is_file())


def open_store(project_dir: Path, setting: str | None) -> DocumentStore | None:
    """The store ``document_store`` in mkdocs.yml names (a folder, relative to the portal),
    or None when the portal keeps its documents in the case folders only."""
    if not setting:
        return None
    return LocalFolderStore((project_dir / setting).resolve())


def fetch_documents(
    cases: Iterable[ClientCase],
    store: DocumentStore | None,
    project_dir: Path,
    facts_of: FactsOf = file_facts,
) -> list[ClientCase]:
    """Each case with its pinned documents that are not in the case folder fetched from the
    store into the private cache, and every pinned file checked against its pin (through
    ``facts_of``, the build's facts cache); every problem at once."""
    cache = project_dir / FETCH_CACHE
    found: list[ClientCase] = []
    problems: list[Problem] = []
    for case in cases:
        fetched: list[tuple[str, Path]] = []
        for index, document in enumerate(case.case.documents):
            if not document.file or not document.sha256 or case.deletion_of(document):
                continue
            field = f"documents[{index}].sha256"
            local = case.folder / document.file
            if local.exists():
                actual = facts_of(local).sha256 if local.is_file() else None
                if actual is not None and actual != document.sha256:
                    problems.append(
                        Problem(
                            case.source,
                            None,
                            field,
                            f"{document.file} has SHA-256 {actual}, not the pinned hash: the "
                            "file was changed or replaced (pin the new one with add-document)",
                        )
                    )
                continue
            try:
                path = _fetch_verified(store, document.sha256, cache, facts_of)
                fetched.append((document.file, path))
            except StoreError as error:
                problems.append(Problem(case.source, None, field, str(error)))
        found.append(case if not fetched else _with_fetched(case, fetched))
    if problems:
        raise ProblemsFound(problems)
    return found


def _with_fetched(case: ClientCase, fetched: list[tuple[str, Path]]) -> ClientCase:
    import dataclasses

    return dataclasses.replace(case, fetched=tuple(fetched))


def _fetch_verified(
    store: DocumentStore | None, sha256: str, cache: Path, facts_of: FactsOf
) -> Path:
    """The cached copy if it is whole, else a fresh one from the store; never a file whose
    bytes do not hash to the pin."""
    target = cache / sha256
    if target.is_file() and facts_of(target).sha256 == sha256:
        return target
    if store is None:
        raise StoreError(
            "the file is not in the case folder and mkdocs.yml names no document_store"
        )
    cache.mkdir(parents=True, exist_ok=True)
    store.fetch(sha256, target)
    actual = sha256_of(target)
    if actual != sha256:
        target.unlink(missing_ok=True)
        raise StoreError(
            f"the document store {store.location} gave bytes with SHA-256 {actual}, not the "
            "pinned hash: the stored copy is damaged or was replaced"
        )
    return target


def _copy_atomically(source: Path, target: Path) -> None:
    handle, temporary = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent)
    os.close(handle)
    try:
        shutil.copyfile(source, temporary)
        os.replace(temporary, target)
    finally:
        Path(temporary).unlink(missing_ok=True)


def add_document(
    case_file: Path, source: Path, store: DocumentStore | None, *, title: str | None = None
) -> tuple[FileFacts, str]:
    """Store ``source`` and add its entry, with its pinned hash, to ``case_file``.

    Without a document store the file is copied into the case's ``documents/`` folder
    (the default local store). ``case.yaml`` is changed through a round-trip parser, so
    its comments and layout stay as staff wrote them. Returns the facts and the entry's
    ``file`` value."""
    folder = case_file.parent
    name = f"documents/{source.name}"
    yaml = YAML()
    yaml.preserve_quotes = True
    data = yaml.load(case_file.read_text(encoding="utf-8"))
    documents = data.get("documents")
    if documents is None:
        documents = data["documents"] = []
    if any(isinstance(d, dict) and d.get("file") == name for d in documents):
        raise StoreError(f"{case_file}: a document with file {name} is listed already")
    if store is None:
        target = folder / name
        if target.exists():
            raise StoreError(f"{target} already exists; remove it or rename the new file")
        target.parent.mkdir(parents=True, exist_ok=True)
        _copy_atomically(source, target)
        facts = file_facts(target)
    else:
        facts = store.put(source)
    documents.append({"title": title or source.stem, "file": name, "sha256": facts.sha256})
    text = io.StringIO()
    yaml.dump(data, text)
    atomic_write(case_file, text.getvalue().encode("utf-8"), private=False)
    return facts, name


def add_to_case(portal: Portal, client_id: str, source: Path, title: str | None) -> str:
    """``handover add-document``: store the file for the client and pin it in their case;
    the message to show."""
    plugin, config = portal.plugin, portal.config
    project = plugin.project_dir(config)
    case_files = [d / client_id / "case.yaml" for d in plugin.case_dirs(config)]
    case_file = next((path for path in case_files if path.is_file()), None)
    if case_file is None:
        raise StoreError(f"no case '{client_id}' (looked for {case_files[0]})")
    store = open_store(project, plugin.config.document_store)
    facts, name = add_document(case_file, source, store, title=title)
    where = store.location if store else str(case_file.parent / name)
    return (
        f"Stored {source.name} ({facts.size} bytes, SHA-256 {facts.sha256}) in {where} and "
        f"added it to {case_file} as {name}."
    )

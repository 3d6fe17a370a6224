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

import contextlib
import io
import os
import shutil
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from ruamel.yaml import YAML

from handover import atrest
from handover.caching import (
    FETCH_CACHE,
    FETCH_INDEX,
    atomic_write,
    private_dir,
    read_json,
    sha256_of,
    write_json,
)
from handover.errors import StoreError
from handover.files import FactsCache, FactsOf, FileFacts, file_facts
from handover.problems import Problem, ProblemsFound, display_path
from handover.validation import ClientCase

if TYPE_CHECKING:
    from handover.building import Portal


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


class FetchedDocuments:
    """Verified copies of stored documents in the private cache, by SHA-256, fetched once.

    A copy is fetched from the store and checked against its pin once; between builds it
    is kept only encrypted (``atrest``, locked when a build ends) and its size goes into
    the index (``FETCH_INDEX``). A later build takes a document's facts from the pin and
    the index and leaves its copy encrypted: the page, the manifest and the cached ZIP and
    encrypted site file need no byte of it. Only when something must be made from the
    bytes (a ZIP or an encrypted site file that is not cached) does ``readable`` decrypt
    the copy, check its hash again, and fetch it afresh if it is damaged.

    Without ``key`` (no at-rest encryption, e.g. a script) every copy is fetched as
    plaintext, checked, and left for the caller.
    """

    def __init__(
        self, project_dir: Path, store: DocumentStore | None, key: bytes | None = None
    ) -> None:
        self.folder = project_dir / FETCH_CACHE
        self.index = project_dir / FETCH_INDEX
        self.store = store
        self.key = key
        self._sizes: dict[str, int] | None = None
        self._locked_names: set[str] | None = None
        #: Plaintext path -> facts, for every copy this build uses (made or not).
        self.known: dict[Path, FileFacts] = {}
        #: Copies whose plaintext this process wrote and checked.
        self.made: set[Path] = set()
        #: Where a hash is pinned (``file: field``), for an error found only mid-build.
        self.pinned_in: dict[str, tuple[Path, str]] = {}
        self._changed = False

    @property
    def sizes(self) -> dict[str, int]:
        """The index, read when first needed; a damaged one reads as empty (every copy is
        then fetched and checked again)."""
        if self._sizes is None:
            data = read_json(self.index)
            self._sizes = (
                {k: v for k, v in data.items() if isinstance(v, int) and len(k) == 64}
                if isinstance(data, dict)
                else {}
            )
        return self._sizes

    def _locked(self) -> set[str]:
        """The hashes whose encrypted copy is in the cache: one listing, not a look per
        document (a portal holds tens of thousands)."""
        if self._locked_names is None:
            self._locked_names = set()
            if self.folder.is_dir():
                with os.scandir(self.folder) as entries:
                    self._locked_names = {
                        entry.name.removesuffix(atrest.SUFFIX)
                        for entry in entries
                        if entry.name.endswith(atrest.SUFFIX)
                    }
        return self._locked_names

    def facts(self, file: Path) -> FileFacts | None:
        """A copy's facts without reading it, or None for any other file."""
        return self.known.get(file)

    def get(self, sha256: str) -> Path:
        """Where the copy of this document is: checked before (its facts from the index, its
        bytes still encrypted) or fetched and checked now. Raises ``StoreError``."""
        path = self.folder / sha256
        if path in self.made:
            return path
        size = self.sizes.get(sha256)
        if self.key is not None and size is not None and sha256 in self._locked():
            self.known[path] = FileFacts(size, sha256)
            return path
        self._fetch(sha256, path)
        return path

    def readable(self, file: Path) -> None:
        """Make the plaintext of a copy ``get`` returned, checked against its pin; other
        files are left alone. A plaintext this process did not write is never trusted."""
        facts = self.known.get(file)
        if facts is None or file in self.made:
            return
        if self.key is not None:
            with _scratch(self.folder, file.name) as scratch:
                unlocked = atrest.unlock_file(file, self.key, self.folder, into=scratch)
                if unlocked and sha256_of(scratch) == facts.sha256:
                    os.replace(scratch, file)
                    self.made.add(file)
                    return
        try:
            self._fetch(facts.sha256, file)  # the cached copy was damaged: fetch it again
        except StoreError as error:
            source, field = self.pinned_in.get(facts.sha256, (None, ""))
            where = f"{display_path(source)}: {field}: " if source else ""
            raise StoreError(f"{where}{error.message}") from None

    def _fetch(self, sha256: str, target: Path) -> None:
        """A fresh copy from the store, checked; never a file whose bytes miss the pin."""
        if self.store is None:
            raise StoreError(
                "the file is not in the case folder and mkdocs.yml names no document_store"
            )
        with _scratch(self.folder, sha256) as partial:
            self.store.fetch(sha256, partial)
            facts = file_facts(partial)
            if facts.sha256 != sha256:
                raise StoreError(
                    f"the document store {self.store.location} gave bytes with SHA-256 "
                    f"{facts.sha256}, not the pinned hash: the stored copy is damaged or was "
                    "replaced"
                )
            os.replace(partial, target)
        self.known[target] = facts
        self.made.add(target)
        if self.sizes.get(sha256) != facts.size:
            self.sizes[sha256] = facts.size
            self._changed = True

    def save(self) -> None:
        """Keep the sizes of the copies checked so far (only the index; the copies are
        locked by the build). Entries whose copy is gone are dropped."""
        if not self._changed:
            return
        used = {path.name for path in self.known}
        self._sizes = {
            sha256: size
            for sha256, size in self.sizes.items()
            if sha256 in used or (self.folder / f"{sha256}{atrest.SUFFIX}").is_file()
        }
        write_json(self.index, self.sizes)
        self._changed = False


@contextlib.contextmanager
def _scratch(folder: Path, name: str) -> Iterator[Path]:
    """A private temporary file in ``folder`` (the lock leaves ``.partial`` files alone),
    gone afterwards unless it was renamed into place."""
    private_dir(folder)
    handle, path = tempfile.mkstemp(prefix=f".{name}.", suffix=".partial", dir=folder)
    os.close(handle)
    try:
        yield Path(path)
    finally:
        Path(path).unlink(missing_ok=True)


class StoredFacts(FactsCache):
    """The build's file facts, which also know the copies of stored documents: their facts
    come from ``FetchedDocuments`` (pin and index), so an encrypted copy is never read for
    them and the facts cache keeps no entry for a copy that only lives during a build."""

    def __init__(self, path: Path, copies: FetchedDocuments) -> None:
        super().__init__(path)
        self.copies = copies

    def facts(self, file: Path) -> FileFacts:
        known = self.copies.facts(file)
        return known if known is not None else super().facts(file)


def fetch_documents(
    cases: Iterable[ClientCase], copies: FetchedDocuments, facts_of: FactsOf = file_facts
) -> list[ClientCase]:
    """Each case with its pinned documents that are not in the case folder taken from the
    fetch cache (fetched from the store and checked the first time), and every pinned file
    in a case folder checked against its pin (through ``facts_of``, the build's facts
    cache); every problem at once. The index of checked copies is saved on the way."""
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
            copies.pinned_in.setdefault(document.sha256, (case.source, field))
            try:
                fetched.append((document.file, copies.get(document.sha256)))
            except StoreError as error:
                problems.append(Problem(case.source, None, field, str(error)))
        found.append(case if not fetched else _with_fetched(case, fetched))
    copies.save()
    if problems:
        raise ProblemsFound(problems)
    return found


def _with_fetched(case: ClientCase, fetched: list[tuple[str, Path]]) -> ClientCase:
    import dataclasses

    return dataclasses.replace(case, fetched=tuple(fetched))


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

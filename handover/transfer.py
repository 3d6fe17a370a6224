"""The one way handover talks to remote storage: list, put, get, delete, through obstore.

obstore (the Python binding of the Rust ``object_store`` crate) speaks S3 and everything
S3-compatible (R2, B2, MinIO, SeaweedFS, Garage), Google Cloud Storage, Azure Blob and a
local folder with the same four calls, so the publishing step and the document store
share this module instead of each hand-writing HTTP. Keys are always relative to the
target's prefix and use ``/``; credentials come from the standard environment variables
of each service (``AWS_ACCESS_KEY_ID``, ``AWS_SECRET_ACCESS_KEY``, ``AWS_ENDPOINT_URL``,
``AWS_REGION``, ``GOOGLE_SERVICE_ACCOUNT``, ``AZURE_STORAGE_ACCOUNT_KEY`` …), never from a
file in the repository.
"""

from __future__ import annotations

import datetime as dt
import os
import tempfile
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import obstore
from obstore.exceptions import BaseError as ObstoreError
from obstore.exceptions import NotFoundError
from obstore.store import LocalStore, ObjectStore, from_url

from handover.errors import TransferError

#: URL schemes a target may use, and what each one is.
SCHEMES = {
    "s3": "Amazon S3 or an S3-compatible store (R2, B2, MinIO, SeaweedFS, …)",
    "gs": "Google Cloud Storage",
    "az": "Azure Blob Storage",
    "file": "a local folder",
}

#: Retry a failing request a few times, but report an unreachable store within a minute.
RETRY: dict[str, Any] = {"max_retries": 5, "retry_timeout": dt.timedelta(seconds=60)}

#: How many keys one delete call sends (S3's DeleteObjects takes at most 1000).
DELETE_BATCH = 1000


@dataclass(frozen=True)
class RemoteObject:
    """One object as the store lists it: no content is read to learn this."""

    key: str
    size: int
    etag: str | None


class Remote:
    """A folder of objects at ``url`` (``s3://bucket/prefix``, ``file:///path``, ...).

    ``options`` are obstore settings for the store (``endpoint``, ``region``, ...); values
    given here override the environment."""

    def __init__(self, url: str, options: Mapping[str, str] | None = None) -> None:
        self.url = url
        self.store = _open(url, dict(options or {}))

    def __repr__(self) -> str:
        return f"Remote({self.display!r})"

    @property
    def display(self) -> str:
        """The URL without anything secret (user info, query), for messages and records."""
        return public_url(self.url)

    def list(self, prefix: str = "") -> list[RemoteObject]:
        """Every object under ``prefix``, with its size and ETag."""
        found = []
        try:
            for chunk in obstore.list(self.store, prefix=prefix or None, chunk_size=1000):
                found += [RemoteObject(m["path"], m["size"], m["e_tag"]) for m in chunk]
        except NotFoundError:
            return []
        except ObstoreError as error:
            raise self._error("list", prefix or "/", error) from None
        return sorted(found, key=lambda o: o.key)

    def put(
        self,
        key: str,
        source: Path | bytes,
        *,
        content_type: str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> str | None:
        """Store ``source`` at ``key`` in one step (an object appears whole or not at all);
        return its new ETag. ``headers`` other than Cache-Control, Content-Disposition,
        Content-Encoding and Content-Language become user metadata (``x-amz-meta-*``)."""
        attributes: dict[str, str] = dict(headers or {})
        if content_type:
            attributes["Content-Type"] = content_type
        try:
            result = obstore.put(
                self.store, key, source, attributes=attributes if self._keeps_attributes else None
            )
        except (ObstoreError, OSError) as error:
            raise self._error("upload", key, error) from None
        return result["e_tag"]

    def get(self, key: str, target: Path) -> None:
        """Download ``key`` into ``target``; the file appears only once it is complete."""
        target.parent.mkdir(parents=True, exist_ok=True)
        handle, partial = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent)
        try:
            with os.fdopen(handle, "wb") as stream:
                for chunk in obstore.get(self.store, key):
                    stream.write(chunk)
            os.replace(partial, target)
        except ObstoreError as error:
            raise self._error("download", key, error) from None
        finally:
            Path(partial).unlink(missing_ok=True)

    def attributes(self, key: str) -> dict[str, str]:
        """The content type, cache rule and user metadata stored with ``key``."""
        try:
            return dict(obstore.get(self.store, key).attributes)
        except ObstoreError as error:
            raise self._error("read", key, error) from None

    def delete(self, keys: Iterable[str]) -> None:
        """Remove ``keys``; a key that is already gone is not an error (re-runs converge)."""
        # A folder deletes one file at a time (a missing one would stop a whole batch).
        size = 1 if isinstance(self.store, LocalStore) else DELETE_BATCH
        for batch in _batches(list(keys), size):
            try:
                obstore.delete(self.store, batch)
            except (NotFoundError, FileNotFoundError):
                continue
            except (ObstoreError, OSError) as error:
                raise self._error("delete", batch[0], error) from None

    @property
    def _keeps_attributes(self) -> bool:
        """A local folder has no place for content types or headers: the web server in
        front of it sets them (from ``_headers`` or its own rules)."""
        return not isinstance(self.store, LocalStore)

    def _error(self, action: str, key: str, error: Exception) -> TransferError:
        reason = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        return TransferError(f"{self.display}: could not {action} {key}: {reason}")


def public_url(url: str) -> str:
    """``url`` without user info, query or fragment: what may be printed and recorded."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if parts.port:
        host += f":{parts.port}"
    return f"{parts.scheme}://{host}{parts.path}"


def _open(url: str, options: dict[str, str]) -> ObjectStore:
    scheme = urlsplit(url).scheme
    if scheme not in SCHEMES:
        known = ", ".join(f"{s}:// ({what})" for s, what in SCHEMES.items())
        raise TransferError(f"{public_url(url)}: unknown kind of target; use one of {known}")
    try:
        if scheme == "file":
            path = Path(urlsplit(url).path)
            path.mkdir(parents=True, exist_ok=True)
            return LocalStore(path, automatic_cleanup=True)  # no empty folders left
        client: dict[str, Any] = {}
        endpoint = options.get("endpoint") or os.environ.get("AWS_ENDPOINT_URL", "")
        if scheme == "s3" and endpoint.startswith("http://"):
            client["allow_http"] = True  # a store on the firm's own network, chosen explicitly
        make: Any = from_url  # its overloads are per scheme; ``options`` are checked by obstore
        store: ObjectStore = make(url, client_options=client or None, retry_config=RETRY, **options)
        return store
    except (ObstoreError, ValueError, OSError) as error:
        raise TransferError(f"{public_url(url)}: {error}") from None


def _batches(items: list[str], size: int) -> Iterator[list[str]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]

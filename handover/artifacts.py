"""Stage 3b: what the build makes for each client besides their own files.

* ``manifest.json`` / ``manifest.csv``: every file handed over, with size and SHA-256;
  the SHA-256 of ``manifest.json`` is the handover's fingerprint.
* a ZIP of all available files plus both manifests (the portable copy GDPR Art. 20 asks for);
* an ``.ics`` calendar of the dates that matter, each with a reminder.

All three are deterministic: the same case on the same day gives the same bytes, and
the ZIP is reused from the cache while the manifest (hence its content) is unchanged.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import json
import os
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from handover.caching import atomic_write, checksum_file, checksum_holds, record_checksum
from handover.files import FactsOf, FileFacts, file_facts, write_if_changed
from handover.rendering import Artifacts, Download, PageView

#: A fixed timestamp for ZIP entries, so the archive depends on content only.
ZIP_TIME = (2000, 1, 1, 0, 0, 0)
#: Formats that are compressed already; storing them saves time and loses nothing.
STORED_SUFFIXES = {".zip", ".pdf", ".jpg", ".jpeg", ".png", ".gz", ".xlsx", ".docx", ".mp4"}
REMINDER = dt.timedelta(days=-1, hours=-15)  # 09:00 two days before an all-day event
MANIFEST_FIELDS = ["title", "category", "file", "size", "sha256", "available_until"]


#: Called with a file's path before its bytes are read (see ``store.FetchedDocuments``).
Readable = Callable[[Path], None]
#: The facts of a cached artefact kept only encrypted (``atrest.facts``), or None.
KeptFacts = Callable[[Path], FileFacts | None]


def _as_is(path: Path) -> None:
    """Most files are readable as they are."""


def build_artifacts(
    view: PageView,
    events: list[dict[str, Any]],
    folder: Path,
    facts_of: FactsOf = file_facts,
    readable: Readable = _as_is,
    kept_facts: KeptFacts = lambda path: None,
) -> Artifacts:
    """Write the manifests, ZIP and calendar for ``view`` into ``folder`` (a cache).
    ``readable`` gets each document's path before the ZIP reads it (only when the ZIP must
    be written: a cached one needs no document's bytes). An artefact kept encrypted at rest
    and still right is not decrypted: ``kept_facts`` gives its size and SHA-256, and whoever
    needs its bytes later makes them readable first."""
    folder.mkdir(parents=True, exist_ok=True)
    prefix = view.case.id
    entries = manifest_entries(view)
    manifest_json = _json_bytes(entries)
    fingerprint = hashlib.sha256(manifest_json).hexdigest()
    written = {"manifest.json": manifest_json, "manifest.csv": _csv_bytes(entries)}
    found: dict[Path, FileFacts] = {}
    for name, data in written.items():
        path = folder / f"{prefix}-{name}"
        found[path] = _manifest_file(path, data, kept_facts)
    calendar = _calendar_file(view, events, folder / f"{prefix}-calendar", facts_of, kept_facts)
    found[calendar[0]] = calendar[1]
    archive = None
    if entries:
        path = folder / f"{prefix}-{fingerprint[:16]}.zip"
        archive = path, _archive(view, path, written, facts_of, readable, kept_facts)
        found[path] = archive[1]
    kept = [archive[0], checksum_file(archive[0])] if archive else []
    kept.append(checksum_file(calendar[0]))
    _remove_stale(folder, {*found, *kept})
    paths = {name: folder / f"{prefix}-{name}" for name in written} | {"calendar.ics": calendar[0]}

    def offer(path: Path, name: str) -> Download:
        return Download(f"files/{name}", name, path, found[path])

    return Artifacts(
        archive=offer(archive[0], f"{prefix}-documents.zip") if archive else None,
        manifest_json=offer(paths["manifest.json"], f"{prefix}-manifest.json"),
        manifest_csv=offer(paths["manifest.csv"], f"{prefix}-manifest.csv"),
        calendar=offer(paths["calendar.ics"], f"{prefix}-calendar.ics"),
        fingerprint=fingerprint,
    )


def manifest_entries(view: PageView) -> list[dict[str, Any]]:
    return [
        {
            "title": item.document.title,
            "category": item.document.category or "",
            "file": item.document.file,
            "size": item.download.facts.size,
            "sha256": item.download.facts.sha256,
            "available_until": item.available_until.isoformat(),
        }
        for item in view.documents
        if item.download
    ]


def calendar_bytes(view: PageView, events: list[dict[str, Any]]) -> bytes:
    """RFC 5545: all-day events, each with a display alarm; stable UIDs and stamps."""
    import icalendar  # only when a calendar is written: most rebuilds reuse it

    calendar = icalendar.Calendar()
    calendar.add("prodid", "-//handover//handover page//EN")
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("method", "PUBLISH")
    calendar.add("x-wr-calname", view.firm["name"])
    stamp = dt.datetime.combine(view.prepared, dt.time(0, 0), tzinfo=dt.UTC)
    for item in events:
        day = dt.date.fromisoformat(item["date"])
        event = icalendar.Event()
        # Keyed by what the event is, never by its position: when another event drops out
        # or is added, this one keeps its UID and a re-import updates instead of duplicating.
        key = item.get("key") or item["summary"]
        uid = hashlib.sha256(f"{view.case.id}/{key}".encode()).hexdigest()[:32]
        event.add("uid", f"{uid}@handover")
        event.add("dtstamp", stamp)
        event.add("dtstart", day)
        event.add("dtend", day + dt.timedelta(days=1))
        event.add("summary", item["summary"])
        if item.get("description"):
            event.add("description", item["description"])
        event.add("transp", "TRANSPARENT")
        alarm = icalendar.Alarm()
        alarm.add("action", "DISPLAY")
        alarm.add("description", item["summary"])
        alarm.add("trigger", REMINDER)
        event.add_component(alarm)
        calendar.add_component(event)
    return bytes(calendar.to_ical())


def _calendar_file(
    view: PageView,
    events: list[dict[str, Any]],
    stem: Path,
    facts_of: FactsOf,
    kept_facts: KeptFacts,
) -> tuple[Path, FileFacts]:
    """The calendar, written once per distinct set of events (writing .ics is slow in
    icalendar). It keeps the DTSTAMP of the day it was written: that is when this version
    of the calendar was created, whichever later day republishes it unchanged."""
    inputs = [events, view.firm["name"], view.case.id]
    key = hashlib.sha256(json.dumps(inputs, sort_keys=True).encode()).hexdigest()[:16]
    path = stem.with_name(f"{stem.name}-{key}.ics")
    cached = _cached(path, facts_of, kept_facts)
    if cached is not None:
        return path, cached
    data = calendar_bytes(view, events)
    atomic_write(path, data)
    sha256 = hashlib.sha256(data).hexdigest()
    record_checksum(path, sha256)
    return path, FileFacts(len(data), sha256)


def _cached(path: Path, facts_of: FactsOf, kept_facts: KeptFacts) -> FileFacts | None:
    """A cached artefact that may be offered again, with its facts: a plain copy whose bytes
    are those recorded when it was written, else a copy kept encrypted at rest (its facts
    checked by their MAC; its bytes when it is decrypted). None: make it again."""
    if path.is_file():
        facts = facts_of(path)
        return facts if checksum_holds(path, facts.sha256) else None
    return kept_facts(path)


def _manifest_file(path: Path, data: bytes, kept_facts: KeptFacts) -> FileFacts:
    """A manifest (made in memory every build): written only when its bytes changed."""
    facts = FileFacts(len(data), hashlib.sha256(data).hexdigest())
    if path.is_file() or kept_facts(path) != facts:
        write_if_changed(path, data)
    return facts


def _archive(
    view: PageView,
    path: Path,
    manifests: dict[str, bytes],
    facts_of: FactsOf,
    readable: Readable = _as_is,
    kept_facts: KeptFacts = lambda path: None,
) -> FileFacts:
    """The ZIP, written once per distinct content: its name carries the fingerprint, and a
    cached one is reused only while its bytes match the checksum recorded when it was
    written (a damaged ZIP is written again, never published)."""
    cached = _cached(path, facts_of, kept_facts)
    if cached is not None:
        return cached
    temporary = path.with_suffix(".partial")
    with zipfile.ZipFile(temporary, "w") as archive:
        for item in view.documents:
            if item.download and item.document.file:
                info = zipfile.ZipInfo(Path(item.document.file).as_posix(), ZIP_TIME)
                stored = item.download.source.suffix.lower() in STORED_SUFFIXES
                info.compress_type = zipfile.ZIP_STORED if stored else zipfile.ZIP_DEFLATED
                info.external_attr = 0o644 << 16
                readable(item.download.source)
                with item.download.source.open("rb") as source:
                    # The size up front lets zipfile write a ZIP64 entry for a file near or
                    # over 4 GiB (smaller ones stay plain ZIP, byte for byte as before).
                    info.file_size = os.fstat(source.fileno()).st_size
                    with archive.open(info, "w") as target:
                        while chunk := source.read(1 << 20):
                            target.write(chunk)
        for name in ("manifest.json", "manifest.csv"):
            info = zipfile.ZipInfo(name, ZIP_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            archive.writestr(info, manifests[name])
    temporary.replace(path)
    facts = file_facts(path)
    record_checksum(path, facts.sha256)
    return facts


def _json_bytes(entries: list[dict[str, Any]]) -> bytes:
    return (json.dumps({"files": entries}, ensure_ascii=False, indent=2) + "\n").encode()


#: A cell starting with one of these is a formula to Excel and LibreOffice (OWASP's list).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def _spreadsheet_safe(value: Any) -> Any:
    """Titles come from case text: a spreadsheet must show them, never evaluate them, so a
    text cell that would start a formula gets a leading apostrophe (shown as text)."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def _csv_bytes(entries: list[dict[str, Any]]) -> bytes:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=MANIFEST_FIELDS, lineterminator="\r\n")
    writer.writeheader()
    writer.writerows(
        {key: _spreadsheet_safe(value) for key, value in entry.items()} for entry in entries
    )
    return buffer.getvalue().encode("utf-8-sig")  # the BOM makes Excel read UTF-8


def _remove_stale(folder: Path, keep: set[Path]) -> None:
    for path in folder.iterdir():
        if path not in keep and path.with_name(path.name.removesuffix(".at-rest")) not in keep:
            path.unlink(missing_ok=True)  # (an .at-rest file is a kept one, encrypted)

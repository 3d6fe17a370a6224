"""``handover serve``: the real, sealed site on this machine, rebuilt as staff edit.

It watches the cases, templates and ``mkdocs.yml`` (reading it again when it changes),
rebuilds through the same incremental ``building.build`` as ``handover build`` (so one
edited case costs one page, not a whole MkDocs build), and serves the result on loopback.
Whatever goes wrong in a rebuild is reported in one line and the last good site stays up.
Open pages reload themselves after each build: the server adds a small script to HTML
responses, so nothing of it is ever written into the site.
"""

from __future__ import annotations

import functools
import hashlib
import http.server
import threading
from collections.abc import Callable
from pathlib import Path

import click
from watchdog.events import (
    DirCreatedEvent,
    DirDeletedEvent,
    DirMovedEvent,
    FileClosedEvent,
    FileCreatedEvent,
    FileDeletedEvent,
    FileModifiedEvent,
    FileMovedEvent,
    FileSystemEvent,
    FileSystemEventHandler,
)
from watchdog.observers import Observer

from handover.building import Portal, build
from handover.caching import PREVIEW_SITE
from handover.cases import case_folders
from handover.incremental import folder_fingerprint

__all__ = ["PREVIEW_SITE", "LivePreview", "start_server"]
VERSION_PATH = "/__handover/build"
#: A file, not an inline script: every page's Content-Security-Policy allows only scripts
#: from the site itself and the theme's own inline ones (by hash).
RELOAD_PATH = "/__handover/reload.js"
RELOAD_SCRIPT = f'<script src="{RELOAD_PATH}"></script>'
RELOAD_JS = (
    "(function(){var seen=null;setInterval(function(){"
    f"fetch('{VERSION_PATH}',{{cache:'no-store'}}).then(function(r){{return r.text()}})"
    ".then(function(v){if(seen!==null&&v!==seen)location.reload();seen=v})"
    ".catch(function(){})},1000)})();"
)


class LivePreview:
    """Builds on change; ``version`` counts successful builds, which open pages poll."""

    def __init__(self, open_portal: Callable[[], Portal], report: Callable[[str], None] = print):
        """``open_portal`` reads ``mkdocs.yml``: once now, and again whenever it changes."""
        self.open_portal = open_portal
        self.portal = open_portal()
        self.report = report
        self.version = 0
        self.stop = threading.Event()
        self._watched = ""
        self._config_stamp = self._stamp_of_config()

    def _stamp_of_config(self) -> str:
        stat = self.portal.settings.config_file.stat()
        return f"{stat.st_size}/{stat.st_mtime_ns}/{stat.st_ctime_ns}"

    def watched_fingerprint(self) -> str:
        """Everything a page depends on, summed up from names, sizes and times."""
        settings = self.portal.settings
        folders = [f for d in settings.cases_dirs for f in case_folders(d)]
        parts = [folder_fingerprint(f) for f in [*folders, settings.templates_dir]]
        parts.append(self._stamp_of_config())
        return hashlib.sha256("\n".join(parts).encode()).hexdigest()

    def rebuild_if_changed(self) -> bool:
        """One look at the files; builds when they changed. Nothing is raised: every problem,
        even a bug, is reported in one line and the last good site stays up while staff fix
        the case, the template or ``mkdocs.yml``."""
        try:
            current = self.watched_fingerprint()
            if current == self._watched:
                return False
            self._watched = current
            if self._stamp_of_config() != self._config_stamp:
                self._config_stamp = self._stamp_of_config()
                self.portal = self.open_portal()
                self.report("mkdocs.yml changed: read it again.")
            result = build(self.portal, on_wait=self.report)
        except click.ClickException as error:
            self.report(error.format_message())
            return False
        except Exception as error:  # a bug: say so, and keep serving the last good site
            self.report(f"internal error (a bug in handover, please report it): {error!r}")
            return False
        self.version += 1
        self.report(f"Built {len(result.built)} page(s), kept {result.kept}.")
        return True

    def watched_paths(self) -> list[tuple[Path, bool]]:
        """Each folder to watch, and whether below it too (the config's folder: not)."""
        settings = self.portal.settings
        folders = [*settings.cases_dirs, settings.templates_dir]
        return [*((f, True) for f in folders), (settings.config_file.parent, False)]

    def watch(self, settle: float = 0.2) -> None:
        """Rebuild when the file system reports a change (watchdog, as ``mkdocs serve``
        uses): nothing is polled while staff are not editing. ``settle`` lets an editor
        finish writing before the build starts."""
        changed = threading.Event()
        handler = _Changes(changed, ignore=(str(self.portal.site_dir), ".handover"))
        observer = Observer()
        for path, below in self.watched_paths():
            observer.schedule(
                handler, str(path.resolve()), recursive=below, event_filter=WRITE_EVENTS
            )
        observer.start()
        changed.set()  # whatever changed before the observer started is looked at once
        try:
            while not self.stop.is_set():
                if changed.wait(0.5) and not self.stop.wait(settle):
                    changed.clear()
                    self.rebuild_if_changed()
        finally:
            observer.stop()
            observer.join()


#: Writes only. Reads are not changes, and the build itself reads every watched file: asked
#: for reads too, the kernel's queue overflows on a thousand cases (watchdog asks only for
#: the events listed).
WRITE_EVENTS: list[type[FileSystemEvent]] = [
    FileCreatedEvent,
    FileModifiedEvent,
    FileClosedEvent,
    FileMovedEvent,
    FileDeletedEvent,
    DirCreatedEvent,
    DirMovedEvent,
    DirDeletedEvent,
]


class _Changes(FileSystemEventHandler):
    """Sets ``changed`` on a write, except inside our own output and caches."""

    def __init__(self, changed: threading.Event, ignore: tuple[str, ...]) -> None:
        self.changed = changed
        self.ignore = ignore

    def on_any_event(self, event: FileSystemEvent) -> None:
        path = str(event.src_path)
        if not any(part in path for part in self.ignore):
            self.changed.set()


class _Handler(http.server.SimpleHTTPRequestHandler):
    """Serves the site folder; HTML gets the reload script, the version path the build count."""

    preview: LivePreview

    def do_GET(self) -> None:
        if self.path == VERSION_PATH:
            self._send(str(self.preview.version).encode(), "text/plain")
            return
        if self.path == RELOAD_PATH:
            self._send(RELOAD_JS.encode(), "text/javascript")
            return
        path = Path(self.translate_path(self.path))
        if path.is_dir() and not self.path.split("?")[0].endswith("/"):
            super().do_GET()  # the redirect to "…/", so relative links resolve
            return
        page = path / "index.html" if path.is_dir() else path
        if page.suffix == ".html" and page.is_file():
            html = page.read_bytes().replace(b"</body>", RELOAD_SCRIPT.encode() + b"</body>", 1)
            self._send(html, "text/html; charset=utf-8")
            return
        super().do_GET()

    def _send(self, body: bytes, content_type: str) -> None:
        self.send_response(200)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


def start_server(preview: LivePreview, host: str, port: int) -> http.server.ThreadingHTTPServer:
    """Serve ``preview``'s site on a background thread; the caller shuts it down."""
    handler = functools.partial(
        type("Handler", (_Handler,), {"preview": preview}),
        directory=str(preview.portal.site_dir),
    )
    server = http.server.ThreadingHTTPServer((host, port), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server

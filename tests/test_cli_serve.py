"""``handover serve``: the sealed site on loopback, rebuilt and reloaded as a case changes."""

from __future__ import annotations

import os
import queue
import re
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests import sealed
from tests.conftest import MINIMAL_CASE, TEST_SECRET, Project

FILES = {"documents/payroll.csv": b"month,total\n2026-11,1000\n"}


def fetch(url: str) -> str:
    with urllib.request.urlopen(url, timeout=10) as response:
        return str(response.read().decode("utf-8"))


class Output:
    """The lines a running command prints, read on a thread so a test never blocks on it."""

    def __init__(self, process: subprocess.Popen[str]) -> None:
        self.lines: queue.Queue[str] = queue.Queue()
        assert process.stdout is not None
        self.stream = process.stdout
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self) -> None:
        for line in self.stream:
            self.lines.put(line)

    def close(self) -> None:
        """After the process ended: the last lines read, the pipe closed."""
        self.reader.join(timeout=10)
        self.stream.close()

    def wait_for(self, pattern: str, timeout: float = 30) -> re.Match[str]:
        deadline = time.monotonic() + timeout
        while (left := deadline - time.monotonic()) > 0:
            try:
                line = self.lines.get(timeout=left)
            except queue.Empty:
                break
            if found := re.search(pattern, line):
                return found
        raise AssertionError(f"no line matching {pattern!r} within {timeout} s")


@pytest.fixture
def serving(project: Project) -> Iterator[tuple[Project, subprocess.Popen[str], str, Output]]:
    project.write_case("minimal", MINIMAL_CASE, FILES)
    process = subprocess.Popen(
        [sys.executable, "-m", "handover", "serve", "-a", "127.0.0.1:0", "--today", "2026-12-01"],
        cwd=project.root,
        env={**os.environ, "HANDOVER_SECRET": TEST_SECRET},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    output = Output(process)
    url = output.wait_for(r"^minimal: (http://127\.0\.0\.1:\d+/\S+/)", timeout=60).group(1)
    output.wait_for("^Watching")
    yield project, process, url, output
    if process.poll() is None:
        process.kill()
    process.wait()
    output.close()


def wait_for_build(base: str, after: str) -> str:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        version = fetch(base + "__handover/build")
        if version != after:
            return version
        time.sleep(0.2)
    raise AssertionError("no rebuild seen")


def test_serve_shows_the_sealed_page_and_rebuilds_on_edit(
    serving: tuple[Project, subprocess.Popen[str], str, Output],
) -> None:
    project, process, url, output = serving
    base = url.rsplit("/", 2)[0] + "/"
    html = fetch(url)
    assert 'id="handover-envelope"' in html, "the preview is the real, sealed page"
    assert '<script src="/__handover/reload.js"></script>' in html, "open pages poll"
    assert "fetch('/__handover/build'" in fetch(base + "__handover/reload.js")
    version = fetch(base + "__handover/build")

    case = project.cases / "minimal" / "case.yaml"
    case.write_text(case.read_text().replace("Monthly payroll", "Quarterly payroll"))
    wait_for_build(base, version)
    site = project.root / ".handover" / "preview"
    assert "Quarterly payroll" in sealed.open_page(site, "minimal")[0]
    assert not (project.root / "site").exists(), "serve never touches the published site"

    process.send_signal(signal.SIGINT)
    assert process.wait(timeout=20) == 0
    output.close()
    assert not any("Traceback" in line for line in list(output.lines.queue))


def test_a_bad_edit_is_reported_and_the_last_good_page_stays(
    serving: tuple[Project, subprocess.Popen[str], str, Output],
) -> None:
    project, _, url, output = serving
    before = fetch(url)
    case = project.cases / "minimal" / "case.yaml"
    case.write_text(case.read_text().replace("status: ended", "status: finished"))
    output.wait_for(r"case\.yaml:7: services\[0\]\.status: must be one of")
    assert fetch(url) == before
    site = Path(project.root / ".handover" / "preview")
    assert "Monthly payroll" in sealed.open_page(site, "minimal")[0]

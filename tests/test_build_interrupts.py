"""A build stopped by any signal at any phase leaves the complete old site or the complete
new one, and no process behind (#10 items 3 and 9).

The build stops itself at a named phase (``HANDOVER_FAULT=<phase>:<SIGNAL>``, see
``handover.processes``): deterministic, no timing.
"""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from handover.caching import StaleFolders
from tests.conftest import MINIMAL_CASE, TEST_SECRET, Project

FILES = {"documents/payroll.csv": b"month,total\n2026-11,1000\n"}
TODAY = "2026-12-01"
LINK_CASE = MINIMAL_CASE + "    access: link\n"


def tree(site: Path) -> dict[str, str]:
    return {
        p.relative_to(site).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(site.rglob("*"))
        if p.is_file()
    }


def run_build(
    project: Project, *extra: str, fault: str | None = None, pipes: bool = True
) -> subprocess.Popen[str]:
    env = {**os.environ, "HANDOVER_SECRET": TEST_SECRET}
    env.pop("HANDOVER_FAULT", None)
    if fault:
        env["HANDOVER_FAULT"] = fault
    output = subprocess.PIPE if pipes else subprocess.DEVNULL
    return subprocess.Popen(
        [sys.executable, "-m", "handover", "build", "--today", TODAY, *extra],
        cwd=project.root,
        env=env,
        stdout=output,
        stderr=output,
        text=True,
    )


def finish(process: subprocess.Popen[str]) -> tuple[int, str, str]:
    out, err = process.communicate(timeout=300)
    return process.returncode, out, err


@pytest.fixture
def three(project: Project) -> Project:
    for client in ("alpha", "beta", "gamma"):
        project.write_case(client, LINK_CASE.replace("Minimal Client", client.title()), FILES)
    code, _out, err = finish(run_build(project))
    assert code == 0, err
    return project


#: Phase -> whether the site is already the new one when the build stops there.
PHASES = {
    "locked": False,
    "validated": False,
    "built": False,
    "staging": False,  # one kept page linked into staging, one not yet
    "staged": False,
    "swapped": True,
    "mirrored": True,  # the spare brought level with the new site, not yet recorded
}


@pytest.mark.parametrize("spare", [False, True], ids=["no spare", "spare"])
@pytest.mark.parametrize("signal_name", ["SIGINT", "SIGKILL"])
@pytest.mark.parametrize("phase", list(PHASES))
def test_a_build_stopped_at_any_phase_leaves_the_old_or_the_new_site(
    three: Project, phase: str, signal_name: str, spare: bool
) -> None:
    if spare:  # a rebuild leaves a spare beside the site, which the next one assembles in
        three.write_case("beta", LINK_CASE.replace("Minimal Client", "Beta Renamed"))
        code, _out, err = finish(run_build(three))
        assert code == 0, err
    assert (three.root / ".site.spare").is_dir() == spare
    old = tree(three.site)
    three.write_case("alpha", LINK_CASE.replace("Mina Minimal", "Nina Newcontact"))
    code, out, err = finish(run_build(three, fault=f"{phase}:{signal_name}"))
    if signal_name == "SIGKILL":
        assert code == -signal.SIGKILL
    else:
        assert (code, out, err) == (1, "", "Aborted!\n")
    stopped = tree(three.site)
    if signal_name == "SIGINT":  # Python ran its clean-up: nothing left behind
        assert list(StaleFolders(three.site)) == []

    code, out, err = finish(run_build(three))  # the next build completes and cleans up
    assert code == 0, err
    assert list(StaleFolders(three.site)) == []
    new = tree(three.site)
    assert new != old
    assert stopped == (new if PHASES[phase] else old)
    assert tree(three.root / ".site.spare") == new  # the next build's spare is whole again


def test_killed_builds_do_not_pile_up_staging_folders(three: Project) -> None:
    for attempt in range(3):
        three.write_case("alpha", LINK_CASE.replace("Mina", f"Mina {attempt}"))
        code, _out, _err = finish(run_build(three, fault="staged:SIGKILL"))
        assert code == -signal.SIGKILL
        assert len(list(StaleFolders(three.site))) == 1  # only the last one's
    code, _out, err = finish(run_build(three))
    assert code == 0, err
    assert list(StaleFolders(three.site)) == []


def _processes_with(marker: str) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            command = (entry / "cmdline").read_bytes()
            status = (entry / "status").read_text()
        except OSError:
            continue
        if marker.encode() in command and "State:\tZ" not in status:
            found.append(int(entry.name))
    return found


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
@pytest.mark.parametrize("signal_name", ["SIGKILL", "SIGINT"])
def test_no_worker_survives_a_killed_build(project: Project, signal_name: str) -> None:
    from handover.preparing import PARALLEL_FROM

    for number in range(PARALLEL_FROM):
        project.write_case(f"client-{number:03d}", LINK_CASE, FILES)
    old_site = project.site
    # The case folder's path marks this build's processes (forked workers share its argv).
    marker = str(project.cases.resolve())
    # No pipes: a surviving worker would hold them open and hang the test instead of failing.
    process = run_build(project, "--cases", marker, fault=f"worker:{signal_name}", pipes=False)
    code = process.wait(timeout=300)
    # Every worker signals the build: a second SIGINT may land while the first is handled.
    assert code in ({-signal.SIGKILL} if signal_name == "SIGKILL" else {1, -signal.SIGINT})
    deadline = time.monotonic() + 10
    while _processes_with(marker) and time.monotonic() < deadline:
        time.sleep(0.1)
    survivors = _processes_with(marker)
    for pid in survivors:  # do not leave them to the rest of the suite
        os.kill(pid, signal.SIGKILL)
    assert survivors == []
    assert not old_site.exists()  # the first build never got to swap anything in

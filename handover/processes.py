"""Processes a build starts, and the one hook tests use to interrupt a build on purpose.

Forked workers must never outlive the build that forked them: a killed build would leave
them holding its pipes (a CI step that never ends) and its files. On Linux the kernel
kills them with their parent (``PR_SET_PDEATHSIG``); elsewhere they are daemonic and the
pool's own pipe ends them.

``checkpoint`` lets the fault-injection tests stop a build at a named phase with a real
signal, deterministically (no timing): ``HANDOVER_FAULT=<phase>:<SIGNAL>``, e.g.
``staged:SIGKILL``. In a worker the phase ``worker`` signals the *parent*, the build.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import signal
import sys

FAULT_ENV = "HANDOVER_FAULT"
PR_SET_PDEATHSIG = 1
#: Every phase a build passes, in order (``worker`` runs inside each forked worker).
PHASES = ("locked", "validated", "worker", "built", "staging", "staged", "swapped")


#: The build's process id, as forked workers inherit it (they call ``die_with_parent``).
_parent = os.getpid()


def die_with_parent() -> None:
    """In a forked worker: ask the kernel to SIGKILL this process when its parent, the
    build, dies; if the build died before we asked, end now."""
    if sys.platform.startswith("linux"):
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    if os.getppid() != _parent:
        os._exit(1)
    checkpoint("worker", target=_parent)


def checkpoint(phase: str, *, target: int | None = None) -> None:
    """Send the signal ``HANDOVER_FAULT`` names, if it names ``phase`` (tests only)."""
    wanted = os.environ.get(FAULT_ENV, "")
    if not wanted:
        return
    name, _, signal_name = wanted.partition(":")
    if name == phase:
        os.kill(target or os.getpid(), getattr(signal, signal_name or "SIGINT"))

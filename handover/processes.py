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

import contextlib
import ctypes
import ctypes.util
import os
import signal
import sys
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor, ThreadPoolExecutor
from typing import TypeVar

In = TypeVar("In")
Out = TypeVar("Out")

FAULT_ENV = "HANDOVER_FAULT"
PR_SET_PDEATHSIG = 1
#: Every phase a build passes, in order (``worker`` runs inside each forked worker).
PHASES = ("locked", "validated", "worker", "built", "staging", "staged", "swapped", "mirrored")


#: The build's process id, as forked workers inherit it (they call ``die_with_parent``).
_parent = os.getpid()


@contextlib.contextmanager
def worker_pool(pool: ProcessPoolExecutor) -> Iterator[ProcessPoolExecutor]:
    """``pool``, shut down normally when the work is done; on Ctrl-C or any other error its
    workers are killed first, so neither the build nor its caller waits for work that
    nobody will use (a pool shut down while a KeyboardInterrupt unwinds can hang)."""
    try:
        yield pool
    except BaseException:
        signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})  # a second Ctrl-C waits
        try:
            for process in list((getattr(pool, "_processes", None) or {}).values()):
                process.kill()
            # A Ctrl-C that lands while the pool starts its manager thread leaves a thread
            # that cannot be joined: the workers are dead, the interrupt is what counts.
            with contextlib.suppress(RuntimeError):
                pool.shutdown(wait=True, cancel_futures=True)
        finally:
            signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})
        raise
    pool.shutdown(wait=True)


def die_with_parent() -> None:
    """In a forked worker: ask the kernel to SIGKILL this process when its parent, the
    build, dies; if the build died before we asked, end now. Ctrl-C is the build's to
    handle (it kills its workers): a worker ignores it rather than print a traceback."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
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


def threaded_map(
    function: Callable[[In], Out], items: Iterable[In], threads: int | None = None
) -> Iterator[Out]:
    """``function`` over ``items`` on threads, results in order, like ``Executor.map`` but
    with a few jobs submitted at a time: ``map`` submits every job at once, and the futures
    of a quarter of a million files (a cold build of 10,000 clients) take hundreds of MB."""
    threads = threads or 2 * (os.cpu_count() or 2)
    with ThreadPoolExecutor(max_workers=threads) as pool:
        pending: deque[Future[Out]] = deque()
        for item in items:
            pending.append(pool.submit(function, item))
            if len(pending) >= 8 * threads:
                yield pending.popleft().result()
        while pending:
            yield pending.popleft().result()

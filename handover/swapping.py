"""Replacing the site whole: staging, the one atomic exchange, and the spare.

MkDocs writes the pages that changed into a fresh folder. The new site is assembled
beside the live one, in the *spare*: a folder of hard links to every file of the live
site, which the previous build left up to date, so that the pages that did not change are
already in place and a rebuild touches what changed, not the 25,000 files of 1,000
clients. One atomic exchange (Linux ``renameat2``) puts the new site where the old one
was; the old one, now where the spare was, is brought level with the new one the same
way, for the next build.

Nothing is ever moved out of the live site. The spare is used only while its record in
``.handover/`` names the build that made the live site, and each kept page in it is
checked to be the live page's own file: a build stopped anywhere leaves the whole old
site or the whole new one, and the next build throws away a spare it cannot trust and
links the kept pages from the live site instead. Files are shared with the previous
*site* only, never with a cache, and a build never writes into a published file.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import os
import shutil
import sys
import tempfile
from collections.abc import Collection
from dataclasses import dataclass
from pathlib import Path

from handover.caching import read_json, write_json
from handover.processes import checkpoint


@dataclass(frozen=True)
class SiteFolders:
    """The live site, its spare beside it, and the spare's record in ``.handover/``."""

    site: Path
    record: Path

    @property
    def spare(self) -> Path:
        return self.site.parent / f".{self.site.name}.spare"

    def replace_site(
        self,
        built: Path,
        kept: Collection[str],
        *,
        carried: Collection[str] = (),
        previous: str,
        generation: str,
    ) -> None:
        """Make the site ``built`` plus the ``kept`` page folders and the ``carried`` shared
        files (the theme's, when it did not run) of the live site, in one exchange.
        ``previous`` names the build that made the live site, ``generation`` this one; the
        spare left behind is recorded as this build's."""
        base = self._take_spare(previous, kept)
        _link_missing(list(kept)[:1], self.site, base)
        checkpoint("staging")
        _link_missing([*kept, *carried], self.site, base)
        for name in entries(built):
            os.rename(os.path.join(built, name), os.path.join(base, name))
        checkpoint("staged")
        retired = swap_into_place(base, self.site)
        checkpoint("swapped")
        if retired is None:
            return
        if not kept:  # every page is new: a spare would cost a full copy of links; none
            shutil.rmtree(retired, ignore_errors=True)
            return
        from_live = {*kept, *carried}
        _prune(retired, from_live)
        _link_missing(entries(self.site) - from_live, self.site, retired)
        checkpoint("mirrored")
        if retired != self.spare:
            retired.rename(self.spare)
        write_json(self.record, {"site": str(self.site), "generation": generation})

    def _take_spare(self, previous: str, kept: Collection[str]) -> Path:
        """The folder to assemble the new site in: the spare, emptied of all but the kept
        pages, when it can be trusted; else a new empty one. Its record is removed first,
        so a build stopped while it is changed leaves it untrusted."""
        trusted = self._trusted(previous)
        self.record.unlink(missing_ok=True)
        if not (trusted and kept):
            shutil.rmtree(self.spare, ignore_errors=True)
            self.spare.mkdir(parents=True)
            return self.spare
        _prune(self.spare, kept)
        for slug in kept:  # a page the live site has anew (not from our build) is linked again
            if not _same_file(self.spare / slug / "index.html", self.site / slug / "index.html"):
                shutil.rmtree(self.spare / slug, ignore_errors=True)
        return self.spare

    def _trusted(self, previous: str) -> bool:
        data = read_json(self.record)
        return (
            isinstance(data, dict)
            and bool(previous)
            and data.get("site") == str(self.site)
            and data.get("generation") == previous
            and self.spare.is_dir()
        )


def entries(folder: Path) -> set[str]:
    """The names in ``folder`` (one listing)."""
    with os.scandir(folder) as listing:
        return {entry.name for entry in listing}


def _prune(folder: Path, keep: Collection[str]) -> None:
    """Remove every entry of ``folder`` but those named in ``keep``."""
    wanted = set(keep)
    with os.scandir(folder) as entries:
        for entry in entries:
            if entry.name in wanted:
                continue
            if entry.is_dir(follow_symlinks=False):
                shutil.rmtree(entry.path)
            else:
                os.unlink(entry.path)


def _same_file(first: Path, second: Path) -> bool:
    try:
        return os.path.samefile(first, second)
    except OSError:
        return False


def _link_missing(names: Collection[str], source: Path, target: Path) -> None:
    """Each named entry of ``source`` not yet in ``target``, hard-linked (or copied) in."""
    present = entries(target)
    for name in names:
        if name in present:
            continue
        path = os.path.join(source, name)
        if os.path.isdir(path):
            _link_tree(path, os.path.join(target, name))
        else:
            _link_file(path, os.path.join(target, name))


def _link_tree(source: str, target: str) -> None:
    """``source`` into ``target``, every file hard-linked. Plain strings and ``scandir``:
    the first rebuild after a full one links every file of every kept page."""
    with contextlib.suppress(FileExistsError):
        os.mkdir(target)
    with os.scandir(source) as entries:
        for entry in entries:
            into = os.path.join(target, entry.name)
            if entry.is_dir(follow_symlinks=False):
                _link_tree(entry.path, into)
            else:
                _link_file(entry.path, into)


def _link_file(source: str, target: str) -> None:
    try:
        os.link(source, target)
    except OSError:  # another filesystem, or links not allowed
        shutil.copy2(source, target)


def swap_into_place(staging: Path, target: Path) -> Path | None:
    """One atomic exchange (Linux ``renameat2(RENAME_EXCHANGE)``): the site is the old one
    or the new one at every instant. Returns where the old site now is (``staging``), or
    None if there was none. Elsewhere, two renames; a kill between them leaves ``.old-*``,
    which the next build puts back (``StaleFolders.remove``)."""
    staging.chmod(0o755)
    if not target.exists():
        staging.rename(target)
        return None
    if _exchange(staging, target):
        return staging
    retired = Path(tempfile.mkdtemp(prefix=f".{target.name}.old-", dir=target.parent))
    retired.rmdir()
    target.rename(retired)
    staging.rename(target)
    return retired


RENAME_EXCHANGE = 2
AT_FDCWD = -100


def _exchange(first: Path, second: Path) -> bool:
    """Swap two paths atomically; False where the system cannot (then nothing happened)."""
    if not sys.platform.startswith("linux"):
        return False
    libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
    renameat2 = getattr(libc, "renameat2", None)
    if renameat2 is None:
        return False
    result = renameat2(AT_FDCWD, os.fsencode(first), AT_FDCWD, os.fsencode(second), RENAME_EXCHANGE)
    if result == 0:
        return True
    errno = ctypes.get_errno()
    if errno in {22, 38, 95}:  # EINVAL, ENOSYS, EOPNOTSUPP: not on this filesystem
        return False
    raise OSError(errno, os.strerror(errno), str(second))

"""Folders a new index is written in before it is moved into place: named, held while alive, swept when dead.

A first save (format 1) or a build (format 2) writes into ``.NAME.tmp-XXXXXXXX`` beside its target,
then renames it into place. A process killed half-way leaves that folder behind; the next save of
the same target removes it. A build holds an ``flock`` on the ``.building`` file inside its folder
for as long as it runs (the kernel releases it when the process dies), so a sweep never removes a
build that is still running — builds stage for hours and take the target's writer lock only to
publish.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import re
import shutil
import stat
import tempfile
import time
import uuid
from pathlib import Path
from typing import IO

HELD = ".building"
"""The file inside a staging folder whose flock says a live process owns the folder."""


def staging_name(target: Path) -> str:
    """A fresh staging folder name for ``target``: ``.NAME.tmp-XXXXXXXX``."""
    return f".{target.name}.tmp-{uuid.uuid4().hex[:8]}"


def hold(folder: Path) -> IO[bytes]:
    """Mark ``folder`` as owned by this process until the returned handle is closed (or the process dies)."""
    fd = os.open(folder / HELD, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW, 0o644)
    handle = os.fdopen(fd, "r+b")
    fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    return handle


def release(folder: Path, handle: IO[bytes] | None) -> None:
    """Give up ownership of ``folder`` (its ``.building`` file removed first, so it never ships in an index)."""
    with contextlib.suppress(OSError):
        (folder / HELD).unlink()
    if handle is not None:
        handle.close()


def _alive(folder: Path) -> bool:
    try:
        fd = os.open(folder / HELD, os.O_RDWR | os.O_NOFOLLOW)
    except OSError:
        return (
            False  # no mark: a format-1 save's folder (made under the writer lock) or a build's first instant
        )
    with os.fdopen(fd, "r+b") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
    return False


TEMPORARY_PREFIX = "semsearch-build-"
"""The temporary folders of builds not yet given a location (``tempfile.mkdtemp`` names them)."""
_TEMPORARY = re.compile(rf"^{TEMPORARY_PREFIX}[A-Za-z0-9_]{{8}}$")
_UNMARKED_AGE_S = 3600  # a folder without a mark this old is not a build's first instant


def new_temporary() -> tuple[Path, IO[bytes]]:
    """A held temporary folder for a build with no location yet, after sweeping those killed builds left.

    A build killed with -9 cannot run its clean-up; its folder (gigabytes at archive scale) stays in the
    temporary directory until a later build of this user's finds it unheld.
    """
    root = Path(tempfile.gettempdir())
    with contextlib.suppress(OSError):
        for folder in root.iterdir():
            if _TEMPORARY.match(folder.name) and _abandoned(folder):
                shutil.rmtree(folder, ignore_errors=True)
    folder = Path(tempfile.mkdtemp(prefix=TEMPORARY_PREFIX))
    return folder, hold(folder)


def _abandoned(folder: Path) -> bool:
    """Whether ``folder`` is a build folder of this user's that no live process holds (unmarked: an hour old)."""
    try:
        info = folder.lstat()
    except OSError:
        return False
    if not stat.S_ISDIR(info.st_mode) or info.st_uid != os.getuid():
        return False
    if not (folder / HELD).exists():
        return time.time() - info.st_mtime > _UNMARKED_AGE_S
    return not _alive(folder)


def remove_killed(target: Path) -> None:
    """Delete the staging folders of ``target`` that no live process owns (call under its writer lock)."""
    pattern = re.compile(rf"^\.{re.escape(target.name)}\.tmp-[0-9a-f]{{8}}$")
    with contextlib.suppress(OSError):
        for sibling in target.parent.iterdir():
            if (
                pattern.match(sibling.name)
                and sibling.is_dir()
                and not sibling.is_symlink()
                and not _alive(sibling)
            ):
                shutil.rmtree(sibling, ignore_errors=True)

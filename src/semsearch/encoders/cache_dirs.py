"""Where semsearch caches what it computes (embeddings, compiled models), kept for this user alone.

Whoever can write a cache can change what semsearch computes (plant a vector for a text, a compiled
model), so the folders are created 0700 and the files 0600, and a cache found writable by group or
others, or owned by another user, is warned about once per path and process.
"""

from __future__ import annotations

import logging
import os
import stat
from collections.abc import Iterable
from pathlib import Path

log = logging.getLogger(__name__)

CACHE_DIR_ENV = "SEMSEARCH_CACHE_DIR"
_warned: set[Path] = set()  # paths already warned about in this process


def cache_root() -> Path:
    """``$SEMSEARCH_CACHE_DIR``, else ``~/.cache/semsearch``."""
    return Path(os.environ.get(CACHE_DIR_ENV) or Path.home() / ".cache" / "semsearch")


def private_folder(folder: Path) -> None:
    """Create ``folder`` (and its parents) if missing; the folder itself for this user alone (0700)."""
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)


def create_private_file(path: Path) -> None:
    """Create ``path`` empty for this user alone (0600) unless it exists; never through a symlink."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0), 0o600)
    except FileExistsError:
        return
    os.close(fd)


def warn_if_others_can_write(paths: Iterable[Path]) -> None:
    """Warn once (one line each) about any of ``paths`` writable by group or others, or not this user's."""
    for path in paths:
        try:
            info = path.stat()
        except OSError:
            continue
        problems = []
        if info.st_mode & (stat.S_IWGRP | stat.S_IWOTH):
            problems.append(f"writable by others (mode {stat.S_IMODE(info.st_mode):o})")
        if info.st_uid != os.geteuid():
            problems.append(f"owned by user {info.st_uid}")
        if problems and path not in _warned:
            _warned.add(path)
            log.warning(
                "cache %s is %s: whoever can write it can change what semsearch computes; make it yours "
                "alone (chmod 700 the folder, 600 the files) or set %s",
                path,
                " and ".join(problems),
                CACHE_DIR_ENV,
            )

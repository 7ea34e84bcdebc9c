"""The check that tests write nothing into the repository, and what it may blame on them.

tests/conftest.py asks git for the untracked, not-ignored files when the session starts and ends. Of the
files that appeared, only those a test could have written count: files under the repository's tracked
top-level folders (:data:`WRITABLE_FOLDERS`) and files at its root. Files anywhere else (a
second virtualenv another process creates while the suite runs, say) and files inside a virtualenv
(a folder holding ``pyvenv.cfg``) are not the tests' doing; git already leaves out what .gitignore lists.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterable, Sequence
from pathlib import Path, PurePosixPath

# The repository's tracked top-level folders: what the code under test and the tests know about.
WRITABLE_FOLDERS = ("src", "tests", "seeds", "benchmarks", "indexes")


def untracked(root: Path) -> set[str] | None:
    """Files under ``root`` git neither tracks nor ignores, relative and '/'-separated (None outside git)."""
    try:
        found = subprocess.run(
            ["git", "ls-files", "--others", "--exclude-standard"],
            cwd=root,
            capture_output=True,
            text=True,
            timeout=60,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return set(found.stdout.splitlines()) if found.returncode == 0 else None


def in_virtualenv(root: Path, name: str) -> bool:
    """Whether a folder between ``root`` and the file ``name`` (relative to root) is a virtualenv."""
    parts = PurePosixPath(name).parts[:-1]
    return any((root.joinpath(*parts[:depth]) / "pyvenv.cfg").is_file() for depth in range(1, len(parts) + 1))


def blamed(appeared: Iterable[str], root: Path, folders: Sequence[str] = WRITABLE_FOLDERS) -> list[str]:
    """The files of ``appeared`` (relative to ``root``) a test could have written, sorted.

    A file counts when it lies at the root (git lists files, never folders), or under one of ``folders``
    and in no virtualenv. Everything else was made by another process.
    """
    found = []
    for name in appeared:
        parts = PurePosixPath(name).parts
        if not parts:
            continue
        if len(parts) == 1 or (parts[0] in folders and not in_virtualenv(root, name)):
            found.append(name)
    return sorted(found)

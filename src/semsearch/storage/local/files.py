"""Reading an index directory: its manifest and each file it lists, checked before use.

The manifest names only plain file names of the format (checked by :mod:`semsearch.storage.manifest_schema`); a file
must be a regular file (a directory role: a folder of regular files) inside the index, never a
symlink, of the size and (when asked) the SHA-256 the manifest records. :mod:`semsearch.storage.local.directory`
writes what this reads.
"""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import stat
from pathlib import Path

from semsearch.errors import IndexCorruptError, IndexNotFoundError, IndexWriteError, SemsearchError
from semsearch.storage.manifest import Manifest

MANIFEST = "manifest.json"


def is_index(path: Path) -> bool:
    """Whether ``path`` holds a manifest (looks like an index; :func:`read_manifest` checks it)."""
    return os.path.lexists(Path(path) / MANIFEST)


def read_manifest(path: Path) -> Manifest:
    """Read and check an index's manifest; every failure names the path and the way out.

    ``manifest.json`` must be a regular file in the index, not a symlink to one elsewhere.
    """
    path = Path(path)
    if not path.exists():
        raise IndexNotFoundError(
            f"{path}: no index there; build one with `semsearch build SOURCES -o {path}`"
        )
    manifest_path = path / MANIFEST
    if not path.is_dir() or not os.path.lexists(manifest_path):
        raise IndexNotFoundError(
            f"{path} is not a semsearch index (no {MANIFEST}); build one with `semsearch build`"
        )
    try:
        fd = os.open(manifest_path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
        with os.fdopen(fd, "rb") as handle:
            if not stat.S_ISREG(os.fstat(handle.fileno()).st_mode):
                raise IndexCorruptError(f"{manifest_path} is not a regular file; rebuild the index")
            data = json.loads(handle.read().decode("utf-8"))
    except OSError as exc:
        reason = "a symlink: an index's files must be its own" if _is_symlink(manifest_path) else exc
        raise IndexCorruptError(f"{manifest_path} is unreadable ({reason}); rebuild the index") from None
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise IndexCorruptError(f"{manifest_path} is unreadable ({exc}); rebuild the index") from None
    return Manifest.from_dict(data, manifest_path)


def index_file(path: Path, manifest: Manifest, role: str, *, verify: bool = True) -> Path:
    """The path of one of the index's files, checked for presence, size and (if ``verify``) SHA-256.

    The manifest's name is a plain name of the format (checked when it was read); the file must be a
    regular file (or, for a directory role, a directory of regular files), never a symlink.
    """
    entry = manifest.file(role, path / MANIFEST)
    file = path / entry.name
    try:
        mode = os.lstat(file).st_mode
    except FileNotFoundError:
        raise IndexCorruptError(
            f"{file} is missing; the index is incomplete. Rebuild it with `semsearch build`"
        ) from None
    except OSError as exc:
        raise IndexCorruptError(f"{file} cannot be read ({exc}); rebuild the index") from None
    if stat.S_ISLNK(mode):
        raise IndexCorruptError(f"{file} is a symlink: an index's files must be its own; rebuild the index")
    wanted = stat.S_ISDIR if entry.kind == "dir" else stat.S_ISREG
    if not wanted(mode):
        raise IndexCorruptError(
            f"{file} is not a {'directory' if entry.kind == 'dir' else 'regular file'}; rebuild the index"
        )
    try:
        size = file_size(file)
        if size != entry.bytes:
            raise IndexCorruptError(
                f"{file} is {size} bytes but the manifest says {entry.bytes} (truncated or replaced); "
                "rebuild the index"
            )
        sound = not verify or sha256_file(file) == entry.sha256
    except FileNotFoundError as exc:  # a member vanished while we read (a writer pruned this generation)
        raise IndexCorruptError(
            f"{exc.filename} is missing; the index is incomplete. Rebuild it with `semsearch build`"
        ) from None
    if not sound:
        raise IndexCorruptError(f"{file} fails its SHA-256 checksum (corrupted); rebuild the index")
    return file


def _is_symlink(path: Path) -> bool:
    return os.path.islink(path)


def members(path: Path) -> list[Path]:
    """The files a file role consists of: itself, or every file in it for a directory, sorted.

    A directory is walked without following symlinks; a symlink or anything but a regular file or
    folder inside it is an IndexCorruptError (an index's files are its own).
    """
    if not path.is_dir() or path.is_symlink():
        return [path]
    found: list[Path] = []
    for root, dirs, files in os.walk(path, followlinks=False):
        for name in [*dirs, *files]:
            member = Path(root) / name
            mode = os.lstat(member).st_mode
            if stat.S_ISLNK(mode) or not (stat.S_ISDIR(mode) or stat.S_ISREG(mode)):
                raise IndexCorruptError(
                    f"{member} is a symlink or special file: an index's files must be its own; rebuild the index"
                )
        found += [Path(root) / name for name in files]
    return sorted(found)


def file_size(path: Path) -> int:
    """Bytes of a file, or of every file in a directory role."""
    return sum(os.lstat(f).st_size for f in members(path))


def sha256_file(path: Path) -> str:
    """Hex SHA-256 of a file, read in 1 MiB blocks; of a directory, of its files' names and contents."""
    digest = hashlib.sha256()
    directory = path.is_dir()
    for file in members(path):
        if directory:
            digest.update(file.relative_to(path).as_posix().encode() + b"\0")
        fd = os.open(file, os.O_RDONLY | os.O_NOFOLLOW)
        with os.fdopen(fd, "rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
    return digest.hexdigest()


WRITE_FAILURES = (OSError, sqlite3.Error, RuntimeError)
"""What writing an index's files raises when the disk is full or the folder read-only: sqlite3 and
FAISS (RuntimeError) report those in their own types."""


def write_failure_reason(exc: BaseException) -> str:
    """The cause of a failed write, short: the OS's words and file, or the library's first line."""
    if isinstance(exc, OSError) and exc.strerror:
        return f"{exc.strerror}: {exc.filename}" if exc.filename else exc.strerror
    return " ".join(str(exc).split())[:200] or type(exc).__name__


def _folder_refuses(folder: Path) -> str | None:
    """Why a new file cannot be made in ``folder`` (read-only, no permission), or None if it can."""
    probe = folder / f".semsearch-probe-{os.getpid()}"
    try:
        fd = os.open(probe, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    except OSError as exc:
        return f"{exc.strerror}: {folder}" if exc.strerror else str(exc)
    os.close(fd)
    os.unlink(probe)
    return None


def raise_write_failure(exc: BaseException, what: str, state: str, folder: Path | None = None) -> None:
    """Re-raise a failed write (disk full, read-only folder) as one IndexWriteError; other errors pass.

    ``what`` says what could not be done ("cannot save the index at …"), ``state`` what is left
    ("the index there is unchanged"). ``folder``: where the write went; when the library's own words
    do not say why (SQLite's "unable to open database file"), a probe there does.
    """
    if isinstance(exc, WRITE_FAILURES) and not isinstance(exc, SemsearchError):
        reason = write_failure_reason(exc)
        if folder is not None and not (isinstance(exc, OSError) and exc.errno):
            reason = _folder_refuses(folder) or reason
        raise IndexWriteError(
            f"{what} ({reason}); {state}. Free disk space or make the folder writable, then try again"
        ) from exc

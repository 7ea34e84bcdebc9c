"""Writing an index directory: generations, atomic saves, pruning what a save does not keep.

Layout of ``indexes/NAME/``::

    manifest.json          format version, encoder identity, dimension, metric, index type,
                           chunking parameters, counts, and each file's name, size and SHA-256
    vectors.<gen>.faiss    the FAISS index (ids are chunk ids)
    chunks.<gen>.sqlite    documents (raw and cleaned text, what the cleaner dropped) and chunks
    lexical.<gen>.json     each chunk's terms; bm25.<gen>.bm25s/ the BM25 index over them

A new index is written to a temporary sibling directory and renamed into place. Saving over an
existing index writes a new generation of files beside the old ones and then replaces
``manifest.json`` atomically (write, fsync, rename), so a crash at any point leaves the old
index or the new one, never a mix; files of other generations are removed afterwards.
Every file an index writes is written here; :mod:`semsearch.storage.local.files` reads and checks them.

An index may come from someone else, so nothing here follows a symlink or leaves the folder: the
manifest names only plain file names of the format (checked by :mod:`semsearch.storage.manifest_schema`), symlinks
among an index's files are refused, a save writes into a private folder it creates and renames each
file into place (never through an existing name), and pruning deletes only the format's own files.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import tempfile
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, NamedTuple

from semsearch.errors import IndexChangedError, IndexWriteError, InputError, SemsearchError
from semsearch.storage.local.files import (
    MANIFEST,
    file_size,
    is_index,
    members,
    raise_write_failure,
    read_manifest,
    sha256_file,
)
from semsearch.storage.local.staging import remove_killed, staging_name
from semsearch.storage.locks import write_lock
from semsearch.storage.manifest import FileEntry, Manifest
from semsearch.storage.manifest_schema import DIRECTORY_ROLES, FILE_ROLES

# The format's own files in an index folder: a generation's files, what a writer killed half-way
# left beside one (a SQLite journal), a killed save's private folder, and the old temporary manifest.
GENERATION_FILE = re.compile(
    r"^(?P<role>vectors|chunks|lexical|bm25)\.(?P<gen>\d{1,12})\.(?P<ext>faiss|sqlite|json|bm25s)"
    r"(?P<journal>-journal|-wal|-shm)?$"
)
_STAGING_PREFIX = ".save-"
_LEGACY_TMP = MANIFEST + ".tmp"


class FileWriter(NamedTuple):
    """How one part of an index is written: the file's extension and a function writing it to a path.

    The path is a file, or a directory the function fills (the role then consists of its files).
    """

    ext: str
    write: Callable[[Path], None]


def save_index_dir(
    path: Path,
    manifest: Manifest,
    writers: Mapping[str, FileWriter],
    *,
    expect_generation: int | None = None,
) -> Manifest:
    """Write an index directory atomically and return the manifest as written.

    ``writers`` maps a file's role (``vectors``, ``chunks``, …) to its :class:`FileWriter`.
    Refuses to write into a directory that is not a semsearch index (one whose manifest is not a
    valid semsearch manifest included). ``expect_generation``: raise IndexChangedError if the index
    on disk is no longer that generation (another writer saved since we loaded it), so no change is
    silently lost. A save that cannot write (disk full, read-only) raises IndexWriteError, leaving
    the old index as it was and none of its own files behind.
    """
    real = Path(path).resolve()
    if real.exists() and not real.is_dir():
        raise InputError(f"{path} exists and is a file, not an index directory; choose another output path")
    fresh = not real.exists() or not any(real.iterdir())
    if not fresh:
        check_replaceable(path, real)
    try:
        real.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise IndexWriteError(
            f"cannot create {real.parent} ({exc.strerror or exc}); choose another path"
        ) from None
    with write_lock(real):
        remove_killed(real)
        if expect_generation is not None and not fresh:
            on_disk = read_manifest(real).generation
            if on_disk != expect_generation:
                raise IndexChangedError(
                    f"{path} changed on disk since this index was loaded (generation {expect_generation}, "
                    f"now {on_disk}); load it again and repeat the change"
                )
        generation = 1 if fresh else _next_generation(real)
        staging: Path | None = None
        placed: list[Path] = []
        try:
            if fresh:
                staging = real.parent / staging_name(real)
                staging.mkdir()  # exclusively: a name that exists (a planted symlink, say) fails here
            else:
                staging = Path(tempfile.mkdtemp(prefix=_STAGING_PREFIX, dir=real))
            files: dict[str, FileEntry] = {}
            for role, writer in writers.items():
                if FILE_ROLES.get(role) != writer.ext:
                    raise InputError(
                        f"an index has no {role}.N.{writer.ext} file (roles: {sorted(FILE_ROLES)})"
                    )
                file = staging / f"{role}.{generation}.{writer.ext}"
                writer.write(file)
                for member in members(file):
                    fsync(member)
                if file.is_dir():
                    fsync(file)
                files[role] = FileEntry(
                    name=file.name,
                    bytes=file_size(file),
                    sha256=sha256_file(file),
                    kind="dir" if role in DIRECTORY_ROLES else "file",
                )
            written = manifest.replace(generation=generation, files=files)
            _write_json_atomically(staging / MANIFEST, written.to_dict())
            if fresh:
                fsync(staging)
                os.replace(staging, real) if real.exists() else os.rename(staging, real)
                staging = None
                fsync(real.parent)
            else:
                for entry in files.values():
                    destination = real / entry.name
                    if os.path.lexists(destination):  # generation is past every name there: a rival writer
                        raise IndexChangedError(f"{destination} appeared while saving; load the index again")
                    os.rename(staging / entry.name, destination)
                    placed.append(destination)
                fsync(real)
                os.replace(staging / MANIFEST, real / MANIFEST)  # the commit: old index until here, new after
                fsync(real)
                staging.rmdir()
                staging = None
        except BaseException as exc:
            for own in placed:
                _delete(own)
            if staging is not None:
                shutil.rmtree(staging, ignore_errors=True)
            where = "nothing was written" if fresh else "the index there is unchanged"
            raise_write_failure(exc, f"cannot save the index at {path}", where)
            raise
        _remove_other_generations(real, generation)
    return written


def check_replaceable(path: Path, real: Path) -> None:
    """Refuse to save into a non-empty folder unless it holds a valid semsearch manifest."""
    if not is_index(real):
        raise InputError(
            f"{path} exists and is not a semsearch index; refusing to write into it. "
            "Choose another output path or remove that directory"
        )
    try:
        read_manifest(real)
    except SemsearchError as exc:
        raise InputError(
            f"{path} exists and is not a semsearch index (its {MANIFEST} is not a valid semsearch manifest: "
            f"{exc}); refusing to write into it or delete anything there. Choose another output path"
        ) from None


def _next_generation(path: Path) -> int:
    generations = [0]
    with contextlib.suppress(SemsearchError):
        generations.append(read_manifest(path).generation or 0)
    for file in path.iterdir():
        match = GENERATION_FILE.match(file.name)
        if match:
            generations.append(int(match["gen"]))
    return max(generations) + 1


def _remove_other_generations(path: Path, keep: int) -> None:
    """Delete what the format names and this save does not keep: nothing else in the folder is touched."""
    for file in path.iterdir():
        match = GENERATION_FILE.match(file.name)
        stale = (match is not None and int(match["gen"]) != keep) or (match is not None and match["journal"])
        debris = file.name == _LEGACY_TMP or (file.name.startswith(_STAGING_PREFIX) and file.is_dir())
        if stale or debris:
            _delete(file)


def _delete(file: Path) -> None:
    """Delete a file, a symlink (never what it points to) or a folder; what cannot be deleted stays."""
    with contextlib.suppress(OSError):
        if file.is_dir() and not file.is_symlink():
            shutil.rmtree(file)
        else:
            file.unlink()


def _write_json_atomically(file: Path, data: dict[str, Any]) -> None:
    """Write ``data`` as a new file (never through an existing name or symlink) and flush it to disk.

    Callers write into a folder of their own and rename the file into place.
    """
    fd = os.open(file, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o644)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        json.dump(data, handle, ensure_ascii=False, indent=2, sort_keys=True)
        handle.write("\n")
        handle.flush()
        os.fsync(handle.fileno())


def fsync(path: Path) -> None:
    """Flush a file or a directory (its entries: a rename into it) to disk."""
    fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)

"""The index directory on disk: the manifest file, checksummed files, generations, atomic saves.

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
Every file an index writes is written here.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import json
import os
import re
import shutil
import uuid
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, NamedTuple

from .backend import Loaded, Parts
from .chunk_store import ChunkStore
from .errors import IndexChangedError, IndexCorruptError, IndexNotFoundError, InputError
from .lexical import Analyzer, LexicalIndex
from .locks import write_lock
from .manifest import FileEntry, Manifest
from .vector_index import VectorIndex

MANIFEST = "manifest.json"
# A generation's file, or what a writer killed half-way left beside one ("chunks.7.sqlite-journal").
_GENERATION_FILE = re.compile(r"^(?P<name>[a-z][a-z0-9_]*)\.(?P<gen>\d+)\.(?P<ext>[a-z0-9][a-z0-9-]*)$")


def is_index(path: Path) -> bool:
    """Whether ``path`` holds a manifest (looks like an index; :func:`read_manifest` checks it)."""
    return (Path(path) / MANIFEST).exists()


def read_manifest(path: Path) -> Manifest:
    """Read and check an index's manifest; every failure names the path and the way out."""
    path = Path(path)
    if not path.exists():
        raise IndexNotFoundError(
            f"{path}: no index there; build one with `semsearch build SOURCES -o {path}`"
        )
    manifest_path = path / MANIFEST
    if not path.is_dir() or not manifest_path.exists():
        raise IndexNotFoundError(
            f"{path} is not a semsearch index (no {MANIFEST}); build one with `semsearch build`"
        )
    try:
        data = json.loads(manifest_path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise IndexCorruptError(f"{manifest_path} is unreadable ({exc}); rebuild the index") from None
    return Manifest.from_dict(data, manifest_path)


def index_file(path: Path, manifest: Manifest, role: str, *, verify: bool = True) -> Path:
    """The path of one of the index's files, checked for presence, size and (if ``verify``) SHA-256."""
    entry = manifest.file(role, path / MANIFEST)
    file = path / entry.name
    if not (file.is_dir() if entry.kind == "dir" else file.is_file()):
        raise IndexCorruptError(
            f"{file} is missing; the index is incomplete. Rebuild it with `semsearch build`"
        )
    try:
        size = _size(file)
        if size != entry.bytes:
            raise IndexCorruptError(
                f"{file} is {size} bytes but the manifest says {entry.bytes} (truncated or replaced); rebuild the index"
            )
        sound = not verify or sha256_file(file) == entry.sha256
    except FileNotFoundError as exc:  # a member vanished while we read (a writer pruned this generation)
        raise IndexCorruptError(
            f"{exc.filename} is missing; the index is incomplete. Rebuild it with `semsearch build`"
        ) from None
    if not sound:
        raise IndexCorruptError(f"{file} fails its SHA-256 checksum (corrupted); rebuild the index")
    return file


def _members(path: Path) -> list[Path]:
    """The files a file role consists of: itself, or every file in it for a directory, sorted."""
    return sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]


def _size(path: Path) -> int:
    return sum(f.stat().st_size for f in _members(path))


def sha256_file(path: Path) -> str:
    """Hex SHA-256 of a file, read in 1 MiB blocks; of a directory, of its files' names and contents."""
    digest = hashlib.sha256()
    directory = path.is_dir()
    for file in _members(path):
        if directory:
            digest.update(file.relative_to(path).as_posix().encode() + b"\0")
        with open(file, "rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
    return digest.hexdigest()


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
    Refuses to write into a directory that is not an index. ``expect_generation``: raise
    IndexChangedError if the index on disk is no longer that generation (another writer saved since
    we loaded it), so no change is silently lost.
    """
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise InputError(f"{path} exists and is a file, not an index directory; choose another output path")
    fresh = not path.exists() or not any(path.iterdir())
    if not fresh and not is_index(path):
        raise InputError(
            f"{path} exists and is not a semsearch index; refusing to write into it. "
            "Choose another output path or remove that directory"
        )
    path.parent.mkdir(parents=True, exist_ok=True)
    with write_lock(path):
        if expect_generation is not None and not fresh:
            on_disk = read_manifest(path).generation
            if on_disk != expect_generation:
                raise IndexChangedError(
                    f"{path} changed on disk since this index was loaded (generation {expect_generation}, "
                    f"now {on_disk}); load it again and repeat the change"
                )
        generation = 1 if fresh else _next_generation(path)
        target = path.parent / f".{path.name}.tmp-{uuid.uuid4().hex[:8]}" if fresh else path
        target.mkdir(exist_ok=True)
        try:
            files: dict[str, FileEntry] = {}
            for role, writer in writers.items():
                file = target / f"{role}.{generation}.{writer.ext}"
                writer.write(file)
                for member in _members(file):
                    fsync(member)
                if file.is_dir():
                    fsync(file)
                files[role] = FileEntry(
                    name=file.name,
                    bytes=_size(file),
                    sha256=sha256_file(file),
                    kind="dir" if file.is_dir() else "file",
                )
            written = manifest.replace(generation=generation, files=files)
            _write_json_atomically(target / MANIFEST, written.to_dict())
            if fresh:
                fsync(target)
                os.replace(target, path) if path.exists() else os.rename(target, path)
                fsync(path.parent)
        except BaseException:
            if fresh:
                shutil.rmtree(target, ignore_errors=True)
            raise
        _remove_other_generations(path, generation)
    return written


def _next_generation(path: Path) -> int:
    generations = [0]
    with contextlib.suppress(OSError, ValueError, KeyError, TypeError, json.JSONDecodeError):
        generations.append(int(json.loads((path / MANIFEST).read_text(encoding="utf-8"))["generation"]))
    for file in path.iterdir():
        match = _GENERATION_FILE.match(file.name)
        if match:
            generations.append(int(match["gen"]))
    return max(generations) + 1


def _remove_other_generations(path: Path, keep: int) -> None:
    for file in path.iterdir():
        match = _GENERATION_FILE.match(file.name)
        if (match and int(match["gen"]) != keep) or file.name.endswith(".tmp"):
            with contextlib.suppress(OSError):
                shutil.rmtree(file) if file.is_dir() else file.unlink()


def _write_json_atomically(file: Path, data: dict[str, Any]) -> None:
    tmp = file.with_name(file.name + ".tmp")
    with open(tmp, "w", encoding="utf-8") as handle:
        json.dump(data, handle, ensure_ascii=False, indent=2, sort_keys=True)
        handle.write("\n")
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, file)
    fsync(file.parent)


def fsync(path: Path) -> None:
    """Flush a file or a directory (its entries: a rename into it) to disk."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class IndexDirectory:
    """The local :class:`~semsearch.backend.Storage`: FAISS, bm25s and SQLite files in an index directory."""

    def load(self, location: Path, *, verify: bool = True) -> Loaded:
        """Read the manifest and open the files it lists, checking sizes, checksums (if ``verify``) and counts."""
        path = Path(location)
        for attempt in range(5):
            manifest = read_manifest(path)
            try:
                return Loaded(manifest, self._open(path, manifest, verify))
            except IndexCorruptError:
                # A writer may have replaced this generation between our reading the manifest and
                # opening its files: if the manifest moved on, read the new one.
                if attempt == 4 or read_manifest(path).generation == manifest.generation:
                    raise
        raise AssertionError("unreachable")

    @staticmethod
    def _open(path: Path, manifest: Manifest, verify: bool) -> Parts:
        vectors = VectorIndex.load(
            index_file(path, manifest, "vectors", verify=verify),
            manifest.index_type,
            dataclasses.replace(manifest.search_params),
        )
        store = ChunkStore.open(index_file(path, manifest, "chunks", verify=verify))
        counts = store.counts()
        if vectors.dimension != manifest.dimension:
            raise IndexCorruptError(
                f"{path}: the FAISS file holds {vectors.dimension}-d vectors but the manifest says "
                f"{manifest.dimension}-d; rebuild the index"
            )
        if not (len(vectors) == counts.chunks == manifest.counts.chunks):
            raise IndexCorruptError(
                f"{path}: the FAISS file holds {len(vectors)} vectors, the chunk store {counts.chunks} chunks "
                f"and the manifest says {manifest.counts.chunks}; rebuild the index"
            )
        if (
            "lexical" not in manifest.files
        ):  # saved before indexes had a lexical side: tokenise the chunks now
            chunks = list(store.iter_chunks())
            lexical = LexicalIndex.build(Analyzer(), [c.chunk_id for c in chunks], [c.text for c in chunks])
            return Parts(vectors, lexical, store)
        lexical_file = index_file(path, manifest, "lexical", verify=verify)
        bm25 = index_file(path, manifest, "bm25", verify=verify) if "bm25" in manifest.files else None
        lexical = LexicalIndex.read(
            lexical_file, dict(manifest.lexical), bm25, manifest.files["lexical"].sha256
        )
        if len(lexical) != counts.chunks:
            raise IndexCorruptError(
                f"{lexical_file} covers {len(lexical)} chunks but the index holds {counts.chunks}; "
                "rebuild the index"
            )
        return Parts(vectors, lexical, store)

    def save(
        self, location: Path, manifest: Manifest, parts: Parts, *, expect_generation: int | None = None
    ) -> Manifest:
        """Write the parts as a new generation and the manifest atomically (see :func:`save_index_dir`)."""
        vectors, lexical, chunks = parts.vectors, parts.lexical, parts.chunks
        if not (
            isinstance(vectors, VectorIndex)
            and isinstance(lexical, LexicalIndex)
            and isinstance(chunks, ChunkStore)
        ):
            raise InputError(
                "an index directory holds FAISS, bm25s and SQLite parts; save other backends with their own storage"
            )
        writers = {
            "vectors": FileWriter("faiss", vectors.save),
            "chunks": FileWriter("sqlite", chunks.save_to),
            "lexical": FileWriter("json", lexical.write),
            "bm25": FileWriter("bm25s", lexical.write_bm25),
        }
        return save_index_dir(Path(location), manifest, writers, expect_generation=expect_generation)

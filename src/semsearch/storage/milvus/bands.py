"""Near-duplicate candidates of an index in Milvus: the LSH band keys of every kept document's MinHash.

A change checks each new document only against the kept ones sharing a band key with it (the
candidates datasketch's LSH would return), found by primary key in ``NAME__bands`` (band key → the
ids of the documents having it), so its cost does not grow with the index. Reading every stored
signature instead made adding one article cost 701 ms at 20,460 chunks against 66 ms at 1,047
(benchmarks/README.md, scale_out). Indexes written in Milvus format 1 have no such collection: a
change then reads every signature, as before.
"""

from __future__ import annotations

import base64
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from semsearch.records import Fingerprint
from semsearch.storage.locations import MilvusLocation
from semsearch.storage.milvus.collections import Collections, Part
from semsearch.storage.milvus.expressions import one_of
from semsearch.storage.milvus.reads import LOOKUP_BATCH
from semsearch.storage.milvus.schema import PLACEHOLDER_DIM, call
from semsearch.text.dedup import DedupConfig, band_keys

Getter = Callable[[Part, Sequence[Any], list[str]], list[dict[str, Any]]]  # part, keys, fields → rows


class MilvusBands:
    """The ``NAME__bands`` collection of one index: kept up to date by writes and removals, read by changes."""

    def __init__(
        self,
        location: MilvusLocation,
        client: Any,
        names: Collections,
        dedup: Mapping[str, Any] | None,
        get: Getter,
    ) -> None:
        self.location = location
        self.names = names
        self._client = client
        self._get_rows = get  # the store's batched get by primary key
        self._config = DedupConfig(**dedup) if dedup else None
        self.present = bool(call(location, client.has_collection, names.bands))
        if self.present:
            call(location, client.load_collection, names.bands)

    @property
    def active(self) -> bool:
        """Whether band keys are kept: the index checks near-duplicates and has the collection (format 2)."""
        return self._config is not None and self.present

    def add(self, signatures: Mapping[str, tuple[bytes, Sequence[str]]]) -> None:
        """Record the band keys of newly kept documents (doc id → (MinHash bytes, numbers))."""
        if self.active:
            self._change(
                self._keys({doc_id: minhash for doc_id, (minhash, _) in signatures.items()}), add=True
            )

    def remove(self, documents: Sequence[Mapping[str, Any]]) -> None:
        """Forget the band keys of removed documents (rows of the documents collection: doc_id, minhash)."""
        if self.active:
            minhashes = {d["doc_id"]: base64.b64decode(d["minhash"]) for d in documents if d.get("minhash")}
            self._change(self._keys(minhashes), add=False)

    def similar(self, keys: Sequence[str]) -> list[Fingerprint] | None:
        """The kept documents having one of the band ``keys``, with their signatures; None without bands."""
        if not self.active:
            return None
        doc_ids = sorted({d for ids in self._get(list(dict.fromkeys(keys))).values() for d in ids})
        rows = self._get_rows("docs", doc_ids, ["minhash", "numbers"])
        return [
            Fingerprint(r["doc_id"], base64.b64decode(r["minhash"]), list(r["numbers"] or []))
            for r in rows
            if r["minhash"]
        ]

    def keys_of(self, minhashes: Mapping[str, bytes]) -> list[str]:
        """The band keys of these documents' MinHashes (none when band keys are not kept)."""
        return sorted(self._keys(minhashes)) if self.active else []

    def _keys(self, minhashes: Mapping[str, bytes]) -> dict[str, set[str]]:
        assert self._config is not None
        by_key: dict[str, set[str]] = defaultdict(set)
        for doc_id, minhash in minhashes.items():
            for key in band_keys(minhash, self._config):
                by_key[key].add(doc_id)
        return by_key

    def _get(self, keys: list[str]) -> dict[str, list[str]]:
        """Band key → document ids, for the keys that have any."""
        rows = self._get_rows("bands", keys, ["doc_ids"])
        return {r["key"]: list(r["doc_ids"]) for r in rows}

    def _change(self, by_key: dict[str, set[str]], *, add: bool) -> None:
        current = self._get(list(by_key))
        rows, emptied = [], []
        for key, ids in by_key.items():
            before = set(current.get(key, ()))
            after = before | ids if add else before - ids
            if after:
                rows.append({"key": key, "doc_ids": sorted(after), "_placeholder": [0.0] * PLACEHOLDER_DIM})
            elif before:
                emptied.append(key)
        name = self.names.bands
        for first in range(0, len(rows), LOOKUP_BATCH):
            call(self.location, self._client.upsert, name, rows[first : first + LOOKUP_BATCH])
        for first in range(0, len(emptied), LOOKUP_BATCH):
            some = emptied[first : first + LOOKUP_BATCH]
            call(self.location, self._client.delete, name, filter=one_of("key", some))

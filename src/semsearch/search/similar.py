"""Stories like a stored one: its own passages as the query, itself and its duplicates left out.

The dense side searches with the mean of the story's passage vectors (normalised: the centre of what
it says); the lexical side with its title and opening (its most informative words in a news story's
inverted pyramid, and a query BM25 answers fast); both are fused as a search is. The story itself
and the documents recorded as its duplicates are never among the results.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

import numpy as np

from semsearch.errors import InputError, UnknownDocumentError
from semsearch.storage.base import Parts

SIMILAR_QUERY_CHARS = 500  # characters of the story (title, then text) the lexical side searches with


class SimilarQuery(NamedTuple):
    """What :meth:`semsearch.Index.similar` searches with: a text, a vector, and which chunks to leave out."""

    text: str
    vector: np.ndarray
    excluded: frozenset[str]
    parts: Parts

    def keep(self, chunk_ids: Sequence[int]) -> set[int]:
        """The chunks among ``chunk_ids`` not of the story itself or its duplicates."""
        owners = self.parts.chunks.doc_of(chunk_ids)
        return {cid for cid in chunk_ids if owners.get(cid) not in self.excluded}


def similar_query(parts: Parts, doc_id: str) -> SimilarQuery:
    """The query for stories like ``doc_id`` (InputError when the index has no such document)."""
    if not isinstance(doc_id, str):
        raise InputError(f"similar() takes a document id (a string), not {type(doc_id).__name__}")
    stored = parts.chunks.document(doc_id)
    chunk_ids = parts.chunks.chunk_ids_by_doc([doc_id]).get(doc_id, [])
    if stored is None or not chunk_ids:
        raise UnknownDocumentError(
            f"no document {doc_id!r} in this index; list the ids with `semsearch docs -i INDEX` "
            "(index.doc_ids() in Python)"
        )
    vectors = np.asarray(parts.vectors.reconstruct(chunk_ids), dtype=np.float32)
    centre = vectors.mean(axis=0, keepdims=True)
    norm = float(np.linalg.norm(centre))
    centre = centre / norm if norm > 0 else vectors[:1]
    text = " ".join(f"{stored.title}\n{stored.clean_text}".split())[:SIMILAR_QUERY_CHARS]
    duplicates = parts.chunks.duplicates_of([doc_id]).get(doc_id, [])
    excluded = frozenset({doc_id, *(d.doc_id for d in duplicates)})
    return SimilarQuery(text or doc_id, centre.astype(np.float32), excluded, parts)

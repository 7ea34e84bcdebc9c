"""What a FAISS factory string (``index_type``) may ask for, checked without building it.

FAISS accepts ``IVF9999999,PQ3`` and would allocate ten million lists before training them on ten
million vectors; a manifest naming such a type could never have been built. Both a build and a loaded
manifest are checked here, so a type no index could have is refused before anything is allocated.
"""

from __future__ import annotations

import re

from semsearch.errors import InputError

MAX_INDEX_TYPE_CHARS = 200
MAX_IVF_LISTS = 1 << 22  # FAISS's own advice tops out at 2^22 lists, for a billion vectors
MAX_HNSW_LINKS = 256  # HNSW's M: 16-64 in practice
_IVF = re.compile(r"IVF(\d+)")
_HNSW = re.compile(r"HNSW(\d+)")


def index_type_problem(index_type: object) -> str | None:
    """What is wrong with ``index_type`` as a FAISS factory string to build, or None.

    >>> index_type_problem("IVF256,SQ8") is None, index_type_problem("IVF9999999,PQ3")
    (True, 'asks for 9999999 inverted lists; at most 4194304 (2^22)')
    """
    if not isinstance(index_type, str) or not index_type.strip():
        return "is blank or not text"
    if len(index_type) > MAX_INDEX_TYPE_CHARS or not index_type.isprintable():
        return f"is not a FAISS factory string (printable, at most {MAX_INDEX_TYPE_CHARS} characters)"
    for digits in _IVF.findall(index_type):
        lists = int(digits[:12])
        if not 1 <= lists <= MAX_IVF_LISTS or len(digits) > 12:
            return f"asks for {digits[:12]} inverted lists; at most {MAX_IVF_LISTS} (2^22)"
    for digits in _HNSW.findall(index_type):
        links = int(digits[:12])
        if not 2 <= links <= MAX_HNSW_LINKS or len(digits) > 12:
            return f"asks for HNSW with {digits[:12]} links per node; use 2 to {MAX_HNSW_LINKS} (e.g. HNSW32)"
    return None


def check_index_type(index_type: object) -> str:
    """``index_type`` if it is a FAISS factory string an index can be built with, else InputError."""
    problem = index_type_problem(index_type)
    if problem:
        raise InputError(
            f"index_type {str(index_type)[:60]!r} {problem}; try Flat, HNSW32, IVF256,Flat or IVF256,SQ8"
        )
    return str(index_type)

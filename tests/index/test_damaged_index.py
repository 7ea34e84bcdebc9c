"""Property: whatever damage an index suffers, opening and searching it succeeds or raises a semsearch error.

The damage is drawn by tests.support.damage (wrong types and values anywhere in the manifest, file
names that are paths, truncated files, flipped bits, junk; checksums stale or recomputed). Anything but
a :class:`~semsearch.SemsearchError` (a traceback from FAISS, SQLite, numpy, JSON…) fails. The same
property at length (400 examples) is in tests/index/heavy/test_damaged_index.py.
"""

from __future__ import annotations

import sqlite3

import pytest
from hypothesis import given, settings

import semsearch
from tests.support.damage import SETTINGS, check, damages


@settings(max_examples=20, **SETTINGS)
@given(how=damages())
def test_a_damaged_index_loads_or_raises_a_semsearch_error(saved_seeds_index, how):
    check(saved_seeds_index, how)


@settings(max_examples=10, **SETTINGS)
@given(how=damages())
def test_a_damaged_format_1_index_loads_or_raises_a_semsearch_error(seeds_format1, how):
    check(seeds_format1, how)


def test_a_bm25_number_type_damaged_in_its_parameters_is_a_corrupt_index(format1_copy):
    """Found by the property test: bm25s reads its integer type only when searching, so it is checked at load."""
    index_copy = format1_copy
    [params] = index_copy.glob("bm25.*/params.index.json")
    text = params.read_text(encoding="utf-8")
    assert '"int32"' in text
    params.write_text(text.replace('"int32"', '"iot32"'), encoding="utf-8")  # one bit, same size
    with pytest.raises(semsearch.IndexCorruptError, match="malformed"):
        semsearch.Index.load(index_copy, verify=False).search("网格员", mode="lexical")


def test_a_segment_array_with_a_damaged_header_is_a_corrupt_index(index_copy):
    # Found by the test above: numpy reads a .npy header as Python, so a flipped bit there raised
    # tokenize.TokenError instead of IndexCorruptError.
    from semsearch import IndexCorruptError

    [ids] = sorted(index_copy.glob("segments.*/*.ids.npy"))
    data = bytearray(ids.read_bytes())
    data[int(0.125 * len(data))] ^= 1 << 3
    ids.write_bytes(bytes(data))
    with pytest.raises(IndexCorruptError, match="is not a readable array"):
        semsearch.Index.load(index_copy).search("网格员", k=1)


def test_a_document_store_whose_schema_holds_text_that_is_not_utf8_is_a_corrupt_index(index_copy):
    """Found by the property test: a junk byte in the page of SQLite's schema made a table's name undecodable."""
    store = next(index_copy.glob("documents.*.sqlite"))
    conn = sqlite3.connect(store)
    conn.execute("PRAGMA writable_schema=ON")
    conn.execute("UPDATE sqlite_master SET name = CAST(X'80' AS TEXT) WHERE name = 'purged'")
    conn.commit()
    conn.close()
    with pytest.raises(semsearch.IndexCorruptError, match="not UTF-8"):
        semsearch.Index.load(index_copy, verify=False)

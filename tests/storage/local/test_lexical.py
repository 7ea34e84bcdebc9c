"""The lexical side of a format 1 index: its terms and bm25s files saved, checked, and rebuilt when unreadable."""

import json
import shutil

import pytest

from semsearch import Index, IndexCorruptError
from semsearch.storage.local.files import MANIFEST


def test_save_load_keeps_lexical_results_and_records_them(seeds_format1, format1_copy):
    manifest = json.loads((seeds_format1 / MANIFEST).read_text(encoding="utf-8"))
    assert "lexical" in manifest["files"] and manifest["lexical"]["scorer"] == "bm25s/lucene"
    assert manifest["fusion"]["method"] in ("rrf", "weighted")
    reference = Index.load(seeds_format1)
    Index.load(format1_copy).save()  # a format 1 index saved again stays format 1, with the same answers
    loaded = Index.load(format1_copy)
    assert loaded.manifest.format_version == 1
    for query in ("网格员", "袁崇煥故里", "2023年"):
        before = [(h.chunk_id, round(h.score, 4)) for h in reference.search(query, k=5, mode="lexical")]
        after = [(h.chunk_id, round(h.score, 4)) for h in loaded.search(query, k=5, mode="lexical")]
        assert before == after


def test_damaged_lexical_file_is_corrupt(format1_copy):
    index_copy = format1_copy
    manifest = json.loads((index_copy / MANIFEST).read_text(encoding="utf-8"))
    entry = manifest["files"]["lexical"]
    (index_copy / entry["name"]).write_bytes(b"{" + b" " * (entry["bytes"] - 1))
    with pytest.raises(IndexCorruptError, match="checksum"):
        Index.load(index_copy)
    # Without verification the damage goes unnoticed while BM25 answers from its own saved file, but
    # it is never saved into a new generation as sound, nor used for a change.
    index = Index.load(index_copy, verify=False)
    assert index.search("网格员", k=1, mode="lexical")
    with pytest.raises(IndexCorruptError, match=f"{entry['name']} fails its SHA-256 checksum"):
        index.save()
    with pytest.raises(IndexCorruptError, match=f"{entry['name']} is not a readable lexical index"):
        index.remove([index.doc_ids()[0]])


def test_damaged_bm25_file_is_corrupt_and_unreadable_bm25_is_rebuilt(seeds_format1, format1_copy, caplog):
    index_copy, seeds_index = format1_copy, Index.load(seeds_format1)
    manifest = json.loads((index_copy / MANIFEST).read_text(encoding="utf-8"))
    bm25_dir = index_copy / manifest["files"]["bm25"]["name"]
    assert manifest["files"]["bm25"]["kind"] == "dir" and (bm25_dir / "chunk_ids.npy").is_file()
    params = bm25_dir / "params.index.json"
    params.write_text(params.read_text(encoding="utf-8").replace('"k1"', '"x1"'), encoding="utf-8")
    with pytest.raises(IndexCorruptError, match="fails its SHA-256 checksum"):
        Index.load(index_copy)
    # Unverified, a BM25 file this bm25s cannot read is rebuilt from the saved terms, with a warning.
    loaded = Index.load(index_copy, verify=False)
    assert "rebuilding BM25 from the saved terms" in caplog.text
    query = "全科网格员"
    assert [h.chunk_id for h in loaded.search(query, k=5, mode="lexical")] == [
        h.chunk_id for h in seeds_index.search(query, k=5, mode="lexical")
    ]
    (bm25_dir / "vocab.index.json").unlink()
    with pytest.raises(IndexCorruptError, match="bytes but the manifest says"):
        Index.load(index_copy, verify=False)


def test_index_saved_without_a_lexical_file_gets_one_on_load(format1_copy):
    index_copy = format1_copy
    manifest = json.loads((index_copy / MANIFEST).read_text(encoding="utf-8"))
    (index_copy / manifest["files"].pop("lexical")["name"]).unlink()
    shutil.rmtree(index_copy / manifest["files"].pop("bm25")["name"])  # saved before either existed
    manifest.pop("lexical")
    (index_copy / MANIFEST).write_text(json.dumps(manifest), encoding="utf-8")
    loaded = Index.load(index_copy)  # tokenised now, with the analyzer such old indexes had (jieba)
    hits = loaded.search("全科网格员", k=5, mode="lexical")
    assert hits and all("网格" in h.text or "網格" in h.text for h in hits)
    assert loaded.searcher().parts.lexical.analyzer.segmenter == "jieba"


def test_a_file_a_killed_bm25_writer_left_does_not_break_the_next_commit(tmp_path):
    """A writer killed after tantivy wrote a file but before meta.json named it leaves that file behind;
    the next writer's commit can want the same name (tantivy numbers delete files by opstamp)."""
    from semsearch.storage.local.tantivy_bm25 import TantivyBM25
    from semsearch.text.analyzer import Analyzer

    path = tmp_path / "bm25"
    bm25 = TantivyBM25.create(path, Analyzer())
    bm25.add(range(4), range(4), ["苹果 河流", "苹果 港口", "山谷 河流", "山谷 港口"], [0] * 4, generation=1)
    bm25.commit()
    bm25.close()
    meta = (path / "meta.json").read_bytes()
    bm25 = TantivyBM25.open(path, Analyzer(), writable=True)
    bm25.purge([0, 1])
    bm25.commit()  # writes a deletes file, then meta.json naming it
    bm25.close()
    (path / "meta.json").write_bytes(meta)  # killed between the two: the deletes file is nobody's
    bm25 = TantivyBM25.open(path, Analyzer(), writable=True)
    assert bm25.num_docs() == 4
    bm25.purge([0, 1])
    bm25.commit()  # the same opstamp, the same file name
    assert bm25.num_docs() == 2


def test_document_frequencies_count_the_chunks_holding_each_term(seeds_format1, seeds_index):
    lexical = Index.load(seeds_format1).searcher().parts.lexical
    terms = ["网格", "网格员", "乡村振兴", "2023", "the", "不存在的词"]
    by_hand = [sum(term in set(chunk) for chunk in lexical.tokens) for term in terms]
    assert by_hand[0] > 1 and by_hand[-1] == 0
    assert lexical.document_frequencies(terms) == by_hand
    # Format 2 (tantivy) counts the same chunks the same way.
    assert seeds_index.searcher().parts.lexical.document_frequencies(terms) == by_hand

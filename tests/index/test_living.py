"""A living index: add, update and remove documents, and save them, on every backend."""

import pytest

from semsearch import Index, IndexChangedError, InputError
from tests.support.corpora import GRID_PLATFORM as NEW
from tests.support.corpora import GRID_PLATFORM_V2 as NEW_V2


def _ids(hits):
    return [h.doc_id for h in hits]


def test_add_makes_a_new_document_searchable_in_every_mode(living_index):
    before = len(living_index)
    report = living_index.add([NEW])
    assert report.added == (NEW.doc_id,) and report.chunks_added == len(living_index) - before >= 1
    for mode in ("dense", "lexical", "hybrid"):
        assert living_index.search("智慧网格平台上报隐患", k=3, mode=mode)[0].doc_id == NEW.doc_id, mode


def test_unchanged_documents_cost_nothing(living_index, seeds_dir):
    report = living_index.add([seeds_dir])
    assert len(report.unchanged) == 5 and not report.changed
    assert report.embedded == 0 and report.chunks_added == 0


def test_a_changed_document_replaces_its_chunks(living_index):
    living_index.add([NEW])
    report = living_index.update([NEW_V2])
    assert report.updated == (NEW.doc_id,) and report.chunks_removed >= 1
    texts = " ".join(c.text for c in living_index.chunks() if c.doc_id == NEW.doc_id)
    assert "无人机" in texts and "手机上报" not in texts
    for mode in ("dense", "lexical"):
        hits = living_index.search("网格员用手机上报安全隐患", k=len(living_index), mode=mode)
        assert not any("手机上报" in h.text for h in hits), mode


def test_removed_documents_vanish_from_dense_and_lexical_results(living_index):
    gone = "001_2a3c1398cfc30887"
    report = living_index.remove([gone])
    assert report.removed == (gone,) and report.chunks_removed > 0
    assert gone not in living_index.doc_ids()
    for mode in ("dense", "lexical", "hybrid"):
        assert gone not in _ids(living_index.search("修文镇全科网格员", k=len(living_index), mode=mode)), mode
    assert len(living_index) == living_index.manifest.counts.chunks


def test_bad_changes_change_nothing(living_index):
    before = (living_index.doc_ids(), len(living_index))
    with pytest.raises(InputError, match="no document 'nope'"):
        living_index.remove(["000_d06f920685a293a0", "nope"])
    with pytest.raises(InputError, match="not in the index.*use add"):
        living_index.update([NEW])
    assert (living_index.doc_ids(), len(living_index)) == before


def test_changes_survive_save_and_load(living_index):
    living_index.add([NEW])
    living_index.remove(["002_04edc0192fabf55a"])
    living_index.save()
    loaded = Index.load(living_index.path)
    assert loaded.doc_ids() == living_index.doc_ids()
    for mode in ("dense", "lexical"):
        query = "智慧网格平台"
        assert [h.chunk_id for h in loaded.search(query, k=5, mode=mode)] == [
            h.chunk_id for h in living_index.search(query, k=5, mode=mode)
        ]


def test_a_stale_index_object_cannot_overwrite_a_newer_save(local_only, living_index):
    other = Index.load(living_index.path)
    living_index.add([NEW])
    living_index.save()
    # The segmented engine refuses at the change itself (it writes as it goes); format 1 at save.
    with pytest.raises(IndexChangedError, match="changed on disk since.*load it again"):
        other.remove(["000_d06f920685a293a0"])
        other.save()
    assert NEW.doc_id in Index.load(living_index.path).doc_ids()

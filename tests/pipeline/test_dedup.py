"""Near-duplicates through an index: a story reached through two paths, or reprinted, is indexed once."""

import pytest

from semsearch import Document, Index, InputError
from tests.support.backends import build_on
from tests.support.corpora import REPRINT, STORY


@pytest.fixture(scope="module")
def deduped(seeds_dir, tmp_path_factory, backend, new_location):
    folder = tmp_path_factory.mktemp("copies")
    text = (seeds_dir / "000_d06f920685a293a0.txt").read_text(encoding="utf-8")
    (folder / "a.txt").write_text(text, encoding="utf-8")
    (folder / "mirror").mkdir()
    (folder / "mirror" / "a.txt").write_text(text.replace("\n", "\r\n"), encoding="utf-8")
    return folder, build_on(backend, new_location, [folder, Document("story", STORY, title="嫦娥六号")])


def test_the_same_article_through_two_paths_is_indexed_once(deduped):
    folder, index = deduped
    assert index.doc_ids() == ["a", "story"]
    [found] = index.duplicates
    assert (found.doc_id, found.of, found.similarity) == ("mirror/a", "a", 1.0)
    assert index.manifest.counts.duplicates == 1
    hits = index.search("网格化管理", k=20)
    assert "mirror/a" not in {h.doc_id for h in hits}
    assert len({h.text for h in hits}) == len(hits)  # never two copies of one text
    keep = Index.build([folder], dedup=False)
    assert keep.doc_ids() == ["a", "mirror/a"] and keep.manifest.dedup is None


def test_adding_a_reprint_records_it_and_survives_a_save(deduped, new_location):
    _, index = deduped
    target = index.save(new_location())
    loaded = Index.load(target)
    reprint = Document(
        "reprint",
        REPRINT,
        title="月背样品",
        origin="feed.jsonl:7",
        metadata={"source": "人民网", "date": "2024-06-26"},
    )
    report = loaded.add([reprint])
    assert report.added == () and report.duplicates == ("reprint",) and report.changed
    assert "1 duplicates of stored documents" in report.summary()
    loaded.save()
    again = Index.load(target)
    assert "reprint" not in again.doc_ids()
    [hit] = again.search("嫦娥六号月球样品", k=1, where={"doc_id": "story"})
    assert hit.duplicates == (
        {
            "doc_id": "reprint",
            "origin": "feed.jsonl:7",  # the file (line) it came from
            "source": "人民网",  # the outlet that reprinted it
            "title": "月背样品",
            "similarity": pytest.approx(1.0, abs=0.2),
            "date": "2024-06-26",
        },
    )
    assert hit.to_dict()["duplicates"][0]["doc_id"] == "reprint"
    again.remove(["story"])  # the kept one goes: the reprint is indexed in its place (with the kept text)
    assert again.doc_ids() == ["a", "reprint"] and again.duplicates == []
    assert again.update([reprint]).updated == ("reprint",)


@pytest.fixture
def folded(backend, new_location):
    """An index where "reprint" was folded into the kept "story" as its near-duplicate."""
    index = build_on(backend, new_location, [Document("story", STORY, title="嫦娥六号")])
    report = index.add(
        [Document("reprint", REPRINT, title="月背样品", metadata={"source": "人民网", "page": 2})]
    )
    assert report.duplicates == ("reprint",)
    return index


def test_removing_the_kept_copy_keeps_the_folded_one_findable(folded):
    """Issue 24, item 10: removing the kept copy lost its folded duplicate, and the report named only one."""
    report = folded.remove(["story"])
    assert report.removed == ("story",) and report.promoted == ("reprint",)
    assert folded.doc_ids() == ["reprint"] and folded.duplicates == []
    stored = folded.document("reprint")
    assert (stored["title"], stored["metadata"].get("page")) == ("月背样品", 2)
    [hit] = folded.search("嫦娥六号月球样品", k=1)
    assert hit.doc_id == "reprint" and hit.duplicates == ()
    assert folded.verify() == []


def test_a_folded_duplicate_is_removed_by_its_own_id(folded):
    report = folded.remove(["reprint"])
    assert report.removed == ("reprint",) and report.changed
    assert folded.duplicates == [] and folded.doc_ids() == ["story"]
    [hit] = folded.search("嫦娥六号月球样品", k=1)
    assert hit.doc_id == "story" and hit.duplicates == ()  # "also published as" no longer names it
    with pytest.raises(InputError, match="no document 'nowhere'"):
        folded.remove(["nowhere"])


def test_removing_both_copies_leaves_neither(folded):
    report = folded.remove(["story", "reprint"])
    assert set(report.removed) == {"story", "reprint"} and report.promoted == ()
    assert folded.doc_ids() == [] and folded.duplicates == []


def test_a_build_holds_one_batch_of_signatures_and_still_folds_across_batches(
    backend, new_location, monkeypatch, seeds_dir
):
    """Issue 23: a build kept every story's MinHash in memory (~8 KB a story, 4.4 GiB peak at 1M chunks).

    After each batch is written, earlier stories are looked up by their stored band keys, as changes
    do; a reprint in a later batch than its original is still folded into it.
    """
    from semsearch.pipeline import build, prepare
    from semsearch.storage.local.segmented import SegmentedEngine
    from semsearch.storage.milvus.engine import MilvusEngine

    for engine in (SegmentedEngine, MilvusEngine):
        monkeypatch.setattr(engine, "batch_chunks", 3)  # about one story a batch
    held: list[int] = []

    class Watched(build.Deduplicator):
        def _remember(self, *args):
            super()._remember(*args)
            held.append(len(self))

    monkeypatch.setattr(build, "Deduplicator", Watched)
    monkeypatch.setattr(prepare, "Deduplicator", Watched)  # the ones looking up the store
    seeds = sorted(seeds_dir.glob("*.txt"))  # five stories of many chunks: a batch each
    reprint = Document("reprint", REPRINT, title="月背样品", metadata={"source": "人民网"})
    index = build_on(backend, new_location, [Document("story", STORY), *seeds, reprint])
    assert [(d.doc_id, d.of) for d in index.duplicates] == [("reprint", "story")]
    assert "reprint" not in index.doc_ids() and len(index.doc_ids()) == 1 + len(seeds)
    assert max(held) <= 2, held  # one batch's story (and a candidate looked up), not all six

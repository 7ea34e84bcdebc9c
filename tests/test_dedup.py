"""Near-duplicate articles: a story reached through two paths, or reprinted, is indexed once."""

import pytest

from semsearch import Document, Index, InputError
from semsearch.records import Fingerprint
from semsearch.text.dedup import DedupConfig, Deduplicator, band_keys, jaccard
from tests.conftest import build_on
from tests.keyword_encoder import KeywordEncoder

STORY = (
    "新华社北京6月25日电 嫦娥六号返回器携带来自月背的月球样品安全着陆在内蒙古四子王旗预定区域，"
    "工作正常。国家航天局宣布，探月工程嫦娥六号任务取得圆满成功，实现世界首次月球背面采样返回。\n"
    "这次任务首次实现了人类从月球背面采集样品，是我国建设航天强国、科技强国取得的又一标志性成果。"
)
REPRINT = "来源：人民网\n" + STORY.replace("，", ",") + "\n（责任编辑：王晓明）"
# Templated stories about different events: the same words, different numbers.
NPC_2025 = (
    "十四届全国人大三次会议将于3月5日上午9时在北京开幕，国务院总理李强将作政府工作报告。届时，中央广播电视总台"
    "所属中央电视台综合频道、新闻频道、中文国际频道将进行现场直播；央视新闻、央视频、央视网等中央重点新媒体平台将同步转播。"
)
NPC_2026 = NPC_2025.replace("三次会议", "四次会议")


def test_a_reprint_is_a_duplicate_and_a_templated_story_about_another_event_is_not():
    dedup = Deduplicator()
    assert dedup.check("story", STORY) is None
    found = dedup.check("reprint", REPRINT)
    assert (found.doc_id, found.of) == ("reprint", "story") and found.similarity >= 0.8
    assert dedup.check("copy", STORY.replace("\n", "\n\n  ")).similarity == 1.0  # same text once folded
    assert dedup.check("npc-2025", NPC_2025) is None
    assert jaccard(NPC_2025, NPC_2026) > 0.9  # nearly the same text…
    assert dedup.check("npc-2026", NPC_2026) is None  # …but another year's session
    assert len(dedup) == 3


def test_stored_fingerprints_find_duplicates_without_the_texts():
    first = Deduplicator()
    first.check("story", STORY)
    minhash, numbers = first.fingerprint("story")
    later = Deduplicator()
    later.keep_fingerprint("story", minhash, numbers)
    assert later.check("reprint", REPRINT).of == "story"


def test_band_keys_are_shared_exactly_by_the_candidates_lsh_finds():
    dedup = Deduplicator()
    for doc_id, text in [("story", STORY), ("npc-2025", NPC_2025)]:
        dedup.check(doc_id, text)
    reprint = dedup.signature(REPRINT)
    keys = set(band_keys(reprint.hashvalues, dedup.config))
    for doc_id in ("story", "npc-2025"):
        minhash, _ = dedup.fingerprint(doc_id)
        shared = keys & set(band_keys(minhash, dedup.config))  # from the stored bytes, as a store has them
        assert bool(shared) == (doc_id in dedup._lsh.query(reprint))
    assert "story" in dedup._lsh.query(reprint) and len(keys) == len(dedup._lsh.hashranges)


def test_stored_documents_are_looked_up_by_band_key_and_hidden_ones_ignored():
    first = Deduplicator()
    first.check("story", STORY)
    stored = {"story": Fingerprint("story", *first.fingerprint("story"))}
    asked: list[list[str]] = []

    def lookup(keys):
        asked.append(list(keys))
        mine = set(keys)
        return [f for f in stored.values() if mine & set(band_keys(f.minhash, first.config))]

    later = Deduplicator(stored=lookup)
    assert later.check("reprint", REPRINT).of == "story"
    assert asked[0] == band_keys(later.signature(REPRINT).hashvalues, later.config)
    assert later.check("npc-2025", NPC_2025) is None  # shares no band: nothing stored comes back
    replacing = Deduplicator(stored=lookup, hidden={"story"})  # the change replaces the stored story
    assert replacing.check("story", REPRINT) is None


@pytest.mark.parametrize("threshold", [0, 1.5, "0.8", True])
def test_bad_thresholds_are_input_errors(threshold):
    with pytest.raises(InputError, match="threshold"):
        DedupConfig(threshold=threshold)


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
    report = loaded.add([Document("reprint", REPRINT, title="月背样品", source="人民网")])
    assert report.added == () and report.duplicates == ("reprint",) and report.changed
    assert "1 duplicates of stored documents" in report.summary()
    loaded.save()
    again = Index.load(target)
    assert "reprint" not in again.doc_ids()
    [hit] = again.search("嫦娥六号月球样品", k=1, where={"doc_id": "story"})
    assert hit.duplicates == (
        {
            "doc_id": "reprint",
            "source": "人民网",
            "title": "月背样品",
            "similarity": pytest.approx(1.0, abs=0.2),
        },
    )
    assert hit.to_dict()["duplicates"][0]["doc_id"] == "reprint"
    again.remove(["story"])  # the kept one goes, and its duplicate records with it: the reprint is new again
    assert again.add([Document("reprint", REPRINT, title="月背样品", source="人民网")]).added == ("reprint",)


@pytest.mark.slow  # an embedded milvus-lite starts
def test_a_change_in_milvus_reads_the_documents_sharing_a_band_not_every_signature(tmp_path, monkeypatch):
    pytest.importorskip("pymilvus")
    from semsearch.storage.milvus.bands import MilvusBands
    from semsearch.storage.milvus.reads import MilvusReads

    at = f"milvus-lite:{tmp_path / 'news.db'}#news"
    docs = [Document("story", STORY, title="嫦娥六号"), Document("npc-2025", NPC_2025)]
    index = Index.build(docs, engine=at, model=KeywordEncoder(), cache=False)
    real_similar = MilvusBands.similar
    found: list[set[str]] = []

    def similar(self, keys):
        fingerprints = real_similar(self, keys)
        found.append({f.doc_id for f in fingerprints or []})
        return fingerprints

    def every_signature(self):
        raise AssertionError("a change read every stored signature")

    with monkeypatch.context() as patch:
        patch.setattr(MilvusBands, "similar", similar)
        patch.setattr(MilvusReads, "signatures", every_signature)
        report = index.add([Document("reprint", REPRINT), Document("npc-2026", NPC_2026)])
        assert report.duplicates == ("reprint",) and report.added == ("npc-2026",)
        assert {"story"} in found and all("story" not in f or len(f) <= 2 for f in found)
        index.remove(["story"])  # its band keys go with it: the reprint is new again
        assert index.add([Document("reprint", REPRINT)]).added == ("reprint",)
    bands = index.searcher().parts.chunks._bands
    story_keys = band_keys(Deduplicator().signature(STORY).hashvalues, DedupConfig())
    assert [f.doc_id for f in bands.similar(story_keys)] == ["reprint"]  # "story" is gone from every band
    # An index written before band keys were kept (Milvus format 1) reads every signature, as it did.
    bands._client.drop_collection(bands.location.bands_collection)
    old = Index.load(at, model=KeywordEncoder())
    assert not old.searcher().parts.chunks._bands.present
    assert old.add([Document("again", STORY.replace("，", "、"))]).duplicates == ("again",)
    assert old.add([Document("npc-2027", NPC_2026.replace("3月5日", "3月6日"))]).added == ("npc-2027",)

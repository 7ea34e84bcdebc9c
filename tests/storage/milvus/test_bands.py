"""Near-duplicates in Milvus: a change reads the documents sharing an LSH band key, not every signature."""

import pytest

from semsearch import Document, Index
from semsearch.text.dedup import DedupConfig, Deduplicator, band_keys
from tests.support.corpora import NPC_2025, NPC_2026, REPRINT, STORY
from tests.support.keyword_encoder import KeywordEncoder


def test_a_change_in_milvus_reads_the_documents_sharing_a_band_not_every_signature(tmp_path, monkeypatch):
    pytest.importorskip("pymilvus")
    from semsearch.storage.locations import parse_location
    from semsearch.storage.milvus.bands import MilvusBands
    from semsearch.storage.milvus.reads import MilvusReads
    from semsearch.storage.milvus.schema import connect

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
        # its band keys go with it; the reprint folded into it is indexed in its place (issue 24, item 10)
        assert index.remove(["story"]).promoted == ("reprint",)
        assert index.update([Document("reprint", REPRINT)]).updated == ("reprint",)
    chunks = index.searcher().parts.chunks
    story_keys = band_keys(Deduplicator().signature(STORY).hashvalues, DedupConfig())
    # "story" is gone from every band
    assert [f.doc_id for f in chunks.similar_signatures(story_keys)] == ["reprint"]
    # An index written before band keys were kept (Milvus format 1) reads every signature, as it did.
    location = parse_location(at)
    client = connect(location)
    client.drop_collection(index.searcher().parts.chunks._bands.names.bands)
    client.close()
    old = Index.load(at, model=KeywordEncoder())
    assert old.searcher().parts.chunks.similar_signatures([]) is None  # no band keys: read every signature
    assert old.add([Document("again", STORY.replace("，", "、"))]).duplicates == ("again",)
    assert old.add([Document("npc-2027", NPC_2026.replace("3月5日", "3月6日"))]).added == ("npc-2027",)

"""Planning and applying changes with a keyword encoder: what is new, changed, unchanged, removed, and what it costs."""

import dataclasses

import pytest

from semsearch import Document, Index, InputError
from semsearch.encoders.embedding import EmbedOptions
from semsearch.pipeline.changes import current_manifest, plan_change, report_of
from semsearch.readers.ingest import IngestReport
from tests.keyword_encoder import KeywordEncoder

DOCS = [
    Document("a", "apple banana cherry, the fruit stall opens early every morning."),
    Document("b", "ocean harbour island, the ferry crosses twice a day in summer."),
    Document("c", "mountain valley forest, the trail climbs for three long hours."),
]


@pytest.fixture
def index():
    return Index.build(DOCS, model=KeywordEncoder(), cache=False)


def _never_load():
    raise AssertionError("the encoder was loaded for a change that embeds nothing")


def apply(index, plan):
    """What Index does with a plan: hand its batch to the engine (through the public storage seam)."""
    parts = index.searcher().parts
    engine = next(e for e in [index._engine] if e.parts.chunks is parts.chunks)  # the index's own engine
    removed = engine.apply(plan.batch) if not plan.batch.empty else []
    report = report_of(plan, removed)
    manifest = current_manifest(index.manifest, engine.parts, index.fusion, touched=report.changed)
    return engine.parts, (manifest if report.changed else index.manifest), report


def test_plan_sorts_documents_by_content_hash_and_embeds_only_new_ones(index):
    changed = Document("b", "river delta harbour, the ferry crosses once a day in winter.")
    new = Document("d", "lemon mango melon, the market sells them by the crate.")
    parts, manifest = index.searcher().parts, index.manifest
    encoder = KeywordEncoder()
    report = IngestReport(documents=[DOCS[0], changed, new])
    plan = plan_change(parts, manifest, report, ["c"], lambda: encoder, EmbedOptions(cache=False))
    assert [d.doc_id for d in plan.added] == ["d"] and [d.doc_id for d in plan.updated] == ["b"]
    assert plan.unchanged == ("a",) and plan.removed == ("c",)
    assert len(plan.batch.vectors) == len(plan.batch.chunks) == encoder.passages == 2
    assert plan.batch.removed == ("c", "b")  # an update removes the old version in the same batch
    assert len(index) == 3  # planning changes nothing

    parts, manifest, report = apply(index, plan)
    assert report.summary() == "1 added, 1 updated, 1 unchanged, 1 removed; 2 chunks in (2 embedded), 2 out"
    assert sorted(parts.chunks.doc_ids()) == ["a", "b", "d"] and len(parts.vectors) == len(parts.lexical) == 3
    assert manifest.counts.documents == 3 and manifest.updated_at >= index.manifest.updated_at


def test_a_removal_or_an_unchanged_document_never_loads_the_model(index):
    parts, manifest = index.searcher().parts, index.manifest
    plan = plan_change(parts, manifest, IngestReport(documents=[DOCS[1]]), ["a"], _never_load, EmbedOptions())
    assert (
        plan.unchanged == ("b",)
        and plan.batch.chunks == []
        and plan.batch.vectors.shape == (0, manifest.dimension)
    )
    _, after, report = apply(index, plan)
    assert report.removed == ("a",) and report.embedded == 0 and after.counts.documents == 2


def test_nothing_to_do_leaves_the_manifest_as_it_was(index):
    parts, manifest = index.searcher().parts, index.manifest
    plan = plan_change(parts, manifest, IngestReport(documents=DOCS), [], _never_load, EmbedOptions())
    assert plan.batch.empty
    _, after, report = apply(index, plan)
    assert not report.changed and after == manifest


def test_changes_through_the_index_are_searchable_and_checked(index):
    report = index.add([Document("d", "lemon mango melon, the market sells them by the crate.")], cache=False)
    assert report.added == ("d",)
    assert index.search("mango", k=1, mode="dense")[0].doc_id == "d"
    assert index.search("mango", k=1, mode="lexical")[0].doc_id == "d"
    with pytest.raises(InputError, match="no document 'zzz' in this index"):
        index.remove(["zzz"])
    with pytest.raises(InputError, match="cannot update documents not in the index: zzz"):
        index.update([dataclasses.replace(DOCS[0], doc_id="zzz")])
    index.remove("d")
    assert "d" not in index.doc_ids() and index.search("mango", k=3, mode="lexical") == []

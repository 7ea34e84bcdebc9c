"""Planning and applying changes with a keyword encoder: what is new, changed, unchanged, removed, and what it costs.

A plan is applied as Index applies one: its batch handed to an engine made through the public storage
seam (``storage_for(None).create``, as tests/storage/test_engine_contract.py does), then the manifest
brought up to date.
"""

import dataclasses
import datetime as dt

import pytest

from semsearch import Document, InputError
from semsearch.encoders.embedding import EmbedOptions
from semsearch.pipeline.changes import current_manifest, plan_change, report_of
from semsearch.readers.ingest import IngestReport
from semsearch.storage.locations import storage_for
from semsearch.text.dedup import DedupConfig, Deduplicator
from tests.support.corpora import FRUIT_COAST_HILLS as DOCS
from tests.support.engines import batch_of, index_spec, manifest_for
from tests.support.keyword_encoder import KeywordEncoder

MARKET = Document("market", "lemon mango melon, the market sells them by the crate.")


@pytest.fixture
def engine():
    """The fruit, coast and hills documents in a new directory engine, in memory (nothing committed)."""
    made = storage_for(None).create(None, index_spec())
    made.apply(batch_of(DOCS, dedup=Deduplicator(DedupConfig())))
    yield made
    made.close()


@pytest.fixture
def manifest(engine):
    """The manifest a build of the engine's documents writes, made now."""
    now = dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")
    return manifest_for(engine).replace(created_at=now, updated_at=now)


def _never_load():
    raise AssertionError("the encoder was loaded for a change that embeds nothing")


def apply(engine, manifest, plan):
    """What Index does with a plan: hand its batch to the engine, then bring the manifest up to date."""
    removed = engine.apply(plan.batch) if not plan.batch.empty else []
    report = report_of(plan, removed)
    updated = current_manifest(manifest, engine.parts, manifest.fusion, touched=report.changed)
    return engine.parts, (updated if report.changed else manifest), report


def test_plan_sorts_documents_by_content_hash_and_embeds_only_new_ones(engine, manifest):
    changed = Document("coast", "river delta harbour, the ferry crosses once a day in winter.")
    encoder = KeywordEncoder()
    report = IngestReport(documents=[DOCS[0], changed, MARKET])
    plan = plan_change(engine.parts, manifest, report, ["hills"], lambda: encoder, EmbedOptions(cache=False))
    assert [d.doc_id for d in plan.added] == ["market"] and [d.doc_id for d in plan.updated] == ["coast"]
    assert plan.unchanged == ("fruit",) and plan.removed == ("hills",)
    assert len(plan.batch.vectors) == len(plan.batch.chunks) == encoder.passages == 2
    assert plan.batch.removed == ("hills", "coast")  # an update removes the old version in the same batch
    assert len(engine.parts.vectors) == 3  # planning changes nothing

    parts, after, report = apply(engine, manifest, plan)
    assert report.summary() == "1 added, 1 updated, 1 unchanged, 1 removed; 2 chunks in (2 embedded), 2 out"
    assert sorted(parts.chunks.doc_ids()) == ["coast", "fruit", "market"]
    assert len(parts.vectors) == len(parts.lexical) == 3
    assert after.counts.documents == 3 and after.updated_at >= manifest.updated_at


def test_a_removal_or_an_unchanged_document_never_loads_the_model(engine, manifest):
    report = IngestReport(documents=[DOCS[1]])
    plan = plan_change(engine.parts, manifest, report, ["fruit"], _never_load, EmbedOptions())
    assert (
        plan.unchanged == ("coast",)
        and plan.batch.chunks == []
        and plan.batch.vectors.shape == (0, manifest.dimension)
    )
    _, after, report = apply(engine, manifest, plan)
    assert report.removed == ("fruit",) and report.embedded == 0 and after.counts.documents == 2


def test_nothing_to_do_leaves_the_manifest_as_it_was(engine, manifest):
    plan = plan_change(engine.parts, manifest, IngestReport(documents=DOCS), [], _never_load, EmbedOptions())
    assert plan.batch.empty
    _, after, report = apply(engine, manifest, plan)
    assert not report.changed and after == manifest


def test_changes_through_the_index_are_searchable_and_checked(keyword_index):
    index = keyword_index()
    report = index.add([MARKET], cache=False)
    assert report.added == ("market",)
    assert index.search("mango", k=1, mode="dense")[0].doc_id == "market"
    assert index.search("mango", k=1, mode="lexical")[0].doc_id == "market"
    with pytest.raises(InputError, match="no document 'zzz' in this index"):
        index.remove(["zzz"])
    with pytest.raises(InputError, match="cannot update documents not in the index: zzz"):
        index.update([dataclasses.replace(DOCS[0], doc_id="zzz")])
    index.remove("market")
    assert "market" not in index.doc_ids() and index.search("mango", k=3, mode="lexical") == []

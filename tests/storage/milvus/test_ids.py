"""Document ids are values, never part of a Milvus expression (issue 24, items 1-3).

Ids went into filter expressions quoted but unescaped: one crafted id removed every document, ids with
quotes, backslashes or newlines were refused with parser errors, an id with ``\\x01`` could be added but
never removed, a 2,000-character one did not fit, and one holding ``\\"`` made listings loop forever.
"""

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from semsearch import Document, Index
from semsearch.errors import InputError
from semsearch.records import MAX_ID_BYTES
from tests.support.keyword_encoder import KeywordEncoder

INJECTION = "x'] or doc_id not in ['y"
HOSTILE_IDS = [
    INJECTION,
    'x"] or doc_id not in ["y',
    "q'uote",
    'dq"x',
    "back\\slash",
    "trailing\\",
    "new\nline",
    "cr\rx",
    "tab\tx",
    "ctl\x01x\x7f\x9b",
    'zz\\"q',
    "{ids}",
    "中文\u202eid",
    "a" * 2000,
    "长" * 2000,
]
TEXTS = [
    "apple banana cherry, the fruit stall.",
    "ocean harbour island ferry.",
    "mountain valley forest trail.",
]


def _build(at, ids):
    docs = [Document(doc_id, TEXTS[i % 3] + f" {i}") for i, doc_id in enumerate(ids)]
    return Index.build(docs, engine=at, model=KeywordEncoder(), cache=False, dedup=False)


def test_removing_a_crafted_id_removes_that_document_only(milvus_at):
    at = milvus_at()
    index = _build(at, ["a", "b", INJECTION])
    report = index.remove([INJECTION])
    assert report.removed == (INJECTION,) and report.chunks_removed == 1
    assert index.doc_ids() == ["a", "b"]
    index.save()
    again = Index.load(at, model=KeywordEncoder())
    assert again.doc_ids() == ["a", "b"] and len(again) == 2
    assert again.manifest.counts.documents == 2 and again.verify() == []


def test_every_id_is_added_found_filtered_updated_and_removed(milvus_at):
    at = milvus_at()
    index = _build(at, ["plain"])
    for number, doc_id in enumerate(HOSTILE_IDS):
        text = TEXTS[number % 3] + f" {number}"
        assert index.add([Document(doc_id, text)]).added == (doc_id,), repr(doc_id[:20])
        assert index.document(doc_id)["doc_id"] == doc_id
        assert [d["doc_id"] for d in index.documents(where={"doc_id": doc_id})] == [doc_id]
        hits = index.search("apple ocean mountain", k=50, where={"doc_id": {"$in": [doc_id]}})
        assert {h.doc_id for h in hits} == {doc_id}
        assert index.update([Document(doc_id, text + " pear")]).updated == (doc_id,)
        assert "pear" in index.document(doc_id)["raw_text"]
    assert sorted(index.doc_ids()) == sorted(["plain", *HOSTILE_IDS])
    for doc_id in HOSTILE_IDS:
        assert index.remove([doc_id]).removed == (doc_id,)
        with pytest.raises(InputError, match="no document"):
            index.document(doc_id)
    assert index.doc_ids() == ["plain"] and len(index) == 1
    assert Index.load(at, model=KeywordEncoder()).doc_ids() == ["plain"]


def test_an_id_longer_than_every_engine_holds_is_refused_up_front(milvus_at, tmp_path):
    long = "长" * (MAX_ID_BYTES // 3 + 1)
    for engine in (milvus_at(), None):
        with pytest.raises(InputError, match=f"at most {MAX_ID_BYTES} bytes"):
            Index.build([Document(long, TEXTS[0])], engine=engine, model=KeywordEncoder(), cache=False)


def test_listing_and_filtering_page_through_an_id_holding_a_quote(milvus_at, monkeypatch):
    """Issue 24, item 3: pymilvus's query iterator wrote the last id of a page unescaped into the next page's
    filter, so an id with \\" (the largest here) was read again and again: `docs` and `--where` never ended."""
    import pymilvus.client.grpc_handler as grpc_handler

    import semsearch.storage.milvus.reads as reads

    ids = ["a", "b", "c", "d", 'zz\\"q']
    index = _build(milvus_at(), ids)
    monkeypatch.setattr(
        reads, "SCAN_BATCH", 2, raising=False
    )  # pages end on every second id, the quoted one too
    calls = []
    real_query = grpc_handler.GrpcHandler.query

    def counted(self, *args, **kwargs):
        calls.append(1)
        if len(calls) > 200:
            raise RuntimeError("a listing did not end: the same page was read again and again")
        return real_query(self, *args, **kwargs)

    monkeypatch.setattr(grpc_handler.GrpcHandler, "query", counted)
    assert [d["doc_id"] for d in index.documents()] == sorted(ids)
    assert [d["doc_id"] for d in index.documents(where={"doc_id": {"$ne": "a"}})] == sorted(ids)[1:]
    assert {h.doc_id for h in index.search("apple ocean mountain", k=10, where={"doc_id": ids[-1]})} == {
        ids[-1]
    }
    assert len([r for r in index.export_rows()]) == len(ids)


_ID_CHARS = st.one_of(
    st.sampled_from(list("'\"\\`{}[]()$%#@!,;: ")),
    st.sampled_from(["\n", "\r", "\t", "\x00", "\x01", "\x1b", "\x7f", "\x9b", "\u202e", "\u2028"]),
    st.characters(codec="utf-8"),
)
_IDS = st.text(_ID_CHARS, min_size=1, max_size=40).filter(lambda s: s.strip()) | st.builds(
    lambda c, n: c * n, st.sampled_from(["a", "'", "\\", "长"]), st.integers(100, 2000)
)


def _view(index, ids):
    """What a user sees of ``ids`` in an index: the listing, each document, and a filter on each id."""
    seen = {"ids": sorted(index.doc_ids()), "docs": {}, "where": {}}
    for doc_id in ids:
        try:
            stored = index.document(doc_id)
            seen["docs"][doc_id] = (stored["raw_text"], stored["title"])
        except InputError:
            seen["docs"][doc_id] = None
        seen["where"][doc_id] = [d["doc_id"] for d in index.documents(where={"doc_id": doc_id})]
    return seen


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(ids=st.lists(_IDS, min_size=2, max_size=6, unique=True), data=st.data())
def test_random_unicode_ids_behave_identically_on_both_engines(tmp_path_factory, ids, data):
    """Issue 24, done means: random Unicode ids (quotes, backslashes, controls, long) through add, update,
    remove, document and where give the same answers on the local engine and on Milvus (embedded)."""
    at = f"milvus-lite:{tmp_path_factory.mktemp('prop') / 'ids.db'}#ids"
    docs = [Document(doc_id, TEXTS[i % 3] + f" {i}", title=f"t{i}") for i, doc_id in enumerate(ids)]
    first, rest = docs[: len(docs) // 2], docs[len(docs) // 2 :]
    indexes = [
        Index.build(first, model=KeywordEncoder(), cache=False, dedup=False),
        Index.build(first, engine=at, model=KeywordEncoder(), cache=False, dedup=False),
    ]
    updated = data.draw(st.sampled_from(ids))
    removed = data.draw(st.lists(st.sampled_from(ids), max_size=3, unique=True))
    views = []
    for index in indexes:
        index.add(rest)
        index.update([Document(updated, "changed text pear", title="new")])
        gone = [r for r in removed if r != updated]
        if gone:
            index.remove(gone)
        views.append(_view(index, ids))
    assert views[0] == views[1]
    assert views[0]["ids"] == sorted(set(ids) - (set(removed) - {updated}))

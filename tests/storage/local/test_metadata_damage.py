"""Metadata in a chunk store that is not a JSON object is damage on every read, never ``{}`` (issue 24, item 15).

A document whose metadata was read as no metadata silently fell out of every filter: query, --where,
docs, export and add took it as ``{}``; only ``Index.document()`` said the index was damaged.
"""

import sqlite3

import pytest

from semsearch import Document, Index, IndexCorruptError
from tests.support.formats import save_format1
from tests.support.keyword_encoder import KeywordEncoder

DOCS = [
    Document("a", "apple banana cherry", metadata={"source": "新华社", "date": "2024-01-02"}),
    Document("b", "ocean harbour ferry", metadata={"source": "人民日报"}),
]


@pytest.mark.parametrize("layout", ["segments", "files"])
@pytest.mark.parametrize("damage", ['["新华社"]', "not json {", "42"])
def test_metadata_that_is_not_an_object_is_damage_everywhere(tmp_path, layout, damage):
    index = Index.build(DOCS, model=KeywordEncoder(), cache=False, dedup=False)
    path = tmp_path / "idx"
    if layout == "segments":
        index.save(path)
    else:
        save_format1(index, path)
    [store] = [p for p in path.glob("*.sqlite")]
    with sqlite3.connect(store) as db:
        db.execute("UPDATE documents SET metadata = ? WHERE doc_id = 'a'", (damage,))
    db.close()
    damaged = Index.load(path, model=KeywordEncoder(), verify=False)
    uses = {
        "query": lambda: damaged.search("apple", k=5),
        "where": lambda: damaged.search("apple", k=5, where={"source": "新华社"}),
        "docs": lambda: damaged.documents(),
        "export": lambda: list(damaged.export_rows()),
        "document": lambda: damaged.document("a"),
    }
    for name, use in uses.items():
        with pytest.raises(IndexCorruptError, match="metadata") as caught:
            use()
        assert "\n" not in str(caught.value), name

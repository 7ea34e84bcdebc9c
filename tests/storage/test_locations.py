"""Where an index lives: a directory or a Milvus location, parsed once, credentials never shown."""

import pytest

from semsearch.errors import InputError
from semsearch.storage.locations import is_milvus_location, parse_location


def test_locations_parse_and_never_show_credentials(monkeypatch):
    monkeypatch.delenv("SEMSEARCH_MILVUS_TOKEN", raising=False)
    lite = parse_location("milvus-lite:indexes/news.db#seeds")
    assert (lite.lite, lite.uri, lite.collection) == (True, "indexes/news.db", "seeds")
    assert str(lite) == "milvus-lite:indexes/news.db#seeds"
    server = parse_location("milvus://alice:s3cret@db.example:19531#news")
    assert (server.uri, server.collection, server.token) == (
        "http://db.example:19531",
        "news",
        "alice:s3cret",
    )
    assert "s3cret" not in str(server) and "s3cret" not in repr(server)
    assert parse_location("milvus://db.example#news").uri == "http://db.example:19530"
    assert parse_location("milvus+https://db.example:443#news").uri == "https://db.example:443"
    monkeypatch.setenv("SEMSEARCH_MILVUS_TOKEN", "api-key")
    assert parse_location("milvus://db.example#news").token == "api-key"
    assert is_milvus_location("milvus-lite:x.db#a") and not is_milvus_location("indexes/seeds")


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("milvus://host:19530", "names no valid collection"),
        ("milvus://host:19530#9lives", "names no valid collection"),
        ("milvus://host:19530#my__index", "may not contain '__'"),
        ("milvus-lite:news#seeds", "ending in .db"),
        ("milvus://#seeds", "no HOST"),
        ("milvus://host:port#seeds", "invalid port"),
    ],
)
def test_malformed_locations_are_clear_errors(value, message):
    with pytest.raises(InputError, match=message):
        parse_location(value)
